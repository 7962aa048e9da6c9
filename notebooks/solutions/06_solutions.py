# %% [markdown]
# # Solutions: 06 · Convolution layers in Keras
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np
import tensorflow as tf
from keras import layers

import course_lib as cl
from course_lib import graph, numpy_cnn, shapes

# %% [markdown]
# **1.** conv_b outputs 24x24x64, so each of the 128 filters is 5x5x64: kernel (5, 5, 64, 128),
# 5·5·64·128 + 128 = 204,928 parameters.

# %%
inputs = keras.Input((28, 28, 1))
features = layers.Conv2D(64, 3)(layers.Conv2D(32, 3)(inputs))
conv = layers.Conv2D(128, 5)
conv(features)
assert conv.count_params() == shapes.conv_params(5, 64, 128)
assert cl.checks.exercise("06.1", dict(kernel_shape=tuple(conv.kernel.shape), params=conv.count_params()))

# %% [markdown]
# **2.** `ZeroPadding2D(2)` + a valid 5x5 equals "same" 5x5 at stride 1. It fails for even kernels (Keras
# pads k - 1 zeros, an odd number, with the extra one after, which a symmetric ZeroPadding2D cannot do) and
# for strides whose "same" padding is lopsided (e.g. n = 8, k = 3, s = 2 pads (0, 1)).

# %%
x = np.random.default_rng(0).normal(size=(1, 9, 9, 3)).astype("float32")
same = layers.Conv2D(4, 5, padding="same")
same(x)
valid = layers.Conv2D(4, 5)
valid(layers.ZeroPadding2D(2)(x))
valid.set_weights(same.get_weights())
assert np.allclose(np.asarray(same(x)), np.asarray(valid(layers.ZeroPadding2D(2)(x))), atol=1e-5)
print("pads 'same' uses for k=4, s=1:", shapes.same_pads(9, 4, 1), "and k=3, s=2, n=8:", shapes.same_pads(8, 3, 2))

# %% [markdown]
# **3.** Giving conv1 and conv2 `strides=2` instead of pooling keeps the parameter count of the
# convolutions but changes the flattened size (the strided maps are 13x13 and 6x6 rather than 13x13 and
# 5x5), so fc1 grows; multiply-adds drop, because each strided convolution computes a quarter of the
# positions. Training both for five epochs on digits takes about half a minute; the strided network
# usually ends within a point or two of the pooled one (run it over seeds before concluding).

# %%
def small_convnet(strided):
    pool = [] if strided else [layers.MaxPooling2D(2)]
    s = 2 if strided else 1
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, strides=s, activation="relu", name="conv1"),
                             *pool, layers.Conv2D(64, 3, strides=s, activation="relu", name="conv2"),
                             *([layers.MaxPooling2D(2)] if not strided else []), layers.Flatten(),
                             layers.Dense(1024, activation="relu", name="fc1"), layers.Dense(10, name="predictions")])


pooled, strided = graph.layer_table(small_convnet(False)), graph.layer_table(small_convnet(True))
print(f"pooled: {pooled.totals()['params']:,} parameters, {pooled.totals()['macs']:,} MACs")
print(f"strided: {strided.totals()['params']:,} parameters, {strided.totals()['macs']:,} MACs")
assert strided.totals()["macs"] < pooled.totals()["macs"]

# %% [markdown]
# **4.** The gradient of `sum(out**2)` is `2 out` upstream; `conv_backward` turns it into dK, which matches
# TensorFlow's.

# %%
x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
layer = layers.Conv2D(4, 3, strides=2, padding="same")
layer(x)
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(layer(x) ** 2)
dk_tf = tape.gradient(loss, layer.kernel).numpy()
w, b = layer.get_weights()
out, cache = numpy_cnn.conv_forward(x.astype("float64"), w, b, stride=2, pad="same")
_, dk, _ = numpy_cnn.conv_backward(2 * out, cache)
assert numpy_cnn.rel_error(dk, dk_tf) < 1e-4

# %% [markdown]
# **5.** With one example the batch mean is the example itself and the variance 0, so the training-mode
# output is `gamma * 0 / sqrt(eps) + beta = beta`, zeros at initialisation, whatever the input: there is
# nothing to compare an example with.

# %%
bn = layers.BatchNormalization()
single = np.asarray(bn(np.array([[3.0, 20.0]], dtype="float32"), training=True))
assert cl.checks.exercise("06.5", single)

# %% [markdown]
# **6.** From zero the moving mean after t steps is `mu (1 - m^t)`; within 1% needs `m^t <= 0.01`, so
# `t >= log(0.01) / log(0.9) = 43.7`: 44 steps (459 with m = 0.99).

# %%
t = int(np.ceil(np.log(0.01) / np.log(0.9)))
assert cl.checks.exercise("06.6", t)
