"""`load(dataset)`: what `dataset` may be, each kind sent to its loader (see the package doc)."""

from __future__ import annotations

import os
from typing import Any

from kerasnas.datasets import _sources
from kerasnas.datasets._checks import DataError, parse_image_size
from kerasnas.datasets._sources import Loaded
from kerasnas.datasets._tfds import from_tfds

FASHION_MNIST = "fashion_mnist"
MEMORY_LIMIT_MB = 2048  # a folder whose uint8 images exceed this streams


def load(dataset: Any = FASHION_MNIST, *, data_dir: str | None = None,
         image_size: int | str | tuple[int, int] | None = None,
         memory_limit_mb: float = MEMORY_LIMIT_MB) -> Loaded:
    """Loads and checks a dataset (see the package doc for what `dataset` may be).

    Args:
        dataset: The dataset.
        data_dir: Fashion-MNIST's folder of .gz files, or TFDS' data folder.
        image_size: Resize every image to (height, width) (bilinear); None keeps
            their size (images of different sizes are then refused).
        memory_limit_mb: A folder whose images take more streams from disk.

    Returns:
        A `Loaded`: the training images and labels, the test split when the
        source has one, the class names and the source's identity.

    Raises:
        DataError: naming what is wrong with the data.
        ValueError: for a `dataset` of no known kind.
    """
    image_size = parse_image_size(image_size)
    if dataset is None or (isinstance(dataset, str) and dataset == FASHION_MNIST):
        return _sources.from_fashion_mnist(data_dir, image_size=image_size)
    if isinstance(dataset, (str, os.PathLike)):
        text = os.fspath(dataset)
        if text.startswith("tfds:"):
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
        if "x" not in dataset or "y" not in dataset:
            raise DataError("a dataset dict holds arrays x, y (and optionally x_test, y_test); it "
                            f"has {sorted(dataset)}.")
        return _sources.from_arrays(dataset["x"], dataset["y"], dataset.get("x_test"),
                                    dataset.get("y_test"), image_size=image_size)
    if _is_tf_data(dataset):
        return _sources.from_tf_data(dataset, image_size=image_size)
    if isinstance(dataset, (tuple, list)) and dataset and all(_is_tf_data(d) for d in dataset):
        return _sources.from_tf_data(*dataset, image_size=image_size)
    if isinstance(dataset, (tuple, list)) and len(dataset) in (2, 4):
        return _sources.from_arrays(*dataset, image_size=image_size)
    raise ValueError(f"`dataset` must be {FASHION_MNIST!r}, 'tfds:NAME', a folder, an .npz, arrays "
                     f"(x, y[, x_test, y_test]) or a tf.data.Dataset; got {type(dataset).__name__}.")


def _is_tf_data(obj: Any) -> bool:
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "element_spec")
