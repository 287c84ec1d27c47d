"""Choosing Keras' backend (TensorFlow, JAX or PyTorch) before Keras is imported.

Keras reads `KERAS_BACKEND` once, when it is first imported, so the choice is
made by setting it first thing in the process (the CLI does, before any heavy
import). No Keras or TensorFlow import here.
"""

import os
import sys

from kerasnas.settings import BACKENDS  # one list; settings imports nothing heavy
DEVICE_FLAG = "--xla_force_host_platform_device_count"


def select(backend=None):
    """Makes `backend` the one Keras will use in this process.

    Args:
        backend: "tensorflow", "jax", "torch", or None (`KERAS_BACKEND` if set,
            else Keras' own choice: tensorflow unless ~/.keras/keras.json says otherwise).

    Returns:
        The backend name Keras uses, or will use once imported (None: Keras decides).

    Raises:
        ValueError: for an unknown name, or when Keras already runs on another
            backend in this process (it cannot switch once imported).
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; choose one of {BACKENDS}.")
    if "keras" in sys.modules:
        import keras

        current = keras.backend.backend()
        if backend is not None and backend != current:
            raise ValueError(f"Keras already runs on {current} in this process; set "
                             f"KERAS_BACKEND={backend} before importing keras (the CLI's "
                             "--backend does), or run it in a new process.")
        return current
    if backend is not None:
        os.environ["KERAS_BACKEND"] = backend
    return os.environ.get("KERAS_BACKEND")


def split_host_devices(replicas=2):
    """JAX on CPU: `replicas` host devices, for a data-parallel check without GPUs.

    XLA reads the flag when JAX starts, so this must run before JAX is imported.

    Raises:
        RuntimeError: when JAX is already imported.
    """
    if "jax" in sys.modules:
        raise RuntimeError("Cannot split the CPU into JAX devices once JAX is imported; call "
                           "kerasnas.backends.split_host_devices() first thing in the process.")
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(DEVICE_FLAG)]
    os.environ["XLA_FLAGS"] = " ".join([*flags, f"{DEVICE_FLAG}={replicas}"])
