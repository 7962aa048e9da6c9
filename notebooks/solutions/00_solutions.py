# %% [markdown]
# # Solutions: 00 · Setting up
#
# **Students: do not read on before you have tried the exercises yourself.** The check cells in the
# notebook (`cl.checks.exercise(...)`) tell you whether an answer is right without showing it.

# %%
import numpy as np

import course_lib as cl
from course_lib import data

# %% [markdown]
# **1.** `describe_environment()["datasets"]` maps each downloadable set to its status. After copying
# `mnist.npz` into `data/keras/` the `mnist` entry says it is cached (nothing else changes). Which files
# are cached depends on the machine, so the solution only shows where to look:

# %%
print(cl.config.describe_environment()["datasets"])

# %% [markdown]
# **2.** At `image_size=32` each 8x8 digit is resized to a 20x20 box centred in the 32x32 frame, a margin
# of 6 pixels on every side (MNIST puts its digits in a 20x20 box inside 28x28). LeNet-5 takes 32x32 so
# that strokes near the digit's edge, end points and corners, can still fall in the middle of the receptive
# fields of the last convolution layer's units rather than at their border (LeCun et al. 1998, section
# II.B).

# %%
ds = data.load_dataset("digits", image_size=32)
rows = np.flatnonzero(ds.x_train[..., 0].max(axis=(0, 2)) > 0)
print("rows that ever hold ink:", rows.min(), "to", rows.max())
assert rows.min() >= 6 and rows.max() <= 25

# %% [markdown]
# **3.** The same seed gives identical arrays, another seed different ones: the generator draws every
# random choice from the seed.

# %%
a, b, c = (data.make_shapes10(50, seed=s)[0] for s in (0, 0, 1))
answer = (bool(np.array_equal(a, b)), bool(np.array_equal(a, c)))
assert cl.checks.exercise("00.3", answer)

# %% [markdown]
# **4.** The mean images are nearly featureless blobs: position, size, rotation and colour vary, so the
# average of a class smears its outline over the frame. A classifier that weighs pixel positions (a linear
# model) has little to go on; notebooks 09-12 measure that baseline (about 0.35 on shapes10).

# %%
x, y = data.make_shapes10(500, seed=0)
means = np.stack([x[y == k].mean(axis=0) for k in range(10)])
spread = float(np.abs(means - means.mean(axis=0)).max())
print(f"largest difference between a class mean and the overall mean: {spread:.2f} (pixels span 0 to 1)")
assert spread < 0.5

# %% [markdown]
# **5.** With `COURSE_MODE=full` the first cell prints `mode: full`; MNIST, Fashion-MNIST and CIFAR-10
# would be downloaded into `data/keras/` by the notebooks that use them, unless already cached.
