"""`SearchMethod`: the seam between a `Run` (the folder) and how a search spends its budget."""

from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # no Keras at import time: the CLI reads the registry before choosing a backend
    import keras
    import keras_tuner

    from kerasnas.run_folder import Run
    from kerasnas.settings import SearchSettings


@dataclasses.dataclass
class ReturnedModel:
    """The model a search returns and the trial it stands for.

    Attributes:
        trial: The KerasTuner trial whose architecture the model has.
        path: Where the trained model is saved (copied to best_model.keras).
        model: The model in memory when this process has it (reuses its
            compiled graph for the one test), else None (loaded from `path`).
    """

    trial: keras_tuner.engine.trial.Trial
    path: str
    model: keras.Model | None = None


class SearchMethod(abc.ABC):
    """How a `Run` produces its trials and the model it returns.

    A method is given to `Run(..., method=...)` (or `search(..., method=...)`);
    the `Run` keeps the folder, run.json, the clock, results.csv and the
    exports, and calls, in order:

    1. `prepare(run)` once: make the tuner (`run.tuner`) over `run.oracle`,
       with `run` as its listener (`on_trial_ending` / `on_trial_ended`);
    2. `search(run)`: spend the budget; raise `RuntimeError` when the search
       stops early (what completed is still exported);
    3. `returned_model(run)`: the model to test once and export.

    `get_config()` is recorded in run.json; a resume with another configuration
    is refused.
    """

    @abc.abstractmethod
    def prepare(self, run: Run) -> keras_tuner.Tuner:
        """Makes the tuner this method trains with; returns it."""

    @abc.abstractmethod
    def search(self, run: Run) -> None:
        """Runs trials until the budget is spent.

        Raises:
            RuntimeError: the search stopped early (failures, no worker left).
        """

    @abc.abstractmethod
    def returned_model(self, run: Run) -> ReturnedModel | None:
        """The model the search returns; None when no trial completed."""

    def summary(self, run: Run) -> dict[str, Any]:
        """What the method adds to summary.json (e.g. how the budget was spent)."""
        return {}

    def describe(self, settings: SearchSettings) -> str:
        """How the run spends its budget, in one line (its headline, summary.json)."""
        return type(self).__name__

    def get_config(self) -> dict[str, Any]:
        """The options that change what the method produces (run.json)."""
        return {}
