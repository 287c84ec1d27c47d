"""Writes reports/compare.md (+ compare.csv, PNGs) from the runs of `python -m benchmarks.compare`.

Every figure and sentence is computed from the results; nothing is hard-coded
but the descriptions of what each framework lets a user change, whose
"exercised here" column is read from the runs too.
"""

import ast
import importlib.util
import os
import shutil

import pandas as pd

from benchmarks.comparison import reach, stats, verdict
from kerasnas.report import to_markdown
from benchmarks.comparison.flex import CAPABILITIES, SPACE_CODE
from benchmarks.launch import ROOT

SECTIONS = ("## Setup", "## Results", "### Per seed", "### Paired comparisons", "### Missing runs",
            "## Best-so-far accuracy vs wall-clock", "## Best cells",
            "## Flexibility measured", "### Lines of code per space",
            "### What a user can change without forking", "## What broke, and the shims",
            "## What the figures say", "## Who wins what")
COLUMNS = ["framework", "experiment", "space", "strategy", "best_val_accuracy", "test_accuracy",
           "completed", "failed", "wall_seconds", "mean_trial_seconds", "overhead_per_trial"]


def number_text(v):
    """How the report writes a cell: accuracies to 4 decimals, seconds to 1, counts whole."""
    if isinstance(v, float) and v == v:
        if v.is_integer() and v != 1.0:  # counts (means over seeds may be whole)
            return f"{int(v):,}"
        return f"{v:.4f}" if abs(v) <= 1 else f"{v:,.1f}"
    return v


def md_table(df):
    """`kerasnas.report.to_markdown` of `df` with the report's number formats."""
    return to_markdown(df.astype(object).map(number_text))


def summary(results):
    cols = COLUMNS + ["seed", "max_trials", "epochs"]
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in results], columns=cols)
    for c in COLUMNS[4:] + ["max_trials", "epochs"]:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def count_loc(path, names):
    """Non-blank, non-comment, non-docstring lines of the top-level definitions `names` in `path`."""
    with open(path) as f:
        source = f.read()
    tree = ast.parse(source)
    skip = set()
    for node in ast.walk(tree):  # docstrings
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = source.splitlines()
    total, found = 0, set()
    for node in tree.body:
        targets = [getattr(node, "name", None)]
        targets += [getattr(t, "id", None) for t in getattr(node, "targets", [])]
        hit = [n for n in targets if n in names]
        if not hit:
            continue
        found.update(hit)
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        total += sum(1 for i in range(start, node.end_lineno + 1) if i not in skip
                     and lines[i - 1].strip() and not lines[i - 1].strip().startswith("#"))
    missing = set(names) - found
    if missing:
        raise ValueError(f"{path} has no top-level {sorted(missing)}; "
                         "update benchmarks/comparison/flex.py.")
    return total


def source_path(ref):
    """A repository path, or `pkg:module` of an installed package (located without importing it)."""
    if not ref.startswith("pkg:"):
        return os.path.join(ROOT, ref)
    top, *rest = ref[4:].split(".")
    spec = importlib.util.find_spec(top)  # a top-level find_spec imports nothing
    if spec is None or not spec.submodule_search_locations:
        return None
    base = os.path.join(spec.submodule_search_locations[0], *rest)
    return base + ".py" if os.path.exists(base + ".py") else os.path.join(base, "__init__.py")


def loc_table():
    rows = []
    for (framework, space), parts in SPACE_CODE.items():
        row = {"framework": framework, "space": space}
        for kind in ("harness", "library"):
            refs = parts.get(kind)
            if refs is None:
                row[kind] = "—"
                continue
            total = 0
            for ref, names in refs:
                path = source_path(ref)
                total += count_loc(path, names) if path else 0
            row[kind] = total
        row["how"] = parts["how"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["framework", "space", "harness", "library", "how"])


COLORS = {"kerasnas": "tab:blue", "autokeras": "tab:green", "nni": "tab:red", "baseline": "gray"}
PANELS = ("custom", "nasbench201", "resnet")  # the study's spaces; anything else goes to "other"


