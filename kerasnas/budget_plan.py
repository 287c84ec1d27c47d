"""How a budget of training epochs is split: successive-halving rungs, then the winner's training.

One budget `B` (epochs of the training split, every model counted) pays for
the selection and for the returned model. Selection is one successive-halving
bracket (Jamieson & Talwalkar 2016; Li et al. 2020, ASHA): `n0 = eta^(R-1)`
candidates train `r0` epochs, the best `1/eta` continue to `eta` times that,
and so on until one is left. The winner then trains on from its checkpoint to
the end of the budget, so the returned model has trained `B - (selection spent
on the others)` epochs, not `B / n`.

A plan may race known-good members (`raced`): every selection rung above the
first keeps that many slots of its own for them, so a hand design is compared
with the best proposals after the longest training the selection gives, not
dropped after the first, short rung (SMAC's incumbent is likewise judged at the
highest budget). Those slots are paid from the winner's training.

A plan may also cool every judged model down (`cooldowns`): at the end of each
selection rung a model trains on in a branch whose learning rate decays to 0, is
validated, and the branch is dropped (the next rung continues from the checkpoint
before it). The branches are paid from the winner's training too.

Fidelities are multiples of `quantum` epochs (fractions count steps).
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["FINAL_IMAGES", "QUANTUM", "BudgetPlan", "Rung", "make_plan", "plan_for_seconds"]

QUANTUM = 0.125  # epochs: a rung's length is a whole number of eighths of an epoch
# `final_images` -> the splits the winner's last rung trains on.
FINAL_IMAGES = {"train": ("train",), "train+val": ("train", "val")}


@dataclasses.dataclass(frozen=True)
class Rung:
    """A rung: how many models reach it and their cumulative epochs when they leave it."""

    size: int
    epochs: float


@dataclasses.dataclass(frozen=True)
class BudgetPlan:
    """The rungs of the selection, then the final rung (one model, to the end of the budget).

    Attributes:
        budget_epochs: The whole budget `B`.
        rungs: Selection rungs, largest first, then the final rung (size 1).
        eta: The reduction factor between rungs.
        raced: Slots of every selection rung above the first that go to the
            known-good members (the starts) whatever their rank.
        cooldowns: Epochs of the discarded cool-down branch that judges each
            model of each selection rung (empty: none).
    """

    budget_epochs: float
    rungs: tuple[Rung, ...]
    eta: int
    raced: int = 0
    cooldowns: tuple[float, ...] = ()

    @property
    def candidates(self) -> int:
        """Models that start (rung 0's size)."""
        return self.rungs[0].size

    @property
    def trials(self) -> int:
        """Trials the plan runs: each rung's models (a promotion is a trial of its own)."""
        return sum(r.size for r in self.rungs)

    def segment(self, rung: int) -> float:
        """Epochs one model trains within `rung` (from the rung below's end)."""
        start = self.rungs[rung - 1].epochs if rung else 0.0
        return self.rungs[rung].epochs - start

    def cooldown(self, rung: int) -> float:
        """Epochs of the cool-down branch that judges each model of `rung` (0: none)."""
        return self.cooldowns[rung] if rung < len(self.cooldowns) else 0.0

    @property
    def selection_epochs(self) -> float:
        """Epochs spent on every model before the final rung, the winner's and the cool-down
        branches included."""
        return sum(r.size * (self.segment(k) + self.cooldown(k))
                   for k, r in enumerate(self.rungs[:-1]))

    @property
    def final_epochs(self) -> float:
        """Epochs of the final rung: the winner going on to the end of the budget."""
        return self.segment(len(self.rungs) - 1)

    @property
    def total_epochs(self) -> float:
        return self.selection_epochs + self.final_epochs

    def describe(self) -> str:
        rungs = ", ".join(f"{r.size} x {r.epochs:g}" for r in self.rungs[:-1])
        raced = (f"; {'the hand design' if self.raced == 1 else f'{self.raced} hand designs'} "
                 "raced to the last selection rung" if self.raced else "")
        cooled = ("; judged after cool-downs of " + ", ".join(f"{c:g}" for c in self.cooldowns)
                  + " epochs" if self.cooldowns else "")
        return (f"budget {self.budget_epochs:g} epochs: selection {rungs} epochs "
                f"({self.selection_epochs:g}{raced}{cooled}), then the winner to "
                f"{self.rungs[-1].epochs:g} epochs (+{self.final_epochs:g})")


def make_plan(budget_epochs: float, *, eta: int = 3, selection_fraction: float = 0.25,
              min_epochs: float = 0.25, quantum: float = QUANTUM, raced: int = 0,
              cooldown_fraction: float = 0.0) -> BudgetPlan:
    """The plan with the most candidates whose first rung still trains `min_epochs`.

    Args:
        budget_epochs: The whole budget, in epochs of the training split.
        eta: Reduction factor (the best 1/eta of a rung go on).
        selection_fraction: Share of the budget spent on selection (every
            model's epochs before the final rung, the winner's included), the
            raced slots aside.
        min_epochs: The least a candidate trains before it is judged.
        quantum: Rung lengths are multiples of this many epochs.
        raced: Slots added to every selection rung above the first for the
            known-good members, whose epochs come out of the winner's training.
        cooldown_fraction: Each selection rung's models are judged after a
            discarded cool-down branch of this share of the epochs they have
            trained, rounded up to whole quanta; the branches come out of the
            winner's training. 0: none.

    Raises:
        ValueError: for a budget too small to judge even `eta` candidates, or
            arguments out of range (naming what was received and what is allowed).
    """
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise ValueError(f"`eta` must be an integer >= 2. Received: eta={eta!r}")
    if not 0 < selection_fraction < 1:
        raise ValueError("`selection_fraction` must be in (0, 1). "
                         f"Received: selection_fraction={selection_fraction!r}")
    if not quantum > 0 or not min_epochs >= quantum:
        raise ValueError(f"`min_epochs` must be >= `quantum` > 0. Received: min_epochs={min_epochs!r}, "
                         f"quantum={quantum!r}")
    if not budget_epochs > 0:
        raise ValueError(f"`budget_epochs` must be > 0. Received: budget_epochs={budget_epochs!r}")
    if not isinstance(raced, int) or isinstance(raced, bool) or raced < 0:
        raise ValueError(f"`raced` must be an integer >= 0. Received: raced={raced!r}")
    if (isinstance(cooldown_fraction, bool) or not isinstance(cooldown_fraction, (int, float))
            or not 0 <= cooldown_fraction < 1):
        raise ValueError("`cooldown_fraction` must be a number in [0, 1). "
                         f"Received: cooldown_fraction={cooldown_fraction!r}")
    selection = budget_epochs * selection_fraction
    best = None
    for rungs in range(2, 12):
        n0 = eta ** (rungs - 1)
        # cost = n0 * r0 * (1 + (rungs - 1) * (1 - 1/eta)): each rung k >= 1 adds
        # n0 / eta^k models x (eta^k - eta^(k-1)) r0 epochs.
        r0 = selection / (n0 * (1 + (rungs - 1) * (1 - 1 / eta)))
        r0 = math.floor(r0 / quantum + 1e-9) * quantum
        if r0 < min_epochs:
            break
        best = (rungs, n0, r0)
    if best is None:
        least = min_epochs * eta * (2 - 1 / eta) / selection_fraction
        raise ValueError(f"A budget of {budget_epochs:g} epochs is too small to compare {eta} "
                         f"candidates for {min_epochs:g} epochs each with selection_fraction "
                         f"{selection_fraction:g}: give at least {least:g} epochs, or a lower "
                         "min_epochs.")
    rungs, n0, r0 = best
    selection_rungs = tuple(Rung(n0 // eta ** k + (raced if k else 0), r0 * eta ** k)
                            for k in range(rungs))
    cooldowns = (tuple(math.ceil(cooldown_fraction * r.epochs / quantum - 1e-9) * quantum
                       for r in selection_rungs) if cooldown_fraction else ())
    plan = BudgetPlan(budget_epochs, (*selection_rungs, Rung(1, 0.0)), eta, raced, cooldowns)
    if plan.selection_epochs + quantum > budget_epochs:  # the winner trains on a quantum at least
        extra = " and ".join(([f"{raced} raced slot(s)"] if raced else [])
                             + (["the cool-downs"] if cooldowns else []))
        raise ValueError(f"A budget of {budget_epochs:g} epochs cannot pay for {extra} besides "
                         f"its selection ({plan.describe()}): give a larger budget, or "
                         + ("race none." if not cooldowns else "a lower cooldown_fraction."))
    final_end = selection_rungs[-1].epochs + budget_epochs - plan.selection_epochs
    # Whole quanta only: the winner stops at or just below the budget.
    final_end = math.floor(final_end / quantum + 1e-9) * quantum
    return BudgetPlan(budget_epochs, (*selection_rungs, Rung(1, final_end)), eta, raced, cooldowns)


def plan_for_seconds(seconds: float, *, seconds_per_epoch: float, seconds_per_trial: float,
                     eta: int = 3, selection_fraction: float = 0.25, min_epochs: float = 0.25,
                     quantum: float = QUANTUM, raced: int = 0) -> BudgetPlan:
    """The plan with the largest budget in epochs whose estimated time fits in `seconds`.

    A plan's time is estimated as `total_epochs * seconds_per_epoch + trials *
    seconds_per_trial` (a trial's fixed cost: build or load, trace, validate, save).

    Raises:
        ValueError: when even the smallest plan does not fit, naming the time it needs.
    """
    if not seconds_per_epoch > 0 or not seconds_per_trial >= 0:
        raise ValueError("Expected seconds_per_epoch > 0 and seconds_per_trial >= 0. Received: "
                         f"seconds_per_epoch={seconds_per_epoch!r}, "
                         f"seconds_per_trial={seconds_per_trial!r}")

    def plan(budget: float) -> BudgetPlan:
        return make_plan(budget, eta=eta, selection_fraction=selection_fraction,
                         min_epochs=min_epochs, quantum=quantum, raced=raced)

    def cost(candidate: BudgetPlan) -> float:
        return candidate.total_epochs * seconds_per_epoch + candidate.trials * seconds_per_trial

    quanta = math.floor(max(seconds, 0.0) / seconds_per_epoch / quantum + 1e-9)
    for n in range(quanta, 0, -1):  # the cost grows with the budget: the first that fits is the largest
        try:
            fitting = plan(n * quantum)
        except ValueError:
            break  # smaller budgets are too small as well
        if cost(fitting) <= seconds:
            return fitting
    least = min_epochs * eta * (2 - 1 / eta) / selection_fraction
    smallest = plan(math.ceil(least / quantum - 1e-9) * quantum)
    raise ValueError(f"{seconds:.0f} seconds are too few for a budgeted search here: at the "
                     f"measured {seconds_per_epoch:.1f} s an epoch and {seconds_per_trial:.1f} s "
                     f"a trial, the smallest plan ({smallest.describe()}) needs about "
                     f"{cost(smallest):.0f} s. Give a larger budget, or fewer training images.")
