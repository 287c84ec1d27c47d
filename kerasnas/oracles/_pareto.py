"""What a kerasnas oracle trades off against its objective, and the bounds it keeps."""

from __future__ import annotations

import math
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

    `proxy`, when set (`kerasnas.proxies.steer`), maps values to a training-free score of
    the model they build, untrained (higher: expected to train better): such an oracle
    then proposes, of `proxy_pool` draws within the bounds, the one the proxy scores
    highest (the "warm-up" of Abdelfattah et al., ICLR 2021, draw by draw); its note
    records the score (`proxy_score`). Proposals from a model or a mutation are not steered.
    """

    screen: Callable[[dict[str, Any]], dict[str, float]] | None = None
    proxy: Callable[[dict[str, Any]], float] | None = None
    proxy_pool: int = 1
    steerable = True  # whether its random draws go through `pick_draw` (TPE's do not)
    last_proxy_score: float | None = None  # of the last `pick_draw`, with a proxy

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

    def pick_draw(self, candidates: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
        """The draw to propose of `candidates` (random draws, taken lazily).

        The first whose model keeps the size bounds, screening `MAX_SCREENED` at most
        (else the first of them: the tuner tells); with a `proxy`, the highest-scoring of
        the first `proxy_pool` (> 1) that keep them (ties: the earliest). None for no candidate.
        """
        proxy = self.proxy
        pool = max(1, self.proxy_pool) if proxy is not None else 1
        first, kept = None, []
        for screened, values in enumerate(candidates, 1):
            first = first or values
            if self.within_bounds(values):
                kept.append(values)
                if len(kept) == pool:
                    break
            if screened - len(kept) >= MAX_SCREENED:
                break
        if proxy is None or pool == 1 or not kept:
            self.last_proxy_score = None
            return kept[0] if kept else first
        scores = [proxy(values) for values in kept]
        # NaN (a model the proxy cannot score) ranks last.
        best = max(range(len(kept)), key=lambda i: (not math.isnan(scores[i]), scores[i], -i))
        self.last_proxy_score = scores[best]
        return kept[best]

    def proxy_note(self) -> dict[str, float]:
        """What the last `pick_draw` adds to its trial's note: the proxy's score of the pick."""
        return {} if self.last_proxy_score is None else {"proxy_score": self.last_proxy_score}

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

