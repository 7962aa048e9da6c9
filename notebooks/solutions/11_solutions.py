# %% [markdown]
# # Solutions: 11 · NiN and GoogLeNet
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np

import course_lib as cl
from course_lib import shapes

# %% [markdown]
# **1.** A 1x1 convolution computes, at every position, a C_in-long dot product per filter: reshaping the
# map to (H·W, C_in) makes it one matrix product, with H·W·C_in·C_out multiply-adds.

# %%
x = np.random.default_rng(0).normal(size=(1, 28, 28, 192)).astype("float32")
conv = keras.layers.Conv2D(96, 1, use_bias=False)
out = np.asarray(conv(x))
assert np.allclose(out.reshape(-1, 96), x.reshape(-1, 192) @ conv.get_weights()[0][0, 0], atol=1e-4)
macs = {"3x3_reduce": shapes.conv_macs(28, 1, 192, 96), "5x5_reduce": shapes.conv_macs(28, 1, 192, 16)}
assert cl.checks.exercise("11.1", macs)

# %% [markdown]
# **2.** A naive module concatenates its three convolutions with the pooled input, so depth only grows:
# 528 + 256 + 320 + 128 for 4e. The naive 5b (7x7x832 in; 384, 384, 128 filters) costs the multiply-adds
# printed below, several times the reduced module's.

# %%
assert cl.checks.exercise("11.2", 528 + 256 + 320 + 128)
naive_5b = sum(shapes.conv_macs(7, k, 832, f, padding=k // 2) for k, f in ((1, 384), (3, 384), (5, 128)))
print(f"naive 5b: {naive_5b / 1e6:,.0f} M multiply-adds")

# %% [markdown]
# **3.** NiN's last mlpconv gives 8x8x10 maps for CIFAR: Flatten + Dense(10) adds 640·10 + 10 weights
# where global pooling had none. A 4096-4096 head on GoogLeNet's 7x7x1024 output needs over 200 M weights,
# many times the whole network (about 7 M).

# %%
nin = cl.models.nin()
h, w, c = (int(d) for d in nin.get_layer("avg_pool").input.shape[1:])
print("NiN Flatten + Dense(10):", shapes.dense_params(h * w * c, 10))
head = shapes.dense_params(7 * 7 * 1024, 4096) + shapes.dense_params(4096, 4096) + shapes.dense_params(4096, 1000)
assert cl.checks.exercise("11.3", head)

# %% [markdown]
# **4.** With a 16-channel reduction the two 3x3 layers (16 -> 32, 32 -> 32) hold 4,608 + 9,216 = 13,824
# weights against 12,800 for the 5x5 (16 -> 32): the second 3x3 works at the full 32 channels, so the pair
# costs more here. With a 32-channel reduction the 5x5 needs 25,600 and the pair 18,432: now cheaper, the
# 25/18 saving of section 3.

# %%
for r in (16, 32):
    five = shapes.conv_params(5, r, 32, bias=False)
    pair = shapes.conv_params(3, r, 32, bias=False) + shapes.conv_params(3, 32, 32, bias=False)
    print(f"reduction {r}: 5x5 {five:,}, two 3x3 {pair:,}")
    assert (pair > five) == (r == 16)

# %% [markdown]
# **5, 6.** Experiments: run them in the notebook, reusing section 5's `gradient_by_stage`. For exercise 5,
# the heads' weight scales their gradient, so the gain at initialisation grows with it; what to watch is
# how the cosine and the gain move once the main loss falls below the uniform guess (ln 10), and whether
# they move by more than their range over the seeds. For the training comparison, call a difference between
# with and without heads real only if every seed of one setting beats every seed of the other. For exercise
# 6, compare the stem's gradient from the main loss, and the gain, under both initialisations; Glorot's
# smaller scale makes the signal reaching the classifiers smaller (notebook 09 measured this for the scaled
# AlexNet), and that changes both losses' gradients. With Adam each weight's step is divided by the running
# size of its own gradient, so a gradient the heads make 1.3 times larger gives a step that is not 1.3 times
# larger once that running size has caught up: the gain describes the gradient, not the step.
