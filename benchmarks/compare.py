"""kerasnas, AutoKeras and NNI on the same data, budgets and threads; writes reports/compare.md.

    python benchmarks/compare.py --preset smoke --out-dir /tmp/cmp      # CI: a few minutes
    nice -n 10 python benchmarks/compare.py --preset middle              # ~1 h on 2 cores
    nice -n 10 python benchmarks/compare.py --preset seed                # the study's budgets

The splits are made once (kerasnas.data, one seed) and saved as an npz that
every run reads. Each framework x experiment runs in its own process group
with a time limit (SIGTERM, then SIGKILL of the group), so a crash or a hang
is recorded and the rest completes; after each run any process carrying the
run's marker (NNI managers, trials) is killed and reported.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import compare_report  # noqa: E402

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
    "smoke": dict(train_size=800, val_size=200, test_size=500, epochs=1, scale="tiny",
                  trials={"custom": 2, "nasbench201": 2, "resnet": 2, "imageclassifier": 1,
                          "baseline": 1},
                  timeout=300, skip={("nni", "hpo-custom-evolution")}),
    # About an hour on 2 cores: an estimate, not yet measured end to end. The study's model
    # sizes on 3,000 images x 1 epoch: ~30-60 s a trial (NAS-Bench-201's C=16, N=5 trains
    # ~8 min per 50k-image epoch), 33 trials ~25 min, plus ~10 s (kerasnas) to ~25 s (NNI) of
    # overhead a trial (smoke), plus AutoKeras' ImageClassifier: its 2nd trial (ResNet50 at
    # 224x224, ~10 min for 3,000 images) then EfficientNetB7's weights download (fails
    # offline); the 900 s limit records how far it got.
    "middle": dict(train_size=3000, val_size=1000, test_size=10000, epochs=1, scale="full",
                   trials={"custom": 4, "nasbench201": 4, "resnet": 3, "imageclassifier": 3,
                           "baseline": 1},
                   timeout=900, skip=set()),
    # The study's budgets: 6 / 6 / 3 trials x 3 epochs, full data. Hours.
    "seed": dict(train_size=50000, val_size=10000, test_size=10000, epochs=3, scale="full",
                 trials={"custom": 6, "nasbench201": 6, "resnet": 3, "imageclassifier": 6,
                         "baseline": 1},
                 timeout=6 * 3600, skip=set()),
}
GRACE_SECONDS = 60  # after SIGTERM, before SIGKILL of the group
MARKER = "KERASNAS_COMPARE_TOKEN"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="smoke")
    p.add_argument("--frameworks", help="comma-separated subset of " + ",".join(FRAMEWORKS))
    p.add_argument("--experiments", help="comma-separated experiment names (any framework)")
    p.add_argument("--out-dir", default=os.path.join(ROOT, "reports"))
    p.add_argument("--work-dir", help="runs' files: logs, models, results.json "
                   "(default: runs/compare-<preset>, git-ignored)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--timeout", type=int, help="seconds per run (default: the preset's)")
    p.add_argument("--data-dir", help="Fashion-MNIST folder (default: kerasnas.data's search)")
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
    return args


def plan(args):
    """(framework, experiment, max_trials) of every run, in order."""
    preset = PRESETS[args.preset]
    return [(fw, exp, preset["trials"][budget]) for fw in args.frameworks
            for exp, budget in FRAMEWORKS[fw].items()
            if (fw, exp) not in preset["skip"] and (not args.experiments or exp in args.experiments)]


def make_data(args, path):
    from kerasnas.data import make_splits

    preset = PRESETS[args.preset]
    splits = make_splits(train_size=preset["train_size"], val_size=preset["val_size"],
                         seed=args.seed, data_dir=args.data_dir)
    n = preset["test_size"]
    splits.x_test, splits.y_test = splits.x_test[:n], splits.y_test[:n]
    splits.save_npz(path)
    return {**splits.describe(), "test_size": len(splits.y_test)}


def run_env(token, home):
    """The harness' environment without NNI_* (trials would inherit them), plus the run marker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNI_")}
    env.update({MARKER: token, "HOME": home, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))})
    return env


