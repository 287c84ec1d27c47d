"""Search strategies: KerasTuner `Oracle`s, looked up by name.

Every oracle here notes per trial how it chose the values (`oracle.notes`),
honours its seed and sizes its random start to the budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kerasnas.oracles._base import ObjectiveLike, warmup_size
from kerasnas.oracles._evolution import AgingEvolution, AgingEvolutionOracle, evolution_sizes
from kerasnas.oracles._gp import GaussianProcessOracle, GaussianProcessSearch
from kerasnas.oracles._keras_tuner import KerasTunerGPOracle, RandomOracle
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
           "GaussianProcessSearch", "KerasTunerGPOracle", "RandomOracle", "SuccessiveHalvingOracle",
           "TPEOracle", "evolution_sizes", "make_oracle", "warmup_size"]


def make_oracle(name: str, *, objective: ObjectiveLike, max_trials: int | None,
                seed: int | None = None, **options: Any) -> keras_tuner.Oracle:
    """Creates the oracle registered as `name`.

    Args:
        name: A key of `ORACLES`.
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        seed: The random seed.
        **options: Passed to the oracle class.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if name not in ORACLES:
        raise ValueError(f"Unknown oracle {name!r}. Choose one of: {', '.join(sorted(ORACLES))}.")
    return ORACLES[name](objective=objective, max_trials=max_trials, seed=seed, **options)
