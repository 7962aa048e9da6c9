# %% [markdown]
# # Solutions: 02 · Convolution, one window at a time
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np
from scipy import signal

import course_lib as cl
from course_lib import numpy_cnn

# %% [markdown]
# **1.** With indices from 0, output (a, b) = (1, 1) sums `X[3 - i, 3 - j] * K[i, j]`: the kernel is
# walked backwards, so `K[0, 0] = 0.11` meets the bottom-right entry `X[3, 3] = 44`.

# %%
i4, i3 = np.arange(1, 5), np.arange(1, 4)
X = 10 * i4[:, None] + i4[None, :]
K = 0.1 * i3[:, None] + 0.01 * i3[None, :]
products = [X[1 + 2 - i, 1 + 2 - j] * K[i, j] for i in range(3) for j in range(3)]
print(" + ".join(f"{p:.2f}" for p in products), "=", round(sum(products), 2))
assert cl.checks.exercise("02.1", dict(value=sum(products), x_entry=(3, 3)))

# %% [markdown]
# **2.** Convolution is commutative (flip one and slide it over the other: the same products, the same
# sums); correlation is not, it gives the flipped result.

# %%
rng = np.random.default_rng(0)
A, B = rng.normal(size=(5, 4)), rng.normal(size=(3, 3))
assert np.allclose(signal.convolve2d(A, B, "full"), signal.convolve2d(B, A, "full"))
assert not np.allclose(signal.correlate2d(A, B, "full"), signal.correlate2d(B, A, "full"))
assert np.allclose(signal.correlate2d(A, B, "full"), signal.correlate2d(B, A, "full")[::-1, ::-1])

# %% [markdown]
# **3.** A horizontal-edge kernel weighs the row below against the row above, e.g.
# `[[-1, -1, -1], [0, 0, 0], [1, 1, 1]]` (Prewitt); it is the transposed Sobel kernel of section 4 (the editor's
# "sobel y") without the centre weighting, so both maps light up on the same edges and correlate strongly.

# %%
photo = cl.data.load_photo("camera", size=128, gray=True)[..., 0]
prewitt = np.array([[-1.0, -1, -1], [0, 0, 0], [1, 1, 1]])
sobel_t = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).T
a, b = (numpy_cnn.correlate2d(photo, k, "same")[2:-2, 2:-2].ravel() for k in (prewitt, sobel_t))
print(f"correlation between the two edge maps: {np.corrcoef(a, b)[0, 1]:.3f}")
assert np.corrcoef(a, b)[0, 1] > 0.95

# %% [markdown]
# **4.** Three 3x3 blurs in a row are one 7x7 kernel: each full convolution adds 2 to the side
# (a + b - 1), and the result is the binomial kernel of order 6.

# %%
g = np.array([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
g3 = signal.convolve2d(signal.convolve2d(g, g, "full"), g, "full")
once = signal.convolve2d(photo, g3, "same")
thrice = signal.convolve2d(signal.convolve2d(signal.convolve2d(photo, g, "same"), g, "same"), g, "same")
assert np.allclose(once[6:-6, 6:-6], thrice[6:-6, 6:-6])
assert cl.checks.exercise("02.4", g3) and cl.checks.exercise("02.4", g3.shape[0])

# %% [markdown]
# **5.** A 1x1 kernel does it: filter 0 weighs each channel by 1/3, filter 1 keeps channel 1 (green).

# %%
w = np.zeros((1, 1, 3, 2), dtype="float32")
w[0, 0, :, 0] = 1 / 3
w[0, 0, 1, 1] = 1.0
layer = keras.layers.Conv2D(2, 1)
image = cl.data.load_photo("astronaut", size=32)[None]
layer.build(image.shape)
layer.set_weights([w, np.zeros(2, dtype="float32")])
out, _ = numpy_cnn.conv_forward(image, w, np.zeros(2))
assert np.allclose(np.asarray(layer(image)), out, atol=1e-6)
assert np.allclose(out[0, ..., 0], image[0].mean(axis=-1), atol=1e-6)
assert cl.checks.exercise("02.5", w)
