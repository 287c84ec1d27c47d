"""AutoKeras 3.0.0 in the comparison.

- `imageclassifier-greedy`: `ak.ImageClassifier` as a user runs it (its default
  greedy tuner, objective, preprocessing and final refit) on the raw images.
  Above the tiny scale it is restricted to what runs offline on a CPU: an
  `ak.AutoModel` of `ImageBlock(block_type="vanilla")` + the classification head
  with the same greedy tuner; the ImageClassifier's 2nd and 3rd initial models
  (ResNet50 on 224x224 inputs, ~10 min per 3,000 images here; EfficientNetB7,
  whose weights need a download) are left out.
- `resnet-evolution`: `ak.AutoModel` over a custom `ak.Block` expressing the
  ResNet space, driven by kerasnas' aging-evolution oracle in an AutoKeras
  tuner class (AutoModel takes a tuner class, not an instance).

Shim (runtime, not an edit of site-packages): AutoKeras 3.0.0 passes numpy
integers as layer sizes, which Keras 3.15 rejects before the first trial;
`Graph.set_io_shapes` is wrapped to cast the shapes to Python ints.
"""

import os
import sys
import time

from benchmarks.comparison.frameworks import _common

FRAMEWORK = "autokeras"
EXPERIMENTS = {
    "imageclassifier-greedy": ("ImageClassifier (built-in)", "greedy (default)"),
    "resnet-evolution": ("resnet", "evolution (kerasnas oracle)"),
}
SHIM_NOTE = ("shim: autokeras.graph.Graph.set_io_shapes wrapped at runtime to cast shapes to "
             "Python int; without it AutoKeras 3.0.0 on Keras 3.15 fails before the first trial: "
             "`ValueError: Received an invalid value for units, expected a positive integer. "
             "Received: units=10` (numpy int)")


def apply_shim():
    """Casts the io shapes AutoKeras stores to Python ints (see the module docstring)."""
    import tree
    from autokeras import graph

    if getattr(graph.Graph.set_io_shapes, "kerasnas_shim", False):
        return

    def as_ints(shape):
        return tuple(None if d is None else int(d) for d in shape[1:])

    def set_io_shapes(self, shapes):
        for node, shape in zip(self.inputs, tree.flatten(shapes[0])):
            node.shape = as_ints(shape)
        for node, shape in zip(self.outputs, tree.flatten(shapes[1])):
            node.in_blocks[0].shape = as_ints(shape)

    set_io_shapes.kerasnas_shim = True
    graph.Graph.set_io_shapes = set_io_shapes


def timed(tuner_class):
    """The tuner class with each trial's start/end and error recorded (behaviour unchanged)."""

    class Timed(tuner_class):
        def run_trial(self, trial, *args, **kwargs):
            log = self.__dict__.setdefault("trial_log", {})
            start = time.time()
            try:
                return super().run_trial(trial, *args, **kwargs)
            except Exception as e:
                log.setdefault(trial.trial_id, {})["error"] = f"{type(e).__name__}: {str(e)[:300]}"
                raise
            finally:
                log.setdefault(trial.trial_id, {}).update(start=start, end=time.time())

    Timed.__name__ = f"Timed{tuner_class.__name__}"
    return Timed


def evolution_tuner(ak):
    """An AutoKeras tuner class searching with kerasnas' AgingEvolutionOracle."""
    import keras_tuner

    from kerasnas.oracles import AgingEvolutionOracle

    class AgingEvolutionAutoTuner(ak.engine.tuner.AutoTuner):
        def __init__(self, hypermodel, objective="val_accuracy", max_trials=10, seed=None, **kwargs):
            oracle = AgingEvolutionOracle(objective=keras_tuner.Objective(objective, "max"),
                                          max_trials=max_trials, seed=seed)
            super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)

    return AgingEvolutionAutoTuner


def ak_tuner(ak, variant):
    """The resnet experiment's tuner class; flexibility change 2 swaps it for AutoKeras' random."""
    if variant == "swap-strategy":
        from autokeras.tuners import RandomSearch

        return RandomSearch
    return evolution_tuner(ak)


def skeleton(fixed):
    """Flexibility change 3: two residual blocks a stage (the ResNet block's macro knob)."""
    return {**fixed, "blocks_per_stage": 2}


def resnet_block(ak, fixed):
    """The ResNet space as an AutoKeras Block: kerasnas' ResNetSpace body, same knobs and ranges.

    `fixed` pins knobs (the smoke preset's tiny models), as kerasnas' space options do.
    AutoKeras adds its own head (with its dropout) and optimizer, so the space's
    dropout is pinned off here rather than searched twice.
    """
    from kerasnas.spaces import ResNetSpace

    space = ResNetSpace(**{"dropout": 0.0, **fixed})

    class ResNetBlock(ak.Block):
        def build(self, hp, inputs=None):
            x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
            return space.features(hp, x)[0]  # inputs come standardised (_common.standardise)

    return ResNetBlock


