"""The custom cell space (the study's experiment 1): the template a user copies.

A DARTS-style normal cell (Liu et al., ICLR 2019) of a few nodes: node k sums
two operations, each applied to an input chosen among the two cell inputs
(c[k-2] = 0, c[k-1] = 1) and the earlier nodes. The cell output concatenates
all nodes and projects them back with a 1x1 ReLU-Conv-BN. Cells are stacked in
a small CNN; between stages a fixed residual reduction halves the resolution.

Simplifications of DARTS, to stay cheap on CPU: the reduction is not searched
(the NAS-Bench-201 residual block), the cell after a reduction sees the
reduction's output as both inputs (no factorized reduce of the older input),
and the cell output concatenates all nodes, not only the unused ones.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import keras_tuner
from keras import layers
from keras_tuner.engine import hyperparameters as hp_types

from kerasnas.layers import batch_norm, classifier_head, relu_conv_bn
from kerasnas.spaces._common import SpaceBase
from kerasnas.spaces._knobs import Knob, check_knob, tune, upper
from kerasnas.spaces._ops import CELL_OPS, Operation, check_operations, nb201_reduction

# Per node: ((input_a, op_a), (input_b, op_b)).
Genotype = list[tuple[tuple[int, str], ...]]


def _hp(k: int, part: str, a: int) -> str:
    """The hyperparameter of node k's input or op `a` (0 or 1), e.g. `node3_op1`."""
    return f"node{k}_{part}{a}"


def build_custom_cell(s0: keras.KerasTensor, s1: keras.KerasTensor, channels: int,
                      genotype: Genotype, operations: dict[str, Operation]) -> keras.KerasTensor:
    """One cell; `genotype` lists, per node, ((input_a, op_a), (input_b, op_b))."""
    states = [s0, s1]
    for (in_a, op_a), (in_b, op_b) in genotype:
        a = operations[op_a](states[in_a], channels)
        b = operations[op_b](states[in_b], channels)
        states.append(layers.Add()([a, b]))
    nodes = states[2:]
    x = nodes[0] if len(nodes) == 1 else layers.Concatenate()(nodes)
    return relu_conv_bn(x, channels, 1)


