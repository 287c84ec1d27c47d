"""Gradients and float64 on the running Keras backend: the proxies' only backend-specific code.

Everything else in `kerasnas.proxies` is `keras.ops`. Keras 3 has no backend-neutral
gradient, so this module asks each backend's own autodiff (TensorFlow's GradientTape,
`jax.value_and_grad`, torch autograd) for the gradient of a model's stateless call.
"""

import contextlib

import keras

BACKENDS = ("tensorflow", "jax", "torch")


def _backend():
    name = keras.backend.backend()
    if name not in BACKENDS:
        raise ValueError(f"Received: backend={name!r}; allowed: {', '.join(BACKENDS)}.")
    return name


@contextlib.contextmanager
def float64():
    """A context in which float64 tensors stay float64 (JAX truncates them to float32 otherwise)."""
    if _backend() == "jax":
        import jax

        with jax.enable_x64(True):
            yield
    else:
        yield


def compiled(fn):
    """`fn` compiled whole on JAX (eager JAX compiles op by op: a minute a model)."""
    if _backend() == "jax":
        import jax

        return jax.jit(fn)
    return fn


def value_and_gradients(model, inputs, reduce):
    """`R = reduce(model(inputs))` in inference mode, and dR/dv for every trainable variable.

    Stateless (`model.stateless_call`): the model's variables are read, never changed.

    Args:
        model: A built Keras model.
        inputs: Its input tensor.
        reduce: `keras.ops` function from the model's output to a scalar.

    Returns:
        (R, gradients): R a scalar tensor, gradients a list in the order of
        `model.trainable_variables` (zeros for a variable R does not depend on).
    """
    backend = _backend()
    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]

    def objective(values):
        outputs, _ = model.stateless_call(values, frozen, inputs, training=False)
        return reduce(outputs)

    if backend == "tensorflow":
        import tensorflow as tf

        trainable = [tf.convert_to_tensor(v) for v in trainable]
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            value = objective(trainable)
        grads = tape.gradient(value, trainable)
    elif backend == "jax":
        import jax

        value, grads = jax.jit(jax.value_and_grad(objective))(trainable)
    else:
        import torch

        leaves = [v.detach().requires_grad_(True) for v in trainable]
        value = objective(leaves)
        grads = torch.autograd.grad(value, leaves, allow_unused=True)
        value = value.detach()
    grads = [keras.ops.zeros_like(v) if g is None else g for v, g in zip(trainable, grads)]
    return value, grads
