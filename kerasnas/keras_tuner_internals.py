"""The one place kerasnas touches KerasTuner's private names (written against keras-tuner 1.4.8).

KerasTuner offers no public way to do what some of kerasnas needs (re-queue a
lost worker's trial, write the oracle's files atomically, reuse its model
building and TensorBoard hooks, serve the oracle over gRPC with heartbeats).
Every private attribute, method, module and override kerasnas relies on is
listed in `PRIVATE_NAMES`, with the parameters kerasnas passes; the functions
below are the only code in kerasnas that reads or calls them.
`check(entry)` verifies one entry against the installed KerasTuner, and
tests/test_keras_tuner_internals.py runs it for each, so a release that removes
or changes one fails naming it. `undeclared_overrides` and
`undeclared_attributes` catch a kerasnas subclass shadowing a KerasTuner
private name without saying so (an override by accident).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib
import inspect
import io
import textwrap
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, NoReturn

import keras_tuner
import numpy as np

if TYPE_CHECKING:
    import keras
    from keras_tuner.engine.trial import Trial
    # kerasnas.distributed's base class, named for mypy (`oracle_servicer_class()` at run time)
    from keras_tuner.src.distribute.oracle_chief import OracleServicer as OracleServicer

__all__ = ["KerasTunerInternalsError", "PRIVATE_NAMES", "PrivateName", "TESTED_VERSION", "add_servicer_to_server",
           "add_trial_tensorboard", "base_set_project_dir", "build_model", "check", "create_trial_response",
           "distribution_scope", "end_trial_response", "gp_random_response", "gp_random_state", "is_tried",
           "is_worker", "max_collisions", "oracle_file", "oracle_servicer_class", "project_dir", "random_values",
           "release_oracle_lock", "retry_queue", "save_trial", "set_gp_random_state", "set_project_dir",
           "set_seed_state", "silenced_condition_to_proto", "trial_dir", "tried_keys", "tuner_file",
           "undeclared_attributes", "undeclared_overrides", "values_key"]

TESTED_VERSION = "1.4.8"  # the version the table was written against (setup.py pins it)


@dataclasses.dataclass(frozen=True)
class PrivateName:
    """One private KerasTuner name kerasnas relies on.

    Attributes:
        owner: Dotted path of the class or module that defines it; a trailing
            "()" calls the named function first (e.g. the protos module it returns).
        name: The attribute's name.
        kind: How kerasnas uses it: "call" (calls it with `params`), "override"
            (a kerasnas subclass, `by`, replaces it; KerasTuner calls it with
            exactly `params`), "patch" (swapped for a wrapper taking exactly
            `params`), "subclass" (a class kerasnas subclasses, built with
            `params`), "attribute" (read or written on an instance, of type
            `value_type`), "property", "module attribute" (of type `value_type`)
            or "message" (a protobuf message built with the fields `params`).
        params: The parameters, `self` left out; None when not called.
        by: For "override": the kerasnas class that overrides it (dotted path).
        value_type: For "attribute" and "module attribute": the type kerasnas expects.
    """

    owner: str
    name: str
    kind: str
    params: tuple[str, ...] | None = None
    by: str | None = None
    value_type: type | None = None

    @property
    def id(self) -> str:
        return f"{self.owner}.{self.name}"


_ORACLE = "keras_tuner.Oracle"
_GP_ORACLE = "keras_tuner.oracles.BayesianOptimizationOracle"
_BASE_TUNER = "keras_tuner.engine.base_tuner.BaseTuner"
_TUNER = "keras_tuner.Tuner"
_SERVICER = "keras_tuner.src.distribute.oracle_chief.OracleServicer"
_SERVICE = "keras_tuner.src.protos.get_service()"
_SERVICE_GRPC = "keras_tuner.src.protos.get_service_grpc()"

PRIVATE_NAMES = (
    # Oracle: files, trials, the retry queue and the tried-values hashes.
    PrivateName(_ORACLE, "_retry_queue", "attribute", value_type=list),
    PrivateName(_ORACLE, "_save_trial", "override", ("trial",), by="kerasnas.oracles._base.NotesMixin"),
    PrivateName(_ORACLE, "_get_trial_dir", "call", ("trial_id",)),
    PrivateName(_ORACLE, "_get_oracle_fname", "call", ()),
    PrivateName(_ORACLE, "_project_dir", "property"),
    # Called on any oracle, and overridden (a wrapper points its proposer at a subfolder).
    PrivateName(_ORACLE, "_set_project_dir", "override", ("directory", "project_name"),
                by="kerasnas.oracles.successive_halving.SuccessiveHalvingOracle"),
    PrivateName(_ORACLE, "_duplicate", "call", ("values",)),
    PrivateName(_ORACLE, "_compute_values_hash", "call", ("values",)),
    PrivateName(_ORACLE, "_tried_so_far", "attribute", value_type=set),
    PrivateName(_ORACLE, "_max_collisions", "attribute", value_type=int),
    PrivateName(_ORACLE, "_seed_state", "attribute", value_type=int),
    PrivateName(_ORACLE, "_random_values", "call", ()),
    # KerasTuner's Gaussian-process oracle (`kt-gp`).
    PrivateName(_GP_ORACLE, "_random_state", "attribute", value_type=np.random.RandomState),
    PrivateName(_GP_ORACLE, "_make_gpr", "override", (),
                by="kerasnas.oracles._keras_tuner.KerasTunerGPOracle"),
    PrivateName(_GP_ORACLE, "_random_populate_space", "call", ()),
    # Tuner: its files, model building, TensorBoard and distribution hooks.
    PrivateName(_BASE_TUNER, "_is_worker", "call", ()),
    PrivateName(_BASE_TUNER, "_get_tuner_fname", "call", ()),
    PrivateName(_TUNER, "_try_build", "call", ("hp",)),
    PrivateName(_TUNER, "_build_hypermodel", "override", ("hp",), by="kerasnas.tuner.NASTuner"),
    PrivateName(_TUNER, "_configure_tensorboard_dir", "call", ("callbacks", "trial")),
    PrivateName("keras_tuner.engine.tuner", "maybe_distribute", "call", ("distribution_strategy",)),
    # Chief/worker mode (kerasnas.distributed): the lock, the gRPC service, the debug print.
    PrivateName("keras_tuner.src.engine.conditions.Parent", "to_proto", "patch", ()),
    PrivateName("keras_tuner.src.engine.oracle", "THREADS", "module attribute", value_type=dict),
    PrivateName("keras_tuner.src.engine.oracle", "LOCKS", "module attribute", value_type=dict),
    PrivateName("keras_tuner.src.distribute.oracle_chief", "OracleServicer", "subclass", ("oracle",)),
    PrivateName(_SERVICER, "oracle", "attribute", value_type=keras_tuner.Oracle),
    PrivateName(_SERVICER, "CreateTrial", "override", ("request", "context")),
    PrivateName(_SERVICER, "UpdateTrial", "override", ("request", "context")),
    PrivateName(_SERVICER, "GetTrial", "override", ("request", "context")),
    PrivateName(_SERVICER, "EndTrial", "override", ("request", "context")),
    PrivateName("keras_tuner.src.protos", "get_service", "call", ()),
    PrivateName("keras_tuner.src.protos", "get_service_grpc", "call", ()),
    PrivateName(_SERVICE, "CreateTrialResponse", "message", ("trial",)),
    PrivateName(_SERVICE, "EndTrialResponse", "message", ()),
    PrivateName(_SERVICE_GRPC, "add_OracleServicer_to_server", "call", ("servicer", "server")),
)


# -- Oracle -------------------------------------------------------------------------------

def retry_queue(oracle: keras_tuner.Oracle) -> list[str]:
    """The oracle's list of trial ids waiting to be re-run (the live list: append to re-queue)."""
    return oracle._retry_queue


