"""KerasTuner's own random and Gaussian-process oracles, with notes and budget sizing."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from keras_tuner.oracles import BayesianOptimizationOracle, RandomSearchOracle

from kerasnas import keras_tuner_internals as internals
from kerasnas.oracles._base import (PHASE_MODEL, PHASE_RANDOM, PHASE_WARMUP, NotesMixin,
                                    ObjectiveLike, warmup_size)
from kerasnas.oracles._pareto import ConstraintLike, ParetoMixin, TradeOff


class RandomOracle(ParetoMixin, NotesMixin, RandomSearchOracle):
    """KerasTuner's random search, noting every trial as `random`.

    Args:
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        seed: The random seed (0 is honoured).
        trade_off: Objectives traded off against `objective` (names or
            `keras_tuner.Objective`s): recorded, not used to choose; random search
            samples the same whatever is searched for.
        constraints: Bounds on the trials' metrics: with a `screen`, a draw whose
            model breaks a size bound is drawn again (20 times at most).
        **kwargs: Passed to `keras_tuner.oracles.RandomSearchOracle`.
    """

    def __init__(self, objective: ObjectiveLike = None, max_trials: int | None = 10, *,
                 seed: int | None = None, trade_off: Sequence[TradeOff] = (),
                 constraints: Sequence[ConstraintLike] = (), **kwargs: Any):
        super().__init__(objective=objective, max_trials=max_trials, seed=seed, **kwargs)
        self._init_notes(seed)
        self._init_pareto(trade_off, constraints)

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        draws = iter(lambda: internals.random_values(self), None)  # KerasTuner's draw, until none
        values = self.pick_draw(draws)
        self.note(trial_id, PHASE_RANDOM, **self.proxy_note())
        if values is None:  # the space is exhausted
            return {"status": "STOPPED", "values": None}
        return {"status": "RUNNING", "values": values}


class KerasTunerGPOracle(NotesMixin, BayesianOptimizationOracle):
    """KerasTuner's Gaussian-process oracle (`kt-gp`), kept for comparison.

    Weak on architecture spaces: it puts a Choice of n unordered values on a line
    ((i + 0.5) / n) with one length scale for every dimension, so it invents an
    order between operations; it maximises its acquisition over the continuous box
    and rounds the optimum back to a value, which mostly lands on a tried trial;
    and its length scale often collapses to 1e-5, leaving no correlation to model.
    `reports/oracle_validity.md` measures it; `bayes` (`GaussianProcessOracle`) is
    the GP to use.

    Here its random start is sized to the budget (KerasTuner: 3 x the number of
    hyperparameters, so a 3-trial search over 10 of them never consults the GP).

    Proposals that repeat a tried trial (KerasTuner does not check) are
    replaced by a random one and noted as such.

    Args:
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        num_initial_points: Random trials before the GP; None sizes it to the budget.
        seed: The random seed (0 is honoured).
        **kwargs: Passed to `keras_tuner.oracles.BayesianOptimizationOracle`.
    """

    def __init__(self, objective: ObjectiveLike = None, max_trials: int | None = 10, *,
                 num_initial_points: int | None = None, seed: int | None = None, **kwargs: Any):
        if num_initial_points is not None and num_initial_points < 1:
            raise ValueError(f"`num_initial_points` must be >= 1; got {num_initial_points}.")
        if num_initial_points is None:
            num_initial_points = warmup_size(max_trials)
        super().__init__(objective=objective, max_trials=max_trials,
                         num_initial_points=num_initial_points, seed=seed, **kwargs)
        self._init_notes(seed)
        internals.set_gp_random_state(self, np.random.RandomState(self.seed))
        self.gpr = self._make_gpr()

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        completed = sum(t.status == "COMPLETED" for t in self.trials.values())
        if completed < self.num_initial_points:
            self.note(trial_id, PHASE_WARMUP)
            return internals.gp_random_response(self)
        with warnings.catch_warnings():
            # sklearn's ConvergenceWarning when the length scale hits its bound (see above).
            warnings.simplefilter("ignore", ConvergenceWarning)
            response = super().populate_space(trial_id)
        if response.get("values") is not None and internals.is_tried(self, response["values"]):
            self.note(trial_id, PHASE_RANDOM, reason="GP proposed a tried trial")
            return internals.gp_random_response(self)
        self.note(trial_id, PHASE_MODEL)
        return response

    def get_state(self) -> dict[str, Any]:
        # KerasTuner restarts the GP's optimiser seeds from `seed` on reload, so a
        # resumed search would propose other trials than an uninterrupted one.
        state = super().get_state()
        random_state = internals.gp_random_state(self).get_state(legacy=False)
        # Saved as RandomState's legacy tuple (kind, keys, pos, has_gauss, cached), which set_state takes.
        state["gp_random_state"] = [random_state["bit_generator"],
                                    random_state["state"]["key"].tolist(), random_state["state"]["pos"],
                                    random_state["has_gauss"], random_state["gauss"]]
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if "gp_random_state" in state:  # absent in runs saved before it was kept
            kind, keys, pos, has_gauss, cached = state["gp_random_state"]
            internals.gp_random_state(self).set_state(
                (kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))

    def _make_gpr(self) -> Any:
        # A declared override (kerasnas.keras_tuner_internals): KerasTuner builds its GP here.
        gpr = super()._make_gpr()
        gpr.random_state = self.seed
        return gpr
