"""The sandbox's limits hold: each test starts a real sandbox (``SandboxProcess`` over ``sandbox_argv``) with
a tiny Python command and checks that the kernel stops what goes beyond a limit.

Memory is tested with a 1 GiB cgroup and 4 children of 512 MiB each, so that the test itself can never take
much of the machine's memory: the cgroup is what stops it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from course_lib.grading import cgroups, sandbox, wire

pytestmark = pytest.mark.grading

MiB = 1024**2


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """A copy of course_lib, as the runner makes one for its sandboxes."""
    from course_lib.grading.runner import copy_course_lib

    works, why = sandbox.sandbox_works()
    assert works, why
    return copy_course_lib(tmp_path_factory.mktemp("sandbox-lib"))


def _need(what: str) -> None:
    """Skip where this host cannot hold a limit (as ``limits_in_force`` reports it); as root it must."""
    _held, missing = sandbox.limits_in_force()
    lines = [m for m in missing if m.startswith(what)]
    if lines and os.geteuid() != 0:
        pytest.skip(lines[0])
    assert not lines, lines


def _start(tmp_path: Path, lib: Path, code: str, *, limits=None, hide=(), files=None):
    limits = limits or sandbox.Limits()
    home, job = tmp_path / "home", tmp_path / "job"
    home.mkdir(exist_ok=True)
    job.mkdir(exist_ok=True)
    for name, text in (files or {}).items():
        (home / name).write_text(text)
        (home / name).chmod(0o666)

    def argv_for(in_fd, out_fd):
        return sandbox.sandbox_argv(home=home, lib=lib, job=job, hide=hide, limits=limits,
                                    command=["python", "-c", code])

    return sandbox.SandboxProcess(argv_for, log_path=tmp_path / "sandbox.log", limits=limits, cwd=home)


def _run(tmp_path: Path, lib: Path, code: str, *, timeout: float = 120, **kwargs):
    """Run ``python -c code`` in a sandbox to its end; returns the closed box and its log."""
    box = _start(tmp_path, lib, code, **kwargs)
    try:
        box.proc.wait(timeout=timeout)
    finally:
        box.close()
    return box, (tmp_path / "sandbox.log").read_text(errors="replace")


def test_memory_is_limited_for_the_whole_submission(tmp_path, lib):
    """RLIMIT_AS is per process: 4 children of 512 MiB each fit under it, but not under the submission's
    1 GiB memory cgroup; the kernel kills some of them and the grader can say so."""
    _need("memory")
    code = (
        "import subprocess, sys\n"
        "child = 'import time; b = bytes([1]) * (512 << 20); time.sleep(2); print(\"held\", flush=True)'\n"
        "procs = [subprocess.Popen([sys.executable, '-c', child]) for _ in range(4)]\n"
        "print('codes', [p.wait() for p in procs], flush=True)\n"
    )
    box, log = _run(tmp_path, lib, code, limits=sandbox.Limits(memory_bytes=1024 * MiB))
    assert log.count("held") < 4, log
    assert box.oom_kills >= 1, log
    assert box.memory_peak is None or box.memory_peak <= 1024 * MiB
    notes = box.limit_notes()
    assert any(n.startswith("killed: out of memory (limit 1 GiB") for n in notes), notes


def test_threads_and_a_fork_bomb_stop_at_the_pids_limit(tmp_path, lib):
    _need("processes and threads")
    limits = sandbox.Limits(max_tasks=200)
    threads = (
        "import threading\n"
        "stop, n = threading.Event(), 0\n"
        "try:\n"
        "    for _ in range(3000):\n"
        "        threading.Thread(target=stop.wait, daemon=True).start()\n"
        "        n += 1\n"
        "except RuntimeError:\n"
        "    pass\n"
        "print('threads', n, flush=True)\n"
        "stop.set()\n"
    )
    box, log = _run(tmp_path, lib, threads, limits=limits)
    started = int(log.split("threads ")[1].split()[0])
    assert 100 < started < 200, log
    assert box.tasks_refused >= 1 and "more than 200 processes and threads" in " ".join(box.limit_notes())

    bomb = (  # every process forks until the kernel refuses, then waits a little and ends
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "time.sleep(1)\n"
        "os._exit(0)\n"
    )
    box, log = _run(tmp_path, lib, bomb, limits=limits)
    assert box.tasks_refused >= 1, log
    assert box.tasks_peak is None or box.tasks_peak <= 200, box.tasks_peak


def test_home_tmp_and_shm_are_capped(tmp_path, lib):
    """Writing up to 2 GiB into each of them fails with ENOSPC at about its size (a tmpfs with --size); the
    home starts with the prepared files, copied by the driver."""
    assert sandbox.bwrap_sizes_tmpfs(), "this bubblewrap has no --size"
    limits = sandbox.Limits(home_bytes=64 * MiB, tmp_bytes=48 * MiB, shm_bytes=16 * MiB)
    code = (
        "import errno, os\n"
        "from course_lib.grading import driver\n"
        "driver.fill_home()\n"
        "print('released:', open('released.txt').read(), flush=True)\n"
        "chunk = b'x' * (1 << 20)\n"
        "for where in ('/home/student', '/tmp', '/dev/shm'):\n"
        "    n = 0\n"
        "    try:\n"
        "        with open(os.path.join(where, 'big'), 'wb', buffering=0) as f:\n"
        "            while n < 2048:\n"
        "                f.write(chunk)\n"
        "                n += 1\n"
        "        print(where, 'wrote', n, 'MiB: no error', flush=True)\n"
        "    except OSError as exc:\n"
        "        print(where, 'wrote', n, 'MiB:', errno.errorcode.get(exc.errno), flush=True)\n"
        "    os.remove(os.path.join(where, 'big'))\n"
    )
    box, log = _run(tmp_path, lib, code, limits=limits, files={"released.txt": "from the release"})
    assert "released: from the release" in log, log
    for where, cap in (("/home/student", 64), ("/tmp", 48), ("/dev/shm", 16)):
        line = next(x for x in log.splitlines() if x.startswith(where + " wrote"))
        assert line.endswith("ENOSPC"), log
        assert cap - 2 <= int(line.split()[2]) <= cap, line


def test_nothing_of_the_graders_environment_is_visible(tmp_path, lib, monkeypatch):
    """bwrap's init is pid 1 inside, and its /proc/1/environ is the environment bwrap was started with: that
    is PATH only, not the grader's."""
    marker = "grader-secret-7f3a"
    monkeypatch.setenv("COURSE_SANDBOX_MARKER", marker)
    code = (
        "import os\n"
        "seen = []\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        seen.append(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "    except (OSError, NotADirectoryError):\n"
        "        pass\n"
        "print('read', len(seen), 'environments', flush=True)\n"
        "import json\n"
        "env = open('/proc/1/environ', 'rb').read().split(b'\\0')\n"
        "names = [v.split(b'=')[0].decode() for v in env if v]\n"
        "print('pid1', json.dumps(names), flush=True)\n"
        "print('FOUND' if any(b'COURSE_SANDBOX_MARKER' in e for e in seen) else 'CLEAN', flush=True)\n"
    )
    _box, log = _run(tmp_path, lib, code)
    assert "CLEAN" in log and "FOUND" not in log and marker not in log, log
    pid1 = next(x for x in log.splitlines() if x.startswith("pid1"))
    assert set(json.loads(pid1[len("pid1 "):])) <= set(sandbox.LAUNCHER_ENV), pid1


