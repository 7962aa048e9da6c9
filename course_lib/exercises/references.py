"""Reference answers for the checked exercises, each computed independently of the module it practises.

Shapes, receptive fields and gradients come from TensorFlow (``tf.nn`` ops, ``tf.GradientTape``); parameter
counts from Keras layers' ``count_params``; correlations from SciPy; counts too large to build (a dense layer
with billions of weights) from the arithmetic written out here, not from ``course_lib.shapes``. Every function
is cached: a reference is computed once per session, the first time a check needs it.
"""

from __future__ import annotations

from functools import cache

import numpy as np

# VGG-16 (configuration D): (block, convolutions, filters); 3x3 'same' convolutions, 2x2/2 max pooling.
_VGG16 = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))


def _tf():
    import tensorflow as tf

    return tf


def _keras():
    import keras

    return keras


# ------------------------------------------------------------------------------------------------ helpers
def _tf_receptive_field(layers, size: int, *, stop: int | None = None) -> int:
    """Field of the centre unit of a 1-channel stack of (kernel, stride) layers, measured by its gradient.

    All weights are 1 and pooling is averaged, so every input pixel the unit reads gets a non-zero gradient.
    """
    tf = _tf()
    x = tf.Variable(tf.ones((1, size, size, 1)))
    with tf.GradientTape() as tape:
        h = x
        for k, s in layers[:stop]:
            h = tf.nn.conv2d(h, tf.ones((k, k, 1, 1)), s, "VALID")  # a pooling window reads like a kernel
        c = h.shape[1] // 2
        unit = h[0, c, c, 0]
    grad = tape.gradient(unit, x).numpy()[0, :, :, 0]
    rows = np.flatnonzero(grad.any(axis=1))
    return int(rows[-1] - rows[0] + 1)


# ------------------------------------------------------------------------------------------------ 00
@cache
def shapes10_reproducible() -> tuple[bool, bool]:
    from ..data import make_shapes10

    a, b, c = (make_shapes10(20, seed=s)[0] for s in (0, 0, 1))
    return bool(np.array_equal(a, b)), bool(np.array_equal(a, c))


# ------------------------------------------------------------------------------------------------ 01
@cache
def fc_vs_conv_64() -> dict[str, int]:
    keras = _keras()
    conv = keras.layers.Conv2D(32, 3, padding="same")
    conv.build((None, 64, 64, 16))
    n_in, n_out = 64 * 64 * 16, 64 * 64 * 32
    return {"conv_params": int(conv.count_params()),
            "dense_params": n_in * n_out + n_out,  # one weight per (input, output) pair, one bias per output
            "conv_macs": 64 * 64 * 32 * (3 * 3 * 16),  # every output value reads a 3x3x16 window
            "dense_macs": n_in * n_out,
            "n_out": n_out}


@cache
def strided_conv_matrix(stride: int = 2) -> np.ndarray:
    tf = _tf()
    k = tf.constant([1.0, 2.0, 3.0], shape=(3, 1, 1))
    # zero padding 1 on each side (conv1d takes only padding strings), then a valid strided window
    cols = [tf.nn.conv1d(tf.constant(np.pad(e, 1), shape=(1, 10, 1), dtype=tf.float32), k, stride,
                         "VALID").numpy()[0, :, 0] for e in np.eye(8)]
    return np.stack(cols, axis=1)


@cache
def equivariance_band_widths(kernel: int) -> dict[str, int]:
    """Rows/columns where shift-then-correlate and correlate-then-shift differ, measured with SciPy."""
    from scipy import signal

    rng = np.random.default_rng(0)
    image, k = rng.random((96, 96)), rng.normal(size=(kernel, kernel))
    dy = dx = 20

    def shift(a):
        out = np.zeros_like(a)
        out[dy:, dx:] = a[:-dy, :-dx]
        return out

    first_shift = signal.correlate2d(shift(image), k, mode="same")
    diff = np.abs(first_shift - shift(signal.correlate2d(image, k, mode="same")))
    differs = diff > 1e-9
    inner = slice(40, 56)  # rows/columns far from every band
    rows, cols = np.flatnonzero(differs[:, inner].any(axis=1)), np.flatnonzero(differs[inner, :].any(axis=0))
    return {"top": int(np.sum(rows < 48)), "left": int(np.sum(cols < 48)),
            "bottom": int(np.sum(rows >= 48)), "right": int(np.sum(cols >= 48))}


def rotation_error(k: np.ndarray) -> float:
    from scipy import signal

    image = np.random.default_rng(1).random((40, 40))
    a = signal.correlate2d(np.rot90(image), k, mode="same")
    b = np.rot90(signal.correlate2d(image, k, mode="same"))
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


