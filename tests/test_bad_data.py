"""The bad-data table: each case exits 1 with one clear message and writes nothing (through the
CLI in a subprocess in the full suite, and in this process in the fast tier: `tests.test_cli`)."""

import os

import numpy as np
import pytest
from _images import images, write_folder

from tests.test_cli import PROCESSES, exit_code_and_stderr


def _npz(path, **arrays):
    np.savez(path, **arrays)


def make_cases(tmp):
    """Builds every bad dataset under `tmp`."""
    x, y = images(10, classes=3, shape=(16, 16, 3))
    write_folder(tmp / "mixed", 4, classes=2, shape=(16, 16, 3))
    write_folder(tmp / "other", 1, classes=1, shape=(20, 16, 3))
    os.rename(tmp / "other" / "class_0" / "0000.png", tmp / "mixed" / "class_1" / "wide.png")
    (tmp / "empty").mkdir()
    write_folder(tmp / "emptyclass", 4, classes=2, shape=(16, 16, 3))
    (tmp / "emptyclass" / "class_2").mkdir()
    (tmp / "emptyclass" / "class_2" / "notes.txt").write_text("not an image")
    write_folder(tmp / "corrupt", 4, classes=2, shape=(16, 16, 3))
    png = tmp / "corrupt" / "class_1" / "0005.png"
    png.write_bytes(png.read_bytes()[:60])  # truncated
    _npz(tmp / "one_class.npz", x=x, y=np.zeros(len(y), dtype=int))
    _npz(tmp / "out_of_range.npz", x=x, y=y, x_test=x[:4], y_test=np.array([0, 1, 2, 7]))
    _npz(tmp / "negative.npz", x=x, y=np.where(y == 2, -1, y))
    _npz(tmp / "no_y.npz", x=x)
    _npz(tmp / "rgba.npz", x=np.zeros((30, 16, 16, 4), np.uint8), y=y)
    _npz(tmp / "test_shape.npz", x=x, y=y, x_test=x[:4, :8], y_test=y[:4])
    _npz(tmp / "tiny.npz", x=x[:, :6, :6], y=y)
    _npz(tmp / "ok.npz", x=x, y=y)
    _npz(tmp / "with_test.npz", x=x, y=y, x_test=x[:6], y_test=y[:6])


# (case, CLI args with {tmp}, words the message must contain)
BAD_DATA = [
    ("mixed image shapes", ["--dataset", "{tmp}/mixed"], "mixed image shapes"),
    ("empty folder", ["--dataset", "{tmp}/empty"], "no class subfolders"),
    ("empty class folder", ["--dataset", "{tmp}/emptyclass"], "class folder 'class_2' holds no images"),
    ("corrupt image file", ["--dataset", "{tmp}/corrupt"], "corrupt/class_1/0005.png: not a readable image"),
    ("single class", ["--dataset", "{tmp}/one_class.npz"], "only one class"),
    ("test label out of range", ["--dataset", "{tmp}/out_of_range.npz"], "test label 7 is out of range"),
    ("negative label", ["--dataset", "{tmp}/negative.npz"], "label -1 is out of range"),
    ("npz without y", ["--dataset", "{tmp}/no_y.npz"], "no array y"),
    ("4 channels", ["--dataset", "{tmp}/rgba.npz"], "4 channels; expected 1 (grayscale) or 3 (RGB)"),
    ("test images of another shape", ["--dataset", "{tmp}/test_shape.npz"], "mixed image shapes"),
    ("fewer images than the split sizes", ["--dataset", "{tmp}/ok.npz", "--train-size", "20",
                                           "--val-size", "10"], "is more than the 30 training images"),
    ("held-out test larger than the data", ["--dataset", "{tmp}/ok.npz", "--test-size", "25",
                                            "--val-size", "10"],
     "train_size + val_size + test_size = 35 is more than the 30"),
    ("test size with a given test split", ["--dataset", "{tmp}/with_test.npz", "--test-size", "5"],
     "has its own test split"),
    ("images too small for the space", ["--dataset", "{tmp}/tiny.npz", "--space", "nasbench201"],
     "6x6 images are too small"),
    ("no such dataset", ["--dataset", "{tmp}/nowhere"], "is no dataset"),
    ("unknown TFDS name", ["--dataset", "tfds:no_such_dataset_xyz"], "unknown TFDS dataset 'no_such_dataset_xyz'"),
    ("TFDS data not here, offline", ["--dataset", "tfds:mnist", "--data-dir", "{tmp}/empty"],
     "TFDS looked for 'mnist'"),
]


def _tree(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1)
                  for p in root.rglob("*"))


@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize("case, args, words", BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_one_clear_message_nothing_written(tmp_path, capsys, case, args, words, process):
    if "TFDS" in case:
        pytest.importorskip("tensorflow_datasets")
    make_cases(tmp_path)
    before = _tree(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    returncode, stderr = exit_code_and_stderr(process, capsys, *args, "--max-trials", "1",
                                              "--output-dir", str(tmp_path / "out"))
    assert returncode == 1, stderr[-2000:]
    assert words in stderr, stderr[-2000:]
    assert "Traceback" not in stderr
    assert _tree(tmp_path) == before  # nothing written
