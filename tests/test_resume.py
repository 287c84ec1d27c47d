"""kill -9 at random moments, --resume each time: nothing lost, nothing run twice."""

import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from kerasnas.tuner import _atomic_save_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "_search_script.py")
TRIALS = 6


def launch(directory, log):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, SCRIPT, str(directory), "none", "-", "0", "ok",
                             "evolution", str(TRIALS), "60"],
                            stdout=open(log, "a"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def completed(directory):
    out = {}
    for path in glob.glob(os.path.join(directory, "search", "trial_*", "trial.json")):
        with open(path) as f:
            t = json.load(f)
        if t["status"] == "COMPLETED":
            out[t["trial_id"]] = t["score"]
    return out


def test_kill_9_at_random_moments_then_resume(tmp_path):
    rng = random.Random(7)
    run, log = tmp_path / "run", tmp_path / "log.txt"
    best_seen = 0.0
    for kill in range(3):
        p = launch(run, log)
        try:
            # Let it get through imports and into some trial, then kill at a random moment.
            start = len(completed(run))
            deadline = time.time() + 240
            while len(completed(run)) <= start and p.poll() is None and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 3.0))
        finally:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        scores = completed(run)
        assert len(scores) > start or len(scores) == TRIALS, log.read_text()[-2000:]
        best_seen = max([best_seen, *scores.values()])
    p = launch(run, log)
    assert p.wait(timeout=400) == 0, log.read_text()[-3000:]
    table = pd.read_csv(run / "results.csv", dtype={"trial_id": str, "parent": str})
    assert len(table) == TRIALS and set(table.status) == {"COMPLETED"}
    assert table.trial_id.tolist() == [str(i) for i in range(TRIALS)]
    values = table[[c for c in table if c.startswith("hp.")]].astype(str).agg("|".join, axis=1)
    assert values.nunique() == TRIALS  # no architecture trained as two trials
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_val_accuracy"] >= best_seen  # the best so far is never lost
    assert (run / "best_model.keras").is_file()

    # The same seed without interruptions: the same trials, lineage and population.
    ref = tmp_path / "ref"
    p = launch(ref, tmp_path / "ref.txt")
    assert p.wait(timeout=400) == 0
    ref_table = pd.read_csv(ref / "results.csv", dtype={"trial_id": str, "parent": str})
    cols = ["trial_id", "phase", "parent", "mutation"] + [c for c in table if c.startswith("hp.")]
    pd.testing.assert_frame_equal(table[cols], ref_table[cols])
    state = json.loads((run / "search" / "oracle.json").read_text())
    ref_state = json.loads((ref / "search" / "oracle.json").read_text())
    assert state["evolution"] == ref_state["evolution"]  # same random state: same future


def test_a_crash_while_saving_state_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = str(tmp_path / "oracle.json")
    _atomic_save_json(path, {"trials": 1})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        _atomic_save_json(path, {"trials": 2})
    assert json.loads(open(path).read()) == {"trials": 1}
