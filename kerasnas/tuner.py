"""The tuner every kerasnas search runs: trains a trial, records what a NAS user needs.

Per trial it records the validation accuracy after the last epoch (the model
it exports is that one, so the score and the saved model agree), the
parameter count and the training seconds, saves the trained model in the
trial's folder, and prints one compact line.
"""

import math
import os
import time

import keras
import keras_tuner
from keras_tuner.engine import trial as trial_module

MODEL_FILE = "model.keras"


class NaNGuard(keras.callbacks.Callback):
    """Stops a trial whose loss is no longer finite, so it is recorded as failed."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            self.nan_at = batch


class NASTuner(keras_tuner.Tuner):
    """A `keras_tuner.Tuner` for architecture search on (train, validation) datasets.

    Args:
        oracle: A `keras_tuner.Oracle`.
        hypermodel: A `keras_tuner.HyperModel`.
        seed: Base seed; trial k trains with seed `seed + k` (weights, shuffling).
        log: A function taking one line of text (None: silent).
        describe: A function from hyperparameter values to a short text.
        **kwargs: Passed to `keras_tuner.Tuner` (directory, project_name,
            overwrite, distribution_strategy, ...).
    """

    def __init__(self, oracle, hypermodel, *, seed=0, log=print, describe=None, **kwargs):
        self.seed = seed
        self.log = log
        self._describe = describe
        self.search_started = time.time()
        super().__init__(oracle, hypermodel, **kwargs)

    def run_trial(self, trial, train_data, validation_data, *, epochs, verbose=0, callbacks=()):
        hp = trial.hyperparameters
        keras.utils.set_random_seed(self.seed + int(trial.trial_id))
        model = self._try_build(hp)
        guard = NaNGuard()
        start = time.time()
        with keras_tuner.engine.tuner.maybe_distribute(self.distribution_strategy):
            history = model.fit(train_data, validation_data=validation_data, epochs=epochs,
                                verbose=verbose, callbacks=[guard, *callbacks],
                                shuffle=False)  # the dataset shuffles itself
        seconds = time.time() - start
        if hasattr(guard, "nan_at"):
            raise keras_tuner.errors.FailedTrialError(
                f"loss became NaN at batch {guard.nan_at} of epoch {len(history.epoch)}")
        val = history.history["val_accuracy"][-1]
        model.save(os.path.join(self.get_trial_dir(trial.trial_id), MODEL_FILE))
        return {
            "val_accuracy": float(val),
            "val_loss": float(history.history["val_loss"][-1]),
            "params": float(model.count_params()),
            "train_seconds": seconds,
            "ended_at": time.time(),
        }

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.log is not None:
            self.log(self.trial_line(self.oracle.get_trial(trial.trial_id)))

    def describe(self, values):
        """The space's short text for `values`, else the values themselves."""
        return (self._describe(values) if self._describe else "") or short_values(values)

    def trial_line(self, trial):
        """One line: i/N, how the values were chosen, values, accuracy, seconds, best so far."""
        notes = getattr(self.oracle, "notes", {}).get(trial.trial_id, {})
        phase = notes.get("phase", "")
        if notes.get("parent") is not None:
            phase += f" of {notes['parent']} ({notes.get('mutation', '')})"
        done = sum(t.status in (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)
                   for t in self.oracle.trials.values())
        if trial.status == trial_module.TrialStatus.COMPLETED:
            m = trial.metrics
            result = (f"val_acc {m.get_last_value('val_accuracy'):.4f} "
                      f"{m.get_last_value('train_seconds'):6.1f}s")
        else:
            reason = (trial.message or "").strip().splitlines()[-1:] or [""]
            result = f"{trial.status}: {reason[0][:80]}"
        best = self.oracle.get_best_trials(1)
        best_text = (f"best {best[0].score:.4f} (#{best[0].trial_id})"
                     if best and best[0].score is not None else "best -")
        elapsed = time.time() - self.search_started
        return (f"[{done}/{self.oracle.max_trials}] #{trial.trial_id} {phase:<10} "
                f"{self.describe(trial.hyperparameters.values)} | {result} | {best_text} | "
                f"{elapsed / 60:.1f} min")


def short_values(values):
    """Hyperparameter values in short form: `name=value` with 3 significant digits."""
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    return " ".join(f"{k}={fmt(v)}" for k, v in values.items())
