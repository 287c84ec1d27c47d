"""One settings object for a search: the CLI, the benchmarks and run.json share it.

A new option is one field here: its metadata gives the CLI flag and help
(`add_arguments`), `validate` checks it (`low`, `choices`), run.json records it,
and `resume` marks the fields a resumed search must keep (they change what
trials mean). No TensorFlow here: the CLI reads it before importing anything
heavy (a field that also takes an object names its class by path, `accepts`,
imported only when an object is given).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
from typing import TYPE_CHECKING, Any, Callable, Literal

from kerasnas._config import to_json  # json and inspect only
from kerasnas.budget_plan import FINAL_IMAGES  # dataclasses and math only

if TYPE_CHECKING:  # Keras behind them: never imported here at run time
    from kerasnas.early_stopping import Stopper
    from kerasnas.pareto import Constraint
    from kerasnas.schedules import Schedule

__all__ = ["BACKENDS", "ENGINES", "PRECISIONS", "REFERENCES", "SCHEDULES", "STEERING", "STOPPING",
           "STRATEGIES", "SearchSettings", "non_negative_int", "positive_float", "positive_int"]

BACKENDS = ("tensorflow", "jax", "torch")  # kerasnas.backends (no Keras import here either)
# The names each option takes, used here (the CLI must not import Keras) and by
# kerasnas.strategy, kerasnas.schedules, kerasnas.precision and kerasnas.early_stopping.
STRATEGIES = ("auto", "default", "mirrored")
SCHEDULES = ("cosine", "constant")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
STOPPING = ("none", "median")
ENGINES = ("keras_tuner", "ray")
# "auto", "none" and kerasnas.proxies.PROXIES (kerasnas.proxies.steering_proxy).
STEERING = ("auto", "none", "naswot", "synflow", "params", "flops")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1)


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    return value


REFERENCES = ("plain-cnn",)  # built-in references (`kerasnas.reference`)


def _check_reference(value: Any) -> None:
    if value is None or value in REFERENCES:
        return
    if not isinstance(value, str) or not value.endswith(".keras") or not os.path.isfile(value):
        missing = isinstance(value, str) and value.endswith(".keras")
        raise ValueError(f"`reference` must be {' or '.join(REFERENCES)} or the path of a saved "
                         f".keras model; got {value!r}{' (no such file)' if missing else ''}.")


def _check_choice(field: dataclasses.Field, value: Any) -> None:
    """Refuses a value that is not one of the field's `choices` (nor an `accepts` object)."""
    choices, accepts = field.metadata["choices"], field.metadata.get("accepts")
    if isinstance(value, str) or accepts is None:
        if value not in choices:
            raise ValueError(f"`{field.name}` must be one of {choices}; got {value!r}.")
        return
    module, _, name = accepts.rpartition(".")
    cls = getattr(importlib.import_module(module), name)  # heavy: only for an object
    if not isinstance(value, cls):
        raise ValueError(f"`{field.name}` must be one of {choices} or a {accepts}; "
                         f"got {value!r}.")


