"""Synflow (Tanaka et al., NeurIPS 2020), as a zero-cost proxy (Abdelfattah et al., ICLR 2021).

The network is linearised: every weight replaced by its absolute value, an all-ones
input, R = the sum of the outputs; the score is the sum over the weights of
|theta * dR/dtheta|. It needs no data and no labels.

As the zero-cost proxies' reference code: float64 (R is a product over the layers and
overflows float32 in deep networks), BatchNorm removed. Deviations, for kerasnas'
models: the input normalisation layer (`Normalization` / `Rescaling`, the data's, not
the network's) is removed too, so the all-ones input enters the first convolution (a
normalised input of ones; otherwise negative values would switch every ReLU off); a
softmax output is replaced by its logits (the sum of a softmax is 1 whatever the
weights: a zero gradient); every trainable weight counts, biases included (the
reference counts convolution and dense kernels). The score is computed on a float64
copy; the model itself is not changed. On torch, Keras (3.15) computes Dense in float32:
scores agree with TensorFlow and JAX to about 1e-7 there.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from kerasnas.proxies._backend import float64, value_and_gradients

# Layers removed from the copy: BatchNorm (as the reference) and the input normalisation.
REMOVED = (layers.BatchNormalization, layers.Normalization, layers.Rescaling)


class _Removed(layers.Layer):
    """Stands for a removed layer: its input unchanged (exactly: torch's BatchNorm is float32)."""

    def call(self, x, training=None, mask=None):
        return x


class _GlobalMean(layers.GlobalAveragePooling2D):
    """Global average pooling as a sum over a count: Keras' `ops.mean` (3.15) rounds float64
    to float32 on JAX and torch, which would also overflow where float64 does not."""

    def call(self, inputs):
        axes = [1, 2] if self.data_format == "channels_last" else [2, 3]
        count = inputs.shape[axes[0]] * inputs.shape[axes[1]]
        return ops.sum(inputs, axis=axes, keepdims=self.keepdims) / count


def _float64_layer(layer):
    if isinstance(layer, REMOVED):
        return _Removed(name=layer.name, dtype="float64")
    config = layer.get_config()
    if type(layer) is layers.GlobalAveragePooling2D:
        return _GlobalMean.from_config({**config, "dtype": "float64"})
    if config.get("activation") == "softmax":
        config["activation"] = "linear"
    config["dtype"] = "float64"
    # The weights are copied in after: no random initialisation (on JAX, a compilation per shape).
    config.update({key: "zeros" for key in config if key.endswith("_initializer")})
    return type(layer).from_config(config)


def linearised_copy(model):
    """A float64 copy of `model`: |weights|, no BatchNorm or input normalisation, logits out.

    Call it inside `kerasnas.proxies._backend.float64()` (JAX keeps float64 only there).
    """
    twin = keras.models.clone_model(model, clone_function=_float64_layer)
    for layer in twin.layers:
        if not layer.weights:
            continue
        source = model.get_layer(layer.name)
        for target, weight in zip(layer.weights, source.weights, strict=True):
            value = ops.convert_to_numpy(weight.value).astype(np.float64)
            target.assign(np.abs(value) if weight.trainable else value)
    return twin


def synflow(model: keras.Model, input_shape: tuple[int, ...] | None = None) -> float:
    """The synflow score of `model` at its current weights (at initialisation, for a proxy).

    Args:
        model: A Keras functional or sequential model.
        input_shape: One input's shape, e.g. (28, 28, 1); default the model's.

    Returns:
        The score (inf if even float64 overflows).
    """
    shape = tuple(model.input_shape[1:] if input_shape is None else input_shape)
    with float64():
        twin = linearised_copy(model)
        ones = ops.ones((1, *shape), dtype="float64")
        _, grads = value_and_gradients(twin, ones, ops.sum)
        # On the host: one float64 sum, not an eager op per variable.
        return float(sum(np.abs(ops.convert_to_numpy(v.value) * ops.convert_to_numpy(g)).sum()
                         for v, g in zip(twin.trainable_variables, grads)))
