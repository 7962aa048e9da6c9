"""The grading plan of an assignment, read from its source notebook: answers, tests, hidden lines, setup.

``load_spec`` reads it; ``student_cells`` picks from a submission the cells to run; ``secret_lines`` decides
which hidden-test lines give something away (they are redacted wherever they show up); ``hidden_modules``
names the libraries a submission's sandbox hides.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from .cells import cell_source, grading_meta, is_secret, squash
from .markers import HIDDEN_BEGIN, HIDDEN_END, HIDDEN_PLACEHOLDER, SOLUTION_BEGIN, SOLUTION_END
from .sandbox import SHORTCUT_MODULES


@dataclass
class TestCell:
    grade_id: str
    source: str
    points: float
    anchor: str | None  # the answer cell it follows


@dataclass
class Spec:
    """What the source notebook says about grading it."""

    name: str
    mode: str
    setup: list[str]
    answers: dict[str, str]  # answer grade_id -> source
    answer_names: dict[str, list[str]]  # answer grade_id -> top-level names it defines
    tests: list[TestCell]
    forbid: tuple[str, ...]
    hidden_lines: set[str]
    context: list[tuple[int, str]] = field(default_factory=list)  # (tests before it, source): docstring
    # grade_id -> source of the read-only ("locked") cells: a submission runs the source's version of them
    locked: dict[str, str] = field(default_factory=dict)
    # answer grade_id -> libraries that answer alone may not name (course_grading.forbid_in): ps5's schedule
    # must not call Keras's CosineDecay, while its fine-tuning answer needs Keras; linted, not hidden
    forbid_in: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def forbidden_in(self, answer_id: str) -> tuple[str, ...]:
        """The libraries an answer cell may not name: the assignment's and the answer's own."""
        return tuple(dict.fromkeys(self.forbid + self.forbid_in.get(answer_id, ())))

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


def defined_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def hidden_regions(source: str) -> list[str]:
    """The text between the hidden-test markers of one cell."""
    regions, inside, lines = [], False, []
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside, lines = True, []
        elif HIDDEN_END in line:
            inside = False
            regions.append("\n".join(lines))
        elif inside:
            lines.append(line)
    return regions


def strip_hidden(source: str) -> str:
    """A test cell's source with every hidden region replaced by ``HIDDEN_PLACEHOLDER``."""
    out, inside = [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside = True
            out.append(HIDDEN_PLACEHOLDER)
        elif HIDDEN_END in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def public_lines(nb: dict) -> list[str]:
    """Every line a student is shown in the release: markdown, setup code, the visible part of the test cells
    and the part of the answer cells outside the solution markers."""
    public = []
    for cell in nb.get("cells", []):
        src, inside = cell_source(cell), False
        for line in strip_hidden(src).splitlines():
            if SOLUTION_BEGIN in line:
                inside = True
            elif SOLUTION_END in line:
                inside = False
            elif not inside:
                public.append(line)
    return public


def secret_lines(hidden: set[str], public: list[str]) -> set[str]:
    """The hidden-test lines that give something away: those not found (spaces ignored) inside a line the
    student is shown anyway, import statements left out.

    Redaction is by content, so a hidden line that is part of an ordinary line, such as
    ``cl.config.set_seed(0)`` in the release's ``SEED = cl.config.set_seed(0)``, would redact that ordinary
    line (in the student's source or in output that echoes it) though it reveals nothing.
    """
    flat = [squash(line) for line in public]
    return {h for h in hidden if not is_import(h) and not any(squash(h) in line for line in flat)}


def is_import(line: str) -> bool:
    """Whether a line is one import statement (it names modules, nothing of the tests' inputs or answers)."""
    try:
        tree = ast.parse(line.strip())
    except SyntaxError:
        return False
    return len(tree.body) == 1 and isinstance(tree.body[0], (ast.Import, ast.ImportFrom))


def load_spec(source_notebook: Path) -> Spec:
    """Read the grading plan from a source notebook (solutions and hidden tests included)."""
    nb = json.loads(Path(source_notebook).read_text())
    meta = nb.get("metadata", {}).get("course_grading", {})
    setup, answers, names, tests, hidden, context, locked = [], {}, {}, [], set(), [], {}
    anchor, seen_graded = None, False
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        m, src = grading_meta(cell), cell_source(cell)
        if m.get("locked") and not m.get("solution") and not m.get("grade") and m.get("grade_id"):
            locked[m["grade_id"]] = src
        if m.get("solution"):
            anchor = m["grade_id"]
            answers[anchor], names[anchor] = src, defined_names(src)
            seen_graded = True
        elif m.get("grade"):
            tests.append(TestCell(m["grade_id"], src, float(m.get("points", 0)), anchor))
            for region in hidden_regions(src):
                hidden.update(line.strip() for line in region.splitlines() if is_secret(line))
            seen_graded = True
        elif not seen_graded:
            setup.append(src)
        elif meta.get("context_cells"):
            context.append((len(tests), src))
    hidden = secret_lines(hidden, public_lines(nb))
    return Spec(
        Path(source_notebook).stem,
        meta.get("tests", "sandbox"),
        setup,
        answers,
        names,
        tests,
        tuple(meta.get("forbid", ())),
        hidden,
        context,
        locked,
        {str(k): tuple(v) for k, v in meta.get("forbid_in", {}).items()},
    )


def student_cells(nb: dict, spec: Spec) -> list[dict]:
    """The cells of a submission to run, in order: markdown is kept for the feedback, test cells are dropped.

    A cell whose grade_id is one of the source's test cells is dropped whatever its content (the tests come
    from the source); a read-only cell of the source (``locked``, such as ps4's ``train_briefly``) runs as the
    source has it, whatever the student did to it; in ``sandbox`` mode the source's test cells are inserted
    after the answer cell they follow in the source (at the end when the student deleted it).
    """
    test_ids = {t.grade_id for t in spec.tests}
    cells = []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown"):
            continue
        gid = grading_meta(cell).get("grade_id")
        if gid in test_ids:
            continue
        source = spec.locked.get(gid, cell_source(cell)) if gid else cell_source(cell)
        cells.append({"kind": cell["cell_type"], "source": source, "grade_id": gid or ""})
    if spec.mode != "trusted":
        for test in spec.tests:
            pos = next((i for i, c in enumerate(cells) if c["grade_id"] == test.anchor), None)
            if pos is None:
                pos = len(cells) - 1
            # after the answer and the tests already placed after it
            while pos + 1 < len(cells) and cells[pos + 1]["kind"] == "test":
                pos += 1
            cells.insert(pos + 1, {"kind": "test", "source": test.source, "grade_id": test.grade_id})
    return cells


def hidden_modules(spec: Spec) -> tuple[str, ...]:
    """The libraries made unimportable in a submission's sandbox: those its assignment forbids."""
    return tuple(m for m in SHORTCUT_MODULES if m in spec.forbid) if spec.mode == "trusted" else ()
