"""What a kerasnas oracle trades off against its objective, and the bounds it keeps."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Union

import keras_tuner

from kerasnas import pareto

if TYPE_CHECKING:
    from keras_tuner import Oracle as _OracleBase
    from keras_tuner.engine.trial import Trial
else:
    _OracleBase = object

# An objective traded off: a name of `kerasnas.pareto.OBJECTIVES` or a keras_tuner.Objective.
TradeOff = Union[str, keras_tuner.Objective]
ConstraintLike = Union[str, pareto.Constraint]
MAX_SCREENED = 20  # proposals screened out in a row before one that breaks a bound goes to the tuner


def as_objective(value: TradeOff) -> keras_tuner.Objective:
    """A `keras_tuner.Objective` from one, or from a name ("params": the metric `params`, min)."""
    if isinstance(value, keras_tuner.Objective):
        return value
    if isinstance(value, str) and value in pareto.OBJECTIVES:
        return keras_tuner.Objective(pareto.METRICS[value], pareto.OBJECTIVES[value])
    raise ValueError(f"Each of `trade_off` must be a keras_tuner.Objective or one of "
                     f"{', '.join(pareto.OBJECTIVES)}. Received: {value!r}")


def as_constraint(value: ConstraintLike) -> pareto.Constraint:
    """A `kerasnas.pareto.Constraint` from one, or from its text ("params<=100000")."""
    return value if isinstance(value, pareto.Constraint) else pareto.parse_constraint(value)


class ParetoMixin(_OracleBase):
    """Several objectives and constraints, for an oracle that uses them in its proposals.

    The oracle's `objective` stays KerasTuner's: the trial's score and its best trial (the
    most accurate). `trade_off` adds objectives searched on a Pareto front with it, each
    read from the trial's metric of that name; `constraints` are bounds on metrics
    (`params`, `flops`, `latency_ms`), read the same way.

    `screen`, when set (`kerasnas.tuner.NASTuner` sets it where a bound is on a size),
    maps values to the sizes of the model they build, untrained: an oracle that samples
    (random, evolution, a random start) then draws again rather than propose a model
    that breaks a size bound, so such a model does not use up a trial.
    """

    screen: Callable[[dict[str, Any]], dict[str, float]] | None = None

    def _init_pareto(self, trade_off: Sequence[TradeOff], constraints: Sequence[ConstraintLike]
                     ) -> None:
        if isinstance(trade_off, (str, keras_tuner.Objective)):
            trade_off = [trade_off]
        self.trade_off = tuple(as_objective(o) for o in trade_off)
        self.constraints = tuple(as_constraint(c) for c in constraints)
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise ValueError(f"Each objective once: `trade_off` repeats one of {names}.")

    @property
    def objectives(self) -> list[keras_tuner.Objective]:
        """The objective, then the ones traded off against it."""
        return [self.objective, *self.trade_off]

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def several(self) -> bool:
        """Whether proposals weigh more than the objective: trade-offs or constraints."""
        return bool(self.trade_off or self.constraints)

    def point(self, trial: Trial) -> list[float]:
        """A completed trial's value of each objective.

        Raises:
            ValueError: when the trial records no metric for a traded-off objective.
        """
        values = [float(trial.score)]
        for o in self.trade_off:
            if not trial.metrics.exists(o.name):
                raise ValueError(f"Trial {trial.trial_id} records no metric {o.name!r}, an "
                                 "objective traded off: the tuner must record it "
                                 "(kerasnas.tuner.NASTuner does, for params, flops and latency).")
            values.append(float(trial.metrics.get_last_value(o.name)))
        return values

    def within_bounds(self, values: dict[str, Any]) -> bool:
        """Whether the model `values` build keeps the size bounds (True with no `screen`)."""
        sizes = [c for c in self.constraints if c.name in pareto.SIZES]
        if self.screen is None or not sizes:
            return True
        measured = self.screen(values)
        return all(c.satisfied(measured[c.name]) for c in sizes)

    def first_within_bounds(self, candidates: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
        """The first of `candidates` (drawn lazily) whose model keeps the size bounds, screening
        `MAX_SCREENED` at most; else the first of them (the tuner tells), or None for none."""
        first = None
        for screened, values in enumerate(candidates, 1):
            first = first or values
            if self.within_bounds(values):
                return values
            if screened >= MAX_SCREENED:
                break
        return first

    def violation(self, trial: Trial) -> float:
        """How far the trial is past its bounds (0: it keeps them)."""
        return pareto.violation(trial, self.constraints)

    def pareto_keys(self, trial_ids: Sequence[str]) -> dict[str, tuple[float, float, float]]:
        """NSGA-II's sort key of each completed trial (`kerasnas.pareto.ranked`): smaller is
        better."""
        trials = [self.trials[i] for i in trial_ids]
        keys = pareto.ranked([self.point(t) for t in trials], self.directions,
                             [self.violation(t) for t in trials])
        return dict(zip(trial_ids, keys))

