"""Shared pytest set-up: quiet TensorFlow before anything imports it, and tune nbval's comparison."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# Tests and CI run on CPU in quick mode unless the caller says otherwise (the GPU job sets COURSE_MODE=full).
os.environ.setdefault("COURSE_MODE", "quick")


def pytest_collectstart(collector):
    # stderr carries TensorFlow and Python warnings whose text changes between versions and machines; what a
    # notebook teaches is on stdout, so leave stderr (and rich HTML reprs) out of nbval's comparison.
    if getattr(collector, "fspath", None) is not None and str(collector.fspath).endswith(".ipynb"):
        skip = getattr(collector, "skip_compare", None)
        if skip is not None:
            collector.skip_compare = tuple(skip) + ("stderr", "text/html", "application/javascript",
                                                    "application/vnd.jupyter.widget-view+json")
