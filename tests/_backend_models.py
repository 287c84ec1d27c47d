"""Cross-backend load check, one backend per process (test helper).

Usage: python _backend_models.py <folder> <backend>. Loads every `SPACE-BACKEND.keras`
in the folder saved on another backend, predicts the fixed images and prints one JSON
line {"saver/space": largest absolute difference to the saver's predictions}; then,
if absent, builds each space's default model (seeded, untrained) and saves it with
its predictions (`SPACE-BACKEND.npy`).
"""

import glob
import json
import os
import sys

folder, backend = sys.argv[1], sys.argv[2]
os.environ["KERAS_BACKEND"] = backend  # before Keras is imported

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402

from kerasnas.spaces import get_space  # noqa: E402

SPACES = {"resnet": {"stem_width": 8}, "nasbench201": {"channels": 4, "cells_per_stage": 1},
          "custom": {"stem_width": 8}, "convnet": {"filters": 8}}


def predict(model):
    # Eager call, not predict(): no compiled function per model (JAX compiles slowly here).
    return keras.ops.convert_to_numpy(model(images, training=False))


images = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1)).astype("float32")

diffs = {}
for path in sorted(glob.glob(os.path.join(folder, "*.keras"))):
    space, saver = os.path.basename(path)[:-len(".keras")].split("-")
    if saver != backend:
        predicted = predict(keras.models.load_model(path))
        expected = np.load(path[:-len(".keras")] + ".npy")
        diffs[f"{saver}/{space}"] = float(np.max(np.abs(predicted - expected)))
print(json.dumps(diffs))
for space, options in SPACES.items():
    path = os.path.join(folder, f"{space}-{backend}.keras")
    if os.path.exists(path):
        continue
    keras.utils.set_random_seed(0)
    hypermodel = get_space(space, **options)
    hypermodel.for_data(input_shape=(28, 28, 1), num_classes=10, mean=[72.9], variance=[8100.0])
    model = hypermodel.build(keras_tuner.HyperParameters())
    model.save(path)
    np.save(path[:-len(".keras")] + ".npy", predict(model))
