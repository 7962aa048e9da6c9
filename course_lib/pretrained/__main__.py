"""``python -m course_lib.pretrained fetch|status [names] [--all]`` (``make weights``)."""

import sys

from .cli import main

sys.exit(main())
