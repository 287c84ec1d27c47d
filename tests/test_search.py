import json
import os

import keras
import numpy as np
import pandas as pd
import pytest

from kerasnas.datasets import to_dataset
from kerasnas.progress import ConsoleReporter, Reporter
from kerasnas.search import search
from kerasnas.spaces.resnet import ResNetSpace

TINY = dict(stem_width=8, stages=1, blocks_per_stage=1, kernel_size=3, dropout=0.0)


def run(tmp_path, splits, **kw):
    args = dict(max_trials=2, epochs=1, batch_size=64, directory=str(tmp_path / "run"), seed=1,
                space_options=TINY, reporter=Reporter())
    args.update(kw)
    return search("resnet", "random", splits, **args)


def test_search_writes_table_summary_and_a_loadable_best_model(tmp_path, synthetic_splits):
    d = tmp_path / "run"
    rows_seen = []  # results.csv as each trial's line is printed: a killed search keeps its table

    def log(line):
        if line.startswith("["):
            rows_seen.append(pd.read_csv(d / "results.csv").status.tolist())

    result = run(tmp_path, synthetic_splits, reporter=ConsoleReporter(log))
    assert rows_seen == [["COMPLETED"], ["COMPLETED", "COMPLETED"]]
    table = pd.read_csv(d / "results.csv")
    assert table.trial_id.tolist() == [0, 1]
    assert set(table.status) == {"COMPLETED"}
    assert set(table.phase) == {"random"}
    for col in ("val_accuracy", "params", "train_seconds", "arch", "hp.learning_rate", "hp.optimizer"):
        assert col in table
    summary = json.loads((d / "summary.json").read_text())
    assert summary["trials_completed"] == 2 and summary["train_size"] == 200
    assert summary["lr_schedule"] == "cosine" and summary["batch_size"] == 64
    assert (summary["space"], summary["oracle"]) == ("resnet", "random")  # names, as given
    best = table.loc[table.val_accuracy.idxmax()]
    assert summary["best_val_accuracy"] == pytest.approx(best.val_accuracy)
    # The exported model is the best trial's: it scores its validation accuracy again,
    # and the test accuracy in the summary is its accuracy on the test set.
    model = keras.models.load_model(d / "best_model.keras")
    val = model.evaluate(to_dataset(synthetic_splits.x_val, synthetic_splits.y_val, batch_size=64),
                         verbose=0, return_dict=True)["accuracy"]
    assert val == pytest.approx(best.val_accuracy, abs=1e-6)
    test = model.evaluate(to_dataset(synthetic_splits.x_test, synthetic_splits.y_test, batch_size=64),
                          verbose=0, return_dict=True)["accuracy"]
    assert summary["test_accuracy"] == pytest.approx(test, abs=1e-6) == result.test_accuracy
    assert model.count_params() == best.params


@pytest.mark.slow  # two searches
def test_same_seed_same_trials(tmp_path, synthetic_splits):
    a = run(tmp_path / "a", synthetic_splits, max_trials=1)
    keras.utils.set_random_seed(123)  # whatever ran before in the process: same data order
    b = run(tmp_path / "b", synthetic_splits, max_trials=1)
    cols = [c for c in a.trials if c.startswith("hp.")] + ["val_accuracy", "val_loss"]
    pd.testing.assert_frame_equal(a.trials[cols], b.trials[cols])


def test_existing_run_is_never_silently_overwritten(tmp_path, synthetic_splits):
    run(tmp_path, synthetic_splits, max_trials=1)
    with pytest.raises(ValueError, match="--resume .* or --overwrite"):
        run(tmp_path, synthetic_splits, max_trials=1)
    with pytest.raises(ValueError, match="seed: 1 then, 2 now"):
        run(tmp_path, synthetic_splits, max_trials=2, seed=2, resume=True)
    resumed = run(tmp_path, synthetic_splits, max_trials=2, resume=True)
    assert resumed.trials.trial_id.tolist() == ["0", "1"]  # trial 0 kept, one more run


def test_a_folder_that_is_not_a_run_is_left_alone(tmp_path, synthetic_splits):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a kerasnas run"):
        run(tmp_path, synthetic_splits, overwrite=True)
    assert (tmp_path / "run" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("kw, match", [({"max_trials": 0}, "max_trials"), ({"epochs": 0}, "epochs"),
                                       ({"batch_size": -1}, "batch_size")])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, synthetic_splits, kw, match):
    with pytest.raises(ValueError, match=match):
        run(tmp_path, synthetic_splits, **kw)
    assert not os.path.exists(tmp_path / "run")


def test_a_nan_trial_is_recorded_as_failed_and_the_search_goes_on(tmp_path, synthetic_splits):
    class Exploding(ResNetSpace):
        def build(self, hp):
            model = super().build(hp)
            if hp.get("learning_rate") > 0.5:
                model.compile(optimizer=keras.optimizers.SGD(1e12), loss="sparse_categorical_crossentropy",
                              metrics=["accuracy"])
            return model

    import keras_tuner

    lr = keras_tuner.engine.hyperparameters.Choice("lr", [0.9, 0.001], ordered=False)
    space = Exploding(learning_rate=lr, optimizer="adam", **TINY)
    result = search(space, "random", synthetic_splits, max_trials=4, epochs=1, batch_size=64,
                    directory=str(tmp_path / "run"), seed=0, reporter=Reporter(), max_failures=5)
    t = result.trials
    assert sorted(t.status.unique()) == ["COMPLETED", "FAILED"]
    assert (t.loc[t.status == "FAILED", "hp.learning_rate"] == 0.9).all()
    assert t.loc[t.status == "FAILED", "message"].str.contains("NaN").all()
    assert np.isfinite(result.test_accuracy)
