"""The compatibility matrix: the kit's wheel on other Pythons, on a hosted kernel's stack, on other backends.

Usage:
    python scripts/compat.py                  # every entry of tests/compat/matrix.toml (make test-compat)
    python scripts/compat.py --only py310     # one entry
    python scripts/compat.py --python 3.12    # the entries on one Python (the CI workflow: one job each)
    python scripts/compat.py --list           # the entries' names

For each ``[[env]]`` of ``tests/compat/matrix.toml`` it makes a virtual environment under
``build/compat/<name>/`` with that Python and then:

* **a hosted kernel** (``preinstalled``): installs the kernel's own stack first (an older TensorFlow/Keras
  pair, Jupyter), snapshots it, then executes notebooks the way a student opens them: copied into a folder
  outside the checkout, where their set-up cell finds no kit and installs it with pip (``$COURSE_KIT_SPEC``
  points it at the wheel built here, where a student's kernel uses the repository's URL). Afterwards every
  preinstalled package must still be there at the same version: pip only added what was missing.
* **an environment for the kit** (``install``): installs the wheel with its ``[lab,test]`` extras and the
  extra packages, letting the resolver pick versions inside the kit's ranges (the backends' environment is
  held to ``constraints.txt`` so that only the backend differs).
* runs the listed unit-test modules against the installed wheel (``tests/<module>.py`` from the checkout, with
  the venv's ``pytest`` so that the checkout itself is not importable; tests marked ``checkout`` are left
  out), under each listed Keras backend, and executes the listed notebooks under each backend.

Every step's time goes into a table printed at the end and written to ``build/compat/report.md``; the exit
status is 1 when any check failed. Needs the standard library and ``uv`` (the development environment has it).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "tests" / "compat" / "matrix.toml"
OUT = ROOT / "build" / "compat"
FIELDS = {"name", "python", "preinstalled", "install", "unit", "notebooks", "backends"}
# a folder of wheels that pip's configuration adds on these machines (torch's CPU build lies there)
LOCAL_WHEELS = Path("/opt/wheels")

# Executes notebooks in the venv's own Python with nbclient, each in its folder, and fails on the first error.
RUNNER = """
import sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
for path in map(Path, sys.argv[1:]):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    print(f"executed {path.name} in {time.perf_counter() - start:.1f} s", flush=True)
"""
SNAPSHOT = ("import json\nfrom importlib import metadata\n"
            "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version "
            "for d in metadata.distributions() if d.metadata['Name']}))")


class Failed(Exception):
    """A check failed; the message says which and why."""


def load_matrix(path: Path = MATRIX) -> list[dict]:
    """The ``[[env]]`` entries of the matrix file, checked.

    Raises:
        ValueError: an entry lacks ``name``/``python``, has an unknown field, or names a test module or
            notebook that does not exist.
    """
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("env", [])
    for entry in entries:
        where = f"{path.name}: env {entry.get('name', '?')!r}"
        if not {"name", "python"} <= set(entry) or set(entry) - FIELDS:
            raise ValueError(f"{where}: fields must include name and python and come from {sorted(FIELDS)}, "
                             f"got {sorted(entry)}")
        for module in entry.get("unit", []):
            if not (ROOT / "tests" / f"{module}.py").is_file():
                raise ValueError(f"{where}: unit module tests/{module}.py does not exist")
        for stem in entry.get("notebooks", []):
            if not (ROOT / "notebooks" / f"{stem}.ipynb").is_file():
                raise ValueError(f"{where}: notebook notebooks/{stem}.ipynb does not exist")
    return entries


def find_python(minor: str) -> Path:
    """The interpreter for ``3.X``: pyenv's newest 3.X.*, else ``python3.X`` on PATH.

    Raises:
        Failed: neither exists.
    """
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found = sorted(Path(root, "versions").glob(f"{minor}.*/bin/python{minor}"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)])
    if found:
        return found[-1]
    on_path = shutil.which(f"python{minor}")
    if on_path:
        return Path(on_path)
    raise Failed(f"no Python {minor}: install it with pyenv (pyenv install {minor}) or put python{minor} "
                 "on PATH")


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for everything run inside an entry: nothing that names this checkout's own settings
    (COURSE_*, the Makefile's tool folders, PYTHONPATH, the .venv on PATH), an empty HOME of its own, quick
    mode and TensorFlow's quiet logs."""
    drop = ("COURSE_", "PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_", "KERAS_", "MPLCONFIGDIR", "IPYTHONDIR",
            "XDG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), COURSE_MODE="quick", TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run(cmd: list, env: dict[str, str], log: Path, *, cwd: Path = ROOT, timeout: float = 1200) -> str:
    """Run ``cmd``, append its output to ``log`` and return it.

    Raises:
        Failed: a non-zero exit (the last lines of output are in the message).
    """
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(map(str, cmd))}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise Failed(f"{Path(str(cmd[0])).name} {' '.join(map(str, cmd[1:4]))} ... exited {proc.returncode} "
                     f"(full log: {log}):\n{tail}")
    return proc.stdout


