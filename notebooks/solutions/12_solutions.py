# %% [markdown]
# # Solutions: 12 · ResNet
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np
import tensorflow as tf
from keras import layers

import course_lib as cl

# %% [markdown]
# **1.** Build `cl.models.cifar_resnet(d)` and call `count_params()` for each depth (about 0.27 M for 20 up
# to 1.7 M for 110, matching Table 6 to the rounding; BatchNormalization's moving statistics count in
# Keras' total). The plain twin has the same count because option-A shortcuts have no weights: an identity,
# or a subsampling plus zero channels. Two depths here, to keep the solution fast:

# %%
for depth in (20, 32):
    res, plain = cl.models.cifar_resnet(depth), cl.models.cifar_resnet(depth, plain=True)
    print(f"ResNet-{depth}: {res.count_params():,} parameters; plain twin {plain.count_params():,}")
    assert res.count_params() == plain.count_params()

# %% [markdown]
# **2.** A bottleneck block (1x1 down to a quarter of the width, 3x3 there, 1x1 back up) costs about what a
# basic block of two 3x3 layers at the narrow width costs, and ResNet-50 has the same 16 blocks as
# ResNet-34, so its multiply-adds (3.8 G) are barely more than ResNet-34's (3.6 G) although it has 50
# layers. `graph.layer_table(cl.models.resnet(50))` gives the per-layer count.
#
# **3.** Run it in the notebook with section 3's `kernel_gradient_norms`. Section 3 found the plain
# network's gradient norm changing by a nearly constant factor per layer (a straight line on a log axis), so
# expect its max/min ratio to grow roughly geometrically with depth; check it on your plot.
#
# **5.** With zero-γ the last batch normalisation of every residual branch outputs its shift β = 0 whatever
# its input, so the branches' convolutions cannot change the loss: their kernel gradients are exactly zero at
# initialisation, and the plot on a log axis is left with the first convolution alone. The network starts as
# its stem, its shortcuts and its classifier; in the first step only the γ's (and β's), the stem and the
# classifier move, and once the γ's leave zero the branches begin to learn. The cell below checks it on a
# small network.

# %%
cl.config.set_seed(0)
net = cl.models.cifar_resnet(8, input_shape=(16, 16, 3), width_multiplier=0.5)
for layer in net.layers:
    if isinstance(layer, layers.BatchNormalization) and layer.name.endswith("_2_bn"):  # last BN of a branch
        gamma, beta, mean, var = layer.get_weights()
        layer.set_weights([np.zeros_like(gamma), beta, mean, var])
x = np.random.default_rng(0).normal(size=(16, 16, 16, 3)).astype("float32")
y = np.arange(16) % 10
convs = [layer for layer in net.layers if isinstance(layer, layers.Conv2D)]


def loss():
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, net(x, training=True)))


norms = {c.name: float(np.linalg.norm(g))
         for c, g in zip(convs, cl.visualize.gradients.variable_gradients(loss, [c.kernel for c in convs]))}
print(norms)
assert norms.pop("conv1_conv") > 0 and not any(norms.values())

# %% [markdown]
# **4.** Option B adds 1x1 projections (with BatchNormalization) where the width doubles; the parameters
# it adds are computed below. On ImageNet the paper found projections only slightly better than zero-padding
# (ResNet-34 B against A in its Table 3, 7.46% against 7.76% top-5 error) and concluded that they are not
# essential for the degradation problem. Here, compare the ranges over the three seeds before concluding.

# %%
extra = cl.models.cifar_resnet(20, shortcut="B").count_params() - cl.models.cifar_resnet(20).count_params()
print(f"option B adds {extra:,} parameters to ResNet-20")
assert extra >= 16 * 32 + 32 * 64  # at least the two projection kernels

# %% [markdown]
# **6.** Option A subsamples the input with stride 2 and pads the new channels with zeros:

# %%
def shortcut_a(x, filters):
    x = x[:, ::2, ::2, :]
    extra_channels = filters - x.shape[-1]
    return tf.pad(x, [[0, 0], [0, 0], [0, 0], [extra_channels // 2, extra_channels - extra_channels // 2]])


x = np.random.default_rng(0).normal(size=(1, 8, 8, 16)).astype("float32")
y = shortcut_a(x, 32).numpy()
assert y.shape == (1, 4, 4, 32) and np.array_equal(y[..., 8:24], x[:, ::2, ::2, :])
