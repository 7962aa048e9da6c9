"""NFNets: residual networks without batch normalisation, and the three tools that replace it.

Brock, De, Smith and Simonyan (2021) keep what BN gives a ResNet (activations of controlled scale at every
depth, and large learning rates) without its batch dependence:

- **Scaled weight standardisation** (``WSConv2D``): each output channel's kernel is standardised to mean 0
  and variance ``1 / fan_in`` before use, times a learned gain, so a convolution preserves the variance of
  its input at any point of training.
- **Scaled activations** (``ScaledActivation``): ``gamma * g(x)`` with gamma chosen so that ``g(z)`` has unit
  variance for ``z ~ N(0, 1)`` (1.7139 for ReLU, 1.7015 for GELU).
- **Explicit signal propagation** in each residual block: the branch input is divided by ``beta``, the
  expected standard deviation of the stream so far, and the branch output is multiplied by ``alpha = 0.2``
  and a learned scalar that starts at zero (``ResidualGain``), so the variance grows by a known
  ``alpha**2`` per block and every block starts as the identity.
- **Adaptive gradient clipping** (``adaptive_gradient_clip``, ``with_adaptive_gradient_clipping``): each
  unit's gradient is rescaled when its norm exceeds ``clipping`` times the norm of the unit's weights; this
  is what makes large batches and learning rates stable without BN.

``nfnet("F0")`` is NFNet-F0: 71.5M parameters (the paper's Table 3 and the reference code).
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from ..validation import check_choice, check_float, check_probability, check_str, type_error
from .blocks import classifier_head, model_input
from .common import check_common, scaled
from .modern_blocks import se_block
from .registry import register_model

__all__ = ["NFNET_VARIANTS", "NF_GAMMA", "ResidualGain", "ScaledActivation", "WSConv2D",
           "adaptive_gradient_clip", "nf_block", "nfnet", "unitwise_norm", "with_adaptive_gradient_clipping"]

_PACKAGE = "course_lib"

# gamma = 1 / std(g(z)), z ~ N(0, 1): for ReLU sqrt(2 / (1 - 1/pi)); for GELU the reference code's value.
NF_GAMMA = {"relu": math.sqrt(2.0 / (1.0 - 1.0 / math.pi)), "gelu": 1.7015043497085571}
NFNET_WIDTHS = (256, 512, 1536, 1536)  # output channels of the four stages (every F variant)
# variant -> (blocks per stage, dropout, train resolution, test resolution); the paper's Table 7.
NFNET_VARIANTS = {
    "F0": ((1, 2, 6, 3), 0.2, 192, 256),
    "F1": ((2, 4, 12, 6), 0.3, 224, 320),
    "F2": ((3, 6, 18, 9), 0.4, 256, 352),
    "F3": ((4, 8, 24, 12), 0.4, 320, 416),
    "F4": ((5, 10, 30, 15), 0.5, 384, 512),
    "F5": ((6, 12, 36, 18), 0.5, 416, 544),
    "F6": ((7, 14, 42, 21), 0.5, 448, 576),
}
NF_STEM = ((16, 2), (32, 1), (64, 1), (128, 2))  # (filters, stride) of the four 3x3 stem convolutions
NF_ALPHA, NF_GROUP_WIDTH, NF_EXPANSION, NF_SE_RATIO, NF_FINAL_MULT = 0.2, 128, 0.5, 0.5, 2


@keras.saving.register_keras_serializable(package=_PACKAGE)
class WSConv2D(layers.Conv2D):
    """A Conv2D whose kernel is standardised per output channel (scaled weight standardisation), with a gain.

    The kernel used is ``gain * (W - mean(W)) / sqrt(max(var(W) * fan_in, eps))``, the mean and variance
    taken over each output channel's ``fan_in = kh * kw * c_in / groups`` weights. Its rows then have
    mean 0 and squared norm 1, so for inputs of unit variance each output has unit variance (times gain**2).
    All Conv2D arguments work (``groups`` too); the layer adds one weight, ``gain`` (ones, one per filter).

    Args:
        *args, **kwargs: as for ``keras.layers.Conv2D``.
        eps: floor on ``var * fan_in`` (the reference code's 1e-4).

    Reference: Brock, De, Smith and Simonyan, "High-Performance Large-Scale Image Recognition Without
    Normalization", ICML 2021, Eq. 2 (after Qiao et al. 2019).
    """

    def __init__(self, *args, eps: float = 1e-4, **kwargs):
        super().__init__(*args, **kwargs)
        self.eps = check_float(eps, "eps", minimum=0.0, include_minimum=False)

    def build(self, input_shape):
        super().build(input_shape)
        self.gain = self.add_weight(name="gain", shape=(self.filters,), initializer="ones", trainable=True)

    def standardized_kernel(self):
        """The kernel the convolution uses, ``(kh, kw, c_in / groups, filters)``."""
        kernel = self.kernel
        fan_in = math.prod(kernel.shape[:-1])
        mean = ops.mean(kernel, axis=(0, 1, 2), keepdims=True)
        var = ops.var(kernel, axis=(0, 1, 2), keepdims=True)
        scale = ops.rsqrt(ops.maximum(var * fan_in, self.eps)) * self.gain
        return (kernel - mean) * scale

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, self.standardized_kernel())

    # Conv2D saves and loads only its kernel and bias: the gain follows them in the store.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built:
            store[str(1 + int(self.use_bias))] = self.gain

    def load_own_variables(self, store):
        super().load_own_variables(store)
        if self.built:
            self.gain.assign(store[str(1 + int(self.use_bias))])

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ScaledActivation(layers.Layer):
    """``gamma * g(x)``: an activation rescaled so that it keeps unit variance for unit-Gaussian inputs.

    Args:
        activation: ``"relu"`` or ``"gelu"`` (keys of ``NF_GAMMA``).
        **kwargs: Layer arguments (``name``).

    Reference: Brock, De and Smith, "Characterizing Signal Propagation to Close the Performance Gap in
    Unnormalized ResNets", ICLR 2021, Section 4.
    """

    def __init__(self, activation: str = "gelu", **kwargs):
        super().__init__(**kwargs)
        self.activation = check_choice(check_str(activation, "activation"), "activation", NF_GAMMA)
        self.gamma = NF_GAMMA[self.activation]
        self._fn = keras.activations.get(self.activation)

    def call(self, x):
        return self.gamma * self._fn(x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResidualGain(layers.Layer):
    """``shortcut + alpha * g * branch`` with a learned scalar ``g`` that starts at 0 (SkipInit).

    Args:
        alpha: the fixed rate at which the variance grows per block (0.2 in NFNets).
        **kwargs: Layer arguments.

    Call: ``layer([shortcut, branch])`` on two tensors of one shape.

    Reference: Brock et al., ICML 2021, Section 3 and Appendix; De and Smith 2020 (SkipInit).
    """

    def __init__(self, alpha: float = NF_ALPHA, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_float(alpha, "alpha", minimum=0.0)

    def build(self, input_shape):
        self.skip_gain = self.add_weight(name="skip_gain", shape=(), initializer="zeros", trainable=True)

    def call(self, inputs):
        shortcut, branch = inputs
        return shortcut + (self.alpha * self.skip_gain) * branch

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def _ws(x, filters, kernel, name, *, strides=1, groups=1):
    return WSConv2D(filters, kernel, strides=strides, padding="same", groups=groups,
                    kernel_initializer=keras.initializers.VarianceScaling(1.0, "fan_in", "normal"),
                    name=name)(x)


def nf_block(x, out_channels: int, *, stride: int = 1, beta: float = 1.0, alpha: float = NF_ALPHA,
             activation: str = "gelu", group_width: int = NF_GROUP_WIDTH, name: str):
    """NFNet's bottleneck: act/beta -> 1x1 -> grouped 3x3 (stride) -> grouped 3x3 -> 1x1 -> SE -> x alpha g.

    Every convolution is a ``WSConv2D`` and every activation a ``ScaledActivation``; the width is half the
    output (rounded down to whole groups of ``group_width``). Where the shape changes the shortcut is a 1x1
    WS convolution of the scaled input (after a 2x2 average pool at stride 2).

    Args:
        x: tensor ``(batch, h, w, c)`` with standard deviation about ``beta``.
        out_channels: output channels.
        stride: 2 in the first block of stages 2-4.
        beta: the expected standard deviation of ``x`` (the builder tracks it).
        alpha: the residual branch's scale.
        activation: ``"gelu"`` (NFNets) or ``"relu"``.
        group_width: channels per group of the 3x3 convolutions.
        name: prefix: ``{name}_act0``, ``{name}_conv0`` ... ``{name}_conv2``, ``{name}_se_*``,
            ``{name}_shortcut_conv``, ``{name}_add``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), out_channels)``.

    Reference: Brock et al., ICML 2021, Figure 6 and Appendix C.
    """
    in_channels = x.shape[-1]
    width = int(out_channels * NF_EXPANSION)
    groups = max(1, width // group_width)  # whole groups only, as in the reference code
    width = groups * min(group_width, width)
    out = ScaledActivation(activation, name=f"{name}_act0")(x)
    out = layers.Rescaling(1.0 / beta, name=f"{name}_beta")(out)
    shortcut = x
    if stride > 1:
        shortcut = layers.AveragePooling2D(2, strides=2, padding="same", name=f"{name}_shortcut_pool")(out)
        shortcut = _ws(shortcut, out_channels, 1, f"{name}_shortcut_conv")
    elif in_channels != out_channels:
        shortcut = _ws(out, out_channels, 1, f"{name}_shortcut_conv")
    out = _ws(out, width, 1, f"{name}_conv0")
    out = ScaledActivation(activation, name=f"{name}_act1")(out)
    out = _ws(out, width, 3, f"{name}_conv1", strides=stride, groups=groups)
    out = ScaledActivation(activation, name=f"{name}_act1b")(out)
    out = _ws(out, width, 3, f"{name}_conv1b", groups=groups)
    out = ScaledActivation(activation, name=f"{name}_act2")(out)
    out = _ws(out, out_channels, 1, f"{name}_conv2")
    out = se_block(out, max(1, int(out_channels * NF_SE_RATIO)), gate_gain=2.0, name=f"{name}_se")
    return ResidualGain(alpha, name=f"{name}_add")([shortcut, out])


@register_model
def nfnet(variant: str = "F0", *, activation: str = "gelu", input_shape=None, num_classes: int = 1000,
          width_multiplier: float = 1.0, dropout: float | None = None,
          classifier_activation="softmax") -> keras.Model:
    """NFNet-F0 .. F6: a normaliser-free SE-ResNeXt-D-like network of ``nf_block`` stages.

    256 -> stem (3x3/2 16, 3x3 32, 3x3 64, 3x3/2 128) -> 64 -> stages of 256, 512, 1536, 1536 channels
    (strides 1, 2, 2, 2) -> 8 -> 1x1 WS conv to 3072 -> act -> global average pool -> dropout -> predictions
    (zero-initialised, as in the reference code). No layer normalises over the batch.

    Args:
        variant: a key of ``NFNET_VARIANTS``.
        activation: ``"gelu"`` (the paper) or ``"relu"``.
        input_shape: ``(h, w, c)``; default the variant's test resolution (256 for F0). Any size works.
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales every width (group width included).
        dropout: before the classifier; default the variant's.
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``nfnet_{variant}`` (lower case).

    Raises:
        TypeError / ValueError: an unknown variant or activation, a bad dropout, or bad shared arguments.

    Reference: Brock, De, Smith and Simonyan, "High-Performance Large-Scale Image Recognition Without
    Normalization", ICML 2021, Table 7 and Appendix C.
    """
    variant = check_choice(check_str(variant, "variant").upper(), "variant", NFNET_VARIANTS)
    check_choice(activation, "activation", NF_GAMMA)
    depths, default_dropout, _, test_size = NFNET_VARIANTS[variant]
    dropout = default_dropout if dropout is None else check_probability(dropout, "dropout")
    input_shape = (test_size, test_size, 3) if input_shape is None else input_shape
    input_shape, num_classes, wm = check_common(input_shape, num_classes, width_multiplier,
                                                model_name=f"NFNet-{variant}",
                                                classifier_activation=classifier_activation)
    inputs = model_input(input_shape)
    x = inputs
    for i, (filters, stride) in enumerate(NF_STEM):
        if i:
            x = ScaledActivation(activation, name=f"stem_act{i}")(x)
        x = _ws(x, scaled(filters, wm), 3, f"stem_conv{i}", strides=stride)  # 64x64x128 at 256
    expected_std = 1.0
    for s, (count, width) in enumerate(zip(depths, NFNET_WIDTHS)):
        for b in range(count):
            x = nf_block(x, scaled(width, wm), stride=1 if s == 0 or b else 2, beta=expected_std,
                         activation=activation, group_width=scaled(NF_GROUP_WIDTH, wm),
                         name=f"stage{s + 1}_block{b + 1}")
            # Var(x) grows by alpha^2 per block; a transition block's shortcut starts from the scaled input
            # (variance 1), so the count restarts there.
            expected_std = math.sqrt((1.0 if b == 0 else expected_std**2) + NF_ALPHA**2)
    x = _ws(x, NF_FINAL_MULT * x.shape[-1], 1, "final_conv")  # 8x8x3072
    x = ScaledActivation(activation, name="final_act")(x)
    outputs = classifier_head(x, num_classes, pool="avg", dropout=dropout, kernel_initializer="zeros",
                              classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=f"nfnet_{variant.lower()}")


register_model(nfnet, name="nfnet_f0", variant="F0")


# ----------------------------------------------------------------------------------------------------------
# Adaptive gradient clipping
# ----------------------------------------------------------------------------------------------------------
def unitwise_norm(x):
    """The L2 norm of each unit's weights: per output channel for a kernel, the whole norm for a vector.

    Args:
        x: a weight or gradient: ``(kh, kw, c_in, c_out)`` (norm over the first three axes), ``(n_in, n_out)``
            (over the first axis), or a scalar or vector (its norm).

    Returns:
        A tensor that broadcasts against ``x`` (``(1, 1, 1, c_out)``, ``(1, n_out)``, or a scalar).
    """
    x = ops.convert_to_tensor(x)
    if len(x.shape) <= 1:
        return ops.sqrt(ops.sum(ops.square(x)))
    axes = tuple(range(len(x.shape) - 1))
    return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))


def adaptive_gradient_clip(gradient, weight, *, clipping: float = 0.01, eps: float = 1e-3):
    """Clip a gradient per unit: where ``||G_i|| > clipping * max(||W_i||, eps)``, rescale it to that norm.

    Args:
        gradient: the gradient of ``weight``, same shape.
        weight: the parameter (its current value).
        clipping: lambda, the largest allowed ratio of gradient norm to weight norm (0.01 at batch 4096 in
            the paper; larger for smaller batches).
        eps: floor on the weight norm, so that zero-initialised weights can still move.

    Returns:
        The clipped gradient, same shape.

    Reference: Brock et al., ICML 2021, Section 4.1, Eq. 3.
    """
    max_norm = ops.maximum(unitwise_norm(weight), eps) * clipping
    grad_norm = unitwise_norm(gradient)
    clipped = gradient * (max_norm / ops.maximum(grad_norm, 1e-6))
    return ops.where(grad_norm > max_norm, clipped, gradient)


class _AGCMixin:
    """Clips the gradients before the wrapped optimizer's update (see ``with_adaptive_gradient_clipping``)."""

    agc_clipping, agc_eps, agc_exclude = 0.01, 1e-3, ()

    def apply_gradients(self, grads_and_vars):
        pairs = []
        for grad, var in grads_and_vars:
            if grad is not None and not any(var.path.startswith(prefix) for prefix in self.agc_exclude):
                grad = adaptive_gradient_clip(grad, var, clipping=self.agc_clipping, eps=self.agc_eps)
            pairs.append((grad, var))
        return super().apply_gradients(pairs)


