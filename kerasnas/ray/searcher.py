"""`OracleSearcher`: any KerasTuner oracle as a Ray Tune `Searcher`."""

from __future__ import annotations

import json
import math
import tempfile
from typing import Any

import keras_tuner
from keras_tuner.engine import trial as trial_module

from kerasnas import keras_tuner_internals as internals
from kerasnas.files import write_json
from kerasnas.ray._import import import_ray

ray = import_ray()
from ray.tune.result import AUTO_RESULT_KEYS  # noqa: E402
from ray.tune.search import Searcher  # noqa: E402

__all__ = ["ERROR_KEY", "OracleSearcher", "TRIAL_ID_KEY"]

# The config key that carries the oracle's trial id to kerasnas' trainable (which drops it
# from the hyperparameter values); a user's own trainable can ignore it.
TRIAL_ID_KEY = "kerasnas/trial_id"
# The result key of a trial that failed for a reason of its own (a NaN loss): its message.
ERROR_KEY = "kerasnas/error"


class OracleSearcher(Searcher):
    """A KerasTuner oracle proposing the configs of Ray Tune trials.

    Each Ray trial asks the oracle for a new trial (`create_trial`, under a tuner id of its
    own, so trials run concurrently); its config is the trial's hyperparameter values (only
    the active ones of a conditional space) plus `TRIAL_ID_KEY`. When the Ray trial ends, its
    last result's numbers are the oracle trial's metrics (Ray's own bookkeeping keys left out)
    and the trial is ended COMPLETED, or FAILED when it errored or did not report the metric.
    When the oracle has no more trials, `suggest` returns `Searcher.FINISHED`; while it waits
    for running trials (e.g. a synchronous successive halving), None.

    The oracle keeps its files (trial.json, oracle.json) in its project folder as under a
    KerasTuner tuner: `directory`, else the one it was given, else a new temporary folder.
    `save`/`restore` (Ray's experiment checkpoints, `Tuner.restore`) write and read the
    oracle's state and every trial as JSON.

    Args:
        oracle: A `keras_tuner.Oracle` made with `hyperparameters=` (the space).
        metric: The result key the oracle's objective reads (default: its name).
        mode: "max" or "min" (default: the objective's direction).
        directory: The oracle's project folder (None: as above).

    Raises:
        ValueError: for an oracle without a space, or a metric or mode that contradicts it.
    """

    def __init__(self, oracle: keras_tuner.Oracle, *, metric: str | None = None,
                 mode: str | None = None, directory: str | None = None):
        if not isinstance(oracle, keras_tuner.Oracle):
            raise ValueError(f"`oracle` must be a keras_tuner.Oracle. Received: {oracle!r}")
        if not oracle.hyperparameters.space:
            raise ValueError("The oracle has no search space: make it with "
                             "`hyperparameters=` (a keras_tuner.HyperParameters defining every "
                             "hyperparameter the trainable reads).")
        objective = oracle.objective
        if metric is not None and metric != objective.name:
            raise ValueError(f"metric={metric!r} is not the oracle's objective "
                             f"{objective.name!r}: the oracle reads that key of the results.")
        if mode is not None and mode != objective.direction:
            raise ValueError(f"mode={mode!r} is not the direction of the oracle's objective "
                             f"({objective.direction!r}).")
        super().__init__(metric=objective.name, mode=objective.direction)
        self.oracle = oracle
        if directory is not None or not getattr(oracle, "_project_dir", None):
            directory = directory or tempfile.mkdtemp(prefix="kerasnas-ray-")
            internals.set_project_dir(oracle, directory, "oracle")
        self.trial_ids: dict[str, str] = {}  # Ray trial id -> the oracle's trial id
        oracle.verbose = 0

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        # The oracle's objective and space decide: a Tuner's metric or mode must agree.
        return (metric in (None, self._metric) and mode in (None, self._mode) and not config)

    def suggest(self, trial_id: str) -> dict | None:
        trial = self.oracle.create_trial(f"ray-{trial_id}")
        if trial.status == "STOPPED":
            return Searcher.FINISHED  # type: ignore[return-value]  # Ray's own end marker
        if trial.status != "RUNNING":
            return None  # IDLE: waiting for running trials
        self.trial_ids[trial_id] = trial.trial_id
        return {**trial.hyperparameters.values, TRIAL_ID_KEY: trial.trial_id}

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        kt_id = self.trial_ids.get(trial_id)
        if kt_id is None:
            return
        trial = self.oracle.trials[kt_id]
        metrics = _numbers(result or {})
        failed = error or self._metric not in metrics
        if metrics:
            self.oracle.update_trial(kt_id, metrics)
        trial.status = "FAILED" if failed else "COMPLETED"
        if failed:
            trial.message = (str((result or {}).get(ERROR_KEY) or "") or (
                "the Ray trial errored (after Ray's retries)" if error else
                f"the Ray trial ended without reporting {self._metric!r}"))
        self.oracle.end_trial(trial)

    # -- Ray's experiment checkpoints -------------------------------------------------

    def save(self, checkpoint_path: str) -> None:
        write_json(checkpoint_path, {
            "oracle": self.oracle.get_state(), "trial_ids": self.trial_ids,
            "trials": {i: t.get_state() for i, t in self.oracle.trials.items()}})

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as f:
            state = json.load(f)
        self.oracle.trials = {i: trial_module.Trial.from_state(s)
                              for i, s in state["trials"].items()}
        self.oracle.set_state(state["oracle"])
        self.trial_ids = dict(state["trial_ids"])


def _numbers(result: dict) -> dict[str, float]:
    """A result's finite numbers, without Ray's own keys (time, iteration, node, ...)."""
    out = {}
    for name, value in result.items():
        if name in AUTO_RESULT_KEYS or name.startswith("config") or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            out[name] = float(value)
    return out

