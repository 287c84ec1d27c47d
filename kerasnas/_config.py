"""`get_config()` for spaces, oracles, schedules and stoppers: JSON-safe, for run.json.

As Keras layers and AutoKeras blocks do, so a run can store a space's or an
oracle's configuration in run.json and refuse a resume with another one.
No Keras import at module level: `kerasnas.settings` (read by the CLI) uses it.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Protocol, runtime_checkable

SKIPPED = ("self", "hyperparameters")  # an oracle's space comes from the hypermodel
PLAIN = (str, int, float, bool, type(None))


@runtime_checkable
class Configurable(Protocol):
    """An object that returns its configuration (as Keras layers and AutoKeras blocks do).

    kerasnas records a space's `get_config()` in run.json (`space_config`) and
    refuses a resume with another one; without it, it records the constructor's
    arguments kept as attributes (`kerasnas._config.config_of`). A class with a
    `from_config(config)` class method should rebuild an equal object from it.
    """

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-serialisable."""


class Configured:
    """Base of objects configured by their constructor's arguments (stoppers, schedules):
    `get_config()` for run.json, and a `repr` that shows it."""

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (recorded in run.json)."""
        return config_of(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def get_config(obj):
    """An object's `get_config()`, else its constructor arguments (`config_of`), JSON-safe."""
    config = obj.get_config() if isinstance(obj, Configurable) else config_of(obj)
    return json.loads(json.dumps(config, default=str))


def config_of(obj, skip=()):
    """The keyword arguments of every `__init__` in `type(obj)`'s MRO kept as attributes.

    Args:
        obj: A space or an oracle that stores its arguments under their names.
        skip: Argument names left out.

    Returns:
        A dict from argument name to a JSON-safe value.
    """
    config = {}
    for cls in type(obj).__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if (name in SKIPPED or name in skip or name in config
                    or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL)):
                continue
            if hasattr(obj, name):
                config[name] = to_json(getattr(obj, name))
    return config


def to_json(value):
    """A JSON-safe form: hyperparameters by class and config, functions by qualified name,
    other objects with a `get_config()` (schedules, stoppers) by class path and config."""
    if isinstance(value, PLAIN):
        return value
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    from keras_tuner.engine import hyperparameters as hp_module  # only for an object

    if isinstance(value, hp_module.HyperParameter):
        return {"class_name": type(value).__name__, "config": to_json(value.get_config())}
    if hasattr(value, "name") and hasattr(value, "direction"):  # keras_tuner.Objective
        return {"name": value.name, "direction": value.direction}
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    if not isinstance(value, type) and isinstance(value, Configurable):
        return {"class": class_path(value), "config": to_json(value.get_config())}
    return json.loads(json.dumps(value, default=str))


def from_registry(value: Any, registry: dict[str, type], base: type, setting: str) -> Any:
    """`value` itself when it is a `base` object, else a new one of the class its name registers.

    The one way a setting given by name or as an object (stoppers, schedules) is resolved.

    Raises:
        ValueError: for anything else, naming the setting and listing the valid names.
    """
    if isinstance(value, base):
        return value
    if isinstance(value, str) and value in registry:
        return registry[value]()
    raise ValueError(f"Unknown {setting} {value!r}. Choose one of: {', '.join(registry)}, "
                     f"or pass a {base.__module__}.{base.__qualname__}.")


def class_path(obj):
    """`module.QualName` of an object's class."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"
