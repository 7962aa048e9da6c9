"""Warm sandboxes: an interpreter that has done the heavy imports once, forked into a fresh sandbox for each
submission.

Starting a sandbox costs little; importing Keras in it costs seconds (about 4.5 s of CPU here), and ps3 and
ps4 paid it for every submission. A *zygote* is one bubblewrap sandbox per job slot (and per set of hidden
libraries) in which an interpreter imports Keras, IPython and NumPy once, then waits. For each submission the
grader's worker asks it for a child (``ForkedSandbox``); the child, before it runs anything of the student's,

1. says hello over a private socket, so that the worker learns its process id and puts it into the
   submission's memory and pids cgroups (the kernel translates the id across the namespaces);
2. unshares a user, mount, IPC, network and UTS namespace of its own, and in its mount namespace puts a fresh
   size-capped tmpfs on ``/home/student``, ``/tmp`` and ``/dev/shm``, binds its own submission's job and
   files (read-only) on ``/job`` and ``/job-home``, and covers ``/jobs`` (where every submission's folder is)
   with an empty read-only tmpfs;
3. drops every capability (and the bounding set), sets no-new-privileges, and runs ``driver.main`` on the
   protocol pipes the worker sent it.

What the child inherits is the zygote's memory: modules imported, nothing of the course's sources (the zygote
runs inside the same kind of sandbox and never sees them). Mounts inherited into the child's less privileged
namespaces are locked by the kernel, and without capabilities nothing can be unmounted, so no submission sees
another's files. The zygote is not dumpable (no process of a submission may trace it or read its memory); a
submission can still signal it, which only makes the next submissions of that slot fall back to a fresh
sandbox (``trusted.grade_notebook`` does so whenever ``spawn`` fails), as does any host where the namespaces
cannot be made.

The zygote itself runs ``python -m course_lib.grading.zygote FD`` inside bubblewrap (``Zygote``, started by
the grading run); ``serve`` is its loop.
"""

from __future__ import annotations

import array
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .sandbox import (
    LAUNCHER_ENV,
    SANDBOX_HOME,
    SANDBOX_HOME_FILES,
    SANDBOX_JOB,
    Limits,
    SandboxProcess,
    keep_log,
    make_cgroup,
    prepare_launcher,
    reaper_argv,
    sandbox_argv,
)

JOBS_ROOT = "/jobs"  # every submission's folder, read-only inside a zygote (covered in each child)
HEAVY_MODULES = ("keras",)  # imported by a zygote unless hidden
LIGHT_MODULES = ("numpy", "IPython.core.interactiveshell", "IPython.utils.capture")
# seconds for a zygote to fork: it may still be importing Keras (a few seconds; tens on a loaded machine).
# A submission can stop its slot's zygote (SIGSTOP): the next one then waits this long, and starts afresh.
HELLO_TIMEOUT = 30.0
SETUP_TIMEOUT = 20.0

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 4, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_LAST = 63
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class ZygoteFailed(RuntimeError):
    """A zygote could not give a sandbox for this submission (gone, too slow, or the namespaces failed)."""


# ------------------------------------------------------------------------------------------ inside a zygote

