"""The ImageNet networks of keras.applications with their weights (:func:`imagenet_model`), each one's input
preprocessing, the 1000 class names, and top-k decoding.

The weight files are found, downloaded and hash-checked by :mod:`~course_lib.pretrained.lookup`; when they
cannot be had, ``fallback="course"`` gives the course's offline network (:mod:`.course`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..validation import check_array, check_choice, check_int
from . import lookup
from .course import course_model
from .lookup import IMAGENET_WEIGHTS, WeightsCorrupt, WeightsUnavailable, check_network_name, locate_weights

# Each network's own input preprocessing (keras.applications.<module>.preprocess_input) and default size.
_MODULES = {"vgg16": "vgg16", "resnet50": "resnet", "mobilenet_v2": "mobilenet_v2",
            "efficientnet_b0": "efficientnet", "xception": "xception", "inception_v3": "inception_v3"}
DEFAULT_SIZES = {"vgg16": 224, "resnet50": 224, "mobilenet_v2": 224, "efficientnet_b0": 224, "xception": 299,
                 "inception_v3": 299}

FALLBACKS = ("course", "random")


def _mobilenet_args(name: str, kwargs: dict) -> tuple[float, int]:
    if name != "mobilenet_v2":
        return 1.0, 224
    shape = kwargs.get("input_shape")
    rows = int(shape[0]) if shape is not None and shape[0] == shape[1] else 224
    return kwargs.get("alpha", 1.0), rows


def imagenet_model(name: str, *, include_top: bool = True, data_dir=None, download: bool = True,
                   fallback: str | None = None, keras_cache: bool = True, **kwargs):
    """A keras.applications network with its ImageNet weights, from disk or downloaded with its hash checked.

    The weight file is looked for in ``<data_dir>/keras/models/`` and then in Keras's caches under the name
    keras.applications gives it; a missing one is downloaded (``download=True``) from the address Keras uses,
    into ``<data_dir>/keras/models/``. The file's hash is checked before it is loaded.

    Args:
        name: one of :data:`IMAGENET_MODELS`: "vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0",
            "xception", "inception_v3".
        include_top: keep the 1000-class ImageNet classifier (then ``classes`` must stay 1000).
        data_dir: the course's data folder (default ``config.DATA_DIR``).
        download: allow a download when the file is not on disk.
        fallback: what to return when the weights cannot be had: None raises; "course" returns
            :func:`course_model` (the course's offline network: a different, 32x32 architecture); "random"
            returns the same architecture untrained. One line is printed saying so.
        keras_cache: search Keras's caches too.
        **kwargs: passed to the keras.applications constructor (``input_shape``, ``pooling``, ``alpha``, ...).

    Returns:
        The ``keras.Model``, expecting inputs prepared by :func:`preprocess` (each network's own
        ``preprocess_input``).

    Raises:
        TypeError / ValueError: unknown name or fallback, ``weights=`` or ``classes != 1000`` with the top.
        WeightsUnavailable: no file, no download and no fallback.
        WeightsCorrupt: a file on disk fails its hash check or cannot be loaded into the model.

    Reference: Yosinski, Clune, Bengio and Lipson, "How transferable are features in deep neural networks?",
    NeurIPS 2014 (why reusing them works); each network's own paper is cited in its keras.applications page.
    """
    import keras

    name = check_network_name(name)
    if fallback is not None:
        check_choice(fallback, "fallback", FALLBACKS)
    if "weights" in kwargs:
        raise TypeError("imagenet_model always loads ImageNet weights; build keras.applications."
                        f"{IMAGENET_WEIGHTS[name][0]} yourself for weights={kwargs['weights']!r}")
    if include_top and kwargs.get("classes", 1000) != 1000:
        raise ValueError("classes must be 1000 with include_top=True (ImageNet's), "
                         f"got {kwargs['classes']!r}")
    alpha, rows = _mobilenet_args(name, kwargs)
    constructor = getattr(keras.applications, IMAGENET_WEIGHTS[name][0])
    try:
        path = locate_weights(name, include_top=include_top, data_dir=data_dir, download=download,
                              alpha=alpha, rows=rows, keras_cache=keras_cache)
    except WeightsUnavailable as err:
        if fallback is None:
            raise
        print(f"{name}: ImageNet weights unavailable ({str(err).splitlines()[0]}); using "
              + ("the course's offline network instead" if fallback == "course"
                 else "the same architecture with random weights instead"))
        if fallback == "course":
            return course_model(include_top=include_top)
        return constructor(weights=None, include_top=include_top, **kwargs)
    model = constructor(weights=None, include_top=include_top, **kwargs)
    try:
        model.load_weights(path)
    except Exception as err:  # h5py, Keras shape checks: a damaged or foreign file
        raise WeightsCorrupt(
            f"the weight file {path} could not be loaded into {name} ({type(err).__name__}: {err}). It is "
            "damaged or belongs to another network or input size; delete it and fetch it again "
            "(`make weights`).") from err
    return model


def preprocess(name: str, images) -> np.ndarray:
    """Prepare images in [0, 1] for an ImageNet network: scale to [0, 255] and apply its ``preprocess_input``.

    Args:
        name: one of :data:`IMAGENET_MODELS`.
        images: (N, H, W, 3) RGB in [0, 1].

    Returns:
        (N, H, W, 3) float32 as the network expects (VGG16/ResNet50: BGR minus the ImageNet means;
        MobileNetV2, Xception, InceptionV3: [-1, 1]; EfficientNet: [0, 255], it rescales itself).
    """
    import keras

    name = check_network_name(name)
    module = getattr(keras.applications, _MODULES[name])
    return np.asarray(module.preprocess_input(np.asarray(images, np.float32) * 255.0), dtype=np.float32)


def imagenet_classes(*, data_dir=None, download: bool = True,
                     keras_cache: bool = True) -> list[tuple[str, str]]:
    """The 1000 ImageNet classes as (WordNet id, name), from the file decode_predictions uses (hash-checked).

    Raises:
        WeightsUnavailable / WeightsCorrupt: as for :func:`locate_weights`.
    """
    path = lookup.obtain(lookup.CLASS_INDEX, what="ImageNet class names", data_dir=data_dir,
                         download=download, keras_cache=keras_cache)
    index = json.loads(Path(path).read_text())
    return [tuple(index[str(i)]) for i in range(len(index))]


def top_k(probabilities, class_names, *, k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable classes of each row, best first (``decode_predictions`` without the download).

    Args:
        probabilities: (N, C) scores.
        class_names: C names, or C (id, name) pairs as :func:`imagenet_classes` returns (the name is kept).
        k: how many classes per row (1 to C).

    Returns:
        N lists of ``k`` pairs (class name, score).

    Raises:
        ValueError: not 2-D, ``k`` out of range, or a class count that differs from ``len(class_names)``.
    """
    p = check_array(probabilities, "probabilities", ndim=2, layout="(N, C)")
    names = [c[1] if isinstance(c, (tuple, list)) else str(c) for c in class_names]
    if p.shape[1] != len(names):
        raise ValueError(f"probabilities must have {len(names)} columns (one per class name), "
                         f"got shape {p.shape}")
    k = check_int(k, "k", minimum=1, maximum=p.shape[1])
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return [[(names[j], float(row[j])) for j in idx] for row, idx in zip(p, order)]


