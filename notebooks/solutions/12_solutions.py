# %% [markdown]
# # Solutions: 12 · ResNet
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import numpy as np
import tensorflow as tf

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
# **3, 5.** Run them in the notebook (the gradient measurement takes seconds per depth). The plain network's
# max/min ratio grows with depth, roughly geometrically (a straight line on a log axis); with zero-γ the
# residual branches start as zero, every block passes its input through unchanged, and the gradient
# reaches the early layers as strongly as the late ones: the curve flattens at initialisation.
#
# **4.** Option B adds 1x1 projections (with BatchNormalization) where the width doubles; the parameters
# it adds are computed below. Its effect on the degradation experiment is small: the identity shortcuts do
# the work.

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
