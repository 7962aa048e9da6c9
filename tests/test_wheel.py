"""The kit as a package: the wheel, installed in a fresh environment, runs two notebooks outside the checkout.

Installing TensorFlow into a fresh virtual environment would take minutes, so the fresh environment gets the
course's wheel only (``pip install --no-deps``) and sees this environment's third-party packages through a
``.pth`` line naming its site-packages folder. A plain path line does not run the ``.pth`` files there, so
the checkout's editable install of ``course_lib`` stays invisible (checked below). The notebooks run in a
temporary folder with an empty HOME and no variable naming the checkout: the installed kit must put its data
and build folders in the per-user cache (platformdirs), and write nothing inside the installed package or the
checkout (mounted read-only with bubblewrap where it runs; otherwise its files are compared).
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from course_lib import config

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("01_why_convolutions.ipynb", "06_keras_conv_layers.ipynb")  # one NumPy, one Keras
SKIP_DIRS = {".git", ".venv", "build", "data", "__pycache__", ".ipynb_checkpoints", ".ruff_cache",
             ".pytest_cache"}
# The checkout, read-only, for everything the fresh environment runs (where bubblewrap works): a write into
# it fails loudly. Without bubblewrap, the checkout's files are compared before and after instead.
BWRAP = ["bwrap", "--bind", "/", "/", "--ro-bind", str(ROOT), str(ROOT), "--dev", "/dev", "--proc", "/proc",
         "--"]

# Runs in the fresh environment's Python: executes the notebooks with nbclient, cwd = their folder.
RUNNER = """
import sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
for path in map(Path, sys.argv[1:]):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                   ).execute()
    nbformat.write(nb, path)
    print("executed", path.name)
"""
PROBE = ("import os, sys, course_lib\nfrom course_lib import config\nprint('FILE', course_lib.__file__)\n"
         "print('DATA', config.DATA_DIR)\nprint('BUILD', config.BUILD_DIR)\n"
         "print('CHECKOUT_ON_PATH', any(p and p.rstrip('/') == {root!r} for p in sys.path))\n"
         "print('CHECKOUT_IN_ENV', sorted(k for k, v in os.environ.items() if {root!r} in v))")


def _fresh_environment(home: Path, venv: Path) -> dict[str, str]:
    """This process's environment without anything that names the checkout (the Makefile's tool folders,
    course_lib's data and build folders, the .venv on PATH), with an empty HOME."""
    env = {k: v for k, v in os.environ.items() if str(ROOT) not in v and not k.startswith("COURSE_")}
    path = os.environ.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in path if str(ROOT) not in p)
    env.update(HOME=str(home), COURSE_MODE="quick", JUPYTER_PATH=str(venv / "share" / "jupyter"),
               **config.TF_QUIET_ENV)
    return env


def _readonly_checkout() -> list[str]:
    """The bubblewrap prefix that mounts the checkout read-only, or [] where bubblewrap cannot run."""
    if shutil.which("bwrap") is None:
        return []
    probe = subprocess.run([*BWRAP, "true"], capture_output=True)
    return BWRAP if probe.returncode == 0 else []


def _snapshot(folder: Path, skip=frozenset()) -> dict[str, tuple[int, int]]:
    """relative path -> (size, mtime in ns) of every file under ``folder``, skipping folders named in skip."""
    found = {}
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(base) / name
            st = path.lstat()
            found[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return found


def _run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out.stdout


def _header_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_header", ROOT / "scripts" / "notebook_header.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_course_dir_follows_the_variables_then_the_checkout_then_the_user_cache(monkeypatch, tmp_path):
    from course_lib import config

    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("COURSE_BUILD_DIR", raising=False)
    assert config.course_dir("data") == tmp_path / "d"
    assert config.course_dir("build") == ROOT / "build"  # this checkout's
    monkeypatch.setattr(config, "in_checkout", lambda: False)
    monkeypatch.delenv("COURSE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # platformdirs' Linux rule
    if sys.platform.startswith("linux"):
        assert config.course_dir("data") == tmp_path / "cache" / "course_lib" / "data"
        assert config.course_dir("build") == tmp_path / "cache" / "course_lib" / "build"
    with pytest.raises(ValueError, match="kind must be one of"):
        config.course_dir("cache")
    with pytest.raises(TypeError, match="kind must be"):
        config.course_dir(1)


def test_an_installed_kit_passes_its_cache_folders_to_child_processes(tmp_path):
    # a copy of the package outside any checkout (no pyproject.toml beside it), imported with an empty HOME
    shutil.copytree(ROOT / "course_lib", tmp_path / "lib" / "course_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import os, subprocess, sys; sys.path.insert(0, sys.argv[1]); from course_lib import config; "
            "print(config.DATA_DIR); print(config.BUILD_DIR); sys.stdout.flush(); "
            "subprocess.run([sys.executable, '-c', 'import sys; sys.path.insert(0, sys.argv[1]); "
            "from course_lib import config; print(config.DATA_DIR); print(config.BUILD_DIR)', sys.argv[1]])")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "XDG_"))}
    env["HOME"] = str(tmp_path / "home")
    out = _run([sys.executable, "-B", "-c", code, str(tmp_path / "lib")], env=env, cwd=tmp_path).split()
    # platformdirs' per-user cache: XDG's ~/.cache on Linux, ~/Library/Caches on macOS (the two README names)
    cache = tmp_path / "home" / ("Library/Caches" if sys.platform == "darwin" else ".cache") / "course_lib"
    # the child sees the parent's folders, not ones nested under the XDG_CACHE_HOME the parent set for tools
    assert out == [str(cache / "data"), str(cache / "build")] * 2
    assert not (tmp_path / "lib" / "data").exists() and not (tmp_path / "lib" / "build").exists()


