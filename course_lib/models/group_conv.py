"""Layers for rotation equivariance and learned invariance: p4 convolutions, orientation pooling, maxout.

The group p4 holds the translations of the pixel grid and the rotations by multiples of 90 degrees. A
feature map on p4 has one spatial map per rotation, stored as a 5-D tensor ``(batch, height, width, 4,
channels)`` with the rotation on axis -2 (index ``r`` means a rotation by ``r * 90`` degrees,
counter-clockwise as ``np.rot90`` draws it).

- ``P4ConvLift2D``: the first layer. It correlates an ordinary image with each filter and with its three
  rotated copies; output ``(batch, h, w, 4, filters)``.
- ``P4Conv2D``: a layer between p4 feature maps. For output rotation ``r`` each filter is rotated by
  ``r * 90`` degrees *and* its own rotation axis is shifted cyclically by ``r``.
- ``OrientationPooling``: the max (or mean) over the rotation axis, which turns equivariance into invariance
  to the rotation (followed by global spatial pooling: invariance of the whole network).
- ``Maxout``: the max over groups of consecutive channels (cross-channel pooling), with which a network can
  *learn* an invariance from data instead of having it built in.

What the layers guarantee: rotating the input of ``P4ConvLift2D`` or ``P4Conv2D`` by 90 degrees (and, for
``P4Conv2D``, rolling its rotation axis by one) rotates every output map by 90 degrees and rolls the output's
rotation axis by one: ``f(g x) = g f(x)``. This holds exactly (to round-off) for square inputs, odd square
kernels and stride 1 with "same" or "valid" padding: both paddings are symmetric, so the padded border turns
with the image. Spatial pooling keeps it when the pooled size divides the map evenly.

Reference: Cohen and Welling, "Group Equivariant Convolutional Networks", ICML 2016 (Sections 4-6);
Goodfellow, Warde-Farley, Mirza, Courville and Bengio, "Maxout Networks", ICML 2013.
"""

from __future__ import annotations

import keras
from keras import ops

from ..shapes import conv_output_size
from ..validation import check_bool, check_choice, check_int_tuple, check_positive_int, value_error

_PACKAGE = "course_lib"
ROTATIONS = 4  # the rotations of p4: 0, 90, 180 and 270 degrees


def _square_odd_kernel(kernel_size) -> int:
    """Validate ``kernel_size`` (int or pair) as an odd square kernel and return its side."""
    kh, kw = check_int_tuple(kernel_size, "kernel_size", 2, minimum=1)
    if kh != kw:
        # a rotated (3, 5) kernel is (5, 3): the four copies could not share one convolution
        raise value_error("kernel_size", "square (rotating a non-square kernel changes its shape)",
                          kernel_size)
    if kh % 2 == 0:
        # an even kernel has no centre pixel: its rotated copies sit half a pixel off the grid
        raise value_error("kernel_size", "odd (an even kernel has no centre to rotate about)", kernel_size)
    return kh


def _as_tensor(variable):
    """A layer's variable as a backend tensor. ``ops.rot90`` and ``ops.roll`` do not accept a Keras variable
    on every backend (JAX refuses to turn one into an array inside its traced functions), and reading the
    value first costs nothing on the others."""
    return ops.convert_to_tensor(variable)


def _split_rotations(outputs, filters: int):
    """Reshape ``(batch, h, w, 4 * filters)`` to ``(batch, h, w, 4, filters)`` (rotation-major channels)."""
    shape = ops.shape(outputs)
    return ops.reshape(outputs, (shape[0], shape[1], shape[2], ROTATIONS, filters))


