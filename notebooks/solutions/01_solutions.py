# %% [markdown]
# # Solutions: 01 · Why convolutions?
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import numpy as np
from scipy import signal

import course_lib as cl
from course_lib import numpy_cnn, shapes

# %% [markdown]
# **1.** 3x3 convolution 16 -> 32 channels against a dense layer with the same 64x64x16 input and
# 64x64x32 output. The multiply-add ratio equals (input values) / (kernel taps) = 65,536 / 144.

# %%
n_in, n_out = 64 * 64 * 16, 64 * 64 * 32
answer = dict(conv_params=shapes.conv_params(3, 16, 32), dense_params=shapes.dense_params(n_in, n_out),
              conv_macs=shapes.conv_macs(64, 3, 16, 32, padding=1), dense_macs=shapes.dense_macs(n_in, n_out))
assert cl.checks.exercise("01.1", answer)
print(f"parameter ratio {answer['dense_params'] / answer['conv_params']:,.0f}, "
      f"multiply-add ratio {answer['dense_macs'] / answer['conv_macs']:,.0f} = {n_in} / {3 * 3 * 16}")
assert answer["dense_macs"] * 144 == answer["conv_macs"] * n_in

# %% [markdown]
# **2.** Keeping every other output of the padded stride-1 matrix leaves 4 rows; each row holds the
# kernel, and each row's band starts two columns to the right of the row above (a band with slope 2).

# %%
kernel_1d = np.array([1.0, 2.0, 3.0])
full = np.stack([numpy_cnn.correlate2d(e[None], kernel_1d[None], mode="same")[0] for e in np.eye(8)], axis=1)
strided = full[::2]
print(strided.astype(int))
assert cl.checks.exercise("01.2", strided) and cl.checks.exercise("01.2", strided.shape[0])

# %% [markdown]
# **3.** With a circular shift and circular padding both orders agree everywhere: the wrapped image has no
# border, every position sees a full window of real pixels, and rolling commutes with a correlation that
# wraps around in the same way.

# %%
photo = cl.data.load_photo("camera", size=64, gray=True)[..., 0].astype(float)
k = np.random.default_rng(0).normal(size=(5, 5))


def circ(im):
    return numpy_cnn.correlate2d(np.pad(im, 2, mode="wrap"), k, mode="valid")


a, b = circ(np.roll(photo, (7, 12), axis=(0, 1))), np.roll(circ(photo), (7, 12), axis=(0, 1))
print("largest difference, whole map:", np.abs(a - b).max())
assert np.abs(a - b).max() < 1e-12

# %% [markdown]
# **4.** Only the rows and columns whose window reaches across an edge differ, so each band is the
# kernel's half-width: 3 for a 7x7 kernel (1 for 3x3, 2 for 5x5).

# %%
def band_widths(kk, dy=20):
    image = np.random.default_rng(1).random((96, 96))

    def shift(im):
        out = np.zeros_like(im)
        out[dy:, dy:] = im[:-dy, :-dy]
        return out

    d = np.abs(signal.correlate2d(shift(image), kk, "same") - shift(signal.correlate2d(image, kk, "same"))) > 1e-9
    rows, cols = np.flatnonzero(d[:, 40:56].any(axis=1)), np.flatnonzero(d[40:56].any(axis=0))
    return dict(top=int((rows < 48).sum()), left=int((cols < 48).sum()),
                bottom=int((rows >= 48).sum()), right=int((cols >= 48).sum()))


assert cl.checks.exercise("01.4", band_widths(np.ones((7, 7))))

# %% [markdown]
# **5.** A kernel unchanged by a quarter turn (`k == np.rot90(k)`) commutes with a 90-degree rotation:
# rotating, correlating and rotating back is correlating with the rotated kernel. The Laplacian-like
# `[[1, 2, 1], [2, -12, 2], [1, 2, 1]]` is one. At 45 degrees the error is no longer zero: the rotation
# resamples the image between pixels, and a 3x3 grid has no exact 45-degree symmetry.

# %%
kernel = np.array([[1.0, 2, 1], [2, -12, 2], [1, 2, 1]])
assert np.array_equal(kernel, np.rot90(kernel))
assert cl.checks.exercise("01.5", kernel)
