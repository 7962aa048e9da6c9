# %% [markdown]
# # Solutions: 15 · Transfer learning
#
# **Students: do not read on before you have tried the exercises yourself.**
#
# Exercises 1 and 3-5 are training experiments (minutes each): what to do and what to look for is written
# here; exercise 2's count is computed below, and exercise 5's point is shown on one Adam step of the course
# network on a few random images.

# %%
import keras
import numpy as np
import tensorflow as tf

import course_lib as cl
from course_lib import pretrained

# %% [markdown]
# **1.** Train `scratch_model` with `SCRATCH_STEPS * 10` steps at the smallest and the largest budget (same
# seeds, same drawn images, same rate) and compare with the table of section 2. The part of the gap that
# closes is what the short training cost; what remains at the same number of steps is what the missing
# labels cost. Then add the budget 1,000 per class (`load_dataset("shapes10", n_train=12000)`, so that the
# pool holds enough images) and look for the budget at which the scratch network comes within the seeds'
# spread of feature extraction, if any: report the budget, or that none of those tried gets there.
#
# **2.** `ft_base` is the course network up to its global pooling. Its convolutions carry no biases, and with
# `freeze_bn=True` the BN layers train nothing (neither their scale and offset nor, as always, their moving
# statistics). So the trained weights are the convolution kernels plus the new head: 5·5·3·16 = 1,200,
# 3·3·16·32 = 4,608, 3·3·32·64 = 18,432 and 3·3·64·128 = 73,728 for the four blocks, 128·10 + 10 = 1,290 for
# the head. Fine-tuning everything trains 99,258 weights; freezing blocks 1-3 leaves block4_conv and the head,
# 75,018: three quarters of the weights, because the last block is the widest. What to expect from the
# comparison: after 15 gentle steps the two are indistinguishable (neither has moved far from the
# pretrained features); after 150 steps with 5 labels per class, training everything has more room to
# overfit the few images, and freezing the early blocks, whose filters are the most generic, tends to be
# at least as good. Judge by the spread over the three seeds.

# %%
def fine_tuner_trainable(frozen_blocks=()):
    """The weights notebook 15's fine_tuner trains: course base (BN frozen) + a 10-way Dense head."""
    net = pretrained.course_net()  # the architecture only; the count does not need the checkpoint
    base = keras.Model(net.input, net.get_layer("avg_pool").output)
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # what with_head(..., freeze_bn=True) does
        if any(layer.name.startswith(f"block{b}_") for b in frozen_blocks):
            layer.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


head = 128 * 10 + 10
by_hand = dict(everything=1200 + 4608 + 18432 + 73728 + head, last_block=73728 + head)
counted = dict(everything=fine_tuner_trainable(), last_block=fine_tuner_trainable((1, 2, 3)))
print(f"trainable weights: {counted}")
assert counted == by_hand
assert cl.checks.exercise("15.2", by_hand)

# %% [markdown]
# **3.** Load `cl.data.load_dataset("digits", image_size=32)`, repeat the grey channel three times
# (`np.repeat(x, 3, axis=-1)`) and rerun section 2. Expect pretraining still to help at the smallest budgets
# (strokes and edges are generic), but by less than on shapes10, and the scratch network to catch up sooner.
# The flattened `block4_relu` features (4x4x128 = 2,048 numbers) keep *where* each stroke is; global pooling
# averages position away, and a digit is largely defined by where its strokes sit (a 6 and a 9 hold the same
# strokes in different places), so the flattened features usually do better on digits.
#
# **4.** In full mode replace `"mobilenet_v2"` by `"efficientnet_b0"` in `imagenet_model`, `preprocess` and
# `fresh_base` (`keras.applications.EfficientNetB0`). EfficientNet-B0 rescales its inputs inside the model,
# which is why its `preprocess` leaves pixels in [0, 255]. Its ImageNet accuracy is higher (top-1 77.1%
# against 72.0% in the two papers), so expect its features to transfer at least as well, for about 0.39
# billion multiply-adds per 224x224 image against MobileNetV2's 0.30 billion, and more memory traffic in its
# depthwise layers; time one epoch of each with the same batch size before comparing.
#
# **5.** Adam divides the running mean of the gradients by the square root of the running mean of their
# squares: m̂ / (√v̂ + ε). Multiplying every gradient of a weight by 0.1 multiplies m̂ by 0.1 and √v̂ by 0.1,
# so the update is unchanged except where ε matters (gradients of the order of ε = 1e-7). With plain SGD the
# same trick would scale the step by 0.1; with Adam it does (almost) nothing. A real per-layer rate needs
# two optimisers, one per group of variables, or a scaled update instead of a scaled gradient. Adam's first
# step is the clearest test: it moves every weight by about its learning rate, whatever the gradient's
# size. Below: the base's largest move after one step with the gradients scaled by 0.1 (still about 1e-3),
# and with a second optimiser at a tenth of the rate (1e-4). Compared with the two-stage recipe (head first
# on frozen features, then everything at a small rate), the two-optimiser step trains both parts from the
# first step: with a randomly initialised head the first gradients reaching the base carry little
# information, which is what the two-stage recipe avoids. Run both on the notebook's data to compare them.

# %%
def make_model(num_classes=10):
    net = pretrained.course_net()
    base = keras.Model(net.input, net.get_layer("avg_pool").output, name="base")
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(base(inputs, training=False))
    return keras.Model(inputs, outputs), base


def train_step(model, base, optimizers, x, y, base_factor=1.0):
    """One step; optimizers = (base's, head's), or one optimizer for both; base_factor scales the base's
    gradients (the shortcut that does not work with Adam)."""
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
    in_base = {id(v) for v in base.trainable_variables}
    base_vars = [v for v in model.trainable_variables if id(v) in in_base]
    head_vars = [v for v in model.trainable_variables if id(v) not in in_base]
    grads = tape.gradient(loss, base_vars + head_vars)
    base_grads = [g * base_factor for g in grads[:len(base_vars)]]
    if isinstance(optimizers, tuple):
        optimizers[0].apply(base_grads, base_vars)
        optimizers[1].apply(grads[len(base_vars):], head_vars)
    else:
        optimizers.apply(base_grads + grads[len(base_vars):], base_vars + head_vars)
    return float(loss)


def largest_base_move(optimizers, base_factor=1.0):
    """The largest change of a base weight after one step from the same start."""
    keras.utils.set_random_seed(0)
    model, base = make_model()
    before = [v.numpy() for v in base.trainable_variables]
    x = np.random.default_rng(0).random((16, 32, 32, 3)).astype("float32")
    train_step(model, base, optimizers, x, np.arange(16) % 10, base_factor)
    return max(float(np.abs(v.numpy() - b).max()) for v, b in zip(base.trainable_variables, before))


moves = {"one Adam(1e-3)": largest_base_move(keras.optimizers.Adam(1e-3)),
         "one Adam(1e-3), base gradients x 0.1": largest_base_move(keras.optimizers.Adam(1e-3), 0.1),
         "Adam(1e-4) for the base, Adam(1e-3) for the head":
             largest_base_move((keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-3)))}
for name, move in moves.items():
    print(f"{name:<50} largest move of a base weight: {move:.2e}")
first, scaled, two = moves.values()
assert np.isclose(scaled, first, rtol=0.05), "Adam: scaling the gradients leaves the step unchanged"
assert np.isclose(two, first / 10, rtol=0.05), "two optimisers: the base moves at a tenth of the rate"
