"""Budget-first search: is the returned model worth the compute? (issue #27)

For each space with its default oracle, budget B (epochs of the training split,
every model counted) and seed, these ways to spend B on the same split (the
searches' options named in full, so a change of kerasnas' defaults does not change an arm):

- budgeted: successive halving from the space's hand-designed member and the
  oracle's proposals, the winner trained on to B; a proposal displaces the
  hand-designed member only with a significant lead; no racing
  (`BudgetedSearch(incumbent_race=False, cooldown_fraction=0)`, the default until
  2026-12-06);
- cnn: the plain 2-conv CNN (Adam 1e-3) trained B epochs on the same images (once per
  seed, budget and split: another space's row reuses it, `shared_from`);
- hand: the space's hand-designed member trained B epochs (kerasnas' per-trial
  warm-up + cosine), no search;
- trials: today's trial-by-trial search, B/2 trials x 2 epochs, best trial;
- hyperband: KerasTuner's own `Hyperband` tuner on the space, as a KerasTuner
  user would run it, with the largest `max_epochs` whose one iteration fits in
  B (its total is a step function of `max_epochs`: it cannot spend B exactly),
  the best trial's model;
- any-lead: the budgeted search where any lead displaces the hand-designed member
  (`BudgetedSearch(incumbent_confidence=None, incumbent_race=False, cooldown_fraction=0)`:
  the search before that rule);
- raced: the budgeted search with the hand-designed member raced to the last
  selection rung whatever its rank, its slots paid from the winner's training
  (`BudgetedSearch(cooldown_fraction=0)`: the default for a few hours of 2026-12-06);
- cooled: the raced search judging every selection rung's models after a
  cool-down branch of a sixth of their epochs (`cooldown_fraction=1/6`: the
  rate decays to 0, the branch is validated and dropped), and since the cooled
  scores are no longer the held rate's noisy snapshots, on any lead
  (`incumbent_confidence=None`): `search(..., budget_epochs=B)`, kerasnas' default since
  2026-12-06.
- steered: the cooled search with the oracle's random draws picked by the proxy the
  space names (`steer="auto"`: on nasbench201 the best NASWOT score of 10 draws; on the
  other spaces no proxy earned it, and the arm is the cooled one). Every other arm runs
  `steer="none"`.
- trainval: the cooled search whose winner's last rung trains on the training and
  validation images (`BudgetedSearch(final_images="train+val")`): is ending on more
  images worth a validation score that is no longer held out? Its margins on the
  hand arm compare it with a model trained on the training images only;
- cnn-trainval: the plain CNN trained on the training and validation images shuffled
  together, for as many steps as B epochs of the training split (as a budget counts
  them): the CNN owed to the trainval arm, which saw those images (shared as the cnn arm is).

    python -m benchmarks.budget --spaces resnet --budgets 12 --seeds 0,1,2
    python -m benchmarks.budget --budgets 18 --train-size 50000 --val-size 10000 \
        --space-option nasbench201:channels=8 --space-option nasbench201:cells_per_stage=2 \
        --space-option custom:stem_width=8 ...        # the full data at the reduced scale
    python -m benchmarks.budget --report-only          # -> reports/budget.md
    python -m benchmarks.budget --report-only --arms cooled --results reports/budget_rerun.jsonl \
        --baselines reports/budget.jsonl --out reports/budget_rerun.md   # a rerun of one arm

The reduced scale: where a full-size epoch of the hand-designed member takes
over 2 minutes here (2 cores, 50k images, batch 32, measured 2026-12-07 alone:
nasbench201 4.3 min, custom 5.8 min; resnet 0.8 min stays at full size), the
knobs above bring it under (nasbench201 1.1-1.8 min over two probes, custom 1.9
min).

Each (space, budget, seed, arm) is kept in reports/budget.jsonl (--results) as
it ends, so a rerun skips what finished, and rows committed in one session are
not rerun in the next. A killed harness loses only the trial in flight (of the
CNN arm, its run): the next run of a search or hand arm resumes its folder in
RUN_DIR (run folders are not kept in the repository).
"""

import argparse
import json
import math
import os
import statistics
import time

from benchmarks.launch import command_text
from benchmarks.options import check_spaces, scale, space_options
from kerasnas.files import write_text

DEFAULT_ORACLES = {"resnet": "bayes", "custom": "evolution", "nasbench201": "evolution",
                   "convnet": "bayes"}
