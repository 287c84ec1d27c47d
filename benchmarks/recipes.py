"""Why short trials lose to a plain CNN: training recipes measured at a search's budget.

One fixed ResNet of the `resnet` space (basic blocks, stem width 32, 2 stages x 1 block, kernel 3,
Adam) trained for 1 epoch on a stratified 5k / 2k split of Fashion-MNIST, beside the plain
2-conv CNN of the comparison harness, under each recipe: batch size, learning rate, per-trial
schedule (`kerasnas.schedules.WarmupCosine`), block type, max-pooling after the stem, precision.
Seeds 0..n-1 (split fixed, weights and order per seed); mean +- std of the validation accuracy.

Run: TF_NUM_INTRAOP_THREADS=2 .venv/bin/python -m benchmarks.recipes --seeds 3
Writes reports/recipes.md.
"""

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone

import numpy as np

from benchmarks.launch import command_text

# name: (model, batch size, Adam peak rate, schedule, precision)
RECIPES = {
    "plain CNN, b128, 1e-3 constant": ("plain", 128, 1e-3, "constant", "float32"),
    "plain CNN, b32, 1e-3 constant": ("plain", 32, 1e-3, "constant", "float32"),
    "ResNet, b128, 1e-3 constant (kerasnas before)": ("resnet", 128, 1e-3, "constant", "float32"),
    "ResNet bottleneck, b128, 1e-3 constant": ("bottleneck", 128, 1e-3, "constant", "float32"),
    "ResNet, b128, 3e-3 constant": ("resnet", 128, 3e-3, "constant", "float32"),
    "ResNet, b128, 3e-3 cosine": ("resnet", 128, 3e-3, "cosine", "float32"),
    "ResNet, b32, 1e-3 constant": ("resnet", 32, 1e-3, "constant", "float32"),
    "ResNet, b32, 3e-3 cosine": ("resnet", 32, 3e-3, "cosine", "float32"),
    "ResNet + stem pool, b32, 1e-4 cosine": ("pooled", 32, 1e-4, "cosine", "float32"),
    "ResNet + stem pool, b32, 5e-4 cosine": ("pooled", 32, 5e-4, "cosine", "float32"),
    "ResNet + stem pool, b32, 3e-3 cosine (kerasnas now)": ("pooled", 32, 3e-3, "cosine", "float32"),
    "ResNet + stem pool, b32, 3e-3 cosine, mixed_bfloat16": ("pooled", 32, 3e-3, "cosine",
                                                             "mixed_bfloat16"),
}


def build(kind, data, rate):
    import keras
    import keras_tuner
    from keras import layers

    from benchmarks.comparison.frameworks.baseline_runner import plain_cnn
    from kerasnas.spaces import ResNetSpace

    if kind == "plain":
        inputs = keras.Input(data.input_shape)
        x = layers.Normalization(mean=data.mean, variance=data.variance)(inputs)
        model = keras.Model(inputs, plain_cnn()(x))
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
    space = ResNetSpace(stem_width=32, stages=2, blocks_per_stage=1, kernel_size=3, dropout=0.0,
                        optimizer="adam", learning_rate=rate, stem_pool=kind == "pooled",
                        block_type="bottleneck" if kind == "bottleneck" else "basic")
    space.for_data(input_shape=data.input_shape, num_classes=data.num_classes, mean=data.mean,
                   variance=data.variance)
    return space.build(keras_tuner.HyperParameters())


def run(recipe, data, seed):
    import keras

    from kerasnas.schedules import make_schedule

    kind, batch, rate, schedule, precision = RECIPES[recipe]
    keras.config.set_dtype_policy(precision)
    try:
        keras.utils.set_random_seed(seed)
        model = build(kind, data, rate)
        callback = make_schedule(schedule)
        start = time.time()
        history = model.fit(data.dataset("train", batch_size=batch, shuffle=True, seed=seed),
                            validation_data=data.dataset("val", batch_size=256), epochs=1,
                            verbose=0, shuffle=False,  # the dataset shuffles itself
                            callbacks=[callback] if callback else [])
        return history.history["val_accuracy"][-1], time.time() - start, model.count_params()
    finally:
        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--out", default="reports/recipes.md")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kerasnas.datasets import make_splits

    data = make_splits("fashion_mnist", train_size=args.train_size, val_size=args.val_size, seed=0)
    rows = []
    for recipe in RECIPES:
        results = [run(recipe, data, seed) for seed in range(args.seeds)]
        acc = np.array([r[0] for r in results])
        secs = np.array([r[1] for r in results])
        rows.append(f"| {recipe} | {results[0][2]:,} | {acc.mean():.4f} ± {acc.std():.4f} | "
                    f"{secs.mean():.1f} |")
        print(rows[-1], flush=True)
    write(args, rows)


def write(args, rows):
    import keras
    import tensorflow as tf

    text = f"""# Training recipes for short trials

{__doc__.split(chr(10), 2)[2].split("Run:")[0].strip()}

{args.train_size} training / {args.val_size} validation images, 1 epoch, {args.seeds} seeds.

| recipe | parameters | validation accuracy (mean ± std) | seconds per epoch (mean) |
|---|---|---|---|
{chr(10).join(rows)}

- Command: `{command_text('benchmarks.recipes', sys.argv[1:])}` (TF_NUM_INTRAOP_THREADS={os.environ.get("TF_NUM_INTRAOP_THREADS", "unset")})
- Machine: {platform.platform()}, {os.cpu_count()} CPUs (shared with other work: seconds are indicative)
- Date: {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
- Versions: tensorflow {tf.__version__}, keras {keras.__version__}, numpy {np.__version__}
"""
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
