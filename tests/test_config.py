"""Run mode, seeding, paths, the data line, and config's promises: no TensorFlow on import, no cycles."""

import ast
import os
import subprocess
import sys
from pathlib import Path

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
        "import sys, course_lib, course_lib.config, course_lib.numpy_cnn\n"
        "print('course_lib.numpy_cnn' in sys.modules, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True False False"


def _paths_in_fresh_process(env_update):
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA_DIR", "COURSE_BUILD_DIR")}
    env.update(env_update)
    code = "from course_lib import config; print(config.DATA_DIR); print(config.BUILD_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=config.REPO_ROOT)
    return [Path(line) for line in out.stdout.splitlines()]


@pytest.mark.checkout
def test_paths_default_to_data_and_build_in_the_repository():
    assert (config.REPO_ROOT / "course_lib" / "config.py").exists()
    assert _paths_in_fresh_process({}) == [config.REPO_ROOT / "data", config.REPO_ROOT / "build"]


def test_paths_follow_the_environment_variables(tmp_path):
    got = _paths_in_fresh_process({"COURSE_DATA_DIR": str(tmp_path / "d"), "COURSE_BUILD_DIR": "rel/b"})
    assert got == [tmp_path / "d", config.REPO_ROOT / "rel" / "b"]  # a relative path is made absolute


def test_describe_environment_reports_what_it_promises(monkeypatch, tmp_path):
    import keras
    import tensorflow as tf

    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    info = config.describe_environment()
    assert info["tensorflow"] == tf.__version__
    assert info["keras"] == keras.__version__
    assert info["backend"] == "tensorflow"
    assert info["mode"] in ("quick", "full")
    assert any(d.startswith("CPU") for d in info["devices"])
    assert info["datasets"] == dict.fromkeys(("mnist", "fashion_mnist", "cifar10"), "download needed")
    (tmp_path / "keras").mkdir()
    (tmp_path / "keras" / "mnist.npz").write_bytes(b"")
    (tmp_path / "home" / ".keras" / "datasets").mkdir(parents=True)
    (tmp_path / "home" / ".keras" / "datasets" / "cifar-10-batches-py-target_archive").write_bytes(b"")
    assert config.dataset_status() == {"mnist": "cached", "fashion_mnist": "download needed",
                                       "cifar10": "cached by Keras"}


# ---- no import cycles: config (and shapes) are leaves -------------------------------------------------

PACKAGE = config.REPO_ROOT / "course_lib"


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph():
    """course_lib module -> the course_lib modules it imports anywhere in its source (functions included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1] + ([node.module] if node.module else [])
                    prefix = ".".join(base)
                else:
                    prefix = node.module or ""
                for alias in node.names:
                    candidate = f"{prefix}.{alias.name}"
                    targets.add(candidate if candidate in modules else prefix)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_the_import_graph_sees_known_edges():
    # guards the parser itself: these imports exist in the source
    graph = _import_graph()
    assert "course_lib.config" in graph["course_lib.data.files"]  # from .. import config
    assert "course_lib.data.files" in graph["course_lib.data.loaders"]  # from . import files, parsers
    assert "course_lib.data.files" in graph["course_lib.pretrained.lookup"]  # from ..data.files import ...
    assert "course_lib.validation" in graph["course_lib.config"]
    assert "course_lib.shapes" in graph["course_lib.models.common"]


def test_config_and_shapes_are_leaves():
    graph = _import_graph()
    # config reaches Keras's seed generator through the adapter, itself a leaf, and (in full mode only)
    # installs the default strategy through training.distributed, a leaf but for validation
    allowed = {"course_lib.validation", "course_lib.keras_adapter", "course_lib.training.distributed"}
    assert graph["course_lib.config"] <= allowed, graph["course_lib.config"]
    assert graph["course_lib.training.distributed"] <= {"course_lib.validation"}
    assert graph["course_lib.validation"] == set() and graph["course_lib.keras_adapter"] == set()
    assert graph["course_lib.shapes"] <= {"course_lib.validation"}, graph["course_lib.shapes"]


def test_no_import_cycle_among_course_lib_modules():
    graph = _import_graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles: " + "; ".join(cycles)


# ---- which data the notebooks will use ----------------------------------------------------------------


@pytest.fixture
def no_datasets(monkeypatch, tmp_path):
    """An empty data/ and an empty HOME without KERAS_HOME: no real dataset anywhere."""
    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "data")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    return tmp_path


def test_start_notebook_prints_mode_and_the_stand_ins_line(no_datasets, monkeypatch, capsys):
    monkeypatch.setattr(config, "_mode_cache", "quick")
    assert config.start_notebook(seed=3) == "quick"
    assert capsys.readouterr().out.splitlines() == [
        "Run mode: quick (offline data, small subsets, few epochs); seed 3",
        "Data: offline stand-ins (digits and shapes10) for MNIST, Fashion-MNIST and CIFAR-10 "
        "(run `make data` to fetch the real sets)",
    ]


def test_data_line_names_the_real_sets_found_and_where(no_datasets):
    tmp = no_datasets
    (tmp / "data" / "keras").mkdir(parents=True)
    (tmp / "data" / "keras" / "mnist.npz").write_bytes(b"")
    assert config.data_summary("quick") == (
        "Data: real MNIST found in data/; offline stand-ins (digits and shapes10) for Fashion-MNIST and "
        "CIFAR-10 (run `make data` to fetch the real sets)")
    cifar = tmp / "home" / ".keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    for batch in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"):
        (cifar / batch).write_bytes(b"")
    assert "CIFAR-10" not in config.data_summary("quick").split(";")[0]  # test_batch is missing
    (cifar / "test_batch").write_bytes(b"")
    assert config.data_summary("full") == (
        "Data: real MNIST and CIFAR-10 found in data/ and Keras's cache; Fashion-MNIST downloaded into data/ "
        "on first use (or run `make data` first)")


def test_find_dataset_files_prefers_data_then_keras_home_then_home(no_datasets, monkeypatch):
    tmp = no_datasets
    assert config.find_dataset_files("mnist") is None
    home_file = tmp / "home" / ".keras" / "datasets" / "mnist.npz"
    home_file.parent.mkdir(parents=True)
    home_file.write_bytes(b"")
    assert config.find_dataset_files("mnist") == ((home_file,), "keras cache")
    assert config.find_dataset_files("mnist", keras_cache=False) is None
    keras_home_file = tmp / "kh" / "datasets" / "mnist.npz"
    keras_home_file.parent.mkdir(parents=True)
    keras_home_file.write_bytes(b"")
    monkeypatch.setenv("KERAS_HOME", str(tmp / "kh"))
    assert config.find_dataset_files("mnist").paths == (keras_home_file,)
    ours = tmp / "data" / "keras" / "mnist.npz"
    ours.parent.mkdir(parents=True)
    ours.write_bytes(b"")
    assert config.find_dataset_files("mnist") == ((ours,), "data")
    with pytest.raises(ValueError, match="name must be one of 'mnist'"):
        config.find_dataset_files("digits")
