"""Non-convolutional layers and losses in NumPy, each a forward/backward pair.

Contract (CS231n's): ``*_forward(...)`` returns ``(out, cache)`` and ``*_backward(dout, cache)`` returns the
gradients with respect to the forward's inputs. Losses take raw scores and return ``(loss, dscores)``, the
mean loss over the batch and its gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import check_array, check_choice
from .conv import _check_dout, _float_dtype


def _as_float(x: Any, name: str, **checks: Any) -> np.ndarray:
    """A numeric array (``checks`` as for ``validation.check_array``) computed in float32 or float64."""
    arr = check_array(x, name, **checks)
    return arr.astype(_float_dtype(arr), copy=False)


def _check_batch(x: np.ndarray, name: str = "x") -> None:
    if x.ndim < 2:
        raise ValueError(f"{name} must have a batch axis and at least one feature axis, got shape {x.shape}")


# ----------------------------------------------------------------------------------------------- dense


def dense_forward(x: Any, w: Any, b: Any) -> tuple[np.ndarray, tuple]:
    """Fully connected (affine) layer ``out = x_flat @ w + b``; each example is flattened in C order first.

    Args:
        x: inputs ``(N, d1, ..., dk)`` with ``d1 * ... * dk = D`` (a 2-D ``(N, D)`` is already flat).
        w: weights ``(D, M)``.
        b: biases ``(M,)``.

    Returns:
        ``(out, cache)``: out ``(N, M)``.

    Raises:
        ValueError: x has fewer than 2 axes, w not 2-D, or the sizes disagree.
    """
    x, w, b = _as_float(x, "x"), _as_float(w, "w", ndim=2, layout="(D, M)"), _as_float(b, "b")
    _check_batch(x)
    flat = x.reshape(x.shape[0], -1)
    if flat.shape[1] != w.shape[0]:
        raise ValueError(f"x has {flat.shape[1]} features per example (x.shape={x.shape}) but w expects "
                         f"{w.shape[0]} (w.shape={w.shape})")
    if b.shape != (w.shape[1],):
        raise ValueError(f"b must have shape (M,) = ({w.shape[1]},), got {b.shape}")
    return flat @ w + b, (x, w)


def dense_backward(dout: Any, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``dense_forward``.

    Args:
        dout: upstream gradient ``(N, M)``.
        cache: from ``dense_forward``.

    Returns:
        ``(dx, dw, db)`` shaped like x ``(N, d1, ..., dk)``, w ``(D, M)`` and b ``(M,)``.

    Raises:
        ValueError: dout's shape differs from the forward output.
    """
    x, w = cache
    dout = _check_dout(dout, (x.shape[0], w.shape[1]))
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)


affine_forward = dense_forward
affine_backward = dense_backward


# --------------------------------------------------------------------------------------------- flatten


def flatten_forward(x: Any, order: str = "C") -> tuple[np.ndarray, tuple]:
    """Flatten every example to a vector.

    Args:
        x: ``(N, d1, ..., dk)``.
        order: "C" (row-major, last axis fastest: NumPy and Keras ``Flatten``) or "F" (column-major, first
            axis fastest: what MATLAB's ``X(:)`` gives, as in lectures written in MATLAB).

    Returns:
        ``(out, cache)``: out ``(N, d1 * ... * dk)``.

    Raises:
        ValueError: x has fewer than 2 axes, or an unknown order.
    """
    x = _as_float(x, "x")
    order = check_choice(order, "order", ("c", "f"), ignore_case=True).upper()
    _check_batch(x)
    if order == "F":
        # Column-major per example: reverse the feature axes, then read row-major.
        out = x.transpose((0, *range(x.ndim - 1, 0, -1))).reshape(x.shape[0], -1)
    else:
        out = x.reshape(x.shape[0], -1)
    return out, (x.shape, order)


def flatten_backward(dout: Any, cache: tuple) -> np.ndarray:
    """Backward pass of ``flatten_forward``: the gradient reshaped back in the same order.

    Args:
        dout: ``(N, D)``.
        cache: from ``flatten_forward``.

    Returns:
        dx ``(N, d1, ..., dk)``.

    Raises:
        ValueError: dout's shape differs from the forward output.
    """
    shape, order = cache
    dout = _check_dout(dout, (shape[0], int(np.prod(shape[1:]))))
    if order == "F":
        reversed_shape = (shape[0], *shape[:0:-1])
        return dout.reshape(reversed_shape).transpose((0, *range(len(shape) - 1, 0, -1)))
    return dout.reshape(shape)


# ------------------------------------------------------------------------------------------ activations


