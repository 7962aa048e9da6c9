# %% [markdown]
# # Solutions: 17 · Semantic segmentation
#
# **Students: do not read on before you have tried the exercises yourself.**
#
# Exercises 2-6 train networks (minutes each): what to do and what to look for is written here. Exercises 1,
# 7 and 8 are computed below.

# %%
import keras
import numpy as np

import course_lib as cl
from course_lib import segmentation as seg

# %% [markdown]
# **1.** Each input value stamps the kernel, scaled by itself, with its top-left corner at (stride x row,
# stride x column) of the output, and overlapping stamps add. The input [[1, 0], [0, 1]] has two ones, at
# (0, 0) and (1, 1). With stride 2 the stamps land at (0, 0) and (2, 2) and do not touch: the output is 4x4,
# the kernel twice on the diagonal, [[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]]. With stride 1
# they land at (0, 0) and (1, 1) of a 3x3 output and overlap in its centre, where 4 (the first stamp's
# bottom-right) and 1 (the second's top-left) add up to 5: [[1, 2, 0], [3, 5, 2], [0, 3, 4]].

# %%
def transposed(x, kernel, stride):
    layer = keras.layers.Conv2DTranspose(1, kernel.shape[0], strides=stride, use_bias=False)
    layer.build((1, *x.shape, 1))
    layer.set_weights([kernel[:, :, None, None]])
    return keras.ops.convert_to_numpy(layer(x[None, :, :, None]))[0, :, :, 0]


x = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
k = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
by_hand = {"stride2": np.array([[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]], float),
           "stride1": np.array([[1, 2, 0], [3, 5, 2], [0, 3, 4]], float)}
for key, stride in (("stride2", 2), ("stride1", 1)):
    assert np.array_equal(transposed(x, k, stride), by_hand[key])
assert cl.checks.exercise("17.1", by_hand)

# %% [markdown]
# **2.** Keep the FCN's encoder, score the 8x8 map with a 1x1 convolution, upsample the scores by 2
# (`Conv2DTranspose(NUM_CLASSES, 4, strides=2, padding="same")`), add a 1x1 convolution's class scores of the
# 16x16 encoder map (before its pooling), and upsample the sum by 2 again. Expect its mean IoU between the
# FCN's and the U-Net's: the skip brings back the position of edges to within 2 pixels instead of 4, but
# adds scores rather than features, so it cannot refine a boundary the way the U-Net's convolutions after
# the concatenation do. With `DEPTH = 3` the bottom map is 4x4 and the FCN must upsample by 8 in one step;
# it suffers more than the U-Net, which brings back detail at every scale.
#
# **3.** Replace each `Conv2DTranspose(f, 2, strides=2)` of the U-Net by `UpSampling2D(2)` followed by
# `Conv2D(f, 3, padding="same")`. Expect a similar mean IoU. Checkerboard patterns come from a transposed
# convolution whose kernel size is not a multiple of its stride (uneven coverage, section 2); a 2x2 kernel
# with stride 2 tiles the output evenly, so the U-Net's masks are already free of them, and the comparison
# shows that resize-then-convolve is a safe default rather than a fix here.
#
# **4.** With three and then four shape classes, train both networks for `EPOCHS` and for `3 * EPOCHS`
# epochs and print `seg.per_class_iou`. What to look for early on: U-Net masks with sharp edges whose parts
# carry different classes (a triangle partly labelled as a cross). Its full-resolution path labels each
# pixel from local evidence, and a corner or an edge looks alike in several shapes, while the FCN's coarse
# scores tend to give a whole object one label. With longer training the U-Net's context path usually
# catches up; compare the per-class IoUs of the two runs.
#
# **5.** Write the loss as 1 - mean over classes of `(2 sum(p y) + eps) / (sum(p) + sum(y) + eps)` on the
# softmax probabilities p and one-hot targets y (each class summed over the batch's pixels), and train the
# U-Net with it. The rare classes gain most: cross-entropy sums over pixels, so the background (about 82% of
# the pixels here) dominates the gradient, while Dice gives every class the same weight in the mean whatever
# its size. Expect the per-class IoUs of the objects to move up, and the background's to stay near 1.
#
# **6.** In full mode, load Penn-Fudan with `load_dataset("pennfudan", fallback="scenes")`, resize to
# 128x128 (the masks with nearest-neighbour interpolation, so that labels stay labels), and train
# `seg.unet(input_shape=(128, 128, 3), num_classes=2, depth=3)`. Report `seg.mean_iou` on held-out images
# next to the all-background prediction, whose mean IoU is half the background's share of the pixels.
#
# **7.** A transposed convolution with stride s stamps n kernels s apart: the last one starts at (n - 1) s and
# ends k - 1 further, so "valid" gives (n - 1) s + k. "same" crops that to exactly n s. The FCN's
# upsampling (kernel 8, stride 4) on 8x8 gives 36 with "valid" and 32 with "same"; kernel 3 with stride 2 on
# 16x16 gives 33 and 32.

# %%
def side(n, kernel, stride, padding):
    layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding)
    return layer(keras.Input((n, n, 1))).shape[1]


sizes = {f"k{kernel}_{padding}": side(n, kernel, stride, padding)
         for n, kernel, stride in ((8, 8, 4), (16, 3, 2)) for padding in ("valid", "same")}
print(sizes)
assert sizes == {"k8_valid": 7 * 4 + 8, "k8_same": 8 * 4, "k3_valid": 15 * 2 + 3, "k3_same": 16 * 2}
assert cl.checks.exercise("17.7", sizes)

# %% [markdown]
# **8.** Count per class: the background has 9 true and 10 predicted pixels, 8 of them shared, so its IoU is
# 8 / (9 + 10 - 8) = 8/11 and its Dice 2·8 / (9 + 10) = 16/19. Class 1 has 4 true and 4 predicted, 3
# shared: IoU 3/5, Dice 6/8. Class 2 has 3 true and 2 predicted, 2 shared: IoU 2/3, Dice 4/5. Mean IoU
# (8/11 + 3/5 + 2/3) / 3 = 0.665, mean Dice 0.797. Pixel accuracy is 13/16 = 0.8125, higher than both: it is
# dominated by the background, which covers more than half of the pixels. Dice is always at least IoU for a
# class (Dice = 2 IoU / (1 + IoU)), so the two never rank a single class differently; averaged over classes
# they can.

# %%
truth = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 2], [0, 0, 2, 2]])
pred = np.array([[0, 0, 0, 0], [0, 1, 1, 1], [0, 0, 1, 2], [0, 0, 0, 2]])
scores = dict(iou=seg.per_class_iou(truth, pred, 3), mean_iou=seg.mean_iou(truth, pred, 3),
              mean_dice=seg.mean_dice(truth, pred, 3))
assert np.allclose(scores["iou"], [8 / 11, 3 / 5, 2 / 3])
assert np.isclose(scores["mean_dice"], (16 / 19 + 6 / 8 + 4 / 5) / 3)
print({k: np.round(v, 4) for k, v in scores.items()}, "pixel accuracy", seg.pixel_accuracy(truth, pred, 3))
assert cl.checks.exercise("17.8", scores)
