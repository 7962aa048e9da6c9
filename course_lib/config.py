"""Run mode, seeding, quiet TensorFlow logs, where the kit reads and writes, and a description of the machine.

It is also the one home of the environment the kit sets (``TF_QUIET_ENV``, ``TOOL_DIRS``): ``python -m
course_lib env`` prints it for the Makefile and for shells (:func:`main`).

Importing this module never imports TensorFlow (nor any other ``course_lib`` module except ``validation``):
it only sets the environment variables that TensorFlow, Keras, Matplotlib, IPython and Jupyter read when they
start or are imported later (they have no effect afterwards, which is why every notebook imports
``course_lib`` first). The run mode is worked out lazily, the first time ``config.MODE`` is read, because
"auto" has to ask TensorFlow whether a GPU is visible.

Modes (environment variable ``COURSE_MODE``):
    quick  offline datasets unless the real ones are already on disk, small subsets, few epochs: the whole
           course in minutes on two CPU cores.
    full   the real datasets (downloaded on first use) and the epochs that reach the stated accuracies.
    auto   (default) full when a GPU is visible, else quick.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from pathlib import Path
from typing import Any, NamedTuple

from .validation import check_choice, check_int

# TensorFlow reads these when it is imported, so they must be set before it is imported anywhere: 2 hides INFO
# and WARNING lines from the C++ runtime, and oneDNN's reordered float sums would make stored notebook outputs
# differ from run to run in the last digits. This table is their one home: the Makefile (through
# `python -m course_lib env`), tests/conftest.py and the grader's environments all take them from here.
TF_QUIET_ENV: dict[str, str] = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
for _name, _value in TF_QUIET_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

VALID_MODES = ("quick", "full", "auto")

# Where the kit reads and writes: DATA_DIR (dataset cache) and BUILD_DIR (executed notebooks, trained-model
# caches, grading output, and the settings folders of the tools below), both decided by course_dir(). Keras's
# own dataset cache (~/.keras/datasets) is read, never written. The one thing left to Python is its bytecode
# cache (__pycache__ folders beside the source files, ignored by git). REPO_ROOT is the folder above the
# package: the checkout when there is one (see in_checkout), site-packages for an installed kit.
REPO_ROOT = Path(__file__).resolve().parent.parent
DIR_ENV_VARS = {"data": "COURSE_DATA_DIR", "build": "COURSE_BUILD_DIR"}
CACHE_APP_NAME = "course_lib"  # the per-user cache folder of an installed kit, e.g. ~/.cache/course_lib
MODE_ENV_VAR = "COURSE_MODE"


def in_checkout() -> bool:
    """True when this ``course_lib`` is a checkout's (run from the repository, or installed editable)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "notebooks").is_dir()


def course_dir(kind: str) -> Path:
    """The course's data or build folder, as the rule gives it now (``DATA_DIR``/``BUILD_DIR``: at import).

    Args:
        kind: "data" (dataset cache) or "build" (everything else the kit writes).

    Returns:
        An absolute path, not created here: ``$COURSE_DATA_DIR`` / ``$COURSE_BUILD_DIR`` when set (relative to
        the current folder), else the checkout's ``data/`` or ``build/``, else, for an installed kit (a wheel,
        Colab), ``<per-user cache>/course_lib/<kind>`` (platformdirs; never inside site-packages).

    Raises:
        TypeError / ValueError: ``kind`` is not "data" or "build".
    """
    kind = check_choice(kind, "kind", tuple(DIR_ENV_VARS))
    chosen = os.environ.get(DIR_ENV_VARS[kind])
    if chosen:
        return Path(chosen).expanduser().absolute()
    if in_checkout():
        return REPO_ROOT / kind
    import platformdirs

    return platformdirs.user_cache_path(CACHE_APP_NAME, appauthor=False) / kind


DATA_DIR = course_dir("data")
BUILD_DIR = course_dir("build")
if not in_checkout():
    # Pass the cache folders on to kernels and subprocesses: they must not recompute them from the
    # XDG_CACHE_HOME set below (that would nest build/home/cache/course_lib/... inside the first one).
    for _kind, _folder in (("data", DATA_DIR), ("build", BUILD_DIR)):
        if not os.environ.get(DIR_ENV_VARS[_kind]):
            os.environ[DIR_ENV_VARS[_kind]] = str(_folder)
    del _kind, _folder