def test_a_hidden_library_cannot_be_reached_by_path(tmp_path, lib):
    """With scipy hidden, every trick by path fails: each site-packages or dist-packages folder found on the
    disk put on sys.path, and each scipy/__init__.py found loaded from its file."""
    code = (
        "import importlib, importlib.util, os, sys\n"
        "folders, inits, other = [], [], []\n"
        "for top, dirs, files in os.walk('/'):\n"
        "    if top in ('/proc', '/sys', '/dev'):\n"
        "        dirs[:] = []\n"
        "        continue\n"
        "    if os.path.basename(top) in ('site-packages', 'dist-packages'):\n"
        "        folders.append(top)\n"
        "    if 'scipy' in top.split('/'):\n"
        "        inits += [os.path.join(top, f) for f in files if f == '__init__.py']\n"
        "        other += [os.path.join(top, f) for f in files if f != '__init__.py']\n"
        "print('folders', len(folders), 'inits', len(inits), 'other', other[:5], flush=True)\n"
        "def attempt(what, load):\n"
        "    try:\n"
        "        load()\n"
        "        print('LEAK', what, flush=True)\n"
        "    except Exception as exc:\n"
        "        print('refused', what, type(exc).__name__, flush=True)\n"
        "attempt('import', lambda: importlib.import_module('scipy.signal'))\n"
        "for folder in folders:\n"
        "    sys.path.insert(0, folder)\n"
        "    importlib.invalidate_caches()\n"
        "    sys.modules.pop('scipy', None)\n"
        "    attempt(folder, lambda: importlib.import_module('scipy.signal').correlate)\n"
        "for init in inits:\n"
        "    def load(init=init):\n"
        "        spec = importlib.util.spec_from_file_location('scipy', init)\n"
        "        module = importlib.util.module_from_spec(spec)\n"
        "        spec.loader.exec_module(module)\n"
        "        module.signal.correlate\n"
        "    attempt(init, load)\n"
        "try:\n"
        "    import importlib.metadata as md\n"
        "    version = md.version('scipy')  # its .dist-info is an empty folder: None\n"
        "    print('LEAK metadata' if version else 'refused metadata', version, flush=True)\n"
        "except Exception as exc:\n"
        "    print('refused metadata', type(exc).__name__, flush=True)\n"
    )
    _box, log = _run(tmp_path, lib, code, hide=("scipy",))
    assert "LEAK" not in log, log
    assert "refused import ModuleNotFoundError" in log, log
    counts = next(x for x in log.splitlines() if x.startswith("folders")).split()
    assert int(counts[1]) >= 2 and counts[5] == "[]", log  # a venv and its Python at least; no scipy file
    assert log.count("refused /") >= int(counts[1]), log


