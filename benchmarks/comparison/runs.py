"""The run cache of `python -m benchmarks.compare`: one folder per (framework, experiment, seed, variant).

A run's folder is named after what it is and a hash of every setting that
produced it (`RunSpec.key`); `settings.json` beside the result says which.
`record.json` is written (atomically) only when the run has ended, so a folder
without it is a run that was in flight when the harness died: it is deleted
and redone. Runs of other settings keep their own folders and are never read
into a report of the current settings.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

from benchmarks.launch import ROOT, child_env, module_command
from kerasnas.files import write_json

GRACE_SECONDS = 60  # after SIGTERM, before SIGKILL of the group
MARKER = "KERASNAS_COMPARE_TOKEN"
RECORD, SETTINGS = "record.json", "settings.json"


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that decides one run's outcome (its hash keys the cache).

    Args:
        framework: Runner module `benchmarks.comparison.frameworks.<framework>_runner`.
        experiment: Name in the report (e.g. `plain-cnn-e12`).
        runner_experiment: Experiment the runner is given (e.g. `plain-cnn`).
        max_trials: Trial budget.
        epochs: Epochs per trial.
        seed: Search / training seed.
        scale: Model scale of the spaces (`tiny`, `reduced`, `full`).
        batch_size: Batch size.
        threads: Threads per framework.
        timeout: Seconds before the run is stopped.
        data: Identity of the splits (sizes, split seed, source).
        variant: Flexibility change (`""`: none).
        population: Evolution population (None: not an evolution run).
        sample: Evolution tournament size.
    """

    framework: str
    experiment: str
    runner_experiment: str
    max_trials: int
    epochs: int
    seed: int
    scale: str
    batch_size: int
    threads: int
    timeout: int
    data: tuple
    variant: str = ""
    population: int = None
    sample: int = None

    def settings(self):
        return {**dataclasses.asdict(self), "data": dict(self.data)}

    @property
    def digest(self):
        text = json.dumps(self.settings(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def key(self):
        """Folder name: readable part, then the settings hash."""
        parts = [self.framework, self.experiment, f"s{self.seed}"] + ([self.variant] if self.variant else [])
        return "__".join(parts + [self.digest])


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def finished(work, spec):
    """The record of `spec` if that run has ended (completed or failed), else None."""
    return read_json(os.path.join(work, spec.key, RECORD))


def foreign_runs(work, specs):
    """Finished run folders in `work` of a planned run (framework, experiment, seed) made with
    other settings. Runs that were not planned this time (another --frameworks) are not counted."""
    keys = {s.key for s in specs}
    planned = {k.rsplit("__", 1)[0] for k in keys}  # the key less its settings digest
    if not os.path.isdir(work):
        return []
    return sorted(d for d in os.listdir(work) if d not in keys and d.rsplit("__", 1)[0] in planned
                  and os.path.exists(os.path.join(work, d, RECORD)))


def run_env(token, home):
    """The harness' environment without NNI_* (trials would inherit them), plus the run marker,
    the repository first on PYTHONPATH (`benchmarks.launch.child_env`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNI_")}
    return child_env(env, **{MARKER: token, "HOME": home, "TF_CPP_MIN_LOG_LEVEL": "2",
                             "PYTHONUNBUFFERED": "1"})


def sweep(token):
    """Kills every process carrying `token`; returns what was found (name, pid, listening ports)."""
    import psutil

    found = []
    if not token:  # an empty token would match every unmarked process
        return found
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


def command(spec, data_path, workdir):
    cmd = module_command(f"benchmarks.comparison.frameworks.{spec.framework}_runner", "--data", data_path,
                         "--experiment", spec.runner_experiment, "--max-trials", spec.max_trials,
                         "--epochs", spec.epochs, "--batch-size", spec.batch_size,
                         "--threads", spec.threads, "--seed", spec.seed, "--scale", spec.scale,
                         "--workdir", workdir, "--out", os.path.join(workdir, "result.json"))
    if spec.population:
        cmd += ["--population", str(spec.population), "--sample", str(spec.sample)]
    if spec.variant:
        cmd += ["--variant", spec.variant]
    return cmd


def code_commit():
    """The tree's git commit (+ "-dirty"): recorded per run, not hashed (see the report)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_one(spec, data_path, work):
    """Runs `spec` in its own process group (unless already finished); returns its record."""
    done = finished(work, spec)
    if done is not None:
        print(f"[compare] {spec.key}: finished earlier, kept", flush=True)
        return done
    workdir = os.path.join(work, spec.key)
    orphan = read_json(os.path.join(workdir, SETTINGS))
    if orphan:  # in flight when the harness died: its processes may still run
        sweep(orphan.get("token"))
    shutil.rmtree(workdir, ignore_errors=True)  # redone from scratch
    os.makedirs(os.path.join(workdir, "home"))
    token = f"{uuid.uuid4().hex[:12]}-{spec.framework}-{spec.experiment}"
    write_json(os.path.join(workdir, SETTINGS), {**spec.settings(), "token": token}, indent=2, default=str)
    start, timed_out = time.time(), False
    print(f"[compare] {spec.key}: {spec.max_trials} trials x {spec.epochs} epochs ...", flush=True)
    with open(os.path.join(workdir, "log.txt"), "w") as log:
        proc = subprocess.Popen(command(spec, data_path, workdir), cwd=ROOT,
                                env=run_env(token, os.path.join(workdir, "home")),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=spec.timeout)
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
    result = read_json(os.path.join(workdir, "result.json")) or failure(spec, proc.returncode, workdir)
    result.update(experiment=spec.experiment, seed=spec.seed, variant=spec.variant,
                  settings_hash=spec.digest, returncode=proc.returncode, timed_out=timed_out,
                  timeout_seconds=spec.timeout, outer_seconds=time.time() - start,
                  leftovers_killed=leftovers, workdir=workdir, code_commit=code_commit())
    if timed_out:
        result["notes"].append(f"time limit {spec.timeout} s reached: stopped (SIGTERM, then SIGKILL)")
    if leftovers:
        result["notes"].append(f"left behind and killed by the harness: {leftovers}")
    write_json(os.path.join(workdir, RECORD), result, indent=2, default=str)
    print(f"[compare] {spec.key}: {result['completed']} completed, {result['failed']} failed, "
          f"best val {result['best_val_accuracy']}, test {result['test_accuracy']}, "
          f"{result['outer_seconds']:.0f} s", flush=True)
    return result


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def failure(spec, returncode, workdir):
    """The record of a run that left no result: its exit code and the end of its log."""
    with open(os.path.join(workdir, "log.txt"), errors="replace") as f:
        tail = [line.rstrip() for line in f.readlines()[-8:]]
    return {"framework": spec.framework, "experiment": spec.experiment, "space": "", "strategy": "",
            "trials": [], "best_val_accuracy": None, "test_accuracy": None, "completed": 0,
            "failed": 0, "wall_seconds": None, "mean_trial_seconds": None,
            "overhead_per_trial": None, "versions": {},
            "notes": [f"no result (exit code {returncode}); log ends: " + " | ".join(tail)[-600:]]}
