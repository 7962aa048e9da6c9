"""What one submission may use: the sizes and counts of its limits (``sandbox`` and ``cgroups`` hold them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

KiB, MiB, GiB = 1024, 1024**2, 1024**3


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class Limits:
    """What one submission may use (see the module's docstring for how each is held)."""

    memory_bytes: int = 8 * GiB  # the whole submission (memory cgroup); also each process's address space
    # processes and threads together (pids cgroup). Measured in the sandbox, importing Keras and fitting a
    # tiny model peaks at 16 tasks on 1 core and 23 on 2 (about 9 + 7 per core: TensorFlow's and OpenBLAS's
    # pools follow the core count), so 8 per core + 128, at least 512, leaves the student's own code room
    max_tasks: int = field(default_factory=lambda: max(512, 8 * cores() + 128))
    max_processes: int = 64  # only where no pids cgroup can be made: the watchdog's limit
    file_bytes: int = 512 * MiB  # each file (RLIMIT_FSIZE)
    home_bytes: int = 512 * MiB  # /home/student (tmpfs)
    tmp_bytes: int = 512 * MiB  # /tmp (tmpfs)
    shm_bytes: int = 64 * MiB  # /dev/shm (tmpfs)
    log_bytes: int = 256 * KiB  # kept of the sandbox's output (sandbox.log)


def size_text(n: int) -> str:
    """A byte count in words: ``8 GiB``, ``256 KiB``."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"