def build_wheel(dest: Path, log: Path) -> Path:
    """The kit's wheel, built offline from this checkout into ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dest, ROOT],
        dict(os.environ), log)
    (wheel,) = dest.glob("course_lib-*.whl")
    return wheel


def uv_install(venv: Path, requirements: list[str], env: dict[str, str], log: Path,
               constraints: bool = False) -> None:
    """Install into ``venv`` with uv (the development environment's), with the local wheel folder where the
    machine has one (torch's CPU build) and optionally the development pins."""
    cmd = [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", venv / "bin" / "python"]
    if LOCAL_WHEELS.is_dir():
        cmd += ["--find-links", LOCAL_WHEELS]
    if constraints:
        cmd += ["-c", ROOT / "constraints.txt"]
    # uv keeps its download cache where make setup keeps it (the entry's HOME is empty)
    install_env = {**env, "HOME": os.environ.get("HOME", env["HOME"])}
    run(cmd + requirements, install_env, log)


def snapshot(venv: Path, env: dict[str, str], log: Path) -> dict[str, str]:
    """Distribution name -> version, as the venv's Python sees them."""
    return json.loads(run([venv / "bin" / "python", "-c", SNAPSHOT], env, log).strip().splitlines()[-1])


def check_no_cuda_torch(versions: dict[str, str]) -> None:
    if "torch" in versions and "+cpu" not in versions["torch"]:
        raise Failed(f"torch {versions['torch']} is not the CPU build")
    cuda = sorted(n for n in versions if n.startswith("nvidia-"))
    if cuda:
        raise Failed(f"CUDA packages were installed: {', '.join(cuda)}")


def execute_notebooks(venv: Path, stems: list[str], work: Path, env: dict[str, str], log: Path) -> list[str]:
    """Copy the notebooks into ``work`` (outside the checkout: their set-up cell finds no ../course_lib) and
    execute them there with the venv's kernel; return nbclient's per-notebook lines."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    paths = []
    for stem in stems:
        shutil.copy(ROOT / "notebooks" / f"{stem}.ipynb", work / f"{stem}.ipynb")
        paths.append(work / f"{stem}.ipynb")
    out = run([venv / "bin" / "python", "-c", RUNNER, *paths], env, log, cwd=work)
    return [line for line in out.splitlines() if line.startswith("executed")]


def setup_cell_output(path: Path) -> str:
    """The text the first code cell printed (the set-up cell's report)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    streams = [o for o in first.get("outputs", []) if o.get("output_type") == "stream"]
    return "".join("".join(o.get("text", "")) for o in streams)


def run_entry(entry: dict, wheel: Path, timings: list[tuple[str, str, float, str]]) -> None:
    """Make the entry's environment and run its checks; each step's time goes into ``timings``.

    Raises:
        Failed: any check failed.
    """
    name = entry["name"]
    base = OUT / name
    venv, log = base / "venv", base / "log.txt"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    env = child_env(base / "home", JUPYTER_PATH=str(venv / "share" / "jupyter"))

    def step(what: str, fn, *args, note=lambda result: ""):
        start = time.perf_counter()
        result = fn(*args)
        timings.append((name, what, time.perf_counter() - start, note(result) or ""))
        print(f"  {name}: {what} ({timings[-1][2]:.0f} s) {timings[-1][3]}", flush=True)
        return result

    python = find_python(entry["python"])
    step("venv", run, [python, "-m", "venv", venv], env, log, note=lambda _: str(python))
    kernel = [venv / "bin" / "python", "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"]
    if "preinstalled" in entry:
        step("preinstall the kernel's stack", uv_install, venv, entry["preinstalled"], env, log)
        run(kernel, env, log)
        before = snapshot(venv, env, log)
        step("notebooks via the set-up cell", execute_notebooks, venv, entry.get("notebooks", []),
             base / "work", {**env, "COURSE_KIT_SPEC": str(wheel)}, log, note="; ".join)
        report = setup_cell_output(base / "work" / f"{entry['notebooks'][0]}.ipynb")
        if "Installed the course kit with pip" not in report or "no restart is needed" not in report:
            raise Failed(f"the set-up cell's report says something else:\n{report}")
        after = snapshot(venv, env, log)
        changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
        if changed:
            raise Failed(f"pip changed the kernel's own packages: {changed}")
        added = sorted(set(after) - set(before))
        kept = f"tensorflow {after['tensorflow']}, keras {after['keras']}"
        timings.append((name, "pip kept every preinstalled package", 0.0,
                        f"{kept}; added {', '.join(added)}"))
    else:
        requirements = [f"course_lib[lab,test] @ {wheel.as_uri()}", *entry.get("install", [])]
        step("install the wheel", uv_install, venv, requirements, env, log, bool(entry.get("backends")))
        run(kernel, env, log)
    versions = snapshot(venv, env, log)
    check_no_cuda_torch(versions)
    stack = ", ".join(f"{n} {versions[n]}" for n in ("tensorflow", "keras", "numpy", "jax", "torch")
                      if n in versions)
    timings.append((name, "stack", 0.0, f"Python {entry['python']}: {stack}"))
    for backend in entry.get("backends", ["tensorflow"]):
        benv = {**env, "KERAS_BACKEND": backend}
        if entry.get("unit"):
            tests = [ROOT / "tests" / f"{m}.py" for m in entry["unit"]]
            # one process: make test-compat already runs two entries at a time, and each xdist worker would
            # import TensorFlow again
            pytest = [venv / "bin" / "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", ROOT,
                      "-m", "not checkout", *tests]
            step(f"unit tests ({backend})", run, pytest, benv, log,
                 note=lambda out: (re.findall(r"\d+ passed.*", out) or [""])[-1].strip("= "))
        if entry.get("notebooks") and "preinstalled" not in entry:
            step(f"notebooks ({backend})", execute_notebooks, venv, entry["notebooks"],
                 base / f"work-{backend}", benv, log, note="; ".join)


def write_report(timings: list, failures: dict[str, str], path: Path) -> str:
    lines = ["| entry | step | seconds | result |", "|---|---|---:|---|"]
    for name, what, seconds, note in timings:
        lines.append(f"| {name} | {what} | {seconds:.0f} | {note.replace('|', '/')} |")
    for name, why in failures.items():
        lines.append(f"| {name} | FAILED | | {why.splitlines()[0]} |")
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="run only this entry (repeatable)")
    parser.add_argument("--python", action="append", help="run only the entries on this Python (3.X)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="entries run at once (default 2: installs and kernel starts leave cores idle)")
    parser.add_argument("--list", action="store_true", help="print the entries' names and stop")
    args = parser.parse_args(argv)
    entries = load_matrix()
    if args.list:
        print("\n".join(e["name"] for e in entries))
        return 0
    if args.only:
        unknown = set(args.only) - {e["name"] for e in entries}
        if unknown:
            parser.error(f"--only must name entries of {MATRIX.name}, got {sorted(unknown)}")
        entries = [e for e in entries if e["name"] in args.only]
    if args.python:
        entries = [e for e in entries if e["python"] in args.python]
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    wheel = build_wheel(OUT / "dist", OUT / "build-log.txt")
    timings: list = [("wheel", "build", time.perf_counter() - start, wheel.name)]
    failures = {}

    def one(entry: dict) -> None:
        print(f"{entry['name']}: started", flush=True)
        try:
            run_entry(entry, wheel, timings)
        except (Failed, subprocess.TimeoutExpired) as exc:
            failures[entry["name"]] = str(exc)
            print(f"  {entry['name']} FAILED: {exc}", flush=True)

    if args.jobs < 1:
        parser.error(f"--jobs must be a positive int, got {args.jobs}")
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(one, entries))
    timings.sort(key=lambda row: [e["name"] for e in entries].index(row[0]) if row[0] != "wheel" else -1)
    print(write_report(timings, failures, OUT / "report.md"))
    print(f"compatibility matrix: {len(entries) - len(failures)} of {len(entries)} entries passed in "
          f"{time.perf_counter() - start:.0f} s (report: {OUT / 'report.md'})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
