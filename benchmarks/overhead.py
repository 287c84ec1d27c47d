"""What a kerasnas search costs over plain `model.fit`, for the same architecture.

Each measurement runs in a fresh process (so neither side profits from the
other's warm-up), alternating plain / kerasnas, `--repeats` times. Both sides
do the same work a user waits for: build, train on the same tf.data pipeline,
evaluate on the test set, save the model. The kerasnas side is a 1-trial
`search()` with every knob of the ResNet space pinned.

    python -m benchmarks.overhead --train-size 10000 --epochs 2 --repeats 3
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

from benchmarks.launch import ROOT, child_env, command_text, module_command

PINNED = dict(stem_width=16, stages=2, blocks_per_stage=1, block_type="basic", kernel_size=3,
              dropout=0.0, optimizer="adam", learning_rate=1e-3)


def measure(mode, train_size, val_size, epochs, batch_size, workdir):
    """One side, in this process; returns seconds from build to saved model."""
    import keras

    from kerasnas.datasets import make_splits, to_dataset
    from kerasnas.progress import Reporter
    from kerasnas.search import search
    from kerasnas.spaces import ResNetSpace

    data = make_splits(train_size=train_size, val_size=val_size, seed=0)
    start = time.time()
    if mode == "plain":
        keras.utils.set_random_seed(0)
        model = ResNetSpace(**PINNED).build(__import__("keras_tuner").HyperParameters())
        train = to_dataset(data.x_train, data.y_train, batch_size=batch_size, shuffle=True)
        val = to_dataset(data.x_val, data.y_val, batch_size=batch_size)
        model.fit(train, validation_data=val, epochs=epochs, verbose=0, shuffle=False)
        model.evaluate(to_dataset(data.x_test, data.y_test, batch_size=batch_size), verbose=0)
        model.save(os.path.join(workdir, "plain.keras"))
    else:
        search(ResNetSpace(**PINNED), "random", data, max_trials=1, epochs=epochs,
               batch_size=batch_size, directory=os.path.join(workdir, "run"), reporter=Reporter())
    return time.time() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-size", type=int, default=10000)
    p.add_argument("--val-size", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=os.path.join(ROOT, "reports", "overhead.md"))
    p.add_argument("--child", choices=("plain", "kerasnas"), help=argparse.SUPPRESS)
    args = p.parse_args()
    sizes = (args.train_size, args.val_size, args.epochs, args.batch_size)
    if args.child:
        with tempfile.TemporaryDirectory() as d:
            print(json.dumps({"seconds": measure(args.child, *sizes, d)}))
        return
    times = {"plain": [], "kerasnas": []}
    for _ in range(args.repeats):
        for mode in times:
            cmd = module_command("benchmarks.overhead", "--child", mode, "--train-size", args.train_size,
                                 "--val-size", args.val_size, "--epochs", args.epochs,
                                 "--batch-size", args.batch_size)
            out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                 env=child_env(TF_CPP_MIN_LOG_LEVEL="2"))
            times[mode].append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
            print(mode, f"{times[mode][-1]:.1f} s", flush=True)
    plain, nas = statistics.median(times["plain"]), statistics.median(times["kerasnas"])
    ratio = nas / plain
    from kerasnas.provenance import machine, versions

    verdict = "meets" if ratio <= 1.05 else "MISSES"
    command = command_text("benchmarks.overhead", [
        "--train-size", args.train_size, "--val-size", args.val_size, "--epochs", args.epochs,
        "--batch-size", args.batch_size, "--repeats", args.repeats])
    text = f"""# Overhead of a kerasnas search over plain `model.fit`

Command: `{command}`
Machine: {machine()}
Date: {time.strftime('%Y-%m-%d %H:%M %Z')}
Versions: {versions()}

Same pinned ResNet ({PINNED}), same tf.data pipeline, same seed; each run in a fresh
process, alternating; seconds from build to saved model (test evaluation included on both sides).

| side | runs (s) | median (s) |
|---|---|---|
| plain model.fit | {', '.join(f'{t:.1f}' for t in times['plain'])} | {plain:.1f} |
| kerasnas 1-trial search | {', '.join(f'{t:.1f}' for t in times['kerasnas'])} | {nas:.1f} |

**Ratio kerasnas / plain: {ratio:.3f}** (goal <= 1.05: {verdict} it).
"""
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