def mean_band(curves, grid):
    """Mean, min and max over seeds of best-so-far step curves on `grid` (NaN before a seed's
    first trial; a finished search holds its best)."""
    import numpy as np

    values = np.full((len(curves), len(grid)), np.nan)
    for i, curve in enumerate(curves):
        xs = np.array([x for x, _ in curve])
        ys = np.array([y for _, y in curve])
        idx = np.searchsorted(xs, grid, side="right") - 1
        values[i] = np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan)
    started = ~np.isnan(values).any(axis=0)  # all seeds have a result
    with np.errstate(all="ignore"):
        return (np.where(started, values.mean(axis=0), np.nan),
                np.where(started, values.min(axis=0), np.nan),
                np.where(started, values.max(axis=0), np.nan))


def best_so_far_plot(results, path):
    """Best validation accuracy so far against wall time: mean over seeds, min-max band."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panel_of = lambda r: r["space"] if r["space"] in PANELS else "other"  # noqa: E731
    panels = [p for p in (*PANELS, "other") if any(panel_of(r) == p for r in results)]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4.5 * max(1, len(panels)), 5.0),
                             squeeze=False)
    base = [t["val_accuracy"] for r in results if r["framework"] == "baseline"
            for t in r.get("trials", []) if t["val_accuracy"] is not None]
    runs = {}
    for r in results:
        runs.setdefault((panel_of(r), r["framework"], r["experiment"], r["strategy"]), []).append(r)
    for ax, panel in zip(axes[0], panels):
        styles = iter(["-", "--", ":", "-."] * 4)
        for (p, framework, _, strategy), group in runs.items():  # _: the experiment
            curves = [c for c in (reach.best_so_far(r.get("trials", [])) for r in group) if c]
            if p != panel or not curves:
                continue
            color = COLORS.get(framework)
            what = _ if framework == "baseline" else strategy  # the CNN's epochs tell them apart
            label = f"{framework}: {what} ({len(curves)} seed{'s' * (len(curves) > 1)})"
            if all(len(c) == 1 for c in curves):  # one trial a run (the plain CNN): a point
                xs, ys = [c[0][0] for c in curves], [c[0][1] for c in curves]
                mx, my = np.mean(xs), np.mean(ys)  # mean, bars to the seeds' min and max
                ax.errorbar(mx, my, xerr=[[mx - min(xs)], [max(xs) - mx]],
                            yerr=[[my - min(ys)], [max(ys) - my]], marker="o", color=color,
                            linestyle="none", label=label)
                continue
            end = max(x for c in curves for x, _ in c)
            grid = np.linspace(0, end, 400)
            mean, low, high = mean_band(curves, grid)
            ax.plot(grid, mean, linestyle=next(styles), color=color, label=label)
            ax.fill_between(grid, low, high, color=color, alpha=0.15, linewidth=0)
        if base and panel != "other":
            ax.axhline(max(base), color="gray", linestyle="--", linewidth=1, label="plain CNN (val)")
        ax.set_title(panel)
        ax.set_xlabel("s since the run's process started")
        ax.set_ylabel("best val accuracy so far")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18))  # off the curves
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def capability_table(results):
    by_exp = {(r["framework"], r["experiment"]): r for r in results}
    rows = []
    for capability, per_fw in CAPABILITIES.items():
        row = {"what a user changes": capability}
        for framework, (how, evidence) in per_fw.items():
            run = by_exp.get((framework, evidence)) if evidence else None
            if not evidence:
                seen = "not exercised here"
            elif run is None:
                seen = f"not run here ({evidence})"
            elif run["completed"]:
                seen = f"exercised: {evidence}, {run['completed']} trials completed"
            else:
                seen = f"exercised: {evidence} FAILED ({(run['notes'] or ['?'])[-1][:120]})"
            row[framework] = f"{how} — {seen}"
        rows.append(row)
    return pd.DataFrame(rows)


def findings(df, loc):
    """Sentences computed from the tables, including where kerasnas loses."""
    out = []
    ok = df[df.completed > 0]
    for space, group in ok.groupby("space"):
        if group.framework.nunique() < 2:
            continue
        group = group.sort_values("best_val_accuracy", ascending=False)
        top = group.iloc[0]
        ties = group[group.best_val_accuracy == top.best_val_accuracy]
        ours = group[group.framework == "kerasnas"].best_val_accuracy.max()
        line = (f"- **{space}**: best validation accuracy {top.best_val_accuracy:.4f} by "
                + " = ".join(f"{r.framework} ({r.strategy})" for r in ties.itertuples()))
        if "kerasnas" not in set(ties.framework):
            line += f"; kerasnas loses by {100 * (top.best_val_accuracy - ours):.1f} points here"
        others = group[group.framework != "kerasnas"]
        line += (". Overhead per trial: " + ", ".join(
            f"{r.framework}/{r.strategy} {r.overhead_per_trial:.1f} s"
            for r in group.sort_values("overhead_per_trial").itertuples()) + ".")
        if len(others) and others.overhead_per_trial.min() < group[
                group.framework == "kerasnas"].overhead_per_trial.min():
            line += " kerasnas does not have the lowest overhead here."
        out.append(line)
    searches = ok[ok.framework != "baseline"].dropna(subset=["test_accuracy"])
    if len(searches):
        best = searches.sort_values("test_accuracy", ascending=False).iloc[0]
        ours = searches[searches.framework == "kerasnas"].test_accuracy.max()
        line = (f"- Best test accuracy of any search: {best.test_accuracy:.4f} "
                f"({best.framework}/{best.experiment})")
        if best.framework != "kerasnas" and ours == ours:
            line += (f"; kerasnas' best is {ours:.4f}, {100 * (best.test_accuracy - ours):.1f} "
                     "points lower")
        out.append(line + ".")
    base = df[df.experiment == "plain-cnn"]
    if len(base) and base.test_accuracy.notna().any():
        b = float(base.test_accuracy.iloc[0])
        beat = searches[searches.test_accuracy > b]
        out.append(f"- The plain CNN (no search, same epochs) reaches {b:.4f} test accuracy; "
                   f"{len(beat)} of {len(searches)} searches beat it"
                   + (": " + ", ".join(f"{r.framework}/{r.experiment}" for r in beat.itertuples())
                      if len(beat) else "") + ".")
    failed = df[df.completed == 0]
    if len(failed):
        out.append("- No trial completed in: " + ", ".join(
            f"{r.framework}/{r.experiment}" for r in failed.itertuples()) + " (see What broke).")
    slow = ok.sort_values("mean_trial_seconds", ascending=False)
    if len(slow) > 1:
        s0, s1 = slow.iloc[0], slow.iloc[-1]
        out.append(f"- Training time per trial ranges from {s1.mean_trial_seconds:.1f} s "
                   f"({s1.framework}/{s1.experiment}) to {s0.mean_trial_seconds:.1f} s "
                   f"({s0.framework}/{s0.experiment}).")
    written = loc[loc.harness != "—"]
    for space, group in written.groupby("space"):
        out.append(f"- Lines written here to express **{space}**: " + ", ".join(
            f"{r.framework} {r.harness}" for r in group.itertuples())
            + (f"; not expressed in {', '.join(loc[(loc.space == space) & (loc.harness == '—')].framework)}"
               if ((loc.space == space) & (loc.harness == "—")).any() else "") + ".")
    return out or ["- Too few completed runs to compare."]


def run_notes(results):
    """One line per framework/experiment: the notes every seed shares, then each seed's own."""
    import re

    same = lambda note: re.sub(r"port \d+", "port N", note)  # noqa: E731 (a fresh port a run)
    by_run = {}
    for r in results:
        if r.get("notes"):
            by_run.setdefault((r["framework"], r["experiment"]), []).append(r)
    out = []
    for (framework, experiment), runs in by_run.items():
        shared = set.intersection(*({same(n) for n in r["notes"]} for r in runs))
        common = [same(n) for n in runs[0]["notes"] if same(n) in shared]
        seeds = ", ".join(str(r["seed"]) for r in runs)
        out.append(f"- **{framework} / {experiment} (seeds {seeds})**: " + "; ".join(common))
        out += [f"  - seed {r['seed']} only: " + "; ".join(own) for r in runs
                if (own := [n for n in r["notes"] if same(n) not in shared])]
    return out


