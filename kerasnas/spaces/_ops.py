"""Cell operations: registries of name -> builder(x, channels), keras.layers / keras.ops only.

Every builder keeps the spatial size (stride 1, "same" padding) and returns
`channels` feature maps, so a cell can sum or concatenate any of them. A user
changes a space's operation set by passing another dict of such builders.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import layers, ops

from kerasnas.layers import batch_norm, relu_conv_bn

# An operation: `fn(x, channels)` returns `channels` feature maps at `x`'s resolution.
Operation = Callable[[keras.KerasTensor, int], keras.KerasTensor]


@keras.saving.register_keras_serializable(package="kerasnas")
class Zero(layers.Layer):
    """Zeros of the input's shape with `channels` maps (the reference `Zero`: `x.mul(0.)`).

    A registered layer rather than a Lambda, so saved models load in safe mode.
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def call(self, x):
        if x.shape[-1] == self.channels:
            return x * 0.0
        return ops.zeros_like(x[..., :1]) * ops.zeros((self.channels,), dtype=x.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def zero(x, channels):
    """`none`: contributes nothing (zeros), as in the reference code (`x.mul(0.)`).

    At the input's width it is Keras' own `Rescaling(0)`, so a saved model loads without
    kerasnas; only a change of width needs the registered `Zero` (kept, too, for models
    saved before).
    """
    if x.shape[-1] == channels:
        return layers.Rescaling(0.0)(x)
    return Zero(channels)(x)


def identity(x, channels):
    """`skip_connect` / `identity`; a 1x1 ReLU-Conv-BN when the width changes."""
    if x.shape[-1] == channels:
        return x
    return relu_conv_bn(x, channels, 1)


def _pool(kind):
    pool = layers.AveragePooling2D if kind == "avg" else layers.MaxPooling2D

    def build(x, channels):
        # As the reference POOLING: a 1x1 ReLU-Conv-BN first only if the width changes.
        # Keras "same" average pooling ignores the padding (count_include_pad=False).
        if x.shape[-1] != channels:
            x = relu_conv_bn(x, channels, 1)
        return pool(3, strides=1, padding="same")(x)

    return build


def _conv(kernel_size, dilation_rate=1):
    def build(x, channels):
        return relu_conv_bn(x, channels, kernel_size, dilation_rate=dilation_rate)

    return build


def _sep_conv(kernel_size, dilation_rate=1, repeats=1):
    def build(x, channels):
        # DARTS repeats ReLU-SepConv-BN twice for sep_conv and once for dil_conv;
        # we use one pass for both, to keep the CPU budget (noted deviation).
        for _ in range(repeats):
            x = layers.ReLU()(x)
            x = layers.SeparableConv2D(channels, kernel_size, padding="same",
                                       dilation_rate=dilation_rate, use_bias=False)(x)
            x = batch_norm()(x)
        return x

    return build


# NAS-Bench-201 (Dong & Yang, ICLR 2020), order as in the benchmark's op list.
NB201_OPS = {
    "none": zero,
    "skip_connect": identity,
    "nor_conv_1x1": _conv(1),
    "nor_conv_3x3": _conv(3),
    "avg_pool_3x3": _pool("avg"),
}

# The custom cell space's default set (DARTS-like names).
CELL_OPS = {
    "sep_conv_3x3": _sep_conv(3),
    "sep_conv_5x5": _sep_conv(5),
    "dil_conv_3x3": _sep_conv(3, dilation_rate=2),
    "conv_3x3": _conv(3),
    "max_pool_3x3": _pool("max"),
    "avg_pool_3x3": _pool("avg"),
    "identity": identity,
}


def check_operations(operations: Any, name: str = "operations") -> None:
    """Validates an operations registry: a non-empty dict of str -> callable."""
    if not isinstance(operations, dict) or not operations or not all(
        isinstance(k, str) and callable(v) for k, v in operations.items()
    ):
        raise ValueError(
            f"`{name}` must be a non-empty dict mapping operation names to "
            f"builders `fn(x, channels)`; got {operations!r}."
        )


def nb201_reduction(x: keras.KerasTensor, channels: int) -> keras.KerasTensor:
    """The reference `ResNetBasicblock` with stride 2 between NAS-Bench-201 stages.

    ReLU-Conv3x3(stride 2)-BN, ReLU-Conv3x3-BN, plus a shortcut AvgPool 2x2
    stride 2 then Conv1x1 (no BN); summed, with no final ReLU.

    Keras "same" padding of the stride-2 conv pads one row/column at the end
    (PyTorch's padding=1 pads both sides): same output size, grid shifted by one.
    """
    y = relu_conv_bn(x, channels, 3, strides=2)
    y = relu_conv_bn(y, channels, 3)
    # "same" only matters for odd sizes (7 -> 4), where the reference's valid
    # pooling would not match the strided conv; even sizes are unchanged.
    shortcut = layers.AveragePooling2D(2, strides=2, padding="same")(x)
    shortcut = layers.Conv2D(channels, 1, use_bias=False)(shortcut)
    return layers.Add()([shortcut, y])
