"""What Ray costs on one machine: the same search on the keras_tuner engine and on Ray. (issue #30)

resnet x evolution, 8 trials of 1 epoch on 10,000 / 2,000 Fashion-MNIST images, seed 0:
- keras_tuner: the default engine, one process;
- ray, 1 worker: `--engine ray --cpus-per-trial 2` (one trial at a time, both cores);
- ray, 2 workers: `--engine ray --cpus-per-trial 1` (two trials at once, a core each).

Per engine: wall seconds of the whole search (Ray's start included), the trials' own training
seconds, the overhead per trial ((wall - training) / trials, and against keras_tuner's), and
whether the trials are the same as keras_tuner's (values and validation accuracy).

    python -m benchmarks.engines            # -> reports/engines.md
"""

import argparse
import json
import os
import time

from benchmarks.launch import command_text
from kerasnas.files import write_text

ENGINES = {"keras_tuner": {"engine": "keras_tuner"},
           "ray, 1 worker": {"engine": "ray", "cpus_per_trial": 2},
           "ray, 2 workers": {"engine": "ray", "cpus_per_trial": 1}}


def run_engine(args, name, data):
    import pandas as pd

    from kerasnas.progress import Reporter
    from kerasnas.search import search

    directory = os.path.join(args.run_dir, name.replace(", ", "-").replace(" ", "_"))
    started = time.time()
    result = search("resnet", "evolution", data, max_trials=args.trials, epochs=args.epochs,
                    seed=args.seed, directory=directory, overwrite=True, reporter=Reporter(),
                    **ENGINES[name])
    wall = time.time() - started
    table = pd.read_csv(os.path.join(directory, "results.csv"), dtype={"trial_id": str})
    hp = sorted(c for c in table.columns if c.startswith("hp."))
    return {"engine": name, "wall_seconds": wall, "train_seconds": float(table.train_seconds.sum()),
            "trials": len(table), "test_accuracy": result.test_accuracy,
            "values": table[hp].astype(str).values.tolist(),
            "val_accuracy": table.val_accuracy.tolist()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--run-dir", default="runs/engines")
    parser.add_argument("--out", default="reports/engines.md")
    parser.add_argument("--note", default="", help="run conditions (what else ran)")
    args = parser.parse_args(argv)
    from kerasnas.datasets import make_splits

    data = make_splits("fashion_mnist", train_size=args.train_size, val_size=args.val_size,
                       seed=args.seed)
    rows = [run_engine(args, name, data) for name in ENGINES]
    write_report(args, rows)


def write_report(args, rows):
    import pandas as pd

    from kerasnas.provenance import machine, versions
    from kerasnas.report import to_markdown

    base = rows[0]
    base_overhead = (base["wall_seconds"] - base["train_seconds"]) / base["trials"]
    table = []
    for r in rows:
        overhead = (r["wall_seconds"] - r["train_seconds"]) / r["trials"]
        same = r["values"] == base["values"]
        table.append({
            "engine": r["engine"], "wall s": f"{r['wall_seconds']:.0f}",
            "training s (sum)": f"{r['train_seconds']:.0f}",
            "overhead s / trial": f"{overhead:.1f}",
            "overhead vs keras_tuner": f"{overhead - base_overhead:+.1f} s",
            "same trials as keras_tuner": "yes" if same else "no (other values)",
            "val accuracy equal": "yes" if same and r["val_accuracy"] == base["val_accuracy"] else
            ("within 1e-6" if same and max(abs(a - b) for a, b in
                                           zip(r["val_accuracy"], base["val_accuracy"])) < 1e-6
             else "no"),
            "test %": f"{100 * r['test_accuracy']:.2f}"})
    lines = ["# Engines: keras_tuner against Ray Tune on one machine", "",
             f"Command: `{command_text('benchmarks.engines', _argv(args))}`", "",
             f"Machine: {machine()}; date {time.strftime('%Y-%m-%d %H:%M')}; versions: "
             f"{json.dumps(versions())}", "", f"Run conditions: {args.note or 'not stated'}", "",
             __doc__.split("\n\n")[1].replace(
                 "8 trials of 1 epoch on 10,000 / 2,000",
                 f"{args.trials} trials of {args.epochs} epoch(s) on {args.train_size:,} / "
                 f"{args.val_size:,}").replace("seed 0", f"seed {args.seed}"),
             "", to_markdown(pd.DataFrame(table)), "",
             "Overhead per trial: the wall time not spent in the trials' own training "
             "(start-up, data, building and saving models, the oracle, Ray's scheduling), over "
             "the trials. With 2 workers two trials train at once on 2 cores, so their "
             "training seconds overlap and the sum exceeds the wall time; evolution then "
             "proposes some trials before earlier ones ended, so its trials differ.", ""]
    write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")


def _argv(args):
    defaults = {"trials": 8, "epochs": 1, "seed": 0, "train_size": 10000, "val_size": 2000}
    out = []
    for name, default in defaults.items():
        if getattr(args, name) != default:
            out += [f"--{name.replace('_', '-')}", getattr(args, name)]
    return out


if __name__ == "__main__":
    main()
