"""`bayes` (GaussianProcessOracle) and `kt-gp`: real proposals, never a repeat, honest phase labels."""

import json

import keras_tuner
import numpy as np
import pytest

from kerasnas import keras_tuner_internals as internals
from kerasnas.oracles import GaussianProcessOracle, make_oracle
from kerasnas.oracles._gp import _Encoding
from kerasnas.oracles._gp_model import GPRegressor, _log_h, _scaled_sq_diffs


def _oracle(name, directory, max_trials, seed=0):
    oracle = make_oracle(name, objective=keras_tuner.Objective("score", "max"),
                         max_trials=max_trials, seed=seed)
    internals.set_project_dir(oracle, str(directory), "p")
    oracle.verbose = 0
    return oracle


def _drive(oracle, score):
    """Runs until STOPPED; returns the values of every trial in start order."""
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        oracle.update_trial(trial.trial_id, {"score": score(trial.hyperparameters.values)})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return [oracle.trials[i].hyperparameters.values for i in oracle.start_order]


def _small_space(hp):
    for name in ("a", "b", "c"):
        hp.Choice(name, ["x", "y", "z"])  # 27 configurations


def _small_score(values):
    return sum({"x": 0.0, "y": 1.0, "z": 0.3}[values[k]] * w for k, w in zip("abc", (3, 2, 1)))


def test_bayes_never_proposes_a_configuration_twice_and_stops_when_all_are_tried(tmp_path):
    oracle = _oracle("bayes", tmp_path, max_trials=40)
    _small_space(oracle.hyperparameters)
    values = _drive(oracle, _small_score)
    keys = [json.dumps(v, sort_keys=True) for v in values]
    assert len(keys) == 27 == len(set(keys))  # the whole space, each configuration once
    phases = [oracle.notes[i]["phase"] for i in oracle.start_order]
    warmup = 14  # a third of the budget of 40
    assert phases == ["warm-up"] * warmup + ["model"] * (27 - warmup)
    assert all(oracle.notes[i]["proposal_seconds"] >= 0 for i in oracle.start_order[warmup:])


def test_bayes_labels_a_random_fallback_as_random(tmp_path, monkeypatch):
    oracle = _oracle("bayes", tmp_path, max_trials=6)
    _small_space(oracle.hyperparameters)
    monkeypatch.setattr(GaussianProcessOracle, "_propose", lambda self, completed: None)
    _drive(oracle, _small_score)
    phases = [oracle.notes[i] for i in oracle.start_order]
    assert [p["phase"] for p in phases] == ["warm-up"] * 2 + ["random"] * 4
    assert phases[-1]["reason"] == "no untried candidate for the GP"


@pytest.mark.parametrize("seed", range(5))
def test_bayes_finds_the_optimum_of_a_small_space_in_a_quarter_of_it(tmp_path, seed):
    # 27 configurations, optimum ("y", "y", "y"); 7 trials, 3 of them random.
    oracle = _oracle("bayes", tmp_path, max_trials=7, seed=seed)
    _small_space(oracle.hyperparameters)
    values = _drive(oracle, _small_score)
    assert {"a": "y", "b": "y", "c": "y"} in values


def test_kt_gp_never_labels_a_random_fallback_model(tmp_path):
    # 4 configurations: KerasTuner's GP proposes tried ones; each is replaced by a
    # random untried one and labelled `random`.
    oracle = _oracle("kt-gp", tmp_path, max_trials=4)
    oracle.hyperparameters.Choice("a", [0, 1])
    oracle.hyperparameters.Choice("b", [0, 1])
    values = _drive(oracle, lambda v: v["a"] + 0.5 * v["b"])
    keys = [json.dumps(v, sort_keys=True) for v in values]
    assert len(keys) == len(set(keys))
    for position, trial_id in enumerate(oracle.start_order):
        note = oracle.notes[trial_id]
        if note["phase"] == "model":  # a real GP proposal: new at the time
            assert keys[position] not in keys[:position]
        elif note["phase"] == "random":
            assert note["reason"] == "GP proposed a tried trial"


