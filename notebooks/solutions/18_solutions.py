# %% [markdown]
# # Solutions: 18 · Equivariance beyond translation
#
# **Students: do not read on before you have tried the exercises yourself.**
#
# Exercises 1, 2 and 4-7 are experiments on the notebook's networks (seconds to minutes each): what to do
# and what to look for is written here. Exercises 3, 8 and 9 are computed below.

# %%
import numpy as np

import course_lib as cl
from course_lib.models.layers import P4Conv2D, P4ConvLift2D

# %% [markdown]
# **1.** A roll of the rotation axis does not change a mean any more than a max, so with
# `OrientationPooling("mean")` the p4-CNN stays exactly invariant to quarter turns: the invariance gap
# stays at round-off and the accuracy is the same on every turn. The accuracy itself may move a little
# either way: the mean keeps the response of all four orientations of a filter, the max only the best
# matching one, which is what a detector of "this pattern in some orientation" wants.
#
# **2.** With `padding="valid"` every layer shrinks the map by k - 1 pixels, equally on all four sides, so
# the map stays centred and square and a quarter turn of the input still turns every map exactly: the gaps
# stay at round-off. With a 31x31 input the layers before the pooling give odd-sized maps; a 2x2 max-pool
# then drops the last row and column. A quarter turn moves that dropped edge to another side, so the pooled
# windows of the turned input are not the turned windows: the gap after the pooling breaks first (the
# layers before it keep round-off gaps), and every layer after it inherits the error.
#
# **3.** Mirroring commutes with correlation if the filter is mirrored too:
# `correlate(mirror x, K) = mirror correlate(x, mirror K)`. A mirror also reverses the sense of a rotation,
# `mirror(rot^r K) = rot^-r (mirror K)`. Lifted map r of the mirrored image is
# `correlate(mirror x, rot^r K) = mirror correlate(x, rot^-r mirror K)`, and with `mirror K = K` that is the
# mirrored map -r (mod 4) of the original: `slot = [0, 3, 2, 1]`. Slots 0 and 2 stay (a half turn is its own
# inverse), 1 and 3 swap. For a filter that is not symmetric, the right-hand side holds the maps of the
# *mirrored* filter, which the layer does not compute: the lifted maps of a mirrored image are then no
# rearrangement of the original's. A layer equivariant to p4m keeps eight copies of each filter (its four
# rotations and the four rotations of its mirror image), eight slots on the orientation axis; a mirror of the
# input then swaps the two groups of four and reverses the order within them, and a p4m group layer's
# filters carry an eight-slot axis permuted that way, as the p4 layer's are rolled.

# %%
mirror_kernel = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
assert np.array_equal(np.fliplr(mirror_kernel), mirror_kernel)
lift = P4ConvLift2D(1, 3, use_bias=False)
lift.build((1, 16, 16, 1))
lift.set_weights([mirror_kernel[:, :, None, None]])
x = np.random.default_rng(0).random((1, 16, 16, 1)).astype("float32")
maps = np.asarray(lift(x))[0, :, :, :, 0]  # (16, 16, 4)
maps_of_mirrored = np.asarray(lift(x[:, :, ::-1]))[0, :, :, :, 0]
slot = [next(s for s in range(4) if np.allclose(maps_of_mirrored[:, :, r], maps[:, ::-1, s], atol=1e-5))
        for r in range(4)]
print("slot:", slot)
assert slot == [(-r) % 4 for r in range(4)]
assert cl.checks.exercise("18.3", slot)

