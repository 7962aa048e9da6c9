"""``python -m course_lib.grading ...``: the same commands as ``scripts/assignments.py`` (see ``cli``)."""

import sys

# Nothing outside build/, not even __pycache__ (the modules imported before this line have already been
# compiled; scripts/assignments.py sets this before importing anything, so prefer it).
sys.dont_write_bytecode = True

from .cli import main  # noqa: E402

sys.exit(main())
