"""Where grading reads and writes: the assignment sources, and the folders under the build directory.

The one place that decides:

* the **build directory**: ``--build-dir``, else ``$COURSE_BUILD_DIR``, else ``<repo>/build`` (the rule of
  ``course_lib.config.BUILD_DIR``, re-read at call time because the grader moves it for ``check`` after
  ``course_lib.config`` was imported);
* the **assignment sources** (solutions and hidden tests included): ``--source DIR``, else
  ``$COURSE_ASSIGNMENTS_SOURCE``, else ``<repo>/notebooks/assignments/source``. Instructors who keep their
  sources private point either of the first two at their private copy.

Layout under the build directory (``nbgrader_config.py`` hands the nbgrader part to nbgrader)::

    build/nbgrader/source/<ps>/                copies of the sources (solutions included: never share build/)
    build/nbgrader/gradebook.db                the SQLite gradebook
    build/nbgrader/submitted/<student>/<ps>/   copies of the submissions (the originals are never touched)
    build/nbgrader/autograded/<student>/<ps>/  executed, graded submissions
    build/nbgrader/logs/                       one log per graded submission
    build/nbgrader/tmp/                        the grader's temporary files (TMPDIR)
    build/nbgrader/runtime/<student>-<ps>/     one grader's kernel connection file and temporary files
    build/release/<ps>/                        student versions: solutions and hidden tests removed
    build/feedback/<student>/<ps>/             one HTML feedback page per notebook, hidden tests stripped
    build/grades.csv, build/grades_by_question.csv
    build/check/                               the same layout again, for ``check`` (the course's gradebook
                                               is left alone)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import config

REPO_ROOT = config.REPO_ROOT
CONFIG_FILE = REPO_ROOT / "nbgrader_config.py"
PUBLIC_SOURCE = REPO_ROOT / "notebooks" / "assignments" / "source"
SOURCE_ENV_VAR = "COURSE_ASSIGNMENTS_SOURCE"
BUILD_ENV_VAR = "COURSE_BUILD_DIR"
COURSE_ID = "cnn-course"

# nbgrader's CourseDirectory folders, relative to the build directory. nbgrader's working folders go under
# build/nbgrader/; the two things people open (the release for students and the feedback pages) sit directly
# under build/.
NBGRADER_DIRECTORIES = {
    "source_directory": "nbgrader/source",
    "submitted_directory": "nbgrader/submitted",
    "autograded_directory": "nbgrader/autograded",
    "solution_directory": "nbgrader/solution",
    "source_with_tests_directory": "nbgrader/source_with_tests",
    "release_directory": "release",
    "feedback_directory": "feedback",
}
GRADEBOOK = "nbgrader/gradebook.db"
# Files and folders nbgrader leaves out when it copies an assignment.
NBGRADER_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
COPY_IGNORE = (".ipynb_checkpoints", "__pycache__")


def build_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The build directory, as an absolute path.

    Args:
        explicit: a folder given on the command line; None reads ``$COURSE_BUILD_DIR`` (now, not at import).

    Returns:
        ``explicit``, else ``$COURSE_BUILD_DIR``, else ``<repo>/build``, resolved.
    """
    chosen = explicit if explicit is not None else os.environ.get(BUILD_ENV_VAR) or REPO_ROOT / "build"
    return Path(chosen).expanduser().resolve()


def source_root(explicit: str | os.PathLike | None = None) -> Path:
    """The folder holding the assignment sources, ``<root>/<ps>/<ps>.ipynb``, as an absolute path.

    Args:
        explicit: a folder given with ``--source``; None reads ``$COURSE_ASSIGNMENTS_SOURCE``.

    Returns:
        ``explicit``, else ``$COURSE_ASSIGNMENTS_SOURCE`` (when set and not empty), else the public
        ``notebooks/assignments/source``, resolved. Whether it exists is the caller's question.
    """
    chosen = explicit if explicit is not None else os.environ.get(SOURCE_ENV_VAR) or PUBLIC_SOURCE
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class BuildLayout:
    """The paths grading uses under one build directory (see the module docstring for the tree)."""

    build: Path

    @property
    def work(self) -> Path:
        """nbgrader's own working folder, ``build/nbgrader``."""
        return self.build / "nbgrader"

    @property
    def gradebook(self) -> Path:
        return self.build / GRADEBOOK

    @property
    def db_url(self) -> str:
        return "sqlite:///" + str(self.gradebook)

    @property
    def released_record(self) -> Path:
        """JSON map assignment -> hash of the source folder last released (so grade knows what is stale)."""
        return self.work / "released.json"

    @property
    def grades_csv(self) -> Path:
        return self.build / "grades.csv"

    @property
    def by_question_csv(self) -> Path:
        return self.build / "grades_by_question.csv"

    @property
    def feedback_root(self) -> Path:
        return self.build / NBGRADER_DIRECTORIES["feedback_directory"]

    def nbgrader_dir(self, key: str) -> Path:
        """One of nbgrader's CourseDirectory folders, e.g. ``nbgrader_dir("submitted_directory")``."""
        return self.build / NBGRADER_DIRECTORIES[key]

    def source_copy(self, assignment: str) -> Path:
        return self.nbgrader_dir("source_directory") / assignment

    def released_notebook(self, assignment: str) -> Path:
        return self.nbgrader_dir("release_directory") / assignment / f"{assignment}.ipynb"

    def submitted(self, student: str, assignment: str) -> Path:
        return self.nbgrader_dir("submitted_directory") / student / assignment

    def autograded(self, student: str, assignment: str) -> Path:
        return self.nbgrader_dir("autograded_directory") / student / assignment

    def feedback(self, student: str, assignment: str) -> Path:
        return self.feedback_root / student / assignment

    def log(self, student: str, assignment: str) -> Path:
        return self.work / "logs" / f"autograde-{student}-{assignment}.log"

    def kernel_runtime(self, student: str, assignment: str) -> Path:
        """One grader's own runtime and temporary folder: its kernel's connection file and temporary files.

        The kernel's command line names its connection file, so a process whose command line contains this
        path belongs to this grader (the tests look for survivors that way).
        """
        return self.work / "runtime" / f"{student}-{assignment}"

    def check(self) -> BuildLayout:
        """The layout ``check`` uses, inside this one."""
        return BuildLayout(self.build / "check")
