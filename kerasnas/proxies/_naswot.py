"""NASWOT (Mellor et al., ICML 2021, "Neural Architecture Search without Training").

The score of an untrained network on a minibatch is log|K_H|, where K_H[i, j] is the
number of ReLU units that image i and image j switch the same way (on or off): N_A
minus the Hamming distance of their binary activation codes. Networks that tell the
images apart at initialisation (codes far apart, a well-conditioned K_H) train better.

As the authors' code: codes from every ReLU's output (on: > 0) in training mode
(BatchNorm normalises with the batch's statistics), K_H = C C^T + (1 - C)(1 - C)^T
summed over the ReLU layers, score = log-determinant.

Deviations: the ReLUs are the `keras.layers.ReLU` layers and the layers whose
activation is `relu` (all the kerasnas spaces use; a ReLU applied inside a custom
layer's `call` is not seen); each layer's kernel is computed in float32 (exact while
a layer has fewer than 2**24 units) and summed in float64; a singular K_H (two images
with the same codes, or every ReLU dead) scores -inf instead of a NaN or an error.
The model's variables are not changed (a stateless call: BatchNorm's moving
statistics stay as they were).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from kerasnas.proxies._backend import compiled


def relu_layers(model):
    """The layers of `model` whose outputs are ReLU activations, in graph order."""
    return [layer for layer in model.layers
            if isinstance(layer, layers.ReLU)
            or getattr(layer, "activation", None) is keras.activations.relu]


def activation_kernel(model, images):
    """K_H of `images` (float64, batch x batch): images pairwise, units switched alike.

    Raises:
        ValueError: for fewer than 2 images, or a model without ReLU layers.
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim < 2 or len(images) < 2:
        raise ValueError(f"Received: images of shape {images.shape}; allowed: a batch of at "
                         "least 2 images (the paper uses 128).")
    relus = relu_layers(model)
    if not relus:
        raise ValueError(f"Received: model={model.name!r} with no ReLU layer; allowed: models "
                         "with keras.layers.ReLU layers or layers with activation='relu'.")
    probe = keras.Model(model.inputs, [layer.output for layer in relus])
    forward = compiled(lambda trainable, frozen, x: probe.stateless_call(
        trainable, frozen, x, training=True)[0])
    outputs = forward([v.value for v in probe.trainable_variables],
                      [v.value for v in probe.non_trainable_variables], ops.convert_to_tensor(images))
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    n = len(images)
    kernel = np.zeros((n, n))
    for output in outputs:
        on = ops.cast(ops.reshape(output, (n, -1)) > 0, "float32")
        off = 1.0 - on
        same = ops.matmul(on, ops.transpose(on)) + ops.matmul(off, ops.transpose(off))
        kernel += ops.convert_to_numpy(same).astype(np.float64)
    return kernel


def naswot(model: keras.Model, images: np.ndarray) -> float:
    """log|K_H| of the untrained `model` on `images` (raw pixels, as the model takes them).

    Returns:
        The log-determinant; -inf when K_H is singular.
    """
    sign, logdet = np.linalg.slogdet(activation_kernel(model, images))
    # K_H is a sum of Gram matrices (positive semi-definite): sign <= 0 means singular.
    return float(logdet) if sign > 0 else float("-inf")
