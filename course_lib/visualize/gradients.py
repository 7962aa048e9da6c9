"""Gradients of a function of a tensor, on whichever Keras backend runs: the one place that knows how each
backend differentiates.

Keras 3 has no backend-neutral ``gradient`` op, so saliency, Grad-CAM and activation maximisation ask this
module instead of ``tf.GradientTape``. ``gradient_function(fn)`` returns ``g(x, *args) -> (value, gradient)``
with ``gradient = d sum(fn(x, *args)) / dx``, computed by

- TensorFlow: ``tf.GradientTape`` watching ``x`` (``jit=True``: wrapped in ``tf.function``, traced once);
- JAX: ``jax.value_and_grad`` (``jit=True``: under ``jax.jit``);
- PyTorch: ``torch.autograd.grad`` on a copy of ``x`` that requires a gradient (``jit`` is ignored:
  eager autograd needs no tracing).

Only ``x`` is differentiated; the model's weights and the extra ``args`` are held fixed. ``fn`` must use
``keras.ops`` (or the backend's own ops) and must not turn tensors into NumPy: under ``jax.grad`` its inputs
are tracers. Values and gradients come back as backend tensors (``gradient_function``,
``value_and_gradient``) so that later ``keras.ops`` arithmetic stays on the backend, or as NumPy
(``input_gradient``). :func:`variable_gradients` differentiates with respect to Keras variables instead (a
model's kernels, say): the tape or autograd on the variables themselves, and under JAX ``jax.grad`` of their
values substituted through a ``keras.StatelessScope``.

    >>> from course_lib.visualize.gradients import input_gradient
    >>> input_gradient(lambda x: keras.ops.sum(x ** 2), np.array([1.0, 2.0]))   # 2x
    array([2., 4.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = ["gradient_function", "value_and_gradient", "input_gradient", "variable_gradients"]

BACKENDS = ("tensorflow", "jax", "torch")


def _tensorflow(fn: Callable[..., Any], jit: bool) -> Callable[..., tuple[Any, Any]]:
    import tensorflow as tf

    def value_and_grad(x, *args):
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)  # x is a constant, not a variable: the tape records it only when asked
            value = fn(x, *args)
            total = tf.reduce_sum(value)
        grad = tape.gradient(total, x)
        return value, (tf.zeros_like(x) if grad is None else grad)

    # tf.function: the graph is traced once per input signature, then each call skips Python entirely
    return tf.function(value_and_grad) if jit else value_and_grad


def _jax(fn: Callable[..., Any], jit: bool) -> Callable[..., tuple[Any, Any]]:
    import jax
    import jax.numpy as jnp

    def total(x, *args):
        value = fn(x, *args)
        return jnp.sum(value), value

    grad_fn = jax.value_and_grad(total, has_aux=True)  # differentiates the first argument only

    def value_and_grad(x, *args):
        (_, value), grad = grad_fn(x, *args)
        return value, grad

    compiled = jax.jit(value_and_grad) if jit else value_and_grad

    def call(x, *args):
        return compiled(ops.convert_to_tensor(x), *args)

    return call


def _torch(fn: Callable[..., Any], jit: bool) -> Callable[..., tuple[Any, Any]]:
    import torch

    def value_and_grad(x, *args):
        # a fresh leaf on the backend's device: gradients of the caller's tensor (or of the weights) are not
        # accumulated, and x itself is left as it was
        x = ops.convert_to_tensor(x).detach().clone().requires_grad_(True)
        with torch.enable_grad():
            value = fn(x, *args)
            (grad,) = torch.autograd.grad(value.sum(), x, allow_unused=True)
        return value.detach(), (torch.zeros_like(x) if grad is None else grad.detach())

    return value_and_grad


_IMPLEMENTATIONS = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}


def gradient_function(fn: Callable[..., Any], *, jit: bool = False) -> Callable[..., tuple[Any, Any]]:
    """Wrap ``fn`` into ``g(x, *args) -> (fn(x, *args), d sum(fn(x, *args)) / dx)`` for the Keras backend.

    Args:
        fn: takes a tensor ``x`` (any shape) and optional further arguments, returns a tensor (summed before
            differentiating) built with ``keras.ops`` or Keras layers and models.
        jit: trace once and reuse the compiled function (``tf.function``, ``jax.jit``), for a loop that
            calls ``g`` many times with arguments of the same shapes; ignored under PyTorch. Build ``g`` once
            and keep it: each new wrapper traces again.

    Returns:
        The function ``g``. It accepts NumPy arrays or backend tensors for ``x`` and returns backend
        tensors: the value, with ``fn``'s shape, and the gradient, with ``x``'s shape (zeros where ``fn`` does
        not depend on ``x``).

    Raises:
        TypeError: fn is not callable, or jit not a bool.
        ValueError: the Keras backend is not TensorFlow, JAX or PyTorch.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable, got {type(fn).__name__}")
    if not isinstance(jit, bool):
        raise TypeError(f"jit must be a bool, got {type(jit).__name__} {jit!r}")
    backend = keras.backend.backend()
    if backend not in _IMPLEMENTATIONS:
        raise ValueError(f"gradients need one of the Keras backends {', '.join(BACKENDS)}; "
                         f"KERAS_BACKEND is {backend!r}")
    return _IMPLEMENTATIONS[backend](fn, jit)


