"""The three jobs: release the student versions, grade submissions, check that the solutions score full marks.

Release goes through nbgrader (``generate_assignment``, in this process, configured by nbgrader_config.py),
which also writes the gradebook. Grading does not use nbgrader: each submission's cells run in a bubblewrap
sandbox of their own (``sandbox``, ``driver``), the scores are computed by the grader (``trusted``) and the
feedback pages are written by ``feedback``. Nothing here imports TensorFlow; the grader does when it runs the
trusted tests (once per run). Everything is written under the build directory:
``prepare_environment`` points the tools that like to write into HOME (Jupyter, IPython, Keras, Matplotlib)
there, and turns off bytecode writing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..config import TF_QUIET_ENV, tool_environment
from .layout import REPO_ROOT, BuildLayout, BuildWriteError
from .release import ensure_released, release  # noqa: F401 - release is part of this module's API
from .reports import format_summary, printable, show_path, write_reports, write_text_atomic
from .sources import copy_assignment
from .submissions import Submission, find_submissions, left_out_note, stage

DEFAULT_SUBMISSION_TIMEOUT = 600.0
DEFAULT_CELL_TIMEOUT = 120
DEFAULT_TOTAL_TIMEOUT = 4 * 3600.0
KILL_GRACE = 5.0  # seconds the grader's side of a submission may run past the sandbox's deadline


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def prepare_environment(build: Path) -> BuildLayout:
    """Point every tool that writes into HOME into build/nbgrader/; set the environment of the grading run.

    ``course_lib.config`` already moves these folders under the build directory it saw at import; this puts
    them under the build directory chosen for this run (``--build-dir``, or ``build/check``).

    Sets ``os.environ`` (read by nbgrader's release in this process, by the trusted tests that run here, and
    inherited by an unsandboxed driver; a sandbox starts from an empty environment, see ``sandbox``) and
    creates the folders.

    Args:
        build: the build directory.

    Returns:
        The ``BuildLayout`` of that directory.
    """
    layout = BuildLayout(Path(build).resolve())
    work = layout.work
    # the tools' folders (config.TOOL_DIRS) under the grader's working folder, plus its own
    env = {name: Path(folder) for name, folder in tool_environment(work).items()}
    env.update(COURSE_BUILD_DIR=layout.build, TMPDIR=work / "tmp")  # a sandbox has its own private /tmp
    for key, path in env.items():
        path.mkdir(parents=True, exist_ok=True)
        os.environ[key] = str(path)
    tempfile.tempdir = None  # tempfile caches the folder it chose first; make it read TMPDIR again
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    # No __pycache__ next to course_lib. (Not PYTHONPYCACHEPREFIX: it would also move the installed packages'
    # bytecode, and recompiling TensorFlow costs some 15 s.)
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # A broken nbgrader_config.py must stop the release, not fall back silently to nbgrader's defaults (which
    # would write the release and the gradebook somewhere else).
    os.environ["TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR"] = "1"
    for name, value in TF_QUIET_ENV.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("COURSE_MODE", "quick")  # grading never trains for real: same result everywhere
    os.environ.setdefault("MPLBACKEND", "Agg")
    # nbgrader's gradebook runs "alembic" from PATH: use this environment's.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return layout


# ------------------------------------------------------------------------------------------------ grading

def copy_course_lib(dest: Path) -> Path:
    """A fresh copy of course_lib for the sandboxes of this run (read-only inside); returns its parent."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REPO_ROOT / "course_lib", dest / "course_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _write_atomic(path: Path, text: str) -> None:
    """Write a feedback page whole or not at all (``reports.write_text_atomic``; a failure such as a full
    disk raises ``BuildWriteError`` and leaves no temporary file behind)."""
    write_text_atomic(path, text)


def _read_submission(sub: Submission) -> dict | None:
    """The submission's notebook, parsed; None (with the row marked ``error``) when it cannot be read."""
    from . import trusted

    try:
        notebook = sub.source / f"{sub.assignment}.ipynb" if sub.source.is_dir() else sub.source
        if notebook.stat().st_size > trusted.MAX_NOTEBOOK_BYTES:
            raise ValueError(f"the notebook is larger than {trusted.MAX_NOTEBOOK_BYTES} bytes")
        nb = json.loads(notebook.read_text(errors="strict"))
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            raise ValueError("the file is not a notebook (no list of cells)")
    except (OSError, ValueError, RecursionError) as exc:
        sub.status, sub.note = "error", f"unreadable notebook: {str(exc)[:200]}"
        return None
    return nb


