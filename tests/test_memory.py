"""Memory across trials: a finished trial's traced graphs are freed (keras-tuner #873, #395)."""

import gc

import keras
import numpy as np
import pytest

from kerasnas.strategy import released_custom_gradients


def step_graphs():
    """How many traced Keras train/test steps are alive."""
    from tensorflow.python.framework import func_graph

    gc.collect()
    return sum(isinstance(o, func_graph.FuncGraph) and o.name == "one_step_on_data"
               for o in gc.get_objects())


def fit_and_drop(release):
    keras.backend.clear_session()
    x = np.zeros((8, 4), "float32")
    y = np.zeros((8,), "int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    if release:
        with released_custom_gradients():
            model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    else:
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)


def test_custom_gradients_of_a_trial_are_released():
    keras.backend.clear_session()
    base = step_graphs()
    for _ in range(3):
        fit_and_drop(release=True)
    assert step_graphs() == base
    # Without it the train step of each fit stays alive. If this fails, TensorFlow
    # fixed tensorflow/tensorflow#97697 and `released_custom_gradients` can go.
    fit_and_drop(release=False)
    per_fit = step_graphs() - base
    assert per_fit > 0
    fit_and_drop(release=False)
    assert step_graphs() == base + 2 * per_fit


def test_entries_made_before_the_block_are_kept():
    from tensorflow.python.framework import ops

    registry = ops._gradient_registry._registry
    fit_and_drop(release=False)
    outside = {n for n in registry if n.startswith("CustomGradient-")}
    assert outside
    fit_and_drop(release=True)
    assert {n for n in registry if n.startswith("CustomGradient-")} == outside


def test_a_search_keeps_no_finished_trial_graphs(synthetic_splits, tmp_path):
    from kerasnas.progress import Reporter
    from kerasnas.search import search
    from kerasnas.spaces.resnet import ResNetSpace

    keras.backend.clear_session()
    base = step_graphs()
    result = search(ResNetSpace(stem_width=8, stages=1, blocks_per_stage=1), "random", synthetic_splits,
                    max_trials=3, epochs=1, directory=str(tmp_path / "run"), reporter=Reporter())
    assert len(result.trials) == 3
    # Once the search has returned, no trial's steps are alive (without the release: 6).
    assert step_graphs() == base


@pytest.mark.slow  # the benchmark in a subprocess, on PyTorch
def test_memory_benchmark_measures_another_backend_and_keeps_the_saved_rows(tmp_path):
    """`python -m benchmarks.memory` on PyTorch: a section of its own, TensorFlow's rows untouched."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    pytest.importorskip("torch")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    saved = tmp_path / "memory.json"
    shutil.copy(os.path.join(root, "reports", "memory.json"), saved)
    before = json.loads(saved.read_text())
    subprocess.run([sys.executable, "-m", "benchmarks.memory", "--backends",
                    "torch", "--trials", "2", "--train-size", "64", "--out",
                    str(tmp_path / "memory.md")], check=True, cwd=root, capture_output=True)
    raw = json.loads(saved.read_text())
    assert raw["rows"] == before["rows"] and raw["command"] == before["command"]
    torch_run = raw["backends"]["torch"]
    assert torch_run["command"].endswith("--backends torch")
    assert len(torch_run["rows"]) == 2
    # A finished trial's model does not outlive it: as many models alive after trial 2 as after 1.
    assert torch_run["rows"][1][1] == torch_run["rows"][0][1]
    report = (tmp_path / "memory.md").read_text()
    assert "Growth from trial 3 to trial 20" in report  # TensorFlow's, from the saved rows
    assert "## On the torch backend" in report and "Growth from trial 2 to trial 2" in report
