"""Every space builds and trains on 28x28x1, 32x32x3 and a non-square size, and refuses
shapes outside its limits with the fix."""

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas.spaces import get_space

TINY = {"resnet": {"stem_width": 4, "stages": 2, "blocks_per_stage": 1, "block_type": "basic"},
        "nasbench201": {"channels": 4, "cells_per_stage": 1},
        "custom": {"stem_width": 4, "cells_per_stage": 1, "reductions": 2}}
SHAPES = [(28, 28, 1), (32, 32, 3), (24, 40, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", sorted(TINY))
def test_space_builds_and_trains_on_the_data_shape(name, shape):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, *shape), dtype=np.uint8)
    y = np.arange(8) % 4
    space = get_space(name, **TINY[name]).for_data(
        input_shape=shape, num_classes=4, mean=[100.0] * shape[-1], variance=[900.0] * shape[-1])
    model = space.build(keras_tuner.HyperParameters())
    assert model.input_shape == (None, *shape) and model.output_shape == (None, 4)
    norm = model.layers[1]
    assert type(norm).__name__ == "Normalization"
    assert np.allclose(norm(np.full((1, *shape), 130.0, "float32")), 1.0)  # (130 - 100) / 30
    model.run_eagerly = True  # two steps: tracing the training graph costs seconds per model on a CPU
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("name, options, shape, words", [
    # The default max-pools after the stem: one reduction more than its stages.
    ("resnet", {}, (15, 15, 1), "15x15 images are too small: up to 3 reductions (halvings) need at least 16x16"),
    ("resnet", {"stages": 4, "stem_pool": False}, (8, 8, 3),
     "up to 3 reductions (halvings) need at least 16x16"),
    ("nasbench201", {}, (28, 6, 1), "28x6 images are too small"),
    ("custom", {"reductions": 3}, (12, 16, 1), "need at least 16x16"),
    ("custom", {}, (600, 32, 3), "larger than the 512x512"),
    ("nasbench201", {}, (32, 32, 4), "4 channels; expected 1 (grayscale) or 3 (RGB)"),
    ("custom", {}, (32, 32), "(height, width, channels)"),
])
def test_space_refuses_shapes_outside_its_limits(name, options, shape, words):
    space = get_space(name, **options)
    with pytest.raises(ValueError) as e:
        space.for_data(input_shape=shape, num_classes=3, mean=[0.0], variance=[1.0])
    assert words in str(e.value)


def test_the_smallest_allowed_size_builds():
    space = get_space("custom", **TINY["custom"]).for_data(
        input_shape=(8, 8, 1), num_classes=2, mean=[0.0], variance=[1.0])
    assert space.build(keras_tuner.HyperParameters()).output_shape == (None, 2)