def sweep(token):
    """Kills every process carrying `token`; returns what was found (name, pid, listening ports)."""
    import psutil

    found = []
    for p in psutil.process_iter():
        try:
            if p.environ().get(MARKER) != token:
                continue
            ports = [c.laddr.port for c in p.net_connections(kind="inet") if c.status == "LISTEN"]
            found.append({"name": p.name(), "pid": p.pid, "ports": ports})
            p.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def run_one(args, framework, experiment, max_trials, data_path, work, sizes):
    """Runs one framework x experiment in its own process group; returns its result dict."""
    preset = PRESETS[args.preset]
    name = f"{framework}__{experiment}"
    workdir = os.path.join(work, name)
    shutil.rmtree(workdir, ignore_errors=True)  # an earlier run's records must not mix in
    os.makedirs(os.path.join(workdir, "home"))
    out = os.path.join(workdir, "result.json")
    cmd = [sys.executable, "-m", f"benchmarks.frameworks.{framework}_runner", "--data", data_path,
           "--experiment", experiment, "--max-trials", str(max_trials),
           "--epochs", str(preset["epochs"]), "--batch-size", str(args.batch_size),
           "--threads", str(args.threads), "--seed", str(args.seed),
           "--scale", preset["scale"], "--workdir", workdir, "--out", out]
    if "evolution" in experiment:
        cmd += ["--population", str(sizes(max_trials)[0]), "--sample", str(sizes(max_trials)[1])]
    token = f"{uuid.uuid4().hex[:12]}-{name}"
    timeout = args.timeout or preset["timeout"]
    start, timed_out = time.time(), False
    print(f"[compare] {name}: {max_trials} trials x {preset['epochs']} epochs ...", flush=True)
    with open(os.path.join(workdir, "log.txt"), "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=run_env(token, os.path.join(workdir, "home")),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.send_signal(signal.SIGTERM)  # the runner records what it has, stops NNI
            try:
                proc.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        finally:
            _kill_group(proc)
            leftovers = sweep(token)
    result = _read(out) or failure(framework, experiment, proc.returncode, workdir)
    result.update(returncode=proc.returncode, timed_out=timed_out, timeout_seconds=timeout,
                  outer_seconds=time.time() - start, leftovers_killed=leftovers, workdir=workdir)
    if timed_out:
        result["notes"].append(f"time limit {timeout} s reached: stopped (SIGTERM, then SIGKILL)")
    if leftovers:
        result["notes"].append(f"left behind and killed by the harness: {leftovers}")
    print(f"[compare] {name}: {result['completed']} completed, {result['failed']} failed, "
          f"best val {result['best_val_accuracy']}, test {result['test_accuracy']}, "
          f"{result['outer_seconds']:.0f} s", flush=True)
    return result


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def failure(framework, experiment, returncode, workdir):
    """The record of a run that left no result: its exit code and the end of its log."""
    with open(os.path.join(workdir, "log.txt"), errors="replace") as f:
        tail = [line.rstrip() for line in f.readlines()[-8:]]
    return {"framework": framework, "experiment": experiment, "space": FRAMEWORKS[framework][experiment],
            "strategy": "", "trials": [], "best_val_accuracy": None, "test_accuracy": None,
            "completed": 0, "failed": 0, "wall_seconds": None, "mean_trial_seconds": None,
            "overhead_per_trial": None, "versions": {},
            "notes": [f"no result (exit code {returncode}); log ends: " + " | ".join(tail)[-600:]]}


def main(argv=None):
    # On SIGTERM, unwind so that run_one's `finally` kills the running group and sweeps.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args = parse_args(argv)
    runs = plan(args)
    if not runs:
        raise SystemExit("No run selected: check --frameworks / --experiments.")
    work = os.path.abspath(args.work_dir or os.path.join(ROOT, "runs", f"compare-{args.preset}"))
    os.makedirs(work, exist_ok=True)
    started = time.time()
    data_path = os.path.join(work, "splits.npz")
    data = make_data(args, data_path)
    from kerasnas.oracles import evolution_sizes  # kerasnas' budget sizing, given to NNI too

    results = [run_one(args, fw, exp, n, data_path, work, evolution_sizes) for fw, exp, n in runs]
    meta = {"preset": args.preset, "settings": {**PRESETS[args.preset], "skip": sorted(
                map(list, PRESETS[args.preset]["skip"]))},
            "seed": args.seed, "threads": args.threads, "batch_size": args.batch_size,
            "data": data, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, "
                       f"{platform.platform()}",
            "command": "python benchmarks/compare.py "
                       + " ".join(sys.argv[1:] if argv is None else argv),
            "total_seconds": time.time() - started}
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2, default=str)
    path = compare_report.write(results, meta, args.out_dir)
    print(f"[compare] report: {path} ({meta['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
