# %% [markdown]
# # Solutions: 03 · Shapes, padding and stride
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import numpy as np

import course_lib as cl
from course_lib import shapes

# %% [markdown]
# **1.** 224 -> 112 -> 56 -> 28 -> 14 -> 7 after the five poolings. The receptive field of one block5_pool unit
# is 212 pixels. The gradient method finds it on `keras.applications.VGG16(weights=None, include_top=False)`
# (14.7 million weights, a few seconds on a CPU) under two conditions:
#
# - a **central** unit, here (3, 3) of the 7x7 map: the field of a unit near the border reaches past the edge
#   of the image ("same" padding), so its measured extent stops at the border and comes out smaller;
# - a **random** input: on a constant image every position of a layer sees the same values, so a ReLU that is
#   off is off over whole regions at once, and the paths through it carry no gradient.
#
# The gradient is summed over block5_pool's 512 channels (one channel may depend on fewer pixels).

# %%
import keras
import tensorflow as tf

sizes, n = [], 224
for _ in range(5):
    n = shapes.conv_output_size(n, 2, 2)
    sizes.append(n)
vgg16 = [(3, 1)] * 2 + [(2, 2)] + [(3, 1)] * 2 + [(2, 2)] + ([(3, 1)] * 3 + [(2, 2)]) * 3
formula = shapes.receptive_field(vgg16)

keras.utils.set_random_seed(0)
model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
assert tuple(model.output.shape[1:3]) == (sizes[-1], sizes[-1])


def measured_extent(unit, image):
    """Rows and columns spanned by the non-zero gradient of block5_pool's unit (row, col), summed over channels."""
    x = tf.Variable(image)
    with tf.GradientTape() as tape:
        y = model(x)[0, unit[0], unit[1], :]
        total = tf.reduce_sum(y)
    grad = np.abs(tape.gradient(total, x).numpy()[0]).sum(axis=-1)
    rows, cols = np.nonzero(grad)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


random_image = np.random.default_rng(0).normal(size=(1, 224, 224, 3)).astype("float32")
centre = measured_extent((3, 3), random_image)
corner = measured_extent((0, 0), random_image)
print(f"sizes after each pooling: {sizes}; receptive field: formula {formula}, measured {centre} (central unit), "
      f"{corner} (corner unit)")
assert centre == (formula, formula)
assert max(corner) < formula  # the border cuts the corner unit's field
assert cl.checks.exercise("03.1", dict(sizes=sizes, receptive_field=centre[0]))

# %% [markdown]
# **2.** The windows tile the input exactly when the stride divides 227 - 11 = 216 = 2^3 * 3^3.

# %%
fits = []
for s in range(1, 9):
    try:
        shapes.conv_output_size(227, 11, s, 0, strict=True)
        fits.append(s)
    except ValueError:
        pass
print("strides that fit:", fits)
assert cl.checks.exercise("03.2", fits)

# %% [markdown]
# **3.** `fc1` holds the most parameters (102.8 M of 138.4 M). Multiply-adds tie: every second
# convolution of blocks 1-4 costs 1.85 G (halving the size and doubling the channels keeps H·W·C_in·C_out
# constant). The most activations are in block 1's two convolutions (224·224·64 values each). The memory of
# one image's activations in float32 is printed below (training keeps them all for the backward pass).

# %%
layers = []  # (name, H, C_in, C_out) of each 3x3 convolution
n, c = 224, 3
for b, (convs, f) in enumerate(((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)), start=1):
    for i in range(1, convs + 1):
        layers.append((f"block{b}_conv{i}", n, c, f))
        c = f
    n //= 2
macs = {name: shapes.conv_macs(h, 3, ci, co, padding=1) for name, h, ci, co in layers}
acts = {name: h * h * co for name, h, ci, co in layers}
answer = dict(most_params="fc1", most_macs=max(macs, key=macs.get), most_activations=max(acts, key=acts.get))
assert cl.checks.exercise("03.3", answer)
pools = [(112, 64), (56, 128), (28, 256), (14, 512), (7, 512)]
total = (sum(shapes.activation_memory((h, h, co)) for _, h, _, co in layers)
         + sum(shapes.activation_memory((h, h, co)) for h, co in pools) + 4 * (4096 + 4096 + 1000))
