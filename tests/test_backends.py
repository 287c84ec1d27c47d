"""kerasnas on Keras' JAX and PyTorch backends: tiny searches, models across backends."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _images import learnable

from kerasnas.run_folder import differences
from kerasnas.settings import SearchSettings
from tests.test_cli import ROOT, cli

pytest.importorskip("jax")
pytest.importorskip("torch")

TINY = ["--max-trials", "2", "--epochs", "1", "--train-size", "200", "--val-size", "100",
        "--batch-size", "50"]


@pytest.fixture
def tiny_npz(tmp_path):
    """300 training and 100 test images, 28x28x1 of 10 classes (`_images.learnable`): the export
    tests on 100, not Fashion-MNIST's 10k (torch's CPU inference takes minutes for those on a
    shared 2-core machine)."""
    path = tmp_path / "tiny.npz"
    x, y = learnable(30, seed=0)
    x_test, y_test = learnable(10, seed=1)
    np.savez(path, x=x, y=y, x_test=x_test, y_test=y_test)
    return str(path)
# One model-based (or evolutionary) oracle per space; small knobs keep each trial short.
RUNS = [("resnet", "bayes", ["--space-option", "stem_width=8"]),
        ("nasbench201", "tpe", ["--space-option", "channels=4",
                                "--space-option", "cells_per_stage=1"]),
        ("custom", "evolution", ["--space-option", "stem_width=8"])]


def test_backend_is_a_setting_checked_by_name():
    assert SearchSettings(backend="jax").backend == "jax"
    with pytest.raises(ValueError, match=r"`backend` must be one of \('tensorflow', 'jax', "
                                         r"'torch'\); got 'mxnet'"):
        SearchSettings(backend="mxnet")


def test_a_resume_on_another_backend_is_refused():
    assert "backend" in SearchSettings.resume_keys()
    assert differences({"backend": "tensorflow"}, {"backend": "jax"}) == [
        "backend: 'tensorflow' then, 'jax' now"]


def test_keras_cannot_switch_backend_once_imported(tmp_path):
    import keras

    from kerasnas.backends import select

    other = "jax" if keras.backend.backend() != "jax" else "torch"
    with pytest.raises(ValueError, match=f"Keras already runs on {keras.backend.backend()} in "
                                         f"this process; set KERAS_BACKEND={other}"):
        select(other)


def test_mirrored_on_torch_is_refused_before_anything_runs(tmp_path):
    r = cli("--backend", "torch", "--strategy", "mirrored", "--output-dir", str(tmp_path / "o"))
    assert r.returncode == 2 and "--strategy mirrored needs --backend tensorflow or jax" in r.stderr
    assert not (tmp_path / "o").exists()


def _searches(backend, tmp_path, dataset):
    """The three spaces' searches in one process (one import of Keras) through the CLI's main()."""
    calls = [["--backend", backend, "--space", space, "--oracle", oracle, *TINY, *extra,
              "--dataset", dataset,
              "--output-dir", str(tmp_path / space)] for space, oracle, extra in RUNS]
    code = ("import sys; from kerasnas.cli import main; "
            f"sys.exit(max(main(args) for args in {calls!r}))")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    env.pop("KERAS_BACKEND", None)  # --backend alone must choose it
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_space_searches_end_to_end(backend, tmp_path, tiny_npz):
    r = _searches(backend, tmp_path, tiny_npz)
    assert r.returncode == 0, r.stderr[-3000:]
    for space, oracle, _ in RUNS:
        out = tmp_path / space
        table = pd.read_csv(out / "results.csv")
        assert table.status.tolist() == ["COMPLETED"] * 2 and (table.params > 0).all()
        summary = json.loads((out / "summary.json").read_text())
        run = json.loads((out / "run.json").read_text())
        assert summary["backend"] == run["backend"] == backend
        assert summary["oracle"] == oracle and 0.0 <= summary["test_accuracy"] <= 1.0
        assert (out / "best_model.keras").is_file()


@pytest.mark.slow
def test_jax_data_parallel_over_two_host_devices(tmp_path, tiny_npz):
    # The counterpart of test_cli's MirroredStrategy test: XLA_FLAGS gives JAX 2 CPU devices.
    out = tmp_path / "m"
    r = cli("--backend", "jax", "--strategy", "mirrored", "--oracle", "random", "--max-trials",
            "1", "--epochs", "1", "--train-size", "200", "--val-size", "100", "--batch-size", "50",
            "--space-option", "stem_width=8", "--dataset", tiny_npz, "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategy"] == "DataParallel (2 replicas)" and summary["backend"] == "jax"
    assert summary["trials_completed"] == 1


@pytest.mark.slow
def test_models_saved_on_each_backend_load_and_predict_on_the_others(tmp_path):
    script = os.path.join(ROOT, "tests", "_backend_models.py")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ROOT}
    diffs = {}
    # Each process loads what the earlier ones saved, then saves its own: after
    # tensorflow, jax, torch, every backend runs once more except the last.
    for backend in ("tensorflow", "jax", "torch", "tensorflow", "jax"):
        r = subprocess.run([sys.executable, script, str(tmp_path), backend], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        loaded = json.loads(r.stdout.strip().splitlines()[-1])
        diffs.update({f"{key} -> {backend}": d for key, d in loaded.items()})
    backends = ("tensorflow", "jax", "torch")
    assert sorted(diffs) == sorted(f"{saver}/{space} -> {loader}" for saver in backends
                                   for loader in backends if loader != saver
                                   for space in ("resnet", "nasbench201", "custom", "convnet"))
    assert all(d < 1e-4 for d in diffs.values()), diffs
