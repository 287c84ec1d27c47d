"""Bayesian optimisation for architecture spaces: a GP that models categories, searched discretely."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Callable

import keras_tuner
import numpy as np
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine.trial import TrialStatus

from kerasnas import keras_tuner_internals as internals
from kerasnas.oracles._base import (PHASE_MODEL, PHASE_RANDOM, PHASE_WARMUP, NotesMixin,
                                    ObjectiveLike, fill_values, warmup_size)
from kerasnas.oracles._gp_model import GPRegressor
from kerasnas.oracles._pareto import MAX_SCREENED, ConstraintLike, ParetoMixin, TradeOff
from kerasnas.pareto import METRICS

_INACTIVE = -1.0  # code of a hyperparameter that is inactive in a trial (conditional space)
_RANDOM_CANDIDATES = 512
_LOCAL_STARTS = 8
_LOCAL_STEPS = 12
_FLOAT_STEPS = (-0.2, -0.05, -0.01, 0.01, 0.05, 0.2)  # moves in [0, 1] (log scale if log)
_PAREGO_RHO = 0.05  # the augmented Tchebycheff function's linear part (Knowles 2006)


class _Encoding:
    """Maps value dicts to vectors: one column per searched hyperparameter.

    A Choice or Boolean is the index of its value, compared only for equality by the
    kernel; Int and Float are KerasTuner's [0, 1] position (log-scaled when their
    sampling is log). An inactive conditional hyperparameter (e.g. `momentum`
    without SGD) is coded -1: a category of its own, and for a number a point
    outside [0, 1], so two trials where it is inactive agree on it, and one where
    it is active differs from both.
    """

    def __init__(self, space):
        self.hps = [hp for hp in space if not isinstance(hp, hp_module.Fixed)]
        self.categorical = np.array([_is_categorical(hp) for hp in self.hps], dtype=bool)

    def encode(self, values):
        row = []
        for hp in self.hps:
            if hp.name not in values:
                row.append(_INACTIVE)
            elif isinstance(hp, hp_module.Boolean):
                row.append(float(bool(values[hp.name])))
            elif isinstance(hp, hp_module.Choice):
                row.append(float(list(hp.values).index(values[hp.name])))
            else:
                row.append(float(hp.value_to_prob(values[hp.name])))
        return row


def _is_categorical(hp):
    return isinstance(hp, (hp_module.Choice, hp_module.Boolean))


class GaussianProcessOracle(ParetoMixin, NotesMixin, keras_tuner.Oracle):
    """Bayesian optimisation with a Gaussian process built for architecture spaces.

    After a random start sized to the budget, each trial fits a GP (Matern 5/2;
    categorical choices compared by match, numbers on their own (log) scale,
    conditional hyperparameters coded as inactive) to the completed trials and
    proposes the untried configuration with the highest expected improvement. The
    acquisition is maximised over the discrete space itself: a pool of random
    configurations and one-change neighbours of the best trials, then hill climbing
    by one-change moves from the most promising. Tried configurations (finished,
    failed or running) are never candidates, so nothing is proposed twice.

    KerasTuner's GP (`kt-gp`), by contrast, puts each Choice on a line and rounds a
    continuous optimum back to a value: it invents an order between operations and
    mostly proposes the incumbent again.

    Several objectives (`trade_off`): ParEGO (Knowles 2006). Each proposal draws
    a weight vector uniformly from the simplex, scalarises the completed trials'
    objectives by the augmented Tchebycheff function (each normalised to [0, 1]
    over them; one spanning a factor of 10 or more, such as a parameter count, on
    a log scale: a deviation from the paper, where all are linear) and maximises
    the expected improvement of that one target. `constraints`: the GP fits the
    trials that keep them, one GP per bound fits its metric (log scale when
    positive) over every trial, and the acquisition is multiplied by the
    probability that each bound is kept (Gardner et al. 2014).

    Args:
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        num_initial_points: Random trials before the GP; None sizes it to the budget
            (a third, at least 2).
        seed: The random seed (0 is honoured).
        trade_off: Objectives searched on a Pareto front with `objective`: names
            ("params", "flops", "latency") or `keras_tuner.Objective`s, each read
            from the trial's metric of its name.
        constraints: Bounds such as "params<=100000" (or
            `kerasnas.pareto.Constraint`s) on the trials' metrics. With a
            `screen`, a draw or proposal whose model breaks a size bound is
            replaced by the next (20 times at most); the GP's proposals also
            weigh each bound's probability.
        **kwargs: Passed to `keras_tuner.Oracle`.
    """

    def __init__(self, objective: ObjectiveLike = None, max_trials: int | None = 10, *,
                 num_initial_points: int | None = None, seed: int | None = None,
                 trade_off: Sequence[TradeOff] = (), constraints: Sequence[ConstraintLike] = (),
                 **kwargs: Any):
        if num_initial_points is not None and num_initial_points < 1:
            raise ValueError(f"`num_initial_points` must be >= 1; got {num_initial_points}.")
        super().__init__(objective=objective, max_trials=max_trials, seed=seed, **kwargs)
        self._init_notes(seed)
        self._init_pareto(trade_off, constraints)
        self.num_initial_points = (warmup_size(max_trials) if num_initial_points is None
                                   else num_initial_points)
        self._rng = np.random.default_rng(self.seed)
        self._theta: list[float] | None = None  # last fitted GP hyperparameters: the next fit starts there
        self._screened_out: list[str] = []  # keys of proposals whose model broke a size bound

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        completed = [t for t in self.trials.values()
                     if t.status == TrialStatus.COMPLETED and t.score is not None]
        if len(completed) < self.num_initial_points:
            values = self._random_untried()
            if values is None:
                return {"status": TrialStatus.STOPPED, "values": None}
            self.note(trial_id, PHASE_WARMUP, **self.proxy_note())
            return {"status": TrialStatus.RUNNING, "values": values}
        start = time.process_time()
        for _ in range(MAX_SCREENED):  # a proposal too large is never tried: the next best is
            values = self._propose(completed)
            if values is None or self.within_bounds(values):
                break
            self._screened_out.append(internals.values_key(self, values))
        seconds = round(time.process_time() - start, 4)
        if values is not None:
            self.note(trial_id, PHASE_MODEL, proposal_seconds=seconds)
            return {"status": TrialStatus.RUNNING, "values": values}
        # Only when no untried candidate was found (a nearly exhausted space).
        values = self._random_untried()
        if values is None:
            return {"status": TrialStatus.STOPPED, "values": None}
        self.note(trial_id, PHASE_RANDOM, reason="no untried candidate for the GP",
                  **self.proxy_note())
        return {"status": TrialStatus.RUNNING, "values": values}

    # -- proposal -----------------------------------------------------------------------

    def _propose(self, completed):
        encoding = _Encoding(self.hyperparameters.space)
        if not encoding.hps:
            return None

        def encode(values_list):
            return np.array([encoding.encode(v) for v in values_list])

        kept = [t for t in completed if self.violation(t) == 0]
        gp, y = None, np.zeros(0)
        if kept:
            y = self._targets(kept)
            gp = GPRegressor(encode(t.hyperparameters.values for t in kept), y,
                             categorical=encoding.categorical, theta=self._theta)
            self._theta = gp.theta.tolist()
        bounds = self._bound_models(completed, encode, encoding.categorical)

        def score(candidates):
            x = encode(candidates)
            total = gp.log_expected_improvement(x) if gp is not None else np.zeros(len(x))
            for model, bound in bounds:
                total = total + model.log_probability_below(x, bound)
            return total

        starts = ([kept[i] for i in np.argsort(-y)[:_LOCAL_STARTS]] if kept else
                  sorted(completed, key=self.violation)[:_LOCAL_STARTS])
        best_first = [t.hyperparameters.values for t in starts]
        pool = [self._sample() for _ in range(_RANDOM_CANDIDATES)]
        for values in best_first:
            pool.extend(self._neighbours(values))
        pool = self._untried(pool)
        if not pool:
            return None
        acquisition = score(pool)
        order = np.argsort(-acquisition, kind="stable")[:_LOCAL_STARTS]
        best_values, best_acq = pool[order[0]], acquisition[order[0]]
        for i in order:
            values, value = pool[i], acquisition[i]
            for _ in range(_LOCAL_STEPS):  # hill climbing by one-change moves
                moves = self._untried(self._neighbours(values))
                if not moves:
                    break
                move_acq = score(moves)
                j = int(np.argmax(move_acq))
                if move_acq[j] <= value:
                    break
                values, value = moves[j], move_acq[j]
            if value > best_acq:
                best_values, best_acq = values, value
        return best_values

    def _targets(self, kept):
        """What the GP fits (maximised): the objective, or ParEGO's scalarisation of them all."""
        if not self.trade_off:
            sign = 1.0 if self.objective.direction == "max" else -1.0
            return sign * np.array([t.score for t in kept], dtype=float)
        points = np.array([self.point(t) for t in kept], dtype=float)
        costs = np.empty_like(points)  # minimised, each in [0, 1]
        for k, direction in enumerate(self.directions):
            column = points[:, k]
            if column.min() > 0 and column.max() >= 10 * column.min():
                column = np.log(column)
            column = -column if direction == "max" else column
            span = column.max() - column.min()
            costs[:, k] = (column - column.min()) / span if span > 0 else 0.0
        weights = self._rng.dirichlet(np.ones(len(self.directions)))
        weighted = costs * weights
        return -(weighted.max(axis=1) + _PAREGO_RHO * weighted.sum(axis=1))

    def _bound_models(self, completed, encode, categorical):
        """(GP, bound) per constraint, fitted to the metric it bounds over every trial that
        records it, as `value <= bound` (log scale when all positive)."""
        models = []
        for c in self.constraints:
            rows = [t for t in completed if t.metrics.exists(METRICS[c.name])]
            if not rows:
                continue
            values = np.array([t.metrics.get_last_value(METRICS[c.name]) for t in rows], dtype=float)
            bound = c.bound
            if values.min() > 0 and bound > 0:
                values, bound = np.log(values), np.log(bound)
            if c.operator in (">=", ">"):
                values, bound = -values, -bound
            models.append((GPRegressor(encode(t.hyperparameters.values for t in rows), values,
                                       categorical=categorical), bound))
        return models

    def _untried(self, candidates):
        seen, kept, tried = set(self._screened_out), [], internals.tried_keys(self)
        for values in candidates:
            key = internals.values_key(self, values)
            if key not in seen and key not in tried:
                seen.add(key)
                kept.append(values)
        return kept

    def _sample(self, keep=None):
        """Random active values; those in `keep` are kept where still active."""
        keep = keep or {}
        return fill_values(self.hyperparameters.space,
                           lambda hp: keep[hp.name] if hp.name in keep else self._random_value(hp))

    def _random_value(self, hp):
        if isinstance(hp, hp_module.Fixed):
            return hp.value
        if isinstance(hp, hp_module.Boolean):
            return bool(self._rng.integers(2))
        if isinstance(hp, hp_module.Choice):
            return hp.values[int(self._rng.integers(len(hp.values)))]
        return hp.prob_to_value(float(self._rng.uniform()))

    def _neighbours(self, values):
        """Configurations that differ from `values` in one hyperparameter."""
        out = []
        for hp in self.hyperparameters.space:
            if hp.name not in values or isinstance(hp, hp_module.Fixed):
                continue
            if _is_categorical(hp):
                options = [True, False] if isinstance(hp, hp_module.Boolean) else list(hp.values)
            elif isinstance(hp, hp_module.Int) and hp.max_value - hp.min_value <= 16 * (hp.step or 1):
                options = list(hp.values)
            else:
                prob = hp.value_to_prob(values[hp.name])
                options = [hp.prob_to_value(float(np.clip(prob + step, 0.0, 1.0)))
                           for step in _FLOAT_STEPS]
            for option in options:
                if option != values[hp.name]:
                    # Values made active by the change are drawn at random.
                    out.append(self._sample(keep={**values, hp.name: option}))
        return out

    def _random_untried(self):
        draws = (self._sample() for _ in range(100))
        return self.pick_draw(v for v in draws if not internals.is_tried(self, v))

    # -- state --------------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["gp"] = {"num_initial_points": self.num_initial_points,
                       "rng": self._rng.bit_generator.state, "theta": self._theta,
                       "screened_out": self._screened_out}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        gp_state = state["gp"]
        self.num_initial_points = gp_state["num_initial_points"]
        self._rng.bit_generator.state = gp_state["rng"]
        self._theta = gp_state["theta"]
        self._screened_out = list(gp_state.get("screened_out", []))


