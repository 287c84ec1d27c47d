"""Data parallelism per backend: tf.distribute's MirroredStrategy on TensorFlow, Keras'
`DataParallel` on JAX, on several GPUs; one device elsewhere."""

import contextlib

from kerasnas.settings import STRATEGIES  # one list of names, no Keras there


def split_cpu(replicas=2):
    """Splits the CPU into `replicas` logical devices (before TensorFlow starts).

    Lets MirroredStrategy run with several replicas on a CPU-only machine (a
    functional check; it gives no speed-up).

    Raises:
        RuntimeError: when TensorFlow's runtime is already initialised.
    """
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError as e:
        raise RuntimeError(
            "Cannot split the CPU into logical devices once TensorFlow has started; "
            "call kerasnas.strategy.split_cpu() first thing in the process.") from e


def make_strategy(strategy="auto"):
    """Returns what to train under on Keras' backend, or None for one device.

    TensorFlow: a `tf.distribute.Strategy` (MirroredStrategy). JAX: Keras' own
    `keras.distribution.DataParallel`. PyTorch: one device (Keras' distribution
    API is JAX-only).

    Args:
        strategy: "auto" (data parallel when more than one GPU is visible, else
            one device), "default" (one device), "mirrored" (data parallel over
            all GPUs, or all logical CPU devices when there is no GPU), or a
            `tf.distribute.Strategy` / `keras.distribution.DataParallel` instance.

    Raises:
        ValueError: for an unknown name, or "mirrored" on the torch backend.
    """
    import keras

    if is_keras_distribution(strategy):
        return strategy
    backend = keras.backend.backend()
    if backend != "tensorflow":
        if strategy not in STRATEGIES:
            raise ValueError(f"Unknown strategy {strategy!r}; choose one of {STRATEGIES}.")
        if backend == "jax":
            return _jax_data_parallel(strategy)
        if strategy == "mirrored":
            raise ValueError(f"--strategy mirrored needs the tensorflow or jax backend; {backend} "
                             "trains on one device here (Keras' distribution API is JAX-only).")
        return None
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {STRATEGIES}.")
    gpus = tf.config.list_logical_devices("GPU")
    if strategy == "default" or (strategy == "auto" and len(gpus) < 2):
        return None
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def _jax_data_parallel(strategy):
    import keras

    devices = keras.distribution.list_devices()  # the default platform's: GPUs when there are
    on_gpu = not devices[0].lower().startswith("cpu")
    if strategy == "default" or (strategy == "auto" and (len(devices) < 2 or not on_gpu)):
        return None
    return keras.distribution.DataParallel(devices=devices)


def is_keras_distribution(obj):
    """True for a `keras.distribution` Distribution (not exported by Keras by that name)."""
    return type(obj).__module__.startswith("keras") and hasattr(obj, "device_mesh")


def describe(strategy):
    """A short text for reports: the strategy class and its replica count."""
    if strategy is None:
        return "default (1 replica)"
    if is_keras_distribution(strategy):
        return f"{type(strategy).__name__} ({strategy.device_mesh.devices.size} replicas)"
    return f"{type(strategy).__name__} ({strategy.num_replicas_in_sync} replicas)"


@contextlib.contextmanager
def released_custom_gradients():
    """Frees, on exit, the custom gradients TensorFlow registered inside the block.

    In graph mode `tf.custom_gradient` registers its gradient function in
    TensorFlow's global gradient registry and never removes it; the function
    holds the traced graph. Keras' optimizer step traces one per compiled
    train step (through `ReplicaContext.all_reduce`), so every trial's train
    and test graphs stayed alive after `clear_session()` and memory grew trial
    after trial (tensorflow/tensorflow#97697, keras-team/tf-keras#898; see
    reports/memory.md). An entry is only looked up while tracing the gradient
    of the graph that created it, and a retrace registers a new one, so
    dropping the entries made inside a finished trial is safe. Entries made
    before the block are left alone.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):  # TensorFlow changed its internals: leave it be
        yield
        return
    before = set(registry)
    try:
        yield
    finally:
        for name in [n for n in registry if n.startswith("CustomGradient-") and n not in before]:
            del registry[name]


@contextlib.contextmanager
def released_trial_memory():
    """What a trial leaves behind, freed when it ends: its custom gradients, then heap.

    Looked up at call time, so `benchmarks/memory.py` can swap out
    `released_custom_gradients` to measure without it.
    """
    try:
        with released_custom_gradients():
            yield
    finally:
        return_freed_memory()


def return_freed_memory():
    """Collects garbage and hands freed heap back to the OS (glibc only).

    A finished trial frees tens of MiB in pieces of many sizes; glibc keeps
    them in its arenas and resident memory creeps up trial after trial
    (reports/memory.md). `malloc_trim` returns them; elsewhere this only collects.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc
