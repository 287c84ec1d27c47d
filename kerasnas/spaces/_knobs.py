"""Knobs: every setting of a space takes a fixed value, a hyperparameter or None.

As in AutoKeras blocks, a user pins a knob with a plain value, searches it with
their own `keras_tuner` hyperparameter, or leaves it `None` for our tuned default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union

from keras_tuner.engine import hyperparameters as hp_types

if TYPE_CHECKING:
    import keras_tuner

T = TypeVar("T")
# A knob: a fixed value, a `keras_tuner` hyperparameter, or None for the tuned default.
Knob = Union[T, "hp_types.HyperParameter", None]


def tune(hp: keras_tuner.HyperParameters, name: str, value: Any, default: Any) -> Any:
    """Resolves one knob inside `HyperModel.build`.

    Args:
        hp: The `keras_tuner.HyperParameters` of the trial.
        name: The name the knob takes in the search space (and results table).
        value: A fixed value (returned as is), a `keras_tuner` hyperparameter
            (registered under `name`, keeping its range), or None.
        default: The hyperparameter used when `value` is None.

    Returns:
        The knob's value for this trial (None when inactive in a conditional
        scope).
    """
    if value is None:
        value = default
    if not isinstance(value, hp_types.HyperParameter):
        return value
    config = value.get_config()
    config.pop("conditions", None)
    config["name"] = name
    # Calling hp.Choice/hp.Int/... registers in the current conditional scope.
    return getattr(hp, type(value).__name__)(**config)


def check_knob(name: str, value: Any, is_valid: Callable[[Any], bool], expected: str) -> None:
    """Validates a fixed knob value at construction time.

    Hyperparameters and None pass: their ranges are checked by KerasTuner.

    Raises:
        ValueError: naming the knob, the value and what was expected.
    """
    if value is None or isinstance(value, hp_types.HyperParameter):
        return
    if not is_valid(value):
        raise ValueError(
            f"Invalid value for `{name}`: {value!r}. Expected {expected}, "
            "a keras_tuner hyperparameter, or None for the tuned default."
        )


def upper(value: Any, default: Any) -> Any:
    """The largest value a knob can take: a fixed value, a hyperparameter's top, or `default`'s."""
    value = default if value is None else value
    if isinstance(value, hp_types.Choice):
        return max(value.values)
    if isinstance(value, hp_types.Fixed):
        return value.value
    if isinstance(value, hp_types.HyperParameter):
        return value.max_value
    return value