class CustomCellSpace(SpaceBase, keras_tuner.HyperModel):
    """A searched normal cell stacked into a small CNN, with macro knobs.

    Every knob takes a fixed value, a `keras_tuner` hyperparameter, or None
    for the tuned default. The cell's hyperparameters (`node{k}_in{a}`,
    `node{k}_op{a}` for nodes k = 2.. and a = 0, 1) are always searched.

    Input limits: 1 or 3 channels; sides from 2 * 2**reductions (16 with 3;
    the default reductions fit any side from 8) to 512; smaller images are
    refused with the fix (resize, or fewer reductions).

    Args:
        input_shape: (height, width, channels) of the images.
        num_classes: Number of classes.
        nodes: Nodes per cell, an int 1..6 (not a knob: it sets the cell's
            hyperparameters).
        operations: The operations registry (name -> `fn(x, channels)`);
            default `CELL_OPS`.
        stem_width: Filters of the stem and first stage (doubled per
            reduction). Default Choice 16/24/32, default 16.
        cells_per_stage: Default Int 1..3, default 1.
        reductions: Stride-2 reductions, 0..3. Default: not searched, the
            count that brings the smaller image side to 8 pixels or fewer
            (28 -> 14 -> 7: 2; 16: 1; 64: 3). Pass `Int("r", 0, 3)` to search it.
        dropout: Before the classifier, in [0, 1). Default Float 0..0.5.
        optimizer: "adam" or "sgd" (SGD adds a conditional `momentum`).
        learning_rate: Default log-uniform Float per optimizer: Adam 5e-4..1e-2,
            SGD 3e-3..0.3 (`sgd_learning_rate` while the optimizer is searched).
        name: The HyperModel name.
    """

    def __init__(self, *, input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10,
                 nodes: int = 3, operations: dict[str, Operation] | None = None,
                 stem_width: Knob[int] = None, cells_per_stage: Knob[int] = None,
                 reductions: Knob[int] = None, dropout: Knob[float] = None,
                 optimizer: Knob[str] = None, learning_rate: Knob[float] = None,
                 name: str = "custom"):
        keras_tuner.HyperModel.__init__(self, name=name)
        self._init_common(input_shape=input_shape, num_classes=num_classes,
                          optimizer=optimizer, learning_rate=learning_rate)
        if not isinstance(nodes, int) or not 1 <= nodes <= 6:
            raise ValueError(f"`nodes` must be an int in 1..6; got {nodes!r}.")
        operations = CELL_OPS if operations is None else operations
        check_operations(operations)
        positive = lambda v: isinstance(v, int) and v >= 1  # noqa: E731
        check_knob("stem_width", stem_width, positive, "an int >= 1")
        check_knob("cells_per_stage", cells_per_stage, positive, "an int >= 1")
        check_knob("reductions", reductions, lambda v: isinstance(v, int) and 0 <= v <= 3,
                   "an int in 0..3")
        check_knob("dropout", dropout, lambda v: 0 <= v < 1, "a float in [0, 1)")
        self.nodes = nodes
        self.operations = dict(operations)
        self.stem_width = stem_width
        self.cells_per_stage = cells_per_stage
        self.reductions = reductions
        self.dropout = dropout

    def _declare_cell(self, hp: keras_tuner.HyperParameters) -> Genotype:
        names = list(self.operations)
        second = "identity" if "identity" in names else names[0]
        genotype: Genotype = []
        for k in range(2, 2 + self.nodes):
            pair = []
            for a, (src, op) in enumerate(((k - 1, names[0]), (k - 2, second))):
                pair.append((hp.Choice(_hp(k, "in", a), list(range(k)), default=src),
                             hp.Choice(_hp(k, "op", a), names, default=op)))
            genotype.append(tuple(pair))
        return genotype

    def default_reductions(self) -> hp_types.Fixed:
        """Halvings that bring the smaller side to 8 pixels or fewer, at most 3.

        Not searched by default: on 10k Fashion-MNIST images, 2 epochs, trials at
        28 -> 14 -> 7 averaged 0.81 validation accuracy against 0.72 with one
        reduction and 0.70 with none (18 trials of 3 searches, batch 32 and 128): each other value a
        search tried was a lost trial. 8 pixels also bounds the last stage's cost.
        """
        side, count = min(self.input_shape[:2]), 0
        while side > 8 and count < 3:
            side, count = (side + 1) // 2, count + 1
        return hp_types.Fixed("r", count)

    def skeleton(self, inputs: keras.KerasTensor,
                 cell: Callable[[keras.KerasTensor, keras.KerasTensor, int], keras.KerasTensor],
                 stem_width: int, cells_per_stage: int, reductions: int,
                 dropout: float) -> keras.KerasTensor:
        """The macro network; `cell(s0, s1, channels)` applies the searched cell.

        Override it to change the skeleton; the cell and its hyperparameters stay.
        """
        x = layers.Conv2D(stem_width, 3, padding="same", use_bias=False)(inputs)
        prev = x = batch_norm()(x)
        for stage in range(reductions + 1):
            width = stem_width * 2**stage
            if stage:
                prev = x = nb201_reduction(x, width)
            for _ in range(cells_per_stage):
                prev, x = x, cell(prev, x, width)
        return classifier_head(layers.ReLU()(x), self.num_classes, dropout)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        genotype = self._declare_cell(hp)
        # No 8: at 2 epochs, w8 trials were 3-4 points below w16 ones of the same cell.
        width = tune(hp, "stem_width", self.stem_width,
                     hp_types.Choice("w", [16, 24, 32], default=16))
        cells = tune(hp, "cells_per_stage", self.cells_per_stage,
                     hp_types.Int("c", 1, 3, default=1))
        reductions = tune(hp, "reductions", self.reductions, self.default_reductions())
        dropout = tune(hp, "dropout", self.dropout,
                       hp_types.Float("d", 0.0, 0.5, step=0.1, default=0.0))

        def cell(s0: keras.KerasTensor, s1: keras.KerasTensor, channels: int) -> keras.KerasTensor:
            return build_custom_cell(s0, s1, channels, genotype, self.operations)

        inputs = keras.Input(self.input_shape)
        outputs = self.skeleton(self.preprocess(inputs), cell, width, cells, reductions, dropout)
        return self.compile(hp, keras.Model(inputs, outputs, name=self.name))

    def hand_designed(self) -> list[dict[str, Any]]:
        """A plain cell: each node a 3x3 conv of the node before it plus the one before
        that (a residual chain), at the scale of the ResNet hand design (a 32-wide stem,
        2 cells a stage as its 2 blocks, dropout 0.1), with Adam."""
        if not {"conv_3x3", "identity"} <= set(self.operations):
            return []
        cell = {}
        for k in range(2, 2 + self.nodes):
            cell.update({_hp(k, "in", 0): k - 1, _hp(k, "op", 0): "conv_3x3",
                         _hp(k, "in", 1): k - 2, _hp(k, "op", 1): "identity"})
        macro = {"stem_width": 32, "cells_per_stage": 2, "dropout": 0.1}
        return [{**cell, **self.searched(macro), **self.hand_designed_training()}]

    def max_reductions(self) -> int:
        return upper(self.reductions, self.default_reductions())

    def _node_inputs(self, values: dict[str, Any]) -> dict[int, list[tuple[int, str]]]:
        """Per node k: [(input, op), (input, op)], from a values dict."""
        return {k: [(values[_hp(k, "in", a)], values[_hp(k, "op", a)]) for a in (0, 1)]
                for k in range(2, 2 + self.nodes)}

    def describe(self, values: dict[str, Any]) -> str:
        """E.g. `w8 c1 r2 | 2=sep_conv_3x3(1)+identity(0) 3=... 4=...`."""
        try:
            cell = self._node_inputs(values)
        except KeyError:
            return ""
        get = lambda k: values.get(k, getattr(self, k))  # noqa: E731
        macro = f"w{get('stem_width')} c{get('cells_per_stage')} r{get('reductions')}"
        nodes = " ".join(f"{k}=" + "+".join(f"{op}({i})" for i, op in pair)
                         for k, pair in cell.items())
        return f"{macro} | {nodes}"

    def cell_graph(self, values: dict[str, Any]) -> dict[str, list]:
        """The cell's DAG for `kerasnas.drawing.draw_cell` (edges into `out` concatenate)."""
        names = ["c[k-2]", "c[k-1]"] + [f"node {k}" for k in range(2, 2 + self.nodes)] + ["out"]
        edges = [(names[i], names[k], op)
                 for k, pair in self._node_inputs(values).items() for i, op in pair]
        edges += [(names[k], "out", "") for k in range(2, 2 + self.nodes)]
        return {"nodes": names, "edges": edges, "inputs": names[:2], "outputs": ["out"]}
