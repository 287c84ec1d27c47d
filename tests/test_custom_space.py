import random

import keras_tuner
import numpy as np
import pytest

from kerasnas.spaces import SPACES
from kerasnas.spaces._ops import CELL_OPS
from kerasnas.spaces.custom import CustomCellSpace

Choice = keras_tuner.engine.hyperparameters.Choice


def _cell_values(seed, nodes=3):
    rng = random.Random(seed)
    return {f"node{k}_{part}{a}": rng.randrange(k) if part == "in" else rng.choice(list(CELL_OPS))
            for k in range(2, 2 + nodes) for a in (0, 1) for part in ("in", "op")}


def _fixed(values):
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def test_default_space_declares_cell_and_macro_knobs_up_front():
    hp = keras_tuner.HyperParameters()
    CustomCellSpace().build(hp)
    names = [h.name for h in hp.space]
    cell = [f"node{k}_{p}{a}" for k in (2, 3, 4) for a in (0, 1) for p in ("in", "op")]
    assert sorted(names) == sorted(cell + ["stem_width", "cells_per_stage", "reductions",
                                           "dropout", "optimizer", "learning_rate", "sgd_learning_rate",
                                           "momentum"])
    inputs = {h.name: h.values for h in hp.space if "_in" in h.name}
    assert inputs["node2_in0"] == [0, 1] and inputs["node4_in1"] == [0, 1, 2, 3]
    assert "custom" in SPACES


@pytest.mark.parametrize("shape, reductions", [((28, 28, 1), 2), ((32, 32, 3), 2), ((20, 28, 1), 2),
                                               ((16, 16, 1), 1), ((8, 12, 3), 0), ((64, 64, 3), 3),
                                               ((224, 224, 3), 3)])
def test_default_reductions_follow_the_image_size_and_are_not_searched(shape, reductions):
    space = CustomCellSpace(input_shape=shape, num_classes=3)
    hp = keras_tuner.HyperParameters()
    model = space.build(hp)
    knobs = {h.name: h for h in hp.space}
    assert isinstance(knobs["reductions"], keras_tuner.engine.hyperparameters.Fixed)
    assert hp.values["reductions"] == space.max_reductions() == reductions
    assert knobs["stem_width"].values == [16, 24, 32]
    pool = next(la for la in model.layers if "global_average" in la.name)
    side = min(pool.input.shape[1:3])  # the last stage's resolution
    assert side <= 8 or reductions == 3
    # A searched range still works: the user's hyperparameter replaces the default.
    hp = keras_tuner.HyperParameters()
    CustomCellSpace(reductions=keras_tuner.engine.hyperparameters.Int("r", 0, 1)).build(hp)
    assert {h.name: (h.min_value, h.max_value) for h in hp.space if h.name == "reductions"} == {
        "reductions": (0, 1)}


@pytest.mark.parametrize("seed", range(8))
def test_random_cells_build_with_random_macro_settings(seed):
    rng = random.Random(100 + seed)
    space = CustomCellSpace(stem_width=4, cells_per_stage=rng.choice([1, 2]),
                            reductions=rng.choice([0, 1, 2]), dropout=0.0,
                            optimizer="adam", learning_rate=1e-3)
    values = _cell_values(seed)
    model = space.build(_fixed(values))
    assert model.output_shape == (None, 10)
    assert "| 2=" in space.describe(values)


def test_a_cell_trains_one_step_and_params_follow_the_width():
    values = _cell_values(0)
    small = CustomCellSpace(stem_width=4, cells_per_stage=1, reductions=1, dropout=0.0,
                            optimizer="adam", learning_rate=1e-3).build(_fixed(values))
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    small.run_eagerly = True  # one step: tracing the training graph costs seconds on a CPU
    history = small.fit(x, np.arange(8), batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    wide = CustomCellSpace(stem_width=8, cells_per_stage=1, reductions=1, dropout=0.0,
                           optimizer="adam", learning_rate=1e-3).build(_fixed(values))
    assert wide.count_params() > small.count_params()


def test_parameter_count_of_a_pinned_cell_derived_by_hand():
    # One node: identity(c[k-1]) + conv_3x3(c[k-2]); no reduction; width 4.
    values = {"node2_in0": 1, "node2_op0": "identity", "node2_in1": 0, "node2_op1": "conv_3x3"}
    model = CustomCellSpace(nodes=1, stem_width=4, cells_per_stage=1, reductions=0, dropout=0.0,
                            optimizer="adam", learning_rate=1e-3).build(_fixed(values))
    # Stem conv 3*3*1*4 = 36 + BN 4*4 = 16; conv_3x3 3*3*4*4 = 144 + BN 16; identity 0;
    # output 1x1 ReLU-Conv-BN 4*4 = 16 + BN 16; dense 4*10 + 10 = 50.
    assert model.count_params() == 36 + 16 + 144 + 16 + 16 + 16 + 50 == 294


def test_a_custom_operation_set_replaces_the_registry():
    ops = {"conv_3x3": CELL_OPS["conv_3x3"], "identity": CELL_OPS["identity"]}
    hp = keras_tuner.HyperParameters()
    CustomCellSpace(operations=ops, stem_width=4, reductions=0).build(hp)
    assert next(h for h in hp.space if h.name == "node3_op1").values == ["conv_3x3", "identity"]


def test_hyperparameter_knobs_keep_their_range():
    hp = keras_tuner.HyperParameters()
    CustomCellSpace(stem_width=Choice("w", [4, 6]), reductions=0).build(hp)
    assert next(h for h in hp.space if h.name == "stem_width").values == [4, 6]


@pytest.mark.parametrize("kwargs, match", [
    ({"stem_width": 0}, "stem_width"), ({"cells_per_stage": 0}, "cells_per_stage"),
    ({"reductions": 4}, "reductions"), ({"dropout": 1.0}, "dropout"), ({"nodes": 0}, "nodes"),
    ({"operations": {"x": 1}}, "operations"), ({"optimizer": "rmsprop"}, "optimizer"),
])
def test_bad_knob_values_are_refused_with_the_knob_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CustomCellSpace(**kwargs)


def test_cell_graph_has_two_labelled_inputs_per_node_and_concat_edges():
    values = _cell_values(3)
    graph = CustomCellSpace().cell_graph(values)
    assert graph["nodes"] == ["c[k-2]", "c[k-1]", "node 2", "node 3", "node 4", "out"]
    labelled = [e for e in graph["edges"] if e[2]]
    assert len(labelled) == 6 and all(e[2] in CELL_OPS for e in labelled)
    assert [e for e in graph["edges"] if not e[2]] == [
        ("node 2", "out", ""), ("node 3", "out", ""), ("node 4", "out", "")]
    src = graph["nodes"][values["node4_in1"]]
    assert (src, "node 4", values["node4_op1"]) in graph["edges"]


def test_the_hand_design_names_every_searched_knob_and_leaves_pinned_ones_out():
    (design,) = CustomCellSpace().hand_designed()
    hp = keras_tuner.HyperParameters()
    CustomCellSpace().build(hp)
    active = {h.name for h in hp.space if hp.is_active(h)} - {"reductions"}  # set by the images
    assert set(design) == active  # nothing left to a random draw
    assert (design["stem_width"], design["cells_per_stage"], design["dropout"]) == (32, 2, 0.1)
    (pinned,) = CustomCellSpace(stem_width=16, cells_per_stage=1).hand_designed()
    assert "stem_width" not in pinned and "cells_per_stage" not in pinned
