"""Activation maximisation: synthesise the input a channel responds to most, by gradient ascent on pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from .. import validation
from ._inputs import check_model, input_hwc
from .gradients import gradient_function
from .layers import check_channels, output_of, output_of_input, output_shape, spatial_layer, submodel

__all__ = ["activation_maximization"]


def _linear_twin(layer: Any) -> Any | None:
    """A copy of ``layer`` with a linear activation and the same weight values; None when not needed."""
    activation = getattr(layer, "activation", None)
    if activation is None or activation is keras.activations.linear:
        return None
    try:
        config = dict(layer.get_config())
        config["activation"] = "linear"
        config["name"] = layer.name + "_preactivation"
        twin = layer.__class__.from_config(config)
        twin.build(tuple(layer.input.shape))
        twin.set_weights(layer.get_weights())
    except Exception:  # a custom layer that cannot be rebuilt: fall back to its activated output
        return None
    return twin


def _blur(x: Any) -> Any:
    """3x3 binomial blur per channel of ``(n, H, W, C)`` images, with reflected borders so that edges do not
    darken."""
    k1 = ops.convert_to_tensor([1.0, 2.0, 1.0]) / 4.0
    k2 = ops.outer(k1, k1)
    c = x.shape[-1]
    kernel = ops.tile(k2[:, :, None, None], [1, 1, c, 1])  # (3, 3, C, 1): one filter per channel
    padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
    return ops.depthwise_conv(padded, kernel, strides=1, padding="valid")


def _shift_argument(shift: np.ndarray) -> Any:
    """The jitter of one step as ``ops.roll`` takes it on this backend: a tensor where the step is traced once
    for all shifts (TensorFlow, JAX), Python ints for PyTorch's eager ``torch.roll``."""
    if keras.backend.backend() == "torch":
        return tuple(int(s) for s in shift)
    return ops.convert_to_tensor(shift, dtype="int32")


def _check_value_range(value_range: Any) -> tuple[float, float]:
    if not isinstance(value_range, (tuple, list)):
        raise validation.type_error("value_range", "a (low, high) pair", value_range)
    if len(value_range) != 2:
        raise validation.value_error("value_range", "a (low, high) pair", tuple(value_range))
    low = validation.check_float(value_range[0], "value_range[0]")
    high = validation.check_float(value_range[1], "value_range[1]")
    if not low < high:
        raise validation.value_error("value_range", "(low, high) with low < high", tuple(value_range))
    return low, high


def _image_shape(model: keras.Model, image_shape: Any) -> tuple[int, int, int]:
    if image_shape is None:
        shape = input_hwc(model)
        if len(shape) != 3 or any(d is None for d in shape):
            raise ValueError(f"the model input size {shape} is not fully known: pass image_shape=(H, W, C)")
        return tuple(int(d) for d in shape)
    if not isinstance(image_shape, (tuple, list)):
        raise validation.type_error("image_shape", "a (H, W, C) tuple", image_shape)
    return validation.check_int_tuple(image_shape, "image_shape", 3, minimum=1)


