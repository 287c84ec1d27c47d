"""kerasnas.proxies: exact scores of small networks, the controls, pre-screening, other backends."""

import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import layers

from kerasnas.datasets import make_splits
from kerasnas.layers import estimate_flops
from kerasnas.proxies import PROXIES, flops, naswot, params, prescreen, sample_values, score, synflow
from kerasnas.proxies._naswot import activation_kernel
from kerasnas.spaces import get_space

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def relu_only(width):
    inputs = keras.Input((width,))
    return keras.Model(inputs, layers.ReLU()(inputs))


def test_naswot_is_the_log_determinant_of_the_hamming_kernel():
    # Codes 100, 110, 001: Hamming distances 1, 2, 3, so K_H = 3 - d.
    images = np.array([[1.0, -1, -1], [2, 3, -1], [-1, -2, 5]])
    expected = np.array([[3, 2, 1], [2, 3, 0], [1, 0, 3]])
    np.testing.assert_array_equal(activation_kernel(relu_only(3), images), expected)
    assert naswot(relu_only(3), images) == pytest.approx(math.log(12), rel=1e-12)  # det = 12


def test_naswot_reads_relu_layers_activations_and_dense_relus():
    inputs = keras.Input((3,))
    x = layers.Activation("relu")(inputs)
    x = layers.Dense(5, activation="relu")(x)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(layers.ReLU()(x)))
    kernel = activation_kernel(model, np.random.default_rng(0).normal(size=(4, 3)))
    np.testing.assert_array_equal(np.diag(kernel), [3 + 5 + 5] * 4)  # every unit agrees with itself


def test_naswot_of_dead_relus_is_the_singular_kernel_of_identical_codes():
    inputs = keras.Input((4, 4, 1))
    x = layers.Conv2D(2, 1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(-1))(inputs)
    model = keras.Model(inputs, layers.ReLU()(x))
    images = np.random.default_rng(0).normal(size=(8, 4, 4, 1))
    # Every code is all zeros: K_H = N_A everywhere (rank 1), as for any identical codes.
    np.testing.assert_array_equal(activation_kernel(model, images), np.full((8, 8), 4 * 4 * 2))
    assert naswot(model, images) == -math.inf
    same = np.repeat(np.abs(images[:1]) + 1, 8, axis=0)  # 8 copies of one image, all units on
    assert naswot(keras.Model(inputs, layers.ReLU()(inputs)), same) == -math.inf


def test_naswot_refuses_a_batch_of_one_and_a_model_without_relu():
    with pytest.raises(ValueError, match=r"Received: images of shape \(1, 3\); allowed: a batch"):
        naswot(relu_only(3), np.ones((1, 3)))
    inputs = keras.Input((3,))
    with pytest.raises(ValueError, match="with no ReLU layer"):
        naswot(keras.Model(inputs, layers.Dense(2)(inputs)), np.ones((4, 3)))


def tiny_space_model(name="nasbench201", seed=0, **options):
    from tests._proxies_backend import SHAPE

    import keras_tuner

    keras.utils.set_random_seed(seed)
    space = get_space(name, **options).for_data(input_shape=SHAPE, num_classes=3, mean=[100.0],
                                                variance=[2500.0])
    return space.build(keras_tuner.HyperParameters())


