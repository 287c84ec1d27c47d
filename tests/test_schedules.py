"""The per-trial learning-rate schedule: warm-up, cosine decay over the fit's steps."""

import math

import keras
import numpy as np
import pytest

from kerasnas.schedules import SCHEDULES, Constant, Cosine, WarmupCosine, as_schedule, make_schedule


class _Rates(keras.callbacks.Callback):
    """Records the optimizer's rate at each batch (runs after the schedule has set it)."""

    def on_train_begin(self, logs=None):
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def _fit(callbacks, epochs=2, samples=40, batch_size=4):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    x = np.zeros((samples, 3), "float32")
    y = np.zeros(samples, "int32")
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=callbacks)
    return model


def test_warm_up_then_cosine_over_all_steps_of_the_fit_peaking_at_the_compiled_rate():
    rates = _Rates()
    model = _fit([WarmupCosine(warmup_fraction=0.1), rates])  # 2 epochs x 10 steps
    assert len(rates.rates) == 20
    warmup = [0.01 * (k + 1) / 2 for k in range(2)]
    decay = [0.01 * 0.5 * (1 + math.cos(math.pi * k / 18)) for k in range(18)]
    assert rates.rates == pytest.approx(warmup + decay, rel=1e-6)
    # The saved model keeps the compiled (peak) rate.
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.01)


def test_set_span_gives_the_fits_factors_outside_keras():
    # benchmarks/paired.py drives a PyTorch loop with these factors: they must be the fit's.
    rates = _Rates()
    _fit([WarmupCosine(warmup_fraction=0.1), rates])  # 20 steps
    schedule = WarmupCosine(warmup_fraction=0.1)
    schedule.set_span(20)
    assert [0.01 * schedule.factor(step) for step in range(20)] == pytest.approx(rates.rates, rel=1e-6)


def test_constant_adds_no_callback_and_unknown_names_are_refused():
    assert make_schedule("constant") is None
    assert isinstance(make_schedule("cosine"), WarmupCosine)
    with pytest.raises(ValueError, match="Unknown lr_schedule 'linear'. Choose one of: cosine, constant"):
        make_schedule("linear")
    with pytest.raises(ValueError, match="warmup_fraction"):
        WarmupCosine(warmup_fraction=1.0)


def test_names_map_to_schedules_and_a_schedule_object_is_taken_as_is():
    from kerasnas import settings

    assert tuple(SCHEDULES) == settings.SCHEDULES  # the CLI's names
    assert isinstance(as_schedule("constant"), Constant) and Constant().callback() is None
    assert isinstance(as_schedule("cosine"), Cosine) and as_schedule("cosine").get_config() == {
        "warmup_fraction": 0.1}
    mine = Cosine(warmup_fraction=0.25)
    assert as_schedule(mine) is mine and repr(mine) == "Cosine(warmup_fraction=0.25)"
    a, b = mine.callback(), mine.callback()
    assert isinstance(a, WarmupCosine) and a is not b and a.warmup_fraction == 0.25  # one per trial
    assert make_schedule(mine).warmup_fraction == 0.25
    with pytest.raises(ValueError, match="warmup_fraction"):
        Cosine(warmup_fraction=-0.1)
    with pytest.raises(ValueError, match="Unknown lr_schedule None. Choose one of: cosine, constant"):
        as_schedule(None)
