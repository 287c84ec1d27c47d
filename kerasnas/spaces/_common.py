"""What every space shares: input/output contract, the optimizer knobs, compile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
from keras_tuner.engine import hyperparameters as hp_types

from kerasnas._config import config_of
from kerasnas.layers import normalise
from kerasnas.spaces._knobs import Knob, check_knob, tune

if TYPE_CHECKING:
    import keras_tuner
    from typing_extensions import Self

OPTIMIZERS = ("adam", "sgd")
# Default log-uniform learning-rate ranges (low, high, default) per optimizer:
# SGD with momentum takes steps 10-100x Adam's, so one shared range would
# leave SGD trials at chance accuracy or Adam trials diverging.
# Adam's starts at 5e-4: in a 1-epoch trial with the warm-up/cosine schedule, 1e-4
# reached 45.9 % against 70.7 % at 5e-4 and 77.1 % at 3e-3 (reports/recipes.md).
LEARNING_RATES = {"adam": (5e-4, 1e-2, 2e-3), "sgd": (3e-3, 0.3, 0.05)}
CHANNELS = (1, 3)  # grayscale or RGB
MAX_SIDE = 512  # larger images: resize them (image_size) or widen this on a big accelerator


def default_learning_rate(name: str, optimizer: str) -> hp_types.Float:
    low, high, default = LEARNING_RATES[optimizer]
    return hp_types.Float(name, low, high, sampling="log", default=default)


class SpaceBase:
    """Validates and stores the knobs shared by every space; `for_data` and `get_config`.

    Subclasses are also `keras_tuner.HyperModel`s (`class S(SpaceBase,
    keras_tuner.HyperModel)`): their `__init__` calls
    `keras_tuner.HyperModel.__init__(self, name=name)`, then
    `self._init_common(...)` with the common keyword arguments, and their
    `build` ends with `self.compile(hp, model)`. They write their own
    `describe(values)` (`kerasnas.spaces.protocol.Describable`).
    """

    # (mean, variance) per channel; set from the data by `for_data`
    normalization: tuple[list[float], list[float]] | None = None
    name: str  # keras_tuner.HyperModel's
    input_shape: tuple[int, ...]
    num_classes: int
    optimizer: Knob[str]
    learning_rate: Knob[float]

    def _init_common(self, *, input_shape: tuple[int, ...], num_classes: int,
                     optimizer: Knob[str], learning_rate: Knob[float]) -> None:
        if len(tuple(input_shape)) != 3:
            raise ValueError(
                f"`input_shape` must be (height, width, channels); got {input_shape!r}."
            )
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"`num_classes` must be an int >= 2; got {num_classes!r}.")
        check_knob("optimizer", optimizer, lambda v: v in OPTIMIZERS, f"one of {OPTIMIZERS}")
        check_knob("learning_rate", learning_rate, lambda v: 0 < v < 1, "a float in (0, 1)")
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.optimizer = optimizer
        self.learning_rate = learning_rate

    def max_reductions(self) -> int:
        """The most times any model of the space halves the resolution (subclasses say)."""
        return 0

    def check_input_shape(self, input_shape: tuple[int, ...]) -> None:
        """Refuses image shapes outside the space's limits, saying which and why.

        Sides from 2 * 2**r (r = the most reductions of the space: the last
        feature map stays at least 2x2) up to `MAX_SIDE`; 1 or 3 channels.

        Raises:
            ValueError: naming the shape, the limit and the fix.
        """
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"`input_shape` must be (height, width, channels); got {input_shape!r}.")
        height, width, channels = shape
        if channels not in CHANNELS:
            raise ValueError(f"{self.name}: images with {channels} channels; expected 1 (grayscale) "
                             "or 3 (RGB).")
        r = self.max_reductions()
        low = 2 * 2**r
        if min(height, width) < low:
            raise ValueError(
                f"{self.name}: {height}x{width} images are too small: up to {r} reductions "
                f"(halvings) need at least {low}x{low}. Resize them (--image-size) or pin fewer "
                "reductions (e.g. --space-option reductions=1 / stages=2).")
        if max(height, width) > MAX_SIDE:
            raise ValueError(f"{self.name}: {height}x{width} images are larger than the "
                             f"{MAX_SIDE}x{MAX_SIDE} this space allows; resize them (--image-size).")

    def for_data(self, *, input_shape: tuple[int, ...], num_classes: int, mean: list[float],
                 variance: list[float]) -> Self:
        """Takes the input shape, the classes and the normalisation from the data.

        Args:
            input_shape: (height, width, channels) of the training images.
            num_classes: Number of classes.
            mean: Per-channel mean of the training images' raw pixels.
            variance: Per-channel variance of them.

        Raises:
            ValueError: for a shape outside the space's limits.
        """
        self.check_input_shape(input_shape)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"`num_classes` must be an int >= 2; got {num_classes!r}.")
        self.input_shape = tuple(int(d) for d in input_shape)
        self.num_classes = num_classes
        self.normalization = ([float(m) for m in mean], [float(v) for v in variance])
        return self

    def preprocess(self, inputs: keras.KerasTensor) -> keras.KerasTensor:
        """The normalisation layer in front of every model (`kerasnas.layers.normalise`)."""
        return normalise(inputs, self.normalization)

    def compile(self, hp: keras_tuner.HyperParameters, model: keras.Model) -> keras.Model:
        """Declares the optimizer knobs (momentum only for SGD) and compiles."""
        name = tune(hp, "optimizer", self.optimizer, hp_types.Choice("optimizer", list(OPTIMIZERS)))
        pinned = not isinstance(self.optimizer, hp_types.HyperParameter) and self.optimizer is not None
        if pinned or self.learning_rate is not None:
            lr = tune(hp, "learning_rate", self.learning_rate, default_learning_rate("learning_rate", name))
        else:
            # Searched optimizer, default rates: one range per optimizer, each
            # active only with its optimizer (`learning_rate` is Adam's).
            with hp.conditional_scope("optimizer", ["adam"]):
                adam_lr = tune(hp, "learning_rate", None, default_learning_rate("learning_rate", "adam"))
            with hp.conditional_scope("optimizer", ["sgd"]):
                sgd_lr = tune(hp, "sgd_learning_rate", None,
                              default_learning_rate("sgd_learning_rate", "sgd"))
            lr = sgd_lr if name == "sgd" else adam_lr
        if pinned:
            # Pinned optimizer: momentum is a plain knob of SGD only.
            momentum = hp.Float("momentum", 0.5, 0.99, default=0.9) if name == "sgd" else None
        else:
            # Declared in a conditional scope up front, so every oracle sees it
            # from the first trial, active only when SGD is chosen.
            with hp.conditional_scope("optimizer", ["sgd"]):
                momentum = hp.Float("momentum", 0.5, 0.99, default=0.9)
        if name == "sgd":
            opt = keras.optimizers.SGD(learning_rate=lr, momentum=momentum or 0.0, nesterov=True)
        else:
            opt = keras.optimizers.Adam(learning_rate=lr)
        # Keras 3: keywords only (the third positional argument is loss_weights).
        model.compile(
            optimizer=opt,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def searched(self, design: dict[str, Any]) -> dict[str, Any]:
        """`design`'s values for the knobs this space searches (None or a hyperparameter):
        a hand design leaves a pinned knob out."""
        return {k: v for k, v in design.items() if getattr(self, k) is None
                or isinstance(getattr(self, k), hp_types.HyperParameter)}

    def hand_designed_training(self) -> dict[str, Any]:
        """The recipe hand designs here train with: Adam at 3e-3 where the optimizer is searched.

        Adam 3e-3 with warm-up and decay was the best short-training recipe
        measured for these spaces (`reports/recipes.md`).
        """
        values: dict[str, Any] = {}
        searched = self.optimizer is None or isinstance(self.optimizer, hp_types.HyperParameter)
        if searched:
            values["optimizer"] = "adam"
        if self.learning_rate is None and (searched or self.optimizer == "adam"):
            values["learning_rate"] = 3e-3
        return values

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (as Keras layers and AutoKeras blocks).

        A run stores it in run.json and refuses a resume with another one.
        Hyperparameter knobs appear with their ranges, operations by their
        functions' qualified names.
        """
        return config_of(self)
