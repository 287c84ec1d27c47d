import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerasnas.layers import conv2d

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.mark.parametrize("size, kernel, strides", [((7, 10), 1, 2), ((8, 8), 1, 3),
                                                  ((9, 9), 3, 2), ((6, 6), 1, 1)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv2d_equals_a_plain_conv2d_with_the_same_weights(size, kernel, strides, padding):
    inputs = keras.Input((*size, 3))
    split = keras.Model(inputs, conv2d(inputs, 5, kernel, strides, padding=padding))
    plain = keras.Sequential([keras.Input((*size, 3)),
                              keras.layers.Conv2D(5, kernel, strides=strides, padding=padding,
                                                  use_bias=False)])
    plain.set_weights(split.get_weights())
    x = np.random.default_rng(0).normal(size=(3, *size, 3)).astype("float32")
    assert split.output_shape == plain.output_shape
    np.testing.assert_allclose(split.predict(x, verbose=0), plain.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    # Only a strided 1x1 convolution is split (its weight gradient hits oneDNN#6035).
    pools = [layer for layer in split.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert len(pools) == (kernel == 1 and strides != 1)


@pytest.mark.slow  # a subprocess that trains 3 epochs
def test_training_with_few_channels_and_an_odd_last_batch_does_not_corrupt_the_heap():
    # A 4-channel stage into an 8-channel one (a strided 1x1 shortcut) and 23 images in
    # batches of 8: with a plain strided Conv2D this aborted 3 runs of 3 with TF 2.21's
    # oneDNN ("free(): invalid next size"). A subprocess, so a regression fails this test
    # instead of killing the suite.
    script = textwrap.dedent("""
        import keras, keras_tuner, numpy as np
        from kerasnas.spaces import get_space
        space = get_space("resnet", stem_width=4, stages=2, blocks_per_stage=1,
                          kernel_size=1, input_shape=(28, 28, 1), num_classes=2)
        keras.utils.set_random_seed(0)
        model = space.build(keras_tuner.HyperParameters())
        x = np.random.default_rng(0).normal(size=(23, 28, 28, 1)).astype("float32")
        model.fit(x, np.arange(23) % 2, batch_size=8, epochs=3, verbose=0)
        print("trained", model.count_params())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("trained ")
