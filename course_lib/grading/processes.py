"""Running one grader as a child process, with a time limit that kills it and everything it started.

nbgrader starts the kernel in a session of its own, so killing the grader's process group would leave the
kernel running (and with an endless loop, burning a core for ever): the whole process tree is killed instead.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KILL_NOTE = "[course_lib.grading] killed after {seconds:.0f} s (the per-submission limit)"


@dataclass
class Outcome:
    """How a child process ended.

    Attributes:
        status: "ok" (exit status 0), "error" (another exit status) or "timeout" (killed at the limit).
        seconds: wall-clock seconds it ran (reported to the instructor; never a test criterion).
        cpu_seconds: user + system CPU seconds of the child and the processes it waited for (its kernel).
    """

    status: str
    seconds: float
    cpu_seconds: float


def descendants(pid: int) -> list[int]:
    """Ids of every process below ``pid``, children before grandchildren.

    Args:
        pid: a process id.

    Returns:
        The ids found through psutil when it is installed, else by reading /proc; [] when pid is gone.
    """
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:  # the process already ended
            return []
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # the command name may hold spaces or ")"
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a child started with ``start_new_session=True``, every process below it, and reap it.

    Args:
        proc: the child.
    """
    # Collect first, kill deepest first: a killed parent's children would be re-parented to init and lost.
    for pid in reversed(descendants(proc.pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # includes the kernels, reaped by nbgrader
    return usage.ru_utime + usage.ru_stime


def run_logged(command: list[str], *, cwd: Path, log_path: Path, timeout: float,
               env: dict[str, str] | None = None) -> Outcome:
    """Run a command with its stdout and stderr going to a log file; kill its process tree at the limit.

    Args:
        command: the argv to run.
        cwd: its working directory.
        log_path: the log file (parent folders created). On a kill, ``KILL_NOTE`` is appended to it.
        timeout: seconds before the tree is killed (at least 1).
        env: the child's environment; None inherits this process's.

    Returns:
        The ``Outcome``.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start, cpu = time.monotonic(), _child_cpu()
    limit = max(float(timeout), 1.0)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            log.write("\n" + KILL_NOTE.format(seconds=limit) + "\n")
            return Outcome("timeout", time.monotonic() - start, _child_cpu() - cpu)
    return Outcome("ok" if rc == 0 else "error", time.monotonic() - start, _child_cpu() - cpu)
