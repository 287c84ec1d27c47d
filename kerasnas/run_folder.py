"""`Run`: one search and the output folder it owns.

The model is Optuna's `create_study(storage=..., load_if_exists=...)` then
`Study.optimize`: `Run(directory, space, oracle, settings, resume=...)` takes
the folder's lock, checks or writes run.json (every setting, the space's and
the oracle's configuration), and `run.search()` trains, keeps results.csv and
the clock across resumes, and exports. How the budget is spent and which model
is returned belongs to a `SearchMethod` the run is given (`kerasnas.methods`;
default `TrialSearch`); `NASTuner` only trains; a `Reporter` shows progress.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from typing import TYPE_CHECKING, Any

import keras_tuner
import pandas as pd

from kerasnas import distributed, trials_table
from kerasnas._config import class_path, get_config, to_json
from kerasnas.files import write_csv, write_json
from kerasnas.lock import LOCK_FILE, FolderLock
from kerasnas.methods import BudgetedSearch, SearchMethod, TrialSearch
from kerasnas.progress import ConsoleReporter, Reporter
from kerasnas.settings import SearchSettings

if TYPE_CHECKING:
    from keras_tuner.engine.trial import Trial

    from kerasnas.datasets import Splits, StreamedSplits

__all__ = ["OBJECTIVE", "PROJECT", "Run", "SearchResult", "SearchStopped", "differences"]

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")
PROJECT = "search"  # the KerasTuner project folder inside the output directory
RUN_FILE = "run.json"
# Besides the settings marked `resume`: what a resumed search must keep.
IDENTITY_KEYS = ("space", "oracle", "space_class", "space_config", "oracle_class", "oracle_config",
                 "method_class", "method_config", "dataset")
# Budget settings of an oracle that a resume may change (like --max-trials).
BUDGET_KEYS = ("max_trials", "max_consecutive_failed_trials", "max_retries_per_trial")


class SearchStopped(RuntimeError):
    """The search stopped early (failures past the limit, workers gone).

    What completed was exported: `result` holds it (None if nothing completed).
    """

    def __init__(self, message: str, result: SearchResult | None):
        super().__init__(message)
        self.result = result


@dataclasses.dataclass
class SearchResult:
    """What a search leaves: the trials table, the best trial, its test accuracy, files."""

    trials: pd.DataFrame
    best: dict[str, Any]
    test_accuracy: float
    model_path: str
    directory: str
    wall_seconds: float
    summary: dict[str, Any]


class Run:
    """A search that owns its output folder: lock, run.json, clock, results, exports.

    Args:
        directory: The output folder.
        space: A space name (`kerasnas.spaces.SPACES`) or a `keras_tuner.HyperModel`.
        oracle: An oracle name (`kerasnas.oracles.ORACLES`) or a `keras_tuner.Oracle`.
        settings: A `SearchSettings` (default: its defaults).
        data: A `kerasnas.datasets.Splits`; None makes them from the settings.
        resume: Continue the run in `directory`; its settings, space and oracle
            configurations must match. A lock left by a killed process is taken over.
        overwrite: Delete an earlier kerasnas run in `directory` first.
        reporter: A `kerasnas.progress.Reporter` (default: `ConsoleReporter`).
        method: How the budget is spent and which model is returned, a
            `kerasnas.methods.SearchMethod` (default: `BudgetedSearch` when
            `settings.budget_epochs` or `budget_minutes` is set, else `TrialSearch()`).

    Raises:
        ValueError: for bad settings, a folder in use by another live process
            (`kerasnas.lock.FolderBusy`, naming it), an existing run without
            `resume`/`overwrite`, a folder that is not a kerasnas run, a resume
            with other settings (the backend included), a `settings.backend` other
            than the one Keras runs on, or a folder that cannot be written.
    """

    def __init__(self, directory: str, space: str | keras_tuner.HyperModel,
                 oracle: str | keras_tuner.Oracle, settings: SearchSettings | None = None, *,
                 data: Any = None, resume: bool = False, overwrite: bool = False,
                 reporter: Reporter | None = None, method: SearchMethod | None = None):
        settings = SearchSettings() if settings is None else settings
        budgeted = settings.budget_epochs or settings.budget_minutes
        if settings.engine == "ray" and method is not None:
            raise ValueError("--engine ray chooses its method (trial by trial, or budgeted with "
                             f"a budget); pass no `method`. Received: method={method!r}")
        # A resume, and a worker joining a run, go on as the run began (earlier runs did not
        # race, nor cool down).
        joins = resume or distributed.role() == "worker"
        began = earlier_options(directory) if joins and budgeted and method is None else {}
        if method is None and settings.engine == "ray":
            from kerasnas.ray.engine import RayBudgetedSearch, RayTrialSearch

            method = (RayBudgetedSearch(budget_epochs=settings.budget_epochs,
                                        budget_minutes=settings.budget_minutes,
                                        final_images=settings.final_images, **began)
                      if budgeted else RayTrialSearch())
        elif method is None:
            method = (BudgetedSearch(budget_epochs=settings.budget_epochs,
                                     budget_minutes=settings.budget_minutes,
                                     final_images=settings.final_images, **began)
                      if budgeted else TrialSearch())
        elif budgeted:
            raise ValueError("A budget (`budget_epochs`, `budget_minutes`) makes the run a "
                             "BudgetedSearch; pass either it or a `method`, not both. Received: "
                             f"method={method!r}")
        if not isinstance(method, SearchMethod):
            raise ValueError("`method` must be a kerasnas.methods.SearchMethod (e.g. "
                             f"TrialSearch()); got {type(method).__name__}.")
        if not isinstance(settings, SearchSettings):
            raise ValueError(f"`settings` must be a SearchSettings; got {type(settings).__name__}.")
        if overwrite and resume:
            raise ValueError("Choose one of --resume and --overwrite, not both.")
        from kerasnas.backends import select
        from kerasnas.early_stopping import as_stopper
        from kerasnas.oracles import make_oracle
        from kerasnas.spaces import DataAware, get_space

        # The backend Keras runs on, recorded (a resume on another one refuses).
        settings = settings.replace(backend=select(settings.backend))

        self.directory, self.settings, self.method = str(directory), settings, method
        self.project = PROJECT
        self.reporter = reporter if reporter is not None else ConsoleReporter()
        self.role = distributed.role()
        if self.role and as_stopper(settings.early_stopping).needs_other_trials:
            raise ValueError("early_stopping reads every earlier trial's curve, which a worker "
                             "does not have: use --early-stopping none in chief/worker mode.")
        if data is None or not hasattr(data, "dataset"):  # a dataset spec, not splits
            from kerasnas.datasets import make_splits

            data = make_splits(settings.dataset if data is None else data,
                               train_size=settings.train_size, val_size=settings.val_size,
                               test_size=settings.test_size, seed=settings.seed,
                               image_size=settings.image_size, data_dir=settings.data_dir,
                               memory_limit_mb=settings.memory_limit_mb)
        self.data: Splits | StreamedSplits = data
        self.hypermodel: keras_tuner.HyperModel = (
            get_space(space, **settings.space_options) if isinstance(space, str) else space)
        # Shape, classes and normalisation come from the data; a shape outside the
        # space's limits is refused here, before anything is written.
        if isinstance(self.hypermodel, DataAware):
            self.hypermodel.for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                                     mean=data.mean, variance=data.variance)
        if settings.reference is not None and self.role != "worker":
            from kerasnas.reference import reference_model

            reference_model(settings.reference, data)  # a file for other images: refused now
        oracle_name = oracle if isinstance(oracle, str) else type(oracle).__name__
        if isinstance(oracle, str):
            oracle = make_oracle(oracle, objective=OBJECTIVE, max_trials=settings.max_trials,
                                 seed=settings.seed,
                                 max_consecutive_failed_trials=settings.max_failures,
                                 trade_off=[n for n in settings.objectives if n != "accuracy"],
                                 constraints=settings.constraints, **settings.oracle_options)
        self.oracle: keras_tuner.Oracle = oracle
        # The proxy that picks the oracle's random draws (`kerasnas.proxies.steer`), if any;
        # a resume goes on as the run began.
        self.steering = steering_for(settings, self.hypermodel, oracle, oracle_name)
        if joins:
            self.steering = earlier_steering(directory, self.steering)
        self.record: dict[str, Any] = {
            **settings.to_dict(),
            "space": space if isinstance(space, str) else type(space).__name__,
            "oracle": oracle_name,
            "space_class": class_path(self.hypermodel), "space_config": get_config(self.hypermodel),
            "oracle_class": class_path(self.oracle), "oracle_config": get_config(self.oracle),
            "method_class": class_path(method), "method_config": get_config(method),
            "train_size": len(data.y_train), "val_size": len(data.y_val),
            "dataset": to_json(data.identity),  # a resume on other data refuses
            "steering": self.steering,
        }
        self.lock = FolderLock(self.directory)
        self._tuner: keras_tuner.Tuner | None = None
        self.strategy: Any = None  # the tuner's distribution strategy, once the search began
        self.strategy_text = ""
        self.earlier_end: dict[str, float] = {}
        self.resumed_after, self.started = 0.0, time.time()
        if self.role == "worker":  # workers join the chief's run: no lock, no folder changes
            self._wait_for_chief()
        else:
            self._open(resume=resume, overwrite=overwrite)

    # -- the folder -----------------------------------------------------------------------

    def _open(self, *, resume: bool, overwrite: bool) -> None:
        d, run_file = self.directory, os.path.join(self.directory, RUN_FILE)
        entries = os.listdir(d) if os.path.isdir(d) else []
        if entries and not ({RUN_FILE, LOCK_FILE} & set(entries)):
            raise ValueError(f"{d} exists and is not a kerasnas run; pick an empty or new --output-dir.")
        try:
            os.makedirs(d, exist_ok=True)
            self.lock.acquire()
        except OSError as e:
            raise ValueError(f"Cannot write to {d} ({e.strerror}); pick a writable --output-dir.") from e
        try:
            self._prepare(run_file, resume=resume, overwrite=overwrite)
        except BaseException:
            self.lock.release()
            raise

    def _prepare(self, run_file: str, *, resume: bool, overwrite: bool) -> None:
        d = self.directory
        exists = any(name != LOCK_FILE for name in os.listdir(d))
        if exists and resume and os.path.isfile(run_file):
            with open(run_file) as f:
                differ = differences(json.load(f), self.record)
            if differ:
                raise ValueError(f"Cannot resume {d} with other settings (" + "; ".join(differ)
                                 + "). Use the same ones or a new --output-dir.")
        elif exists and not overwrite and not resume:
            stale = self.lock.stale
            ended = (f" (it was interrupted: {stale.describe()} ended without finishing)"
                     if stale else "")
            raise ValueError(f"{d} holds an earlier search{ended}; pass --resume to continue it "
                             "or --overwrite to delete it and start again.")
        elif exists and overwrite:
            for name in os.listdir(d):
                if name != LOCK_FILE:  # ours: we hold it
                    path = os.path.join(d, name)
                    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        write_json(run_file, self.record, indent=2, default=str)

    def _wait_for_chief(self) -> None:
        run_file = os.path.join(self.directory, RUN_FILE)
        timeout = self.settings.worker_timeout
        deadline = time.time() + timeout
        while not os.path.isfile(run_file):
            if time.time() > deadline:
                raise ValueError(f"No chief has prepared {self.directory} within {timeout:.0f} s; "
                                 "start the chief first (--role chief) with the same --output-dir.")
            time.sleep(0.5)
        with open(run_file) as f:
            differ = differences(json.load(f), self.record)
        if differ:
            raise ValueError("This worker's settings differ from the chief's: " + "; ".join(differ))

    def close(self) -> None:
        """Releases the folder's lock (a finished or failed search)."""
        self.lock.release()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the search -----------------------------------------------------------------------

    def search(self) -> SearchResult | None:
        """Runs the search to its budget (the method's loop) and exports the returned model.

        Returns:
            A `SearchResult`; None on a worker (the chief exports the results).

        Raises:
            SearchStopped: when the search stopped early; what completed is exported.
        """
        from kerasnas.strategy import describe

        self._tuner = tuner = self.method.prepare(self)
        if self.steering and self.role != "worker":  # the oracle's copy on a worker proposes nothing
            from kerasnas.proxies import steer

            steer(tuner.oracle, self.hypermodel, self.data, proxy=self.steering,
                  pool=self.settings.steer_pool, seed=self.settings.seed)
        self.strategy = tuner.distribution_strategy
        self.strategy_text = describe(self.strategy)
        self.oracle = tuner.oracle  # a worker's is a client of the chief's
        if self.role != "worker":
            from kerasnas.tuner import checkpoint_clock

            # The clock goes on from the earlier run's last finished trial, or from the last
            # checkpoint of the trial it was killed in (which goes on from there).
            self.earlier_end = trials_table.earlier_end_seconds(self.oracle.trials, self.results_path)
            self.resumed_after = max(max(self.earlier_end.values(), default=0.0),
                                     checkpoint_clock(tuner.project_dir))
        self.started = time.time() - self.resumed_after
        if self.lock.stale is not None:
            self.reporter.on_message(f"took over the lock of {self.lock.stale.describe()}, "
                                     "which ended without releasing it")
        self.reporter.on_search_begin(self)
        if self.role == "worker":
            self.method.search(self)
            return None
        stopped = None
        try:
            self.method.search(self)
        except RuntimeError as e:  # failures past the limit, or no worker left
            stopped = e
        return self._finish(stopped)

    def _finish(self, stopped: RuntimeError | None) -> SearchResult | None:
        from kerasnas.summary import export_best

        table = self.table()
        write_csv(self.results_path, table)
        completed = int((table.status == "COMPLETED").sum()) if len(table) else 0
        result = None
        if completed or stopped is None:
            summary, best, test_accuracy, model_path = export_best(
                self, table, self.method.returned_model(self),
                0 if stopped else self.settings.final_epochs)
            result = SearchResult(table, {"trial_id": best.trial_id, "val_accuracy": best.score,
                                          "values": best.hyperparameters.values},
                                  test_accuracy, model_path, self.directory,
                                  summary["wall_seconds"], summary)
            self.reporter.on_search_end(self, result)
        if stopped is not None:
            raise SearchStopped(f"{str(stopped).splitlines()[0]} ({len(table)} trials recorded, "
                                f"{completed} completed)", result) from stopped
        return result

    # -- the tuner's listener ---------------------------------------------------------------

    def on_trial_ending(self, trial: Trial) -> None:
        """Before the tuner ends a trial: its error message, if any, beside it."""
        if trial.message:  # kept beside the trial: the message does not cross gRPC
            with open(os.path.join(self.tuner.get_trial_dir(trial.trial_id),
                                   trials_table.ERROR_FILE), "w") as f:
                f.write(trial.message)

    def on_trial_ended(self, trial: Trial) -> None:
        """After the tuner ended a trial: `record_trial`."""
        self.record_trial(trial)

    def record_trial(self, trial: Trial) -> None:
        """After a trial ends: the table on disk (the chief's or a lone process's), then report."""
        if self.role != "worker":
            write_csv(self.results_path, self.table())
        self.reporter.on_trial_end(self, trial)

    # -- for reporters ---------------------------------------------------------------------

    @property
    def tuner(self) -> keras_tuner.Tuner:
        """The tuner the method trains with (`SearchMethod.prepare`), once `search()` began.

        Raises:
            RuntimeError: before `search()`.
        """
        if self._tuner is None:
            raise RuntimeError("The run has no tuner before `run.search()` (its method's "
                               "`prepare(run)` makes it); read `run.tuner` from then on.")
        return self._tuner

    @property
    def results_path(self) -> str:
        return os.path.join(self.directory, trials_table.RESULTS_FILE)

    @property
    def tuner_id(self) -> str:
        return self._tuner.tuner_id if self._tuner is not None else ""

    def table(self) -> pd.DataFrame:
        """The trials table (results.csv)."""
        table = trials_table.results_table(self.oracle, self.describe, self.started,
                                           self.earlier_end, self.tuner.project_dir)
        if len(self.settings.objectives) > 1:
            trials_table.mark_pareto(table, self.settings.objectives)
        return table

    def describe(self, values: dict[str, Any]) -> str:
        """The space's short text for `values`, else the values themselves."""
        from kerasnas.spaces import Describable

        described = self.hypermodel.describe(values) if isinstance(self.hypermodel, Describable) else ""
        return described or trials_table.short_values(values)

    def failure_reason(self, trial: Trial) -> str:
        """Why `trial` failed: the last line of its error message."""
        return trials_table.failure_reason(trial, self.tuner.project_dir)

    def elapsed(self) -> float:
        """Seconds on the search clock (earlier runs up to their last finished trial included)."""
        return time.time() - self.started

    def headline(self) -> str:
        """What the run searches, in one line (the reporters' first line)."""
        r = self.record
        resumed = (f"; resumed after {self.resumed_after:.0f} s" if self.resumed_after else "")
        steered = (f" (random draws: the best {self.steering} score of {self.settings.steer_pool})"
                   if self.steering else "")
        return (f"kerasnas: {r['space']} x {r['oracle']}{steered}, "
                f"{self.method.describe(self.settings)}, "
                f"train {r['train_size']} / val {r['val_size']}, {self.strategy_text}, "
                f"data: {self.data.source}{resumed}")


