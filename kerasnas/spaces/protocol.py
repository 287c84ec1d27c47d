"""What a search space is, and the optional capabilities kerasnas uses.

Every space is a KerasTuner `HyperModel` (`Space`). kerasnas asks for nothing
more; a space that has one of the small protocols below gets what kerasnas does
with it. They are runtime-checkable: kerasnas tests `isinstance(space,
DataAware)` and so on (each checks that the method is there, not its
signature). `kerasnas.testing.space_contract.SpaceContract` checks a space
against all of them, one named test per clause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kerasnas._config import Configurable  # what every configurable object is, spaces included

if TYPE_CHECKING:
    import keras
    import keras_tuner

__all__ = ["CellSpace", "Configurable", "DataAware", "Describable", "HandDesigned", "ProxySteered",
           "Space"]


@runtime_checkable
class Space(Protocol):
    """A search space: a `keras_tuner.HyperModel`.

    `build(hp)` declares its hyperparameters on `hp` and returns a compiled
    `keras.Model` (an optimizer, a loss, `metrics=["accuracy"]`) that maps raw
    images to one probability per class. Declare every hyperparameter with the
    default values (a conditional one in its `conditional_scope`): KerasTuner
    builds once with the defaults before the search, and the oracles see only
    what that build declared.
    """

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """A compiled model for the values in `hp`."""


@runtime_checkable
class DataAware(Protocol):
    """A space that takes its input shape, classes and normalisation from the data.

    kerasnas calls `for_data` before a search (`kerasnas.Run`, before anything
    is written) and before a final training (`kerasnas.final.retrain`); later
    builds are for that data. A space refuses a shape it cannot take with a
    `ValueError` naming the fix, so a bad run stops before its first trial.
    """

    def for_data(self, *, input_shape: tuple[int, int, int], num_classes: int,
                 mean: list[float], variance: list[float]) -> Any:
        """Builds later models for this data.

        Args:
            input_shape: (height, width, channels) of the training images.
            num_classes: Number of classes.
            mean: Per-channel mean of the training images' raw pixels.
            variance: Per-channel variance of them.
        """


@runtime_checkable
class Describable(Protocol):
    """A space that writes an architecture as a short text.

    kerasnas shows it in the `arch` column of results.csv, in each trial's
    progress line and in report.md. An empty text (e.g. for values without
    the space's cell) makes kerasnas show the values themselves.
    """

    def describe(self, values: dict[str, Any]) -> str:
        """A short text for the architecture in `values` (a trial's hyperparameter values)."""


@runtime_checkable
class CellSpace(Protocol):
    """A space that searches a cell: kerasnas draws the best one as best_cell.png.

    `cell_graph(values)` returns `{"nodes": [...], "edges": [(source, target,
    label), ...], "inputs": [...], "outputs": [...]}` (node names; edges and the
    inputs and outputs name nodes of the list) for `kerasnas.drawing.draw_cell`.
    """

    def cell_graph(self, values: dict[str, Any]) -> dict[str, list]:
        """The cell's DAG for the values of a trial."""


@runtime_checkable
class HandDesigned(Protocol):
    """A space that names hand-designed members, the designs a search should start from.

    A budgeted search (`kerasnas.methods.BudgetedSearch`) puts them in its first
    rung before any proposal, so it starts no worse than the hand design. Values
    of hyperparameters the space does not search (pinned knobs) are left out; a
    searched one left out takes its default.
    """

    def hand_designed(self) -> list[dict[str, Any]]:
        """Hyperparameter values of each hand-designed member, best known first."""


@runtime_checkable
class ProxySteered(Protocol):
    """A space that names the training-free proxy measured to rank its members better than
    their parameter count does (`benchmarks/proxies.py`, `reports/proxies.md`).

    With `steer="auto"` (`kerasnas.SearchSettings`) that proxy steers an oracle's random
    draws on the space (`kerasnas.proxies.steer`); None: no proxy earned it.
    """

    steering_proxy: str | None
