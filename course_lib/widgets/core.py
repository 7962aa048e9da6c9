"""Static or live: how every lecture control decides what to show, and the figures both ways share.

``static=None`` (the default of every ``show_*``) asks :func:`static_mode`: the environment variable
``COURSE_STATIC_FIGURES`` decides when it is set (``1``/``0``); otherwise the control is live only in an
IPython kernel started by a notebook server (JupyterLab, Notebook 7, Voila: they set ``JPY_SESSION_NAME``),
by VS Code or by Colab, with ``ipywidgets`` importable. A static control is :func:`static_grid`, one panel per
parameter setting; a live one is :func:`live`, controls above an output area that a render function redraws.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..validation import check_array, check_bool, check_choice

__all__ = ["STATIC_ENV_VAR", "MAX_GRID", "static_mode", "static_grid", "new_figure", "live", "error_figure",
           "image2d"]

STATIC_ENV_VAR = "COURSE_STATIC_FIGURES"
# Environment variables that only an interactive frontend's kernel has (see the module docstring).
_FRONTEND_ENV_VARS = ("JPY_SESSION_NAME", "VSCODE_PID")
# Above this many cells per side the grid drawings become unreadable on a projector.
MAX_GRID = 24


def _frontend_present() -> bool:
    """True in a kernel that a widget-capable frontend started (see the module docstring)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "kernel"):
        return False  # plain Python or a terminal IPython: nothing can show a widget
    return any(os.environ.get(v) for v in _FRONTEND_ENV_VARS) or "google.colab" in sys.modules


def static_mode(static: bool | None = None) -> bool:
    """Whether controls draw static figures (True) or live widgets (False).

    Args:
        static: True or False forces the answer; None decides from ``COURSE_STATIC_FIGURES`` when it is set
            ("1", "true", "yes" or "0", "false", "no"), else from whether a widget frontend is present.

    Returns:
        True for static figures.

    Raises:
        TypeError: static is not None or a bool.
        ValueError: ``COURSE_STATIC_FIGURES`` holds something else.
    """
    if static is not None:
        return check_bool(static, "static")
    env = os.environ.get(STATIC_ENV_VAR, "").strip().lower()
    if env:
        words = ("1", "true", "yes", "0", "false", "no")
        return check_choice(env, STATIC_ENV_VAR, words) in words[:3]
    return not _frontend_present()


def static_grid(draw: Callable[..., None], settings: Sequence[Mapping[str, Any]], *, ncols: int,
                panel: tuple[float, float], title: str) -> Figure:
    """One figure with a sub-figure per setting; ``draw(subfig, **setting)`` fills each.

    Raises:
        ValueError: no settings.
    """
    if not settings:
        raise ValueError("settings must hold at least one parameter setting, got none")
    ncols = max(1, min(ncols, len(settings)))
    nrows = -(-len(settings) // ncols)
    fig = plt.figure(figsize=(panel[0] * ncols, panel[1] * nrows + 0.4), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(nrows, ncols)).ravel()
    for sub, setting in zip(subfigs, settings):
        draw(sub, **dict(setting))
    for sub in subfigs[len(settings):]:
        sub.set_visible(False)
    fig.suptitle(title)
    return fig


def new_figure(draw: Callable[..., None], figsize: tuple[float, float], **params: Any) -> Figure:
    """A constrained-layout figure of ``figsize`` inches filled by ``draw(fig, **params)``."""
    fig = plt.figure(figsize=figsize, layout="constrained")
    draw(fig, **params)
    return fig


def error_figure(error: Exception) -> Figure:
    """A one-line figure with the message of a setting that does not fit (a live callback must not raise)."""
    fig = plt.figure(figsize=(6, 1))
    fig.text(0.02, 0.5, str(error), va="center")
    return fig


def live(render: Callable[..., Figure], controls: Mapping[str, Any]) -> Any:
    """Display ``controls`` above an output area that ``render(**values)`` redraws; returns the box."""
    import ipywidgets as widgets
    from IPython.display import display

    def redraw(**values: Any) -> None:
        fig = render(**values)
        display(fig)
        plt.close(fig)  # displayed once; the inline backend would draw it again at the end of the cell

    out = widgets.interactive_output(redraw, dict(controls))
    row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    box = widgets.VBox([row, out])
    display(box)
    return box


def image2d(x: Any, name: str) -> np.ndarray:
    """``x`` as a non-empty 2-D float array.

    Raises:
        TypeError: not numeric.
        ValueError: not 2-D, or empty.
    """
    arr = check_array(x, name, ndim=2, layout="(H, W)")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr.astype(float)
