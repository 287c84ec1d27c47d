"""A search in its own process, for tests of chief/worker mode and of kill -9 / resume.

usage: _search_script.py DIR ROLE(none|chief|worker) WORKER_ID PORT SPACE(ok|failing) ORACLE TRIALS TIMEOUT
       [EPOCHS [EARLY_STOPPING]]
"""

import sys

import keras_tuner

from kerasnas import distributed
from kerasnas.datasets import make_splits
from kerasnas.progress import ConsoleReporter
from kerasnas.search import SearchStopped, search
from kerasnas.spaces.resnet import ResNetSpace

directory, role, worker_id, port, space, oracle, trials, timeout = sys.argv[1:9]
epochs = int(sys.argv[9]) if len(sys.argv) > 9 else 1
early_stopping = sys.argv[10] if len(sys.argv) > 10 else "none"
if role != "none":
    distributed.configure(role, f"127.0.0.1:{port}", worker_id)


class Failing(ResNetSpace):
    builds = 0

    def build(self, hp):
        # The tuner's first build only discovers the space; every trial's build fails.
        Failing.builds += 1
        if Failing.builds > 1:
            raise ValueError("this architecture cannot be built")
        return super().build(hp)


cls = Failing if space == "failing" else ResNetSpace
hypermodel = cls(stem_width=4, stages=2, blocks_per_stage=1, block_type="basic", kernel_size=3,
                 optimizer="adam",
                 dropout=keras_tuner.engine.hyperparameters.Choice("dropout", [0.0, 0.1, 0.2, 0.3, 0.4]),
                 learning_rate=keras_tuner.engine.hyperparameters.Choice("lr", [1e-3, 2e-3, 3e-3, 5e-3]))
data = make_splits(train_size=300, val_size=100, seed=0)
data.x_test, data.y_test = data.x_test[:100], data.y_test[:100]
try:
    search(hypermodel, oracle, data, max_trials=int(trials), epochs=epochs, batch_size=50,
           early_stopping=early_stopping,
           directory=directory, seed=0, resume=True if role == "none" else role == "chief",
           worker_timeout=float(timeout), reporter=ConsoleReporter(lambda line: print(line, flush=True)))
except SearchStopped as e:
    print(f"STOPPED: {e}", flush=True)
    sys.exit(3)
print("DONE", flush=True)
