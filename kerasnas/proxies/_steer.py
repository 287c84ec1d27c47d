"""A proxy steering a search: of an oracle's random draws, the best-scoring one is proposed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kerasnas.proxies._prescreen import ProxyScore, first_images
from kerasnas.proxies._registry import PROXIES

if TYPE_CHECKING:
    import keras_tuner

    from kerasnas.datasets import Splits, StreamedSplits

STEER_IMAGES = 128  # the minibatch a steering proxy sees (NASWOT's paper: 128)


def steering_proxy(steer: str, space: keras_tuner.HyperModel) -> str | None:
    """The proxy that `steer` names for `space`, or None for no steering.

    "auto": the space's own `steering_proxy` (`kerasnas.spaces.ProxySteered`: the proxy
    measured to rank its members better than their parameter count), None for a space
    without one; "none": None; a name of `kerasnas.proxies.PROXIES`: that proxy.

    Raises:
        ValueError: for another name.
    """
    if steer == "auto":
        return getattr(space, "steering_proxy", None)
    if steer == "none":
        return None
    if steer not in PROXIES:
        raise ValueError(f"Received: steer={steer!r}; allowed: auto, none, {', '.join(PROXIES)}.")
    return steer


def steer(oracle: keras_tuner.Oracle, space: keras_tuner.HyperModel,
          data: Splits | StreamedSplits, *,
          proxy: str, pool: int, seed: int = 0) -> list[keras_tuner.Oracle]:
    """Lets `proxy` pick the random draws of `oracle` (and of a halving oracle's proposer).

    Each `steerable` oracle (kerasnas' random, evolution and `bayes`, whose random draws
    go through `pick_draw`; not Optuna's TPE, which draws itself) then proposes, of `pool`
    random draws, the one whose model `proxy` scores highest on the first `STEER_IMAGES`
    training images.

    Args:
        oracle: The search's oracle.
        space: The `keras_tuner.HyperModel` searched (built for the data already).
        data: kerasnas splits (`kerasnas.datasets.make_splits`).
        proxy: A name of `kerasnas.proxies.PROXIES`.
        pool: Draws compared for each random proposal (1: the proxy is not consulted).
        seed: Seed of every scored model's initial weights.

    Returns:
        The oracles steered (empty: none is `steerable`).

    Raises:
        ValueError: for an unknown proxy or a pool below 1.
    """
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
        raise ValueError(f"Received: pool={pool!r}; allowed: an int >= 1.")
    scorer = ProxyScore(space, proxy, first_images(data, STEER_IMAGES), seed=seed)
    steered = []
    for proposing in dict.fromkeys((oracle, getattr(oracle, "proposer", oracle))):
        if getattr(proposing, "steerable", False):
            proposing.proxy, proposing.proxy_pool = scorer, pool
            steered.append(proposing)
    return steered
