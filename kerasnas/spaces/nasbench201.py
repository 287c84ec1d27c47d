"""The NAS-Bench-201 search space (Dong & Yang, ICLR 2020) as a KerasTuner HyperModel.

Follows the reference code (AutoDL-Projects: `TinyNetwork`, `InferCell`,
`ResNetBasicblock`, `ReLUConvBN`, `OPS`). The cell is a DAG of 4 nodes where
node j = sum_{i<j} op_ij(node i): 6 edges, each one of 5 operations, so
5**6 = 15,625 cells. The cell is built generically over an operations registry;
`skeleton` is the thin macro network around it.

Architectures are written in the benchmark's notation, e.g.
`|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|`
(`to_arch_string` / `from_arch_string`), so results can be looked up in the
published tables and searches seeded with known cells.

Deviations: inputs are 28x28x1 (Fashion-MNIST): the original 32x32x3 CIFAR
stages run at 32 -> 16 -> 8, ours at 28 -> 14 -> 7. Keras counts BN moving
statistics in `count_params()` (4 per channel, the paper's tables count 2).
Training recipe: the benchmark uses SGD (Nesterov, momentum 0.9, lr 0.1,
weight decay 5e-4, cosine schedule, batch 256); we fix SGD Nesterov with
momentum 0.9 and lr 0.1, without weight decay or schedule (search() sets
epochs and batches).
"""

from __future__ import annotations

from typing import Any, Iterable

import keras
import keras_tuner
from keras import layers
from keras_tuner.engine import hyperparameters as hp_types

from kerasnas.layers import batch_norm, classifier_head
from kerasnas.spaces._common import SpaceBase
from kerasnas.spaces._knobs import Knob, check_knob, tune
from kerasnas.spaces._ops import NB201_OPS, Operation, check_operations, nb201_reduction

NODES = 4
# (j, i): the edge into node j from node i, in the order of the arch string.
EDGES = tuple((j, i) for j in range(1, NODES) for i in range(j))


def edge_name(j: int, i: int) -> str:
    """The hyperparameter of the edge node j <- node i, e.g. `edge_3_1`."""
    return f"edge_{j}_{i}"


def to_arch_string(values: dict[str, Any]) -> str:
    """The benchmark's string of the cell in `values` (a dict with the 6 `edge_j_i`).

    Raises:
        ValueError: if an edge is missing.
    """
    missing = [edge_name(j, i) for j, i in EDGES if edge_name(j, i) not in values]
    if missing:
        raise ValueError(f"`values` lacks the NAS-Bench-201 edges {missing}.")
    return "+".join(
        "|" + "|".join(f"{values[edge_name(j, i)]}~{i}" for i in range(j)) + "|"
        for j in range(1, NODES)
    )


def from_arch_string(arch: str, operations: Iterable[str] = NB201_OPS) -> dict[str, str]:
    """Parses a benchmark string into the values dict `{edge_j_i: op}`.

    Args:
        arch: e.g. `|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|`.
        operations: The valid operation names (a registry dict or any container).

    Raises:
        ValueError: naming what is malformed.
    """
    if not isinstance(arch, str):
        raise ValueError(f"An architecture string is expected; got {arch!r}.")
    nodes = arch.split("+")
    if len(nodes) != NODES - 1:
        raise ValueError(f"{arch!r} has {len(nodes)} '+'-separated nodes; expected {NODES - 1}.")
    values: dict[str, str] = {}
    for j, node in enumerate(nodes, start=1):
        if len(node) < 2 or node[0] != "|" or node[-1] != "|":
            raise ValueError(f"Node {j} of {arch!r} must be written `|op~i|...|`; got {node!r}.")
        inputs = node[1:-1].split("|")
        if len(inputs) != j:
            raise ValueError(f"Node {j} of {arch!r} must have {j} inputs; got {node!r}.")
        for i, item in enumerate(inputs):
            op, sep, src = item.rpartition("~")
            if not sep or src != str(i):
                raise ValueError(f"Input {i} of node {j} in {arch!r} must be `op~{i}`; got {item!r}.")
            if op not in operations:
                raise ValueError(
                    f"Unknown operation {op!r} in {arch!r}; expected one of {list(operations)}."
                )
            values[edge_name(j, i)] = op
    return values


def build_cell(x: keras.KerasTensor, channels: int, genotype: dict[tuple[int, int], str],
               operations: dict[str, Operation]) -> keras.KerasTensor:
    """The generic cell: node j = sum_{i<j} operations[genotype[(j, i)]](node i).

    Returns the last node. A cell cut off by `none` edges outputs zeros, as in
    the reference code.
    """
    nodes = [x]
    for j in range(1, NODES):
        terms = [operations[genotype[(j, i)]](nodes[i], channels) for i in range(j)]
        nodes.append(terms[0] if len(terms) == 1 else layers.Add()(terms))
    return nodes[-1]


