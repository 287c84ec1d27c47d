import gzip
import os
import shutil

import numpy as np
import pytest

from kerasnas import datasets as DS
from kerasnas.datasets import fashion_mnist as D


def test_official_data_loads_verified(fashion_arrays):
    assert fashion_arrays["x_train"].shape == (60000, 28, 28)
    assert fashion_arrays["x_test"].shape == (10000, 28, 28)
    assert np.bincount(fashion_arrays["y_train"]).tolist() == [6000] * 10
    # The well-known first training image is an ankle boot (class 9).
    assert fashion_arrays["y_train"][0] == 9
    # MEAN and STD, the one definition (benchmarks standardise with them), are the data's own.
    x = fashion_arrays["x_train"].astype(np.float64) / 255
    assert (round(float(x.mean()), 4), round(float(x.std()), 4)) == (D.MEAN, D.STD) == (0.2860, 0.3530)


def test_split_is_stratified_disjoint_and_seeded(fashion_arrays):
    a = DS.make_splits(train_size=1000, val_size=500, seed=3)
    b = DS.make_splits(train_size=1000, val_size=500, seed=3)
    c = DS.make_splits(train_size=1000, val_size=500, seed=4)
    assert np.bincount(a.y_train).tolist() == [100] * 10
    assert np.bincount(a.y_val).tolist() == [50] * 10
    assert np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.x_train, c.x_train)
    order = DS.stratified_order(fashion_arrays["y_train"], 3)
    assert len(set(order[:500]) & set(order[500:1500])) == 0
    assert sorted(order.tolist()) == list(range(60000))


def test_default_split_is_50k_10k_and_never_the_test_set(fashion_arrays):
    s = DS.make_splits()
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (50000, 10000, 10000)
    assert np.bincount(s.y_val).tolist() == [1000] * 10
    assert s.x_test is fashion_arrays["x_test"]  # the arrays verified once, not read again
    assert s.identity == {"name": "fashion_mnist", "image_size": None}
    assert s.source == D.load_fashion_mnist(allow_download=False)[1]  # where it was found


@pytest.mark.parametrize("sizes", [(59000, 2000), (0, 10), (10, -1)])
def test_bad_sizes_are_refused(fashion_arrays, sizes):
    with pytest.raises(ValueError, match="train_size|val_size"):
        DS.make_splits(train_size=sizes[0], val_size=sizes[1])


def test_empty_folder_names_every_place_and_the_fix(tmp_path):
    with pytest.raises(DS.DataError) as e:
        D.load_fashion_mnist(str(tmp_path))
    text = str(e.value)
    assert str(tmp_path) in text and "dataset-fashion-mnist" in text and "--data-dir" in text
    # A folder given is the only place looked.
    assert "Debian package" not in text and "Keras download" not in text


def _copy_official(tmp_path):
    for name in D.FILES.values():
        shutil.copy(os.path.join(D.DEBIAN_DIR, name), tmp_path / name)


def test_truncated_file_is_refused(tmp_path):
    _copy_official(tmp_path)
    path = tmp_path / D.FILES["y_test"]
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(DS.DataError, match="truncated"):
        D.load_fashion_mnist(str(tmp_path))


def test_changed_pixel_is_caught_by_the_checksum(tmp_path):
    _copy_official(tmp_path)
    path = tmp_path / D.FILES["x_test"]
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[1000] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DS.DataError, match="x_test: sha256"):
        D.load_fashion_mnist(str(tmp_path))


def test_a_folder_is_read_once_until_its_files_change(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "_VERIFIED", {})  # the session's arrays stay kept for the other tests
    _copy_official(tmp_path)
    first, source = D.load_fashion_mnist(str(tmp_path))
    again, _ = D.load_fashion_mnist(str(tmp_path))
    assert again["x_train"] is first["x_train"] and source == f"folder given ({tmp_path})"
    assert not first["x_train"].flags.writeable  # kept arrays cannot be changed by a caller
    path = tmp_path / D.FILES["y_test"]
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(DS.DataError, match="truncated"):
        D.load_fashion_mnist(str(tmp_path))


def test_not_gzip_is_refused(tmp_path):
    _copy_official(tmp_path)
    (tmp_path / D.FILES["x_train"]).write_bytes(b"not a gzip file")
    with pytest.raises(DS.DataError, match="cannot be read as gzip"):
        D.load_fashion_mnist(str(tmp_path))


def test_npz_round_trip(tmp_path, tiny_splits):
    tiny_splits.save_npz(tmp_path / "s.npz")
    back = DS.Splits.load_npz(tmp_path / "s.npz")
    assert np.array_equal(back.x_val, tiny_splits.x_val) and back.source == tiny_splits.source


def test_dataset_feeds_raw_pixels_in_batches(tiny_splits):
    # The models normalise in their first layer, so the pipeline feeds raw pixel values.
    ds = DS.to_dataset(tiny_splits.x_val, tiny_splits.y_val, batch_size=32)
    x, y = next(iter(ds))
    assert tuple(x.shape) == (32, 28, 28, 1) and tuple(y.shape) == (32,) and x.dtype == "float32"
    np.testing.assert_array_equal(x[0, ..., 0].numpy(), tiny_splits.x_val[0].astype("float32"))


def test_normalisation_is_measured_on_the_training_split(tiny_splits):
    x = tiny_splits.x_train.astype(np.float64)
    assert tiny_splits.mean == pytest.approx([x.mean()], rel=1e-9)
    assert tiny_splits.variance == pytest.approx([x.var()], rel=1e-9)
    assert tiny_splits.num_classes == 10 and tiny_splits.input_shape == (28, 28, 1)
