"""Shared fixtures: generated splits for tests where the data is not the point, and the real
Fashion-MNIST (loaded once) with tiny stratified splits of it for the tests about it."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Under pytest-xdist (scripts/test.sh runs one worker a core) each worker's TensorFlow, and the
# processes it starts, get a core's share of threads, so workers do not oversubscribe the cores.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _var in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_var, str(_share))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_splits():
    """200 training, 50 validation and 50 test images (20 / 5 / 5 per class): 28x28x1 uint8 of 10
    classes a small CNN learns in an epoch (`_images.learnable`), split by `make_splits` as any
    arrays are. No file is read: the fast tests do not need Fashion-MNIST."""
    from _images import learnable

    from kerasnas.datasets import make_splits

    x, y = learnable(25, seed=0)
    x_test, y_test = learnable(5, seed=1)
    return make_splits((x, y, x_test, y_test), train_size=200, val_size=50, seed=0)


@pytest.fixture(scope="session")
def fashion_arrays():
    """The verified official arrays, found offline (no download); kept in memory for the session."""
    from kerasnas.datasets import load_fashion_mnist

    arrays, _ = load_fashion_mnist(allow_download=False)
    return arrays


@pytest.fixture(scope="session")
def tiny_splits(fashion_arrays):
    """300 training and 100 validation images (30 / 10 per class), the full test set cut to 200.

    `make_splits` finds the arrays `fashion_arrays` verified in memory: the files are read once.
    """
    from kerasnas.datasets import make_splits

    splits = make_splits(train_size=300, val_size=100, seed=0)
    splits.x_test, splits.y_test = splits.x_test[:200], splits.y_test[:200]
    return splits
