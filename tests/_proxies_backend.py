"""The proxies on one Keras backend (test helper).

Usage: python tests/_proxies_backend.py <backend>: prints one JSON line
{model: {"naswot": score, "synflow": score}} for the models of `models()`, whose
weights come from a fixed generator, so every backend scores the same networks.
"""

import json
import os
import sys

if __name__ == "__main__":
    os.environ["KERAS_BACKEND"] = sys.argv[1]  # before Keras is imported

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402

from kerasnas.spaces import from_arch_string, get_space  # noqa: E402

SHAPE = (8, 8, 1)
CELLS = {
    "nasbench201": ({"channels": 2, "cells_per_stage": 1}, from_arch_string(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|")),
    "custom": ({"stem_width": 4}, {"node2_op0": "sep_conv_3x3", "node3_op1": "dil_conv_3x3",
                                   "node4_op0": "max_pool_3x3", "dropout": 0.2}),
}


def models():
    """name -> (model, images): tiny models of two spaces, kernels uniform from a seeded generator."""
    rng = np.random.default_rng(0)
    out = {}
    for name, (options, values) in CELLS.items():
        space = get_space(name, **options).for_data(input_shape=SHAPE, num_classes=3, mean=[100.0],
                                                    variance=[2500.0])
        hp = keras_tuner.HyperParameters()
        hp.values.update(values)
        model = space.build(hp)
        for variable in model.trainable_variables:
            if len(variable.shape) > 1:  # kernels; BatchNorm's and biases' constants stay
                bound = np.sqrt(3 / np.prod(variable.shape[:-1]))
                variable.assign(rng.uniform(-bound, bound, variable.shape).astype("float32"))
        out[name] = (model, rng.integers(0, 256, (8, *SHAPE)).astype("float32"))
    return out


def scores():
    from kerasnas.proxies import naswot, synflow

    return {name: {"naswot": naswot(model, images), "synflow": synflow(model)}
            for name, (model, images) in models().items()}


if __name__ == "__main__":
    print(json.dumps({"backend": keras.backend.backend(), "scores": scores()}))
