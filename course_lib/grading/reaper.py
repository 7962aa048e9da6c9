"""A launcher outside the sandbox that waits for every process below it, so that their CPU time is counted.

Run as ``python -I -S reaper.py PARENT_PID COMMAND...`` (``SandboxProcess`` does). Why it is needed: when
bubblewrap unshares the pid namespace it starts a small init (pid 1 inside) that runs the command, and the
outer ``bwrap`` process exits as soon as that init reports the command's exit status, *without waiting for
the init*. The init, and with it the CPU time of everything that ran in the sandbox, is then re-parented to
the system's init, so ``getrusage(RUSAGE_CHILDREN)`` in the grader saw (almost) nothing.

This launcher marks itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): the orphaned init is re-parented to
it instead, and it waits for every process below it before it exits. The kernel adds a reaped process's CPU
time (its own and that of the processes it reaped) to its parent's, so once the grader has waited for this
launcher, its ``RUSAGE_CHILDREN`` holds the CPU time of the whole sandbox. It also dies with the grader
(``PR_SET_PDEATHSIG``), and bubblewrap's ``--die-with-parent`` takes the sandbox with it.

It runs no student code and imports nothing of the course (``-I -S``: only the standard library).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    parent, command = int(argv[0]), argv[1:]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # if it fails, only the CPU count is lost
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the grader ended before the death signal was armed
        return 1
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    # The protocol's pipe ends belong to the command: holding them here would hide its end from the grader.
    os.closerange(3, 1 << 16)
    status = None
    while True:
        try:
            died, st = os.wait()
        except ChildProcessError:  # nothing left below: every CPU second has been handed up
            break
        except InterruptedError:
            continue
        if died == pid:
            status = st
    return os.waitstatus_to_exitcode(status) if status is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
