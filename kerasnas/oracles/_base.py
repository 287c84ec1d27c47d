"""What every kerasnas oracle adds to a `keras_tuner.Oracle`: per-trial notes and a true seed."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Callable, Union

import keras_tuner
from keras_tuner.engine import hyperparameters as hp_module

from kerasnas import keras_tuner_internals as internals
from kerasnas._config import config_of
from kerasnas.files import write_json

PHASE_RANDOM = "random"  # plain random search
PHASE_WARMUP = "warm-up"  # the random phase of a model-based or evolutionary oracle
PHASE_MODEL = "model"  # proposed by a surrogate model (GP, TPE)
PHASE_MUTATION = "mutation"  # a child of aging evolution
PHASE_SEEDED = "seeded"  # an architecture the user gave

# What `keras_tuner.Oracle(objective=...)` takes: a metric name, an Objective, or a list of them.
ObjectiveLike = Union[str, "keras_tuner.Objective", list, None]
Values = dict[str, Any]  # a trial's hyperparameter values, by name

if TYPE_CHECKING:  # the mixin's super() is a keras_tuner.Oracle
    from keras_tuner import Oracle as _OracleBase
    from keras_tuner.engine.trial import Trial
else:
    _OracleBase = object


class NotesMixin(_OracleBase):
    """Keeps, per trial, how its values were chosen (phase, parent, mutation).

    Put it first in the bases; it layers its JSON state on `super()`, so
    `overwrite=False` resumes with the notes of every earlier trial.
    """

    trials: dict[str, Trial]  # keras_tuner.Oracle's

    def _init_notes(self, seed: int | None) -> None:
        self.notes: dict[str, dict[str, Any]] = {}
        # keras_tuner does `seed or random.randint(...)`, which turns 0 into a
        # random seed; keep the user's seed, 0 included.
        if seed is not None:
            self.seed = seed
            internals.set_seed_state(self, seed)

    def note(self, trial_id: str, phase: str, **extra: Any) -> None:
        """Records how the values of `trial_id` were chosen (`phase`, and e.g. `parent`)."""
        self.notes[trial_id] = {"phase": phase, **extra}

    @keras_tuner.synchronized
    def end_trial(self, trial: Trial) -> None:
        super().end_trial(trial)
        # KerasTuner saves before it drops the trial from `ongoing_trials`, so a
        # resumed search (overwrite=False) would re-run the last finished trial.
        self.save()

    def reload(self) -> None:
        super().reload()
        # KerasTuner reloads trials in the file system's order, and the GP fits
        # them in dict order: restore the start order an uninterrupted search has.
        rank = {trial_id: i for i, trial_id in enumerate(self.start_order)}
        self.trials = dict(sorted(self.trials.items(),
                                  key=lambda item: (rank.get(item[0], len(rank)), item[0])))

    def save(self) -> None:
        # KerasTuner writes in place: a kill -9 mid-write would leave a
        # truncated oracle.json, and the search could not be resumed.
        write_json(internals.oracle_file(self), self.get_state())

    def _save_trial(self, trial: Trial) -> None:
        # A declared override (kerasnas.keras_tuner_internals): KerasTuner writes in place.
        write_json(os.path.join(internals.trial_dir(self, trial.trial_id), "trial.json"),
                   trial.get_state())

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (as Keras layers), for run.json and its resume check."""
        return config_of(self)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["notes"] = self.notes
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.notes = dict(state.get("notes", {}))


def warmup_size(max_trials: int | None, *, fraction: float = 1 / 3, minimum: int = 2) -> int:
    """Random trials a model-based oracle starts with, sized to the budget.

    Library defaults (KerasTuner's GP: 3 x dimensions; Optuna TPE: 10; NNI's
    evolution: a population of 100) turn a budget of a few trials into pure
    random search. A third of the budget, at least 2, leaves most of it to the
    model while still giving it points to fit.
    """
    if max_trials is None:
        return 10
    return max(1, min(max_trials, max(minimum, math.ceil(max_trials * fraction))))


def fill_values(space: list[hp_module.HyperParameter],
                choose: Callable[[hp_module.HyperParameter], Any]) -> Values:
    """Values for the hyperparameters of `space` that are active, walking it in order.

    As KerasTuner's random draw (`keras_tuner_internals.random_values`) does: a conditional hyperparameter is
    active when its parents' values (chosen earlier in the walk) satisfy its
    conditions; inactive ones get no value.

    Args:
        space: A list of `keras_tuner` hyperparameters (`oracle.hyperparameters.space`).
        choose: Called as `choose(hp)` for each active hyperparameter; returns
            its value.

    Returns:
        A dict from name to value, active hyperparameters only.
    """
    hps = hp_module.HyperParameters()
    for hp in space:
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = choose(hp)
    return hps.values
