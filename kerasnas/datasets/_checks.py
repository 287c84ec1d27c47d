"""Checks that refuse bad data with one clear message, before anything is written."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

CHANNELS = (1, 3)  # grayscale or RGB


class DataError(RuntimeError):
    """The data is missing, unreadable or not usable for image classification."""


def parse_image_size(value: Any) -> tuple[int, int] | None:
    """`image_size` as (height, width): an int N (N x N), "N", "HxW" or a pair; None stays None.

    Raises:
        ValueError: for anything else, or a side < 1.
    """
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().split("x")
        try:
            value = tuple(int(p) for p in parts) if len(parts) == 2 else int(value)
        except ValueError:
            raise ValueError(f"`image_size` must be N or HxW, e.g. 32 or 32x48; got {value!r}.") from None
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in value)):
        raise ValueError(f"`image_size` must be N or (height, width) with sides >= 1; got {value!r}.")
    return int(value[0]), int(value[1])


def check_images(x: ArrayLike, what: str) -> np.ndarray:
    """Images as (n, h, w) or (n, h, w, c) with c in 1, 3 and a numeric type.

    Raises:
        DataError: naming `what` and the shape or type found.
    """
    x = np.asarray(x)
    if x.dtype == object or x.ndim not in (3, 4):
        raise DataError(f"{what}: images must be one array (n, height, width[, channels]) of one "
                        f"shape; got {'mixed image shapes' if x.dtype == object else x.shape}.")
    if x.ndim == 4 and x.shape[-1] not in CHANNELS:
        raise DataError(f"{what}: {x.shape[-1]} channels; expected 1 (grayscale) or 3 (RGB).")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{what}: images of type {x.dtype}; expected uint8 (or numbers).")
    if len(x) == 0:
        raise DataError(f"{what}: no images.")
    return x


def check_labels(y: ArrayLike, n: int, what: str) -> np.ndarray:
    """Integer class labels (n,) (an (n, 1) column is flattened).

    Raises:
        DataError: for another length, non-integer values or negative labels.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{what}: {n} images but labels of shape {y.shape}; expected ({n},).")
    if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{what}: labels of type {y.dtype}; expected integer class ids 0..K-1.")
    if y.min() < 0:
        raise DataError(f"{what}: label {int(y.min())} is out of range; expected class ids 0..K-1.")
    return y.astype(np.int64)


def check_classes(y: np.ndarray, num_classes: int | None, y_test: np.ndarray | None = None) -> int:
    """At least 2 classes, every class present in the training data, test labels in range.

    Args:
        y: Training labels (train + validation, before the split).
        num_classes: K, from the dataset (folder, TFDS) or None (max label + 1).
        y_test: Test labels, if a test split is given.

    Returns:
        K.

    Raises:
        DataError: naming the problem.
    """
    k = int(y.max()) + 1 if num_classes is None else num_classes
    present = np.unique(y)
    if len(present) < 2:
        raise DataError(f"only one class ({int(present[0])}) in the training data; "
                        "classification needs at least 2.")
    if y.max() >= k:
        raise DataError(f"label {int(y.max())} is out of range for {k} classes (0..{k - 1}).")
    missing = sorted(set(range(k)) - set(present.tolist()))
    if missing:
        raise DataError(f"classes {missing[:10]} have no training images; labels must be "
                        f"0..K-1 with every class present (K = {k}).")
    if y_test is not None and len(y_test) and y_test.max() >= k:
        raise DataError(f"test label {int(y_test.max())} is out of range: the training data has "
                        f"{k} classes (0..{k - 1}).")
    return k


def check_same_shape(shape: tuple[int, ...], other: tuple[int, ...], what: str) -> None:
    """The test images' shape must be the training images' (no silent resize)."""
    if tuple(shape) != tuple(other):
        raise DataError(f"mixed image shapes: training images are {tuple(shape)}, {what} "
                        f"{tuple(other)}; pass image_size (--image-size HxW) to resize them all.")
