"""What a model costs to keep and to run: parameters, FLOPs and CPU latency.

Known before training (an untrained model has the trained one's size and
speed), so a constraint on them is checked before a candidate trains
(`SearchSettings.constraints`).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import TYPE_CHECKING, Any

from kerasnas.layers import estimate_flops

if TYPE_CHECKING:
    import keras

__all__ = ["LATENCY_PROTOCOL", "footprint", "latency_ms", "runtime"]

# How latency is measured (recorded in summary.json): one raw image (zeros) at a time through
# the model's compiled predict function, the median of the timed calls after the warm-up ones.
LATENCY_PROTOCOL: dict[str, Any] = {"batch": 1, "warmup_calls": 10, "timed_calls": 50,
                                    "statistic": "median", "call": "keras.Model.predict_on_batch",
                                    "unit": "ms per image"}


def latency_ms(model: keras.Model) -> float:
    """Milliseconds an image at batch 1 on this machine (`LATENCY_PROTOCOL`)."""
    import numpy as np

    shape = tuple(model.inputs[0].shape[1:])
    image = np.zeros((1, *shape), dtype=model.inputs[0].dtype or "float32")
    for _ in range(LATENCY_PROTOCOL["warmup_calls"]):
        model.predict_on_batch(image)
    times = []
    for _ in range(LATENCY_PROTOCOL["timed_calls"]):
        start = time.perf_counter()
        model.predict_on_batch(image)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def footprint(model: keras.Model, *, latency: bool = False) -> dict[str, float]:
    """`params` (all weights, as `count_params()`), `flops` (multiply-accumulates an image,
    `kerasnas.layers.estimate_flops`) and, when asked, `latency_ms` (`latency_ms`)."""
    out = {"params": float(model.count_params()), "flops": float(estimate_flops(model))}
    if latency:
        out["latency_ms"] = latency_ms(model)
    return out


def runtime() -> dict[str, str]:
    """What ran the timed calls: the Keras backend, and the threads (both change the figure).

    The backend changes it most: at batch 1 TensorFlow runs the predict function as a graph
    op by op (Keras leaves XLA off on a CPU), so each layer adds a fixed cost, where JAX
    compiles it with XLA, which fuses layers (`reports/pareto.md` measures both).
    """
    import keras

    return {"backend": keras.backend.backend(),
            "threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "all cores")}
