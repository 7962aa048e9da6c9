"""Grading one submission: the student's cells in a sandbox, the tests and the scores in the grader.

Two modes, chosen per assignment by the source notebook's metadata ``course_grading.tests``:

``"trusted"`` (ps1-ps4)
    Only the student's own cells run in the sandbox. Every test cell (visible and hidden, taken from the
    *source*, never from the submission) runs here, in the grader's process: each function the answer cells
    define is replaced by a proxy that sends the arguments the test drew (``GRADING_SEED`` changes them per
    run) into the sandbox as data, calls the student's function there, and brings the result back as data
    (``wire``). The reference and the comparison never leave this process, so nothing the student's code does
    to NumPy, TensorFlow, ``course_lib``, builtins, IPython or the stack can change a score, and an object
    "equal to everything" cannot come back. What the student's function prints during a call comes back too,
    and is shown (cut, escaped, redacted) under the test cell that called it. ``course_grading.forbid`` names
    libraries an answer may not use: they are hidden from the sandbox, and an answer cell that names one is
    reported and scores zero.

    A Keras model a student's function returns (ps3, ps4) crosses as data too: its JSON config and its
    weights (``wire.KerasModel``), rebuilt here with ``keras.models.model_from_json`` in safe mode (no
    lambdas, no class outside Keras) and ``set_weights``; a test that trains, trains that rebuilt model here.
    A symbolic tensor argument crosses as its shape (``wire.KerasInput``) and the tensor returned comes back
    as a model, applied here to the test's own tensor (its layers, names and weights as the student made
    them). With ``course_grading.context_cells`` the source's own ungraded cells after the first answer
    (constants, data, helpers such as ps4's ``train_briefly``) run here too, before the tests that follow
    them.

``"sandbox"`` (no assignment uses it now)
    The source's test cells are put after their answer cells and the whole notebook runs in the sandbox; a
    test cell scores its points when it raises nothing. Sandboxed (no student can reach the repository,
    another submission or the results), but the student's code shares the process with the tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import feedback, wire
from .lint import shortcut_use
from .sandbox import SANDBOX_JOB, Limits, SandboxProcess, sandbox_argv
from .session import (  # noqa: F401 - ArgumentChanged, Proxy, StudentCodeError: re-exported
    MAX_PRINTED,
    ArgumentChanged,
    Proxy,
    Session,
    StudentCodeError,
    sandbox_seeder,
)
from .spec import (  # noqa: F401 - the names other modules and tests use here
    Spec,
    TestCell,
    hidden_modules,
    hidden_regions,
    load_spec,
    secret_lines,
    strip_hidden,
    student_cells,
)
from .text import cut_text

MAX_NOTEBOOK_BYTES = 20 * 1024**2
MAX_REFUSED = 5  # malformed messages dropped before the sandbox is given up on
MAX_SHOWN = 16 * 2**20  # characters of output kept for the feedback of one submission, all cells together


@dataclass
class CellResult:
    source: str
    kind: str  # "markdown", "code", "test"
    outputs: list[dict] = field(default_factory=list)
    grade_id: str = ""
    score: float | None = None
    max_score: float | None = None
    message: str = ""
    timed_out: bool = False


@dataclass
class Outcome:
    status: str = "graded"
    note: str = ""
    cells: list[CellResult] = field(default_factory=list)
    by_question: list[tuple[str, float, float]] = field(default_factory=list)
    timed_out_cells: list[str] = field(default_factory=list)
    shortcuts: dict[str, str] = field(default_factory=dict)
    warm_failure: str = ""  # why a zygote could not be used (a fresh sandbox was), for the run's summary
    sandbox_cpu: float = 0.0  # CPU seconds of a forked sandbox (a fresh one's are counted by the run itself)

    @property
    def score(self) -> float:
        return sum(s for _, s, _ in self.by_question)


def _run_test(source: str, namespace: dict) -> tuple[bool, str, str]:
    out = io.StringIO()
    try:
        code = compile(source, "<test cell>", "exec")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(code, namespace)  # noqa: S102 - the instructor's test cell, in the grader
        return True, "", out.getvalue()
    except Exception as exc:  # noqa: BLE001 - any failure of a test cell is a failed test
        return False, f"{type(exc).__name__}: {exc}"[:3000], out.getvalue()


def prepare_home(home: Path, released: Path, submission: Path) -> None:
    """Fill a submission's private folder: the released files, then the student's own files (no symlinks)."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    for folder in (released, submission if submission.is_dir() else None):
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if path.is_symlink() or path.suffix == ".ipynb" or any(p.startswith(".") for p in rel.parts):
                continue
            if path.is_dir():
                (home / rel).mkdir(parents=True, exist_ok=True)
            elif path.is_file():
                (home / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, home / rel)
    for path in [home, *home.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)


