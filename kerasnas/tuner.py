"""The tuner every kerasnas search runs: it trains trials, nothing else.

Per trial it records the validation accuracy after the last epoch (the model
it exports is that one, so the score and the saved model agree), the
parameter count and the training seconds, and saves the trained model in the
trial's folder. Display, results files and the clock belong to the `Run`
(`kerasnas.run_folder`), which listens to the tuner's trial ends.
"""

import contextlib
import glob
import json
import math
import os
import time

import keras
import keras_tuner
import numpy as np

from kerasnas import distributed, strategy
from kerasnas import keras_tuner_internals as internals
from kerasnas.datasets import endless
from kerasnas.early_stopping import as_stopper, epoch_metric
from kerasnas.files import write_json
from kerasnas.pareto import SIZES
from kerasnas.precision import check_precision, dtype_policy
from kerasnas.schedules import as_schedule

MODEL_FILE = "model.keras"
CHECKPOINT_FILE = "checkpoint.keras"  # a trial's model after its last whole epoch (or chunk)
CHECKPOINT_STATE = "checkpoint.json"  # {"chunks": epochs done, ...}: what goes on from it


def unsaved_states(model):
    """The model's variables that `model.save` leaves out: its random generators' states
    (dropout's), which a model loaded from a checkpoint would otherwise start again."""
    saved = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in saved]


