"""Small arithmetic and argument checks shared by every model builder.

Each builder validates its arguments *before* creating a layer, so a mistake is reported as a TypeError or
ValueError that names the argument and the value received (instead of a negative-dimension error from deep
inside TensorFlow). The checks are those of ``course_lib.validation``, so a builder reports a mistake with the
same error type and message as the rest of the kit; only ``input_shape`` has a model-specific wrapper here.

The minimum input size of a network is worked out from its chain of downsampling steps, which each builder
derives from the same row tables it builds its layers from, with ``course_lib.shapes.conv_output_size``, the
arithmetic the notebooks teach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from .. import keras_adapter
from ..shapes import conv_output_size
from ..validation import check_float, check_int, check_positive_int, type_error, value_error


class Step(NamedTuple):
    """One layer of a downsampling chain, as ``course_lib.shapes.conv_output_size`` takes it.

    Attributes:
        kernel: window side.
        stride: step between windows.
        padding: zeros per side (an int) or ``"same"``/``"valid"`` as in Keras.
    """

    kernel: int
    stride: int
    padding: Any = 0


def scaled(n: int, width_multiplier: float) -> int:
    """Scale a layer width: ``max(1, round(n * width_multiplier))``.

    Args:
        n: the paper's number of filters or units.
        width_multiplier: a float > 0 (1.0 keeps the paper's width).

    Returns:
        The scaled width, at least 1.
    """
    return max(1, int(round(n * width_multiplier)))


def check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    """Return ``input_shape`` as ``(height, width, channels)`` of positive ints, else raise.

    A wrapper of ``course_lib.validation`` for the one argument whose meaning is model-specific: three
    entries, channels last, no batch dimension (``check_int_tuple`` would broadcast a single int).

    Args:
        input_shape: a tuple or list of three positive ints, channels last (no batch dimension).

    Returns:
        ``(height, width, channels)`` as Python ints.

    Raises:
        TypeError: not a tuple/list, or an entry that is not an int.
        ValueError: not three entries, or an entry < 1.
    """
    expected = "a (height, width, channels) tuple without the batch dimension"
    if not isinstance(input_shape, (tuple, list)):
        raise type_error("input_shape", expected, input_shape)
    if len(input_shape) != 3:
        raise value_error("input_shape", expected, tuple(input_shape))
    height, width, channels = (
        check_int(v, f"input_shape[{i}]", minimum=1) for i, v in enumerate(input_shape)
    )
    return height, width, channels


def check_classifier_activation(classifier_activation: Any) -> Any:
    """Return ``classifier_activation`` if Keras can apply it as the output layer's activation, else raise.

    The keyword of ``keras.applications``: ``"softmax"`` (the default, class probabilities), None (a linear
    output: the logits) or another activation, by name (``"sigmoid"``) or as a callable.

    Args:
        classifier_activation: None, a str or a callable.

    Returns:
        The value unchanged.

    Raises:
        TypeError: neither None, a str nor a callable.
        ValueError: a str that names no Keras activation.
    """
    expected = "None (logits), 'softmax' or another Keras activation (a name or a callable)"
    if classifier_activation is None or callable(classifier_activation):
        return classifier_activation
    if not isinstance(classifier_activation, str):
        raise type_error("classifier_activation", expected, classifier_activation)
    import keras

    try:
        keras.activations.get(classifier_activation)
    except ValueError:
        raise value_error("classifier_activation", expected, classifier_activation) from None
    return classifier_activation


def output_size(n: int, chain: Sequence[Step]) -> int:
    """Spatial size after a chain of ``(kernel, stride, padding)`` steps; 0 when some window does not fit."""
    for kernel, stride, padding in chain:
        try:
            n = conv_output_size(n, kernel, stride, padding)
        except ValueError:  # the window is larger than the (padded) input
            return 0
    return n


def min_input_size(chain: Sequence[Step], *, limit: int = 4096) -> int:
    """Smallest square input side for which every step of ``chain`` still has an output of at least 1.

    Args:
        chain: the network's downsampling layers in order, as ``(kernel, stride, padding)``.
        limit: give up above this size (an internal invariant: every kit network fits far below it).

    Returns:
        The minimum height (= width) in pixels.
    """
    for n in range(1, limit + 1):
        if output_size(n, chain) >= 1:
            return n
    raise AssertionError(f"no input up to {limit} fits the chain {chain!r}")


def check_common(
    input_shape: Any,
    num_classes: Any,
    width_multiplier: Any,
    *,
    chain: Sequence[Step] = (),
    model_name: str,
    classifier_activation: Any = "softmax",
) -> tuple[tuple[int, int, int], int, float]:
    """Validate the arguments every builder shares, and the input size against the network's chain.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: a positive int.
        width_multiplier: a float > 0.
        chain: the network's downsampling steps (``Step`` or ``(kernel, stride, padding)`` each), derived by
            the builder from its row table.
        model_name: used in the error message ("input_shape (16, 16, 3) is too small for alexnet ...").
        classifier_activation: checked with ``check_classifier_activation`` (the builder passes it on to
            ``blocks.classifier_head``).

    Returns:
        ``(input_shape, num_classes, width_multiplier)`` normalised.

    Raises:
        TypeError / ValueError: naming the argument and the value received; for a too small input the message
            gives the minimum size.
    """
    input_shape = check_input_shape(input_shape)
    num_classes = check_positive_int(num_classes, "num_classes")
    width_multiplier = check_float(width_multiplier, "width_multiplier", minimum=0.0, include_minimum=False)
    check_classifier_activation(classifier_activation)
    if chain:
        need = min_input_size(chain)
        height, width, _ = input_shape
        if min(height, width) < need:
            raise ValueError(
                f"input_shape {input_shape!r} is too small for {model_name}: its downsampling layers need "
                f"an input of at least {need}x{need} pixels"
            )
    return input_shape, num_classes, width_multiplier


@contextlib.contextmanager
def architecture_only() -> Iterator[None]:
    """Build models whose weights are never allocated: shapes and parameter counts only.

    Inside this context Keras records each variable's shape and initializer but draws no random numbers, so
    a full-size VGG-16 (138 million parameters, 550 MB) is built in a fraction of a second. The model's
    ``count_params()``, ``layer.output.shape`` and ``course_lib.graph.layer_table`` work; calling the model
    or reading a weight's value does not. Use a normal build to train or predict.

    Example::

        with models.architecture_only():
            vgg16 = models.vgg("D")
        print(vgg16.count_params())  # 138357544

    Yields:
        None.
    """
    import keras

    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        # The scope leaves its variables on a global "to initialise" list; without this, a later build would
        # allocate and initialise all of them.
        keras_adapter.discard_uninitialized_variables()
