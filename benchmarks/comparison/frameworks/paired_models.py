"""One fixed architecture trained in Keras (kerasnas' space) and in PyTorch (NNI's space).

Used by `python -m benchmarks.paired`. Both sides get the same split, standardisation,
batch size, epochs, optimizer, learning rate and schedule (constant, or
kerasnas' per-trial warm-up + cosine, step for step), and no augmentation.
The PyTorch model is NNI's space (`nni_spaces`) frozen at the same choices and
trained by a plain loop (NNI's Lightning evaluator runs the same
steps); a Lightning-free loop keeps framework overhead out of the epoch times.

Keras-side variants move one Keras default to PyTorch's, to find which choice
costs accuracy when PyTorch trains the same network better:
- `bn-eps`: BatchNormalization epsilon 1e-3 -> 1e-5;
- `torch-init`: weights redrawn as PyTorch initialises them (U(+-1/sqrt(fan_in)),
  kaiming_uniform with a = sqrt(5); Dense biases too) instead of Glorot-uniform / zeros;
- `logits`: the loss on logits (the head's softmax moved into the loss);
- `adam-eps`: Adam epsilon 1e-7 -> 1e-8;
- `all`: every one of them.
"""

import time

import numpy as np

# The two architectures: the best cells of the study runs (reports/study-*.md), at the
# compare harness' middle scale. `values` are kerasnas' hyperparameters.
ARCHS = {
    "custom": {
        "space": "custom",
        "label": "w16 c1 r2 | 2=dil_conv_3x3(1)+identity(1) 3=conv_3x3(2)+conv_3x3(0) 4=identity(2)+conv_3x3(3)",
        "source": "reports/study-custom-evolution.md, best trial's cell, at stem width 16",
        "knobs": {"stem_width": 16, "cells_per_stage": 1, "dropout": 0.1,
                  "optimizer": "adam", "learning_rate": 1e-3},
        "values": {"node2_in0": 1, "node2_op0": "dil_conv_3x3", "node2_in1": 1, "node2_op1": "identity",
                   "node3_in0": 2, "node3_op0": "conv_3x3", "node3_in1": 0, "node3_op1": "conv_3x3",
                   "node4_in0": 2, "node4_op0": "identity", "node4_in1": 3, "node4_op1": "conv_3x3"},
        "recipe": "Adam lr 1e-3",
    },
    "nasbench201": {
        "space": "nasbench201",
        "label": "|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
        "source": "reports/study-nasbench201-evolution.md, best trial, at C=16, N=2",
        "knobs": {"channels": 16, "cells_per_stage": 2, "optimizer": "sgd", "learning_rate": 0.1},
        "recipe": "SGD Nesterov momentum 0.9, lr 0.1 (the benchmark's)",
    },
}
VARIANTS = ("", "bn-eps", "torch-init", "logits", "adam-eps", "all")
# kerasnas' NAS-Bench-201 op names -> NNI hub's.
NNI_OPS = {"nor_conv_1x1": "conv_1x1", "nor_conv_3x3": "conv_3x3", "avg_pool_3x3": "avg_pool_3x3",
           "skip_connect": "skip_connect", "none": "none"}


def keras_values(arch):
    """kerasnas hyperparameter values of `arch` (cell and macro knobs)."""
    spec = ARCHS[arch]
    if spec["space"] == "nasbench201":
        from kerasnas.spaces import from_arch_string

        return dict(from_arch_string(spec["label"]))
    return dict(spec["values"])


def nni_sample(arch):
    """The same architecture as NNI's frozen-space sample."""
    spec = ARCHS[arch]
    if spec["space"] == "nasbench201":
        # kerasnas edge_j_i (node j <- node i) is the hub's label "cell/i_j".
        return {f"cell/{k.split('_')[2]}_{k.split('_')[1]}": NNI_OPS[v]
                for k, v in keras_values(arch).items()}
    return {**spec["values"], **{k: v for k, v in spec["knobs"].items()
                                 if k in ("stem_width", "cells_per_stage", "dropout")}}


def build_keras(arch, data, variant=""):
    import keras
    import keras_tuner

    from kerasnas.spaces import get_space

    spec = ARCHS[arch]
    space = get_space(spec["space"], **spec["knobs"])
    space.for_data(input_shape=data.input_shape, num_classes=data.num_classes,
                   mean=data.mean, variance=data.variance)
    hp = keras_tuner.HyperParameters()
    hp.values.update(keras_values(arch))
    model = space.build(hp)
    parts = {"bn-eps", "torch-init", "logits", "adam-eps"} if variant == "all" else {variant}
    if "bn-eps" in parts:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.epsilon = 1e-5
    if "torch-init" in parts:
        torch_like_init(model, np.random.default_rng(0))
    loss = model.loss
    if "logits" in parts:
        model.layers[-1].activation = keras.activations.linear
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    config = model.optimizer.get_config()
    if "adam-eps" in parts and "epsilon" in config and spec["knobs"]["optimizer"] == "adam":
        config["epsilon"] = 1e-8
    model.compile(optimizer=type(model.optimizer).from_config(config), loss=loss, metrics=["accuracy"])
    return model


