"""The three jobs: release the student versions, grade submissions, check that the solutions score full marks.

Nothing here imports TensorFlow: only the kernels nbgrader starts do. Student code runs only in those kernels,
under ``python -m nbgrader autograde`` child processes that are killed, kernel included, when they overrun.
Steps that run no student code (generate_assignment, generate_feedback, reading the gradebook) use nbgrader's
API in this process. Everything is written under the build directory: ``prepare_environment`` points the tools
that like to write into HOME (Jupyter, IPython, Keras, Matplotlib) there, and turns off bytecode writing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .layout import CONFIG_FILE, REPO_ROOT, BuildLayout
from .markers import CELL_TIMEOUT_ENAME, HIDDEN_MARKERS, SOLUTION_MARKERS
from .processes import run_logged
from .reports import format_summary, show_path, write_reports
from .sources import copy_assignment, lint_source, notebook_points, source_hash
from .submissions import Submission, find_submissions, stage

DEFAULT_SUBMISSION_TIMEOUT = 600.0
DEFAULT_TOTAL_TIMEOUT = 4 * 3600.0


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def prepare_environment(build: Path) -> BuildLayout:
    """Point every tool that writes into HOME into build/nbgrader/; set what the grader's children inherit.

    ``course_lib.config`` already moves these folders under the build directory it saw at import; this puts
    them under the build directory chosen for this run (``--build-dir``, or ``build/check``).

    Sets ``os.environ`` (the nbgrader child processes and their kernels inherit it) and creates the folders.

    Args:
        build: the build directory.

    Returns:
        The ``BuildLayout`` of that directory.
    """
    layout = BuildLayout(Path(build).resolve())
    work = layout.work
    env = {
        "COURSE_BUILD_DIR": layout.build,
        "JUPYTER_RUNTIME_DIR": work / "runtime",
        # an empty user data dir: the kernel is this environment's python3, not one a user installed elsewhere
        "JUPYTER_DATA_DIR": work / "jupyter-data",
        # no personal Jupyter config either: nbgrader_config.py alone decides (Jupyter drops a marker here)
        "JUPYTER_CONFIG_DIR": work / "jupyter-config",
        "IPYTHONDIR": work / "ipython",
        "KERAS_HOME": work / "keras",
        "MPLCONFIGDIR": work / "matplotlib",
        "XDG_CACHE_HOME": work / "cache",  # fontconfig's cache, built when Matplotlib lists the fonts
        "TMPDIR": work / "tmp",  # temporary files too (each grader gets its own folder below)
    }
    for key, path in env.items():
        path.mkdir(parents=True, exist_ok=True)
        os.environ[key] = str(path)
    tempfile.tempdir = None  # tempfile caches the folder it chose first; make it read TMPDIR again
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    # No __pycache__ next to course_lib. (Not PYTHONPYCACHEPREFIX: it would also move the installed packages'
    # bytecode, and recompiling TensorFlow costs each grader some 15 s.)
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # A broken nbgrader_config.py must stop grading, not fall back silently to nbgrader's defaults (which
    # would, among other things, show hidden tests in the feedback).
    os.environ["TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("COURSE_MODE", "quick")  # grading never trains for real: same result everywhere
    os.environ.setdefault("MPLBACKEND", "Agg")
    # The kernel's "python" and nbgrader's "alembic" are looked up on PATH: use this environment's.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    # The graders and kernels import course_lib (and nbgrader_config.py imports course_lib.grading) from this
    # checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return layout


def nbgrader_api():
    """An in-process nbgrader API configured by nbgrader_config.py (for steps that run no student code)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    return NbGraderAPI(config=config)


# ------------------------------------------------------------------------------------------------ release

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


# ------------------------------------------------------------------------------------------------ grading

