"""Searches end to end on a folder of PNGs, an .npz, TFDS mock data and arrays; the exported
models take raw uint8 images."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from _images import images, write_folder

from kerasnas.progress import Reporter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB201_TINY = ["--space-option", "channels=4", "--space-option", "cells_per_stage=1"]
DONE_WHEN = ["--space", "nasbench201", "--oracle", "evolution", "--max-trials", "3", "--epochs", "1",
             "--batch-size", "32", *NB201_TINY]


def cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "kerasnas.run", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def check_exported(out, x_test, y_test, shape):
    """best_model.keras, loaded as is, takes raw uint8 images and scores the summary's test accuracy."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials_completed"] == 3
    model = keras.models.load_model(out / "best_model.keras")
    assert model.input_shape == (None, *shape)
    assert type(model.layers[1]).__name__ == "Normalization"  # right after the input
    assert x_test.dtype == np.uint8
    accuracy = float(np.mean(model.predict(x_test, verbose=0).argmax(axis=1) == y_test))
    assert accuracy == pytest.approx(summary["test_accuracy"], abs=1e-6)
    return summary


@pytest.mark.slow  # the CLI in a subprocess, 3 trials
def test_folder_of_32x32_rgb_pngs_end_to_end(tmp_path):
    write_folder(tmp_path / "pngs", 40, classes=3, shape=(32, 32, 3))  # 120 images
    out = tmp_path / "run"
    r = cli("--dataset", str(tmp_path / "pngs"), *DONE_WHEN, "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    from kerasnas.datasets import make_splits

    held_out = make_splits(str(tmp_path / "pngs"))  # the run's split: seed 0, default sizes
    summary = check_exported(out, held_out.x_test, held_out.y_test, (32, 32, 3))
    split = summary["split"]
    assert (split["train_size"], split["val_size"], split["test_size"]) == (84, 16, 20)
    assert split["source"] == f"folder {tmp_path / 'pngs'}" and split["test_split"].startswith("held out")
    assert split["class_names"] == ["class_0", "class_1", "class_2"]
    assert split["mean"] == pytest.approx(held_out.mean)
    run = json.loads((out / "run.json").read_text())
    assert run["dataset"]["folder"] == str(tmp_path / "pngs") and run["dataset"]["files"] == 120
    # The same folder with one more image is other data: a resume refuses it.
    write_folder(tmp_path / "more", 1, classes=1, shape=(32, 32, 3))
    os.rename(tmp_path / "more" / "class_0" / "0000.png", tmp_path / "pngs" / "class_0" / "extra.png")
    r = cli("--dataset", str(tmp_path / "pngs"), *DONE_WHEN, "--output-dir", str(out), "--resume")
    assert r.returncode == 1 and "Cannot resume" in r.stderr and "dataset:" in r.stderr


@pytest.mark.slow  # the CLI in a subprocess, 3 trials
def test_npz_28x28_grayscale_with_its_test_split_end_to_end(tmp_path):
    x, y = images(30, classes=2, shape=(28, 28))
    x_test, y_test = images(10, classes=2, shape=(28, 28), seed=1)
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=x_test, y_test=y_test)
    out = tmp_path / "run"
    r = cli("--dataset", str(tmp_path / "d.npz"), *DONE_WHEN, "--output-dir", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = check_exported(out, x_test[..., None], y_test, (28, 28, 1))
    assert summary["split"]["test_split"] == "given" and summary["split"]["test_size"] == 20


@pytest.mark.slow  # 3 trials
def test_tfds_under_mock_data_end_to_end(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    from kerasnas import run

    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=64):
        code = run.main(["--dataset", "tfds:cifar10", *DONE_WHEN, "--output-dir", str(out)])
        assert code == 0
        ds = tfds.load("cifar10", split="test", as_supervised=True)
        x_test, y_test = (np.stack(a) for a in zip(*tfds.as_numpy(ds)))
    summary = check_exported(out, x_test, y_test, (32, 32, 3))
    assert summary["dataset"] == {"tfds": "cifar10", "version": "3.0.2", "image_size": None}


@pytest.mark.slow  # two searches
def test_arrays_from_python_on_a_non_square_size(tmp_path):
    from kerasnas.datasets import make_splits
    from kerasnas.search import search

    x, y = images(20, classes=3, shape=(24, 40, 3))
    data = make_splits((x, y), seed=0)
    result = search("resnet", "random", data, max_trials=1, epochs=1, batch_size=16,
                    directory=str(tmp_path / "run"), reporter=Reporter(),
                    space_options={"stem_width": 4, "stages": 1, "blocks_per_stage": 1})
    model = keras.models.load_model(result.model_path)
    accuracy = float(np.mean(model.predict(data.x_test, verbose=0).argmax(axis=1) == data.y_test))
    assert model.input_shape == (None, 24, 40, 3)
    assert accuracy == pytest.approx(result.test_accuracy, abs=1e-6)
    # search() also takes the arrays themselves (split with the defaults and its seed).
    again = search("resnet", "random", (x, y), max_trials=1, epochs=1, batch_size=16,
                   directory=str(tmp_path / "run2"), reporter=Reporter(),
                   space_options={"stem_width": 4, "stages": 1, "blocks_per_stage": 1})
    assert again.summary["dataset"] == result.summary["dataset"]
    assert again.trials.val_accuracy.tolist() == result.trials.val_accuracy.tolist()


def test_a_streamed_folder_searches_and_retrains_from_disk(tmp_path):
    from kerasnas.datasets import StreamedSplits, make_splits
    from kerasnas.search import search

    write_folder(tmp_path / "pngs", 16, classes=2, shape=(20, 28, 1))
    data = make_splits(str(tmp_path / "pngs"), memory_limit_mb=0.001)
    assert isinstance(data, StreamedSplits)
    result = search("resnet", "random", data, max_trials=1, epochs=1, batch_size=8,
                    directory=str(tmp_path / "run"), reporter=Reporter(), final_epochs=1,
                    space_options={"stem_width": 4, "stages": 1, "blocks_per_stage": 1})
    assert result.summary["split"]["in_memory"] is False
    in_memory = make_splits(str(tmp_path / "pngs"))  # the same split, read into memory
    for name, key in (("best_model.keras", "test_accuracy"), ("final_model.keras", "final_test_accuracy")):
        model = keras.models.load_model(tmp_path / "run" / name)
        predicted = model.predict(in_memory.x_test, verbose=0).argmax(axis=1)
        assert float(np.mean(predicted == in_memory.y_test)) == pytest.approx(result.summary[key], abs=1e-6)
