"""Every shipped space, and a user's plain HyperModel, keep the space contract
(`kerasnas.testing.space_contract`); the contract catches spaces that break it."""

import keras
import keras_tuner
import pytest

from kerasnas.spaces import SPACES, get_space
from kerasnas.testing import SpaceContract

# Small settings: every clause builds a few models of these in a second or two.
SMALL = {
    "convnet": dict(filters=4, blocks=2),
    "custom": dict(nodes=2, stem_width=4, cells_per_stage=1),
    "nasbench201": dict(channels=4, cells_per_stage=1),
    "resnet": dict(stem_width=4, stages=2, blocks_per_stage=1),
}


def test_every_shipped_space_is_checked():
    assert set(SMALL) == set(SPACES)


class TestShippedSpaces(SpaceContract):
    @pytest.fixture(autouse=True, params=sorted(SMALL))
    def _name(self, request):
        self.name = request.param

    def create_space(self):
        return get_space(self.name, input_shape=self.input_shape, num_classes=self.num_classes,
                         **SMALL[self.name])


class SmallCNN(keras_tuner.HyperModel):
    """A KerasTuner user's own HyperModel, written without kerasnas in mind."""

    def build(self, hp):
        model = keras.Sequential([
            keras.Input((16, 16, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(hp.Int("filters", 4, 8, step=4), 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-2, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


class TestAUsersPlainHyperModel(SpaceContract):
    input_shape = (16, 16, 1)
    num_classes = 3

    def create_space(self):
        return SmallCNN()


class _Contract(SpaceContract):
    def __init__(self, space):
        self.space = space

    def create_space(self):
        return self.space


def test_a_hyperparameter_declared_only_in_a_branch_breaks_the_contract():
    class Branching(SmallCNN):
        def build(self, hp):
            if hp.Boolean("wide"):  # default False: `units` unknown after the defaults' build
                hp.Int("units", 4, 8)
            return super().build(hp)

    with pytest.raises(AssertionError, match=r"declared only with the random values .*\['units'\]"):
        _Contract(Branching()).test_every_hyperparameter_is_declared_by_the_defaults()


def test_logits_instead_of_probabilities_break_the_contract():
    class Logits(SmallCNN):
        def build(self, hp):
            model = super().build(hp)
            model.layers[-1].activation = keras.activations.linear
            return model

    with pytest.raises(AssertionError):
        _Contract(Logits()).test_the_output_is_one_probability_per_class()


def test_a_config_holding_an_object_breaks_the_contract():
    class Holding(SmallCNN):
        def __init__(self, *, initializer=None):
            super().__init__()
            self.initializer = initializer

    contract = _Contract(Holding(initializer=keras.initializers.Zeros()))
    contract.create_space = lambda: Holding(initializer=keras.initializers.Zeros())
    contract.test_its_config_is_json_and_the_same_for_a_space_created_alike()  # by class path
    contract.create_space = lambda: Holding(initializer=object())
    with pytest.raises(AssertionError):  # its address differs in each space created alike
        contract.test_its_config_is_json_and_the_same_for_a_space_created_alike()


class Configured(SmallCNN):
    """A user's HyperModel with `get_config` / `from_config`, as Keras objects have."""

    def __init__(self, *, filters=8, drop_on_load=False):
        super().__init__()
        self.filters, self.drop_on_load = filters, drop_on_load

    def get_config(self):
        return {"filters": self.filters, "drop_on_load": self.drop_on_load}

    @classmethod
    def from_config(cls, config):
        if config["drop_on_load"]:
            return cls(drop_on_load=True)  # loses `filters`
        return cls(**config)


def test_from_config_round_trips_and_a_lossy_one_breaks_the_contract():
    _Contract(Configured(filters=4)).test_from_config_rebuilds_a_space_of_the_same_config()
    with pytest.raises(AssertionError):
        _Contract(Configured(filters=4, drop_on_load=True)
                  ).test_from_config_rebuilds_a_space_of_the_same_config()
