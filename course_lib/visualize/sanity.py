"""Sanity checks for explanations: randomise a network's weights and compare the maps it yields.

Reference: Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim, "Sanity Checks for Saliency Maps",
    NeurIPS 2018.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from .. import validation
from ._inputs import check_model
from .layers import get_layer

__all__ = ["randomized_copy", "rank_correlation"]


def randomized_copy(
    model: keras.Model, layer_names: Sequence[str] | None = None, *, seed: int = 0
) -> keras.Model:
    """A copy of the model whose chosen layers get fresh random weights (the others keep the trained ones).

    This is the model-parameter randomisation test: an explanation method that draws the same picture for
    the trained and the randomised network is not explaining what the network learned. Randomising the
    layers from the top down, one more each time, gives the "cascading" version of the test.

    Args:
        model: a functional or Sequential ``keras.Model`` (custom layers must be serialisable).
        layer_names: layers to re-initialise (one name or a sequence); default all of them.
        seed: seeds Keras' random generators (``keras.utils.set_random_seed``) before the fresh weights are
            drawn, so the copy is reproducible.

    Returns:
        A new model with the same architecture; ``model`` itself is untouched.

    Raises:
        TypeError: model is not a Keras model, a name is not a str, or seed not an int.
        ValueError: an unknown layer name, or a negative seed.

    Reference: Adebayo et al. 2018 (above).
    """
    check_model(model)
    seed = validation.check_int(seed, "seed", minimum=0)
    chosen = {layer.name for layer in model.layers}
    if layer_names is not None:
        if isinstance(layer_names, str):
            layer_names = [layer_names]
        chosen = {get_layer(model, n, f"layer_names[{i}]").name for i, n in enumerate(layer_names)}
    keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(model)
    for layer in model.layers:
        if layer.name not in chosen and layer.weights:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def rank_correlation(a: Any, b: Any) -> float:
    """Spearman rank correlation of two maps of the same shape (1: same ordering of pixels, 0: unrelated).

    Args:
        a, b: arrays of equal shape (e.g. two (H, W) saliency maps).

    Returns:
        The correlation as a float in [-1, 1]; nan when a map is constant.

    Raises:
        TypeError: a or b is not a numeric array.
        ValueError: the shapes differ.

    Reference: Adebayo et al. 2018 (above), their similarity measure.
    """
    from scipy.stats import rankdata

    a = validation.check_array(a, "a").astype(np.float64)
    b = validation.check_array(b, "b").astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    ra, rb = rankdata(a.ravel()), rankdata(b.ravel())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")