def save_trial(oracle: keras_tuner.Oracle, trial: Trial) -> None:
    """Writes `trial` to its trial.json (through the oracle's own `_save_trial`)."""
    oracle._save_trial(trial)


def trial_dir(oracle: keras_tuner.Oracle, trial_id: str) -> str:
    """The folder of trial `trial_id` in the oracle's project, created if missing."""
    return oracle._get_trial_dir(trial_id)


def oracle_file(oracle: keras_tuner.Oracle) -> str:
    """The path of the oracle's state file (oracle.json)."""
    return oracle._get_oracle_fname()


def project_dir(oracle: keras_tuner.Oracle) -> str:
    """The oracle's project folder, created if missing."""
    return oracle._project_dir


def set_project_dir(oracle: keras_tuner.Oracle, directory: str, project_name: str) -> None:
    """Points the oracle at `directory/project_name`, as a tuner does when it is built."""
    oracle._set_project_dir(directory, project_name)


def base_set_project_dir(oracle: keras_tuner.Oracle, directory: str, project_name: str) -> None:
    """`keras_tuner.Oracle`'s own `_set_project_dir`, for an override that adds to it."""
    keras_tuner.Oracle._set_project_dir(oracle, directory, project_name)


def is_tried(oracle: keras_tuner.Oracle, values: dict[str, Any]) -> bool:
    """Whether `values` were already given to a trial (running, finished or failed)."""
    return oracle._duplicate(values)


