"""kerasnas in the comparison: the study's three experiments (and TPE) through `kerasnas.search`.

The spaces are the library's own: what a user writes to express one is the
`SPACE_OPTIONS` entry below (counted by the report as this harness' lines).
"""

import os
import sys
import time

from benchmarks.comparison.frameworks import _common

FRAMEWORK = "kerasnas"
# experiment -> (space, oracle)
EXPERIMENTS = {
    "custom-evolution": ("custom", "evolution"),
    "nasbench201-evolution": ("nasbench201", "evolution"),
    "resnet-bayes": ("resnet", "bayes"),
    "resnet-tpe": ("resnet", "tpe"),
}


def space_options(space, scale):
    """Knob values of each space: the study's sizes, or tiny models for the smoke preset.

    The custom space trains with Adam at 1e-3 as NNI's Classification evaluator
    does, so both frameworks search the same space (cell and macro knobs).
    """
    options = _common.pinned(space, scale)
    if space == "custom":
        options.update(optimizer="adam", learning_rate=1e-3)
    return options


def run(args, arrays, started):
    import kerasnas
    from kerasnas.datasets import Splits
    from kerasnas.progress import ConsoleReporter

    space, oracle = EXPERIMENTS[args.experiment]
    data = Splits.load_npz(args.data)
    notes = []
    options = space_options(space, args.scale)
    if args.variant:
        oracle, options = VARIANTS[args.variant](oracle, options)
        notes.append(f"flexibility change {args.variant}: oracle {oracle}, space options "
                     f"{ {k: v for k, v in options.items() if k != 'operations'} }"
                     + (f", operations {sorted(options['operations'])}" if "operations" in options else ""))
    options = _known_options(space, options, notes)
    sizes = {"population_size": args.population, "sample_size": args.sample}
    oracle_options = {k: v for k, v in sizes.items() if v} if oracle == "evolution" else {}
    offset = time.time() - started  # kerasnas' end_seconds count from the search start
    result = kerasnas.search(space, oracle, data, max_trials=args.max_trials, epochs=args.epochs,
                             batch_size=args.batch_size, directory=os.path.join(args.workdir, "search"),
                             seed=args.seed, overwrite=True, space_options=options,
                             oracle_options=oracle_options,
                             reporter=ConsoleReporter(lambda line: print(line, flush=True)))
    wall = time.time() - started
    table = result.trials
    trials = rows(table, offset)
    cell = os.path.join(result.directory, "best_cell.png")
    return _common.make_result(
        args, framework=FRAMEWORK, space=space, strategy=oracle, trials=trials,
        test_accuracy=result.test_accuracy, wall_seconds=wall, notes=notes,
        best_architecture=result.summary.get("best_architecture"),
        best_cell_png=cell if os.path.exists(cell) else None,
        space_options={k: v for k, v in options.items() if k != "operations"}, test_protocol="best trial's trained model, evaluated once")


def factorised_7x1_1x7(x, channels):
    """NASNet's factorised 7x7: ReLU, 1x7 then 7x1 convolution, BN (a kerasnas op builder)."""
    from keras import layers

    x = layers.ReLU()(x)
    x = layers.Conv2D(channels, (1, 7), padding="same", use_bias=False)(x)
    x = layers.Conv2D(channels, (7, 1), padding="same", use_bias=False)(x)
    return layers.BatchNormalization()(x)


def add_op(oracle, options):
    """Flexibility change 1: the custom cell space gets one more operation."""
    from kerasnas.spaces import CELL_OPS

    return oracle, {**options, "operations": {**CELL_OPS, "fac_conv_7x1_1x7": factorised_7x1_1x7}}


def swap_strategy(oracle, options):
    """Flexibility change 2: another registered oracle."""
    return "tpe", options


def skeleton(oracle, options):
    """Flexibility change 3: two cells a stage instead of one."""
    return oracle, {**options, "cells_per_stage": 2}


VARIANTS = {"add-op": add_op, "swap-strategy": swap_strategy, "skeleton": skeleton}


def rows(table, offset):
    return [_common.trial_row(r.trial_id, r.val_accuracy, r.train_seconds,
                              None if r.end_seconds != r.end_seconds or r.end_seconds is None
                              else r.end_seconds + offset, r.status, phase=r.phase, arch=r.arch)
            for r in table.itertuples()]


def salvage(args, started):
    """The trials of an interrupted search, read from the KerasTuner project's trial files."""
    import glob
    import json

    out = []
    for path in sorted(glob.glob(os.path.join(args.workdir, "search", "*", "trial_*", "trial.json"))):
        with open(path) as f:
            trial = json.load(f)
        last = {k: m["observations"][-1]["value"][0]
                for k, m in trial["metrics"]["metrics"].items() if m["observations"]}
        ended = last.get("ended_at")
        status = "INTERRUPTED" if trial["status"] == "RUNNING" else trial["status"]
        out.append(_common.trial_row(trial["trial_id"], last.get("val_accuracy"),
                                     last.get("train_seconds"), ended - started if ended else None,
                                     status))
    return out


def _known_options(space, options, notes):
    """Drops knobs the installed space does not have (noted), so a renamed knob is visible."""
    import inspect

    from kerasnas.spaces import SPACES

    accepted = inspect.signature(SPACES[space].__init__).parameters
    unknown = [k for k in options if k not in accepted]
    if unknown:
        notes.append(f"{space} has no knob(s) {unknown}: left at their defaults")
    return {k: v for k, v in options.items() if k in accepted}


if __name__ == "__main__":
    sys.exit(_common.main(run, EXPERIMENTS, FRAMEWORK, salvage=salvage))
