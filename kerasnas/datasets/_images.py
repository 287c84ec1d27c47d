"""Resizing uint8 images, shared by every source that resizes (arrays, folders, TFDS)."""

import numpy as np


def resize(x: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """uint8 images (n, h, w, c) resized (bilinear, as tf.image.resize), rounded back to uint8."""
    import tensorflow as tf

    out = np.empty((len(x), *image_size, x.shape[-1]), dtype=np.uint8)
    for start in range(0, len(x), 1024):
        part = tf.image.resize(x[start:start + 1024], image_size).numpy()
        out[start:start + 1024] = np.round(np.clip(part, 0, 255))
    return out
