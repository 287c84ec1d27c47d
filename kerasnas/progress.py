"""How a search shows its progress: a reporter object, as KerasTuner composes its `Display`.

The `Run` calls a reporter at the start, after every trial, for free-form
messages and at the end; a notebook, the CLI and the benchmarks each pass
their own. `Reporter` shows nothing; `ConsoleReporter` writes one line per trial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from keras_tuner.engine import trial as trial_module

from kerasnas.early_stopping import best_finished
from kerasnas.pareto import feasible

if TYPE_CHECKING:
    import pandas as pd
    from keras_tuner.engine.trial import Trial

    from kerasnas.run_folder import Run, SearchResult

__all__ = ["ConsoleReporter", "Reporter", "summary_text", "trial_line"]

_ENDED = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)


class Reporter:
    """Receives a search's events; this base class shows nothing (subclass what you need)."""

    def on_search_begin(self, run: Run) -> None:
        """Called once the run is set up; `run.headline()` says what it searches."""

    def on_trial_end(self, run: Run, trial: Trial) -> None:
        """Called after each trial ended and results.csv was rewritten."""

    def on_message(self, text: str) -> None:
        """A free-form message (chief/worker events, final training)."""

    def on_search_end(self, run: Run, result: SearchResult) -> None:
        """Called with the `SearchResult` once everything is exported."""


class ConsoleReporter(Reporter):
    """One line per trial, then a summary table.

    Args:
        write: A function taking one line of text (default: `print`).
    """

    def __init__(self, write: Callable[[str], Any] = print):
        self.write = write

    def on_search_begin(self, run: Run) -> None:
        self.write(run.headline())

    def on_trial_end(self, run: Run, trial: Trial) -> None:
        self.write(trial_line(run, trial))

    def on_message(self, text: str) -> None:
        self.write(text)

    def on_search_end(self, run: Run, result: SearchResult) -> None:
        self.write(summary_text(result.trials, result.summary))


def trial_line(run: Run, trial: Trial) -> str:
    """`[i/N] #id phase values | val_acc seconds | best so far | elapsed` (a worker: its own part)."""
    notes = getattr(run.oracle, "notes", {}).get(trial.trial_id, {})
    phase = notes.get("phase", "")
    if notes.get("parent") is not None:
        phase += f" of {notes['parent']} ({notes.get('mutation', '')})"
    if trial.status == trial_module.TrialStatus.COMPLETED and not feasible(trial):
        result = run.failure_reason(trial)[:80]  # "infeasible, not trained: ..."
    elif trial.status == trial_module.TrialStatus.COMPLETED:
        m = trial.metrics
        result = (f"val_acc {m.get_last_value('val_accuracy'):.4f} "
                  f"{m.get_last_value('train_seconds'):6.1f}s")
        if m.exists("stopped_at_epoch"):
            result += f" stopped after epoch {int(m.get_last_value('stopped_at_epoch'))} (median rule)"
    else:
        result = f"{trial.status}: {run.failure_reason(trial)[:80]}"
    if run.role == "worker":  # the chief keeps the tally
        return f"{run.tuner_id}: #{trial.trial_id} {phase} | {result}"
    done = sum(t.status in _ENDED for t in run.oracle.trials.values())
    best = best_finished(run.oracle)
    best_text = f"best {best.score:.4f} (#{best.trial_id})" if best is not None else "best -"
    return (f"[{done}/{run.oracle.max_trials}] #{trial.trial_id} {phase:<10} "
            f"{run.describe(trial.hyperparameters.values)} | {result} | {best_text} | "
            f"{run.elapsed() / 60:.1f} min")


def summary_text(table: pd.DataFrame, summary: dict[str, Any]) -> str:
    """The trials sorted by accuracy and the headline numbers."""
    cols = [c for c in ("trial_id", "status", "phase", "arch", "val_accuracy", "params",
                        "train_seconds") if c in table]
    top = table[cols].sort_values("val_accuracy", ascending=False, na_position="last")
    return (f"\n{top.to_string(index=False)}\n\nbest: trial {summary['best_trial']} "
            f"val acc {summary['best_val_accuracy']:.4f}, test acc {summary['test_accuracy']:.4f}; "
            + (f"final test acc {summary['final_test_accuracy']:.4f} after "
               f"{summary['final_epochs']} epochs; " if "final_test_accuracy" in summary else "")
            + (f"{ref['name']} without search: test acc {ref['test_accuracy']:.4f}; "
               if (ref := summary.get("reference_result")) else "")
            + f"{summary['trials_completed']} completed, {summary['trials_failed']} failed, "
            f"{summary['wall_seconds']:.0f} s\n")
