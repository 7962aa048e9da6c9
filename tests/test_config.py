"""Run-mode selection, seeding, and the promise that importing config does not import TensorFlow."""

import subprocess
import sys

import numpy as np
import pytest

from course_lib import config


@pytest.mark.parametrize(
    ("requested", "gpu", "expected"),
    [
        ("quick", True, "quick"),
        ("quick", False, "quick"),
        ("full", False, "full"),
        ("full", True, "full"),
        ("auto", True, "full"),
        ("auto", False, "quick"),
        ("  AUTO ", False, "quick"),
        ("Full", False, "full"),
    ],
)
def test_resolve_mode_table(requested, gpu, expected):
    assert config.resolve_mode(requested, gpu=gpu) == expected


@pytest.mark.parametrize("env_value", ["", None])
def test_unset_or_empty_env_means_auto(monkeypatch, env_value):
    if env_value is None:
        monkeypatch.delenv(config.MODE_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(config.MODE_ENV_VAR, env_value)
    assert config.resolve_mode(gpu=False) == "quick"
    assert config.resolve_mode(gpu=True) == "full"


def test_env_variable_is_read(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV_VAR, "full")
    assert config.resolve_mode(gpu=False) == "full"


@pytest.mark.parametrize("bad", ["fast", "gpu", "quick mode"])
def test_unknown_mode_names_the_value(bad):
    with pytest.raises(ValueError, match=repr(bad).replace("'", ".")):
        config.resolve_mode(bad, gpu=False)


def test_non_string_mode_is_a_type_error():
    with pytest.raises(TypeError, match="mode must be a str"):
        config.resolve_mode(3, gpu=False)


def test_pick_follows_mode(monkeypatch):
    monkeypatch.setattr(config, "_mode_cache", "quick")
    assert config.pick(quick=1, full=2) == 1
    assert config.MODE == "quick"
    monkeypatch.setattr(config, "_mode_cache", "full")
    assert config.pick(quick=1, full=2) == 2
    assert config.MODE == "full"


def test_auto_mode_asks_tensorflow_for_gpus():
    import tensorflow as tf

    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert config.resolve_mode("auto") == ("full" if has_gpu else "quick")


def test_set_seed_makes_numpy_and_keras_repeat():
    import keras

    def draw():
        config.set_seed(123)
        return np.random.rand(3), keras.random.normal((4,)).numpy()

    a_np, a_k = draw()
    b_np, b_k = draw()
    np.testing.assert_array_equal(a_np, b_np)
    np.testing.assert_array_equal(a_k, b_k)
    config.set_seed(124)
    assert not np.array_equal(np.random.rand(3), a_np)


@pytest.mark.parametrize(
    ("bad", "error"), [(-1, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError)]
)
def test_set_seed_rejects_bad_seeds(bad, error):
    with pytest.raises(error, match="seed"):
        config.set_seed(bad)


def test_importing_config_and_numpy_parts_does_not_import_tensorflow():
    code = (
        "import sys, course_lib, course_lib.config\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('course_lib.numpy_cnn'): import course_lib.numpy_cnn\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_paths_point_inside_the_repository():
    assert (config.REPO_ROOT / "course_lib" / "config.py").exists()
    assert config.DATA_DIR.name == "data" or "COURSE_DATA_DIR" in __import__("os").environ
    assert config.BUILD_DIR.name == "build" or "COURSE_BUILD_DIR" in __import__("os").environ


def test_describe_environment_reports_what_it_promises():
    import keras
    import tensorflow as tf

    info = config.describe_environment()
    assert info["tensorflow"] == tf.__version__
    assert info["keras"] == keras.__version__
    assert info["backend"] == "tensorflow"
    assert info["mode"] in ("quick", "full")
    assert any(d.startswith("CPU") for d in info["devices"])
    assert info["datasets"]["digits"] == "offline"
    assert set(info["datasets"].values()) <= {"offline", "cached", "download needed"}
