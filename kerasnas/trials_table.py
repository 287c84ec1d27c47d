"""The trials table (results.csv) and the search clock across resumes.

Pure functions of KerasTuner trials: the `Run` writes the table, reporters
and benchmarks read it.
"""

import os

import pandas as pd

ERROR_FILE = "error.txt"  # a failed trial's message, beside its trial.json
RESULTS_FILE = "results.csv"


def failure_reason(trial, project_dir):
    """The last line of a failed trial's message (on a chief: from the worker's file)."""
    message = trial.message
    path = os.path.join(project_dir, f"trial_{trial.trial_id}", ERROR_FILE)
    if not message and os.path.isfile(path):
        with open(path) as f:
            message = f.read()
    return message.strip().splitlines()[-1] if message and message.strip() else ""


def results_table(oracle, describe, started, earlier_end, project_dir):
    """One row per trial: id, status, how chosen, architecture, metrics, values.

    Args:
        oracle: The search's oracle (its trials and `notes`).
        describe: Function from hyperparameter values to a short text.
        started: The search clock's start (`time.time()` units).
        earlier_end: `{trial_id: end_seconds}` of trials that ended before a resume.
        project_dir: The KerasTuner project folder (for failure messages).
    """
    notes = getattr(oracle, "notes", {})
    rows = []
    for trial_id, trial in sorted(oracle.trials.items()):
        row = trial_row(trial, notes.get(trial_id, {}), describe, started,
                        failure_reason(trial, project_dir))
        if trial_id in earlier_end:
            row["end_seconds"] = earlier_end[trial_id]
        rows.append(row)
    return pd.DataFrame(rows)


def trial_row(trial, note, describe, started, reason=""):
    """A trial's row of results.csv; `started` is the search's start (time.time())."""
    m = trial.metrics
    get = lambda name: m.get_last_value(name) if m.exists(name) else None  # noqa: E731
    values = trial.hyperparameters.values
    return {
        "trial_id": trial.trial_id, "status": trial.status, "phase": note.get("phase"),
        "parent": note.get("parent"), "mutation": note.get("mutation"),
        **({"proxy_score": note["proxy_score"]} if "proxy_score" in note else {}),
        "arch": describe(values), "val_accuracy": get("val_accuracy"),
        "val_loss": get("val_loss"), "params": get("params"),
        **{name: get(name) for name in ("flops", "latency_ms", "feasible", "resumed_at_epoch",
                                          "snapshot_accuracy")
           if m.exists(name)},
        "train_seconds": get("train_seconds"), "epochs_trained": get("epochs_trained"),
        "stopped_at_epoch": get("stopped_at_epoch"),
        "end_seconds": (get("ended_at") - started) if get("ended_at") else None,
        "message": reason or None,
        **{name: get(name) for name in sorted(
            (n for n in m.metrics if n.startswith("val_accuracy@")),
            key=lambda n: int(n.split("@")[1]))},  # after each epoch (kerasnas.early_stopping)
        **fidelity_columns(values),
        **{f"hp.{k}": v for k, v in values.items() if not k.startswith("tuner/")},
    }


def mark_pareto(table, objectives):
    """Adds `pareto`: 1 for the completed trials within the constraints that no other such
    trial dominates in `objectives` (names of `kerasnas.pareto.OBJECTIVES`), else 0."""
    from kerasnas.pareto import METRICS, OBJECTIVES, pareto_front

    table["pareto"] = 0
    if not len(table):
        return table
    kept = table.status == "COMPLETED"
    if "feasible" in table:
        kept &= table.feasible.fillna(1) != 0
    rows = table.index[kept]
    points = table.loc[rows, [METRICS[n] for n in objectives]].astype(float).values.tolist()
    front = pareto_front(points, [OBJECTIVES[n] for n in objectives])
    table.loc[rows[front], "pareto"] = 1
    return table


def fidelity_columns(values):
    """A budgeted search's rung, the epochs a trial went from and to, and its parent."""
    if "tuner/round" not in values:
        return {}
    return {"rung": values["tuner/round"], "epochs_from": values["tuner/initial_epoch"],
            "epochs_to": values["tuner/epochs"],
            "promoted_from": values.get("tuner/trial_id") or None}


def earlier_end_seconds(trials, results_path=None):
    """Each ended trial's end on the search clock, for a search being resumed.

    Read from the earlier run's results table where it has one; otherwise (a run
    from before kerasnas wrote that table) measured from the first trial's start,
    which assumes the earlier trials ran in one process.

    Args:
        trials: The reloaded oracle's trials, `{trial_id: Trial}`.
        results_path: The earlier run's results.csv, if any.

    Returns:
        `{trial_id: seconds}` for the trials that ended; empty for a fresh search.
    """
    ended = {i: t for i, t in trials.items() if t.metrics.exists("ended_at")}
    if not ended:
        return {}
    if results_path and os.path.isfile(results_path):
        table = pd.read_csv(results_path, dtype={"trial_id": str})
        known = table[table.end_seconds.notna() & table.trial_id.isin(list(ended))]
        return dict(zip(known.trial_id, known.end_seconds.astype(float)))
    last = lambda t, name: t.metrics.get_last_value(name)  # noqa: E731
    start = min(last(t, "ended_at") - last(t, "train_seconds") for t in ended.values())
    return {i: last(t, "ended_at") - start for i, t in ended.items()}


def short_values(values):
    """Hyperparameter values in short form: `name=value` with 3 significant digits."""
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    return " ".join(f"{k}={fmt(v)}" for k, v in values.items())