class GaussianProcessSearch(keras_tuner.Tuner):
    """A KerasTuner tuner driven by `GaussianProcessOracle`, used like `keras_tuner.BayesianOptimization`.

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `build(hp)` returning a
            compiled model; optional when `run_trial` is overridden.
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        num_initial_points: Random trials before the GP; None sizes it to the budget.
        seed: The random seed.
        hyperparameters: Optional `keras_tuner.HyperParameters` to register in advance.
        tune_new_entries: Whether hyperparameters the model asks for are searched.
        allow_new_entries: Whether the model may ask for unregistered ones.
        max_retries_per_trial: Re-runs of a crashed trial.
        max_consecutive_failed_trials: Failed trials in a row that stop the search.
        **kwargs: Passed to `keras_tuner.Tuner` (directory, project_name, overwrite, ...).
    """

    def __init__(self, hypermodel: keras_tuner.HyperModel | Callable[..., Any] | None = None,
                 objective: ObjectiveLike = None, max_trials: int | None = 10, *,
                 num_initial_points: int | None = None, seed: int | None = None,
                 hyperparameters: keras_tuner.HyperParameters | None = None,
                 tune_new_entries: bool = True, allow_new_entries: bool = True,
                 max_retries_per_trial: int = 0, max_consecutive_failed_trials: int = 3,
                 **kwargs: Any):
        self.seed = seed
        oracle = GaussianProcessOracle(
            objective=objective, max_trials=max_trials, num_initial_points=num_initial_points,
            seed=seed, hyperparameters=hyperparameters, tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries, max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)
