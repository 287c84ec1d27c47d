"""Multi-objective search: is there a found model as accurate as the plain CNN at a tenth of its
size and less latency? (issue #29)

For each space, oracle and seed, on the same split:

- search: `search(space, oracle, data, max_trials=T, epochs=E, objectives=...,
  constraints=...)` (`--objectives`, default accuracy,params; `--constraints`): the Pareto
  front of validation accuracy against parameters (and latency), each member tested once
  (summary.json `pareto_front`);
- cnn: the plain 2-conv CNN (Adam 1e-3) trained E epochs on the same images, tested once.

The headline of a seed: the front members whose test accuracy is at least the CNN's, each
re-timed right after the CNN by `kerasnas.footprint.latency_ms` (batch 1, median of 50 calls
after 10) once the search ended; the smallest of those faster than the CNN (else the smallest),
its parameters against 120,000 (a tenth of the CNN's 1.2 M). Hypervolume: of the front in (validation accuracy,
log10 parameters) up to the reference point (0, 7), i.e. 10 M parameters. Each run, the CNN and
the timing use the Keras backend it was started with (`KERAS_BACKEND`, a column of the report):
latency at batch 1 depends on it more than on the model.

    python -m benchmarks.pareto --spaces resnet --oracles bayes --seeds 0,1,2
    python -m benchmarks.pareto --spaces resnet --oracles bayes --objectives accuracy,params,latency
    python -m benchmarks.pareto --spaces convnet --oracles bayes --objectives accuracy,params,latency \
        --constraints params<=120000 --train-size 50000 --val-size 10000   # the full data
    python -m benchmarks.pareto --spaces custom --space-option custom:stem_width=16 ...  # reduced
    KERAS_BACKEND=jax python -m benchmarks.pareto ... # the same runs, trained and timed on JAX
    python -m benchmarks.pareto --report-only          # -> reports/pareto.md

Rows are kept in reports/pareto.jsonl (--results) as each run ends, so a rerun skips what
finished (run folders, in RUN_DIR, are not kept).
"""

import argparse
import json
import math
import os
import statistics
import time

from benchmarks.launch import command_text
from benchmarks.options import check_spaces, scale, space_options
from kerasnas.cli import SPACE_NAMES
from kerasnas.files import write_text
from kerasnas.settings import positive_int

SMALL = 120_000  # a tenth of the plain CNN's parameters
REFERENCE = (0.0, 7.0)  # hypervolume reference: accuracy 0, 10 M parameters (log10)


DEFAULT_OBJECTIVES = "accuracy,params"


def key(space, oracle, seed, epochs, objectives=DEFAULT_OBJECTIVES, constraints="",
        backend="tensorflow", train_size=10000, options=None):
    return (f"{space}|{oracle}|{seed}|{epochs}|{objectives}|{constraints}|{backend}|{train_size}|"
            f"{scale(options)}")


def backend():
    import keras

    return keras.backend.backend()


def load_results(path):
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for r in rows:  # the first rows searched accuracy against parameters, unbounded
        r.setdefault("objectives", DEFAULT_OBJECTIVES)
        r.setdefault("constraints", "")
        r.setdefault("backend", "tensorflow")  # the rows before the backend was recorded
        r.setdefault("space_options", {})  # the rows before --space-option: the defaults
    return {key(r["space"], r["oracle"], r["seed"], r["epochs"], r["objectives"],
                r["constraints"], r["backend"], r["train_size"], r["space_options"]): r
            for r in rows}


def front_hypervolume(front):
    from kerasnas.pareto import hypervolume

    points = [(m["accuracy"], math.log10(m["params"])) for m in front]
    return hypervolume(points, REFERENCE, ("max", "min"))


