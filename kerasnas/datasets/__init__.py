"""Any image-classification dataset, checked, split for search, fed through tf.data.

`make_splits(dataset, ...)` takes:

- `"fashion_mnist"` (the default): the verified official files (`kerasnas.data`);
- `"tfds:NAME"`: an image-classification dataset of TensorFlow Datasets
  (the `tfds` extra);
- a folder of class subfolders (`keras.utils.image_dataset_from_directory`'s layout);
- an `.npz` with `x`, `y` (optionally `x_test`, `y_test`, `class_names`);
- arrays: `(x, y)`, `(x, y, x_test, y_test)` or a dict with those keys;
- a `tf.data.Dataset` of (image, label), or a pair (train, test) of them.

The search never sees the test split: trials train on a stratified, seeded
part of the training data and are scored on a held-out part of it. A dataset
without a test split gets one held out (stratified, always with seed 0, so
every search on it tests on the same images), recorded in summary.json.

What is held in memory: the images as uint8 arrays, except a folder whose
images would take more than `memory_limit_mb`: then only its file paths and
labels, and images are decoded per batch, every epoch.
"""

import os

import numpy as np

from kerasnas.datasets._checks import DataError, parse_image_size
from kerasnas.datasets._splits import (Splits, StreamedSplits, pixel_stats, stratified_order,
                                       to_dataset)

FASHION_MNIST = "fashion_mnist"
MEMORY_LIMIT_MB = 2048  # a folder whose uint8 images exceed this streams
STATS_IMAGES = 2000  # a streamed folder's normalisation is measured on this many training images

__all__ = ["DataError", "FASHION_MNIST", "Splits", "StreamedSplits", "load", "make_splits",
           "parse_image_size", "stratified_order", "to_dataset"]


def load(dataset=FASHION_MNIST, *, data_dir=None, image_size=None, memory_limit_mb=MEMORY_LIMIT_MB):
    """Loads and checks a dataset (see the module doc for what `dataset` may be).

    Args:
        dataset: The dataset.
        data_dir: Fashion-MNIST's folder of .gz files, or TFDS' data folder.
        image_size: Resize every image to (height, width) (bilinear); None keeps
            their size (images of different sizes are then refused).
        memory_limit_mb: A folder whose images take more streams from disk.

    Returns:
        A `kerasnas.datasets._sources.Loaded`.

    Raises:
        DataError: naming what is wrong with the data.
        ValueError: for a `dataset` of no known kind.
    """
    from kerasnas.datasets import _sources

    image_size = parse_image_size(image_size)
    if dataset is None or (isinstance(dataset, str) and dataset == FASHION_MNIST):
        return _sources.from_fashion_mnist(data_dir, image_size=image_size)
    if isinstance(dataset, (str, os.PathLike)):
        text = os.fspath(dataset)
        if text.startswith("tfds:"):
            from kerasnas.datasets._tfds import from_tfds

            return from_tfds(text[len("tfds:"):], data_dir=data_dir, image_size=image_size)
        if os.path.isdir(text):
            return _sources.from_folder(text, image_size=image_size, memory_limit_mb=memory_limit_mb)
        if os.path.isfile(text):
            if not text.endswith(".npz"):
                raise DataError(f"{text}: a dataset file must be an .npz with x, y "
                                "(optionally x_test, y_test).")
            return _sources.from_npz(text, image_size=image_size)
        raise DataError(f"{text!r} is no dataset: not {FASHION_MNIST}, not tfds:NAME, and no such "
                        "folder or .npz file.")
    if isinstance(dataset, dict):
        return _sources.from_arrays(dataset.get("x"), dataset.get("y"), dataset.get("x_test"),
                                    dataset.get("y_test"), image_size=image_size)
    if _is_tf_data(dataset):
        return _sources.from_tf_data(dataset, image_size=image_size)
    if isinstance(dataset, (tuple, list)) and dataset and all(_is_tf_data(d) for d in dataset):
        return _sources.from_tf_data(*dataset, image_size=image_size)
    if isinstance(dataset, (tuple, list)) and len(dataset) in (2, 4):
        return _sources.from_arrays(*dataset, image_size=image_size)
    raise ValueError(f"`dataset` must be {FASHION_MNIST!r}, 'tfds:NAME', a folder, an .npz, arrays "
                     f"(x, y[, x_test, y_test]) or a tf.data.Dataset; got {type(dataset).__name__}.")


