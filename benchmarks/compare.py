"""kerasnas, AutoKeras and NNI on the same data, budgets and threads, over seeds.

    python -m benchmarks.compare --preset smoke                       # CI: a temp folder
    nohup nice -n 10 python -m benchmarks.compare --preset middle --seeds 0,1,2 > middle.log &
    python -m benchmarks.compare --preset middle --seeds 0,1,2 --report-only
    python -m benchmarks.compare --preset smoke --flex                # the scripted changes

(from the repository root; `python benchmarks/compare.py ...` reruns itself as that module).

Runs accumulate: each (framework, experiment, seed[, variant]) is cached in the
work folder under a hash of its settings (benchmarks/comparison/runs.py), so a
rerun skips what has finished and redoes what was in flight; a preset can be
filled in over several sittings, and a `kill -9` loses the run in flight only.
Runs made with other settings keep their own folders and are left out of the
report, which says how many. The report is rewritten after every run from what
has finished; missing runs are listed as missing.

`smoke` writes its report and runs into a new temporary folder unless `--out`
is given, so CI never overwrites reports/compare.md. Each run is its own
process group with a time limit (SIGTERM, then SIGKILL of the group); any
process left carrying the run's marker is killed and reported.
"""

import argparse
import os
import platform
import signal
import sys
import tempfile
import time

if __name__ == "__main__" and not __package__:
    # Run as a file (`python benchmarks/compare.py`): rerun as the module, with the repository
    # on PYTHONPATH, so that `benchmarks` imports as it does under `python -m benchmarks.compare`.
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    _path = os.pathsep.join(filter(None, [_root, os.environ.get("PYTHONPATH")]))
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks.compare", *sys.argv[1:]],
              {**os.environ, "PYTHONPATH": _path})

from benchmarks.comparison import flex_report, report  # noqa: E402
from benchmarks.comparison.flex import FLEX_RUNS, VARIANTS  # noqa: E402
from benchmarks.comparison.runs import (  # noqa: E402,F401
    MARKER, RunSpec, finished, foreign_runs, run_one)
from benchmarks.launch import ROOT, command_text  # noqa: E402

