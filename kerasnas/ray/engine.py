"""`RayTrialSearch`, `RayBudgetedSearch`: a kerasnas run's trials as Ray Tune trials (`--engine ray`).

The driver keeps the run: its folder, the oracle (behind an `OracleSearcher`), results.csv
and the exports, as with KerasTuner's engine. Each Ray trial trains one oracle trial in a
Ray worker with the same tuner code (`NASTuner`; `ContinuingTuner` for a budgeted search:
seeds, schedule, constraints, the model saved in the run's `search/trial_<id>/`), reading
the data from Ray's object store (put there once).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable

from kerasnas.methods.budgeted import BudgetedSearch
from kerasnas.methods.trials import TrialSearch
from kerasnas.ray._import import import_ray
from kerasnas.ray.searcher import OracleSearcher

if TYPE_CHECKING:
    import keras_tuner

    from kerasnas.run_folder import Run
    from kerasnas.settings import SearchSettings

__all__ = ["RayBudgetedSearch", "RayTrialSearch", "train_trial", "trial_slots"]

EXPERIMENT = "ray"  # Ray Tune's experiment folder inside the run folder
RETRIES = 3  # Ray's retries of a trial whose worker or node was lost


@dataclasses.dataclass
class TrialSpec:
    """What a Ray worker needs to train the run's trials (pickled once, with the data)."""

    hypermodel: Any
    hyperparameters: Any  # keras_tuner.HyperParameters: the oracle's space
    objective: Any  # keras_tuner.Objective: the oracle's
    settings: SearchSettings
    project_dir: str  # the run's KerasTuner project: each trial's model goes there
    # A budgeted search's ContinuingTuner arguments (steps_per_epoch, quantum, lr_schedule,
    # the cool-down's); None: trial by trial.
    continuing: dict[str, Any] | None = None


_WORKER_TUNERS: dict[str, Any] = {}  # a worker process's tuner for each run it trains for


def _worker_tuner(spec: TrialSpec) -> Any:
    key = spec.project_dir
    if key not in _WORKER_TUNERS:
        from kerasnas.methods.continuing_tuner import ContinuingTuner
        from kerasnas.oracles import RandomOracle
        from kerasnas.tuner import NASTuner

        class WorkerTuner(ContinuingTuner if spec.continuing else NASTuner):  # type: ignore[misc]
            """Trains a trial it is given; its files are the run's, not its own project's."""

            def get_trial_dir(self, trial_id: str) -> str:
                path = os.path.join(spec.project_dir, f"trial_{trial_id}")
                os.makedirs(path, exist_ok=True)
                return path

        s = spec.settings
        # Its own oracle and folder (never used to propose): a worker never touches the
        # driver's oracle files.
        oracle = RandomOracle(objective=spec.objective, max_trials=1,
                              hyperparameters=spec.hyperparameters.copy())
        # Checkpoints every epoch in the trial's folder: a trial whose node was lost goes on
        # from its last epoch where Ray retries it (the run folder must be on storage every
        # node sees, as Ray's own storage_path must). A ContinuingTuner checkpoints its own.
        options = spec.continuing or {"lr_schedule": s.lr_schedule, "checkpoint_epochs": True}
        _WORKER_TUNERS[key] = WorkerTuner(
            oracle, spec.hypermodel, seed=s.seed, precision=s.precision,
            constraints=s.parsed_constraints(), objectives=s.objectives, **options,
            directory=tempfile.mkdtemp(prefix="kerasnas-ray-worker-"), project_name="worker",
            overwrite=True)
    return _WORKER_TUNERS[key]


def train_trial(config: dict, *, spec: TrialSpec, data: Any) -> None:
    """Ray Tune trainable: trains the oracle trial named in `config` and reports its metrics."""
    import keras_tuner
    from keras_tuner.engine import trial as trial_module
    from ray import tune

    from kerasnas.ray.searcher import ERROR_KEY, TRIAL_ID_KEY

    config = dict(config)
    trial_id = config.pop(TRIAL_ID_KEY)
    hp = spec.hyperparameters.copy()
    hp.values = config
    trial = trial_module.Trial(hyperparameters=hp, trial_id=trial_id)
    s = spec.settings

    def train():
        return data.dataset("train", batch_size=s.batch_size, shuffle=True, seed=s.seed)

    def stream(start_step, parts):  # a budgeted search's: reshuffled every epoch, from a step on
        return data.stream(*parts, batch_size=s.batch_size, seed=s.seed, start_step=start_step)

    def val():
        return data.dataset("val", batch_size=s.batch_size)

    try:
        metrics = _worker_tuner(spec).run_trial(
            trial, stream if spec.continuing else train, val,
            epochs=None if spec.continuing else s.epochs, verbose=0)
    except keras_tuner.errors.FailedTrialError as error:  # e.g. a NaN loss: failed, not retried
        tune.report({ERROR_KEY: str(error)})
        return
    tune.report(metrics)


class _RunSearcher(OracleSearcher):
    """An `OracleSearcher` that tells the run of each ended trial (results.csv, progress)."""

    def __init__(self, oracle: Any, *, on_trial_end: Callable[[Any], None]):
        super().__init__(oracle)
        self.on_trial_end: Callable[[Any], None] | None = on_trial_end

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        super().on_trial_complete(trial_id, result, error)
        kt_id = self.trial_ids.get(trial_id)
        if kt_id is not None and self.on_trial_end is not None:
            self.on_trial_end(self.oracle.trials[kt_id])

    def __getstate__(self) -> dict:
        # Ray pickles the searcher into its experiment folder (tuner.pkl): without the run
        # (its data came to 55 MB on Fashion-MNIST); a resume reloads the oracle from its files.
        return {**self.__dict__, "on_trial_end": None}