def values_key(oracle: keras_tuner.Oracle, values: dict[str, Any]) -> str:
    """The key under which the oracle records tried `values` (see `tried_keys`)."""
    return oracle._compute_values_hash(values)


def tried_keys(oracle: keras_tuner.Oracle) -> set[str]:
    """The keys (`values_key`) of every tried set of values."""
    return oracle._tried_so_far


def max_collisions(oracle: keras_tuner.Oracle) -> int:
    """How many tried values a random draw may hit before the space counts as exhausted."""
    return oracle._max_collisions


def set_seed_state(oracle: keras_tuner.Oracle, seed: int) -> None:
    """Sets the seed KerasTuner's random draws (`random_values`) continue from."""
    oracle._seed_state = seed


def random_values(oracle: keras_tuner.Oracle) -> dict[str, Any] | None:
    """KerasTuner's random draw of untried active values, or None when it finds none."""
    return oracle._random_values()


# -- KerasTuner's Gaussian-process oracle ---------------------------------------------------

def gp_random_state(oracle: keras_tuner.Oracle) -> np.random.RandomState:
    """The `numpy.random.RandomState` seeding the GP's acquisition optimiser."""
    return oracle._random_state


def set_gp_random_state(oracle: keras_tuner.Oracle, random_state: np.random.RandomState) -> None:
    oracle._random_state = random_state


def gp_random_response(oracle: keras_tuner.Oracle) -> dict[str, Any]:
    """The GP oracle's random proposal (its `populate_space` response)."""
    return oracle._random_populate_space()


# -- Tuner --------------------------------------------------------------------------------

def is_worker(tuner: keras_tuner.Tuner) -> bool:
    """Whether `tuner` is a worker of chief/worker mode (its oracle lives on the chief)."""
    return tuner._is_worker()


def tuner_file(tuner: keras_tuner.Tuner) -> str:
    """The path of the tuner's state file (<tuner id>.json)."""
    return tuner._get_tuner_fname()


def build_model(tuner: keras_tuner.Tuner, hp: keras_tuner.HyperParameters) -> keras.Model:
    """Builds the trial's model as KerasTuner does: clears the session, checks the result."""
    return tuner._try_build(hp)


def add_trial_tensorboard(tuner: keras_tuner.Tuner, callbacks: list[keras.callbacks.Callback],
                          trial: Trial) -> None:
    """Moves each TensorBoard callback to a folder per trial and adds KerasTuner's HParams one."""
    tuner._configure_tensorboard_dir(callbacks, trial)


def distribution_scope(strategy: Any) -> contextlib.AbstractContextManager:
    """`strategy.scope()`, or a block doing nothing when `strategy` is None."""
    return keras_tuner.engine.tuner.maybe_distribute(strategy)


# -- Chief/worker mode ----------------------------------------------------------------------

