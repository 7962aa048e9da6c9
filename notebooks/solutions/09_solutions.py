# %% [markdown]
# # Solutions: 09 · AlexNet
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np

import course_lib as cl
from course_lib import shapes

# %% [markdown]
# **1.** AlexNet's pool5 units see 195 pixels, ZFNet's 171: ZFNet's smaller first layer (7x7, stride 2)
# is not made up by its stride-2 conv2, so AlexNet's units see more of the image.

# %%
alexnet = [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]
zfnet = [(7, 2), (3, 2), (5, 2), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]
fields = dict(alexnet=shapes.receptive_field(alexnet), zfnet=shapes.receptive_field(zfnet))
print(fields)
assert cl.checks.exercise("09.1", fields)

# %% [markdown]
# **2.** Forward activations of one 227x227 image, summed layer by layer, times 128 images and 4 bytes,
# against the parameters (and the same again for the momentum buffers).

# %%
maps = [(55, 55, 96), (27, 27, 96), (27, 27, 256), (13, 13, 256), (13, 13, 384), (13, 13, 384),
        (13, 13, 256), (6, 6, 256), (4096,), (4096,), (1000,)]
acts = 128 * sum(shapes.activation_memory(m) for m in maps)
with cl.models.architecture_only():  # counts only: no weights drawn
    params = 4 * cl.models.alexnet(groups=2).count_params()  # the paper's two-tower network (notebook 09, section 4)
print(f"activations of a batch of 128: {acts / 2**30:.2f} GiB; parameters {params / 2**20:.0f} MiB "
      f"(+ the same for momentum)")
assert acts > params  # a batch of activations outweighs the weights themselves

# %% [markdown]
# **3, 4, 6.** These are training experiments; run them in the notebook with the same seed and epochs, and
# compare accuracy and time per epoch. What to look for, and what others found: the VGG paper's network A-LRN
# was no better than A without LRN (its Section 4.1); whether LRN or BatchNormalization helps the scaled
# AlexNet here is for your runs to show, and one seed cannot separate small differences. Augmentation and
# dropout both act against overfitting, so removing either should widen the gap between training and
# validation accuracy; compare the two gaps. In CaffeNet's order the LRN layers normalise the pooled maps
# (27x27 and 13x13 in the full network, instead of 55x55 and 27x27), so they process about a quarter of the
# values; whether that shows in the time per epoch depends on how much of it LRN takes.
#
# **5.** Flatten + fc1 + fc2 hold 37.7 M + 16.8 M weights; with global average pooling the output layer
# reads 256 channel means instead of 4,096 units.

# %%
lost = (shapes.dense_params(6 * 6 * 256, 4096) + shapes.dense_params(4096, 4096) + shapes.dense_params(4096, 1000)
        - shapes.dense_params(256, 1000))
assert cl.checks.exercise("09.5", lost)

# %% [markdown]
# **7.** With zero loss gradient, coupled decay (the paper's `v = 0.9 v - lr (lambda w)`, `w += v`) shrinks
# w by about `lr lambda / (1 - 0.9)` per step in the long run, ten times the `lr lambda` per step of Keras'
# decoupled `SGD(weight_decay=lambda)`, which does not pass the decay through the momentum.

# %%
lr, lam, steps = 0.01, 0.05, 400
w, v = 1.0, 0.0
for _ in range(steps):
    v = 0.9 * v - lr * lam * w
    w += v
var = keras.Variable(np.ones(1, dtype="float32"))
opt = keras.optimizers.SGD(learning_rate=lr, momentum=0.9, weight_decay=lam)
for _ in range(steps):
    opt.apply_gradients([(np.zeros(1, dtype="float32"), var)])
rate_coupled, rate_keras = -np.log(w) / steps, -np.log(float(var.numpy()[0])) / steps
print(f"decay per step: coupled {rate_coupled:.2e}, Keras {rate_keras:.2e}, ratio {rate_coupled / rate_keras:.1f}")
assert 8 < rate_coupled / rate_keras < 11