def read_scores(sub: Submission, layout: BuildLayout) -> None:
    """Fill ``sub.score``, ``sub.max_score`` and ``sub.by_question`` from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(layout.db_url) as gb:
        result = gb.find_submission(sub.assignment, sub.student)
        sub.score, sub.max_score = float(result.score), float(result.max_score)
        sub.by_question = [(g.name, float(g.score), float(g.max_score))
                           for nb in result.notebooks for g in nb.grades]


def max_points(assignment: str, layout: BuildLayout) -> float:
    """The points an assignment is worth, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(layout.db_url) as gb:
        return float(gb.find_assignment(assignment).max_score)


def timed_out_cells(nb: dict) -> list[str]:
    """The cells of an executed notebook that nbgrader interrupted at the per-cell timeout.

    Args:
        nb: an autograded notebook, as parsed JSON.

    Returns:
        Their grade_ids (``cell <index>`` for a cell without one), in notebook order. A cell counts when it
        holds an error output named ``CELL_TIMEOUT_ENAME``, which nbgrader_config.py sets as Execute's
        ``error_on_timeout``.
    """
    found = []
    for index, cell in enumerate(nb.get("cells", [])):
        if any(o.get("output_type") == "error" and o.get("ename") == CELL_TIMEOUT_ENAME
               for o in cell.get("outputs", [])):
            found.append(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}")
    return found


def feedback_leak(folder: Path) -> str:
    """'' when no feedback page under folder shows a hidden-test marker, else the offending page."""
    for page in sorted(Path(folder).glob("*.html")):
        if any(marker in page.read_text(errors="replace") for marker in HIDDEN_MARKERS):
            return str(page)
    return ""


def _grade_one(sub: Submission, layout: BuildLayout, api, budget: float, extra: list[str]) -> None:
    stage(sub, layout)
    log = layout.log(sub.student, sub.assignment)
    runtime = layout.kernel_runtime(sub.student, sub.assignment)
    runtime.mkdir(parents=True, exist_ok=True)
    # jupyter_client writes the kernel's connection file with tempfile.mkstemp, i.e. into TMPDIR: pointing
    # TMPDIR here keeps it (and the student's temporary files) under build/, and names this grader's kernel.
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "TMPDIR": str(runtime)}
    outcome = run_logged([sys.executable, "-m", "nbgrader", "autograde", sub.assignment,
                          "--student", sub.student, "--force", *extra],
                         cwd=CONFIG_FILE.parent, log_path=log, timeout=budget, env=env)  # cwd: its config
    sub.seconds, sub.cpu_seconds = outcome.seconds, outcome.cpu_seconds
    if outcome.status != "ok":
        sub.status, sub.score = outcome.status, 0.0
        why = f"killed after {budget:.0f} s" if outcome.status == "timeout" else "nbgrader failed"
        sub.note = f"{why}; see {show_path(log)}"
        return
    read_scores(sub, layout)
    sub.status = "graded"
    for notebook in sorted(layout.autograded(sub.student, sub.assignment).glob("*.ipynb")):
        sub.timed_out_cells += timed_out_cells(json.loads(notebook.read_text()))
    result = api.generate_feedback(sub.assignment, sub.student, force=True)
    folder = layout.feedback(sub.student, sub.assignment)
    leak = feedback_leak(folder)
    if not result.get("success") or not folder.is_dir():
        sub.note = "feedback failed: " + result.get("error", "")[-300:]
    elif leak:
        shutil.rmtree(folder)
        sub.note = f"feedback withheld: hidden tests visible in {leak}"


