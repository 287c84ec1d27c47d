"""Runs the aging-evolution example of the README (or of docs/readme-oracles.md until it is pasted)."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START, END = "<!-- example:oracle -->", "<!-- /example:oracle -->"


def _example():
    for name in ("README.md", os.path.join("docs", "readme-oracles.md")):
        path = os.path.join(ROOT, name)
        if os.path.exists(path):
            text = open(path).read()
            if START in text:
                block = text.split(START, 1)[1].split(END, 1)[0]
                return re.search(r"```python\n(.*?)```", block, re.S).group(1)
    raise AssertionError(f"No {START} block in README.md or docs/readme-oracles.md")


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