def value_and_gradient(fn: Callable[..., Any], x: Any, *args: Any) -> tuple[Any, Any]:
    """``fn(x, *args)`` and ``d sum(fn(x, *args)) / dx``, as backend tensors, computed eagerly once.

    Args:
        fn: as for :func:`gradient_function`.
        x: the point, a NumPy array or backend tensor of any shape (floating point).
        *args: further arguments of ``fn``, held fixed.

    Returns:
        ``(value, gradient)``; ``gradient`` has the shape of ``x``.
    """
    return gradient_function(fn)(x, *args)


def input_gradient(fn: Callable[..., Any], x: Any, *args: Any) -> np.ndarray:
    """``d sum(fn(x, *args)) / dx`` as a NumPy array of ``x``'s shape (e.g. the saliency of a score).

    Args:
        fn: as for :func:`gradient_function`.
        x: NumPy array or backend tensor, floating point, any shape.
        *args: further arguments of ``fn``, held fixed.

    Returns:
        The gradient, a NumPy array with the shape and dtype of ``x``.
    """
    return ops.convert_to_numpy(value_and_gradient(fn, x, *args)[1])


def variable_gradients(fn: Callable[[], Any], variables: Sequence[Any]) -> list[np.ndarray]:
    """``d sum(fn()) / dv`` for each Keras variable ``v`` (a layer's kernel, say), as NumPy arrays.

    ``fn`` is called once, with the variables' current values; it may run layers in training mode. Under
    JAX the variables' values are the traced arguments (through a ``keras.StatelessScope``), so a batch
    normalisation layer's moving statistics are not updated there, while TensorFlow and PyTorch run ``fn``
    as it is (and update them, as one training-mode call does).

    Args:
        fn: takes no argument and returns a tensor (summed before differentiating), e.g. a batch's loss.
        variables: Keras variables ``fn`` depends on.

    Returns:
        One NumPy array per variable, with its shape (zeros for a variable ``fn`` does not use).

    Raises:
        TypeError: fn is not callable, or ``variables`` holds something that is not a Keras variable.
        ValueError: the Keras backend is not TensorFlow, JAX or PyTorch.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable, got {type(fn).__name__}")
    variables = list(variables)
    for i, v in enumerate(variables):
        if not isinstance(v, keras.Variable):
            raise TypeError(f"variables[{i}] must be a keras.Variable, got {type(v).__name__}")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            total = tf.reduce_sum(fn())
        grads = tape.gradient(total, variables)
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        def total_of(values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return jnp.sum(fn())

        grads = jax.grad(total_of)([v.value for v in variables])
    elif backend == "torch":
        import torch

        with torch.enable_grad():
            total = fn().sum()
            grads = torch.autograd.grad(total, [v.value for v in variables], allow_unused=True)
    else:
        raise ValueError(f"gradients need one of the Keras backends {', '.join(BACKENDS)}; "
                         f"KERAS_BACKEND is {backend!r}")
    return [np.zeros(tuple(v.shape), dtype=v.dtype) if g is None else ops.convert_to_numpy(g)
            for v, g in zip(variables, grads)]
