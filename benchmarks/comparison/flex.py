"""What the flexibility part of reports/compare.md counts and states.

`SPACE_CODE`: where each space is defined, per framework, for the line counts
(`pkg:` = a module of an installed package, located without importing it).
`CAPABILITIES`: per change a user may want, how each framework allows it
without forking, and the experiment of this harness that exercises it (None:
not exercised here); the report adds whether that run completed.
"""

_NB201_NNI = [("pkg:nni.nas.hub.pytorch.nasbench201",
               ["OPS_WITH_STRIDE", "PRIMITIVES", "ReLUConvBN", "Pooling", "Zero", "ResNetBasicblock",
                "NasBench201"]),
              ("pkg:nni.nas.hub.pytorch.modules.nasbench201", ["NasBench201Cell"])]
_RESNET_KERASNAS = [("kerasnas/spaces/resnet.py", ["BLOCK_TYPES", "ResNetSpace"]),
                    ("kerasnas/layers.py", ["basic_block", "bottleneck_block", "_shortcut",
                                            "conv_bn_relu", "classifier_head"])]
_HARNESS_KERASNAS = [("benchmarks/comparison/frameworks/kerasnas_runner.py", ["space_options"])]
_NOT_EXPRESSED = ("not expressed: it would take an ak.Block re-implementing the cell and its "
                  "macro network (AutoKeras has no cell or mutable-op primitives)")

SPACE_CODE = {
    ("kerasnas", "custom"): {
        "harness": _HARNESS_KERASNAS,
        "library": [("kerasnas/spaces/custom.py", ["_hp", "build_custom_cell", "CustomCellSpace"]),
                    ("kerasnas/spaces/_ops.py", ["CELL_OPS", "_sep_conv", "_conv", "_pool", "identity",
                                                 "nb201_reduction"])],
        "how": "space name + knob values; the space ships with kerasnas"},
    ("kerasnas", "nasbench201"): {
        "harness": _HARNESS_KERASNAS,
        "library": [("kerasnas/spaces/nasbench201.py", ["NODES", "EDGES", "edge_name", "build_cell",
                                                        "NasBench201Space"]),
                    ("kerasnas/spaces/_ops.py", ["NB201_OPS", "Zero", "zero", "identity", "_conv",
                                                 "_pool", "nb201_reduction"])],
        "how": "space name + knob values; the space ships with kerasnas"},
    ("kerasnas", "resnet"): {
        "harness": _HARNESS_KERASNAS, "library": _RESNET_KERASNAS,
        "how": "space name + knob values; the space ships with kerasnas"},
    ("autokeras", "custom"): {"harness": None, "library": None, "how": _NOT_EXPRESSED},
    ("autokeras", "nasbench201"): {"harness": None, "library": None, "how": _NOT_EXPRESSED},
    ("autokeras", "resnet"): {
        "harness": [("benchmarks/comparison/frameworks/autokeras_runner.py", ["resnet_block"])],
        "library": _RESNET_KERASNAS,
        "how": "an ak.Block written here around kerasnas' ResNetSpace body (same knobs and "
               "ranges); AutoKeras' head and optimizer choices are added to it"},
    ("nni", "custom"): {
        "harness": [("benchmarks/comparison/frameworks/nni_spaces.py",
                     ["CELL_OP_NAMES", "relu_conv_bn", "sep_conv", "CELL_OPS", "Cell", "CustomCellSpace"])],
        "library": [_NB201_NNI[0][:1] + (["ReLUConvBN", "ResNetBasicblock"],)],
        "how": "an NNI ModelSpace written here (nni.choice + ensure_frozen, a freeze()); "
               "the hub's residual reduction reused"},
    ("nni", "nasbench201"): {
        "harness": [("benchmarks/comparison/frameworks/nni_spaces.py", ["OneChannelNasBench201"])],
        "library": _NB201_NNI,
        "how": "the hub space, subclassed here for a 1-channel stem"},
    ("nni", "resnet"): {
        "harness": [("benchmarks/comparison/frameworks/nni_hpo_trial.py", ["space_for", "declared",
                                                                "nni_search_space"])],
        "library": _RESNET_KERASNAS,
        "how": "NNI HPO search space converted here from kerasnas' Keras space "
               "(NNI NAS is PyTorch only)"},
}

