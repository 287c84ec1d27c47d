"""A kerasnas space for Ray Tune's own searchers and schedulers: `param_space` and `trainable`."""

from __future__ import annotations

from typing import Any, Callable

from kerasnas.ray._import import import_ray

__all__ = ["param_space", "trainable"]


def _space_hyperparameters(space: Any) -> Any:
    """Every hyperparameter the space declares (a build with the defaults registers them all,
    conditional ones included)."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    space.build(hp)
    return hp


def param_space(space: Any) -> dict[str, Any]:
    """The space's hyperparameters as a Ray Tune `param_space` (for `tune.Tuner`).

    Choice and Boolean -> `tune.choice`; Int -> `tune.randint` / `tune.qrandint` /
    `tune.lograndint`; Float -> `tune.uniform` / `tune.quniform` / `tune.loguniform`
    (`qloguniform` with a step); Fixed -> its value. A conditional hyperparameter is sampled
    too: the space's build reads it only where its condition holds (Ray's samplers have no
    conditions).

    Args:
        space: A kerasnas space (or any KerasTuner HyperModel), ready to build (`for_data`).
    """
    import_ray()
    from keras_tuner.engine import hyperparameters as hp_module
    from ray import tune

    out: dict[str, Any] = {}
    for hp in _space_hyperparameters(space).space:
        if isinstance(hp, hp_module.Fixed):
            out[hp.name] = hp.value
        elif isinstance(hp, hp_module.Boolean):
            out[hp.name] = tune.choice([True, False])
        elif isinstance(hp, hp_module.Choice):
            out[hp.name] = tune.choice(list(hp.values))
        elif isinstance(hp, hp_module.Int):
            log, step = hp.sampling == "log", hp.step or 1
            out[hp.name] = (tune.lograndint(hp.min_value, hp.max_value + 1) if log else
                            tune.qrandint(hp.min_value, hp.max_value, step) if step > 1 else
                            tune.randint(hp.min_value, hp.max_value + 1))
        else:
            log = hp.sampling == "log"
            if hp.step:
                out[hp.name] = (tune.qloguniform if log else tune.quniform)(
                    hp.min_value, hp.max_value, hp.step)
            else:
                out[hp.name] = (tune.loguniform if log else tune.uniform)(hp.min_value,
                                                                          hp.max_value)
    return out


def trainable(space: Any, data: Any, *, epochs: int, batch_size: int = 32,
              seed: int = 0) -> Callable[[dict], None]:
    """A Ray Tune function trainable that trains `space`'s model for the values in its config.

    It reports `val_accuracy`, `val_loss` and `epoch` after every epoch, so Ray's schedulers
    (ASHA, median stopping, ...) can stop it, and `params` with each report. The data goes to
    Ray's object store once (`tune.with_parameters`).

    Args:
        space: A kerasnas space (or any KerasTuner HyperModel), ready to build (`for_data`).
        data: `kerasnas.datasets.Splits` (`make_splits`): train and validation splits.
        epochs: Epochs of each trial.
        batch_size: Batch size.
        seed: Each trial's weights and data order.

    Raises:
        ValueError: for `epochs` < 1.
    """
    import_ray()
    from ray import tune

    if epochs < 1:
        raise ValueError(f"`epochs` must be >= 1; got {epochs!r}.")
    return tune.with_parameters(_train, space=space, data=data, epochs=epochs,
                                batch_size=batch_size, seed=seed)


def _train(config: dict, *, space: Any, data: Any, epochs: int, batch_size: int,
           seed: int) -> None:
    import keras
    from ray import tune

    from kerasnas.methods.speed import build

    keras.utils.set_random_seed(seed)
    model = build(space, config)

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            tune.report({"val_accuracy": float(logs["val_accuracy"]),
                         "val_loss": float(logs["val_loss"]), "epoch": epoch + 1,
                         "params": float(model.count_params())})

    model.fit(data.dataset("train", batch_size=batch_size, shuffle=True, seed=seed),
              validation_data=data.dataset("val", batch_size=batch_size), epochs=epochs,
              verbose=0, callbacks=[Report()], shuffle=False)
