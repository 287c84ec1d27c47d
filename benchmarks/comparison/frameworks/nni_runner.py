"""NNI 3.0 in the comparison.

- `nasbench201-evolution`, `custom-evolution`: NNI NAS (PyTorch): its
  RegularizedEvolution over the hub NAS-Bench-201 space (1-channel stem) and
  over `nni_spaces.CustomCellSpace`, each model trained by NNI's Lightning
  `Classification` evaluator in its default 'ts' engine (one process per trial).
- `hpo-resnet-evolution`, `hpo-custom-evolution`: NNI HPO's Evolution tuner
  driving kerasnas' own Keras spaces through `nni_hpo_trial` (same model code,
  NNI's strategy; one process per trial).

Population and sample are sized to the budget as kerasnas sizes them; NNI's
defaults (population 100 for NAS, 32 for HPO) would make these budgets pure
random search. Every run stops its NNI manager (try/finally) and kills what
is left of its process group.
"""

import glob
import json
import os
import shlex
import signal
import socket
import sqlite3
import sys
import time

from benchmarks.comparison.frameworks import _common
from benchmarks.launch import ROOT, child_env, module_command

FRAMEWORK = "nni"
EXPERIMENTS = {
    "nasbench201-evolution": ("nasbench201", "RegularizedEvolution (NAS)"),
    "custom-evolution": ("custom", "RegularizedEvolution (NAS)"),
    "hpo-resnet-evolution": ("resnet", "Evolution (HPO tuner)"),
    "hpo-custom-evolution": ("custom", "Evolution (HPO tuner)"),
}
# kerasnas' knob names -> the hub NasBench201's arguments.
NB201_ARGS = {"channels": "stem_out_channels", "cells_per_stage": "num_modules_per_stack"}


def import_nni(workdir):
    """Imports nni with HOME inside the run (its experiment index follows $HOME)."""
    os.environ["HOME"] = os.path.join(workdir, "home")
    os.makedirs(os.environ["HOME"], exist_ok=True)
    return _common.require("nni", "torch", "pytorch_lightning")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nas_space(space, scale, variant=""):
    from benchmarks.comparison.frameworks import nni_spaces

    if space == "nasbench201":
        return nni_spaces.OneChannelNasBench201(
            **{NB201_ARGS[k]: v for k, v in _common.pinned(space, scale).items()})
    kwargs = {"fixed": _common.pinned(space, scale) or None}
    if variant == "add-op":
        kwargs = add_op(kwargs)
    elif variant == "skeleton":
        kwargs = skeleton(kwargs)
    return nni_spaces.CustomCellSpace(**kwargs)


def add_op(kwargs):
    """Flexibility change 1: one more candidate op (defined in nni_spaces.CELL_OPS)."""
    from benchmarks.comparison.frameworks.nni_spaces import CELL_OP_NAMES

    return {**kwargs, "operations": CELL_OP_NAMES + ("fac_conv_7x1_1x7",)}


def skeleton(kwargs):
    """Flexibility change 3: two cells a stage."""
    return {**kwargs, "fixed": {**(kwargs["fixed"] or {}), "cells_per_stage": 2}}


def swap_strategy(args):
    """Flexibility change 2: NNI's random strategy instead of RegularizedEvolution."""
    from nni.nas.strategy import Random

    return Random(seed=args.seed)


def nas_evaluator(args, space, records):
    import torch
    from nni.nas.evaluator.pytorch import Classification, DataLoader

    from benchmarks.comparison.frameworks.nni_spaces import NesterovSGD, NpzImages, TrialRecorder

    optim = {"optimizer": NesterovSGD, "learning_rate": 0.1} if space == "nasbench201" else \
        {"optimizer": torch.optim.Adam, "learning_rate": 1e-3}  # as the Keras spaces train
    return Classification(
        train_dataloaders=DataLoader(NpzImages(args.data, "train"), batch_size=args.batch_size,
                                     shuffle=True),
        val_dataloaders=DataLoader(NpzImages(args.data, "val"), batch_size=args.batch_size),
        num_classes=10, max_epochs=args.epochs, accelerator="cpu", devices=1, logger=False,
        enable_progress_bar=False, enable_checkpointing=False, num_sanity_val_steps=0,
        callbacks=[TrialRecorder(records, threads=args.threads, seed=args.seed)], **optim)