def restore_unsaved_states(model, state):
    """Sets the states a checkpoint's `random_states` kept (`EpochCheckpoint`) on its loaded model,
    so that a resumed trial draws the dropout masks the uninterrupted one drew."""
    for variable, value in zip(unsaved_states(model), state.get("random_states", [])):
        variable.assign(np.asarray(value, dtype=variable.dtype))


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the model and `{"chunks": done, "random_states": ..., "train_seconds": ...,
    **state(logs)}` every `every` Keras epochs, not after the last (the trial's saved model
    supersedes it), each file written atomically. `random_states` are the variables the saved
    model lacks (`unsaved_states`); `train_seconds` the trial's training so far, `seconds_before`
    (a resumed trial's earlier ones) included; with a `clock` (the search's, a function), its
    reading as "clock" (`checkpoint_clock`)."""

    def __init__(self, directory, *, every, last, state=None, clock=None, seconds_before=0.0):
        super().__init__()
        self.directory, self.every, self.last, self.state = directory, every, last, state
        self.clock, self.seconds_before = clock, seconds_before

    def on_train_begin(self, logs=None):
        self.began = time.time()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        extra = self.state(logs or {}) if self.state is not None else {}
        if done % self.every == 0 and done < self.last:
            path = os.path.join(self.directory, CHECKPOINT_FILE)
            self.model.save(path + ".tmp.keras")
            os.replace(path + ".tmp.keras", path)
            states = [keras.ops.convert_to_numpy(v).tolist() for v in unsaved_states(self.model)]
            seconds = self.seconds_before + time.time() - self.began
            clock = {"clock": self.clock()} if self.clock is not None else {}
            write_json(os.path.join(self.directory, CHECKPOINT_STATE),
                       {"chunks": done, "random_states": states, "train_seconds": seconds, **clock,
                        **extra})


def checkpoint_clock(project_dir):
    """The latest search clock that a trial's checkpoint in `project_dir` recorded, 0.0 if none:
    where a run killed mid-trial had got to, so that its resume goes on from there."""
    latest = 0.0
    for path in glob.glob(os.path.join(project_dir, "trial_*", CHECKPOINT_STATE)):
        with open(path) as f:
            latest = max(latest, float(json.load(f).get("clock", 0.0)))
    return latest


def read_checkpoint(directory):
    """`(state, model path)` of a trial killed after a checkpoint, else None."""
    state_file = os.path.join(directory, CHECKPOINT_STATE)
    if not os.path.isfile(state_file):
        return None
    with open(state_file) as f:
        return json.load(f), os.path.join(directory, CHECKPOINT_FILE)


def drop_checkpoint(directory):
    """Removes a trial's checkpoint once its model is saved."""
    for name in (CHECKPOINT_FILE, CHECKPOINT_STATE):
        if os.path.exists(os.path.join(directory, name)):
            os.remove(os.path.join(directory, name))


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
        worker_timeout: Chief/worker mode: seconds of silence after which the
            chief re-queues a worker's trial (workers beat 4 times as often).
        tensorboard_dir: If set, each trial writes its scalars and KerasTuner's
            HParams under this folder.
        listener: An object with `on_trial_ending(trial)` (before the oracle
            hears of the end: a worker's files must exist when the chief reads
            them) and `on_trial_ended(trial)` (after; the oracle's copy), or None.
        lr_schedule: "cosine" (warm-up then cosine decay over each trial's steps),
            "constant", or a `kerasnas.schedules.Schedule`.
        precision: Keras dtype policy of each trial's model: "float32",
            "mixed_bfloat16" or "mixed_float16" (`kerasnas.precision`).
        early_stopping: "none", "median" (stop a trial after an epoch where it
            is below the median of earlier trials), or a
            `kerasnas.early_stopping.Stopper`.
        checkpoint_epochs: Save each trial's model after every epoch in its folder,
            and continue a trial killed mid-way from there: its learning-rate
            schedule, dropout masks and batches go on as without the kill (for
            data of known length, made by a function after seeding). Records
            `resumed_at_epoch`. `TrialSearch` and the Ray engine use it.
        constraints: `kerasnas.pareto.Constraint`s on params, flops or latency:
            checked once a trial's model is built; a model that breaks one is
            not trained, and its trial completes with `val_accuracy` 0 and
            `feasible` 0 (every trial gets `feasible` and its footprint). With a
            bound on params or flops, a kerasnas oracle gets `sizes_of` as its
            `screen` and draws again instead of proposing such a model.
        objectives: Names of `kerasnas.pareto.OBJECTIVES` the search trades off:
            every trial records those beside accuracy (`params`, `flops`,
            `latency_ms`) for the oracle.
        **kwargs: Passed to `keras_tuner.Tuner` (directory, project_name,
            overwrite, distribution_strategy: a `tf.distribute.Strategy` or a
            `keras.distribution.DataParallel`, ...).
    """

    def __init__(self, oracle, hypermodel, *, seed=0, worker_timeout=120.0, tensorboard_dir=None,
                 listener=None, lr_schedule="constant", precision="float32",
                 early_stopping="none", constraints=(), objectives=("accuracy",),
                 checkpoint_epochs=False, **kwargs):
        check_precision(precision)
        self.checkpoint_epochs = checkpoint_epochs
        self.constraints = tuple(constraints)
        self.objectives = tuple(objectives)
        self.early_stopping = as_stopper(early_stopping)  # a name or a Stopper
        self.lr_schedule = as_schedule(lr_schedule)  # a name or a Schedule
        self.precision = precision
        self.seed = seed
        self.tensorboard_dir = tensorboard_dir
        self.worker_timeout = worker_timeout
        self.listener = listener
        # The search clock a checkpoint records (`checkpoint_clock`): one process's only; a
        # worker's clock is not the chief's.
        elapsed = getattr(listener, "elapsed", None)
        self.clock = elapsed if distributed.role() is None else None
        self.best_in_memory = None  # (trial id, val accuracy, model) of this process's best
        distribution = kwargs.pop("distribution_strategy", None)
        # KerasTuner's constructor reads a tf.distribute strategy's `.extended`; a Keras
        # DataParallel (JAX) has none, so it is set after. Both have the `.scope()` it uses.
        keras_distribution = strategy.is_keras_distribution(distribution)
        super().__init__(oracle, hypermodel, **kwargs,
                         distribution_strategy=None if keras_distribution else distribution)
        self.distribution_strategy = distribution
        if any(c.name in SIZES for c in self.constraints):
            # Sizes are known before training: the oracle (a halving oracle's proposer)
            # screens its draws on them, so a model too large does not use up a trial.
            for proposing in (oracle, getattr(oracle, "proposer", oracle)):
                if hasattr(proposing, "within_bounds"):
                    proposing.screen = self.sizes_of

    def save(self):
        # KerasTuner's Stateful.save writes in place: a kill -9 mid-write would
        # leave a truncated tuner state that cannot be resumed.
        if not internals.is_worker(self):
            self.oracle.save()
        write_json(internals.tuner_file(self), self.get_state())

    def run_trial(self, trial, *args, **kwargs):
        beat = (distributed.Heartbeat(self.oracle, trial.trial_id, self.worker_timeout / 4)
                if distributed.role() == "worker" else contextlib.nullcontext())
        # Frees the trial's traced graphs and heap once it ends (reports/memory.md).
        with beat, strategy.released_trial_memory():
            return self._train(trial, *args, **kwargs)

    def _build_hypermodel(self, hp):
        # A declared override (kerasnas.keras_tuner_internals). Here, not around the trial:
        # KerasTuner's model building clears the Keras session first, which resets the
        # global dtype policy.
        with dtype_policy(self.precision):
            return super()._build_hypermodel(hp)

    def _train(self, trial, train_data, validation_data, *, epochs, verbose=0, callbacks=()):
        hp = trial.hyperparameters
        keras.utils.set_random_seed(self.seed + int(trial.trial_id))
        # Made after seeding: a dataset reshuffles at every pass, so one shared
        # dataset gave a trial another order after a resume than without one.
        train_data = train_data() if callable(train_data) else train_data
        validation_data = validation_data() if callable(validation_data) else validation_data
        directory = self.get_trial_dir(trial.trial_id)
        checkpoint = read_checkpoint(directory) if self.checkpoint_epochs else None
        done, earlier, seconds_before = 0, [], 0.0
        if checkpoint is None:
            model = internals.build_model(self, hp)
        else:  # killed after an epoch: its model, optimizer state and rate go on from there
            state, path = checkpoint
            model = keras.models.load_model(path)
            restore_unsaved_states(model, state)
            model.optimizer.learning_rate = state["learning_rate"]
            done, earlier = state["chunks"], state["val_accuracy"]
            seconds_before = state.get("train_seconds", 0.0)
        sizes, infeasible = self.screen(model, trial)
        if infeasible is not None:
            return infeasible
        # Epoch k trains on the data's pass k, killed or not (`endless`).
        train_data, steps = endless(train_data, from_pass=done)
        guard = NaNGuard()
        schedule = self.lr_schedule.callback()
        trials = {} if distributed.role() == "worker" else self.oracle.trials  # a worker's has none
        stopper = self.early_stopping.callback(trials, trial.trial_id)
        callbacks = [guard, *(c for c in (schedule, stopper) if c), *callbacks]
        if self.tensorboard_dir:
            callbacks.append(keras.callbacks.TensorBoard(log_dir=self.tensorboard_dir))
            # KerasTuner's own hook: a folder per trial and the HParams callback.
            internals.add_trial_tensorboard(self, callbacks, trial)
        if self.checkpoint_epochs:
            peak, curve_so_far = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)), list(earlier)

            def state(logs):
                curve_so_far.append(float(logs["val_accuracy"]))
                return {"learning_rate": peak, "val_accuracy": list(curve_so_far)}

            callbacks.append(EpochCheckpoint(directory, every=1, last=epochs, state=state,
                                             clock=self.clock, seconds_before=seconds_before))
        start = time.time()
        with internals.distribution_scope(self.distribution_strategy):
            history = model.fit(train_data, validation_data=validation_data, epochs=epochs,
                                steps_per_epoch=steps, initial_epoch=done, verbose=verbose,
                                callbacks=callbacks, shuffle=False)  # the dataset shuffles itself
        seconds = seconds_before + time.time() - start
        if hasattr(guard, "nan_at"):
            raise keras_tuner.errors.FailedTrialError(
                f"loss became NaN in epoch {guard.nan_at + 1}")
        val = history.history["val_accuracy"][-1]
        model.save(os.path.join(directory, MODEL_FILE))
        drop_checkpoint(directory)
        best = self.best_in_memory
        if best is None or val > best[1]:
            # Kept so the final test evaluation reuses its compiled graph instead
            # of reloading and re-tracing (seconds per search, see benchmarks/overhead.py).
            self.best_in_memory = (trial.trial_id, val, model)
        curve = [*earlier, *history.history["val_accuracy"]]
        # Fewer epochs than asked: a stopper stopped it (a NaN loss raised above).
        stopped = {"stopped_at_epoch": float(len(curve))} if len(curve) < epochs else {}
        resumed = {"resumed_at_epoch": float(done)} if done else {}
        return {
            **{epoch_metric(k + 1): float(v) for k, v in enumerate(curve)},
            "epochs_trained": float(len(curve)), **stopped, **resumed,
            "val_accuracy": float(val),
            "val_loss": float(history.history["val_loss"][-1]),
            "params": float(model.count_params()),
            "train_seconds": seconds,
            "ended_at": time.time(), **sizes,
        }

    def sizes_of(self, values: dict) -> dict[str, float]:
        """The parameters and FLOPs of the model `values` build, untrained (an oracle's screen)."""
        from kerasnas.footprint import footprint

        hp = self.oracle.hyperparameters.copy()
        hp.values = dict(values)
        return footprint(internals.build_model(self, hp))

    def screen(self, model: keras.Model, trial: keras_tuner.engine.trial.Trial
               ) -> tuple[dict[str, float], dict[str, float] | None]:
        """`(footprint, None)` for a model within the constraints, else `(footprint, metrics)`:
        the metrics of a trial that is not trained (val_accuracy 0, feasible 0), its message
        naming the broken bounds. No constraints and accuracy alone: `({}, None)`."""
        measured = {c.name for c in self.constraints} | set(self.objectives)
        if measured <= {"accuracy"}:
            return {}, None
        from kerasnas.footprint import footprint

        sizes = footprint(model, latency="latency" in measured)
        broken = [c for c in self.constraints
                  if not c.satisfied(sizes["latency_ms" if c.name == "latency" else c.name])]
        if not broken:
            return {**sizes, "feasible": 1.0}, None
        trial.message = "infeasible, not trained: " + ", ".join(
            f"{sizes['latency_ms' if c.name == 'latency' else c.name]:g} breaks {c}" for c in broken)
        return sizes, {"val_accuracy": 0.0, "feasible": 0.0, "epochs_trained": 0.0,
                       "train_seconds": 0.0, "ended_at": time.time(), **sizes}

    def on_trial_end(self, trial):
        if self.listener is not None:
            self.listener.on_trial_ending(trial)
        super().on_trial_end(trial)
        if self.listener is not None:
            self.listener.on_trial_ended(self.oracle.get_trial(trial.trial_id))