def with_adaptive_gradient_clipping(optimizer, *, clipping: float = 0.01, eps: float = 1e-3,
                                    exclude: tuple[str, ...] = ("predictions/",)):
    """A copy of ``optimizer`` (same class and settings) that applies adaptive gradient clipping first.

    ``model.fit`` and ``optimizer.apply_gradients`` go through the clipping; each gradient is replaced by
    ``adaptive_gradient_clip(gradient, weight)`` unless the weight's path starts with a prefix in
    ``exclude`` (the paper leaves the final linear layer unclipped).

    Args:
        optimizer: a ``keras.optimizers.Optimizer`` (not yet used: its settings are copied).
        clipping: lambda (see ``adaptive_gradient_clip``).
        eps: floor on the weight norm.
        exclude: weight path prefixes left unclipped (``"predictions/"`` matches ``predictions/kernel``).

    Returns:
        A new optimizer of a subclass of ``type(optimizer)``, named ``AGC{class name}``.

    Raises:
        TypeError: optimizer is not a Keras optimizer; ValueError: clipping or eps not > 0.

    Reference: Brock et al., ICML 2021, Section 4.1.
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise type_error("optimizer", "a keras.optimizers.Optimizer", optimizer)
    base = type(optimizer)
    cls = type(f"AGC{base.__name__}", (_AGCMixin, base), {})
    wrapped = cls.from_config(optimizer.get_config())
    wrapped.agc_clipping = check_float(clipping, "clipping", minimum=0.0, include_minimum=False)
    wrapped.agc_eps = check_float(eps, "eps", minimum=0.0, include_minimum=False)
    wrapped.agc_exclude = tuple(exclude)
    return wrapped
