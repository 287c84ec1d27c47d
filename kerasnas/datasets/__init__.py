"""Any image-classification dataset, checked, split for search, fed through tf.data.

`make_splits(dataset, ...)` (= `split(load(dataset, ...), ...)`) takes:

- `"fashion_mnist"` (the default): the verified official files
  (`kerasnas.datasets.fashion_mnist`);
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

Modules, each importing only those below it: `_checks` (DataError, checks),
`_images` (resize), `_splits` (Splits, StreamedSplits, pipelines),
`fashion_mnist`, `_folder`, `_sources` (one loader per kind), `_tfds`,
`_load` (`load`), `_partition` (`split`, `make_splits`). This file only
gathers their public names.
"""

from kerasnas.datasets import fashion_mnist
from kerasnas.datasets._checks import DataError, parse_image_size
from kerasnas.datasets._load import FASHION_MNIST, MEMORY_LIMIT_MB, load
from kerasnas.datasets._partition import make_splits, split
from kerasnas.datasets._sources import Loaded
from kerasnas.datasets._splits import (Splits, StreamedSplits, endless, stratified_order, to_dataset,
                                       with_channels)
from kerasnas.datasets.fashion_mnist import load_fashion_mnist

__all__ = ["DataError", "FASHION_MNIST", "Loaded", "MEMORY_LIMIT_MB", "Splits", "StreamedSplits",
           "endless", "fashion_mnist", "load", "load_fashion_mnist", "make_splits", "parse_image_size",
           "split", "stratified_order", "to_dataset", "with_channels"]
