"""`ContinuingTuner`: trains each trial's segment of epochs, continuing its parent's model.

A trial's values carry KerasTuner Hyperband's keys: `tuner/initial_epoch` and
`tuner/epochs` (the segment, in epochs of the training split; fractions are
steps) and `tuner/trial_id` (the parent whose saved model it continues, or
"" for a new candidate). The data stream goes on where the parent's stopped,
and each trial saves a checkpoint once an epoch, so a killed run resumed
trains every step exactly once and in the same order as without the kill.

With `final_parts` ("train", "val"), the winner's last rung trains on the validation
images too: a stream of both from the rung's first step on (the selection, which the
validation split judges, is over by then).

With `cooldowns`, a selection rung's model is judged after a branch that trains
on with the rate decaying linearly to 0 (the batches that follow its segment);
the branch is validated and dropped, and the next rung continues from the model
saved before it. A snapshot at the held rate ranks candidates badly:
`BudgetedSearch`'s `cooldown_fraction` says by how much.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import keras

from kerasnas import keras_tuner_internals as internals
from kerasnas.budget_plan import FINAL_IMAGES
from kerasnas.schedules import Schedule, StepScheduled, WarmupStableDecay
from kerasnas.tuner import (MODEL_FILE, EpochCheckpoint, NASTuner, NaNGuard, drop_checkpoint,
                            read_checkpoint, restore_unsaved_states)


class _Deadline(keras.callbacks.Callback):
    """Ends a trial's training by `deadline` (a time on the clock): after each chunk, the chunks
    that still fit at the speed seen since the first (which traced) move the end earlier, and
    the schedule's decay with it, so the rate still reaches 0 at the new end."""

    def __init__(self, deadline: float, schedule: Schedule, *, last: int, chunk: int):
        super().__init__()
        self.deadline, self.schedule, self.last, self.chunk = deadline, schedule, last, chunk
        self.since: tuple[int, float] | None = None  # (chunks done, time) after the first chunk

    def on_epoch_end(self, epoch, logs=None):
        done, now = epoch + 1, time.time()
        if self.since is None:
            self.since = (done, now)
            return
        per_chunk = (now - self.since[1]) / (done - self.since[0])
        fits = done + math.floor(max(0.0, self.deadline - now) / per_chunk)
        if fits < self.last:
            self.last = max(fits, done)
            if isinstance(self.schedule, WarmupStableDecay):
                self.schedule.decay_to = max(self.last * self.chunk, self.schedule.decay_from + 1)
        if done >= self.last:
            self.model.stop_training = True


