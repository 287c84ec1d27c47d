"""The contract of a search space, one named test per clause (needs pytest).

As `oracle_contract.OracleContract` (after Optuna's `optuna/testing/pytest_samplers.py`):
subclass `SpaceContract`, implement `create_space`, and pytest collects every
clause for your space::

    class TestMySpace(SpaceContract):
        input_shape = (28, 28, 1)  # what the space you create builds for
        num_classes = 10

        def create_space(self):
            return MySpace()

The required clauses hold for any KerasTuner `HyperModel` that kerasnas can
search (`kerasnas.spaces.Space`); the clause of an optional capability
(`DataAware`, `Describable`, `CellSpace`, a `from_config`) is skipped, saying
so, for a space without it. Each clause builds tiny models and trains at most
one step on a batch of 4 random images.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Iterator

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas._config import config_of
from kerasnas.spaces.protocol import CellSpace, Configurable, DataAware, Describable, Space

BATCH = 4


def declared(space: Space) -> tuple[keras_tuner.HyperParameters, keras.Model]:
    """The hyperparameters `space` declares when built with the defaults, and the model."""
    hp = keras_tuner.HyperParameters()
    return hp, space.build(hp)


def random_hyperparameters(space_hp: keras_tuner.HyperParameters,
                           seed: int) -> keras_tuner.HyperParameters:
    """Random values for the declared hyperparameters, drawn as KerasTuner's oracles draw.

    A conditional hyperparameter whose condition does not hold gets no value
    (`keras_tuner.Oracle._random_values`).
    """
    hp = keras_tuner.HyperParameters()
    for i, p in enumerate(space_hp.space):
        hp.merge([p])
        if hp.is_active(p):
            hp.values[p.name] = p.random_sample(seed * 1000 + i)
    return hp


def images(input_shape: tuple[int, ...], num_classes: int,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A batch of raw images (uint8 values as float32) and one label per image."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(BATCH, *input_shape)).astype("float32")
    return x, np.arange(BATCH) % num_classes


def recorded_config(space: Space) -> dict[str, Any]:
    """The configuration kerasnas records in run.json, before JSON: `get_config()` or `config_of`."""
    return space.get_config() if isinstance(space, Configurable) else config_of(space)


class SpaceContract:
    """One test per clause of the contract every space kerasnas searches keeps."""

    input_shape = (16, 16, 1)  # what `create_space()` builds for
    num_classes = 3
    other_input_shape = (16, 12, 3)  # what `for_data` is asked to adapt to (DataAware spaces)
    other_num_classes = 5
    seed = 0
    random_draws = 3  # random values per check of the declared hyperparameters

    def create_space(self) -> Space:
        """Returns a new space for `input_shape` and `num_classes`; implemented by each subclass."""
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _fresh_keras_session(self) -> Iterator[None]:
        keras.backend.clear_session()  # as KerasTuner before each build
        yield

    def train_one_step(self, model: keras.Model, input_shape: tuple[int, ...],
                       num_classes: int) -> dict[str, float]:
        x, y = images(input_shape, num_classes, self.seed)
        model.run_eagerly = True  # one step: tracing the training graph costs 10x more on a CPU
        return model.train_on_batch(x, y, return_dict=True)

    def test_it_is_a_keras_tuner_hypermodel(self) -> None:
        space = self.create_space()
        assert isinstance(space, keras_tuner.HyperModel) and isinstance(space, Space)

    def test_the_defaults_build_a_compiled_model_for_the_input_shape(self) -> None:
        _, model = declared(self.create_space())
        assert isinstance(model, keras.Model)
        assert model.compiled and model.optimizer is not None and model.loss is not None
        assert tuple(model.input_shape) == (None, *self.input_shape)

    def test_the_output_is_one_probability_per_class(self) -> None:
        _, model = declared(self.create_space())
        assert tuple(model.output_shape) == (None, self.num_classes)
        x, _ = images(self.input_shape, self.num_classes, self.seed)
        p = keras.ops.convert_to_numpy(model(x, training=False)).astype("float64")
        assert np.all(p >= 0) and np.all(p <= 1)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)

    def test_the_model_reports_accuracy(self) -> None:
        # kerasnas scores each trial by its `val_accuracy`.
        _, model = declared(self.create_space())
        x, y = images(self.input_shape, self.num_classes, self.seed)
        model.run_eagerly = True
        assert "accuracy" in model.evaluate(x, y, verbose=0, return_dict=True)

    def test_every_hyperparameter_is_declared_by_the_defaults(self) -> None:
        # KerasTuner builds once with the defaults before the search; a hyperparameter
        # first declared later is unknown to the oracle until a trial stumbles on it.
        space = self.create_space()
        space_hp, _ = declared(space)
        names = {p.name for p in space_hp.space}
        for draw in range(self.random_draws):
            keras.backend.clear_session()
            hp = random_hyperparameters(space_hp, self.seed + draw)
            space.build(hp)
            late = sorted({p.name for p in hp.space} - names)
            assert not late, f"declared only with the random values {hp.values}: {late}"

    def test_random_values_train_one_step_with_a_finite_loss(self) -> None:
        space = self.create_space()
        space_hp, _ = declared(space)
        keras.backend.clear_session()
        keras.utils.set_random_seed(self.seed)
        model = space.build(random_hyperparameters(space_hp, self.seed))
        logs = self.train_one_step(model, self.input_shape, self.num_classes)
        assert np.isfinite(float(logs["loss"]))

    def test_the_same_seed_gives_the_same_initial_weights(self) -> None:
        space = self.create_space()
        weights = []
        for _ in range(2):
            keras.backend.clear_session()
            keras.utils.set_random_seed(self.seed)
            weights.append(declared(space)[1].get_weights())
        assert len(weights[0]) == len(weights[1]) > 0
        for a, b in zip(*weights):
            np.testing.assert_array_equal(a, b)

    def test_the_model_saves_and_loads_with_the_same_outputs(self, tmp_path: pathlib.Path) -> None:
        # kerasnas saves every trial's model and loads the best one after a resume.
        _, model = declared(self.create_space())
        path = str(tmp_path / "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)  # safe mode: no Lambda layers
        x, _ = images(self.input_shape, self.num_classes, self.seed)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x, training=False)),
                                   keras.ops.convert_to_numpy(model(x, training=False)),
                                   rtol=1e-5, atol=1e-6)

    def test_its_config_is_json_and_the_same_for_a_space_created_alike(self) -> None:
        # run.json records it; a resume compares it with the resumed space's.
        config = recorded_config(self.create_space())
        json.dumps(config)  # no `default=`: every value is JSON
        assert recorded_config(self.create_space()) == config

    def test_from_config_rebuilds_a_space_of_the_same_config(self) -> None:
        space = self.create_space()
        from_config = getattr(type(space), "from_config", None)
        if not callable(from_config):
            pytest.skip("optional: the space's class has no from_config")
        config = json.loads(json.dumps(recorded_config(space)))
        assert recorded_config(from_config(config)) == config

    def test_for_data_adapts_the_input_shape_and_the_classes(self) -> None:
        space = self.create_space()
        if not isinstance(space, DataAware):
            pytest.skip("optional: the space is not DataAware (no for_data)")
        channels = self.other_input_shape[-1]
        space.for_data(input_shape=self.other_input_shape, num_classes=self.other_num_classes,
                       mean=[120.0] * channels, variance=[3600.0] * channels)
        _, model = declared(space)
        assert tuple(model.input_shape) == (None, *self.other_input_shape)
        assert tuple(model.output_shape) == (None, self.other_num_classes)
        logs = self.train_one_step(model, self.other_input_shape, self.other_num_classes)
        assert np.isfinite(float(logs["loss"]))

    def test_describe_gives_a_non_empty_text(self) -> None:
        space = self.create_space()
        if not isinstance(space, Describable):
            pytest.skip("optional: the space is not Describable (no describe)")
        hp, _ = declared(space)
        text = space.describe(hp.values)
        assert isinstance(text, str) and text.strip()

    def test_the_cell_graph_links_only_its_own_nodes(self) -> None:
        space = self.create_space()
        if not isinstance(space, CellSpace):
            pytest.skip("optional: the space is not a CellSpace (no cell_graph)")
        hp, _ = declared(space)
        graph = space.cell_graph(hp.values)
        nodes = set(graph["nodes"])
        assert graph["edges"] and graph["inputs"] and graph["outputs"]
        assert {n for src, dst, _ in graph["edges"] for n in (src, dst)} <= nodes
        assert set(graph["inputs"]) | set(graph["outputs"]) <= nodes
