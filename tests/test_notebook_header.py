"""scripts/notebook_header.py: the set-up block and launch badges atop each notebook, from the one URL."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# The URL as written in pyproject.toml, read here independently of the script.
URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")

_spec = importlib.util.spec_from_file_location("notebook_header", ROOT / "scripts" / "notebook_header.py")
header = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(header)


def _src(cell):
    return "".join(cell["source"])


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.fixture()
def copy(tmp_path):
    """A scratch repository holding one real notebook (07: its first cell has several imports)."""
    src = ROOT / "notebooks" / "07_lenet.ipynb"
    (tmp_path / "notebooks").mkdir()
    dest = tmp_path / "notebooks" / src.name
    nb = json.loads(src.read_text())
    # once the stored notebooks carry the header, take it off the copy (by its exact text) to start bare
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != "launch-badges"]
    first = _code_cells(nb)[0]
    first["source"] = _src(first).removeprefix(header.setup_block(URL) + "\n").splitlines(keepends=True)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return dest


def test_url_is_read_from_pyproject_and_is_a_github_repository():
    assert header.repository_url() == URL
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL)


def test_header_on_a_copy_is_complete_valid_and_keeps_every_other_cell(copy):
    before = json.loads(copy.read_text())
    assert header.process(copy, URL, root=copy.parent.parent) is True
    after = json.loads(copy.read_text())
    nbformat.validate(nbformat.reads(copy.read_text(), as_version=4))  # ids and schema still valid

    badge = [c for c in after["cells"] if c.get("id") == "launch-badges"]
    assert len(badge) == 1 and badge[0]["cell_type"] == "markdown"
    text = _src(badge[0])
    slug = URL.removeprefix("https://github.com/")
    nb_path = "notebooks/07_lenet.ipynb"
    for link in (f"https://colab.research.google.com/github/{slug}/blob/main/{nb_path}",
                 f"https://mybinder.org/v2/gh/{slug}/main?labpath=notebooks%2F07_lenet.ipynb",
                 f"https://kaggle.com/kernels/welcome?src={URL}/blob/main/{nb_path}"):
        assert f"]({link})" in text
    # the badges sit right under the title
    assert after["cells"][0]["cell_type"] == "markdown" and _src(after["cells"][0]).startswith("# 07")
    assert after["cells"][1]["id"] == "launch-badges"

    first = _src(_code_cells(after)[0])
    assert first.startswith(header.setup_block(URL) + "\n")
    assert f'"course_lib @ git+{URL}"' in first
    # the old first cell follows the block unchanged, outputs and id kept; every other cell is untouched
    old_first = _code_cells(before)[0]
    assert first.endswith(_src(old_first))
    assert _code_cells(after)[0]["outputs"] == old_first["outputs"]
    assert _code_cells(after)[0]["id"] == old_first["id"]
    others = [c for c in after["cells"] if c.get("id") not in ("launch-badges", old_first["id"])]
    assert others == [c for c in before["cells"] if c["id"] != old_first["id"]]


def test_header_is_idempotent_and_check_mode_writes_nothing(copy):
    root = copy.parent.parent
    bare = copy.read_text()
    assert header.process(copy, URL, root=root, check=True) is True
    assert copy.read_text() == bare
    assert header.process(copy, URL, root=root, check=False) is True
    once = copy.read_text()
    assert header.process(copy, URL, root=root) is False
    assert copy.read_text() == once
    assert once.endswith("}\n")


def test_a_new_url_replaces_the_old_block_and_badges(copy):
    root = copy.parent.parent
    header.process(copy, "https://github.com/old-owner/old-name", root=root)
    header.process(copy, URL, root=root)
    text = copy.read_text()
    assert "old-owner" not in text
    nb = json.loads(text)
    assert _src(_code_cells(nb)[0]).count(header.BLOCK_START) == 1
    assert sum(c.get("id") == "launch-badges" for c in nb["cells"]) == 1


def _run_block(cwd, *, fake_pip, env=None):
    """Execute the set-up block in a fresh interpreter in which course_lib is not installed. The fake pip
    records its command and then makes the checkout importable, as a real install would make the kit."""
    block = header.setup_block(URL)
    code = f"""
