"""Runs the aging-evolution example of the README, exactly as written there."""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START, END = "<!-- example:oracle -->", "<!-- /example:oracle -->"


def _example():
    text = open(os.path.join(ROOT, "README.md")).read()
    if START not in text:
        raise AssertionError(f"No {START} block in README.md")
    block = text.split(START, 1)[1].split(END, 1)[0]
    return re.search(r"```python\n(.*?)```", block, re.S).group(1)


@pytest.mark.slow  # a whole search, as the README runs it
def test_readme_example_runs_and_evolves(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(_example(), "readme-example", "exec"), namespace)
    tuner = namespace["tuner"]
    assert len(tuner.oracle.trials) == 3
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    phases = [tuner.oracle.notes[i]["phase"] for i in tuner.oracle.start_order]
    assert phases == ["warm-up", "warm-up", "mutation"]
    assert namespace["best_model"].count_params() > 0
    assert "mutation" in capsys.readouterr().out
