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
