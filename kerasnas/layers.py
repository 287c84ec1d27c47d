"""Layers shared by the spaces. keras.layers / keras.ops only (any backend)."""

from keras import layers

# PyTorch's BN momentum 0.1 (Keras 0.9), as NAS-Bench-201 trains: Keras' default 0.99
# leaves the moving statistics unsettled after the short trainings of a search.
BN_MOMENTUM = 0.9


def normalise(inputs, normalization=None):
    """The models' first layer: raw pixels in, mean 0 and variance 1 out, per channel.

    Part of the exported model, so it takes raw images (uint8 values) as they
    come. `normalization` is (mean, variance) per channel measured on the
    training split (search() sets it from the data); None scales by 1/255.
    """
    if normalization is None:
        return layers.Rescaling(1.0 / 255)(inputs)
    mean, variance = normalization
    return layers.Normalization(mean=list(mean), variance=list(variance))(inputs)


def batch_norm(name=None):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name)


def conv2d(x, filters, kernel_size, strides=1, **kwargs):
    """`layers.Conv2D` without bias, with a strided 1x1 convolution split in two.

    A 1x1 convolution with stride s reads every s-th pixel, so it equals
    subsampling (a 1x1 max-pool with stride s) then a 1x1 convolution: the same
    weights, outputs and saved layers. Why split it: oneDNN, TensorFlow's CPU
    kernels, writes past a buffer in that convolution's weight gradient when it
    has fewer than 16 input channels (uxlfoundation/oneDNN#6035), which aborted
    trainings with heap corruption whenever a batch had an odd size (measured
    with TF 2.21: 3 of 3 runs; 0 of 3 once split).
    """
    if kernel_size == 1 and strides != 1:
        x = layers.MaxPooling2D(pool_size=1, strides=strides)(x)
        strides = 1
    return layers.Conv2D(filters, kernel_size, strides=strides, use_bias=False, **kwargs)(x)


def conv_bn_relu(x, filters, kernel_size=3, strides=1, name=None):
    """Conv -> BN -> ReLU, the ResNet ordering."""
    x = conv2d(x, filters, kernel_size, strides, padding="same",
               name=None if name is None else f"{name}_conv")
    x = batch_norm(None if name is None else f"{name}_bn")(x)
    return layers.ReLU()(x)


def relu_conv_bn(x, filters, kernel_size, strides=1, dilation_rate=1):
    """ReLU -> Conv -> BN, the ordering of NAS-Bench-201's `nor_conv` and of NASNet cells."""
    x = layers.ReLU()(x)
    x = conv2d(x, filters, kernel_size, strides, padding="same", dilation_rate=dilation_rate)
    return batch_norm()(x)


def _shortcut(x, filters, strides):
    if strides == 1 and x.shape[-1] == filters:
        return x
    return batch_norm()(conv2d(x, filters, 1, strides))


def basic_block(x, filters, strides=1, kernel_size=3):
    """ResNet basic block (He et al. 2016): two convolutions and a shortcut."""
    shortcut = _shortcut(x, filters, strides)
    y = conv_bn_relu(x, filters, kernel_size, strides)
    y = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False)(y)
    y = batch_norm()(y)
    return layers.ReLU()(layers.Add()([shortcut, y]))


def bottleneck_block(x, filters, strides=1, kernel_size=3, reduction=4):
    """ResNet bottleneck: 1x1 down to filters/reduction, kxk, 1x1 back up."""
    mid = max(8, filters // reduction)
    shortcut = _shortcut(x, filters, strides)
    y = conv_bn_relu(x, mid, 1)
    y = conv_bn_relu(y, mid, kernel_size, strides)
    y = layers.Conv2D(filters, 1, use_bias=False)(y)
    y = batch_norm()(y)
    return layers.ReLU()(layers.Add()([shortcut, y]))


def classifier_head(x, num_classes, dropout=0.0):
    """Global average pooling, optional dropout, softmax."""
    x = layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    # float32 under mixed precision too: a stable softmax, float32 probabilities out.
    return layers.Dense(num_classes, activation="softmax", dtype="float32")(x)


def estimate_flops(model):
    """Multiply-accumulates of one image's forward pass through `model`'s weighted layers.

    Counts Conv2D (with dilation and groups), DepthwiseConv2D, SeparableConv2D
    and Dense: one MAC per weight use, plus one add per output for a bias (the
    "FLOPs" convention of NAS-Bench-201's tables). Pooling, BatchNorm,
    activations and additions are not counted. Nested models are recursed.
    """
    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers"):
            total += estimate_flops(layer)
            continue
        if not isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D,
                                  layers.SeparableConv2D, layers.Dense)):
            continue
        out = layer.output.shape[1:]
        positions = 1
        for size in out[:-1]:
            positions *= size
        cin = layer.input.shape[-1]
        if isinstance(layer, layers.Dense):
            per_position = cin * layer.units
        else:
            window = layer.kernel_size[0] * layer.kernel_size[1]
            if isinstance(layer, layers.Conv2D):
                per_position = window * cin // layer.groups * layer.filters
            else:
                depth = cin * layer.depth_multiplier
                per_position = window * depth
                if isinstance(layer, layers.SeparableConv2D):
                    per_position += depth * layer.filters
        total += positions * (per_position + (out[-1] if layer.use_bias else 0))
    return total
