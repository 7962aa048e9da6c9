# %% [markdown]
# # Solutions: 16 · Object detection
#
# **Students: do not read on before you have tried the exercises yourself.**
#
# Exercises 2 and 4-6 train or evaluate detectors (minutes each): what to do and what to look for is written
# here. Exercises 1, 3 and 7 are computed below.

# %%
import numpy as np

import course_lib as cl
from course_lib import detection as det
from course_lib import scenes

CLASSES = ("circle", "square", "triangle", "cross")
IMAGE = 64

# %% [markdown]
# **1.** Two 10x10 boxes shifted by d along one axis share a (10 - d) x 10 strip and cover
# 100 + 100 - 10(10 - d) pixels together, so IoU = 10(10 - d) / (10(10 + d)) = (10 - d) / (10 + d). It is
# at least 0.5 while 20 - 2d >= 10 + d, that is d <= 10/3: the pair still counts at d = 3 (IoU 7/13, about
# 0.54) and stops counting at d = 4 (6/14, about 0.43). A shift of 40% of the box's side is enough to lose
# a detection at VOC's threshold, although each box still holds 60% of the other.

# %%
d = np.arange(11)
by_hand = (10 - d) / (10 + d)
a = np.array([[10, 10, 20, 20]])
shifted = np.stack([10 + d, np.full(11, 10), 20 + d, np.full(11, 20)], axis=1)
ious = det.iou(a, shifted)[0]
assert np.allclose(ious, by_hand)
first_miss = int(np.argmax(ious < 0.5))
print("IoU:", np.round(ious, 3), "first shift below 0.5:", first_miss)
assert cl.checks.exercise("16.1", dict(iou=ious, first_miss=first_miss))

# %% [markdown]
# **2.** Run `detect(..., iou_threshold=t)` for t = 0.3 and 0.7 and recompute the boxes per image and
# `det.mean_average_precision`. A lower threshold removes more boxes: fewer duplicates, but also true
# detections of a second object whose box overlaps the first by more than 0.3 (the scenes allow IoU up to 0.3
# between objects, `max_overlap`, and the predicted boxes are looser than the true ones), so recall and
# mAP@0.5 drop. A higher threshold keeps more duplicates, which count as false positives: precision falls at
# the same recall. On these scenes 0.5 is a reasonable middle; compare the three numbers on your run.
#
# **3.** The function counts, image by image, the objects minus the cells their centres occupy: each extra
# object in a cell is one that YOLO v1's single box per cell cannot answer for (it keeps the larger one).
# On the notebook's 1,200 training scenes (3,011 objects) it gives 128 with a 4x4 grid, 6 with 8x8 and 1 with
# 16x16; the code below counts a sample of 300 scenes to stay fast, and agrees with what `det.grid_targets`
# keeps. A coarse grid loses many objects, a fine one few, but each cell then sees less of its object and
# the network has more cells to get right. Anchors give each position several boxes of different shapes,
# each matched to objects by IoU, so two objects whose centres share a cell can both be assigned, as long
# as they differ in size or shape.

# %%
def lost_objects(boxes, grid_size, image_size):
    """Objects that lose their cell: objects minus occupied cells, image by image."""
    side = image_size / grid_size
    lost = 0
    for b in boxes:
        b = np.asarray(b, float).reshape(-1, 4)
        centres = (b[:, :2] + b[:, 2:]) / 2
        cells = np.minimum(np.floor(centres / side), grid_size - 1).astype(int)
        lost += len(b) - len({tuple(c) for c in cells})
    return lost


assert cl.checks.exercise("16.3", lost_objects)
sample = scenes.make_scenes(300, seed=0, classes=CLASSES, image_size=IMAGE)
n_objects = sum(map(len, sample.boxes))
for grid in (4, 8, 16):
    kept = int(det.grid_targets(sample.boxes, sample.labels, grid_size=grid, image_size=IMAGE,
                                num_classes=len(CLASSES))[..., 0].sum())
    lost = lost_objects(sample.boxes, grid, IMAGE)
    print(f"grid {grid:2d}: {lost} of {n_objects} objects lose their cell")
    assert lost == n_objects - kept

# %% [markdown]
# **4.** Write a loss in the style of `det.grid_loss` with `(sigmoid output - target)²` for objectness, and a
# callback that records the mean predicted objectness on cells with and without an object after each
# epoch. Expect the two curves to start close together and both to fall: with about 25 empty cells for
# every occupied one (64 cells, 2.5 objects per scene), and the squared error's gradient shrinking as the
# sigmoid saturates, the empty cells pull every objectness down, and the occupied cells recover slowly or
# not at all in a short run. That is the behaviour section 5 describes and the reason the notebook uses a
# cross-entropy.
#
# **5.** In full mode, `load_dataset("pennfudan", fallback="scenes")` gives images with pedestrian boxes;
# resize to 128x128 (boxes scaled with the image), train `det.grid_detector(input_shape=(128, 128, 3),
# grid_size=8 or 16, num_classes=1)` and compute `det.mean_average_precision` at 0.5 on held-out images, and
# the mean-box baseline as in section 7. Pedestrians are tall and thin, many per image and often overlapping,
# so expect a lower mAP than on the scenes, and a grid of 16 to lose fewer people to shared cells
# (exercise 3's count on their boxes tells you how many).
#
# **6.** Cut 32x32 crops around each training object and random background crops (IoU below 0.3 with every
# object), train `crop_classifier(len(CLASSES) + 1)`, slide it over the 371 windows of each test scene
# (`tf.image.crop_and_resize` as in section 3), keep windows whose best class is not background, score them
# by that class's probability, apply `det.nms` and compute `det.mean_average_precision`. Expect a lower mAP
# than the grid detector's at IoU 0.5 (the windows come in three sizes on a 4-pixel grid, so boxes fit only
# roughly) and a time per image many times the grid detector's, as section 3 measured for the forward pass
# alone.
#
# **7.** Keras's VGG-16 halves the map with each 2x2 max-pooling, rounding down, and `block5_conv3` comes after
# four of them (stride 16): 600 -> 300 -> 150 -> 75 -> 37 rows and 1000 -> 500 -> 250 -> 125 -> 62 columns,
# 2,294 positions, and 9 anchors at each: 20,646 anchors, against the 371 windows of section 3 (a 64x64
# image) and the 2,000 proposals R-CNN warped one by one. Faster R-CNN scores all 20,646 in one pass of a small
# convolutional head, which is why it can afford so many.

# %%
with cl.models.architecture_only():  # shapes only: no weights drawn
    vgg16 = cl.models.vgg("D", input_shape=(600, 1000, 3), width_multiplier=0.125, head="gap")
rows, cols = vgg16.get_layer("block5_conv3").output.shape[1:3]
anchors = rows * cols * 9
print(f"block5_conv3 on 600x1000: {rows}x{cols} positions, {anchors:,} anchors")
assert (rows, cols) == (600 // 16, 1000 // 16)
assert cl.checks.exercise("16.7", anchors)
