"""Exact tests of aging evolution (Real et al. 2019, Algorithm 1) as a KerasTuner oracle."""

import json
import warnings

import keras_tuner
import pytest

import kerasnas
from kerasnas import keras_tuner_internals as internals
from kerasnas.oracles import AgingEvolutionOracle, evolution_sizes
from kerasnas.oracles._base import PHASE_MUTATION, PHASE_RANDOM, PHASE_SEEDED, PHASE_WARMUP


def _oracle(tmp_path, direction="max", **kwargs):
    kwargs.setdefault("max_trials", 20)
    kwargs.setdefault("seed", 0)
    oracle = AgingEvolutionOracle(objective=keras_tuner.Objective("score", direction), **kwargs)
    internals.set_project_dir(oracle, str(tmp_path), "p")
    oracle.verbose = 0
    return oracle


def _flat(oracle):
    oracle.hyperparameters.Choice("a", [0, 1, 2, 3])
    oracle.hyperparameters.Int("b", 0, 9)
    oracle.hyperparameters.Float("f", 0.0, 1.0)
    oracle.hyperparameters.Fixed("x", 7)
    return oracle


def _conditional(oracle):
    oracle.hyperparameters.Fixed("x", 7)
    oracle.hyperparameters.Boolean("c")
    with oracle.hyperparameters.conditional_scope("c", [True]):
        oracle.hyperparameters.Choice("d", [0, 1, 2])
    return oracle


def _start(oracle):
    # One tuner id per trial: KerasTuner hands a tuner its ongoing trial again.
    trial = oracle.create_trial(f"tuner{len(oracle.trials)}")
    assert trial.status == "RUNNING"
    return trial


def _finish(oracle, trial, score, status="COMPLETED"):
    oracle.update_trial(trial.trial_id, {"score": score})
    trial.status = status
    oracle.end_trial(trial)


def _run(oracle, score=lambda v: v["a"] + v["b"]):
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status == "STOPPED":
            return
        _finish(oracle, trial, score(trial.hyperparameters.values))


@pytest.mark.parametrize("direction", ["max", "min"])
def test_tournament_picks_best_of_the_sample_by_direction(tmp_path, monkeypatch, direction):
    oracle = _flat(_oracle(tmp_path, direction, population_size=4, sample_size=2))
    for score in [5.0, 1.0, 9.0, 3.0]:
        _finish(oracle, _start(oracle), score)
    # The global best (trial 2 or 1) is left out of the sample.
    monkeypatch.setattr(oracle._rng, "sample", lambda population, k: ["00", "03"])
    child = _start(oracle)
    note = oracle.notes[child.trial_id]
    assert note["phase"] == PHASE_MUTATION
    assert note["parent"] == ("00" if direction == "max" else "03")


def test_population_drops_the_oldest_not_the_worst(tmp_path):
    oracle = _flat(_oracle(tmp_path, population_size=3, sample_size=1))
    scores = [100.0, 1.0, 2.0, 3.0]  # the oldest is the best
    trials = [_start(oracle) for _ in range(3)]
    assert not oracle.in_warmup
    for trial, score in zip(trials, scores):
        _finish(oracle, trial, score)
    assert oracle.population() == ["00", "01", "02"]
    _finish(oracle, _start(oracle), scores[3])
    assert oracle.population() == ["01", "02", "03"]
    # Failed trials never enter.
    _finish(oracle, _start(oracle), 1e9, status="FAILED")
    assert oracle.population() == ["01", "02", "03"]
    # The best in history is still returned.
    assert oracle.get_best_trials()[0].trial_id == "00"


