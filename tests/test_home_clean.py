"""Nothing is written outside data/ and build/: a fresh HOME stays empty through a whole notebook run.

The environment that keeps the tools out of HOME has one home, course_lib.config (``TF_QUIET_ENV`` and
``TOOL_DIRS``): the Makefile exports it through ``python -m course_lib env`` (which must run on a Python with
no packages installed, as in a fresh clone before ``make setup``), tests/conftest.py gets it by importing
config, and no other place spells it again.

The slow test's subprocess gets the environment a notebook started from any Jupyter gets: none of the tool
variables the Makefile exports, so course_lib.config alone has to point Keras, Matplotlib, IPython, Jupyter
and fontconfig into build/home/. It imports course_lib first (as every notebook does), trains a tiny Keras
model, saves a Matplotlib figure, and executes notebooks/01_why_convolutions.ipynb through the `make run`
runner.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib import config

ROOT = Path(__file__).resolve().parent.parent
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")  # a make above this test's


def _without_course_environment() -> dict[str, str]:
    """This process's environment without the variables config sets (and without an enclosing make's)."""
    return {k: v for k, v in os.environ.items() if k not in config.course_environment() and k not in
            MAKE_VARIABLES and k != "COURSE_BUILD_DIR"}


def test_config_has_one_table_of_the_environment():
    build = Path("/srv/course/build")
    env = config.course_environment(build)
    assert config.TF_QUIET_ENV == {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
    assert env["KERAS_HOME"] == str(build / "home" / "keras")
    assert config.tool_environment()["KERAS_HOME"] == str(config.BUILD_DIR / "home" / "keras")
    assert config.tool_environment("/tmp")["JUPYTER_DATA_DIR"] == str(Path("/tmp/jupyter/data"))
    assert set(env) == set(config.TF_QUIET_ENV) | set(config.TOOL_DIRS)
    # tests/conftest.py imported config: this process has every variable (values the Makefile may have set)
    assert set(env) <= set(os.environ)


def test_the_command_needs_only_the_standard_library(tmp_path):
    # -S: no site-packages at all (neither the venv's nor the system's), as for the system Python in a fresh
    # clone, where the Makefile runs this command while it is parsed, before `make setup` installs anything
    env = {k: v for k, v in _without_course_environment().items() if not k.startswith("PYTHON")}
    for fmt in ("sh", "make"):
        out = subprocess.run([sys.executable, "-S", "-m", "course_lib", "env", "--build", str(tmp_path),
                              "--format", fmt], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        if fmt == "sh":
            lines = [shlex.split(line)[1] for line in lines if shlex.split(line)[0] == "export"]
        assert dict(line.split("=", 1) for line in lines) == config.course_environment(tmp_path)
    bad = subprocess.run([sys.executable, "-S", "-m", "course_lib", "env", "--build", str(tmp_path / "a b"),
                          "--format", "make"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == "" and "may not contain blanks" in bad.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_makefile_recipes_run_in_configs_environment(tmp_path):
    env = _without_course_environment()
    env["COURSE_BUILD_DIR"] = str(tmp_path / "build")
    python = f"{shlex.quote(sys.executable)} -S"  # no packages, as in a fresh clone
    out = subprocess.run(["make", "-s", "--no-print-directory", f"PYTHON={python}", "--eval",
                          "show-environment: ; @env", "show-environment"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    expected = config.course_environment(tmp_path / "build")
    assert {k: seen.get(k) for k in expected} == expected


# Where the kit sets environment variables for itself or for the processes it starts. Each place takes the
# names and values from config; none writes one of them again (reading one, as `os.environ.get("KERAS_HOME")`
# does, is fine).
def _assignments(text: str, name: str, *, make: bool) -> list[str]:
    if make:  # NAME = / := / ?= / += ..., with or without export
        pattern = rf"^[ \t]*(?:export[ \t]+)?{name}[ \t]*[:?+!]?="
    else:  # a dict key or a call's first argument ("NAME": / "NAME", ...), a keyword or assignment (NAME=)
        pattern = rf"[\"']{name}[\"']\s*[:,]|\b{name}\s*=(?!=)"
    return [m.group(0) for m in re.finditer(pattern, text, re.M)]


def _sources(folder: str, *, leave_out: tuple[str, ...] = ()) -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*.py")
                  if not any(part in leave_out for part in p.relative_to(ROOT).parts))


PLACES = {
    "Makefile": ["Makefile"],
    "tests/conftest.py": ["tests/conftest.py"],
    "course_lib": _sources("course_lib", leave_out=("config.py", "grading")),
    "course_lib/grading": _sources("course_lib/grading"),
}


@pytest.mark.parametrize("place", list(PLACES))
def test_no_place_writes_the_environment_again(place):
    found = {}
    for path in PLACES[place]:
        text = (ROOT / path).read_text(encoding="utf-8")
        for name in config.course_environment():
            hits = _assignments(text, name, make=path == "Makefile")
            if hits:
                found.setdefault(path, []).extend(hits)
    assert not found, f"set outside course_lib.config (use config.TF_QUIET_ENV / tool_environment()): {found}"


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts)


@pytest.mark.slow
def test_a_notebook_run_writes_nothing_into_a_fresh_home(tmp_path):
    home, cwd, build, data = (tmp_path / name for name in ("home", "cwd", "build", "data"))
    for folder in (home, cwd):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in config.TOOL_DIRS and not k.startswith("XDG_")}
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
