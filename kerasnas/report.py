"""A run's report: `python -m kerasnas.report RUN_DIR` writes RUN_DIR/report.md.

One Markdown page, readable without running anything: settings and headline,
the best architecture (and its cell picture), progress plots, the lineage of
an evolutionary search and the table of every trial. The plots are PNGs
written next to it (report_progress.png, report_lineage.png).

Needs only pandas and matplotlib (no TensorFlow): it reads results.csv,
summary.json and run.json.
"""

import argparse
import json
import math
import os
import re
import sys

import pandas as pd

REPORT = "report.md"
PROGRESS_PNG = "report_progress.png"
LINEAGE_PNG = "report_lineage.png"
FRONT_PNG = "report_front.png"
# Objectives against accuracy in the front's plot: their results.csv column and axis label.
TRADE_OFF_AXES = {"params": ("params", "parameters"), "flops": ("flops", "FLOPs (multiply-adds an image)"),
                  "latency": ("latency_ms", "latency (ms an image, batch 1)")}
# Phases (see kerasnas.oracles._base) and their colours in the plots.
COLORS = {"random": "#7f7f7f", "warm-up": "#1f77b4", "seeded": "#2ca02c",
          "model": "#d62728", "mutation": "#ff7f0e"}
GUIDED = ("model", "mutation")  # phases that are not random draws
# Cell hyperparameters (custom: node3_op1, NAS-Bench-201: edge_2_1): the architecture text shows them.
CELL_HP = re.compile(r"hp\.(node\d+_(in|op)\d+|edge_\d+_\d+)$")
SETTINGS = ("space", "oracle", "max_trials", "epochs", "batch_size", "train_size", "val_size",
            "seed", "space_options", "oracle_options", "strategy", "data_source", "machine",
            "versions", "date")


def load_run(run_dir):
    """Reads a run folder.

    Returns:
        (table, summary): results.csv as a DataFrame (trial_id and parent as
        text, plus an int column `number`) and summary.json merged over
        run.json (the summary is missing when no trial completed).

    Raises:
        ValueError: if `run_dir` is not a kerasnas run with a results.csv.
    """
    csv = os.path.join(run_dir, "results.csv")
    if not os.path.isfile(os.path.join(run_dir, "run.json")) or not os.path.isfile(csv):
        raise ValueError(f"{run_dir} is not a finished kerasnas run (it needs run.json and "
                         "results.csv); pass the --output-dir of `python -m kerasnas.run`.")
    # Ids as text: KerasTuner pads them ("07"), and a parent column with gaps would be float.
    table = pd.read_csv(csv, dtype={"trial_id": str, "parent": str})
    table["number"] = table.trial_id.astype(int)
    table = table.sort_values("number", kind="stable").reset_index(drop=True)
    summary = {}
    for name in ("run.json", "summary.json"):
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            with open(path) as f:
                summary.update(json.load(f))
    return table, summary


