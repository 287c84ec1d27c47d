"""`BudgetedSearch`: one budget of epochs pays for the selection and the returned model.

The oracle's candidates are judged by successive halving
(`kerasnas.oracles.SuccessiveHalvingOracle`, following a `BudgetPlan`); a
promoted model continues from its parent's checkpoint (weights, optimizer state
and step count, the data stream where it stopped), and the winner trains on to
the end of the budget. The learning rate warms up, stays at the trial's rate
through the selection, and decays to 0 over the winner's last rung only
(`kerasnas.schedules.WarmupStableDecay`), so going on is never a restart.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from kerasnas.budget_plan import QUANTUM, BudgetPlan, make_plan
from kerasnas.methods.trials import TrialSearch

if TYPE_CHECKING:
    import keras_tuner

    from kerasnas.methods.base import ReturnedModel
    from kerasnas.run_folder import Run
    from kerasnas.settings import SearchSettings


class BudgetedSearch(TrialSearch):
    """Successive halving within `budget_epochs`, the winner trained on to the budget's end.

    Args:
        budget_epochs: The whole run's budget, in epochs of the training split
            (every model's epochs count; fractions count steps).
        eta: Reduction factor between rungs (the best 1/eta go on).
        selection_fraction: Share of the budget spent judging candidates.
        min_epochs: The least a candidate trains before it is judged.
        warmup_fraction: Share of rung 0 spent warming the learning rate up.
        asynchronous: ASHA promotion (True), a rung at a time (False), or ASHA
            when several workers ask (None).
        hand_designed: Whether the space's hand-designed members
            (`kerasnas.spaces.HandDesigned`) enter the first rung before any
            proposal (at most a third of it), so the search starts no worse.
    """

    def __init__(self, *, budget_epochs: float, eta: int = 3, selection_fraction: float = 0.25,
                 min_epochs: float = 0.25, warmup_fraction: float = 0.5,
                 asynchronous: bool | None = None, hand_designed: bool = True):
        if not 0 <= warmup_fraction <= 1:
            raise ValueError("`warmup_fraction` must be in [0, 1]. "
                             f"Received: warmup_fraction={warmup_fraction!r}")
        self.plan: BudgetPlan = make_plan(budget_epochs, eta=eta,
                                          selection_fraction=selection_fraction,
                                          min_epochs=min_epochs)
        self.options = {"budget_epochs": budget_epochs, "eta": eta,
                        "selection_fraction": selection_fraction, "min_epochs": min_epochs,
                        "warmup_fraction": warmup_fraction, "hand_designed": hand_designed}
        self.asynchronous = asynchronous

    def get_config(self) -> dict[str, Any]:
        return dict(self.options)

    def describe(self, settings: SearchSettings) -> str:
        return self.plan.describe()

    def starts(self, run: Run) -> list[dict[str, Any]]:
        """The space's hand-designed members that enter the first rung (a third of it at most)."""
        from kerasnas.spaces import HandDesigned

        if not self.options["hand_designed"] or not isinstance(run.hypermodel, HandDesigned):
            return []
        return run.hypermodel.hand_designed()[:max(1, self.plan.candidates // 3)]

    def steps_per_epoch(self, run: Run) -> int:
        return math.ceil(len(run.data.y_train) / run.settings.batch_size)

    def prepare(self, run: Run) -> keras_tuner.Tuner:
        from kerasnas.methods.continuing_tuner import ContinuingTuner
        from kerasnas.oracles.successive_halving import SuccessiveHalvingOracle
        from kerasnas.schedules import WarmupStableDecay
        from kerasnas.strategy import make_strategy

        s, plan = run.settings, self.plan
        if s.early_stopping != "none":
            raise ValueError("A budgeted search judges its candidates by successive halving; "
                             "use early_stopping='none' with budget_epochs.")
        steps = self.steps_per_epoch(run)
        oracle = SuccessiveHalvingOracle(run.oracle, plan, asynchronous=self.asynchronous,
                                         starts=self.starts(run), seed=s.seed,
                                         max_consecutive_failed_trials=s.max_failures)
        schedule = WarmupStableDecay(
            warmup_steps=int(self.options["warmup_fraction"] * plan.rungs[0].epochs * steps),
            decay_from=round(plan.rungs[-2].epochs * steps),
            decay_to=round(plan.rungs[-1].epochs * steps))
        return ContinuingTuner(
            oracle, run.hypermodel, steps_per_epoch=steps, quantum=QUANTUM, seed=s.seed,
            lr_schedule=schedule, worker_timeout=s.worker_timeout, precision=s.precision,
            tensorboard_dir=os.path.join(run.directory, "tensorboard") if s.tensorboard else None,
            listener=run, directory=run.directory, project_name=run.project, overwrite=False,
            distribution_strategy=make_strategy(s.strategy))

    def search(self, run: Run) -> None:
        s = run.settings

        def stream(start_step):  # the training split, reshuffled every epoch, from a step on
            return run.data.stream("train", batch_size=s.batch_size, seed=s.seed,
                                   start_step=start_step)

        self.loop(run, stream)

    def returned_model(self, run: Run) -> ReturnedModel | None:
        from kerasnas.methods.base import ReturnedModel
        from kerasnas.tuner import MODEL_FILE

        oracle = run.oracle
        # The model that trained furthest (the winner, once the final rung completed),
        # the best-scoring of them where several reached the same rung.
        done = [t for t in oracle.trials.values() if t.status == "COMPLETED"]
        if not done:
            return None
        best = max(done, key=lambda t: (t.hyperparameters.values["tuner/round"], t.score))
        in_memory = run.tuner.best_in_memory
        model = in_memory[2] if in_memory is not None and in_memory[0] == best.trial_id else None
        return ReturnedModel(best, os.path.join(run.tuner.get_trial_dir(best.trial_id), MODEL_FILE),
                             model)

    def summary(self, run: Run) -> dict[str, Any]:
        """summary.json's `budget`: the plan and what was spent, in epochs and seconds."""
        trained = [t for t in run.oracle.trials.values() if t.status in ("COMPLETED", "FAILED")]
        last = len(self.plan.rungs) - 1

        def spent(trials):
            return sum(t.hyperparameters.values["tuner/epochs"]
                       - t.hyperparameters.values["tuner/initial_epoch"] for t in trials)

        final = [t for t in trained if t.hyperparameters.values["tuner/round"] == last]
        return {"budget": {
            "epochs": self.plan.budget_epochs, "epochs_used": spent(trained),
            "selection_epochs": spent([t for t in trained if t not in final]),
            "final_epochs": spent(final), "plan": self.plan.describe(),
            "seconds": run.elapsed(),
        }}