# %% [markdown]
# **4.** Replace `OrientationPooling` and `GlobalAveragePooling2D` with `layers.Flatten()` on the
# (h, w, 4, c) maps. The network then sees where each orientation's response sits, so it is no longer
# invariant: the invariance gap becomes large and the accuracy on turned digits falls towards the plain
# CNN's (a turned digit moves the responses to other positions and slots, and the dense layer was trained on
# upright ones only). What it gains: the 6s and 9s, which differ only by a half turn, can be told apart
# again, so their confusion on upright digits should fall towards the plain CNN's.
#
# **5.** Train `Maxout(2)` and `Maxout(8)` units as in section 5 and plot the pieces. With 8 pieces each one
# tends to cover about 45 degrees of turn (it wins on the rotations closest to its own template), with 2
# pieces each must cover about half a turn, so each piece is a blurrier average of many orientations. Expect
# the accuracy on turned 5s to rise with the number of pieces, at the cost of parameters that grow in
# proportion.
#
# **6.** A zero-mean kernel responds only to patterns; a kernel with a non-zero mean also responds to the
# local brightness, and that part of its output, the mean times a local sum of the image, is the same for
# the kernel and for its turned copy, since a turn moves the weights but keeps their sum. The rotation gap
# compares the two responses, so the shared brightness term shrinks it relative to the total. What a quarter
# turn leaves unchanged is the kernel's mean (and its centre pixel, for odd sizes); the zero-mean rest is what
# the turn changes.
#
# **7.** Rotate each test digit with `skimage.transform.rotate(image, 45, order=1)` and evaluate. The p4-CNN
# still does better than the plain CNN, since a 45-degree turn lies halfway between orientations it handles
# exactly, but it is no longer exactly invariant: 45 degrees is not in its group, the interpolation blurs
# the digit, and on 8x8 digits corners are cut off. Expect its accuracy at 45 degrees to fall below the one
# at quarter turns, and compare with the augmented plain CNN, which also saw quarter turns only.
#
# **8.** As matrices on (x, y, 1), an element (r, t) is [[R^r, t], [0, 1]], and composing is multiplying:
# g·h maps p to R(R p + (0, 3)) + (2, 0) = R² p + R(0, 3) + (2, 0). R turns (0, 3) into (-3, 0), so
# g·h = (2, (-1, 0)). The inverse undoes the shift, then the turn: p = R q + (2, 0) gives
# q = R⁻¹(p - (2, 0)) = R³ p + (0, 2), since R⁻¹ = R³ turns (2, 0) into (0, -2): g⁻¹ = (3, (0, 2)). The other
# order, h·g = (2, (0, 5)), differs: both rotations are the same (rotations add), but each translation is
# turned by the rotation applied after it. p4 is not commutative; its rotations alone are.

# %%
def element(r, t):
    m = np.eye(3, dtype=int)
    m[:2, :2], m[:2, 2] = np.linalg.matrix_power(np.array([[0, -1], [1, 0]]), r % 4), t
    return m


def as_pair(m):
    r = next(k for k in range(4) if np.array_equal(element(k, (0, 0))[:2, :2], np.rint(m[:2, :2])))
    return r, tuple(int(v) for v in np.rint(m[:2, 2]))


g, h = element(1, (2, 0)), element(1, (0, 3))
gh, g_inv, hg = as_pair(g @ h), as_pair(np.linalg.inv(g)), as_pair(h @ g)
print(f"g·h = {gh}, g⁻¹ = {g_inv}, h·g = {hg}")
assert np.array_equal(g @ element(*g_inv), np.eye(3)) and gh != hg
assert cl.checks.exercise("18.8", dict(gh=gh, g_inv=g_inv))

# %% [markdown]
# **9.** `P4ConvLift2D(16, 5)` on RGB stores one 5x5x3 kernel per filter and one bias per filter:
# 16·5·5·3 + 16 = 1,216, the count of a `Conv2D(16, 5)`; its four rotated copies are the same weights, turned.
# `P4Conv2D(16, 5)` reads p4 maps with a rotation axis: each filter has a 5x5 kernel for every (rotation slot,
# channel) pair of its input, 16·5·5·4·12 + 16 = 19,216, the count of a `Conv2D(16, 5)` reading 4·12 = 48
# channels. The factor 4 comes from the input's rotation axis, which the lifting layer's input does not have;
# neither layer pays for its four output rotations in weights, only in computation.

# %%
lift = P4ConvLift2D(16, 5)
lift.build((None, 14, 14, 3))
group = P4Conv2D(16, 5)
group.build((None, 14, 14, 4, 12))
counts = dict(lift=lift.count_params(), group=group.count_params())
print(counts)
assert counts == dict(lift=16 * 5 * 5 * 3 + 16, group=16 * 5 * 5 * 4 * 12 + 16)
assert cl.checks.exercise("18.9", counts)
