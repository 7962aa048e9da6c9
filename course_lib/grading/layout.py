"""Where grading reads and writes: the assignment sources, and the folders under the build directory.

The one place that decides:

* the **build directory**: ``--build-dir``, else ``$COURSE_BUILD_DIR``, else ``<repo>/build`` (the rule of
  ``course_lib.config.BUILD_DIR``, re-read at call time because the grader moves it for ``check`` after
  ``course_lib.config`` was imported);
* the **assignment sources** (solutions and hidden tests included): ``--source DIR``, else
  ``$COURSE_ASSIGNMENTS_SOURCE``, else ``<repo>/notebooks/assignments/source``. Instructors who keep their
  sources private point either of the first two at their private copy.

Layout under the build directory (``nbgrader_config.py`` hands nbgrader its folders for the release)::

    build/nbgrader/source/<ps>/                copies of the sources (solutions included: never share build/)
    build/nbgrader/gradebook.db                the SQLite gradebook nbgrader writes at release
    build/nbgrader/released.json               the hash of each source as last released (``released_record``)
    build/nbgrader/submitted/<student>/<ps>/   copies of the submissions (the originals are never touched)
    build/nbgrader/sandbox-lib/course_lib/     the run's copy of course_lib, mounted read-only in each sandbox
    build/nbgrader/sandboxes/<student>-<ps>/   one submission's job file (job/job.json) and sandbox.log; its
                                               home/ (the sandbox's working folder) is deleted after grading
    build/nbgrader/tmp/, runtime/, ipython/, keras/, matplotlib/, cache/, jupyter-*/
                                               the grader's own temporary files and tool settings
    build/release/<ps>/                        student versions: solutions and hidden tests removed
    build/feedback/<student>/<ps>/<ps>.html    one HTML feedback page per graded submission
    build/nbgrader/grading.lock                held by the grading run using this build (``lock``)
    build/grades.csv, build/grades_by_question.csv
    build/check/                               the same layout again, for ``check`` (the course's gradebook
                                               and grades are left alone)
"""

from __future__ import annotations

import errno
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

# nbgrader's CourseDirectory folders, relative to the build directory (release reads source/ and writes
# release/; the grader uses the same names for its copies of the submissions and its feedback pages). The
# working folders go under build/nbgrader/; the two things people open (the release for students and the
# feedback pages) sit directly under build/.
NBGRADER_DIRECTORIES = {
    "source_directory": "nbgrader/source",
    "submitted_directory": "nbgrader/submitted",
    "release_directory": "release",
    "feedback_directory": "feedback",
}
GRADEBOOK = "nbgrader/gradebook.db"
# Files and folders nbgrader leaves out when it copies an assignment.
NBGRADER_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
COPY_IGNORE = (".ipynb_checkpoints", "__pycache__")

# What a full disk looks like to a writer, and what to tell the instructor about it.
_FULL_DISK = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
}


class BuildWriteError(RuntimeError):
    """The grader could not write a file of the build directory (a full disk, a quota, a read-only folder).

    The message names the file and says what to do; the run stops with it instead of a traceback.

    Attributes:
        path: the file (or folder) that could not be written.
        errno: the ``errno`` of the failure, or None.
    """

    def __init__(self, message: str, path: Path, errno_: int | None = None):
        super().__init__(message)
        self.path, self.errno = Path(path), errno_


def write_error(path: str | os.PathLike, exc: OSError, *, shown: str | None = None, what: str = "write",
                cls: type[BuildWriteError] = BuildWriteError) -> BuildWriteError:
    """A ``BuildWriteError`` (or the subclass ``cls``) that says in words why ``path`` could not be written.

    Args:
        path: the file the grader was writing.
        exc: the error the write raised.
        shown: how the message names the file (e.g. relative to the working directory); None: ``path``.
        what: what the grader was doing, before the file's name ("write", "copy a submission into", ...).
        cls: ``BuildWriteError`` or a subclass of it.

    Returns:
        The exception, to be raised ``from exc``: "could not write build/grades.csv: no space left on device;
        free some space there, or grade into another --build-dir".
    """
    why = _FULL_DISK.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__
    hint = "; free some space there, or grade into another --build-dir" if exc.errno in _FULL_DISK else ""
    return cls(f"could not {what} {shown or path}: {why}{hint}", Path(path), exc.errno)


def build_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The build directory, as an absolute path.

    Args:
        explicit: a folder given on the command line; None reads ``$COURSE_BUILD_DIR`` (now, not at import).

    Returns:
        ``explicit``, else ``config.course_dir("build")`` (``$COURSE_BUILD_DIR``, else ``<repo>/build``),
        resolved.
    """
    chosen = explicit if explicit is not None else config.course_dir("build")
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
        """The working folder of nbgrader and of the grader, ``build/nbgrader``."""
        return self.build / "nbgrader"

    @property
    def gradebook(self) -> Path:
        return self.build / GRADEBOOK

    @property
    def db_url(self) -> str:
        return "sqlite:///" + str(self.gradebook)

    @property
    def lock_file(self) -> Path:
        """The file a grading run holds locked while it uses this build directory (see ``lock``)."""
        return self.work / "grading.lock"

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

    def feedback(self, student: str, assignment: str) -> Path:
        return self.feedback_root / student / assignment

    def check(self) -> BuildLayout:
        """The layout ``check`` uses, inside this one."""
        return BuildLayout(self.build / "check")
