"""How fast this machine trains one of the space's models: what turns minutes into epochs.

A budget on the wall clock (`BudgetedSearch(budget_minutes=...)`) is planned in
epochs (`kerasnas.budget_plan.plan_for_seconds`) from one short measurement:
the first known-good member (else the space's defaults) trains two chunks of
the training split; the second chunk's time gives the seconds an epoch, the
rest a trial's fixed cost. Candidates of other sizes train at other speeds:
their epochs in each rung are scaled by their FLOPs relative to the measured
model's, and the winner's last rung is sized from its own measured speed and
the time left.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kerasnas.run_folder import Run


@dataclasses.dataclass(frozen=True)
class Speed:
    """Measured seconds.

    Attributes:
        seconds_per_epoch: Training one epoch of the training split, once traced,
            with its checkpoint.
        seconds_per_trial: A trial's fixed cost: build, trace, validate, save.
        trace_seconds: The part of a trial's training time that is not steps
            (the first call's tracing): left out of a trial's measured speed.
        seconds_to_finish: The one test and the saved model at the end.
        seconds_measuring: What this measurement took (it counts in the budget).
        flops: The measured model's multiply-accumulates an image
            (`kerasnas.layers.estimate_flops`): other candidates' epochs are
            scaled by theirs relative to it.
    """

    seconds_per_epoch: float
    seconds_per_trial: float
    trace_seconds: float
    seconds_to_finish: float
    seconds_measuring: float
    flops: float

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    def after_training(self, scale: float = 1.0) -> float:
        """Seconds after a trial's steps until the run ends: its validation and save, then the
        final test, for a model `scale` times as costly as the measured one."""
        return (self.seconds_per_trial - self.trace_seconds + self.seconds_to_finish) * scale


def build(hypermodel: Any, values: dict[str, Any]) -> Any:
    """`hypermodel`'s model for fixed `values` (preset values win over the defaults the build
    registers; other knobs take their defaults)."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    return hypermodel.build(hp)


def measure_speed(run: Run, values: dict[str, Any], *, chunk: int, steps_per_epoch: int) -> Speed:
    """Trains `values`' model for two chunks of `chunk` steps, validates, tests and saves it once."""
    import keras

    from kerasnas.layers import estimate_flops
    from kerasnas.schedules import StepScheduled

    s = run.settings
    started = time.time()
    keras.utils.set_random_seed(s.seed)
    keras.backend.clear_session()
    model = build(run.hypermodel, values)
    built = time.time() - started
    times: list[float] = []

    class _Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.time()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.time() - self.began)

    stream = run.data.stream("train", batch_size=s.batch_size, seed=s.seed)
    # A trial's per-step schedule callback reads the step count every batch: timed with it.
    steps = StepScheduled(lambda step: 1.0)
    model.fit(stream, steps_per_epoch=chunk, epochs=2, verbose=0, callbacks=[steps, _Timer()])
    clock = time.time()
    model.evaluate(run.data.dataset("val", batch_size=s.batch_size), verbose=0)
    validate = time.time() - clock
    clock = time.time()
    model.evaluate(run.data.dataset("test", batch_size=s.batch_size), verbose=0)
    test = time.time() - clock
    with tempfile.TemporaryDirectory(dir=run.directory) as folder:
        clock = time.time()
        model.save(os.path.join(folder, "model.keras"))
        save = time.time() - clock
    trace = max(0.0, times[0] - times[1])
    # A trial saves a checkpoint once an epoch (`ContinuingTuner`): part of an epoch's time.
    return Speed(seconds_per_epoch=times[1] * steps_per_epoch / chunk + save,
                 seconds_per_trial=built + trace + validate + save, trace_seconds=trace,
                 seconds_to_finish=test + save, seconds_measuring=time.time() - started,
                 flops=float(estimate_flops(model)))
