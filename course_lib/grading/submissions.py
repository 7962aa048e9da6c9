"""Students' submissions: finding them in either layout, and what is wrong with those that cannot be graded.

Two layouts are accepted, mixed freely:

    <root>/<student_id>/<ps>/<ps>.ipynb    nbgrader's layout; other files in that folder come along
    <root>/<student_id>/<ps>.ipynb         flat

The originals are only ever read. Every (student, assignment) pair of the run gets a row: a pair that
cannot be graded gets one of the statuses ``PROBLEM_STATUSES`` instead of being skipped quietly.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .layout import COPY_IGNORE, BuildLayout, write_error
from .markers import STUDENT_ID

PROBLEM_STATUSES = {
    "missing": "no notebook for this assignment",
    "misnamed": "a file or folder that is not a known assignment, or a folder that is not a valid student id",
    "duplicate": "the assignment is there in both layouts: grade one by removing the other",
    "hidden": "a hidden file or folder (its name starts with '.')",
    "refused": "a symbolic link, a file outside the submissions folder, or a folder that cannot be read",
}


@dataclass
class Submission:
    """One student's notebook for one assignment, and what grading made of it.

    Attributes:
        student, assignment: the ids.
        source: the submission's folder (nbgrader layout) or its notebook (flat layout).
        status: "pending", then one of ``reports.STATUSES``.
        score, max_score: points.
        seconds, cpu_seconds: what grading cost (reported, never asserted): wall-clock seconds, and the CPU
            seconds of the sandbox (everything that ran in it) plus the grader's own (the trusted tests).
        by_question: (test cell id, score, max score) per test cell.
        timed_out_cells: ids of the cells interrupted at the per-cell timeout.
        note: why a submission is not plainly graded, or what went wrong with its feedback.
        sandbox: "bwrap" or "UNSAFE" (no sandbox, asked for with --unsafe-no-sandbox).
    """

    student: str
    assignment: str
    source: Path | None
    status: str = "pending"
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    by_question: list[tuple[str, float, float]] = field(default_factory=list)
    timed_out_cells: list[str] = field(default_factory=list)
    note: str = ""
    sandbox: str = ""


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def has_link(path: Path, root: Path) -> bool:
    """True when ``path`` or anything between ``root`` and it, or anything below it, is a symbolic link."""
    path = Path(path)
    current = path
    while current != root and current != current.parent:
        if current.is_symlink():
            return True
        current = current.parent
    return path.is_dir() and any(p.is_symlink() for p in path.rglob("*"))


def find_submissions(root: Path, assignments: list[str], known: list[str] | None = None
                     ) -> tuple[list[Submission], list[Submission]]:
    """The submissions under a folder, in either layout, and a row for everything that cannot be graded.

    Args:
        root: the folder of student folders.
        assignments: the assignment names graded in this run.
        known: every assignment name of the course (entries naming one of them are not "misnamed"); defaults
            to ``assignments``.

    Returns:
        (submissions to grade, problem rows), each sorted by student then by the order of ``assignments``.
        Problem rows have a status of ``PROBLEM_STATUSES`` and a note. Every valid student folder gets a row
        for every assignment in ``assignments``.
    """
    root = Path(root)
    known = list(known or assignments)
    found, problems = [], []

    def problem(student, assignment, status, where):
        problems.append(Submission(student, assignment, None, status=status,
                                   note=f"{PROBLEM_STATUSES[status]}: {where}"))

    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            problem(entry.name, "", "hidden", entry.name)
            continue
        if entry.is_symlink() or not _inside(entry, root):
            problem(entry.name, "", "refused", entry.name)
            continue
        if not entry.is_dir():
            problem(entry.name, "", "misnamed", entry.name)
            continue
        student = entry.name
        if not STUDENT_ID.match(student):
            problem(student, "", "misnamed", f"{student}/ is not a valid student id")
            continue
        try:
            items = sorted(entry.iterdir())
        except OSError as exc:  # one unreadable folder is one row, not the end of the run
            problem(student, "", "refused", f"{student}/ ({exc.strerror or type(exc).__name__})")
            continue
        used = set()
        for ps in assignments:
            nested, flat = entry / ps / f"{ps}.ipynb", entry / f"{ps}.ipynb"
            candidates = [(p, kind) for p, kind in ((nested, "nested"), (flat, "flat"))
                          if p.exists() or p.is_symlink()]
            used.update({ps, f"{ps}.ipynb"})
            if not candidates:
                problem(student, ps, "missing", f"{student}/{ps}/{ps}.ipynb or {student}/{ps}.ipynb")
            elif len(candidates) > 1:
                problem(student, ps, "duplicate", f"{student}/{ps}/{ps}.ipynb and {student}/{ps}.ipynb")
            else:
                path, kind = candidates[0]
                if has_link(path, root) or not _inside(path, root) or not path.is_file():
                    problem(student, ps, "refused", str(path.relative_to(root)))
                else:
                    found.append(Submission(student, ps, path.parent if kind == "nested" else path))
        for item in items:
            if item.name in used:
                continue
            if item.name.startswith("."):
                problem(student, "", "hidden", f"{student}/{item.name}")
            elif item.name not in known and item.name not in {f"{k}.ipynb" for k in known}:
                problem(student, "", "misnamed", f"{student}/{item.name}")
    order = {ps: i for i, ps in enumerate(assignments)}
    key = (lambda s: (s.student, order.get(s.assignment, -1), s.note))  # noqa: E731
    return sorted(found, key=key), sorted(problems, key=key)


# Staging copies at most this deep (folders below a submission's folder), and relative paths up to this many
# characters: deeper or longer entries are left out, so that every staged path stays usable by path.
MAX_STAGE_DEPTH = 32
MAX_STAGE_PATH = 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: should a regular file be swapped for a FIFO between the look and the open, the open returns at
# once instead of waiting for a writer (and fstat then shows it is no regular file).
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _copy_file(src_dir: int | None, name: str, dest: Path) -> str:
    """Copy one regular file (``name`` in the folder open as ``src_dir``, or the path ``name`` when None) to
    ``dest``, which must not exist. Returns '' when copied, else why it was left out; never opens anything
    but a regular file (a FIFO or a device is never read).

    Raises:
        OSError: writing ``dest`` failed (a full disk: the caller says so); a problem reading the file only
            leaves it out.
    """
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=src_dir)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "cannot be read"
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link put there after the look
            return "a symbolic link"
        return f"cannot be opened ({exc.strerror})"
    with os.fdopen(fd, "rb", buffering=0) as src:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            return _kind(mode)
        # O_EXCL: never write through something already there (the folder was made empty just now)
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(out, "wb") as dst:
            os.fchmod(out, 0o644)  # writable by the grader whatever the umask: regrading replaces it
            while True:
                try:
                    chunk = src.read(1 << 20)
                except OSError as exc:  # an I/O error of the student's disk: leave the file out
                    dst.close()
                    dest.unlink(missing_ok=True)
                    return f"cannot be read ({exc.strerror})"
                if not chunk:
                    break
                dst.write(chunk)
    return ""


def _copy_tree(src_dir: int, dest: Path, rel: str, depth: int, left_out: list[str]) -> None:
    """Copy the folder open as ``src_dir`` into the new folder ``dest``: regular files and folders only."""
    try:
        entries = sorted(os.scandir(src_dir), key=lambda e: e.name)
    except OSError as exc:
        left_out.append(f"{rel}/ (cannot be listed: {exc.strerror})")
        return
    for entry in entries:
        name = entry.name
        path = f"{rel}/{name}" if rel else name
        if name in COPY_IGNORE:
            continue
        if len(path) > MAX_STAGE_PATH:
            left_out.append(f"{path[:100]}... (path longer than {MAX_STAGE_PATH} characters)")
            continue
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            left_out.append(f"{path} (cannot be read: {exc.strerror})")
            continue
        if stat.S_ISDIR(mode):
            if depth >= MAX_STAGE_DEPTH:
                left_out.append(f"{path}/ (more than {MAX_STAGE_DEPTH} folders deep)")
                continue
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=src_dir)
            except OSError as exc:
                left_out.append(f"{path}/ (cannot be read: {exc.strerror})")
                continue
            try:
                os.mkdir(dest / name, 0o755)
                os.chmod(dest / name, 0o755)
                _copy_tree(child, dest / name, path, depth + 1, left_out)
            finally:
                os.close(child)
        elif stat.S_ISREG(mode):
            why = _copy_file(src_dir, name, dest / name)
            if why:
                left_out.append(f"{path} ({why})")
        else:
            left_out.append(f"{path} ({_kind(mode)})")


def stage(sub: Submission, layout: BuildLayout, left_out: list[str] | None = None) -> Path:
    """Copy a submission into the grader's own folder, replacing an earlier copy.

    Only regular files and folders are copied. Symbolic links, FIFOs, sockets and devices are left out without
    being opened (reading a FIFO would wait forever), and so is a file or folder that cannot be read, one
    deeper than ``MAX_STAGE_DEPTH`` folders and one whose path is longer than ``MAX_STAGE_PATH`` characters:
    one odd entry never stops the run. Nothing is followed out of the submission's folder, and nothing is
    written outside the copy. The sandbox's home is filled from this copy (see ``trusted.prepare_home``);
    every file and folder of it is writable by the grader, so that regrading can replace it.

    Args:
        sub: the submission (nested layout: its folder is copied; flat layout: its notebook alone).
        layout: the build layout.
        left_out: when given, one line is appended per entry left out: its path relative to the submission's
            folder and why, e.g. ``"data/pipe (a FIFO)"``.

    Returns:
        The folder ``build/nbgrader/submitted/<student>/<ps>``; the originals are never touched.

    Raises:
        BuildWriteError: the copy could not be written (a full disk, say); the partial copy is removed.
    """
    left_out = [] if left_out is None else left_out
    dest = layout.submitted(sub.student, sub.assignment)
    try:
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(dest, 0o755)
        os.chmod(dest, 0o755)
        source = Path(sub.source)
        if source.is_dir() and not source.is_symlink():
            try:
                top = os.open(source, _DIR_FLAGS)
            except OSError as exc:
                left_out.append(f"./ (cannot be read: {exc.strerror})")
            else:
                try:
                    _copy_tree(top, dest, "", 0, left_out)
                finally:
                    os.close(top)
        else:
            why = _copy_file(None, str(source), dest / source.name)
            if why:
                left_out.append(f"{source.name} ({why})")
    except OSError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise write_error(dest, exc, what="copy a submission into") from exc
    return dest


def left_out_note(left_out: list[str], limit: int = 5) -> str:
    """The remark for a row's note about the entries ``stage`` left out ('' when none).

    Args:
        left_out: the lines ``stage`` appended.
        limit: how many of them to name.

    Returns:
        e.g. ``"not copied for grading: data/pipe (a FIFO), link.txt (a symbolic link)"``, with
        ``" and N more"`` past ``limit``.
    """
    if not left_out:
        return ""
    more = f" and {len(left_out) - limit} more" if len(left_out) > limit else ""
    return "not copied for grading: " + ", ".join(left_out[:limit]) + more