def to_markdown(frame):
    """A pipe table of `frame` (cells as text, `|` escaped); numbers right-aligned."""
    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return str(v).replace("|", "\\|").replace("\n", " ")

    number = re.compile(r"-?[\d,]*\.?\d+(e[-+]?\d+)?$")
    texts = [[cell(v) for v in frame[c] if cell(v)] for c in frame]
    numeric = [bool(t) and all(number.match(v) for v in t) for t in texts]
    lines = ["| " + " | ".join(cell(c) for c in frame) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def phase_sentence(table, oracle):
    """Says plainly whether the search has left its random phase."""
    phases = table.phase.dropna()
    if phases.empty:
        return ""
    guided = int(phases.isin(GUIDED).sum())
    if oracle == "random":
        return f"Random search: all {len(table)} trials were drawn at random."
    if not guided:
        return (f"**This run is still in its random phase**: none of its {len(table)} trials "
                f"was proposed by the {oracle} strategy yet (no model or mutation trial); so far "
                "it is a random search, and more trials are needed to see the strategy at work.")
    first = int(table.loc[table.phase.isin(GUIDED), "number"].min())
    return (f"{guided} of {len(table)} trials were proposed by the strategy (model or mutation), "
            f"the first one being trial {first}; the others were random draws or seeded.")


def _figure(rows, cols, size):
    # An Agg canvas of our own: no pyplot state, the caller's backend is untouched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False)[0]


def _legend(ax, phases, failed=False, **kw):
    """A legend of the phase colours (and of the failed-trial cross)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=COLORS.get(p, "black"), label=p) for p in phases]
    if failed:
        handles.append(Line2D([], [], ls="", marker="x", color="red", label="failed"))
    if handles:
        ax.legend(handles=handles, title="phase", fontsize=9, **kw)


def plot_progress(table, path):
    """Best-so-far validation accuracy against trial number and against wall-clock minutes."""
    fig, axes = _figure(1, 2, (12, 4.5))
    done = table[table.status == "COMPLETED"]
    failed = table[table.status != "COMPLETED"]
    for ax, x, label in ((axes[0], "number", "trial number"),
                         (axes[1], "end_seconds", "minutes since the search started")):
        runs = done.dropna(subset=[x]).sort_values(x, kind="stable")
        xs = runs[x] / 60 if x == "end_seconds" else runs[x]
        ax.step(xs, runs.val_accuracy.cummax(), where="post", color="black", lw=2,
                label="best so far")
        ax.scatter(xs, runs.val_accuracy, zorder=3,
                   c=[COLORS.get(p, "black") for p in runs.phase], edgecolors="black", lw=0.5)
        ax.set_xlabel(label)
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
    if len(failed):
        # On the bottom edge: a failed trial has no accuracy.
        axes[0].scatter(failed.number, [0] * len(failed), marker="x", color="red", zorder=3,
                        transform=axes[0].get_xaxis_transform(), clip_on=False, label="failed")
    axes[0].xaxis.get_major_locator().set_params(integer=True)
    axes[0].legend(loc="best", fontsize=9)
    _legend(axes[1], [p for p in COLORS if p in set(done.phase)], loc="best")
    fig.suptitle("Best validation accuracy so far (line) and each trial's (dots)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_front(table, objectives, path, reference=None):
    """Validation accuracy against each traded-off objective (log x): every completed trial
    within the bounds, the Pareto front (results.csv's `pareto`) joined as a staircase, and
    the run's reference network (summary.json `reference_result`), if any, as a cross."""
    others = [o for o in objectives if o != "accuracy"]
    fig, axes = _figure(1, len(others), (6 * len(others), 4.5))
    done = table[(table.status == "COMPLETED") & (table.get("feasible", 1) != 0)]
    front = done[done.pareto == 1]
    for ax, name in zip(axes, others):
        column, label = TRADE_OFF_AXES[name]
        ax.scatter(done[column], done.val_accuracy, color="#bbbbbb", edgecolors="black", lw=0.5,
                   label="trial")
        ordered = front.sort_values(column)
        ax.step(ordered[column], ordered.val_accuracy, where="post", color="#d62728", lw=1.5)
        ax.scatter(ordered[column], ordered.val_accuracy, color="#d62728", zorder=3,
                   label="Pareto front")
        if reference is not None:
            ax.scatter([reference[column]], [reference["accuracy"]], marker="X", s=90,
                       color="black", zorder=4,
                       label=f"{reference['name']}, {_epochs(reference['epochs'])}")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="lower right", fontsize=9)
    fig.suptitle("The trade-off: each trial within the bounds, the front in red")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _epochs(n):
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def front_markdown(summary):
    """The front's members (summary.json `pareto_front`): objectives, test accuracy, model file."""
    def shown(name, value):
        return f"{value:.4f}" if name == "accuracy" else f"{value:.3g}" if name == "latency" \
            else f"{value:,.0f}"

    rows = [{"trial": m["trial_id"], **{k: shown(k, m[k]) for k in summary["objectives"]},
             "test accuracy": f"{m['test_accuracy']:.4f}", "model": m["model"],
             "architecture": m["architecture"]} for m in summary["pareto_front"]]
    return to_markdown(pd.DataFrame(rows))


def plot_lineage(table, path):
    """Each trial at (trial number, validation accuracy); arrows from parent to child."""
    from matplotlib.patches import FancyArrowPatch

    fig, (ax,) = _figure(1, 1, (max(8, 0.35 * len(table) + 4), 5.5))
    acc = table.val_accuracy
    floor = (acc.min() if acc.notna().any() else 0) - 0.05  # where failed trials sit
    y = acc.fillna(floor)
    where = dict(zip(table.trial_id, zip(table.number, y)))
    for row in table.itertuples():
        if isinstance(row.parent, str) and row.parent in where:
            ax.add_patch(FancyArrowPatch(where[row.parent], where[row.trial_id], arrowstyle="-|>",
                                         mutation_scale=12, color="#555555", lw=1,
                                         shrinkA=6, shrinkB=6, zorder=1))
    ok = table.status == "COMPLETED"
    ax.scatter(table.number[ok], y[ok], s=60, zorder=2, edgecolors="black",
               c=[COLORS.get(p, "black") for p in table.phase[ok]])
    ax.scatter(table.number[~ok], y[~ok], marker="x", s=60, color="red", zorder=2)
    for row, yy, good in zip(table.itertuples(), y, ok):
        # Failed trials are labelled below, where no arrow arrives.
        ax.annotate(str(row.number), (row.number, yy), xytext=(0, 7 if good else -14),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.set_xlabel("trial number")
    ax.set_ylabel("validation accuracy (failed: bottom)")
    ax.set_title("Lineage: arrows go from parent to child (a mutation)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.margins(0.05, 0.12)
    ax.grid(alpha=0.3)
    _legend(ax, [p for p in COLORS if p in set(table.phase[ok])], failed=bool((~ok).any()),
            loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: never over a trial
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _fmt(v, spec):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def values_text(table, names):
    """Per trial, `name=value` for the active ones of `names` (floats to 3 digits)."""
    return [" ".join(f"{c[3:]}={_fmt(v, '.3g') if isinstance(v, float) else v}"
                     for c, v in zip(names, row) if not pd.isna(v))
            for row in table[names].itertuples(index=False)]


def trials_markdown(table, evolution):
    """The trials table: values, validation accuracy, parameters, seconds, status."""
    hps = [c for c in table if c.startswith("hp.")]
    out = pd.DataFrame({"trial": table.number, "status": table.status, "phase": table.phase})
    if evolution:
        out["parent"] = [int(p) if isinstance(p, str) else "" for p in table.parent]
        out["mutation"] = table.mutation
    out["architecture"] = table.arch
    # Values the architecture text does not show already (spaces without one show them all).
    if table.arch.tolist() != values_text(table, hps):
        out["other values"] = values_text(table, [c for c in hps if not CELL_HP.match(c)])
    out["val acc"] = [_fmt(v, ".4f") for v in table.val_accuracy]
    out["params"] = [_fmt(v, ",.0f") for v in table.params]
    out["train s"] = [_fmt(v, ".1f") for v in table.train_seconds]
    out["end min"] = [_fmt(v / 60, ".2f") for v in table.end_seconds]
    out["message"] = table.message
    return to_markdown(out.astype(object).fillna(""))


def headline(table, s):
    """The headline's bullet lines: best, test and final accuracy, wall time, trial counts."""
    lines = []
    if "best_val_accuracy" in s:
        lines.append(f"- best validation accuracy: **{s['best_val_accuracy']:.4f}** (trial "
                     f"{int(s['best_trial'])})")
        lines.append(f"- test accuracy of that trial's model: **{s['test_accuracy']:.4f}**")
    else:
        lines.append("- no summary.json: the search stopped before a trial completed")
    if "final_test_accuracy" in s:
        epochs = f" ({s['final_epochs']} epochs)" if "final_epochs" in s else ""
        lines.append(f"- test accuracy after retraining it on all training images{epochs}: "
                     f"**{s['final_test_accuracy']:.4f}**")
    if s.get("reference_result"):
        r = s["reference_result"]
        lines.append(f"- {r['name']} without search, {_epochs(r['epochs'])} (`--reference`): test "
                     f"accuracy **{r['test_accuracy']:.4f}** (validation {r['accuracy']:.4f}), "
                     f"{r['params']:,.0f} parameters, {r['latency_ms']:.3g} ms an image")
    if "wall_seconds" in s:
        lines.append(f"- wall time: {s['wall_seconds'] / 60:.1f} min"
                     + (f" (resumed after {s['resumed_after_seconds'] / 60:.1f} min; the"
                        " interrupted trial's lost work is not counted)"
                        if s.get("resumed_after_seconds") else ""))
    done = int((table.status == "COMPLETED").sum())
    lines.append(f"- trials: {done} completed, {len(table) - done} failed or unfinished, "
                 f"budget {s.get('max_trials', '?')}")
    return lines


def write_report(run_dir):
    """Writes RUN_DIR/report.md and its PNGs.

    Args:
        run_dir: A folder written by `kerasnas.search.search()` / `python -m kerasnas.run`.

    Returns:
        The path of report.md.

    Raises:
        ValueError: if `run_dir` is not a kerasnas run.
    """
    table, s = load_run(run_dir)
    oracle = s.get("oracle", "?")
    evolution = table.parent.notna().any() or oracle == "evolution"
    failed = table[table.status != "COMPLETED"]
    lines = [f"# kerasnas run: {s.get('space', '?')} x {oracle}", "", *headline(table, s)]
    lines += ["", phase_sentence(table, oracle), "", "## Settings", ""]
    lines.append(to_markdown(pd.DataFrame(
        [(k, json.dumps(s[k]) if isinstance(s[k], dict) else s[k]) for k in SETTINGS if k in s],
        columns=["setting", "value"])))
    if "best_architecture" in s:
        lines += ["", "## Best architecture", "", f"`{s['best_architecture']}`", "",
                  "Values: `" + json.dumps(s["best_values"]) + "`"]
        if os.path.isfile(os.path.join(run_dir, "best_cell.png")):
            lines += ["", "![best cell](best_cell.png)"]
    if "pareto_front" in s:
        lines += ["", "## Pareto front", "", f"Objectives: {', '.join(s['objectives'])}; each "
                  "member tested once; best_model.keras is the most accurate.", "",
                  front_markdown(s), "", f"![front]({FRONT_PNG})"]
        plot_front(table, s["objectives"], os.path.join(run_dir, FRONT_PNG), s.get("reference_result"))
    lines += ["", "## Progress", "", f"![progress]({PROGRESS_PNG})"]
    plot_progress(table, os.path.join(run_dir, PROGRESS_PNG))
    if evolution:
        children = int(table.parent.notna().sum())
        lines += ["", "## Lineage", "", f"{children} trials are mutations of an earlier trial "
                  "(arrows from parent to child).", "", f"![lineage]({LINEAGE_PNG})"]
        plot_lineage(table, os.path.join(run_dir, LINEAGE_PNG))
    if len(failed):
        lines += ["", "## Failed trials", ""]
        lines += [f"- trial {row.number} ({row.status}): "
                  + (row.message if isinstance(row.message, str) else "no message")
                  for row in failed.itertuples()]
    lines += ["", "## Trials", "", trials_markdown(table, evolution), ""]
    path = os.path.join(run_dir, REPORT)
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines))
    os.replace(path + ".tmp", path)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m kerasnas.report",
                                description="Writes RUN_DIR/report.md (Markdown with PNG plots).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the --output-dir of a kerasnas run")
    args = p.parse_args(argv)
    try:
        print(f"wrote {write_report(args.run_dir)}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
