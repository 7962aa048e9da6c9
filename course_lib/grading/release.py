"""Releasing the student versions: each source checked, then nbgrader's ``generate_assignment``, then the
release checked for any solution or hidden-test marker; ``ensure_released`` releases what changed since.

nbgrader runs in this process, configured by nbgrader_config.py, and runs no student code.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .layout import CONFIG_FILE, BuildLayout
from .markers import HIDDEN_MARKERS, SOLUTION_MARKERS
from .reports import show_path
from .sources import copy_assignment, lint_source, notebook_points, source_hash


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def nbgrader_api():
    """An in-process nbgrader API configured by nbgrader_config.py (release only: it runs no student code)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    return NbGraderAPI(config=config)


def _released_record(layout: BuildLayout) -> dict[str, str]:
    path = layout.released_record
    return json.loads(path.read_text()) if path.is_file() else {}


def release(assignments: list[str], layout: BuildLayout, source: Path, *, quiet: bool = False) -> bool:
    """Check each source, copy it into build/nbgrader/source and run nbgrader generate_assignment.

    Args:
        assignments: the names to release.
        layout: the build layout (must come from ``prepare_environment``).
        source: the source folder (``layout.source_root``).
        quiet: leave out the table of released assignments.

    Returns:
        True when every assignment was released and its release shows no solution or hidden-test marker.
        Problems are printed to stderr.
    """
    api = nbgrader_api()
    record = _released_record(layout)
    ok, rows = True, []
    for ps in assignments:
        start = time.monotonic()
        problems = lint_source(source / ps / f"{ps}.ipynb")
        if problems:
            ok = False
            _err(f"release of {ps} FAILED:\n  " + "\n  ".join(problems))
            continue
        copy_assignment(source / ps, layout.source_copy(ps))
        result = api.generate_assignment(ps, force=True, create=True)
        released = layout.released_notebook(ps)
        problem = None
        if not result.get("success"):
            problem = result.get("error", "") + result.get("log", "")
        elif not released.is_file():
            problem = f"nbgrader wrote no {released}"
        else:
            text = released.read_text()
            leaked = [m for m in HIDDEN_MARKERS + SOLUTION_MARKERS if m in text]
            if leaked:
                problem = f"the release still contains {leaked}: check the cell metadata of {ps}"
        if problem:
            ok = False
            _err(f"release of {ps} FAILED:\n{problem}")
            continue
        record[ps] = source_hash(source / ps)
        rows.append((ps, notebook_points(released), time.monotonic() - start, released.parent))
    layout.released_record.write_text(json.dumps(record, indent=1, sort_keys=True))
    if not quiet and rows:
        print(f"released from {show_path(source)}")
        print(f"{'assignment':<12}{'points':>8}{'seconds':>9}  student version")
        for ps, points, seconds, folder in rows:
            print(f"{ps:<12}{points:>8g}{seconds:>9.1f}  {show_path(folder)}")
    return ok


def stale_assignments(assignments: list[str], layout: BuildLayout, source: Path) -> list[str]:
    """The assignments whose source changed since their last release, or that were never released.

    Args:
        assignments: the names to consider.
        layout: the build layout.
        source: the source folder.

    Returns:
        The stale names, in the order given.
    """
    record = _released_record(layout)
    return [ps for ps in assignments
            if record.get(ps) != source_hash(source / ps)
            or not layout.released_notebook(ps).is_file()
            or not layout.gradebook.is_file()]


def ensure_released(assignments: list[str], layout: BuildLayout, source: Path) -> bool:
    """Release the stale assignments (see ``stale_assignments``); True when all are released."""
    stale = stale_assignments(assignments, layout, source)
    if not stale:
        return True
    print(f"releasing first: {', '.join(stale)}")
    return release(stale, layout, source)