def test_naswot_is_invariant_to_the_batch_order_and_leaves_the_model_as_it_was():
    model = tiny_space_model(channels=2, cells_per_stage=1)
    images = np.random.default_rng(1).integers(0, 256, (8, 8, 8, 1)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    value = naswot(model, images)
    assert math.isfinite(value)
    assert naswot(model, images[::-1]) == pytest.approx(value, rel=1e-9)
    assert naswot(model, images[[3, 0, 7, 1, 6, 2, 5, 4]]) == pytest.approx(value, rel=1e-9)
    for a, b in zip(before, model.get_weights()):  # BatchNorm's moving statistics too
        np.testing.assert_array_equal(a, b)


def test_synflow_of_a_linear_network_is_its_closed_form():
    # Normalization and BatchNorm become the identity, the softmax its logits.
    rng = np.random.default_rng(0)
    inputs = keras.Input((3,))
    x = layers.Normalization(mean=5.0, variance=4.0)(inputs)
    x = layers.Dense(4)(x)
    x = layers.BatchNormalization()(x)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(x))
    w1, b1, w2, b2 = (rng.normal(size=s) for s in ((3, 4), (4,), (4, 2), (2,)))
    model.layers[2].set_weights([w1, b1])
    bn = model.layers[3]
    bn.set_weights([rng.uniform(1, 2, 4), rng.normal(size=4), rng.normal(size=4), rng.uniform(1, 2, 4)])
    model.layers[4].set_weights([w2, b2])
    before = [w.copy() for w in model.get_weights()]
    w1, b1, w2, b2 = (np.abs(w.astype(np.float64)) for w in  # the float32 weights the model holds
                      (*model.layers[2].get_weights(), *model.layers[4].get_weights()))
    hidden = w1.sum(axis=0) + b1  # R = sum_k (hidden @ |w2| + |b2|)_k
    fan_out = w2.sum(axis=1)  # dR/dhidden_j
    expected = (w1 * fan_out).sum() + (b1 * fan_out).sum() + (w2 * hidden[:, None]).sum() + b2.sum()
    assert synflow(model) == pytest.approx(expected, rel=1e-12)
    assert synflow(model, (3,)) == pytest.approx(expected, rel=1e-12)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_synflow_counts_every_layer_of_a_bias_free_network_once():
    # Bias-free and positively homogeneous: each layer's sum of theta * dR/dtheta is R itself.
    inputs = keras.Input((6, 6, 1))
    x = layers.Conv2D(3, 3, use_bias=False)(inputs)
    x = layers.ReLU()(x)
    x = layers.Conv2D(2, 3, use_bias=False)(x)
    outputs = layers.Dense(2, use_bias=False)(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    w = [np.abs(v.astype(np.float64)) for v in model.get_weights()]
    first = np.full((4, 4, 3), w[0].sum(axis=(0, 1, 2)))
    second = np.zeros((2, 2, 2))
    for i in range(2):
        for j in range(2):
            second[i, j] = np.einsum("abc,abcd->d", first[i:i + 3, j:j + 3], w[1])
    r = (second.mean(axis=(0, 1)) @ w[2]).sum()
    assert synflow(model) == pytest.approx(3 * r, rel=1e-12)


def test_params_counts_trainable_weights_and_flops_is_estimate_flops():
    inputs = keras.Input((5,))
    dense = keras.Model(inputs, layers.Dense(3)(layers.Dense(4)(inputs)))
    assert params(dense) == dense.count_params() == 5 * 4 + 4 + 4 * 3 + 3
    model = tiny_space_model(channels=2, cells_per_stage=1)
    frozen = sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)
    assert frozen > 0 and params(model) == model.count_params() - frozen
    assert flops(model) == estimate_flops(model) > 0
    images = np.zeros((2, 8, 8, 1))
    assert score("params", model, images) == params(model)
    assert score("flops", model, images) == flops(model)


def test_score_names_the_proxies_it_knows():
    assert list(PROXIES) == ["naswot", "synflow", "params", "flops"]
    with pytest.raises(ValueError, match="Received: proxy='zico'; allowed: naswot, synflow, params, flops."):
        score("zico", None, None)


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60, 16, 16)).astype("uint8")
    y = np.arange(60) % 3
    return make_splits((x, y), train_size=24, val_size=6, test_size=30)


def test_sample_values_draws_distinct_sets_seeded_and_prefix_stable():
    space = get_space("custom", stem_width=4, input_shape=(16, 16, 1))
    draws = sample_values(space, 6, seed=3)
    assert len({json.dumps(d, sort_keys=True) for d in draws}) == 6
    assert sample_values(space, 6, seed=3) == draws
    assert sample_values(space, 2, seed=3) == draws[:2]
    assert sample_values(space, 6, seed=4) != draws
    with pytest.raises(ValueError, match="Received: count=0; allowed: an int >= 1."):
        sample_values(space, 0)


def test_prescreen_ranks_distinct_candidates_deterministically(tiny_data):
    space = get_space("custom", stem_width=4)
    ranked = prescreen(space, tiny_data, proxy="naswot", candidates=4, images=8, seed=0)
    assert len({json.dumps(c.values, sort_keys=True) for c in ranked}) == 4
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(c.seconds > 0 and c.description.startswith("w4 ") for c in ranked)
    again = prescreen(space, tiny_data, proxy="naswot", candidates=4, images=8, seed=0)
    assert [(c.values, c.score) for c in again] == [(c.values, c.score) for c in ranked]
    assert {json.dumps(c.values, sort_keys=True) for c in ranked} == {
        json.dumps(v, sort_keys=True) for v in sample_values(space, 4, seed=0)}
    with pytest.raises(ValueError, match="Received: proxy='zico'"):
        prescreen(space, tiny_data, proxy="zico")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_naswot_and_synflow_agree_on_jax_and_torch(backend):
    pytest.importorskip(backend)
    from tests._proxies_backend import scores

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "_proxies_backend.py"), backend],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    other = json.loads(r.stdout.strip().splitlines()[-1])
    assert other["backend"] == backend
    for name, expected in scores().items():  # this process: TensorFlow, the same weights
        got = other["scores"][name]
        assert math.isfinite(expected["naswot"]) and expected["synflow"] > 0
        assert got["naswot"] == pytest.approx(expected["naswot"], rel=1e-12), name
        # float64 throughout on JAX; Keras 3.15's torch Dense rounds float64 to float32.
        tolerance = 1e-12 if backend == "jax" else 1e-6
        assert got["synflow"] == pytest.approx(expected["synflow"], rel=tolerance), name