@contextlib.contextmanager
def silenced_condition_to_proto() -> Iterator[None]:
    """Inside the block, conditions convert to protos with their stdout swallowed.

    KerasTuner 1.4.8 left a `print` in `Parent.to_proto`. The patch is undone
    after the block, so KerasTuner is left unchanged for the rest of the process.
    """
    from keras_tuner.src.engine import conditions

    original = conditions.Parent.__dict__["to_proto"]

    def to_proto(self: Any) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return original(self)

    conditions.Parent.to_proto = to_proto
    try:
        yield
    finally:
        conditions.Parent.to_proto = original


def release_oracle_lock(oracle: keras_tuner.Oracle) -> None:
    """Frees the oracle's `synchronized` lock if this thread holds it (after an exception)."""
    from keras_tuner.src.engine import oracle as oracle_module

    if oracle_module.THREADS[oracle] == threading.current_thread().name:
        oracle_module.THREADS[oracle] = None
        oracle_module.LOCKS[oracle].release()


def oracle_servicer_class() -> type[Any]:
    """KerasTuner's gRPC servicer of the oracle (built with the oracle, which it keeps as `.oracle`)."""
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    return OracleServicer


def add_servicer_to_server(servicer: Any, server: Any) -> None:
    from keras_tuner.src import protos

    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)


def create_trial_response(trial: Trial) -> Any:
    from keras_tuner.src import protos

    return protos.get_service().CreateTrialResponse(trial=trial.to_proto())


def end_trial_response() -> Any:
    from keras_tuner.src import protos

    return protos.get_service().EndTrialResponse()


# -- Checks -----------------------------------------------------------------------------------

class KerasTunerInternalsError(AssertionError):
    """A private KerasTuner name kerasnas relies on is gone or has changed."""


def check(entry: PrivateName) -> None:
    """Verifies one `PrivateName` against the installed KerasTuner.

    Raises:
        KerasTunerInternalsError: naming the entry, the problem and the version.
    """
    try:
        owner = _resolve(entry.owner)
    except (ImportError, AttributeError) as error:
        _fail(entry, f"has no {entry.owner} ({error})")
    if entry.kind == "attribute":
        example = _example(owner)
        if not hasattr(example, entry.name):
            _fail(entry, f"builds {owner.__name__} without it")
        value, expected = getattr(example, entry.name), _value_type(entry)
        if not isinstance(value, expected):
            _fail(entry, f"makes it a {type(value).__name__}, not a {expected.__name__}")
        return
    if not hasattr(owner, entry.name):
        _fail(entry, "does not define it")
    member = inspect.getattr_static(owner, entry.name)
    if entry.kind == "property":
        if not isinstance(member, property):
            _fail(entry, "no longer makes it a property")
    elif entry.kind == "module attribute":
        expected = _value_type(entry)
        if not isinstance(member, expected):
            _fail(entry, f"makes it a {type(member).__name__}, not a {expected.__name__}")
    elif entry.kind == "message":
        fields = set(getattr(owner, entry.name).DESCRIPTOR.fields_by_name)
        if not set(entry.params or ()) <= fields:
            _fail(entry, f"gives it the fields {sorted(fields)}")
    elif entry.kind == "subclass":
        if not inspect.isclass(member):
            _fail(entry, "no longer makes it a class")
        _check_params(entry, _parameters(member.__init__), exact=False)
    elif entry.kind in ("override", "patch"):
        _check_params(entry, _parameters(getattr(owner, entry.name)), exact=True)
        if entry.by is not None:
            mine = [p.name for p in _parameters(getattr(_resolve(entry.by), entry.name))]
            if mine != list(entry.params or ()):
                _fail(entry, f"is overridden by {entry.by} taking ({', '.join(mine)})")
    elif entry.kind == "call":
        _check_params(entry, _parameters(getattr(owner, entry.name)), exact=False)
    else:
        raise ValueError(f"Unknown kind {entry.kind!r} of {entry.id}.")