class _P4ConvBase(keras.layers.Layer):
    """What the lifting and the group layer share: arguments, bias, activation, output shape, config."""

    def __init__(self, filters: int, kernel_size, *, padding: str = "same", activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = _square_odd_kernel(kernel_size)
        self.padding = check_choice(padding, "padding", ("same", "valid"))
        self.use_bias = check_bool(use_bias, "use_bias")
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _add_weights(self, kernel_shape):
        self.kernel = self.add_weight(name="kernel", shape=kernel_shape, initializer=self.kernel_initializer)
        # one bias per filter, shared by its four rotated copies: a bias per rotation would break equivariance
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
                     if self.use_bias else None)

    def _finish(self, outputs):
        outputs = _split_rotations(outputs, self.filters)
        if self.use_bias:
            outputs = outputs + _as_tensor(self.bias)
        return self.activation(outputs)

    def _out_size(self, n):
        return None if n is None else conv_output_size(n, self.kernel_size, 1, self.padding)

    def _in_per_output(self) -> int:
        """Input values each output value multiplies (kernel taps times input channels)."""
        return int(self.kernel_size**2 * (self.kernel.shape[-2] * (1 if self._lifting else ROTATIONS)))

    def macs_per_example(self, in_shapes, out_shapes) -> int:
        """Multiply-adds of one example: every output value, all four rotations, costs one kernel's taps.

        Args:
            in_shapes: per-example input shapes.
            out_shapes: per-example output shapes, ``[(h', w', 4, filters)]``.
        """
        h, w, rotations, filters = out_shapes[0]
        return int(h * w * rotations * filters * self._in_per_output())

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "padding": self.padding,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class P4ConvLift2D(_P4ConvBase):
    """Lifting p4 convolution: an image to one feature map per filter and per rotation of the filter.

    ``out[n, :, :, r, f] = correlate(x[n], rot90(kernel[..., f], r))`` summed over input channels, plus
    ``bias[f]``. The layer stores one kernel per filter, ``(k, k, in_channels, filters)``, so it has as many
    parameters as a ``Conv2D`` with the same ``filters`` (``k * k * in_channels * filters + filters``) and
    produces four times as many maps (and multiply-adds).

    Args:
        filters: number of filters (each gives 4 maps, one per rotation).
        kernel_size: an odd int, or a pair of equal odd ints.
        padding: ``"same"`` or ``"valid"`` (stride is always 1).
        activation: applied after the bias (a name or callable; None for none).
        use_bias: add one bias per filter (shared by its four rotations).
        kernel_initializer, bias_initializer: as in ``keras.layers.Conv2D``.

    Input shape ``(batch, h, w, in_channels)``; output ``(batch, h', w', 4, filters)``.

    Raises:
        TypeError / ValueError: filters not a positive int; kernel_size not an odd square size; padding not
            "same" or "valid"; use_bias not a bool; (when built) an input that is not 4-D.

    Reference: Cohen and Welling, "Group Equivariant Convolutional Networks", ICML 2016, Section 6
    (Eq. 10, the first layer).
    """

    _lifting = True

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"P4ConvLift2D expects (batch, h, w, channels) inputs, got shape {input_shape}")
        k = self.kernel_size
        self._add_weights((k, k, int(input_shape[-1]), self.filters))

    def call(self, inputs):
        k, channels = self.kernel_size, self.kernel.shape[2]
        stored = _as_tensor(self.kernel)
        # the four rotated copies side by side on the output axis: one convolution computes all of them
        rotated = ops.stack([ops.rot90(stored, k=r, axes=(0, 1)) for r in range(ROTATIONS)], axis=3)
        kernel = ops.reshape(rotated, (k, k, channels, ROTATIONS * self.filters))
        return self._finish(ops.conv(inputs, kernel, strides=1, padding=self.padding))

    def compute_output_shape(self, input_shape):
        batch, h, w, _ = input_shape
        return (batch, self._out_size(h), self._out_size(w), ROTATIONS, self.filters)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class P4Conv2D(_P4ConvBase):
    """Group p4 convolution: p4 feature maps to p4 feature maps.

    The stored filter has its own rotation axis, ``kernel`` of shape ``(k, k, 4, in_channels, filters)``.
    Output rotation ``r`` uses the filter rotated spatially by ``r * 90`` degrees with its rotation axis
    shifted cyclically by ``r``:
    ``out[..., r, f] = sum_{s, c} correlate(x[..., s, c], rot90(kernel[:, :, (s - r) % 4, c, f], r))``,
    plus ``bias[f]``. Parameters: ``k * k * 4 * in_channels * filters + filters`` (a ``Conv2D`` from
    ``4 * in_channels`` channels to ``filters`` maps has the same count; this layer computes four times its
    output).

    Args:
        filters, kernel_size, padding, activation, use_bias, kernel_initializer, bias_initializer: as in
            :class:`P4ConvLift2D`.

    Input shape ``(batch, h, w, 4, in_channels)``; output ``(batch, h', w', 4, filters)``.

    Raises:
        TypeError / ValueError: filters not a positive int; kernel_size not an odd square size; padding not
            "same" or "valid"; use_bias not a bool; (when built) an input that is not 5-D with 4 rotations.

    Reference: Cohen and Welling, "Group Equivariant Convolutional Networks", ICML 2016, Section 6
    (Eq. 11, the full p4 correlation) and Section 7.
    """

    _lifting = False

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-2] != ROTATIONS:
            raise ValueError(f"P4Conv2D expects (batch, h, w, 4, channels) inputs, got shape {input_shape}")
        k = self.kernel_size
        self._add_weights((k, k, ROTATIONS, int(input_shape[-1]), self.filters))

    def call(self, inputs):
        k, channels = self.kernel_size, self.kernel.shape[3]
        stored = _as_tensor(self.kernel)
        # roll(kernel, r, axis=2)[:, :, s] is kernel[:, :, (s - r) % 4]: the filter's own orientation turns
        # with it, which is what makes rotating the input a roll of the output's rotation axis
        copies = [ops.rot90(ops.roll(stored, r, axis=2), k=r, axes=(0, 1)) for r in range(ROTATIONS)]
        kernel = ops.reshape(ops.stack(copies, axis=4),
                             (k, k, ROTATIONS * channels, ROTATIONS * self.filters))
        shape = ops.shape(inputs)
        flat = ops.reshape(inputs, (shape[0], shape[1], shape[2], ROTATIONS * channels))
        return self._finish(ops.conv(flat, kernel, strides=1, padding=self.padding))

    def compute_output_shape(self, input_shape):
        batch, h, w, _, _ = input_shape
        return (batch, self._out_size(h), self._out_size(w), ROTATIONS, self.filters)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class OrientationPooling(keras.layers.Layer):
    """Pool p4 feature maps over their rotation axis: ``(batch, h, w, 4, c)`` to ``(batch, h, w, c)``.

    Rotating the input of a p4 network rotates each map and permutes the rotation axis cyclically; a max or
    a mean over that axis does not see the permutation, so the result is rotation *equivariant* as an
    ordinary map (it turns with the input) and, after global spatial pooling, *invariant*.

    Args:
        mode: ``"max"`` or ``"mean"``.

    Raises:
        ValueError: mode not "max" or "mean"; (when built) an input that is not 5-D with 4 rotations.

    Reference: Cohen and Welling, "Group Equivariant Convolutional Networks", ICML 2016, Section 6.3.
    """

    def __init__(self, mode: str = "max", **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice(mode, "mode", ("max", "mean"))

    def build(self, input_shape):
        if len(input_shape) != 5 or input_shape[-2] != ROTATIONS:
            raise ValueError(f"OrientationPooling expects (batch, h, w, 4, channels) inputs, got shape "
                             f"{input_shape}")

    def call(self, inputs):
        reduce = ops.max if self.mode == "max" else ops.mean
        return reduce(inputs, axis=-2)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-2], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Maxout(keras.layers.Layer):
    """Maxout, or cross-channel max pooling: the max over groups of ``pieces`` consecutive channels.

    ``out[..., i] = max_{j < pieces} in[..., i * pieces + j]``. After a ``Dense`` layer this is a maxout
    unit; after a ``Conv2D`` it pools across feature maps at each pixel. If the ``pieces`` filters of one
    group learn to detect the same pattern under different transformations (rotations, say), their max
    responds to the pattern under any of them: an invariance learned from the data rather than built in.

    Args:
        pieces: channels per group (``k`` in the paper).

    Input shape ``(..., units * pieces)``; output ``(..., units)``.

    Raises:
        TypeError / ValueError: pieces not a positive int; (when built) a channel count that ``pieces``
            does not divide.

    Reference: Goodfellow, Warde-Farley, Mirza, Courville and Bengio, "Maxout Networks", ICML 2013,
    Section 2 (Eq. 1) and Section 3 (cross-channel pooling).
    """

    def __init__(self, pieces: int, **kwargs):
        super().__init__(**kwargs)
        self.pieces = check_positive_int(pieces, "pieces")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % self.pieces:
            raise ValueError(f"Maxout({self.pieces}) needs a channel count divisible by {self.pieces}, got "
                             f"{channels}")

    def call(self, inputs):
        units = inputs.shape[-1] // self.pieces
        shape = ops.shape(inputs)
        grouped = ops.reshape(inputs, (*shape[:-1], units, self.pieces))
        return ops.max(grouped, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // self.pieces)

    def get_config(self):
        config = super().get_config()
        config.update({"pieces": self.pieces})
        return config
