"""A search on the Ray engine in its own process, for the driver kill -9 / --resume test.

usage: _ray_search_script.py DIR TRIALS EPOCHS RESUME(0|1)
"""

import sys

from _images import learnable

from kerasnas.datasets import make_splits
from kerasnas.progress import ConsoleReporter
from kerasnas.search import search
from kerasnas.spaces.resnet import ResNetSpace

directory, trials, epochs, resume = sys.argv[1:5]
x, y = learnable(60, seed=0)
data = make_splits((x, y, x[:50], y[:50]), train_size=500, val_size=100, seed=0)
search(ResNetSpace(stages=1, blocks_per_stage=1), "random", data, max_trials=int(trials),
       epochs=int(epochs), seed=0, directory=directory, resume=resume == "1",
       reporter=ConsoleReporter(), engine="ray", cpus_per_trial=2)
