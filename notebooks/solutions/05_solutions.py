# %% [markdown]
# # Solutions: 05 · Backpropagation by hand
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import numpy as np

import course_lib as cl
from course_lib import numpy_cnn as nc

X = np.arange(1, 65, dtype=float).reshape(8, 8)
K = np.arange(1, 10, dtype=float).reshape(3, 3)
theta = np.array([1.0, 2.0, 3.0, 4.0])


def dj_dk(order="F", flip=True, pool="max"):
    """dJ/dK of section 1 (y = 0, y_hat = 1 so dJ/dnet = -1) through the library's backward ops."""
    w = (K[::-1, ::-1] if flip else K)[:, :, None, None]
    f, c_conv = nc.conv_forward(X[None, :, :, None], w, np.zeros(1))
    z, c_pool = nc.pool_forward(f, 3, 3, mode=pool)
    h, c_flat = nc.flatten_forward(z, order=order)
    d_h = -theta[None, :]  # dJ/dh = dJ/dnet * theta
    _, dw, _ = nc.conv_backward(nc.pool_backward(nc.flatten_backward(d_h, c_flat), c_pool), c_conv)
    return dw[::-1, ::-1, 0, 0] if flip else dw[:, :, 0, 0]


# %% [markdown]
# **1.** Row-major flattening changes which theta each pooled value meets: dJ/dtheta is the same four
# numbers in another order (it is -h), and dJ/dZ becomes `-theta` unflattened row by row, so the gradient
# reaching the bottom-left and top-right maxima swaps, and dJ/dK changes. dJ/dnet stays -1 (still
# saturated).

# %%
assert cl.checks.exercise("05.1", dj_dk(order="C"))
print(dj_dk(order="C") - dj_dk())

# %% [markdown]
# **2.** A correlation uses K as it is. F still grows to the right and downwards, so the four maxima stay
# in the bottom-right corners of their windows, and dJ/dK_ij collects `X[a + i, b + j]` at those maxima
# instead of `X[a + 2 - i, b + 2 - j]`: the prediction is the convolution's dJ/dK turned by 180 degrees.

# %%
assert np.array_equal(dj_dk(flip=False), dj_dk()[::-1, ::-1])  # the prediction
assert cl.checks.exercise("05.2", dj_dk(flip=False))

# %% [markdown]
# **3.** An average pool passes 1/9 of each pooled gradient to every position of its window, so all 36
# entries of F (and every entry of X under them, rows and columns 0-7 here) contribute to dJ/dK, not only
# the four maxima.

# %%
assert cl.checks.exercise("05.3", dj_dk(pool="avg"))

# %% [markdown]
# **4.** A stride-2 convolution is the stride-1 one with every other output dropped; its upstream gradient
# is therefore the stride-1 gradient with zeros at the dropped outputs, and dx follows from the stride-1
# formula (full convolution with w).

# %%
rng = np.random.default_rng(0)
x, w = rng.normal(size=(1, 9, 9, 1)), rng.normal(size=(3, 3, 1, 1))
out, cache = nc.conv_forward(x, w, np.zeros(1), stride=2)
g = rng.normal(size=out.shape)
dx, _, _ = nc.conv_backward(g, cache)
g1 = np.zeros((1, 7, 7, 1))
g1[:, ::2, ::2] = g  # zeros between the entries
dx_formula = nc.convolve2d(g1[0, :, :, 0], w[:, :, 0, 0], mode="full")
assert nc.rel_error(dx[0, :, :, 0], dx_formula) < 1e-12

# %% [markdown]
# **5.** Naively, `y_hat = sigmoid(18525)` is exactly 1.0, `1 - y_hat = 0` and `log(0) = -inf`; the stable
# form `log(1 - sigmoid(z)) = -softplus(z)` gives -18525. Scaling X by 1/1000 scales net by 1/1000
# (about 18.5): y_hat is no longer exactly 1 and the gradients shrink by a factor of about 1000 too (dJ/dK
# is proportional to X). Large raw inputs saturate the output unit, and a saturated unit with a wrong
# answer gives a gradient whose size is set by the input scale: inputs are normalised for this reason.

# %%
net = nc.max_pool2d(nc.convolve2d(X, K), 3, 3).ravel(order="F") @ theta
with np.errstate(divide="ignore"):
    naive = np.log(1 - 1 / (1 + np.exp(-net)))
stable = -np.logaddexp(0, net)
print("naive:", naive, "stable:", stable)
assert np.isinf(naive)
assert cl.checks.exercise("05.5", stable)

# %% [markdown]
# **6.** Without the penalty nothing pulls the kernel weights over blank pixels (0 in both images) anywhere:
# their gradient is exactly 0 (dJ/dK_ij is a sum of image values at that position), so they keep their
# random initial values for ever; with the penalty they decay towards 0. (Rerun section 5 with `lam = 0`
# to see it: about 3 seconds.)
