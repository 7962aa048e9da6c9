"""Release (nbgrader) and grade (sandboxed) the course's assignments (``make assignments``, ``make grade``).

    python scripts/assignments.py release [--only ps1 ps2]
    python scripts/assignments.py grade --submissions PATH [--only ps1] [--cell-timeout S]
                                        [--submission-timeout S] [--total-timeout S] [--jobs N] [--cold]
                                        [--unsafe-no-sandbox]
    python scripts/assignments.py check [--only ps1]     (the instructor versions must score full marks)
    python scripts/assignments.py export-source DIR [--only ps1] [--force]

Every command takes ``--build-dir DIR`` (default ``$COURSE_BUILD_DIR`` or ``build/``) and ``--source DIR``
(default ``$COURSE_ASSIGNMENTS_SOURCE`` or ``notebooks/assignments/source``): the folder holding
``<ps>/<ps>.ipynb``, with the solutions and hidden tests. ``export-source DIR`` copies the sources into a
private folder outside the repository; release and grade from it with ``--source DIR`` or the environment
variable.

``grade`` reads ``PATH/<student_id>/<ps>/<ps>.ipynb`` or ``PATH/<student_id>/<ps>.ipynb``, grades
``--jobs`` submissions at a time (default: one per core), each in its own bubblewrap sandbox (it refuses to
run without one unless given ``--unsafe-no-sandbox``; a second run on the same build folder is refused while
one holds it), writes
``build/feedback/<student>/<ps>/<ps>.html`` (hidden tests stripped), ``build/grades.csv`` and
``build/grades_by_question.csv``. Exit status: 0 when every expected (student, assignment) pair was graded (a
submission whose cells hit the cell timeout is graded: those cells score zero, and grades.csv names them), 1
when some could not be (missing, misnamed, duplicate, hidden, refused, error, timeout, skipped), 2 on a usage
error or when no sandbox is available.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import layout as _layout
from . import runner
from .sources import discover_assignments, export_source


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    # --build-dir and --source are accepted before or after the command; after it, SUPPRESS keeps a value
    # given before it from being overwritten by the sub-parser's default.
    def common(default):
        p = argparse.ArgumentParser(add_help=False)
        p.add_argument("--build-dir", default=default,
                       help="where everything is written (default: $COURSE_BUILD_DIR or build/)")
        p.add_argument("--source", default=default, metavar="DIR",
                       help="the assignment sources, DIR/<ps>/<ps>.ipynb (default: "
                            f"${_layout.SOURCE_ENV_VAR} or notebooks/assignments/source)")
        return p

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], parents=[common(None)])
    sub = parser.add_subparsers(dest="command", required=True)
    shared = [common(argparse.SUPPRESS)]
    rel = sub.add_parser("release", parents=shared, help="write the student versions to build/release/<ps>/")
    rel.add_argument("--only", nargs="+", metavar="PS", help="release only these assignments")
    gr = sub.add_parser("grade", parents=shared,
                        help="grade submissions, each in its own sandbox; feedback and build/grades.csv")
    gr.add_argument("--submissions", required=True, metavar="PATH",
                    help="folder of PATH/<student>/<ps>/<ps>.ipynb (or PATH/<student>/<ps>.ipynb)")
    gr.add_argument("--only", nargs="+", metavar="PS", help="grade only these assignments")
    gr.add_argument("--cell-timeout", type=int, default=None,
                    help="seconds a cell (or one call of a student's function) may run before it is "
                         "interrupted (default 120)")
    gr.add_argument("--submission-timeout", type=float, default=runner.DEFAULT_SUBMISSION_TIMEOUT,
                    help="seconds one submission may take before its grader is killed (default 600)")
    gr.add_argument("--total-timeout", type=float, default=runner.DEFAULT_TOTAL_TIMEOUT,
                    help="seconds for the whole run; later submissions are skipped (default 4 h)")
    gr.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                    help="submissions graded at once, each in its own sandbox (default: one per core, "
                         f"{runner.default_jobs()} here)")
    gr.add_argument("--cold", action="store_true",
                    help="start every sandbox afresh instead of forking it from a warm interpreter that "
                         "imported Keras once (slower; for comparison)")
    gr.add_argument("--unsafe-no-sandbox", action="store_true",
                    help="run student code WITHOUT the bubblewrap sandbox (as your user); marked UNSAFE")
    chk = sub.add_parser("check", parents=shared,
                         help="grade the instructor versions; every one must score full marks")
    chk.add_argument("--only", nargs="+", metavar="PS", help="check only these assignments")
    exp = sub.add_parser("export-source", parents=shared,
                         help="copy the sources (solutions, hidden tests) to a private folder")
    exp.add_argument("dest", metavar="DIR", help="the private folder (created if needed)")
    exp.add_argument("--only", nargs="+", metavar="PS", help="export only these assignments")
    exp.add_argument("--force", action="store_true", help="overwrite assignments already in DIR")
    return parser


def _export(args: argparse.Namespace, source: Path) -> int:
    try:
        names = export_source(args.dest, source=source, only=args.only, force=args.force)
    except ValueError as error:
        print(f"export-source: {error}", file=sys.stderr)
        return 2
    dest = Path(args.dest).expanduser().resolve()
    print(f"copied {', '.join(names)} from {source} to {dest}")
    print("Keep that folder private (e.g. `git init` there and push to a private repository), then release "
          f"and grade from it:\n    export {_layout.SOURCE_ENV_VAR}={dest}\n    make assignments")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command of the grading CLI.

    Args:
        argv: the arguments after the program name; None reads ``sys.argv``.

    Returns:
        The exit status (see the module docstring).
    """
    args = _parser().parse_args(argv)
    source = _layout.source_root(args.source)
    if not source.is_dir():
        print(f"--source / ${_layout.SOURCE_ENV_VAR} must be a folder of assignment sources, "
              f"got {str(source)!r}", file=sys.stderr)
        return 2
    known = discover_assignments(source)
    if not known:
        print(f"no assignments under {source} (expected {source}/<ps>/<ps>.ipynb)", file=sys.stderr)
        return 2
    unknown = [ps for ps in (args.only or []) if ps not in known]
    if unknown:
        print(f"--only: unknown assignment(s) {unknown}; known in {source}: {known}", file=sys.stderr)
        return 2
    if args.command == "export-source":
        return _export(args, source)
    if not _layout.CONFIG_FILE.is_file():
        print(f"{_layout.CONFIG_FILE} is missing: grading runs from a checkout of the course repository",
              file=sys.stderr)
        return 2

    layout = runner.prepare_environment(_layout.build_dir(args.build_dir))
    start = time.monotonic()
    if args.command == "release":
        code = 0 if runner.release(args.only or known, layout, source) else 1
    elif args.command == "check":
        code = runner.check(layout, source, only=args.only)
    else:
        code = runner.grade(layout, args.submissions, source, only=args.only, cell_timeout=args.cell_timeout,
                            submission_timeout=args.submission_timeout, total_timeout=args.total_timeout,
                            unsafe=args.unsafe_no_sandbox, jobs=args.jobs, warm=not args.cold)
    print(f"done in {time.monotonic() - start:.1f} s")
    return code
