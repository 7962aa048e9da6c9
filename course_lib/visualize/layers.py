"""Finding layers by name and reading them: convolution kernels, feature maps and the class scores (logits).

Every function takes a functional or built Sequential ``keras.Model`` with one input and finds layers by name.
A name that is not in the model, or names a layer without a spatial ``(batch, height, width, channels)``
output, raises a ``ValueError`` that quotes the name and lists close matches and the convolution layers.
The helpers without an entry in ``__all__`` (``get_layer``, ``spatial_layer``, ``output_of``, ...) are shared
by the other modules of :mod:`course_lib.visualize`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from .. import keras_adapter, validation
from ._inputs import as_batch, check_model

__all__ = [
    "conv_layer_names",
    "spatial_layer_names",
    "first_layer_filters",
    "neighbour_correlation",
    "feature_maps",
    "class_scores",
]

# ----------------------------------------------------------------------------------------------------
# layer lookup
# ----------------------------------------------------------------------------------------------------
def output_of(layer: Any) -> Any:
    """The symbolic output of a layer that is called once in the model.

    Raises:
        ValueError: the layer has no single output (called several times, or inside a nested model).
    """
    try:
        return layer.output
    except (AttributeError, ValueError) as err:
        raise ValueError(
            f"layer {layer.name!r} has no single output in the model graph (a layer used several times, or "
            f"one inside a nested model): {err}"
        ) from err


def output_shape(layer: Any) -> tuple:
    """The layer's output shape with the batch axis (a tuple of shapes for several outputs)."""
    out = output_of(layer)
    if isinstance(out, (list, tuple)):
        return tuple(tuple(o.shape) for o in out)
    return tuple(out.shape)


def is_spatial(layer: Any) -> bool:
    """Whether the layer outputs one feature map ``(batch, H, W, C)`` (input layers excluded)."""
    if isinstance(layer, keras.layers.InputLayer):
        return False
    try:
        shape = output_shape(layer)
    except ValueError:
        return False
    return len(shape) == 4 and not isinstance(shape[0], tuple)


def is_conv(layer: Any) -> bool:
    """Whether the layer is a 2-D convolution with a spatial output."""
    # Conv2D, DepthwiseConv2D, SeparableConv2D and the kit's ConnectionTableConv2D all carry a kernel_size;
    # transposed convolutions are left out because they upsample (they are decoders, not feature detectors).
    return (
        hasattr(layer, "kernel_size")
        and not isinstance(layer, keras.layers.Conv2DTranspose)
        and is_spatial(layer)
    )


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the 2-D convolution layers of a model, input side first.

    Args:
        model: a functional or built Sequential ``keras.Model``.

    Returns:
        The names of the top-level layers that convolve (Conv2D, DepthwiseConv2D, SeparableConv2D and
        other layers with a ``kernel_size`` and a ``(batch, H, W, C)`` output), in the model's (topological)
        order. Layers inside nested sub-models are not listed.

    Raises:
        TypeError: model is not a Keras model.
        ValueError: the model has no known input, or several.
    """
    check_model(model)
    return [layer.name for layer in model.layers if is_conv(layer)]


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Names of every top-level layer whose output is a feature map ``(batch, H, W, C)`` (conv, pool, ...).

    Args:
        model: a functional or built Sequential ``keras.Model``.

    Returns:
        Layer names, input side first; the input layer is not included.

    Raises:
        TypeError: model is not a Keras model.
        ValueError: the model has no known input, or several.
    """
    check_model(model)
    return [layer.name for layer in model.layers if is_spatial(layer)]


