"""The one `search()` that the CLI, the benchmarks and users call."""

import dataclasses
import json
import os
import platform
import shutil
import time

import keras
import keras_tuner
import pandas as pd

from kerasnas import distributed
from kerasnas.oracles import make_oracle
from kerasnas.spaces import get_space
from kerasnas.strategy import describe as describe_strategy
from kerasnas.strategy import make_strategy
from kerasnas.tuner import MODEL_FILE, RESULTS_FILE, NASTuner

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")
PROJECT = "search"  # the KerasTuner project folder inside the output directory
RUN_FILE = "run.json"  # the settings a resume must match
# Settings that change what the trials mean; a resume must not change them.
RESUME_KEYS = ("space", "oracle", "seed", "epochs", "batch_size", "train_size", "val_size",
               "space_options", "oracle_options", "dataset")


class SearchStopped(RuntimeError):
    """The search stopped early (failures past the limit, workers gone).

    What completed was exported: `result` holds it (None if nothing completed).
    """

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclasses.dataclass
class SearchResult:
    """What a search leaves: the trials table, the best trial, its test accuracy, files."""

    trials: pd.DataFrame
    best: dict
    test_accuracy: float
    model_path: str
    directory: str
    wall_seconds: float
    summary: dict


def search(space, oracle, data, *, max_trials, epochs=1, batch_size=128, strategy="auto",
           directory, seed=0, overwrite=False, resume=False, space_options=None,
           oracle_options=None, max_consecutive_failed_trials=3, verbose=0, log=print,
           worker_timeout=120.0, final_epochs=0, tensorboard=False):
    """Searches `space` with `oracle` on `data` and exports the best model.

    Args:
        space: A space name (see `kerasnas.spaces.SPACES`) or a `keras_tuner.HyperModel`.
        oracle: An oracle name (see `kerasnas.oracles.ORACLES`) or a `keras_tuner.Oracle`.
        data: A `kerasnas.datasets.Splits` (or `StreamedSplits`), or anything
            `kerasnas.datasets.make_splits` takes (a name, "tfds:NAME", a
            folder, an .npz, arrays, a tf.data.Dataset), split with its
            defaults and `seed`. The trials never see its test part. The
            space takes its input shape, classes and normalisation from it.
        max_trials: Trial budget (failed trials count toward it).
        epochs: Training epochs per trial.
        batch_size: Global batch size (split across replicas).
        strategy: "auto", "default", "mirrored" or a `tf.distribute.Strategy`.
        directory: Output folder: results.csv, summary.json, best_model.keras,
            best_cell.png (cell spaces) and the KerasTuner project `search/`.
        seed: Seed of the oracle and of each trial's training.
        overwrite: Delete an earlier kerasnas run in `directory` first.
        resume: Continue the run in `directory` (same settings required). The
            wall time then counts the earlier run up to its last finished trial.
        space_options: Knob values for a space given by name.
        oracle_options: Options for an oracle given by name.
        max_consecutive_failed_trials: The search stops (RuntimeError) after
            this many failed trials in a row.
        verbose: Keras' fit verbosity (0: one line per trial).
        log: Function receiving progress lines (None: silent).
        worker_timeout: Chief/worker mode (`kerasnas.distributed.configure`):
            seconds of silence after which a worker counts as lost.
        final_epochs: If > 0, the best architecture is then trained from
            scratch on train + validation for this many epochs with
            augmentation and cosine decay (`kerasnas.final.retrain`), tested
            once, and exported as final_model.keras.
        tensorboard: Write per-trial scalars and HParams to `directory/tensorboard`.

    Returns:
        A `SearchResult`; None on a worker (the chief exports the results).

    Raises:
        ValueError: for bad settings or a directory that cannot be used.
        SearchStopped: when the search stopped early; what completed is exported.
    """
    if not isinstance(max_trials, int) or max_trials < 1:
        raise ValueError(f"`max_trials` must be an integer >= 1; got {max_trials!r}.")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"`epochs` must be an integer >= 1; got {epochs!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be an integer >= 1; got {batch_size!r}.")
    if not isinstance(final_epochs, int) or final_epochs < 0:
        raise ValueError(f"`final_epochs` must be an integer >= 0; got {final_epochs!r}.")
    log = log or (lambda line: None)
    if not hasattr(data, "dataset"):  # a dataset spec, not splits
        from kerasnas.datasets import make_splits

        data = make_splits(data, seed=seed)
    # Built before anything is written: an input shape outside the space's limits is refused here.
    hypermodel = get_space(space, **(space_options or {})) if isinstance(space, str) else space
    if hasattr(hypermodel, "for_data"):
        hypermodel.for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                            mean=data.mean, variance=data.variance)
    settings = {
        "space": space if isinstance(space, str) else type(space).__name__,
        "oracle": oracle if isinstance(oracle, str) else type(oracle).__name__,
        "seed": seed, "epochs": epochs, "batch_size": batch_size, "max_trials": max_trials,
        "train_size": len(data.y_train), "val_size": len(data.y_val),
        "space_options": _jsonable(space_options or {}), "oracle_options": _jsonable(oracle_options or {}),
        "dataset": _jsonable(data.identity),
    }
    worker = distributed.role() == "worker"
    if worker:
        wait_for_chief(directory, settings, timeout=worker_timeout)
    else:
        prepare_directory(directory, settings, overwrite=overwrite, resume=resume)

    if isinstance(oracle, str):
        oracle = make_oracle(oracle, objective=OBJECTIVE, max_trials=max_trials, seed=seed,
                             max_consecutive_failed_trials=max_consecutive_failed_trials,
                             **(oracle_options or {}))
    dist = make_strategy(strategy)
    tuner = NASTuner(oracle, hypermodel, seed=seed, log=log,
                     describe=getattr(hypermodel, "describe", None),
                     directory=directory, project_name=PROJECT, overwrite=False,
                     distribution_strategy=dist, worker_timeout=worker_timeout,
                     tensorboard_dir=os.path.join(directory, "tensorboard") if tensorboard else None,
                     results_path=os.path.join(directory, RESULTS_FILE))
    tuner.oracle.max_trials = max_trials  # KerasTuner does not save it: the caller's wins
    log(f"kerasnas: {settings['space']} x {settings['oracle']}, {max_trials} trials x {epochs} "
        f"epochs, train {settings['train_size']} / val {settings['val_size']}, "
        f"{describe_strategy(dist)}, data: {data.source}")

    started = tuner.search_started  # a resumed search's clock goes on (NASTuner)
    # Made by each trial after it seeds (NASTuner): a shared dataset's shuffle
    # order depended on the global seed and on how many trials ran before.
    def train():
        return data.dataset("train", batch_size=batch_size, shuffle=True, seed=seed)

    def val():
        return data.dataset("val", batch_size=batch_size)
    if worker:
        tuner.search(train, val, epochs=epochs, verbose=verbose)
        return None
    stopped = None
    try:
        tuner.search(train, val, epochs=epochs, verbose=verbose)
    except RuntimeError as e:  # failures past the limit, or no worker left
        stopped = e
    # Whatever happened, what completed is recorded and exported.
    table = tuner.results_table()
    table.to_csv(os.path.join(directory, RESULTS_FILE), index=False)
    completed = int((table.status == "COMPLETED").sum()) if len(table) else 0
    result = None
    if completed or stopped is None:
        result = finish(tuner, hypermodel, data, table, settings, directory, dist,
                        batch_size, started, log, final_epochs=0 if stopped else final_epochs)
    if stopped is not None:
        raise SearchStopped(f"{str(stopped).splitlines()[0]} ({len(table)} trials recorded, "
                            f"{completed} completed)", result) from stopped
    return result


