"""The network you would train without a search, set beside the search's results (`--reference`).

A search is worth its compute only if what it returns beats what you would have trained
anyway. `plain-cnn` is this project's baseline: two 3x3 convolutions (32 and 64 filters),
max pooling, dropout and a 128-unit dense layer (Keras' MNIST example), trained with Adam at
1e-3 as every report here trains it. A `.keras` file is your own network: its architecture is
trained afresh (new weights) with the optimizer it was saved with (else the same Adam).

It trains on the run's training split, as many epochs as one trial (a budgeted run: its whole
budget, the compute the search spent), is scored on the validation split and tested once, and
its size and latency are measured as a trial's. summary.json records it as `reference_result`;
report.md sets it beside the returned model and, with several objectives, on the front's plot.
It trains after the search, outside the run's budget (summary.json `budget`); its seconds count
in `wall_seconds`.
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING, Any

import keras
from keras import layers

from kerasnas.footprint import footprint
from kerasnas.layers import normalise

if TYPE_CHECKING:
    from kerasnas.run_folder import Run

__all__ = ["cnn_layers", "plain_cnn", "reference_epochs", "reference_model", "train_reference"]

LEARNING_RATE = 1e-3  # Adam's, the plain CNN's recipe in every report


def cnn_layers(num_classes: int = 10) -> list[layers.Layer]:
    """The plain CNN's layers, after its input: conv 32, conv 64, pool, dropout, dense 128."""
    return [layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(), layers.Dropout(0.25), layers.Flatten(),
            layers.Dense(128, activation="relu"), layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax")]


def plain_cnn(input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10,
              normalization: tuple[list[float], list[float]] | None = None) -> keras.Model:
    """The plain CNN on raw images: normalised as a space's models are
    (`kerasnas.layers.normalise`), then `cnn_layers`."""
    inputs = keras.Input(input_shape)
    x = normalise(inputs, normalization)
    for layer in cnn_layers(num_classes):
        x = layer(x)
    return keras.Model(inputs, x, name="plain_cnn")


def reference_model(name: str, data: Any) -> tuple[keras.Model, str]:
    """The reference `name` ("plain-cnn" or a .keras path) for `data`'s images, compiled, with
    fresh weights, and its label.

    Raises:
        ValueError: for a file Keras cannot load, or a saved model built for other images or
            classes (naming both).
    """
    shape, classes = tuple(data.input_shape), data.num_classes
    if name == "plain-cnn":
        model = plain_cnn(shape, classes, (data.mean, data.variance))
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model, name
    try:
        saved = keras.models.load_model(name)
    except Exception as e:  # a corrupt file, or custom layers Keras cannot find
        raise ValueError(f"Cannot load the reference {name}: {e}. Pass a model saved with "
                         "model.save('FILE.keras') whose layers Keras knows, or --reference "
                         "plain-cnn.") from e
    got = tuple(saved.inputs[0].shape[1:]), int(saved.outputs[0].shape[-1])
    if got != (shape, classes):
        raise ValueError(f"The reference {name} takes {got[0]} images to {got[1]} classes; the "
                         f"data has {shape} images in {classes} classes. Pass a model built for "
                         "this data, or --reference plain-cnn.")
    model = keras.models.clone_model(saved)  # the architecture, fresh weights
    optimizer = (keras.optimizers.deserialize(keras.optimizers.serialize(saved.optimizer))
                 if getattr(saved, "optimizer", None) is not None
                 else keras.optimizers.Adam(LEARNING_RATE))
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, os.path.basename(name)


def reference_epochs(run: Run, budget: dict[str, Any] | None) -> int:
    """One trial's epochs; a budgeted run's whole budget (what it used, whole epochs up)."""
    if budget is None:
        return run.settings.epochs
    return max(1, math.ceil(budget["epochs_used"] - 1e-6))


def train_reference(run: Run, *, epochs: int) -> dict[str, Any]:
    """Trains the run's `settings.reference` and measures it as a trial (see the module).

    Returns:
        summary.json's `reference_result`: name, optimizer, epochs, seconds, validation and test accuracy,
        params, flops and latency_ms (`kerasnas.footprint`).
    """
    if run.settings.reference is None:
        raise ValueError("The run has no `reference` to train (settings.reference is None).")
    keras.utils.set_random_seed(run.settings.seed)
    data, batch_size = run.data, run.settings.batch_size
    model, name = reference_model(run.settings.reference, data)
    run.reporter.on_message(f"reference {name}: {epochs} epochs on {len(data.y_train)} images")
    start = time.time()
    history = model.fit(data.dataset("train", batch_size=batch_size, shuffle=True,
                                     seed=run.settings.seed),
                        validation_data=data.dataset("val", batch_size=batch_size),
                        epochs=epochs, verbose=0)
    seconds = time.time() - start
    test = model.evaluate(data.dataset("test", batch_size=batch_size), verbose=0,
                          return_dict=True)["accuracy"]
    return {"name": name, "optimizer": type(model.optimizer).__name__, "epochs": epochs,
            "seconds": seconds,
            "accuracy": float(history.history["val_accuracy"][-1]), "test_accuracy": float(test),
            **footprint(model, latency=True)}
