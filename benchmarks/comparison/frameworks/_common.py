"""What every framework runner shares: the command line, threads, data, the result JSON.

A runner is run as its own process by `python -m benchmarks.compare`:
`python -m benchmarks.comparison.frameworks.X --data splits.npz --experiment E --max-trials N
--epochs E --batch-size B --threads T --seed S --workdir DIR --out result.json`.
It writes one JSON result (see `make_result`), also when the experiment fails.
"""

import argparse
import importlib.metadata as md
import math
import os
import platform
import signal
import sys
import time
import traceback

import numpy as np

from kerasnas.datasets.fashion_mnist import MEAN, STD  # the standardisation every framework shares
from kerasnas.files import write_json

PACKAGES = ("tensorflow-cpu", "keras", "keras-tuner", "autokeras", "nni", "torch",
            "pytorch-lightning", "optuna")
COMPARE_EXTRA = "pip install -e .[compare]"
# The smoke preset's tiny models: macro knobs pinned the same way in every framework.
TINY = {
    "custom": {"stem_width": 8, "cells_per_stage": 1, "reductions": 1},
    "nasbench201": {"channels": 8, "cells_per_stage": 1},
    "resnet": {"stem_width": 16, "stages": 1, "blocks_per_stage": 1},
}
# The middle preset's scale: the study's widths with fewer cells a stage, so that 6 trials x
# 2 epochs on 10k images fit the preset's time (NAS-Bench-201 N=2 as the c8n2 study; ResNet full).
REDUCED = {"custom": {"cells_per_stage": 1}, "nasbench201": {"cells_per_stage": 2}, "resnet": {}}
SCALES = {"tiny": TINY, "reduced": REDUCED, "full": {}}
# The scripted flexibility changes (benchmarks/comparison/flex.py); "" = none.
VARIANTS = ("", "add-op", "swap-strategy", "skeleton")


def pinned(space, scale):
    """Macro knobs fixed at `scale` for `space` (kerasnas' knob names)."""
    return dict(SCALES[scale].get(space, {}))


class TimeLimit(BaseException):
    """Raised on SIGTERM (the orchestrator's time limit). A BaseException, so that
    KerasTuner, which turns an Exception in a trial into a failed trial, lets it through."""


def _on_sigterm(signum, frame):
    raise TimeLimit("stopped by the time limit (SIGTERM)")


def parse_args(experiments, argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True, help="npz written by kerasnas.datasets.Splits.save_npz")
    p.add_argument("--experiment", required=True, choices=sorted(experiments))
    p.add_argument("--max-trials", type=int, required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", default="full", choices=sorted(SCALES),
                   help="model size of the spaces: tiny (smoke), reduced (middle) or the study's")
    p.add_argument("--variant", default="", choices=VARIANTS,
                   help="a scripted flexibility change (benchmarks/comparison/flex.py)")
    p.add_argument("--population", type=int, help="evolution population (default: kerasnas' sizing)")
    p.add_argument("--sample", type=int, help="evolution tournament size")
    p.add_argument("--workdir", required=True)
    p.add_argument("--out", required=True)
    return p.parse_args(argv)


def require(*modules):
    """Imports `modules` (returns the first); a missing one raises ImportError naming the extra."""
    import importlib

    try:
        return [importlib.import_module(m) for m in modules][0]
    except ImportError as e:
        raise ImportError(f"{e.name or e} is missing: install it with `{COMPARE_EXTRA}`.") from e


