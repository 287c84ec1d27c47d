"""The comparison harness end to end: `python -m benchmarks.compare --preset smoke` (a few minutes).

Needs the compare extra (AutoKeras, NNI, PyTorch); without it the test fails
with an ImportError saying how to install it, rather than being skipped.
"""

import importlib.util
import re
import json
import os
import subprocess
import sys

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def require_compare_extra():
    for module in ("autokeras", "nni", "torch", "pytorch_lightning"):
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{module} is missing: install the compare extra with "
                              "`pip install -e .[compare]`")


def nni_managers():
    """Node processes of an NNI manager still alive (the manager runs `main.js` of nni_node)."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "nni_node" in cmd:
            out.append(p.pid)
    return out


@pytest.mark.slow
def test_smoke_preset_runs_every_framework_and_leaves_nothing(tmp_path):
    require_compare_extra()
    from benchmarks import compare
    from benchmarks.comparison.report import SECTIONS

    managers_before = set(nni_managers())
    proc = subprocess.run([sys.executable, "-m", "benchmarks.compare",
                           "--preset", "smoke", "--out-dir", str(tmp_path),
                           "--work-dir", str(tmp_path / "work")],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    with open(tmp_path / "work" / "results.json") as f:
        results = json.load(f)["results"]
    planned = {(fw, exp) for fw, exps in compare.FRAMEWORKS.items() for exp in exps} \
        - compare.PRESETS["smoke"]["skip"]
    assert {(r["framework"], r["experiment"]) for r in results} == planned
    for r in results:
        # A row with completed trials, or a recorded failure with its reason.
        assert r["completed"] >= 1 or any("fail" in n or "no result" in n or "time limit" in n
                                          for n in r["notes"]), r
        if r["completed"]:
            assert 0.0 <= r["best_val_accuracy"] <= 1.0, r
    assert {r["framework"] for r in results if r["completed"]} == set(compare.FRAMEWORKS)

    report = (tmp_path / "compare.md").read_text()
    for section in SECTIONS:
        assert section + "\n" in report, section
    for name in ("compare.csv", "compare_best_so_far.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "preset **smoke**" in report

    # Nothing left behind: no child of this test, no NNI manager, no marked process.
    assert psutil.Process().children(recursive=True) == []
    assert set(nni_managers()) - managers_before == set()
    # The runners clean up after themselves: the harness' sweep found nothing to kill.
    assert [(r["experiment"], r["leftovers_killed"]) for r in results if r["leftovers_killed"]] == []
    # This run's markers only: a harness running beside the suite marks its own processes.
    tokens = {json.loads(f.read_text())["token"] for f in (tmp_path / "work").glob("*/settings.json")}
    assert len(tokens) == len(results)
    marked = [p.pid for p in psutil.process_iter() if _environ(p).get(compare.MARKER) in tokens]
    assert marked == []
    ports = {int(m) for r in results for n in r["notes"]
             for m in re.findall(r"NNI manager on port (\d+)", n)}
    assert len(ports) == sum(r["framework"] == "nni" for r in results)
    listening = {c.laddr.port for c in psutil.net_connections(kind="inet") if c.status == "LISTEN"}
    assert ports & listening == set()


def _environ(p):
    try:
        return p.environ()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return {}
