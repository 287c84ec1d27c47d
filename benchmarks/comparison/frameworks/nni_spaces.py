"""The study's spaces for NNI 3.0 (PyTorch), kept equivalent to kerasnas' Keras spaces.

- `OneChannelNasBench201`: NNI's hub NAS-Bench-201 with a 1-channel stem for
  Fashion-MNIST (the hub's stem expects 3 channels); the cell labels are kept.
- `CustomCellSpace`: kerasnas/spaces/custom.py re-expressed as an NNI
  `ModelSpace`: the same 7 operations, 3 nodes of two (input, op) pairs, the
  concat + 1x1 ReLU-Conv-BN output, stem, stages, the NAS-Bench-201 residual
  reduction, ReLU-pool-dropout-dense head; the same macro choices.
  Inside a cell every state has the stage's width (the reduction and the stem
  set it), so identity and pooling need no 1x1 projection (as in the Keras ops).

Also the traced pieces the NNI evaluator needs in its trial processes: the
dataset read from the run's npz, Nesterov SGD, and a callback recording each
trial's fit time and trained weights (NNI keeps neither).
"""

import json
import os
import time

import nni
import numpy as np
import pytorch_lightning as pl
import torch
from nni.mutable import ensure_frozen
from nni.nas.hub.pytorch import NasBench201
from nni.nas.hub.pytorch.nasbench201 import ResNetBasicblock
from nni.nas.nn.pytorch import ModelSpace
from nni.nas.space import model_context
from torch import nn

from kerasnas.datasets.fashion_mnist import MEAN, STD  # kerasnas' standardisation

CELL_OP_NAMES = ("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "conv_3x3",
                 "max_pool_3x3", "avg_pool_3x3", "identity")


class OneChannelNasBench201(NasBench201):
    """NNI's NAS-Bench-201 with a 1-channel stem (28x28 grayscale input)."""

    def __init__(self, stem_out_channels=16, num_modules_per_stack=5, num_labels=10):
        super().__init__(stem_out_channels, num_modules_per_stack, num_labels)
        self.stem = nn.Sequential(nn.Conv2d(1, stem_out_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_out_channels))


def relu_conv_bn(channels, kernel, dilation=1):
    pad = dilation * (kernel // 2)
    return nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, kernel, padding=pad,
                                              dilation=dilation, bias=False), nn.BatchNorm2d(channels))


def sep_conv(channels, kernel, dilation=1):
    # Keras SeparableConv2D: depthwise kxk then pointwise 1x1, one ReLU-SepConv-BN pass.
    return nn.Sequential(nn.ReLU(),
                         nn.Conv2d(channels, channels, kernel, padding=dilation * (kernel // 2),
                                   dilation=dilation, groups=channels, bias=False),
                         nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels))


CELL_OPS = {
    "sep_conv_3x3": lambda c: sep_conv(c, 3),
    "sep_conv_5x5": lambda c: sep_conv(c, 5),
    "dil_conv_3x3": lambda c: sep_conv(c, 3, dilation=2),
    "conv_3x3": lambda c: relu_conv_bn(c, 3),
    "max_pool_3x3": lambda c: nn.MaxPool2d(3, stride=1, padding=1),
    "avg_pool_3x3": lambda c: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "identity": lambda c: nn.Identity(),
    # Flexibility change 1 (benchmarks/comparison/flex.py): not in CELL_OP_NAMES, the default list.
    "fac_conv_7x1_1x7": lambda c: fac_conv_7x1_1x7(c),
}


def fac_conv_7x1_1x7(channels):
    """NASNet's factorised 7x7: ReLU, 1x7 then 7x1 convolution, BN."""
    return nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, (1, 7), padding=(0, 3), bias=False),
                         nn.Conv2d(channels, channels, (7, 1), padding=(3, 0), bias=False),
                         nn.BatchNorm2d(channels))


class Cell(nn.Module):
    def __init__(self, channels, genotype):
        super().__init__()
        self.genotype = genotype  # per node: ((input, op), (input, op))
        self.ops = nn.ModuleList(CELL_OPS[op](channels) for pair in genotype for _, op in pair)
        self.out = nn.Sequential(nn.ReLU(), nn.Conv2d(channels * len(genotype), channels, 1, bias=False),
                                 nn.BatchNorm2d(channels))

    def forward(self, s0, s1):
        states = [s0, s1]
        for k, ((in_a, _), (in_b, _)) in enumerate(self.genotype):
            states.append(self.ops[2 * k](states[in_a]) + self.ops[2 * k + 1](states[in_b]))
        return self.out(torch.cat(states[2:], dim=1))


