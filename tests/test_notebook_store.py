"""The notebooks as stored in git: executed in quick mode, in order, clean, and complete."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _load_notebook_list():
    spec = importlib.util.spec_from_file_location("notebook_list", ROOT / "scripts" / "notebook_list.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notebook_list = _load_notebook_list()


def test_the_notebook_list_names_exactly_the_notebooks_in_the_folder_in_order():
    in_folder = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    listed = [n.stem for n in notebook_list.load()]
    assert listed, "notebooks/notebooks.toml lists no notebook"
    extra, omitted = set(listed) - set(in_folder), set(in_folder) - set(listed)
    assert not extra, f"notebooks/notebooks.toml names notebooks that do not exist: {sorted(extra)}"
    assert not omitted, f"notebooks notebooks/notebooks.toml omits: {sorted(omitted)}"
    assert listed == in_folder, "notebooks/notebooks.toml is not in course order"
    numbers = [name[:2] for name in in_folder]
    assert numbers == [f"{i:02d}" for i in range(len(numbers))], f"gaps or repeats in numbering: {numbers}"


def test_the_notebook_list_gives_each_notebook_its_own_title():
    for notebook in notebook_list.load():
        nb = _load(ROOT / "notebooks" / f"{notebook.stem}.ipynb")
        first_line = "".join(nb["cells"][0]["source"]).split("\n", 1)[0]
        assert first_line == f"# {notebook.stem[:2]} · {notebook.title}", notebook.stem


def test_the_readme_table_is_the_one_the_notebook_list_gives():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = notebook_list.render_readme(readme, notebook_list.load())
    assert readme == expected, "README.md's notebook table is stale: run make headers"


@pytest.mark.parametrize("entry, error", [
    ('stem = "00_a"\ntitle = "A"\nteaches = "a"', "missing"),
    ('stem = "00_a"\ntitle = "A"\nteaches = "a"\npart = "core"\nlevel = 1', "unknown"),
    ('stem = "0_a"\ntitle = "A"\nteaches = "a"\npart = "core"', "stem must be NN_name"),
    ('stem = "00_a"\ntitle = ""\nteaches = "a"\npart = "core"', "title must be non-empty"),
    ('stem = "00_a"\ntitle = "A"\nteaches = "a"\npart = "extra"', "part must be one of"),
])
def test_the_notebook_list_refuses_a_bad_entry(tmp_path, entry, error):
    path = tmp_path / "notebooks.toml"
    path.write_text(f"[[notebook]]\n{entry}\n")
    with pytest.raises(ValueError, match=error):
        notebook_list.load(path)


def test_the_notebook_list_refuses_notebooks_out_of_order(tmp_path):
    entry = '[[notebook]]\nstem = "{}"\ntitle = "A"\nteaches = "a"\npart = "{}"\n'
    path = tmp_path / "notebooks.toml"
    path.write_text(entry.format("01_b", "core") + entry.format("00_a", "core"))
    with pytest.raises(ValueError, match="in course order"):
        notebook_list.load(path)
    path.write_text(entry.format("00_a", "later") + entry.format("01_b", "core"))
    with pytest.raises(ValueError, match="parts must follow"):
        notebook_list.load(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_executed_in_order_without_errors(path):
    cells = _code_cells(_load(path))
    counts = [c.get("execution_count") for c in cells]
    assert None not in counts, f"{path.name}: {counts.count(None)} code cells stored unexecuted"
    in_order = list(range(1, len(counts) + 1))
    assert counts == in_order, f"{path.name}: cells run out of order or twice: {counts}"
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: an error output is stored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_widget_state_and_a_python3_kernel(path):
    nb = _load(path)
    assert "widgets" not in nb["metadata"], f"{path.name} stores widget state (GitHub cannot render it)"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_the_mode_and_ends_with_exercises(path):
    nb = _load(path)
    first = "".join(_code_cells(nb)[0]["source"])
    assert "start_notebook(" in first, f"{path.name}: the first code cell must call cl.config.start_notebook"
    # course_lib.config points Keras's and Matplotlib's folders into build/ only if it is imported first
    imports = re.findall(r"^\s*(?:import|from)\s+([\w.]+)", first, re.M)
    tops = [name.split(".")[0] for name in imports]
    assert "course_lib" in tops, f"{path.name}: the first cell does not import course_lib"
    early = [t for t in tops[: tops.index("course_lib")] if t in ("keras", "tensorflow", "matplotlib")]
    assert not early, f"{path.name}: imports {early} before course_lib (their settings would land in HOME)"
    markdown = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert any(re.search(r"^#+\s*Exercises", m, re.M) for m in markdown[-3:]), f"{path.name}: no Exercises"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_in_quick_mode_with_checked_facts(path):
    nb = _load(path)
    first_outputs = "".join(
        "".join(o.get("text", "")) for o in _code_cells(nb)[0].get("outputs", [])
    )
    assert "Run mode: quick" in first_outputs, f"{path.name}: store notebooks in quick mode"
    # stored as CI runs them: on the offline stand-ins, with the line start_notebook prints for them
    assert "Data: offline stand-ins" in first_outputs, f"{path.name}: store notebooks without real data"
    tagged = [c for c in _code_cells(nb) if "nbval-check-output" in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"{path.name}: no cell is checked by nbval (tag nbval-check-output)"
