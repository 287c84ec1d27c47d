"""kerasnas.reference: the network without search that a run sets beside what it returns."""

import json
import math
import types

import keras
import numpy as np
import pandas as pd
import pytest

from kerasnas.progress import Reporter, summary_text
from kerasnas.reference import plain_cnn, reference_epochs, reference_model
from kerasnas.search import search
from kerasnas.settings import SearchSettings
from kerasnas.spaces import ResNetSpace


def space():
    return ResNetSpace(stages=1, blocks_per_stage=1, stem_width=16, kernel_size=3)


def test_the_plain_cnn_is_the_benchmarks_baseline_behind_a_normalisation():
    from benchmarks.comparison.frameworks.baseline_runner import plain_cnn as baseline

    ours, theirs = plain_cnn(), baseline()
    assert ours.count_params() == theirs.count_params() == 1_199_882
    assert [type(layer).__name__ for layer in ours.layers[2:]] == \
        [type(layer).__name__ for layer in theirs.layers]


@pytest.mark.slow
def test_a_run_trains_the_reference_as_long_as_a_trial_and_reports_it(tmp_path, synthetic_splits):
    result = search(space(), "random", synthetic_splits, max_trials=2, epochs=2, seed=0,
                    directory=str(tmp_path), reporter=Reporter(), reference="plain-cnn",
                    objectives="accuracy,params")
    ref = result.summary["reference_result"]
    assert (ref["name"], ref["epochs"], ref["optimizer"]) == ("plain-cnn", 2, "Adam")
    assert ref["params"] == plain_cnn().count_params() and ref["latency_ms"] > 0
    assert 0.0 <= ref["test_accuracy"] <= 1.0 and 0.0 <= ref["accuracy"] <= 1.0
    assert json.loads((tmp_path / "summary.json").read_text())["reference_result"] == ref
    assert result.summary["latency_protocol"]["batch"] == 1
    report = (tmp_path / "report.md").read_text()
    assert f"- plain-cnn without search, 2 epochs (`--reference`): test accuracy " \
           f"**{ref['test_accuracy']:.4f}**" in report
    assert (tmp_path / "report_front.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "results.csv")
    assert f"plain-cnn without search: test acc {ref['test_accuracy']:.4f}; " in \
        summary_text(table, result.summary)


def test_a_budgeted_run_gives_the_reference_its_whole_budget():
    run = types.SimpleNamespace(settings=SearchSettings(epochs=3))
    assert reference_epochs(run, None) == 3
    assert reference_epochs(run, {"epochs_used": 6.0}) == 6
    assert reference_epochs(run, {"epochs_used": 6.25}) == math.ceil(6.25)
    assert reference_epochs(run, {"epochs_used": 0.3}) == 1


def test_a_saved_model_is_trained_afresh_with_its_own_optimizer(tmp_path, synthetic_splits):
    saved = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    saved.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    path = str(tmp_path / "mine.keras")
    saved.save(path)
    model, name = reference_model(path, synthetic_splits)
    assert name == "mine.keras" and isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert not np.allclose(model.layers[-1].get_weights()[0], saved.layers[-1].get_weights()[0])


@pytest.mark.parametrize("value, message", [
    ("resnet50", r"`reference` must be plain-cnn or the path of a saved \.keras model; "
                 r"got 'resnet50'\."),
    ("gone.keras", r"got 'gone.keras' \(no such file\)\."),
])
def test_an_unknown_reference_is_refused_by_the_settings(value, message):
    with pytest.raises(ValueError, match=message):
        SearchSettings(reference=value)


def test_a_saved_model_for_other_images_is_refused_before_anything_is_written(tmp_path,
                                                                               synthetic_splits):
    other = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    path = str(tmp_path / "rgb.keras")
    other.save(path)
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"takes \(32, 32, 3\) images to 10 classes; the data "
                                         r"has \(28, 28, 1\) images in 10 classes"):
        search(space(), "random", synthetic_splits, max_trials=1, epochs=1,
               directory=str(out), reporter=Reporter(), reference=path)
    assert not out.exists()


def test_a_file_keras_cannot_load_is_refused_naming_it(tmp_path, synthetic_splits):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"Cannot load the reference .*broken\.keras: .* or "
                                         r"--reference plain-cnn\."):
        reference_model(str(path), synthetic_splits)