def _field(default: Any, help: str, *, flag: bool = True, type: Callable[[str], Any] | None = None,
           resume: bool = False, low: int | None = None, **extra: Any) -> Any:
    """A settings field; `flag=False` keeps it out of the generic CLI flags."""
    metadata = {"help": help, "flag": flag, "type": type, "resume": resume, "low": low, **extra}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=dict, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """Everything a search is run with, besides its space, oracle and data.

    Args:
        max_trials: Trial budget (failed trials count toward it).
        epochs: Training epochs per trial.
        budget_epochs: One budget for the whole run, in epochs of the training
            split (every model's; fractions count steps): the search judges
            candidates by successive halving and trains the winner on to the
            end of the budget (`kerasnas.methods.BudgetedSearch`); `max_trials`
            and `epochs` then do not apply. None: trial by trial.
        budget_minutes: Instead of `budget_epochs`, one budget on the wall clock
            (the search from its speed measurement to the saved model), planned
            in epochs at the measured speed; the winner takes the time left.
        final_images: A budgeted run's winner trains its last rung on "train"
            (its validation score stays held out) or on "train+val" (the
            selection is over by then; the test set is never seen).
        batch_size: Global batch size (split across replicas).
        lr_schedule: "cosine" (warm-up, then cosine decay over each trial's steps,
            peaking at the trial's learning rate), "constant", or a
            `kerasnas.schedules.Schedule` (recorded by class path and config).
        precision: Keras dtype policy of every model (`kerasnas.precision`); the
            classifier stays float32, so exported models output float32.
        early_stopping: "none", "median", or a `kerasnas.early_stopping.Stopper`
            (recorded by class path and config); a stopped trial keeps its score
            for the oracle but is never exported as the best.
        seed: Seed of the data split, the oracle and each trial's training.
        engine: What runs the trials: "keras_tuner" (this process, or KerasTuner's
            chief/worker mode) or "ray" (Ray Tune trials, `kerasnas.ray`).
        ray_address: With engine "ray": a running cluster's address (None: start
            Ray on this machine).
        cpus_per_trial: With engine "ray": CPUs each trial asks for (and its
            TensorFlow threads).
        gpus_per_trial: With engine "ray": GPUs each trial asks for.
        strategy: "auto", "default" or "mirrored" (see `kerasnas.strategy`).
        backend: Keras backend: "tensorflow", "jax" or "torch"; None takes
            `KERAS_BACKEND` (else tensorflow). A `Run` records the one Keras runs on.
        space_options: Knob values for a space given by name.
        oracle_options: Options for an oracle given by name.
        max_failures: The search stops after this many failed trials in a row.
        constraints: Bounds every returned model keeps, e.g. "params<=100000",
            "flops<=2e7", "latency<=1.5" (ms an image at batch 1 on this machine,
            `kerasnas.footprint.LATENCY_PROTOCOL`). Checked once a candidate is
            built, before it trains: one that breaks a bound is never trained
            and scores 0 for the oracle (the death penalty), so every oracle
            keeps to them.
        steer: A training-free proxy that picks the oracle's random draws: of
            `steer_pool` draws, the one whose untrained model it scores highest
            is proposed (`kerasnas.proxies.steer`; evolution, bayes and random
            draw so, TPE does not). "auto": the proxy the space names
            (`kerasnas.spaces.ProxySteered`: nasbench201's NASWOT, the one proxy
            measured to beat the parameter count, `reports/proxies.md`), none for
            other spaces or oracles; "none" (the default); or a name of
            `kerasnas.proxies.PROXIES`.
        steer_pool: Draws the proxy compares for each random proposal.
        objectives: What the search trades off, names of
            `kerasnas.pareto.OBJECTIVES` ("accuracy", "params", "flops",
            "latency"), accuracy among them, or "accuracy,params": with more than
            accuracy the oracle searches for the Pareto front, results.csv marks
            it (`pareto`), summary.json lists it (`pareto_front`, each member
            tested once) and `front/` holds its models; the returned model is the
            front's most accurate.
        reference: A network trained beside the search, to set what it returns
            against (`kerasnas.reference`): "plain-cnn" or a saved .keras file (its
            architecture, fresh weights), as many epochs as a trial (a budgeted run:
            its whole budget); summary.json `reference_result`. None: none.
        final_epochs: If > 0, the best architecture is then trained from scratch
            on train + validation for this many epochs, tested and exported.
        tensorboard: Write per-trial scalars and HParams to `OUTPUT_DIR/tensorboard`.
        verbose: Keras' per-batch progress bars (False: one line per trial).
        worker_timeout: Chief/worker mode: seconds of silence after which a
            worker counts as lost.
        dataset: What `search` loads when given no data (`kerasnas.datasets.make_splits`).
        image_size: Resize every image to N or "HxW" (None: keep their size).
        train_size: Training images (None: all that are not validation or test).
        val_size: Validation images (None: a sixth of the training data).
        test_size: Data without a test split: images held out for the test.
        memory_limit_mb: A folder whose images take more streams from disk.
        data_dir: Fashion-MNIST's folder of .gz files, or TFDS' data folder.
    """

    max_trials: int = _field(3, "trial budget", type=positive_int, low=1)
    epochs: int = _field(1, "epochs per trial", type=positive_int, low=1, resume=True)
    budget_epochs: float | None = _field(
        None, "one budget for the whole run, in epochs of the training split, every model "
        "counted: candidates judged by successive halving (each rung after a short cool-down), "
        "the winner trained on to the end of the budget (max-trials and epochs then do not "
        "apply)", type=positive_float,
        resume=True, metavar="B")
    budget_minutes: float | None = _field(
        None, "instead of --budget-epochs, one budget on the wall clock for the search, from a "
        "short speed measurement to the saved model (not the start-up or data loading): planned "
        "in epochs at the measured speed, the winner trained for the time left", type=positive_float,
        resume=True, metavar="M")
    final_images: Literal["train", "train+val"] = _field(
        "train", "a budgeted run's winner trains its last rung on the training images (train: "
        "its validation score stays held out) or on the training and validation images "
        "(train+val: the selection is over by then; measured +0.23 points at --budget-epochs 12 on "
        "10k images, benchmarks/budget.py)", choices=tuple(FINAL_IMAGES), resume=True)
    batch_size: int = _field(32, "global batch size: small, as a search's trials are short and "
                             "steps count more than batch size there (benchmarks/recipes.py)",
                             type=positive_int, low=1, resume=True)
    lr_schedule: str | Schedule = _field(
        "cosine", "per-trial learning rate: warm-up then cosine decay over the trial's steps "
        "(peak: the trial's rate), or constant", choices=SCHEDULES,
        accepts="kerasnas.schedules.Schedule", resume=True)
    precision: str = _field("float32", "dtype policy of every model: float32, mixed_bfloat16 "
                            "(16-bit compute where the CPU or accelerator has it) or "
                            "mixed_float16 (GPUs; with loss scaling)", choices=PRECISIONS,
                            resume=True)
    early_stopping: str | Stopper = _field(
        "none", "stop a trial after an epoch where its validation accuracy is below the median "
        "of earlier trials' after that epoch (median), or never (none)", choices=STOPPING,
        accepts="kerasnas.early_stopping.Stopper", resume=True)
    seed: int = _field(0, "seed of the split, the oracle and training", type=int, resume=True)
    strategy: str = _field("auto", "auto: data parallel on >1 GPU (tensorflow: MirroredStrategy, "
                           "jax: keras.distribution.DataParallel; torch: one device); mirrored: "
                           "force it (on CPU: 2 logical devices; tensorflow and jax)",
                           choices=STRATEGIES)
    # Kept by a resume: the same seed gives other initial weights on another backend.
    backend: str | None = _field(None, "Keras backend (default: KERAS_BACKEND, else tensorflow)",
                                 type=str, choices=BACKENDS, resume=True)
    space_options: dict[str, Any] = _field({}, "knob values of a space given by name", flag=False, resume=True)
    oracle_options: dict[str, Any] = _field({}, "options of an oracle given by name", flag=False, resume=True)
    max_failures: int = _field(3, "stop after this many failed trials in a row", type=positive_int,
                               low=1)
    steer: str = _field(
        "none", "a training-free proxy picks the oracle's random draws: of --steer-pool draws, "
        "the one it scores highest at initialisation is proposed; auto: the proxy measured to "
        "beat the parameter count on the space (nasbench201: naswot; no other space has one)",
        choices=STEERING, resume=True)
    steer_pool: int = _field(10, "draws a steering proxy compares for each random proposal",
                             type=positive_int, low=1, resume=True)
    constraints: tuple[str, ...] = _field((), "bounds every returned model keeps", flag=False,
                                          resume=True)
    objectives: tuple[str, ...] = _field(("accuracy",), "what the search trades off", flag=False,
                                         resume=True)
    reference: str | None = _field(
        None, "also train a network without search beside the run: plain-cnn (two convolutions, "
        "the project's baseline) or your own saved FILE.keras (fresh weights), as many epochs as "
        "a trial (a budgeted run: its whole budget), tested once and set beside the returned "
        "model in report.md", type=str, metavar="plain-cnn|FILE.keras")
    final_epochs: int = _field(0, "then train the best architecture from scratch on all 60k "
                               "training images for N epochs (augmentation, cosine decay), test "
                               "it, export final_model.keras", type=non_negative_int, low=0)
    tensorboard: bool = _field(False, "write per-trial scalars and HParams to "
                               "OUTPUT_DIR/tensorboard")
    verbose: bool = _field(False, "show Keras' per-batch progress bars")
    worker_timeout: float = _field(120.0, "chief/worker mode: seconds without news after which a "
                                   "worker's trial is re-queued, and the chief gives up when no "
                                   "worker is left", type=float, group="distributed")
    engine: str = _field("keras_tuner", "what runs the trials: keras_tuner (this process, or "
                         "its chief/worker mode) or ray (Ray Tune trials, on this machine or the "
                         "cluster at --ray-address; needs the ray extra)", choices=ENGINES,
                         group="distributed")
    ray_address: str | None = _field(None, "--engine ray: the address of a running Ray cluster "
                                     "(default: start Ray on this machine)", type=str,
                                     group="distributed")
    cpus_per_trial: float = _field(1.0, "--engine ray: CPUs each trial asks for (and its "
                                   "TensorFlow threads)", type=positive_float, group="distributed")
    gpus_per_trial: float = _field(0.0, "--engine ray: GPUs each trial asks for", type=float,
                                   group="distributed")
    dataset: str = _field("fashion_mnist", "fashion_mnist, tfds:NAME, a folder of class "
                          "subfolders, or an .npz with x, y (optionally x_test, y_test)")
    image_size: str | None = _field(None, "resize every image to N or HxW (default: keep their "
                                    "size; mixed sizes are refused)", type=str, metavar="N|HxW")
    train_size: int | None = _field(None, "training images for the trials (default: all others; "
                                    "50000 for Fashion-MNIST)", type=positive_int, low=1,
                                    resume=True)
    val_size: int | None = _field(None, "held-out validation images that score the trials "
                                  "(default: a sixth of the training data, 10000 for "
                                  "Fashion-MNIST)", type=positive_int, low=1, resume=True)
    test_size: int | None = _field(None, "data without a test split: images held out for the "
                                   "test (default: a sixth)", type=positive_int, low=1)
    memory_limit_mb: int = _field(2048, "a folder whose images take more streams from disk",
                                  type=positive_int, low=1)
    data_dir: str | None = _field(None, "Fashion-MNIST: folder holding the four official .gz "
                                  "files; tfds: TFDS' data folder")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Checks every field.

        Raises:
            ValueError: naming the field, the value and what is expected.
        """
        for f in dataclasses.fields(self):
            value, low = getattr(self, f.name), f.metadata["low"]
            if value is None and f.default is None:  # "the default": e.g. sizes from the data
                continue
            if low is not None and (isinstance(value, bool) or not isinstance(value, int)
                                    or value < low):
                raise ValueError(f"`{f.name}` must be an integer >= {low}; got {value!r}.")
            if "choices" in f.metadata:
                _check_choice(f, value)
        from kerasnas.datasets import parse_image_size  # numpy only

        parse_image_size(self.image_size)  # raises ValueError naming the forms it takes
        _check_reference(self.reference)
        if self.budget_epochs is not None and (isinstance(self.budget_epochs, bool) or not
                                               isinstance(self.budget_epochs, (int, float))
                                               or not self.budget_epochs > 0):
            raise ValueError(f"`budget_epochs` must be a number > 0; got {self.budget_epochs!r}.")
        if self.budget_minutes is not None and (isinstance(self.budget_minutes, bool) or not
                                                isinstance(self.budget_minutes, (int, float))
                                                or not self.budget_minutes > 0):
            raise ValueError(f"`budget_minutes` must be a number > 0; got {self.budget_minutes!r}.")
        if self.budget_epochs is not None and self.budget_minutes is not None:
            raise ValueError("Give one budget: `budget_epochs` (--budget-epochs) or `budget_minutes` "
                             f"(--budget-minutes), not both; got {self.budget_epochs!r} epochs and "
                             f"{self.budget_minutes!r} minutes.")
        if self.final_images != "train" and self.budget_epochs is None and self.budget_minutes is None:
            raise ValueError("`final_images` (--final-images) applies to a budgeted run: give "
                             "--budget-epochs or --budget-minutes with it (a trial-by-trial search "
                             "retrains on train + validation images with --final-epochs); got "
                             f"final_images={self.final_images!r} without a budget.")
        if self.gpus_per_trial < 0:
            raise ValueError(f"`gpus_per_trial` must be >= 0; got {self.gpus_per_trial!r}.")
        if not self.cpus_per_trial > 0:
            raise ValueError(f"`cpus_per_trial` must be > 0; got {self.cpus_per_trial!r}.")
        if not self.worker_timeout > 0:
            raise ValueError(f"`worker_timeout` must be > 0 seconds; got {self.worker_timeout!r}.")
        self.parsed_constraints()  # raises naming the forms and names it takes
        from kerasnas.pareto import parse_objectives

        # One spelling ("accuracy,params" or a tuple) so that run.json compares on a resume.
        object.__setattr__(self, "objectives", parse_objectives(self.objectives))
        if "accuracy" not in self.objectives:
            raise ValueError("`objectives` must include accuracy (the returned model is the most "
                             f"accurate of the front); got {self.objectives!r}. E.g. "
                             "accuracy,params.")
        for name in ("space_options", "oracle_options"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"`{name}` must be a dict; got {getattr(self, name)!r}.")

    def parsed_constraints(self) -> tuple[Constraint, ...]:
        """`constraints` as `kerasnas.pareto.Constraint`s.

        Raises:
            ValueError: for bad syntax, an unknown name, or a bound on accuracy
                (known only after training: an objective, not a constraint).
        """
        from kerasnas.pareto import parse_constraint

        if isinstance(self.constraints, str) or not isinstance(self.constraints, (tuple, list)):
            raise ValueError("`constraints` must be a tuple of strings such as 'params<=100000'; "
                             f"got {self.constraints!r}.")
        parsed = tuple(parse_constraint(text) for text in self.constraints)
        for c in parsed:
            if c.name == "accuracy":
                raise ValueError(f"{c} bounds what is known only after training; constraints "
                                 "bound what is known before it: params, flops or latency.")
        return parsed

    def replace(self, **changes: Any) -> SearchSettings:
        """A copy with `changes`.

        Raises:
            ValueError: for a name that is not a setting, listing the valid ones.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"Unknown setting(s) {unknown}; valid: {', '.join(sorted(names))}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-safe values (for run.json and summary.json).

        An object (a schedule, a stopper) is recorded by class path and config,
        so that a resume compares it.
        """
        return to_json({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    @classmethod
    def resume_keys(cls) -> tuple[str, ...]:
        """Settings a resumed search must keep."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata["resume"])

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser,
                      groups: dict[str, argparse._ArgumentGroup] | None = None) -> None:
        """Adds one `--flag` per field (a field's `group` picks an argument group)."""
        groups = groups or {}
        for f in dataclasses.fields(cls):
            if not f.metadata["flag"]:
                continue
            target = groups.get(f.metadata.get("group", ""), parser)
            flag = "--" + f.name.replace("_", "-")
            default = f.default
            if isinstance(default, bool):
                target.add_argument(flag, action="store_true", help=f.metadata["help"])
                continue
            kw = {k: f.metadata[k] for k in ("choices", "metavar") if k in f.metadata}
            target.add_argument(flag, type=f.metadata["type"], default=default,
                                help=f"{f.metadata['help']} (default: {default})", **kw)

    @classmethod
    def from_args(cls, args: argparse.Namespace, **extra: Any) -> SearchSettings:
        """The settings from parsed CLI flags, plus `extra` fields (e.g. options)."""
        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                  if f.metadata["flag"]}
        return cls(**values, **extra)
