"""The final training of a found architecture: from scratch, on all training images.

The search scores architectures after a short training on part of the
training set; the architecture it picks is then trained once with the
standard Fashion-MNIST/CIFAR recipe (random translation by zero-padding 2
pixels and cropping back, horizontal flips, cosine learning-rate decay) on
the train and validation images together, and evaluated once on the test set.
Random erasing (Zhong et al., AAAI 2020) is optional (`erase`); a recipe change
like it is chosen with `holdout=True` (train on the train split, score on the
validation split), never on the test set. The augmentation lives in the tf.data
pipeline, not in the model, so the exported model takes the same raw images as
`best_model.keras`.
"""

import numbers
import time

import keras
import keras_tuner
import numpy as np

from kerasnas import keras_tuner_internals as internals
from kerasnas.datasets import with_channels
from kerasnas.precision import dtype_policy

PAD = 2  # pixels of padding before the random crop back to the image size
# Random erasing's rectangle (Zhong et al. 2020, their defaults): area 2-40 % of the image,
# aspect ratio h/w from 0.3 to 1/0.3.
ERASE_AREA = (0.02, 0.4)
ERASE_ASPECT = 0.3


def augmented_dataset(x, y, *, batch_size, seed=0, pad=PAD, flip=True, erase=0.0):
    """A shuffled, augmented tf.data pipeline of raw images (float32).

    Each epoch every image is padded by `pad` pixels of background (black,
    0), cropped back to its size at a random offset and,
    if `flip`, mirrored left-right with probability 1/2; then, with probability
    `erase`, one random rectangle of it is replaced by random values (random
    erasing). Stateless ops seeded from `seed`, so the epochs are reproducible
    (and differ from each other).

    Args:
        x: uint8 images (n, height, width[, channels]), or a shuffled
            `tf.data.Dataset` of (float32 image, label) (then `y` is None).
        y: Integer labels (n,), or None.
        batch_size: Batch size.
        seed: Seed of the shuffle and the augmentation.
        pad: Padding in pixels (0: no translation).
        flip: Whether to flip horizontally.
        erase: Probability of random erasing per image (0: none; the paper uses 0.5).

    Raises:
        ValueError: for a negative `pad`, a `batch_size` < 1 or an `erase`
            outside [0, 1].
    """
    import tensorflow as tf

    if not isinstance(pad, int) or pad < 0:
        raise ValueError(f"`pad` must be an int >= 0; got {pad!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be an int >= 1; got {batch_size!r}.")
    if isinstance(erase, bool) or not isinstance(erase, numbers.Real) or not 0 <= float(erase) <= 1:
        raise ValueError(f"`erase` must be a probability in [0, 1]; got {erase!r}.")
    ds = x
    if y is not None:
        ds = tf.data.Dataset.from_tensor_slices((with_channels(x), y.astype("int32")))
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(lambda a, b: (tf.cast(a, tf.float32), b))
    shape = ds.element_spec[0].shape

    def augment(pair, seeds):
        image, label = pair
        seeds = tf.reshape(seeds, (2, 2))
        padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], constant_values=0.0)
        image = tf.image.stateless_random_crop(padded, shape, seed=seeds[0])
        if flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=seeds[1])
        if erase:
            # Its own seeds split off the crop's: erasing on or off leaves crops and flips as they were.
            image = _random_erasing(tf, image, seeds[0], erase)
        return image, label

    # Two stateless seeds per image, new ones each epoch, the same for the same `seed`.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4)
    ds = tf.data.Dataset.zip(ds, seeds).map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _random_erasing(tf, image, seed, probability):
    """`image` with, with `probability`, one rectangle set to uniform random values.

    Deviations from Zhong et al. (who redraw until a rectangle fits and fill with
    values in [0, 255]): a rectangle larger than the image is clipped to it (one
    draw, so the pipeline stays a fixed graph), and the values are drawn between
    the image's own minimum and maximum, so any pixel scale works.
    """
    h, w = image.shape[0], image.shape[1]
    box_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=3)[1:])
    u = tf.random.stateless_uniform((5,), seed=box_seed)
    area = h * w * (ERASE_AREA[0] + (ERASE_AREA[1] - ERASE_AREA[0]) * u[0])
    log_r = tf.math.log(ERASE_ASPECT)
    aspect = tf.exp(log_r + (-2.0 * log_r) * u[1])  # log-uniform, as torchvision's RandomErasing
    eh = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area * aspect)), tf.int32), 1, h)
    ew = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area / aspect)), tf.int32), 1, w)
    top = tf.minimum(tf.cast(u[2] * tf.cast(h - eh + 1, tf.float32), tf.int32), h - eh)
    left = tf.minimum(tf.cast(u[3] * tf.cast(w - ew + 1, tf.float32), tf.int32), w - ew)
    rows, cols = tf.range(h)[:, None, None], tf.range(w)[None, :, None]
    inside = (rows >= top) & (rows < top + eh) & (cols >= left) & (cols < left + ew)
    inside &= u[4] < probability
    low, high = tf.reduce_min(image), tf.reduce_max(image)
    noise = low + (high - low) * tf.random.stateless_uniform(tf.shape(image), seed=noise_seed)
    return tf.where(inside, noise, image)


