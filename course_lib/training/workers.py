"""Start the worker processes of a multi-worker run on this machine, wait for them, and leave none behind.

``tf.distribute.MultiWorkerMirroredStrategy`` trains one model in several processes (usually one per machine)
that find each other through ``TF_CONFIG``: the cluster's addresses and this process's place in it. On one
machine the addresses are ``127.0.0.1`` and free ports. :func:`run_workers` writes a worker program to a
temporary file, starts it ``num_workers`` times with the right ``TF_CONFIG`` each, waits for all of them with
a time limit, kills the others as soon as one fails (a worker whose peer died waits for it forever), and
returns only once every worker has ended, with their outputs and process ids.

TensorFlow's gRPC server listens on every network interface of the machine, whatever address ``TF_CONFIG``
gives it (measured: ``ss -ltn`` shows ``*:<port>`` while the workers run). So that nothing is reachable from
the network, the workers run by default inside a network namespace of their own that holds only the loopback
interface, made by bubblewrap (``bwrap --unshare-net``); the launcher inside it reads which addresses the
workers listened on and which interfaces they could see, and :class:`WorkerRun` reports both.

How the processes are stopped, whatever happens: the launcher (and bubblewrap around it) runs in a process
group of its own, which is killed when the time limit passes or the caller is interrupted; every worker is
also told by the kernel to die with its launcher (``PR_SET_PDEATHSIG``).

This file imports only the standard library at module level: the launcher runs it as a script, without
importing ``course_lib`` or TensorFlow (``python workers.py SPEC``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["WorkerRun", "WorkersFailed", "can_isolate_network", "run_workers"]

# Seconds the caller waits beyond the workers' own time limit for the launcher to stop them and report.
_GRACE = 15.0
# What bubblewrap is given: the whole file system as it is, a network namespace with only loopback, and the
# sandbox dies with the process that started it.
_BWRAP = ("bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", "--")


@dataclass(frozen=True)
class WorkerRun:
    """What the workers of one :func:`run_workers` call did.

    Attributes:
        returncodes: each worker's exit status (negative: killed by that signal; None: never started).
        outputs, errors: each worker's standard output and standard error, as text.
        pids: each worker's process id; every one of them had ended when ``run_workers`` returned.
        isolated: the workers ran in a network namespace of their own (bubblewrap).
        interfaces: the network interfaces the workers could see (``("lo",)`` when isolated).
        listen_addresses: for each worker, the local address its server listened on, read from
            ``/proc/net/tcp`` and ``tcp6`` while it ran: ``"::"`` or ``"0.0.0.0"`` for every interface,
            ``"127.0.0.1"`` for loopback only; ``""`` when none was seen (the worker ended first).
        timed_out: the time limit passed and the workers were killed.
        failed: the index of the worker whose non-zero exit stopped the others, None when none did.
    """

    returncodes: tuple[int | None, ...]
    outputs: tuple[str, ...]
    errors: tuple[str, ...]
    pids: tuple[int, ...]
    isolated: bool
    interfaces: tuple[str, ...]
    listen_addresses: tuple[str, ...]
    timed_out: bool
    failed: int | None = None

    @property
    def ok(self) -> bool:
        """Every worker ended with status 0."""
        return not self.timed_out and all(code == 0 for code in self.returncodes)

    def reports(self) -> list[Any]:
        """The last line of each worker's standard output, read as JSON (what a worker program prints
        last)."""
        return [json.loads(out.strip().splitlines()[-1]) for out in self.outputs]


class WorkersFailed(RuntimeError):
    """A worker failed, the time limit passed, or the launcher could not start; ``run`` holds what is known
    (every worker in it has ended)."""

    def __init__(self, message: str, run: WorkerRun):
        super().__init__(message)
        self.run = run


@cache
def can_isolate_network() -> bool:
    """Whether bubblewrap is installed and may make a network namespace here (it may not where user
    namespaces are switched off, as in many containers). Tried once per process."""
    if not sys.platform.startswith("linux") or shutil.which("bwrap") is None:
        return False
    try:
        return subprocess.run([*_BWRAP, "true"], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def run_workers(
    source: str,
    *,
    num_workers: int = 2,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    isolate_network: bool = True,
    cpu_only: bool = True,
) -> WorkerRun:
    """Run a worker program ``num_workers`` times, each with its ``TF_CONFIG``, and wait for all of them.

    Each worker gets ``TF_CONFIG = {"cluster": {"worker": ["127.0.0.1:<port>", ...]}, "task": {"type":
    "worker", "index": i}}``, so ``tf.distribute.MultiWorkerMirroredStrategy()`` (or
    ``cl.training.make_strategy("multi_worker")``) finds its peers; worker 0 is the chief. The workers start
    together; when one fails the others are killed at once, and after ``timeout`` seconds all of them are.

    Args:
        source: the worker program, Python source (it runs as a script; ``course_lib`` is importable).
        num_workers: how many processes (>= 1).
        timeout: seconds the workers may run in all (> 0).
        env: extra environment variables for the workers (on top of this process's and the kit's quiet
            TensorFlow settings).
        cwd: the workers' working folder (default: this process's).
        isolate_network: run the workers in a network namespace that holds only the loopback interface
            (bubblewrap; Linux), so that their servers cannot be reached from other machines. False runs them
            directly: their servers then listen on every interface for as long as they run.
        cpu_only: hide the GPUs from the workers (``CUDA_VISIBLE_DEVICES=""``): several processes on one
            machine would otherwise each claim every GPU's memory.

    Returns:
        A :class:`WorkerRun` whose ``ok`` is True; every worker has ended.

    Raises:
        TypeError / ValueError: an argument of the wrong type or value (the message names it).
        RuntimeError: ``isolate_network=True`` where bubblewrap cannot make a network namespace.
        WorkersFailed: a worker exited with a non-zero status, the time limit passed, or the launcher did not
            start; the message quotes the end of the failing worker's standard error.
    """
    from .. import config
    from ..validation import check_bool, check_float, check_positive_int, type_error

    if not isinstance(source, str):
        raise type_error("source", "a str (the worker program's Python source)", source)
    if not source.strip():
        raise ValueError("source must be a worker program, got an empty str")
    num_workers = check_positive_int(num_workers, "num_workers")
    timeout = check_float(timeout, "timeout", minimum=0.0, include_minimum=False)
    isolate_network = check_bool(isolate_network, "isolate_network")
    cpu_only = check_bool(cpu_only, "cpu_only")
    if env is not None and not (isinstance(env, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise type_error("env", "a mapping of str to str", env)
    if isolate_network and not can_isolate_network():
        raise RuntimeError(
            "isolate_network=True needs bubblewrap (bwrap) and user namespaces, which this machine lacks: "
            "TensorFlow's gRPC server listens on every network interface, so the workers would be "
            "reachable from the network. Install bubblewrap (apt-get install bubblewrap), or pass "
            "isolate_network=False on a machine whose firewall you trust.")

    worker_env = dict(config.TF_QUIET_ENV)
    # The folder that holds course_lib, so that a checkout without an installed kit imports the same code.
    path = [str(config.REPO_ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    worker_env["PYTHONPATH"] = os.pathsep.join(path)
    if cpu_only:
        worker_env["CUDA_VISIBLE_DEVICES"] = ""
    worker_env.update(env or {})

    with tempfile.TemporaryDirectory(prefix="course_workers_") as tmp:
        folder = Path(tmp)
        script = folder / "worker.py"
        script.write_text(source, encoding="utf-8")
        spec = {"script": str(script), "num_workers": num_workers, "timeout": timeout, "env": worker_env,
                "cwd": str(Path(cwd).absolute()) if cwd is not None else os.getcwd(), "folder": str(folder)}
        (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        command = [sys.executable, str(Path(__file__).absolute()), str(folder / "spec.json")]
        if isolate_network:
            command = [*_BWRAP, *command]
        launcher = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        outer_timeout = False
        try:
            _, launcher_err = launcher.communicate(timeout=timeout + _GRACE)
        except subprocess.TimeoutExpired:
            outer_timeout = True
            _kill_group(launcher)
            _, launcher_err = launcher.communicate()
        except BaseException:  # the caller interrupted (KeyboardInterrupt in a notebook): stop everything
            _kill_group(launcher)
            launcher.communicate()
            _stop_stragglers(folder)
            raise
        run = _collect(folder, num_workers, isolate_network, outer_timeout)
        _stop_stragglers(folder)
        launched = (folder / "result.json").is_file()
    if not run.ok:
        message = _failure_message(run, timeout, launched, launcher_err.decode(errors="replace"))
        raise WorkersFailed(message, run)
    return run


# ----------------------------------------------------------------------------------------- the caller's side
def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _collect(folder: Path, num_workers: int, isolated: bool, outer_timeout: bool) -> WorkerRun:
    result = _read_json(folder / "result.json") or {}
    started = _read_json(folder / "pids.json") or {}
    pids = tuple(result.get("pids") or started.get("pids") or ())

    def text(name: str) -> str:
        try:
            return (folder / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    return WorkerRun(
        returncodes=tuple(result.get("returncodes") or [None] * num_workers),
        outputs=tuple(text(f"worker{i}.out") for i in range(num_workers)),
        errors=tuple(text(f"worker{i}.err") for i in range(num_workers)),
        pids=pids,
        isolated=isolated,
        interfaces=tuple(result.get("interfaces") or ()),
        listen_addresses=tuple(result.get("listen_addresses") or [""] * num_workers),
        timed_out=bool(result.get("timed_out")) or outer_timeout,
        failed=result.get("failed"),
    )


def _stop_stragglers(folder: Path, wait: float = 5.0) -> None:
    """Kill any worker the launcher left alive (it cannot, unless it was itself killed before its workers'
    death signal arrived) and wait until none is left."""
    started = _read_json(folder / "pids.json") or {}
    workers = list(zip(started.get("pids", []), started.get("starts", [])))
    deadline = time.monotonic() + wait
    while True:
        alive = [(pid, start) for pid, start in workers if _running(pid, start)]
        if not alive or time.monotonic() > deadline:
            break
        for pid, _ in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def _failure_message(run: WorkerRun, timeout: float, launched: bool, launcher_err: str) -> str:
    if not launched and not run.timed_out:
        return "the workers' launcher failed: " + (launcher_err.strip()[-2000:] or "no message")
    if run.timed_out:
        head = f"the workers did not finish within timeout={timeout:g} s and were killed"
        failed = 0
    else:
        failed = run.failed if run.failed is not None else next(
            i for i, code in enumerate(run.returncodes) if code != 0)
        head = f"worker {failed} exited with status {run.returncodes[failed]}; the others were stopped"
    from ..notebooks import strip_tensorflow_noise

    tail = strip_tensorflow_noise(run.errors[failed]).strip()[-3000:]
    return head + (f"\nworker {failed}'s standard error ends with:\n{tail}" if tail else "")


# ----------------------------------------------------------------------------- the launcher (run as a script)
def _proc_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot), None when no such process runs; a zombie
    or a dead process counts as not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _running(pid: int, start: int | None) -> bool:
    """Whether the process ``pid`` that started at ``start`` still runs (a reused pid does not count)."""
    now = _proc_start(pid)
    return now is not None and (start is None or now == start)


def _free_ports(n: int) -> list[int]:
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _listening(ports: list[int]) -> dict[int, str]:
    """port -> local address, for the sockets listening on ``ports`` (``/proc/net/tcp`` and ``tcp6``)."""
    found: dict[int, str] = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            port = int(port, 16)
            if port in ports:
                raw = bytes.fromhex(address)
                # the kernel prints each 32-bit word in host (little-endian) order
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.setdefault(port, socket.inet_ntop(family, raw))
    return found


def _interfaces() -> list[str]:
    try:
        lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    except OSError:
        return []
    return [line.split(":")[0].strip() for line in lines if ":" in line]


def _die_with_parent() -> None:
    """In a worker, before it runs: ask the kernel to kill it when the launcher dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _write(path: Path, value: dict) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(value), encoding="utf-8")
    partial.replace(path)