print(f"activations of one image: {total / 1e6:.0f} MB")

# %% [markdown]
# **4.** With `Flatten` the dense layer `fc` gets one weight per (position, channel) of conv3's 10x64 map
# instead of one per channel: 36,864 more parameters. The network must then learn each pattern at every
# position, and on MNIST-1D, whose patterns move, validation accuracy drops; global max pooling keeps
# "was the pattern anywhere" and is invariant to where. (Training both takes about a minute: run it in the
# notebook; the counts are below.)

# %%
from keras import layers


def cnn(head, first_stride=1):
    body = [keras.Input((40, 1)),
            layers.Conv1D(32, 5, strides=first_stride, padding="same", activation="relu", name="conv1")]
    body += [layers.MaxPooling1D(2, name="pool1")] if first_stride == 1 else []
    body += [layers.Conv1D(64, 3, padding="same", activation="relu", name="conv2"),
             layers.MaxPooling1D(2, name="pool2"),
             layers.Conv1D(64, 3, padding="same", activation="relu", name="conv3"),
             head, layers.Dense(64, activation="relu", name="fc"), layers.Dense(10, name="logits")]
    return keras.Sequential(body)


gmp, flat = cnn(layers.GlobalMaxPooling1D()), cnn(layers.Flatten())
print(f"parameters: global max pooling {gmp.count_params():,}, Flatten {flat.count_params():,}")
assert flat.count_params() - gmp.count_params() == (640 - 64) * 64

# %% [markdown]
# **5.** A stride-2 conv1 with "same" padding gives 20x32 directly, so every later shape is unchanged
# (20x64, 10x64, 10x64). The receptive field of conv3 shrinks from 20 to 19 samples: the pool's window
# added one sample at jump 1, and the jumps after it are the same.

# %%
strided = cnn(layers.GlobalMaxPooling1D(), first_stride=2)
print([tuple(layer.output.shape[1:]) for layer in strided.layers[:4]])
assert tuple(strided.get_layer("conv3").output.shape[1:]) == (10, 64)
assert shapes.receptive_field([(5, 2), (3, 1), (2, 2), (3, 1)]) == 19
assert shapes.receptive_field([(5, 1), (2, 2), (3, 1), (2, 2), (3, 1)]) == 20

# %% [markdown]
# **6.** With "same" padding every layer keeps the 224-pixel row, and the central unit (index 112) sees the
# pixels up to `(r - 1) / 2` on each side of it, so it sees the whole row once its field `r` reaches 225 (the
# field is odd, so `r >= 224` says the same). Without dilation each 3x3 layer adds 2 pixels: `1 + 2L >= 224`
# needs `L = 112` (225 pixels; 111 layers see 223). With dilations 1, 2, 4, ..., layer `l` adds
# `2 * 2^(l-1)`, so `L` layers see `2^(L+1) - 1` pixels: 6 layers see 127, 7 see 255. Sixteen times fewer
# layers, each with the same 9 weights. (Without padding, 112 plain layers would leave no unit at all:
# `224 - 2 * 112 = 0`.)

# %%
def layers_needed(width, dilated):
    stack = []
    while shapes.receptive_field(stack) < width:
        stack.append((3, 1, 2 ** len(stack) if dilated else 1))
    return len(stack)


plain, dilated = layers_needed(224, dilated=False), layers_needed(224, dilated=True)
print(f"plain 3x3: {plain} layers, dilated 3x3: {dilated} layers")
assert shapes.receptive_field([(3, 1)] * plain) == 225 and shapes.receptive_field([(3, 1)] * (plain - 1)) == 223
assert shapes.receptive_field([(3, 1, 2 ** i) for i in range(dilated)]) == 255
assert shapes.receptive_field([(3, 1, 2 ** i) for i in range(dilated - 1)]) == 127
assert plain == 16 * dilated
assert 224 - 2 * plain == 0  # without padding each layer removes 2 pixels: nothing would be left
assert cl.checks.exercise("03.6", dict(plain=plain, dilated=dilated))
