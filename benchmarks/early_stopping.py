"""Early stopping: best validation accuracy at equal wall time, with and without the median rule.

The same search (space, oracle, budget, data, seed) runs with `early_stopping="none"` and
`"median"`; for each seed the best finished trial's validation accuracy is read at the wall
time the shorter of the two searches took (the other search's best trial that had ended by
then), and the trials run, stopped and wall seconds are reported. Mean +- std over seeds.

Run: TF_NUM_INTRAOP_THREADS=2 .venv/bin/python -m benchmarks.early_stopping --seeds 3
Writes reports/early_stopping.md (runs kept in runs/early-stopping/: a rerun reuses them).
"""

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from benchmarks.launch import command_text


def run_one(args, policy, seed):
    from kerasnas.datasets import make_splits
    from kerasnas.progress import Reporter
    from kerasnas.search import search

    directory = os.path.join(args.work, f"{policy}-seed{seed}")
    if os.path.isfile(os.path.join(directory, "summary.json")):  # finished earlier
        return pd.read_csv(os.path.join(directory, "results.csv"))
    data = make_splits("fashion_mnist", train_size=args.train_size, val_size=args.val_size, seed=seed)
    search(args.space, args.oracle, data, directory=directory, max_trials=args.trials,
           epochs=args.epochs, seed=seed, early_stopping=policy, overwrite=True, reporter=Reporter())
    return pd.read_csv(os.path.join(directory, "results.csv"))


def best_by(table, seconds):
    """Best validation accuracy of the finished trials that had ended by `seconds`."""
    done = table[(table.end_seconds <= seconds + 1e-9) & table.stopped_at_epoch.isna()]
    return done.val_accuracy.max() if len(done) else np.nan


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--space", default="resnet")
    parser.add_argument("--oracle", default="random")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--work", default="runs/early-stopping")
    parser.add_argument("--out", default="reports/early_stopping.md")
    parser.add_argument("--note", default="", help="run conditions for the report (what else ran)")
    args = parser.parse_args()
    rows = []
    for seed in range(args.seeds):
        tables = {policy: run_one(args, policy, seed) for policy in ("none", "median")}
        equal = min(t.end_seconds.max() for t in tables.values())
        for policy, table in tables.items():
            rows.append({"seed": seed, "policy": policy, "trials": len(table),
                         "stopped": int(table.stopped_at_epoch.notna().sum()),
                         "epochs trained": int(table.epochs_trained.sum()),
                         "wall s": table.end_seconds.max(), "equal wall s": equal,
                         "best at equal wall": best_by(table, equal),
                         "best at the end": best_by(table, np.inf)})
        print(json.dumps(rows[-2:], default=float), flush=True)
    write(args, pd.DataFrame(rows))


def write(args, df):
    from kerasnas.provenance import versions
    from kerasnas.report import to_markdown

    per_seed = to_markdown(df.astype(object).map(lambda v: f"{v:.4f}" if isinstance(v, float) else v))
    summary = df.groupby("policy").agg(["mean", "std"])
    lines = ["| policy | trials stopped | epochs trained | wall s | best at equal wall time | best at the end |",
             "|---|---|---|---|---|---|"]
    for policy in ("none", "median"):
        s = summary.loc[policy]
        lines.append(f"| {policy} | {s[('stopped', 'mean')]:.1f} | {s[('epochs trained', 'mean')]:.1f} | "
                     f"{s[('wall s', 'mean')]:.0f} ± {s[('wall s', 'std')]:.0f} | "
                     f"{s[('best at equal wall', 'mean')]:.4f} ± {s[('best at equal wall', 'std')]:.4f} | "
                     f"{s[('best at the end', 'mean')]:.4f} ± {s[('best at the end', 'std')]:.4f} |")
    text = f"""# Early stopping (median rule) at equal wall time

{__doc__.split(chr(10), 2)[2].split("Run:")[0].strip()}

Setting: `{args.space}` x `{args.oracle}`, {args.trials} trials x {args.epochs} epochs,
{args.train_size} / {args.val_size} images, seeds 0..{args.seeds - 1}.

{chr(10).join(lines)}

Per seed:

{per_seed}

- Command: `{command_text('benchmarks.early_stopping', sys.argv[1:])}` (TF_NUM_INTRAOP_THREADS={os.environ.get("TF_NUM_INTRAOP_THREADS", "unset")})
- Machine: {platform.platform()}, {os.cpu_count()} CPUs{"; " + args.note if args.note else ""}
- Date: {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")} (runs kept in `{args.work}`; a rerun reuses them)
- Versions: {versions()}
"""
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
