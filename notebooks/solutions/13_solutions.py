# %% [markdown]
# # Solutions: 13 · Visualising CNNs
#
# **Students: do not read on before you have tried the exercises yourself.**
#
# Exercises 1-5 and 7 are experiments on a trained network: what to do and what to look for is written
# here; run them in the notebook (a few minutes each in quick mode).

# %%
import keras

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
# `jump_l = jump_{l-1} s`, `start_l = start_{l-1} - p jump_{l-1}` (p = padding before). For a stack
# conv3x3 "same", pool 2, conv3x3 "same", pool 2, conv3x3 "same" that gives size 18, jump 4, start -7:

# %%
model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, padding="same", name="conv1"),
                          keras.layers.MaxPooling2D(2), keras.layers.Conv2D(4, 3, padding="same", name="conv2"),
                          keras.layers.MaxPooling2D(2), keras.layers.Conv2D(4, 3, padding="same", name="conv3")])
geometry = cl.visualize.receptive_field_geometry(model, "conv3")
print(geometry)
assert geometry.size == (18, 18) and geometry.jump == (4, 4) and geometry.start == (-7, -7)
assert shapes.receptive_field([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]) == 18

# %% [markdown]
# **7.** ResNet-20's last block outputs 8x8 maps (the small network's conv3 is coarser or finer depending
# on its pooling): Grad-CAM's resolution is that of the layer, so compare the map sizes first, then where
# the maps put their mass.