class ContinuingTuner(NASTuner):
    """A `NASTuner` whose trials train segments `[tuner/initial_epoch, tuner/epochs)`.

    Keras epochs here are chunks of `quantum` epochs of the training split, so a
    segment of 0.25 epochs is 2 chunks of 1/8.

    Args:
        steps_per_epoch: Batches in one epoch of the training split.
        quantum: Epochs per chunk.
        schedule_for: A trial's schedule from its values, first and last step
            (rungs sized per candidate or late, on a budget on the clock); None:
            `lr_schedule` for every trial.
        deadline_for: When a trial must end (a time on the clock) from its
            values, or None: its training then stops at the last chunk that fits
            and records the epochs it reached (a budget on the clock).
        cooldowns: Epochs of the cool-down branch that judges a trial, by its
            round (`tuner/round`; multiples of `quantum`); rounds past the end
            have none (the winner's, which decays to 0 on its own). A cooled
            trial's `val_accuracy` is the branch's, `snapshot_accuracy` the
            saved model's.
        final_round: The winner's round (`tuner/round`), which trains on `final_parts`;
            None: every round trains on the training split.
        final_parts: The splits the final round trains on: ("train",), or ("train",
            "val") to end on the validation images too (its validation score is then
            not held out).
        **kwargs: Passed to `NASTuner`; its `lr_schedule` should be a function of
            the optimizer's step count (`kerasnas.schedules.WarmupStableDecay`).
    """

    def __init__(self, oracle, hypermodel, *, steps_per_epoch: int, quantum: float,
                 schedule_for: Callable[[dict, int, int], Schedule] | None = None,
                 deadline_for: Callable[[dict], float | None] | None = None,
                 cooldowns: tuple[float, ...] = (), final_round: int | None = None,
                 final_parts: tuple[str, ...] = ("train",), **kwargs):
        final_parts = tuple(final_parts)
        if final_parts not in FINAL_IMAGES.values():  # checked before the tuner writes its folder
            raise ValueError(f"`final_parts` must be one of {', '.join(map(repr, FINAL_IMAGES.values()))}. "
                             f"Received: final_parts={final_parts!r}")
        super().__init__(oracle, hypermodel, **kwargs)
        self.final_round, self.final_parts = final_round, final_parts
        self.steps_per_epoch, self.quantum = steps_per_epoch, quantum
        self.schedule_for, self.deadline_for = schedule_for, deadline_for
        self.cooldowns = tuple(cooldowns)
        self.chunk = max(1, round(quantum * steps_per_epoch))

    def _chunks(self, epochs):
        return round(epochs / self.quantum)

    def _train(self, trial, train_stream, validation_data, *, epochs=None, verbose=0,
               callbacks=()):
        values = trial.hyperparameters.values
        first, last = self._chunks(values["tuner/initial_epoch"]), self._chunks(values["tuner/epochs"])
        parent = values.get("tuner/trial_id") or None
        directory = self.get_trial_dir(trial.trial_id)
        checkpoint = read_checkpoint(directory)
        seconds_before = 0.0
        if checkpoint is not None:  # this trial was killed after a checkpoint
            done, source = checkpoint[0]["chunks"], checkpoint[1]
            seconds_before = checkpoint[0].get("train_seconds", 0.0)
        elif parent is not None:
            done, source = first, os.path.join(self.get_trial_dir(parent), MODEL_FILE)
        else:
            done, source = 0, None
        # The stream under the base seed, the model under the trial's: a promoted trial
        # goes on with the batches its parent would have seen next; a final round on more
        # splits starts their stream at its first step.
        rung = values["tuner/round"]
        parts = self.final_parts if rung == self.final_round else ("train",)
        keras.utils.set_random_seed(self.seed)
        stream = train_stream((done - (first if parts != ("train",) else 0)) * self.chunk, parts)
        keras.utils.set_random_seed(self.seed + int(trial.trial_id))
        with internals.distribution_scope(self.distribution_strategy):
            model = (keras.models.load_model(source) if source
                     else internals.build_model(self, trial.hyperparameters))
            if checkpoint is not None:
                restore_unsaved_states(model, checkpoint[0])
            sizes, infeasible = self.screen(model, trial)  # a promoted one kept them already
            if infeasible is not None:
                return infeasible
            guard = NaNGuard()
            every = max(1, self._chunks(1.0))
            plan = (self.schedule_for(values, first * self.chunk, last * self.chunk)
                    if self.schedule_for is not None else self.lr_schedule)
            schedule = plan.callback()
            deadline = self.deadline_for(values) if self.deadline_for is not None else None
            stopper = (_Deadline(deadline, plan, last=last, chunk=self.chunk)
                       if deadline is not None else None)
            fit_callbacks = [guard, *([schedule] if schedule else []),
                             EpochCheckpoint(directory, every=every, last=last, clock=self.clock,
                                             seconds_before=seconds_before),
                             *([stopper] if stopper else []), *callbacks]
            start = time.time()
            model.fit(stream, steps_per_epoch=self.chunk,
                      initial_epoch=done, epochs=last, verbose=verbose, callbacks=fit_callbacks,
                      shuffle=False)
            seconds = seconds_before + time.time() - start
            if stopper is not None and stopper.last < last:  # ended early, at its deadline
                values["tuner/epochs"] = stopper.last * self.quantum
            if hasattr(guard, "nan_at"):
                import keras_tuner

                raise keras_tuner.errors.FailedTrialError(
                    f"loss became NaN after {(guard.nan_at + 1) * self.quantum:g} epochs")
            validation_data = validation_data() if callable(validation_data) else validation_data
            scores = model.evaluate(validation_data, verbose=0, return_dict=True)
        model.save(os.path.join(directory, MODEL_FILE))
        drop_checkpoint(directory)  # the saved model supersedes it
        val = float(scores["accuracy"])
        cooled = {}
        if rung < len(self.cooldowns) and self.cooldowns[rung]:
            cooled = {"snapshot_accuracy": val}
            with internals.distribution_scope(self.distribution_strategy):
                scores, branch_seconds = self._cool_down(
                    model, train_stream, validation_data, last * self.chunk,
                    steps=self._chunks(self.cooldowns[rung]) * self.chunk)
            val, seconds = float(scores["accuracy"]), seconds + branch_seconds
        else:  # the branch's weights are not the saved model's: only these are kept in memory
            best = self.best_in_memory
            if best is None or rung >= best[1][0]:
                self.best_in_memory = (trial.trial_id, (rung, val), model)
        return {
            "val_accuracy": val, "val_loss": float(scores["loss"]), **cooled,
            "epochs_trained": float(values["tuner/epochs"]),
            "params": float(model.count_params()),
            "train_seconds": seconds, "ended_at": time.time(), **sizes,
        }

    def _cool_down(self, model, train_stream, validation_data, step, *, steps):
        """Trains `model` on from `step` with the rate decaying linearly to 0 over the cool-down
        (Hägele et al. 2024 judge warm-up-stable-decay checkpoints so) and validates it: its
        scores and training seconds. The saved model stays as it was; the batches are the ones
        the next rung starts with."""
        keras.utils.set_random_seed(self.seed)  # the stream's order, as `_train` makes it
        stream = train_stream(step, ("train",))
        held = self.lr_schedule.factor(step - 1) if isinstance(self.lr_schedule, WarmupStableDecay) else 1.0
        # The optimizer's step count goes on from `step`: linear from the held rate to 0.
        decay = StepScheduled(lambda at: held * (1 - (at - step) / steps))
        guard = NaNGuard()
        start = time.time()
        model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False,
                  callbacks=[guard, decay])
        seconds = time.time() - start
        if hasattr(guard, "nan_at"):
            import keras_tuner

            raise keras_tuner.errors.FailedTrialError("loss became NaN in the cool-down branch")
        validation_data = validation_data() if callable(validation_data) else validation_data
        return model.evaluate(validation_data, verbose=0, return_dict=True), seconds
