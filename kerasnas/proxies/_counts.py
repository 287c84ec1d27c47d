"""The controls every proxy must beat: parameter count and multiply-accumulates."""

import math

from kerasnas.layers import estimate_flops


def params(model) -> float:
    """Trainable parameters (BatchNorm's moving statistics left out, unlike `count_params()`)."""
    return float(sum(math.prod(v.shape) for v in model.trainable_weights))


def flops(model) -> float:
    """Multiply-accumulates of one image's forward pass (`kerasnas.layers.estimate_flops`)."""
    return float(estimate_flops(model))
