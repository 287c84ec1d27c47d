"""What every space shares: input/output contract, the optimizer knobs, compile."""

import keras
from keras_tuner.engine import hyperparameters as hp_types

from kerasnas.spaces._knobs import check_knob, tune

OPTIMIZERS = ("adam", "sgd")


class SpaceBase:
    """Validates and stores the knobs shared by every space.

    Subclasses are `keras_tuner.HyperModel`s; they call `super().__init__`
    with the common keyword arguments and use `self.compile(hp, model)`.
    """

    def _init_common(self, *, input_shape, num_classes, optimizer, learning_rate):
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

    def compile(self, hp, model):
        """Declares the optimizer knobs (momentum only for SGD) and compiles."""
        name = tune(hp, "optimizer", self.optimizer, hp_types.Choice("optimizer", list(OPTIMIZERS)))
        lr = tune(
            hp,
            "learning_rate",
            self.learning_rate,
            hp_types.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3),
        )
        if not isinstance(self.optimizer, hp_types.HyperParameter) and self.optimizer is not None:
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

    def describe(self, values):
        """A short text for the architecture in `values` (overridden by cell spaces)."""
        return ""
