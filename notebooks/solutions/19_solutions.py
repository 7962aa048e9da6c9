# %% [markdown]
# # Solutions: 19 · Training on several devices
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import math

import course_lib as cl

# %% [markdown]
# **1.** `fit`'s `batch_size` is the global batch: each step splits it across every replica of the cluster.
# Two machines with 4 GPUs each make 8 replicas, so each holds 1024 / 8 = 128 examples. Dividing by the
# machines (512) forgets that every GPU of a machine is a replica of its own; dividing by the GPUs of one
# machine (256) forgets the other machine.

# %%
replicas = 2 * 4
per_replica = 1024 // replicas
assert per_replica * replicas == 1024  # equal shards: no replica gets a smaller batch
assert cl.checks.exercise("19.1", per_replica)

# %% [markdown]
# **2.** The batch grows by k = 8192 / 256 = 32, so the rate does too: 0.1 × 32 = 3.2. With Goyal et al.'s
# gradual warm-up the rate starts at 0.1 and climbs linearly to 3.2 over the first 5 epochs.
# `cl.training.scaled_learning_rate(0.1, 256, 8192)` gives the same number. (Square-root scaling, another rule
# that is sometimes used, would give 0.1 × √32 ≈ 0.57.)

# %%
k = 8192 / 256
rate = 0.1 * k
assert math.isclose(rate, cl.training.scaled_learning_rate(0.1, 256, 8192))
assert cl.checks.exercise("19.2", rate)

# %% [markdown]
# **3.** Every step ends with one all-reduce of the gradients, shared by all 256 GPUs, so the count is the
# number of steps of the global batch: ⌈1,281,167 / 8,192⌉ = 157 (156 full batches, and a last one of 3,215
# images). Counting per GPU (157 × 256) or in batches of one GPU's 32 images (40,037) counts the wrong thing.

# %%
images, batch = 1_281_167, 8192
steps = math.ceil(images / batch)
assert images - (steps - 1) * batch == 3215  # the last, smaller batch
assert cl.checks.exercise("19.3", steps)

# %% [markdown]
# **4.** Change section 2's `K` to 16 and 32 (global batches of 256 and 512: 5 and 3 steps per epoch on the
# 1,037 training digits), and add a configuration with the scaled rate given as a plain float, without warm-up:
# `(BIG_BATCH, BASE_LR * K)`. What to look for: as k grows, 10 epochs make fewer updates (30 at k = 32), each a
# step of k × 0.02 with momentum 0.9. The rule's argument needs the gradient to change little over the k small
# steps that one large step replaces, which is less true the larger the step: where the scaled runs fall below
# the base batch's spread in every seed, the rule has stopped working on this problem. The warm-up matters
# where the runs without it start with a spike in the training loss (`runs[name].curves["loss"]`) or end below
# the runs with it in every seed. With three seeds and 400 validation digits, differences of a point or two
# are within the noise: compare spreads, as section 2 does, before calling a difference real.
