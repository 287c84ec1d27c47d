"""Optuna's tree-structured Parzen estimator as a KerasTuner oracle, through ask/tell."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import keras_tuner
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine.trial import TrialStatus

from kerasnas import keras_tuner_internals as internals
from kerasnas.oracles._base import (PHASE_MODEL, PHASE_RANDOM, PHASE_WARMUP, NotesMixin,
                                    ObjectiveLike, fill_values, warmup_size)
from kerasnas.oracles._pareto import ConstraintLike, ParetoMixin, TradeOff
from kerasnas.pareto import METRICS

if TYPE_CHECKING:
    from keras_tuner.engine.trial import Trial

STUDY_NAME = "kerasnas"
_MAX_DUPLICATES = 20  # proposals tried or too large before a random one is enqueued


def _import_optuna():
    try:
        import optuna
    except ImportError as error:
        raise ImportError("The TPE oracle needs Optuna: pip install 'kerasnas[tpe]'") from error
    return optuna


class TPEOracle(ParetoMixin, NotesMixin, keras_tuner.Oracle):
    """Optuna's TPE sampler proposing the values of KerasTuner trials.

    The KerasTuner space is walked in order and only active hyperparameters are
    suggested, so conditional spaces work (Optuna sees a define-by-run space).
    The study lives in `<project_dir>/optuna.db` (SQLite), so a tuner created
    with `overwrite=False` continues it. Optuna's 10 random start trials would
    make a small budget random search; the start is `warmup_size(max_trials)`.

    Mapping: Choice and Boolean -> `suggest_categorical`; Int/Float ->
    `suggest_int`/`suggest_float` with `step` and `log`; Int/Float with both
    log sampling and a step (KerasTuner's geometric grid, which Optuna cannot
    express) -> categorical over the grid; `reverse_log` -> linear; Fixed -> its
    value. Optuna proposals of tried values are told FAIL and re-asked; after 20,
    a random new architecture is enqueued (noted).

    Several objectives (`trade_off`): an Optuna study with one direction each, so
    the sampler is Optuna's multi-objective TPE (Ozaki et al. 2020/2022: the good
    group is chosen by non-dominated rank and hypervolume contribution).
    `constraints`: Optuna's `constraints_func`, one value per bound (how far past
    it, relative to it; <= 0 when kept), so infeasible trials join the bad group.

    Args:
        objective: A `keras_tuner.Objective` or metric name.
        max_trials: The trial budget.
        n_startup_trials: Random trials before TPE; None sizes it to the budget.
        seed: The random seed (0 is honoured).
        trade_off: Objectives searched on a Pareto front with `objective`: names
            ("params", "flops", "latency") or `keras_tuner.Objective`s, each read
            from the trial's metric of its name.
        constraints: Bounds such as "params<=100000" (or
            `kerasnas.pareto.Constraint`s) on the trials' metrics (Optuna's
            constrained TPE). With a `screen`, a proposal whose model breaks a size
            bound is told FAIL and TPE asked again (20 times at most).
        **kwargs: Passed to `keras_tuner.Oracle`.

    Raises:
        ImportError: when Optuna is not installed.
    """

    steerable = False  # Optuna draws its random start itself: a proxy cannot pick among draws

    def __init__(self, objective: ObjectiveLike = None, max_trials: int | None = 10, *,
                 n_startup_trials: int | None = None, seed: int | None = None,
                 trade_off: Sequence[TradeOff] = (), constraints: Sequence[ConstraintLike] = (),
                 **kwargs: Any):
        _import_optuna()
        if n_startup_trials is not None and n_startup_trials < 0:
            raise ValueError(f"`n_startup_trials` must be >= 0; got {n_startup_trials}.")
        self.n_startup_trials = (warmup_size(max_trials) if n_startup_trials is None
                                 else n_startup_trials)
        super().__init__(objective=objective, max_trials=max_trials, seed=seed, **kwargs)
        self._init_notes(seed)
        self._init_pareto(trade_off, constraints)
        self._numbers: dict[str, int] = {}  # KerasTuner trial_id -> Optuna trial number
        self._study = None  # created on first use: the project dir is set by the tuner

    def _get_study(self):
        if self._study is None:
            optuna = _import_optuna()
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            path = os.path.abspath(os.path.join(internals.project_dir(self), "optuna.db"))
            self._study = optuna.create_study(
                storage=f"sqlite:///{path}", sampler=self._sampler(seed=self.seed), study_name=STUDY_NAME,
                load_if_exists=True,
                directions=["maximize" if d == "max" else "minimize" for d in self.directions])
        return self._study

    def _sampler(self, *, seed):
        optuna = _import_optuna()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # `constraints_func` is deprecated in Optuna 5 for `Trial.set_constraint`, which
            # needs the live trial object: a resumed study has only finished trials' numbers.
            # It stays until Optuna 7; setup.py pins optuna < 6.
            warnings.filterwarnings("ignore", "`constraints_func`", FutureWarning)
            return optuna.samplers.TPESampler(
                n_startup_trials=self.n_startup_trials, multivariate=True, group=True,
                constant_liar=True, seed=seed,
                constraints_func=self._constraint_values if self.constraints else None)

    def _constraint_values(self, frozen):
        """Optuna's constraint values of a finished Optuna trial: one per bound, 0 when kept."""
        by_number = {number: trial_id for trial_id, number in self._numbers.items()}
        trial = self.trials.get(by_number.get(frozen.number, ""))
        if trial is None:  # told FAIL as a repeated proposal: never ours
            return [0.0] * len(self.constraints)
        values = []
        for c in self.constraints:
            name = METRICS[c.name]
            value = trial.metrics.get_last_value(name) if trial.metrics.exists(name) else None
            values.append(c.excess(float(value)) if value is not None else
                          float(self.violation(trial) > 0))
        return values

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        optuna = _import_optuna()
        study = self._get_study()
        done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        phase = PHASE_WARMUP if done < self.n_startup_trials else PHASE_MODEL
        extra: dict[str, Any] = {}
        for attempt in range(_MAX_DUPLICATES + 1):
            if attempt == _MAX_DUPLICATES:
                values = internals.random_values(self)
                if values is None:  # space exhausted
                    return {"status": TrialStatus.STOPPED, "values": None}
                study.enqueue_trial(values)
                phase, extra = PHASE_RANDOM, {"reason": "TPE proposed tried trials"}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                # Seeded by the Optuna trial number: a resumed study proposes what an
                # uninterrupted one would (a sampler's own RNG restarts at a reload).
                study.sampler = self._sampler(seed=None if self.seed is None
                                              else self.seed + len(study.get_trials(deepcopy=False)))
                trial = study.ask()
                values = fill_values(self.hyperparameters.space, lambda hp: _suggest(trial, hp))
            # A tried proposal, or one whose model breaks a size bound (never trained: it
            # would use up a trial), is told FAIL, and TPE asked again.
            if not internals.is_tried(self, values) and (
                    attempt == _MAX_DUPLICATES or self.within_bounds(values)):
                break
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._numbers[trial_id] = trial.number
        self.note(trial_id, phase, optuna_number=trial.number, **extra)
        return {"status": TrialStatus.RUNNING, "values": values}

    @keras_tuner.synchronized
    def end_trial(self, trial: Trial) -> None:
        super().end_trial(trial)
        trial = self.trials[trial.trial_id]
        number = self._numbers.get(trial.trial_id)
        if number is None or trial.status not in (TrialStatus.COMPLETED, TrialStatus.FAILED):
            return  # INVALID: retried with the same values, still running for Optuna
        state = _import_optuna().trial.TrialState
        if trial.status == TrialStatus.COMPLETED:
            self._get_study().tell(number, self.point(trial), skip_if_finished=True)
        else:
            self._get_study().tell(number, state=state.FAIL, skip_if_finished=True)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["tpe"] = {"numbers": self._numbers}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._numbers = dict(state["tpe"]["numbers"])


def _suggest(trial, hp):
    if isinstance(hp, hp_module.Fixed):
        return hp.value
    if isinstance(hp, hp_module.Boolean):
        return trial.suggest_categorical(hp.name, [True, False])
    if isinstance(hp, hp_module.Choice):
        return trial.suggest_categorical(hp.name, list(hp.values))
    log = hp.sampling == "log"
    if log and hp.step is not None:
        return trial.suggest_categorical(hp.name, list(hp.values))
    if isinstance(hp, hp_module.Int):
        return trial.suggest_int(hp.name, hp.min_value, hp.max_value, step=hp.step or 1, log=log)
    return trial.suggest_float(hp.name, hp.min_value, hp.max_value, step=hp.step, log=log)
