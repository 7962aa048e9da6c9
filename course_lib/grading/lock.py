"""One grading run per build directory: an exclusive lock on ``build/nbgrader/grading.lock``.

Two runs on one build folder would write the same staged copies, sandboxes, gradebook, grades.csv and feedback
pages, and corrupt each other. ``grading_lock`` takes an exclusive ``flock`` on a file in the grader's working
folder without waiting: a second run stops at once with ``BuildLockedError``, which names the holder (its
process id and when it started). The kernel drops an ``flock`` when the last descriptor of it is closed, so a
run that crashes or is killed leaves no stale lock behind (the file stays; only the lock counts). The
descriptor is close-on-exec, so the programs the run starts (the sandboxes) do not inherit it, and a child
forked without exec (``worker``) closes its copy at once: only the run itself keeps the lock alive.

The lock is re-entrant within one process (``check`` grades inside the command that holds it), never across
processes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .layout import BuildLayout
from .reports import printable

# lock file (resolved) -> (pid of the holder, depth), for the re-entrant use within one process; the pid
# tells a forked child that the entry is its parent's, not its own.
_HELD: dict[str, tuple[int, int]] = {}
_FDS: dict[str, int] = {}  # lock file (resolved) -> the descriptor holding it


def _close_in_child() -> None:
    # A forked child shares the parent's lock through the inherited descriptor: were the run killed, a child
    # still running would keep the build folder locked. The child drops its copy (the parent's stays).
    for fd in _FDS.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _FDS.clear()
    _HELD.clear()


os.register_at_fork(after_in_child=_close_in_child)


class BuildLockedError(RuntimeError):
    """Another grading run holds the build folder (or the lock could not be taken at all).

    Attributes:
        path: the lock file.
        pid: the holder's process id, when it could be read.
        started: when the holder started (local time, as written in the lock file), when it could be read.
    """

    def __init__(self, message: str, path: Path, pid: int | None = None, started: str | None = None):
        super().__init__(message)
        self.path, self.pid, self.started = path, pid, started


def _holder(fd: int) -> tuple[int | None, str | None]:
    """The pid and start time written in the lock file (None for what cannot be read)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return None, None
    if not isinstance(info, dict):
        return None, None
    pid, started = info.get("pid"), info.get("started")
    return (pid if type(pid) is int else None), (printable(started, 40) if isinstance(started, str) else None)


@contextlib.contextmanager
def grading_lock(layout: BuildLayout) -> Iterator[Path]:
    """Hold the build folder for this process: no other grading run may use it meanwhile.

    Takes an exclusive, non-blocking ``flock`` on ``layout.lock_file`` (creating it and its folder) and writes
    this process's id and start time into it. Released on leaving the block, and by the kernel when the
    process dies however it dies. Entering again in the process that holds it only counts the depth.

    Args:
        layout: the build layout to hold.

    Yields:
        The lock file.

    Raises:
        BuildLockedError: another process holds it ("another grading run (pid N, started at T) is using
            build/...: wait for it to finish, or grade into another --build-dir"), or the file system
            refuses locks.
    """
    path = layout.lock_file
    key = str(path.resolve())
    pid, depth = _HELD.get(key, (None, 0))
    if pid == os.getpid():
        _HELD[key] = (pid, depth + 1)
        try:
            yield path
        finally:
            _HELD[key] = (pid, _HELD[key][1] - 1)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    owner_pid = os.getpid()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise BuildLockedError(
                    f"could not lock {layout.build} for grading ({exc.strerror}): the file system of "
                    f"{path} refuses locks; grade into a --build-dir on a local disk", path) from exc
            holder, started = _holder(fd)
            who = ", ".join(filter(None, [f"pid {holder}" if holder else "",
                                          f"started at {started}" if started else ""]))
            raise BuildLockedError(
                f"another grading run ({who or 'process unknown'}) is using the build folder {layout.build}: "
                "wait for it to finish, or grade into another --build-dir", path, holder, started) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(),
                                  "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}).encode() + b"\n", 0)
        _HELD[key], _FDS[key] = (owner_pid, 1), fd
        try:
            yield path
        finally:
            if os.getpid() == owner_pid:  # not in a forked child that unwinds: its copy is closed already
                _HELD.pop(key, None)
                _FDS.pop(key, None)
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)  # nobody holds it now (the file stays: removing it would race)
    finally:
        if os.getpid() == owner_pid:
            os.close(fd)  # closing the last descriptor releases the lock
