# %% [markdown]
# # Solutions: 14 · Beyond ResNet
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras

import course_lib as cl
from course_lib import shapes

BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))

# %% [markdown]
# **1.** A depthwise separable 3x3 layer holds `9 C_in + C_in C_out + C_out` weights and costs
# `H W C_in (9 + C_out)` multiply-adds, against `9 C_in C_out + C_out` and `9 H W C_in C_out`. The
# convolutions' multiply-adds fall by about 8-9x (almost all of VGG-16's compute), but their parameters are
# only 15 M of VGG-16's 138 M: the dense layers, untouched, keep most of the parameters, so the saving in
# parameters is much smaller.

# %%
params = macs = full_params = full_macs = 0
size, c_in = 224, 3
for convs, filters in BLOCKS:
    for _ in range(convs):
        params += 9 * c_in + shapes.conv_params(1, c_in, filters)
        macs += size * size * c_in * 9 + shapes.conv_macs(size, 1, c_in, filters)
        full_params += shapes.conv_params(3, c_in, filters)
        full_macs += shapes.conv_macs(size, 3, c_in, filters, padding=1)
        c_in = filters
    size //= 2
print(f"separable: {params:,} parameters, {macs / 1e9:.2f} G MACs; "
      f"standard: {full_params:,}, {full_macs / 1e9:.2f} G")
assert cl.checks.exercise("14.1", dict(params=params, macs=macs))

# %% [markdown]
# **2.** At the conv2 stage (256 channels in and out) a ResNeXt bottleneck with C groups of width d holds
# `256·Cd + 9·Cd·d + Cd·256` weights: the grouped 3x3 layer has Cd outputs, each reading only the d channels
# of its group, so it holds `9·d·Cd` weights instead of `9·(Cd)²`. The five settings of Table 2 stay within
# a few percent of each other (69,632 to 71,456), while the 3x3 layer widens from 64 to 128 channels. Building
# `models.resnext(...)` for each and calling `count_params()` / `graph.layer_table` shows the same for whole
# networks (several seconds each, not run here).

# %%
settings = [(1, 64), (2, 40), (4, 24), (8, 14), (32, 4)]
block = {(c, d): 256 * c * d + 9 * c * d * d + c * d * 256 for c, d in settings}
for (c, d), n in block.items():
    print(f"C={c:>2}, d={d:>2}: 3x3 width {c * d:>3}, {n:,} weights per block")
assert max(block.values()) / min(block.values()) < 1.05
grouped = keras.layers.Conv2D(32 * 4, 3, groups=32, use_bias=False)
grouped.build((None, 56, 56, 128))
assert grouped.count_params() == 9 * 4 * 128  # Keras agrees on the grouped layer of (32, 4)
assert cl.checks.exercise("14.2", block)

# %% [markdown]
# **3.** An experiment (a minute per setting): run section 5 again with the larger rates and with batches
# of 4. Expect the BN network to tolerate larger steps than the plain one but not every step, and its
# validation accuracy to suffer with tiny batches: the mean and variance of 4 examples are noisy, and the
# moving averages used at inference disagree with what training saw.
#
# **4.** An SE block on C channels adds `C·C/r + C/r` (squeeze) `+ C/r·C + C` (excite) weights, so its
# cost falls about as 1/r: about 10.1 million extra weights at r = 4 (40% of ResNet-50 itself), 0.64 million
# at r = 64. The last stage (2048 channels, 3 blocks) holds most of them: C² grows faster than the block
# count falls. `models.se_resnet(se_reduction=r).count_params()` minus ResNet-50's gives the same numbers
# (a few seconds per network, not run here).