def _results(pairs):
    """Finished records (with their seed and budget) and the planned runs still missing."""
    results, missing = [], []
    for spec, record in pairs:
        if record is None:
            missing.append(spec)
        else:
            results.append({**record, "seed": spec.seed, "max_trials": spec.max_trials,
                            "epochs": spec.epochs})
    return results, missing


def results_section(df, meta, missing):
    """The aggregate table, the per-seed table, the paired tests and the missing runs."""
    seeds = meta["seeds"]
    if not len(df):
        return ["- nothing has finished yet", "", SECTIONS[2], "", "- none", "", SECTIONS[3], "",
                "- none", "", SECTIONS[4], "", *_missing_lines(missing), ""]
    agg = stats.aggregate(df, len(seeds))
    shown = agg[["framework", "experiment", "space", "strategy", "seeds"]].copy()
    shown["best val (mean ± std)"] = [stats.mean_std(m, s) for m, s in
                                      zip(agg.best_val_accuracy, agg.best_val_accuracy_std)]
    shown["test (mean ± std)"] = [stats.mean_std(m, s) for m, s in
                                  zip(agg.test_accuracy, agg.test_accuracy_std)]
    for c in ("completed", "failed"):  # means of counts: 1, not 1.0000
        shown[c] = [f"{v:.3g}" for v in agg[c]]
    for c in ("wall_seconds", "mean_trial_seconds", "overhead_per_trial"):
        shown[c] = agg[c]
    per = stats.per_seed(df).reindex(columns=seeds).reset_index()
    per.columns = ["framework", "experiment"] + [f"seed {s} test" for s in seeds]
    tests = stats.paired_tests(df, stats.comparison_pairs(
        df, meta.get("matched_epochs", [])))
    return [md_table(shown), "", SECTIONS[2], "", md_table(per), "", SECTIONS[3], "",
            f"Test accuracy on matched seeds (a minus b); tests need >= {stats.MIN_SEEDS} "
            "matched seeds (with 3-5 seeds Wilcoxon's two-sided p cannot go below 0.0625).", "",
            md_table(tests) if len(tests) else "- no pair", "", SECTIONS[4], "",
            *_missing_lines(missing), ""], agg


