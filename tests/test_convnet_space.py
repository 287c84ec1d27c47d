"""`ConvNetSpace`: plain convolutional networks (the contract is in test_space_contract.py)."""

import keras
import keras_tuner
import pytest

from kerasnas.layers import estimate_flops
from kerasnas.spaces import SPACES, get_space
from kerasnas.spaces.convnet import ConvNetSpace


def build(**values):
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return ConvNetSpace().build(hp), hp


def test_it_is_registered_and_declares_every_knob_from_the_defaults():
    assert SPACES["convnet"] is ConvNetSpace
    model, hp = build()
    assert {h.name for h in hp.space} == {
        "filters", "blocks", "convs_per_block", "kernel_size", "batch_norm", "head",
        "dense_units", "dropout", "optimizer", "learning_rate", "sgd_learning_rate", "momentum"}
    # The default: conv 16, pool, conv 32, pool, flatten, dropout, dense 64, softmax.
    assert [type(layer).__name__ for layer in model.layers[2:]] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense", "Dense"]
    assert model.count_params() == (9 * 16 + 16) + (9 * 16 * 32 + 32) + (7 * 7 * 32 * 64 + 64) \
        + (64 * 10 + 10)  # the normalisation layer's statistics are constants, not weights


def test_the_hand_design_is_kerass_simple_mnist_convnet():
    space = ConvNetSpace()
    (design,) = space.hand_designed()
    model, _ = build(**design)
    assert model.count_params() == 320 + 18_496 + 31_370  # keras.io's 34,826 is unpadded
    assert space.describe(design) == "f32 2x1 k3 flatten"


def test_without_batch_norm_a_convolution_carries_its_relu_and_with_it_none():
    plain, _ = build(batch_norm=False, blocks=1)
    conv = next(layer for layer in plain.layers if isinstance(layer, keras.layers.Conv2D))
    assert conv.activation is keras.activations.relu and conv.use_bias
    normed, _ = build(batch_norm=True, blocks=1)
    kinds = [type(layer).__name__ for layer in normed.layers[2:5]]
    assert kinds == ["Conv2D", "BatchNormalization", "ReLU"]
    assert not normed.layers[2].use_bias
    assert estimate_flops(normed) == 28 * 28 * 9 * 16 + (14 * 14 * 16 * 64 + 64) + (64 * 10 + 10)


def test_blocks_double_the_filters_and_halve_the_resolution():
    model, _ = build(filters=8, blocks=3, convs_per_block=2, head="pool", dense_units=0)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [8, 8, 16, 16, 32, 32]
    pooled = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert [tuple(p.output.shape) for p in pooled] == [  # 28 -> 14 -> 7 -> 3
        (None, 14, 14, 8), (None, 7, 7, 16), (None, 3, 3, 32)]
    assert ConvNetSpace(blocks=4).max_reductions() == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"blocks": 5}, r"Invalid value for `blocks`: 5. Expected an int in 1..4"),
    ({"head": "dense"}, r"Invalid value for `head`: 'dense'. Expected one of \('flatten', 'pool'\)"),
    ({"dense_units": -1}, r"Invalid value for `dense_units`: -1. Expected an int >= 0"),
    ({"batch_norm": 1}, r"Invalid value for `batch_norm`: 1. Expected True or False"),
])
def test_bad_knob_values_are_refused_with_the_knob_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_space("convnet", **kwargs)


def test_images_too_small_for_the_blocks_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"8x8 images are too small: up to 3 reductions .* "
                                         r"need at least 16x16"):
        ConvNetSpace().check_input_shape((8, 8, 1))
