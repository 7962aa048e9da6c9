#!/usr/bin/env python
"""Release and grade the course's nbgrader assignments (``make assignments``, ``make grade``).

    python scripts/assignments.py release [--only ps1 ps2]
    python scripts/assignments.py grade --submissions PATH [--only ps1] [--cell-timeout S]
                                        [--submission-timeout S] [--total-timeout S]
    python scripts/assignments.py check [--only ps1]     (the instructor versions must score full marks)

Sources are ``notebooks/assignments/source/<ps>/<ps>.ipynb`` (every folder there is an assignment). All output
goes under the build directory (``build/``, or ``$COURSE_BUILD_DIR``, or ``--build-dir``); see
``nbgrader_config.py`` for the layout. ``release`` writes the student versions to ``build/release/<ps>/``.

``grade`` reads submissions laid out as ``PATH/<student_id>/<ps>/<ps>.ipynb`` (nbgrader's own layout; other
files in that folder come along) or flat, ``PATH/<student_id>/<ps>.ipynb``. It copies each one into nbgrader's
``submitted`` folder (the originals are only read), autogrades one submission at a time in a child process
that is killed with its kernel if it overruns, writes one feedback page per student and assignment to
``build/feedback/<student>/<ps>/<ps>.html`` (hidden tests stripped), and writes ``build/grades.csv``
(student, assignment, score, max_score, status) and ``build/grades_by_question.csv``. Exit status: 0 when
every submission was graded (a submission whose cells hit the cell timeout is graded: those cells score zero),
1 when some could not be, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True  # grading writes nothing outside the build directory, not even __pycache__
REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SOURCE_ROOT = REPO_ROOT / "notebooks" / "assignments" / "source"
CONFIG_FILE = REPO_ROOT / "nbgrader_config.py"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")


# ------------------------------------------------------------------------------------------------ environment

def discover_assignments() -> list[str]:
    """Names of the assignments: the folders under notebooks/assignments/source holding <name>.ipynb."""
    if not SOURCE_ROOT.is_dir():
        return []
    return sorted(p.name for p in SOURCE_ROOT.iterdir() if (p / f"{p.name}.ipynb").is_file())


def prepare_environment(build_dir: Path) -> dict[str, Path]:
    """Point every tool that likes to write into $HOME (Jupyter, IPython, Keras, Matplotlib) into build/.

    Sets os.environ, which the nbgrader child processes and their kernels inherit. Returns the main paths.
    """
    build_dir = build_dir.resolve()
    work = build_dir / "nbgrader"
    env = {
        "COURSE_BUILD_DIR": build_dir,
        "JUPYTER_RUNTIME_DIR": work / "runtime",
        # an empty user data dir: the kernel is this environment's python3, not one a user installed elsewhere
        "JUPYTER_DATA_DIR": work / "jupyter-data",
        # no personal Jupyter config either: nbgrader_config.py alone decides (Jupyter drops a marker here)
        "JUPYTER_CONFIG_DIR": work / "jupyter-config",
        "IPYTHONDIR": work / "ipython",
        "KERAS_HOME": work / "keras",
        "MPLCONFIGDIR": work / "matplotlib",
    }
    for key, path in env.items():
        path.mkdir(parents=True, exist_ok=True)
        os.environ[key] = str(path)
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    # No __pycache__ next to course_lib. (Not PYTHONPYCACHEPREFIX: it would also move the installed packages'
    # bytecode, and recompiling TensorFlow costs each grader some 15 s.)
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # A broken nbgrader_config.py must stop grading, not fall back silently to nbgrader's defaults (which
    # would, among other things, show hidden tests in the feedback).
    os.environ["TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("COURSE_MODE", "quick")  # grading never trains for real: same result everywhere
    os.environ.setdefault("MPLBACKEND", "Agg")
    # The kernel's "python" and nbgrader's "alembic" are looked up on PATH: use this environment's.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    # Kernels import course_lib from this checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {"build": build_dir, "work": work}


def nbgrader_api():
    """An in-process nbgrader API configured by nbgrader_config.py (for steps that run no student code)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(REPO_ROOT)).load_config()
    return NbGraderAPI(config=config)


