"""The tuner every kerasnas search runs: trains a trial, records what a NAS user needs.

Per trial it records the validation accuracy after the last epoch (the model
it exports is that one, so the score and the saved model agree), the
parameter count and the training seconds, saves the trained model in the
trial's folder, and prints one compact line.
"""

import contextlib
import ctypes
import ctypes.util
import gc
import json
import math
import os
import time

import keras
import keras_tuner
import pandas as pd
from keras_tuner.engine import trial as trial_module
from keras_tuner.src import utils as kt_utils

from kerasnas import distributed, strategy
from kerasnas.schedules import make_schedule

MODEL_FILE = "model.keras"
ERROR_FILE = "error.txt"
RESULTS_FILE = "results.csv"


def _atomic_save_json(path, obj):
    """KerasTuner's `utils.save_json`, but a kill -9 mid-write leaves the old file whole."""
    text = json.dumps(obj)
    with open(f"{path}.tmp", "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f"{path}.tmp", path)
    return text


# Oracle, trial and tuner states are all written through this one function; a
# truncated oracle.json or trial.json would make the search impossible to resume.
kt_utils.save_json = _atomic_save_json


def return_freed_memory():
    """Collects garbage and hands freed heap back to the OS (glibc only).

    A finished trial frees tens of MiB in pieces of many sizes; glibc keeps
    them in its arenas and resident memory creeps up trial after trial
    (reports/memory.md). `malloc_trim` returns them; elsewhere this only collects.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc


class NaNGuard(keras.callbacks.Callback):
    """Stops a trial whose loss is no longer finite, so it is recorded as failed.

    Checked once per epoch (a NaN loss makes the epoch's mean NaN): a per-batch
    check would pull every batch's loss to the host and cost time in every trial.
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            self.nan_at = epoch


class NASTuner(keras_tuner.Tuner):
    """A `keras_tuner.Tuner` for architecture search on (train, validation) datasets.

    `search(train, validation, epochs=...)` takes datasets, or functions that
    make them: each trial calls these after seeding, so its data order depends
    only on the seed and its trial id, whatever ran before in the process.

    Args:
        oracle: A `keras_tuner.Oracle`.
        hypermodel: A `keras_tuner.HyperModel`.
        seed: Base seed; trial k trains with seed `seed + k` (weights, shuffling).
        log: A function taking one line of text (None: silent).
        describe: A function from hyperparameter values to a short text.
        worker_timeout: Chief/worker mode: seconds of silence after which the
            chief re-queues a worker's trial (workers beat 4 times as often).
        tensorboard_dir: If set, each trial writes its scalars and KerasTuner's
            HParams under this folder.
        lr_schedule: "cosine" (warm-up then cosine decay over each trial's steps)
            or "constant" (`kerasnas.schedules`).
        results_path: If set, the trials table is rewritten there (atomically)
            after every trial, so a running or killed search can be read. A
            resumed search reads it back to keep the earlier trials' times.
        **kwargs: Passed to `keras_tuner.Tuner` (directory, project_name,
            overwrite, distribution_strategy, ...).
    """

    def __init__(self, oracle, hypermodel, *, seed=0, log=print, describe=None,
                 worker_timeout=120.0, tensorboard_dir=None, results_path=None,
                 lr_schedule="constant", **kwargs):
        make_schedule(lr_schedule)  # validates the name
        self.lr_schedule = lr_schedule
        self.seed = seed
        self.results_path = results_path
        self.tensorboard_dir = tensorboard_dir
        self.worker_timeout = worker_timeout
        self.log = log
        self._describe = describe
        self.best_in_memory = None  # (trial id, val accuracy, model) of this process's best
        super().__init__(oracle, hypermodel, **kwargs)
        # A resumed search's clock goes on from the earlier run's last finished
        # trial: its time counts, the interrupted trial's lost work does not.
        self.earlier_end_seconds = ({} if distributed.role() == "worker"
                                    else earlier_end_seconds(self.oracle.trials, results_path))
        self.resumed_after = max(self.earlier_end_seconds.values(), default=0.0)
        self.search_started = time.time() - self.resumed_after

    def search(self, *fit_args, **fit_kwargs):
        if distributed.role() == "chief":
            # KerasTuner's own chief hangs when a worker dies; ours does not.
            self.save()
            self.oracle.verbose = 0  # one line per trial, ours
            log = self.log or (lambda line: None)
            distributed.serve(self.oracle, worker_timeout=self.worker_timeout, log=log,
                              on_trial_end=self._recorded)
            return
        super().search(*fit_args, **fit_kwargs)

    def run_trial(self, trial, *args, **kwargs):
        beat = (distributed.Heartbeat(self.oracle, trial.trial_id, self.worker_timeout / 4)
                if distributed.role() == "worker" else contextlib.nullcontext())
        # Frees the trial's traced graphs once it ends (reports/memory.md).
        with beat, strategy.released_custom_gradients():
            return self._train(trial, *args, **kwargs)

    def _train(self, trial, train_data, validation_data, *, epochs, verbose=0, callbacks=()):
        hp = trial.hyperparameters
        keras.utils.set_random_seed(self.seed + int(trial.trial_id))
        # Made after seeding: a dataset reshuffles at every pass, so one shared
        # dataset gave a trial another order after a resume than without one.
        train_data = train_data() if callable(train_data) else train_data
        validation_data = validation_data() if callable(validation_data) else validation_data
        model = self._try_build(hp)
        guard = NaNGuard()
        schedule = make_schedule(self.lr_schedule)
        callbacks = [guard, *([schedule] if schedule else []), *callbacks]
        if self.tensorboard_dir:
            callbacks.append(keras.callbacks.TensorBoard(log_dir=self.tensorboard_dir))
            # KerasTuner's own hook: a folder per trial and the HParams callback.
            self._configure_tensorboard_dir(callbacks, trial)
        start = time.time()
        with keras_tuner.engine.tuner.maybe_distribute(self.distribution_strategy):
            history = model.fit(train_data, validation_data=validation_data, epochs=epochs,
                                verbose=verbose, callbacks=callbacks,
                                shuffle=False)  # the dataset shuffles itself
        seconds = time.time() - start
        if hasattr(guard, "nan_at"):
            raise keras_tuner.errors.FailedTrialError(
                f"loss became NaN in epoch {guard.nan_at + 1}")
        val = history.history["val_accuracy"][-1]
        model.save(os.path.join(self.get_trial_dir(trial.trial_id), MODEL_FILE))
        best = self.best_in_memory
        if best is None or val > best[1]:
            # Kept so the final test evaluation reuses its compiled graph instead
            # of reloading and re-tracing (seconds per search, see benchmarks/overhead.py).
            self.best_in_memory = (trial.trial_id, val, model)
        return {
            "val_accuracy": float(val),
            "val_loss": float(history.history["val_loss"][-1]),
            "params": float(model.count_params()),
            "train_seconds": seconds,
            "ended_at": time.time(),
        }

    def on_trial_end(self, trial):
        if trial.message:  # kept beside the trial: the message does not cross gRPC
            with open(os.path.join(self.get_trial_dir(trial.trial_id), ERROR_FILE), "w") as f:
                f.write(trial.message)
        super().on_trial_end(trial)
        return_freed_memory()
        self._recorded(self.oracle.get_trial(trial.trial_id))

    def _recorded(self, trial):
        """After a trial ends: the table on disk (not on a worker), then its console line."""
        if self.results_path and distributed.role() != "worker":
            tmp = f"{self.results_path}.tmp"
            self.results_table().to_csv(tmp, index=False)
            os.replace(tmp, self.results_path)
        if self.log is not None:
            self.log(self.trial_line(trial))

    def results_table(self):
        """One row per trial: id, status, how chosen, architecture, metrics, values."""
        notes = getattr(self.oracle, "notes", {})
        rows = []
        for trial_id, trial in sorted(self.oracle.trials.items()):
            row = trial_row(trial, notes.get(trial_id, {}), self.describe, self.search_started,
                            self.failure_reason(trial))
            if trial_id in self.earlier_end_seconds:  # ended before a resume
                row["end_seconds"] = self.earlier_end_seconds[trial_id]
            rows.append(row)
        return pd.DataFrame(rows)

    def describe(self, values):
        """The space's short text for `values`, else the values themselves."""
        return (self._describe(values) if self._describe else "") or short_values(values)

    def trial_line(self, trial):
        """One line: i/N, how the values were chosen, values, accuracy, seconds, best so far."""
        notes = getattr(self.oracle, "notes", {}).get(trial.trial_id, {})
        phase = notes.get("phase", "")
        if notes.get("parent") is not None:
            phase += f" of {notes['parent']} ({notes.get('mutation', '')})"
        if trial.status == trial_module.TrialStatus.COMPLETED:
            m = trial.metrics
            result = (f"val_acc {m.get_last_value('val_accuracy'):.4f} "
                      f"{m.get_last_value('train_seconds'):6.1f}s")
        else:
            result = f"{trial.status}: {self.failure_reason(trial)[:80]}"
        if distributed.role() == "worker":  # the chief keeps the tally
            return f"{self.tuner_id}: #{trial.trial_id} {phase} | {result}"
        done = sum(t.status in (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)
                   for t in self.oracle.trials.values())
        best = self.oracle.get_best_trials(1)
        best_text = (f"best {best[0].score:.4f} (#{best[0].trial_id})"
                     if best and best[0].score is not None else "best -")
        elapsed = time.time() - self.search_started
        return (f"[{done}/{self.oracle.max_trials}] #{trial.trial_id} {phase:<10} "
                f"{self.describe(trial.hyperparameters.values)} | {result} | {best_text} | "
                f"{elapsed / 60:.1f} min")

    def failure_reason(self, trial):
        """The last line of a failed trial's message (also on a chief, from the worker's file)."""
        message = trial.message
        path = os.path.join(self.project_dir, f"trial_{trial.trial_id}", ERROR_FILE)
        if not message and os.path.isfile(path):
            with open(path) as f:
                message = f.read()
        return (message or "").strip().splitlines()[-1] if message and message.strip() else ""


def trial_row(trial, note, describe, started, reason=""):
    """A trial's row of results.csv; `started` is the search's start (time.time())."""
    m = trial.metrics
    get = lambda name: m.get_last_value(name) if m.exists(name) else None  # noqa: E731
    values = trial.hyperparameters.values
    return {
        "trial_id": trial.trial_id, "status": trial.status, "phase": note.get("phase"),
        "parent": note.get("parent"), "mutation": note.get("mutation"),
        "arch": describe(values), "val_accuracy": get("val_accuracy"),
        "val_loss": get("val_loss"), "params": get("params"),
        "train_seconds": get("train_seconds"),
        "end_seconds": (get("ended_at") - started) if get("ended_at") else None,
        "message": reason or None,
        **{f"hp.{k}": v for k, v in values.items()},
    }


def earlier_end_seconds(trials, results_path=None):
    """Each ended trial's end on the search clock, for a search being resumed.

    Read from the earlier run's results table where it has one; otherwise (a run
    from before kerasnas wrote that table) measured from the first trial's start,
    which assumes the earlier trials ran in one process.

    Args:
        trials: The reloaded oracle's trials, `{trial_id: Trial}`.
        results_path: The earlier run's results.csv, if any.

    Returns:
        `{trial_id: seconds}` for the trials that ended; empty for a fresh search.
    """
    ended = {i: t for i, t in trials.items() if t.metrics.exists("ended_at")}
    if not ended:
        return {}
    if results_path and os.path.isfile(results_path):
        table = pd.read_csv(results_path, dtype={"trial_id": str})
        known = table[table.end_seconds.notna() & table.trial_id.isin(list(ended))]
        return dict(zip(known.trial_id, known.end_seconds.astype(float)))
    last = lambda t, name: t.metrics.get_last_value(name)  # noqa: E731
    start = min(last(t, "ended_at") - last(t, "train_seconds") for t in ended.values())
    return {i: last(t, "ended_at") - start for i, t in ended.items()}


def short_values(values):
    """Hyperparameter values in short form: `name=value` with 3 significant digits."""
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    return " ".join(f"{k}={fmt(v)}" for k, v in values.items())
