# %% [markdown]
# # Solutions: 08 · Training a CNN well
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np

import course_lib as cl

# %% [markdown]
# **1.** Inverted dropout keeps a unit with probability 1 − rate and divides what it keeps by that
# probability, so that the expected activation is unchanged: with rate 0.2 the factor is 1 / 0.8 = 1.25.
# Keras agrees: on a vector of ones, the kept entries of `Dropout(0.2)(x, training=True)` are 1.25.

# %%
kept = keras.ops.convert_to_numpy(keras.layers.Dropout(0.2, seed=1)(np.ones(1000, "float32"), training=True))
factor = 1 / (1 - 0.2)
assert np.allclose(kept[kept > 0], factor)
assert cl.checks.exercise("08.1", factor)

# %% [markdown]
# **2.** AdamW's decoupled decay multiplies each weight by (1 − learning_rate × weight_decay) at every step,
# whatever its gradient; with no gradient Adam's own update is zero. After 120 steps:
# (1 − 0.003 × 0.5)^120 = 0.9985^120 ≈ 0.835. Subtracting 120 × 0.0015 = 0.18 once (0.82) forgets that
# each step takes its fraction of what is left.

# %%
left = (1 - 0.003 * 0.5) ** 120
assert cl.checks.exercise("08.2", left)

# %% [markdown]
# **3.** A 3×3 convolution from 16 to 16 channels has fan-in 3·3·16 = 144 and fan-out 3·3·16 = 144.
# Glorot's uniform limit is sqrt(6 / (144 + 144)) and U(−a, a) has variance a² / 3, so the variance is
# 2 / 288 ≈ 0.00694 (here equal to 1 / fan-in, because the two fans are equal).

# %%
limit = np.sqrt(6 / (144 + 144))
variance = limit**2 / 3
draw = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=0)((3, 3, 16, 16)))
print(f"variance {variance:.5f}; a draw of {draw.size} weights has variance {draw.var():.5f}")
assert cl.checks.exercise("08.3", variance)

# %% [markdown]
# **4.** Train as in section 3, with `augment=lambda seed: [keras.layers.RandomRotation(f, seed=seed)]`
# (a factor f is a fraction of a full turn: 0.02 is about 7°, 0.15 about 54°). What to look for: small
# rotations simulate how people slant their digits and, like the shift, can only help as far as the validation
# digits vary that way; large ones start to turn digits into others (a 6 rotated by half a turn is a 9), so
# rotation is label-preserving only for small angles. Compare each run with the baseline's spread, and keep
# section 7's standard error in mind before calling a difference of a point or two an effect.
#
# **5.** Keep the number of steps fixed (passes = 60 × 150 / n) and train `small_cnn` with and without
# dropout on n = 75, 150, 300 and 600 digits; plot `runs.val_accuracy.mean()` against n on
# `plt.xscale("log")` with the min-max band. More data raises validation accuracy far more than any
# regulariser in the notebook (section 1 measured 150 against 600); whether dropout's gain shrinks as n grows
# is what the plot shows on your run.
#
# **6.** Add `GlobalAveragePooling2D` and a 10-way softmax on top of `plain_net`, compile with
# `keras.optimizers.SGD(0.02, momentum=0.9)`, and train each initialisation for 20 passes over 600 digits
# from three seeds with `cl.training.train_runs`, then plot `runs.curves["loss"]`. A loss that stays at
# ln 10 ≈ 2.30 is chance for ten classes. The cell below computes that value; the training is left to you
# (it would take longer than the notebook's time budget allows).

# %%
chance = np.log(10)
print(f"chance-level cross-entropy for 10 classes: {chance:.3f}")
assert abs(chance - 2.302585) < 1e-6
