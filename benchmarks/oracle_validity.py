"""Does each oracle search? Synthetic landscapes, searched by the real oracles.

`nb201`: the NAS-Bench-201 cell encoding (6 edges, each a Choice over 5 operations, 15,625
cells) scored by per-edge effects N(0, 1) plus pairwise interactions N(0, 0.5^2).
`mixed`: 4 Choices with dominant pairwise interactions, an Int and a log-Float whose
optima depend on the Choices. `pareto`, `pareto-bounded` and `pareto-screened`: accuracy against size on the
nb201 encoding, measured by hypervolume (the second with a size bound, the third screened on it). No training. Each oracle (kerasnas.oracles.ORACLES, driven through create_trial/update_trial/end_trial as a
tuner would) gets the same budget on the same landscapes; seed s uses landscape s and oracle seed s.

Run: OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.oracle_validity --seeds 100 --jobs 2
Writes reports/oracle_validity.md, .png and .runs.json (every curve; a rerun continues it).
"""

import argparse
import itertools
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone

import numpy as np

from benchmarks.launch import command_text

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = [f"edge_{i}{j}" for j in range(1, 4) for i in range(j)]  # 6 edges of a 4-node cell
ORDER = ["random", "evolution", "tpe", "bayes", "kt-gp"]


class Landscape:
    """NAS-Bench-201-shaped: per-edge effects plus pairwise interactions, from one seed; maximised."""

    name = "nb201"
    optimum_tolerance = 1e-12  # a finite space: the optimum itself

    def __init__(self, seed, interaction=0.5, reward=None):
        rng = np.random.default_rng(seed)
        self.unary = rng.normal(size=(len(EDGES), len(OPS)))
        if reward:  # an operation's bonus on every edge (`pareto`)
            self.unary += np.array([[reward.get(op, 0.0) for op in OPS]] * len(EDGES))
        self.pairs = {(a, b): interaction * rng.normal(size=(len(OPS), len(OPS)))
                      for a, b in itertools.combinations(range(len(EDGES)), 2)}
        self.cells = list(itertools.product(range(len(OPS)), repeat=len(EDGES)))
        self.scores = np.array([self.score_ops(ops) for ops in self.cells])  # by enumeration
        self.worst, self.best = self.scores.min(), self.scores.max()

    def register(self, hp):
        for edge in EDGES:
            hp.Choice(edge, OPS)

    def score_ops(self, ops):
        return (sum(self.unary[e, op] for e, op in enumerate(ops))
                + sum(table[ops[a], ops[b]] for (a, b), table in self.pairs.items()))

    def __call__(self, values):
        return self.score_ops([OPS.index(values[edge]) for edge in EDGES])


class MixedLandscape:
    """Strong pairwise interactions plus an integer and a log-float hyperparameter; maximised.

    4 Choices over 5 operations: effects N(0, 0.5^2), interactions N(0, 1.5^2) for all 6
    pairs (they dominate: no edge can be optimised alone). `depth` (Int 1..8): a penalty
    -2 ((depth - d*) / 4)^2 whose optimum d* depends on the first Choice. `learning_rate`
    (log-uniform 1e-4..1e-1): -1.5 (log10 lr - u*)^2, whose optimum u* in [-3.5, -1.5]
    depends on the second Choice (as the best rate depends on the optimizer). 625 x 8
    discrete settings x a continuous rate: "optimum found" means within 1e-3 of it.
    """

    name = "mixed"
    optimum_tolerance = 1e-3

    def __init__(self, seed):
        rng = np.random.default_rng(10_000 + seed)
        self.choices = [f"op_{i}" for i in range(4)]
        self.unary = 0.5 * rng.normal(size=(4, len(OPS)))
        self.pairs = {(a, b): 1.5 * rng.normal(size=(len(OPS), len(OPS)))
                      for a, b in itertools.combinations(range(4), 2)}
        self.depth_opt = rng.integers(1, 9, size=len(OPS))
        self.rate_opt = rng.uniform(-3.5, -1.5, size=len(OPS))
        best, worst = -np.inf, np.inf
        for ops in itertools.product(range(len(OPS)), repeat=4):
            base = self._discrete(ops)
            depth = np.array([self._depth(ops, d) for d in range(1, 9)])
            rate_worst = min(self._rate(ops, u) for u in (-4.0, -1.0))
            best = max(best, base + depth.max())  # the best rate costs 0
            worst = min(worst, base + depth.min() + rate_worst)
        self.worst, self.best = worst, best

    def register(self, hp):
        for name in self.choices:
            hp.Choice(name, OPS)
        hp.Int("depth", 1, 8)
        hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")

    def _discrete(self, ops):
        return (sum(self.unary[i, op] for i, op in enumerate(ops))
                + sum(table[ops[a], ops[b]] for (a, b), table in self.pairs.items()))

    def _depth(self, ops, depth):
        return -2.0 * ((depth - self.depth_opt[ops[0]]) / 4.0) ** 2

    def _rate(self, ops, log_rate):
        return -1.5 * (log_rate - self.rate_opt[ops[1]]) ** 2

    def __call__(self, values):
        ops = [OPS.index(values[name]) for name in self.choices]
        return (self._discrete(ops) + self._depth(ops, values["depth"])
                + self._rate(ops, np.log10(values["learning_rate"])))