def _experiment_name(directory: str) -> str:
    """"ray" for a run's first Ray experiment, "ray-2", "ray-3", ... for its resumptions."""
    n = 1
    while os.path.exists(os.path.join(directory, EXPERIMENT if n == 1 else f"{EXPERIMENT}-{n}")):
        n += 1
    return EXPERIMENT if n == 1 else f"{EXPERIMENT}-{n}"


def trial_slots(resources: dict[str, float], cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials the cluster runs at once (at least one)."""
    slots = resources.get("CPU", 1.0) // cpus_per_trial
    if gpus_per_trial > 0:
        slots = min(slots, resources.get("GPU", 0.0) // gpus_per_trial)
    return max(1, int(slots))


def fit_on_ray(run: Run, spec: TrialSpec,
               before_fit: Callable[[int], None] | None = None) -> None:
    """Runs the run's oracle over Ray Tune trials that train with `spec` until it stops;
    `before_fit(slots)` hears how many trials run at once."""
    ray = import_ray()
    from ray import tune

    s = run.settings
    # The tuner's state file: a resumed run reloads the oracle when it finds it (KerasTuner's
    # own search writes it; here the tuner never searches).
    run.tuner.save()
    threads = str(max(1, math.ceil(s.cpus_per_trial)))
    env = {"TF_NUM_INTRAOP_THREADS": threads, "OMP_NUM_THREADS": threads,
           "KERAS_BACKEND": s.backend or "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started_here = not ray.is_initialized()
    if started_here:
        # "local": a Ray of its own on this machine, never another process' that happens to
        # run here (ray.init() without an address joins the newest local one).
        ray.init(address=s.ray_address or "local", include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": env},
                 **({} if s.ray_address else {"num_cpus": os.cpu_count()}))
    try:
        trainable = tune.with_resources(
            tune.with_parameters(train_trial, spec=spec, data=run.data),
            {"cpu": s.cpus_per_trial, "gpu": s.gpus_per_trial})

        searcher = _RunSearcher(run.oracle, on_trial_end=run.record_trial)
        # A resumed run is a new Ray experiment over the reloaded oracle: its files are
        # written at every trial's end, where Ray's experiment state may lag one, so what
        # finished is never trained again and what ran goes on from its checkpoint.
        experiment = _experiment_name(run.directory)
        # Asked only when a trial can start: Ray otherwise asks ahead for a pending trial,
        # and the oracle would propose it before the running one's result is in.
        slots = trial_slots(ray.cluster_resources(), s.cpus_per_trial, s.gpus_per_trial)
        if before_fit is not None:
            before_fit(slots)
        tuner = tune.Tuner(
            trainable,
            # Actors reused: a worker imports TensorFlow once, not once a trial.
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1,
                                        max_concurrent_trials=slots, reuse_actors=True),
            run_config=tune.RunConfig(
                name=experiment, storage_path=os.path.abspath(run.directory), verbose=0,
                # A trial whose worker or node is lost is retried (from its checkpoint).
                failure_config=tune.FailureConfig(max_failures=RETRIES)))
        tuner.fit()
    finally:
        if started_here:
            ray.shutdown()


class RayTrialSearch(TrialSearch):
    """Trial by trial, as `TrialSearch`, with Ray Tune running the trials.

    Ray starts on this machine (`ray.init` with its cores) unless `settings.ray_address`
    names a running cluster. Each trial asks `cpus_per_trial` CPUs and `gpus_per_trial`
    GPUs, and TensorFlow in it uses that many threads.
    """

    def prepare(self, run: Run) -> keras_tuner.Tuner:
        s = run.settings
        if s.early_stopping != "none":
            raise ValueError("early_stopping reads every earlier trial's curve, which a Ray "
                             "worker does not have: use --early-stopping none with --engine ray.")
        return super().prepare(run)

    def search(self, run: Run) -> None:
        fit_on_ray(run, TrialSpec(run.hypermodel, run.oracle.hyperparameters.copy(),
                                  run.oracle.objective, run.settings, run.tuner.project_dir))

    def describe(self, settings: SearchSettings) -> str:
        return f"{super().describe(settings)}, on Ray Tune"


class RayBudgetedSearch(BudgetedSearch):
    """A budgeted search (`BudgetedSearch`: successive halving, the winner trained on) with Ray
    Tune running its trials: a promotion continues its parent's saved model wherever it runs.
    With room for one trial at a time the halving is synchronous (the keras_tuner engine's
    trials); with more, asynchronous (ASHA: a model in the top third of those ended goes on at
    once). A budget in epochs only: a budget in minutes is measured and kept by one process.
    """

    def prepare(self, run: Run) -> keras_tuner.Tuner:
        if self.budget_minutes is not None:
            raise ValueError("--engine ray takes a budget in epochs (--budget-epochs): a budget "
                             "in minutes is measured and kept by one process (keras_tuner).")
        return super().prepare(run)

    def search(self, run: Run) -> None:
        tuner = run.tuner
        continuing = {"steps_per_epoch": tuner.steps_per_epoch, "quantum": tuner.quantum,
                      "lr_schedule": tuner.lr_schedule, "cooldowns": tuner.cooldowns,
                      "final_round": tuner.final_round, "final_parts": tuner.final_parts}

        def before_fit(slots: int) -> None:
            run.oracle.asynchronous = slots > 1  # the SuccessiveHalvingOracle's

        fit_on_ray(run, TrialSpec(run.hypermodel, run.oracle.hyperparameters.copy(),
                                  run.oracle.objective, run.settings, tuner.project_dir,
                                  continuing), before_fit=before_fit)

    def describe(self, settings: SearchSettings) -> str:
        return f"{super().describe(settings)}, on Ray Tune"
