#!/usr/bin/env python
"""Release and grade the course's nbgrader assignments: ``make assignments``, ``make grade``.

A thin wrapper around ``course_lib.grading`` (see ``course_lib/grading/cli.py`` for the commands):

    python scripts/assignments.py release [--only ps1 ps2]
    python scripts/assignments.py grade --submissions PATH [--only ps1] [--cell-timeout S] ...
    python scripts/assignments.py check [--only ps1]
    python scripts/assignments.py export-source DIR [--only ps1] [--force]

It imports course_lib from this checkout and writes no bytecode, so grading writes nothing outside build/.
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True  # before any import of course_lib: not even __pycache__ outside build/
REPO_ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[0] != REPO_ROOT:
    sys.path.insert(0, REPO_ROOT)  # this checkout's course_lib, ahead of any installed one

from course_lib.grading.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
