# %% [markdown]
# # Solutions: 10 · VGG
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np
from scipy import signal

import course_lib as cl
from course_lib import shapes

BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def activations(size, classes):
    """Values VGG-16 (configuration D) outputs for one size x size image, layer by layer."""
    total = 0
    for convs, filters in BLOCKS:
        total += convs * size * size * filters
        size //= 2
        total += size * size * filters
    return total + 4096 + 4096 + classes


# %% [markdown]
# **1.** Every convolution and pooling map shrinks by (224/32)^2 = 49, but the dense layers' 4096 + 4096
# activations do not shrink, so the total shrinks by a little less than 49. The parameter count falls from
# 138 M to about 34 M: fc1 reads 1x1x512 = 512 values instead of 7x7x512 = 25,088.

# %%
big, small = activations(224, 1000), activations(32, 10)
print(f"activations shrink {big / small:.1f}x")
assert 40 < big / small < 49
model = cl.models.vgg("D", input_shape=(32, 32, 3), num_classes=10)
print(f"parameters at 32x32: {model.count_params():,}; fc1 {model.get_layer('fc1').count_params():,}")
assert model.get_layer("fc1").count_params() == shapes.dense_params(512, 4096)

# %% [markdown]
# **2.** In C the last convolution of blocks 3-5 is 1x1 and adds nothing to the field: block5_conv3 sees
# 140 pixels in C against 196 in D, one reason D, with the same depth, did better.

# %%
def layers_of(config):
    kernels = [[3, 3], [3, 3], [3, 3, 3 if config == "D" else 1], [3, 3, 3 if config == "D" else 1],
               [3, 3, 3 if config == "D" else 1]]
    out = []
    for b, block in enumerate(kernels):
        out += [(k, 1) for k in block] + ([(2, 2)] if b < 4 else [])
    return out


fields = {c: shapes.receptive_field(layers_of(c)) for c in ("C", "D")}
assert cl.checks.exercise("10.2", fields)

# %% [markdown]
# **3.** With `head="gap"` only the convolutions and a 512 -> 1000 output layer are left: about 11% of the
# parameters.

# %%
gap = cl.models.vgg("D", head="gap").count_params()
paper = gap - shapes.dense_params(512, 1000) + (shapes.dense_params(25088, 4096) + shapes.dense_params(4096, 4096)
                                                + shapes.dense_params(4096, 1000))
print(f"{gap:,} of {paper:,} parameters left: {gap / paper:.1%}")
assert 0.10 < gap / paper < 0.12

# %% [markdown]
# **4.** Run it in the notebook. Compare the difference of the two means with the range over seeds of each
# network: only when every seed of one network beats every seed of the other does the run rank them. If the
# ranges still overlap, the budget (data, epochs, seeds) is too small to see the difference the paper
# measured on ImageNet, and a single run of each network could have ranked them either way.
#
# **5.** Two linear 3x3 layers are one correlation with the full convolution of their kernels; the
# response to a single 1 is that kernel turned by 180 degrees (a correlation's impulse response).

# %%
rng = np.random.default_rng(0)
k1, k2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
stack = keras.Sequential([keras.Input((9, 9, 1)), keras.layers.Conv2D(1, 3, padding="same", use_bias=False),
                          keras.layers.Conv2D(1, 3, padding="same", use_bias=False)])
stack.layers[0].set_weights([k1[:, :, None, None]])
stack.layers[1].set_weights([k2[:, :, None, None]])
impulse = np.zeros((1, 9, 9, 1), dtype="float32")
impulse[0, 4, 4, 0] = 1
response = np.asarray(stack(impulse))[0, 2:7, 2:7, 0]
assert np.allclose(response[::-1, ::-1], signal.convolve2d(k1, k2, "full"), atol=1e-5)
