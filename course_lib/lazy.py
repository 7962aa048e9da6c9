"""Re-exports that load on first use: a module names functions that live in a heavier module (PEP 562).

:mod:`course_lib.detection` and :mod:`course_lib.segmentation` re-export the pictures that
:mod:`course_lib.plotting` draws for them (``draw_boxes``, ``show_detections``, ``show_masks``) without
importing Matplotlib when they are imported: the name is looked up in the other module the first time it is
used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(module: str, source: str, names: Iterable[str]) -> tuple[Callable[[str], Any],
                                                                          Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a module that re-exports ``names`` from ``source``.

    Args:
        module: the re-exporting module's ``__name__``.
        source: the module that defines the names (imported on first use).
        names: the names re-exported.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the module's top level.
    """
    names = frozenset(names)

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(source), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[module])) | names)

    return __getattr__, __dir__