class CustomCellSpace(ModelSpace):
    """kerasnas' custom cell space as an NNI ModelSpace; `fixed` pins macro choices,
    `operations` names the cell's candidate ops (keys of `CELL_OPS`)."""

    def __init__(self, nodes=3, fixed=None, num_labels=10, operations=CELL_OP_NAMES):
        super().__init__()
        self._init_args = {"nodes": nodes, "fixed": fixed, "num_labels": num_labels,
                           "operations": tuple(operations)}
        fixed = fixed or {}

        def choose(label, values):
            if label in fixed:
                return fixed[label]
            return ensure_frozen(self.add_mutable(nni.choice(label, list(values))), strict=False)

        genotype = tuple(
            tuple((choose(f"node{k}_in{a}", range(k)), choose(f"node{k}_op{a}", operations))
                  for a in (0, 1))
            for k in range(2, 2 + nodes))
        width = choose("stem_width", [16, 24, 32])
        cells = choose("cells_per_stage", [1, 2, 3])
        # kerasnas' default for 28x28 images: 2 reductions, not searched.
        reductions = fixed.get("reductions", 2)
        dropout = choose("dropout", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))
        self.stages = nn.ModuleList()
        for stage in range(reductions + 1):
            c = width * 2**stage
            reduce = ResNetBasicblock(c // 2, c, 2) if stage else nn.Identity()
            self.stages.append(nn.ModuleList([reduce, *(Cell(c, genotype) for _ in range(cells))]))
        c = width * 2**reductions
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Dropout(dropout), nn.Linear(c, num_labels))

    def freeze(self, sample):
        # Python-level choices: rebuild the module with the sample as frozen context.
        with model_context(sample):
            return self.__class__(**self._init_args)

    def forward(self, x):
        prev = x = self.stem(x)
        for stage, (reduce, *cells) in enumerate(self.stages):
            if stage:
                prev = x = reduce(x)
            for cell in cells:
                prev, x = x, cell(prev, x)
        return self.head(x)


@nni.trace
class NpzImages(torch.utils.data.Dataset):
    """One split of the run's npz, standardised as kerasnas does, shape (1, 28, 28)."""

    def __init__(self, path, split):
        with np.load(path) as z:
            x, y = z[f"x_{split}"], z[f"y_{split}"]
        self.x = torch.from_numpy(((x.astype("float32") / 255.0 - MEAN) / STD)[:, None])
        self.y = torch.from_numpy(y.astype("int64"))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


@nni.trace
class NesterovSGD(torch.optim.SGD):
    """SGD with Nesterov momentum 0.9, as kerasnas' NAS-Bench-201 space trains."""

    def __init__(self, params, lr=0.1, weight_decay=0.0):
        super().__init__(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)


@nni.trace
class TrialRecorder(pl.Callback):
    """Seeds each trial; writes its fit seconds, end time, sample and trained weights into `folder`.

    NNI builds the model in its trial process before any user hook runs and
    does not seed it, so the weights are re-initialised here from `seed` + the
    trial's sequence number (as kerasnas seeds trial k with seed + k); the
    same seed drives the data shuffling.
    """

    def __init__(self, folder, threads=None, seed=0):
        self.folder, self.threads, self.seed = folder, threads, seed

    def on_fit_start(self, trainer, pl_module):
        if self.threads:
            torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed + max(0, nni.get_sequence_id()))
        for module in pl_module.model.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.start = time.time()

    def on_fit_end(self, trainer, pl_module):
        trial = os.environ.get("NNI_TRIAL_JOB_ID", "local")
        param = nni.get_current_parameter()
        os.makedirs(self.folder, exist_ok=True)
        torch.save(pl_module.model.state_dict(), os.path.join(self.folder, f"{trial}.pt"))
        metric = trainer.callback_metrics.get("val_acc")
        record = {"trial": trial, "start": self.start, "end": time.time(),
                  "seconds": time.time() - self.start,
                  "val_accuracy": None if metric is None else float(metric),
                  "sample": getattr(param, "sample", None)}
        with open(os.path.join(self.folder, f"{trial}.json"), "w") as f:
            json.dump(record, f, default=str)
