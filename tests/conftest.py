"""Shared fixtures: the real Fashion-MNIST, loaded once, and tiny stratified splits of it."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


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
