"""Nothing is written outside data/ and build/: a fresh HOME stays empty through a whole notebook run.

The subprocess gets the environment a notebook started from any Jupyter gets: none of the tool variables the
Makefile exports, so course_lib.config alone has to point Keras, Matplotlib, IPython, Jupyter and fontconfig
into build/home/. It imports course_lib first (as every notebook does), trains a tiny Keras model, saves a
Matplotlib figure, and executes notebooks/01_why_convolutions.ipynb through the `make run` runner.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib import config

ROOT = Path(__file__).resolve().parent.parent
EXTRA_MAKE_ONLY = {"HYPOTHESIS_STORAGE_DIRECTORY": "hypothesis", "RUFF_CACHE_DIR": "ruff"}  # test tools


def _makefile_tool_exports():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return dict(re.findall(r"^export (\w+) := \$\(TOOL_HOME\)/(\S+)$", text, re.M))


def test_makefile_exports_the_same_tool_folders_as_config():
    assert _makefile_tool_exports() == {**config.TOOL_DIRS, **EXTRA_MAKE_ONLY}
    assert config.tool_environment()["KERAS_HOME"] == str(config.BUILD_DIR / "home" / "keras")


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts)


@pytest.mark.slow
def test_a_notebook_run_writes_nothing_into_a_fresh_home(tmp_path):
    home, cwd, build, data = (tmp_path / name for name in ("home", "cwd", "build", "data"))
    for folder in (home, cwd):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in config.TOOL_DIRS and k not in EXTRA_MAKE_ONLY and not k.startswith("XDG_")}
    env.update(HOME=str(home), COURSE_BUILD_DIR=str(build), COURSE_DATA_DIR=str(data), COURSE_MODE="quick",
               MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    script = textwrap.dedent("""
        import course_lib
        from course_lib import config, notebooks
        import keras
        import matplotlib.pyplot as plt
        import numpy as np

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        ax.set_title("font cache")
        config.BUILD_DIR.mkdir(parents=True, exist_ok=True)
        fig.savefig(config.BUILD_DIR / "figure.png")
        results = notebooks.run(notebooks.course_notebooks(["01_why_convolutions"]))
        print(results[0].status, results[0].error)
    """)
    notebooks_before = _listing(ROOT / "notebooks")
    out = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith("ok"), out.stdout[-3000:]
    assert _listing(home) == [], f"written into HOME: {_listing(home)}"
    assert _listing(cwd) == [], f"written into the working folder: {_listing(cwd)}"
    assert _listing(ROOT / "notebooks") == notebooks_before
    # the tools did write, and where config sent them
    assert (build / "home" / "keras" / "keras.json").is_file()
    assert (build / "home" / "matplotlib").is_dir()
    assert (build / "html" / "01_why_convolutions.html").is_file()