class ParetoLandscape(Landscape):
    """Two objectives on the NAS-Bench-201 encoding: accuracy (maximised) against size (minimised).

    Accuracy: the `nb201` landscape's score plus a reward for convolutions (+1 an edge for a 3x3,
    +0.5 for a 1x1), as larger cells are better on average; size: 1 + 9 per 3x3 convolution
    + 1 per 1x1 (their weights; pooling, skip and none have none), so accuracy and size
    conflict. The oracles trade off `params` (this size) against the score. The curve is the
    hypervolume of the completed trials' front (accuracy rescaled to [0, 1] by enumeration,
    size to [0, 1] over the space, reference point (0, 1.1)) over the true front's, found by
    enumerating the 15,625 cells: 1 = the whole front found.
    """

    name = "pareto"
    optimum_tolerance = 1e-9
    bound = None  # a size bound: the constrained variant

    def __init__(self, seed):
        super().__init__(seed, reward={"nor_conv_3x3": 1.0, "nor_conv_1x1": 0.5})
        cost = {"nor_conv_3x3": 9.0, "nor_conv_1x1": 1.0}
        self.cost = np.array([cost.get(op, 0.0) for op in OPS])
        sizes = np.array([self.size_ops(ops) for ops in self.cells])
        self.smallest, self.largest = sizes.min(), sizes.max()
        kept = np.ones(len(sizes), bool) if self.bound is None else sizes <= self.bound
        self.true_volume = self.volume(self.scores[kept], sizes[kept])

    def size_ops(self, ops):
        return 1.0 + sum(self.cost[op] for op in ops)

    def size(self, values):
        return self.size_ops([OPS.index(values[edge]) for edge in EDGES])

    def volume(self, scores, sizes):
        from kerasnas.pareto import hypervolume

        accuracy = (np.asarray(scores) - self.worst) / (self.best - self.worst)
        size = (np.asarray(sizes) - self.smallest) / (self.largest - self.smallest)
        return hypervolume(list(zip(accuracy, size)), (0.0, 1.1), ("max", "min"))


class BoundedParetoLandscape(ParetoLandscape):
    """`pareto` with a bound, size <= 12 (one 3x3 convolution and two 1x1, or none and any
    number of 1x1; a third of the cells break it): the oracles are given the constraint
    `params<=12`, a cell past it is reported as the tuner reports one it did not
    train (score 0, `feasible` 0), and the hypervolume counts the cells within it."""

    name = "pareto-bounded"
    bound = 12.0


class ScreenedParetoLandscape(BoundedParetoLandscape):
    """`pareto-bounded` where the oracles are given a `screen`, as `kerasnas.tuner.NASTuner`
    gives them where a bound is on a size (known before training): a cell past the bound is
    drawn, mutated or asked again instead of using up a trial. `pareto-bounded` is then the
    case of a bound known only after building and timing (latency)."""

    name = "pareto-screened"
    screened = True


LANDSCAPES = {"nb201": Landscape, "mixed": MixedLandscape, "pareto": ParetoLandscape,
              "pareto-bounded": BoundedParetoLandscape, "pareto-screened": ScreenedParetoLandscape}


