"""The controls every proxy must beat: parameter count and multiply-accumulates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

from kerasnas.layers import estimate_flops

if TYPE_CHECKING:
    import keras


def params(model: keras.Model) -> float:
    """Trainable parameters (BatchNorm's moving statistics left out, unlike `count_params()`)."""
    return float(sum(math.prod(v.shape) for v in model.trainable_weights))


def flops(model: keras.Model) -> float:
    """Multiply-accumulates of one image's forward pass (`kerasnas.layers.estimate_flops`)."""
    return float(estimate_flops(model))
