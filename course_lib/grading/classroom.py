"""Generated submissions: a class of students built from the release and the source, for trials of the grader.

The grading tests and ``benchmarks/bench_grading.py`` both need submissions that look like a real class's:
the released notebook with some answer cells filled in with the source's solution, some left as the stub, some
wrong. This module builds them (as parsed notebooks; ``save_notebook`` writes one); it runs no student code.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

from .cells import cell_source, grading_meta
from .markers import SOLUTION_BEGIN, SOLUTION_END


def answer_ids(source_nb: dict) -> list[str]:
    """The grade ids of the answer (solution) cells of a source notebook, in order."""
    return [grading_meta(c)["grade_id"] for c in source_nb["cells"] if grading_meta(c).get("solution")]


def solution_code(source_nb: dict, grade_id: str) -> str:
    """The source's answer to one cell, without the solution markers.

    Raises:
        KeyError: no cell has that grade id.
    """
    for cell in source_nb["cells"]:
        if grading_meta(cell).get("grade_id") == grade_id:
            lines = cell_source(cell).split("\n")
            return "\n".join(ln for ln in lines if SOLUTION_BEGIN not in ln and SOLUTION_END not in ln)
    raise KeyError(grade_id)


def fill_answers(release_nb: dict, source_nb: dict, answers: dict[str, str | None]) -> dict:
    """The release with answer cells replaced: ``answers[id]`` is code, None (the source's solution), or
    absent (the released stub is left)."""
    nb = copy.deepcopy(release_nb)
    for cell in nb["cells"]:
        gid = grading_meta(cell).get("grade_id")
        if gid in answers:
            code = answers[gid]
            cell["source"] = solution_code(source_nb, gid) if code is None else code
    return nb


def class_of(release: dict[str, dict], source: dict[str, dict], students: int, *, honest: float = 0.5,
             seed: int = 0) -> dict[tuple[str, str], dict]:
    """A class: every student hands in every assignment, honestly (all answers right) or partly.

    Args:
        release, source: the released and source notebooks by assignment name.
        students: how many students.
        honest: the share of each assignment's submissions with every answer right (rounded to whole
            submissions, the students drawn at random); the others get each answer right with probability 1/2
            and leave the rest as the stub.
        seed: for the draws.

    Returns:
        (student id, assignment) -> the notebook.
    """
    rng = random.Random(seed)
    ids = [f"s{i:03d}" for i in range(students)]
    out = {}
    for ps in sorted(release):
        answers_of = answer_ids(source[ps])
        honest_ones = set(rng.sample(ids, round(honest * students)))
        for student in ids:
            if student in honest_ones:
                answers = dict.fromkeys(answers_of)
            else:
                answers = {gid: None for gid in answers_of if rng.random() < 0.5}
            out[(student, ps)] = fill_answers(release[ps], source[ps], answers)
    return dict(sorted(out.items()))


def save_notebook(nb: dict, path: Path) -> None:
    """Write a notebook (its folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
