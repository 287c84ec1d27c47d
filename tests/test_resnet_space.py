import keras
import keras_tuner
import pytest

from kerasnas.spaces import SPACES, get_space
from kerasnas.spaces.resnet import ResNetSpace


def test_default_space_declares_every_knob_and_conditional_momentum_up_front():
    hp = keras_tuner.HyperParameters()
    ResNetSpace().build(hp)
    names = {h.name for h in hp.space}
    assert names == {"stem_width", "stages", "blocks_per_stage", "kernel_size",
                     "dropout", "optimizer", "learning_rate", "sgd_learning_rate", "momentum"}
    momentum = next(h for h in hp.space if h.name == "momentum")
    assert not hp.is_active(momentum)  # adam is the default; momentum only with sgd


def test_each_optimizer_searches_its_own_learning_rate_range():
    hp = keras_tuner.HyperParameters()
    ResNetSpace().build(hp)
    ranges = {h.name: (h.min_value, h.max_value, [c.values for c in h.conditions])
              for h in hp.space if "learning_rate" in h.name}
    assert ranges == {"learning_rate": (5e-4, 1e-2, [["adam"]]),
                      "sgd_learning_rate": (3e-3, 0.3, [["sgd"]])}
    hp = keras_tuner.HyperParameters()
    hp.Fixed("optimizer", "sgd")
    model = ResNetSpace(stem_width=4, stages=1, input_shape=(8, 8, 1)).build(hp)
    assert "learning_rate" not in hp.values and hp.values["sgd_learning_rate"] == 0.05
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    hp = keras_tuner.HyperParameters()  # a pinned optimizer: one `learning_rate`, its range
    ResNetSpace(optimizer="sgd").build(hp)
    assert [(h.name, h.min_value, h.max_value) for h in hp.space if "rate" in h.name] == [
        ("learning_rate", 3e-3, 0.3)]


def test_fixed_values_pin_knobs_and_hyperparameters_replace_defaults():
    space = ResNetSpace(stem_width=8, stages=2, blocks_per_stage=1, block_type="bottleneck",
                        kernel_size=3, dropout=0.0, optimizer="sgd", learning_rate=0.01,
                        input_shape=(16, 16, 1))
    hp = keras_tuner.HyperParameters()
    model = space.build(hp)
    assert [h.name for h in hp.space] == ["momentum"]  # pinned SGD keeps its momentum knob
    assert model.output_shape == (None, 10)
    hp2 = keras_tuner.HyperParameters()
    ResNetSpace(stem_width=keras_tuner.engine.hyperparameters.Choice("x", [4, 8])).build(hp2)
    width = next(h for h in hp2.space if h.name == "stem_width")
    assert width.values == [4, 8]


@pytest.mark.parametrize("kwargs, match", [
    ({"stages": 0}, "stages"), ({"block_type": "dense"}, "block_type"),
    ({"dropout": 1.5}, "dropout"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"input_shape": (28, 28)}, "input_shape"), ({"num_classes": 1}, "num_classes"),
])
def test_bad_knob_values_are_refused_with_the_knob_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNetSpace(**kwargs)


def test_registry_lists_names_on_error():
    assert "resnet" in SPACES
    with pytest.raises(ValueError, match="Choose one of: .*resnet"):
        get_space("nope")


def test_parameter_count_of_a_pinned_basic_network():
    space = ResNetSpace(stem_width=4, stages=1, blocks_per_stage=1, block_type="basic",
                        kernel_size=3, dropout=0.0, optimizer="adam", learning_rate=1e-3,
                        input_shape=(8, 8, 1), num_classes=10)
    model = space.build(keras_tuner.HyperParameters())
    # stem conv 3*3*1*4 = 36, BN 4*4 = 16; block: two convs 3*3*4*4 = 144 each + two BN 16 each;
    # identity shortcut; dense 4*10 + 10 = 50.
    assert model.count_params() == 36 + 16 + 2 * (144 + 16) + 50
