"""The proxies by name, one signature for all: `score(name, model, images)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kerasnas.proxies._counts import flops, params
from kerasnas.proxies._naswot import naswot
from kerasnas.proxies._synflow import synflow

if TYPE_CHECKING:
    import keras
    import numpy as np

PROXIES = {
    "naswot": lambda model, images: naswot(model, images),
    "synflow": lambda model, images: synflow(model, images.shape[1:]),
    "params": lambda model, images: params(model),
    "flops": lambda model, images: flops(model),
}


def score(name: str, model: keras.Model, images: np.ndarray) -> float:
    """The proxy `name` of the untrained `model`, given a minibatch of its input `images`.

    Raises:
        ValueError: for an unknown proxy name.
    """
    if name not in PROXIES:
        raise ValueError(f"Received: proxy={name!r}; allowed: {', '.join(PROXIES)}.")
    return float(PROXIES[name](model, images))