def test_mutation_changes_exactly_one_active_hyperparameter(tmp_path):
    oracle = _flat(_oracle(tmp_path, max_trials=40, population_size=4))
    _run(oracle)
    children = [i for i, n in oracle.notes.items() if n["phase"] == PHASE_MUTATION]
    assert len(children) == 36
    for child in children:
        note = oracle.notes[child]
        parent = oracle.trials[note["parent"]].hyperparameters.values
        values = oracle.trials[child].hyperparameters.values
        changed = [k for k in values if values[k] != parent[k]]
        assert len(changed) == 1 and changed[0] != "x"
        name = changed[0]
        assert note["mutation"] == f"{name}: {parent[name]!r} -> {values[name]!r}"


def test_conditional_children_sample_activated_and_drop_deactivated(tmp_path):
    oracle = _conditional(_oracle(tmp_path))
    # Only `c` is mutable while `d` is inactive (x is Fixed).
    values, mutation = oracle._mutate({"x": 7, "c": False})
    assert mutation == "c: False -> True"
    assert set(values) == {"x", "c", "d"} and values["d"] in (0, 1, 2)
    seen = set()
    for _ in range(20):
        values, mutation = oracle._mutate({"x": 7, "c": True, "d": 1})
        seen.add(mutation.split(":")[0])
        if mutation.startswith("c:"):
            assert values == {"x": 7, "c": False}
        else:
            assert values["c"] is True and values["d"] in (0, 2)
    assert seen == {"c", "d"}


def test_numeric_mutation_always_changes_the_value(tmp_path):
    oracle = _oracle(tmp_path)
    oracle.hyperparameters.Int("n", 0, 1)
    for _ in range(10):
        values, _ = oracle._mutate({"n": 0})
        assert values == {"n": 1}


def test_budget_sizing_gives_mutations_for_six_trials(tmp_path):
    assert evolution_sizes(6) == (2, 2)
    assert evolution_sizes(100) == (34, 9)
    assert evolution_sizes(3000) == (100, 25)
    assert evolution_sizes(6, n_seeded=4) == (4, 2)
    oracle = _flat(_oracle(tmp_path, max_trials=6))
    _run(oracle)
    phases = [oracle.notes[i]["phase"] for i in oracle.start_order]
    assert phases == [PHASE_WARMUP] * 2 + [PHASE_MUTATION] * 4


@pytest.mark.parametrize("kwargs, match", [
    ({"population_size": 0}, "`population_size` must be >= 1; got 0"),
    ({"sample_size": 0}, r"`sample_size` must be in \[1, population_size=\d+\]; got 0"),
    ({"population_size": 3, "sample_size": 4}, r"`sample_size` must be in \[1, population_size=3\]; got 4"),
    ({"population_size": 2, "seeded_values": [{}, {}, {}]}, "3 `seeded_values` do not fit a population of 2"),
    ({"seeded_values": ["a"]}, "`seeded_values` must be a list of dicts"),
])
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AgingEvolutionOracle(objective="val_loss", max_trials=10, **kwargs)


