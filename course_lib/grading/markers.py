"""The strings grading looks for, written once: nbgrader's region markers, the hidden-test placeholder, ids.

Everything here is a plain constant (standard library only), so the nbgrader configuration, the release
checks, the grader, the feedback pages and the tests all read the same definitions.
"""

from __future__ import annotations

import re

# nbgrader's region markers (nbgrader 0.9 matches them as substrings of a line, after any comment sign).
SOLUTION_BEGIN = "BEGIN SOLUTION"
SOLUTION_END = "END SOLUTION"
HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
SOLUTION_MARKERS = (SOLUTION_BEGIN, SOLUTION_END)
HIDDEN_MARKERS = (HIDDEN_BEGIN, HIDDEN_END)

# What students see in the feedback pages in place of a test cell's hidden region (``trusted.strip_hidden``).
HIDDEN_PLACEHOLDER = "# (hidden tests ran here; their code is not shown)"

# Student ids are folder names: letters, digits and _ . @ + - (no spaces, no leading dot or dash).
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
