"""Finding and killing the processes below one process (the sandbox's watchdog and its kill use them).

A process that starts a child in a session of its own (as a student's code may) takes it out of the process
group, so killing the group would leave it running: the whole process tree is collected and killed instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


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
