"""Where the images come from: Fashion-MNIST, `.npz`, arrays, `tf.data`, folders.

Each loader returns a `Loaded`: training images and labels (split later into
train and validation), the test split when the source has one, the class
names and the source's identity (recorded in run.json, so a resume on other
data is refused).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from kerasnas.datasets import _checks, _folder, fashion_mnist
from kerasnas.datasets._checks import DataError
from kerasnas.datasets._images import resize
from kerasnas.datasets._splits import fingerprint

if TYPE_CHECKING:
    import tensorflow as tf


@dataclasses.dataclass
class Loaded:
    """One source, loaded and checked; `paths` instead of `x` when it streams."""

    y: np.ndarray
    source: str
    identity: dict[str, Any]
    num_classes: int
    x: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: list[str] | None = None
    paths: np.ndarray | None = None
    shape: tuple[int, int, int] | None = None  # (h, w, c) of a folder


def _finish(x_given: ArrayLike, y_given: ArrayLike, x_test_given: ArrayLike | None,
            y_test_given: ArrayLike | None, *, what: str, image_size: tuple[int, int] | None,
            num_classes: int | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    """Checks arrays, resizes them if asked, checks labels and classes."""
    x = _checks.check_images(x_given, what)
    y = _checks.check_labels(y_given, len(x), what)
    if (x_test_given is None) != (y_test_given is None):
        raise DataError(f"{what}: give both x_test and y_test, or neither.")
    x_test = y_test = None
    if x_test_given is not None and y_test_given is not None:
        x_test = _checks.check_images(x_test_given, f"{what} (test)")
        y_test = _checks.check_labels(y_test_given, len(x_test), f"{what} (test)")
    if image_size is not None:
        x = resize(x if x.ndim == 4 else x[..., None], image_size)
        if x_test is not None:
            x_test = resize(x_test if x_test.ndim == 4 else x_test[..., None], image_size)
    if x_test is not None:
        _checks.check_same_shape(x.shape[1:], x_test.shape[1:], "test images are")
    k = _checks.check_classes(y, num_classes, y_test)
    return x, y, x_test, y_test, k


def from_arrays(x: ArrayLike, y: ArrayLike, x_test: ArrayLike | None = None,
                y_test: ArrayLike | None = None, *, what: str = "arrays",
                image_size: tuple[int, int] | None = None, class_names: list[str] | None = None,
                num_classes: int | None = None, identity: dict[str, Any] | None = None) -> Loaded:
    """Arrays given in Python (or read from a file): checked, resized if asked."""
    images, labels, test_images, test_labels, k = _finish(
        x, y, x_test, y_test, what=what, image_size=image_size, num_classes=num_classes)
    if identity is None:
        identity = {"arrays": fingerprint(images, labels, test_images, test_labels)}
    return Loaded(y=labels, x=images, x_test=test_images, y_test=test_labels, source=what,
                  identity=identity, class_names=class_names, num_classes=k)


def from_npz(path: str, *, image_size: tuple[int, int] | None = None) -> Loaded:
    """An .npz with `x`, `y` and optionally `x_test`, `y_test` (and `class_names`)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise DataError(f"{path}: cannot be read as .npz ({type(e).__name__}: {e}).") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise DataError(f"{path}: no array {' or '.join(missing)}; an .npz dataset holds x, y "
                        f"(and optionally x_test, y_test); it has {sorted(arrays)}.")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):  # hashlib.file_digest is Python 3.11+
            digest.update(block)
    names = arrays.get("class_names")
    return from_arrays(arrays["x"], arrays["y"], arrays.get("x_test"), arrays.get("y_test"),
                       what=f"npz {path}", image_size=image_size,
                       class_names=None if names is None else [str(n) for n in names],
                       identity={"npz": os.path.abspath(path), "sha256": digest.hexdigest()[:16],
                                 "image_size": image_size})


def from_tf_data(train: tf.data.Dataset, test: tf.data.Dataset | None = None, *,
                 image_size: tuple[int, int] | None = None) -> Loaded:
    """`tf.data.Dataset`s of (image, label), batched or not, read into memory."""
    def read(ds, what):
        if len(ds.element_spec) != 2:
            raise DataError(f"{what}: a tf.data.Dataset of (image, label) pairs is expected; "
                            f"got elements {ds.element_spec}.")
        if ds.element_spec[0].shape.rank == 4:  # batched
            ds = ds.unbatch()
        xs, ys = [], []
        for image, label in ds.as_numpy_iterator():
            xs.append(image)
            ys.append(label)
        shapes = sorted({x.shape for x in xs})
        if len(shapes) > 1 and image_size is None:
            raise DataError(f"{what}: mixed image shapes {shapes[:3]}; pass image_size "
                            "(--image-size HxW) to resize them all.")
        if image_size is not None:
            xs = [resize(x.reshape(1, *x.shape[:2], -1), image_size)[0] for x in xs]
        return np.stack(xs) if xs else np.zeros((0, 1, 1)), np.array(ys)

    x, y = read(train, "tf.data (train)")
    x_test, y_test = read(test, "tf.data (test)") if test is not None else (None, None)
    return from_arrays(x, y, x_test, y_test, what="tf.data")


def from_fashion_mnist(data_dir: str | None = None, *,
                       image_size: tuple[int, int] | None = None) -> Loaded:
    """The verified official Fashion-MNIST (see `fashion_mnist.load_fashion_mnist`)."""
    arrays, source = fashion_mnist.load_fashion_mnist(data_dir)
    x, x_test = arrays["x_train"], arrays["x_test"]
    if image_size is not None:
        x, x_test = resize(x[..., None], image_size), resize(x_test[..., None], image_size)
    return Loaded(y=arrays["y_train"], x=x, x_test=x_test, y_test=arrays["y_test"],
                  source=source, identity={"name": "fashion_mnist", "image_size": image_size},
                  class_names=list(fashion_mnist.CLASSES), num_classes=10)


def from_folder(folder: str, *, image_size: tuple[int, int] | None = None,
                memory_limit_mb: float) -> Loaded:
    """A folder of class subfolders; streamed when its images exceed `memory_limit_mb`."""
    paths, y, classes = _folder.scan(folder)
    shape = _folder.probe(paths, image_size)
    identity = {**_folder.identity(folder, paths), "image_size": image_size}
    loaded = Loaded(y=y, source=f"folder {folder}", identity=identity, class_names=classes,
                    num_classes=len(classes), shape=shape)
    _checks.check_classes(y, len(classes))
    if len(paths) * int(np.prod(shape)) > memory_limit_mb * 2**20:
        loaded.paths = paths
        loaded.source += " (streamed)"
    else:
        loaded.x = _folder.read_all(paths, shape, image_size)
    return loaded
