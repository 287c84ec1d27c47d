"""Every space x oracle: a tiny search end to end on one Keras backend (one process a backend).

    python -m benchmarks.backend_matrix jax      # and torch, tensorflow

2 trials x 1 epoch on 200 / 100 Fashion-MNIST images with small knobs; prints one line per
pair (completed trials, seconds, or the error) and a JSON summary line.
"""

import json
import sys
import tempfile
import time

SMALL = {"resnet": {"stem_width": 8, "stages": 2}, "custom": {"stem_width": 8},
         "nasbench201": {"channels": 4, "cells_per_stage": 1}}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    backend = argv[0] if argv else "tensorflow"
    from kerasnas.backends import select

    select(backend)  # before Keras is imported (by the imports below)
    from kerasnas.datasets import make_splits
    from kerasnas.oracles import ORACLES
    from kerasnas.progress import Reporter
    from kerasnas.search import search

    data = make_splits(train_size=200, val_size=100, seed=0)
    data.x_test, data.y_test = data.x_test[:100], data.y_test[:100]
    summary = {}
    for space, options in SMALL.items():
        for oracle in ORACLES:
            start = time.time()
            try:
                result = search(space, oracle, data, max_trials=2, epochs=1, seed=0,
                                directory=tempfile.mkdtemp(), reporter=Reporter(),
                                space_options=options)
                outcome = f"{result.summary['trials_completed']} completed"
            except Exception as e:  # noqa: BLE001 - the matrix reports every failure
                outcome = f"FAILED: {type(e).__name__}: {str(e)[:200]}"
            summary[f"{space} x {oracle}"] = outcome
            print(f"{backend} {space} x {oracle}: {outcome}, {time.time() - start:.0f} s", flush=True)
    print(json.dumps({"backend": backend, "results": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