def test_population_as_large_as_the_budget_warns_unless_seeds_fill_the_budget():
    with pytest.warns(UserWarning, match="never mutates"):
        AgingEvolutionOracle(objective="val_loss", max_trials=5, population_size=5)
    with pytest.warns(UserWarning, match="never mutates"):  # one random draw still
        AgingEvolutionOracle(objective="val_loss", max_trials=2, population_size=2,
                             seeded_values=[{"a": 1}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hand design trained alone
        AgingEvolutionOracle(objective="val_loss", max_trials=1, population_size=1,
                             seeded_values=[{"a": 1}])


def test_seeded_values_start_the_warmup(tmp_path):
    seeds = [{"a": 3, "b": 9, "f": 0.5}, {"a": 3, "b": 9, "f": 0.5}, {"a": 1}]
    oracle = _flat(_oracle(tmp_path, max_trials=8, population_size=4, seeded_values=seeds))
    trials = [_start(oracle) for _ in range(3)]
    assert trials[0].hyperparameters.values == {"a": 3, "b": 9, "f": 0.5, "x": 7}
    # The repeated seed is skipped; missing values of the third are sampled.
    assert trials[1].hyperparameters.values["a"] == 1
    assert set(trials[1].hyperparameters.values) == {"a", "b", "f", "x"}
    assert [oracle.notes[t.trial_id] for t in trials] == [
        {"phase": PHASE_SEEDED, "seed_index": 0}, {"phase": PHASE_SEEDED, "seed_index": 2},
        {"phase": PHASE_WARMUP}]


def test_no_completed_trial_falls_back_to_random_not_idle(tmp_path):
    oracle = _flat(_oracle(tmp_path, population_size=2))
    assert oracle.in_warmup
    _start(oracle), _start(oracle)
    trial = _start(oracle)
    assert oracle.notes[trial.trial_id] == {"phase": PHASE_RANDOM, "reason": "no completed trial yet"}


def test_exhausted_space_stops(tmp_path):
    oracle = _oracle(tmp_path, max_trials=10, population_size=1)
    oracle.hyperparameters.Choice("a", [0, 1, 2])
    _run(oracle, score=lambda v: v["a"])
    assert sorted(t.hyperparameters.values["a"] for t in oracle.trials.values()) == [0, 1, 2]


def test_resume_continues_identically(tmp_path):
    straight = _flat(_oracle(tmp_path / "straight"))
    _run(straight)
    first = _flat(_oracle(tmp_path / "resumed"))
    for _ in range(9):
        trial = _start(first)
        _finish(first, trial, trial.hyperparameters.values["a"] + trial.hyperparameters.values["b"])
    resumed = _oracle(tmp_path / "resumed")
    resumed.reload()
    _run(resumed)
    assert [straight.trials[i].hyperparameters.values for i in straight.start_order] == [
        resumed.trials[i].hyperparameters.values for i in resumed.start_order]
    assert json.dumps(straight.notes, sort_keys=True) == json.dumps(resumed.notes, sort_keys=True)


def test_tuner_and_lazy_package_exports(tmp_path):
    assert kerasnas.AgingEvolutionOracle is AgingEvolutionOracle
    tuner = kerasnas.AgingEvolution(hypermodel=lambda hp: None, objective="val_loss", max_trials=6,
                                    directory=str(tmp_path), project_name="p")
    assert isinstance(tuner.oracle, AgingEvolutionOracle)
    assert (tuner.oracle.population_size, tuner.oracle.sample_size) == (2, 2)


def _complete_elsewhere(oracle, trial, score):
    # As a trial another process ended, or one restored from its file: recorded
    # in the oracle's trials without passing through this oracle's end_trial.
    recorded = oracle.trials[trial.trial_id]
    recorded.metrics.register("score", direction="max")
    recorded.metrics.update("score", score)
    recorded.status = "COMPLETED"
    oracle.score_trial(recorded)


def test_trials_completed_elsewhere_form_the_population(tmp_path):
    oracle = _flat(_oracle(tmp_path, population_size=2, sample_size=2))
    first, second = _start(oracle), _start(oracle)
    _complete_elsewhere(oracle, first, 1.0)
    _complete_elsewhere(oracle, second, 5.0)
    assert not oracle.in_warmup and oracle.population() == ["00", "01"]
    child = _start(oracle)
    note = oracle.notes[child.trial_id]
    assert (note["phase"], note["parent"]) == (PHASE_MUTATION, "01")


def test_the_population_is_ordered_by_recorded_end_unrecorded_ones_oldest(tmp_path):
    oracle = _flat(_oracle(tmp_path, population_size=3, sample_size=2))
    trials = [_start(oracle) for _ in range(4)]
    _finish(oracle, trials[2], 1.0)
    _finish(oracle, trials[0], 2.0)
    _complete_elsewhere(oracle, trials[3], 3.0)
    _complete_elsewhere(oracle, trials[1], 4.0)
    assert oracle.population() == ["03", "02", "00"]
    _finish(oracle, _start(oracle), 5.0)
    assert oracle.population() == ["02", "00", "04"]