# Tools that would otherwise write under HOME, and the folder each one gets instead, under BUILD_DIR / "home"
# (or under the folder a caller chooses, see tool_environment). This table is their one home: the Makefile
# exports it (through `python -m course_lib env`, see main), tests/conftest.py gets it by importing this
# module, the grader puts it under its own build or sandbox folders, and tests/test_home_clean.py checks that
# nothing else spells it again. Setting the variables here as well covers a kernel started by any Jupyter,
# provided the notebook imports course_lib before Keras or Matplotlib. (IPython reads IPYTHONDIR when the
# kernel starts, before any cell runs: only an exported variable, as `make lab` and `make run` set it, can
# move it.)
TOOL_HOME_NAME = "home"
TOOL_HOME = BUILD_DIR / TOOL_HOME_NAME
TOOL_DIRS: dict[str, str] = {
    "KERAS_HOME": "keras",                    # keras.json and downloaded weights (~/.keras)
    "MPLCONFIGDIR": "matplotlib",             # Matplotlib's settings and font list (~/.config, ~/.cache)
    "IPYTHONDIR": "ipython",                  # IPython's profile and history (~/.ipython)
    "JUPYTER_CONFIG_DIR": "jupyter/config",   # JupyterLab settings and workspaces (~/.jupyter)
    "JUPYTER_DATA_DIR": "jupyter/data",       # notebook trust database (~/.local/share/jupyter)
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",  # kernel connection files
    "XDG_CACHE_HOME": "cache",                # fontconfig's cache, built when Matplotlib lists the fonts
    "HYPOTHESIS_STORAGE_DIRECTORY": "hypothesis",  # the tests' example database (./.hypothesis)
    "RUFF_CACHE_DIR": "ruff",                 # the linter's cache (./.ruff_cache)
}


def tool_environment(base: str | Path | None = None) -> dict[str, str]:
    """The environment variables that keep Keras, Matplotlib, IPython, Jupyter, fontconfig, Hypothesis and
    ruff out of HOME: one folder per tool (``TOOL_DIRS``) under ``base``.

    Args:
        base: the folder that holds the tools' folders; default ``TOOL_HOME`` (``BUILD_DIR / "home"``).

    Returns:
        A dict variable -> folder (``base`` joined with the tool's subfolder, absolute when ``base`` is). The
        folders are not created here: each tool creates its own on first use.
    """
    folder = TOOL_HOME if base is None else Path(base)
    return {name: str(folder / sub) for name, sub in TOOL_DIRS.items()}


def course_environment(build: str | Path | None = None) -> dict[str, str]:
    """Everything the kit sets in the environment before TensorFlow or any tool starts: ``TF_QUIET_ENV`` and
    the tool folders under ``<build>/home`` (what the Makefile exports to every command it runs).

    Args:
        build: the build folder; default ``BUILD_DIR``.

    Returns:
        A dict variable -> value.
    """
    home = TOOL_HOME if build is None else Path(build) / TOOL_HOME_NAME
    return {**TF_QUIET_ENV, **tool_environment(home)}


# setdefault: a folder the user chose (say KERAS_HOME) is kept.
for _name, _value in tool_environment().items():
    os.environ.setdefault(_name, _value)
del _name, _value

# ------------------------------------------------------------------------------------------ real datasets
# The downloadable datasets and where their files are looked for, first match wins:
#   1. DATA_DIR / "keras" under the file names below (what `make data` and load_dataset write);
#   2. Keras's own cache, ``<KERAS_HOME or ~/.keras>/datasets``, under the names keras.datasets gives them.
# This table holds only names and places; the download addresses and checksums live in course_lib.data.files.
REAL_DATASETS = ("mnist", "fashion_mnist", "cifar10")
DATASET_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
STAND_INS = {"mnist": "digits", "fashion_mnist": "digits", "cifar10": "shapes10"}
_FASHION_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                  "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
DATASET_FILES: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": _FASHION_FILES,
    "cifar10": ("cifar-10-python.tar.gz",),
}
# Paths relative to <keras home>/datasets, one tuple per layout, in the order they are tried. CIFAR-10:
# Keras 3 keeps the downloaded archive as "cifar-10-batches-py-target_archive" and extracts it into
# "cifar-10-batches-py-target/cifar-10-batches-py/"; tf.keras 2 kept "cifar-10-batches-py.tar.gz" and
# extracted "cifar-10-batches-py/". An extracted folder is used only when no archive is there.
KERAS_CACHE_LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "mnist": (("mnist.npz",),),
    "fashion_mnist": (tuple(f"fashion-mnist/{f}" for f in _FASHION_FILES),),
    "cifar10": (("cifar-10-batches-py-target_archive",), ("cifar-10-batches-py.tar.gz",),
                ("cifar-10-batches-py-target/cifar-10-batches-py",), ("cifar-10-batches-py",)),
}
_CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


