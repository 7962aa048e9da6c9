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
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable  # noqa: F401 - for the docs
from dataclasses import astuple
from pathlib import Path

from ..config import TF_QUIET_ENV, tool_environment
from .cgroups import CGROUP_PREFIX, Cgroup, make_cgroup  # noqa: F401 - re-exported
from .hiding import STUB_NAME, hide_argv, package_folders, python_roots, site_packages  # noqa: F401
from .limits import GiB, KiB, Limits, MiB, size_text  # noqa: F401 - re-exported
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
            held.append(f"memory: {size_text(limits.memory_bytes)} for the whole submission (memory cgroup "
                        f"v{group.version['memory']}), and at most that much address space per process")
        else:
            missing.append(f"memory for the whole submission: no memory cgroup ({group.why.get('memory')}); "
                           f"only {size_text(limits.memory_bytes)} of address space per process (RLIMIT_AS)")
        if group.pids is not None:
            held.append(f"processes and threads: {limits.max_tasks} together (pids cgroup "
                        f"v{group.version['pids']})")
        else:
            missing.append(f"threads: not limited (no pids cgroup: {group.why.get('pids')}); processes: a "
                           f"watchdog kills the sandbox above {limits.max_processes}, checked every 0.25 s")
    finally:
        group.remove()
    if works and bwrap_sizes_tmpfs():
        held.append(f"disk: home {size_text(limits.home_bytes)}, /tmp {size_text(limits.tmp_bytes)}, "
                    f"/dev/shm {size_text(limits.shm_bytes)} (tmpfs with a size), each file at most "
                    f"{size_text(limits.file_bytes)}")
    else:
        missing.append("disk: home, /tmp and /dev/shm have no size cap (this bubblewrap has no --size); they "
                       "count only towards the memory limit; each file at most "
                       f"{size_text(limits.file_bytes)}")
    held.append(f"output: the first {size_text(limits.log_bytes)} kept in sandbox.log")
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
    argv += hide_argv(tuple(hide), visible, job)
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
        # TensorFlow quiet (the caller's oneDNN choice kept), as config says for the whole kit
        **{name: os.environ.get(name, value) for name, value in TF_QUIET_ENV.items()},
        "COURSE_MODE": "quick",
        "COURSE_BUILD_DIR": "/tmp/build",
        **tool_environment("/tmp"),  # the tools' folders in the sandbox's private /tmp
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
            notes.append(f"killed: out of memory (limit {size_text(self.limits.memory_bytes)}{count})")
        if self.tasks_refused:
            notes.append(f"refused: more than {self.limits.max_tasks} processes and threads "
                         f"({self.tasks_refused} refused)")
        if self.too_many:
            notes.append(f"killed: more than {self.limits.max_processes} processes")
        return notes
