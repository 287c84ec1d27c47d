"""An NNI HPO trial training one model of a kerasnas (Keras) space.

NNI's tuner proposes the values (`nni.get_next_parameter()`), this script
builds the kerasnas space with them, trains and scores it exactly as
`kerasnas.search` does (tf.data input, seed, epochs), saves the model and
reports the validation accuracy (`nni.report_final_result`).
`nni_search_space` converts a kerasnas space's KerasTuner hyperparameters to
NNI's search-space JSON.
"""

import argparse
import json
import math
import os


def space_for(name, scale):
    from benchmarks.comparison.frameworks.kerasnas_runner import space_options
    from kerasnas.spaces import get_space

    return get_space(name, **space_options(name, scale))


def declared(space):
    """The space's hyperparameters with defaults (one build registers them all)."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    space.build(hp)
    return hp


def nni_search_space(name, scale):
    """NNI's JSON for a kerasnas space: Choice/Int/stepped Float/Boolean -> choice, else (log)uniform.

    Conditions are dropped (NNI's HPO JSON nests them differently): an inactive
    value, e.g. momentum under Adam, is sampled and ignored, as in KerasTuner.
    """
    out = {}
    for hp in declared(space_for(name, scale)).space:
        kind = type(hp).__name__
        if kind == "Choice":
            out[hp.name] = {"_type": "choice", "_value": list(hp.values)}
        elif kind == "Boolean":
            out[hp.name] = {"_type": "choice", "_value": [False, True]}
        elif kind == "Int":
            out[hp.name] = {"_type": "choice", "_value": list(range(hp.min_value, hp.max_value + 1,
                                                                    hp.step or 1))}
        elif kind == "Float" and hp.step:
            n = int(round((hp.max_value - hp.min_value) / hp.step))
            out[hp.name] = {"_type": "choice",
                            "_value": [round(hp.min_value + i * hp.step, 10) for i in range(n + 1)]}
        elif kind == "Float":
            log = hp.sampling == "log"
            out[hp.name] = {"_type": "loguniform" if log else "uniform",
                            "_value": [hp.min_value, hp.max_value]}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    for flag in ("--data", "--space", "--scale", "--records"):
        p.add_argument(flag, required=True)
    for flag in ("--epochs", "--batch-size", "--seed", "--threads"):
        p.add_argument(flag, type=int, required=True)
    args = p.parse_args()
    from benchmarks.comparison.frameworks import _common

    _common.set_threads(args.threads)
    import keras
    import nni

    from kerasnas.datasets import Splits

    _common.set_threads(args.threads)
    params = nni.get_next_parameter()
    trial = nni.get_trial_id()
    data = Splits.load_npz(args.data)
    space = space_for(args.space, args.scale)
    space.for_data(input_shape=data.input_shape, num_classes=data.num_classes, mean=data.mean,
                   variance=data.variance)  # the model normalises raw pixels, as in a search
    hp = declared(space)
    hp.values.update(params)
    keras.utils.set_random_seed(args.seed + nni.get_sequence_id())
    model = space.build(hp)
    history, start, end = _common.fit_keras(model, data, epochs=args.epochs,
                                            batch_size=args.batch_size, seed=args.seed, raw=True)
    acc = float(history.history["val_accuracy"][-1])
    os.makedirs(args.records, exist_ok=True)
    model.save(os.path.join(args.records, f"{trial}.keras"))
    with open(os.path.join(args.records, f"{trial}.json"), "w") as f:
        json.dump({"trial": trial, "start": start, "end": end, "seconds": end - start,
                   "val_accuracy": acc if math.isfinite(acc) else None, "sample": params}, f)
    nni.report_final_result(acc)


def test_best(records, records_dir, data_path, batch_size):
    """The best trial's saved model evaluated once on the test set: (accuracy, record)."""
    done = [r for r in records.values() if r.get("val_accuracy") is not None]
    if not done:
        return None, None
    best = max(done, key=lambda r: r["val_accuracy"])
    import keras

    from benchmarks.comparison.frameworks import _common
    from kerasnas.datasets import Splits

    model = keras.models.load_model(os.path.join(records_dir, f"{best['trial']}.keras"))
    return _common.test_keras(model, Splits.load_npz(data_path), batch_size, raw=True), best


if __name__ == "__main__":
    main()
