# %% [markdown]
# # Solutions: 15 · Transfer learning
#
# **Students: do not read on before you have tried the exercises yourself.**
#
# Exercises 1 and 3-5 are training experiments (minutes each): what to do and what to look for is written
# here; exercise 2's count is computed below, and exercise 5's training step is shown running on a few random
# images.

# %%
import keras
import numpy as np
import tensorflow as tf

import course_lib as cl
from course_lib import pretrained

# %% [markdown]
# **1.** Train `scratch_model` at the smallest budget with `SCRATCH_EPOCHS * 10` epochs (same seeds, same
# drawn images) and compare with the table of section 2. The part of the gap that closes is what
# under-training cost (few labels also meant few steps); what remains is what the missing labels cost. Then
# add the budget 1,000 per class (`load_dataset("shapes10", n_train=12000)`, so that the pool holds enough
# images) and look for the budget at which the scratch network comes within the seeds' spread of feature
# extraction: with labels in the thousands a network this small learns the ten shapes on its own, and the
# pretrained features no longer have much to add.
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
# **5.** A custom step multiplies the base's gradients by 0.1 before the update: one optimiser, with the base
# effectively at a tenth of the head's learning rate (with Adam the scaling acts through the moment
# estimates, so it is not exactly a tenth of the step; with SGD it is). Compared with the two-stage recipe
# (head first on frozen features, then everything at a small rate) it trains both parts from the first step:
# with a randomly initialised head the first gradients reaching the base are noise, which is what the
# two-stage recipe avoids. The step below runs on the course's architecture and a few random images, only to
# show that it works; run it on the notebook's data to compare.

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


def train_step(model, base, optimizer, x, y, base_factor=0.1):
    """One step with the base's gradients scaled by base_factor: a per-layer learning rate by hand."""
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
        loss = tf.reduce_mean(loss)
    variables = model.trainable_variables
    grads = tape.gradient(loss, variables)
    in_base = {id(v) for v in base.trainable_variables}
    grads = [g * base_factor if id(v) in in_base else g for g, v in zip(grads, variables)]
    optimizer.apply(grads, variables)
    return float(loss)


keras.utils.set_random_seed(0)
model, base = make_model()
optimizer = keras.optimizers.Adam(1e-3)
x = np.random.default_rng(0).random((16, 32, 32, 3)).astype("float32")
y = np.arange(16) % 10
losses = [train_step(model, base, optimizer, x, y) for _ in range(3)]
print("losses of three steps:", np.round(losses, 3))
assert np.all(np.isfinite(losses))
