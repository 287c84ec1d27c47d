"""`measure_speed`: what a budget in minutes is planned from."""

import os
import types

from kerasnas.layers import estimate_flops
from kerasnas.methods.speed import Speed, build, measure_speed
from kerasnas.settings import SearchSettings
from kerasnas.spaces import ResNetSpace


def test_two_chunks_give_the_seconds_an_epoch_and_a_trials_fixed_cost(tmp_path, synthetic_splits):
    data = synthetic_splits
    space = ResNetSpace(stem_width=8, stages=1, kernel_size=3)
    space.for_data(input_shape=data.input_shape, num_classes=data.num_classes, mean=data.mean,
                   variance=data.variance)
    run = types.SimpleNamespace(settings=SearchSettings(batch_size=20), hypermodel=space, data=data,
                                directory=str(tmp_path))
    speed = measure_speed(run, space.hand_designed()[0], chunk=2, steps_per_epoch=10)
    assert isinstance(speed, Speed)
    parts = speed.to_dict()
    assert set(parts) == {"seconds_per_epoch", "seconds_per_trial", "trace_seconds",
                          "seconds_to_finish", "seconds_measuring", "flops"}
    assert all(value > 0 for key, value in parts.items() if key != "trace_seconds")
    assert speed.flops == estimate_flops(build(space, space.hand_designed()[0]))
    assert speed.trace_seconds >= 0
    # The measurement took at least its parts: a trial's fixed cost and two chunks of steps.
    assert speed.seconds_measuring >= speed.seconds_per_trial
    assert os.listdir(tmp_path) == []  # the saved model was a temporary file