# framework -> experiments; each experiment's budget key (the study's 6/6/3) in brackets.
FRAMEWORKS = {
    "kerasnas": {"custom-evolution": "custom", "nasbench201-evolution": "nasbench201",
                 "resnet-bayes": "resnet", "resnet-tpe": "resnet"},
    "autokeras": {"imageclassifier-greedy": "imageclassifier", "resnet-evolution": "resnet"},
    "nni": {"nasbench201-evolution": "nasbench201", "custom-evolution": "custom",
            "hpo-resnet-evolution": "resnet", "hpo-custom-evolution": "custom"},
    "baseline": {"plain-cnn": "baseline"},
}
PRESETS = {
    # Every framework, tiny models, ~1,000 images, 1 epoch: CI.
    "smoke": dict(train_size=800, val_size=200, test_size=500, epochs=1, scale="tiny", batch_size=128,
                  trials={"custom": 2, "nasbench201": 2, "resnet": 2, "imageclassifier": 1,
                          "baseline": 1},
                  timeout=300, skip={("nni", "hpo-custom-evolution")}, matched_baseline=False),
    # ~60-90 min per seed on 2 cores (an estimate until the first seed is measured): the study's
    # budgets (6/6/3 trials x 2 epochs) on 10k/2k/10k images, spaces at the `reduced` scale of
    # benchmarks/comparison/frameworks/_common.py (NAS-Bench-201 N=2 cells a stage, custom 1 cell
    # a stage; ResNet full), AutoKeras' ImageClassifier restricted to its vanilla CNN block (offline CPU:
    # no ResNet50 at 224x224, no EfficientNetB7 download), plus the compute-matched plain CNN.
    # Batch 32 for every framework: kerasnas' default, AutoKeras' too, and what short training
    # wants (reports/recipes.md: 64.9 % against 50.4 % at 128 after one epoch).
    "middle": dict(train_size=10000, val_size=2000, test_size=10000, epochs=2, scale="reduced",
                   batch_size=32,
                   trials={"custom": 6, "nasbench201": 6, "resnet": 3, "imageclassifier": 3,
                           "baseline": 1},
                   timeout=1800, skip={("nni", "hpo-custom-evolution")}, matched_baseline=True),
    # The study's budgets: 6 / 6 / 3 trials x 3 epochs, full data and models. Hours.
    "seed": dict(train_size=50000, val_size=10000, test_size=10000, epochs=3, scale="full",
                 batch_size=32,
                 trials={"custom": 6, "nasbench201": 6, "resnet": 3, "imageclassifier": 6,
                         "baseline": 1},
                 timeout=6 * 3600, skip=set(), matched_baseline=True),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="smoke")
    p.add_argument("--frameworks", help="comma-separated subset of " + ",".join(FRAMEWORKS))
    p.add_argument("--experiments", help="comma-separated experiment names (any framework)")
    p.add_argument("--out", "--out-dir", dest="out",
                   help="report folder (default: reports/, or a new temp folder for smoke)")
    p.add_argument("--work-dir", help="runs' cache: logs, models, records (default: runs/compare-"
                   "<preset> git-ignored; for smoke without --out, inside the temp folder)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the data split (all runs)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, help="every framework's (default: the preset's)")
    p.add_argument("--timeout", type=int, help="seconds per run (default: the preset's)")
    p.add_argument("--data-dir", help="Fashion-MNIST folder (default: kerasnas.datasets.fashion_mnist's search)")
    p.add_argument("--flex", action="store_true",
                   help="run the scripted flexibility changes instead of the experiments")
    p.add_argument("--note", help="conditions of the runs to state in the report's setup (e.g. "
                   "what else shared the machine)")
    p.add_argument("--report-only", action="store_true", help="render what has finished, run nothing")
    args = p.parse_args(argv)
    wanted = set(args.frameworks.split(",")) if args.frameworks else set(FRAMEWORKS)
    unknown = wanted - set(FRAMEWORKS)
    if unknown:
        p.error(f"unknown framework(s) {sorted(unknown)}; choose from {sorted(FRAMEWORKS)}")
    args.frameworks = [f for f in FRAMEWORKS if f in wanted]
    known = {e for exps in FRAMEWORKS.values() for e in exps}
    args.experiments = set(args.experiments.split(",")) if args.experiments else None
    if args.experiments and args.experiments - known:
        p.error(f"unknown experiment(s) {sorted(args.experiments - known)}; choose from {sorted(known)}")
    try:
        args.seeds = sorted({int(s) for s in args.seeds.split(",")})
    except ValueError:
        p.error(f"--seeds takes comma-separated integers, e.g. 0,1,2 (got {args.seeds!r})")
    return args


def data_identity(args):
    preset = PRESETS[args.preset]
    return tuple(sorted({"train_size": preset["train_size"], "val_size": preset["val_size"],
                         "test_size": preset["test_size"], "split_seed": args.split_seed,
                         "data_dir": args.data_dir or "default"}.items()))


def plan(args):
    """The RunSpec of every run, seeds innermost-last (a whole seed before the next)."""
    preset = PRESETS[args.preset]
    data = data_identity(args)

    def spec(fw, exp, runner_exp, trials, epochs, seed, variant=""):
        evo = "evolution" in runner_exp
        pop, sample = evolution_sizes(trials) if evo else (None, None)
        return RunSpec(framework=fw, experiment=exp, runner_experiment=runner_exp,
                       max_trials=trials, epochs=epochs, seed=seed, scale=preset["scale"],
                       batch_size=args.batch_size or preset["batch_size"], threads=args.threads,
                       timeout=args.timeout or preset["timeout"], data=data, variant=variant,
                       population=pop, sample=sample)

    if args.flex:  # one trial each: the change has to run, not to search
        return [spec(fw, exp, exp, 1, preset["epochs"], seed, variant)
                for seed in args.seeds for (fw, variant), exp in FLEX_RUNS.items()
                if fw in args.frameworks and exp and variant in VARIANTS]
    out = []
    for seed in args.seeds:
        for fw in args.frameworks:
            for exp, budget in FRAMEWORKS[fw].items():
                if (fw, exp) in preset["skip"] or (args.experiments and exp not in args.experiments):
                    continue
                out.append(spec(fw, exp, exp, preset["trials"][budget], preset["epochs"], seed))
                if fw == "baseline" and preset["matched_baseline"]:
                    out += [spec(fw, f"{exp}-e{n}", exp, 1, n, seed) for n in matched_epochs(preset)]
    return out


