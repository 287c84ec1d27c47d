"""The median stopping rule: which trials stop, how they are recorded, resume, every oracle."""

import os
import signal
import statistics
import subprocess
import sys
import time

import keras
import numpy as np
import pandas as pd
import pytest

from kerasnas.early_stopping import (STOPPERS, MedianStopping, MedianStoppingRule, NoStopping,
                                     Stopper, as_stopper)
from kerasnas.oracles import ORACLES
from kerasnas.progress import Reporter
from kerasnas.search import search

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "_search_script.py")
TINY = dict(stem_width=8, stages=1, blocks_per_stage=1, kernel_size=3, dropout=0.0)


def _fit(rule, epochs=3):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, validation_data=(x, y), epochs=epochs, verbose=0, callbacks=[rule])


def test_a_trial_below_the_median_of_three_earlier_ones_stops_after_that_epoch():
    rule = MedianStoppingRule({"0": [0.9, 0.95, 0.97], "1": [0.8, 0.9], "2": [0.85]})
    history = _fit(rule)
    assert len(history.history["val_accuracy"]) == 1 and rule.stopped_at == 1
    assert rule.reason.endswith("< median 0.8500 of 3 earlier trials")


def test_no_judgement_with_fewer_than_three_earlier_trials_or_at_the_last_epoch():
    two = MedianStoppingRule({"0": [0.99, 0.99, 0.99], "1": [0.99, 0.99]})
    assert len(_fit(two).history["val_accuracy"]) == 3 and two.stopped_at is None
    last = MedianStoppingRule({str(i): [0.99] for i in range(5)})
    assert len(_fit(last, epochs=1).history["val_accuracy"]) == 1 and last.stopped_at is None
    assert as_stopper("none").callback({}, None) is None
    with pytest.raises(ValueError, match="Unknown early_stopping 'asha'. Choose one of: none, median"):
        as_stopper("asha")


def test_names_map_to_stoppers_and_a_stopper_object_is_taken_as_is():
    from kerasnas.settings import STOPPING

    assert tuple(STOPPERS) == STOPPING  # the CLI's names
    assert isinstance(as_stopper("none"), NoStopping)
    median = as_stopper("median")
    assert isinstance(median, MedianStopping) and median.get_config() == {"min_trials": 3}
    mine = MedianStopping(min_trials=4)
    assert as_stopper(mine) is mine and repr(mine) == "MedianStopping(min_trials=4)"
    rule = mine.callback({}, "0")
    assert isinstance(rule, MedianStoppingRule) and (rule.min_trials, rule.history) == (4, {})
    assert mine.callback({}, "1") is not rule  # one callback per trial
    assert (NoStopping.needs_other_trials, MedianStopping.needs_other_trials) == (False, True)
    with pytest.raises(ValueError, match=r"Received: min_trials=0; allowed: an int >= 1"):
        MedianStopping(min_trials=0)
    with pytest.raises(ValueError, match="Unknown early_stopping 3"):
        as_stopper(3)


def _expected_stops(table):
    """The rule replayed on the recorded curves: trial -> epoch it should have stopped after."""
    curves, expected = [], {}
    for _, row in table.sort_values("trial_id").iterrows():
        curve = [row[f"val_accuracy@{k}"] for k in (1, 2) if not pd.isna(row.get(f"val_accuracy@{k}"))]
        stop = None
        others = [c[0] for c in curves]
        if len(others) >= 3 and curve[0] < statistics.median(others):
            stop = 1
        expected[row.trial_id] = stop
        curves.append(curve)
    return expected


@pytest.mark.slow
@pytest.mark.parametrize("oracle", sorted(ORACLES))
def test_every_oracle_searches_with_the_median_rule_and_exports_a_finished_trial(
        oracle, tmp_path, synthetic_splits):
    d = tmp_path / "run"
    search("resnet", oracle, synthetic_splits, directory=str(d), max_trials=5, epochs=2, batch_size=50,
           space_options=TINY, early_stopping="median", reporter=Reporter())
    table = pd.read_csv(d / "results.csv")
    assert set(table.status) == {"COMPLETED"}
    got = {r.trial_id: (None if pd.isna(r.stopped_at_epoch) else int(r.stopped_at_epoch))
           for r in table.itertuples()}
    assert got == _expected_stops(table)
    assert table.epochs_trained.tolist() == [1 if got[i] else 2 for i in table.trial_id]
    summary = pd.read_json(d / "summary.json", typ="series")
    finished = table[table.stopped_at_epoch.isna()]
    assert summary["best_val_accuracy"] == pytest.approx(finished.val_accuracy.max())
    assert summary["early_stopping"] == "median"


class _StopNow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


class StopOddTrials(Stopper):
    """A user's own stopper: odd trials stop after their first epoch."""

    needs_other_trials = False

    def callback(self, trials, trial_id):
        return _StopNow() if int(trial_id) % 2 else None


def test_a_users_stopper_and_schedule_objects_drive_the_search_and_are_recorded(tmp_path,
                                                                                synthetic_splits):
    from kerasnas.schedules import Cosine

    d = tmp_path / "run"
    kw = dict(directory=str(d), max_trials=2, epochs=2, batch_size=100, space_options=TINY,
              reporter=Reporter())
    search("resnet", "random", synthetic_splits, early_stopping=StopOddTrials(),
           lr_schedule=Cosine(warmup_fraction=0.5), **kw)
    table = pd.read_csv(d / "results.csv")
    assert table.epochs_trained.tolist() == [2, 1]
    assert table.stopped_at_epoch.isna().tolist() == [True, False]
    assert table.stopped_at_epoch[1] == 1
    summary = pd.read_json(d / "summary.json", typ="series")
    assert summary["early_stopping"] == {"class": f"{__name__}.StopOddTrials", "config": {}}
    assert summary["lr_schedule"] == {"class": "kerasnas.schedules.Cosine",
                                      "config": {"warmup_fraction": 0.5}}
    with pytest.raises(ValueError, match=r"lr_schedule: \{.*0\.5\}\} then, \{.*0\.25\}\} now"):
        search("resnet", "random", synthetic_splits, early_stopping=StopOddTrials(),
               lr_schedule=Cosine(warmup_fraction=0.25), resume=True, **kw)


def _launch(directory, log):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, SCRIPT, str(directory), "none", "-", "0", "ok", "random",
                             "6", "60", "2", "median"],
                            stdout=open(log, "a"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


@pytest.mark.slow
def test_kill_9_then_resume_stops_the_same_trials_as_an_uninterrupted_search(tmp_path):
    straight = tmp_path / "straight"
    assert _launch(straight, tmp_path / "a.txt").wait(timeout=400) == 0
    resumed = tmp_path / "resumed"
    p = _launch(resumed, tmp_path / "b.txt")
    try:  # killed once 4 trials have ended: the stopping decisions then depend on reloaded curves
        deadline = time.time() + 300
        while time.time() < deadline and p.poll() is None:
            results = resumed / "results.csv"
            if results.is_file() and len(pd.read_csv(results)) >= 4:
                break
            time.sleep(0.2)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert _launch(resumed, tmp_path / "b.txt").wait(timeout=400) == 0
    want, got = (pd.read_csv(d / "results.csv").set_index("trial_id") for d in (straight, resumed))
    columns = ["stopped_at_epoch", "epochs_trained", "val_accuracy@1", "val_accuracy"]
    pd.testing.assert_frame_equal(got[columns], want[columns], rtol=1e-5)
    assert want.stopped_at_epoch.notna().any()  # the rule did stop a trial in this search
