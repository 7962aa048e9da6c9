"""One bubblewrap sandbox per submission: what the student's code can see, and the limits it runs under.

Inside (``sandbox_argv``):

* read-only: ``/usr`` (and the ``/bin``, ``/lib`` links), this environment's Python (the venv and the Python
  it was made from, whose own site-packages is hidden when the venv does not use it), a copy of ``course_lib``
  made for the run (``/opt/course``), the job file (``/job``) and the submission's prepared home folder
  (``/job-home``: the released files and the student's own files);
* writable: ``/home/student`` (the working folder; the driver copies ``/job-home`` into it before any of the
  student's code runs), a private ``/tmp`` and ``/dev/shm``;
* nothing else: not the repository, the sources, the gradebook, ``build/``, HOME, other students' files or
  ``/etc``. All namespaces are unshared (no network, its own process tree: when the driver ends, everything it
  started ends with it; ``--die-with-parent`` ends it with the grader), and it runs as uid 1000. Nothing of
  the grader's environment gets in: bwrap is started with ``LAUNCHER_ENV`` only (``PATH`` and ``LC_CTYPE``;
  its init, pid 1 inside, shows that environment in ``/proc/1/environ``) and the command gets ``--clearenv``
  and the variables set here.
* libraries an assignment forbids (``hide``) are unreachable, by import and by path: each one's package
  folder, single-file module, extension module and ``.dist-info`` is covered (a stub whose import raises
  ``ModuleNotFoundError`` stands for the package) in every site-packages and dist-packages folder visible
  inside.

Limits (``Limits``; ``limits_in_force`` says which of them this host can hold, the runner prints it):

* memory, for the whole submission: a memory cgroup per submission (``Cgroup``: v1 where the controller has
  a hierarchy of its own, else v2 when the cgroup2 hierarchy can enable it for a child group), made by the
  grader under its own cgroup (v2: under the hierarchy's root when its own holds processes), the launcher put
  into it before it starts bwrap, removed after (what is left killed first); ``memory.max`` /
  ``memory.limit_in_bytes`` with no swap. Its out-of-memory kills are read back
  (``SandboxProcess.oom_kills``, ``SandboxProcess.limit_notes``). ``RLIMIT_AS`` per process stays as a
  backstop.
* processes and threads together: a pids cgroup per submission (``pids.max``; a fork or a new thread beyond
  it fails with EAGAIN). Where no pids cgroup can be made, a watchdog in the grader counts the sandbox's
  processes every 0.25 s and kills the sandbox over ``max_processes`` (threads are then not limited).
* disk: ``/home/student``, ``/tmp`` and ``/dev/shm`` are tmpfs of a fixed size (bwrap ``--size``; writing
  more fails with ENOSPC); their pages count towards the memory cgroup. ``RLIMIT_FSIZE`` caps each file.
* output: the first ``log_bytes`` of what the sandbox prints are kept in ``sandbox.log``, then one line saying
  how much was dropped.
* time is bounded per cell, per call and per submission (by the grader, see ``trusted``).
"""

from __future__ import annotations

import functools
import itertools
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable  # noqa: F401 - for the docs
from dataclasses import astuple, dataclass, field
from pathlib import Path

from .processes import descendants

BWRAP = "bwrap"
SANDBOX_HOME = "/home/student"
SANDBOX_HOME_FILES = "/job-home"  # the prepared home, read-only; the driver copies it into SANDBOX_HOME
HOME_FILES_ENV = "COURSE_HOME_FILES"  # names SANDBOX_HOME_FILES for the driver (unset: nothing to copy)
SANDBOX_LIB = "/opt/course"
SANDBOX_JOB = "/job"
# modules hidden from the sandbox of an assignment that forbids library shortcuts (see ``trusted``)
SHORTCUT_MODULES = ("tensorflow", "keras", "scipy", "torch", "jax", "tf_keras")
# the whole environment bwrap (and so the sandbox's pid 1) is started with
LAUNCHER_ENV = {"PATH": "/usr/bin:/bin", "LC_CTYPE": "C.UTF-8"}  # C.UTF-8: what Python would set itself
CGROUP_PREFIX = "course-grading-"

KiB, MiB, GiB = 1024, 1024**2, 1024**3