def _is_tf_data(obj):
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "element_spec")


def _size(name, value):
    if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")


def make_splits(dataset=FASHION_MNIST, *, train_size=None, val_size=None, test_size=None, seed=0,
                image_size=None, data_dir=None, memory_limit_mb=MEMORY_LIMIT_MB):
    """Loads `dataset` and splits it into train, validation and test.

    Args:
        dataset: See `load`.
        train_size: Training images for the trials (default: all that are
            neither validation nor held-out test images).
        val_size: Held-out validation images that score the trials (default:
            a sixth of the training data, at least one per class).
        test_size: Images held out for the test when the dataset has no test
            split (default: a sixth of the images); refused when it has one.
        seed: Seed of the train / validation split.
        image_size: See `load`.
        data_dir: See `load`.
        memory_limit_mb: See `load`.

    Returns:
        `Splits` (in memory) or `StreamedSplits` (a folder above the limit).

    Raises:
        ValueError: for bad sizes, or sizes larger than the data.
        DataError: for missing or bad data.
    """
    for name, value in (("train_size", train_size), ("val_size", val_size), ("test_size", test_size)):
        _size(name, value)
    if not isinstance(memory_limit_mb, (int, float)) or memory_limit_mb <= 0:
        raise ValueError(f"`memory_limit_mb` must be > 0; got {memory_limit_mb!r}.")
    loaded = load(dataset, data_dir=data_dir, image_size=image_size, memory_limit_mb=memory_limit_mb)
    return split(loaded, train_size=train_size, val_size=val_size, test_size=test_size, seed=seed)


def split(loaded, *, train_size=None, val_size=None, test_size=None, seed=0):
    """Stratified train / validation (/ held-out test) split of a `Loaded` source.

    Raises:
        ValueError: when the sizes asked for exceed the images there are.
    """
    y, k = loaded.y, loaded.num_classes
    given = loaded.y_test is not None
    if given and test_size:
        raise ValueError(f"{loaded.source} has its own test split; test_size (--test-size) is "
                         "only for data without one.")
    pool = np.arange(len(y))
    test_idx = None
    if not given:
        test_size = test_size or max(k, len(y) // 6)
        order = stratified_order(y, 0)  # seed 0: the same test images whatever the search seed
        test_idx, pool = order[:test_size], order[test_size:]
    val_size = val_size or max(k, len(pool) // 6)
    train_size = train_size or max(len(pool) - val_size, 0)
    wanted = train_size + val_size + (0 if given else test_size)
    if train_size + val_size > len(pool) or train_size < 1:
        parts = "train_size + val_size" + ("" if given else " + test_size")
        raise ValueError(f"{parts} = {wanted} is more than the {len(y)} training images of "
                         f"{loaded.source}; lower --train-size, --val-size"
                         + ("." if given else " or --test-size."))
    order = pool[stratified_order(y[pool], seed)]
    val, train = order[:val_size], order[val_size:val_size + train_size]
    missing = sorted(set(range(k)) - set(np.unique(y[train]).tolist()))
    if missing:
        raise DataError(f"after the split, classes {missing[:10]} have no training image; "
                        "give more images per class or a larger --train-size.")
    how = ("given" if given else
           f"held out: {test_size} images, stratified, seed 0, before the train/validation split")
    common = dict(source=loaded.source, seed=seed, num_classes=k, class_names=loaded.class_names,
                  identity=loaded.identity, test_split=how)
    if loaded.x is not None:
        x_test, y_test = (loaded.x_test, loaded.y_test) if given else (loaded.x[test_idx], y[test_idx])
        return Splits(loaded.x[train], y[train], loaded.x[val], y[val], x_test, y_test, **common)
    # A streamed folder: the normalisation is measured on a stratified sample of the training images.
    from kerasnas.datasets import _folder

    size = loaded.identity.get("image_size")
    sample = train[stratified_order(y[train], seed)[:STATS_IMAGES]]
    mean, variance = pixel_stats(_folder.read_all(loaded.paths[sample], loaded.shape, size))
    return StreamedSplits(loaded.paths[train], y[train], loaded.paths[val], y[val],
                          loaded.paths[test_idx], y[test_idx], shape=loaded.shape, mean=mean,
                          variance=variance, image_size=size, stats_images=len(sample), **common)
