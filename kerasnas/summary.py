"""What a finished search leaves: the returned model tested once (best_model.keras),
its cell, a final retraining if asked, summary.json and report.md."""

from __future__ import annotations

import os
import shutil
import time
from typing import TYPE_CHECKING, Any

import keras

from kerasnas._config import to_json
from kerasnas.files import write_json
from kerasnas.provenance import machine, versions
from kerasnas.spaces import CellSpace

if TYPE_CHECKING:
    import pandas as pd
    from keras_tuner.engine.trial import Trial

    from kerasnas.methods import ReturnedModel
    from kerasnas.run_folder import Run

__all__ = ["export_best"]

def export_best(run: Run, table: pd.DataFrame, returned: ReturnedModel | None,
                final_epochs: int) -> tuple[dict[str, Any], Trial, float, str]:
    """Tests the returned model once, retrains it if asked, writes summary and report.

    Args:
        run: The `kerasnas.run_folder.Run` (its space, data and settings).
        table: The trials table.
        returned: The method's `kerasnas.methods.ReturnedModel` (None: no trial completed).
        final_epochs: Epochs of the final retraining (0: none).

    Returns:
        (summary dict, best trial, test accuracy, model path).

    Raises:
        RuntimeError: when no trial completed.
    """
    directory, data = run.directory, run.data
    batch_size = run.settings.batch_size
    if returned is None:
        results = os.path.join(directory, "results.csv")
        if run.settings.constraints and (table.status == "COMPLETED").any():
            raise ValueError(f"No candidate kept the constraints ({', '.join(run.settings.constraints)}):"
                             f" each trial broke one ({results}, column message). Loosen them, or "
                             "pin smaller knobs of the space (--space-option).")
        raise RuntimeError(f"No trial completed; see {results}.")
    best = returned.trial
    model_path = os.path.join(directory, "best_model.keras")
    shutil.copyfile(returned.path, model_path + ".tmp")
    os.replace(model_path + ".tmp", model_path)
    # In memory: reuses its compiled graph (benchmarks/overhead.py); else (a best trial
    # from before a resume, or a worker's) loaded.
    model = returned.model if returned.model is not None else keras.models.load_model(model_path)
    test = data.dataset("test", batch_size=batch_size)
    test_accuracy = float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"])
    values = best.hyperparameters.values
    if isinstance(run.hypermodel, CellSpace):
        from kerasnas.drawing import draw_cell

        draw_cell(run.hypermodel.cell_graph(values), os.path.join(directory, "best_cell.png"),
                  title=f"best cell, trial {best.trial_id}: val acc {best.score:.4f}")
    final = {}
    if final_epochs:
        final = _retrain(run, values, best.trial_id, final_epochs)
    method = run.method.summary(run)
    summary = {
        **run.record,
        "best_trial": best.trial_id, "best_values": values,
        "best_architecture": table.loc[table.trial_id == best.trial_id, "arch"].iloc[0],
        "best_val_accuracy": best.score, "test_accuracy": test_accuracy, **final,
        **_latency_protocol(run),
        **_front(run, table, best.trial_id, test_accuracy, test),
        **method, **_reference(run, method.get("budget")),
        "trials_completed": int((table.status == "COMPLETED").sum()),
        "trials_failed": int((table.status == "FAILED").sum()),
        "wall_seconds": run.elapsed(), "resumed_after_seconds": run.resumed_after,
        "data_source": data.source, "strategy": run.strategy_text, "method": run.method.describe(run.settings),
        "input": f"raw images (uint8 values), shape {data.input_shape}: the model normalises them",
        "split": to_json(data.describe()), "machine": machine(), "versions": versions(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    write_json(os.path.join(directory, "summary.json"), summary, indent=2, default=str)
    from kerasnas.report import write_report

    write_report(directory)
    return summary, best, test_accuracy, model_path


def _retrain(run: Run, values: dict[str, Any], trial_id: str, epochs: int) -> dict[str, Any]:
    from kerasnas.final import retrain

    data = run.data
    run.reporter.on_message(f"final training of trial {trial_id}: {epochs} epochs on "
                            f"{len(data.y_train) + len(data.y_val)} images")
    start = time.time()
    model, accuracy, _ = retrain(run.hypermodel, values, data, epochs=epochs,
                                 precision=run.settings.precision,
                                 backup_dir=os.path.join(run.directory, "final_backup"),
                                 batch_size=run.settings.batch_size, seed=run.settings.seed,
                                 strategy=run.strategy, log=run.reporter.on_message)
    model.save(os.path.join(run.directory, "final_model.keras"))
    return {"final_epochs": epochs, "final_test_accuracy": accuracy,
            "final_seconds": time.time() - start}


def _reference(run: Run, budget: dict[str, Any] | None) -> dict[str, Any]:
    """`reference_result`: the network of `settings.reference` trained beside the search (outside
    its budget), tested once (`kerasnas.reference`)."""
    if run.settings.reference is None:
        return {}
    from kerasnas.reference import reference_epochs, train_reference

    return {"reference_result": train_reference(run, epochs=reference_epochs(run, budget))}


FRONT_FOLDER = "front"


def _front(run: Run, table: pd.DataFrame, best_id: str, best_test: float, test: Any
           ) -> dict[str, Any]:
    """With several objectives: `pareto_front`, each member of results.csv's front with its
    objectives and its test accuracy (tested once), its model copied to front/<trial>.keras."""
    objectives = run.settings.objectives
    if len(objectives) == 1:
        return {}
    from kerasnas.pareto import METRICS
    from kerasnas.tuner import MODEL_FILE

    folder = os.path.join(run.directory, FRONT_FOLDER)
    os.makedirs(folder, exist_ok=True)
    members = []
    for row in table[table.pareto == 1].itertuples(index=False):
        trial_id = str(row.trial_id)
        path = os.path.join(folder, f"{trial_id}.keras")
        if not os.path.isfile(path):
            shutil.copyfile(os.path.join(run.tuner.get_trial_dir(trial_id), MODEL_FILE), path + ".tmp")
            os.replace(path + ".tmp", path)
        accuracy = best_test if trial_id == best_id else float(keras.models.load_model(path).evaluate(
            test, verbose=0, return_dict=True)["accuracy"])
        members.append({"trial_id": trial_id, "architecture": row.arch,
                        **{name: float(getattr(row, METRICS[name])) for name in objectives},
                        "test_accuracy": accuracy, "model": os.path.join(FRONT_FOLDER, f"{trial_id}.keras"),
                        "values": run.oracle.trials[trial_id].hyperparameters.values})
    members.sort(key=lambda m: -m["accuracy"])
    return {"pareto_front": members}


def _latency_protocol(run: Run) -> dict[str, Any]:
    """How latency was measured, where a constraint or an objective names it or a reference is
    timed (the figure depends on it)."""
    names = {c.name for c in run.settings.parsed_constraints()} | set(run.settings.objectives)
    if "latency" not in names and run.settings.reference is None:
        return {}
    from kerasnas.footprint import LATENCY_PROTOCOL, runtime

    return {"latency_protocol": {**LATENCY_PROTOCOL, **runtime()}}
