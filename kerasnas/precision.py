"""Mixed precision for trials and final training: Keras' dtype policy, set for one block."""

import contextlib

from kerasnas.settings import PRECISIONS  # one list of names, no Keras there


def check_precision(name):
    """Raises ValueError for a name that is not in `PRECISIONS`, listing them."""
    if name not in PRECISIONS:
        raise ValueError(f"Unknown precision {name!r}. Choose one of: {', '.join(PRECISIONS)}.")


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy set to `name` inside the block, restored after it.

    Models built inside compute in 16 bits (variables stay float32); their
    classifier stays float32 (`kerasnas.layers.classifier_head`), so they
    output float32 probabilities, saved models included. With `mixed_float16`,
    Keras wraps the optimizer in a `LossScaleOptimizer` when compiling.

    Args:
        name: One of `PRECISIONS`.
    """
    import keras

    check_precision(name)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