ARMS = ("budgeted", "cnn", "hand", "trials", "hyperband", "any-lead", "raced", "cooled",
        "steered", "trainval", "cnn-trainval")
CNNS = {"cnn": ("train",), "cnn-trainval": ("train", "val")}  # arm -> the images it trains on
SEARCHES = ("budgeted", "raced", "any-lead", "cooled", "steered", "trainval")  # one budget for search and returned model
# A sixth: a 0.25-epoch cool-down after 1.5 epochs put nasbench201's and custom's known
# misrankings right (a warm-up-stable-decay run's decay is commonly 10-20 % of it).
COOLDOWN_FRACTION = 1 / 6
STEER_POOL = 10  # draws the steered arm's proxy compares for each random proposal
BASELINES = ("cnn", "hand", "trials", "hyperband", "cnn-trainval")
RESULTS = "reports/budget.jsonl"  # --results' default: the kept rows


def hyperband_epochs(max_epochs, factor=3):
    """(epochs, trials) of one iteration of KerasTuner's Hyperband (its oracle's own formulas:
    `_get_num_brackets`, `_get_size`, `_get_epochs`; a promoted trial trains only its new epochs)."""
    brackets, epochs = 0, max_epochs
    while epochs >= 1:
        epochs, brackets = epochs / factor, brackets + 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    total = trials = 0
    for bracket in range(brackets):
        def size(r, b=bracket):
            return math.ceil(end_size / (b + 1) * factor ** (b - r))

        def until(r, b=bracket):
            return math.ceil(max_epochs / factor ** (b - r))

        for r in range(bracket + 1):
            total += size(r) * (until(r) - (until(r - 1) if r else 0))
            trials += size(r)
    return total, trials


def hyperband_max_epochs(budget, factor=3):
    """The largest `max_epochs` whose one Hyperband iteration trains at most `budget` epochs."""
    best = None
    for max_epochs in range(1, int(budget) + 1):
        if hyperband_epochs(max_epochs, factor)[0] <= budget:
            best = max_epochs
    return best


def key(space, budget, seed, arm, train_size=10000, options=None):
    return f"{space}|{budget:g}|{seed}|{arm}|{train_size}|{scale(options)}"


def load_results(path):
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for r in rows:  # rows of the first runs kept the summary's budget under "budget"
        if isinstance(r["budget"], dict):
            r["split"] = r["budget"]
            r["budget"] = r["split"]["epochs"]
        r.setdefault("space_options", {})  # the rows before --space-option: the defaults
    return {key(r["space"], r["budget"], r["seed"], r["arm"], r["train_size"], r["space_options"]): r
            for r in rows}


def shared_cnn(done, arm, budget, seed, train_size, val_size):
    """A kept row of CNN `arm` of another space on the same images, budget and seed (trained
    there)."""
    return next((r for r in done.values() if r["arm"] == arm and not r.get("shared_from")
                 and (r["budget"], r["seed"], r["train_size"], r["val_size"])
                 == (budget, seed, train_size, val_size)), None)


def steers(space, options):
    """Whether the steered arm differs from the cooled one on `space`: a proxy steers it."""
    from kerasnas.proxies import steering_proxy
    from kerasnas.spaces import get_space

    return steering_proxy("auto", get_space(space, **options)) is not None