def _short_list(names: Sequence[str], limit: int = 12) -> str:
    if len(names) <= limit:
        return str(list(names))
    return str(list(names[: limit // 2]) + ["..."] + list(names[-limit // 2:]))


def get_layer(model: keras.Model, name: Any, what: str = "layer_name") -> Any:
    """The top-level layer called ``name``.

    Args:
        model: the model to search.
        name: the layer's name.
        what: the argument's name, for messages (``"layer_name"``, ``"layer_names[2]"``).

    Raises:
        TypeError: name is not a str.
        ValueError: no layer has that name (the message lists close matches and the convolution layers).
    """
    validation.check_str(name, what)
    names = [layer.name for layer in model.layers]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
        raise ValueError(
            f"{what} {name!r} is not a layer of model {model.name!r}; close matches: {close}; "
            f"its convolution layers are {_short_list(conv_layer_names(model))}"
        )
    return model.get_layer(name)


def spatial_layer(model: keras.Model, name: Any, what: str = "layer_name") -> Any:
    """The layer called ``name``, which must output a ``(batch, H, W, C)`` feature map.

    Raises:
        TypeError: name is not a str.
        ValueError: no such layer, or its output is not a feature map.
    """
    layer = get_layer(model, name, what)
    if not is_spatial(layer):
        try:
            shape = output_shape(layer)
        except ValueError:
            shape = "unknown"
        raise ValueError(
            f"{what} {name!r} is a {type(layer).__name__} layer with output shape {shape}, not a "
            f"convolutional feature map (batch, height, width, channels); pick a convolution layer such as "
            f"{_short_list(conv_layer_names(model))}"
        )
    return layer


def check_channels(layer: Any, channel: Any) -> tuple[bool, list[int]]:
    """One channel index or a non-empty sequence of them -> ``(was it a single int, the channel list)``.

    Raises:
        TypeError: an index that is not an int.
        ValueError: an index outside ``[0, channels of the layer)``, or an empty sequence.
    """
    top = int(output_shape(layer)[-1]) - 1
    if np.ndim(channel) == 0:
        return True, [validation.check_int(channel, "channel", minimum=0, maximum=top)]
    channels = [
        validation.check_int(c, f"channel[{i}]", minimum=0, maximum=top) for i, c in enumerate(channel)
    ]
    if not channels:
        raise validation.value_error("channel", "an int or a non-empty sequence of ints", list(channel))
    return False, channels


def submodel(model: keras.Model, outputs: list[Any]) -> keras.Model:
    """A model from the input of ``model`` to the given symbolic tensors (sharing its layers and weights)."""
    # The single input tensor, not a one-element list: a list makes Keras warn on every call with an array.
    return keras.Model(model.inputs[0], outputs)


# ----------------------------------------------------------------------------------------------------
# filters and feature maps
# ----------------------------------------------------------------------------------------------------
def first_layer_filters(model: keras.Model, layer_name: str | None = None) -> np.ndarray:
    """The kernel of the first convolution layer, ready for a filter grid (``plotting.plot_kernels``).

    Args:
        model: a functional or built Sequential ``keras.Model``.
        layer_name: another convolution layer to read instead of the first one.

    Returns:
        (KH, KW, C_in, C_out) float32 array, a copy of the weights (for the kit's connection-table layer, the
        equivalent dense kernel with zeros where maps are not connected; for a separable convolution, its
        depthwise kernel).

    Raises:
        TypeError: model is not a Keras model, or layer_name not a str.
        ValueError: the model has no convolution layer, or layer_name is unknown / not a convolution.
    """
    check_model(model)
    if layer_name is None:
        names = conv_layer_names(model)
        if not names:
            raise ValueError(f"model {model.name!r} has no convolution layer")
        layer_name = names[0]
    layer = spatial_layer(model, layer_name)
    if not is_conv(layer):
        raise ValueError(
            f"layer_name {layer_name!r} is a {type(layer).__name__}, not a convolution; pick one of "
            f"{_short_list(conv_layer_names(model))}"
        )
    if hasattr(layer, "dense_kernel"):
        kernel = layer.dense_kernel()
    elif isinstance(layer, keras.layers.SeparableConv2D):
        kernel = layer.depthwise_kernel
    else:
        kernel = layer.kernel
    return np.array(ops.convert_to_numpy(kernel), dtype=np.float32)


def neighbour_correlation(kernels: Any) -> np.ndarray:
    """How smooth each filter is: the correlation between every weight and its right and lower neighbours.

    A filter that is a smooth pattern (an edge, a blob, a colour gradient) has neighbouring weights that
    agree, so the value is close to 1; independent random weights (a fresh initialisation) give about 0;
    a checkerboard gives -1. Pairs are taken within each input channel, horizontally and vertically, and
    the Pearson correlation is computed over all of them together. The value does not depend on the
    filter's scale, so a trained kernel and its much smaller initialisation can be compared directly.

    Args:
        kernels: (KH, KW, C_in, C_out) array, as ``first_layer_filters`` returns, with KH or KW >= 2.

    Returns:
        (C_out,) float64 array, one correlation per filter (0 for a filter whose weights are all equal).

    Raises:
        ValueError: kernels is not 4-D, or is 1x1 (no neighbours).
    """
    k = validation.check_array(kernels, "kernels").astype(np.float64)
    if k.ndim != 4:
        raise ValueError(f"kernels must have shape (KH, KW, C_in, C_out), got shape {k.shape}")
    if k.shape[0] < 2 and k.shape[1] < 2:
        raise ValueError(f"kernels must be at least 2 wide or high to have neighbours, got shape {k.shape}")
    k = k - k.mean(axis=(0, 1, 2), keepdims=True)  # (KH, KW, C_in, C_out), each filter centred
    pairs = [(k[:, :-1], k[:, 1:]), (k[:-1, :], k[1:, :])]
    a = np.concatenate([p.reshape(-1, k.shape[-1]) for p, _ in pairs])  # (pairs, C_out)
    b = np.concatenate([q.reshape(-1, k.shape[-1]) for _, q in pairs])
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denom = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    return np.divide((a * b).sum(axis=0), denom, out=np.zeros(k.shape[-1]), where=denom > 0)


def feature_maps(
    model: keras.Model, image: Any, layer_names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Activations of several layers for one image, from a single forward pass.

    Args:
        model: a functional or built Sequential ``keras.Model``.
        image: (H, W, C) image (or (1, H, W, C)) matching the model input.
        layer_names: layers to read (one name or a sequence), each with a (batch, H', W', C') output
            (convolutions, pooling, ReLU layers, ...); default: every convolution layer
            (:func:`conv_layer_names`).

    Returns:
        A dict, in the order asked, mapping each name to its (H', W', C') float32 activations (the layer's
        output, after the activation it applies itself).

    Raises:
        TypeError: model is not a Keras model, a name is not a str, or the image is not numeric.
        ValueError: an unknown name, a layer without a spatial output, or an image of the wrong shape.
    """
    check_model(model)
    x = as_batch(model, image, "image", single=True)
    if layer_names is None:
        layer_names = conv_layer_names(model)
    elif isinstance(layer_names, str):
        layer_names = [layer_names]
    chosen = [spatial_layer(model, n, f"layer_names[{i}]") for i, n in enumerate(layer_names)]
    if not chosen:
        return {}
    outs = submodel(model, [output_of(layer) for layer in chosen])(x, training=False)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    return {layer.name: ops.convert_to_numpy(o)[0] for layer, o in zip(chosen, outs)}


# ----------------------------------------------------------------------------------------------------
# class scores (logits)
# ----------------------------------------------------------------------------------------------------
def output_activation(layer: Any) -> Any:
    """The activation an output layer applies to its scores: None for a linear layer, ``"softmax"`` for a
    ``Softmax`` layer, else the layer's activation function."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    fn = getattr(layer, "activation", None)
    return None if fn is None or fn is keras.activations.linear else fn


def output_of_input(layer: Any) -> Any:
    """The symbolic tensor a one-input layer was called on.

    Raises:
        ValueError: the layer has several inputs.
    """
    inp = layer.input
    if isinstance(inp, (list, tuple)):
        raise ValueError(f"the output layer {layer.name!r} has several inputs; cannot recover its logits")
    return inp


def logits_head(model: keras.Model) -> tuple[Any, Callable[[Any], Any], bool]:
    """Where the class scores sit: ``(symbolic tensor, function turning its value into the logits, whether
    the model's output is an activation of them)``.

    In order of preference:

    1. The output layer is linear (a ``course_lib.models`` classifier built with
       ``classifier_activation=None``, like ``keras.applications``' models, or any model that outputs
       logits): the model's own output, used as it is.
    2. The output layer is an ``Activation`` or ``Softmax`` layer (NiN, LeNet-5 as published): its input.
    3. The output layer is a ``Dense`` with an activation (the default ``predictions`` head of the kit's
       builders and of ``keras.applications``, a hand-built classifier): its input, and the function
       recomputes the layer's linear part ``input @ kernel + bias`` from the layer's own weights. This is the
       fallback for models that end in a softmax; it reads the weights, so it follows training.

    Another layer with an activation (a convolution, say) cannot be undone: its output is used as it is.

    Raises:
        ValueError: the model has several outputs, or its output layer several inputs.
    """
    outputs = model.outputs
    if len(outputs) != 1:
        raise ValueError(
            f"model must have exactly one output for class scores, got {len(outputs)} "
            f"({[o.name for o in outputs]}); build the model without auxiliary heads"
        )
    last = keras_adapter.producing_operation(outputs[0])
    if output_activation(last) is None:
        return outputs[0], lambda h: h, False
    if isinstance(last, (keras.layers.Softmax, keras.layers.Activation)):
        return output_of_input(last), lambda h: h, True
    if isinstance(last, keras.layers.Dense):
        kernel, bias = last.kernel, (last.bias if last.use_bias else None)

        def dense_logits(h: Any) -> Any:
            # the variables as tensors: JAX cannot mix a Keras variable into its own arithmetic
            z = ops.matmul(h, ops.convert_to_tensor(kernel))
            return z + ops.convert_to_tensor(bias) if bias is not None else z

        return output_of_input(last), dense_logits, True
    return outputs[0], lambda h: h, False


def class_scores(model: keras.Model, images: Any) -> np.ndarray:
    """Pre-softmax class scores (logits) of a batch.

    Gradient methods differentiate these scores rather than the probabilities (see
    :mod:`course_lib.visualize`); :func:`logits_head` says how they are recovered from the model.

    Args:
        model: a classifier with one input and one output.
        images: (N, H, W, C) batch matching the model input.

    Returns:
        (N, num_classes) float32 logits; ``softmax`` of them equals ``model(images)`` when the model ends with
        a softmax; for a model built with ``classifier_activation=None`` they are ``model(images)`` itself.

    Raises:
        TypeError: model is not a Keras model, or images not numeric.
        ValueError: images of the wrong shape, or a model with several outputs.
    """
    check_model(model)
    x = as_batch(model, images, "images", single=False)
    head, to_logits, _ = logits_head(model)
    return ops.convert_to_numpy(to_logits(submodel(model, [head])(x, training=False)))
