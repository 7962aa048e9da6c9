"""Warm sandboxes (``course_lib.grading.zygote``): a submission's sandbox forked from an interpreter that
imported Keras once must be as closed as a fresh one. Real zygotes in real bubblewrap sandboxes, each running
a few cells through the real driver. Slow-ish (a zygote imports Keras once per module): marked ``grading``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from course_lib.grading import sandbox, wire, zygote

pytestmark = pytest.mark.grading

REPO = Path(__file__).resolve().parents[1]
MARKER = "ZYGOTE_TEST_GRADER_SECRET"


def _needs_bwrap():
    works, why = sandbox.sandbox_works()
    if not works:
        pytest.fail(f"the grading sandbox cannot start here: {why}")


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    _needs_bwrap()
    root = tmp_path_factory.mktemp("zygote")
    lib = root / "lib"
    shutil.copytree(REPO / "course_lib", lib / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    jobs = root / "sandboxes"
    jobs.mkdir()
    os.environ[MARKER] = "s3cret"
    try:
        z = zygote.Zygote(jobs_root=jobs, lib=lib, hide=(), limits=sandbox.Limits(), folder=root / "z")
    finally:
        os.environ.pop(MARKER)
    yield {"root": root, "jobs": jobs, "lib": lib, "zygote": z}
    z.close()


def run(warm, name: str, cells: list[str], files: dict[str, str] | None = None,
        limits: sandbox.Limits | None = None, z=None) -> tuple[list[dict], zygote.ForkedSandbox]:
    """Run ``cells`` in a sandbox forked from the zygote; returns each cell's event and the closed box."""
    job, home = warm["jobs"] / name / "job", warm["jobs"] / name / "home"
    job.mkdir(parents=True)
    home.mkdir()
    for rel, text in (files or {}).items():
        (home / rel).write_text(text)
    code = [{"kind": "code", "source": c, "grade_id": ""} for c in cells]
    (job / "job.json").write_text(json.dumps({"cells": code, "cell_timeout": 60}))
    box = zygote.ForkedSandbox(z or warm["zygote"], name=name, log_path=warm["root"] / f"{name}.log",
                               limits=limits or sandbox.Limits())
    events = []
    try:
        while True:
            try:
                message = wire.receive(box.from_child_r, time.monotonic() + 120)
            except EOFError:  # the sandbox ended (the killer test's does)
                break
            if message.get("event") == "ready":
                break
            events.append(message)
    finally:
        box.close()
    return events, box


def printed(event: dict) -> str:
    return "".join(o.get("text", "") for o in event["outputs"])


def test_keras_is_imported_once_in_the_zygote(warm):
    events, _ = run(warm, "keras", ["import sys\nprint('keras' in sys.modules, 'tensorflow' in sys.modules)"])
    assert printed(events[0]).split() == ["True", "True"]


def test_a_submission_sees_only_its_own_files(warm):
    run(warm, "first", ["open('/tmp/left-behind', 'w').write('x')\nopen('/dev/shm/left', 'w').write('x')\n"
                        "open('scratch.txt', 'w').write('x')"], {"mine.txt": "first's"})
    events, _ = run(warm, "second", [
        "import os\n"
        "print(sorted(os.listdir('.')), os.listdir('/jobs'), 'left-behind' in os.listdir('/tmp'),\n"
        "      os.listdir('/dev/shm'))\n"
        "print(os.path.exists('/jobs/first/home/mine.txt'), open('mine.txt').read())\n"
        "print(os.getcwd(), os.environ['HOME'])"], {"mine.txt": "second's"})
    lines = printed(events[0]).splitlines()
    assert lines[0] == "['mine.txt'] [] False []", lines
    assert lines[1] == "False second's", lines
    assert lines[2] == "/home/student /home/student", lines