def grade_notebook(
    nb: dict,
    spec: Spec,
    *,
    workdir: Path,
    lib: Path,
    released: Path,
    submission: Path,
    cell_timeout: float,
    deadline: float,
    limits: Limits,
    unsafe: bool = False,
    zygote=None,
    limit: float | None = None,
) -> Outcome:
    """Grade one parsed submission notebook.

    Args:
        nb: the student's notebook (parsed JSON; untrusted).
        spec: the plan from the source notebook.
        workdir: this submission's folder under the build directory (job/, home/, sandbox.log are made there).
        lib: the folder holding the run's copy of ``course_lib``.
        released: the released assignment folder (its files go into the student's home).
        submission: the student's submission folder (flat layout: the notebook; nothing else is copied).
        cell_timeout: seconds per cell and per call.
        deadline: ``time.monotonic()`` by which everything must be over (the sandbox is then killed).
        limits: the sandbox's limits.
        unsafe: run the student's code without bubblewrap (the instructor asked for it explicitly).
        zygote: a ``zygote.Zygote`` for this submission's hidden libraries, whose warm interpreter is forked
            into the submission's sandbox; None, or any failure of it, starts a fresh sandbox instead.
        limit: the per-submission limit in seconds, as the note of a submission killed at it names it
            (default: what is left until ``deadline``).
    """
    outcome = Outcome()
    cells = student_cells(nb, spec)
    code_cells = [c for c in cells if c["kind"] != "markdown"]
    job, home = workdir / "job", workdir / "home"
    if job.exists():
        shutil.rmtree(job)
    job.mkdir(parents=True)
    (job / "job.json").write_text(json.dumps({"cells": code_cells, "cell_timeout": cell_timeout}))
    prepare_home(home, released, submission)
    hide = hidden_modules(spec)

    def argv_for(in_fd: int, out_fd: int) -> list[str]:
        if unsafe:
            return [
                "env",
                f"PYTHONPATH={lib}",
                sys.executable,
                "-m",
                "course_lib.grading.driver",
                str(job / "job.json"),
                str(in_fd),
                str(out_fd),
            ]
        return sandbox_argv(
            home=home,
            lib=lib,
            job=job,
            hide=hide,
            limits=limits,
            command=[
                "python",
                "-m",
                "course_lib.grading.driver",
                f"{SANDBOX_JOB}/job.json",
                str(in_fd),
                str(out_fd),
            ],
        )

    box = None
    if zygote is not None and not unsafe and zygote.alive():
        from .zygote import ForkedSandbox, ZygoteFailed

        try:
            box = ForkedSandbox(zygote, name=workdir.name, log_path=workdir / "sandbox.log", limits=limits)
        except ZygoteFailed as exc:  # the grading goes on in a fresh sandbox; only the log says so
            outcome.warm_failure = str(exc)[:300]
    if box is None:
        box = SandboxProcess(argv_for, log_path=workdir / "sandbox.log", limits=limits, cwd=home)
    session = Session(box, deadline, cell_timeout, limit)
    try:
        _collect(session, spec, cells, outcome, cell_timeout)
    finally:
        box.close()
        if not isinstance(box, SandboxProcess):
            outcome.sandbox_cpu = box.cpu_seconds
    outcome.note = "; ".join(filter(None, [outcome.note, *box.limit_notes()]))
    return outcome


