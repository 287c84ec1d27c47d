"""`python -m benchmarks.paired`: the same architecture in Keras (kerasnas) and in PyTorch (NNI's space)."""

import json
import os

import numpy as np
import pytest

for module in ("nni", "torch"):
    pytest.importorskip(module, reason="the paired check needs the compare extra (nni, torch)")

from benchmarks import paired  # noqa: E402
from benchmarks.comparison.frameworks import paired_models as pm  # noqa: E402


def test_nasbench201_arch_maps_to_nnis_labels():
    # kerasnas edge_j_i (node j <- node i) is NNI's cell/i_j; nor_conv_* are NNI's conv_*.
    assert pm.nni_sample("nasbench201") == {
        "cell/0_1": "conv_1x1", "cell/0_2": "avg_pool_3x3", "cell/1_2": "conv_1x1",
        "cell/0_3": "skip_connect", "cell/1_3": "none", "cell/2_3": "conv_3x3"}


@pytest.mark.parametrize("arch", sorted(pm.ARCHS))
def test_both_frameworks_build_the_same_network(arch, synthetic_splits):
    import torch

    keras_model = pm.build_keras(arch, synthetic_splits)  # its shape, classes and pixel statistics
    torch_model = pm.build_torch(arch)
    keras_params = sorted(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
    torch_params = sorted(p.numel() for p in torch_model.parameters() if p.requires_grad)
    assert keras_params == torch_params  # tensor by tensor, not only the total
    x = torch.zeros(2, 1, 28, 28)
    assert tuple(torch_model(x).shape) == (2, 10)


def test_variants_move_keras_defaults_to_pytorchs(synthetic_splits):
    import keras

    plain = pm.build_keras("custom", synthetic_splits)
    model = pm.build_keras("custom", synthetic_splits, "all")
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and {layer.epsilon for layer in norms} == {1e-5}
    assert {layer.epsilon for layer in plain.layers
            if isinstance(layer, keras.layers.BatchNormalization)} == {1e-3}
    assert model.layers[-1].activation is keras.activations.linear
    assert model.optimizer.get_config()["epsilon"] == 1e-8
    assert plain.optimizer.get_config()["epsilon"] == 1e-7
    dense = model.layers[-1]
    bound = 1 / np.sqrt(dense.kernel.shape[0])
    for w in (dense.kernel, dense.bias):  # the bias too, as PyTorch draws it
        values = np.asarray(w.numpy())
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.5 * bound
    sep = next(layer for layer in model.layers if isinstance(layer, keras.layers.SeparableConv2D))
    depthwise = np.asarray(sep.depthwise_kernel.numpy())
    assert np.abs(depthwise).max() <= 1 / np.sqrt(np.prod(depthwise.shape[:2]))


@pytest.mark.slow  # trains the network in Keras and in PyTorch, on Fashion-MNIST
def test_cli_trains_both_sides_caches_and_reports(tmp_path):
    argv = ["--archs", "nasbench201", "--seeds", "0", "--epochs", "1", "--train-size", "200",
            "--val-size", "100", "--batch-size", "50", "--threads", "1", "--lr-schedule", "cosine",
            "--work", str(tmp_path / "runs"), "--out", str(tmp_path / "paired.md")]
    paired.main(argv)
    results = sorted(os.listdir(tmp_path / "runs"))
    assert [name.split("__")[:2] for name in results] == [["nasbench201", "keras"],
                                                          ["nasbench201", "torch"]]
    assert all(name.endswith("t1-cosine.json") for name in results)  # the schedule is part of the key
    stamps = [os.path.getmtime(tmp_path / "runs" / name) for name in results]
    by_side = {}
    for name in results:
        with open(tmp_path / "runs" / name) as f:
            by_side[name.split("__")[1]] = json.load(f)
    assert by_side["keras"]["trainable_params"] == by_side["torch"]["trainable_params"] == 192634
    assert all(len(r["epoch_seconds"]) == 1 for r in by_side.values())
    text = (tmp_path / "paired.md").read_text()
    assert "| PyTorch (NNI space) |" in text and "| Keras (kerasnas) |" in text
    assert "Verdict: 1 paired seed(s), too few for a test" in text
    assert "Versions:" in text and "Command:" in text
    assert "learning-rate schedule: kerasnas' per-trial schedule" in text
    paired.main(argv)  # a rerun reuses the results: nothing retrained
    assert [os.path.getmtime(tmp_path / "runs" / name) for name in results] == stamps


def test_bad_arguments_exit_with_the_fix(capsys):
    with pytest.raises(SystemExit) as err:
        paired.main(["--variants", "bn-epsilon"])
    assert err.value.code == 2
    assert "unknown ['bn-epsilon']; choose from" in capsys.readouterr().err


def test_verdict_says_who_trains_better_only_when_significant():
    import pandas as pd

    ahead = pd.Series([-0.03, -0.02, -0.025])
    assert paired.verdict_line(ahead, 0.01) == "Verdict: PyTorch trains it better (2.50 points, paired t p 0.010)."
    mixed = pd.Series([0.04, -0.36, 0.03])
    assert paired.verdict_line(mixed, 0.54) == (
        "Verdict: no significant difference (PyTorch ahead by 9.67 "
        "points on the mean, paired t p 0.540; Keras ahead on 2 of 3 seeds).")
    assert "too few" in paired.verdict_line(pd.Series([0.01]), float("nan"))