def matched_epochs(preset):
    """Total epochs of each search (trials x epochs): the compute-matched plain CNN's epochs."""
    return sorted({n * preset["epochs"] for key, n in preset["trials"].items() if key != "baseline"})


def evolution_sizes(trials):
    from kerasnas.oracles import evolution_sizes as sizes  # kerasnas' budget sizing

    return sizes(trials)


def make_data(args, work):
    """The splits' npz for these settings, made once (atomically) and reused by every run."""
    import hashlib

    ident = data_identity(args)
    path = os.path.join(work, f"splits-{hashlib.sha256(repr(ident).encode()).hexdigest()[:10]}.npz")
    from kerasnas.datasets import make_splits

    preset = PRESETS[args.preset]
    splits = make_splits(train_size=preset["train_size"], val_size=preset["val_size"],
                         seed=args.split_seed, data_dir=args.data_dir)
    n = preset["test_size"]
    splits.x_test, splits.y_test = splits.x_test[:n], splits.y_test[:n]
    if not os.path.exists(path):
        splits.save_npz(path + ".tmp.npz")
        os.replace(path + ".tmp.npz", path)
    return path, {**splits.describe(), "test_size": len(splits.y_test)}


def folders(args):
    """(out, work): smoke without --out goes to a fresh temp folder (never reports/)."""
    out = args.out
    if out is None and args.preset == "smoke":
        out = tempfile.mkdtemp(prefix="compare-smoke-")
        work = args.work_dir or os.path.join(out, "work")
    else:
        out = out or os.path.join(ROOT, "reports")
        work = args.work_dir or os.path.join(ROOT, "runs", f"compare-{args.preset}")
    return os.path.abspath(out), os.path.abspath(work)


def command_line(args):
    """This invocation, quoted; a --note's text stands under Setup, not in the command."""
    argv = list(sys.argv[1:])
    for i, a in enumerate(argv):
        if a == "--note" and i + 1 < len(argv):
            argv[i + 1] = "<conditions below>"
        elif a.startswith("--note="):
            argv[i] = "--note=<conditions below>"
    return command_text("benchmarks.compare", argv)


def meta(args, data, specs, work, started):
    preset = PRESETS[args.preset]
    return {"preset": args.preset, "settings": {**preset, "skip": sorted(map(list, preset["skip"]))},
            "seeds": args.seeds, "threads": args.threads,
            "batch_size": args.batch_size or preset["batch_size"],
            "data": data, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, "
                       f"{platform.platform()}",
            "command": command_line(args),
            "work": work, "foreign_runs": foreign_runs(work, specs), "flex": args.flex,
            "matched_epochs": matched_epochs(preset) if preset["matched_baseline"] else [],
            "total_seconds": time.time() - started, "note": args.note}


def main(argv=None):
    # On SIGTERM, unwind so that run_one's `finally` kills the running group and sweeps.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args = parse_args(argv)
    specs = plan(args)
    if not specs:
        raise SystemExit("No run selected: check --frameworks / --experiments.")
    out, work = folders(args)
    os.makedirs(work, exist_ok=True)
    started = time.time()
    data_path, data = make_data(args, work)
    others = foreign_runs(work, specs)
    if others:
        print(f"[compare] {len(others)} finished run(s) in {work} were made with other settings: "
              "kept apart, not in this report", flush=True)
    render = flex_report.write if args.flex else report.write
    for spec in specs if not args.report_only else specs[:1]:
        if not args.report_only:
            run_one(spec, data_path, work)
        path = publish(render, collect(specs, work), meta(args, data, specs, work, started), out, work)
    print(f"[compare] report: {path} ({time.time() - started:.0f} s)")
    return 0


def publish(render, pairs, info, out, work):
    """Renders the report and writes results.json (the finished records of this plan)."""
    from kerasnas.files import write_json

    write_json(os.path.join(work, "results.json"),
               {"meta": info, "results": [r for _, r in pairs if r is not None],
                "missing": [s.key for s, r in pairs if r is None]}, indent=2, default=str)
    return render(pairs, info, out)


def collect(specs, work):
    """(spec, record or None) of every planned run: None = missing (not finished yet)."""
    pairs = [(s, finished(work, s)) for s in specs]
    for s, record in pairs:
        if record is not None and not record.get("space"):  # a run that left no result
            record["space"] = FRAMEWORKS[s.framework][s.runner_experiment]
    return pairs


if __name__ == "__main__":
    sys.exit(main())
