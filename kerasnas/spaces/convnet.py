"""The plain convolutional space: the plain CNN's family, for small and fast models."""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner
from keras import layers
from keras_tuner.engine import hyperparameters as hp_types

from kerasnas.layers import batch_norm
from kerasnas.spaces._common import SpaceBase
from kerasnas.spaces._knobs import Knob, check_knob, tune, upper

HEADS = ("flatten", "pool")


class ConvNetSpace(SpaceBase, keras_tuner.HyperModel):
    """Plain convolutional networks: blocks of convolutions, each ending in a 2x2 max-pool,
    then a dense classifier.

    No shortcuts and, unless searched in, no BatchNorm: at batch 1 on a CPU a
    model's latency is mostly a fixed cost per operation, and a convolution with
    its bias and ReLU is one operation where a residual, batch-normalised block is
    several (`reports/pareto.md`). This is the space to search when size and
    latency matter (`--objectives accuracy,params,latency`). Block i has
    `filters * 2**i` filters; every block halves the resolution. Every knob takes
    a fixed value, a `keras_tuner` hyperparameter, or None for the tuned default.

    Input limits: 1 or 3 channels; sides from 2 * 2**blocks (16 with the default
    up to 3 blocks) to 512.

    Args:
        input_shape: (height, width, channels) of the images.
        num_classes: Number of classes.
        filters: Filters of the first block. Default Choice 8/16/24/32/48.
        blocks: Number of blocks, 1-4. Default Int 1..3.
        convs_per_block: Convolutions in each block. Default Int 1..2.
        kernel_size: 3 or 5. Default Choice.
        batch_norm: BatchNorm after each convolution (before its ReLU). Default Boolean.
        head: "flatten" (a dense layer over every position of the last map, as
            the plain CNN) or "pool" (global average pooling). Default Choice.
        dense_units: Hidden units before the softmax; 0 for none. Default Choice 0/32/64/128.
        dropout: Dropout before the classifier's dense layers, in [0, 1). Default
            Float 0..0.5.
        optimizer: "adam" or "sgd" (SGD adds a conditional `momentum`).
        learning_rate: Default log-uniform Float per optimizer, as every space's.
        name: The HyperModel name.
    """

    def __init__(self, *, input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10,
                 filters: Knob[int] = None, blocks: Knob[int] = None,
                 convs_per_block: Knob[int] = None, kernel_size: Knob[int] = None,
                 batch_norm: Knob[bool] = None, head: Knob[str] = None,
                 dense_units: Knob[int] = None, dropout: Knob[float] = None,
                 optimizer: Knob[str] = None, learning_rate: Knob[float] = None,
                 name: str = "convnet"):
        keras_tuner.HyperModel.__init__(self, name=name)
        self._init_common(input_shape=input_shape, num_classes=num_classes,
                          optimizer=optimizer, learning_rate=learning_rate)
        positive = lambda v: isinstance(v, int) and v >= 1  # noqa: E731
        check_knob("filters", filters, positive, "an int >= 1")
        check_knob("blocks", blocks, lambda v: isinstance(v, int) and 1 <= v <= 4, "an int in 1..4")
        check_knob("convs_per_block", convs_per_block, positive, "an int >= 1")
        check_knob("kernel_size", kernel_size, lambda v: v in (1, 3, 5, 7), "1, 3, 5 or 7")
        check_knob("batch_norm", batch_norm, lambda v: isinstance(v, bool), "True or False")
        check_knob("head", head, lambda v: v in HEADS, f"one of {HEADS}")
        check_knob("dense_units", dense_units, lambda v: isinstance(v, int) and v >= 0,
                   "an int >= 0")
        check_knob("dropout", dropout, lambda v: 0 <= v < 1, "a float in [0, 1)")
        self.filters = filters
        self.blocks = blocks
        self.convs_per_block = convs_per_block
        self.kernel_size = kernel_size
        self.batch_norm = batch_norm
        self.head = head
        self.dense_units = dense_units
        self.dropout = dropout

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        inputs = keras.Input(self.input_shape)
        filters = tune(hp, "filters", self.filters, hp_types.Choice("f", [8, 16, 24, 32, 48],
                                                                    default=16))
        blocks = tune(hp, "blocks", self.blocks, hp_types.Int("b", 1, 3, default=2))
        convs = tune(hp, "convs_per_block", self.convs_per_block, hp_types.Int("c", 1, 2, default=1))
        kernel = tune(hp, "kernel_size", self.kernel_size, hp_types.Choice("k", [3, 5], default=3))
        normed = tune(hp, "batch_norm", self.batch_norm, hp_types.Boolean("n", default=False))
        head = tune(hp, "head", self.head, hp_types.Choice("h", list(HEADS), default="flatten"))
        units = tune(hp, "dense_units", self.dense_units, hp_types.Choice("u", [0, 32, 64, 128],
                                                                          default=64))
        dropout = tune(hp, "dropout", self.dropout, hp_types.Float("d", 0.0, 0.5, step=0.1,
                                                                   default=0.2))
        x = self.preprocess(inputs)
        for block in range(blocks):
            for _ in range(convs):
                width = filters * 2**block
                if normed:  # no bias before BatchNorm: its shift replaces it
                    x = layers.Conv2D(width, kernel, padding="same", use_bias=False)(x)
                    x = layers.ReLU()(batch_norm()(x))
                else:  # one fused operation with its bias and ReLU
                    x = layers.Conv2D(width, kernel, padding="same", activation="relu")(x)
            x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x) if head == "flatten" else layers.GlobalAveragePooling2D()(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
        if units:
            x = layers.Dense(units, activation="relu")(x)
        # float32 under mixed precision too: a stable softmax, float32 probabilities out.
        outputs = layers.Dense(self.num_classes, activation="softmax", dtype="float32")(x)
        return self.compile(hp, keras.Model(inputs, outputs, name=self.name))

    def hand_designed(self) -> list[dict[str, Any]]:
        """Keras' "Simple MNIST convnet" example (keras.io/examples/vision/mnist_convnet): two
        pooled 3x3 convolutions of 32 and 64 filters, flatten, dropout 0.5, softmax."""
        design = {"filters": 32, "blocks": 2, "convs_per_block": 1, "kernel_size": 3,
                  "batch_norm": False, "head": "flatten", "dense_units": 0, "dropout": 0.5}
        return [{**self.searched(design), **self.hand_designed_training()}]

    def max_reductions(self) -> int:
        return upper(self.blocks, hp_types.Int("b", 1, 3))

    def describe(self, values: dict[str, Any]) -> str:
        def get(k: str) -> Any:
            return values.get(k, getattr(self, k))

        if get("blocks") is None:
            return ""
        convs = f"{get('blocks')}x{get('convs_per_block')}"
        norm = " bn" if get("batch_norm") else ""
        units = get("dense_units")
        return (f"f{get('filters')} {convs} k{get('kernel_size')}{norm} {get('head')}"
                + (f" d{units}" if units else ""))
