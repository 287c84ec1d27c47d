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
from keras_tuner.engine.hyperparameters import HyperParameters
from keras_tuner.engine.trial import Trial

from kerasnas.files import write_json as _atomic_save_json
from kerasnas.lock import LOCK_FILE
from kerasnas.trials_table import earlier_end_seconds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "_search_script.py")
TRIALS = 6


def launch(directory, log, trials=TRIALS, epochs=1):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, SCRIPT, str(directory), "none", "-", "0", "ok",
                             "evolution", str(trials), "60", str(epochs)],
                            stdout=open(log, "a"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def kill_once_written(process, path, log, timeout=300):
    """kill -9s `process`'s group as soon as `path` exists (fails, with the log, if it never does)."""
    try:
        deadline = time.time() + timeout
        while not path.is_file() and process.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert path.is_file(), log.read_text()[-3000:]
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def completed(directory):
    out = {}
    for path in glob.glob(os.path.join(directory, "search", "trial_*", "trial.json")):
        with open(path) as f:
            t = json.load(f)
        if t["status"] == "COMPLETED":
            out[t["trial_id"]] = t["score"]
    return out


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume(tmp_path):
    rng = random.Random(7)
    run, log = tmp_path / "run", tmp_path / "log.txt"
    best_seen, clock = 0.0, {}
    for _ in range(3):
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
        assert json.loads((run / LOCK_FILE).read_text())["pid"] == p.pid  # left behind by kill -9
        best_seen = max([best_seen, *scores.values()])
        if (run / "results.csv").is_file():
            before = pd.read_csv(run / "results.csv", dtype={"trial_id": str}).dropna(subset=["end_seconds"])
            clock.update(zip(before.trial_id, before.end_seconds))
    p = launch(run, log)
    assert p.wait(timeout=400) == 0, log.read_text()[-3000:]
    assert log.read_text().count("took over the lock of process") == 3  # each resume: a stale lock
    assert not (run / LOCK_FILE).exists()
    table = pd.read_csv(run / "results.csv", dtype={"trial_id": str, "parent": str})
    assert len(table) == TRIALS and set(table.status) == {"COMPLETED"}
    assert table.trial_id.tolist() == [str(i) for i in range(TRIALS)]
    values = table[[c for c in table if c.startswith("hp.")]].astype(str).agg("|".join, axis=1)
    assert values.nunique() == TRIALS  # no architecture trained as two trials
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_val_accuracy"] >= best_seen  # the best so far is never lost
    assert (run / "best_model.keras").is_file()
    # One clock across the resumes: earlier trials keep their times, later ones go on from them.
    ends = dict(zip(table.trial_id, table.end_seconds))
    assert clock and {i: ends[i] for i in clock} == pytest.approx(clock, rel=1e-9)
    assert table.end_seconds.is_monotonic_increasing and table.end_seconds.iloc[0] > 0
    assert summary["resumed_after_seconds"] == pytest.approx(max(clock.values()), rel=1e-9)
    assert summary["wall_seconds"] > table.end_seconds.iloc[-1]

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


@pytest.mark.slow
def test_a_trial_killed_mid_way_resumes_from_its_last_epoch_to_the_same_model(tmp_path):
    import keras
    import numpy as np

    whole, cut, log = tmp_path / "whole", tmp_path / "cut", tmp_path / "log.txt"
    assert launch(whole, log, trials=2, epochs=20).wait(timeout=400) == 0, log.read_text()[-3000:]
    # Killed once the first trial has checkpointed an epoch (of its 20).
    state = cut / "search" / "trial_0" / "checkpoint.json"
    kill_once_written(launch(cut, log, trials=2, epochs=20), state, log)
    clock = json.loads(state.read_text())["clock"]
    assert launch(cut, log, trials=2, epochs=20).wait(timeout=400) == 0, log.read_text()[-3000:]
    table, ref = (pd.read_csv(d / "results.csv", dtype={"trial_id": str}) for d in (cut, whole))
    assert 1 <= table.resumed_at_epoch[0] < 20 and table.resumed_at_epoch[1:].isna().all()
    # No trial had finished: the clock goes on from the checkpoint's, not from 0.
    summary = json.loads((cut / "summary.json").read_text())
    assert summary["resumed_after_seconds"] == pytest.approx(clock, rel=1e-9) and clock > 0
    assert table.end_seconds[0] > clock
    curve = [f"val_accuracy@{k}" for k in range(1, 21)]
    pd.testing.assert_frame_equal(table[["trial_id", *curve]], ref[["trial_id", *curve]])
    ours, theirs = (keras.models.load_model(d / "best_model.keras") for d in (cut, whole))
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_crash_while_saving_state_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = str(tmp_path / "oracle.json")
    _atomic_save_json(path, {"trials": 1})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        _atomic_save_json(path, {"trials": 2})
    assert json.loads(open(path).read()) == {"trials": 1}


def _ended(trial_id, ended_at, train_seconds):
    t = Trial(HyperParameters(), trial_id=trial_id, status="COMPLETED")
    t.metrics.update("ended_at", ended_at)
    t.metrics.update("train_seconds", train_seconds)
    return t


def test_the_clock_of_a_run_without_a_results_table_starts_with_its_first_trial():
    running = Trial(HyperParameters(), trial_id="2", status="RUNNING")
    trials = {"0": _ended("0", 1000.0, 100.0), "1": _ended("1", 1250.0, 200.0), "2": running}
    assert earlier_end_seconds(trials) == {"0": 100.0, "1": 350.0}
    assert earlier_end_seconds({"2": running}) == {}  # nothing ended: a fresh clock


def test_the_clock_of_a_run_with_a_results_table_is_read_back(tmp_path):
    path = tmp_path / "results.csv"
    pd.DataFrame({"trial_id": ["0", "1", "2"], "end_seconds": [12.5, 30.25, None]}).to_csv(path, index=False)
    trials = {"0": _ended("0", 1000.0, 100.0), "1": _ended("1", 1250.0, 200.0)}
    assert earlier_end_seconds(trials, str(path)) == {"0": 12.5, "1": 30.25}