def relu_forward(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """ReLU, ``max(0, x)`` elementwise.

    Args:
        x: any shape.

    Returns:
        ``(out, cache)``: out shaped like x.

    Reference: V. Nair, G. Hinton, "Rectified Linear Units Improve Restricted Boltzmann Machines", ICML 2010.
    """
    x = _as_float(x, "x")
    return np.maximum(x, 0), x


def relu_backward(dout: Any, cache: np.ndarray) -> np.ndarray:
    """Backward pass of ReLU: the gradient passes where the input was positive (0 at exactly 0, as TF).

    Args:
        dout: upstream gradient, shaped like x.
        cache: from ``relu_forward``.

    Returns:
        dx shaped like x.
    """
    dout = _check_dout(dout, cache.shape)
    return np.where(cache > 0, dout, 0).astype(dout.dtype, copy=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a negative number only, so no overflow for large |x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_forward(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow.

    Args:
        x: any shape.

    Returns:
        ``(out, cache)``: out shaped like x, in [0, 1].
    """
    out = _sigmoid(_as_float(x, "x"))
    return out, out


def sigmoid_backward(dout: Any, cache: np.ndarray) -> np.ndarray:
    """Backward pass of the sigmoid: ``dout * s * (1 - s)``.

    Args:
        dout: upstream gradient, shaped like x.
        cache: from ``sigmoid_forward`` (the sigmoid's output).

    Returns:
        dx shaped like x.
    """
    dout = _check_dout(dout, cache.shape)
    return dout * cache * (1 - cache)


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)  # same result, and exp cannot overflow
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_forward(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Softmax over the last axis.

    Args:
        x: scores ``(..., K)``.

    Returns:
        ``(out, cache)``: probabilities shaped like x, each row summing to 1.

    Raises:
        ValueError: x is a scalar.
    """
    x = _as_float(x, "x")
    if x.ndim < 1:
        raise ValueError(f"x must have at least one axis, got shape {x.shape}")
    out = _softmax(x)
    return out, out


def softmax_backward(dout: Any, cache: np.ndarray) -> np.ndarray:
    """Backward pass of softmax: ``p * (dout - sum(dout * p))`` along the last axis (the Jacobian product).

    Args:
        dout: upstream gradient, shaped like the scores.
        cache: from ``softmax_forward`` (the probabilities).

    Returns:
        dx shaped like the scores.
    """
    dout = _check_dout(dout, cache.shape)
    return cache * (dout - (dout * cache).sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------------------------------------- losses


def _check_labels(y: Any, n: int, num_classes: int | None) -> np.ndarray:
    y = check_array(y, "y")
    if y.shape != (n,):
        raise ValueError(f"y must have shape (N,) = ({n},), got {y.shape}")
    if num_classes is None:
        if not np.all((y == 0) | (y == 1)):
            raise ValueError(f"y must hold 0/1 targets, got values {np.unique(y)[:10]}")
        return y.astype(np.float64)
    if y.dtype.kind not in "iu" and not np.all(y == np.round(y)):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must hold labels in [0, {num_classes - 1}], got range [{y.min()}, {y.max()}]")
    return y.astype(np.int64)


def logistic_loss(scores: Any, y: Any) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of a logistic unit, i.e. the negative mean log-likelihood.

    ``loss = mean(-[y log s + (1 - y) log(1 - s)])`` with ``s = sigmoid(scores)``, computed as
    ``softplus(z) - y z`` so that huge scores stay finite. Maximising the log-likelihood ``J = -N * loss`` (as
    lectures on logistic regression do) is the same as minimising this loss; its gradients are sign-flipped.

    Args:
        scores: raw scores (logits) ``(N,)`` or ``(N, 1)``.
        y: targets ``(N,)`` in {0, 1}.

    Returns:
        ``(loss, dscores)``: the mean loss (float) and ``(sigmoid(scores) - y) / N`` shaped like scores.

    Raises:
        ValueError: scores not ``(N,)``/``(N, 1)``, or y of the wrong shape or not 0/1.
    """
    scores = _as_float(scores, "scores")
    if scores.ndim not in (1, 2) or (scores.ndim == 2 and scores.shape[1] != 1):
        raise ValueError(f"scores must have shape (N,) or (N, 1), got {scores.shape}")
    z = scores.reshape(-1)
    n = z.shape[0]
    t = _check_labels(y, n, None)
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    loss = float(np.sum(softplus - t * z) / n)
    dscores = ((_sigmoid(z) - t) / n).astype(scores.dtype, copy=False).reshape(scores.shape)
    return loss, dscores


def softmax_cross_entropy(scores: Any, y: Any) -> tuple[float, np.ndarray]:
    """Softmax followed by the cross-entropy with integer labels, fused for stability.

    Args:
        scores: raw class scores ``(N, K)``.
        y: labels ``(N,)``, integers in ``[0, K)``.

    Returns:
        ``(loss, dscores)``: the mean of ``-log p[y]`` (float) and ``(p - onehot(y)) / N``, shape ``(N, K)``.

    Raises:
        ValueError: scores not 2-D, or y of the wrong shape or out of range.
    """
    scores = _as_float(scores, "scores", ndim=2, layout="(N, K)")
    n, k = scores.shape
    labels = _check_labels(y, n, k)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_p[np.arange(n), labels].sum() / n)
    dscores = np.exp(log_p)
    dscores[np.arange(n), labels] -= 1
    return loss, dscores / n


softmax_loss = softmax_cross_entropy
