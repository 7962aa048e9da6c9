"""Datasets for the course: Keras downloads cached under ``data/``, and offline sets that need no network.

Every loader returns a :class:`Dataset` of NHWC ``float32`` images in [0, 1] with ``int64`` labels, which
unpacks like ``keras.datasets``::

    (x_train, y_train), (x_test, y_test) = load_dataset("mnist", fallback="digits")

Downloaded sets (``mnist``, ``fashion_mnist``, ``cifar10``) are fetched from the same addresses as
``keras.datasets`` and checked against their published checksums (Keras's SHA-256 for MNIST and CIFAR-10,
Zalando's MD5 for Fashion-MNIST), but kept in ``data/keras/`` so a course folder carries its own cache. Files
that Keras itself downloaded before (``~/.keras/datasets``, under Keras's own names) are found and read in
place, never written. ``make data`` (``python -m course_lib.data fetch``) downloads all three. In quick mode
a set that is on disk is used; one that is not is never downloaded: its ``fallback`` is used and one line says
so.

Offline sets:
    digits    scikit-learn's 1,797 handwritten digits, 8x8; ``image_size=28`` or ``32`` centres the digit in a
              20x20 box the way MNIST does (28) and LeNet's padded input does (32).
    faces     scikit-image's ``lfw_subset``: 100 faces and 100 non-faces, 25x25 grey.
    photos    the colour and grey photographs shipped with scikit-image and scikit-learn, resized to a square
              (one per class; for filter demos, not for training). See also :func:`load_photo`.
    mnist1d   Greydanus' MNIST-1D, generated locally by the ``mnist1d`` package (never its download path):
              4,000 + 1,000 signals of length 40, shape (N, 40, 1). These values are NOT in [0, 1]: they are
              the generator's zero-centred signals, as in the dataset's paper.
    shapes10  ten classes of coloured shapes on noisy backgrounds, 32x32x3 like CIFAR-10, generated from the
              seed (see :func:`make_shapes10`).
    scenes    several shapes10 objects per 64x64 image with boxes and masks, for detection and segmentation
              (loaded by its sibling :func:`course_lib.scenes.load_scene_dataset`, which also loads the real
              ``"pennfudan"``; scenes imports data, never the reverse).

Every name is importable from ``course_lib.data``; each lives in one module with one job:

- :mod:`~course_lib.data.files`: which sets exist, where the downloaded ones are cached, and the kit's one
  hash-checked downloader (:func:`download_file`, on ``keras.utils.get_file``) and digest
  (:func:`file_digest`), which :mod:`course_lib.scenes` and :mod:`course_lib.pretrained` use too.
- :mod:`~course_lib.data.parsers`: the downloaded sets' file formats, read after their checksums are checked.
- :mod:`~course_lib.data.generators`: ``make_shapes10`` and its :func:`shape_masks`, and MNIST-1D.
- :mod:`~course_lib.data.loaders`: ``load_dataset``, ``Dataset``, the offline sets, ``standardize_per_image``.
- :mod:`~course_lib.data.cli`: ``fetch`` and ``main``, run by ``python -m course_lib.data`` (``make data``).
"""

from __future__ import annotations

from .cli import fetch, main
from .files import (
    DEFAULT_FALLBACK,
    DOWNLOAD_TIMEOUT_S,
    DOWNLOADED,
    KERAS_BASE,
    KERAS_FILES,
    OFFLINE,
    ChecksumMismatch,
    DatasetUnavailable,
    DownloadFailed,
    available_datasets,
    cache_paths,
    download_file,
    file_digest,
    is_cached,
    known_datasets,
    locate,
)
from .generators import make_shapes10, shape_masks
from .loaders import (
    CLASS_NAMES,
    SCENE_DATASETS,
    Dataset,
    load_dataset,
    load_photo,
    photo_names,
    standardize_per_image,
)

__all__ = [
    "CLASS_NAMES", "DEFAULT_FALLBACK", "DOWNLOADED", "DOWNLOAD_TIMEOUT_S", "KERAS_BASE", "KERAS_FILES",
    "OFFLINE", "SCENE_DATASETS", "ChecksumMismatch", "Dataset", "DatasetUnavailable", "DownloadFailed",
    "available_datasets", "cache_paths", "download_file", "fetch", "file_digest", "is_cached",
    "known_datasets", "load_dataset", "load_photo", "locate", "main", "make_shapes10", "photo_names",
    "shape_masks", "standardize_per_image",
]
