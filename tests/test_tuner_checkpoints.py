"""`NASTuner(checkpoint_epochs=True)`: a trial killed mid-way goes on from its last epoch."""

import json
import os

import keras
import keras_tuner
import numpy as np
import pytest

from kerasnas.oracles import RandomOracle
from kerasnas.spaces import ResNetSpace
from kerasnas.tuner import CHECKPOINT_STATE, MODEL_FILE, NASTuner


class Killed(Exception):
    pass


class KillAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise Killed


def tuner(tmp_path, data, checkpoint_epochs=True):
    space = ResNetSpace(stages=1, blocks_per_stage=1)
    space.for_data(input_shape=data.input_shape, num_classes=data.num_classes, mean=data.mean,
                   variance=data.variance)
    oracle = RandomOracle(objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=1,
                          seed=0)
    return NASTuner(oracle, space, seed=0, lr_schedule="cosine", directory=str(tmp_path),
                    project_name="p", checkpoint_epochs=checkpoint_epochs, overwrite=True)


def fit_args(data):
    return (lambda: data.dataset("train", batch_size=32, shuffle=True, seed=0),
            lambda: data.dataset("val", batch_size=32))


def test_a_trial_killed_after_an_epoch_goes_on_from_it(tmp_path, synthetic_splits):
    t = tuner(tmp_path, synthetic_splits)
    trial = t.oracle.create_trial("tuner0")
    with pytest.raises(Killed):
        t.run_trial(trial, *fit_args(synthetic_splits), epochs=3, callbacks=[KillAfter(2)])
    directory = tmp_path / "p" / f"trial_{trial.trial_id}"
    assert (directory / CHECKPOINT_STATE).is_file() and not (directory / MODEL_FILE).exists()
    trained_before = json.loads((directory / CHECKPOINT_STATE).read_text())["train_seconds"]
    steps = {}

    class Steps(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            steps["first"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    metrics = t.run_trial(trial, *fit_args(synthetic_splits), epochs=3, callbacks=[Steps()])
    # Killed at the end of epoch 2 before its checkpoint was written: epoch 1's is the last.
    assert metrics["resumed_at_epoch"] == 1 and metrics["epochs_trained"] == 3
    assert sorted(k for k in metrics if k.startswith("val_accuracy@")) == [
        "val_accuracy@1", "val_accuracy@2", "val_accuracy@3"]
    assert steps["first"] == 7  # 200 images at batch 32: the schedule goes on from step 7
    assert metrics["train_seconds"] > trained_before > 0  # epoch 1's seconds count too
    assert (directory / MODEL_FILE).is_file() and not (directory / CHECKPOINT_STATE).exists()


def test_a_killed_trial_resumed_ends_with_the_weights_of_an_unkilled_one(tmp_path, synthetic_splits):
    whole = tuner(tmp_path / "whole", synthetic_splits)
    trial = whole.oracle.create_trial("tuner0")
    unkilled = whole.run_trial(trial, *fit_args(synthetic_splits), epochs=3)
    cut = tuner(tmp_path / "cut", synthetic_splits)
    trial = cut.oracle.create_trial("tuner0")
    with pytest.raises(Killed):
        cut.run_trial(trial, *fit_args(synthetic_splits), epochs=3, callbacks=[KillAfter(2)])
    resumed = cut.run_trial(trial, *fit_args(synthetic_splits), epochs=3)
    # Epochs 2 and 3 again, with the batches, rates and weights they had unkilled.
    assert resumed["resumed_at_epoch"] == 1
    assert [resumed[f"val_accuracy@{k}"] for k in (1, 2, 3)] == [
        unkilled[f"val_accuracy@{k}"] for k in (1, 2, 3)]
    ours, theirs = (keras.models.load_model(os.path.join(t.get_trial_dir(trial.trial_id), MODEL_FILE))
                    for t in (cut, whole))
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_checkpoints_a_killed_trial_starts_again(tmp_path, synthetic_splits):
    t = tuner(tmp_path, synthetic_splits, checkpoint_epochs=False)
    trial = t.oracle.create_trial("tuner0")
    with pytest.raises(Killed):
        t.run_trial(trial, *fit_args(synthetic_splits), epochs=3, callbacks=[KillAfter(2)])
    assert not (tmp_path / "p" / f"trial_{trial.trial_id}" / CHECKPOINT_STATE).exists()
    metrics = t.run_trial(trial, *fit_args(synthetic_splits), epochs=3)
    assert "resumed_at_epoch" not in metrics and metrics["epochs_trained"] == 3


def test_a_resumed_trial_goes_on_with_the_dropout_generators_state(tmp_path, synthetic_splits):
    from kerasnas.tuner import unsaved_states

    t = tuner(tmp_path, synthetic_splits)
    t.hypermodel.dropout = 0.5  # a knob pinned: the model has a dropout layer
    trial = t.oracle.create_trial("tuner0")
    seen = {}

    class States(keras.callbacks.Callback):
        def __init__(self, key, at):
            super().__init__()
            self.key, self.at = key, at

        def record(self):
            seen[self.key] = [keras.ops.convert_to_numpy(v).tolist()
                              for v in unsaved_states(self.model)]

        def on_train_begin(self, logs=None):
            if self.at == "begin":
                self.record()

        def on_epoch_end(self, epoch, logs=None):
            if self.at == epoch + 1:
                self.record()

    with pytest.raises(Killed):
        t.run_trial(trial, *fit_args(synthetic_splits), epochs=3,
                    callbacks=[States("after epoch 1", 1), KillAfter(2)])
    t.run_trial(trial, *fit_args(synthetic_splits), epochs=3, callbacks=[States("resumed", "begin")])
    # Keras saves no generator state: loaded alone, the model would draw epoch 1's masks again.
    assert len(seen["after epoch 1"]) == 1 and seen["after epoch 1"][0][1] > 0
    assert seen["resumed"] == seen["after epoch 1"]
