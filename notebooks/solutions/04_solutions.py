# %% [markdown]
# # Solutions: 04 · Pooling
#
# **Students: do not read on before you have tried the exercises yourself.**

# %%
import keras
import numpy as np
import tensorflow as tf

import course_lib as cl
from course_lib import numpy_cnn as nc

# %% [markdown]
# **1.** Stochastic pooling picks `x_i` with probability `x_i / sum(x)`, so its expectation is
# `sum(x_i * x_i / sum(x)) = sum(x_i^2) / sum(x)`.

# %%
def stochastic_pool(x, size, rng):
    """Non-overlapping size x size stochastic pooling of a non-negative (H, W) map."""
    h, w = x.shape[0] // size, x.shape[1] // size
    out = np.zeros((h, w))
    for r in range(h):
        for c in range(w):
            win = x[r * size:(r + 1) * size, c * size:(c + 1) * size].ravel()
            p = win / win.sum() if win.sum() > 0 else np.full(win.size, 1 / win.size)
            out[r, c] = rng.choice(win, p=p)
    return out


rng = np.random.default_rng(0)
x = rng.random((4, 4))
mean = np.mean([stochastic_pool(x, 2, rng) for _ in range(4000)], axis=0)
blocks = x.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
expected = (blocks ** 2).sum(-1) / blocks.sum(-1)
print(np.round(mean, 3), np.round(expected, 3), sep="\n")
assert np.allclose(mean, expected, atol=0.03)

# %% [markdown]
# **2.** 4x4 pooling with stride 4 is exactly equivariant only for shifts that are multiples of the stride
# (0, 4, 8 pixels, vertical or horizontal): then every window moves to a whole window position and the
# output moves by shift / 4. Other shifts regroup the pixels into different windows.

# %%
img = np.random.default_rng(1).random((1, 32, 32, 1)).astype("float32")
pooled = nc.max_pool2d(img[0, ..., 0], 4, 4)
exact = [s for s in range(9)  # a circular shift, so that the borders do not interfere
         if any(np.array_equal(nc.max_pool2d(np.roll(img[0, ..., 0], s, axis=1), 4, 4), np.roll(pooled, q, axis=1))
                for q in range(8))]
assert cl.checks.exercise("04.2", exact)

# %% [markdown]
# **3.** Both libraries send the whole gradient to one of the tied maxima (the first one met in their
# scan order here). Any split `a, 1 - a` between tied maxima is a valid subgradient of the max: the max
# is not differentiable at a tie, and each of those choices is a gradient of one of the pieces that meet
# there.

# %%
window = np.array([[5.0, 5.0], [1.0, 2.0]])
_, cache = nc.pool_forward(window[None, :, :, None], 2, 2)
print("NumPy routes to:", np.argwhere(nc.pool_backward(np.ones((1, 1, 1, 1)), cache)[0, :, :, 0] != 0).tolist())
xv = tf.Variable(window[None, :, :, None])
with tf.GradientTape() as tape:
    y = tf.reduce_sum(tf.nn.max_pool2d(xv, 2, 2, "VALID"))
g = tape.gradient(y, xv).numpy()[0, :, :, 0]
assert cl.checks.exercise("04.3", tuple(int(v) for v in np.argwhere(g != 0)[0]))

# %% [markdown]
# **4.** With `N = (sum_j x_j^p)^(1/p)`, the chain rule gives
# `dN/dx_i = (1/p) (sum x^p)^(1/p - 1) * p x_i^(p-1) = (x_i / N)^(p-1)`. As p grows, `(x_i / N)^(p-1)`
# goes to 1 for the maximum and to 0 for every smaller entry: the max pool's switch.

# %%
def pnorm_grad(x, p):
    n = np.sum(x ** p) ** (1 / p)
    return (x / n) ** (p - 1)


assert cl.checks.exercise("04.4", pnorm_grad)
x = np.array([[1.0, 2.0], [3.0, 4.0]])
for p in (2, 8, 64):
    g = pnorm_grad(x, p)
    if p < 20:  # finite differences of x**64 lose every digit; the closed form needs no check there
        num = nc.numeric_gradient(lambda v, p=p: np.sum(v ** p) ** (1 / p), x.copy())
        assert nc.rel_error(g, num) < 1e-6
    print(f"p={p:>2}: gradient {np.round(g.ravel(), 3)}")
assert pnorm_grad(x, 64)[1, 1] > 0.99 and pnorm_grad(x, 64)[1, 0] < 1e-6

# %% [markdown]
# **5.** Global average pooling turns any H x W x C map into C numbers, so the dense layer sees the same
# size whatever the input. With `Flatten` the dense layer's weight matrix was built for one H·W·C; another
# input size gives another length and Keras refuses the call (a shape mismatch).

# %%
def model(head):
    inputs = keras.Input((None, None, 1))
    return keras.Model(inputs, keras.layers.Dense(10)(head(keras.layers.Conv2D(8, 3)(inputs))))


gap = model(keras.layers.GlobalAveragePooling2D())
print([tuple(gap(np.zeros((1, s, s, 1))).shape) for s in (28, 40)])
flat_in = keras.Input((28, 28, 1))
flat = keras.Model(flat_in, keras.layers.Dense(10)(keras.layers.Flatten()(keras.layers.Conv2D(8, 3)(flat_in))))
try:
    flat(np.zeros((1, 40, 40, 1)))
    raise AssertionError("a 40x40 input should not fit the Flatten model")
except (ValueError, TypeError) as err:
    print("Flatten at 40x40:", type(err).__name__)