def _show(path: Path) -> str:
    """A path relative to the working directory when it is below it, else absolute."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _descendants(pid: int) -> list[int]:
    """Process ids below pid (the nbgrader child's kernel runs in its own session, so killpg misses it)."""
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        pass
    except Exception:  # the process already ended
        return []
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(proc: subprocess.Popen) -> None:
    for pid in reversed(_descendants(proc.pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # includes the kernels, reaped by nbgrader
    return usage.ru_utime + usage.ru_stime


def run_nbgrader(args: list[str], log_path: Path, timeout: float) -> tuple[str, float, float]:
    """Run ``python -m nbgrader ARGS`` from the repository root (so it finds nbgrader_config.py).

    Returns ("ok" | "error" | "timeout", wall seconds, CPU seconds). Output goes to log_path.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start, cpu = time.monotonic(), _child_cpu()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=REPO_ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            log.write(f"\n[assignments.py] killed after {timeout:.0f} s\n")
            return "timeout", time.monotonic() - start, _child_cpu() - cpu
    return ("ok" if rc == 0 else "error"), time.monotonic() - start, _child_cpu() - cpu


# ------------------------------------------------------------------------------------------------ release

def _released_record(work: Path) -> dict[str, str]:
    path = work / "released.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def notebook_points(path: Path) -> float:
    nb = json.loads(path.read_text())
    return sum(float(c.get("metadata", {}).get("nbgrader", {}).get("points", 0) or 0)
               for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade"))


def lint_source(path: Path) -> list[str]:
    """Problems in a source notebook that nbgrader itself lets through but that break grading later."""
    nb = json.loads(path.read_text())
    problems, previous = [], None
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        name = meta.get("grade_id", "?")
        if meta.get("grade") and not meta.get("solution"):
            if not meta.get("locked"):
                problems.append(f"test cell {name} is not read-only: students could edit it")
            # nbgrader 0.9 re-inserts a deleted test cell after the nbgrader cell that preceded it, looking
            # that cell up among answer and test cells only: anything else there fails with a KeyError.
            if previous is not None and not (previous.get("grade") or previous.get("solution")):
                problems.append(f"test cell {name} follows the read-only cell {previous.get('grade_id')}: "
                                "put it right after its answer cell or another test cell")
        if meta.get("solution") and cell["cell_type"] == "code" and "BEGIN SOLUTION" not in text:
            problems.append(f"answer cell {name} has no ### BEGIN SOLUTION region: the release would show it")
        if cell.get("outputs"):
            problems.append(f"cell {name} has stored outputs: clear them before committing")
        previous = meta
    return problems


def release(assignments: list[str], paths: dict[str, Path], *, quiet: bool = False) -> bool:
    """Copy the sources into build/nbgrader/source and run nbgrader generate_assignment for each."""
    build, work = paths["build"], paths["work"]
    api = nbgrader_api()
    record = _released_record(work)
    ok = True
    rows = []
    for ps in assignments:
        start = time.monotonic()
        problems = lint_source(SOURCE_ROOT / ps / f"{ps}.ipynb")
        if problems:
            ok = False
            print(f"release of {ps} FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
            continue
        dest = work / "source" / ps
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(SOURCE_ROOT / ps, dest,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        result = api.generate_assignment(ps, force=True, create=True)
        released = build / "release" / ps / f"{ps}.ipynb"
        problem = None
        if not result.get("success"):
            problem = result.get("error", "") + result.get("log", "")
        elif not released.is_file():
            problem = f"nbgrader wrote no {released}"
        else:
            text = released.read_text()
            leaked = [m for m in HIDDEN_MARKERS + SOLUTION_MARKERS if m in text]
            if leaked:
                problem = f"the release still contains {leaked}: check the cell metadata of {ps}"
        if problem:
            ok = False
            print(f"release of {ps} FAILED:\n{problem}", file=sys.stderr)
            continue
        record[ps] = file_hash(SOURCE_ROOT / ps / f"{ps}.ipynb")
        rows.append((ps, notebook_points(released), time.monotonic() - start, released.parent))
    (work / "released.json").write_text(json.dumps(record, indent=1, sort_keys=True))
    if not quiet and rows:
        print(f"{'assignment':<12}{'points':>8}{'seconds':>9}  student version")
        for ps, points, seconds, folder in rows:
            print(f"{ps:<12}{points:>8g}{seconds:>9.1f}  {_show(folder)}")
    return ok


def ensure_released(assignments: list[str], paths: dict[str, Path]) -> bool:
    """Release the assignments whose source changed since the last release (or never released)."""
    record = _released_record(paths["work"])
    stale = [ps for ps in assignments
             if record.get(ps) != file_hash(SOURCE_ROOT / ps / f"{ps}.ipynb")
             or not (paths["build"] / "release" / ps / f"{ps}.ipynb").is_file()
             or not (paths["work"] / "gradebook.db").is_file()]
    if not stale:
        return True
    print(f"releasing first: {', '.join(stale)}")
    return release(stale, paths)


# ------------------------------------------------------------------------------------------------ grading

@dataclass
class Submission:
    student: str
    assignment: str
    source: Path            # folder (nbgrader layout) or single notebook (flat layout)
    status: str = "pending"
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    by_question: list[tuple[str, float, float]] = field(default_factory=list)
    note: str = ""


def find_submissions(root: Path, assignments: list[str]) -> tuple[list[Submission], list[str]]:
    """Submissions under root, as PATH/<student>/<ps>/<ps>.ipynb or PATH/<student>/<ps>.ipynb."""
    found, ignored = [], []
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = student_dir.name
        if not STUDENT_ID.match(student):
            ignored.append(f"{student_dir} (not a valid student id)")
            continue
        used = set()
        for ps in assignments:
            nested, flat = student_dir / ps / f"{ps}.ipynb", student_dir / f"{ps}.ipynb"
            if nested.is_file():
                found.append(Submission(student, ps, nested.parent))
                used.update({ps, f"{ps}.ipynb"})
            elif flat.is_file():
                found.append(Submission(student, ps, flat))
                used.add(f"{ps}.ipynb")
        for entry in sorted(student_dir.iterdir()):
            if entry.name not in used and not entry.name.startswith("."):
                ignored.append(f"{entry} (not a known assignment)")
    return found, ignored


def stage(sub: Submission, work: Path) -> None:
    """Copy a submission into nbgrader's submitted folder; the original is only read."""
    dest = work / "submitted" / sub.student / sub.assignment
    if dest.exists():
        shutil.rmtree(dest)
    if sub.source.is_dir():
        shutil.copytree(sub.source, dest, copy_function=shutil.copyfile,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    else:
        dest.mkdir(parents=True)
        shutil.copyfile(sub.source, dest / sub.source.name)
    for path in [dest, *dest.rglob("*")]:  # copies of read-only files must stay removable by nbgrader
        path.chmod(path.stat().st_mode | 0o200)


def read_scores(sub: Submission, work: Path) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        result = gb.find_submission(sub.assignment, sub.student)
        sub.score, sub.max_score = float(result.score), float(result.max_score)
        sub.by_question = [(g.name, float(g.score), float(g.max_score))
                           for nb in result.notebooks for g in nb.grades]


def max_points(assignment: str, work: Path) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        return float(gb.find_assignment(assignment).max_score)


def feedback_is_clean(folder: Path) -> str:
    """'' if no feedback page under folder shows hidden tests, else the offending file."""
    for page in folder.glob("*.html"):
        if any(marker in page.read_text(errors="replace") for marker in HIDDEN_MARKERS):
            return str(page)
    return ""


def grade(args: argparse.Namespace, paths: dict[str, Path]) -> int:
    build, work = paths["build"], paths["work"]
    root = Path(args.submissions).expanduser().resolve()
    if not root.is_dir():
        print(f"--submissions must be a folder, got {args.submissions!r}", file=sys.stderr)
        return 2
    try:
        root.relative_to(work / "submitted")
        print("--submissions must not be nbgrader's own submitted folder; point it at the originals",
              file=sys.stderr)
        return 2
    except ValueError:
        pass
    assignments = args.only or discover_assignments()
    subs, ignored = find_submissions(root, assignments)
    for entry in ignored:
        print(f"ignored: {entry}")
    if not subs:
        print(f"no submissions found under {root} (expected {root}/<student>/<ps>/<ps>.ipynb "
              f"or {root}/<student>/<ps>.ipynb for ps in {', '.join(assignments)})", file=sys.stderr)
        return 2
    if not ensure_released(sorted({s.assignment for s in subs}), paths):
        return 1
    api = nbgrader_api()
    deadline = time.monotonic() + args.total_timeout
    extra = [f"--Execute.timeout={args.cell_timeout}"] if args.cell_timeout else []
    print(f"grading {len(subs)} submission(s) from {root}, one at a time")
    for sub in subs:
        sub.max_score = max_points(sub.assignment, work)
        budget = min(args.submission_timeout, deadline - time.monotonic())
        if budget < 5:
            sub.status, sub.note = "skipped", "total time budget used up"
            print(f"  {sub.student}/{sub.assignment}: skipped (total time budget used up)")
            continue
        stage(sub, work)
        log = work / "logs" / f"autograde-{sub.student}-{sub.assignment}.log"
        runtime = work / "runtime" / f"{sub.student}-{sub.assignment}"  # this grader's kernel files only
        runtime.mkdir(parents=True, exist_ok=True)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
        outcome, sub.seconds, sub.cpu_seconds = run_nbgrader(
            ["autograde", sub.assignment, "--student", sub.student, "--force", *extra], log, budget)
        if outcome == "ok":
            read_scores(sub, work)
            result = api.generate_feedback(sub.assignment, sub.student, force=True)
            folder = build / "feedback" / sub.student / sub.assignment
            leak = feedback_is_clean(folder)
            if not result.get("success") or not folder.is_dir():
                sub.status, sub.note = "graded", "feedback failed: " + result.get("error", "")[-300:]
            elif leak:
                shutil.rmtree(folder)
                sub.status, sub.note = "graded", f"feedback withheld: hidden tests visible in {leak}"
            else:
                sub.status = "graded"
        else:
            sub.status = outcome
            sub.score = 0.0
            sub.note = (f"killed after {budget:.0f} s" if outcome == "timeout" else "nbgrader failed") + \
                f"; see {_show(log)}"
        print(f"  {sub.student}/{sub.assignment}: {sub.status} {sub.score:g}/{sub.max_score:g} "
              f"in {sub.seconds:.1f} s" + (f" ({sub.note})" if sub.note else ""))
    write_reports(subs, build)
    print_summary(subs, build)
    return 0 if all(s.status == "graded" for s in subs) else 1


def write_reports(subs: list[Submission], build: Path) -> None:
    with open(build / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "score", "max_score", "status"])
        for s in subs:
            writer.writerow([s.student, s.assignment, f"{s.score:g}", f"{s.max_score:g}", s.status])
    with open(build / "grades_by_question.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "cell", "score", "max_score"])
        for s in subs:
            for name, score, top in s.by_question:
                writer.writerow([s.student, s.assignment, name, f"{score:g}", f"{top:g}"])


def print_summary(subs: list[Submission], build: Path) -> None:
    print()
    print(f"{'student':<16}{'assignment':<12}{'score':>12}  {'status':<9}{'seconds':>8}{'cpu s':>8}")
    for s in subs:
        print(f"{s.student:<16}{s.assignment:<12}{f'{s.score:g}/{s.max_score:g}':>12}  {s.status:<9}"
              f"{s.seconds:>8.1f}{s.cpu_seconds:>8.1f}")
    total = sum(s.seconds for s in subs)
    print(f"{len(subs)} submission(s), {total:.1f} s of grading; grades in {_show(build / 'grades.csv')}, "
          f"feedback in {_show(build / 'feedback')}/<student>/<ps>/")


def check(args: argparse.Namespace, paths: dict[str, Path]) -> int:
    """Grade each instructor version as a student would submit it: every assignment must get full marks.

    Runs in its own build folder (build/check/), so the course's gradebook is left alone.
    """
    check_paths = prepare_environment(paths["build"] / "check")
    subs = check_paths["build"] / "submissions"
    if subs.exists():
        shutil.rmtree(subs)
    for ps in args.only or discover_assignments():
        shutil.copytree(SOURCE_ROOT / ps, subs / "instructor" / ps,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    grade_args = argparse.Namespace(submissions=str(subs), only=args.only, cell_timeout=None,
                                    submission_timeout=600.0, total_timeout=4 * 3600.0)
    code = grade(grade_args, check_paths)
    with open(check_paths["build"] / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    short = [r for r in rows if r["status"] != "graded" or float(r["score"]) != float(r["max_score"])]
    for r in short:
        page = check_paths["build"] / "feedback" / "instructor" / r["assignment"]
        print(f"CHECK FAILED: {r['assignment']}: the solution scores {r['score']}/{r['max_score']} "
              f"({r['status']}); see {_show(page)}", file=sys.stderr)
    if not short and code == 0:
        print(f"check passed: every solution scores full marks ({', '.join(r['assignment'] for r in rows)})")
    return 1 if short or code else 0


# -------------------------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir",
                        help="where everything is written (default: $COURSE_BUILD_DIR or build/)")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="write the student versions to build/release/<ps>/")
    rel.add_argument("--only", nargs="+", metavar="PS", help="release only these assignments")
    gr = sub.add_parser("grade", help="autograde submissions, write feedback and build/grades.csv")
    gr.add_argument("--submissions", required=True, metavar="PATH",
                    help="folder of PATH/<student>/<ps>/<ps>.ipynb (or PATH/<student>/<ps>.ipynb)")
    gr.add_argument("--only", nargs="+", metavar="PS", help="grade only these assignments")
    gr.add_argument("--cell-timeout", type=int, default=None,
                    help="seconds a cell may run before it is interrupted (default: nbgrader_config.py, 120)")
    gr.add_argument("--submission-timeout", type=float, default=600.0,
                    help="seconds one submission may take before its grader is killed (default 600)")
    gr.add_argument("--total-timeout", type=float, default=4 * 3600.0,
                    help="seconds for the whole run; later submissions are skipped (default 4 h)")
    chk = sub.add_parser("check", help="grade the instructor versions; every one must score full marks")
    chk.add_argument("--only", nargs="+", metavar="PS", help="check only these assignments")
    args = parser.parse_args(argv)

    from course_lib.config import BUILD_DIR

    paths = prepare_environment(Path(args.build_dir) if args.build_dir else BUILD_DIR)
    known = discover_assignments()
    unknown = [ps for ps in (args.only or []) if ps not in known]
    if unknown:
        print(f"--only: unknown assignment(s) {unknown}; known: {known}", file=sys.stderr)
        return 2
    if not known:
        print(f"no assignments under {SOURCE_ROOT}", file=sys.stderr)
        return 2
    start = time.monotonic()
    if args.command == "release":
        code = 0 if release(args.only or known, paths) else 1
    elif args.command == "check":
        code = check(args, paths)
    else:
        code = grade(args, paths)
    print(f"done in {time.monotonic() - start:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