import importlib.util, subprocess, sys
# hide the editable install of this checkout: the block must find course_lib on its own
sys.meta_path = [f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", type(f).__name__)]
sys.path = [p for p in sys.path if p and Path(p).resolve() != Path({str(ROOT)!r})]
assert importlib.util.find_spec("course_lib") is None
calls = []
def fake_run(cmd, **kw):
    calls.append(cmd)
    sys.path.append({str(ROOT)!r})
if {fake_pip}:
    subprocess.run = fake_run
exec({block!r})
print("CALLS", calls)
if not calls:
    import course_lib
    print("FROM", course_lib.__file__)
"""
    env = {**{k: v for k, v in os.environ.items() if k != "COURSE_KIT_SPEC"}, **(env or {})}
    out = subprocess.run([sys.executable, "-c", "from pathlib import Path\n" + code], cwd=cwd,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_block_uses_the_checkout_the_notebook_sits_in(tmp_path):
    (tmp_path / "course_lib").mkdir()
    (tmp_path / "course_lib" / "__init__.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    out = _run_block(tmp_path / "notebooks", fake_pip=True)
    assert "CALLS []" in out
    assert f"FROM {tmp_path / 'course_lib' / '__init__.py'}" in out
    assert "Installed" not in out


def test_block_installs_from_the_repository_url_on_a_bare_kernel(tmp_path):
    out = _run_block(tmp_path, fake_pip=True)
    calls = re.search(r"CALLS (.*)", out).group(1)
    assert f"'course_lib @ git+{URL}'" in calls and "'pip', 'install'" in calls
    # pip's --ignore-requires-python would apply to every dependency (a matplotlib that needs a newer Python)
    assert "ignore-requires-python" not in calls
    # the report of what pip changed (the fake pip changed nothing)
    assert "Installed the course kit with pip: added nothing." in out
    assert "no restart is needed" in out


def test_block_installs_the_spec_the_environment_names(tmp_path):
    wheel = str(tmp_path / "course_lib-0.1.0-py3-none-any.whl")
    out = _run_block(tmp_path, fake_pip=True, env={"COURSE_KIT_SPEC": wheel})
    calls = re.search(r"CALLS (.*)", out).group(1)
    assert repr(wheel) in calls and "git+" not in calls


def test_block_does_nothing_where_the_kit_is_installed():
    code = header.setup_block(URL) + "print('OK', course_lib.__name__)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "notebooks", capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "OK course_lib\n"


def test_readme_badge_line_comes_from_the_same_url():
    line = header.readme_badges(URL)
    assert line.count(")](https://") == 4 and "notebooks/00_setup.ipynb" in line
    assert URL.removeprefix("https://github.com/") in line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_carries_the_generated_header(path):
    text = path.read_text()
    assert header.process(path, URL, check=True) is False, (
        f"{path.name}: header stale; run python scripts/notebook_header.py")
    nb = json.loads(text)
    assert _src(_code_cells(nb)[0]).startswith(header.setup_block(URL))


def test_readme_carries_the_generated_badge_line():
    assert header.readme_badges(URL) in (ROOT / "README.md").read_text()


BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
LISTED = {e["stem"]: e.get("backends", ["tensorflow"])
          for e in tomllib.loads((ROOT / "notebooks" / "notebooks.toml").read_text())["notebook"]}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_badge_cell_says_which_backends_the_notebook_is_tested_on(path):
    nb = json.loads(path.read_text())
    badge = _src(next(c for c in nb["cells"] if c.get("id") == "launch-badges"))
    said = badge.split("Tested on Keras's ", 1)[1]
    for key, name in BACKEND_NAMES.items():
        assert (name in said) == (key in LISTED[path.stem]), (path.stem, said)
    # and the matrix really runs the notebooks that claim other backends under them
    matrix = tomllib.loads((ROOT / "tests" / "compat" / "matrix.toml").read_text())["env"]
    ran = {(stem, b) for e in matrix for b in e.get("backends", []) for stem in e.get("notebooks", [])}
    assert all((path.stem, b) in ran for b in LISTED[path.stem] if b != "tensorflow")