def earlier_options(directory: str) -> dict[str, Any]:
    """The options of `BudgetedSearch` that the budgeted run in `directory` began with.

    Read from its run.json, for a resume from the command line (which cannot name
    them) to go on as the run began instead of being refused. `BudgetedSearch`
    records racing and the cool-down only when on; runs begun before each became
    the default had it off. Empty (the defaults) for a new run.
    """
    path = os.path.join(directory, RUN_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        config = json.load(f).get("method_config", {})
    return {"incumbent_race": bool(config.get("incumbent_race", False)),
            "cooldown_fraction": config.get("cooldown_fraction", 0.0),
            "incumbent_confidence": config.get("incumbent_confidence", 0.95)}


def steering_for(settings: SearchSettings, space: keras_tuner.HyperModel,
                 oracle: keras_tuner.Oracle, oracle_name: str) -> str | None:
    """The proxy that steers a new run's random draws (`settings.steer` resolved), or None.

    "auto" steers only a `steerable` oracle (not TPE, which draws itself).

    Raises:
        ValueError: for a proxy named for an oracle that is not steerable.
    """
    from kerasnas.proxies import steering_proxy

    proxy = steering_proxy(settings.steer, space)
    if proxy is None or getattr(oracle, "steerable", False):
        return proxy
    if settings.steer == "auto":
        return None
    raise ValueError(f"--steer {settings.steer} picks among an oracle's random draws, and the "
                     f"{oracle_name} oracle does not draw through kerasnas (Optuna's TPE draws "
                     "itself): use --oracle evolution, bayes or random, or --steer none.")


def earlier_steering(directory: str, new: str | None) -> str | None:
    """The proxy the run in `directory` began steering with: its run.json's (None: none, or a
    run begun before steering existed), `new` when it has no run.json yet."""
    path = os.path.join(directory, RUN_FILE)
    if not os.path.isfile(path):
        return new
    with open(path) as f:
        return json.load(f).get("steering")


def differences(previous: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What a resume would change: `key: then, now` for the keys it must keep.

    Keys absent from an older run.json are not compared; configurations are
    compared key by key, budget keys of the oracle left out.
    """
    out = []
    for key in (*SearchSettings.resume_keys(), *IDENTITY_KEYS):
        if key not in previous:
            continue
        then, current = previous[key], now.get(key)
        if key.endswith("_config") and isinstance(then, dict) and isinstance(current, dict):
            for k in sorted(set(then) | set(current)):
                if k not in BUDGET_KEYS and then.get(k) != current.get(k):
                    out.append(f"{key}.{k}: {then.get(k)!r} then, {current.get(k)!r} now")
        elif then != current:
            out.append(f"{key}: {then!r} then, {current!r} now")
    return out
