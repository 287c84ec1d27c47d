"""How the oracles use several objectives and bounds: NSGA-II's tournament in evolution,
ParEGO and the probability of feasibility in the GP, Pareto promotions in successive halving."""

import keras_tuner
import numpy as np
import pytest

from kerasnas import keras_tuner_internals as internals
from kerasnas.budget_plan import make_plan
from kerasnas.oracles import make_oracle
from kerasnas.oracles._gp_model import GPRegressor
from kerasnas.oracles.successive_halving import SuccessiveHalvingOracle
from kerasnas.pareto import dominates
from kerasnas.testing.oracle_contract import register_space

OBJECTIVE = keras_tuner.Objective("score", "max")


def ready(oracle, directory):
    internals.set_project_dir(oracle, str(directory), "p")
    oracle.verbose = 0
    register_space(oracle)
    return oracle


def finish(oracle, metrics_of):
    """Creates a trial, reports `metrics_of(values)` and completes it."""
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, metrics_of(trial.hyperparameters.values))
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    return trial


def test_evolutions_tournament_is_won_by_the_feasible_non_dominated_member(tmp_path):
    # A tournament over the whole population: the parent is its best by NSGA-II's order.
    oracle = ready(make_oracle("evolution", objective=OBJECTIVE, max_trials=5, seed=0,
                               population_size=4, sample_size=4, trade_off=["params"],
                               constraints=["params<=100"]), tmp_path)
    reported = iter([{"score": 0.9, "params": 1000.0},  # the most accurate breaks the bound
                     {"score": 0.5, "params": 10.0},  # dominates the two below
                     {"score": 0.4, "params": 20.0}, {"score": 0.3, "params": 30.0}])
    ids = [finish(oracle, lambda values: next(reported)).trial_id for _ in range(4)]
    child = oracle.create_trial("tuner0")
    assert oracle.notes[child.trial_id]["parent"] == ids[1]


def test_with_one_objective_evolutions_tournament_is_won_by_the_score(tmp_path):
    oracle = ready(make_oracle("evolution", objective=OBJECTIVE, max_trials=5, seed=0,
                               population_size=4, sample_size=4), tmp_path)
    reported = iter([{"score": s, "params": 10.0} for s in (0.5, 0.9, 0.4, 0.3)])
    ids = [finish(oracle, lambda values: next(reported)).trial_id for _ in range(4)]
    child = oracle.create_trial("tuner0")
    assert oracle.notes[child.trial_id]["parent"] == ids[1]


@pytest.mark.parametrize("seed", range(5))
def test_parego_ranks_a_dominating_trial_above_the_one_it_dominates_whatever_the_weights(
        tmp_path, seed):
    oracle = ready(make_oracle("bayes", objective=OBJECTIVE, max_trials=20, seed=seed,
                               trade_off=["params"]), tmp_path)
    rng = np.random.default_rng(seed)
    for _ in range(8):
        finish(oracle, lambda values: {"score": float(rng.uniform()),
                                       "params": float(10 ** rng.uniform(2, 6))})
    trials = list(oracle.trials.values())
    targets = oracle._targets(trials)  # one weight vector drawn per call
    points = [oracle.point(t) for t in trials]
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            if dominates(a, b, ["max", "min"]):
                assert targets[i] > targets[j]


def test_a_traded_off_metric_a_trial_does_not_record_is_named(tmp_path):
    oracle = ready(make_oracle("bayes", objective=OBJECTIVE, max_trials=20, seed=0,
                               trade_off=["flops"]), tmp_path)
    trial = finish(oracle, lambda values: {"score": 0.5})
    with pytest.raises(ValueError, match=f"Trial {trial.trial_id} records no metric 'flops'"):
        oracle.point(trial)


def test_the_probability_a_bound_is_kept_follows_the_fitted_metric():
    x = np.array([[0.0], [0.25], [0.5], [0.75], [1.0]])
    gp = GPRegressor(x, np.array([1.0, 2.0, 3.0, 4.0, 5.0]), categorical=np.array([False]))
    low, high = np.exp(gp.log_probability_below(np.array([[0.0], [1.0]]), 2.5))
    assert low > 0.9 and high < 0.1


def test_the_gp_proposes_within_the_bounds_once_it_has_seen_them(tmp_path):
    # size = 1 + 2a + d (register_space): params <= 3 keeps a = 0 and d <= 2, or a = 1, d = 0.
    oracle = ready(make_oracle("bayes", objective=OBJECTIVE, max_trials=14, seed=0,
                               num_initial_points=6, constraints=["params<=3"]), tmp_path)

    def metrics(values):
        size = 1.0 + 2 * values["a"] + values.get("d", 0)
        return {"score": float(values["b"]) if size <= 3 else 0.0, "params": size,
                "feasible": float(size <= 3)}

    for _ in range(14):
        finish(oracle, metrics)
    model_phase = [t for i, t in oracle.trials.items() if oracle.notes[i]["phase"] == "model"]
    kept = [metrics(t.hyperparameters.values)["feasible"] for t in model_phase]
    assert len(model_phase) == 8 and sum(kept) >= 6


def test_successive_halving_promotes_by_pareto_rank_and_the_most_accurate_to_the_end(tmp_path):
    proposer = make_oracle("random", objective=OBJECTIVE, max_trials=100, seed=1,
                           trade_off=["params"])
    oracle = SuccessiveHalvingOracle(proposer, make_plan(30), seed=1)  # 9 -> 3 -> 1 -> final
    internals.set_project_dir(oracle, str(tmp_path), "p")
    register_space(oracle)
    oracle.verbose = proposer.verbose = 0

    class Metrics(dict):
        exists = dict.__contains__
        get_last_value = dict.__getitem__

    class Ended:
        def __init__(self, trial_id, score, params):
            self.trial_id, self.score, self.metrics = trial_id, score, Metrics(params=params)

    # Front 0: a and b (its extremes, infinitely crowded), then d; c is dominated by b.
    done = [Ended("a", 0.9, 900.0), Ended("b", 0.8, 10.0), Ended("c", 0.7, 20.0),
            Ended("d", 0.85, 500.0)]
    by_rank = [t.trial_id for t in oracle._best_first(done, final=False)]
    assert set(by_rank[:2]) == {"a", "b"} and by_rank[2:] == ["d", "c"]
    assert [t.trial_id for t in oracle._best_first(done, final=True)] == ["a", "d", "b", "c"]