class DatasetFiles(NamedTuple):
    """Where the files of one real dataset were found.

    Attributes:
        paths: the files, in the order of ``DATASET_FILES[name]`` (for a CIFAR-10 folder: the one folder).
        place: "data" (``DATA_DIR/keras``) or "keras cache" (Keras's ``datasets`` folder).
    """

    paths: tuple[Path, ...]
    place: str


def _check_real_dataset(name: Any) -> str:
    return check_choice(name, "name", REAL_DATASETS)


def keras_dataset_dirs() -> list[Path]:
    """Keras's dataset caches, in search order: ``$KERAS_HOME/datasets``, then ``~/.keras/datasets``.

    Both are read at call time (a changed HOME or KERAS_HOME is honoured). Under ``make``, KERAS_HOME points
    into build/, so only ``~/.keras/datasets`` holds what Keras downloaded before. The kit only reads these
    folders.
    """
    homes = [Path(os.environ["KERAS_HOME"]).expanduser()] if os.environ.get("KERAS_HOME") else []
    homes.append(Path("~").expanduser() / ".keras")
    dirs: list[Path] = []
    for home in homes:
        if home / "datasets" not in dirs:
            dirs.append(home / "datasets")
    return dirs


def _complete(paths: tuple[Path, ...]) -> bool:
    if len(paths) == 1 and paths[0].is_dir():  # an extracted CIFAR-10 folder needs all six batches
        return all((paths[0] / batch).is_file() for batch in _CIFAR_BATCHES)
    return all(p.is_file() for p in paths)


def find_dataset_files(name: str, data_dir: str | Path | None = None, *,
                       keras_cache: bool = True) -> DatasetFiles | None:
    """Find the files of a real dataset on this machine, without touching the network.

    Args:
        name: "mnist", "fashion_mnist" or "cifar10".
        data_dir: the course's data folder (default ``DATA_DIR``); its ``keras/`` subfolder is searched first.
        keras_cache: also search Keras's own caches (see :func:`keras_dataset_dirs`).

    Returns:
        A :class:`DatasetFiles`, or None when no complete set of files is found.

    Raises:
        TypeError / ValueError: ``name`` is not one of the real datasets.
    """
    name = _check_real_dataset(name)
    base = Path(data_dir) if data_dir is not None else DATA_DIR
    ours = tuple(base / "keras" / f for f in DATASET_FILES[name])
    if _complete(ours):
        return DatasetFiles(ours, "data")
    if keras_cache:
        for folder in keras_dataset_dirs():
            for layout in KERAS_CACHE_LAYOUTS[name]:
                paths = tuple(folder / rel for rel in layout)
                if _complete(paths):
                    return DatasetFiles(paths, "keras cache")
    return None


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def data_summary(mode: str | None = None, *, data_dir: str | Path | None = None) -> str:
    """One line saying which data the notebooks will use: the real sets found on disk, or the stand-ins.

    Args:
        mode: "quick" or "full" (default: this process's run mode).
        data_dir: the data folder to look in (default ``DATA_DIR``); Keras's caches are searched too.

    Returns:
        The line, without paths or sizes so that it reads the same on every machine holding the same sets.
    """
    mode = get_mode() if mode is None else resolve_mode(mode)
    found = {n: find_dataset_files(n, data_dir) for n in REAL_DATASETS}
    real = [n for n in REAL_DATASETS if found[n] is not None]
    missing = [n for n in REAL_DATASETS if found[n] is None]
    parts = []
    if real:
        places = sorted({found[n].place for n in real})
        where = " and ".join("data/" if p == "data" else "Keras's cache" for p in places)
        parts.append(f"real {_join([DATASET_TITLES[n] for n in real])} found in {where}")
    if missing:
        titles = _join([DATASET_TITLES[n] for n in missing])
        if mode == "full":
            parts.append(f"{titles} downloaded into data/ on first use (or run `make data` first)")
        else:
            stand_ins = _join(sorted({STAND_INS[n] for n in missing}))
            parts.append(f"offline stand-ins ({stand_ins}) for {titles} "
                         "(run `make data` to fetch the real sets)")
    return "Data: " + "; ".join(parts)


# ------------------------------------------------------------------------------------------------ run mode

_mode_cache: str | None = None


