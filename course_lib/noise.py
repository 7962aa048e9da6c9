"""What kernels print that is not the course: TensorFlow/absl log lines, Python warnings, colour codes.

Written once and read by the notebook runner (``course_lib.notebooks`` strips TensorFlow's start-up lines from
stored outputs and from its table) and by grading (``course_lib.grading.markers`` builds nbgrader's
``IgnorePattern`` from them, so such lines cost a student nothing). Standard library only.
"""

from __future__ import annotations

import re

__all__ = [
    "TF_LOG_LINES",
    "PYTHON_WARNING_LINE",
    "TF_LOG_LINE",
    "ANSI",
    "strip_ansi",
    "strip_tensorflow_noise",
]

# Lines TensorFlow and absl write to stderr on their own. Each alternative matches at the start of one line.
# Examples (from TF 2.21 unless noted):
#   WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
#   I0000 00:00:1796031671.242263    6125 port.cc:153] oneDNN custom operations are on. ...
#   E0000 00:00:1796031674.864491    6125 cuda_platform.cc:52] failed call to cuInit: ...
#   This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
#   To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the ...
#   2024-01-01 12:00:00.000000: W tensorflow/core/...  (the format of TF 2.15 and older)
#   WARNING:tensorflow:...  /  WARNING:absl:...        (Python logging)
TF_LOG_LINES = (
    r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\]",
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] ",
    r"WARNING: All log messages before absl::InitializeLog\(\) is called",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags",
    r"WARNING:(tensorflow|absl):",
)
# A Python warning's first line, e.g. "/path/keras/src/layers/core/dense.py:107: UserWarning: Do not ...".
# Grading ignores it; the notebook runner keeps it, because a warning in a stored notebook is worth reading.
PYTHON_WARNING_LINE = r"\S.*:\d+: \w*Warning: "

TF_LOG_LINE = re.compile("|".join(f"(?:{line})" for line in TF_LOG_LINES))

# ANSI terminal codes (IPython colours its tracebacks); a log, a table or a feedback page must not carry them.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes."""
    return ANSI.sub("", text)


def strip_tensorflow_noise(text: str) -> str:
    """Drop the lines of ``text`` that are TensorFlow/absl log lines (see ``TF_LOG_LINES``); keep the rest."""
    return "".join(line for line in text.splitlines(keepends=True) if not TF_LOG_LINE.match(line))
