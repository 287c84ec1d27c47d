"""The reference row: one plain CNN, no search, trained as a kerasnas trial is (same epochs)."""

import sys
import time

from benchmarks.comparison.frameworks import _common

FRAMEWORK = "baseline"
EXPERIMENTS = {"plain-cnn": ("plain CNN (fixed)", "none")}


def plain_cnn():
    """Two 3x3 convolutions (32, 64), max pooling, dropout, a 128-unit dense layer
    (`kerasnas.reference.cnn_layers`) on standardised images."""
    import keras

    from kerasnas.reference import cnn_layers

    return keras.Sequential([keras.Input((28, 28, 1)), *cnn_layers(10)], name="plain_cnn")


def train(data, *, epochs, batch_size, seed, parts=("train",)):
    """The plain CNN trained on `data`'s `parts` (Adam 1e-3; see `_common.fit_keras`) and
    tested once: (model, history, start, end, test accuracy)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = plain_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history, start, end = _common.fit_keras(model, data, epochs=epochs, batch_size=batch_size,
                                            seed=seed, parts=parts)
    return model, history, start, end, _common.test_keras(model, data, batch_size)


def run(args, arrays, started):
    from kerasnas.datasets import Splits

    model, history, start, end, test_accuracy = train(
        Splits.load_npz(args.data), epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    trial = _common.trial_row("0", history.history["val_accuracy"][-1], end - start, end - started,
                              "COMPLETED", params=model.count_params())
    return _common.make_result(args, framework=FRAMEWORK, space=EXPERIMENTS[args.experiment][0],
                               strategy="none", trials=[trial], test_accuracy=test_accuracy,
                               wall_seconds=time.time() - started,
                               notes=[f"{model.count_params():,} parameters, Adam 1e-3"])


if __name__ == "__main__":
    sys.exit(_common.main(run, EXPERIMENTS, FRAMEWORK))
