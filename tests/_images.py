"""Tiny generated image datasets for the dataset tests: PNG folders, .npz, arrays."""

import os

import numpy as np


def images(n_per_class, classes=3, shape=(32, 32, 3), seed=0):
    """uint8 images (n, h, w[, c]) whose class sets the mean brightness of one colour, and labels."""
    rng = np.random.default_rng(seed)
    x, y = [], []
    for c in range(classes):
        base = np.zeros(shape, dtype=np.float64) + 40.0
        if len(shape) == 3:
            base[..., c % shape[-1]] += 60.0 * (1 + c)
        else:
            base += 60.0 * (1 + c)
        for _ in range(n_per_class):
            x.append(np.clip(base + rng.normal(0, 20, shape), 0, 255).astype(np.uint8))
            y.append(c)
    return np.stack(x), np.array(y, dtype=np.int64)


def write_folder(root, n_per_class, classes=3, shape=(32, 32, 3), seed=0):
    """A folder of class subfolders of PNGs (class_0, class_1, ...); returns (x, y) written."""
    from PIL import Image

    x, y = images(n_per_class, classes, shape, seed)
    for i, (image, label) in enumerate(zip(x, y)):
        folder = os.path.join(root, f"class_{label}")
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image).save(
            os.path.join(folder, f"{i:04d}.png"))
    return x, y


def learnable(n_per_class, classes=10, shape=(28, 28), seed=0):
    """uint8 images of `classes` classes a small CNN tells apart within an epoch, and labels.

    Class c is a bright horizontal band whose row and brightness both grow with c, on
    noise: the row for models that keep positions, the brightness for those that pool it away.
    """
    rng = np.random.default_rng(seed)
    rows = np.linspace(2, shape[0] - 5, classes).round().astype(int)
    x = rng.normal(40.0, 15.0, (classes * n_per_class, *shape))
    y = np.repeat(np.arange(classes), n_per_class)
    for c in range(classes):
        x[y == c, rows[c]:rows[c] + 3] += 80.0 + 12.0 * c
    order = rng.permutation(len(y))
    return np.clip(x[order], 0, 255).astype(np.uint8), y[order]
