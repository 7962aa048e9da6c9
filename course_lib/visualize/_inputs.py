"""Checks of the two arguments every visualisation takes: the model and the image(s) fed to it."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .. import validation


def check_model(model: Any) -> keras.Model:
    """Return ``model`` if it is a Keras model with exactly one known input.

    Raises:
        TypeError: not a ``keras.Model``.
        ValueError: no known input (a Sequential without ``Input``), or several inputs.
    """
    if not isinstance(model, keras.Model):
        raise validation.type_error("model", "a keras.Model", model)
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            f"model {model.name!r} has no known input: build it with keras.Input (functional API) or give "
            "the Sequential model an Input first"
        )
    if len(inputs) != 1:
        raise ValueError(f"model must have exactly one input, got {len(inputs)}")
    return model


def input_hwc(model: keras.Model) -> tuple:
    """The model's input shape without the batch axis, ``(H, W, C)`` (sizes may be None)."""
    return tuple(model.inputs[0].shape[1:])


def as_batch(model: keras.Model, images: Any, name: str, *, single: bool) -> np.ndarray:
    """Check images against the model input and return a float32 batch ``(N, H, W, C)``.

    Args:
        model: the model the images are for.
        images: one image ``(H, W, C)`` (``single``; ``(1, H, W, C)`` and, for a one-channel model, a grey
            ``(H, W)`` are accepted too) or a batch ``(N, H, W, C)`` (``(N, H, W)`` for a one-channel model).
        name: the argument's name, for messages.
        single: whether one image is expected.

    Returns:
        The float32 batch, ``N = 1`` for a single image.

    Raises:
        TypeError: not a numeric array.
        ValueError: a shape that does not match the model input, or an empty batch.
    """
    x = validation.check_array(images, name).astype(np.float32)
    expected = input_hwc(model)
    if single:
        if x.ndim == len(expected) + 1 and x.shape[0] == 1:
            x = x[0]
        if x.ndim == len(expected) - 1 and expected[-1] == 1:  # a grey (H, W) image for a 1-channel model
            x = x[..., None]
        if x.ndim != len(expected):
            raise ValueError(f"{name} must be one image {expected} (or (1, ...)), got shape {x.shape}")
        x = x[None]
    elif x.ndim == len(expected) and expected[-1] == 1 and x.shape[-1] != 1:
        x = x[..., None]
    if x.ndim != len(expected) + 1:
        raise ValueError(f"{name} must have shape (N, *{expected}), got shape {x.shape}")
    for got, want in zip(x.shape[1:], expected):
        if want is not None and got != want:
            raise ValueError(f"{name} must match the model input {expected}, got shape {x.shape[1:]}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    return x


def images_and_batch(model: keras.Model, image: Any) -> tuple[np.ndarray, bool]:
    """``(batch, single)``: an image of the input's rank becomes a batch of one; one more axis is a batch."""
    x = validation.check_array(image, "image")
    hwc = input_hwc(model)
    single = x.ndim == len(hwc) or (x.ndim == 2 and hwc[-1] == 1)
    return as_batch(model, x, "image", single=single), single