def finish(tuner, hypermodel, data, table, settings, directory, dist, batch_size, started, log,
           final_epochs=0):
    """Tests the best trial's model once, retrains it if asked, writes summary and report."""
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].status != "COMPLETED":
        raise RuntimeError(f"No trial completed; see {os.path.join(directory, 'results.csv')}.")
    best = best[0]
    model_path = os.path.join(directory, "best_model.keras")
    shutil.copyfile(os.path.join(tuner.get_trial_dir(best.trial_id), MODEL_FILE), model_path + ".tmp")
    os.replace(model_path + ".tmp", model_path)
    in_memory = tuner.best_in_memory
    if in_memory is not None and in_memory[0] == best.trial_id:
        model = in_memory[2]
    else:  # e.g. the best trial ran before a resume, or on a worker
        model = keras.models.load_model(model_path)
    test = data.dataset("test", batch_size=batch_size)
    test_accuracy = float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"])
    values = best.hyperparameters.values
    if hasattr(hypermodel, "cell_graph"):
        from kerasnas.drawing import draw_cell

        draw_cell(hypermodel.cell_graph(values), os.path.join(directory, "best_cell.png"),
                  title=f"best cell, trial {best.trial_id}: val acc {best.score:.4f}")
    final = {}
    if final_epochs:
        from kerasnas.final import retrain

        log(f"final training of trial {best.trial_id}: {final_epochs} epochs on "
            f"{len(data.y_train) + len(data.y_val)} images")
        final_start = time.time()
        final_model, final_accuracy, _ = retrain(hypermodel, values, data, epochs=final_epochs,
                                                 batch_size=batch_size, seed=settings["seed"],
                                                 strategy=dist, log=log)
        final_model.save(os.path.join(directory, "final_model.keras"))
        final = {"final_epochs": final_epochs, "final_test_accuracy": final_accuracy,
                 "final_seconds": time.time() - final_start}
    wall = time.time() - started
    summary = {
        **settings,
        "best_trial": best.trial_id, "best_values": values,
        "best_architecture": table.loc[table.trial_id == best.trial_id, "arch"].iloc[0],
        "best_val_accuracy": best.score, "test_accuracy": test_accuracy, **final,
        "trials_completed": int((table.status == "COMPLETED").sum()),
        "trials_failed": int((table.status == "FAILED").sum()),
        "wall_seconds": wall, "resumed_after_seconds": tuner.resumed_after,
        "data_source": data.source, "strategy": describe_strategy(dist),
        "input": f"raw images (uint8 values), shape {data.input_shape}: the model normalises them",
        "split": _jsonable(data.describe()),
        "machine": machine(), "versions": versions(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    _write_json(os.path.join(directory, "summary.json"), summary)
    from kerasnas.report import write_report

    write_report(directory)
    log(summary_text(table, summary))
    return SearchResult(table, {"trial_id": best.trial_id, "values": values, "val_accuracy": best.score},
                        test_accuracy, model_path, directory, wall, summary)


def summary_text(table, summary):
    cols = [c for c in ("trial_id", "status", "phase", "arch", "val_accuracy", "params",
                        "train_seconds") if c in table]
    top = table[cols].sort_values("val_accuracy", ascending=False, na_position="last")
    return (f"\n{top.to_string(index=False)}\n\nbest: trial {summary['best_trial']} "
            f"val acc {summary['best_val_accuracy']:.4f}, test acc {summary['test_accuracy']:.4f}; "
            + (f"final test acc {summary['final_test_accuracy']:.4f} after "
               f"{summary['final_epochs']} epochs; " if "final_test_accuracy" in summary else "")
            + f"{summary['trials_completed']} completed, {summary['trials_failed']} failed, "
            f"{summary['wall_seconds']:.0f} s\n")


def prepare_directory(directory, settings, *, overwrite, resume):
    """Creates, reuses or clears the output folder; never deletes what isn't ours.

    Raises:
        ValueError: for an existing run without --resume/--overwrite, a folder
            holding something else, a resume with other settings, or a folder
            that cannot be written.
    """
    if overwrite and resume:
        raise ValueError("Choose one of --resume and --overwrite, not both.")
    run_file = os.path.join(directory, RUN_FILE)
    exists = os.path.isdir(directory) and os.listdir(directory)
    if exists and not os.path.isfile(run_file):
        raise ValueError(f"{directory} exists and is not a kerasnas run; pick an empty or new --output-dir.")
    if exists and resume:
        with open(run_file) as f:
            previous = json.load(f)
        differ = [f"{k}: {previous.get(k)!r} then, {settings[k]!r} now"
                  for k in RESUME_KEYS if previous.get(k) != settings[k]]
        if differ:
            raise ValueError(f"Cannot resume {directory} with other settings ("
                             + "; ".join(differ) + "). Use the same ones or a new --output-dir.")
    elif exists and not overwrite:
        raise ValueError(f"{directory} holds an earlier search; pass --resume to continue it "
                         "or --overwrite to delete it and start again.")
    elif exists:
        shutil.rmtree(directory)
    try:
        os.makedirs(directory, exist_ok=True)
        _write_json(run_file, settings)
    except OSError as e:
        raise ValueError(f"Cannot write to {directory} ({e.strerror}); pick a writable --output-dir.") from e


def wait_for_chief(directory, settings, *, timeout):
    """A worker never creates or clears the folder: it waits for the chief's run.json.

    Raises:
        ValueError: when the chief's settings differ, or it did not appear in time.
    """
    run_file = os.path.join(directory, RUN_FILE)
    deadline = time.time() + timeout
    while not os.path.isfile(run_file):
        if time.time() > deadline:
            raise ValueError(f"No chief has prepared {directory} within {timeout:.0f} s; start the "
                             "chief first (--role chief) with the same --output-dir.")
        time.sleep(0.5)
    with open(run_file) as f:
        previous = json.load(f)
    differ = [k for k in RESUME_KEYS if previous.get(k) != settings[k]]
    if differ:
        raise ValueError(f"This worker's settings differ from the chief's in: {', '.join(differ)}.")


def machine():
    return f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"


def versions():
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("kerasnas", "tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "optuna"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=2, default=str)
    os.replace(path + ".tmp", path)


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))

