"""The strings grading looks for, written once: nbgrader's region markers, TF log noise, student ids.

Everything here is a plain constant (standard library only), so the nbgrader configuration, the release
checks, the feedback filter and the tests all read the same definitions.
"""

from __future__ import annotations

import re

from .. import noise

# nbgrader's region markers (nbgrader 0.9 matches them as substrings of a line, after any comment sign).
SOLUTION_BEGIN = "BEGIN SOLUTION"
SOLUTION_END = "END SOLUTION"
HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
SOLUTION_MARKERS = (SOLUTION_BEGIN, SOLUTION_END)
HIDDEN_MARKERS = (HIDDEN_BEGIN, HIDDEN_END)

# What students see in place of hidden tests (in the feedback pages) and of answer cells they deleted.
HIDDEN_PLACEHOLDER = "# (hidden tests ran here; their code is not shown)"
HIDDEN_TRACEBACK_LINE = "(a line of the hidden tests is not shown)"
RESTORED_ANSWER_STUB = (
    "# This answer cell was missing from the submission; it was put back empty when grading.\n"
    "raise NotImplementedError()"
)
STDERR_PREFIX = "[stderr] "

# The error nbgrader's Execute puts into a cell it interrupted at the per-cell timeout (its
# ``error_on_timeout``). nbgrader_config.py sets it from these two names, and grading finds the cells cut by
# the timeout by looking for this ename in the autograded notebook.
CELL_TIMEOUT_ENAME = "CellTimeoutError"
CELL_TIMEOUT_MESSAGE = "the cell ran past the per-cell time limit and was interrupted"

# Student ids are folder names: letters, digits and _ . @ + - (no spaces, no leading dot or dash).
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")

# Lines that TensorFlow, absl and Python's warnings machinery write to stderr and that say nothing about
# whether an answer is right (the forms and examples are in course_lib.noise).
TF_NOISE_LINES = (*noise.TF_LOG_LINES, noise.PYTHON_WARNING_LINE)
# For nbgrader's IgnorePattern, which applies re.search to a whole stderr output (several lines): "(?m)" makes
# each "^" a line start, so one noise line anywhere in the output drops that output.
TF_NOISE = "(?m)" + "|".join(f"^(?:{line})" for line in TF_NOISE_LINES)
# For filtering line by line (match at the start of one line).
TF_NOISE_LINE = re.compile("|".join(f"(?:{line})" for line in TF_NOISE_LINES))

# ANSI colour codes, which IPython puts into tracebacks.
ANSI = noise.ANSI


def is_tf_noise(line: str) -> bool:
    """True when one stderr line is TensorFlow/absl/Python-warning noise, not something a student wrote.

    Args:
        line: one line of text, with or without its line ending.

    Returns:
        Whether the line starts like one of the ``TF_NOISE_LINES`` forms.
    """
    return TF_NOISE_LINE.match(line) is not None