def undeclared_overrides(cls: type) -> list[str]:
    """Private names a kerasnas class defines that a KerasTuner class it extends also defines.

    Each is an override, and must be declared in `PRIVATE_NAMES` (kind
    "override", `by` the kerasnas class defining it); else it is an accident.
    """
    declared = {(e.by, e.name) for e in PRIVATE_NAMES if e.kind == "override"}
    theirs = [c for c in cls.__mro__ if c.__module__.startswith("keras_tuner")]
    found = []
    for mine in cls.__mro__:
        if not mine.__module__.startswith("kerasnas"):
            continue
        for name in vars(mine):
            if (name.startswith("_") and not name.startswith("__")
                    and any(name in vars(c) for c in theirs)
                    and (f"{mine.__module__}.{mine.__qualname__}", name) not in declared):
                found.append(f"{mine.__qualname__}.{name}")
    return found


def undeclared_attributes(cls: type) -> list[str]:
    """Private attributes a kerasnas class sets on `self` that its KerasTuner base also sets.

    Each must be declared in `PRIVATE_NAMES` (kind "attribute") and set through
    this module; else kerasnas clobbers KerasTuner's attribute by accident.
    """
    declared = {e.name for e in PRIVATE_NAMES if e.kind == "attribute"}
    base = next(c for c in cls.__mro__ if c.__module__.startswith("keras_tuner"))
    theirs = set(vars(_example(base))) | {n for c in base.__mro__ for n in vars(c)}
    mine = set()
    for part in cls.__mro__:
        if part.__module__.startswith("kerasnas"):
            tree = ast.parse(textwrap.dedent(inspect.getsource(part)))
            mine |= {node.attr for node in ast.walk(tree)
                     if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                     and isinstance(node.value, ast.Name) and node.value.id == "self"}
    return sorted(name for name in mine
                  if name.startswith("_") and name in theirs and name not in declared)


def _resolve(path: str) -> Any:
    call = path.endswith("()")
    parts = path.removesuffix("()").split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = getattr(obj, part)
        return obj() if call else obj
    raise ImportError(f"No module named {parts[0]!r}")


def _example(cls: type[Any]) -> Any:
    """An instance of a KerasTuner class, for the attributes its constructor sets."""
    if issubclass(cls, keras_tuner.Oracle):
        return cls(objective="val_loss", max_trials=1)
    if issubclass(cls, oracle_servicer_class()):
        return cls(keras_tuner.Oracle(objective="val_loss", max_trials=1))
    raise ValueError(f"No example of {cls.__qualname__}: add one to _example.")


def _parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters of a function or method, `self` left out."""
    parameters = list(inspect.signature(function).parameters.values())
    return parameters[1:] if parameters[:1] and parameters[0].name == "self" else parameters


def _check_params(entry: PrivateName, parameters: list[inspect.Parameter], *, exact: bool) -> None:
    """`exact`: KerasTuner calls it, with exactly `entry.params`; else kerasnas calls it with them."""
    names, params = [p.name for p in parameters], entry.params or ()
    shown = f"takes ({', '.join(names)})"
    if names[:len(params)] != list(params):
        _fail(entry, shown)
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
           for p in parameters[:len(params)]):
        _fail(entry, f"{shown}, not all positional")
    rest = parameters[len(params):]
    if exact and rest:
        _fail(entry, shown)
    if any(p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in rest):
        _fail(entry, f"{shown}, more than kerasnas passes")


def _value_type(entry: PrivateName) -> type:
    """The type an "attribute" or "module attribute" entry expects."""
    if entry.value_type is None:
        raise ValueError(f"{entry.id}: an entry of kind {entry.kind!r} needs a `value_type`.")
    return entry.value_type


def _fail(entry: PrivateName, problem: str) -> NoReturn:
    params = "" if entry.params is None else f"({', '.join(entry.params)})"
    raise KerasTunerInternalsError(
        f"{entry.id}{params}: keras-tuner {keras_tuner.__version__} {problem}. kerasnas relies "
        f"on this private name ({entry.kind}; written against keras-tuner {TESTED_VERSION}): "
        f"adapt kerasnas/keras_tuner_internals.py, or install keras-tuner=={TESTED_VERSION}.")
