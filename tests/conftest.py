"""Shared pytest set-up: quiet TensorFlow before anything imports it, keep tools out of HOME, tune nbval."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# Tests and CI run on CPU in quick mode unless the caller says otherwise (the GPU job sets COURSE_MODE=full).
# Tests whose outcome depends on the mode set it themselves (monkeypatch), so both modes pass.
os.environ.setdefault("COURSE_MODE", "quick")
# Kernels started by nbval draw lecture controls as static figures (course_lib.widgets), never widgets.
os.environ.setdefault("COURSE_STATIC_FIGURES", "1")

# Importing config points Keras, Matplotlib, IPython, Jupyter and fontconfig into build/home/ (setdefault, so
# the Makefile's exports win); Hypothesis keeps its example database there too instead of ./.hypothesis.
from course_lib import config  # noqa: E402

os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(config.TOOL_HOME / "hypothesis"))


def pytest_collectstart(collector):
    # stderr carries TensorFlow and Python warnings whose text changes between versions and machines; what a
    # notebook teaches is on stdout, so leave stderr (and rich HTML reprs) out of nbval's comparison.
    if getattr(collector, "fspath", None) is not None and str(collector.fspath).endswith(".ipynb"):
        skip = getattr(collector, "skip_compare", None)
        if skip is not None:
            collector.skip_compare = tuple(skip) + ("stderr", "text/html", "application/javascript",
                                                    "application/vnd.jupyter.widget-view+json")
