"""Training-free pre-screening: many candidates of a space, scored at initialisation, ranked."""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from kerasnas.proxies._registry import PROXIES, score

if TYPE_CHECKING:
    import keras_tuner

    from kerasnas.datasets import Splits


@dataclasses.dataclass
class Candidate:
    """One screened hyperparameter set: its values, proxy score and cost.

    `seconds` is the build plus the scoring, what screening it cost.
    """

    values: dict
    score: float
    seconds: float
    description: str = ""


def sample_values(space: keras_tuner.HyperModel, count: int, *,
                  seed: int = 0) -> list[dict[str, Any]]:
    """`count` distinct hyperparameter sets of `space`, drawn by KerasTuner's random search.

    A `keras_tuner.Tuner` declares the space (building the model until every conditional
    scope has been active, as a search does), then the random oracle draws the sets.
    Draws are seeded and prefix-stable: the first k of `count` are those of k.

    Args:
        space: A `keras_tuner.HyperModel` (e.g. `kerasnas.spaces.get_space(name)`).
        count: How many sets; fewer come back if the space has fewer distinct ones.
        seed: The oracle's seed.

    Raises:
        ValueError: for `count` < 1.
    """
    import keras_tuner

    from kerasnas.oracles import RandomOracle

    if not isinstance(count, int) or count < 1:
        raise ValueError(f"Received: count={count!r}; allowed: an int >= 1.")
    oracle = RandomOracle(objective="val_accuracy", max_trials=count, seed=seed)
    oracle.verbose = 0
    draws: list[dict] = []
    with tempfile.TemporaryDirectory() as directory:
        keras_tuner.Tuner(oracle=oracle, hypermodel=space, directory=directory,
                          project_name="prescreen", overwrite=True)
        while len(draws) < count:
            # One tuner id per draw: an oracle hands a tuner its running trial again.
            trial = oracle.create_trial(f"prescreen-{len(draws)}")
            if trial.status != "RUNNING":
                break
            draws.append(dict(trial.hyperparameters.values))
    return draws


def first_images(data, count):
    """The first `count` training images of kerasnas splits, float32 raw pixels (n, h, w, c)."""
    images, _ = next(iter(data.dataset("train", batch_size=count)))
    return np.asarray(images, dtype="float32")


def build(space, values, *, seed=0):
    """The model of `values` in `space`, from a fresh Keras session seeded with `seed`.

    The score of a candidate then depends on its values and the seed only, not on
    what was built before it.
    """
    import keras
    import keras_tuner

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)  # the declared hyperparameters take these, not their defaults
    return space.build(hp)


class ProxyScore:
    """The proxy's score of the untrained model `space` builds from a trial's values.

    Every model is built from a fresh Keras session seeded with `seed` (`build`), so a
    score depends on the values and the seed only, and a resumed search scores as an
    uninterrupted one did.
    """

    def __init__(self, space: keras_tuner.HyperModel, proxy: str, images: np.ndarray, *,
                 seed: int = 0):
        if proxy not in PROXIES:
            raise ValueError(f"Received: proxy={proxy!r}; allowed: {', '.join(PROXIES)}.")
        self.space, self.proxy, self.images, self.seed = space, proxy, images, seed

    def __call__(self, values: dict[str, Any]) -> float:
        architecture = {k: v for k, v in values.items() if not k.startswith("tuner/")}
        return score(self.proxy, build(self.space, architecture, seed=self.seed), self.images)


def prescreen(space: str | keras_tuner.HyperModel, data: Splits, *, proxy: str = "naswot",
              candidates: int = 100, images: int = 64, seed: int = 0) -> list[Candidate]:
    """Scores `candidates` random hyperparameter sets of `space` at initialisation and ranks them.

    Args:
        space: A space name (`kerasnas.spaces.get_space`) or a `keras_tuner.HyperModel`;
            a kerasnas space takes its input shape, classes and normalisation from `data`.
        data: kerasnas splits (`kerasnas.datasets.make_splits`): the first `images`
            training images score every candidate.
        proxy: A name in `kerasnas.proxies.PROXIES`.
        candidates: How many sets to draw (`sample_values`).
        images: The minibatch the proxy sees.
        seed: Seed of the draws and of every candidate's initial weights.

    Returns:
        A list of `Candidate`, best (highest score) first; NaN scores last.

    Raises:
        ValueError: for an unknown proxy or space name.
    """
    from kerasnas.spaces import get_space

    if isinstance(space, str):
        space = get_space(space)
    if hasattr(space, "for_data"):
        space.for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                       mean=data.mean, variance=data.variance)
    scorer = ProxyScore(space, proxy, first_images(data, images), seed=seed)  # checks `proxy`
    screened = []
    for values in sample_values(space, candidates, seed=seed):
        start = time.perf_counter()
        value = scorer(values)
        describe = getattr(space, "describe", None)
        screened.append(Candidate(values, value, time.perf_counter() - start,
                                  describe(values) if describe else ""))
    return sorted(screened, key=lambda c: (math.isnan(c.score), -c.score))
