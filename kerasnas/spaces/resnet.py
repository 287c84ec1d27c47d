"""The ResNet search space (the study's experiment 3), as a KerasTuner HyperModel."""

from __future__ import annotations

from typing import Any, Callable

import keras
import keras_tuner
from keras import layers
from keras_tuner.engine import hyperparameters as hp_types

from kerasnas.layers import basic_block, bottleneck_block, classifier_head, conv_bn_relu
from kerasnas.spaces._common import SpaceBase
from kerasnas.spaces._knobs import Knob, check_knob, tune, upper

BLOCK_TYPES = ("basic", "bottleneck")


class ResNetSpace(SpaceBase, keras_tuner.HyperModel):
    """Residual networks: a stem, stages of residual blocks, a pooled classifier.

    Stage i has `stem_width * 2**i` filters; every stage after the first halves
    the resolution (28 -> 14 -> 7 for Fashion-MNIST). Every knob takes a fixed
    value, a `keras_tuner` hyperparameter, or None for the tuned default. The
    default ranges keep a 3-epoch trial on 50k images within minutes on 2 CPU
    cores (a 48-wide network with 3 blocks per stage had not finished 3 epochs
    after 21 minutes there);
    widen them with your own hyperparameters on a GPU.

    Input limits: 1 or 3 channels; sides from 2 * 2**(stages - 1) (8 with the
    default 2..3 stages, 16 with 4) to 512; smaller images are refused with
    the fix (resize, or fewer stages).

    Args:
        input_shape: (height, width, channels) of the images.
        num_classes: Number of classes.
        stem_width: Filters of the stem and the first stage. Default Choice 16/24/32/48.
        stem_pool: Max-pool 2x2 after the stem, so the stages run at 14 -> 7 (-> 4)
            on 28x28 images. Default True: on 5k images x 1 epoch it trained in
            about half the time and reached 77.1 % instead of 74.7 % validation
            accuracy (3 seeds, `reports/recipes.md`).
        stages: Number of stages, 1-4. Default Int 2..3 (one stage at 28x28 is slow and weak).
        blocks_per_stage: Residual blocks in each stage. Default Int 1..2.
        block_type: "basic" or "bottleneck". Default "basic": a bottleneck's inner
            width is a quarter of the stage's, too narrow at these widths (42.4 %
            against 50.4 % for basic blocks after 1 epoch, `reports/recipes.md`);
            pass a Choice to search both.
        kernel_size: 3 or 5. Default Choice.
        dropout: Dropout before the classifier, in [0, 1). Default Float 0..0.5.
        optimizer: "adam" or "sgd" (SGD adds a conditional `momentum`).
        learning_rate: Default log-uniform Float per optimizer: Adam 5e-4..1e-2,
            SGD 3e-3..0.3 (`sgd_learning_rate` while the optimizer is searched).
        name: The HyperModel name.
    """

    def __init__(self, *, input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10,
                 stem_width: Knob[int] = None, stem_pool: Knob[bool] = None,
                 stages: Knob[int] = None, blocks_per_stage: Knob[int] = None,
                 block_type: Knob[str] = None, kernel_size: Knob[int] = None,
                 dropout: Knob[float] = None, optimizer: Knob[str] = None,
                 learning_rate: Knob[float] = None, name: str = "resnet"):
        keras_tuner.HyperModel.__init__(self, name=name)
        self._init_common(input_shape=input_shape, num_classes=num_classes,
                          optimizer=optimizer, learning_rate=learning_rate)
        positive = lambda v: isinstance(v, int) and v >= 1  # noqa: E731
        check_knob("stem_width", stem_width, positive, "an int >= 1")
        check_knob("stem_pool", stem_pool, lambda v: isinstance(v, bool), "True or False")
        check_knob("stages", stages, lambda v: isinstance(v, int) and 1 <= v <= 4, "an int in 1..4")
        check_knob("blocks_per_stage", blocks_per_stage, positive, "an int >= 1")
        check_knob("block_type", block_type, lambda v: v in BLOCK_TYPES, f"one of {BLOCK_TYPES}")
        check_knob("kernel_size", kernel_size, lambda v: v in (1, 3, 5, 7), "1, 3, 5 or 7")
        check_knob("dropout", dropout, lambda v: 0 <= v < 1, "a float in [0, 1)")
        self.stem_width = stem_width
        self.stem_pool = stem_pool
        self.stages = stages
        self.blocks_per_stage = blocks_per_stage
        self.block_type = block_type
        self.kernel_size = kernel_size
        self.dropout = dropout

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        inputs = keras.Input(self.input_shape)
        x, dropout = self.features(hp, self.preprocess(inputs))
        outputs = classifier_head(x, self.num_classes, dropout)
        model = keras.Model(inputs, outputs, name=self.name)
        return self.compile(hp, model)

    def features(self, hp: keras_tuner.HyperParameters,
                 x: keras.KerasTensor) -> tuple[keras.KerasTensor, float]:
        """The searched body on `x`, stem to last stage; returns it and the head's dropout.

        Apart from `build` so that a framework with its own head and training (the
        AutoKeras block of benchmarks/compare.py) searches exactly this space.
        """
        stem = tune(hp, "stem_width", self.stem_width, hp_types.Choice("w", [16, 24, 32, 48], default=32))
        pool = tune(hp, "stem_pool", self.stem_pool, True)
        stages = tune(hp, "stages", self.stages, hp_types.Int("s", 2, 3, default=2))
        blocks = tune(hp, "blocks_per_stage", self.blocks_per_stage, hp_types.Int("b", 1, 2, default=1))
        kind = tune(hp, "block_type", self.block_type, "basic")
        kernel = tune(hp, "kernel_size", self.kernel_size, hp_types.Choice("k", [3, 5], default=3))
        dropout = tune(hp, "dropout", self.dropout, hp_types.Float("d", 0.0, 0.5, step=0.1, default=0.0))
        block: Callable[..., keras.KerasTensor] = basic_block if kind == "basic" else bottleneck_block

        x = conv_bn_relu(x, stem, 3)
        if pool:
            x = layers.MaxPooling2D()(x)
        for stage in range(stages):
            for i in range(blocks):
                strides = 2 if stage > 0 and i == 0 else 1
                x = block(x, stem * 2**stage, strides=strides, kernel_size=kernel)
        return x, dropout

    def hand_designed(self) -> list[dict[str, Any]]:
        """A ResNet as one would write it for 28x28 images: a 32-wide pooled stem,
        2 stages of 2 basic 3x3 blocks (ResNet-10-like), light dropout, Adam."""
        design = {"stem_width": 32, "stem_pool": True, "stages": 2, "blocks_per_stage": 2,
                  "block_type": "basic", "kernel_size": 3, "dropout": 0.1}
        return [{**self.searched(design), **self.hand_designed_training()}]

    def max_reductions(self) -> int:
        pooled = self.stem_pool is not False  # the default pools after the stem
        return upper(self.stages, hp_types.Int("s", 2, 3)) - 1 + pooled

    def describe(self, values: dict[str, Any]) -> str:
        v = values
        if "stages" not in v and self.stages is None:
            return ""
        defaults = {"block_type": "basic", "stem_pool": True}

        def get(k: str) -> Any:
            value = v.get(k, getattr(self, k))
            return defaults.get(k) if value is None else value

        return (f"{get('block_type')} w{get('stem_width')}{'p' if get('stem_pool') else ''} "
                f"{get('stages')}x{get('blocks_per_stage')} k{get('kernel_size')}")