def _collect(session: Session, spec: Spec, cells: list[dict], outcome: Outcome, cell_timeout: float) -> None:
    results: list[CellResult] = []
    code_results: list[CellResult] = []
    for c in cells:
        r = CellResult(c["source"], c["kind"], grade_id=c["grade_id"])
        results.append(r)
        if c["kind"] != "markdown":
            code_results.append(r)
    outcome.cells = results
    # 1. the cells, as the sandbox reports them
    ready, shown = False, 0
    refused: list[str] = []
    try:
        while True:
            try:
                message = session.receive(cell_timeout + 30)
            except wire.RefusedMessage as exc:
                # read whole, so the channel is still in step: drop it, say so, read on (a few at most)
                refused.append(str(exc))
                if len(refused) > MAX_REFUSED:
                    raise wire.WireError(f"more than {MAX_REFUSED} messages refused") from None
                continue
            event = message.get("event")
            if event == "ready":
                ready = True
                break
            if (
                event != "cell"
                or type(message.get("index")) is not int
                or not 0 <= message["index"] < len(code_results)
            ):
                raise wire.WireError("unexpected message")
            r = code_results[message["index"]]
            r.outputs = feedback.clean_outputs(message.get("outputs"))  # bounded, well typed: see there
            shown += sum(len(o.get("text", "")) + sum(map(len, o.get("data", {}).values()))
                         for o in r.outputs)
            if shown > MAX_SHOWN:
                r.outputs = feedback.clean_outputs([{"data": {}}])
                r.outputs[0]["dropped"] = (
                    f"this cell's output is not shown: the notebook's outputs passed {MAX_SHOWN // 2**20} MB"
                )
            r.timed_out = message.get("timed_out") is True
            if r.timed_out:
                outcome.timed_out_cells.append(r.grade_id or f"cell {message['index']}")
            if r.kind == "test":
                r.message = "" if message.get("error") is None else str(message.get("error"))[:200]
                r.score = 0.0 if message.get("error") is not None else None
    except (OSError, EOFError, TimeoutError, wire.WireError) as exc:
        session.stopped(exc, "the notebook's process stopped")
    if not ready:
        outcome.note = session.broken or "the notebook's process stopped before the tests"
    if refused:
        outcome.note = "; ".join(filter(None, [
            outcome.note, f"{len(refused)} message(s) from the notebook's process refused ({refused[0]})"]))
    # 2. shortcuts
    student_answers = {c["grade_id"]: c["source"] for c in cells if c["grade_id"] in spec.answers}
    for gid, src in student_answers.items():
        used = shortcut_use(src, spec.forbidden_in(gid))
        if used:
            outcome.shortcuts[gid] = used
    # 3. the tests
    if spec.mode == "trusted":
        _trusted_tests(session, spec, outcome, ready)
    else:
        placed = {r.grade_id: r for r in results if r.kind == "test"}
        for test in spec.tests:
            r = placed[test.grade_id]
            passed = ready and r.score is None and not r.timed_out
            r.source, r.max_score = strip_hidden(test.source), test.points
            r.score = test.points if passed else 0.0
            if not passed and not r.message:
                r.message = "did not run" if not ready else "failed"
            outcome.by_question.append((test.grade_id, r.score, test.points))
    for gid, used in outcome.shortcuts.items():
        for test_cell in spec.tests:
            if test_cell.anchor != gid:
                continue
            for r in results:
                if r.kind == "test" and r.grade_id == test_cell.grade_id:
                    r.score = 0.0
                    banned = ", ".join(spec.forbidden_in(gid))
                    r.message = f"this question forbids {banned}; the answer uses {used}"
    if session.timed_out:
        outcome.status = "timeout"
    if session.broken and session.broken not in outcome.note:
        # the tests after this point scored zero: the row says why
        outcome.note = (outcome.note + "; " if outcome.note else "") + session.broken
    by_id = {r.grade_id: r for r in results if r.kind == "test"}
    outcome.by_question = [(t.grade_id, float(by_id[t.grade_id].score or 0.0), t.points) for t in spec.tests]
    if outcome.shortcuts:
        found = "; ".join(f"{k}: {v}" for k, v in outcome.shortcuts.items())
        outcome.note = (outcome.note + "; " if outcome.note else "") + f"forbidden library used ({found})"


def _trusted_tests(session: Session, spec: Spec, outcome: Outcome, ready: bool) -> None:
    names = sorted({n for ns in spec.answer_names.values() for n in ns})
    namespace: dict = {"__name__": "__grader__", "GRADING_SEED": secrets.randbelow(2**31),
                       "SANDBOX_SET_SEED": sandbox_seeder(session)}
    for src in spec.setup:
        exec(compile(src, "<setup cell>", "exec"), namespace)  # noqa: S102 - the instructor's setup cell
    described = {}
    if ready:
        try:
            reply = session.request({"event": "describe", "names": names})
            described = reply.get("names") if isinstance(reply.get("names"), dict) else {}
        except RuntimeError:
            described = {}
    for name in names:
        info = described.get(name) if isinstance(described.get(name), dict) else {}
        if info.get("kind") == "function":
            namespace[name] = Proxy(session, name)
        elif info.get("kind") == "value":
            try:
                namespace[name] = wire.decode(info.get("value"))
            except wire.WireError:
                pass
    anchor_of = {}
    for test in spec.tests:
        anchor_of[test.grade_id] = test.anchor
    # the test cells go after their answer cells in the feedback
    for number, test in enumerate(spec.tests):
        for before, src in spec.context:
            if before == number:
                exec(compile(src, "<source cell>", "exec"), namespace)  # noqa: S102 - the instructor's cell
        if test.anchor in outcome.shortcuts:
            passed, message, printed = False, "", ""
        else:
            passed, message, printed = _run_test(test.source, namespace)
        r = CellResult(
            strip_hidden(test.source),
            "test",
            grade_id=test.grade_id,
            max_score=test.points,
            score=test.points if passed else 0.0,
            message=message,
        )
        r.outputs = session.take_printed()  # what the student's functions printed when this test called them
        if printed:
            r.outputs.append({"name": "stdout", "text": cut_text(printed, MAX_PRINTED)})
        pos = max(
            (
                i
                for i, c in enumerate(outcome.cells)
                if c.grade_id in (test.anchor,)
                or (c.kind == "test" and anchor_of.get(c.grade_id) == test.anchor)
            ),
            default=len(outcome.cells) - 1,
        )
        outcome.cells.insert(pos + 1, r)