# %%
stages = [(256, 3), (512, 4), (1024, 6), (2048, 3)]  # (channels, blocks) of ResNet-50's four stages
extra = {}
for r in (4, 16, 64):
    per_stage = [n * (2 * c * (c // r) + c // r + c) for c, n in stages]
    extra[r] = sum(per_stage)
    print(f"r={r:>2}: {sum(per_stage):,} extra weights; by stage {per_stage}")
    assert max(per_stage) == per_stage[-1]
assert extra[16] == 2_530_992  # section 3's SE-ResNet-50 minus ResNet-50
assert cl.checks.exercise("14.4", {4: extra[4], 64: extra[64]})

# %% [markdown]
# **5.** A layer with `c` inputs and growth `k` holds `4c + 4kc + 16k + 36k^2` parameters (`dense_layer_params`:
# BN on c channels, the 1x1 to 4k channels, BN on 4k, the 3x3 to k); the block's inputs grow by k per layer
# too. For k = 12 the block holds 61,584 parameters, for k = 48 718,656 (338,304 at k = 32). For large k the
# `36k^2` term of the 3x3 convolution dominates, and the block's count grows almost quadratically in k.

# %%
def dense_layer_params(c_in, k):
    return 4 * c_in + c_in * 4 * k + 4 * (4 * k) + 3 * 3 * (4 * k) * k


def block_params(c0, k, layers=6):
    return sum(dense_layer_params(c0 + i * k, k) for i in range(layers))


for k in (12, 24, 32, 48):
    print(f"k={k}: {block_params(64, k):,} parameters")
assert block_params(64, 32) == 338_304  # section 7's count
assert block_params(64, 48) / block_params(64, 24) > 3
assert cl.checks.exercise("14.5", {12: block_params(64, 12), 48: block_params(64, 48)})

# %% [markdown]
# **6.** Without the bottleneck a layer holds `9ck` convolution weights, with it `4kc + 36k^2`; the
# bottleneck pays off once `9ck > 4kc + 36k^2`, i.e. once the layer's input has more than `7.2 k` channels:
# 230.4 for k = 32, so from 231 channels on. (The multiply-adds are these counts times 56x56, so the same
# threshold holds for them; counting the BN layers too moves it to 234.) Section 7's block reads 64 to 224
# channels: in DenseNet-121's first block the bottleneck never pays off, it costs weights. The second block
# starts at 128 channels (the transition halves 256) and its fifth layer, reading 256, is the first where
# the bottleneck saves; the deeper blocks, reading up to 1,024 channels, are where it earns its keep.

# %%
k = 32
channels = next(c for c in range(1, 1000) if 9 * c * k > 4 * k * c + 36 * k * k)
assert all(64 + i * k < channels for i in range(6))  # no layer of the first block reaches it
block2_layer = next(i for i in range(1, 13) if 128 + (i - 1) * k >= channels)
print(f"the bottleneck pays off from {channels} input channels; in block 2 from layer {block2_layer}")
assert cl.checks.exercise("14.6", dict(channels=channels, block2_layer=block2_layer))

# %% [markdown]
# **7.** Multiply-adds grow about as `depth x width^2 x resolution^2`: width 2.0 alone multiplies them by
# about 4, depth 3.1 by about 3.1, and 600x600 input by (600/224)^2, about 7.2. To double the compute,
# depth has to double, width and resolution only grow by sqrt(2); `graph.layer_table` on the three models
# gives the measured factors (B7 combines all three, for far more than any one of them).

# %%
factors = {"width 2.0": 2.0 ** 2, "depth 3.1": 3.1, "resolution 600": (600 / 224) ** 2}
print({name: round(f, 1) for name, f in factors.items()})

# %% [markdown]
# **8.** Look the top-1 errors up in the papers' tables (ResNet Table 3/4, EfficientNet Table 2, ...); for
# these networks the ranking by top-1 follows the one by top-5 closely.
#
# **9.** An experiment (three seeds, about a minute each): compare final accuracy and whether the loss
# diverges. Clipping each weight's update relative to its norm keeps the first large steps from blowing up,
# but it does not replace normalisation: judge "rescued" by the mean and spread over the seeds.
