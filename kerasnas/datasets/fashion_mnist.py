"""Fashion-MNIST, the default dataset: found offline, checked against the official checksums.

`make_splits("fashion_mnist")` (the default) loads it through
`load_fashion_mnist`; the split itself is the package's, as for any dataset.
The verified arrays of a folder are kept for the process: a second
`make_splits` (another seed, other sizes) neither reads nor verifies the files
again, unless they changed. `MEAN` and `STD` are the one definition of its
pixel statistics.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from typing import Callable

import numpy as np

from kerasnas.datasets._checks import DataError

__all__ = ["CLASSES", "DEBIAN_DIR", "FILES", "HOW_TO_FIX", "MEAN", "SHA256", "STD",
           "load_fashion_mnist", "verify"]

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
# sha256 of the decompressed array bytes (IDX header excluded), official release.
SHA256 = {
    "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
}
COUNTS = {"train": 60000, "test": 10000}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# Mean and std of the training pixels in [0, 1] (the models measure theirs on the training split).
MEAN, STD = 0.2860, 0.3530
HOW_TO_FIX = (
    "Fix it with one of:\n"
    "  - apt-get install -y dataset-fashion-mnist   (Debian: the official files, offline)\n"
    "  - copy the four official files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
    "    t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into a folder and pass\n"
    "    --data-dir FOLDER (or set KERASNAS_DATA_DIR)"
)


def _read_idx(path: str) -> np.ndarray:
    """Reads one gzipped IDX file into a numpy array (raises DataError)."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot be read as gzip ({e})") from e
    if len(raw) < 8 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise DataError(f"{path}: truncated ({len(raw)} bytes for shape {shape})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def verify(arrays: dict[str, np.ndarray]) -> None:
    """Checks shapes, labels, class balance and the pinned checksums.

    Raises:
        DataError: naming the first check that failed.
    """
    for split, n in COUNTS.items():
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.shape != (n, 28, 28) or y.shape != (n,):
            raise DataError(f"{split} shapes are {x.shape} / {y.shape}, expected ({n}, 28, 28) / ({n},)")
        if y.min() < 0 or y.max() > 9:
            raise DataError(f"{split} labels outside 0..9")
        counts = np.bincount(y, minlength=10)
        if not np.all(counts == n // 10):
            raise DataError(f"{split} class counts are {counts.tolist()}, expected {n // 10} each")
    for key, digest in SHA256.items():
        actual = hashlib.sha256(np.ascontiguousarray(arrays[key]).tobytes()).hexdigest()
        if actual != digest:
            raise DataError(f"{key}: sha256 {actual[:12]}... differs from the official {digest[:12]}...")


# (folder, its files' sizes and times) -> its verified arrays; one entry at most (about 55 MB).
_VERIFIED: dict[tuple, dict[str, np.ndarray]] = {}


def _load_dir(folder: str) -> dict[str, np.ndarray]:
    """The verified arrays of a folder, read once per process while its files stay unchanged."""
    missing = [name for name in FILES.values() if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)}")
    stats = [os.stat(os.path.join(folder, name)) for name in FILES.values()]
    signature = (os.path.abspath(folder),
                 tuple((s.st_size, s.st_mtime_ns, s.st_ctime_ns) for s in stats))
    if signature not in _VERIFIED:
        arrays = {key: _read_idx(os.path.join(folder, name)) for key, name in FILES.items()}
        verify(arrays)  # only verified arrays are kept
        _VERIFIED.clear()  # one folder at a time: a changed or other folder replaces it
        _VERIFIED[signature] = arrays
    return dict(_VERIFIED[signature])  # read-only arrays (np.frombuffer); a new dict per caller


def _keras_cache_dir() -> str:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets", "fashion-mnist")


def _load_keras_download() -> dict[str, np.ndarray]:
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    verify(arrays)
    return arrays


def load_fashion_mnist(data_dir: str | None = None, *,
                       allow_download: bool = True) -> tuple[dict[str, np.ndarray], str]:
    """Loads and verifies the official Fashion-MNIST.

    Args:
        data_dir: The only folder looked at, if given (else `KERASNAS_DATA_DIR`).
            Otherwise: the Debian package folder, the Keras cache, then Keras'
            own download.
        allow_download: Whether the last resort, Keras' download, is tried.

    Returns:
        (arrays, source): a dict of x_train, y_train, x_test, y_test (uint8,
        read-only when read from files: they are kept for the next call)
        and a text naming where they came from.

    Raises:
        DataError: listing every place looked and how to fix it.
    """
    data_dir = data_dir or os.environ.get("KERASNAS_DATA_DIR")
    if data_dir:
        places: list[tuple[str, Callable[[], dict[str, np.ndarray]], str]] = [
            ("folder given", lambda: _load_dir(data_dir), data_dir)]
    else:
        places = [
            ("Debian package dataset-fashion-mnist", lambda: _load_dir(DEBIAN_DIR), DEBIAN_DIR),
            ("Keras cache", lambda: _load_dir(_keras_cache_dir()), _keras_cache_dir()),
        ]
        if allow_download:
            places.append(("Keras download", _load_keras_download, "keras.datasets.fashion_mnist"))
    problems = []
    for label, load, where in places:
        try:
            return load(), f"{label} ({where})"
        except DataError as e:
            problems.append(f"  - {label}: {e}")
        except Exception as e:  # a failed download: network, DNS, HTTP
            problems.append(f"  - {label}: {type(e).__name__}: {e}")
    raise DataError("Fashion-MNIST not found or not the official files. Looked at:\n"
                    + "\n".join(problems) + "\n" + HOW_TO_FIX)

