"""Whole-course timing: each notebook executed once, in order, with its share of the suite and of its budget.

Run: `make bench` or `.venv/bin/python benchmarks/bench_notebooks.py [name fragments]`.
Quick mode's budget is 90 s per notebook on two CPU cores; the "budget" column prints seconds / 90 so that
a notebook drifting towards its limit shows up before CI does. Nothing here asserts a time.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("COURSE_MODE", "quick")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course_lib import config, notebooks  # noqa: E402

BUDGET_SECONDS = 90.0


def main(argv):
    paths = notebooks.course_notebooks(argv or None)
    with tempfile.TemporaryDirectory(dir=config.BUILD_DIR if config.BUILD_DIR.exists() else None) as tmp:
        print(notebooks.table_header())
        results = notebooks.run(paths, build_dir=Path(tmp),
                                report=lambda r: print(notebooks.format_row(r), flush=True))
    total = sum(r.seconds for r in results) or 1.0
    print(f"\nmode={config.get_mode()}  notebooks={len(results)}  total={total:.1f} s")
    print(f"{'notebook':<30} {'status':<7} {'seconds':>8} {'share':>7} {'budget':>7}")
    for r in results:
        budget = r.seconds / BUDGET_SECONDS
        print(f"{r.name:<30} {r.status:<7} {r.seconds:8.1f} {r.seconds / total:7.1%} {budget:7.2f}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
