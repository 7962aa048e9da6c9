"""nbgrader configuration for the course's graded assignments (nbgrader 0.9.x): the release only.

Used by ``scripts/assignments.py`` (``make assignments``; ``make grade`` and ``check`` release stale
assignments first) and by any ``nbgrader`` command run from the repository root. It only sets where nbgrader
reads and writes under ``build/`` (the folders are described in ``course_lib/grading/layout.py``).
``generate_assignment`` runs with nbgrader's own preprocessors: ``ClearSolutions`` replaces each
``### BEGIN SOLUTION`` region by a ``raise NotImplementedError()`` stub, ``ClearHiddenTests`` removes the
hidden-test regions, and ``SaveCells`` records the source's cells in the gradebook.

Grading does not use nbgrader: ``course_lib.grading`` runs each submission in its own sandbox and writes the
scores and feedback pages itself, so ``Autograde`` and ``GenerateFeedback`` are not configured here. Do not
run ``nbgrader autograde`` or ``nbgrader generate_feedback`` on students' work: they would run it unconfined,
and nbgrader's feedback shows the hidden tests (nbgrader issues #917, #1363).
"""

from course_lib.grading import layout

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)

# Read now, not at import: the grader sets $COURSE_BUILD_DIR before it loads this file.
BUILD = layout.BuildLayout(layout.build_dir())
c.CourseDirectory.course_id = layout.COURSE_ID
c.CourseDirectory.root = str(BUILD.build)
for _name, _folder in layout.NBGRADER_DIRECTORIES.items():
    setattr(c.CourseDirectory, _name, _folder)
c.CourseDirectory.db_url = BUILD.db_url
c.CourseDirectory.ignore = list(layout.NBGRADER_IGNORE)