def keras_backend() -> str:
    """The Keras backend of this process ("tensorflow", "jax", "torch", ...), without importing Keras if it
    is not imported yet (then ``KERAS_BACKEND``, which this module defaults to "tensorflow")."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND") or "tensorflow"


def backend_devices() -> list[str]:
    """The devices the Keras backend can use, as ``"CPU:0"``, ``"GPU:0"``, ... (``"TPU:0"`` under JAX).

    Each backend is asked with its own device listing, so that a JAX or PyTorch kernel does not import
    TensorFlow (whose start-up costs seconds and, on a GPU machine, memory): ``tf.config`` for TensorFlow,
    ``jax.devices()`` for JAX (its default platform), ``torch.cuda`` for PyTorch; any other backend is
    reported as one CPU.
    """
    backend = keras_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.device_type + ":" + d.name.split(":")[-1] for d in tf.config.list_physical_devices()]
    if backend == "jax":
        import jax

        return [f"{d.platform.upper()}:{d.id}" for d in jax.devices()]
    if backend == "torch":
        import torch

        return ["CPU:0"] + [f"GPU:{i}" for i in range(torch.cuda.device_count())]
    return ["CPU:0"]


def gpu_available() -> bool:
    """Return True when the Keras backend sees at least one GPU (imports that backend, and only that one)."""
    return any(d.startswith("GPU") for d in backend_devices())


def resolve_mode(requested: str | None = None, *, gpu: bool | None = None) -> str:
    """Turn a requested mode into the mode that runs: "quick" or "full".

    Args:
        requested: "quick", "full" or "auto" (case-insensitive, surrounding blanks ignored); None reads
            ``COURSE_MODE`` from the environment, and an unset or empty variable means "auto".
        gpu: whether a GPU is visible; None asks TensorFlow (only needed for "auto").

    Returns:
        "quick" or "full".

    Raises:
        TypeError: the requested mode is not a str.
        ValueError: the requested mode is not one of quick, full, auto.
    """
    if requested is None:
        requested = os.environ.get(MODE_ENV_VAR, "") or "auto"
    if not isinstance(requested, str):
        raise TypeError(f"mode must be a str, got {type(requested).__name__} {requested!r}")
    mode = requested.strip().lower()
    if mode not in VALID_MODES:
        raise ValueError(f"{MODE_ENV_VAR} must be one of {', '.join(VALID_MODES)}; got {requested!r}")
    if mode == "auto":
        if gpu is None:
            gpu = gpu_available()
        mode = "full" if gpu else "quick"
    return mode


def get_mode() -> str:
    """The run mode of this process, resolved once and then remembered."""
    global _mode_cache
    if _mode_cache is None:
        _mode_cache = resolve_mode()
    return _mode_cache


def is_quick() -> bool:
    """True in quick mode (offline data, small subsets, few epochs)."""
    return get_mode() == "quick"


def pick(*, quick: Any, full: Any) -> Any:
    """Return ``quick`` or ``full`` according to the run mode; keeps notebooks' settings on one line.

    Example: ``epochs = config.pick(quick=2, full=30)``.
    """
    return quick if is_quick() else full


def __getattr__(name: str) -> Any:
    # ``config.MODE`` is computed on first access, so that importing config stays free of TensorFlow.
    if name == "MODE":
        return get_mode()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def set_seed(seed: int = 0, *, deterministic_ops: bool = False) -> int:
    """Seed Python, NumPy and the Keras backend in one call.

    Args:
        seed: a non-negative int.
        deterministic_ops: also ask TensorFlow for deterministic kernels (bit-identical reruns on one machine,
            at some cost in speed); use it where a notebook compares two training runs.

    Returns:
        The seed, so a notebook can print it.

    Raises:
        TypeError / ValueError: the seed is not a non-negative int.
    """
    seed = check_int(seed, "seed", minimum=0)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "tensorflow" in sys.modules or "keras" in sys.modules or deterministic_ops:
        import keras

        from . import keras_adapter

        keras.utils.set_random_seed(seed)
        keras_adapter.reset_global_seed_generator()  # older Keras keeps its old generator otherwise
        if deterministic_ops:
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
    return seed


def quiet_tensorflow() -> None:
    """Silence TensorFlow's Python-side logger and absl warnings (the C++ side is set at import above)."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to quiet
        pass