@pytest.mark.slow  # 12 GP proposals: seconds (the contract checks the GP fast)
def test_bayes_respects_conditions_of_the_resnet_space(tmp_path):
    from kerasnas.spaces import ResNetSpace

    oracle = _oracle("bayes", tmp_path, max_trials=12)
    space = ResNetSpace(optimizer=None)
    space.build(oracle.hyperparameters)  # registers the space, as a tuner does at start
    names = {hp.name for hp in oracle.hyperparameters.space}
    assert {"optimizer", "momentum", "sgd_learning_rate", "learning_rate"} <= names

    def score(v):  # prefers SGD with a mid rate, wide stems
        if v["optimizer"] == "sgd":
            return 1.0 - abs(np.log10(v["sgd_learning_rate"]) + 1.3) + v["stem_width"] / 100
        return 0.5 - abs(np.log10(v["learning_rate"]) + 3) + v["stem_width"] / 100

    values = _drive(oracle, score)
    assert len(values) == 12
    assert len({json.dumps(v, sort_keys=True) for v in values}) == 12
    for v in values:  # momentum and the SGD rate exist only with SGD, Adam's rate only with Adam
        sgd = v["optimizer"] == "sgd"
        assert ("momentum" in v, "sgd_learning_rate" in v, "learning_rate" in v) == (sgd, sgd, not sgd)


def test_encoding_codes_inactive_values_apart_and_choices_by_index(tmp_path):
    oracle = _oracle("bayes", tmp_path, max_trials=3)
    hp = oracle.hyperparameters
    hp.Choice("op", ["conv", "pool", "skip"])
    hp.Boolean("sgd")
    with hp.conditional_scope("sgd", [True]):
        hp.Float("momentum", 0.0, 1.0)
    hp.Float("rate", 1e-4, 1e-1, sampling="log")
    encoding = _Encoding(hp.space)
    assert encoding.categorical.tolist() == [True, True, False, False]
    assert encoding.encode({"op": "skip", "sgd": False, "rate": 1e-4}) == [2.0, 0.0, -1.0, 0.0]
    row = encoding.encode({"op": "conv", "sgd": True, "momentum": 0.25, "rate": 1e-1})
    assert row == pytest.approx([0.0, 1.0, 0.25, 1.0])


def test_kernel_compares_categories_by_match_only():
    a = np.array([[0.0, 0.5]])
    b = np.array([[1.0, 0.5], [4.0, 0.5], [0.0, 0.7]])
    sq = _scaled_sq_diffs(a, b, np.array([True, False]), np.array([1.0, 0.5]))
    # op 0 vs 1 and op 0 vs 4 differ equally; the numeric dimension by its scaled gap.
    assert sq[0, :, 0].tolist() == [1.0, 1.0, 0.0]
    assert sq[0, :, 1] == pytest.approx([0.0, 0.0, 0.16])


def test_log_expected_improvement_is_finite_far_below_the_incumbent():
    from scipy import special

    z = np.array([-60.0, -5.0, -1.5, 0.0, 2.0])
    with np.errstate(divide="ignore"):  # the direct formula underflows to log(0) at -60
        direct = np.log(np.exp(-0.5 * z ** 2) / np.sqrt(2 * np.pi) + z * special.ndtr(z))
    got = _log_h(z)
    assert np.all(np.isfinite(got)) and direct[0] == -np.inf
    assert got[1:] == pytest.approx(direct[1:], rel=1e-6)
    assert got[0] < got[1] < got[2] < got[3] < got[4]


def test_gp_fit_keeps_length_scales_off_their_floor_and_interpolates():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(30, 2))
    y = np.sin(6 * x[:, 0]) + 0.1 * x[:, 1]
    gp = GPRegressor(x, y, categorical=[False, False])
    assert np.all(gp.lengths > 0.06)
    mean, std = gp.predict(x)
    assert np.abs(mean * gp.std + gp.mean - y).max() < 0.05
    assert np.all(std < 0.2)
