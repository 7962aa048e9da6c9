"""``python -m course_lib.data fetch [names]`` (``make data``) and ``python -m course_lib.data status``."""

import sys

from .cli import main

sys.exit(main())