def _missing_lines(missing):
    if not missing:
        return ["- none: every planned run has finished"]
    return [f"- {len(missing)} planned run(s) not finished yet (rerun the command to fill them in): "
            + ", ".join(f"{s.framework}/{s.experiment} seed {s.seed}" for s in missing)]


def setup_lines(meta, versions):
    s, d = meta["settings"], meta["data"]
    lines = [
        f"- preset **{meta['preset']}**: train {d['train_size']:,} / val {d['val_size']:,} / test "
        f"{d['test_size']:,} images (split seed {d['split_seed']}), {s['epochs']} epoch(s) per trial, "
        f"model scale `{s['scale']}`, budgets {s['trials']}, time limit {s['timeout']} s per run",
        f"- seeds {meta['seeds']} (search, initialisation, shuffling; the split is fixed); "
        f"{meta['threads']} threads per framework (TF intra/inter, torch); batch "
        f"{meta['batch_size']}; each run in its own process, cached under {meta['work']}",
        f"- machine: {meta['machine']}; this sitting {meta['total_seconds']:.0f} s",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- data: {d['source']}"]
    if meta.get("matched_epochs"):
        lines.append(f"- compute-matched baseline: the plain CNN trained for trials x epochs of a "
                     f"search ({', '.join(f'plain-cnn-e{n}' for n in meta['matched_epochs'])}), "
                     "beside `plain-cnn` at one trial's epochs")
    if meta.get("foreign_runs"):
        lines.append(f"- {len(meta['foreign_runs'])} finished run(s) in the work folder were made with "
                     "other settings (another settings hash): kept apart and left out of this report")
    if meta.get("note"):
        lines.append(f"- conditions: {meta['note']}")
    if meta["preset"] == "smoke":
        lines.append("- **smoke preset**: tiny models, one epoch and ~1,000 images check that every "
                     "framework runs end to end; its accuracies say nothing about the frameworks' "
                     "search quality (use `--preset middle` or `seed`).")
    return lines


def commits_line(results):
    """The settings hash does not cover the code: say which commits the runs come from."""
    commits = sorted({r.get("code_commit", "unknown") for r in results})
    if len(commits) <= 1:
        return [f"- code: commit {commits[0]}"] if commits else []
    return [f"- code: the runs come from {len(commits)} commits ({', '.join(commits)}); the cache "
            "keys settings, not code: delete the work folder to rerun on one commit"]


def write(pairs, meta, out_dir):
    """Writes compare.md, compare.csv, compare_best_so_far.png and the best cells into `out_dir`.

    Args:
        pairs: (RunSpec, record or None) of every planned run; None = not finished.
        meta: Settings of the sitting (see benchmarks/compare.py `meta`).
        out_dir: Report folder.
    """
    os.makedirs(out_dir, exist_ok=True)
    all_results, missing = _results(pairs)
    first = min(meta["seeds"])
    results = [r for r in all_results if r["seed"] == first]  # figures and cells: one seed
    df = summary(all_results)
    loc = loc_table()
    df.to_csv(os.path.join(out_dir, "compare.csv"), index=False)
    best_so_far_plot(all_results, os.path.join(out_dir, "compare_best_so_far.png"))
    cells = []
    for r in results:
        if r.get("best_cell_png") and os.path.exists(r["best_cell_png"]):
            name = f"compare_cell_{r['framework']}_{r['experiment']}.png"
            shutil.copyfile(r["best_cell_png"], os.path.join(out_dir, name))
            cells.append(f"- {r['framework']} / {r['experiment']}: `{r.get('best_architecture')}`\n\n"
                         f"  ![best cell]({name})")
        elif r.get("best_architecture"):
            cells.append(f"- {r['framework']} / {r['experiment']}: `{r['best_architecture']}` "
                         "(no drawing: the framework has none)")
    versions = next((r["versions"] for r in all_results if r.get("versions")), {})
    notes = run_notes(all_results)
    body = results_section(df, meta, missing)
    lines, agg = (body, None) if isinstance(body, list) else body
    conclusions = (verdict.lines(agg, df, loc, meta.get("matched_epochs", []), md_table,
                                 all_results)
                   if agg is not None else [SECTIONS[12], "", "- nothing finished", ""])
    text = [
        "# kerasnas vs AutoKeras vs NNI: the study's experiments, measured", "",
        f"Generated by `{meta['command']}` on {meta['date']}. Regenerate it with the same command "
        "(finished runs are cached and kept; missing ones are run).", "",
        *conclusions,
        SECTIONS[0], "", *setup_lines(meta, versions), *commits_line(all_results), "",
        SECTIONS[1], "",
        "Mean ± sample std over the finished seeds. Wall time counts from each run's process start "
        "(framework imports included); mean s/trial is the training time of a completed trial as "
        "each framework measures it; overhead per trial = (wall - summed trial seconds) / trials "
        "(imports, scheduling, building, refits, test).", "",
        *lines,
        SECTIONS[5], "", "Mean over the finished seeds (line) and their range (band), from the time "
        "every seed has a completed trial; a finished search holds its best. The dashed line is the "
        "best validation accuracy of any plain CNN run.", "",
        "![best so far](compare_best_so_far.png)", "",
        SECTIONS[6], "", f"Seed {first}.", "", *(cells or ["- none recorded"]), "",
        SECTIONS[7], "", SECTIONS[8], "",
        "Non-blank, non-comment, non-docstring lines, counted from the source by "
        "`benchmarks/comparison/report.py`: **harness** = what this comparison had to write to express "
        "the space in that framework; **library** = the framework's own definition it builds on. "
        "The changes made by doing are in compare_flex.md (`--flex`).", "",
        md_table(loc), "",
        SECTIONS[9], "", md_table(capability_table(results)), "",
        SECTIONS[10], "", *(notes or ["- nothing"]), "",
        SECTIONS[11], "", *(findings(agg, loc) if agg is not None else ["- nothing finished"]), "",
    ]
    path = os.path.join(out_dir, "compare.md")
    with open(path, "w") as f:
        f.write("\n".join(text))
    return path
