"""One process of a chief + workers KerasTuner search with AgingEvolutionOracle (test helper).

Usage: python _distributed_search.py <directory> <max_trials>; the role comes from
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_tuner  # noqa: E402
from keras_tuner.src.distribute import oracle_chief  # noqa: E402

from kerasnas.oracles import AgingEvolutionOracle  # noqa: E402


class _Seconds:
    """KerasTuner's chief re-checks every 20 s whether the workers are gone; check each 0.2 s."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        time.sleep(min(seconds, 0.2))


class CheapTuner(keras_tuner.Tuner):
    """Scores values with a formula: no model is built or trained.

    KerasTuner's chief exits once every worker it knows has been told STOPPED:
    a worker that asks after a faster one took all trials finds no chief. So
    each worker's first trial waits until both workers hold one.
    """

    barrier = None

    def run_trial(self, trial, *args, **kwargs):
        if self.barrier is not None:
            open(os.path.join(self.barrier, self.tuner_id), "w").close()
            deadline = time.monotonic() + 60
            while len(os.listdir(self.barrier)) < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError("The other worker never started a trial.")
                time.sleep(0.05)
            self.barrier = None
        hp = trial.hyperparameters
        return {"score": hp.get("a") * 10 + hp.get("b") + (hp.get("d") if hp.get("c") else 0)}


def main(directory, max_trials):
    hp = keras_tuner.HyperParameters()
    hp.Choice("a", [0, 1, 2, 3])
    hp.Int("b", 0, 9)
    hp.Boolean("c")
    with hp.conditional_scope("c", [True]):
        hp.Choice("d", [1, 2, 3])
    oracle = AgingEvolutionOracle(objective=keras_tuner.Objective("score", "max"),
                                  max_trials=max_trials, seed=1, hyperparameters=hp)
    role = os.environ["KERASTUNER_TUNER_ID"]
    oracle_chief.time = _Seconds()
    # Each process its own folder: a worker must not share (or overwrite) the chief's.
    tuner = CheapTuner(oracle=oracle, directory=os.path.join(directory, role), project_name="p",
                       overwrite=False)
    tuner.barrier = os.path.join(directory, "started")
    os.makedirs(tuner.barrier, exist_ok=True)
    tuner.search(verbose=0)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
