"""One bubblewrap sandbox per submission: what the student's code can see, and the limits it runs under.

Inside (``sandbox_argv``):

* read-only: ``/usr`` (and the ``/bin``, ``/lib`` links), this environment's Python (the venv and the Python
  it was made from), a copy of ``course_lib`` made for the run (``/opt/course``), and the job file (``/job``);
* writable: ``/home/student`` (the released files and the student's own files, copied for this submission; the
  working folder) and a private ``/tmp``;
* nothing else: not the repository, the sources, the gradebook, ``build/``, HOME, other students' files or
  ``/etc``. All namespaces are unshared (no network, its own process tree: when the driver ends, everything it
  started ends with it; ``--die-with-parent`` ends it with the grader), and it runs as uid 1000.

Limits: address space (``RLIMIT_AS``), file size, and a watchdog in the grader that kills the sandbox when it
holds more processes than allowed (``RLIMIT_NPROC`` does not count per sandbox); time is bounded per cell,
per call and per submission.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable  # noqa: F401 - for the docs
from dataclasses import dataclass
from pathlib import Path

from .processes import descendants

BWRAP = "bwrap"
SANDBOX_HOME = "/home/student"
SANDBOX_LIB = "/opt/course"
SANDBOX_JOB = "/job"
# modules hidden from the sandbox of an assignment that forbids library shortcuts (see ``trusted``)
SHORTCUT_MODULES = ("tensorflow", "keras", "scipy", "torch", "jax", "tf_keras")


@dataclass
class Limits:
    """What one submission may use."""

    memory_bytes: int = 8 * 1024**3
    max_processes: int = 64
    file_bytes: int = 512 * 1024**2


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
    import site

    return [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]


def sandbox_argv(
    *, home: Path, lib: Path, job: Path, command: list[str], hide: tuple[str, ...] = ()
) -> list[str]:
    """The bubblewrap command line that runs ``command`` in a fresh sandbox.

    Args:
        home: the submission's private writable folder (mounted as ``/home/student``, the working folder).
        lib: a folder holding a copy of ``course_lib`` (mounted read-only as ``/opt/course``).
        job: a folder with the job file (mounted read-only as ``/job``).
        command: the argv to run inside.
        hide: top-level module names to make unimportable (their folders in site-packages become empty).
    """
    # bwrap applies mounts in order, a later one on top of an earlier one: the fresh /proc, /dev and /tmp
    # come first, so that a checkout (and its venv) living under /tmp is bound on top of the empty /tmp, not
    # hidden.
    argv = [bwrap_path() or BWRAP, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        if Path("/usr", link).exists() and Path("/" + link).is_symlink():
            argv += ["--symlink", f"usr/{link}", "/" + link]
        elif Path("/" + link).is_dir() and not Path("/" + link).is_symlink():
            argv += ["--ro-bind", "/" + link, "/" + link]
    for root in python_roots():
        argv += ["--ro-bind", str(root), str(root)]
    for sp in site_packages():
        for name in hide:
            if (sp / name).is_dir():
                argv += ["--tmpfs", str(sp / name)]
    argv += [
        "--bind",
        str(home),
        SANDBOX_HOME,
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


def children_cpu() -> float:
    """User + system CPU seconds of this process's children that have been waited for (RUSAGE_CHILDREN)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reaper_argv() -> list[str]:
    """The launcher put in front of a sandbox's command line, so that the sandbox's CPU time is counted."""
    return [sys.executable, "-I", "-S", str(Path(__file__).with_name("reaper.py")), str(os.getpid())]


def _set_limits(limits: Limits):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


class SandboxProcess:
    """A running sandbox: the bwrap process (started through ``reaper``, so that its CPU time is counted), the
    two pipes of the protocol, and a process-count watchdog."""

    def __init__(self, argv_for, *, log_path: Path, limits: Limits, cwd: Path | None = None):
        self.to_child_r, self.to_child_w = os.pipe()
        self.from_child_r, self.from_child_w = os.pipe()
        argv = argv_for(self.to_child_r, self.from_child_w)
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in close()
        self.start = time.monotonic()
        self._cpu_start = children_cpu()
        self.cpu_seconds = 0.0
        self.limits = limits
        self.too_many = False
        self.proc = subprocess.Popen(
            [*reaper_argv(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            pass_fds=(self.to_child_r, self.from_child_w),
            start_new_session=True,
            cwd=cwd,
            preexec_fn=_set_limits(limits),
        )
        os.close(self.to_child_r)
        os.close(self.from_child_w)
        self._stop = threading.Event()
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
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill_tree(self.proc)

    def close(self) -> float:
        """End the sandbox (its input closed first, then what is left killed); returns the seconds it ran.

        Also sets ``cpu_seconds``: the user + system CPU seconds of everything that ran in the sandbox
        (counted once the launcher has been waited for; see ``reaper``).
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
        self.log.close()
        self.cpu_seconds = max(children_cpu() - self._cpu_start, 0.0)
        return time.monotonic() - self.start
