"""``python -m course_lib env``: the environment the kit sets, for a shell or the Makefile (``config.main``).

Importing ``course_lib`` loads ``config`` (and ``validation``) only: this runs on the standard library alone.
"""

import sys

from .config import main

sys.exit(main())