def run_one(args, space, oracle, seed, data):
    """One search and the CNN on the same split; the headline pair re-timed back to back."""
    import keras

    from benchmarks.comparison.frameworks.baseline_runner import train
    from kerasnas.footprint import latency_ms
    from kerasnas.progress import Reporter
    from kerasnas.search import search

    objectives = tuple(args.objectives.split(","))
    constraints = tuple(c for c in args.constraints.split(",") if c)
    options = args.options[space]
    directory = os.path.join(args.run_dir, f"{space}-{oracle}-s{seed}-e{args.epochs}-"
                                           f"{'-'.join(objectives)}{'-bounded' if constraints else ''}"
                                           f"{'' if backend() == 'tensorflow' else '-' + backend()}"
                                           f"{'' if args.train_size == 10000 else f'-n{args.train_size}'}"
                                           f"{'-' + scale(options) if options else ''}")
    started = time.time()
    result = search(space, oracle, data, max_trials=args.trials, epochs=args.epochs,
                    batch_size=args.batch_size, seed=seed, objectives=objectives,
                    constraints=constraints, directory=directory, overwrite=True,
                    reporter=Reporter(), space_options=options)
    seconds = time.time() - started
    front = [{k: m[k] for k in ("trial_id", "architecture", "accuracy", "params", "latency",
                                "test_accuracy", "model") if k in m}
             for m in result.summary["pareto_front"]]
    cnn, _, _, _, cnn_accuracy = train(data, epochs=args.epochs, batch_size=args.batch_size,
                                       seed=seed)
    row = {"seconds": seconds, "front": front, "hypervolume": front_hypervolume(front),
           "directory": os.path.basename(directory),
           "cnn_test_accuracy": cnn_accuracy, "cnn_params": cnn.count_params(),
           "trials": args.trials}
    match = [m for m in front if m["test_accuracy"] >= cnn_accuracy]
    for m in match:  # each re-timed right after the CNN, under the same conditions
        model = keras.models.load_model(os.path.join(directory, m["model"]))
        m["cnn_latency_ms"], m["latency_ms"] = latency_ms(cnn), latency_ms(model)
    if match:
        # The smallest that is also faster than the CNN, else the smallest.
        faster = [m for m in match if m["latency_ms"] < m["cnn_latency_ms"]]
        row["smallest_at_cnn_accuracy"] = min(faster or match, key=lambda m: m["params"])
    return row


def to_retime(args, rows):
    """The kept rows of this backend (each is timed on the backend it was searched on) that
    `--spaces`, `--oracles` and `--seeds` select."""
    spaces, oracles = args.spaces.split(","), args.oracles.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    return [r for r in rows if r["backend"] == backend() and r["space"] in spaces
            and r["oracle"] in oracles and r["seed"] in seeds]