def activation_maximization(
    model: keras.Model,
    layer_name: str,
    channel: int | Sequence[int],
    *,
    steps: int = 128,
    lr: float = 0.02,
    seed: int = 0,
    image_shape: Sequence[int] | None = None,
    init: Any = None,
    jitter: int = 2,
    decay: float = 0.01,
    blur_every: int = 4,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Synthesise an input that excites one channel strongly, by gradient ascent on the pixels.

    Objective: the channel's mean over the feature map, taken before the layer's own activation function
    when it has one (a ReLU unit that starts switched off would otherwise give no gradient; ReLU is
    monotonic, so raising the pre-activation raises the activation once it is positive). Each step moves the
    pixels along the gradient normalised to a mean absolute value of 1, so ``lr`` is the average change per
    pixel. Three simple regularisers keep the picture image-like: a random shift of up to ``jitter`` pixels
    before each gradient (the pattern must work at neighbouring positions), a decay of the image towards
    mid-grey by ``decay`` per step (an L2 penalty), and a 3x3 blur every ``blur_every`` steps (suppresses the
    high-frequency patterns that fool the network). Pixels are clipped to ``value_range``.

    Args:
        model: a functional or built Sequential ``keras.Model``.
        layer_name: a layer with a (batch, H', W', C') output.
        channel: a channel index, or a sequence of them (one image per channel, optimised together).
        steps: gradient steps.
        lr: step size, in pixel-value units (> 0).
        seed: seeds the starting noise and the jitter (int >= 0).
        image_shape: (H, W, C) of the image; default the model's input shape (needed when it has None sizes).
        init: optional starting image (H, W, C), or (n, H, W, C) with one image per channel; default
            mid-grey plus Gaussian noise of standard deviation 0.05 * (high - low).
        jitter: largest random shift in pixels (0 turns it off).
        decay: fraction of the distance to mid-grey removed after each step, in [0, 1) (0 turns it off).
        blur_every: blur period in steps (0 turns it off).
        value_range: (low, high) of valid pixel values.

    Returns:
        (H, W, C) float32 image for one channel, (n, H, W, C) for a sequence of n channels.

    Raises:
        TypeError: model is not a Keras model, or a setting of the wrong type (a float for steps, ...).
        ValueError: unknown / non-spatial layer, channel out of range, a setting out of range, or shapes that
            do not agree.

    Reference: Erhan, Bengio, Courville and Vincent, "Visualizing Higher-Layer Features of a Deep Network",
        2009; Yosinski, Clune, Nguyen, Fuchs and Lipson, "Understanding Neural Networks Through Deep
        Visualization", ICML workshop 2015 (decay, blur, jitter).
    """
    check_model(model)
    layer = spatial_layer(model, layer_name)
    single, channels = check_channels(layer, channel)
    steps = validation.check_positive_int(steps, "steps")
    lr = validation.check_float(lr, "lr", minimum=0.0, include_minimum=False)
    seed = validation.check_int(seed, "seed", minimum=0)
    jitter = validation.check_int(jitter, "jitter", minimum=0)
    blur_every = validation.check_int(blur_every, "blur_every", minimum=0)
    decay = validation.check_probability(decay, "decay")
    low, high = _check_value_range(value_range)
    shape = _image_shape(model, image_shape)

    rng = np.random.default_rng(seed)
    mid = (low + high) / 2
    n = len(channels)
    if init is None:
        start = mid + 0.05 * (high - low) * rng.standard_normal((n, *shape))
    else:
        start = validation.check_array(init, "init").astype(np.float32)
        if start.shape == shape:
            start = np.broadcast_to(start, (n, *shape))
        if start.shape != (n, *shape):
            raise ValueError(f"init must have shape {shape} or {(n, *shape)}, got {np.shape(init)}")
    x = ops.convert_to_tensor(np.clip(start, low, high).astype(np.float32))  # (n, H, W, C)

    twin = _linear_twin(layer)
    if twin is not None:
        sub = submodel(model, [output_of_input(layer)])

        def response(images: Any) -> Any:
            return twin(sub(images, training=False))
    else:
        sub = submodel(model, [output_of(layer)])

        def response(images: Any) -> Any:
            return sub(images, training=False)

    select = ops.one_hot(ops.convert_to_tensor(channels), int(output_shape(layer)[-1]))[:, None, None, :]
    shifts = rng.integers(-jitter, jitter + 1, size=(steps, 2)) if jitter else np.zeros((steps, 2), int)

    def objective(images: Any, shift: Any) -> Any:  # (n, H, W, C) -> a scalar: the channels' mean responses
        act = response(ops.roll(images, shift, axis=(1, 2)))  # (n, H', W', C')
        return ops.sum(ops.mean(act * select, axis=[1, 2]))

    # one trace for all steps (tf.function, jax.jit): the shift is a tensor argument, not a constant
    gradient = gradient_function(objective, jit=True)
    for step in range(steps):
        _, grad = gradient(x, _shift_argument(shifts[step]))
        scale = ops.mean(ops.abs(grad), axis=[1, 2, 3], keepdims=True) + 1e-12
        new = x + lr * grad / scale
        if decay:
            new = mid + (1.0 - decay) * (new - mid)
        if blur_every and (step + 1) % blur_every == 0:
            new = _blur(new)
        x = ops.clip(new, low, high)
    result = ops.convert_to_numpy(x)
    return result[0] if single else result
