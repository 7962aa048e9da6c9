"""course_lib: the tested helpers behind the CNN course notebooks.

``import course_lib as cl`` is cheap: submodules load on first use (``cl.data``, ``cl.models``, ...), so the
NumPy-only parts never pull in TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import config  # noqa: F401 - always loaded: it quiets TensorFlow before anything imports it

__version__ = "0.1.0"

_SUBMODULES = (
    "config", "validation", "shapes", "numpy_cnn", "keras_adapter", "graph", "models", "data", "training",
    "plotting", "drawing", "visualize", "checks", "grading", "notebooks", "widgets", "exercises", "scenes",
    "detection", "segmentation", "metrics", "pretrained", "lazy",
)

__all__ = list(_SUBMODULES) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
