"""Multi-fidelity: stop clearly bad trials after an epoch, with any oracle.

The median stopping rule of Google Vizier (Golovin et al., KDD 2017): a trial
stops after epoch k when its validation accuracy there is below the median of
the accuracies that earlier trials had after epoch k. Deviation from Vizier: it
compares the accuracy after epoch k itself, not the mean of the curve up to k
(in a search of 1-3 epochs the curve is too short to average), and it never
stops a trial at its last epoch (nothing would be saved).

Each trial's accuracy after every epoch is kept in its metrics
(`val_accuracy@1`, `val_accuracy@2`, ...), so the rule reads the same history
after a resume (kill -9 included) as without one.

A policy is a `Stopper` object (`MedianStopping`, `NoStopping`, or your own), as
an oracle is: `search(..., early_stopping=MedianStopping(min_trials=4))`; the
CLI's names map to them through `STOPPERS`.
"""

from __future__ import annotations

import math

import statistics
from typing import TYPE_CHECKING, Any

import keras

from kerasnas import pareto
from kerasnas._config import Configured, from_registry

if TYPE_CHECKING:
    import keras_tuner
    from keras_tuner.engine.trial import Trial

__all__ = ["MIN_TRIALS", "STOPPERS", "MedianStopping", "MedianStoppingRule", "NoStopping", "Stopper",
           "as_stopper", "best_finished", "curves", "epoch_metric"]

MIN_TRIALS = 3  # trials that reached epoch k before the rule judges at k


def epoch_metric(epoch: int) -> str:
    """The metric name of the validation accuracy after `epoch` (1-based)."""
    return f"val_accuracy@{epoch}"


def curves(trials: dict[str, Trial], exclude: str | None = None) -> dict[str, list[float]]:
    """Per-epoch validation accuracy of finished trials: `{trial_id: [acc@1, acc@2, ...]}`.

    Args:
        trials: An oracle's `{trial_id: Trial}`.
        exclude: A trial id left out (the trial being judged).
    """
    out = {}
    for trial_id, trial in trials.items():
        if trial_id == exclude or trial.status != "COMPLETED":
            continue
        curve: list[float] = []
        epoch = 1
        while trial.metrics.exists(epoch_metric(epoch)):
            curve.append(trial.metrics.get_last_value(epoch_metric(epoch)))
            epoch += 1
        if curve:
            out[trial_id] = curve
    return out


class MedianStoppingRule(keras.callbacks.Callback):
    """Stops training after an epoch whose validation accuracy is below the earlier trials' median.

    Args:
        history: `{trial_id: [acc@1, ...]}` of the trials that ran before (`curves`).
        min_trials: Trials that must have reached an epoch before it is judged.
    """

    def __init__(self, history: dict[str, list[float]], *, min_trials: int = MIN_TRIALS):
        super().__init__()
        if not isinstance(min_trials, int) or min_trials < 1:
            raise ValueError(f"`min_trials` must be an int >= 1; got {min_trials!r}.")
        self.history = history
        self.min_trials = min_trials
        self.stopped_at: int | None = None  # the 1-based epoch after which the trial stopped
        self.reason: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch + 1 >= self.params["epochs"]:
            return  # the last epoch: stopping saves nothing
        accuracy = (logs or {}).get("val_accuracy")
        others = [c[epoch] for c in self.history.values() if len(c) > epoch]
        if accuracy is None or len(others) < self.min_trials:
            return
        median = statistics.median(others)
        if accuracy < median:
            self.model.stop_training = True
            self.stopped_at = epoch + 1
            self.reason = (f"median rule: val_accuracy {accuracy:.4f} after epoch {epoch + 1} < "
                           f"median {median:.4f} of {len(others)} earlier trials")


def best_finished(oracle: keras_tuner.Oracle) -> Trial | None:
    """The best completed trial that was not stopped early and kept the constraints (None if
    there is none).

    A stopped trial's score is its accuracy after fewer epochs: it is not
    compared with finished trials as if equal, and never exported as the best.
    A trial that broke a constraint was never trained (`feasible` 0). Of trials
    with the same score, the one with the fewest parameters (so, with several
    objectives, the front's most accurate member: the others are dominated).
    """
    kept = [t for t in oracle.get_best_trials(len(oracle.trials))
            if t.status == "COMPLETED" and not t.metrics.exists("stopped_at_epoch")
            and pareto.feasible(t)]
    if not kept:
        return None
    ties = [t for t in kept if t.score == kept[0].score]
    return min(ties, key=lambda t: t.metrics.get_last_value("params")
               if t.metrics.exists("params") else math.inf)  # stable: the first of equals


class Stopper(Configured):
    """An early-stopping policy: makes the callback that may stop one trial.

    The tuner calls `callback` once per trial and trains the trial with the
    callback it returns (None: no callback). A callback stops the trial by
    setting `model.stop_training`; a trial that trained fewer epochs than asked
    is recorded as stopped (`stopped_at_epoch`), keeps its score for the oracle,
    and is never exported as the best. run.json records the stopper by class
    path and `get_config()`, and a resume with another one is refused.
    """

    #: Whether `callback` reads other trials' curves; chief/worker mode refuses
    #: such a stopper (a worker does not see the other trials).
    needs_other_trials = True

    def callback(self, trials: dict[str, Trial], trial_id: str) -> keras.callbacks.Callback | None:
        """The callback for trial `trial_id`.

        Args:
            trials: The oracle's `{trial_id: Trial}` (finished ones hold their
                curves, see `curves`); empty on a chief/worker worker.
            trial_id: The trial about to train.
        """
        raise NotImplementedError


class NoStopping(Stopper):
    """Every trial trains all its epochs ("none")."""

    needs_other_trials = False

    def callback(self, trials: dict[str, Trial], trial_id: str) -> None:
        return None


class MedianStopping(Stopper):
    """The median stopping rule ("median"; `MedianStoppingRule` per trial).

    Args:
        min_trials: Trials that must have reached an epoch before it is judged.
    """

    def __init__(self, *, min_trials: int = MIN_TRIALS):
        if isinstance(min_trials, bool) or not isinstance(min_trials, int) or min_trials < 1:
            raise ValueError(f"Received: min_trials={min_trials!r}; allowed: an int >= 1.")
        self.min_trials = min_trials

    def callback(self, trials: dict[str, Trial], trial_id: str) -> MedianStoppingRule:
        return MedianStoppingRule(curves(trials, exclude=trial_id), min_trials=self.min_trials)


# Name -> stopper; the CLI offers the same names (`kerasnas.settings.STOPPING`: no Keras there).
STOPPERS = {"none": NoStopping, "median": MedianStopping}


def as_stopper(policy: str | Stopper) -> Stopper:
    """The stopper for a name of `STOPPERS`, or `policy` itself when it is a `Stopper`.

    Raises:
        ValueError: for anything else, listing the valid names.
    """
    stopper: Stopper = from_registry(policy, STOPPERS, Stopper, "early_stopping")
    return stopper
