"""Execute the course notebooks: the engine of ``make run`` and ``make bench``, and the authors' store tool.

Usage:
    python -m course_lib.notebooks                 # run every notebook in order into build/, print a table
    python -m course_lib.notebooks 07_lenet        # only the notebooks whose names contain "07_lenet"
    python -m course_lib.notebooks --store notebooks/07_lenet.ipynb
                                                   # execute in place, keeping outputs (what authors commit)

Executed copies go to ``build/notebooks/`` and an HTML page each to ``build/html/``; the sources in
``notebooks/`` are only rewritten with ``--store``. Exit status 1 when any notebook fails.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import config

NOTEBOOK_DIR = config.REPO_ROOT / "notebooks"

# Widget state makes notebooks unrenderable on GitHub and differs on every run; it is never stored.
_VOLATILE_METADATA = ("widgets",)

# TensorFlow's C++ runtime writes these straight to file descriptor 2 (TF_CPP_MIN_LOG_LEVEL does not silence
# the ones logged before absl is initialised); they say nothing about the lesson and differ on every machine.
_TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ \S+:\d+\]"
    r"|To enable the following instructions:.*rebuild TensorFlow"
    r"|This TensorFlow binary is optimized to use available CPU instructions)"
)


def strip_tensorflow_noise(text: str) -> str:
    """Drop the lines of ``text`` that are TensorFlow/absl start-up log lines; keep everything else."""
    return "".join(line for line in text.splitlines(keepends=True) if not _TF_NOISE.match(line))


@dataclass
class RunResult:
    """Outcome of one notebook: name, "ok" or "FAILED", seconds taken, and the error text if any."""

    name: str
    status: str
    seconds: float
    error: str = ""


def course_notebooks(selection: list[str] | None = None) -> list[Path]:
    """The teaching notebooks in order (assignments excluded), optionally filtered by name fragments.

    Raises:
        ValueError: a fragment in ``selection`` matches no notebook.
    """
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return paths
    chosen = []
    for fragment in selection:
        matches = [p for p in paths if fragment in p.name]
        if not matches:
            known = ", ".join(p.stem for p in paths)
            raise ValueError(f"no notebook matches {fragment!r}; known notebooks: {known}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _clean(nb) -> None:
    for key in _VOLATILE_METADATA:
        nb.metadata.pop(key, None)
    # Drafts converted from scripts carry no kernelspec; Jupyter and nbval need one to pick the kernel.
    nb.metadata.setdefault("kernelspec", dict(_KERNELSPEC))
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        kept = []
        for out in cell.get("outputs", []):
            # A widget view cannot be rendered without the state we just dropped; keep its text fallback.
            if "data" in out:
                out["data"].pop("application/vnd.jupyter.widget-view+json", None)
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                out["text"] = strip_tensorflow_noise(out["text"])
                if not out["text"].strip():
                    continue
            kept.append(out)
        if cell.cell_type == "code":
            cell.outputs = kept


def execute_notebook(path: Path, *, timeout: int = 900):
    """Execute one notebook with its folder as working directory; returns the executed NotebookNode.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    _clean(nb)
    return nb


def _write_html(nb, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def run(paths: list[Path], *, store: bool = False, build_dir: Path | None = None) -> list[RunResult]:
    """Execute ``paths`` in order; write executed copies and HTML to ``build_dir``, or in place with store."""
    import nbformat

    build_dir = Path(build_dir or config.BUILD_DIR)
    results = []
    for path in paths:
        start = time.perf_counter()
        try:
            nb = execute_notebook(path)
            status, error = "ok", ""
        except Exception as err:  # noqa: BLE001 - report every failure in the table, then exit non-zero
            nb, status, error = None, "FAILED", f"{type(err).__name__}: {err}"
        seconds = time.perf_counter() - start
        if nb is not None:
            if store:
                nbformat.write(nb, path)
            else:
                (build_dir / "notebooks").mkdir(parents=True, exist_ok=True)
                (build_dir / "html").mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, build_dir / "notebooks" / path.name)
                _write_html(nb, build_dir / "html" / (path.stem + ".html"))
        results.append(RunResult(path.stem, status, seconds, error))
        print(f"  {path.stem:<32} {status:<7} {seconds:7.1f} s", flush=True)
    return results


def format_table(results: list[RunResult]) -> str:
    """Plain-text table: notebook, status, seconds, and a total line."""
    lines = [f"{'notebook':<32} {'status':<7} {'seconds':>8}", "-" * 49]
    lines += [f"{r.name:<32} {r.status:<7} {r.seconds:8.1f}" for r in results]
    lines.append("-" * 49)
    failed = sum(r.status != "ok" for r in results)
    lines.append(f"{'total (' + str(len(results)) + ' notebooks, ' + str(failed) + ' failed)':<40} "
                 f"{sum(r.seconds for r in results):8.1f}")
    for r in results:
        if r.error:
            lines.append(f"\n{r.name} failed:\n{r.error[-3000:]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="name fragments or paths (default: all, in order)")
    parser.add_argument("--store", action="store_true", help="execute in place and keep the outputs")
    args = parser.parse_args(argv)
    selection = [Path(a).stem if a.endswith(".ipynb") else a for a in args.notebooks]
    paths = course_notebooks(selection)
    if not paths:
        print("no notebooks found in", NOTEBOOK_DIR)
        return 1
    print(f"Executing {len(paths)} notebook(s), COURSE_MODE={os.environ.get(config.MODE_ENV_VAR, 'auto')}")
    results = run(paths, store=args.store)
    print()
    print(format_table(results))
    if not args.store:
        print(f"\nExecuted notebooks: {config.BUILD_DIR / 'notebooks'}   HTML: {config.BUILD_DIR / 'html'}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