def _grade_in_child(sub: Submission, nb: dict, layout: BuildLayout, spec, *, lib: Path, deadline: float,
                    cell_timeout: float, unsafe: bool, limits, zygote=None, limit: float | None = None):
    """What a worker child does for one submission (``worker``): stage it, grade it, return the outcome."""
    from . import trusted

    left_out: list[str] = []
    staged = stage(sub, layout, left_out)
    work = layout.work / "sandboxes" / f"{sub.student}-{sub.assignment}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        outcome = trusted.grade_notebook(nb, spec, workdir=work, lib=lib,
                                         released=layout.released_notebook(sub.assignment).parent,
                                         submission=staged if sub.source.is_dir() else staged / "__none__",
                                         cell_timeout=cell_timeout, deadline=deadline, limits=limits,
                                         unsafe=unsafe, zygote=zygote, limit=limit)
    finally:
        shutil.rmtree(work / "home", ignore_errors=True)  # the student's scratch files
    if left_out:
        outcome.note = "; ".join(filter(None, [outcome.note, left_out_note(left_out)]))
    return outcome


def _record(sub: Submission, layout: BuildLayout, spec, ended, budget: float) -> None:
    """Turn how a worker ended into the submission's row and feedback page (written here, by the run)."""
    from . import feedback

    sub.seconds, sub.cpu_seconds = ended.seconds, ended.cpu_seconds
    folder = layout.feedback(sub.student, sub.assignment)
    if ended.how == "killed":
        sub.status = "timeout"
        sub.note = (f"killed at the per-submission limit of {budget:.0f} s (the grader's work on the "
                    "submission's behalf, such as training the models it returns, counts too)")
        return
    if ended.how != "ok":
        sub.status = "error"
        sub.note = f"grading stopped: {ended.why}"[:400]
        return
    outcome = ended.value
    sub.cpu_seconds += outcome.sandbox_cpu  # a forked sandbox is not this run's child: counted apart
    sub.warm_failure = outcome.warm_failure
    sub.status, sub.note = outcome.status, outcome.note
    sub.by_question, sub.timed_out_cells = outcome.by_question, outcome.timed_out_cells
    sub.score = outcome.score if outcome.status == "graded" else 0.0
    if outcome.status != "graded":
        sub.by_question = [(g, 0.0, m) for g, _, m in sub.by_question]
    notes = [sub.note] if sub.note else []
    dropped: list[str] = []
    page, redacted = feedback.render(f"{sub.assignment}: {sub.student}", outcome.cells, score=sub.score,
                                     max_score=sub.max_score, hidden_lines=spec.hidden_lines, notes=notes,
                                     dropped=dropped)
    sub.note = "; ".join(filter(None, [sub.note, feedback.dropped_note(dropped)]))
    why = feedback.check_page(page, spec.hidden_lines)
    if why:
        sub.note = "; ".join(filter(None, [sub.note, f"feedback withheld: {why}"]))
    else:
        _write_atomic(folder / f"{sub.assignment}.html", page)
        if redacted:
            sub.note = "; ".join(filter(None, [sub.note, f"feedback: {redacted} line(s) redacted"]))


def _cgroup_possible(limits) -> bool:
    from .sandbox import make_cgroup

    group = make_cgroup(limits)
    if group is None:
        return False
    group.remove()
    return True


class _WarmPool:
    """The run's zygotes (``zygote.Zygote``): one per job slot and set of hidden libraries, started when first
    needed, and again when one has ended (a submission may kill its slot's zygote)."""

    def __init__(self, layout: BuildLayout, lib: Path, limits):
        self.layout, self.lib, self.limits, self.zygotes = layout, lib, limits, {}

    def zygote(self, slot: int, hide: tuple[str, ...]):
        from .zygote import Zygote

        key = (slot, hide)
        found = self.zygotes.get(key)
        if found is not None and found.alive():
            return found
        if found is not None:
            found.close()
        jobs_root = self.layout.work / "sandboxes"
        jobs_root.mkdir(parents=True, exist_ok=True)
        folder = self.layout.work / "zygotes" / f"{slot}-{'-'.join(hide) or 'none'}"
        self.zygotes[key] = Zygote(jobs_root=jobs_root, lib=self.lib, hide=hide, limits=self.limits,
                                   folder=folder)
        return self.zygotes[key]

    def close(self) -> None:
        for zygote in self.zygotes.values():
            zygote.close()


