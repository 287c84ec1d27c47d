"""`SuccessiveHalvingOracle`: any oracle's proposals, judged at growing fidelity, the best continued.

A KerasTuner oracle that wraps another (the proposer: aging evolution, the GP,
TPE, random, or any `keras_tuner.Oracle`) and follows a `BudgetPlan`
(`kerasnas.budget_plan`): rung 0's candidates come from the proposer;
a promotion is a new trial with its parent's values plus KerasTuner
Hyperband's own keys (`tuner/trial_id`: the parent, `tuner/initial_epoch`,
`tuner/epochs`, `tuner/round`), so the tuner continues the parent's model from
its checkpoint instead of training it again. Epochs may be fractions (steps).

Promotion is synchronous in one process (a rung is judged once all its models
ended, so the best of all go on), and asynchronous when several tuners ask
(ASHA, Li et al. 2020: a model in the top 1/eta of those ended goes on at once,
so no worker waits).

The proposer sees each candidate once, with its rung-0 score (deviation from
BOHB, which models every budget with enough observations: here only the lowest,
where all candidates are compared). It keeps its own files in `proposer/`.

Known-good starts are incumbents (as in SMAC's intensification and irace's
racing): given the number of validation images, a proposal displaces a start
only with a lead larger than their noise. Short rungs are noisy and favour
models that learn fast, so without this a proposal that merely started faster
beats the hand design it would lose to at the end of the budget. A plan that
races them (`BudgetPlan.raced`) keeps slots of each selection rung for the
starts, so they are compared on the last selection rung, however they ranked
on the shorter ones.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import keras_tuner

from kerasnas import keras_tuner_internals as internals
from kerasnas.budget_plan import QUANTUM, BudgetPlan
from kerasnas.oracles._base import fill_values
from kerasnas.pareto import feasible, ranked

__all__ = ["SuccessiveHalvingOracle", "significant_lead"]

_ENDED = ("COMPLETED", "FAILED")


def _kept(trial: keras_tuner.engine.trial.Trial) -> bool:
    """Completed within the constraints (one that broke a bound was never trained, so it is
    never promoted)."""
    return trial.status == "COMPLETED" and feasible(trial)
PROPOSER_FOLDER = "proposer"


def significant_lead(accuracy: float, images: int, confidence: float) -> float:
    """The least lead over `accuracy` (measured on `images` images) that a one-sided
    two-proportion z-test finds significant at `confidence`, both models at `accuracy`.

    Both models are scored on the same images, so a paired test (McNemar) would
    need a smaller lead: this one errs on the side of the incumbent.
    """
    p = min(max(accuracy, 0.0), 1.0)
    return statistics.NormalDist().inv_cdf(confidence) * math.sqrt(2 * p * (1 - p) / images)


class SuccessiveHalvingOracle(keras_tuner.Oracle):
    """Successive halving over `proposer`'s candidates, following `plan`.

    Args:
        proposer: The oracle that proposes new candidates (a `keras_tuner.Oracle`
            made with this search's objective); its `max_trials` is set to the
            plan's candidates.
        plan: A `kerasnas.budget_plan.BudgetPlan`.
        asynchronous: Promote as in ASHA (True), only once a rung has ended
            (False), or ASHA when more than one tuner asks (None).
        starts: Values of known-good members (e.g. a space's `hand_designed()`)
            that enter rung 0 before any proposal, a hyperparameter they leave out
            at its default; the proposer fills the rest and does not hear of them.
        final_end: Where the final rung ends for a given winner (its trial):
            a budget on the wall clock sizes it from the time left. None: the
            plan's end.
        cost: A candidate's cost an epoch relative to the plan's (its values ->
            a ratio): each rung's epochs are divided by it (whole quanta, at
            least one), so that a budget on the wall clock compares candidates
            after equal time, not equal epochs. None: the plan's epochs.
        validation_images: How many images each score (an accuracy) was measured on:
            a start (or a model continued from one) then ranks as if it scored
            `significant_lead` more, so a proposal displaces it only with a lead
            significant at `confidence`. None: by score alone.
        confidence: The confidence of that test, in (0.5, 1).
        **kwargs: Passed to `keras_tuner.Oracle` (seed, max_retries_per_trial, ...).
    """

    def __init__(self, proposer: keras_tuner.Oracle, plan: BudgetPlan, *,
                 asynchronous: bool | None = None, starts: Sequence[dict] = (),
                 final_end: Callable[[keras_tuner.engine.trial.Trial], float] | None = None,
                 cost: Callable[[dict], float] | None = None,
                 validation_images: int | None = None, confidence: float = 0.95, **kwargs: Any):
        if not isinstance(proposer, keras_tuner.Oracle):
            raise ValueError("`proposer` must be a keras_tuner.Oracle. "
                             f"Received: proposer={type(proposer).__name__}")
        if not isinstance(plan, BudgetPlan):
            raise ValueError(f"`plan` must be a BudgetPlan. Received: plan={type(plan).__name__}")
        if len(starts) >= plan.candidates:
            raise ValueError(f"{len(starts)} starts leave no room for proposals among the plan's "
                             f"{plan.candidates} candidates; give fewer, or a larger budget.")
        if validation_images is not None and (isinstance(validation_images, bool) or not isinstance(
                validation_images, int) or validation_images < 1):
            raise ValueError("`validation_images` must be a positive integer or None. Received: "
                             f"validation_images={validation_images!r}")
        if not 0.5 < confidence < 1:
            raise ValueError(f"`confidence` must be in (0.5, 1). Received: confidence={confidence!r}")
        kwargs.setdefault("max_consecutive_failed_trials", proposer.max_consecutive_failed_trials)
        super().__init__(objective=proposer.objective, max_trials=plan.trials,
                         hyperparameters=proposer.hyperparameters, **kwargs)
        self.starts = [dict(values) for values in starts]
        proposer.max_trials = plan.candidates - len(self.starts)
        # Failures in a row are this oracle's to count (promotions fail too): the
        # proposer, which sees candidates only, must not stop the search on its own.
        proposer.max_consecutive_failed_trials = plan.candidates + 1
        proposer.verbose = 0  # this oracle shows the trials; the proposer's are half of them
        self.proposer, self.plan, self.asynchronous = proposer, plan, asynchronous
        self.final_end, self.cost = final_end, cost
        self.validation_images, self.confidence = validation_images, confidence
        self.rung_of: dict[str, int] = {}  # trial id -> rung
        self.proposer_trial: dict[str, str] = {}  # rung-0 trial id -> the proposer's trial id
        self.told: list[str] = []  # rung-0 trials whose end the proposer heard

    # -- proposals and promotions -----------------------------------------------------

    def populate_space(self, trial_id: str) -> dict:
        promotion = self._promotion()
        if promotion is not None:
            return promotion
        if self._started(0) < self.plan.candidates:
            return self._candidate(trial_id)
        if any(t.status not in _ENDED for t in self.trials.values()):
            return {"status": "IDLE"}
        return {"status": "STOPPED"}

    def _candidate(self, trial_id):
        started = self._started(0)
        if started < len(self.starts):  # the known-good members first
            self.rung_of[trial_id] = 0
            given = self.starts[started]  # what it leaves out takes its default, not a draw
            values = {**fill_values(self.hyperparameters.space,
                                    lambda hp: given.get(hp.name, hp.default)), **given}
            return {"status": "RUNNING", "values": {**values, **self._fidelity(0, None, values)}}
        # The proposer's own create/end, under a tuner id of ours: it keeps its state its way.
        trial = self.proposer.create_trial(f"candidate-{trial_id}")
        if trial.status != "RUNNING":
            return {"status": trial.status}
        self.rung_of[trial_id] = 0
        self.proposer_trial[trial_id] = trial.trial_id
        values = trial.hyperparameters.values
        return {"status": "RUNNING", "values": {**values, **self._fidelity(0, None, values)}}

    def _promotion(self):
        last = len(self.plan.rungs) - 1
        for rung in reversed(range(last)):  # the highest first: finish the bracket early
            if self._started(rung + 1) >= self._expected(rung + 1):
                continue
            ended = [t for i, t in self.trials.items() if self.rung_of.get(i) == rung
                     and t.status in _ENDED]
            done = self._best_first([t for t in ended if _kept(t)], final=rung + 1 == last)
            # Into a selection rung the plan's raced slots go to the starts' lines first.
            raced = [t for t in done if self._from_start(t)][:self.plan.raced if rung + 1 < last else 0]
            done = raced + [t for t in done if t not in raced]
            if self._is_asynchronous():
                allowed = (len(raced) + (len(done) - len(raced)) // self.plan.eta
                           if rung + 1 < last else 0)
                if len(ended) >= self._expected(rung):
                    allowed = self._expected(rung + 1)
            else:
                allowed = self._expected(rung + 1) if len(ended) >= self._expected(rung) else 0
            promoted = {t.hyperparameters.values.get("tuner/trial_id")
                        for i, t in self.trials.items() if self.rung_of.get(i) == rung + 1}
            for parent in done[:allowed]:
                if parent.trial_id not in promoted:
                    values = {k: v for k, v in parent.hyperparameters.values.items()
                              if not k.startswith("tuner/")}
                    return {"status": "RUNNING", "values": {
                        **values, **self._fidelity(rung + 1, parent.trial_id, values)}}
        return None

    def _best_first(self, done, *, final):
        """`done` in promotion order: by the objective (a start's raised by the lead a proposal
        needs to displace it), or, when the proposer trades objectives off, by NSGA-II's rank
        and crowding (as MO-ASHA, Schmucker et al. 2021) into every rung but the final one,
        which the most accurate reaches (it is the returned model)."""
        trade_off = getattr(self.proposer, "trade_off", ())
        if not trade_off or final:
            return sorted(done, key=self._ranking_score, reverse=self.objective.direction == "max")
        points = [[t.score, *(t.metrics.get_last_value(o.name) for o in trade_off)] for t in done]
        keys = ranked(points, [self.objective.direction, *(o.direction for o in trade_off)])
        return [done[i] for i in sorted(range(len(done)), key=keys.__getitem__)]

    def _ranking_score(self, trial):
        if self.validation_images is None or not self._from_start(trial):
            return trial.score
        lead = significant_lead(trial.score, self.validation_images, self.confidence)
        return trial.score + (lead if self.objective.direction == "max" else -lead)

    def _from_start(self, trial):
        """Whether `trial` is a known-good start or a model continued from one."""
        while trial.hyperparameters.values.get("tuner/trial_id"):
            trial = self.trials[trial.hyperparameters.values["tuner/trial_id"]]
        return trial.trial_id in self.rung_of and trial.trial_id not in self.proposer_trial

    def _fidelity(self, rung, parent, values):
        start = self.trials[parent].hyperparameters.values["tuner/epochs"] if parent else 0.0
        end = self.plan.rungs[rung].epochs
        if rung == len(self.plan.rungs) - 1 and self.final_end is not None:
            end = self.final_end(self.trials[parent])
        elif self.cost is not None:
            quanta = math.floor(self.plan.segment(rung) / self.cost(values) / QUANTUM + 1e-9)
            end = start + max(1, quanta) * QUANTUM
        return {"tuner/epochs": end, "tuner/initial_epoch": start,
                "tuner/trial_id": parent or "", "tuner/bracket": 0, "tuner/round": rung}

    def _started(self, rung):
        return sum(1 for r in self.rung_of.values() if r == rung)

    def _expected(self, rung):
        """Models that will ever reach `rung`: fewer than planned when some below failed."""
        if rung == 0:
            return self.plan.candidates
        below = [t for i, t in self.trials.items() if self.rung_of.get(i) == rung - 1]
        if len(below) < self._expected(rung - 1) or any(t.status not in _ENDED for t in below):
            return self.plan.rungs[rung].size
        return min(self.plan.rungs[rung].size, sum(_kept(t) for t in below))

    def _is_asynchronous(self):
        return self.asynchronous if self.asynchronous is not None else len(self.tuner_ids) > 1

    @property
    def notes(self) -> dict[str, dict]:
        """How each trial was chosen: a candidate's proposer note, or the rung it was promoted to."""
        proposer_notes = getattr(self.proposer, "notes", {})
        last = len(self.plan.rungs) - 1
        out = {}
        for trial_id, rung in self.rung_of.items():
            if rung == 0 and trial_id not in self.proposer_trial:
                out[trial_id] = {"phase": "start"}
            elif rung == 0:
                out[trial_id] = dict(proposer_notes.get(self.proposer_trial[trial_id], {}))
            else:
                parent = self.trials[trial_id].hyperparameters.values.get("tuner/trial_id")
                out[trial_id] = {"phase": "final" if rung == last else f"rung {rung}",
                                 "parent": parent, "mutation": "promoted"}
        return out

    # -- KerasTuner's trial life cycle ------------------------------------------------

    def create_trial(self, tuner_id: str) -> keras_tuner.engine.trial.Trial:
        trial = super().create_trial(tuner_id)
        rung = trial.hyperparameters.values.get("tuner/round")
        if trial.status == "RUNNING" and trial.trial_id not in self.rung_of and rung is not None:
            self.rung_of[trial.trial_id] = int(rung)  # a promotion (a candidate is recorded above)
            self.save()
        return trial

    def end_trial(self, trial: keras_tuner.engine.trial.Trial) -> None:
        super().end_trial(trial)
        ended = self.trials[trial.trial_id]
        proposer_id = self.proposer_trial.get(trial.trial_id)
        if proposer_id is not None and ended.status in _ENDED and trial.trial_id not in self.told:
            told = self.proposer.trials[proposer_id]
            told.status, told.message, told.metrics = ended.status, ended.message, ended.metrics
            self.proposer.end_trial(told)
            self.told.append(trial.trial_id)
            self.save()

    def update_space(self, hyperparameters: keras_tuner.HyperParameters) -> None:
        super().update_space(hyperparameters)
        self.proposer.update_space(hyperparameters)

    # -- files ---------------------------------------------------------------------------

    def get_state(self) -> dict:
        return {**super().get_state(), "rung_of": self.rung_of,
                "proposer_trial": self.proposer_trial, "told": self.told}

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        self.rung_of = dict(state["rung_of"])
        self.proposer_trial = dict(state["proposer_trial"])
        self.told = list(state["told"])

    def _set_project_dir(self, directory: str, project_name: str) -> None:
        # A declared override (kerasnas.keras_tuner_internals): the proposer keeps its
        # own files in this oracle's project, under proposer/.
        internals.base_set_project_dir(self, directory, project_name)
        internals.set_project_dir(self.proposer, os.path.join(directory, project_name),
                                  PROPOSER_FOLDER)

    def reload(self) -> None:
        super().reload()
        self.proposer.reload()
        # The proposer re-queues what was running; here those candidates are re-run under
        # their own trial ids (this oracle's retry), so the proposer must not hand them out again.
        internals.retry_queue(self.proposer).clear()
        for trial_id, proposer_id in self.proposer_trial.items():
            if trial_id not in self.told:
                self.proposer.ongoing_trials[f"candidate-{trial_id}"] = self.proposer.trials[proposer_id]