CAPABILITIES = {
    "search space": {
        "kerasnas": ("any keras_tuner HyperModel; spaces take knob values and op registries",
                     "custom-evolution"),
        "autokeras": ("custom ak.Block in an AutoModel; the task classes' spaces are fixed",
                      "resnet-evolution"),
        "nni": ("ModelSpace (nni.choice, Mutable* layers), hub spaces by subclassing; any code via HPO",
                "custom-evolution"),
    },
    "search strategy": {
        "kerasnas": ("any keras_tuner Oracle (registry: random, bayes, tpe, evolution)", "resnet-tpe"),
        "autokeras": ("a tuner class (AutoModel(tuner=cls)); here an AutoTuner wrapping "
                      "kerasnas' evolution oracle", "resnet-evolution"),
        "nni": ("strategy objects (evolution, TPE, RL, one-shot) or HPO tuners",
                "hpo-resnet-evolution"),
    },
    "evaluation / training loop": {
        "kerasnas": ("override NASTuner.run_trial (KerasTuner's hook); compile in the space", None),
        "autokeras": ("fixed fit (adaptive batch size, inserted EarlyStopping, final refit); "
                      "objective and callbacks only", "imageclassifier-greedy"),
        "nni": ("any Evaluator (Lightning module/trainer, functional); here a callback to keep "
                "the trained weights", "nasbench201-evolution"),
    },
    "distribution": {
        "kerasnas": ("tf.distribute strategy per trial; KerasTuner chief/workers", None),
        "autokeras": ("distribution_strategy passed through to KerasTuner", None),
        "nni": ("training services (local, remote, k8s...), trial_concurrency", None),
    },
    "resume": {
        "kerasnas": ("search(resume=True): reloads the KerasTuner project", None),
        "autokeras": ("overwrite=False reloads the project", None),
        "nni": ("Experiment.resume / nnictl resume from the experiment folder", None),
    },
}

# The three changes made by doing (`compare.py --flex`): variant -> what it asks.
VARIANTS = {
    "add-op": "add NASNet's factorised 7x1-1x7 convolution to the cell space's operations",
    "swap-strategy": "swap the search strategy",
    "skeleton": "change the macro skeleton: 2 cells (blocks) a stage",
}
# (framework, variant) -> the experiment the changed run starts from (None: not attempted).
FLEX_RUNS = {
    ("kerasnas", "add-op"): "custom-evolution",
    ("kerasnas", "swap-strategy"): "custom-evolution",
    ("kerasnas", "skeleton"): "custom-evolution",
    ("autokeras", "add-op"): None,
    ("autokeras", "swap-strategy"): "resnet-evolution",
    ("autokeras", "skeleton"): "resnet-evolution",
    ("nni", "add-op"): "custom-evolution",
    ("nni", "swap-strategy"): "custom-evolution",
    ("nni", "skeleton"): "custom-evolution",
}
_KR = "benchmarks/comparison/frameworks/kerasnas_runner.py"
_AR = "benchmarks/comparison/frameworks/autokeras_runner.py"
_NR = "benchmarks/comparison/frameworks/nni_runner.py"
_NS = "benchmarks/comparison/frameworks/nni_spaces.py"
# (framework, variant) -> code of the change [(path, [top-level names])], lines edited inside
# existing definitions (counted by hand from the diff that added the change: kerasnas 1 = its
# VARIANTS entry; NNI add-op 7 = CustomCellSpace's `operations` argument (4), the op's CELL_OPS
# entry and the dispatch in nas_space (2); the runners' shared --variant dispatch is not
# counted), whether a fork/workaround was needed, and how.
FLEX_CODE = {
    ("kerasnas", "add-op"): dict(code=[(_KR, ["factorised_7x1_1x7", "add_op"])], edited=1,
                                 fork="no", how="an op builder (x, channels) -> x passed in the "
                                 "space's `operations` registry knob"),
    ("kerasnas", "swap-strategy"): dict(code=[(_KR, ["swap_strategy"])], edited=1, fork="no",
                                        how="another oracle name (`tpe`)"),
    ("kerasnas", "skeleton"): dict(code=[(_KR, ["skeleton"])], edited=1, fork="no",
                                   how="the `cells_per_stage` knob"),
    ("autokeras", "add-op"): dict(code=None, edited=0, fork="yes (not done)",
                                  how="not expressible: no cell space or op registry; it takes an "
                                  "ak.Block re-implementing the cell and its macro network"),
    ("autokeras", "swap-strategy"): dict(code=[(_AR, ["ak_tuner"])], edited=1, fork="no",
                                         how="another tuner class (`autokeras.tuners.RandomSearch`)"
                                         " in AutoModel(tuner=...)"),
    ("autokeras", "skeleton"): dict(code=[(_AR, ["skeleton"])], edited=1, fork="no",
                                    how="`blocks_per_stage` of the ak.Block written here (the "
                                    "ResNet analogue of cells a stage); a built-in block has no "
                                    "such knob"),
    ("nni", "add-op"): dict(code=[(_NS, ["fac_conv_7x1_1x7"]), (_NR, ["add_op"])], edited=7,
                            fork="no (the space is code written here)",
                            how="an nn.Module builder in the space's op dict and an `operations` "
                            "argument threaded through the ModelSpace (its _init_args, so that "
                            "trial processes rebuild it)"),
    ("nni", "swap-strategy"): dict(code=[(_NR, ["swap_strategy"])], edited=3, fork="no",
                                   how="another strategy object (`nni.nas.strategy.Random`)"),
    ("nni", "skeleton"): dict(code=[(_NR, ["skeleton"])], edited=2, fork="no",
                              how="the `cells_per_stage` choice of the ModelSpace written here, "
                              "fixed"),
}
