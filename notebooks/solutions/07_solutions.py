# %% [markdown]
# # Solutions: 07 · LeNet
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import numpy as np

import course_lib as cl
from course_lib import shapes

# %% [markdown]
# **1.** Train `models.lenet5("published")` on the shifted digits padded to 32x32 (`np.pad(x, ((0, 0),
# (2, 2), (2, 2), (0, 0)))`) with the notebook's epochs. It trains more slowly per epoch (the C3 table and
# the RBF layer are slower ops) and, with scaled tanh and trainable sub-sampling, typically ends a little
# below the modern network in the same epochs. The output codes are fixed: they are not trainable
# weights, so training cannot change them; compare `get_weights()` of the RBF layer before and after.

# %%
published = cl.models.lenet5("published")
fixed = sum(int(np.prod(w.shape)) for w in published.non_trainable_weights)
print(f"trainable {sum(int(np.prod(w.shape)) for w in published.trainable_weights):,}, fixed {fixed:,}")
assert fixed > 0  # the RBF codes

# %% [markdown]
# **2.** The convolutions' counts do not depend on the input size; only `fc1`, which reads the flattened
# map, grows: 7x7x50 = 2,450 inputs at 28x28 become 8x8x50 = 3,200 at 32x32 ("same" convolutions and two
# 2x2 poolings), 750 more inputs times 500 units.

# %%
small, big = cl.models.lenet5("modern"), cl.models.lenet5("modern", input_shape=(32, 32, 1))
change = {layer.name: big.get_layer(layer.name).count_params() - layer.count_params() for layer in small.layers}
assert cl.checks.exercise("07.2", {k: v for k, v in change.items() if v})

# %% [markdown]
# **3.** With tanh the network learns more slowly at the start (saturating units, smaller gradients) and
# usually ends a little lower after the same epochs; plot `history.history["val_accuracy"]` of both runs on
# one axis (about 20 s of training in quick mode).
#
# **4.** 50 units keep 2,450·50 + 50 weights in fc1 and shrink the output layer to 50·10 + 10; global
# average pooling removes fc1 and feeds the 50 channel means straight to the output layer (510 weights).
# Both save most of the network's parameters; accuracy usually drops a little with 50 units and more with
# global pooling on such small maps (7x7), which throws away where the strokes are.

# %%
base = shapes.dense_params(2450, 500) + shapes.dense_params(500, 10)
answer = dict(fc1_50=base - shapes.dense_params(2450, 50) - shapes.dense_params(50, 10),
              gap=base - shapes.dense_params(50, 10))
assert cl.checks.exercise("07.4", answer)

# %% [markdown]
# **5.** Without shifts the digits sit where the training digits sat, so a linear readout and an MLP
# close most of the gap: the convolutional network's advantage came from weight sharing making it
# indifferent to where a stroke is, which matters only when positions vary.
