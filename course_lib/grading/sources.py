"""The assignment sources: finding them, checking them before release, and exporting a private copy.

A source folder holds ``<ps>/<ps>.ipynb`` for each assignment (plus any data files it needs). The sources
carry the solutions and the hidden tests, so whoever can read them can read those: ``export_source`` copies
them out of the public repository into a folder the instructor keeps private (see ``layout.source_root``
for how grading is then pointed at it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from .cells import cell_source, grading_meta
from .layout import COPY_IGNORE, REPO_ROOT, SOURCE_ENV_VAR
from .markers import SOLUTION_BEGIN

PRIVATE_README = f"""\
# Private assignment sources

These notebooks hold the solutions and the hidden tests of the course's graded assignments. Keep this folder
private (a private repository, or a folder only instructors can read); students get only the released
notebooks from `build/release/`.

Release and grade from here with either

    export {SOURCE_ENV_VAR}={{path}}
    make assignments
    make grade SUBMISSIONS=path/to/submissions

or `python scripts/assignments.py --source {{path}} release` (and `grade`, `check`).
"""


def discover_assignments(root: Path) -> list[str]:
    """Names of the assignments under a source folder.

    Args:
        root: a source folder (see ``layout.source_root``).

    Returns:
        The sorted names of the sub-folders ``<name>`` holding ``<name>.ipynb``; [] when root is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_hash(folder: Path) -> str:
    """SHA-256 over the relative paths and bytes of every file of an assignment folder.

    Args:
        folder: ``<source>/<ps>``.

    Returns:
        A hex digest that changes when any file there (the notebook or a data file) changes.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part in COPY_IGNORE for part in rel.parts):
            digest.update(str(rel.as_posix()).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def notebook_points(path: Path) -> float:
    """Total points of the test cells of a notebook (source or release).

    Args:
        path: an .ipynb file.

    Returns:
        The sum of ``metadata.nbgrader.points`` over the cells marked ``grade``.
    """
    nb = json.loads(Path(path).read_text())
    graded = (grading_meta(c) for c in nb["cells"])
    return sum(float(m.get("points", 0) or 0) for m in graded if m.get("grade"))


def lint_source(path: Path) -> list[str]:
    """Problems in a source notebook that nbgrader lets through but that break grading later.

    Args:
        path: a source notebook.

    Returns:
        One sentence per problem, naming the cell by its grade_id; [] when the notebook is fine. Checked: test
        cells are read-only; a test cell follows an answer or test cell (the grader places each test cell
        right after the answer cell before it in the source, see ``trusted.student_cells``, so a read-only
        cell in between would run after the test instead of before it); code answer cells have a solution
        region (else the release shows the answer); no stored outputs.
    """
    nb = json.loads(Path(path).read_text())
    problems, previous = [], None
    for cell in nb["cells"]:
        meta = grading_meta(cell)
        if not meta:
            continue
        name = meta.get("grade_id", "?")
        if meta.get("grade") and not meta.get("solution"):
            if not meta.get("locked"):
                problems.append(f"test cell {name} is not read-only: students could edit it")
            if previous is not None and not (previous.get("grade") or previous.get("solution")):
                problems.append(f"test cell {name} follows the read-only cell {previous.get('grade_id')}: "
                                "put it right after its answer cell or another test cell")
        if meta.get("solution") and cell["cell_type"] == "code" and SOLUTION_BEGIN not in cell_source(cell):
            problems.append(f"answer cell {name} has no ### {SOLUTION_BEGIN} region: "
                            "the release would show it")
        if cell.get("outputs"):
            problems.append(f"cell {name} has stored outputs: clear them before committing")
        previous = meta
    return problems


def copy_assignment(source: Path, dest: Path) -> None:
    """Replace ``dest`` by a copy of the assignment folder ``source`` (checkpoints and bytecode left out)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*COPY_IGNORE))


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def export_source(dest: str | Path, *, source: Path, only: list[str] | None = None,
                  force: bool = False) -> list[str]:
    """Copy assignment sources into a private folder, outside the public repository.

    Args:
        dest: the private folder (created if needed). It must not lie inside the repository, where it could
            end up in a commit.
        source: the folder to copy from (normally the public ``notebooks/assignments/source``).
        only: the assignments to copy; None copies every one found in ``source``.
        force: overwrite assignment folders that already exist in ``dest``.

    Returns:
        The names of the assignments copied, in order.

    Raises:
        ValueError: dest is inside the repository, source has none of the assignments asked for, or an
            assignment already exists in dest and force is False (nothing is copied then).
    """
    dest = Path(dest).expanduser().resolve()
    source = Path(source).resolve()
    if _inside(dest, REPO_ROOT.resolve()):
        raise ValueError(f"dest must be a folder outside the repository {REPO_ROOT} (anything inside it can "
                         f"end up in a commit, and so in public), got {str(dest)!r}")
    if _inside(dest, source):  # copying a folder into itself would never end (and force would delete it)
        raise ValueError(f"dest must not overlap the source folder {source}, got {str(dest)!r}")
    known = discover_assignments(source)
    names = list(only) if only else known
    missing = [ps for ps in names if ps not in known]
    if missing or not names:
        raise ValueError(f"only must name assignments found in {source} ({', '.join(known) or 'none'}), "
                         f"got {missing or names}")
    existing = [ps for ps in names if (dest / ps).exists()]
    if existing and not force:
        raise ValueError(f"dest already holds {', '.join(existing)}: pass force=True (--force) to overwrite, "
                         f"got dest={str(dest)!r}")
    dest.mkdir(parents=True, exist_ok=True)
    for ps in names:
        copy_assignment(source / ps, dest / ps)
    readme = dest / "README.md"
    if not readme.exists():
        readme.write_text(PRIVATE_README.format(path=dest))
    return names
