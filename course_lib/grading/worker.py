"""The grader's work on one submission, in a process of its own, several at a time.

What the grader does on a student's behalf (rebuilding the models the student's functions return, running the
trusted tests, training what a test trains, calling back the functions a test handed to the student's code)
is work the student's answers can make as large as they like: a forged 1 KB model config that asks for 12 GB
of weights, a returned network that takes a minute to train. It therefore runs in a child process forked for
that submission (``start``), which

* counts against that submission's limits: it is killed at the submission's deadline (``Job.kill_at``), its
  address space is capped (``memory_bytes`` above what the run had at the fork), and, where the sandbox layer
  can make one, it joins the submission's memory and pids cgroup (``join``), so the grader's side and the
  sandbox share one budget;
* takes nothing else with it when it fails: the run reads its result (a pickled value, written by trusted code
  only) or learns how it ended, and goes on with the next submission.

Forking is also what makes grading cheap: the run imports Keras once before its first fork (``warm_up``), so
no child pays the import again. TensorFlow is imported but has run no op at that point, so it has started no
thread pool and the fork is safe (its pools start in each child).

Only the grading run (``runner.grade``) uses this; a child never returns into the caller's code (it ends with
``os._exit``).
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

PR_SET_PDEATHSIG = 1
MAX_RESULT_BYTES = 256 * 1024**2  # a pickled Outcome is far smaller: its outputs are capped when received


@dataclass
class Ended:
    """How a child ended.

    Attributes:
        value: what the work returned (None unless ``how == "ok"``).
        how: "ok"; "raised" (the work raised: ``why`` holds the exception's last line); "killed" (at its
            deadline); "died" (killed by a signal, e.g. out of memory, or exited without a result).
        why: a short explanation for anything but "ok".
        seconds: wall-clock seconds from the fork to the end.
        cpu_seconds: CPU seconds of the child and of everything it waited for (its sandbox included).
    """

    value: object = None
    how: str = "ok"
    why: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass
class Job:
    """A running child: its pid, the read end of its result pipe, and when it is to be killed."""

    key: object
    pid: int
    fd: int
    kill_at: float
    started: float = field(default_factory=time.monotonic)
    chunks: list = field(default_factory=list)
    size: int = 0
    killed: bool = False


def warm_up() -> str:
    """Import Keras (and TensorFlow) in this process before the first fork, so that no child pays for it.

    Returns:
        "" when the import worked, else why not (the children then import what they need themselves).
    """
    try:
        import keras  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - no Keras here: the ps1/ps2 tests that need none still run
        return f"{type(exc).__name__}: {exc}"
    return ""


def _vm_size() -> int:
    """This process's address-space size in bytes (0 when /proc cannot tell)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _die_with(parent: int) -> None:
    """End this child when the run that forked it ends (killed or crashed): its sandbox then ends with it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the run ended before the signal was armed
        os._exit(1)


def start(key, work: Callable[[], object], *, kill_at: float, memory_bytes: int,
          join: Callable[[int], None] | None = None, close_fds: tuple[int, ...] = ()) -> Job:
    """Fork a child that runs ``work()`` and hands back its result.

    Args:
        key: anything that names the job for the caller.
        work: what to run in the child (it returns a picklable value).
        kill_at: the ``time.monotonic()`` at which ``wait`` kills the child.
        memory_bytes: address space the child may add to what it inherits (``RLIMIT_AS``).
        join: called in the parent with the child's pid before it starts working (e.g. to put it in a
            cgroup); the child waits until it returns.
        close_fds: descriptors the child closes first (the other jobs' result pipes).

    Returns:
        The ``Job``; ``wait`` collects it.
    """
    r, w = os.pipe()
    go_r, go_w = os.pipe()
    parent = os.getpid()  # the parent says "go" once the child is in its cgroup
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(r)
            os.close(go_w)
            for fd in close_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _die_with(parent)
            os.read(go_r, 1)
            os.close(go_r)
            # the soft limit only: the sandbox this child starts sets its own (a lowered hard limit is final)
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = _vm_size() + memory_bytes
            if hard == resource.RLIM_INFINITY or limit < hard:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            try:
                payload = pickle.dumps(("ok", work()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 - the parent is told, whatever happened
                last = traceback.format_exception_only(type(exc), exc)[-1].strip()
                payload = pickle.dumps(("raised", last[:2000]))
            if len(payload) > MAX_RESULT_BYTES:
                payload = pickle.dumps(("raised", f"result of {len(payload):,} bytes is too large"))
            view = memoryview(payload)
            while view:
                view = view[os.write(w, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    os.close(go_r)
    try:
        if join is not None:
            join(pid)
    finally:
        os.write(go_w, b"g")
        os.close(go_w)
    return Job(key, pid, r, kill_at)


def _kill(job: Job) -> None:
    try:
        os.kill(job.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(job: Job, how: str | None, why: str) -> Ended:
    os.close(job.fd)
    _, status, usage = os.wait4(job.pid, 0)
    ended = Ended(seconds=time.monotonic() - job.started, cpu_seconds=usage.ru_utime + usage.ru_stime)
    if how is not None:
        ended.how, ended.why = how, why
        return ended
    data = b"".join(job.chunks)
    try:
        kind, value = pickle.loads(data) if data else (None, None)  # noqa: S301 - written by our own child
    except Exception:  # noqa: BLE001 - a child that died while writing leaves a cut pickle
        kind, value = None, None
    if kind == "ok":
        ended.value = value
    elif kind == "raised":
        ended.how, ended.why = "raised", str(value)
    else:
        ended.how = "died"
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            ended.why = f"the grader's process for it was killed ({name}: out of memory, most often)"
        else:
            ended.why = f"the grader's process for it ended without a result (exit status {status})"
    return ended


def wait(jobs: list[Job], timeout: float) -> list[tuple[Job, Ended]]:
    """Read from the running jobs for up to ``timeout`` seconds; return those that ended.

    A job past its ``kill_at`` is killed (with everything it started: its sandbox dies with it) and returned
    with ``how="killed"``; one whose result grows past ``MAX_RESULT_BYTES`` is killed as "died".
    """
    done: list[tuple[Job, Ended]] = []
    now = time.monotonic()
    for job in jobs:
        if now >= job.kill_at:
            _kill(job)
            done.append((job, _reap(job, "killed", "ran past its time limit")))
    live = [j for j in jobs if all(j is not d for d, _ in done)]
    if not live:
        return done
    wait_for = max(0.0, min(timeout, min(j.kill_at for j in live) - now))
    ready, _, _ = select.select([j.fd for j in live], [], [], wait_for)
    for job in live:
        if job.fd not in ready:
            continue
        chunk = os.read(job.fd, 1 << 20)
        if chunk:
            job.chunks.append(chunk)
            job.size += len(chunk)
            if job.size > MAX_RESULT_BYTES:
                _kill(job)
                done.append((job, _reap(job, "died", "its result was too large")))
            continue
        done.append((job, _reap(job, None, "")))
    return done
