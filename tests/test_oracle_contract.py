"""Every oracle in ORACLES keeps the contract (`kerasnas.testing.oracle_contract`)."""

import pytest

from kerasnas.oracles import ORACLES, make_oracle
from kerasnas.testing.oracle_contract import MultiObjectiveContract, OracleContract, SteeringContract


# KerasTuner's own GP (kt-gp, kept for comparison) spends seconds on each proposal, a minute
# on this contract: the full suite checks it, the fast tier the other oracles.
NAMES = [pytest.param(name, marks=pytest.mark.slow) if name == "kt-gp" else name for name in sorted(ORACLES)]


class TestRegisteredOracles(OracleContract):
    @pytest.fixture(autouse=True, params=NAMES)
    def _name(self, request):
        self.name = request.param

    def create_oracle(self, objective, max_trials, seed):
        return make_oracle(self.name, objective=objective, max_trials=max_trials, seed=seed)


def test_oracles_take_objective_and_max_trials_positionally_as_keras_tuner_does():
    import keras_tuner

    objective = keras_tuner.Objective("score", "max")
    for cls in ORACLES.values():
        oracle = cls(objective, 7)
        assert (oracle.objective.name, oracle.max_trials) == ("score", 7)


# Those that trade objectives off (kt-gp, KerasTuner's GP, searches one objective).
PARETO_NAMES = sorted(set(ORACLES) - {"kt-gp"})


class TestMultiObjectiveOracles(MultiObjectiveContract):
    @pytest.fixture(autouse=True, params=PARETO_NAMES)
    def _name(self, request):
        self.name = request.param

    def create_oracle(self, objective, max_trials, seed, *, trade_off, constraints):
        return make_oracle(self.name, objective=objective, max_trials=max_trials, seed=seed,
                           trade_off=trade_off, constraints=constraints)


# Those whose random draws a proxy can steer (TPE's are Optuna's own).
STEERABLE = sorted(name for name, cls in ORACLES.items() if getattr(cls, "steerable", False))


def test_every_oracle_but_optunas_tpe_and_keras_tuners_gp_is_steerable():
    assert STEERABLE == sorted(set(ORACLES) - {"tpe", "kt-gp"})


class TestSteerableOracles(SteeringContract):
    @pytest.fixture(autouse=True, params=STEERABLE)
    def _name(self, request):
        self.name = request.param

    def create_oracle(self, objective, max_trials, seed):
        return make_oracle(self.name, objective=objective, max_trials=max_trials, seed=seed)
