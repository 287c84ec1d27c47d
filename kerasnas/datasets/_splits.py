"""Train / validation / test splits and their tf.data pipelines.

Two kinds, with one interface (`dataset(part, ...)`, `elements(...)`, labels as
arrays, `input_shape`, `num_classes`, `mean`/`variance`, `describe()`):

- `Splits` holds every image in memory as uint8 arrays (Fashion-MNIST, `.npz`,
  arrays, `tf.data`, TFDS, folders below the memory limit);
- `StreamedSplits` holds only file paths and labels; images are decoded per
  batch, every epoch (a folder above the limit).

Pipelines feed raw pixel values as float32: the models normalise them in
their first layer, so the exported models take raw images too.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:  # TensorFlow only when a pipeline is made
    import tensorflow as tf

PARTS = ("train", "val", "test")


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation in which every prefix is as class-balanced as possible.

    Each class is shuffled, then the classes are interleaved round-robin (in a
    random class order per round), so the first 10k indices hold 1k per class.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    rank = np.empty(len(labels), dtype=np.int64)
    for c in classes:
        idx = np.flatnonzero(labels == c)
        rank[rng.permutation(idx)] = np.arange(len(idx))
    tiebreak = rng.permutation(len(classes))[np.searchsorted(classes, labels)]
    return np.lexsort((tiebreak, rank))


def with_channels(x: np.ndarray) -> np.ndarray:
    """(n, h, w) images get a channel axis; (n, h, w, c) are returned as they are."""
    return x[..., None] if x.ndim == 3 else x


def pixel_stats(x: np.ndarray, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and variance of images (n, h, w[, c]), in chunks (float64 sums)."""
    x = with_channels(x)
    total = np.zeros(x.shape[-1])
    squares = np.zeros(x.shape[-1])
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk].astype(np.float64)
        total += part.sum(axis=(0, 1, 2))
        squares += np.square(part).sum(axis=(0, 1, 2))
    count = x.shape[0] * x.shape[1] * x.shape[2]
    mean = total / count
    variance = np.maximum(squares / count - mean**2, 1e-12)  # a constant image: no division by 0
    return mean.tolist(), variance.tolist()


def fingerprint(*arrays: np.ndarray | None) -> str:
    """A short sha256 of arrays' bytes (the dataset's identity in run.json)."""
    digest = hashlib.sha256()
    for a in arrays:
        if a is not None:
            digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:16]


def to_dataset(x: np.ndarray, y: np.ndarray, *, batch_size: int, shuffle: bool = False,
               seed: int = 0) -> tf.data.Dataset:
    """A tf.data pipeline of raw pixels (float32, with a channel axis) and int32 labels.

    Shuffled (seeded, a new order each epoch) if asked, batched, then cast, so
    only the uint8 arrays are held in memory.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((with_channels(x), y.astype("int32")))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda a, b: (tf.cast(a, tf.float32), b))
    return ds.prefetch(tf.data.AUTOTUNE)


def endless(ds: tf.data.Dataset, *, from_pass: int = 0) -> tuple[tf.data.Dataset, int | None]:
    """`(stream, batches per pass)`: `ds`'s passes one after another, endlessly, from pass
    `from_pass` on, each shuffled as that pass of `ds` is; `(ds, None)` when `ds`'s length is
    unknown or infinite.

    A `fit` on the stream with `steps_per_epoch` = batches per pass trains epoch k on pass k,
    however many iterators the backend's `fit` makes (Keras 3.15's TensorFlow trainer makes
    two an epoch): a model resumed at epoch k sees the batches it saw unkilled.
    """
    batches = int(ds.cardinality())
    if batches <= 0:  # unknown (-2), infinite (-1) or empty: passes cannot be counted
        return ds, None
    return ds.repeat().skip(from_pass * batches), batches


class _Common(abc.ABC):
    """What both kinds of splits share; subclasses define `_shape`, `dataset` and `elements`."""

    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    source: str
    seed: int
    num_classes: int
    class_names: list[str] | None
    mean: list[float]
    variance: list[float]
    identity: dict[str, Any]
    test_split: str
    in_memory: ClassVar[bool]

    @property
    @abc.abstractmethod
    def _shape(self) -> tuple[int, ...]:
        """(height, width, channels) of the images the pipelines give."""

    @abc.abstractmethod
    def dataset(self, part: str, *, batch_size: int, shuffle: bool = False,
                seed: int = 0) -> tf.data.Dataset:
        """The batched pipeline of `part` ("train", "val" or "test")."""

    @abc.abstractmethod
    def elements(self, *parts: str, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """Unbatched (float32 image, int32 label) of the parts concatenated, shuffled if asked."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self._shape)

    def sizes(self) -> dict[str, int]:
        return {f"{p}_size": len(getattr(self, f"y_{p}")) for p in PARTS}

    def stream(self, *parts: str, batch_size: int, seed: int = 0,
               start_step: int = 0) -> tf.data.Dataset:
        """`parts` ("train"; or "train", "val" together) shuffled anew every epoch, endlessly,
        from batch `start_step` on.

        The order depends only on `seed` and TensorFlow's global seed when it is
        made: a model continued from a checkpoint at step k, made under the same
        global seed, sees the batches it would have seen without the stop.
        """
        import tensorflow as tf

        unknown = [p for p in parts if p not in PARTS]
        if not parts or unknown:
            raise ValueError(f"`stream` takes one or more of {', '.join(PARTS)}. "
                             f"Received: {parts!r}")
        if len(parts) == 1:
            ds = self.dataset(parts[0], batch_size=batch_size, shuffle=True, seed=seed)
        else:
            ds = self.elements(*parts, shuffle=True, seed=seed).batch(batch_size).prefetch(
                tf.data.AUTOTUNE)
        return ds.repeat().skip(start_step)

    def describe(self) -> dict[str, Any]:
        """The split and its source, as recorded in summary.json."""
        return {**self.sizes(), "source": self.source, "split_seed": self.seed,
                "test_split": self.test_split, "input_shape": list(self.input_shape),
                "num_classes": self.num_classes, "class_names": self.class_names,
                "mean": self.mean, "variance": self.variance, "in_memory": self.in_memory,
                "identity": self.identity}