def default_jobs() -> int:
    """How many submissions are graded at once by default: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def grade(layout: BuildLayout, submissions: str | Path, source: Path, *, only: list[str] | None = None,
          cell_timeout: int | None = None, submission_timeout: float = DEFAULT_SUBMISSION_TIMEOUT,
          total_timeout: float = DEFAULT_TOTAL_TIMEOUT, unsafe: bool = False, jobs: int | None = None,
          warm: bool = True) -> int:
    """Grade every submission under a folder, several at a time, each in its own sandbox.

    Each submission is graded by a child process of this run (``worker``): its sandbox, and the grader's own
    work on its behalf (the trusted tests), count against its limits together and end with it. This process
    writes every row, feedback page and CSV file itself.

    Args:
        layout: the build layout (must come from ``prepare_environment``).
        submissions: the folder of student folders (see ``submissions``); never inside build/nbgrader.
        source: the source folder; stale assignments are released from it first.
        only: the assignments to grade; None grades every one in ``source``.
        cell_timeout: seconds a cell (or one call of a student's function) may run; None: 120.
        submission_timeout: seconds one submission may take (sandbox and grader-side work together) before
            everything working on it is killed.
        total_timeout: seconds for the whole run; later submissions are skipped.
        unsafe: run student code without a sandbox (only when bubblewrap cannot be used; marked UNSAFE).
        jobs: submissions graded at once; None: one per core (``default_jobs``).
        warm: fork each sandbox from a warm interpreter (``zygote``) that imported Keras once per job slot;
            False starts every sandbox afresh (the benchmark compares the two).

    Returns:
        The exit status: 0 when every expected (student, assignment) pair was graded, 1 when some were not
        (missing, misnamed, duplicate, hidden, refused, error, timeout, skipped) or the release failed,
        2 when there is nothing to grade, the folder is wrong, no sandbox is available, or another run holds
        the build folder.
    """
    from .lock import BuildLockedError, grading_lock

    try:
        with grading_lock(layout):
            return _grade_locked(layout, submissions, source, only=only, cell_timeout=cell_timeout,
                                 submission_timeout=submission_timeout, total_timeout=total_timeout,
                                 unsafe=unsafe, jobs=jobs, warm=warm)
    except BuildLockedError as exc:
        _err(str(exc))
        return 2
    except BuildWriteError as exc:
        _err(f"grading stopped: {exc}")
        return 1


def _grade_locked(layout: BuildLayout, submissions: str | Path, source: Path, *, only, cell_timeout,
                  submission_timeout, total_timeout, unsafe, jobs, warm) -> int:
    from . import worker
    from .sandbox import Limits, limits_in_force, make_cgroup, sandbox_works
    from .sources import discover_assignments
    from .trusted import hidden_modules, load_spec

    root = Path(submissions).expanduser().resolve()
    if not root.is_dir():
        _err(f"--submissions must be a folder, got {printable(str(submissions))!r}")
        return 2
    try:
        root.relative_to(layout.work)
        _err("--submissions must not be inside the grader's working folder; point it at the originals")
        return 2
    except ValueError:
        pass
    if jobs is not None and (type(jobs) is not int or jobs < 1):
        _err(f"--jobs must be a positive whole number, got {jobs!r}")
        return 2
    jobs = jobs or default_jobs()
    if not unsafe:
        works, why = sandbox_works()
        if not works:
            _err(f"refusing to grade without a sandbox: {why}\n(--unsafe-no-sandbox runs student code as "
                 "your user, with access to everything you can read and write; the CSV marks it UNSAFE)")
            return 2
    else:
        print("WARNING: --unsafe-no-sandbox: student code runs as your user, unconfined")
    known = discover_assignments(source)
    assignments = only or known
    subs, problems = find_submissions(root, assignments, known)
    if not subs and not problems:
        _err(f"no submissions found under {root} (expected {root}/<student>/<ps>/<ps>.ipynb "
             f"or {root}/<student>/<ps>.ipynb for ps in {', '.join(assignments)})")
        return 2
    if subs and not ensure_released(sorted({s.assignment for s in subs}), layout, source):
        return 1
    graded_here = sorted({s.assignment for s in subs})
    specs = {ps: load_spec(layout.source_copy(ps) / f"{ps}.ipynb") for ps in graded_here}
    for sub in subs:
        sub.max_score = specs[sub.assignment].max_score
    rows = sorted(subs + problems, key=lambda s: (s.student, s.assignment))
    write_reports(rows, layout)  # every row "incomplete" until graded: never a stale file
    lib = copy_course_lib(layout.work / "sandbox-lib")
    deadline = time.monotonic() + total_timeout
    timeout = float(cell_timeout or DEFAULT_CELL_TIMEOUT)
    limits = Limits()
    print(f"grading {len(subs)} submission(s) from {printable(str(root))}, {jobs} at a time, "
          f"{'WITHOUT A SANDBOX' if unsafe else 'each in its own bubblewrap sandbox'}")
    worker.warm_up()  # Keras imported once here, not in every child

    def report(sub: Submission) -> None:
        write_reports(rows, layout)
        remarks = [sub.note] if sub.note else []
        if sub.timed_out_cells:
            remarks.append(f"cut by the cell timeout: {', '.join(sub.timed_out_cells)}")
        if getattr(sub, "warm_failure", ""):
            remarks.append(f"started in a fresh sandbox: {sub.warm_failure}")
        print(printable(f"  {sub.student}/{sub.assignment}: {sub.status} {sub.score:g}/{sub.max_score:g} "
                        f"in {sub.seconds:.1f} s" + (f" ({'; '.join(remarks)})" if remarks else "")),
              flush=True)

    pending, running, budgets, groups, slots = list(subs), {}, {}, {}, {}
    # a forked sandbox can only be ended whole through its cgroup: without one, every sandbox starts afresh
    pool = _WarmPool(layout, lib, limits) if warm and not unsafe and _cgroup_possible(limits) else None
    try:
        while pending or running:
            while pending and len(running) < jobs:
                sub = pending.pop(0)
                budget = min(submission_timeout, deadline - time.monotonic())
                nb = _read_submission(sub) if budget >= 5 else None
                if budget < 5:
                    sub.status, sub.note = "skipped", "total time budget used up"
                if nb is None:
                    report(sub)
                    continue
                sub.sandbox = "UNSAFE" if unsafe else "bwrap"
                shutil.rmtree(layout.feedback(sub.student, sub.assignment), ignore_errors=True)
                spec = specs[sub.assignment]
                ends_at = time.monotonic() + budget
                slot = min(set(range(jobs)) - set(slots.values()))
                zygote = pool.zygote(slot, hidden_modules(spec)) if pool else None

                def work(sub=sub, nb=nb, spec=spec, ends_at=ends_at, zygote=zygote, budget=budget):
                    return _grade_in_child(sub, nb, layout, spec, lib=lib, deadline=ends_at,
                                           cell_timeout=timeout, unsafe=unsafe, limits=limits, zygote=zygote,
                                           limit=budget)

                # The grader's side joins the submission's memory cgroup (its sandbox's group nests under it),
                # so the two share one memory budget; the student's processes and threads are counted in the
                # sandbox's own pids group, which cannot starve the grader's side. It is killed shortly after
                # the sandbox's own deadline.
                group = None if unsafe else make_cgroup(limits)
                join = (lambda pid, group=group: group.add(pid, ("memory",))) if group else None
                job = worker.start(sub, work, kill_at=ends_at + KILL_GRACE, memory_bytes=limits.memory_bytes,
                                   join=join, close_fds=tuple(j.fd for j in running.values()))
                running[job.pid], budgets[job.pid], groups[job.pid], slots[job.pid] = job, budget, group, slot
            for job, ended in worker.wait(list(running.values()), timeout=1.0):
                running.pop(job.pid)
                slots.pop(job.pid)
                group = groups.pop(job.pid)
                if group is not None:
                    if ended.how == "died" and group.oom_kills():
                        ended.why = ("the grader's work on its behalf (with its sandbox) ran out of memory "
                                     f"(limit {limits.memory_bytes / 2**30:g} GiB)")
                    group.remove()  # kills what is left first
                sub = job.key
                _record(sub, layout, specs[sub.assignment], ended, budgets.pop(job.pid))
                report(sub)
    finally:
        if pool is not None:
            pool.close()
    for p in problems:
        print(printable(f"  {p.student}/{p.assignment or '-'}: {p.status} ({p.note})"))
    print()
    print(format_summary(rows, layout))
    if not unsafe:
        missing = limits_in_force(limits)[1]
        if missing:
            print("limits this host does not hold: " + "; ".join(missing))
    if unsafe:
        print("UNSAFE: graded without a sandbox (--unsafe-no-sandbox)")
    return 0 if all(s.status == "graded" for s in rows) else 1


def check(layout: BuildLayout, source: Path, *, only: list[str] | None = None) -> int:
    """Grade each instructor version as a student would submit it: every assignment must score full marks.

    Runs in its own build folder (``build/check/``), so the course's gradebook is left alone.

    Args:
        layout: the course's build layout.
        source: the source folder.
        only: the assignments to check; None checks every one.

    Returns:
        0 when every solution scored full marks, else 1 (each shortfall printed to stderr); 2 when another
        run holds ``build/check/``.
    """
    from .lock import BuildLockedError, grading_lock

    check_layout = prepare_environment(layout.check().build)
    try:
        with grading_lock(check_layout):  # before anything is deleted: a second check is refused whole
            return _check_locked(check_layout, source, only)
    except BuildLockedError as exc:
        _err(str(exc))
        return 2


def _check_locked(check_layout: BuildLayout, source: Path, only: list[str] | None) -> int:
    import csv

    from .sources import discover_assignments

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
