"""Control groups for one submission: a memory group and a pids group, made by the grader, removed after.

``Cgroup`` uses cgroup v1 where the controller has a hierarchy of its own, else v2 when the cgroup2 hierarchy
can enable it for a child group; it is made under the grader's own group (v2: under the root when its own
holds processes), so that a sandbox started by a worker already in a group nests under it. ``make_cgroup``
gives None where neither controller can be used (``sandbox.limits_in_force`` then says so).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

from .limits import Limits

CGROUP_PREFIX = "course-grading-"

# ---------------------------------------------------------------------------------------------------------
# cgroups


def _mounts() -> list[tuple[str, Path, str, set[str]]]:
    """The cgroup mounts: (fstype, mount point, root of the hierarchy mounted there, super options)."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        point = fields[4].replace("\\040", " ")
        found.append((tail[0], Path(point), fields[3], set(tail[2].split(","))))
    return found


def _own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup in the v1 hierarchy of ``controller`` (None: the v2 hierarchy)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if controller is None and parts[0] == "0" and parts[1] == "":
            return parts[2]
        if controller is not None and controller in parts[1].split(","):
            return parts[2]
    return None


def _under(point: Path, root: str, own: str | None) -> Path:
    """The folder of cgroup ``own`` in a hierarchy whose ``root`` is mounted at ``point``."""
    if own is None:
        return point
    own, root = own.rstrip("/") or "/", root.rstrip("/") or "/"
    if root != "/" and not (own == root or own.startswith(root + "/")):
        return point
    rel = own[len(root):] if root != "/" else own
    folder = point / rel.lstrip("/")
    return folder if folder.is_dir() else point


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _read_keyed(path: Path) -> dict[str, int]:
    """A flat-keyed cgroup file ("key value" per line) as a dict; {} when it cannot be read."""
    values = {}
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if value.strip().lstrip("-").isdigit():
                values[key] = int(value)
    except OSError:
        pass
    return values


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _remove_group(folder: Path) -> None:
    """rmdir a cgroup and the groups nested in it, deepest first (their control files go with them).

    Raises:
        OSError: one of them still holds a process (EBUSY), or no permission.
    """
    for top, dirs, _files in os.walk(folder, topdown=False):
        for name in dirs:
            os.rmdir(os.path.join(top, name))
    os.rmdir(folder)


def _clean_stale(base: Path) -> None:
    """Remove empty cgroups that a grader which has ended left behind (it was killed before removing them)."""
    for folder in base.glob(CGROUP_PREFIX + "*"):
        try:
            pid = int(folder.name[len(CGROUP_PREFIX):].split("-")[0])
            os.kill(pid, 0)
            continue  # its grader still runs
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError):
            continue
        try:
            _remove_group(folder)
        except OSError:
            pass


