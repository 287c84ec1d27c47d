"""The proxies by name, one signature for all: `score(name, model, images)`."""

from kerasnas.proxies._counts import flops, params
from kerasnas.proxies._naswot import naswot
from kerasnas.proxies._synflow import synflow

PROXIES = {
    "naswot": lambda model, images: naswot(model, images),
    "synflow": lambda model, images: synflow(model, images.shape[1:]),
    "params": lambda model, images: params(model),
    "flops": lambda model, images: flops(model),
}


def score(name: str, model, images) -> float:
    """The proxy `name` of the untrained `model`, given a minibatch of its input `images`.

    Raises:
        ValueError: for an unknown proxy name.
    """
    if name not in PROXIES:
        raise ValueError(f"Received: proxy={name!r}; allowed: {', '.join(PROXIES)}.")
    return float(PROXIES[name](model, images))
