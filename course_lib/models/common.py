"""Argument checks and small arithmetic shared by every model builder.

Each builder validates its arguments *before* creating a layer, so a mistake is reported as a ValueError that
names the argument and the value received (instead of a negative-dimension error from deep inside TensorFlow).
The minimum input size of a network is worked out from its chain of downsampling layers with
``course_lib.shapes.conv_output_size``, the same arithmetic the notebooks teach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from ..shapes import conv_output_size

# One downsampling step: (kernel, stride, padding) with padding an int or "same"/"valid", as in shapes.
Step = tuple[int, int, Any]


def scaled(n: int, width_multiplier: float) -> int:
    """Scale a layer width: ``max(1, round(n * width_multiplier))``.

    Args:
        n: the paper's number of filters or units.
        width_multiplier: a float > 0 (1.0 keeps the paper's width).

    Returns:
        The scaled width, at least 1.
    """
    return max(1, int(round(n * width_multiplier)))


def check_num_classes(num_classes: Any) -> int:
    """Return ``num_classes`` if it is an int >= 1, else raise TypeError/ValueError naming it."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"num_classes must be an int >= 1, got {type(num_classes).__name__} {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes}")
    return num_classes


def check_width_multiplier(width_multiplier: Any) -> float:
    """Return ``width_multiplier`` as a float if it is a number > 0, else raise TypeError/ValueError."""
    if isinstance(width_multiplier, bool) or not isinstance(width_multiplier, (int, float)):
        raise TypeError(
            "width_multiplier must be a float > 0, got "
            f"{type(width_multiplier).__name__} {width_multiplier!r}"
        )
    if not width_multiplier > 0:  # also catches NaN
        raise ValueError(f"width_multiplier must be a float > 0, got {width_multiplier}")
    return float(width_multiplier)


def check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    """Return ``input_shape`` as ``(height, width, channels)`` of positive ints, else raise.

    Args:
        input_shape: a sequence of three positive ints, channels last (no batch dimension).

    Raises:
        TypeError: not a sequence of ints.
        ValueError: not three entries, or an entry < 1.
    """
    if not isinstance(input_shape, Sequence) or isinstance(input_shape, str):
        raise TypeError(
            f"input_shape must be a (height, width, channels) tuple, got {type(input_shape).__name__} "
            f"{input_shape!r}"
        )
    if len(input_shape) != 3:
        raise ValueError(
            "input_shape must be (height, width, channels) without the batch dimension, got "
            f"{tuple(input_shape)!r}"
        )
    for v in input_shape:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"input_shape must hold ints, got {tuple(input_shape)!r}")
        if v < 1:
            raise ValueError(f"input_shape entries must be >= 1, got {tuple(input_shape)!r}")
    return tuple(input_shape)  # type: ignore[return-value]


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
) -> tuple[tuple[int, int, int], int, float]:
    """Validate the three arguments every builder shares, and the input size against the network's chain.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: an int >= 1.
        width_multiplier: a float > 0.
        chain: the network's downsampling steps, ``(kernel, stride, padding)`` each.
        model_name: used in the error message ("input_shape (16, 16, 3) is too small for AlexNet ...").

    Returns:
        ``(input_shape, num_classes, width_multiplier)`` normalised.

    Raises:
        TypeError / ValueError: naming the argument and the value received; for a too small input the message
            gives the minimum size.
    """
    input_shape = check_input_shape(input_shape)
    num_classes = check_num_classes(num_classes)
    width_multiplier = check_width_multiplier(width_multiplier)
    if chain:
        need = min_input_size(chain)
        height, width, _ = input_shape
        if min(height, width) < need:
            raise ValueError(
                f"input_shape {input_shape!r} is too small for {model_name}: its downsampling layers need "
                f"an input of at least {need}x{need} pixels"
            )
    return input_shape, num_classes, width_multiplier


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ValueError naming the argument."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return value


def check_rate(name: str, value: Any) -> float:
    """Return a dropout rate in [0, 1) as a float, else raise TypeError/ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float in [0, 1), got {type(value).__name__} {value!r}")
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be a float in [0, 1), got {value}")
    return float(value)


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
    from keras.src.backend.common import global_state

    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        # Keras keeps a global list of variables waiting for their values; the next symbolic call (any later
        # model build) would otherwise allocate and initialise all of them.
        global_state.set_global_attribute("uninitialized_variables", [])
