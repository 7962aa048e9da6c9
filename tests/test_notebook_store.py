"""The notebooks as stored in git: executed in quick mode, in order, clean, and complete."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [f"{i:02d}" for i in range(14)]


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_course_has_its_fourteen_notebooks_in_order():
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert numbers == EXPECTED[: len(numbers)]
    assert len(numbers) == len(set(numbers))


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
    markdown = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert any(re.search(r"^#+\s*Exercises", m, re.M) for m in markdown[-3:]), f"{path.name}: no Exercises"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_in_quick_mode_with_checked_facts(path):
    nb = _load(path)
    first_outputs = "".join(
        "".join(o.get("text", "")) for o in _code_cells(nb)[0].get("outputs", [])
    )
    assert "Run mode: quick" in first_outputs, f"{path.name}: store notebooks in quick mode"
    tagged = [c for c in _code_cells(nb) if "nbval-check-output" in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"{path.name}: no cell is checked by nbval (tag nbval-check-output)"


def test_readme_lists_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.stem for p in NOTEBOOKS if p.stem not in readme]
    assert not missing, f"README does not mention {missing}"
