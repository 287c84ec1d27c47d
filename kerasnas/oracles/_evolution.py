"""Aging (regularized) evolution, Algorithm 1 of Real et al., AAAI 2019, as a KerasTuner oracle."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Sequence
from typing import Any, Callable

import keras_tuner
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine.trial import TrialStatus

from kerasnas import keras_tuner_internals as internals
from kerasnas.oracles._base import (PHASE_MUTATION, PHASE_RANDOM, PHASE_SEEDED, PHASE_WARMUP,
                                    NotesMixin, ObjectiveLike, Values, fill_values, warmup_size)
from kerasnas.oracles._pareto import ConstraintLike, ParetoMixin, TradeOff

_MAX_MUTATION_TRIES = 20  # re-mutations of a parent whose child was tried or broke a size bound
_MAX_STEP_TRIES = 20  # prob-space steps tried before a numeric value changes


def evolution_sizes(max_trials: int | None, population_size: int | None = None,
                    sample_size: int | None = None, n_seeded: int = 0) -> tuple[int, int]:
    """The population size P and sample size S used for a budget.

    The paper uses P=100, S=25 for 20,000 trials. At the budgets of a Keras
    project (tens of trials) a population of 100 would be all warm-up: pure
    random search. Defaults: P = `warmup_size(max_trials)` (a third of the
    budget, at least 2, at most 100), so two thirds of the budget are mutations
    and the random start equals the other oracles'; S = a quarter of P as in the
    paper, at least 2 (a tournament of one is random search), at most P.
    Seeds given by the user enlarge a default P to hold them all. A P given
    >= `max_trials` is allowed (e.g. to finish a warm-up on resume) with a
    warning: that search is random search (no warning where the seeds fill
    the budget: it trains those).

    Args:
        max_trials: The trial budget (None: unbounded).
        population_size: P, or None for the default.
        sample_size: S, or None for the default.
        n_seeded: The number of seeded architectures.

    Returns:
        (P, S).

    Raises:
        ValueError: for P < 1, S < 1, S > P, or fewer than `n_seeded` members.
    """
    if population_size is None:
        population_size = max(min(100, warmup_size(max_trials)), n_seeded)
    elif max_trials is not None and population_size >= max_trials > n_seeded:
        # Seeds that fill the whole budget are a choice (e.g. to train a hand design alone).
        warnings.warn(f"population_size={population_size} >= max_trials={max_trials}: the "
                      "search never mutates and is random search. Lower `population_size`.",
                      stacklevel=3)
    if population_size < 1:
        raise ValueError(f"`population_size` must be >= 1; got {population_size}.")
    if n_seeded > population_size:
        raise ValueError(f"{n_seeded} `seeded_values` do not fit a population of "
                         f"{population_size}: raise `population_size` or pass fewer seeds.")
    if sample_size is None:
        sample_size = min(population_size, max(2, math.ceil(population_size / 4)))
    if sample_size < 1 or sample_size > population_size:
        raise ValueError(f"`sample_size` must be in [1, population_size={population_size}]; "
                         f"got {sample_size}.")
    return population_size, sample_size


class AgingEvolutionOracle(ParetoMixin, NotesMixin, keras_tuner.Oracle):
    """Regularized evolution: tournament selection, one mutation, the oldest dies.

    Warm-up: random architectures (after any `seeded_values`) until
    `population_size` trials are running or completed. Then each trial samples
    `sample_size` members of the population, mutates the best (by the
    objective's direction) in one hyperparameter, and the child joins it.

    Deviations from the paper, needed by asynchronous KerasTuner trials:
    - the population is the last `population_size` COMPLETED trials of the
      oracle's trials in order of completion (the paper's queue: a child is
      pushed when evaluated, the oldest dropped); FAILED trials never enter it;
    - a child identical to a tried trial is re-mutated (at most 20 times, then
      a random architecture): the paper would re-evaluate it, a waste here;
    - Int/Float hyperparameters mutate by a Gaussian step in KerasTuner's [0, 1)
      value space; hyperparameters activated by a mutation are sampled at
      random, deactivated ones dropped.

    Several objectives (`trade_off`) or `constraints`: the tournament is won by
    NSGA-II's crowded comparison over the population (Deb et al. 2002): a member
    within the bounds beats one outside, then the better non-dominated front, then
    the larger crowding distance (as in Yang et al.'s multi-objective regularized
    evolution); aging stays as it is.

    Args:
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        population_size: P; None sizes it to the budget (see `evolution_sizes`).
        sample_size: S, the tournament size; None sizes it to P.
        seeded_values: Optional list of dicts of hyperparameter values that
            start the warm-up (e.g. known architectures); missing active
            hyperparameters are sampled.
        seed: The random seed (0 is honoured).
        trade_off: Objectives searched on a Pareto front with `objective`: names
            ("params", "flops", "latency") or `keras_tuner.Objective`s, each read
            from the trial's metric of its name.
        constraints: Bounds such as "params<=100000" (or
            `kerasnas.pareto.Constraint`s) on the trials' metrics. With a
            `screen`, a child or draw whose model breaks a size bound is mutated
            or drawn again (20 times at most).
        **kwargs: Passed to `keras_tuner.Oracle`.
    """

    def __init__(self, objective: ObjectiveLike = None, max_trials: int | None = 10, *,
                 population_size: int | None = None, sample_size: int | None = None,
                 seeded_values: list[Values] | None = None, seed: int | None = None,
                 trade_off: Sequence[TradeOff] = (), constraints: Sequence[ConstraintLike] = (),
                 **kwargs: Any):
        seeded_values = list(seeded_values or [])
        if not all(isinstance(v, dict) for v in seeded_values):
            raise ValueError("`seeded_values` must be a list of dicts mapping hyperparameter "
                             "names to values.")
        self.population_size, self.sample_size = evolution_sizes(
            max_trials, population_size, sample_size, len(seeded_values))
        self.seeded_values = seeded_values
        super().__init__(objective=objective, max_trials=max_trials, seed=seed, **kwargs)
        self._init_notes(seed)
        self._init_pareto(trade_off, constraints)
        self._rng = random.Random(self.seed)
        self._seeds_used = 0

    @property
    def in_warmup(self) -> bool:
        """Whether the next new trial is drawn at random (or seeded)."""
        alive = sum(t.status != TrialStatus.FAILED for t in self.trials.values())
        return alive < self.population_size

    def population(self) -> list[str]:
        """Trial ids of the population: the last P completed trials, oldest first.

        Read from the oracle's trials, as the warm-up count is: every COMPLETED
        trial counts, including ones this oracle did not see end (ended by
        another process, restored from their files). They are ordered by their
        end as KerasTuner's `end_order` recorded it (saved with the oracle, so
        a resumed oracle orders them as before; a re-run trial counts at its
        last end); a completed trial it did not record counts as older than
        every recorded one, in trial order.
        """
        last_end = {trial_id: i for i, trial_id in enumerate(self.end_order)}
        completed = [trial_id for trial_id in sorted(self.trials, key=lambda i: (len(i), i))
                     if self.trials[trial_id].status == TrialStatus.COMPLETED]
        by_end = sorted(completed, key=lambda trial_id: last_end.get(trial_id, -1))  # stable
        return by_end[max(0, len(by_end) - self.population_size):]

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        if self._seeds_used < len(self.seeded_values) and self.in_warmup:
            return self._seeded(trial_id)
        if self.in_warmup:
            return self._random(trial_id, PHASE_WARMUP)
        population = self.population()
        if not population:
            # Warm-up trials all still running: IDLE would make the tuner busy-wait.
            return self._random(trial_id, PHASE_RANDOM, reason="no completed trial yet")
        sample = self._rng.sample(population, min(self.sample_size, len(population)))
        if self.several:
            keys = self.pareto_keys(population)
            parent = min(sample, key=keys.__getitem__)  # ties: the first drawn
        else:
            parent = sample[0]
            for candidate in sample[1:]:
                if self.objective.better_than(self.trials[candidate].score,
                                              self.trials[parent].score):
                    parent = candidate
        parent_values = self.trials[parent].hyperparameters.values
        out_of_bounds = 0
        for _ in range(_MAX_MUTATION_TRIES):
            mutated = self._mutate(parent_values)
            if mutated is None:
                return self._random(trial_id, PHASE_RANDOM, reason="nothing to mutate")
            values, mutation = mutated
            if internals.is_tried(self, values):
                continue
            if not self.within_bounds(values):  # mutated again, as Once-for-All's search does
                out_of_bounds += 1
                continue
            self.note(trial_id, PHASE_MUTATION, parent=parent, mutation=mutation)
            return {"status": TrialStatus.RUNNING, "values": values}
        return self._random(trial_id, PHASE_RANDOM, reason=(
            f"no untried child of the parent within the bounds in {_MAX_MUTATION_TRIES} tries"
            if out_of_bounds else "children of the parent all tried"))

    def _seeded(self, trial_id):
        while self._seeds_used < len(self.seeded_values):
            given = self.seeded_values[self._seeds_used]
            self._seeds_used += 1
            values = fill_values(self.hyperparameters.space,
                                 lambda hp: given[hp.name] if hp.name in given else self._sample(hp))
            if not internals.is_tried(self, values):
                self.note(trial_id, PHASE_SEEDED, seed_index=self._seeds_used - 1)
                return {"status": TrialStatus.RUNNING, "values": values}
        return self._random(trial_id, PHASE_WARMUP)

    def _random(self, trial_id, phase, **extra):
        values = self._random_untried()
        if values is None:  # space exhausted
            return {"status": TrialStatus.STOPPED, "values": None}
        self.note(trial_id, phase, **extra, **self.proxy_note())
        return {"status": TrialStatus.RUNNING, "values": values}

    def _random_untried(self):
        # Not KerasTuner's draw: it reseeds per value from its seed state; use our one RNG.
        draws = (fill_values(self.hyperparameters.space, self._sample)
                 for _ in range(internals.max_collisions(self) + 1))
        return self.pick_draw(v for v in draws if not internals.is_tried(self, v))

    def _sample(self, hp):
        return hp.prob_to_value(self._rng.random())

    def _mutate(self, parent_values):
        """A copy of `parent_values` with one active hyperparameter changed.

        Returns:
            (values, "name: old -> new"), or None when no hyperparameter can change.
        """
        parent = fill_values(self.hyperparameters.space,
                             lambda hp: parent_values.get(hp.name, hp.default))
        mutable = [hp for hp in self.hyperparameters.space
                   if hp.name in parent and _can_change(hp) and _is_active(hp, parent)]
        if not mutable:
            return None
        hp = self._rng.choice(mutable)
        old = parent[hp.name]
        new = self._new_value(hp, old)
        changed = {**parent, hp.name: new}
        values = fill_values(self.hyperparameters.space,
                             lambda h: changed[h.name] if h.name in changed else self._sample(h))
        return values, f"{hp.name}: {old!r} -> {new!r}"

    def _new_value(self, hp, old):
        if isinstance(hp, hp_module.Boolean):
            return not old
        if isinstance(hp, hp_module.Choice):
            return self._rng.choice([v for v in hp.values if v != old])
        prob = hp.value_to_prob(old)
        for _ in range(_MAX_STEP_TRIES):
            new = hp.prob_to_value(min(max(prob + self._rng.gauss(0, 0.2), 0.0), 1 - 1e-9))
            if new != old:
                return new
        while True:  # a far-off value; `_can_change` guarantees another exists
            new = self._sample(hp)
            if new != old:
                return new

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        version, internal, gauss_next = self._rng.getstate()
        state["evolution"] = {"rng": [version, list(internal), gauss_next],
                              "seeds_used": self._seeds_used}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        version, internal, gauss_next = state["evolution"]["rng"]
        self._rng.setstate((version, tuple(internal), gauss_next))
        self._seeds_used = state["evolution"]["seeds_used"]


def _can_change(hp):
    if isinstance(hp, hp_module.Fixed):
        return False
    if isinstance(hp, hp_module.Boolean):
        return True
    if isinstance(hp, hp_module.Choice):
        return len(set(hp.values)) > 1
    return hp.max_value > hp.min_value


def _is_active(hp, values):
    return all(condition.is_active(values) for condition in hp.conditions)


class AgingEvolution(keras_tuner.Tuner):
    """A KerasTuner tuner searching by aging evolution, used like `keras_tuner.RandomSearch`.

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `build(hp)` returning
            a compiled model; optional when `run_trial` is overridden.
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        population_size: P; None sizes it to the budget.
        sample_size: S; None sizes it to P.
        seeded_values: Optional list of value dicts that start the search.
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
                 population_size: int | None = None, sample_size: int | None = None,
                 seeded_values: list[Values] | None = None, seed: int | None = None,
                 hyperparameters: keras_tuner.HyperParameters | None = None,
                 tune_new_entries: bool = True, allow_new_entries: bool = True,
                 max_retries_per_trial: int = 0, max_consecutive_failed_trials: int = 3,
                 **kwargs: Any):
        self.seed = seed
        oracle = AgingEvolutionOracle(
            objective=objective, max_trials=max_trials, population_size=population_size,
            sample_size=sample_size, seeded_values=seeded_values, seed=seed,
            hyperparameters=hyperparameters, tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries, max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)