def grade(layout: BuildLayout, submissions: str | Path, source: Path, *, only: list[str] | None = None,
          cell_timeout: int | None = None, submission_timeout: float = DEFAULT_SUBMISSION_TIMEOUT,
          total_timeout: float = DEFAULT_TOTAL_TIMEOUT) -> int:
    """Autograde every submission under a folder, one at a time; write feedback, grades.csv and a summary.

    Args:
        layout: the build layout (must come from ``prepare_environment``).
        submissions: the folder of student folders (see ``submissions``); never nbgrader's own copy.
        source: the source folder; stale assignments are released from it first.
        only: the assignments to grade; None grades every one in ``source``.
        cell_timeout: seconds a cell may run before nbgrader interrupts it; None keeps nbgrader_config.py's.
        submission_timeout: seconds one submission's grader may run before it is killed with its kernel.
        total_timeout: seconds for the whole run; later submissions are skipped.

    Returns:
        The exit status: 0 when every submission was graded, 1 when some were not (or the release failed),
        2 when there is nothing to grade or the folder is wrong.
    """
    from .sources import discover_assignments

    root = Path(submissions).expanduser().resolve()
    if not root.is_dir():
        _err(f"--submissions must be a folder, got {str(submissions)!r}")
        return 2
    try:
        root.relative_to(layout.nbgrader_dir("submitted_directory"))
        _err("--submissions must not be nbgrader's own submitted folder; point it at the originals")
        return 2
    except ValueError:
        pass
    assignments = only or discover_assignments(source)
    subs, ignored = find_submissions(root, assignments)
    for entry in ignored:
        print(f"ignored: {entry}")
    if not subs:
        _err(f"no submissions found under {root} (expected {root}/<student>/<ps>/<ps>.ipynb "
             f"or {root}/<student>/<ps>.ipynb for ps in {', '.join(assignments)})")
        return 2
    if not ensure_released(sorted({s.assignment for s in subs}), layout, source):
        return 1
    api = nbgrader_api()
    deadline = time.monotonic() + total_timeout
    extra = [f"--Execute.timeout={cell_timeout}"] if cell_timeout else []
    print(f"grading {len(subs)} submission(s) from {root}, one at a time")
    for sub in subs:
        sub.max_score = max_points(sub.assignment, layout)
        budget = min(submission_timeout, deadline - time.monotonic())
        if budget < 5:
            sub.status, sub.note = "skipped", "total time budget used up"
        else:
            _grade_one(sub, layout, api, budget, extra)
        remarks = [sub.note] if sub.note else []
        if sub.timed_out_cells:
            remarks.append(f"cut by the cell timeout: {', '.join(sub.timed_out_cells)}")
        print(f"  {sub.student}/{sub.assignment}: {sub.status} {sub.score:g}/{sub.max_score:g} "
              f"in {sub.seconds:.1f} s" + (f" ({'; '.join(remarks)})" if remarks else ""))
    write_reports(subs, layout)
    print()
    print(format_summary(subs, layout))
    return 0 if all(s.status == "graded" for s in subs) else 1


def check(layout: BuildLayout, source: Path, *, only: list[str] | None = None) -> int:
    """Grade each instructor version as a student would submit it: every assignment must score full marks.

    Runs in its own build folder (``build/check/``), so the course's gradebook is left alone.

    Args:
        layout: the course's build layout.
        source: the source folder.
        only: the assignments to check; None checks every one.

    Returns:
        0 when every solution scored full marks, else 1 (each shortfall printed to stderr).
    """
    import csv

    from .sources import discover_assignments

    check_layout = prepare_environment(layout.check().build)
    check_layout.grades_csv.unlink(missing_ok=True)  # a failed run is not to be judged by older rows
    subs = check_layout.build / "submissions"
    if subs.exists():
        shutil.rmtree(subs)
    for ps in only or discover_assignments(source):
        copy_assignment(source / ps, subs / "instructor" / ps)
    code = grade(check_layout, subs, source, only=only)
    if not check_layout.grades_csv.is_file():
        return 1
    with open(check_layout.grades_csv) as f:
        rows = list(csv.DictReader(f))
    short = [r for r in rows if r["status"] != "graded" or float(r["score"]) != float(r["max_score"])]
    for r in short:
        page = check_layout.feedback("instructor", r["assignment"])
        _err(f"CHECK FAILED: {r['assignment']}: the solution scores {r['score']}/{r['max_score']} "
             f"({r['status']}); see {show_path(page)}")
    if not short and code == 0:
        print(f"check passed: every solution scores full marks ({', '.join(r['assignment'] for r in rows)})")
    return 1 if short or code else 0
