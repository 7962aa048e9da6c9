"""Shared pytest set-up: quiet TensorFlow before anything imports it, keep tools out of HOME, tune nbval."""

import os

# Tests and CI run on CPU in quick mode unless the caller says otherwise (the GPU job sets COURSE_MODE=full).
# Tests whose outcome depends on the mode set it themselves (monkeypatch), so both modes pass.
os.environ.setdefault("COURSE_MODE", "quick")
# Kernels started by nbval draw lecture controls as static figures (course_lib.widgets), never widgets.
os.environ.setdefault("COURSE_STATIC_FIGURES", "1")

# Importing course_lib.config sets TensorFlow's log and oneDNN settings (config.TF_QUIET_ENV) before anything
# imports TensorFlow, and points Keras, Matplotlib, IPython, Jupyter, fontconfig, Hypothesis and ruff into
# build/home/ (config.TOOL_DIRS); setdefault, so the values the Makefile exports from the same table win.
from course_lib import config  # noqa: E402, F401


def pytest_collectstart(collector):
    # stderr carries TensorFlow and Python warnings whose text changes between versions and machines; what a
    # notebook teaches is on stdout, so leave stderr (and rich HTML reprs) out of nbval's comparison.
    if getattr(collector, "fspath", None) is not None and str(collector.fspath).endswith(".ipynb"):
        skip = getattr(collector, "skip_compare", None)
        if skip is not None:
            collector.skip_compare = tuple(skip) + ("stderr", "text/html", "application/javascript",
                                                    "application/vnd.jupyter.widget-view+json")