def run_one(name, seed, trials, workdir, landscape="nb201"):
    """One oracle on one landscape: best-so-far curve (0 = worst, 1 = optimum) and run facts."""
    import keras_tuner

    from kerasnas.oracles import make_oracle

    cpu_start = time.process_time()
    landscape = LANDSCAPES[landscape](seed)
    pareto = isinstance(landscape, ParetoLandscape)
    options = {} if not pareto else {
        "trade_off": ["params"],
        "constraints": [] if landscape.bound is None else [f"params<={landscape.bound:g}"]}
    oracle = make_oracle(name, objective=keras_tuner.Objective("score", "max"),
                         max_trials=trials, seed=seed, **options)
    directory = tempfile.mkdtemp(dir=workdir)
    oracle._set_project_dir(directory, "p")
    oracle.verbose = 0
    landscape.register(oracle.hyperparameters)
    if getattr(landscape, "screened", False):
        oracle.screen = lambda values: {"params": landscape.size(values), "flops": 0.0}
    curve, best, seen, duplicates, front_points = [], -np.inf, set(), 0, []
    proposal_seconds = {}
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        values = trial.hyperparameters.values
        key = json.dumps(values, sort_keys=True)
        duplicates += key in seen
        seen.add(key)
        score = landscape(values)
        metrics = {"score": score}
        if pareto:
            size = landscape.size(values)
            kept = landscape.bound is None or size <= landscape.bound
            metrics = {"score": score if kept else landscape.worst, "params": size,
                       "feasible": float(kept)}
            if kept:
                front_points.append((score, size))
        oracle.update_trial(trial.trial_id, metrics)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        note = oracle.notes.get(trial.trial_id, {})
        if "proposal_seconds" in note:
            proposal_seconds[len(curve)] = note["proposal_seconds"]  # completed trials before it
        if pareto:
            scores, sizes = zip(*front_points) if front_points else ((), ())
            curve.append(landscape.volume(scores, sizes) / landscape.true_volume)
        else:
            best = max(best, score)
            curve.append(best)
    shutil.rmtree(directory)
    phases = {}
    for note in oracle.notes.values():
        phases[note["phase"]] = phases.get(note["phase"], 0) + 1
    curve = (np.array(curve) if pareto else
             (np.array(curve) - landscape.worst) / (landscape.best - landscape.worst))
    return curve, {"cpu_seconds": time.process_time() - cpu_start, "duplicates": duplicates, "phases": phases, "proposal_seconds": proposal_seconds,
                   "optimum": bool(curve[-1] >= 1 - landscape.optimum_tolerance)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--kt-gp-seeds", type=int, default=10,
                        help="seeds for KerasTuner's GP (tens of CPU seconds per run)")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--oracles", default=",".join(ORDER))
    parser.add_argument("--landscapes", default=",".join(LANDSCAPES))
    parser.add_argument("--out", default="reports/oracle_validity")
    parser.add_argument("--jobs", type=int, default=1, help="processes (each single-threaded)")
    args = parser.parse_args()
    # Finished (landscape, oracle) cells are kept in OUT.runs.json: a rerun with the same
    # settings skips them, so the benchmark can be stopped and continued.
    cache_path = args.out + ".runs.json"
    settings = {"trials": args.trials, "seeds": args.seeds, "kt_gp_seeds": args.kt_gp_seeds}
    cache = {"settings": settings, "cells": {}}
    if os.path.exists(cache_path):
        with open(cache_path) as f:
            stored = json.load(f)
        if stored["settings"] == settings:
            cache = stored
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    workdir = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    for landscape in args.landscapes.split(","):
        for name in args.oracles.split(","):
            key = f"{landscape}/{name}"
            if key in cache["cells"]:
                continue
            if name == "kt-gp" and issubclass(LANDSCAPES[landscape], ParetoLandscape):
                continue  # KerasTuner's GP searches one objective
            n_seeds = args.kt_gp_seeds if name == "kt-gp" else args.seeds
            jobs = [(name, s, args.trials, workdir, landscape) for s in range(n_seeds)]
            with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
                runs = pool.starmap(run_one, jobs)
            cache["cells"][key] = {
                "curves": [np.round(curve, 5).tolist() for curve, _ in runs], "facts": [f for _, f in runs],
                "cpu_seconds": sum(f["cpu_seconds"] for _, f in runs)}
            with open(cache_path + ".tmp", "w") as f:
                json.dump(cache, f)
            os.replace(cache_path + ".tmp", cache_path)
            final = np.mean([c[-1] for c, _ in runs])
            print(f"{key}: {n_seeds} seeds, {cache['cells'][key]['cpu_seconds']:.0f} s CPU, "
                  f"final {final:.4f}", flush=True)
    shutil.rmtree(workdir)
    write_report(args, cache)


def _proposal_seconds(facts, at):
    """Mean CPU seconds of the proposal made after `at` completed trials (nearest recorded)."""
    values = []
    for fact in facts:
        recorded = {int(k): v for k, v in fact["proposal_seconds"].items()}
        if recorded:
            nearest = min(recorded, key=lambda k: abs(k - at))
            if abs(nearest - at) <= 2:
                values.append(recorded[nearest])
    return f"{np.mean(values):.3f}" if values else "-"