def run(args, arrays, started):
    import keras

    ak = _common.require("autokeras")
    apply_shim()
    notes = [SHIM_NOTE]
    keras.utils.set_random_seed(args.seed)
    directory = os.path.join(args.workdir, "ak")
    if args.variant == "add-op":
        raise ValueError("not expressible: AutoKeras has no cell space to add an operation to; "
                         "it would take an ak.Block re-implementing the cell and its macro network")
    if args.experiment == "imageclassifier-greedy":
        clf, notes = image_classifier(ak, args, directory, notes)
        x_train, x_val, x_test = arrays["x_train"], arrays["x_val"], arrays["x_test"]
        # AutoKeras' batch size (32): its 2nd trial, ResNet50 at 224x224, took 13.5 GB of
        # memory at batch 128 on 800 images.
        fit_options = {}
        notes.append("default objective val_loss, batch size 32; AutoKeras refits the best "
                     "model after the search")
    else:
        fixed = _common.pinned("resnet", args.scale)
        fixed = skeleton(fixed) if args.variant == "skeleton" else fixed
        block = resnet_block(ak, fixed)
        inputs = ak.ImageInput()
        outputs = ak.ClassificationHead()(block()(inputs))
        clf = ak.AutoModel(inputs=inputs, outputs=outputs, max_trials=args.max_trials,
                           directory=directory, seed=args.seed, overwrite=True,
                           objective="val_accuracy", tuner=timed(ak_tuner(ak, args.variant)))
        x_train, x_val, x_test = (_common.standardise(arrays[k])
                                  for k in ("x_train", "x_val", "x_test"))
        fit_options = {"batch_size": args.batch_size}
        notes.append("AutoKeras' ClassificationHead and optimizer add their own choices (pooling/"
                     "flatten, dropout, adam/adamw, learning rates) to the block's")
        if args.variant:
            notes.append(f"flexibility change {args.variant}")
    try:
        clf.fit(x_train, arrays["y_train"], validation_data=(x_val, arrays["y_val"]),
                epochs=args.epochs, verbose=2, **fit_options)
        test_accuracy = float(clf.evaluate(x_test, arrays["y_test"], verbose=0)[1])
        notes.append("test: the model AutoKeras exports (best trial refit on the training part), "
                     "once")
    except (Exception, _common.TimeLimit) as e:  # a stopped search still reports its trials
        notes.append(f"search stopped: {type(e).__name__}: {str(e).strip().splitlines()[-1][:300]}")
        test_accuracy = best_trial_test(clf.tuner, x_test, arrays["y_test"], notes)
    trials = collect_trials(clf.tuner, started, notes)
    return _common.make_result(args, framework=FRAMEWORK, space=EXPERIMENTS[args.experiment][0],
                               strategy=EXPERIMENTS[args.experiment][1], trials=trials,
                               test_accuracy=test_accuracy, wall_seconds=time.time() - started,
                               notes=notes)


def image_classifier(ak, args, directory, notes):
    """ImageClassifier as a user runs it (tiny scale), else its offline-CPU restriction."""
    from autokeras.tuners import Greedy, task_specific

    if args.scale == "tiny":
        # The class ImageClassifier picks for tuner="greedy" (greedy + its 3 initial models).
        return ak.ImageClassifier(max_trials=args.max_trials, directory=directory, seed=args.seed,
                                  overwrite=True, tuner=timed(task_specific.ImageClassifierTuner)), notes
    inputs = ak.ImageInput()
    outputs = ak.ClassificationHead()(ak.ImageBlock(block_type="vanilla")(inputs))
    notes.append("restricted to what runs offline on a CPU: ImageBlock(block_type='vanilla') + "
                 "ClassificationHead, greedy tuner (no ResNet50 at 224x224, no EfficientNetB7 "
                 "download, no Xception)")
    return ak.AutoModel(inputs=inputs, outputs=outputs, max_trials=args.max_trials,
                        directory=directory, seed=args.seed, overwrite=True,
                        tuner=timed(Greedy)), notes


def best_trial_test(tuner, x_test, y_test, notes):
    """Test accuracy of the best completed trial's model, when the search did not finish."""
    try:
        model = tuner.get_best_model()
        x = x_test.astype("float32")
        pred = model.predict(x[..., None] if x.ndim == 3 else x, verbose=0).argmax(-1)
    except Exception as e:  # no completed trial, or no checkpoint
        notes.append(f"no test accuracy: {type(e).__name__}: {str(e)[:200]}")
        return None
    notes.append("test: the best completed trial's model (no refit: the search was stopped), once")
    return float((pred == y_test).mean())


def collect_trials(tuner, started, notes):
    log = getattr(tuner, "trial_log", {})
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        times = log.get(trial_id, {})
        m = trial.metrics
        acc = m.get_best_value("val_accuracy") if m.exists("val_accuracy") else None
        seconds = times["end"] - times["start"] if "end" in times else None
        end = times["end"] - started if "end" in times else None
        status = {"COMPLETED": "COMPLETED", "RUNNING": "INTERRUPTED"}.get(trial.status, "FAILED")
        error = times.get("error") or ((trial.message or "").strip().splitlines() or [None])[-1]
        if status != "COMPLETED" and error:
            notes.append(f"trial {trial_id} {status}: {error[:300]}")
        rows.append(_common.trial_row(trial_id, acc, seconds, end, status,
                                      values=dict(trial.hyperparameters.values)))
    return rows


if __name__ == "__main__":
    sys.exit(_common.main(run, EXPERIMENTS, FRAMEWORK))
