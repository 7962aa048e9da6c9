"""A small convolutional network built from the NumPy ops: conv -> ReLU -> max-pool -> dense -> softmax.

Big enough to learn handwritten digits, small enough that every gradient can be checked numerically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import shapes
from ..validation import (
    check_array,
    check_float,
    check_positive_int,
    type_error,
    value_error,
)
from .conv import _check_maps, conv_backward, conv_forward
from .layers import dense_backward, dense_forward, relu_backward, relu_forward, softmax_cross_entropy
from .pool import pool_backward, pool_forward


class TinyCNN:
    """conv(KxK, "same", F filters) -> ReLU -> PxP max-pool -> dense -> softmax, trained by minibatch SGD.

    Parameters live in ``self.params``: ``W1 (K, K, C, F)``, ``b1 (F,)``, ``W2 (OH*OW*F, num_classes)``,
    ``b2 (num_classes,)``; W1 starts with He's scale ``sqrt(2 / fan_in)`` (it feeds a ReLU), W2 with
    ``sqrt(1 / fan_in)``, biases at zero.

    Args:
        input_shape: ``(H, W, C)`` of one image.
        num_filters: F, the convolution's output channels.
        kernel_size: K, the (square) kernel size.
        pool_size: P, max-pool window and stride.
        num_classes: number of classes.
        reg: L2 weight decay strength on W1 and W2 (adds ``reg/2 * sum(W^2)`` to the loss).
        seed: seeds the initial weights.
        dtype: np.float32 (fast) or np.float64 (for gradient checks).

    Raises:
        TypeError: a size that is not an int, a reg that is not a number.
        ValueError: a size below 1, a negative reg, a pool larger than the map, or a bad dtype.

    Reference: Y. LeCun et al., "Gradient-Based Learning Applied to Document Recognition", Proc. IEEE 1998;
    K. He et al., "Delving Deep into Rectifiers", ICCV 2015 (the initialisation).
    """

    def __init__(self, input_shape: tuple[int, int, int] = (8, 8, 1), num_filters: int = 8,
                 kernel_size: int = 3, pool_size: int = 2, num_classes: int = 10, reg: float = 0.0,
                 seed: int = 0, dtype: Any = np.float32) -> None:
        if not isinstance(input_shape, (tuple, list)):
            raise type_error("input_shape", "a tuple (H, W, C)", input_shape)
        if len(input_shape) != 3:
            raise value_error("input_shape", "a tuple (H, W, C)", tuple(input_shape))
        h, w, c = (check_positive_int(v, f"input_shape[{i}]") for i, v in enumerate(input_shape))
        self.num_filters = check_positive_int(num_filters, "num_filters")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.pool_size = check_positive_int(pool_size, "pool_size")
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.reg = check_float(reg, "reg", minimum=0.0)
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise value_error("dtype", "float32 or float64", dtype)
        if self.pool_size > min(h, w):
            raise ValueError(f"pool_size {pool_size} is larger than the {h}x{w} feature map")
        self.input_shape = (h, w, c)
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        k, f = self.kernel_size, self.num_filters
        conv_hw = shapes.conv_output_size((h, w), k, 1, "same")  # "same" at stride 1 keeps H x W
        pool_h, pool_w = shapes.conv_output_size(conv_hw, self.pool_size, self.pool_size)
        hidden = pool_h * pool_w * f
        self.params = {
            "W1": rng.normal(0, np.sqrt(2 / (k * k * c)), (k, k, c, f)),
            "b1": np.zeros(f),
            # The classifier feeds a softmax, not a ReLU: LeCun's sqrt(1 / fan_in) keeps initial scores small.
            "W2": rng.normal(0, np.sqrt(1 / hidden), (hidden, self.num_classes)),
            "b2": np.zeros(self.num_classes),
        }
        self.params = {name: p.astype(self.dtype) for name, p in self.params.items()}

    def _check_x(self, x: Any) -> np.ndarray:
        x = _check_maps(x, "x", "(N, H, W, C)")
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"x must have images of shape {self.input_shape}, got {x.shape[1:]}")
        return x.astype(self.dtype, copy=False)

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        p = self.params
        a1, conv_cache = conv_forward(x, p["W1"], p["b1"], stride=1, pad="same")  # (N, H, W, F)
        r1, relu_cache = relu_forward(a1)
        z1, pool_cache = pool_forward(r1, self.pool_size, self.pool_size, mode="max")  # (N, H/P, W/P, F)
        scores, dense_cache = dense_forward(z1, p["W2"], p["b2"])  # (N, classes)
        return scores, (conv_cache, relu_cache, pool_cache, dense_cache)

    def scores(self, x: Any) -> np.ndarray:
        """Class scores (logits) ``(N, num_classes)`` for images ``(N, H, W, C)``."""
        return self._forward(self._check_x(x))[0]

    def loss(self, x: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
        """Mean softmax cross-entropy (plus L2 penalty) and the gradient of every parameter.

        Args:
            x: images ``(N, H, W, C)``.
            y: integer labels ``(N,)``.

        Returns:
            ``(loss, grads)`` with grads keyed like ``self.params`` and shaped like each parameter.

        Raises:
            ValueError: x or y of the wrong shape, labels out of range.
        """
        x = self._check_x(x)
        scores, (conv_cache, relu_cache, pool_cache, dense_cache) = self._forward(x)
        loss, dscores = softmax_cross_entropy(scores, y)
        dz1, dw2, db2 = dense_backward(dscores, dense_cache)
        dr1 = pool_backward(dz1, pool_cache)
        da1 = relu_backward(dr1, relu_cache)
        _, dw1, db1 = conv_backward(da1, conv_cache)
        grads = {"W1": dw1, "b1": db1, "W2": dw2, "b2": db2}
        for name in ("W1", "W2"):
            loss += 0.5 * self.reg * float(np.sum(self.params[name] ** 2))
            grads[name] = grads[name] + self.reg * self.params[name]
        return loss, grads

    def predict(self, x: Any, batch_size: int = 512) -> np.ndarray:
        """Predicted labels ``(N,)`` (argmax of the scores), computed in batches to bound memory."""
        x = self._check_x(x)
        batch_size = check_positive_int(batch_size, "batch_size")
        return np.concatenate([self._forward(x[i:i + batch_size])[0].argmax(axis=1)
                               for i in range(0, len(x), batch_size)]) if len(x) else np.zeros(0, int)

    def accuracy(self, x: Any, y: Any) -> float:
        """Fraction of images whose predicted label equals y ``(N,)``."""
        return float(np.mean(self.predict(x) == np.asarray(y)))

    def fit(self, x: Any, y: Any, epochs: int = 10, lr: float = 0.05, batch_size: int = 32, seed: int = 0,
            momentum: float = 0.9, x_val: Any = None, y_val: Any = None) -> dict[str, list[float]]:
        """Train with minibatch SGD (optionally with momentum), shuffling every epoch.

        Args:
            x: images ``(N, H, W, C)``; y: labels ``(N,)``.
            epochs: passes over the data; lr: learning rate; batch_size: examples per step.
            seed: seeds the shuffling.
            momentum: 0 for plain SGD, e.g. 0.9 for heavy-ball momentum ``v = m v - lr g; p += v``.
            x_val, y_val: optional validation set, scored after each epoch.

        Returns:
            History dict with Keras's keys (so ``plotting.plot_history`` draws it): "loss" (mean training loss
            over the epoch's steps) and "accuracy" (on the training set after the epoch), plus "val_loss" and
            "val_accuracy" when a validation set is given.

        Raises:
            TypeError: a hyper-parameter of the wrong type (epochs=2.0, lr="0.1").
            ValueError: bad shapes, or a hyper-parameter out of range.
        """
        x = self._check_x(x)
        y = check_array(y, "y")
        if y.shape != (x.shape[0],):
            raise ValueError(f"y must have shape (N,) = ({x.shape[0]},), got {y.shape}")
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        lr = check_float(lr, "lr", minimum=0.0)
        momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0, include_maximum=False)
        rng = np.random.default_rng(seed)
        velocity = {name: np.zeros_like(p) for name, p in self.params.items()}
        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        if x_val is not None:
            x_val = self._check_x(x_val)
            history["val_loss"], history["val_accuracy"] = [], []
        for _ in range(epochs):
            order = rng.permutation(len(x))
            losses = []
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                loss, grads = self.loss(x[idx], y[idx])
                losses.append(loss * len(idx))
                for name, g in grads.items():
                    velocity[name] = momentum * velocity[name] - lr * g
                    self.params[name] += velocity[name].astype(self.dtype, copy=False)
            history["loss"].append(float(np.sum(losses) / len(x)))
            history["accuracy"].append(self.accuracy(x, y))
            if x_val is not None:
                val_scores = np.concatenate([self._forward(x_val[i:i + 512])[0]
                                             for i in range(0, len(x_val), 512)])
                history["val_loss"].append(softmax_cross_entropy(val_scores, y_val)[0])
                history["val_accuracy"].append(float(np.mean(val_scores.argmax(axis=1) == np.asarray(y_val))))
        return history
