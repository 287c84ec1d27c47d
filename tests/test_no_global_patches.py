"""Importing kerasnas, and running its chief/worker helpers, leaves KerasTuner as it was."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SNAPSHOT = r'''
import inspect, sys
import keras_tuner
from keras_tuner.src import utils
from keras_tuner.src.engine import (base_tuner, conditions, hyperparameters, oracle, stateful,
                                    trial, tuner)
from keras_tuner.src.distribute import oracle_chief, oracle_client

def snapshot():
    out = {}
    for module in (utils, base_tuner, conditions, oracle, stateful, trial, tuner, oracle_chief,
                   oracle_client, keras_tuner.oracles, keras_tuner.tuners):
        for name, value in vars(module).items():
            out[(module.__name__, name)] = id(value)
            if inspect.isclass(value):
                for attr, member in vars(value).items():
                    out[(module.__name__, name, attr)] = id(member)
    return out

before = snapshot()
import kerasnas, kerasnas.search, kerasnas.run, kerasnas.run_folder, kerasnas.tuner
import kerasnas.oracles, kerasnas.spaces, kerasnas.distributed, kerasnas.report
kerasnas.distributed.configure("worker", "127.0.0.1:1", "tuner0")
with kerasnas.distributed.quiet_debug_print():
    inside = conditions.Parent.__dict__["to_proto"]
changed = sorted(str(k) for k, v in snapshot().items() if k in before and before[k] != v)
print("CHANGED", changed)
print("SCOPED", inside is not conditions.Parent.__dict__["to_proto"])
'''


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow
def test_importing_kerasnas_leaves_keras_tuner_unchanged():
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KERASTUNER_ORACLE_IP", None)
    r = subprocess.run([sys.executable, "-c", SNAPSHOT], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "CHANGED []" in r.stdout, r.stdout
    assert "SCOPED True" in r.stdout  # the one patch applies inside its block only
