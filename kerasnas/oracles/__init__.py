"""Search strategies: KerasTuner `Oracle`s, looked up by name.

Every oracle here notes per trial how it chose the values (`oracle.notes`),
honours its seed and sizes its random start to the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kerasnas.oracles._base import ObjectiveLike, warmup_size
from kerasnas.oracles._evolution import AgingEvolution, AgingEvolutionOracle, evolution_sizes
from kerasnas.oracles._gp import GaussianProcessOracle, GaussianProcessSearch
from kerasnas.oracles._keras_tuner import KerasTunerGPOracle, RandomOracle
from kerasnas.oracles._pareto import ConstraintLike, ParetoMixin, TradeOff
from kerasnas.oracles._tpe import TPEOracle
from kerasnas.oracles.successive_halving import SuccessiveHalvingOracle

if TYPE_CHECKING:
    import keras_tuner

ORACLES = {
    "random": RandomOracle,
    "bayes": GaussianProcessOracle,
    "kt-gp": KerasTunerGPOracle,
    "tpe": TPEOracle,
    "evolution": AgingEvolutionOracle,
}

__all__ = ["ORACLES", "AgingEvolution", "AgingEvolutionOracle", "GaussianProcessOracle",
           "GaussianProcessSearch", "KerasTunerGPOracle", "ParetoMixin", "RandomOracle",
           "SuccessiveHalvingOracle", "TPEOracle", "evolution_sizes", "make_oracle", "warmup_size"]


def make_oracle(name: str, *, objective: ObjectiveLike, max_trials: int | None,
                seed: int | None = None, trade_off: Sequence[TradeOff] = (),
                constraints: Sequence[ConstraintLike] = (), **options: Any) -> keras_tuner.Oracle:
    """Creates the oracle registered as `name`.

    Args:
        name: A key of `ORACLES`.
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        seed: The random seed.
        trade_off: Objectives searched on a Pareto front with `objective` (names of
            `kerasnas.pareto.OBJECTIVES` or `keras_tuner.Objective`s).
        constraints: Bounds on the trials' metrics ("params<=100000"), for an
            oracle that weighs them; kt-gp does not (the tuner's bounds still hold).
        **options: Passed to the oracle class.

    Raises:
        ValueError: for an unknown name, listing the valid ones, or a trade-off given to
            an oracle that searches one objective, listing those that trade off.
    """
    if name not in ORACLES:
        raise ValueError(f"Unknown oracle {name!r}. Choose one of: {', '.join(sorted(ORACLES))}.")
    cls = ORACLES[name]
    if issubclass(cls, ParetoMixin):
        options.update(trade_off=trade_off, constraints=constraints)
    elif trade_off:
        several = sorted(n for n, c in ORACLES.items() if issubclass(c, ParetoMixin))
        raise ValueError(f"The {name} oracle searches one objective; to trade off "
                         f"{list(trade_off)} choose one of: {', '.join(several)}.")
    return cls(objective=objective, max_trials=max_trials, seed=seed, **options)
