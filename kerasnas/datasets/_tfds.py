"""Image-classification datasets of TensorFlow Datasets (`tfds:NAME`), read into memory.

`tensorflow-datasets` is an optional extra (`pip install -e .[tfds]`). Data
already prepared in TFDS' data folder is used without any network call; it is
downloaded only when the download host answers within a few seconds, so an
offline machine gets an error at once saying where TFDS looked and how to
bring the files over (TFDS itself would retry its download for minutes).
"""

import socket

import numpy as np

from kerasnas.datasets._checks import DataError
from kerasnas.datasets._images import resize
from kerasnas.datasets._sources import from_arrays

DOWNLOAD_HOST = ("storage.googleapis.com", 443)


def _online(timeout=3.0):
    try:
        socket.create_connection(DOWNLOAD_HOST, timeout=timeout).close()
        return True
    except OSError:
        return False


def _how_to_provide(name, builder):
    return (f"TFDS looked for {name!r} in {builder.data_dir} (data folder {builder._data_dir_root}) "
            "and found no prepared data, and this machine cannot reach "
            f"{DOWNLOAD_HOST[0]} to download it. Provide the files: on a machine with internet run\n"
            f"  python -c \"import tensorflow_datasets as tfds; tfds.load('{name}')\"\n"
            f"then copy its ~/tensorflow_datasets/{name.split('/')[0]} folder here and pass "
            "--data-dir FOLDER (the folder holding it), or set TFDS_DATA_DIR.")


def from_tfds(name, *, data_dir=None, image_size=None):
    """Loads the `train` (and `test`, if the dataset has it) splits of a TFDS dataset.

    Raises:
        ImportError: when tensorflow-datasets is not installed (names the extra).
        DataError: for an unknown name, a dataset that is not image
            classification, or data that is neither prepared nor downloadable.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ImportError("--dataset tfds:NAME needs tensorflow-datasets: "
                          "pip install -e .[tfds]") from e
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise DataError(f"unknown TFDS dataset {name!r}: {str(e).splitlines()[0]}") from None
    features = builder.info.features
    if "image" not in features or "label" not in features or not isinstance(
            features["label"], tfds.features.ClassLabel):
        raise DataError(f"TFDS dataset {name!r} is not image classification (it needs `image` "
                        f"and a class `label`); its features are {list(features)}.")
    download = not builder.is_prepared() and _online()

    def load(split):
        try:
            ds = tfds.load(name, split=split, as_supervised=False, data_dir=data_dir,
                           download=download)
        except AssertionError as e:  # TFDS' "could not find data"
            raise DataError(_how_to_provide(name, builder)) from e
        images, labels = [], []
        for example in tfds.as_numpy(ds):
            images.append(example["image"])
            labels.append(example["label"])
        shapes = sorted({x.shape for x in images})
        if len(shapes) > 1 and image_size is None:
            raise DataError(f"tfds:{name} {split}: mixed image shapes {shapes[:3]}; pass "
                            "image_size (--image-size HxW) to resize them all.")
        if len(shapes) > 1:
            images = [resize(x[None], image_size)[0] for x in images]
        return np.stack(images), np.array(labels)

    x, y = load("train")
    splits = list(builder.info.splits)
    # Under tfds.testing.mock_data no split is known: every split exists there.
    has_test = "test" in splits or not splits
    x_test, y_test = load("test") if has_test else (None, None)
    version = str(builder.info.version)
    loaded = from_arrays(x, y, x_test, y_test, what=f"tfds:{name}", image_size=image_size,
                         class_names=list(features["label"].names),
                         num_classes=features["label"].num_classes,
                         identity={"tfds": name, "version": version, "image_size": image_size})
    loaded.source = f"tfds:{name} {version} ({builder.data_dir})"
    return loaded