def retime(args, done):
    """Times each kept row's members at the CNN's accuracy against the CNN again, alternating,
    the median of `args.rounds` rounds each and in how many rounds the member was the faster
    (latency does not depend on the weights: the CNN is built afresh), and rewrites the
    results file."""
    import keras

    # Registers the kerasnas layers that models saved before nasbench201's were Keras' own hold.
    import kerasnas.spaces  # noqa: F401
    from benchmarks.comparison.frameworks.baseline_runner import plain_cnn
    from kerasnas.footprint import latency_ms

    cnn = plain_cnn()
    for r in to_retime(args, done.values()):
        directory = os.path.join(args.run_dir, r["directory"]) if "directory" in r else None
        match = [m for m in r["front"] if m["test_accuracy"] >= r["cnn_test_accuracy"]]
        if not match or directory is None or not os.path.isdir(directory):
            continue
        for m in match:
            model = keras.models.load_model(os.path.join(directory, m["model"]))
            rounds = [(latency_ms(cnn), latency_ms(model)) for _ in range(args.rounds)]
            m["cnn_latency_ms"] = statistics.median(c for c, _ in rounds)
            m["latency_ms"] = statistics.median(x for _, x in rounds)
            m["faster_rounds"] = f"{sum(x < c for c, x in rounds)} of {len(rounds)}"
        faster = [m for m in match if m["latency_ms"] < m["cnn_latency_ms"]]
        r["smallest_at_cnn_accuracy"] = min(faster or match, key=lambda m: m["params"])
        r["retimed"] = (f"alone, {time.strftime('%Y-%m-%d %H:%M')}, median of {args.rounds} "
                        "alternating rounds")
    write_text(args.results, "".join(json.dumps(r, default=float) + "\n" for r in done.values()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="resnet")
    parser.add_argument("--oracles", default="bayes,evolution,tpe,random")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each trial and the CNN")
    parser.add_argument("--objectives", default=DEFAULT_OBJECTIVES,
                        help="what the searches trade off (accuracy,params or "
                             "accuracy,params,latency)")
    parser.add_argument("--constraints", default="", help="comma-separated bounds every searched "
                        "model keeps, e.g. params<=120000")
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--space-option", action="append", default=[], metavar="SPACE:KEY=VALUE",
                        help="pin a knob of one space, e.g. nasbench201:channels=8: a reduced "
                             "scale for the slow spaces (repeatable)")
    parser.add_argument("--run-dir", default="runs/pareto", help="the runs' folders")
    parser.add_argument("--results", default="reports/pareto.jsonl",
                        help="one JSON row per finished run (kept, committed with the report)")
    parser.add_argument("--out", default="reports/pareto.md")
    parser.add_argument("--note", default="", help="run conditions (what else ran, threads)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--retime", action="store_true",
                        help="time again the members at the CNN's accuracy of the kept rows that "
                             "--spaces, --oracles and --seeds select against the CNN (run alone: "
                             "the figures the report quotes), from RUN_DIR")
    parser.add_argument("--rounds", type=positive_int, default=5,
                        help="--retime: alternating rounds (each 50 timed calls a model)")
    args = parser.parse_args(argv)
    args.options = space_options(parser, args.space_option, SPACE_NAMES)
    check_spaces(parser, args.spaces, tuple(SPACE_NAMES))
    done = load_results(args.results)
    if args.retime:
        retime(args, done)
    elif not args.report_only:
        from kerasnas.datasets import make_splits

        os.makedirs(args.run_dir, exist_ok=True)
        for seed in [int(s) for s in args.seeds.split(",")]:
            data = None  # loaded for the first run of this seed that is not kept yet
            for space in args.spaces.split(","):
                for oracle in args.oracles.split(","):
                    here = (space, oracle, seed, args.epochs, args.objectives, args.constraints,
                            backend(), args.train_size, args.options[space])
                    if key(*here) in done:
                        continue
                    if data is None:
                        data = make_splits("fashion_mnist", train_size=args.train_size,
                                           val_size=args.val_size, seed=seed)
                    row = {"space": space, "oracle": oracle, "seed": seed, "epochs": args.epochs,
                           "objectives": args.objectives, "constraints": args.constraints,
                           "backend": backend(),
                           "train_size": args.train_size, "val_size": args.val_size,
                           "space_options": args.options[space],
                           "note": args.note, **run_one(args, space, oracle, seed, data)}
                    with open(args.results, "a") as f:
                        f.write(json.dumps(row, default=float) + "\n")
                    done[key(*here)] = row
                    print(json.dumps(row, default=float), flush=True)
    write_report(args, list(done.values()))