def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags: int, data=None) -> None:
    enc = [None if v is None else str(v).encode() for v in (source, target, fstype, data)]
    _check(libc.mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {target}")


def _drop_capabilities(libc) -> None:
    """No capability left in any set, none that could come back (bounding set, ambient, no-new-privs)."""
    for cap in range(CAP_LAST + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails quietly past the kernel's last capability
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable, twice (64 bits each)
    _check(libc.syscall(126 if os.uname().machine == "x86_64" else 91, header, data), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _isolate(name: str, limits: dict) -> None:
    """Namespaces and mounts of one submission's child (see the module docstring); raises OSError."""
    if "/" in name or name in ("", ".", ".."):
        raise OSError(f"bad job name {name!r}")
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS), "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    plain = MS_NOSUID | MS_NODEV
    _mount(libc, "tmpfs", SANDBOX_HOME, "tmpfs", plain, f"size={limits['home_bytes']},mode=0755")
    _mount(libc, "tmpfs", "/tmp", "tmpfs", plain, f"size={limits['tmp_bytes']},mode=1777")
    _mount(libc, "tmpfs", "/dev/shm", "tmpfs", plain, f"size={limits['shm_bytes']},mode=1777")
    own = ((f"{JOBS_ROOT}/{name}/job", SANDBOX_JOB), (f"{JOBS_ROOT}/{name}/home", SANDBOX_HOME_FILES))
    for source, target in own:
        _mount(libc, source, target, None, MS_BIND | MS_REC)
        _mount(libc, None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | plain)
    _mount(libc, "tmpfs", JOBS_ROOT, "tmpfs", plain | MS_RDONLY, "size=4096,mode=0555")
    _drop_capabilities(libc)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own /proc entries belong to it again (the zygote's do not)


def _child(request: dict, fds: list[int]) -> None:
    """A submission's process, forked by the zygote: hello, wait for the cgroup, isolate, run the driver."""
    in_fd, out_fd, log_fd, ctl_fd = fds
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        ctl = socket.socket(fileno=ctl_fd)
        ctl.sendall(b"H")
        if ctl.recv(1) != b"G":  # the worker could not place it in the submission's cgroup
            os._exit(1)
        try:
            _isolate(str(request.get("name", "")), request.get("limits", {}))
        except OSError as exc:
            ctl.sendall(b"F" + str(exc)[:500].encode())
            os._exit(1)
        ctl.sendall(b"S")
        ctl.close()
        try:  # a fresh sandbox starts with a random NumPy state; a fork would repeat the zygote's
            import numpy

            numpy.random.seed()
        except ImportError:
            pass
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.closerange(3, min(in_fd, out_fd))
        os.closerange(max(in_fd, out_fd) + 1, 1 << 16)
        for fd in range(min(in_fd, out_fd) + 1, max(in_fd, out_fd)):
            try:
                os.close(fd)
            except OSError:
                pass
        os.chdir(SANDBOX_HOME)
        from . import driver

        argv = [f"{SANDBOX_JOB}/job.json", str(in_fd), str(out_fd)]
        sys.argv = [driver.__file__, *argv]
        code = driver.main(argv) or 0
    finally:
        os._exit(code)


def serve(fd: int) -> int:
    """The zygote's loop: import the heavy modules, then fork a child per request until the socket closes."""
    import importlib

    for name in (*LIGHT_MODULES, *HEAVY_MODULES):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - hidden here (a from-scratch assignment), or broken: children
            print(f"zygote: {name} not preloaded ({type(exc).__name__}: {exc})", file=sys.stderr, flush=True)
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no submission may trace this process or read its memory
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    sock = socket.socket(fileno=fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 65536, 4)
        except OSError:
            return 1
        if not message:
            return 0
        if len(fds) != 4:
            for f in fds:
                os.close(f)
            continue
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(json.loads(message), fds)
        for f in fds:
            os.close(f)


# ------------------------------------------------------------------------------------------ the grader's side

class Zygote:
    """A warm interpreter in a sandbox of its own, for one job slot and one set of hidden libraries.

    Started by the grading run before it forks the worker that uses it (the worker inherits the socket); only
    one worker uses it at a time.
    """

    def __init__(self, *, jobs_root: Path, lib: Path, hide: tuple[str, ...], limits: Limits, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "job").mkdir(exist_ok=True)
        (folder / "home").mkdir(exist_ok=True)
        self.limits, self.owner = limits, os.getpid()
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = sandbox_argv(home=folder / "home", lib=lib, job=folder / "job", hide=hide, limits=limits,
                            command=["python", "-m", "course_lib.grading.zygote", str(theirs.fileno())])
        cut = argv.index("--")
        argv[cut:cut] = ["--ro-bind", str(jobs_root), JOBS_ROOT]
        self.log = open(folder / "zygote.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([*reaper_argv(), *argv], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),),
                                     start_new_session=True, env=dict(LAUNCHER_ENV),
                                     preexec_fn=prepare_launcher(limits, None))
        theirs.close()

    def alive(self) -> bool:
        """Whether the zygote's launcher still runs (asked from the run that started it, or from a worker
        forked from that run, which cannot wait for it: there its state is read from /proc)."""
        if os.getpid() == self.owner:
            return self.proc.poll() is None
        try:
            state = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")

    def close(self) -> None:
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _recv_hello(ctl: socket.socket, deadline: float) -> int:
    """The child's hello, and its process id as this process sees it (SCM_CREDENTIALS)."""
    ctl.settimeout(max(deadline - time.monotonic(), 0.1))
    data, ancillary, _, _ = ctl.recvmsg(1, socket.CMSG_SPACE(12))  # struct ucred: pid, uid, gid
    if data != b"H":
        raise ZygoteFailed("the zygote did not fork")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, _, _ = array.array("i", payload[:12])
            return pid
    raise ZygoteFailed("no credentials came with the hello")


class ForkedSandbox:
    """A submission's sandbox forked from a ``Zygote``: the same interface as ``sandbox.SandboxProcess`` for
    ``trusted`` (``to_child_w``, ``from_child_r``, ``kill``, ``close``, ``limit_notes`` and the counts)."""

    limit_notes = SandboxProcess.limit_notes

    def __init__(self, zygote: Zygote, *, name: str, log_path: Path, limits: Limits):
        self.limits, self.start = limits, time.monotonic()
        self.cpu_seconds, self.oom_kills, self.tasks_refused, self.too_many = 0.0, 0, 0, False
        self.memory_peak = self.tasks_peak = None
        self.log_dropped, self.pid, self.group = 0, None, None
        to_child_r, self.to_child_w = os.pipe()
        self.from_child_r, from_child_w = os.pipe()
        log_r, log_w = os.pipe()
        ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        log = open(log_path, "wb")  # noqa: SIM115 - closed by keep_log
        self._log = threading.Thread(target=keep_log, args=(log_r, log, limits.log_bytes, self), daemon=True)
        self._log.start()
        try:
            # the child is not this process's: only its cgroup can end it with everything it started, so a
            # host without one grades in a fresh sandbox (whose watchdog counts processes) instead
            self.group = make_cgroup(limits)
            if self.group is None:
                for fd in (to_child_r, from_child_w, log_w):
                    os.close(fd)
                theirs.close()
                raise ZygoteFailed("no cgroup can be made here, and a forked sandbox needs one")
            sizes = {"home_bytes": limits.home_bytes, "tmp_bytes": limits.tmp_bytes,
                     "shm_bytes": limits.shm_bytes}
            request = {"name": name, "limits": sizes}
            try:
                socket.send_fds(zygote.sock, [json.dumps(request).encode()],
                                [to_child_r, from_child_w, log_w, theirs.fileno()])
            except OSError as exc:
                raise ZygoteFailed(f"the zygote is gone ({exc})") from None
            finally:
                for fd in (to_child_r, from_child_w, log_w):
                    os.close(fd)
                theirs.close()
            try:
                self.pid = _recv_hello(ctl, time.monotonic() + HELLO_TIMEOUT)
                self.group.add(self.pid)
                ctl.sendall(b"G")
                ctl.settimeout(SETUP_TIMEOUT)
                answer = ctl.recv(600)
            except (OSError, TimeoutError) as exc:
                raise ZygoteFailed(f"the zygote's child did not start ({exc})") from None
            if answer != b"S":
                why = answer[1:].decode(errors="replace")
                raise ZygoteFailed(f"the zygote's child could not isolate itself: {why}")
        except ZygoteFailed:
            self.close()
            raise
        finally:
            ctl.close()

    def _cpu(self) -> float:
        """The child's CPU seconds and its waited-for children's, read from /proc before it ends."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, TypeError):
            return self.cpu_seconds

    def kill(self) -> None:
        """Kill the submission's processes (all of them, through its cgroup)."""
        self.cpu_seconds = max(self.cpu_seconds, self._cpu())
        if self.group is not None:
            self.group.kill(timeout=2)
        elif self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> float:
        """End it: its input closed (the driver then exits), what is left killed, the cgroup read and
        removed; returns the seconds it ran."""
        self.cpu_seconds = max(self.cpu_seconds, self._cpu())
        for fd in (self.to_child_w, self.from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass
        end = time.monotonic() + 5
        while self.pid is not None and time.monotonic() < end and Path(f"/proc/{self.pid}").exists():
            self.cpu_seconds = max(self.cpu_seconds, self._cpu())
            time.sleep(0.05)
        self.kill()
        if self.group is not None:
            self.oom_kills, self.tasks_refused = self.group.oom_kills(), self.group.tasks_refused()
            self.memory_peak, self.tasks_peak = self.group.memory_peak(), self.group.tasks_peak()
            self.group.remove()
        self._log.join(timeout=5)
        return time.monotonic() - self.start


def main(argv: list[str]) -> int:
    return serve(int(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