class Cgroup:
    """One submission's control groups: one for memory, one for processes and threads (v1: a folder in each
    controller's hierarchy; v2: one folder with both controllers).

    ``memory`` and ``pids`` are the folders, None where that controller could not be used (``why`` says why).
    """

    _serial = itertools.count()

    def __init__(self, limits: Limits):
        self.limits = limits
        self.memory: Path | None = None
        self.pids: Path | None = None
        self.version: dict[str, int] = {}
        self.why: dict[str, str] = {}
        self._made: list[Path] = []
        name = f"{CGROUP_PREFIX}{os.getpid()}-{next(self._serial)}"
        mounts = _mounts()
        for controller in ("memory", "pids"):
            try:
                folder, version = self._make(controller, name, mounts)
            except OSError as exc:
                self.why[controller] = f"{type(exc).__name__}: {exc}"
                continue
            if folder is None:
                self.why.setdefault(controller, f"no {controller} controller is mounted")
                continue
            try:
                self._configure(controller, folder, version)
            except OSError as exc:
                self.why[controller] = f"{controller} limit could not be set: {exc}"
                continue
            setattr(self, controller, folder)
            self.version[controller] = version
        self._procs = [str(folder / "cgroup.procs") for folder in self.folders]

    def _make(self, controller: str, name: str, mounts) -> tuple[Path | None, int]:
        for fstype, point, root, options in mounts:  # v1: the controller has a hierarchy of its own
            if fstype == "cgroup" and controller in options:
                base = _under(point, root, _own_cgroup(controller))
                _clean_stale(base)
                folder = base / name
                if not folder.is_dir():
                    folder.mkdir()
                    self._made.append(folder)
                return folder, 1
        for fstype, point, root, _options in mounts:  # v2: the controller must be enabled for child groups
            if fstype != "cgroup2":
                continue
            try:
                available = (point / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            if controller not in available:
                continue
            errors = []
            for base in dict.fromkeys([_under(point, root, _own_cgroup(None)), point]):
                folder = base / name
                if folder.is_dir() and (folder / f"{controller}.max").exists():
                    return folder, 2  # made for the other controller
                try:
                    if controller not in (base / "cgroup.subtree_control").read_text().split():
                        _write(base / "cgroup.subtree_control", f"+{controller}")
                    _clean_stale(base)
                    if not folder.is_dir():
                        folder.mkdir()
                        self._made.append(folder)
                    return folder, 2
                except OSError as exc:
                    errors.append(f"{base}: {exc}")
            self.why[controller] = f"cannot enable {controller} for a child cgroup ({'; '.join(errors)})"
            return None, 2
        return None, 0

    def _configure(self, controller: str, folder: Path, version: int) -> None:
        limits = self.limits
        if controller == "pids":
            _write(folder / "pids.max", str(limits.max_tasks))
        elif version == 1:
            _write(folder / "memory.limit_in_bytes", str(limits.memory_bytes))
            if (folder / "memory.memsw.limit_in_bytes").exists():  # no swap beyond the limit
                try:
                    _write(folder / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
                except OSError:
                    pass
        else:
            _write(folder / "memory.max", str(limits.memory_bytes))
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", "0")

    @property
    def folders(self) -> list[Path]:
        return list(dict.fromkeys(f for f in (self.memory, self.pids) if f is not None))

    def add(self, pid: int, controllers: tuple[str, ...] = ("memory", "pids")) -> None:
        """Put process ``pid`` into the groups (e.g. a worker forked for the submission, before it works).

        Args:
            pid: the process.
            controllers: which of the groups ("memory", "pids"); the grader's own side of a submission joins
                the memory group only, so that the student's threads cannot starve the grader's of tasks.

        Raises:
            OSError: it could not be moved (it ended, or no permission).
        """
        chosen = [group for name, group in (("memory", self.memory), ("pids", self.pids))
                  if name in controllers and group is not None]
        for folder in dict.fromkeys(chosen):
            _write(folder / "cgroup.procs", str(pid))

    def enter(self) -> None:
        """Put the calling process into the groups: run in the launcher between fork and exec
        (``preexec_fn``), so it only opens and writes files whose names were made before the fork."""
        pid = str(os.getpid()).encode()
        for procs in self._procs:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def members(self) -> set[int]:
        """The processes in the groups and in any group nested in them."""
        found = set()
        for folder in self.folders:
            for top, _dirs, _files in os.walk(folder):
                try:
                    found.update(int(p) for p in Path(top, "cgroup.procs").read_text().split())
                except (OSError, ValueError):
                    pass
        return found

    def kill(self, spare: int | None = None, timeout: float = 5.0) -> None:
        """SIGKILL every process in the groups (but ``spare``), until none is left or ``timeout`` passes."""
        end = time.monotonic() + timeout
        while True:
            left = self.members() - {spare}
            if not left or time.monotonic() > end:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def oom_kills(self) -> int:
        """How many processes the kernel killed for exceeding the memory limit (-1: limit reached, count
        unknown; 0 when there is no memory group)."""
        if self.memory is None:
            return 0
        if self.version["memory"] == 2:
            return _read_keyed(self.memory / "memory.events").get("oom_kill", 0)
        control = _read_keyed(self.memory / "memory.oom_control")
        if "oom_kill" in control:
            return control["oom_kill"]
        return -1 if (_read_int(self.memory / "memory.failcnt") or 0) > 0 else 0

    def memory_peak(self) -> int | None:
        if self.memory is None:
            return None
        name = "memory.peak" if self.version["memory"] == 2 else "memory.max_usage_in_bytes"
        return _read_int(self.memory / name)

    def tasks_refused(self) -> int:
        """How many forks (or new threads) failed at ``pids.max``."""
        return 0 if self.pids is None else _read_keyed(self.pids / "pids.events").get("max", 0)

    def tasks_peak(self) -> int | None:
        return None if self.pids is None else _read_int(self.pids / "pids.peak")

    def remove(self, timeout: float = 5.0) -> bool:
        """Kill what is left and remove the groups this object made; False when one could not be removed."""
        self.kill(timeout=timeout)
        end, ok = time.monotonic() + timeout, True
        for folder in self._made:
            while True:
                try:
                    _remove_group(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > end:
                        ok = False
                        break
                    self.kill(timeout=0.1)
                    time.sleep(0.05)
        self._made = [f for f in self._made if f.exists()]
        return ok


def make_cgroup(limits: Limits) -> Cgroup | None:
    """A fresh cgroup for one submission, or None when neither controller can be used here."""
    group = Cgroup(limits)
    if group.memory is None and group.pids is None:
        group.remove()
        return None
    return group
