"""Each space's fixed architecture on each Keras backend: seconds per epoch, accuracy, search overhead.

Every backend runs in its own process (Keras picks its backend once, at import)
on the same data, seed and thread count. Per space: the space's default
architecture (its default hyperparameter values, small knobs pinned) trained 3
epochs with a constant learning rate; the seconds of each epoch (the first
includes tracing / compiling) and the validation accuracy after epochs 1 and 3.
Then a tiny search (random oracle, `--trials` x 1 epoch) on that space: its
overhead per trial is (wall time - training time) / trials (it includes testing the
best model once on `--val-size` test images).

    python -m benchmarks.backends --train-size 5000 --val-size 1000 --out reports/backends.md
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from benchmarks.launch import child_env, command_text, module_command

BACKENDS = ("tensorflow", "jax", "torch")
SPACES = {"resnet": {"stem_width": 16}, "nasbench201": {"channels": 8, "cells_per_stage": 1},
          "custom": {"stem_width": 16}}


def epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Seconds of each epoch (training and validation)."""

        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.began)

    return EpochTimer()


def measure(backend, *, train_size, val_size, epochs, trials, batch_size, threads):
    """One backend, in this process (before Keras is imported); returns a dict per space."""
    from kerasnas.backends import select

    select(backend)
    import keras
    import keras_tuner

    from kerasnas.datasets import make_splits
    from kerasnas.progress import Reporter
    from kerasnas.search import search
    from kerasnas.settings import SearchSettings
    from kerasnas.spaces import get_space

    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    data = make_splits(train_size=train_size, val_size=val_size, seed=0)
    # The search tests its best model once: on a slice, as torch's CPU inference is slow here.
    data.x_test, data.y_test = data.x_test[:val_size], data.y_test[:val_size]
    out = {}
    for space, options in SPACES.items():
        hypermodel = get_space(space, **options)
        hypermodel.for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                            mean=data.mean, variance=data.variance)
        keras.utils.set_random_seed(0)
        model = hypermodel.build(keras_tuner.HyperParameters())
        timer = epoch_timer()
        history = model.fit(data.dataset("train", batch_size=batch_size, shuffle=True, seed=0),
                            validation_data=data.dataset("val", batch_size=batch_size),
                            epochs=epochs, verbose=0, callbacks=[timer], shuffle=False)
        acc = history.history["val_accuracy"]
        with tempfile.TemporaryDirectory() as d:
            started = time.perf_counter()
            result = search(space, "random", data, SearchSettings(
                max_trials=trials, epochs=1, batch_size=batch_size, backend=backend,
                space_options=options), directory=d, reporter=Reporter())
            wall = time.perf_counter() - started
        trained = float(result.trials.train_seconds.sum())
        out[space] = {"params": model.count_params(), "epoch_seconds": timer.seconds,
                      "val_acc_1": acc[0], "val_acc_last": acc[-1],
                      "search_overhead_per_trial": (wall - trained) / trials,
                      "search_seconds": wall}
    return out


def versions():
    from kerasnas.provenance import versions as kerasnas_versions

    return kerasnas_versions()


def report(results, args, command):
    lines = ["# Keras backends: speed and accuracy of each space's fixed architecture", "",
             f"Command: `{command}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; load "
             f"average at the start: {args.load}. Date: "
             f"{time.strftime('%Y-%m-%d %H:%M %Z')}. Versions: {json.dumps(versions())}.", "",
             f"Data: Fashion-MNIST, {args.train_size} training / {args.val_size} validation images "
             f"(stratified, seed 0), batch {args.batch_size}, {args.threads} threads, seed 0, "
             "constant learning rate (the space's default optimizer). Each backend in its own "
             "process; one backend at a time.", "",
             f"| space | backend | params | epoch 1 s (compiles) | later epochs s | val acc "
             f"1 ep | val acc {args.epochs} ep | search overhead s/trial |",
             "|---|---|---|---|---|---|---|---|"]
    for space in SPACES:
        for backend in BACKENDS:
            r = results.get(backend, {}).get(space)
            if r is None:
                lines.append(f"| {space} | {backend} | failed: see the log |||||")
                continue
            later = r["epoch_seconds"][1:]
            mean_later = sum(later) / len(later) if later else float("nan")
            lines.append(f"| {space} | {backend} | {r['params']:,} | {r['epoch_seconds'][0]:.1f} | "
                         f"{mean_later:.1f} | {r['val_acc_1']:.4f} | {r['val_acc_last']:.4f} | "
                         f"{r['search_overhead_per_trial']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-size", type=int, default=5000)
    p.add_argument("--val-size", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--trials", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--out", default=None, help="write the markdown report here")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this backend, print JSON
    args = p.parse_args(argv)
    sizes = dict(train_size=args.train_size, val_size=args.val_size, epochs=args.epochs,
                 trials=args.trials, batch_size=args.batch_size, threads=args.threads)
    if args.one:
        print("RESULT " + json.dumps(measure(args.one, **sizes)))
        return 0
    args.load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results = {}
    for backend in args.backends.split(","):
        # Threads: TensorFlow's pool and torch's (set in measure) to --threads; XLA has no
        # such flag and uses every core (keep --threads at the core count for a fair table).
        env = child_env(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2",
                        TF_NUM_INTRAOP_THREADS=str(args.threads))
        flags = [x for k, v in sizes.items() for x in (f"--{k.replace('_', '-')}", v)]
        r = subprocess.run(module_command("benchmarks.backends", "--one", backend, *flags), env=env,
                           capture_output=True, text=True)
        line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
        if r.returncode or not line:
            print(f"{backend} failed:\n{r.stderr[-3000:]}", file=sys.stderr)
            continue
        results[backend] = json.loads(line[-1][len("RESULT "):])
        print(backend, json.dumps(results[backend]), flush=True)
    command = command_text("benchmarks.backends", argv if argv is not None else sys.argv[1:])
    text = report(results, args, command)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