def write_report(args, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from kerasnas.provenance import machine, versions
    from kerasnas.report import to_markdown

    lines = ["# Multi-objective search: accuracy against size", "",
             f"Command: `{command_text('benchmarks.pareto', _argv(args))}`", ""]
    for other in sorted({r["backend"] for r in rows} - {"tensorflow"}):
        lines += [f"Rows on {other}: run with `KERAS_BACKEND={other}` in front.", ""]
    lines += [f"Machine: {machine()}; date {time.strftime('%Y-%m-%d')}; versions: "
              f"{json.dumps(versions())}", ""]
    notes = sorted({r.get("note", "") for r in rows} - {""})
    lines += [f"Run conditions: {'; '.join(notes) or 'not stated'}", "", __doc__.split("\n\n")[1],
              "", __doc__.split("\n\n")[2], ""]
    groups = sorted({_group(r) for r in rows})
    summary, per_seed = [], []
    for group in groups:
        space, oracle, epochs, objectives, constraints, backend_name, train_size, scaled = group
        runs = sorted((r for r in rows if _group(r) == group), key=lambda r: r["seed"])
        images = f"{train_size} / {runs[0]['val_size']}"
        objectives = objectives + (f" ({constraints})" if constraints else "")
        volumes = [r["hypervolume"] for r in runs]
        wins = [r for r in runs if _headline_holds(r)]
        small = [r for r in runs if any(m["test_accuracy"] >= r["cnn_test_accuracy"]
                                        and m["params"] <= SMALL for m in r["front"])]
        summary.append({
            "space x oracle": f"{space} x {oracle}", "backend": backend_name, "images": images,
            "scale": scaled or "default", "objectives": objectives, "trials x epochs": f"{runs[0]['trials']} x {epochs}",
            "seeds": ",".join(str(r["seed"]) for r in runs),
            "hypervolume": f"{statistics.mean(volumes):.3f} ± "
                           f"{statistics.stdev(volumes) if len(volumes) > 1 else 0:.3f}",
            "front size": f"{statistics.mean(len(r['front']) for r in runs):.1f}",
            "CNN test %": f"{100 * statistics.mean(r['cnn_test_accuracy'] for r in runs):.2f}",
            f">= CNN, <= {SMALL:,} params": f"{len(small)} of {len(runs)} seeds",
            f">= CNN, <= {SMALL:,} params, faster": f"{len(wins)} of {len(runs)} seeds"})
        for r in runs:
            s = r.get("smallest_at_cnn_accuracy")
            per_seed.append({
                "space x oracle": f"{space} x {oracle}", "backend": backend_name,
                "images": images, "scale": scaled or "default", "objectives": objectives,
                "seed": r["seed"],
                "CNN test %": f"{100 * r['cnn_test_accuracy']:.2f}",
                "smallest at CNN accuracy": s["architecture"] if s else "none on the front",
                "its test %": f"{100 * s['test_accuracy']:.2f}" if s else "-",
                "params (CNN: 1,199,882)": f"{s['params']:,.0f}" if s else "-",
                "latency ms (CNN)": f"{s['latency_ms']:.3f} ({s['cnn_latency_ms']:.3f})" if s else "-",
                "faster in rounds": s.get("faster_rounds", "-") if s else "-",
                "timed": "alone" if r.get("retimed") else "beside the runs",
                "hypervolume": f"{r['hypervolume']:.3f}", "seconds": f"{r['seconds']:.0f}"})
    lines += ["## Per space and oracle", "", to_markdown(pd.DataFrame(summary)) if summary else
              "(no runs yet)", "", "## Per seed", "",
              to_markdown(pd.DataFrame(per_seed)) if per_seed else "", ""]
    if rows:
        png = os.path.splitext(args.out)[0] + ".png"
        _plot(plt, rows, png)
        lines += [f"![fronts]({os.path.basename(png)})", "",
                  "Each run's front (its members' test accuracy against parameters, log scale; "
                  "the front itself is chosen on validation accuracy) and the plain CNN of the "
                  "same seed (a cross); the dashed line is 120,000 parameters.", ""]
    write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")


def _group(row):
    """A report group: the runs that differ only in their seed."""
    return (row["space"], row["oracle"], row["epochs"], row["objectives"], row["constraints"],
            row["backend"], row["train_size"], scale(row.get("space_options")))


def _headline_holds(row):
    s = row.get("smallest_at_cnn_accuracy")
    return bool(s) and s["params"] <= SMALL and s["latency_ms"] < s["cnn_latency_ms"]


def _plot(plt, rows, path):
    groups = sorted({_group(r) for r in rows})
    columns = min(3, len(groups))
    rows_of_plots = math.ceil(len(groups) / columns)
    fig, axes = plt.subplots(rows_of_plots, columns, figsize=(5.5 * columns, 4.2 * rows_of_plots),
                             squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax, group in zip(axes.flat, groups):
        space, oracle, _, objectives, constraints, backend_name, train_size, scaled = group
        for r in sorted(rows, key=lambda r: r["seed"]):
            if _group(r) != group:
                continue
            front = sorted(r["front"], key=lambda m: m["params"])
            line, = ax.step([m["params"] for m in front], [m["test_accuracy"] for m in front],
                            where="post", marker="o", label=f"seed {r['seed']}")
            ax.scatter([r["cnn_params"]], [r["cnn_test_accuracy"]], marker="x", s=80,
                       color=line.get_color())
        ax.axvline(SMALL, color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{space}{' ' + scaled if scaled else ''} x {oracle} ({backend_name}, "
                     f"{train_size} images): {objectives} {constraints}", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _argv(args):
    out = ["--spaces", args.spaces, "--oracles", args.oracles, "--seeds", args.seeds,
           "--trials", args.trials, "--epochs", args.epochs, "--objectives", args.objectives]
    if args.constraints:
        out += ["--constraints", args.constraints]
    if (args.train_size, args.val_size) != (10000, 2000):
        out += ["--train-size", args.train_size, "--val-size", args.val_size]
    for item in getattr(args, "space_option", []):
        out += ["--space-option", item]
    return out


if __name__ == "__main__":
    main()