def run_arm(args, space, budget, seed, arm, data):
    """Spends `budget` epochs one way; returns the test accuracy, wall seconds and details."""
    from kerasnas.progress import Reporter
    from kerasnas.run_folder import RUN_FILE
    from kerasnas.search import search
    from kerasnas.spaces import get_space

    options = args.options[space]
    directory = os.path.join(args.run_dir, f"{space}-B{budget:g}-s{seed}-{arm}"
                             + (f"-n{args.train_size}" if args.train_size != 10000 else "")
                             + (f"-{scale(options)}" if options else ""))
    oracle = DEFAULT_ORACLES[space]
    # An arm killed part-way (a session's end) left its run.json: it goes on from its finished
    # trials, as `--resume` does (tested to reproduce the uninterrupted run), not from scratch.
    resume = os.path.isfile(os.path.join(directory, RUN_FILE))
    common = dict(batch_size=args.batch_size, seed=seed, directory=directory,
                  overwrite=not resume, resume=resume, reporter=Reporter(), space_options=options,
                  steer="auto" if arm == "steered" else "none", steer_pool=STEER_POOL)
    started = time.time()
    if arm in CNNS:
        from benchmarks.comparison.frameworks.baseline_runner import train

        _, _, _, _, accuracy = train(data, epochs=int(budget), batch_size=args.batch_size, seed=seed,
                                     parts=CNNS[arm])
        return {"test_accuracy": accuracy, "seconds": time.time() - started}
    if arm in SEARCHES:
        from kerasnas.methods import BudgetedSearch

        cooled = arm in ("cooled", "steered", "trainval")
        method = BudgetedSearch(
            budget_epochs=budget,
            incumbent_confidence=None if cooled or arm == "any-lead" else 0.95,
            incumbent_race=cooled or arm == "raced",
            cooldown_fraction=COOLDOWN_FRACTION if cooled else 0.0,
            final_images="train+val" if arm == "trainval" else "train")
        result = search(space, oracle, data, method=method, **common)
        return {**timing(result, started), "test_accuracy": result.test_accuracy,
                "split": result.summary["budget"], "best": result.summary["best_architecture"]}
    if arm == "hand":
        hand = get_space(space, **options).hand_designed()[0]
        result = search(space, "evolution", data, max_trials=1, epochs=int(budget),
                        oracle_options={"seeded_values": [hand], "population_size": 1,
                                        "sample_size": 1}, **common)
        return {**timing(result, started), "test_accuracy": result.test_accuracy,
                "best": result.summary["best_architecture"]}
    if arm == "hyperband":
        return run_hyperband(args, space, budget, seed, data, directory, options)
    trials = max(1, int(budget) // 2)
    result = search(space, oracle, data, max_trials=trials, epochs=2, **common)
    return {**timing(result, started), "test_accuracy": result.test_accuracy,
            "best": result.summary["best_architecture"], "trials": trials}


def timing(result, started):
    """Wall seconds of an arm: this process's, plus an interrupted earlier run's clock."""
    earlier = result.summary.get("resumed_after_seconds") or 0.0
    return {"seconds": time.time() - started + earlier,
            **({"resumed_after_seconds": earlier} if earlier else {})}


def run_hyperband(args, space, budget, seed, data, directory, options):
    import keras
    import keras_tuner

    from kerasnas.spaces import get_space

    started = time.time()
    max_epochs = hyperband_max_epochs(budget)
    hypermodel = get_space(space, **options)
    hypermodel.for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                        mean=data.mean, variance=data.variance)
    keras.utils.set_random_seed(seed)
    tuner = keras_tuner.Hyperband(hypermodel, objective="val_accuracy", max_epochs=max_epochs,
                                  factor=3, seed=seed, directory=directory, project_name="hyperband",
                                  overwrite=True)
    tuner.search(data.dataset("train", batch_size=args.batch_size, shuffle=True, seed=seed),
                 validation_data=data.dataset("val", batch_size=args.batch_size), verbose=0)
    model = tuner.get_best_models(1)[0]
    test = data.dataset("test", batch_size=args.batch_size)
    accuracy = float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"])
    values = [t.hyperparameters.values for t in tuner.oracle.trials.values()]
    used = sum(v["tuner/epochs"] - v["tuner/initial_epoch"] for v in values)
    return {"test_accuracy": accuracy, "seconds": time.time() - started, "trials": len(values),
            "max_epochs": max_epochs, "epochs_used": used,
            "best": hypermodel.describe(tuner.get_best_hyperparameters(1)[0].values)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="resnet,nasbench201,custom")
    parser.add_argument("--budgets", default="12", help="comma-separated budgets in epochs")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--space-option", action="append", default=[], metavar="SPACE:KEY=VALUE",
                        help="pin a knob of one space, e.g. nasbench201:channels=8: the reduced "
                             "scale where a full-size epoch takes over 2 minutes (repeatable)")
    parser.add_argument("--run-dir", default="runs/budget", help="the runs' folders")
    parser.add_argument("--results", default=RESULTS,
                        help="one JSON row per finished run (kept, committed with the report)")
    parser.add_argument("--baselines", default=None, metavar="RESULTS",
                        help="another results file whose baseline arms (cnn, hand, trials, "
                             "hyperband) the report reads where --results lacks them, e.g. a "
                             "rerun of one arm beside the kept baselines (never run again)")
    parser.add_argument("--out", default="reports/budget.md")
    parser.add_argument("--note", default="", help="run conditions (what else ran, threads)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    args.options = space_options(parser, args.space_option, tuple(DEFAULT_ORACLES))
    check_spaces(parser, args.spaces, tuple(DEFAULT_ORACLES))
    os.makedirs(args.run_dir, exist_ok=True)
    os.makedirs(os.path.dirname(args.results) or ".", exist_ok=True)
    path = args.results
    done = load_results(path)
    if not args.report_only:
        from kerasnas.datasets import make_splits

        for seed in [int(s) for s in args.seeds.split(",")]:
            data = None  # loaded for the first arm of this seed that is not kept yet
            for budget in [float(b) for b in args.budgets.split(",")]:
                for space in args.spaces.split(","):
                    for arm in args.arms.split(","):
                        if key(space, budget, seed, arm, args.train_size,
                               args.options[space]) in done:
                            continue
                        if arm == "steered" and not steers(space, args.options[space]):
                            continue  # no proxy earned it there: the arm is the cooled one
                        row = {"space": space, "budget": budget, "seed": seed, "arm": arm,
                               "oracle": DEFAULT_ORACLES[space], "train_size": args.train_size,
                               "val_size": args.val_size, "space_options": args.options[space],
                               "note": args.note}
                        same_cnn = arm in CNNS and shared_cnn(done, arm, budget, seed,
                                                               args.train_size, args.val_size)
                        if same_cnn:
                            # The CNN depends on the data, budget and seed, not on the space.
                            row.update({k: same_cnn[k] for k in ("test_accuracy", "seconds")},
                                       note=same_cnn.get("note", ""), shared_from=same_cnn["space"])
                        else:
                            if data is None:
                                data = make_splits("fashion_mnist", train_size=args.train_size,
                                                   val_size=args.val_size, seed=seed)
                            row.update(run_arm(args, space, budget, seed, arm, data))
                        with open(path, "a") as f:
                            f.write(json.dumps(row, default=float) + "\n")
                        done[key(space, budget, seed, arm, args.train_size,
                                 args.options[space])] = row
                        print(json.dumps(row, default=float), flush=True)
    rows = list(done.values())
    if args.baselines:  # only for the groups (space, budget, images, scale) the results have
        groups = {_group(r) for r in rows}
        rows += [r for k, r in load_results(args.baselines).items()
                 if r["arm"] in BASELINES and k not in done and _group(r) in groups]
    write_report(args, rows)


def _group(row):
    """The rows a report sets side by side: one space, budget, split and scale."""
    return (row["space"], row["budget"], row["train_size"], row["val_size"],
            scale(row.get("space_options")))


def mean_std(values, scale=100.0):
    values = [v * scale for v in values]
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {std:.2f}"


def paired(a, b):
    """Mean margin (points) and the paired t-test's two-sided p over the seeds both have."""
    from scipy import stats

    margins = [(x - y) * 100 for x, y in zip(a, b)]
    if len(margins) < 2:
        return (margins[0] if margins else float("nan")), float("nan")
    return statistics.mean(margins), float(stats.ttest_rel(a, b).pvalue)


def write_report(args, rows):
    import pandas as pd

    from kerasnas.provenance import machine, versions
    from kerasnas.report import to_markdown

    lines = ["# Budget-first search against the same compute spent without search", "",
             f"Command: `{command_text('benchmarks.budget', _argv(args))}`", "",
             f"Machine: {machine()}; date {time.strftime('%Y-%m-%d')}; versions: "
             f"{json.dumps(versions())}", ""]
    notes = sorted({r.get("note", "") for r in rows} - {""})
    lines += [f"Run conditions: {'; '.join(notes) or 'not stated'}", ""]
    if getattr(args, "baselines", None):
        lines += [f"Rows of the baseline arms ({', '.join(BASELINES)}) that {args.results} lacks "
                  f"are read from {args.baselines}, where they were kept (not run again).", ""]
    lines += ["Data: Fashion-MNIST, training / validation images as each row says (seeded "
              "stratified split per seed), tested once on the 10,000 test images. Batch 32. "
              "Scale: the knobs pinned for every arm of a space (--space-option; the CNN is "
              "never scaled), else the space's defaults.", ""]
    groups = sorted({_group(r) for r in rows})
    means, margins = [], []
    for space, budget, train_size, val_size, scaled in groups:
        by_arm = {arm: {r["seed"]: r for r in rows if (r["space"], r["budget"], r["arm"],
                                                       r["train_size"], scale(r.get("space_options")))
                        == (space, budget, arm, train_size, scaled)} for arm in ARMS}
        seeds = sorted(set().union(*by_arm.values()))
        group = {"space x oracle": f"{space} x {DEFAULT_ORACLES[space]}", "B": f"{budget:g}",
                 "images": f"{train_size} / {val_size}", "scale": scaled or "default"}
        row = {**group, "seeds": ",".join(map(str, seeds))}
        for arm in ARMS:  # an arm that lacks some seeds says over which it is
            accs = [by_arm[arm][s]["test_accuracy"] for s in seeds if s in by_arm[arm]]
            row[arm] = mean_std(accs) + (f" (seeds {','.join(map(str, sorted(by_arm[arm])))})"
                                         if accs and len(accs) < len(seeds) else "")
        means.append(row)
        for search in SEARCHES:
            if not by_arm[search]:
                continue
            row = {**group, "search": search}
            for other in (*BASELINES, *SEARCHES):
                if other == search:
                    row[f"vs {other}"] = ""
                    continue
                both = [s for s in seeds if s in by_arm[other] and s in by_arm[search]]
                margin, p = paired([by_arm[search][s]["test_accuracy"] for s in both],
                                   [by_arm[other][s]["test_accuracy"] for s in both])
                row[f"vs {other}"] = (f"{margin:+.2f} (p {p:.3f}, seeds {','.join(map(str, both))})"
                                      if both else "-")
            row["mean s"] = f"{statistics.mean(r['seconds'] for r in by_arm[search].values()):.0f}"
            margins.append(row)
    lines += ["The `cooled` arm is what `--budget-epochs B` runs (kerasnas' default since "
              "2026-12-06): the `raced` search judging each selection rung after a cool-down "
              "(`cooldown_fraction=1/6`) on any lead. `raced` (racing, no cool-down, a proposal "
              "needing a significant lead) was the default before it; `budgeted` is that search "
              "without racing, the default before that. `steered` is the cooled search with "
              "the oracle's random draws picked by the space's proxy (`steer=\"auto\"`: "
              "nasbench201's NASWOT, the best of 10 draws); it runs only where a proxy steers. "
              "`trainval` is the cooled search whose winner ends on the training and validation "
              "images (`final_images=\"train+val\"`); its fair CNN is `cnn-trainval`, trained "
              "on those images for the same steps; its margin on the hand arm is against a "
              "model that saw the training images only.", ""]
    if any(r.get("renamed_from") for r in rows):
        lines += ["Rows marked `renamed_from` ran as the budgeted arm before a proposal needed a "
                  "significant lead to displace the hand design: that search is the any-lead arm.",
                  ""]
    lines += ["## Test accuracy (%), mean ± std over seeds", "",
              to_markdown(pd.DataFrame(means)) if means else "(no runs yet)", "",
              "## Margins of each budgeted search, in points: mean over the seeds both arms have "
              "(paired t-test p)", "", to_markdown(pd.DataFrame(margins)) if margins else "(none yet)",
              ""]
    per_seed = [{"space": r["space"], "B": f"{r['budget']:g}", "images": r["train_size"],
                 "scale": scale(r.get("space_options")) or "default", "seed": r["seed"], "arm": r["arm"],
                 "test %": f"{100 * r['test_accuracy']:.2f}", "seconds": f"{r['seconds']:.0f}",
                 "model": r.get("best", "plain CNN" + (f" (the {r['shared_from']} row's)"
                                                       if r.get("shared_from") else "")),
                 "split (selection / final epochs)": (
                     f"{r['split']['selection_epochs']:g} / {r['split']['final_epochs']:g}"
                     if r.get("split") else "")}
                for r in sorted(rows, key=lambda r: (r["space"], r["budget"], r["train_size"],
                                                     scale(r.get("space_options")), r["seed"], r["arm"]))]
    lines += ["## Per seed", "", to_markdown(pd.DataFrame(per_seed)) if per_seed else "", ""]
    write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")


def _argv(args):
    out = ["--spaces", args.spaces, "--budgets", args.budgets, "--seeds", args.seeds]
    if (args.train_size, args.val_size) != (10000, 2000):
        out += ["--train-size", args.train_size, "--val-size", args.val_size]
    for item in getattr(args, "space_option", []):
        out += ["--space-option", item]
    every = ",".join(ARMS)
    if getattr(args, "arms", every) != every:
        out += ["--arms", args.arms]
    if getattr(args, "results", RESULTS) != RESULTS:
        out += ["--results", args.results]
    if getattr(args, "baselines", None):
        out += ["--baselines", args.baselines]
    return out


if __name__ == "__main__":
    main()