def set_threads(threads):
    """Same thread count for every framework: env vars before import, then the APIs."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def load_splits(path):
    """The run's splits as a dict of uint8 images / int labels (no TF needed)."""
    with np.load(path) as z:
        return {k: z[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}


def standardise(x):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1), as kerasnas.datasets does."""
    return ((x.astype("float32") / 255.0 - MEAN) / STD)[..., None]


def _standardised(dataset):
    # kerasnas' datasets carry raw pixels (its models normalise them); a plain model here
    # takes the standardised images the other frameworks get.
    return dataset.map(lambda x, y: ((x / 255.0 - MEAN) / STD, y))


def fit_keras(model, data, *, epochs, batch_size, seed, raw=False, parts=("train",)):
    """Trains a compiled Keras model as a kerasnas trial does: returns (history, start, end).

    `raw`: the model normalises its inputs itself (a kerasnas space's model).
    `parts`: ("train", "val") trains on both splits shuffled together, `epochs` times as many
    steps as a pass of the training split (a kerasnas budget counts steps so); the
    validation score is then not held out.
    """
    from kerasnas.datasets import to_dataset

    prepare = (lambda ds: ds) if raw else _standardised
    if tuple(parts) == ("train",):
        train, steps = prepare(to_dataset(data.x_train, data.y_train, batch_size=batch_size,
                                          shuffle=True, seed=seed)), None
    else:
        train = prepare(data.stream(*parts, batch_size=batch_size, seed=seed))
        steps = math.ceil(len(data.y_train) / batch_size)
    val = prepare(to_dataset(data.x_val, data.y_val, batch_size=batch_size))
    start = time.time()
    history = model.fit(train, validation_data=val, epochs=epochs, steps_per_epoch=steps, verbose=2)
    return history, start, time.time()


def test_keras(model, data, batch_size, raw=False):
    """Accuracy of a Keras model on the test part, one pass (`raw`: see `fit_keras`)."""
    from kerasnas.datasets import to_dataset

    test = to_dataset(data.x_test, data.y_test, batch_size=batch_size)
    test = test if raw else _standardised(test)
    return float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"])


def versions():
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def trial_row(trial, val_accuracy, seconds, end_seconds, status, **extra):
    """One trial: `seconds` of training as the framework measures it, `end_seconds`
    since the runner process started (imports included)."""
    return {"trial": str(trial), "val_accuracy": None if val_accuracy is None else float(val_accuracy),
            "seconds": None if seconds is None else float(seconds),
            "end_seconds": None if end_seconds is None else float(end_seconds),
            "status": status, **extra}


def make_result(args, *, framework, space, strategy, trials, test_accuracy, wall_seconds,
                notes=(), **extra):
    """The result JSON of one run.

    `mean_trial_seconds` is the mean training time of the completed trials as
    each framework measures it; `overhead_per_trial` is (wall time - summed
    trial seconds) / trials: imports, scheduling, building, final refits.
    """
    done = [t for t in trials if t["status"] == "COMPLETED"]
    accs = [t["val_accuracy"] for t in done if t["val_accuracy"] is not None]
    secs = [t["seconds"] for t in trials if t["seconds"] is not None]
    return {
        "framework": framework, "experiment": args.experiment, "space": space,
        "strategy": strategy, "trials": trials,
        "best_val_accuracy": max(accs) if accs else None,
        "test_accuracy": None if test_accuracy is None else float(test_accuracy),
        "completed": len(done), "failed": len(trials) - len(done),
        "wall_seconds": float(wall_seconds),
        "mean_trial_seconds": float(np.mean([t["seconds"] for t in done if t["seconds"]]))
        if any(t["seconds"] for t in done) else None,
        "overhead_per_trial": (wall_seconds - sum(secs)) / len(trials) if trials else None,
        "notes": list(notes), "versions": versions(),
        "settings": {"max_trials": args.max_trials, "epochs": args.epochs,
                     "batch_size": args.batch_size, "threads": args.threads, "seed": args.seed,
                     "scale": args.scale, "variant": args.variant},
        **extra,
    }


def main(run, experiments, framework, argv=None, salvage=None):
    """Parses the arguments, runs `run(args, splits, started)` and writes its result.

    An exception or the time limit (SIGTERM) is recorded as a failed run, with
    the traceback's last lines and the trials `salvage(args, started)` recovers,
    so the orchestrator always gets a result.
    """
    import psutil

    started = psutil.Process().create_time()  # wall times include the framework's imports
    signal.signal(signal.SIGTERM, _on_sigterm)
    args = parse_args(experiments, argv)
    set_threads(args.threads)
    os.makedirs(args.workdir, exist_ok=True)
    try:
        result = run(args, load_splits(args.data), started)
    except (Exception, TimeLimit) as e:  # recorded, not hidden: the report shows the reason
        tb = traceback.format_exc()
        print(tb, file=sys.stderr)
        trials = []
        if salvage is not None:
            try:
                trials = salvage(args, started)
            except Exception as s:  # the failure we report is the first one
                print(f"salvage failed: {s!r}", file=sys.stderr)
        result = make_result(args, framework=framework, space=experiments[args.experiment][0],
                             strategy=experiments[args.experiment][1], trials=trials,
                             test_accuracy=None, wall_seconds=time.time() - started,
                             notes=[f"run failed: {type(e).__name__}: {str(e)[:400]}"],
                             error=tb.strip().splitlines()[-6:])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_json(args.out, result, indent=2, default=str)
    return 0 if "error" not in result else 1