@pytest.mark.slow
@pytest.mark.site
def test_wheel_installs_and_runs_notebooks_outside_the_checkout(tmp_path):
    start = time.perf_counter()
    checkout_before = _snapshot(ROOT, SKIP_DIRS)

    # 1. Build the wheel from a copy of the sources (setuptools writes build/ and *.egg-info beside them).
    src = tmp_path / "src"
    shutil.copytree(ROOT / "course_lib", src / "course_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", str(wheels), str(src)])
    (wheel,) = wheels.glob("course_lib-*.whl")
    # every file of the package is in the wheel: modules, and data such as the checkpoints (package-data)
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {n for n in archive.namelist() if n.startswith("course_lib/")}
    sources = {p.relative_to(src).as_posix() for p in (src / "course_lib").rglob("*") if p.is_file()}
    assert sources - in_wheel == set(), "files of course_lib/ missing from the wheel (pyproject package-data)"
    # the source distribution carries the same files (pip builds from it, or from the git URL, elsewhere)
    make_sdist = "from setuptools import build_meta as b; print(b.build_sdist('dist'))"
    sdist = _run([sys.executable, "-c", make_sdist], cwd=src).strip().splitlines()[-1]
    with tarfile.open(src / "dist" / sdist) as archive:
        in_sdist = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert sources | {"pyproject.toml", "README.md"} <= in_sdist
    print(f"wheel {time.perf_counter() - start:.1f} s")

    # 2. A fresh virtual environment with the wheel alone, then this environment's third-party packages.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
          "--no-index", str(wheel)])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip())
    (site / "_course_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    kernels = venv / "share" / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (wheel test)", "language": "python"}))

    home = tmp_path / "home"
    home.mkdir()
    env = _fresh_environment(home, venv)
    cache = home / ".cache" / "course_lib"
    sandbox = _readonly_checkout()

    # 3. The installed kit is the one imported, and it chooses the per-user cache for data and build.
    work = tmp_path / "work"
    work.mkdir()
    probe = _run([*sandbox, str(python), "-c", PROBE.format(root=str(ROOT))], cwd=work, env=env)
    package = site / "course_lib"
    assert f"FILE {package / '__init__.py'}" in probe
    assert f"DATA {cache / 'data'}" in probe and f"BUILD {cache / 'build'}" in probe
    assert "CHECKOUT_ON_PATH False" in probe and "CHECKOUT_IN_ENV []" in probe
    package_before = _snapshot(package)
    assert any(p.endswith(".pyc") for p in package_before), "pip compiles the package when it installs it"

    # 4. Two notebooks, copied elsewhere with the generated set-up block, run by nbclient in quick mode.
    header = _header_module()
    url = header.repository_url()
    paths = []
    for name in NOTEBOOKS:
        nb = json.loads((ROOT / "notebooks" / name).read_text())
        header.apply_header(nb, f"notebooks/{name}", url)
        nb["cells"].append({"cell_type": "code", "id": "wheel-test-probe", "metadata": {}, "outputs": [],
                            "execution_count": None, "source": PROBE.format(root=str(ROOT))})
        (work / name).write_text(json.dumps(nb, indent=1))
        paths.append(str(work / name))
    print(f"set-up {time.perf_counter() - start:.1f} s")
    _run([*sandbox, str(python), "-c", RUNNER, *paths], cwd=work, env=env)
    print(f"notebooks done {time.perf_counter() - start:.1f} s")

    for path in paths:
        nb = json.loads(Path(path).read_text())
        first_cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        first = "".join("".join(o.get("text", "")) for o in first_cell["outputs"])
        assert "Run mode: quick" in first
        assert "Installed the course kit" not in first  # the kit was there: nothing installed
        probe_out = "".join(nb["cells"][-1]["outputs"][0]["text"])
        assert f"FILE {package / '__init__.py'}" in probe_out, probe_out
        assert f"BUILD {cache / 'build'}" in probe_out
        assert "CHECKOUT_ON_PATH False" in probe_out and "CHECKOUT_IN_ENV []" in probe_out

    # 5. What the run wrote went to the cache folder; nothing in the package or the checkout changed.
    assert (cache / "build" / "home").is_dir(), "the tool folders (Keras, Matplotlib) go under build/home"
    assert _snapshot(package) == package_before
    if not sandbox:  # (with bubblewrap the checkout was read-only: a write would have failed the run)
        checkout_after = _snapshot(ROOT, SKIP_DIRS)
        changed = sorted(k for k in checkout_before.keys() | checkout_after.keys()
                         if checkout_before.get(k) != checkout_after.get(k))
        assert not changed, f"files in the checkout changed during the run: {changed[:10]}"
    print(f"wheel test ({'checkout read-only' if sandbox else 'checkout compared'}): "
          f"{time.perf_counter() - start:.1f} s")
