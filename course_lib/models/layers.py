"""Custom Keras layers that the classic papers need and Keras does not ship.

All are written with ``keras.ops`` only, carry a ``get_config`` and are registered for serialization, so a
model that uses them can be saved to ``.keras`` and loaded back.

- ``LocalResponseNormalization``: AlexNet's cross-channel normalisation, with the paper's constants.
- ``ConnectionTableConv2D``: a convolution in which each output map sees only some input maps (LeNet-5's C3).
- ``Subsampling2D``: LeNet-5's S2/S4, a 2x2 sum times a trainable coefficient plus a trainable bias per map.
- ``EuclideanRBF``: LeNet-5's output layer, squared distances to fixed code vectors.
- ``scaled_tanh``: LeNet-5's squashing function ``1.7159 tanh(2a/3)``.
- ``ZeroPadShortcut``: the parameter-free "option A" shortcut of the CIFAR ResNets.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from ..shapes import conv_output_size
from ..validation import check_float, check_int, check_int_tuple, check_positive_int, value_error
from .group_conv import Maxout, OrientationPooling, P4Conv2D, P4ConvLift2D  # noqa: F401 (re-exported)

_PACKAGE = "course_lib"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (AlexNet, Section 3.3).

    For channel ``i`` at one pixel, with ``N`` channels,
    ``b_i = a_i / (k + alpha * sum_{j=max(0, i-n//2)}^{min(N-1, i+n//2)} a_j**2) ** beta``.
    ``alpha`` multiplies the plain sum of squares, as in the paper's formula (and in
    ``tf.nn.local_response_normalization`` with ``depth_radius = n // 2, bias = k``). Caffe and PyTorch divide
    alpha by ``n`` instead: to copy a Caffe model with ``alpha_caffe`` pass ``alpha = alpha_caffe / n``.

    Args:
        size: ``n``, the number of adjacent channels in the sum (odd, so the window is centred).
        k: the additive constant (2 in the paper).
        alpha: the scale of the sum of squares (1e-4).
        beta: the exponent (0.75).

    Input/Output shape: ``(batch, height, width, channels)``, unchanged.

    Raises:
        TypeError / ValueError: size not a positive odd int, or k, alpha, beta not real numbers.

    Reference: Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural
    Networks", NIPS 2012, Section 3.3.
    """

    def __init__(self, size: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        size = check_int(size, "size", minimum=1)
        if size % 2 == 0:
            raise value_error("size", "a positive odd int (a centred window)", size)
        self.size = size
        self.k = check_float(k, "k")
        self.alpha = check_float(alpha, "alpha")
        self.beta = check_float(beta, "beta")

    def call(self, inputs):
        channels = inputs.shape[-1]
        half = self.size // 2
        squares = ops.square(inputs)
        # Zero channels on both sides make the sum at the edges run over the channels that exist, as the
        # paper's max(0, .) / min(N-1, .) limits say; the window sum is then n shifted slices added up.
        pad = [[0, 0]] * (len(inputs.shape) - 1) + [[half, half]]
        padded = ops.pad(squares, pad)
        window_sum = padded[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + padded[..., offset : offset + channels]
        return inputs / ops.power(self.k + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "k": self.k, "alpha": self.alpha, "beta": self.beta})
        return config


def _connections_from(table) -> tuple[tuple[int, ...], ...]:
    """Normalise a connection table to one sorted tuple of input indices per output map."""
    array = np.asarray(table, dtype=object)
    if array.ndim == 2 and all(isinstance(v, (bool, np.bool_, int, np.integer)) for v in array.ravel()):
        # A boolean matrix laid out like the paper's table: rows = input maps, columns = output maps.
        matrix = np.asarray(table, dtype=bool)
        return tuple(tuple(int(i) for i in np.flatnonzero(matrix[:, j])) for j in range(matrix.shape[1]))
    return tuple(tuple(sorted(int(i) for i in inputs)) for inputs in table)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConnectionTableConv2D(keras.layers.Layer):
    """A 2-D convolution where output map ``j`` is connected only to the input maps listed in a table.

    Only the kernels of existing connections are stored: the trainable weights are ``kernel`` of shape
    ``(kh, kw, n_connections)`` and ``bias`` of shape ``(filters,)``. At each call they are scattered into an
    ordinary dense kernel ``(kh, kw, in_channels, filters)`` whose missing connections are exact zeros, and a
    normal convolution runs. Because Keras counts the size of the stored variables, ``count_params()`` reports
    the free parameters of the paper (LeNet-5's C3: 60 connections x 25 + 16 biases = 1,516), not the 2,416
    of a full 6 -> 16 convolution. (A plain ``Conv2D`` whose kernel is multiplied by a 0/1 mask would train
    the same way but still count 2,416, and its masked entries would keep receiving weight decay.)

    Args:
        filters: number of output maps.
        kernel_size: an int or ``(kh, kw)``.
        connections: either a boolean matrix ``(in_channels, filters)`` laid out like the paper's table (rows
            input maps, columns output maps), or a sequence of length ``filters`` whose entry ``j`` lists the
            input maps feeding output map ``j``.
        strides, padding: as in ``keras.layers.Conv2D``.
        activation: an activation name or callable, applied after the bias.
        use_bias: add one bias per output map.
        kernel_initializer: default: uniform with variance ``1 / fan_in`` (LeCun), where fan_in is ``kh * kw``
            times the average number of inputs per output map.

    Input shape: ``(batch, height, width, in_channels)``; output ``(batch, height', width', filters)``.

    Raises:
        TypeError / ValueError: filters, kernel_size or strides not positive ints; a connection table that
            does not list one non-empty entry per output map.

    Reference: LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    Proc. IEEE 1998, Section II.B and Table I.
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        connections: Sequence,
        *,
        strides=1,
        padding: str = "valid",
        activation=None,
        use_bias: bool = True,
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters = check_positive_int(filters, "filters")
        self.kernel_size = check_int_tuple(kernel_size, "kernel_size", 2, minimum=1)
        self.strides = check_int_tuple(strides, "strides", 2, minimum=1)
        self.padding = padding
        self.connections = _connections_from(connections)
        if len(self.connections) != filters:
            raise ValueError(
                f"connections must list the inputs of each of the {filters} output maps, got "
                f"{len(self.connections)} entries"
            )
        if any(len(c) == 0 for c in self.connections):
            raise ValueError("connections: every output map needs at least one input map")
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer) if kernel_initializer else None
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def macs_per_example(self, in_shapes, out_shapes) -> int:
        """Multiply-adds of one example: only existing connections multiply (read by graph.layer_table).

        Args:
            in_shapes: per-example input shapes.
            out_shapes: per-example output shapes, ``[(H', W', filters)]``.
        """
        out_h, out_w = out_shapes[0][0], out_shapes[0][1]
        return int(out_h * out_w * self.kernel_size[0] * self.kernel_size[1] * self.n_connections)

    @property
    def n_connections(self) -> int:
        """Number of (input map, output map) pairs that are connected."""
        return sum(len(c) for c in self.connections)

    def connection_matrix(self, in_channels: int) -> np.ndarray:
        """The table as a ``(in_channels, filters)`` boolean array (rows inputs, columns outputs)."""
        matrix = np.zeros((in_channels, self.filters), dtype=bool)
        for j, inputs in enumerate(self.connections):
            matrix[list(inputs), j] = True
        return matrix

    def build(self, input_shape):
        in_channels = input_shape[-1]
        top = max(max(c) for c in self.connections)
        if top >= in_channels:
            raise ValueError(
                f"connections refer to input map {top}, but the input has {in_channels} channels"
            )
        kh, kw = self.kernel_size
        # Selection matrix: connection c (input i -> output j) lands at column i * filters + j of the flat
        # (in_channels * filters) axis of the dense kernel.
        selection = np.zeros((self.n_connections, in_channels * self.filters), dtype="float32")
        c = 0
        for j, inputs in enumerate(self.connections):
            for i in inputs:
                selection[c, i * self.filters + j] = 1.0
                c += 1
        self._selection = selection
        self._in_channels = in_channels
        initializer = self.kernel_initializer
        if initializer is None:
            fan_in = kh * kw * self.n_connections / self.filters
            limit = float(np.sqrt(3.0 / fan_in))
            initializer = keras.initializers.RandomUniform(-limit, limit)
        self.kernel = self.add_weight(
            name="kernel", shape=(kh, kw, self.n_connections), initializer=initializer, trainable=True
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def dense_kernel(self):
        """The equivalent ordinary kernel ``(kh, kw, in_channels, filters)``, zero where not connected."""
        kh, kw = self.kernel_size
        flat = ops.reshape(self.kernel, (kh * kw, self.n_connections))
        selection = ops.convert_to_tensor(self._selection, dtype=flat.dtype)
        return ops.reshape(ops.matmul(flat, selection), (kh, kw, self._in_channels, self.filters))

    def call(self, inputs):
        outputs = ops.conv(inputs, self.dense_kernel(), strides=self.strides, padding=self.padding)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        # the same output-size rule as Conv2D, written once in shapes
        sizes = [None if n is None else conv_output_size(n, k, st, self.padding)
                 for n, k, st in zip((height, width), self.kernel_size, self.strides)]
        return (batch, sizes[0], sizes[1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "connections": [list(c) for c in self.connections],
                "strides": self.strides,
                "padding": self.padding,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": (
                    keras.initializers.serialize(self.kernel_initializer) if self.kernel_initializer else None
                ),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


# LeCun et al. (1998), Appendix A: f(a) = A tanh(S a) with A = 1.7159 and S = 2/3, so that f(1) = 1 and
# f(-1) = -1 and the second derivative is largest at +-1.
SQUASH_AMPLITUDE, SQUASH_SLOPE = 1.7159, 2.0 / 3.0


@keras.saving.register_keras_serializable(package=_PACKAGE)
def scaled_tanh(x):
    """LeNet-5's squashing function ``1.7159 * tanh(2x / 3)`` (elementwise, any shape).

    Reference: LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    Proc. IEEE 1998, Section II.B and Appendix A.
    """
    return SQUASH_AMPLITUDE * ops.tanh(SQUASH_SLOPE * x)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Subsampling2D(keras.layers.Layer):
    """LeNet-5's sub-sampling layer: per map, ``act(coefficient * (sum of a p x p block) + bias)``.

    The blocks do not overlap (stride = ``pool_size``), as in S2 and S4. Each map has one trainable
    coefficient and one trainable bias, so the layer holds ``2 * channels`` parameters (S2: 12, S4: 32).
    With ``coefficient = 1 / p**2``, zero bias and no activation it is ``AveragePooling2D``.

    Args:
        pool_size: ``p``, the side of the block (2 in the paper).
        activation: applied after the bias (the paper: ``scaled_tanh``); None for none.
        coefficient_initializer: default uniform in ``+-2.4 / p**2`` (the paper's ``+-2.4 / F_i`` with
            fan-in ``F_i = p**2``, Appendix A).

    Input shape ``(batch, h, w, c)``; output ``(batch, h // p, w // p, c)``.

    Raises:
        TypeError / ValueError: pool_size not a positive int.

    Reference: LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    Proc. IEEE 1998, Section II.B (layers S2 and S4).
    """

    def __init__(self, pool_size: int = 2, *, activation=None, coefficient_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = check_positive_int(pool_size, "pool_size")
        self.activation = keras.activations.get(activation)
        self.coefficient_initializer = (keras.initializers.get(coefficient_initializer)
                                        if coefficient_initializer else None)

    def build(self, input_shape):
        channels = input_shape[-1]
        initializer = self.coefficient_initializer
        if initializer is None:
            limit = 2.4 / self.pool_size**2
            initializer = keras.initializers.RandomUniform(-limit, limit)
        self.coefficient = self.add_weight(name="coefficient", shape=(channels,), initializer=initializer)
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        p = self.pool_size
        block_sum = ops.average_pool(inputs, p, strides=p, padding="valid") * float(p * p)
        return self.activation(block_sum * self.coefficient + self.bias)

    def macs_per_example(self, in_shapes, out_shapes) -> int:
        """One multiplication by the coefficient per output value (the block sum is additions only)."""
        h, w, c = out_shapes[0]
        return int(h * w * c)

    def compute_output_shape(self, input_shape):
        batch, h, w, c = input_shape
        h, w = (None if n is None else conv_output_size(n, self.pool_size, self.pool_size) for n in (h, w))
        return (batch, h, w, c)

    def get_config(self):
        config = super().get_config()
        config.update({
            "pool_size": self.pool_size,
            "activation": keras.activations.serialize(self.activation),
            "coefficient_initializer": (keras.initializers.serialize(self.coefficient_initializer)
                                        if self.coefficient_initializer else None),
        })
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EuclideanRBF(keras.layers.Layer):
    """LeNet-5's output layer: ``y_i = sum_j (x_j - w_ji)**2``, the squared distance to a fixed code vector.

    The code vectors (``centers``, one column per class) are stored as a non-trainable weight: they count in
    ``count_params()`` but not in ``trainable_weights``, as in the paper, where they were "chosen by hand and
    kept fixed". A small ``y_i`` means class ``i``: follow the layer with ``Rescaling(-1)`` and ``Softmax``
    to get probabilities (cross-entropy on those is the paper's Eq. 9 without its constant ``j`` term).

    Args:
        centers: array ``(features, classes)``.

    Input shape ``(batch, features)``; output ``(batch, classes)`` penalties (>= 0).

    Raises:
        ValueError: centers not a 2-D array.

    Reference: LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    Proc. IEEE 1998, Section II.B (output layer, Eq. 7) and Section II.C (Eq. 9).
    """

    def __init__(self, centers, **kwargs):
        super().__init__(**kwargs)
        array = np.asarray(centers, dtype="float32")
        if array.ndim != 2:
            raise value_error("centers", "a 2-D array (features, classes)", f"shape {array.shape}")
        self._centers_value = array
        self.units = int(array.shape[1])

    def build(self, input_shape):
        if input_shape[-1] != self._centers_value.shape[0]:
            raise ValueError(f"EuclideanRBF expects {self._centers_value.shape[0]} input features, got "
                             f"{input_shape[-1]}")
        self.centers = self.add_weight(
            name="centers", shape=self._centers_value.shape,
            initializer=keras.initializers.Constant(self._centers_value), trainable=False,
        )

    def call(self, inputs):
        # |x - w|^2 = |x|^2 - 2 x.w + |w|^2, one matrix product instead of a (batch, features, classes) tensor
        x2 = ops.sum(ops.square(inputs), axis=-1, keepdims=True)
        w2 = ops.sum(ops.square(self.centers), axis=0, keepdims=True)
        return ops.maximum(x2 - 2.0 * ops.matmul(inputs, self.centers) + w2, 0.0)

    def macs_per_example(self, in_shapes, out_shapes) -> int:
        """One squared difference per (feature, class) pair."""
        return int(self._centers_value.size)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"centers": self._centers_value.tolist()})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ZeroPadShortcut(keras.layers.Layer):
    """Parameter-free shortcut ("option A"): subsample by ``strides`` and pad new channels with zeros.

    The input is sampled at every ``strides``-th pixel (``x[:, ::s, ::s, :]``, what a 1x1 convolution of
    stride ``s`` sees) and zero channels are added, half before and half after the existing ones, up to
    ``filters``. With ``strides=1`` and no new channels it is the identity.

    Args:
        filters: number of output channels (>= the input's).
        strides: spatial subsampling factor.

    Input shape ``(batch, h, w, c)``; output ``(batch, ceil(h / s), ceil(w / s), filters)``.

    Raises:
        TypeError / ValueError: filters or strides not a positive int; (when built) fewer filters than input
            channels.

    Reference: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, Section 3.3
    (option A) and Section 4.2.
    """

    def __init__(self, filters: int, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.strides = check_positive_int(strides, "strides")

    def build(self, input_shape):
        if input_shape[-1] > self.filters:
            raise ValueError(f"ZeroPadShortcut cannot shrink {input_shape[-1]} channels to {self.filters}")

    def call(self, inputs):
        s = self.strides
        x = inputs[:, ::s, ::s, :] if s > 1 else inputs
        extra = self.filters - inputs.shape[-1]
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])
        return x

    def compute_output_shape(self, input_shape):
        batch, h, w, _ = input_shape
        # a strided subsample keeps ceil(n / s) positions: a 1-wide window at stride s with "same" padding
        h, w = (None if n is None else conv_output_size(n, 1, self.strides, "same") for n in (h, w))
        return (batch, h, w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "strides": self.strides})
        return config
