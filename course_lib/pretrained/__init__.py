"""Pretrained networks: keras.applications with ImageNet weights, and the course's own offline checkpoint.

Two sources of pretrained weights:

- :func:`imagenet_model` builds a ``keras.applications`` model and loads its published ImageNet weights. The
  weight files are looked up first in the course's data folder (``data/keras/models/``), then in Keras's own
  caches (``$KERAS_HOME/models/``, ``~/.keras/models/``) under the file names keras.applications gives them,
  and only then downloaded (``download=True``) from the addresses keras.applications uses, with their
  published checksums. Every file is checked against its checksum before it is loaded. ``make weights``
  (``python -m course_lib.pretrained fetch``) fetches them on a machine with internet access.
- :func:`course_model` loads a small CNN that the course pretrained on :func:`make_glyphs`, a generated
  100-class task that needs no download (``scripts/pretrain_course_net.py`` reproduces it). Its checkpoint
  ships inside the package with its SHA-256 and training record (``checkpoints/course_net.json``). It takes
  32x32 RGB images with values in [0, 1]; its first layer rescales them to [-1, 1] itself.

Every name is importable from ``course_lib.pretrained``; each lives in one module with one job:

- :mod:`~course_lib.pretrained.lookup`: the weight files' table, where they are looked for, their hash check
  and their download (through the kit's one downloader, :func:`course_lib.data.download_file`).
- :mod:`~course_lib.pretrained.imagenet`: ``imagenet_model``, ``preprocess``, ``imagenet_classes``, ``top_k``.
- :mod:`~course_lib.pretrained.course`: the course network, its glyph data and its checkpoint.
- :mod:`~course_lib.pretrained.cli`: ``status``, ``fetch`` and ``main``, run by ``python -m
  course_lib.pretrained`` (``make weights``).
"""

from __future__ import annotations

from ..data.files import file_digest
from .cli import NOTEBOOK_WEIGHTS, fetch, main, status
from .course import (
    CHECKPOINT_DIR,
    CHECKPOINT_NAME,
    COURSE_INPUT_NOTE,
    COURSE_INPUT_SHAPE,
    COURSE_WIDTHS,
    NUM_GLYPH_CLASSES,
    RECORD_NAME,
    course_model,
    course_net,
    course_record,
    make_glyphs,
)
from .imagenet import DEFAULT_SIZES, FALLBACKS, imagenet_classes, imagenet_model, preprocess, top_k
from .lookup import (
    CLASS_INDEX,
    IMAGENET_MODELS,
    IMAGENET_WEIGHTS,
    MOBILENET_V2_HASHES,
    WeightFile,
    WeightsCorrupt,
    WeightsUnavailable,
    fetch_weights,
    find_weights,
    locate_weights,
    verify_file,
    weight_file,
    weights_dirs,
)

__all__ = [
    "CHECKPOINT_DIR", "CHECKPOINT_NAME", "CLASS_INDEX", "COURSE_INPUT_NOTE", "COURSE_INPUT_SHAPE",
    "COURSE_WIDTHS", "DEFAULT_SIZES", "FALLBACKS", "IMAGENET_MODELS", "IMAGENET_WEIGHTS",
    "MOBILENET_V2_HASHES", "NOTEBOOK_WEIGHTS", "NUM_GLYPH_CLASSES", "RECORD_NAME", "WeightFile",
    "WeightsCorrupt", "WeightsUnavailable", "course_model", "course_net", "course_record", "fetch",
    "fetch_weights", "file_digest", "find_weights", "imagenet_classes", "imagenet_model", "locate_weights",
    "main", "make_glyphs", "preprocess", "status", "top_k", "verify_file", "weight_file", "weights_dirs",
]
