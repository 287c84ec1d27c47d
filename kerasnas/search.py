"""The one `search()` that the CLI, the benchmarks and users call: a thin `Run`."""

from __future__ import annotations

from typing import Any

import keras_tuner

from kerasnas.methods import SearchMethod
from kerasnas.progress import Reporter
from kerasnas.run_folder import OBJECTIVE, PROJECT, Run, SearchResult, SearchStopped
from kerasnas.settings import SearchSettings

__all__ = ["OBJECTIVE", "PROJECT", "SearchResult", "SearchSettings", "SearchStopped", "search"]


def search(space: str | keras_tuner.HyperModel, oracle: str | keras_tuner.Oracle, data: Any = None,
           settings: SearchSettings | None = None, *, directory: str, resume: bool = False,
           overwrite: bool = False, reporter: Reporter | None = None,
           method: SearchMethod | None = None, **changes: Any) -> SearchResult | None:
    """Searches `space` with `oracle` on `data` and exports the best model.

    Args:
        space: A space name (see `kerasnas.spaces.SPACES`) or a `keras_tuner.HyperModel`.
        oracle: An oracle name (see `kerasnas.oracles.ORACLES`) or a `keras_tuner.Oracle`.
        data: A `kerasnas.datasets.Splits` (the trials never see its test part);
            None makes them from the settings.
        settings: A `SearchSettings` (budget, seed, options, ...).
        directory: Output folder: results.csv, summary.json, best_model.keras,
            best_cell.png (cell spaces), report.md and the KerasTuner project `search/`.
        resume: Continue the run in `directory` (same settings, space and oracle
            configurations required); the clock goes on.
        overwrite: Delete an earlier kerasnas run in `directory` first.
        reporter: Shows progress (`kerasnas.progress`; default: one line per
            trial on stdout; `Reporter()` is silent).
        method: How the budget is spent and which model is returned
            (`kerasnas.methods`; default: `TrialSearch()`, trial by trial).
        **changes: Settings fields that replace those of `settings`, e.g.
            `max_trials=4, epochs=1`.

    Returns:
        A `SearchResult`; None on a worker (the chief exports the results).

    Raises:
        ValueError: for bad settings or a folder that cannot be used (in use by
            another process, an earlier run without resume/overwrite, ...).
        SearchStopped: when the search stopped early; what completed is exported.
    """
    settings = (settings or SearchSettings()).replace(**changes) if changes else settings
    with Run(directory, space, oracle, settings, data=data, resume=resume, overwrite=overwrite,
             reporter=reporter, method=method) as run:
        return run.search()