def test_no_capabilities_nothing_to_unmount_no_grader_environment(warm):
    events, _ = run(warm, "caps", [
        "import ctypes, glob, os\n"
        "lines = open('/proc/self/status').read().splitlines()\n"
        "status = dict(l.split(':\\t', 1) for l in lines if ':\\t' in l)\n"
        "print(status['CapEff'].strip(), status['CapBnd'].strip(), status['NoNewPrivs'].strip())\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.umount2(b'/jobs', 2), ctypes.get_errno())  # MNT_DETACH\n"
        # a namespace of its own, where it would hold capabilities again: the inherited mounts are locked
        "r = libc.unshare(0x10000000 | 0x00020000)\n"
        "print('unshare', r)\n"
        "print('umount', libc.umount2(b'/jobs', 2), os.listdir('/jobs'))\n"
        "seen = ''\n"
        "for p in glob.glob('/proc/[0-9]*/environ'):\n"
        "    try:\n        seen += open(p, 'rb').read().decode(errors='replace')\n"
        "    except OSError:\n        pass\n"
        f"print({MARKER!r} in seen)"])
    lines = printed(events[0]).splitlines()
    assert lines[0] == "0000000000000000 0000000000000000 1", lines
    assert lines[1].startswith("-1 "), lines  # EPERM: no capability
    assert lines[-2].endswith("[]"), lines  # whatever it tried, /jobs stays empty
    assert lines[-1] == "False", lines


def test_the_zygote_cannot_be_read_or_traced(warm):
    events, _ = run(warm, "trace", [
        "import glob\n"
        "mine = open('/proc/self/stat').read().split()[0]\n"
        "for p in glob.glob('/proc/[0-9]*/cmdline'):\n"
        "    if b'course_lib.grading.zygote' in open(p, 'rb').read() and p.split('/')[2] != mine:\n"
        "        for what in ('environ', 'mem', 'maps'):\n"
        "            try:\n"
        "                open(p.replace('cmdline', what), 'rb').read(16)\n"
        "                print(what, 'READ')\n"
        "            except OSError as e:\n"
        "                print(what, type(e).__name__)"])
    lines = printed(events[0]).splitlines()
    assert lines and all(not line.endswith("READ") for line in lines), lines


def test_the_submissions_cgroup_holds_a_forked_sandbox(warm):
    limits = sandbox.Limits(max_tasks=64)
    events, box = run(warm, "threads", [
        "import threading, time\nmade = 0\n"
        "try:\n"
        "    for _ in range(1000):\n"
        "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "        made += 1\n"
        "except RuntimeError:\n    pass\n"
        "print(made)"], limits=limits)
    assert int(printed(events[0])) < 64
    if box.group is not None:  # a host without a pids cgroup says so in limits_in_force instead
        assert any("refused" in note for note in box.limit_notes()), box.limit_notes()


def test_a_killed_zygote_means_a_fresh_sandbox_not_a_lost_grade(warm, tmp_path):
    lib, jobs = warm["lib"], warm["jobs"]
    z = zygote.Zygote(jobs_root=jobs, lib=lib, hide=(), limits=sandbox.Limits(), folder=tmp_path / "z2")
    try:
        # the zygote's sandbox ends with it, this submission's process included
        run(warm, "killer", [
            "import glob, os, signal\n"
            "for p in glob.glob('/proc/[0-9]*/cmdline'):\n"
            "    pid = int(p.split('/')[2])\n"
            "    if b'course_lib.grading.zygote' in open(p, 'rb').read() and pid != os.getpid():\n"
            "        try:\n            os.kill(pid, signal.SIGKILL)\n"
            "        except OSError:\n            pass\n"], z=z)
        for _ in range(100):
            if not z.alive():
                break
            time.sleep(0.1)
        assert not z.alive()
        with pytest.raises(zygote.ZygoteFailed):
            zygote.ForkedSandbox(z, name="killer", log_path=tmp_path / "log", limits=sandbox.Limits())
    finally:
        z.close()


def test_a_worker_forked_from_the_run_sees_the_zygote_alive(warm):
    # the run starts the zygote and forks a worker per submission; the worker cannot wait for the zygote's
    # launcher (not its child), and must still see it alive, or every submission would start cold
    pid = os.fork()
    if pid == 0:
        os._exit(0 if warm["zygote"].alive() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_each_forked_sandbox_draws_its_own_random_numbers(warm):
    cell = "import numpy as np\nprint(np.random.rand())"
    draws = [printed(run(warm, f"draw{i}", [cell])[0][0]) for i in range(2)]
    assert draws[0] != draws[1], draws