def run_experiment(exp, args, notes):
    """Runs an NNI experiment on a free port; always stops it and kills leftovers."""
    port = free_port()
    exp.config.experiment_working_directory = os.path.join(args.workdir, "nni-experiments")
    exp.config.max_trial_number = args.max_trials
    exp.config.trial_concurrency = 1
    notes.append(f"NNI manager on port {port}")
    try:
        exp.run(port=port)
    finally:
        try:
            exp.stop()
        finally:
            kill_leftovers(notes)
    return os.path.join(exp.config.experiment_working_directory, exp.id, "db", "nni.sqlite")


def kill_leftovers(notes):
    """Kills processes (NNI manager, trials) that carry this run's marker and are not us."""
    import psutil

    token = os.environ.get("KERASNAS_COMPARE_TOKEN")
    if not token:
        return
    me = psutil.Process()
    spare = {me.pid, *(a.pid for a in me.parents())}
    for p in psutil.process_iter():
        try:
            if p.pid not in spare and p.environ().get("KERASNAS_COMPARE_TOKEN") == token:
                notes.append(f"killed leftover {p.name()} (pid {p.pid})")
                p.send_signal(signal.SIGKILL)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def trial_events(db_path):
    """(trial id -> last status, first RUNNING time in s) from the NNI sqlite file."""
    if not os.path.exists(db_path):
        return {}
    with sqlite3.connect(db_path) as con:
        rows = con.execute("SELECT trialJobId, event, timestamp FROM TrialJobEvent "
                           "ORDER BY timestamp").fetchall()
    out = {}
    for trial, event, stamp in rows:
        out.setdefault(trial, {})["status"] = event
        if event == "RUNNING":
            out[trial].setdefault("running", stamp / 1000)
    return out


def rows_from_records(records_dir, db_path, started, notes):
    records = {}
    for path in glob.glob(os.path.join(records_dir, "*.json")):
        with open(path) as f:
            rec = json.load(f)
        records[rec["trial"]] = rec
    events = trial_events(db_path)
    rows = []
    for trial in sorted(set(records) | set(events), key=lambda t: events.get(t, {}).get("running", 0)):
        rec, ev = records.get(trial, {}), events.get(trial, {})
        ok = ev.get("status", "SUCCEEDED") == "SUCCEEDED" and rec.get("val_accuracy") is not None
        if not ok:
            notes.append(f"trial {trial}: NNI status {ev.get('status')}")
        rows.append(_common.trial_row(
            trial, rec.get("val_accuracy"), rec.get("seconds"),
            rec["end"] - started if "end" in rec else None, "COMPLETED" if ok else "FAILED",
            sample=rec.get("sample")))
    return rows, records


def test_nas_model(space_obj, records, records_dir, data_path, batch_size):
    """Loads the best trial's saved weights into its architecture; one pass on the test set."""
    import torch

    from benchmarks.comparison.frameworks.nni_spaces import NpzImages

    done = [r for r in records.values() if r.get("val_accuracy") is not None]
    if not done:
        return None, None
    best = max(done, key=lambda r: r["val_accuracy"])
    model = space_obj.freeze(best["sample"])
    model.load_state_dict(torch.load(os.path.join(records_dir, f"{best['trial']}.pt")))
    model.eval()
    test = NpzImages(data_path, "test")
    with torch.no_grad():
        correct = sum(int((model(x).argmax(1) == y).sum())
                      for x, y in torch.utils.data.DataLoader(test, batch_size=batch_size))
    return correct / len(test), best


