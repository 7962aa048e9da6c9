"""How long grading a class takes: seconds per submission, one at a time against several at a time.

Run: ``.venv/bin/python benchmarks/bench_grading.py [--students 12] [--jobs 2]`` (``make bench`` runs it).

It copies the grading pieces of the repository to a temporary folder (so the real build/ is left alone),
releases ps1-ps4 there, and generates a class (``course_lib.grading.classroom.class_of``): every student hands
in every assignment, half of the submissions with every answer right and the others with each answer right or
left as the stub at even odds. It then grades the same class three times with ``scripts/assignments.py
grade``, each run into an empty build folder released the same way: one submission at a time with every
sandbox started afresh (``--jobs 1 --cold``, how grading worked before), one at a time forked from warm
interpreters (``--jobs 1``), and ``--jobs N`` at a time forked from warm interpreters (the default). It prints
the wall-clock seconds per submission side by side, their ratios, the CPU seconds the grader counted, and what
a class of 200 students (800 submissions of this mix) would take at that rate: the measured seconds per
submission times 800, which assumes the per-submission cost does not depend on the size of the class (each
submission is graded by its own process and sandbox; the run's one-off costs, the release, the first import
of Keras and the start of the warm interpreters, are spread over more submissions in a bigger class, so the
estimate errs high).
It asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_lib.grading.classroom import class_of, save_notebook  # noqa: E402
from course_lib.grading.layout import source_root  # noqa: E402

ASSIGNMENTS = ("ps1", "ps2", "ps3", "ps4")
CLASS_SIZE = 200


def copy_repo(dest: Path) -> Path:
    """The pieces grading needs, as the grading tests copy them."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "build")
    for part in ("course_lib", "scripts"):
        shutil.copytree(ROOT / part, dest / part, ignore=ignore)
    shutil.copytree(source_root(), dest / "notebooks" / "assignments" / "source", ignore=ignore)
    for name in ("nbgrader_config.py", "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    return dest


def script(repo: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(repo / "scripts" / "assignments.py"), *args]
    return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True)


def grade(repo: Path, env: dict, build: Path, submissions: Path, jobs: int, cold: bool) -> dict:
    """Release into an empty build folder, then time one grading run of the whole class."""
    if build.exists():
        shutil.rmtree(build)
    released = script(repo, env, "--build-dir", str(build), "release")
    if released.returncode != 0:
        raise SystemExit(f"release failed:\n{released.stderr[-3000:]}")
    start = time.perf_counter()
    proc = script(repo, env, "--build-dir", str(build), "grade", "--submissions", str(submissions),
                  "--jobs", str(jobs), *(["--cold"] if cold else []))
    seconds = time.perf_counter() - start
    lines = re.findall(r"^  \S+/(ps\d): (\w+) \S+ in [\d.]+ s", proc.stdout, re.M)
    table = re.findall(r"^\S+\s+ps\d\s+\S+\s+\w+\s+[\d.]+\s+([\d.]+)$", proc.stdout, re.M)
    cpu = sum(float(c) for c in table)
    statuses = [s for _, s in lines]
    if proc.returncode != 0 or statuses.count("graded") != len(statuses):
        raise SystemExit(f"grading failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n"
                         f"{proc.stderr[-3000:]}")
    return {"seconds": seconds, "submissions": len(statuses), "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=12, help="students in the class (4 submissions each)")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                        help="the parallel run's --jobs (default: the cores)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        repo = copy_repo(tmp / "repo")
        env = {k: v for k, v in os.environ.items() if k not in ("COURSE_BUILD_DIR", "PYTHONPATH")}
        env.update(TF_CPP_MIN_LOG_LEVEL="2", HOME=str(tmp / "home"), TMPDIR=str(tmp / "tmp"))
        (tmp / "home").mkdir()
        (tmp / "tmp").mkdir()
        first = script(repo, env, "--build-dir", str(tmp / "release"), "release")
        if first.returncode != 0:
            raise SystemExit(f"release failed:\n{first.stderr[-3000:]}")
        release = {ps: json.loads((tmp / "release" / "release" / ps / f"{ps}.ipynb").read_text())
                   for ps in ASSIGNMENTS}
        sources = repo / "notebooks" / "assignments" / "source"
        source = {ps: json.loads((sources / ps / f"{ps}.ipynb").read_text()) for ps in ASSIGNMENTS}
        submissions = tmp / "submissions"
        for (student, ps), nb in class_of(release, source, args.students, seed=0).items():
            save_notebook(nb, submissions / student / ps / f"{ps}.ipynb")
        plan = {"cold, 1 at a time": (1, True), "warm, 1 at a time": (1, False),
                f"warm, {args.jobs} at a time": (args.jobs, False)}
        runs = {}
        for label, (jobs, cold) in plan.items():
            load = os.getloadavg()[0]
            runs[label] = grade(repo, env, tmp / f"build-{len(runs)}", submissions, jobs, cold)
            runs[label]["load"] = (load, os.getloadavg()[0])
    n = next(iter(runs.values()))["submissions"]
    print(f"grading {n} submissions ({args.students} students x ps1-ps4, half honest, half partial) "
          f"on {len(os.sched_getaffinity(0))} cores")
    labels = list(runs)
    print(f"{'':<24}" + "".join(f"{label:>22}" for label in labels))
    per = {k: r["seconds"] / r["submissions"] for k, r in runs.items()}
    print(f"{'wall s / submission':<24}" + "".join(f"{per[k]:>22.2f}" for k in labels))
    print(f"{'speed-up over cold':<24}" + "".join(f"{per[labels[0]] / per[k]:>21.2f}x" for k in labels))
    cpu = {k: r["cpu"] / r["submissions"] for k, r in runs.items()}
    print(f"{'cpu s / submission':<24}" + "".join(f"{cpu[k]:>22.2f}" for k in labels))
    whole = {k: per[k] * CLASS_SIZE * len(ASSIGNMENTS) / 60 for k in labels}
    print(f"{'200 x 4, minutes':<24}" + "".join(f"{whole[k]:>22.1f}" for k in labels))
    print(f"{'load before/after':<24}" + "".join(f"{f'{a:.1f}/{b:.1f}':>22}" for a, b in
                                                  (runs[k]["load"] for k in labels)))
    print("(200 x 4: seconds per submission x 800)")


if __name__ == "__main__":
    main()
