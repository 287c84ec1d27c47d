"""`BudgetedSearch`: one budget of epochs for the selection and the returned model."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import types

import keras
import numpy as np
import pandas as pd
import pytest

from kerasnas.budget_plan import QUANTUM, make_plan
from kerasnas.methods import BudgetedSearch
from kerasnas.methods.speed import Speed
from kerasnas.oracles.successive_halving import significant_lead
from kerasnas.progress import Reporter
from kerasnas.schedules import WarmupStableDecay
from kerasnas.search import search
from kerasnas.settings import SearchSettings
from kerasnas.spaces import ResNetSpace
from tests.test_resume import kill_once_written

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_space():
    return ResNetSpace(stem_width=8, stages=1, kernel_size=3)


def test_a_budgeted_run_spends_its_budget_and_returns_the_model_trained_to_its_end(tmp_path,
                                                                                    tiny_splits):
    result = search(small_space(), "random", tiny_splits, budget_epochs=5, batch_size=32, seed=0,
                    directory=str(tmp_path), reporter=Reporter())
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str, "promoted_from": str})
    # 5 epochs: 3 candidates x 0.25; the hand design, raced whatever its rank, and the best
    # proposal x 0.75; each judged after a cool-down of a sixth of its epochs rounded up to an
    # eighth (5 x 1/8); then the better of the two to 3.375 epochs.
    assert table.rung.tolist() == [0, 0, 0, 1, 1, 2]
    assert table.epochs_to.tolist() == [0.25, 0.25, 0.25, 0.75, 0.75, 3.375]
    assert table.epochs_from.tolist() == [0, 0, 0, 0.25, 0.25, 0.75]
    assert table.phase[0] == "start"  # the space's hand-designed member first
    assert table.snapshot_accuracy[:5].notna().all()  # judged after a cool-down
    proposals = table[(table.rung == 0) & (table.phase != "start")]
    assert table.promoted_from[3:5].tolist() == ["0", proposals.trial_id[proposals.val_accuracy.idxmax()]]
    # Judged after cool-downs, the last selection rung's best goes on on any lead.
    rung1 = table[table.rung == 1]
    assert table.promoted_from[5] == rung1.trial_id[rung1.val_accuracy.idxmax()]
    budget = result.summary["budget"]
    assert budget["epochs_used"] == budget["selection_epochs"] + budget["final_epochs"] == 5.0
    assert (budget["selection_epochs"], budget["final_epochs"]) == (1.75 + 5 * 0.125, 2.625)
    assert "the hand design raced" in budget["plan"]
    config = json.loads((tmp_path / "run.json").read_text())["method_config"]
    assert (config["incumbent_race"], config["cooldown_fraction"], config["incumbent_confidence"]) \
        == (True, 1 / 6, None)
    assert result.summary["best_trial"] == "5"  # the model trained to the end of the budget
    model = keras.models.load_model(tmp_path / "best_model.keras")
    test = tiny_splits.dataset("test", batch_size=32)
    assert model.evaluate(test, verbose=0, return_dict=True)["accuracy"] == \
        pytest.approx(result.test_accuracy)
    # Continued, not restarted: the optimizer's step count goes on from the parent's.
    chunk = max(1, round(-(-len(tiny_splits.y_train) // 32) / 8))
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 27 * chunk  # 3.375 epochs


def test_without_racing_only_the_best_goes_on_and_the_start_keeps_its_place_only_on_a_lead(
        tmp_path, tiny_splits):
    # Without a cool-down: the snapshots are noisy, and a proposal needs a significant lead.
    method = BudgetedSearch(budget_epochs=5, incumbent_race=False, cooldown_fraction=0)
    result = search(small_space(), "random", tiny_splits, method=method, batch_size=32, seed=0,
                    directory=str(tmp_path), reporter=Reporter())
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str, "promoted_from": str})
    # 5 epochs: 3 candidates x 0.25, the best x 0.75, then it to 4.5 epochs.
    assert table.rung.tolist() == [0, 0, 0, 1, 2]
    assert table.epochs_to.tolist() == [0.25, 0.25, 0.25, 0.75, 4.5]
    rung0 = table[table.rung == 0]
    # The start (the hand design) keeps its place unless a proposal leads it significantly.
    lead = significant_lead(rung0.val_accuracy[0], len(tiny_splits.y_val), 0.95)
    ranked = rung0.val_accuracy + (rung0.phase == "start") * lead
    assert table.promoted_from[3] == rung0.trial_id[ranked.idxmax()]
    assert table.promoted_from[4] == "3"
    budget = result.summary["budget"]
    assert (budget["selection_epochs"], budget["final_epochs"], budget["epochs_used"]) == \
        (1.25, 3.75, 5.0)
    assert "raced" not in budget["plan"]
    config = json.loads((tmp_path / "run.json").read_text())["method_config"]
    assert "incumbent_race" not in config and "cooldown_fraction" not in config
    assert config["incumbent_confidence"] == 0.95


def test_a_cooldown_judges_each_selection_model_after_a_branch_and_continues_without_it(
        tmp_path, tiny_splits):
    method = BudgetedSearch(budget_epochs=5, cooldown_fraction=0.2)
    result = search(small_space(), "random", tiny_splits, method=method, batch_size=32, seed=0,
                    directory=str(tmp_path), reporter=Reporter())
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str, "promoted_from": str})
    # As raced, but branches of a fifth of 0.25 and 0.75 epochs rounded up to eighths (3 x 1/8,
    # 2 x 1/4) come out of the winner's training: to 3.125 epochs.
    assert table.epochs_to.tolist() == [0.25, 0.25, 0.25, 0.75, 0.75, 3.125]
    selection = table[table.rung < 2]
    assert selection.snapshot_accuracy.notna().all() and pd.isna(table.snapshot_accuracy[5])
    # The snapshot is the saved model's score; the branch's is another model's.
    val = tiny_splits.dataset("val", batch_size=32)
    for trial_id, snapshot in zip(selection.trial_id, selection.snapshot_accuracy):
        saved = keras.models.load_model(tmp_path / "search" / f"trial_{trial_id}" / "model.keras")
        assert saved.evaluate(val, verbose=0, return_dict=True)["accuracy"] == pytest.approx(snapshot)
    assert (selection.val_accuracy != selection.snapshot_accuracy).any()
    # Promotion follows the cooled scores: the best proposal of rung 0 goes on beside the start.
    proposals = table[(table.rung == 0) & (table.phase != "start")]
    assert table.promoted_from[4] == proposals.trial_id[proposals.val_accuracy.idxmax()]
    budget = result.summary["budget"]
    assert (budget["selection_epochs"], budget["final_epochs"], budget["epochs_used"]) == \
        (1.75 + 3 * 0.125 + 2 * 0.25, 2.375, 5.0)
    assert json.loads((tmp_path / "run.json").read_text())["method_config"]["cooldown_fraction"] == 0.2
    # The winner went on from the model saved before its branch: no branch step in its count.
    model = keras.models.load_model(tmp_path / "best_model.keras")
    chunk = max(1, round(-(-len(tiny_splits.y_train) // 32) / 8))
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 25 * chunk  # 3.125 epochs


def test_a_winner_ending_on_train_and_validation_images_trains_its_last_rung_on_both(
        tmp_path, tiny_splits, monkeypatch):
    calls = []  # (parts, start step) of every stream a trial or branch trains on
    stream = tiny_splits.stream

    def spy(*parts, start_step=0, **kwargs):
        calls.append((parts, start_step))
        return stream(*parts, start_step=start_step, **kwargs)

    monkeypatch.setattr(tiny_splits, "stream", spy)
    method = BudgetedSearch(budget_epochs=5, final_images="train+val")
    result = search(small_space(), "random", tiny_splits, method=method, batch_size=32, seed=0,
                    directory=str(tmp_path), reporter=Reporter())
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str, "promoted_from": str})
    # The plan is the default's (the first test): only the images of the winner's rung change.
    assert table.epochs_to.tolist() == [0.25, 0.25, 0.25, 0.75, 0.75, 3.375]
    chunk = max(1, round(-(-len(tiny_splits.y_train) // 32) / 8))
    # Trials 0-4 and their 5 cool-down branches on the training split; the winner's rung
    # (from 0.75 epochs) on both splits, a stream of its own from its first step.
    assert calls[:-1] == [(("train",), step * chunk) for step in
                          (0, 2, 0, 2, 0, 2, 2, 6, 2, 6)] and len(calls) == 11
    assert calls[-1] == (("train", "val"), 0)
    assert result.summary["budget"]["final_images"] == "train+val"
    assert result.summary["budget"]["epochs_used"] == 5.0
    config = json.loads((tmp_path / "run.json").read_text())["method_config"]
    assert config["final_images"] == "train+val"
    model = keras.models.load_model(tmp_path / "best_model.keras")  # the step count goes on
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 27 * chunk


def test_a_stream_of_two_splits_gives_each_of_their_images_once_an_epoch(tiny_splits):
    both = len(tiny_splits.y_train) + len(tiny_splits.y_val)
    x, y = next(iter(tiny_splits.stream("train", "val", batch_size=both, seed=0)))
    expected = np.concatenate([tiny_splits.x_train, tiny_splits.x_val]).reshape(both, -1)
    order = np.lexsort(expected.T)
    got = keras.ops.convert_to_numpy(x).reshape(both, -1).astype(expected.dtype)
    assert (got[np.lexsort(got.T)] == expected[order]).all()
    assert sorted(keras.ops.convert_to_numpy(y).tolist()) == sorted(
        np.concatenate([tiny_splits.y_train, tiny_splits.y_val]).tolist())
    with pytest.raises(ValueError, match=r"`stream` takes one or more of train, val, test. "
                                         r"Received: \('train', 'validation'\)"):
        tiny_splits.stream("train", "validation", batch_size=32)


def test_the_continuing_tuner_refuses_other_final_splits_before_writing_its_folder(tmp_path):
    from kerasnas.methods.continuing_tuner import ContinuingTuner

    with pytest.raises(ValueError, match=r"`final_parts` must be one of \('train',\), "
                                         r"\('train', 'val'\). Received: final_parts=\('val',\)"):
        ContinuingTuner(None, None, steps_per_epoch=4, quantum=0.25, final_parts=["val"],
                        directory=str(tmp_path), project_name="search")
    assert os.listdir(tmp_path) == []


def test_a_budget_too_small_is_refused_before_anything_is_written(tmp_path, tiny_splits):
    with pytest.raises(ValueError, match=r"A budget of 2 epochs is too small .* give at least 5"):
        search(small_space(), "random", tiny_splits, budget_epochs=2, directory=str(tmp_path),
               reporter=Reporter())
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_method_and_budget_epochs_together_are_refused(tmp_path, tiny_splits):
    with pytest.raises(ValueError, match=r"pass either it or a `method`, not both"):
        search(small_space(), "random", tiny_splits, budget_epochs=5, directory=str(tmp_path),
               method=BudgetedSearch(budget_epochs=5), reporter=Reporter())


def launch(directory, log, oracle="evolution", budget="5", cooldown="auto", final_images="train"):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "_budget_script.py"),
                             str(directory), oracle, budget, cooldown, final_images],
                            stdout=open(log, "a"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def trials(directory):
    table = pd.read_csv(directory / "results.csv", dtype={"trial_id": str, "promoted_from": str})
    columns = ["trial_id", "status", "rung", "epochs_from", "epochs_to", "promoted_from",
               *sorted(c for c in table if c.startswith("hp."))]
    return table[columns].to_dict("records")


@pytest.mark.slow
# The default cools down (a kill may land in a branch); "0" judges snapshots.
@pytest.mark.parametrize("cooldown", ["auto", "0"])
def test_kill_9_then_resume_ends_with_the_trials_of_an_uninterrupted_run(tmp_path, cooldown):
    whole, cut, log = tmp_path / "whole", tmp_path / "cut", tmp_path / "log.txt"
    assert launch(whole, log, cooldown=cooldown).wait(timeout=600) == 0, log.read_text()[-3000:]
    rng = random.Random(3)
    for _ in range(2):  # killed at a random moment after it got going, twice
        p = launch(cut, log, cooldown=cooldown)
        try:
            deadline = time.time() + 120
            while not (cut / "results.csv").is_file() and p.poll() is None and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 6.0))
        finally:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert launch(cut, log, cooldown=cooldown).wait(timeout=600) == 0, log.read_text()[-3000:]
    assert trials(cut) == trials(whole)
    summary = json.loads((cut / "summary.json").read_text())
    assert summary["budget"]["epochs_used"] == 5.0


@pytest.mark.slow
@pytest.mark.parametrize("final_images", ["train", "train+val"])
def test_a_winner_killed_in_its_last_rung_resumes_to_the_same_model(tmp_path, final_images):
    whole, cut, log = tmp_path / "whole", tmp_path / "cut", tmp_path / "log.txt"
    assert launch(whole, log, final_images=final_images).wait(timeout=600) == 0, \
        log.read_text()[-3000:]
    # Killed once the winner's rung (trial 5, from 0.75 to 3.375 epochs) has checkpointed: the
    # resume must go on with the uninterrupted run's batches (on both splits, from the rung's own
    # stream) and dropout masks (the generator's state, which the saved model lacks).
    state = cut / "search" / "trial_5" / "checkpoint.json"
    kill_once_written(launch(cut, log, final_images=final_images), state, log)
    clock = json.loads(state.read_text())["clock"]
    assert launch(cut, log, final_images=final_images).wait(timeout=600) == 0, \
        log.read_text()[-3000:]
    assert trials(cut) == trials(whole)
    # The clock goes on from the checkpoint's, after every earlier trial's end.
    summary = json.loads((cut / "summary.json").read_text())
    assert summary["resumed_after_seconds"] == pytest.approx(clock, rel=1e-9)
    ours, theirs = (keras.models.load_model(d / "best_model.keras") for d in (cut, whole))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"Give one of `budget_epochs` and `budget_minutes`. Received: budget_epochs=None"),
    ({"budget_epochs": 5, "budget_minutes": 1}, r"Give one of .* budget_minutes=1"),
    ({"budget_minutes": 0}, r"`budget_minutes` must be a number > 0. Received: budget_minutes=0"),
    ({"budget_epochs": 5, "incumbent_confidence": 1.0},
     r"`incumbent_confidence` must be in \(0.5, 1\), None or \"auto\". Received: "
     r"incumbent_confidence=1.0"),
    ({"budget_epochs": 5, "incumbent_confidence": "high"}, r"Received: incumbent_confidence='high'"),
    ({"budget_epochs": 5, "incumbent_race": 1},
     r"`incumbent_race` must be True or False. Received: incumbent_race=1"),
    ({"budget_minutes": 2, "cooldown_fraction": 0.2},
     r"`cooldown_fraction` is planned in epochs: give `budget_epochs` with it"),
    ({"budget_epochs": 12, "cooldown_fraction": 1}, r"`cooldown_fraction` must be a number in"),
    ({"budget_epochs": 12, "cooldown_fraction": "half"},
     r"`cooldown_fraction` must be a number in \[0, 1\) or \"auto\". Received: cooldown_fraction='half'"),
    ({"budget_epochs": 12, "final_images": "all"},
     r"`final_images` must be one of 'train', 'train\+val'. Received: final_images='all'"),
])
def test_a_budgeted_search_takes_exactly_one_budget(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BudgetedSearch(**kwargs)


@pytest.mark.parametrize("kwargs, cooldown, confidence", [
    ({"budget_epochs": 12}, 1 / 6, None),  # cooled rungs, compared on any lead
    ({"budget_epochs": 12, "cooldown_fraction": 0}, 0, 0.95),  # snapshots need a clear lead
    ({"budget_epochs": 12, "cooldown_fraction": 0.25, "incumbent_confidence": 0.9}, 0.25, 0.9),
    ({"budget_minutes": 2}, 0, 0.95),  # a time budget is planned without cool-downs
])
def test_auto_options_resolve_by_budget(kwargs, cooldown, confidence):
    method = BudgetedSearch(**kwargs)
    assert (method.cooldown_fraction, method.incumbent_confidence) == (cooldown, confidence)


def test_settings_refuse_two_budgets_naming_both():
    with pytest.raises(ValueError, match=r"Give one budget: .* not both; got 5 epochs and 1 minutes"):
        SearchSettings(budget_epochs=5, budget_minutes=1)


def _trial(start, end, train_seconds):
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.values.update({"tuner/initial_epoch": start, "tuner/epochs": end})
    trial = keras_tuner.engine.trial.Trial(hp, trial_id="3")
    trial.metrics.update("train_seconds", train_seconds)
    return trial


@pytest.mark.parametrize("elapsed, train_seconds, end", [
    # The winner at 1 s an epoch, faster than the measured 2: 60 s - 2 measuring - 20 elapsed
    # - 1.5 for its trial (1 of it tracing, the rest halved) - 0.5 to finish: 36 epochs.
    (20.0, 1.0 + 2 * 1.0, 3 + 36),
    # At 4 s an epoch, slower than the measured 2 (a short rung is mostly fixed costs): the
    # measured speed, 60 - 2 - 20 - 2 - 1 = 35 s left, 17.5 epochs; a slower winner is cut at
    # its deadline.
    (20.0, 1.0 + 2 * 4.0, 3 + 17.5),
    (50.0, 1.0 + 2 * 2.0, 3 + 2.5),    # 5 s left at 2 s an epoch
    (70.0, 9.0, 3 + QUANTUM),          # past the budget: one more quantum, the least a rung trains
])
def test_the_winner_of_a_time_budget_trains_for_the_time_left(elapsed, train_seconds, end):
    method = BudgetedSearch(budget_minutes=1)
    method.speed = Speed(seconds_per_epoch=2.0, seconds_per_trial=2.0, trace_seconds=1.0,
                         seconds_to_finish=1.0, seconds_measuring=2.0, flops=1e6)
    method._run = types.SimpleNamespace(elapsed=lambda: elapsed)
    method._costs = {json.dumps({}): 1.0}  # the winner's FLOPs are the measured model's
    assert method._final_end(_trial(1.0, 3.0, train_seconds)) == end


@pytest.mark.slow
def test_a_time_budget_is_planned_at_the_measured_speed_and_the_winner_trains_to_its_given_end(
        tmp_path, tiny_splits):
    space = ResNetSpace(stem_width=8, stages=1, kernel_size=3, optimizer="adam")
    result = search(space, "random", tiny_splits, budget_minutes=1, batch_size=32, seed=0,
                    directory=str(tmp_path), reporter=Reporter())
    budget = result.summary["budget"]
    speed = json.loads((tmp_path / "speed.json").read_text())
    assert budget["speed"] == speed and budget["minutes"] == 1 and budget["epochs"] is None
    plan = make_plan(budget["planned_epochs"], raced=1)  # the hand design raced, by default
    assert budget["plan"] == plan.describe()
    table = pd.read_csv(tmp_path / "results.csv", dtype={"trial_id": str, "promoted_from": str})
    assert table.rung.tolist() == [k for k, rung in enumerate(plan.rungs) for _ in range(rung.size)]
    final = table.iloc[-1]
    assert budget["final_epochs"] == final.epochs_to - final.epochs_from > 0
    # The clock counts the measurement and every trial's training (and more: builds, tests).
    assert budget["seconds"] >= speed["seconds_measuring"] + table.train_seconds.sum()
    model = keras.models.load_model(tmp_path / "best_model.keras")
    chunk = max(1, round(-(-len(tiny_splits.y_train) // 32) / 8))
    steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    assert steps == round(final.epochs_to / QUANTUM) * chunk  # continued to the end it was given


def test_on_a_time_budget_only_the_final_rung_decays_and_from_its_own_start():
    method = BudgetedSearch(budget_minutes=1)  # planned as 12 epochs: 3 x 0.5, 2 x 1.5, then 10
    method.plan, method._run = make_plan(12, raced=1), types.SimpleNamespace(
        data=types.SimpleNamespace(y_train=range(320)), settings=SearchSettings(batch_size=32))
    method.speed = Speed(seconds_per_epoch=2.0, seconds_per_trial=2.0, trace_seconds=1.0,
                         seconds_to_finish=1.0, seconds_measuring=2.0, flops=1e6)
    method._costs = {json.dumps({"w": 2}): 2.0}  # twice the measured model's cost an epoch
    rung0 = method._schedule_for({"w": 2, "tuner/round": 0}, 0, 3)
    # warm-up over half of its own first rung (0.5 / 2 = 0.25 epochs, 2.5 steps: 1 step of
    # warm-up); its rate held to its end
    assert (rung0.warmup_steps, rung0.decay_from, rung0.decay_to) == (1, 3, 4)
    final = method._schedule_for({"w": 2, "tuner/round": 2}, 10, 60)
    assert (final.warmup_steps, final.decay_from, final.decay_to) == (1, 10, 60)
    assert final.factor(59) < 0.01 and final.factor(10) == 1.0


def test_a_deadline_moves_the_end_and_the_decay_earlier_at_the_speed_seen(monkeypatch):
    from kerasnas.methods import continuing_tuner

    clock = [0.0]
    monkeypatch.setattr(continuing_tuner.time, "time", lambda: clock[0])
    schedule = WarmupStableDecay(warmup_steps=2, decay_from=40, decay_to=500)
    stopper = continuing_tuner._Deadline(100.0, schedule, last=50, chunk=10)
    stopper.set_model(types.SimpleNamespace(stop_training=False))
    ends = []
    for epoch in range(10, 50):  # a trial continued from chunk 10, planned to chunk 50
        clock[0] += 5.0 if epoch == 10 else 2.0  # the first chunk traces
        stopper.on_epoch_end(epoch)
        ends.append(stopper.last)
        if stopper.model.stop_training:
            break
    # After chunk 12 (t = 7): 2 s a chunk, 93 s left -> 46 more, chunk 58: the plan's 50 holds.
    # Chunks run at 2 s to t = 81 at chunk 49, so it never shortens; a slower speed would.
    assert ends[-1] == 50 and schedule.decay_to == 500 and epoch == 49
    clock[0], schedule.decay_to = 0.0, 500
    slow = continuing_tuner._Deadline(30.0, schedule, last=50, chunk=10)
    slow.set_model(types.SimpleNamespace(stop_training=False))
    for epoch in range(10, 50):
        clock[0] += 5.0 if epoch == 10 else 4.0
        slow.on_epoch_end(epoch)
        if slow.model.stop_training:
            break
    # 4 s a chunk: at chunk 12 (t = 9) 21 s fit 5 more chunks, chunk 17; it stops there, at
    # t = 29, with the decay ending at its step.
    assert (slow.last, epoch + 1, schedule.decay_to) == (17, 17, 170)
