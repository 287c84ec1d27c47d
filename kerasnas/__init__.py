"""kerasnas: neural architecture search for Keras 3, on KerasTuner.

`search()` runs a search (a thin `Run` over a `SearchSettings`); `spaces` and `oracles` hold the search spaces
(KerasTuner HyperModels) and strategies (KerasTuner Oracles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names below are, for type checkers; nothing imported at run time
    from kerasnas.methods import SearchMethod, TrialSearch
    from kerasnas.oracles import (AgingEvolution, AgingEvolutionOracle, GaussianProcessOracle,
                                  GaussianProcessSearch)
    from kerasnas.run_folder import Run, SearchResult
    from kerasnas.settings import SearchSettings

__version__ = "0.1.0"
__all__ = ["AgingEvolution", "AgingEvolutionOracle", "GaussianProcessOracle", "GaussianProcessSearch",
           "Run", "SearchMethod", "SearchSettings", "TrialSearch", "search"]


def search(*args: Any, **kwargs: Any) -> SearchResult | None:
    """Runs a search; see `kerasnas.search.search` (imported lazily: TensorFlow is heavy)."""
    from kerasnas.search import search as _search

    return _search(*args, **kwargs)


def __getattr__(name: str) -> Any:
    # Lazy: importing the oracles imports KerasTuner, Keras and TensorFlow.
    if name in ("AgingEvolution", "AgingEvolutionOracle", "GaussianProcessOracle",
                "GaussianProcessSearch"):
        from kerasnas import oracles

        return getattr(oracles, name)
    if name in ("SearchMethod", "TrialSearch"):
        from kerasnas import methods

        return getattr(methods, name)
    if name == "Run":
        from kerasnas.run_folder import Run

        return Run
    if name == "SearchSettings":
        from kerasnas.settings import SearchSettings

        return SearchSettings
    raise AttributeError(f"module 'kerasnas' has no attribute {name!r}")
