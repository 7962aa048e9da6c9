# %% [markdown]
# # Solutions: 14 · Beyond ResNet
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
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
# `256·Cd + 9·Cd·d + Cd·256` weights (the grouped 3x3 is C blocks of d x d): the five settings of Table 2
# stay within a few percent of each other, while the 3x3 layer widens from 64 to 128 channels. Building
# `models.resnext(...)` for each and calling `count_params()` / `graph.layer_table` shows the same for whole
# networks (several seconds each, not run here).

# %%
settings = [(1, 64), (2, 40), (4, 24), (8, 14), (32, 4)]
block = {(c, d): 256 * c * d + 9 * c * d * d + c * d * 256 for c, d in settings}
for (c, d), n in block.items():
    print(f"C={c:>2}, d={d:>2}: 3x3 width {c * d:>3}, {n:,} weights per block")
assert max(block.values()) / min(block.values()) < 1.05

# %% [markdown]
# **3.** An experiment (a minute per setting): run section 5 again with the larger rates and with batches
# of 4. Expect the BN network to tolerate larger steps than the plain one but not every step, and its
# validation accuracy to suffer with tiny batches: the mean and variance of 4 examples are noisy, and the
# moving averages used at inference disagree with what training saw.
#
# **4.** An SE block on C channels adds `C·C/r + C/r` (squeeze) `+ C/r·C + C` (excite) weights, so its
# cost falls as 1/r. The last stage (2048 channels, 3 blocks) holds most of SE-ResNet-50's extra weights:
# C² grows faster than the block count falls.

# %%
stages = [(256, 3), (512, 4), (1024, 6), (2048, 3)]  # (channels, blocks) of ResNet-50's four stages
for r in (4, 16, 64):
    per_stage = [n * (2 * c * (c // r) + c // r + c) for c, n in stages]
    print(f"r={r:>2}: {sum(per_stage):,} extra weights; by stage {per_stage}")
    assert max(per_stage) == per_stage[-1]

# %% [markdown]
# **5.** A bottleneck layer with `c` inputs and growth `k` holds about `4kc + 36k^2` convolution weights
# (1x1 to 4k channels, 3x3 to k); for large k the `36k^2` term dominates, and the block's count grows
# quadratically in k.

# %%
def block_params(c0, k, layers=6):
    return sum(4 * k * (c0 + i * k) + 9 * 4 * k * k for i in range(layers))


for k in (12, 24, 48):
    print(f"k={k}: {block_params(64, k):,} convolution weights")
assert block_params(64, 48) / block_params(64, 24) > 3

# %% [markdown]
# **6.** Without the bottleneck a layer holds `9 c k` weights; the bottleneck pays off once
# `9ck > 4kc + 36k^2`, i.e. once the layer's input has more than `7.2 k` channels: with 64 input channels
# and k = 32, from the layer printed below on.

# %%
c0, k = 64, 32
first = next(i for i in range(50) if 9 * (c0 + i * k) * k > 4 * k * (c0 + i * k) + 36 * k * k)
print(f"the bottleneck pays off from layer {first + 1} of the block (input {c0 + first * k} channels)")

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