def write_report(args, cache):
    import keras_tuner
    import matplotlib
    import optuna
    import scipy
    import sklearn
    from scipy import stats

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    landscapes = [name for name in LANDSCAPES
                  if any(key.startswith(name + "/") for key in cache["cells"])]
    fig, axes = plt.subplots(1, len(landscapes), figsize=(6.5 * len(landscapes), 4.2), squeeze=False)
    sections = []
    for ax, landscape in zip(axes[0], landscapes):
        cells = {key.split("/")[1]: cell for key, cell in cache["cells"].items()
                 if key.startswith(landscape + "/")}
        curves = {name: np.array(cell["curves"]) for name, cell in cells.items()}
        for name, curve in curves.items():
            mean, err = curve.mean(0), curve.std(0) / np.sqrt(len(curve))
            x = np.arange(1, curve.shape[1] + 1)
            ax.plot(x, mean, label=f"{name} ({len(curve)} seeds)")
            ax.fill_between(x, mean - err, mean + err, alpha=0.25)
        ax.set_xlabel("trials")
        pareto = issubclass(LANDSCAPES[landscape], ParetoLandscape)
        ax.set_ylabel("hypervolume / the true front's" if pareto else
                      "best so far (0 = worst, 1 = optimum)")
        ax.set_title(f"{landscape} landscape: mean ± s.e.m. over seeds")
        ax.set_ylim(min(0.6, min(c[:, 9].mean() for c in curves.values())), 1.0)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        random_final = curves["random"][:, -1] if "random" in curves else None
        rows = []
        for name, curve in curves.items():
            facts = cells[name]["facts"]
            final = curve[:, -1]
            optimum = np.mean([f["optimum"] for f in facts])
            test = "-"
            if random_final is not None and name != "random" and len(final) >= 5:
                n = len(final)
                wilcoxon = stats.wilcoxon(final, random_final[:n], alternative="greater")
                mwu = stats.mannwhitneyu(final, random_final, alternative="greater")
                test = f"Wilcoxon p = {wilcoxon.pvalue:.2g}; Mann-Whitney p = {mwu.pvalue:.2g}"
            at = [curve[:, t - 1].mean() for t in (25, 50) if t <= curve.shape[1]]
            phases = {}
            for fact in facts:
                for phase, count in fact["phases"].items():
                    phases[phase] = phases.get(phase, 0) + count
            phase_text = ", ".join(f"{p} {c / len(facts):.0f}" for p, c in sorted(phases.items()))
            proposal = " / ".join(_proposal_seconds(facts, t) for t in (20, 50, 99))
            rows.append(
                f"| {name} | {len(curve)} | {final.mean():.4f} ± {final.std():.4f} | "
                + " | ".join(f"{v:.4f}" for v in at)
                + f" | {optimum:.0%} | {test} | {sum(f['duplicates'] for f in facts)} | {phase_text} | "
                + f"{proposal} | {cells[name]['cpu_seconds'] / len(curve):.2f} |")
        doc = LANDSCAPES[landscape].__doc__
        sections.append(f"""## Landscape `{landscape}`

{chr(10).join(line.strip() for line in doc.splitlines())}

| oracle | seeds | {"final hypervolume ratio" if pareto else "final best"} (mean ± std) | at 25 trials | at 50 trials | {"whole front found" if pareto else "optimum found"} | one-sided test vs random (final) | repeated proposals | phases per run (mean) | CPU s per proposal at 20 / 50 / 99 done | CPU s / run |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
""")
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=120)
    command = (f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} "
               + command_text("benchmarks.oracle_validity", sys.argv[1:]))
    report = f"""# Oracle validity: do the oracles search?

Synthetic landscapes, no training; seed s draws landscape s and seeds the oracle with s.
The oracles are the real `kerasnas.oracles` classes with their default, budget-sized settings,
driven through `create_trial` / `update_trial` / `end_trial` with a budget of {args.trials}
trials, one process, one thread. Scores are rescaled per landscape, by enumeration, to
0 = the worst setting, 1 = the optimum. On the two-objective landscapes (`pareto`,
`pareto-bounded`) the oracles trade size off against the score (`trade_off=["params"]`), and
the value is the hypervolume of the front found so far over the true front's (1 = all of it).

Every cell (landscape x oracle) is read from `{os.path.basename(args.out)}.runs.json`: computed once with
these settings, possibly in an earlier sitting of the same command (one process per run, one
thread each), then kept.

Wilcoxon: signed-rank test paired by landscape (the first n seeds of random search);
Mann-Whitney U: unpaired, against all random-search seeds. `kt-gp` (KerasTuner's GP) runs
on fewer seeds: each of its proposals refits sklearn's GP and restarts L-BFGS 50 times.
"Repeated proposals": trials whose values an earlier trial of the run already had.
Phases: `warm-up` = the random start, `model` = proposed by the surrogate, `random` = a
random fallback (KerasTuner's GP proposed a tried trial, or TPE did 20 times).
Proposal CPU seconds: the model's proposal after 20, 50 and 99 completed trials (`bayes`
records it per trial in `oracle.notes`).

{chr(10).join(sections)}
![anytime curves]({os.path.basename(args.out)}.png)

- Command: `{command}`
- Machine: {platform.platform()}, {os.cpu_count()} CPUs (shared with other work), Python {platform.python_version()}
- Date: {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
- Versions: keras-tuner {keras_tuner.__version__}, optuna {optuna.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}
"""
    with open(args.out + ".md", "w") as f:
        f.write(report)


if __name__ == "__main__":
    main()