# ------------------------------------------------------------------------------------------------ 02
@cache
def convolution_entry() -> dict:
    """Notebook 02's X (10 r + c) and K (0.1 i + 0.01 j), 1-based values: output (1, 1) of the convolution."""
    from scipy import signal

    tf = _tf()
    i4, i3 = np.arange(1, 5), np.arange(1, 4)
    x = (10 * i4[:, None] + i4[None, :]).astype(float)
    k = 0.1 * i3[:, None] + 0.01 * i3[None, :]
    value = float(signal.convolve2d(x, k, mode="valid")[1, 1])
    # which X entry multiplies K[0, 0]: d out[1, 1] / d X is non-zero there, with value K[0, 0]
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        flipped = tf.constant(k[::-1, ::-1, None, None])
        out = tf.nn.conv2d(xv[None, :, :, None], flipped, 1, "VALID")[0, 1, 1, 0]
    g = tape.gradient(out, xv).numpy()
    pos = tuple(int(v) for v in np.argwhere(np.isclose(g, k[0, 0]))[0])
    return {"value": value, "x_entry": pos, "x_entry_correlation": (1, 1),
            "correlation_value": float(signal.correlate2d(x, k, mode="valid")[1, 1])}


@cache
def triple_blur(times: int = 3) -> np.ndarray:
    from scipy import signal

    g = np.array([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    out = g
    for _ in range(times - 1):
        out = signal.convolve2d(out, g, mode="full")
    return out


def apply_rgb_kernel(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The student's kernel applied by TensorFlow ('same', no bias) and the wanted maps, on a random image."""
    tf = _tf()
    image = np.random.default_rng(2).random((1, 9, 9, 3))
    maps = tf.nn.conv2d(image, w, 1, "SAME").numpy()[0]
    target = np.stack([image[0].mean(axis=-1), image[0, :, :, 1]], axis=-1)
    return maps, target


# ------------------------------------------------------------------------------------------------ 03
@cache
def vgg16_pool_sizes() -> list[int]:
    keras = _keras()
    x = inputs = keras.Input((224, 224, 1))
    sizes = []
    for _, convs, _ in _VGG16:
        for _ in range(convs):
            x = keras.layers.Conv2D(1, 3, padding="same")(x)
        x = keras.layers.MaxPooling2D(2)(x)
        sizes.append(int(x.shape[1]))
    del inputs
    return sizes


def _vgg_pairs(config: str = "D", upto: str | None = None) -> list[tuple[int, int]]:
    kernels = {"D": [[3, 3], [3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
               "C": [[3, 3], [3, 3], [3, 3, 1], [3, 3, 1], [3, 3, 1]]}[config]
    pairs: list[tuple[int, int]] = []
    for b, block in enumerate(kernels, start=1):
        for c, k in enumerate(block, start=1):
            pairs.append((k, 1))
            if upto == f"block{b}_conv{c}":
                return pairs
        pairs.append((2, 2))
    return pairs


@cache
def vgg16_receptive_field(upto: str | None = None) -> int:
    return _tf_receptive_field(_vgg_pairs("D", upto), 480)


@cache
def fitting_strides(n: int, k: int) -> set[int]:
    tf = _tf()
    x, w = tf.zeros((1, n, 1)), tf.zeros((k, 1, 1))
    # a stride fits when the last window, placed by TensorFlow, ends exactly on the last input
    return {s for s in range(1, 9) if (tf.nn.conv1d(x, w, s, "VALID").shape[1] - 1) * s + k == n}


@cache
def vgg16_extremes() -> dict[str, set[str]]:
    rows = []  # (name, params, macs, activations), written out from the VGG-16 table
    size, c_in = 224, 3
    for b, convs, filters in _VGG16:
        for c in range(1, convs + 1):
            rows.append((f"block{b}_conv{c}", 9 * c_in * filters + filters, size * size * filters * 9 * c_in,
                         size * size * filters))
            c_in = filters
        size //= 2
        rows.append((f"block{b}_pool", 0, 0, size * size * c_in))
    flat = size * size * c_in
    for name, n_in, units in (("fc1", flat, 4096), ("fc2", 4096, 4096), ("predictions", 4096, 1000)):
        rows.append((name, n_in * units + units, n_in * units, units))
    best = {}
    for key, col in (("most_params", 1), ("most_macs", 2), ("most_activations", 3)):
        top = max(r[col] for r in rows)
        best[key] = {r[0] for r in rows if r[col] == top}
    return best


@cache
def layers_to_see(width: int) -> dict[str, int]:
    """Fewest stride-1 3-wide layers after which one unit's field spans ``width`` pixels: plain ("plain") and
    with dilations 1, 2, 4, ... doubling per layer ("dilated"). The field is odd, so for an even ``width``
    this is also when the central unit of a 'same'-padded stack over a ``width``-pixel row sees all of it.

    Measured, not computed from a formula: an impulse goes through all-ones kernels (``tf.nn.convolution``
    with ``dilations``, float64 so that 3^L does not overflow) and the width of its response after each layer
    is the receptive field of that layer's units.
    """
    tf = _tf()
    n = 2 * width + 1
    found = {}
    for name, dilation in (("plain", lambda layer: 1), ("dilated", lambda layer: 2 ** layer)):
        h = tf.constant(np.eye(1, n, n // 2, dtype=np.float64).reshape(1, n, 1))
        for layer in range(n):
            h = tf.nn.convolution(h, tf.ones((3, 1, 1), tf.float64), padding="SAME",
                                  dilations=dilation(layer))
            support = np.flatnonzero(h.numpy().ravel())
            if support[-1] - support[0] + 1 >= width:
                found[name] = layer + 1
                break
    return found


# ------------------------------------------------------------------------------------------------ 04
@cache
def exact_pool_shifts() -> set[int]:
    tf = _tf()
    x = np.random.default_rng(3).random((1, 32, 32, 1)).astype(np.float32)
    pooled = tf.nn.max_pool2d(x, 4, 4, "VALID").numpy()
    exact = set()
    for s in range(9):
        moved = tf.nn.max_pool2d(np.roll(x, s, axis=2), 4, 4, "VALID").numpy()
        if any(np.array_equal(moved, np.roll(pooled, q, axis=2)) for q in range(pooled.shape[2])):
            exact.add(s)
    return exact


@cache
def tf_max_pool_tie() -> tuple[int, int]:
    tf = _tf()
    x = tf.Variable([[[[5.0], [5.0]], [[1.0], [2.0]]]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.nn.max_pool2d(x, 2, 2, "VALID"))
    g = tape.gradient(y, x).numpy()[0, :, :, 0]
    return tuple(int(v) for v in np.argwhere(g != 0)[0])


@cache
def _pnorm_cases() -> tuple:
    tf = _tf()
    rng = np.random.default_rng(4)
    cases = []
    for p in (1.0, 2.0, 3.0, 8.0):
        x = rng.uniform(0.1, 2.0, size=(3, 3))
        xv = tf.Variable(x)
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(xv ** p) ** (1 / p)
        cases.append((x, p, tape.gradient(y, xv).numpy()))
    return tuple(cases)


def pnorm_gradients() -> list:
    return [(x.copy(), p, g.copy()) for x, p, g in _pnorm_cases()]


# ------------------------------------------------------------------------------------------------ 05
def _lecture_forward(k, *, flatten: str, op: str, pool: str):
    tf = _tf()
    x = tf.constant(np.arange(1, 65, dtype=float).reshape(1, 8, 8, 1))
    theta = tf.constant([1.0, 2.0, 3.0, 4.0], dtype=tf.float64)
    kernel = (tf.reverse(k, axis=[0, 1]) if op == "convolve" else k)[:, :, None, None]
    f = tf.nn.conv2d(x, kernel, 1, "VALID")
    z = (tf.nn.max_pool2d if pool == "max" else tf.nn.avg_pool2d)(f, 3, 3, "VALID")[0, :, :, 0]
    h = tf.reshape(tf.transpose(z) if flatten == "F" else z, [-1])
    return tf.reduce_sum(h * theta)  # net; y = 0 so J = log(1 - sigmoid(net)) = log_sigmoid(-net)


@cache
def lecture_gradient(*, flatten: str = "F", op: str = "convolve", pool: str = "max") -> np.ndarray:
    tf = _tf()
    k = tf.Variable(np.arange(1, 10, dtype=float).reshape(3, 3))
    with tf.GradientTape() as tape:
        j = tf.math.log_sigmoid(-_lecture_forward(k, flatten=flatten, op=op, pool=pool))
    return tape.gradient(j, k).numpy()


@cache
def lecture_log_one_minus() -> float:
    tf = _tf()
    k = tf.constant(np.arange(1, 10, dtype=float).reshape(3, 3))
    return float(tf.math.log_sigmoid(-_lecture_forward(k, flatten="F", op="convolve", pool="max")).numpy())


# ------------------------------------------------------------------------------------------------ 06
@cache
def keras_conv_after_conv_b() -> tuple[tuple[int, ...], int]:
    keras = _keras()
    x = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(64, 3)(keras.layers.Conv2D(32, 3)(x))
    layer = keras.layers.Conv2D(128, 5)
    layer(x)
    return tuple(int(d) for d in layer.kernel.shape), int(layer.count_params())


@cache
def batchnorm_single_example() -> np.ndarray:
    keras = _keras()
    bn = keras.layers.BatchNormalization()
    return keras.ops.convert_to_numpy(bn(np.array([[3.0, 20.0]], dtype="float32"), training=True))


@cache
def moving_mean_steps(momentum: float) -> int:
    keras = _keras()
    batch = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0], [7.0, 40.0]], dtype="float32")
    mu = batch.mean(axis=0)
    bn = keras.layers.BatchNormalization(momentum=momentum)
    for step in range(1, 2000):
        bn(batch, training=True)
        if np.all(np.abs(bn.moving_mean.numpy() - mu) <= 0.01 * np.abs(mu)):
            return step
    raise AssertionError("the moving mean did not converge")  # pragma: no cover


# ------------------------------------------------------------------------------------------------ 07
def _lenet_modern(size: int, head: str = "paper", units: int = 500):
    keras = _keras()
    # the modern 20/50/500 variant as notebook 07 builds it: 5x5 "same" convolutions, 2x2 max pooling
    layers = [keras.Input((size, size, 1)), keras.layers.Conv2D(20, 5, padding="same", name="conv1"),
              keras.layers.MaxPooling2D(2, name="pool1"),
              keras.layers.Conv2D(50, 5, padding="same", name="conv2"),
              keras.layers.MaxPooling2D(2, name="pool2")]
    if head == "gap":
        layers += [keras.layers.GlobalAveragePooling2D(name="gap")]
    else:
        layers += [keras.layers.Flatten(name="flatten"), keras.layers.Dense(units, name="fc1")]
    layers += [keras.layers.Dense(10, name="predictions")]
    return keras.Sequential(layers)


@cache
def lenet_modern_input_change() -> dict[str, int]:
    small, big = _lenet_modern(28), _lenet_modern(32)
    return {layer.name: big.get_layer(layer.name).count_params() - layer.count_params()
            for layer in small.layers if big.get_layer(layer.name).count_params() != layer.count_params()}


@cache
def lenet_head_savings() -> dict[str, int]:
    base = _lenet_modern(28).count_params()
    fc50 = _lenet_modern(28, units=50).count_params()
    gap = _lenet_modern(28, head="gap").count_params()
    fc1 = _lenet_modern(28).get_layer("fc1").count_params()
    return {"fc1_50": base - fc50, "gap": base - gap,
            "fc1_50_fc1_only": fc1 - _lenet_modern(28, units=50).get_layer("fc1").count_params(),
            "gap_fc1_only": fc1}


# ------------------------------------------------------------------------------------------------ 08
@cache
def dropout_scale(rate: float = 0.2) -> float:
    """What keras.layers.Dropout multiplies a kept activation by, measured on a vector of ones."""
    keras = _keras()
    layer = keras.layers.Dropout(rate, seed=0)
    out = keras.ops.convert_to_numpy(layer(np.ones(1000, "float32"), training=True))
    return float(out.max())


@cache
def adamw_decay_left(steps: int = 120, learning_rate: float = 0.003, weight_decay: float = 0.5) -> float:
    """The fraction of a weight left after AdamW steps with a zero gradient, measured with Keras's AdamW."""
    keras = _keras()
    w = keras.Variable(np.ones(1, "float64"), dtype="float64")
    opt = keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    for _ in range(steps):
        opt.apply_gradients([(keras.ops.zeros_like(w), w)])
    return float(keras.ops.convert_to_numpy(w)[0])


@cache
def glorot_conv_variance(kernel: int = 3, c_in: int = 16, c_out: int = 16) -> float:
    """Variance of keras's glorot_uniform for a conv kernel: limit**2 / 3, the limit read off a large draw."""
    keras = _keras()
    draw = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=0)((kernel, kernel, c_in, c_out)))
    limit_seen = float(np.abs(draw).max())
    fan_in, fan_out = kernel * kernel * c_in, kernel * kernel * c_out
    limit = float(np.sqrt(6.0 / (fan_in + fan_out)))
    assert limit_seen <= limit and limit_seen > 0.99 * limit  # Keras's draw fills the interval we compute
    return limit ** 2 / 3


# ------------------------------------------------------------------------------------------------ 09
@cache
def pool5_receptive_fields() -> dict[str, int]:
    alexnet = [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]
    zfnet = [(7, 2), (3, 2), (5, 2), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]
    return {"alexnet": _tf_receptive_field(alexnet, 480), "zfnet": _tf_receptive_field(zfnet, 480)}


def _dense_count(n_in: int, units: int, bias: bool = True) -> int:
    """Weights of a Dense layer, from Keras when small enough to build, else written out."""
    if n_in * units <= 2_000_000:
        keras = _keras()
        layer = keras.layers.Dense(units, use_bias=bias)
        layer.build((None, n_in))
        return int(layer.count_params())
    return n_in * units + (units if bias else 0)


@cache
def alexnet_gap_savings() -> tuple[int, int]:
    before = _dense_count(6 * 6 * 256, 4096) + _dense_count(4096, 4096) + _dense_count(4096, 1000)
    after = _dense_count(256, 1000)
    return before - after, before - _dense_count(4096, 1000)


# ------------------------------------------------------------------------------------------------ 10
@cache
def vgg_block5_fields() -> dict[str, int]:
    return {c: _tf_receptive_field(_vgg_pairs(c, "block5_conv3"), 400) for c in ("C", "D")}


# ------------------------------------------------------------------------------------------------ 11
@cache
def inception_3a_reduce_macs() -> dict[str, int]:
    tf = _tf()
    x = tf.zeros((28 * 28, 192))
    out = {}
    for name, c_out in (("3x3_reduce", 96), ("5x5_reduce", 16)):
        y = tf.matmul(x, tf.zeros((192, c_out)))  # (H*W, C_out): each entry is a C_in-long dot product
        out[name] = int(y.shape[0] * y.shape[1] * x.shape[1])
    return out


@cache
def naive_inception_depth() -> int:
    keras = _keras()
    x = keras.Input((14, 14, 528))
    branches = [keras.layers.Conv2D(256, 1)(x), keras.layers.Conv2D(320, 3, padding="same")(x),
                keras.layers.Conv2D(128, 5, padding="same")(x),
                keras.layers.MaxPooling2D(3, strides=1, padding="same")(x)]
    return int(keras.layers.Concatenate()(branches).shape[-1])


@cache
def googlenet_vgg_head(bias: bool = True) -> int:
    return (_dense_count(7 * 7 * 1024, 4096, bias) + _dense_count(4096, 4096, bias)
            + _dense_count(4096, 1000, bias))


# ------------------------------------------------------------------------------------------------ 13
@cache
def small_cnn_unit_pixels(row: int = 3, col: int = 5) -> dict[str, tuple[int, int]]:
    """First and last input row and column that unit (row, col) of notebook 13's conv3 reads, measured.

    The layers of ``small_cnn`` on a 32x32 image (7x7 stride-2 'same', 3x3 'same', 2x2 pooling, 3x3 'same'),
    with one channel and all-ones kernels, pooling averaged: every pixel the unit reads gets a non-zero
    gradient, and the pixels outside the image (the padding) are not pixels at all.
    """
    tf = _tf()
    x = tf.Variable(tf.ones((1, 32, 32, 1)))
    with tf.GradientTape() as tape:
        h = tf.nn.conv2d(x, tf.ones((7, 7, 1, 1)), 2, "SAME")
        h = tf.nn.conv2d(h, tf.ones((3, 3, 1, 1)), 1, "SAME")
        h = tf.nn.avg_pool2d(h, 2, 2, "VALID")
        h = tf.nn.conv2d(h, tf.ones((3, 3, 1, 1)), 1, "SAME")
        unit = h[0, row, col, 0]
    grad = tape.gradient(unit, x).numpy()[0, :, :, 0]
    rows, cols = np.flatnonzero(grad.any(axis=1)), np.flatnonzero(grad.any(axis=0))
    return {"rows": (int(rows[0]), int(rows[-1])), "cols": (int(cols[0]), int(cols[-1]))}


# Notebook 13, exercise 8: three 2x2 maps of conv3 and the weights of the class's score on their means.
GRAD_CAM_MAPS = np.array([[[1.0, 2.0], [0.0, 3.0]], [[4.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [2.0, 0.0]]])
GRAD_CAM_WEIGHTS = np.array([0.5, -1.0, 0.25])


@cache
def grad_cam_by_hand() -> np.ndarray:
    """Grad-CAM of the exercise's maps, the gradients taken by ``tf.GradientTape`` (score = w . mean(A))."""
    tf = _tf()
    maps = tf.Variable(np.moveaxis(GRAD_CAM_MAPS, 0, -1))  # (2, 2, channels)
    with tf.GradientTape() as tape:
        score = tf.reduce_sum(tf.reduce_mean(maps, axis=(0, 1)) * GRAD_CAM_WEIGHTS)
    alpha = tf.reduce_mean(tape.gradient(score, maps), axis=(0, 1))
    cam = np.maximum(tf.reduce_sum(maps * alpha, axis=-1).numpy(), 0.0)
    return cam / cam.max()  # scaled by its maximum, as course_lib.visualize.grad_cam returns it


# ------------------------------------------------------------------------------------------------ 14
@cache
def vgg16_separable() -> dict[str, int]:
    keras = _keras()
    params = params_no_bias = macs = macs_dw = 0
    size, c_in = 224, 3
    for _, convs, filters in _VGG16:
        for _ in range(convs):
            layer = keras.layers.SeparableConv2D(filters, 3, padding="same")
            layer.build((None, size, size, c_in))
            params += int(layer.count_params())
            params_no_bias += int(layer.count_params()) - filters
            macs_dw += size * size * c_in * 9
            macs += size * size * c_in * 9 + size * size * c_in * filters
            c_in = filters
        size //= 2
    return {"params": params, "params_no_bias": params_no_bias, "macs": macs, "macs_depthwise": macs_dw}


# ResNet-50's bottleneck stages: (output channels, blocks).
_RESNET50_STAGES = ((256, 3), (512, 4), (1024, 6), (2048, 3))
RESNEXT_TABLE2 = ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4))


def _conv_weights(c_in: int, filters: int, kernel: int, groups: int = 1) -> int:
    """Weights of a bias-free Keras Conv2D, counted by Keras."""
    keras = _keras()
    layer = keras.layers.Conv2D(filters, kernel, groups=groups, use_bias=False)
    layer.build((None, 8, 8, c_in))
    return int(layer.count_params())


@cache
def resnext_block_weights(*, grouped: bool = True) -> dict[tuple[int, int], int]:
    """Convolution weights of one conv2-stage bottleneck (256 -> C*d -> C*d -> 256) per (C, d) of Table 2."""
    return {(c, d): _conv_weights(256, c * d, 1) + _conv_weights(c * d, c * d, 3, c if grouped else 1)
            + _conv_weights(c * d, 256, 1) for c, d in RESNEXT_TABLE2}


@cache
def se_resnet50_extra(r: int, *, bias: bool = True, blocks: bool = True) -> int:
    """Weights the SE gates add to ResNet-50 (one per block, on its output), counted by Keras Dense layers."""
    keras = _keras()
    total = 0
    for channels, count in _RESNET50_STAGES:
        gate = 0
        for n_in, units in ((channels, channels // r), (channels // r, channels)):
            layer = keras.layers.Dense(units, use_bias=bias)
            layer.build((None, n_in))
            gate += int(layer.count_params())
        total += gate * (count if blocks else 1)
    return total


@cache
def _per_input_channel(kind: str, filters: int = 1, kernel: int = 1) -> int:
    """Parameters per input channel of a bias-free Conv2D or of a BatchNormalization, counted by Keras (both
    grow linearly with the input channels)."""
    keras = _keras()
    layer = (keras.layers.BatchNormalization() if kind == "bn"
             else keras.layers.Conv2D(filters, kernel, use_bias=False))
    layer.build((None, 8, 8, 1))
    return int(layer.count_params())


@cache
def dense_block_params(growth: int, c0: int = 64, layers: int = 6) -> int:
    """Parameters of notebook 14's dense block (BN-ReLU-1x1(4k)-BN-ReLU-3x3(k) per layer), by Keras."""
    bn, reduce = _per_input_channel("bn"), _per_input_channel("conv", 4 * growth, 1)
    per_layer_fixed = bn * 4 * growth + _per_input_channel("conv", growth, 3) * 4 * growth
    return sum((bn + reduce) * (c0 + i * growth) + per_layer_fixed for i in range(layers))


@cache
def bottleneck_break_even(growth: int = 32) -> dict[str, int]:
    """The fewest input channels at which a 1x1(4k) + 3x3(k) layer holds fewer convolution weights than a
    lone 3x3(k), found by counting with Keras; and the first layer of DenseNet-121's second block (c0 = 128,
    12 layers) whose input is that wide."""
    # Keras counts each layer's weights per input channel (a bias-free convolution is linear in its inputs)
    reduce_per_channel, plain_per_channel = _conv_weights(1, 4 * growth, 1), _conv_weights(1, growth, 3)
    fixed = _conv_weights(4 * growth, growth, 3)
    c = 1
    while c * reduce_per_channel + fixed >= c * plain_per_channel:
        c += 1
    layer = next(i for i in range(1, 13) if 128 + (i - 1) * growth >= c)
    return {"channels": c, "block2_layer": layer}


# ------------------------------------------------------------------------------------------------ 15
@cache
def course_net_trainable(num_classes: int = 10) -> dict[str, int]:
    """Weights notebook 15's fine-tuner trains (BN layers frozen), counted from Keras's trainable_weights.

    The base is the course network up to ``avg_pool`` with a new ``Dense(num_classes)`` head, as
    ``with_head(..., freeze_bn=True)`` builds it; "last_block" also freezes every layer of blocks 1-3.
    Also the counts with trainable BN layers, the hint for a common slip.
    """
    from ..pretrained import course_net

    keras = _keras()
    out = {}
    for key, frozen_blocks, freeze_bn in (("everything", (), True), ("last_block", (1, 2, 3), True),
                                          ("everything_bn", (), False), ("last_block_bn", (1, 2, 3), False)):
        net = course_net()
        base = keras.Model(net.input, net.get_layer("avg_pool").output)
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization) and freeze_bn:
                layer.trainable = False
            if any(layer.name.startswith(f"block{b}_") for b in frozen_blocks):
                layer.trainable = False
        head = keras.layers.Dense(num_classes)
        model = keras.Sequential([base, head])
        out[key] = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        out["head"] = int(head.count_params())
    return out


# ------------------------------------------------------------------------------------------------ 16
def _box_mask(box, size: int = 48) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros((size, size), bool)
    mask[y0:y1, x0:x1] = True
    return mask


@cache
def shifted_box_ious() -> dict:
    """IoU of a 10x10 box and its copy shifted by d = 0..10 pixels along x, by counting pixels."""
    a = _box_mask((10, 10, 20, 20))
    shifted = [_box_mask((10 + d, 10, 20 + d, 20)) for d in range(11)]
    ious = np.array([(a & b).sum() / (a | b).sum() for b in shifted])
    return {"iou": ious, "first_miss": int(np.flatnonzero(ious < 0.5)[0])}


def _lost_by_counting(boxes_per_image, grid: int, size: int) -> int:
    """Objects minus occupied cells, image by image: the centre's cell is floor(centre / cell side)."""
    lost = 0
    for boxes in boxes_per_image:
        b = np.asarray(boxes, float).reshape(-1, 4)
        cells = np.minimum(np.floor((b[:, :2] + b[:, 2:]) / 2 / (size / grid)), grid - 1).astype(int)
        lost += len(b) - len(np.unique(cells, axis=0))
    return lost


def lost_object_cases() -> list[tuple[str, list, int, int, int]]:
    """(what the case tests, boxes per image, grid, image size, objects that lose their cell)."""
    rng = np.random.default_rng(16)
    random_images = []
    for _ in range(60):
        k = int(rng.integers(1, 6))
        x0, y0 = rng.integers(0, 48, size=(2, k))
        w, h = rng.integers(4, 17, size=(2, k))
        random_images.append(np.stack([x0, y0, x0 + w, y0 + h], axis=1).astype(np.float32))
    cases = [
        ("one image whose three centres fall in three different cells",
         [np.array([[0, 0, 8, 8], [20, 20, 30, 30], [40, 8, 56, 20]], np.float32)], 8, 64),
        ("one image with two centres in one cell",
         [np.array([[0, 0, 8, 8], [2, 2, 6, 6]], np.float32)], 8, 64),
        ("one image with three centres in one cell (count objects, not shared cells)",
         [np.array([[0, 0, 8, 8], [2, 2, 6, 6], [1, 1, 7, 7]], np.float32)], 8, 64),
        ("two images with one object each, in the same cell (cells are shared within an image only)",
         [np.array([[0, 0, 8, 8]], np.float32), np.array([[1, 1, 7, 7]], np.float32)], 8, 64),
        ("centres at x = 16 and x = 23 with 8-pixel cells (a centre's cell is floor(centre / side))",
         [np.array([[12, 0, 20, 8], [19, 0, 27, 8]], np.float32)], 8, 64),
    ]
    cases += [(f"60 random images on a {g}x{g} grid", random_images, g, 64) for g in (4, 8, 16)]
    return [(what, boxes, g, size, _lost_by_counting(boxes, g, size)) for what, boxes, g, size in cases]


@cache
def faster_rcnn_anchors(height: int = 600, width: int = 1000, per_position: int = 9) -> dict[str, int]:
    """Anchors on VGG-16's block5_conv3 map of a height x width image (Keras layers, 1 filter each)."""
    keras = _keras()
    x = keras.Input((height, width, 1))
    for b, (_, convs, _) in enumerate(_VGG16, start=1):
        for _ in range(convs):
            x = keras.layers.Conv2D(1, 3, padding="same")(x)
        if b < 5:  # block5_conv3 comes before the fifth pooling
            x = keras.layers.MaxPooling2D(2)(x)
    h, w = int(x.shape[1]), int(x.shape[2])
    return {"anchors": h * w * per_position, "positions": h * w,
            "ceil": -(-height // 16) * -(-width // 16) * per_position,
            "pool5": (h // 2) * (w // 2) * per_position}


# ------------------------------------------------------------------------------------------------ 17
_TRANSPOSED_INPUT = np.array([[1.0, 0.0], [0.0, 1.0]])
_TRANSPOSED_KERNEL = np.array([[1.0, 2.0], [3.0, 4.0]])


@cache
def transposed_by_hand(stride: int, *, flip: bool = False) -> np.ndarray:
    """Keras's Conv2DTranspose (no bias, 'valid') of notebook 17's exercise-1 input and kernel."""
    keras = _keras()
    layer = keras.layers.Conv2DTranspose(1, 2, strides=stride, use_bias=False)
    layer.build((1, 2, 2, 1))
    kernel = _TRANSPOSED_KERNEL[::-1, ::-1] if flip else _TRANSPOSED_KERNEL
    layer.set_weights([kernel[:, :, None, None].astype("float32")])
    out = layer(_TRANSPOSED_INPUT[None, :, :, None].astype("float32"))
    return keras.ops.convert_to_numpy(out)[0, :, :, 0].astype(float)


@cache
def transposed_output_sizes() -> dict[str, int]:
    """Output sides of Conv2DTranspose(kernel 8, stride 4) on 8x8 and of (kernel 3, stride 2) on 16x16."""
    keras = _keras()
    sizes = {}
    for key, n, kernel, stride in (("k8", 8, 8, 4), ("k3", 16, 3, 2)):
        for padding in ("valid", "same"):
            layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding)
            y = layer(keras.Input((n, n, 1)))
            sizes[f"{key}_{padding}"] = int(y.shape[1])
    return sizes


# Notebook 17, exercise 8: a 4x4 true class map and a prediction (0 background, 1 and 2 objects).
SEG_TRUTH = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 2], [0, 0, 2, 2]])
SEG_PRED = np.array([[0, 0, 0, 0], [0, 1, 1, 1], [0, 0, 1, 2], [0, 0, 0, 2]])


@cache
def segmentation_scores_by_hand() -> dict:
    """Per-class IoU (Keras's IoU metric), their mean (MeanIoU), mean Dice (scikit-learn's F1 per class)."""
    keras = _keras()
    from sklearn.metrics import f1_score

    truth, pred = SEG_TRUTH.ravel(), SEG_PRED.ravel()
    ious = []
    for c in range(3):
        metric = keras.metrics.IoU(num_classes=3, target_class_ids=[c])
        metric.update_state(truth, pred)
        ious.append(float(metric.result()))
    mean = keras.metrics.MeanIoU(num_classes=3)
    mean.update_state(truth, pred)
    dice = f1_score(truth, pred, labels=[0, 1, 2], average=None)
    return {"iou": np.array(ious), "mean_iou": float(mean.result()), "mean_dice": float(np.mean(dice)),
            "pixel_accuracy": float(np.mean(truth == pred)), "dice": np.asarray(dice, float)}


# ------------------------------------------------------------------------------------------------ 18
# A filter that is its own left-right mirror image: Sobel's horizontal-edge kernel.
MIRROR_KERNEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


@cache
def mirror_slots() -> list[int]:
    """slot[r]: the lifted map r of the mirrored image is the mirrored map slot[r] of the image (SciPy)."""
    from scipy import signal

    image = np.random.default_rng(18).random((12, 12))

    def lift(x):
        return [signal.correlate2d(x, np.rot90(MIRROR_KERNEL, r), mode="same") for r in range(4)]

    of_mirrored, mirrored = lift(np.fliplr(image)), [np.fliplr(m) for m in lift(image)]
    return [next(s for s in range(4) if np.allclose(of_mirrored[r], mirrored[s])) for r in range(4)]


def _p4_matrix(r: int, t) -> np.ndarray:
    """The p4 element p -> R^r p + t as a 3x3 integer matrix on homogeneous (x, y, 1)."""
    rot = np.linalg.matrix_power(np.array([[0, -1], [1, 0]]), r % 4)
    m = np.eye(3, dtype=int)
    m[:2, :2], m[:2, 2] = rot, t
    return m


def _p4_element(m: np.ndarray) -> tuple[int, tuple[int, int]]:
    r = next(k for k in range(4) if np.array_equal(_p4_matrix(k, (0, 0))[:2, :2], np.rint(m[:2, :2])))
    return r, (int(np.rint(m[0, 2])), int(np.rint(m[1, 2])))


@cache
def p4_products() -> dict:
    """g h and g^-1 for g = (1, (2, 0)), h = (1, (0, 3)), by multiplying and inverting matrices; also h g."""
    g, h = _p4_matrix(1, (2, 0)), _p4_matrix(1, (0, 3))
    return {"gh": _p4_element(g @ h), "g_inv": _p4_element(np.linalg.inv(g)), "hg": _p4_element(h @ g)}


@cache
def p4_layer_params() -> dict[str, int]:
    """P4ConvLift2D(16, 5) on RGB images and P4Conv2D(16, 5) on p4 maps of 12 channels: a p4 layer stores
    the weights of a Conv2D reading (rotations x channels) inputs, so Keras's Conv2D counts them."""
    keras = _keras()
    counts = {}
    for key, c_in in (("lift", 3), ("group", 4 * 12)):
        layer = keras.layers.Conv2D(16, 5)
        layer.build((None, 14, 14, c_in))
        counts[key] = int(layer.count_params())
    return counts


# ------------------------------------------------------------------------------------------------ 19
@cache
def data_parallel_facts() -> dict:
    """Exercises 19.1-19.3. The per-replica batch comes from ``tf.distribute.InputContext`` and the steps per
    epoch from ``tf.data``'s own batching (the last, smaller batch kept); the scaled rate is Goyal et al.'s
    rule written out: base rate times the ratio of the batches."""
    tf = _tf()
    machines, gpus_per_machine, global_batch = 2, 4, 1024
    context = tf.distribute.InputContext(num_input_pipelines=machines, input_pipeline_id=0,
                                         num_replicas_in_sync=machines * gpus_per_machine)
    images, big_batch, gpus = 1_281_167, 8192, 256
    return {
        "machines": machines, "gpus_per_machine": gpus_per_machine, "global": global_batch,
        "per_replica": int(context.get_per_replica_batch_size(global_batch)),
        "base_lr": 0.1, "base_batch": 256, "big_batch": big_batch, "scaled_lr": 0.1 * big_batch / 256,
        "images": images, "gpus": gpus,
        "steps": int(tf.data.Dataset.range(images).batch(big_batch).cardinality()),
        "replica_steps": int(tf.data.Dataset.range(images).batch(big_batch // gpus).cardinality()),
    }
