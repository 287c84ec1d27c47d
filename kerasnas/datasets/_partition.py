"""`split(loaded)`: stratified train / validation (/ held-out test) splits; `make_splits` = load + split.

The search never sees the test split: trials train on a stratified, seeded
part of the training data and are scored on a held-out part of it. A dataset
without a test split gets one held out (stratified, always with seed 0, so
every search on it tests on the same images), recorded in summary.json.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerasnas.datasets import _folder
from kerasnas.datasets._checks import DataError
from kerasnas.datasets._load import FASHION_MNIST, MEMORY_LIMIT_MB, load
from kerasnas.datasets._sources import Loaded
from kerasnas.datasets._splits import Splits, StreamedSplits, pixel_stats, stratified_order

STATS_IMAGES = 2000  # a streamed folder's normalisation is measured on this many training images


def _check_sizes(**sizes: int | None) -> None:
    for name, value in sizes.items():
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")


def make_splits(dataset: Any = FASHION_MNIST, *, train_size: int | None = None,
                val_size: int | None = None, test_size: int | None = None, seed: int = 0,
                image_size: int | str | tuple[int, int] | None = None, data_dir: str | None = None,
                memory_limit_mb: float = MEMORY_LIMIT_MB) -> Splits | StreamedSplits:
    """Loads `dataset` and splits it into train, validation and test (`load`, then `split`).

    On Fashion-MNIST the defaults give 50,000 training and 10,000 validation
    images and its own 10,000 test images. Its verified arrays are kept in
    memory per folder (see `load_fashion_mnist`), so further calls in the
    same process split them again without reading the files. To split any
    other source several times without reading it again, `load` it once and
    call `split` per seed or size.

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
    _check_sizes(train_size=train_size, val_size=val_size, test_size=test_size)
    if not isinstance(memory_limit_mb, (int, float)) or memory_limit_mb <= 0:
        raise ValueError(f"`memory_limit_mb` must be > 0; got {memory_limit_mb!r}.")
    loaded = load(dataset, data_dir=data_dir, image_size=image_size, memory_limit_mb=memory_limit_mb)
    return split(loaded, train_size=train_size, val_size=val_size, test_size=test_size, seed=seed)


def split(loaded: Loaded, *, train_size: int | None = None, val_size: int | None = None,
          test_size: int | None = None, seed: int = 0) -> Splits | StreamedSplits:
    """Stratified train / validation (/ held-out test) split of a `Loaded` source (see `load`).

    The sizes and their defaults are `make_splits`'.

    Raises:
        ValueError: for bad sizes, or sizes larger than the images there are.
        DataError: when a class would get no training image.
    """
    _check_sizes(train_size=train_size, val_size=val_size, test_size=test_size)
    y, k = loaded.y, loaded.num_classes
    given = loaded.y_test is not None
    if given and test_size:
        raise ValueError(f"{loaded.source} has its own test split; test_size (--test-size) is "
                         "only for data without one.")
    pool = np.arange(len(y))
    test_idx, held_out = np.arange(0), 0
    if not given:
        held_out = test_size or max(k, len(y) // 6)
        order = stratified_order(y, 0)  # seed 0: the same test images whatever the search seed
        test_idx, pool = order[:held_out], order[held_out:]
    val_size = val_size or max(k, len(pool) // 6)
    train_size = train_size or max(len(pool) - val_size, 0)
    wanted = train_size + val_size + held_out
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
           f"held out: {held_out} images, stratified, seed 0, before the train/validation split")
    common: dict[str, Any] = dict(source=loaded.source, seed=seed, num_classes=k,
                                  class_names=loaded.class_names, identity=loaded.identity,
                                  test_split=how)
    if loaded.x is not None:
        if loaded.x_test is not None and loaded.y_test is not None:  # given
            x_test, y_test = loaded.x_test, loaded.y_test
        else:
            x_test, y_test = loaded.x[test_idx], y[test_idx]
        return Splits(loaded.x[train], y[train], loaded.x[val], y[val], x_test, y_test, **common)
    # A streamed folder: the normalisation is measured on a stratified sample of the training images.
    if loaded.paths is None or loaded.shape is None:
        raise ValueError(f"{loaded.source}: a `Loaded` holds images (`x`) or file paths and their "
                         "`shape`; it has neither.")
    size = loaded.identity.get("image_size")
    sample = train[stratified_order(y[train], seed)[:STATS_IMAGES]]
    mean, variance = pixel_stats(_folder.read_all(loaded.paths[sample], loaded.shape, size))
    return StreamedSplits(loaded.paths[train], y[train], loaded.paths[val], y[val],
                          loaded.paths[test_idx], y[test_idx], shape=loaded.shape, mean=mean,
                          variance=variance, image_size=size, stats_images=len(sample), **common)