def _launch(spec_path: str) -> int:
    """Start the workers described by the spec file, wait, stop them on failure, write result.json."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    folder = Path(spec["folder"])
    n = spec["num_workers"]
    deadline = time.monotonic() + spec["timeout"]
    ports = _free_ports(n)  # inside the namespace when isolated: nothing else there can take them meanwhile
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers, files = [], []
    try:
        for index in range(n):
            env = dict(os.environ, **spec["env"])
            env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            out = open(folder / f"worker{index}.out", "wb")  # noqa: SIM115 - closed below
            err = open(folder / f"worker{index}.err", "wb")  # noqa: SIM115 - closed below
            files += [out, err]
            workers.append(subprocess.Popen([sys.executable, spec["script"]], stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=err, env=env, cwd=spec["cwd"],
                                            preexec_fn=_die_with_parent))
        pids = [w.pid for w in workers]
        _write(folder / "pids.json", {"pids": pids, "starts": [_proc_start(pid) for pid in pids]})
        listeners: dict[int, str] = {}
        timed_out, failed = False, None
        while True:
            codes = [w.poll() for w in workers]
            bad = [i for i, code in enumerate(codes) if code not in (None, 0)]
            if bad:
                failed = bad[0]
                break
            if all(code is not None for code in codes):
                break
            if time.monotonic() > deadline:
                timed_out = True
                break
            if len(listeners) < n:
                listeners.update(_listening(ports))
            time.sleep(0.05)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        for w in workers:
            w.wait()
        for f in files:
            f.close()
    _write(folder / "result.json", {
        "pids": [w.pid for w in workers],
        "returncodes": [w.returncode for w in workers],
        "timed_out": timed_out,
        "failed": failed,
        "interfaces": _interfaces(),
        "listen_addresses": [listeners.get(port, "") for port in ports],
    })
    return 0


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1]))
