"""Execute the course notebooks: the engine of ``make run`` and ``make bench``, and the authors' store tool.

Usage:
    python -m course_lib.notebooks                 # run every notebook in order into build/, print a table
    python -m course_lib.notebooks 07_lenet        # only the notebooks whose names contain "07_lenet"
    python -m course_lib.notebooks --store notebooks/07_lenet.ipynb
                                                   # execute in place, keeping outputs (what authors commit)

Executed copies go to ``build/notebooks/`` and an HTML page each to ``build/html/`` (a failed notebook too,
up to the failing cell); the sources in ``notebooks/`` are only rewritten with ``--store``. What the kernels
print outside the notebook (TensorFlow's start-up lines, Jupyter's warnings) goes to
``build/logs/<notebook>.log``, so the terminal shows only the table and, for a failure, the full error.
Exit status 1 when any notebook fails.
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
TF_LOG_LINE = re.compile("|".join(f"(?:{line})" for line in TF_LOG_LINES))

# ANSI terminal codes (IPython colours its tracebacks); a log, a table or a feedback page must not carry them.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes."""
    return ANSI.sub("", text)


def strip_tensorflow_noise(text: str) -> str:
    """Drop the lines of ``text`` that are TensorFlow/absl log lines (see ``TF_LOG_LINES``); keep the rest."""
    return "".join(line for line in text.splitlines(keepends=True) if not TF_LOG_LINE.match(line))


@dataclass
class RunResult:
    """Outcome of one notebook.

    Attributes:
        name: the notebook's stem; status: "ok" or "FAILED"; seconds: wall time.
        error: the full error text (no colour codes), "" when it ran.
        html: where its HTML page went ("" when none was written); log: the kernel's own output.
    """

    name: str
    status: str
    seconds: float
    error: str = ""
    html: str = ""
    log: str = ""


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


class NotebookFailed(Exception):
    """A notebook stopped with an error; ``nb`` holds it executed up to the failing cell."""

    def __init__(self, message: str, nb):
        super().__init__(message)
        self.nb = nb


def execute_notebook(path: Path, *, timeout: int = 900, kernel_log: Path | None = None):
    """Execute one notebook with its folder as working directory; returns the executed NotebookNode.

    Args:
        path: the .ipynb file (read, never written here).
        timeout: seconds allowed per cell.
        kernel_log: file that receives the kernel process's own stdout and stderr (TensorFlow's C++ log lines
            go there, not into the notebook); None leaves them on this process's terminal.

    Raises:
        NotebookFailed: a cell raised, timed out, or the kernel died; the message is the full error without
            colour codes, followed by the end of the kernel log when the kernel itself died.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # stored and exported notebooks hold static figures, not widget views (see course_lib.widgets)
    os.environ.setdefault("COURSE_STATIC_FIGURES", "1")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    log = None
    try:
        if kernel_log is not None:
            kernel_log.parent.mkdir(parents=True, exist_ok=True)
            log = open(kernel_log, "wb")  # noqa: SIM115 - closed in finally, after the kernel has stopped
            # passed through nbclient and jupyter_client to the kernel's Popen
            client.execute(stdout=log, stderr=log)
        else:
            client.execute()
    except Exception as err:  # noqa: BLE001 - CellExecutionError, timeouts, DeadKernelError alike
        message = strip_ansi(str(err)).strip() or type(err).__name__
        if type(err).__name__ != "CellExecutionError":
            message = f"{type(err).__name__}: {message}"
            if log is not None:
                log.flush()
                tail = strip_tensorflow_noise(kernel_log.read_text(errors="replace")).strip()
                if tail:
                    message += "\n\nkernel output (" + str(kernel_log) + "):\n" + tail[-4000:]
        _clean(nb)
        raise NotebookFailed(message, nb) from err
    finally:
        if log is not None:
            log.close()
    _clean(nb)
    return nb


def _write_html(nb, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def _shown(path: Path) -> str:
    """A path as the user typed from the current folder would see it: relative when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run(paths: list[Path], *, store: bool = False, build_dir: Path | None = None,
        report=None) -> list[RunResult]:
    """Execute ``paths`` in order; write executed copies and HTML to ``build_dir``, or in place with store.

    Args:
        paths: notebooks to execute.
        store: write each executed notebook back over its source (never a failed one) instead of build_dir.
        build_dir: where executed copies, HTML pages and kernel logs go (default ``config.BUILD_DIR``).
        report: called with each :class:`RunResult` as soon as its notebook is done (e.g. to print a row).

    Returns:
        One :class:`RunResult` per notebook, in order.
    """
    import nbformat

    build_dir = Path(build_dir or config.BUILD_DIR)
    results = []
    for path in paths:
        log = build_dir / "logs" / (path.stem + ".log")
        start = time.perf_counter()
        try:
            nb = execute_notebook(path, kernel_log=log)
            status, error = "ok", ""
        except NotebookFailed as err:
            nb, status, error = err.nb, "FAILED", str(err)
        except Exception as err:  # noqa: BLE001 - e.g. an unreadable file: report it in the table, go on
            nb, status, error = None, "FAILED", f"{type(err).__name__}: {strip_ansi(str(err))}"
        seconds = time.perf_counter() - start
        html = ""
        if store and status == "ok":
            nbformat.write(nb, path)
        elif not store and nb is not None:
            (build_dir / "notebooks").mkdir(parents=True, exist_ok=True)
            (build_dir / "html").mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, build_dir / "notebooks" / path.name)
            target = build_dir / "html" / (path.stem + ".html")
            _write_html(nb, target)
            html = _shown(target)
        result = RunResult(path.stem, status, seconds, error, html, _shown(log))
        results.append(result)
        if report is not None:
            report(result)
    return results


_WIDTHS = (32, 7, 8)
_RULE = "-" * 84


def table_header() -> str:
    """The table's title line and rule."""
    name, status, seconds = _WIDTHS
    title = f"{'notebook':<{name}} {'status':<{status}} {'seconds':>{seconds}}  html"
    return title + "\n" + _RULE


def format_row(result: RunResult) -> str:
    """One table row: notebook, status, seconds, HTML page."""
    name, status, seconds = _WIDTHS
    return f"{result.name:<{name}} {result.status:<{status}} {result.seconds:>{seconds}.1f}  {result.html}"


def table_footer(results: list[RunResult]) -> str:
    """The rule, the total line, and the full error of every failed notebook."""
    name, status, seconds = _WIDTHS
    failed = sum(r.status != "ok" for r in results)
    label = f"total ({len(results)} notebooks, {failed} failed)"
    lines = [_RULE,
             f"{label:<{name + status + 1}} {sum(r.seconds for r in results):>{seconds}.1f}"]
    for r in results:
        if r.error:
            lines.append(f"\n{r.name} failed (kernel log: {r.log}):\n{r.error}")
    return "\n".join(lines)


def format_table(results: list[RunResult]) -> str:
    """The whole table: header, one row per notebook, total, then every failure's full error."""
    return "\n".join([table_header(), *map(format_row, results), table_footer(results)])


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
    where = "in place" if args.store else f"into {_shown(config.BUILD_DIR)}"
    print(f"Executing {len(paths)} notebook(s) {where}, "
          f"COURSE_MODE={os.environ.get(config.MODE_ENV_VAR) or 'auto'}", flush=True)
    print(table_header(), flush=True)
    results = run(paths, store=args.store, report=lambda r: print(format_row(r), flush=True))
    print(table_footer(results))
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
