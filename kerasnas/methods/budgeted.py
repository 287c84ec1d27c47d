"""`BudgetedSearch`: one budget of epochs pays for the selection and the returned model.

The oracle's candidates are judged by successive halving
(`kerasnas.oracles.SuccessiveHalvingOracle`, following a `BudgetPlan`); a
promoted model continues from its parent's checkpoint (weights, optimizer state
and step count, the data stream where it stopped), and the winner trains on to
the end of the budget. The learning rate warms up, stays at the trial's rate
through the selection, and decays to 0 over the winner's last rung only
(`kerasnas.schedules.WarmupStableDecay`), so going on is never a restart.

A budget on the wall clock (`budget_minutes`) is planned in epochs from a short
measurement of this machine's speed (`kerasnas.methods.speed`); rungs compare
candidates after equal time (each candidate's epochs divided by its FLOPs
relative to the measured model's), and the winner's last rung is sized from its
own measured speed and the time left, stops at its deadline if it runs slower,
and decays its learning rate to 0 by its end.
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any, Literal

from kerasnas.budget_plan import FINAL_IMAGES, QUANTUM, BudgetPlan, make_plan, plan_for_seconds
from kerasnas.files import write_json
from kerasnas.methods.speed import Speed
from kerasnas.methods.trials import TrialSearch

if TYPE_CHECKING:
    import keras_tuner

    from kerasnas.methods.base import ReturnedModel
    from kerasnas.run_folder import Run
    from kerasnas.schedules import Schedule
    from kerasnas.settings import SearchSettings

SPEED_FILE = "speed.json"  # a time budget's measurement, kept so that a resume plans the same
# An epoch budget's cool-down share: the `cooled` arm of `reports/budget.md`.
DEFAULT_COOLDOWN = 1 / 6


class BudgetedSearch(TrialSearch):
    """Successive halving within a budget, the winner trained on to the budget's end.

    Args:
        budget_epochs: The whole run's budget, in epochs of the training split
            (every model's epochs count; fractions count steps).
        budget_minutes: Instead of `budget_epochs`, the whole run's budget on the
            wall clock, from the speed measurement to the saved model (not the
            process start or the data loading): planned in epochs at the measured
            speed; the winner's last rung takes the time that is left.
        eta: Reduction factor between rungs (the best 1/eta go on).
        selection_fraction: Share of the budget spent judging candidates.
        min_epochs: The least a candidate trains before it is judged.
        warmup_fraction: Share of rung 0 spent warming the learning rate up.
        asynchronous: ASHA promotion (True), a rung at a time (False), or ASHA
            when several workers ask (None).
        hand_designed: Whether the space's hand-designed members
            (`kerasnas.spaces.HandDesigned`) enter the first rung before any
            proposal (at most a third of it), so the search starts no worse.
        incumbent_confidence: A proposal displaces a hand-designed member at a rung
            only with a lead in validation accuracy significant at this confidence
            (a one-sided z-test over the validation images; short rungs are noisy
            and favour fast starters). None: any lead does. "auto" (the default):
            any lead when the rungs are judged after a cool-down (the cool-down is
            the hedge against the noise), else 0.95.
        incumbent_race: Whether the hand-designed members go on to the last
            selection rung whatever their rank there, in slots of their own
            (`kerasnas.budget_plan.make_plan`'s `raced`), so a proposal displaces
            one only after the longest comparison the selection makes; their
            epochs come out of the winner's training. On by default since
            2026-12-06 (a short first rung favours models that learn fast:
            `reports/budget.md`).
        cooldown_fraction: Judge each model at the end of a selection rung
            after a cool-down branch of this share of the epochs it has trained
            (rounded up to eighths of an epoch): it trains on with the learning
            rate decaying linearly to 0, is validated, and is dropped (the next
            rung continues from the model before it); the branches' epochs come
            out of the winner's training. 0: the model is validated as it is, at
            the held rate. "auto" (the default): 1/6 for a budget in epochs (since
            2026-12-06, after racing), 0 for a budget in minutes (planned without
            cool-downs). Why: a snapshot at the held rate is noisy. On nasbench201
            seed 0, after 1.5 epochs, it put the hand design 7.5 points ahead of a
            proposal that ended ahead of it; 0.25-epoch cool-downs put it 1.45
            behind or 1.55 ahead, depending on their batches: less noise, not none.
            At B = 12 the cooled search is the one that beats the plain CNN on two
            spaces and ties the hand designs on all three (`reports/budget.md`,
            the `cooled` arm).
        final_images: What the winner's last rung trains on: "train" (the training
            split, as the selection did) or "train+val" (the validation images too,
            a fresh stream of both from the rung's start: more images for the
            returned model, its validation score then not held out). The selection
            is judged on the validation split either way, and never sees the test
            set. At B = 12 on 10k / 2k images it gained +0.23 points over nine
            pairs (p = 0.02), less than the plain CNN gains from the same images
            (+0.36): hence the default (`reports/budget.md`, the `trainval` and
            `cnn-trainval` arms).

    A resume from the command line, which cannot name these options, goes on as
    its run began (`kerasnas.run_folder.earlier_options`).
    """

    def __init__(self, *, budget_epochs: float | None = None, budget_minutes: float | None = None,
                 eta: int = 3, selection_fraction: float = 0.25, min_epochs: float = 0.25,
                 warmup_fraction: float = 0.5, asynchronous: bool | None = None,
                 hand_designed: bool = True,
                 incumbent_confidence: float | None | Literal["auto"] = "auto",
                 incumbent_race: bool = True, cooldown_fraction: float | Literal["auto"] = "auto",
                 final_images: Literal["train", "train+val"] = "train"):
        if (budget_epochs is None) == (budget_minutes is None):
            raise ValueError("Give one of `budget_epochs` and `budget_minutes`. Received: "
                             f"budget_epochs={budget_epochs!r}, budget_minutes={budget_minutes!r}")
        if budget_minutes is not None and (isinstance(budget_minutes, bool) or not isinstance(
                budget_minutes, (int, float)) or not budget_minutes > 0):
            raise ValueError(f"`budget_minutes` must be a number > 0. Received: "
                             f"budget_minutes={budget_minutes!r}")
        if not 0 <= warmup_fraction <= 1:
            raise ValueError("`warmup_fraction` must be in [0, 1]. "
                             f"Received: warmup_fraction={warmup_fraction!r}")
        if isinstance(cooldown_fraction, str) and cooldown_fraction != "auto":
            raise ValueError('`cooldown_fraction` must be a number in [0, 1) or "auto". '
                             f"Received: cooldown_fraction={cooldown_fraction!r}")
        if cooldown_fraction == "auto":
            cooldown_fraction = DEFAULT_COOLDOWN if budget_minutes is None else 0.0
        if incumbent_confidence == "auto":
            incumbent_confidence = None if cooldown_fraction else 0.95
        if incumbent_confidence is not None and (
                isinstance(incumbent_confidence, (bool, str))
                or not 0.5 < incumbent_confidence < 1):
            raise ValueError('`incumbent_confidence` must be in (0.5, 1), None or "auto". '
                             f"Received: incumbent_confidence={incumbent_confidence!r}")
        if not isinstance(incumbent_race, bool):
            raise ValueError("`incumbent_race` must be True or False. "
                             f"Received: incumbent_race={incumbent_race!r}")
        if cooldown_fraction and budget_minutes is not None:
            raise ValueError("`cooldown_fraction` is planned in epochs: give `budget_epochs` with "
                             f"it, not `budget_minutes`. Received: cooldown_fraction="
                             f"{cooldown_fraction!r}, budget_minutes={budget_minutes!r}")
        if final_images not in FINAL_IMAGES:
            raise ValueError(f"`final_images` must be one of {', '.join(map(repr, FINAL_IMAGES))}. "
                             f"Received: final_images={final_images!r}")
        self.options: dict[str, Any] = {"eta": eta, "selection_fraction": selection_fraction,
                                        "min_epochs": min_epochs}
        self.cooldown_fraction = cooldown_fraction
        # A time budget's plan waits for the speed measurement (`prepare`); an epoch
        # budget's is made now, so that a bad one is refused before anything is written
        # (for a time budget, a plan of ample epochs checks the other arguments now).
        plan = make_plan(budget_epochs if budget_epochs is not None else 1e4,
                         cooldown_fraction=cooldown_fraction, **self.options)
        self.plan: BudgetPlan | None = plan if budget_epochs is not None else None
        self.budget_epochs, self.budget_minutes = budget_epochs, budget_minutes
        self.warmup_fraction, self.hand_designed = warmup_fraction, hand_designed
        self.incumbent_confidence, self.incumbent_race = incumbent_confidence, incumbent_race
        self.asynchronous, self.final_images = asynchronous, final_images
        self.speed: Speed | None = None
        self._run: Run | None = None
        self._costs: dict[str, float] = {}  # architecture -> cost (`_cost`)

    def get_config(self) -> dict[str, Any]:
        config = {"budget_epochs": self.budget_epochs, **self.options,
                  "warmup_fraction": self.warmup_fraction, "hand_designed": self.hand_designed,
                  "incumbent_confidence": self.incumbent_confidence}
        if self.incumbent_race:  # absent when off, as in run.json of runs before racing
            config["incumbent_race"] = True
        if self.cooldown_fraction:  # absent when 0, as in run.json of runs before it
            config["cooldown_fraction"] = self.cooldown_fraction
        if self.final_images != "train":  # absent by default, as in run.json of runs before it
            config["final_images"] = self.final_images
        if self.budget_minutes is not None:  # absent for an epoch budget, as in earlier run.json
            config = {"budget_minutes": self.budget_minutes, **config}
            del config["budget_epochs"]
        return config

    def describe(self, settings: SearchSettings) -> str:
        if self.plan is None:
            return f"budget {self.budget_minutes:g} minutes"
        if self.speed is None:
            return self.plan.describe()
        return (f"budget {self.budget_minutes:g} minutes, planned at {self.speed.seconds_per_epoch:.1f} "
                f"s an epoch as {self.plan.describe()}, the last rung sized to the time left")

    def starts(self, run: Run) -> list[dict[str, Any]]:
        """The space's hand-designed members that enter the first rung (a third of it at most)."""
        from kerasnas.spaces import HandDesigned

        if not self.hand_designed or not isinstance(run.hypermodel, HandDesigned):
            return []
        return run.hypermodel.hand_designed()[:max(1, self._plan.candidates // 3)]

    @property
    def _plan(self) -> BudgetPlan:
        if self.plan is None:
            raise RuntimeError("A time budget is planned in `prepare(run)`, once the speed is measured.")
        return self.plan

    def steps_per_epoch(self, run: Run) -> int:
        return math.ceil(len(run.data.y_train) / run.settings.batch_size)

    def prepare(self, run: Run) -> keras_tuner.Tuner:
        from kerasnas.methods.continuing_tuner import ContinuingTuner
        from kerasnas.oracles.successive_halving import SuccessiveHalvingOracle
        from kerasnas.schedules import WarmupStableDecay
        from kerasnas.strategy import make_strategy

        s = run.settings
        if s.early_stopping != "none":
            raise ValueError("A budgeted search judges its candidates by successive halving; "
                             "use early_stopping='none' with a budget.")
        steps = self.steps_per_epoch(run)
        if self.budget_minutes is not None:
            self._plan_time_budget(run, steps)
        elif self.incumbent_race:
            self.plan = make_plan(self.budget_epochs or 0.0, raced=len(self.starts(run)),
                                  cooldown_fraction=self.cooldown_fraction, **self.options)
        plan, self._run = self._plan, run
        timed = self.budget_minutes is not None
        incumbent = self.incumbent_confidence
        oracle = SuccessiveHalvingOracle(
            run.oracle, plan, asynchronous=self.asynchronous, starts=self.starts(run), seed=s.seed,
            max_consecutive_failed_trials=s.max_failures,
            final_end=self._final_end if timed else None, cost=self._cost if timed else None,
            validation_images=len(run.data.y_val) if incumbent is not None else None,
            confidence=incumbent or 0.95)
        schedule = WarmupStableDecay(
            warmup_steps=int(self.warmup_fraction * plan.rungs[0].epochs * steps),
            decay_from=round(plan.rungs[-2].epochs * steps),
            decay_to=round(plan.rungs[-1].epochs * steps))
        return ContinuingTuner(
            oracle, run.hypermodel, steps_per_epoch=steps, quantum=QUANTUM, seed=s.seed,
            lr_schedule=schedule, worker_timeout=s.worker_timeout, precision=s.precision,
            constraints=s.parsed_constraints(), objectives=s.objectives,
            schedule_for=self._schedule_for if timed else None,
            deadline_for=self._deadline_for if timed else None,
            cooldowns=plan.cooldowns, final_round=len(plan.rungs) - 1,
            final_parts=FINAL_IMAGES[self.final_images],
            tensorboard_dir=os.path.join(run.directory, "tensorboard") if s.tensorboard else None,
            listener=run, directory=run.directory, project_name=run.project, overwrite=False,
            distribution_strategy=make_strategy(s.strategy))

    def _plan_time_budget(self, run: Run, steps: int) -> None:
        """Measures the speed (or reads it back on a resume) and plans the epochs that fit."""
        from kerasnas import distributed
        from kerasnas.methods.speed import measure_speed

        if distributed.role():
            raise ValueError("A budget in minutes is planned from one process's measured speed; "
                             "in chief/worker mode give the budget in epochs (--budget-epochs).")
        path = os.path.join(run.directory, SPEED_FILE)
        if os.path.isfile(path):
            with open(path) as f:
                self.speed = Speed(**json.load(f))
        else:
            from kerasnas.spaces import HandDesigned

            designed = (run.hypermodel.hand_designed() if self.hand_designed
                        and isinstance(run.hypermodel, HandDesigned) else [])
            first = designed or [{}]  # {}: the space's defaults
            self.speed = measure_speed(run, first[0], chunk=max(1, round(QUANTUM * steps)),
                                       steps_per_epoch=steps)
            write_json(path, self.speed.to_dict())
        speed, minutes = self.speed, self.budget_minutes or 0.0
        seconds = (60 * minutes - speed.seconds_measuring - speed.seconds_to_finish)

        def plan(raced: int) -> BudgetPlan:
            return plan_for_seconds(seconds, seconds_per_epoch=speed.seconds_per_epoch,
                                    seconds_per_trial=speed.seconds_per_trial, raced=raced,
                                    **self.options)

        self.plan = plan(0)
        if self.incumbent_race:  # planned again, with slots for the starts that plan lets in
            self.plan = plan(len(self.starts(run)))

    def _timed(self) -> tuple[Run, Speed, float]:
        """The run, its measured speed and the budget in minutes, once a time budget is prepared."""
        if self._run is None or self.speed is None or self.budget_minutes is None:
            raise RuntimeError("This serves a budget in minutes, after `prepare(run)`.")
        return self._run, self.speed, self.budget_minutes

    def _cost(self, values: dict[str, Any]) -> float:
        """A candidate's cost an epoch relative to the measured model's: their FLOPs' ratio, at
        least a quarter (a step's fixed costs do not shrink with the model)."""
        from kerasnas.layers import estimate_flops
        from kerasnas.methods.speed import build

        run, speed, _ = self._timed()
        architecture = {k: v for k, v in values.items() if not k.startswith("tuner/")}
        key = json.dumps(architecture, sort_keys=True, default=str)
        if key not in self._costs:  # a build per architecture, not per rung
            flops = float(estimate_flops(build(run.hypermodel, architecture)))
            self._costs[key] = max(0.25, flops / max(speed.flops, 1.0))
        return self._costs[key]

    def _schedule_for(self, values: dict[str, Any], first_step: int, last_step: int) -> Schedule:
        """On a budget on the clock rungs differ per candidate: the warm-up spans half of the
        candidate's own first rung, and only the final rung decays (from its first step to its
        last); other rungs hold the rate."""
        from kerasnas.schedules import WarmupStableDecay

        plan, steps = self._plan, self.steps_per_epoch(self._timed()[0])
        warmup = int(self.warmup_fraction * plan.rungs[0].epochs / self._cost(values) * steps)
        if values["tuner/round"] == len(plan.rungs) - 1:
            return WarmupStableDecay(warmup_steps=min(warmup, first_step), decay_from=first_step,
                                     decay_to=max(last_step, first_step + 1))
        return WarmupStableDecay(warmup_steps=min(warmup, last_step), decay_from=last_step,
                                 decay_to=last_step + 1)

    def _deadline_for(self, values: dict[str, Any]) -> float | None:
        """The final rung's deadline on the clock: the budget's end less what follows its steps
        (which grows with the model's cost); other rungs have none."""
        if values["tuner/round"] != len(self._plan.rungs) - 1:
            return None
        run, speed, minutes = self._timed()
        return (run.started + 60 * minutes - speed.seconds_measuring
                - speed.after_training(max(1.0, self._cost(values))))

    def _final_end(self, parent: keras_tuner.engine.trial.Trial) -> float:
        """Where the winner's last rung ends on a time budget: as far as the time left allows at
        the faster of two estimates of its speed, the measured model's scaled by FLOPs and its
        own in its last rung (at least one more quantum). Both err on the slow side (FLOPs miss
        a step's fixed costs; a short rung is mostly loading and tracing), and an end too far
        is cut at the deadline (`_deadline_for`). What follows the steps grows with the
        winner's cost an epoch; its tracing does not."""
        run, speed, minutes = self._timed()
        values = parent.hyperparameters.values
        start, segment = values["tuner/epochs"], values["tuner/epochs"] - values["tuner/initial_epoch"]
        measured = parent.metrics.get_last_value("train_seconds")
        per_epoch = speed.seconds_per_epoch * self._cost(values)
        if measured is not None and segment > 0:
            per_epoch = min(max((measured - speed.trace_seconds) / segment, 1e-3), per_epoch)
        left = (60 * minutes - speed.seconds_measuring - run.elapsed() - speed.trace_seconds
                - speed.after_training(per_epoch / speed.seconds_per_epoch))
        more = math.floor(max(0.0, left) / per_epoch / QUANTUM + 1e-9) * QUANTUM
        return start + max(QUANTUM, more)

    def search(self, run: Run) -> None:
        s = run.settings

        def stream(start_step, parts):  # reshuffled every epoch, from a step on
            return run.data.stream(*parts, batch_size=s.batch_size, seed=s.seed,
                                   start_step=start_step)

        self.loop(run, stream)

    def returned_model(self, run: Run) -> ReturnedModel | None:
        from kerasnas.methods.base import ReturnedModel
        from kerasnas.pareto import feasible
        from kerasnas.tuner import MODEL_FILE

        oracle = run.oracle
        # The model that trained furthest (the winner, once the final rung completed),
        # the best-scoring of them where several reached the same rung.
        done = [t for t in oracle.trials.values() if t.status == "COMPLETED" and feasible(t)]
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
        last = len(self._plan.rungs) - 1

        def spent(trials):
            return sum(t.hyperparameters.values["tuner/epochs"]
                       - t.hyperparameters.values["tuner/initial_epoch"] for t in trials)

        final = [t for t in trained if t.hyperparameters.values["tuner/round"] == last]
        # Cool-down branches trained too; a trial records one it ended.
        branches = sum(self._plan.cooldown(t.hyperparameters.values["tuner/round"])
                       for t in trained if t.metrics.exists("snapshot_accuracy"))
        budget = {"epochs": self._plan.budget_epochs, "epochs_used": spent(trained) + branches,
                  "selection_epochs": spent([t for t in trained if t not in final]) + branches,
                  "final_epochs": spent(final), "final_images": self.final_images,
                  "plan": self._plan.describe(),
                  "seconds": run.elapsed()}
        if self.speed is not None:  # a time budget: its epochs are what it could train
            budget.update(epochs=None, planned_epochs=self._plan.budget_epochs,
                          minutes=self.budget_minutes, speed=self.speed.to_dict(),
                          seconds=run.elapsed() + self.speed.seconds_measuring)
        return {"budget": budget}