def torch_like_init(model, rng):
    """PyTorch's default init: every conv/dense kernel (and dense bias) U(+-1/sqrt(fan_in))."""
    import keras

    for layer in model.layers:
        new = []
        for w in layer.weights:
            if not w.trainable or isinstance(layer, keras.layers.BatchNormalization):
                new.append(np.asarray(w.numpy()))
                continue
            shape = tuple(w.shape)
            if "bias" in w.path:
                fan_in = int(np.prod(layer.weights[0].shape[:-1]))
            elif "depthwise" in w.path:
                fan_in = int(np.prod(shape[:2]))  # one input channel per group
            else:
                fan_in = int(np.prod(shape[:-1]))
            bound = 1.0 / np.sqrt(fan_in)
            new.append(rng.uniform(-bound, bound, shape).astype("float32"))
        if new:
            layer.set_weights(new)


def train_keras(arch, data, *, seed, epochs, batch_size, variant="", lr_schedule="constant"):
    import keras

    from kerasnas.datasets import with_channels
    from kerasnas.schedules import make_schedule

    keras.utils.set_random_seed(seed)
    model = build_keras(arch, data, variant)
    times = []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: times.append(-time.perf_counter()),
        on_epoch_end=lambda e, logs: times.__setitem__(-1, times[-1] + time.perf_counter()))
    model.fit(with_channels(data.x_train), data.y_train, batch_size=batch_size, epochs=epochs,
              shuffle=True, verbose=0, callbacks=[clock, *filter(None, [make_schedule(lr_schedule)])])
    evaluate = lambda x, y: float(model.evaluate(  # noqa: E731
        with_channels(x), y, batch_size=256, verbose=0, return_dict=True)["accuracy"])
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"val_accuracy": evaluate(data.x_val, data.y_val),
            "test_accuracy": evaluate(data.x_test, data.y_test),
            "epoch_seconds": times, "trainable_params": trainable}


def build_torch(arch):
    from benchmarks.comparison.frameworks import nni_spaces

    spec = ARCHS[arch]
    if spec["space"] == "nasbench201":
        space = nni_spaces.OneChannelNasBench201(spec["knobs"]["channels"], spec["knobs"]["cells_per_stage"])
        return space.freeze(nni_sample(arch))
    return nni_spaces.CustomCellSpace(fixed=nni_sample(arch))


def train_torch(arch, data, *, seed, epochs, batch_size, threads, lr_schedule="constant"):
    import torch

    from kerasnas.schedules import make_schedule

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build_torch(arch)
    knobs = ARCHS[arch]["knobs"]
    if knobs["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=knobs["learning_rate"], momentum=0.9, nesterov=True)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=knobs["learning_rate"])
    mean, std = float(data.mean[0]), float(np.sqrt(data.variance[0]))
    from kerasnas.datasets import with_channels

    to_tensor = lambda x: torch.from_numpy(  # noqa: E731  NHWC uint8 -> standardised NCHW
        ((with_channels(x).astype("float32") - mean) / std).transpose(0, 3, 1, 2).copy())
    x, y = to_tensor(data.x_train), torch.from_numpy(data.y_train.astype("int64"))
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    # kerasnas' per-trial schedule, the same factors per step as in Keras (None: constant).
    schedule = make_schedule(lr_schedule)
    if schedule:
        schedule.set_span(epochs * -(-len(y) // batch_size))
    times, step = [], 0
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        for idx in torch.randperm(len(y), generator=generator).split(batch_size):
            if schedule:
                for group in opt.param_groups:
                    group["lr"] = knobs["learning_rate"] * schedule.factor(step)
            step += 1
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        times.append(time.perf_counter() - start)
    model.eval()

    def evaluate(images, labels):
        with torch.no_grad():
            t = to_tensor(images)
            pred = torch.cat([model(t[i:i + 256]).argmax(1) for i in range(0, len(t), 256)])
        return float((pred.numpy() == labels).mean())

    return {"val_accuracy": evaluate(data.x_val, data.y_val),
            "test_accuracy": evaluate(data.x_test, data.y_test), "epoch_seconds": times,
            "trainable_params": int(sum(p.numel() for p in model.parameters() if p.requires_grad))}
