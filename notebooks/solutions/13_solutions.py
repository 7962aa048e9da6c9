# %% [markdown]
# # Solutions: 13 · Visualising CNNs
#
# **Students: do not read on before you have tried the exercises yourself.**
#
# Exercises 1-5 and 7 are experiments on a trained network: what to do and what to look for is written
# here; run them in the notebook (a few minutes each in quick mode).

# %%
import keras
import numpy as np

import course_lib as cl
from course_lib import shapes

# %% [markdown]
# **1.** Retrain with `kernel_initializer="glorot_uniform"` and no `kernel_regularizer` on conv1, and
# compare `neighbour_correlation` and the cosine with the initial kernels. Weight decay is the change that
# matters most for smoothness: without it, the random start's noise is never pulled out of the filters.
#
# **2.** Occlusion maps with 4x4 squares are noisier and finer; 12x12 squares blur the map and can hide
# small shapes entirely. The location of the strongest drop (on the shape) is stable; its size and the
# weaker regions depend on the square and the fill.
#
# **3.** `grad_cam(model, image, class_index=k)` for the true and the predicted class: where the two maps
# overlap is the evidence the network read both ways; where they differ shows what it mistook.
#
# **4.** SmoothGrad (the mean of 20 noisy saliency maps) is visibly less speckled, and its concentration on
# the shape usually rises; compare its rank correlation with the randomised network's map against plain
# saliency's.
#
# **5.** Without regularisers the picture is high-frequency noise with a high activation; blur changes the
# picture most; each regulariser trades a little activation for a more interpretable image.
#
# **6.** Walk the layers from the input: `size_l = size_{l-1} + (k - 1) jump_{l-1}`,
# `jump_l = jump_{l-1} s`, `start_l = start_{l-1} - p jump_{l-1}` (p = padding before the first row).
# `small_cnn` has conv1 7x7 stride 2 "same" (on 32 pixels TensorFlow pads 5 in all, 2 before), conv2 3x3
# "same", a 2x2 pool and conv3 3x3 "same": (size, jump, start) goes (7, 2, -2), (11, 2, -4), (13, 4, -4),
# (21, 4, -8), as section 3 prints. Unit i of conv3 then reads input pixels `-8 + 4i` to `-8 + 4i + 20`: for
# row 3 that is rows 4 to 24, for column 5 columns 12 to 32. Column 32 does not exist (the last is 31); the
# field's right edge falls on "same" padding, so the pixels the unit can depend on are columns 12 to 31.

# %%
def walk(layers, size=1, jump=1, start=0):
    """(size, jump, start) after each (kernel, stride, padding before) layer."""
    for k, s, p in layers:
        size, jump, start = size + (k - 1) * jump, jump * s, start - p * jump
    return size, jump, start


size, jump, start = walk([(7, 2, 2), (3, 1, 1), (2, 2, 0), (3, 1, 1)])
layers = keras.layers
small = keras.Sequential([keras.Input((32, 32, 3)),
                          layers.Conv2D(4, 7, strides=2, padding="same", name="conv1"),
                          layers.Conv2D(4, 3, padding="same", name="conv2"), layers.MaxPooling2D(2, name="pool2"),
                          layers.Conv2D(4, 3, padding="same", name="conv3")])
geometry = cl.visualize.receptive_field_geometry(small, "conv3")
assert geometry.size == (size, size) and geometry.jump == (jump, jump) and geometry.start == (start, start)
assert shapes.receptive_field([(7, 2), (3, 1), (2, 2), (3, 1)]) == size


def pixels(index):
    first = start + index * jump
    return max(first, 0), min(first + size - 1, 31)  # cut at the image's border


print(f"conv3: field {size}, jump {jump}, start {start}; unit (3, 5) reads rows {pixels(3)}, columns {pixels(5)}")
assert cl.checks.exercise("13.6", dict(rows=pixels(3), cols=pixels(5)))

# %% [markdown]
# **7.** ResNet-20's last block outputs 8x8 maps (the small network's conv3 is coarser or finer depending
# on its pooling): Grad-CAM's resolution is that of the layer, so compare the map sizes first, then where
# the maps put their mass.

# %% [markdown]
# **8.** The score is y = sum_k w_k mean(A_k), so dy/dA_k is w_k / 4 at every position and alpha_k, the mean
# of that gradient, is w_k / 4: (0.125, -0.25, 0.0625). The weighted sum of the maps is
# (0.5 A_1 - A_2 + 0.25 A_3) / 4 = [[-0.875, 0.3125], [-0.125, 0.125]]; the ReLU keeps [[0, 0.3125],
# [0, 0.125]], and scaled by its maximum the map is [[0, 1], [0, 0.4]]. The evidence for the class sits in
# the top-right position (and, less, bottom-right). The ReLU removed the left column, where the second map,
# which counts against the class, dominates: Grad-CAM shows where the evidence for a class is, not where the
# evidence against it is. (With global average pooling before the dense layer Grad-CAM equals CAM, whose
# weights are the w_k themselves: the same map up to the factor 1/4, which the scaling removes.)

# %%
maps = np.array([[[1.0, 2.0], [0.0, 3.0]], [[4.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [2.0, 0.0]]])
weights = np.array([0.5, -1.0, 0.25])
alpha = weights / maps[0].size  # the mean over the 4 positions of dy/dA_k = w_k / 4
cam = np.maximum(np.tensordot(alpha, maps, axes=1), 0.0)
cam = cam / cam.max()
print("alpha:", alpha, "\nGrad-CAM:\n", cam)
assert cl.checks.exercise("13.8", cam)
