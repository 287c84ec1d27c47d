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
"""

import statistics

import keras

from kerasnas.settings import STOPPING as POLICIES  # one list of names, no Keras there
MIN_TRIALS = 3  # trials that reached epoch k before the rule judges at k


def epoch_metric(epoch):
    """The metric name of the validation accuracy after `epoch` (1-based)."""
    return f"val_accuracy@{epoch}"


def curves(trials, exclude=None):
    """Per-epoch validation accuracy of finished trials: `{trial_id: [acc@1, acc@2, ...]}`.

    Args:
        trials: An oracle's `{trial_id: Trial}`.
        exclude: A trial id left out (the trial being judged).
    """
    out = {}
    for trial_id, trial in trials.items():
        if trial_id == exclude or trial.status != "COMPLETED":
            continue
        curve, epoch = [], 1
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

    def __init__(self, history, *, min_trials=MIN_TRIALS):
        super().__init__()
        if not isinstance(min_trials, int) or min_trials < 1:
            raise ValueError(f"`min_trials` must be an int >= 1; got {min_trials!r}.")
        self.history = history
        self.min_trials = min_trials
        self.stopped_at = None  # the 1-based epoch after which the trial stopped
        self.reason = None

    def on_epoch_end(self, epoch, logs=None):
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


def best_finished(oracle):
    """The best completed trial that was not stopped early (None if there is none).

    A stopped trial's score is its accuracy after fewer epochs: it is not
    compared with finished trials as if equal, and never exported as the best.
    """
    for trial in oracle.get_best_trials(len(oracle.trials)):
        if trial.status == "COMPLETED" and not trial.metrics.exists("stopped_at_epoch"):
            return trial
    return None


def make_stopper(policy, trials, trial_id):
    """The callback for `policy` judging trial `trial_id` against `trials` (None for "none").

    Raises:
        ValueError: for an unknown policy, listing the valid ones.
    """
    if policy not in POLICIES:
        raise ValueError(f"Unknown early_stopping {policy!r}. Choose one of: {', '.join(POLICIES)}.")
    if policy == "none":
        return None
    return MedianStoppingRule(curves(trials, exclude=trial_id))