def test_the_log_keeps_only_its_head(tmp_path, lib):
    code = "import sys\nline = b'x' * 999 + b'\\n'\nfor _ in range(50_000):\n"
    code += "    sys.stdout.buffer.write(line)\n"
    box, log = _run(tmp_path, lib, code)
    cap = sandbox.Limits().log_bytes
    assert (tmp_path / "sandbox.log").stat().st_size < cap + 200
    assert box.log_dropped == 50_000_000 - cap, box.log_dropped
    end = f"{box.log_dropped} more bytes dropped; the first {cap} are kept]"
    assert log.rstrip().endswith(end), log[-200:]


def test_the_cgroup_is_removed_after_close(tmp_path, lib):
    _need("memory")
    box = _start(tmp_path, lib, "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    try:
        folders = box.cgroup.folders
        assert folders and all(f.is_dir() for f in folders)
        end = time.monotonic() + 30
        while "up" not in (tmp_path / "sandbox.log").read_text() and time.monotonic() < end:
            time.sleep(0.05)
        assert box.proc.pid in box.cgroup.members() and len(box.cgroup.members()) >= 3
    finally:
        box.kill()
        box.close()
    assert not any(f.exists() for f in folders), folders


def test_keras_fits_a_small_model_within_the_default_limits(tmp_path, lib):
    """The grader's own command line (the driver, a job of cells, the protocol's pipes) under the default
    limits: TensorFlow starts a pool of threads per core, and Keras fits a tiny model."""
    cell = (
        "import numpy as np, keras\n"
        "print(open('data.txt').read())\n"
        "m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation='relu'),\n"
        "                      keras.layers.Flatten(), keras.layers.Dense(2, activation='softmax')])\n"
        "m.compile('adam', 'sparse_categorical_crossentropy')\n"
        "x = np.random.rand(64, 8, 8, 1).astype('float32')\n"
        "m.fit(x, np.random.randint(0, 2, 64), epochs=2, verbose=0)\n"
        "print('predicted', m.predict(x[:2], verbose=0).shape)\n"
    )
    home, job = tmp_path / "home", tmp_path / "job"
    home.mkdir()
    job.mkdir()
    (home / "data.txt").write_text("released data")
    (home / "data.txt").chmod(0o666)
    (job / "job.json").write_text(json.dumps({"cells": [{"source": cell}], "cell_timeout": 120}))
    limits = sandbox.Limits()

    def argv_for(in_fd, out_fd):
        return sandbox.sandbox_argv(
            home=home, lib=lib, job=job, limits=limits,
            command=["python", "-m", "course_lib.grading.driver", f"{sandbox.SANDBOX_JOB}/job.json",
                     str(in_fd), str(out_fd)],
        )

    box = sandbox.SandboxProcess(argv_for, log_path=tmp_path / "sandbox.log", limits=limits, cwd=home)
    try:
        first = wire.receive(box.from_child_r, time.monotonic() + 120)
        ready = wire.receive(box.from_child_r, time.monotonic() + 30)
    finally:
        box.close()
    log = (tmp_path / "sandbox.log").read_text()
    assert first["event"] == "cell" and first["error"] is None, (first, log)
    assert ready["event"] == "ready"
    printed = "".join(o.get("text", "") for o in first["outputs"])
    assert "released data" in printed and "predicted (2, 2)" in printed, printed
    assert box.oom_kills == 0 and box.tasks_refused == 0 and box.limit_notes() == []
    if box.tasks_peak is not None:
        assert box.tasks_peak < limits.max_tasks / 2, box.tasks_peak


def test_without_cgroups_the_watchdog_counts_processes_and_the_gap_is_reported(tmp_path, lib, monkeypatch):
    """Where no cgroup can be made (not root, no controller mounted), the sandbox still runs: a watchdog kills
    it above ``max_processes``, and ``limits_in_force`` names what is not held."""
    monkeypatch.setattr(cgroups, "_mounts", lambda: [])
    sandbox._limits_in_force.cache_clear()
    try:
        held, missing = sandbox.limits_in_force()
    finally:
        sandbox._limits_in_force.cache_clear()
    assert [m.split(":")[0] for m in missing] == ["memory for the whole submission", "threads"], missing
    assert not any(h.startswith(("memory", "processes")) for h in held), held
    code = (
        "import subprocess, time\n"
        "procs = [subprocess.Popen(['sleep', '30']) for _ in range(12)]\n"
        "time.sleep(30)\n"
    )
    box, _log = _run(tmp_path, lib, code, limits=sandbox.Limits(max_processes=5), timeout=20)
    assert box.cgroup is None and box.too_many
    assert box.limit_notes() == ["killed: more than 5 processes"]