def retrain(hypermodel, values, data, *, epochs, batch_size=128, seed=0, strategy=None,
            precision="float32", backup_dir=None, erase=0.0, holdout=False, log=print):
    """Trains the architecture in `values` from scratch on all training images.

    Args:
        hypermodel: The search's `keras_tuner.HyperModel` (a space).
        values: The trial's hyperparameter values (e.g. summary["best_values"]).
        data: A `kerasnas.datasets.Splits` or `StreamedSplits`: trains on
            train + validation, tests on test.
        epochs: Training epochs.
        batch_size: Global batch size.
        seed: Seed of the weights, the shuffle and the augmentation.
        strategy: None (default strategy), a `tf.distribute.Strategy` or a
            name for `kerasnas.strategy.make_strategy`.
        precision: Keras dtype policy of the model (`kerasnas.precision`).
        backup_dir: If set, the model, optimizer and epoch are saved there after
            every epoch (`keras.callbacks.BackupAndRestore`), and a later call with
            the same folder resumes an interrupted training at the epoch after the
            last one saved (its data order then restarts; the schedule does not);
            the folder is deleted when training ends.
        erase: Probability of random erasing per image (`augmented_dataset`).
        holdout: If True, trains on the train split only and scores on the
            validation split instead of the test set: for choosing a recipe
            (epochs, `erase`) without looking at the test images.
        log: Function receiving progress lines (None: silent).

    Returns:
        (model, accuracy, history): the trained Keras model, its accuracy on
        the test set (or the validation split, with `holdout`; evaluated once)
        and `History.history`.

    Raises:
        ValueError: for `epochs` or `batch_size` < 1.
    """
    from kerasnas.spaces import DataAware
    from kerasnas.strategy import make_strategy

    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be an int >= 1; got {value!r}.")
    log = log or (lambda line: None)
    if isinstance(hypermodel, DataAware):  # the model's shape, classes and normalisation: this data's
        hypermodel.for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                            mean=data.mean, variance=data.variance)
    dist = make_strategy(strategy) if isinstance(strategy, str) else strategy
    parts, scored_on = (("train",), "val") if holdout else (("train", "val"), "test")
    y = np.concatenate([getattr(data, f"y_{part}") for part in parts])
    train = augmented_dataset(data.elements(*parts, shuffle=True, seed=seed), None,
                              batch_size=batch_size, seed=seed, erase=erase)
    steps = -(-len(y) // batch_size)
    keras.utils.set_random_seed(seed)
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)  # registered hyperparameters take these, not their defaults
    with internals.distribution_scope(dist), dtype_policy(precision):
        model = hypermodel.build(hp)
        # Same optimizer type and settings as the trial, its learning rate decayed to 0.
        # (mixed_float16: the optimizer inside Keras' LossScaleOptimizer; compile wraps it again)
        optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
        config = optimizer.get_config()
        lr = float(config["learning_rate"])
        config["learning_rate"] = keras.optimizers.schedules.CosineDecay(lr, epochs * steps)
        model.compile(optimizer=type(optimizer).from_config(config), loss=model.loss,
                      metrics=["accuracy"])
        log(f"final: {type(optimizer).__name__} lr {lr:.3g} cosine to 0, {epochs} epochs "
            f"on {len(y)} images (pad {PAD} + crop + flip{f' + erasing p={erase:g}' if erase else ''}), "
            f"{model.count_params():,} parameters")
        started = time.time()
        progress = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: log(
            f"final: epoch {epoch + 1}/{epochs} loss {logs['loss']:.4f} acc {logs['accuracy']:.4f} "
            f"{(time.time() - started) / 60:.1f} min"))
        callbacks = [progress]
        if backup_dir:
            callbacks.insert(0, keras.callbacks.BackupAndRestore(backup_dir))
        history = model.fit(train, epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks)
    scored = data.dataset(scored_on, batch_size=batch_size)
    accuracy = float(model.evaluate(scored, verbose=0, return_dict=True)["accuracy"])
    log(f"final: {scored_on} accuracy {accuracy:.4f} ({time.time() - started:.0f} s)")
    return model, accuracy, history.history