@dataclasses.dataclass
class Splits(_Common):
    """Train / validation / test images (uint8 arrays, (n, h, w) or (n, h, w, c)), labels, origin.

    `num_classes`, `mean` and `variance` (per channel, of the training images'
    raw pixels) are measured when not given.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""
    seed: int = 0
    num_classes: int = 0  # 0, [], {}: measured
    class_names: list[str] | None = None
    mean: list[float] = dataclasses.field(default_factory=list)
    variance: list[float] = dataclasses.field(default_factory=list)
    identity: dict[str, Any] = dataclasses.field(default_factory=dict)
    test_split: str = "given"
    in_memory: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.num_classes:
            self.num_classes = int(max(self.y_train.max(), self.y_val.max())) + 1
        if not self.mean or not self.variance:
            self.mean, self.variance = pixel_stats(self.x_train)
        if not self.identity:
            self.identity = {"arrays": fingerprint(self.x_train, self.y_train, self.x_val,
                                                   self.y_val, self.x_test, self.y_test)}

    @property
    def _shape(self) -> tuple[int, ...]:
        return with_channels(self.x_train[:1]).shape[1:]

    def dataset(self, part: str, *, batch_size: int, shuffle: bool = False,
                seed: int = 0) -> tf.data.Dataset:
        """The batched pipeline of `part` ("train", "val" or "test")."""
        return to_dataset(getattr(self, f"x_{part}"), getattr(self, f"y_{part}"),
                          batch_size=batch_size, shuffle=shuffle, seed=seed)

    def elements(self, *parts: str, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        """Unbatched (float32 image, int32 label) of the parts concatenated, shuffled if asked."""
        import tensorflow as tf

        x = np.concatenate([with_channels(getattr(self, f"x_{p}")) for p in parts])
        y = np.concatenate([getattr(self, f"y_{p}") for p in parts]).astype("int32")
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        return ds.map(lambda a, b: (tf.cast(a, tf.float32), b))

    def save_npz(self, path: str) -> None:
        arrays = {p: getattr(self, p) for p in
                  ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
        np.savez(path, source=self.source, seed=self.seed, **arrays)

    @classmethod
    def load_npz(cls, path: str) -> Splits:
        with np.load(path) as z:
            return cls(**{k: z[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")},
                       source=str(z["source"]), seed=int(z["seed"]))


@dataclasses.dataclass
class StreamedSplits(_Common):
    """Splits of image files read per batch: only paths and labels are held in memory.

    `mean` and `variance` are measured on a stratified sample of the
    training images (`stats_images` of them, recorded in `describe()`).
    """

    paths_train: np.ndarray
    y_train: np.ndarray
    paths_val: np.ndarray
    y_val: np.ndarray
    paths_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, int, int]
    num_classes: int
    mean: list[float]
    variance: list[float]
    source: str = ""
    seed: int = 0
    class_names: list[str] | None = None
    identity: dict[str, Any] = dataclasses.field(default_factory=dict)
    test_split: str = "held out"
    image_size: tuple[int, int] | None = None
    stats_images: int = 0
    in_memory: ClassVar[bool] = False

    @property
    def _shape(self) -> tuple[int, ...]:
        return self.shape

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "stats_images": self.stats_images}

    def elements(self, *parts: str, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
        import tensorflow as tf

        paths = np.concatenate([getattr(self, f"paths_{p}") for p in parts])
        y = np.concatenate([getattr(self, f"y_{p}") for p in parts]).astype("int32")
        ds = tf.data.Dataset.from_tensor_slices((paths, y))
        if shuffle:  # paths are shuffled, not decoded images: a full-size buffer is cheap
            ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        height, width, channels = self.shape

        def load(path, label):
            image = tf.io.decode_image(tf.io.read_file(path), channels=channels,
                                       expand_animations=False)
            if self.image_size:
                image = tf.image.resize(image, self.image_size)
                image = tf.round(tf.clip_by_value(image, 0, 255))  # as the in-memory resize
            image = tf.ensure_shape(tf.cast(image, tf.float32), (height, width, channels))
            return image, label

        return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def dataset(self, part: str, *, batch_size: int, shuffle: bool = False,
                seed: int = 0) -> tf.data.Dataset:
        import tensorflow as tf

        ds = self.elements(part, shuffle=shuffle, seed=seed)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
