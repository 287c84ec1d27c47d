"""kerasnas.datasets: every kind of source, the split, streaming, resizing, TFDS under mock data."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest
from _images import images, write_folder

from kerasnas import datasets as DS


def batches(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_arrays_get_a_stratified_split_and_a_held_out_test_that_ignores_the_seed():
    x, y = images(60, classes=3, shape=(32, 32, 3))  # 180 images
    a = DS.make_splits((x, y), seed=1)
    b = DS.make_splits((x, y), seed=2)
    # A sixth held out for the test (30), a sixth of the rest for validation (25), the rest trains.
    assert a.sizes() == {"train_size": 125, "val_size": 25, "test_size": 30}
    assert np.bincount(a.y_test).tolist() == [10, 10, 10]
    assert np.bincount(a.y_val).tolist() in ([9, 8, 8], [8, 9, 8], [8, 8, 9])
    np.testing.assert_array_equal(a.x_test, b.x_test)  # the test images do not depend on the seed
    assert not np.array_equal(a.x_val, b.x_val)
    assert a.input_shape == (32, 32, 3) and a.num_classes == 3
    assert a.test_split.startswith("held out: 30 images")
    x_train = a.x_train.astype(np.float64)
    assert a.mean == pytest.approx(x_train.mean(axis=(0, 1, 2)).tolist(), rel=1e-9)
    assert a.variance == pytest.approx(x_train.var(axis=(0, 1, 2)).tolist(), rel=1e-9)
    assert a.identity == b.identity and "arrays" in a.identity


def test_npz_with_its_own_test_split_and_explicit_sizes(tmp_path):
    x, y = images(20, classes=2, shape=(28, 28))
    xt, yt = images(5, classes=2, shape=(28, 28), seed=1)
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=xt, y_test=yt)
    s = DS.make_splits(str(tmp_path / "d.npz"), train_size=30, val_size=10)
    assert s.sizes() == {"train_size": 30, "val_size": 10, "test_size": 10}
    assert s.test_split == "given" and s.input_shape == (28, 28, 1)
    np.testing.assert_array_equal(s.x_test, xt)
    assert s.identity["npz"].endswith("d.npz") and len(s.identity["sha256"]) == 16
    with pytest.raises(ValueError, match="has its own test split"):
        DS.make_splits(str(tmp_path / "d.npz"), test_size=5)


def test_tf_data_batched_or_not_reads_as_the_arrays():
    import tensorflow as tf

    x, y = images(10, classes=2, shape=(16, 20, 3))
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    from_arrays = DS.make_splits((x, y))
    for given in (ds, ds.batch(7)):
        s = DS.make_splits(given)
        np.testing.assert_array_equal(s.x_train, from_arrays.x_train)
        np.testing.assert_array_equal(s.y_test, from_arrays.y_test)


def test_folder_in_memory_and_streamed_feed_the_same_pixels(tmp_path):
    x, y = write_folder(tmp_path / "f", 12, classes=3, shape=(24, 32, 3))
    mem = DS.make_splits(str(tmp_path / "f"), seed=3)
    # PNG is lossless: the folder's images, in class then file order, are the arrays written.
    loaded = DS.load(str(tmp_path / "f"))
    np.testing.assert_array_equal(loaded.x, x)
    assert loaded.class_names == ["class_0", "class_1", "class_2"]
    streamed = DS.make_splits(str(tmp_path / "f"), seed=3, memory_limit_mb=0.01)
    assert isinstance(streamed, DS.StreamedSplits) and not streamed.in_memory
    assert streamed.sizes() == mem.sizes() and streamed.input_shape == (24, 32, 3)
    np.testing.assert_array_equal(streamed.y_train, mem.y_train)
    for part in ("train", "val", "test"):
        xs, ys = batches(streamed.dataset(part, batch_size=5))
        np.testing.assert_array_equal(xs, getattr(mem, f"x_{part}").astype("float32"))
        np.testing.assert_array_equal(ys, getattr(mem, f"y_{part}"))
    # Every training image is in the sample (fewer than STATS_IMAGES): the same statistics.
    assert streamed.stats_images == len(mem.y_train)
    assert streamed.mean == pytest.approx(mem.mean) and streamed.variance == pytest.approx(mem.variance)
    assert streamed.describe()["source"].endswith("(streamed)")


def test_image_size_resizes_mixed_sizes_the_same_in_memory_and_streamed(tmp_path):
    write_folder(tmp_path / "f", 6, classes=2, shape=(20, 20, 1))
    write_folder(tmp_path / "g", 6, classes=2, shape=(30, 24, 1), seed=1)
    for name in ("class_0", "class_1"):  # one folder, two sizes
        for f in (tmp_path / "g" / name).iterdir():
            f.rename(tmp_path / "f" / name / f"b{f.name}")
    with pytest.raises(DS.DataError, match="mixed image shapes"):
        DS.make_splits(str(tmp_path / "f"))
    mem = DS.make_splits(str(tmp_path / "f"), image_size="16x12")
    streamed = DS.make_splits(str(tmp_path / "f"), image_size=(16, 12), memory_limit_mb=0.001)
    assert mem.input_shape == streamed.input_shape == (16, 12, 1)
    xs, _ = batches(streamed.dataset("train", batch_size=4))
    np.testing.assert_array_equal(xs, mem.x_train.astype("float32"))
    assert mem.identity["image_size"] == (16, 12)


def test_tfds_under_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=100):
        s = DS.make_splits("tfds:cifar10", val_size=20)
    assert s.sizes() == {"train_size": 80, "val_size": 20, "test_size": 100}
    assert s.input_shape == (32, 32, 3) and s.num_classes == 10 and s.x_train.dtype == np.uint8
    assert len(s.class_names) == 10 and s.test_split == "given"  # mock info names them "0".."9"
    assert s.identity == {"tfds": "cifar10", "version": "3.0.2", "image_size": None}


def test_tfds_offline_says_where_it_looked_and_how_to_provide_the_files(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(DS.DataError) as e:
        DS.make_splits("tfds:mnist", data_dir=str(tmp_path))
    text = str(e.value)
    assert str(tmp_path) in text and "tfds.load('mnist')" in text and "--data-dir" in text


@pytest.mark.parametrize("value, expected", [(32, (32, 32)), ("32", (32, 32)), ("24x40", (24, 40)),
                                             ((8, 9), (8, 9)), (None, None)])
def test_image_size_forms(value, expected):
    assert DS.parse_image_size(value) == expected


@pytest.mark.parametrize("value", ["big", "0x4", (3,), -1])
def test_bad_image_size_is_refused(value):
    with pytest.raises(ValueError, match="image_size"):
        DS.parse_image_size(value)


def test_a_source_loaded_once_splits_as_make_splits_does():
    x, y = images(20, classes=3, shape=(8, 8, 1))
    loaded = DS.load((x, y))
    for seed in (0, 1):
        a, b = DS.split(loaded, seed=seed), DS.make_splits((x, y), seed=seed)
        np.testing.assert_array_equal(a.x_val, b.x_val)
        np.testing.assert_array_equal(a.x_test, b.x_test)
        assert a.identity == b.identity and a.sizes() == b.sizes()
    with pytest.raises(ValueError, match=r"`train_size` must be a positive integer; got 0"):
        DS.split(loaded, train_size=0)


def _package_imports():
    """{module: the package's modules it imports}, function-level imports included."""
    folder = os.path.dirname(DS.__file__)
    modules = {f[:-3] for f in os.listdir(folder) if f.endswith(".py")}
    graph = {}
    for name in modules:
        with open(os.path.join(folder, f"{name}.py")) as f:
            tree = ast.parse(f.read())
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "kerasnas.datasets":
                edges |= {a.name if a.name in modules else "__init__" for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kerasnas.datasets."):
                edges.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                edges |= {a.name.split(".")[2] for a in node.names
                          if a.name.startswith("kerasnas.datasets.")}
            elif isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{name}.py: a relative import; the package imports absolutely")
        graph[name] = edges - {name}
    return graph


def test_the_package_has_no_import_cycle():
    graph = _package_imports()
    assert "_checks" in graph and "fashion_mnist" in graph["_sources"]  # the graph is read
    assert not any("__init__" in graph[m] for m in graph if m != "__init__")
    done, order = set(), []
    while len(done) < len(graph):  # take the modules whose imports are all taken already
        ready = sorted(m for m in graph if m not in done and graph[m] <= done)
        assert ready, f"an import cycle among {sorted(set(graph) - done)}"
        done |= set(ready)
        order += ready
    assert order[-1] == "__init__"


def test_importing_the_package_imports_no_tensorflow():
    code = ("import sys, kerasnas.datasets; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
