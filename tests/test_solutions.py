"""The worked solutions in notebooks/solutions/ run, and every checked exercise is answered right there.

Each ``NN_solutions.py`` is executed in this process (TensorFlow is imported once for all of them), with
``course_lib.exercises.check`` recorded: a solution must call the check of every exercise of its notebook
that has one, and each call must say right. The files are jupytext percent scripts, so they also open as
notebooks.
"""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; solutions may draw

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_lib import exercises  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "notebooks" / "solutions"
# Every notebook of the course (00-18) has solutions; a notebook added later gets its file when it is written.
CORE = [f"{n:02d}" for n in range(19)]
SOLVED = sorted(p.name[:2] for p in SOLUTIONS.glob("[0-9][0-9]_solutions.py"))


def test_every_core_notebook_has_solutions_and_every_solution_a_notebook():
    notebooks = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert set(CORE) <= set(SOLVED), sorted(set(CORE) - set(SOLVED))
    assert set(SOLVED) <= notebooks, sorted(set(SOLVED) - notebooks)


@pytest.mark.parametrize("number", SOLVED)
def test_solution_runs_and_every_check_passes(number, monkeypatch, capsys):
    path = SOLUTIONS / f"{number}_solutions.py"
    source = path.read_text()
    assert source.startswith("# %% [markdown]\n# # Solutions:"), "jupytext percent format with a title"
    assert "do not read on" in source  # the warning to students
    results: dict[str, list[bool]] = {}
    check = exercises.check

    def recording(key, answer, **kwargs):
        ok = check(key, answer, **kwargs)
        results.setdefault(key, []).append(ok)
        return ok

    monkeypatch.setattr(exercises, "check", recording)
    monkeypatch.chdir(SOLUTIONS)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    out = capsys.readouterr().out
    assert "not yet" not in out
    expected = {k for k in exercises.available() if k.startswith(number + ".")}
    assert set(results) == expected, f"checks called {sorted(results)}, checks that exist {sorted(expected)}"
    assert all(all(v) for v in results.values())
    # every exercise of the notebook is answered: a "**k.**" (or "**k, m.**") paragraph for each
    answered = {int(n) for group in re.findall(r"\*\*([\d, ]+)\.\*\*", source) for n in group.split(",")}
    assert answered == exercise_numbers(number), sorted(answered)


def exercise_numbers(number: str) -> set[int]:
    """The numbers of the exercises listed in the notebook's "## Exercises" section."""
    (path,) = (ROOT / "notebooks").glob(f"{number}_*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
                   and "## Exercises" in "".join(c["source"]))
    section = text.split("## Exercises", 1)[1]
    return {int(m) for m in re.findall(r"^(\d+)\. ", section, flags=re.M)}