def start_notebook(seed: int = 0) -> str:
    """First call of every notebook: quiet TensorFlow, seed everything, print the run mode and the data.

    Prints two lines, e.g.::

        Run mode: quick (offline data, small subsets, few epochs); seed 0
        Data: offline stand-ins (digits and shapes10) for MNIST, Fashion-MNIST and CIFAR-10 (run `make ...

    In full mode on the TensorFlow backend it also installs the course-wide default strategy
    (``course_lib.training.use_strategy("auto")``: every GPU of the machine, or every machine of the cluster
    ``TF_CONFIG`` describes) and prints a third line saying which; ``COURSE_STRATEGY=none|mirrored|auto``
    overrides the choice. Quick mode, and the other backends, never import TensorFlow here.

    Args:
        seed: passed to :func:`set_seed`.

    Returns:
        The run mode ("quick" or "full").
    """
    quiet_tensorflow()
    set_seed(seed)
    mode = get_mode()
    how = "offline data, small subsets, few epochs" if mode == "quick" else "real datasets, full training"
    print(f"Run mode: {mode} ({how}); seed {seed}")
    print(data_summary(mode))
    if mode == "full" and keras_backend() == "tensorflow":
        from .training.distributed import use_strategy

        use_strategy("auto")
    return mode


def dataset_status(data_dir: str | Path | None = None) -> dict[str, str]:
    """Each real dataset -> "cached" (in data/), "cached by Keras" (Keras's cache) or "download needed".

    Args:
        data_dir: the data folder (default ``DATA_DIR``); Keras's caches are searched too.
    """
    status = {}
    for name in REAL_DATASETS:
        found = find_dataset_files(name, data_dir)
        status[name] = ("download needed" if found is None
                        else "cached" if found.place == "data" else "cached by Keras")
    return status


def describe_environment() -> dict[str, Any]:
    """Versions, backend, devices, mode and the real datasets' status, as a dict a notebook can print.

    Returns:
        A dict with keys python, platform, numpy, tensorflow (its version, None when not installed), keras,
        backend, devices (:func:`backend_devices`), gpu, mode,
        datasets (mnist / fashion_mnist / cifar10 -> "cached" | "cached by Keras" | "download needed"; the
        offline sets are always there and are not listed).
    """
    from importlib import metadata

    import keras
    import numpy as np

    quiet_tensorflow()
    devices = backend_devices()
    try:  # the installed version, read without importing TensorFlow under another backend
        tensorflow_version = metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        tensorflow_version = None
    if "tensorflow" in sys.modules:
        tensorflow_version = sys.modules["tensorflow"].__version__
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "numpy": np.__version__,
        "tensorflow": tensorflow_version,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "devices": devices,
        "gpu": any(d.startswith("GPU") for d in devices),
        "mode": get_mode(),
        "datasets": dataset_status(),
    }



# ------------------------------------------------------------------------------------------- the command
def _make_line(name: str, value: str) -> str:
    # Make splits $(shell ...) output at blanks and expands "$": a value with either cannot pass through it.
    if any(c.isspace() for c in value) or "$" in value or "#" in value:
        raise ValueError(f"{name}={value!r}: a folder for the Makefile may not contain blanks, '$' or '#'")
    return f"{name}={value}"


def main(argv: list[str] | None = None) -> int:
    """``python -m course_lib env [--build DIR] [--format sh|make]``: print :func:`course_environment`.

    ``--format sh`` (the default) prints ``export NAME=VALUE`` lines for a POSIX shell (``eval "$(python -m
    course_lib env)"``); ``--format make`` prints ``NAME=VALUE`` lines, which the Makefile reads with
    ``$(shell ...)`` while it is parsed. Only the standard library is needed (importing course_lib loads this
    module and ``validation``, nothing else), so the system Python runs it in a fresh clone, before ``make
    setup`` has installed anything.

    Returns:
        The exit status: 0, or 2 for a value the chosen format cannot carry (the message goes to stderr).
    """
    import argparse
    import shlex

    parser = argparse.ArgumentParser(prog="python -m course_lib", description="The course kit's environment.")
    commands = parser.add_subparsers(dest="command", required=True)
    env = commands.add_parser("env", help="print the environment variables the kit sets (Makefile, shells)")
    env.add_argument("--build", help="the build folder (default: the kit's, $COURSE_BUILD_DIR or build/)")
    env.add_argument("--format", choices=("sh", "make"), default="sh",
                     help="sh: export NAME=VALUE lines (quoted); make: NAME=VALUE lines for $(shell ...)")
    args = parser.parse_args(argv)
    values = course_environment(Path(args.build).absolute() if args.build else None)
    try:
        if args.format == "make":
            lines = [_make_line(name, value) for name, value in values.items()]
        else:
            lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    except ValueError as error:
        print(f"python -m course_lib env: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