def run_nas(args, space, notes):
    from nni.nas.experiment import NasExperiment
    from nni.nas.strategy import RegularizedEvolution

    records = os.path.join(args.workdir, "trials")
    population, sample = args.population, args.sample
    if args.variant == "swap-strategy":
        strategy = swap_strategy(args)
        notes.append("flexibility change swap-strategy: NNI's Random strategy")
    else:
        strategy = RegularizedEvolution(population_size=population, sample_size=sample, seed=args.seed)
        notes.append(f"RegularizedEvolution population {population}, sample {sample} (NNI default "
                     f"100/25: with {args.max_trials} trials that is pure random search)")
    if args.variant in ("add-op", "skeleton"):
        notes.append(f"flexibility change {args.variant}")
    space_obj = nas_space(space, args.scale, args.variant)
    exp = NasExperiment(space_obj, nas_evaluator(args, space, records), strategy)
    db = run_experiment(exp, args, notes)
    rows, recs = rows_from_records(records, db, args.started, notes)
    test_accuracy, best = test_nas_model(space_obj, recs, records, args.data, args.batch_size)
    notes.append("test: the best trial's trained weights (saved by a Lightning callback: NNI keeps "
                 "none) loaded into its architecture, evaluated once")
    notes.append("trials seeded by that callback (seed + trial number, weights re-initialised at "
                 "fit start): NNI does not seed a trial's model")
    return rows, test_accuracy, {"best_architecture": best and best.get("sample")}


def run_hpo(args, space, notes):
    from nni.experiment import Experiment

    from benchmarks.comparison.frameworks import nni_hpo_trial

    records = os.path.join(args.workdir, "trials")
    exp = Experiment("local")
    exp.config.search_space = nni_hpo_trial.nni_search_space(space, args.scale)
    # NNI runs each trial as this shell command, in the trial code directory: the trial module
    # of this repository, which the command puts first on PYTHONPATH.
    exp.config.trial_command = shlex.join(["env", "PYTHONPATH=" + child_env()["PYTHONPATH"], *module_command(
        "benchmarks.comparison.frameworks.nni_hpo_trial", "--data", args.data, "--space", space,
        "--scale", args.scale, "--epochs", args.epochs, "--batch-size", args.batch_size,
        "--seed", args.seed, "--threads", args.threads, "--records", records)])
    exp.config.trial_code_directory = ROOT
    exp.config.tuner.name = "Evolution"
    exp.config.tuner.class_args = {"optimize_mode": "maximize", "population_size": args.population}
    notes.append(f"HPO Evolution tuner, population {args.population} (NNI default 32: random "
                 f"search at {args.max_trials} trials); each trial imports TensorFlow afresh")
    db = run_experiment(exp, args, notes)
    rows, recs = rows_from_records(records, db, args.started, notes)
    test_accuracy, best = nni_hpo_trial.test_best(recs, records, args.data, args.batch_size)
    notes.append("test: the best trial's saved Keras model, evaluated once")
    return rows, test_accuracy, {"best_architecture": best and best.get("sample")}


def run(args, arrays, started):
    import_nni(args.workdir)
    args.started = started
    space, strategy = EXPERIMENTS[args.experiment]
    if args.population is None:
        from kerasnas.oracles import evolution_sizes

        args.population, args.sample = evolution_sizes(args.max_trials)
    notes = []
    runner = run_hpo if args.experiment.startswith("hpo-") else run_nas
    rows, test_accuracy, extra = runner(args, space, notes)
    return _common.make_result(args, framework=FRAMEWORK, space=space, strategy=strategy,
                               trials=rows, test_accuracy=test_accuracy,
                               wall_seconds=time.time() - started, notes=notes, **extra)


def salvage(args, started):
    """The trials an interrupted experiment recorded before it was stopped."""
    return rows_from_records(os.path.join(args.workdir, "trials"), "", started, [])[0]


if __name__ == "__main__":
    sys.exit(_common.main(run, EXPERIMENTS, FRAMEWORK, salvage=salvage))
