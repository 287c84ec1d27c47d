"""A folder of class subfolders, as `keras.utils.image_dataset_from_directory` reads it.

One subfolder per class (sorted names are the classes 0..K-1), image files in
it (png, jpg, jpeg, bmp, gif; other files and files at the top are ignored).
Every file is opened before anything is written: an unreadable one is named.
Images are not resized unless `image_size` is given; grayscale folders stay
1-channel, anything else becomes RGB. Below the memory limit the images are
decoded into one uint8 array; above it only paths and labels are kept and the
images are decoded per batch (`StreamedSplits`).
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from kerasnas.datasets._checks import DataError
from kerasnas.datasets._images import resize

if TYPE_CHECKING:
    from PIL.Image import Image

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def scan(folder: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(paths, labels, class names) of a folder of class subfolders.

    Raises:
        DataError: for no class subfolders, or an empty class folder.
    """
    classes = sorted(d for d in os.listdir(folder)
                     if os.path.isdir(os.path.join(folder, d)) and not d.startswith("."))
    if not classes:
        raise DataError(f"{folder}: no class subfolders; expected one folder of images per class "
                        "(as keras.utils.image_dataset_from_directory reads).")
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        sub = os.path.join(folder, name)
        files = sorted(f for f in os.listdir(sub) if f.lower().endswith(EXTENSIONS)
                       and os.path.isfile(os.path.join(sub, f)))
        if not files:
            raise DataError(f"{sub}: class folder {name!r} holds no images ({', '.join(EXTENSIONS)}).")
        paths += [os.path.join(sub, f) for f in files]
        labels += [label] * len(files)
    return np.array(paths), np.array(labels, dtype=np.int64), classes


def _open(path: str) -> Image:
    from PIL import Image

    try:
        image = Image.open(path)
        image.verify()  # reads the whole file: a truncated PNG fails here
        return Image.open(path)
    except Exception as e:  # PIL raises many types for bad files
        raise DataError(f"{path}: not a readable image ({type(e).__name__}: {e}).") from None


def probe(paths: np.ndarray, image_size: tuple[int, int] | None) -> tuple[int, int, int]:
    """Opens every file: (height, width, channels) of the images.

    Raises:
        DataError: naming an unreadable file, or two files of different sizes.
    """
    sizes: dict[tuple[int, int], str] = {}
    gray = True
    for path in paths:
        image = _open(path)
        sizes.setdefault(image.size, path)
        gray = gray and image.mode in GRAY_MODES
        if image_size is None and len(sizes) > 1:
            (a, pa), (b, pb) = list(sizes.items())[:2]
            raise DataError(f"mixed image shapes: {pa} is {a[1]}x{a[0]}, {pb} is {b[1]}x{b[0]}; "
                            "pass image_size (--image-size HxW) to resize them all.")
    width, height = next(iter(sizes))
    height, width = image_size or (height, width)
    return height, width, 1 if gray else 3


def read(path: str, channels: int, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """One image as uint8 (h, w, channels), resized like tf.image.resize if asked.

    Raises:
        DataError: naming a file that cannot be decoded.
    """
    image = _open(path)
    try:
        array = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except Exception as e:
        raise DataError(f"{path}: not a readable image ({type(e).__name__}: {e}).") from None
    array = array.reshape(*array.shape[:2], channels)
    if image_size is not None:
        array = resize(array[None], image_size)[0]
    return array


def read_all(paths: np.ndarray, shape: tuple[int, int, int],
             image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Every image into one uint8 array (n, h, w, c)."""
    out = np.empty((len(paths), *shape), dtype=np.uint8)
    for i, path in enumerate(paths):
        out[i] = read(path, shape[-1], image_size)
    return out


def identity(folder: str, paths: np.ndarray) -> dict[str, Any]:
    """The folder's identity for run.json: its path, file count, and a hash of names and sizes."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{os.path.relpath(path, folder)}:{os.path.getsize(path)};".encode())
    return {"folder": os.path.abspath(folder), "files": len(paths), "sha256": digest.hexdigest()[:16]}