def _cores() -> int:
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
    max_tasks: int = field(default_factory=lambda: max(512, 8 * _cores() + 128))
    max_processes: int = 64  # only where no pids cgroup can be made: the watchdog's limit
    file_bytes: int = 512 * MiB  # each file (RLIMIT_FSIZE)
    home_bytes: int = 512 * MiB  # /home/student (tmpfs)
    tmp_bytes: int = 512 * MiB  # /tmp (tmpfs)
    shm_bytes: int = 64 * MiB  # /dev/shm (tmpfs)
    log_bytes: int = 256 * KiB  # kept of the sandbox's output (sandbox.log)


def _size(n: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def bwrap_path() -> str | None:
    """The bubblewrap executable, or None when it is not installed."""
    return shutil.which(BWRAP)


def sandbox_works() -> tuple[bool, str]:
    """Whether bubblewrap can start a sandbox here (it needs user namespaces, or root).

    Returns:
        (True, "") or (False, why).
    """
    exe = bwrap_path()
    if exe is None:
        return False, "bubblewrap (bwrap) is not installed: apt-get install -y bubblewrap"
    try:
        proc = subprocess.run(
            [
                exe,
                "--ro-bind",
                "/usr",
                "/usr",
                "--symlink",
                "usr/bin",
                "/bin",
                "--symlink",
                "usr/lib",
                "/lib",
                "--symlink",
                "usr/lib64",
                "/lib64",
                "--unshare-all",
                "--unshare-user",
                "--uid",
                "1000",
                "--die-with-parent",
                "/usr/bin/true",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap failed to start: {exc}"
    if proc.returncode != 0:
        return False, f"bubblewrap cannot start a sandbox here: {proc.stderr.strip()[:300]}"
    return True, ""


@functools.cache
def bwrap_sizes_tmpfs() -> bool:
    """Whether this bubblewrap has ``--size`` (0.7 and later), which caps a tmpfs."""
    exe = bwrap_path()
    if exe is None:
        return False
    try:
        proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--size" in proc.stdout + proc.stderr


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


# ---------------------------------------------------------------------------------------------------------
# what holds on this host


@functools.cache
def _limits_in_force(values: tuple) -> tuple[tuple[str, ...], tuple[str, ...]]:
    limits = Limits(*values)
    held, missing = [], []
    works, why = sandbox_works()
    if works:
        held.append("sandbox: bubblewrap (no network, read-only system, its own processes, uid 1000, "
                    "none of the grader's environment)")
    else:
        missing.append(f"sandbox: {why}")
    group = Cgroup(limits)
    try:
        if group.memory is not None:
            held.append(f"memory: {_size(limits.memory_bytes)} for the whole submission (memory cgroup "
                        f"v{group.version['memory']}), and at most that much address space per process")
        else:
            missing.append(f"memory for the whole submission: no memory cgroup ({group.why.get('memory')}); "
                           f"only {_size(limits.memory_bytes)} of address space per process (RLIMIT_AS)")
        if group.pids is not None:
            held.append(f"processes and threads: {limits.max_tasks} together (pids cgroup "
                        f"v{group.version['pids']})")
        else:
            missing.append(f"threads: not limited (no pids cgroup: {group.why.get('pids')}); processes: a "
                           f"watchdog kills the sandbox above {limits.max_processes}, checked every 0.25 s")
    finally:
        group.remove()
    if works and bwrap_sizes_tmpfs():
        held.append(f"disk: home {_size(limits.home_bytes)}, /tmp {_size(limits.tmp_bytes)}, /dev/shm "
                    f"{_size(limits.shm_bytes)} (tmpfs with a size), each file at most "
                    f"{_size(limits.file_bytes)}")
    else:
        missing.append("disk: home, /tmp and /dev/shm have no size cap (this bubblewrap has no --size); they "
                       f"count only towards the memory limit; each file at most {_size(limits.file_bytes)}")
    held.append(f"output: the first {_size(limits.log_bytes)} kept in sandbox.log")
    return tuple(held), tuple(missing)


def limits_in_force(limits: Limits | None = None) -> tuple[list[str], list[str]]:
    """Which of the sandbox's limits this host holds, and which it cannot (cached; the first call starts one
    bwrap and makes and removes one cgroup, a few milliseconds).

    Args:
        limits: the limits grading uses (default ``Limits()``).

    Returns:
        (held, missing): one line each, e.g. ``"memory: 8 GiB for the whole submission (memory cgroup
        v1)..."`` held, or ``"threads: not limited (no pids cgroup: ...)"`` missing (not root, no cgroup,
        an old bwrap). The runner prints ``missing`` in its summary.
    """
    held, missing = _limits_in_force(astuple(limits or Limits()))
    return list(held), list(missing)


# ---------------------------------------------------------------------------------------------------------
# the command line


def python_roots() -> list[Path]:
    """The folders this environment's Python needs: the venv (``sys.prefix``) and its base installation."""
    roots = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        path = Path(p).resolve()
        if path not in roots:
            roots.append(path)
    exe = Path(sys.executable).resolve().parent.parent
    if exe not in roots:
        roots.append(exe)
    return roots


def site_packages() -> list[Path]:
    """The site-packages folders the sandbox's Python imports from (this Python's)."""
    import site

    return [Path(p).resolve() for p in site.getsitepackages() if Path(p).is_dir()]


def package_folders(roots: list[Path]) -> list[Path]:
    """Every site-packages and dist-packages folder under ``roots`` (as the sandbox sees them), resolved.

    Found by walking the roots (not their package folders' contents): about 0.3 s for ``/usr``, a venv and
    its Python; cached for the process.
    """
    return list(_package_folders(tuple(Path(r) for r in roots)))


@functools.cache
def _package_folders(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    found: list[Path] = []
    for root in roots:
        for top, dirs, _files in os.walk(root):
            keep = []
            for name in dirs:
                if name in ("site-packages", "dist-packages"):
                    folder = Path(top, name).resolve()
                    if folder not in found:
                        found.append(folder)
                else:
                    keep.append(name)
            dirs[:] = keep
    return tuple(found)


_STUB = (
    "raise ModuleNotFoundError(f'No module named {__name__!r} (this assignment does not allow it)', "
    "name=__name__)\n"
)


STUB_NAME = "hidden_module.py"  # written into the job folder: it stands for each hidden module


def _stub_module(job: Path) -> Path:
    """A file whose import raises ModuleNotFoundError, in the submission's job folder (so it goes with it)."""
    stub = Path(job) / STUB_NAME
    if not stub.is_file() or stub.is_symlink() or stub.read_text() != _STUB:
        stub.unlink(missing_ok=True)
        stub.write_text(_STUB)
    stub.chmod(0o644)
    return stub


def _hide_argv(hide: tuple[str, ...], visible_roots: list[Path], job: Path) -> list[str]:
    """bwrap arguments that hide the base Python's unused site-packages and the modules ``hide`` names in
    every package folder under ``visible_roots`` (a stub module is written into ``job`` for them)."""
    argv: list[str] = []
    used = set(site_packages())
    base = [Path(p).resolve() for p in {sys.base_prefix, sys.base_exec_prefix}]
    names = {n.lower() for n in hide}
    for folder in package_folders(visible_roots):
        in_base = any(folder.is_relative_to(b) for b in base)
        if folder not in used and in_base and sys.prefix != sys.base_prefix:
            argv += ["--tmpfs", str(folder), "--remount-ro", str(folder)]  # the venv does not use it
            continue
        if not names:
            continue
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            low = entry.name.lower()
            if not any(low == n or low.startswith((n + ".", n + "-")) for n in names):
                continue
            if entry.is_dir():
                argv += ["--tmpfs", str(entry)]
                if low in names:  # the package itself: a stub whose import raises
                    argv += ["--ro-bind", str(_stub_module(job)), str(entry / "__init__.py")]
                argv += ["--remount-ro", str(entry)]
            elif entry.is_file():  # a single-file module, an extension module, a .pth file
                argv += ["--ro-bind", str(_stub_module(job)), str(entry)]
    return argv


def sandbox_argv(
    *,
    home: Path,
    lib: Path,
    job: Path,
    command: list[str],
    hide: tuple[str, ...] = (),
    limits: Limits | None = None,
) -> list[str]:
    """The bubblewrap command line that runs ``command`` in a fresh sandbox.

    Args:
        home: the submission's prepared folder (mounted read-only as ``/job-home``; the driver copies it into
            the writable ``/home/student``, a tmpfs of ``limits.home_bytes``, the working folder).
        lib: a folder holding a copy of ``course_lib`` (mounted read-only as ``/opt/course``).
        job: a folder with the job file (mounted read-only as ``/job``); when ``hide`` hides something, a
            stub module is written there (``STUB_NAME``).
        command: the argv to run inside.
        hide: top-level module names to make unimportable, also by path (see ``_hide_argv``).
        limits: the sizes of the home, /tmp and /dev/shm (default ``Limits()``).
    """
    limits = limits or Limits()
    sized = bwrap_sizes_tmpfs()

    def tmpfs(path: str, size: int) -> list[str]:
        return (["--size", str(size)] if sized else []) + ["--tmpfs", path]

    # bwrap applies mounts in order, a later one on top of an earlier one: the fresh /proc, /dev and /tmp
    # come first, so that a checkout (and its venv) living under /tmp is bound on top of the empty /tmp, not
    # hidden.
    argv = [bwrap_path() or BWRAP, "--proc", "/proc", "--dev", "/dev", *tmpfs("/dev/shm", limits.shm_bytes),
            *tmpfs("/tmp", limits.tmp_bytes), "--ro-bind", "/usr", "/usr"]
    visible = [Path("/usr")]
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        if Path("/usr", link).exists() and Path("/" + link).is_symlink():
            argv += ["--symlink", f"usr/{link}", "/" + link]
        elif Path("/" + link).is_dir() and not Path("/" + link).is_symlink():
            argv += ["--ro-bind", "/" + link, "/" + link]
            visible.append(Path("/" + link))
    for root in python_roots():
        argv += ["--ro-bind", str(root), str(root)]
        visible.append(root)
    argv += _hide_argv(tuple(hide), visible, job)
    argv += [
        *tmpfs(SANDBOX_HOME, limits.home_bytes),
        "--ro-bind",
        str(home),
        SANDBOX_HOME_FILES,
        "--ro-bind",
        str(lib),
        SANDBOX_LIB,
        "--ro-bind",
        str(job),
        SANDBOX_JOB,
        "--chdir",
        SANDBOX_HOME,
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]
    env = {
        "HOME": SANDBOX_HOME,
        HOME_FILES_ENV: SANDBOX_HOME_FILES,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": SANDBOX_LIB,
        "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "0"),
        "COURSE_MODE": "quick",
        "COURSE_BUILD_DIR": "/tmp/build",
        "KERAS_HOME": "/tmp/keras",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython",
        "XDG_CACHE_HOME": "/tmp/cache",
        "LANG": "C.UTF-8",
        "CUDA_VISIBLE_DEVICES": "",
    }
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv + ["--", *command]


# ---------------------------------------------------------------------------------------------------------
# a running sandbox


def children_cpu() -> float:
    """User + system CPU seconds of this process's children that have been waited for (RUSAGE_CHILDREN)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reaper_argv() -> list[str]:
    """The launcher put in front of a sandbox's command line, so that the sandbox's CPU time is counted."""
    return [sys.executable, "-I", "-S", str(Path(__file__).with_name("reaper.py")), str(os.getpid())]


def prepare_launcher(limits: Limits, group: Cgroup | None):
    """The ``preexec_fn`` of a sandbox's launcher: into the submission's cgroup (when there is one), then the
    per-process limits (address space, file size, no core files); a zygote's launcher gets them too."""

    def apply():
        if group is not None:  # first: everything the launcher starts is then counted
            group.enter()
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def keep_log(fd: int, log, cap: int, box: SandboxProcess) -> None:
    """Copy what the sandbox prints (read from ``fd`` until every writer has closed it) into ``log`` (a file
    open for binary writing; closed at the end): the first ``cap`` bytes, then one line saying how many were
    dropped (``box.log_dropped``). It reads to the end whatever happens to the file, so that the sandbox never
    blocks on a full pipe."""
    kept = 0
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            try:
                chunk = pipe.read(1 << 16)
            except OSError:
                break
            if not chunk:
                break
            if kept < cap:
                part = chunk[: cap - kept]
                kept += len(part)
                chunk = chunk[len(part):]
                try:
                    log.write(part)
                    log.flush()
                except (OSError, ValueError):  # a full disk: the rest is dropped
                    pass
            box.log_dropped += len(chunk)
    try:
        if box.log_dropped:
            log.write(f"\n[sandbox.log: {box.log_dropped} more bytes dropped; the first {cap} are kept]\n"
                      .encode())
        log.close()
    except (OSError, ValueError):
        pass


class SandboxProcess:
    """A running sandbox: the bwrap process (started through ``reaper``, so that its CPU time is counted), the
    two pipes of the protocol, the submission's cgroup (or a process-count watchdog where there is none) and a
    thread that keeps the head of its output in the log.

    After ``close``: ``cpu_seconds``, ``oom_kills`` (processes the kernel killed at the memory limit),
    ``tasks_refused`` (forks and threads refused at ``max_tasks``), ``too_many`` (the watchdog killed it),
    ``memory_peak``, ``tasks_peak``, ``log_dropped``; ``limit_notes()`` says them in words.
    """

    def __init__(self, argv_for, *, log_path: Path, limits: Limits, cwd: Path | None = None):
        self.to_child_r, self.to_child_w = os.pipe()
        self.from_child_r, self.from_child_w = os.pipe()
        argv = argv_for(self.to_child_r, self.from_child_w)
        sandboxed = Path(argv[0]).name == BWRAP  # else the unsafe mode: the grader's environment is kept
        self.log_path = Path(log_path)
        self.start = time.monotonic()
        self._cpu_start = children_cpu()
        self.cpu_seconds = 0.0
        self.limits = limits
        self.too_many = False
        self.oom_kills = 0
        self.tasks_refused = 0
        self.memory_peak: int | None = None
        self.tasks_peak: int | None = None
        self.log_dropped = 0
        self._closed = False
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed by keep_log
        self.cgroup = make_cgroup(limits)
        log_r, log_w = os.pipe()
        self._log_thread = threading.Thread(
            target=keep_log, args=(log_r, log, limits.log_bytes, self), daemon=True
        )
        self._log_thread.start()
        try:
            self.proc = subprocess.Popen(
                [*reaper_argv(), *argv],
                stdin=subprocess.DEVNULL,
                stdout=log_w,
                stderr=log_w,
                pass_fds=(self.to_child_r, self.from_child_w),
                start_new_session=True,
                cwd=cwd,
                env=dict(LAUNCHER_ENV) if sandboxed else None,
                preexec_fn=prepare_launcher(limits, self.cgroup),
            )
        except BaseException:
            os.close(log_w)
            if self.cgroup is not None:
                self.cgroup.remove()
            raise
        finally:
            os.close(self.to_child_r)
            os.close(self.from_child_w)
        os.close(log_w)
        self._stop = threading.Event()
        self._watch = None
        if self.cgroup is None or self.cgroup.pids is None:  # the fallback: count processes
            self._watch = threading.Thread(target=self._watchdog, daemon=True)
            self._watch.start()

    @property
    def child_fds(self) -> tuple[int, int]:
        """The descriptor numbers the driver reads and writes (they keep their numbers through bwrap)."""
        return self.to_child_r, self.from_child_w

    def _watchdog(self) -> None:
        while not self._stop.wait(0.25):
            if self.proc.poll() is not None:
                return
            # below the launcher: bwrap, its init, then the driver and what it started
            if len(descendants(self.proc.pid)) > self.limits.max_processes + 3:
                self.too_many = True
                self.kill()
                return

    def kill(self) -> None:
        """Kill everything in the sandbox, bwrap included; the launcher then reaps them (their CPU counts) and
        ends; it is killed too when it has not ended within 5 s."""
        from .processes import kill_tree

        if self.proc.poll() is not None:
            return
        for pid in reversed(descendants(self.proc.pid)):  # deepest first
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.cgroup is not None:  # what the tree walk missed (a fork racing it)
            self.cgroup.kill(spare=self.proc.pid, timeout=2)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill_tree(self.proc)

    def close(self) -> float:
        """End the sandbox (its input closed first, then what is left killed), read what its cgroup counted
        and remove it; returns the seconds it ran.

        Also sets ``cpu_seconds``: the user + system CPU seconds of everything that ran in the sandbox
        (counted once the launcher has been waited for; see ``reaper``), and the counts listed in the class's
        docstring.
        """
        self._stop.set()
        for fd in (self.to_child_w, self.from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        if self.cgroup is not None and not self._closed:
            self.cgroup.kill()
            self.oom_kills = self.cgroup.oom_kills()
            self.tasks_refused = self.cgroup.tasks_refused()
            self.memory_peak = self.cgroup.memory_peak()
            self.tasks_peak = self.cgroup.tasks_peak()
            self.cgroup.remove()
        self._closed = True
        self._log_thread.join(timeout=5)
        self.cpu_seconds = max(children_cpu() - self._cpu_start, 0.0)
        return time.monotonic() - self.start

    def limit_notes(self) -> list[str]:
        """The limits the sandbox ran into, in words for the submission's note (after ``close``), e.g.
        ``["killed: out of memory (limit 8 GiB)"]``."""
        notes = []
        if self.oom_kills:
            count = "" if self.oom_kills < 0 else f", {self.oom_kills} process(es) killed"
            notes.append(f"killed: out of memory (limit {_size(self.limits.memory_bytes)}{count})")
        if self.tasks_refused:
            notes.append(f"refused: more than {self.limits.max_tasks} processes and threads "
                         f"({self.tasks_refused} refused)")
        if self.too_many:
            notes.append(f"killed: more than {self.limits.max_processes} processes")
        return notes
