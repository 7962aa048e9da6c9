"""Run mode, seeding, quiet TensorFlow logs and a description of the machine.

Importing this module never imports TensorFlow: it only sets the environment variables that TensorFlow reads
when it is imported later (they have no effect afterwards). The run mode is worked out lazily, the first time
``config.MODE`` is read, because "auto" has to ask TensorFlow whether a GPU is visible.

Modes (environment variable ``COURSE_MODE``):
    quick  offline datasets, small subsets, few epochs: the whole course in minutes on two CPU cores.
    full   the real datasets through ``keras.datasets`` and the epochs that reach the stated accuracies.
    auto   (default) full when a GPU is visible, else quick.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from pathlib import Path
from typing import Any

# Must happen before TensorFlow is imported anywhere: 2 hides INFO and WARNING lines from the C++ runtime, and
# oneDNN's reordered float sums would make stored notebook outputs differ from run to run in the last digits.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

VALID_MODES = ("quick", "full", "auto")

# Where the kit reads and writes. Nothing is ever written outside DATA_DIR (dataset cache) and BUILD_DIR
# (executed notebooks, trained-model caches, grading output). Both can be moved with environment variables.
REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", REPO_ROOT / "data"))
BUILD_DIR = Path(os.environ.get("COURSE_BUILD_DIR", REPO_ROOT / "build"))
MODE_ENV_VAR = "COURSE_MODE"

_mode_cache: str | None = None


def gpu_available() -> bool:
    """Return True when TensorFlow sees at least one GPU (imports TensorFlow)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def resolve_mode(requested: str | None = None, *, gpu: bool | None = None) -> str:
    """Turn a requested mode into the mode that runs: "quick" or "full".

    Args:
        requested: "quick", "full" or "auto" (case-insensitive, surrounding blanks ignored); None reads
            ``COURSE_MODE`` from the environment, and an unset or empty variable means "auto".
        gpu: whether a GPU is visible; None asks TensorFlow (only needed for "auto").

    Returns:
        "quick" or "full".

    Raises:
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
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "tensorflow" in sys.modules or "keras" in sys.modules or deterministic_ops:
        import keras

        keras.utils.set_random_seed(seed)
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
    """First call of every notebook: quiet TensorFlow, seed everything, print the run mode.

    Returns:
        The run mode ("quick" or "full").
    """
    quiet_tensorflow()
    set_seed(seed)
    mode = get_mode()
    how = "offline data, small subsets, few epochs" if mode == "quick" else "real datasets, full training"
    print(f"Run mode: {mode} ({how}); seed {seed}")
    return mode


def describe_environment() -> dict[str, Any]:
    """Versions, backend, devices, mode and datasets, as a dict a notebook can print.

    Returns:
        A dict with keys python, platform, numpy, tensorflow, keras, backend, devices, gpu, mode,
        datasets (name -> "offline" | "cached" | "download needed").
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from . import data

    quiet_tensorflow()
    devices = [d.device_type + ":" + d.name.split(":")[-1] for d in tf.config.list_physical_devices()]
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "devices": devices,
        "gpu": any(d.startswith("GPU") for d in devices),
        "mode": get_mode(),
        "datasets": data.available_datasets(),
    }
