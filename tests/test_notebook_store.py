"""The notebooks as stored in git: executed in quick mode, in order, clean, and complete."""

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


def _readme_notebook_table():
    """The notebook names in the first column of the README's table under "## The notebooks", in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## The notebooks", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def test_readme_table_names_exactly_the_notebooks_in_the_folder_in_order():
    in_folder = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    in_readme = _readme_notebook_table()
    assert in_readme, "the README has no notebook table under '## The notebooks'"
    extra, omitted = set(in_readme) - set(in_folder), set(in_folder) - set(in_readme)
    assert not extra, f"the README names notebooks that do not exist: {sorted(extra)}"
    assert not omitted, f"notebooks the README's table omits: {sorted(omitted)}"
    assert in_readme == in_folder, "the README's table is not in course order"
    numbers = [name[:2] for name in in_folder]
    assert numbers == [f"{i:02d}" for i in range(len(numbers))], f"gaps or repeats in numbering: {numbers}"


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