class NasBench201Space(SpaceBase, keras_tuner.HyperModel):
    """NAS-Bench-201: one searched cell shared by every position of a fixed skeleton.

    Skeleton: 3x3 conv stem (C) + BN; N cells at C; residual reduction to 2C;
    N cells; residual reduction to 4C; N cells; BN-ReLU, global pooling, dense.

    Cost on 2 CPU cores, per 50k-image epoch (measured on 2k images, shared
    machine): the benchmark's C=16, N=5 takes ~8 min for the largest cell
    (168M multiply-adds per image); `channels=8, cells_per_stage=2` (the cheap
    setting for searches here) takes 0.5-1.5 min (2-18M multiply-adds).

    Input limits: 1 or 3 channels; sides 8 to 512 (two reductions: below 8x8
    the last stage would be under 2x2, refused with the fix).

    Args:
        input_shape: (height, width, channels) of the images.
        num_classes: Number of classes.
        channels: C. None is the benchmark's fixed 16 (so the space is exactly
            the 15,625 cells); or a fixed int or a hyperparameter.
        cells_per_stage: N. None is the benchmark's fixed 5.
        operations: The operations registry (name -> `fn(x, channels)`);
            default the benchmark's five.
        optimizer: Default "sgd" fixed (with momentum fixed at 0.9), the
            benchmark's; None searches it as in the other spaces.
        learning_rate: Default 0.1 fixed, the benchmark's; None searches it.
        name: The HyperModel name.
    """

    # The one space where a proxy ranked members better than their parameter count
    # (reports/proxies.md: Spearman with accuracy after an epoch, 3 seeds of 20 cells).
    steering_proxy = "naswot"

    def __init__(self, *, input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10,
                 channels: Knob[int] = None, cells_per_stage: Knob[int] = None,
                 operations: dict[str, Operation] | None = None, optimizer: Knob[str] = "sgd",
                 learning_rate: Knob[float] = 0.1, name: str = "nasbench201"):
        keras_tuner.HyperModel.__init__(self, name=name)
        self._init_common(input_shape=input_shape, num_classes=num_classes,
                          optimizer=optimizer, learning_rate=learning_rate)
        check_knob("channels", channels, lambda v: isinstance(v, int) and v >= 1, "an int >= 1")
        check_knob("cells_per_stage", cells_per_stage,
                   lambda v: isinstance(v, int) and v >= 1, "an int >= 1")
        operations = NB201_OPS if operations is None else operations
        check_operations(operations)
        self.channels = channels
        self.cells_per_stage = cells_per_stage
        self.operations = dict(operations)

    def skeleton(self, inputs: keras.KerasTensor, cell: Operation, channels: int,
                 cells_per_stage: int) -> keras.KerasTensor:
        """The macro network; `cell(x, channels)` applies the searched cell.

        Override it to change the skeleton; the cell and its hyperparameters stay.
        """
        x = layers.Conv2D(channels, 3, padding="same", use_bias=False)(inputs)
        x = batch_norm()(x)
        for stage in range(3):  # 28 -> 14 -> 7 (the original: 32 -> 16 -> 8)
            if stage:
                x = nb201_reduction(x, channels * 2**stage)
            for _ in range(cells_per_stage):
                x = cell(x, channels * 2**stage)
        x = layers.ReLU()(batch_norm()(x))
        return classifier_head(x, self.num_classes)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        names = list(self.operations)
        default = "nor_conv_3x3" if "nor_conv_3x3" in names else names[0]
        genotype = {(j, i): hp.Choice(edge_name(j, i), names, default=default) for j, i in EDGES}
        channels = tune(hp, "channels", self.channels, hp_types.Fixed("channels", 16))
        cells = tune(hp, "cells_per_stage", self.cells_per_stage,
                     hp_types.Fixed("cells_per_stage", 5))
        if self.optimizer == "sgd":
            # The benchmark's momentum, fixed so that only the cell is searched.
            hp.Fixed("momentum", 0.9)

        def cell(x: keras.KerasTensor, width: int) -> keras.KerasTensor:
            return build_cell(x, width, genotype, self.operations)

        inputs = keras.Input(self.input_shape)
        outputs = self.skeleton(self.preprocess(inputs), cell, channels, cells)
        model = keras.Model(inputs, outputs, name=self.name)
        return self.compile(hp, model)

    def hand_designed(self) -> list[dict[str, Any]]:
        """The benchmark's own ResNet cell (Dong & Yang 2020): conv-conv with a skip."""
        resnet = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
        if not {"nor_conv_3x3", "none", "skip_connect"} <= set(self.operations):
            return []
        return [from_arch_string(resnet, self.operations)]

    def max_reductions(self) -> int:
        return 2  # the skeleton's two residual reductions

    def describe(self, values: dict[str, Any]) -> str:
        """The benchmark's architecture string ("" if `values` has no cell)."""
        try:
            return to_arch_string(values)
        except ValueError:
            return ""

    def cell_graph(self, values: dict[str, Any]) -> dict[str, list]:
        """The cell's DAG for `kerasnas.drawing.draw_cell` (`none` edges left out)."""
        names = ["in", "node 1", "node 2", "out"]
        edges = [(names[i], names[j], values[edge_name(j, i)])
                 for j, i in EDGES if values[edge_name(j, i)] != "none"]
        return {"nodes": names, "edges": edges, "inputs": ["in"], "outputs": ["out"]}
