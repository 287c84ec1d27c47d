import itertools

import keras_tuner
import numpy as np
import pytest

from kerasnas.layers import estimate_flops
from kerasnas.spaces import SPACES
from kerasnas.spaces._ops import NB201_OPS
from kerasnas.spaces.nasbench201 import (
    EDGES, NasBench201Space, edge_name, from_arch_string, to_arch_string,
)

# A cell written in the benchmark's notation.
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _fixed(values):
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def _tiny(**kwargs):
    return NasBench201Space(channels=4, cells_per_stage=1, **kwargs)


def test_default_space_is_exactly_the_six_edges_over_the_five_operations():
    hp = keras_tuner.HyperParameters()
    NasBench201Space().build(hp)
    searched = [h for h in hp.space if not isinstance(h, keras_tuner.engine.hyperparameters.Fixed)]
    assert [h.name for h in searched] == [
        "edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"]
    assert all(h.values == list(NB201_OPS) for h in searched)
    assert list(NB201_OPS) == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                               "avg_pool_3x3"]
    # The benchmark's fixed skeleton and recipe.
    assert (hp.get("channels"), hp.get("cells_per_stage"), hp.get("momentum")) == (16, 5, 0.9)
    assert "nasbench201" in SPACES


def test_all_15625_cells_are_distinct_and_round_trip_through_the_arch_string():
    strings = set()
    for ops in itertools.product(NB201_OPS, repeat=len(EDGES)):
        values = {edge_name(j, i): op for (j, i), op in zip(EDGES, ops)}
        arch = to_arch_string(values)
        assert from_arch_string(arch) == values
        strings.add(arch)
    assert len(strings) == 5**6 == 15625


def test_arch_string_matches_the_benchmark_notation():
    values = from_arch_string(ARCH)
    assert values["edge_1_0"] == "nor_conv_3x3" and values["edge_3_0"] == "skip_connect"
    assert to_arch_string(values) == ARCH
    assert NasBench201Space().describe(values) == ARCH
    assert NasBench201Space().describe({"learning_rate": 0.1}) == ""


@pytest.mark.parametrize("arch, match", [
    (None, "string"),
    ("|none~0|+|none~0|none~1|", "3"),                       # two nodes only
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "\\|op~i\\|"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "2 inputs"),
    ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "op~0"),  # inputs out of order
    ("|none~0|+|none~0|none1|+|none~0|none~1|none~2|", "op~1"),   # no '~'
    ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "Unknown operation 'conv_5x5'"),
])
def test_malformed_arch_strings_raise(arch, match):
    with pytest.raises(ValueError, match=match):
        from_arch_string(arch)


def test_missing_edge_raises():
    with pytest.raises(ValueError, match="edge_3_2"):
        to_arch_string({edge_name(j, i): "none" for j, i in EDGES[:-1]})


@pytest.mark.parametrize("op", list(NB201_OPS))
def test_every_operation_builds_in_every_edge(op):
    values = {edge_name(j, i): op for j, i in EDGES}
    model = _tiny().build(_fixed(values))
    assert model.output_shape == (None, 10)


def test_all_none_cell_builds_and_trains_one_step_on_zeros():
    values = {edge_name(j, i): "none" for j, i in EDGES}
    model = _tiny().build(_fixed(values))
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    y = np.arange(8) % 10
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # Every cell outputs zeros, so all inputs give the same prediction.
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(pred, np.broadcast_to(pred[0], pred.shape), atol=1e-6)


def test_a_model_with_none_edges_is_made_of_keras_layers_only_so_it_loads_without_kerasnas(
        tmp_path):
    import keras

    model = _tiny().build(_fixed(from_arch_string(ARCH.replace("skip_connect", "none"))))
    assert {type(layer).__module__.split(".")[0] for layer in model.layers} == {"keras"}
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)
    path = str(tmp_path / "m.keras")
    model.save(path)
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    loaded = keras.models.load_model(path, custom_objects={}, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_parameter_count_of_a_known_cell_derived_by_hand():
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    model = _tiny().build(_fixed(from_arch_string(arch)))
    # Keras BN has 4 values per channel (gamma, beta, moving mean and variance); no conv bias.
    # Stem: conv 3*3*1*4 = 36 + BN 4*4 = 16                                     ->   52
    # Cell at C=4: nor_conv_3x3 3*3*4*4 = 144 + BN 16 = 160; nor_conv_1x1 4*4 = 16 + BN 16 = 32;
    #   nor_conv_3x3 160; avg_pool, skip_connect, none: 0                         ->  352
    # Reduction 4->8: conv_a 3*3*4*8 = 288 + BN 32; conv_b 3*3*8*8 = 576 + BN 32;
    #   shortcut 1x1 conv 4*8 = 32 (no BN)                                          ->  960
    # Cell at 8: (576 + 32) + (64 + 32) + (576 + 32)                              -> 1312
    # Reduction 8->16: (3*3*8*16 = 1152 + 64) + (3*3*16*16 = 2304 + 64) + 8*16    -> 3712
    # Cell at 16: (2304 + 64) + (256 + 64) + (2304 + 64)                          -> 5056
    # Final BN 16*4 = 64; dense 16*10 + 10 = 170                                 ->  234
    assert model.count_params() == 52 + 352 + 960 + 1312 + 3712 + 5056 + 234 == 11678
    # Multiply-accumulates per image: output positions x weights per position (+ dense bias).
    # Stem 28*28 * 3*3*1*4; cell at 28x28: 784 * (144 + 16 + 144); reduction at 14x14:
    # 196 * (288 + 576 + 32); cell at 14x14: 196 * (576 + 64 + 576); reduction at 7x7:
    # 49 * (1152 + 2304 + 128); cell at 7x7: 49 * (2304 + 256 + 2304); dense 160 + 10.
    assert estimate_flops(model) == (784 * 9 * 4 + 784 * 304 + 196 * 896 + 196 * 1216
                                     + 49 * 3584 + 49 * 4864 + 170)


def test_knobs_pin_search_or_refuse():
    hp = keras_tuner.HyperParameters()
    NasBench201Space(channels=keras_tuner.engine.hyperparameters.Choice("c", [4, 8]),
                     cells_per_stage=1).build(hp)
    assert next(h for h in hp.space if h.name == "channels").values == [4, 8]
    hp = keras_tuner.HyperParameters()
    NasBench201Space(channels=4, cells_per_stage=1, optimizer=None, learning_rate=None).build(hp)
    assert {"optimizer", "learning_rate", "momentum"} <= {h.name for h in hp.space}
    for kwargs, match in [({"channels": 0}, "channels"), ({"cells_per_stage": 1.5}, "cells_per"),
                          ({"operations": {}}, "operations"), ({"learning_rate": 2.0}, "learning")]:
        with pytest.raises(ValueError, match=match):
            NasBench201Space(**kwargs)


def test_cell_graph_leaves_out_none_edges():
    graph = NasBench201Space().cell_graph(from_arch_string(ARCH.replace("skip_connect", "none")))
    assert graph["nodes"] == ["in", "node 1", "node 2", "out"]
    assert len(graph["edges"]) == 5 and ("in", "out", "none") not in graph["edges"]
    assert ("node 2", "out", "nor_conv_3x3") in graph["edges"]
