"""The course's baseline: a linear classifier on the raw pixels, trained in the same run as each network."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from .. import config
from ..validation import check_float, check_int, check_int_tuple
from .loop import evaluate_accuracy, fit
from .pipeline import split_pair
from .recipes import compile_model, get_recipe


def linear_readout(input_shape: Sequence[int], num_classes: int, *, seed: int = 0) -> keras.Model:
    """The course's standard baseline: a linear classifier (softmax regression) on the raw inputs.

    Every training demo compares its network against this model trained in the same run on the same data, so a
    network's accuracy is read as a margin over "what the pixels alone give", not as an absolute number.

    Args:
        input_shape: shape of one sample, e.g. ``(32, 32, 3)``.
        num_classes: number of classes (>= 2).
        seed: seeds the initial weights through ``config.set_seed``.

    Returns:
        An uncompiled ``keras.Model`` named ``linear``: ``Flatten`` then ``Dense(num_classes, softmax)``,
        ``prod(input_shape) * num_classes + num_classes`` parameters; output ``(batch, num_classes)``.

    Raises:
        TypeError / ValueError: bad ``input_shape``, ``num_classes`` or ``seed``.
    """
    length = len(input_shape) if isinstance(input_shape, (tuple, list)) else 1
    shape = check_int_tuple(input_shape, "input_shape", length, minimum=1)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    config.set_seed(check_int(seed, "seed", minimum=0))
    return keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                             keras.layers.Dense(num_classes, activation="softmax", name="predictions")],
                            name="linear")


def linear_baseline(train, test, *, epochs: int = 10, validation=None, batch_size: int = 32,
                    learning_rate: float = 1e-3, seed: int = 0) -> tuple[keras.Model, float]:
    """Train ``linear_readout`` with Adam and return it with its test accuracy.

    A few epochs of Adam reach what a converged logistic regression reaches on these small sets, within a few
    points, in a second instead of the tens of seconds an L-BFGS fit on thousands of pixels takes.

    Args:
        train: ``(x, y)`` with ``x`` ``(n, ...)`` and ``y`` ``(n,)`` integer labels.
        test: ``(x_test, y_test)``, evaluated once at the end.
        epochs: passes over ``train``.
        validation: optional ``(x_val, y_val)``, recorded in the history (never the test set).
        batch_size: minibatch size.
        learning_rate: Adam's step size.
        seed: initial weights and shuffling.

    Returns:
        ``(model, test_accuracy)``; the model's ``history`` attribute holds the Keras history.
    """
    x, y = split_pair(train, "train")
    num_classes = int(max(np.max(y), np.max(split_pair(test, "test")[1]))) + 1
    model = linear_readout(np.shape(x)[1:], max(num_classes, 2), seed=seed)
    recipe = get_recipe("adam", learning_rate=check_float(learning_rate, "learning_rate", minimum=0.0,
                                                          include_minimum=False))
    compile_model(model, recipe=recipe)
    fit(model, (x, y), recipe=recipe, epochs=epochs, batch_size=batch_size, validation=validation, seed=seed)
    return model, evaluate_accuracy(model, test)
