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

import ast
import builtins
import contextlib
import io
import json
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import feedback, wire
from .markers import HIDDEN_BEGIN, HIDDEN_END, HIDDEN_PLACEHOLDER, SOLUTION_BEGIN, SOLUTION_END
from .sandbox import SANDBOX_JOB, SHORTCUT_MODULES, Limits, SandboxProcess, sandbox_argv
from .text import MAX_TEXT, cut_text

MAX_NOTEBOOK_BYTES = 20 * 1024**2
MAX_PRINTED = MAX_TEXT  # characters of each output stream kept per test cell
MAX_REFUSED = 5  # malformed messages dropped before the sandbox is given up on
MAX_SHOWN = 16 * 2**20  # characters of output kept for the feedback of one submission, all cells together


@dataclass
class TestCell:
    grade_id: str
    source: str
    points: float
    anchor: str | None  # the answer cell it follows


@dataclass
class Spec:
    """What the source notebook says about grading it."""

    name: str
    mode: str
    setup: list[str]
    answers: dict[str, str]  # answer grade_id -> source
    answer_names: dict[str, list[str]]  # answer grade_id -> top-level names it defines
    tests: list[TestCell]
    forbid: tuple[str, ...]
    hidden_lines: set[str]
    context: list[tuple[int, str]] = field(default_factory=list)  # (tests before it, source): docstring

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)


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


def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def _nbmeta(cell: dict) -> dict:
    m = cell.get("metadata", {})
    m = m.get("nbgrader", {}) if isinstance(m, dict) else {}
    return m if isinstance(m, dict) else {}


def _defined_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def hidden_regions(source: str) -> list[str]:
    """The text between the hidden-test markers of one cell."""
    regions, inside, lines = [], False, []
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside, lines = True, []
        elif HIDDEN_END in line:
            inside = False
            regions.append("\n".join(lines))
        elif inside:
            lines.append(line)
    return regions


def strip_hidden(source: str) -> str:
    """A test cell's source with every hidden region replaced by ``HIDDEN_PLACEHOLDER``."""
    out, inside = [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside = True
            out.append(HIDDEN_PLACEHOLDER)
        elif HIDDEN_END in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _squash(text: str) -> str:
    return "".join(text.split())


def _public_lines(nb: dict) -> list[str]:
    """Every line a student is shown in the release: markdown, setup code, the visible part of the test cells
    and the part of the answer cells outside the solution markers."""
    public = []
    for cell in nb.get("cells", []):
        src, inside = _src(cell), False
        for line in strip_hidden(src).splitlines():
            if SOLUTION_BEGIN in line:
                inside = True
            elif SOLUTION_END in line:
                inside = False
            elif not inside:
                public.append(line)
    return public


def secret_lines(hidden: set[str], public: list[str]) -> set[str]:
    """The hidden-test lines that give something away: those not found (spaces ignored) inside a line the
    student is shown anyway, import statements left out.

    Redaction is by content, so a hidden line that is part of an ordinary line, such as
    ``cl.config.set_seed(0)`` in the release's ``SEED = cl.config.set_seed(0)``, would redact that ordinary
    line (in the student's source or in output that echoes it) though it reveals nothing.
    """
    flat = [_squash(line) for line in public]
    return {h for h in hidden if not _is_import(h) and not any(_squash(h) in line for line in flat)}


def _is_import(line: str) -> bool:
    """Whether a line is one import statement (it names modules, nothing of the tests' inputs or answers)."""
    try:
        tree = ast.parse(line.strip())
    except SyntaxError:
        return False
    return len(tree.body) == 1 and isinstance(tree.body[0], (ast.Import, ast.ImportFrom))


def load_spec(source_notebook: Path) -> Spec:
    """Read the grading plan from a source notebook (solutions and hidden tests included)."""
    nb = json.loads(Path(source_notebook).read_text())
    meta = nb.get("metadata", {}).get("course_grading", {})
    setup, answers, names, tests, hidden, context = [], {}, {}, [], set(), []
    anchor, seen_graded = None, False
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        m, src = _nbmeta(cell), _src(cell)
        if m.get("solution"):
            anchor = m["grade_id"]
            answers[anchor], names[anchor] = src, _defined_names(src)
            seen_graded = True
        elif m.get("grade"):
            tests.append(TestCell(m["grade_id"], src, float(m.get("points", 0)), anchor))
            for region in hidden_regions(src):
                hidden.update(line.strip() for line in region.splitlines() if len(line.strip()) >= 12)
            seen_graded = True
        elif not seen_graded:
            setup.append(src)
        elif meta.get("context_cells"):
            context.append((len(tests), src))
    hidden = secret_lines(hidden, _public_lines(nb))
    return Spec(
        Path(source_notebook).stem,
        meta.get("tests", "sandbox"),
        setup,
        answers,
        names,
        tests,
        tuple(meta.get("forbid", ())),
        hidden,
        context,
    )


def shortcut_use(source: str, forbidden: tuple[str, ...]) -> str:
    """'' when an answer cell names none of the forbidden libraries, else what it names and where."""
    if not forbidden:
        return ""
    aliases = set(forbidden) | {"tf"} if "tensorflow" in forbidden else set(forbidden)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        found = None
        if isinstance(node, ast.Import):
            found = next((a.name for a in node.names if a.name.split(".")[0] in forbidden), None)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found = node.module if node.module.split(".")[0] in forbidden else None
        elif isinstance(node, ast.Name) and (node.id in aliases or node.id in ("__import__", "importlib")):
            found = node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found = next((f for f in forbidden if f in node.value), None)
        if found:
            return f"{found} (line {getattr(node, 'lineno', '?')})"
    return ""


def student_cells(nb: dict, spec: Spec) -> list[dict]:
    """The cells of a submission to run, in order: markdown is kept for the feedback, test cells are dropped.

    A cell whose grade_id is one of the source's test cells is dropped whatever its content (the tests come
    from the source); in ``sandbox`` mode the source's test cells are inserted after the answer cell they
    follow in the source (at the end when the student deleted it).
    """
    test_ids = {t.grade_id for t in spec.tests}
    cells = []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown"):
            continue
        gid = _nbmeta(cell).get("grade_id")
        if gid in test_ids:
            continue
        cells.append({"kind": cell["cell_type"], "source": _src(cell), "grade_id": gid or ""})
    if spec.mode != "trusted":
        for test in spec.tests:
            pos = next((i for i, c in enumerate(cells) if c["grade_id"] == test.anchor), None)
            if pos is None:
                pos = len(cells) - 1
            # after the answer and the tests already placed after it
            while pos + 1 < len(cells) and cells[pos + 1]["kind"] == "test":
                pos += 1
            cells.insert(pos + 1, {"kind": "test", "source": test.source, "grade_id": test.grade_id})
    return cells


class _Session:
    """The grader's side of the protocol with one sandbox."""

    def __init__(self, box, deadline: float, call_timeout: float, limit: float | None = None):
        self.box, self.deadline, self.call_timeout = box, deadline, call_timeout
        # the per-submission limit, for the note (what is left of it when none is given)
        self.limit = limit if limit is not None else max(deadline - time.monotonic(), 0.0)
        self.broken = ""
        self.timed_out = False  # the per-submission limit was reached
        self.printed = {"stdout": "", "stderr": ""}  # what the student's functions printed (see ``Proxy``)

    def take_printed(self) -> list[dict]:
        """The output of the student's functions since the last call, as cell outputs (each stream cut)."""
        outs = [
            {"name": name, "text": cut_text(text, MAX_PRINTED)} for name, text in self.printed.items() if text
        ]
        self.printed = {"stdout": "", "stderr": ""}
        return outs

    def _deadline(self, seconds: float) -> float:
        return min(self.deadline, time.monotonic() + seconds)

    def receive(self, seconds: float) -> dict:
        return wire.receive(self.box.from_child_r, self._deadline(seconds))

    def send(self, message: dict) -> None:
        # with a deadline: a sandbox that stops reading must not hang the grader in a pipe write
        wire.send(self.box.to_child_w, message, self._deadline(self.call_timeout + 15))

    def request(self, message: dict, callables: dict | None = None) -> dict:
        if self.broken:
            raise RuntimeError(self.broken)
        try:
            self.send(message)
            while True:
                reply = self.receive(self.call_timeout + 15)
                if reply.get("event") != "callback":
                    return reply
                self._callback(reply, callables or {})
        except (OSError, EOFError, TimeoutError, wire.WireError) as exc:
            self.stopped(exc, "the submission's process stopped answering")
            raise RuntimeError(self.broken) from None

    def stopped(self, exc: BaseException, what: str) -> None:
        """The sandbox failed or overran: note why (the per-submission limit, when that is it) and kill it."""
        if isinstance(exc, TimeoutError) and time.monotonic() >= self.deadline:
            self.timed_out = True
            self.broken = f"{what} (TimeoutError: killed at the per-submission limit of {self.limit:.0f} s)"
        else:
            self.broken = f"{what} ({type(exc).__name__}: {exc})"
        self.box.kill()

    def _callback(self, message: dict, callables: dict) -> None:
        fn = callables.get(str(message.get("fn")))
        try:
            args = wire.decode(message.get("args"))
            kwargs = wire.decode(message.get("kwargs"))
            if fn is None or type(args) is not list or type(kwargs) is not dict:
                raise wire.WireError("bad callback")
            self.send({"event": "callback_result", "result": wire.encode(fn(*args, **kwargs))})
        except Exception as exc:  # noqa: BLE001 - the student's code gets told, the grader goes on
            self.send({"event": "callback_result", "raised": type(exc).__name__})


_EXCEPTIONS = {
    name: obj for name, obj in vars(builtins).items() if isinstance(obj, type) and issubclass(obj, Exception)
}


class StudentCodeError(Exception):
    """The student's function raised an exception that is not a builtin one."""


class ArgumentChanged(AssertionError):
    """The student's function left one of the arrays it was given changed.

    The grader's arrays never change (nothing that comes back from the sandbox is written into them, so a
    reference computed after the call is computed from the grader's own inputs); a function that changes its
    inputs in place breaks the contract of every graded question, and fails the test that called it.
    """


class Proxy:
    """Stands, in the grader, for one function defined by the student's cells."""

    def __init__(self, session: _Session, name: str):
        self._session, self.__name__ = session, name

    def __call__(self, *args, **kwargs):
        callables: dict = {}
        tensors: list = []
        message = {
            "event": "call",
            "name": self.__name__,
            "args": wire.encode(_symbolic(list(args), tensors), callables=callables),
            "kwargs": wire.encode({k: _symbolic(v, tensors) for k, v in kwargs.items()}, callables=callables),
        }
        reply = self._session.request(message, callables)
        printed = reply.get("printed") if isinstance(reply.get("printed"), dict) else {}
        for name in ("stdout", "stderr"):
            text = printed.get(name)
            if isinstance(text, str) and len(self._session.printed[name]) <= MAX_PRINTED:
                self._session.printed[name] += text[: 2 * MAX_PRINTED]  # cut to MAX_PRINTED when shown
        if "raised" in reply:
            raised = reply["raised"] if isinstance(reply["raised"], dict) else {}
            kind, text = str(raised.get("type", "Exception")), str(raised.get("message", ""))[:2000]
            raise _EXCEPTIONS.get(kind, StudentCodeError)(
                f"{text}" if kind in _EXCEPTIONS else f"{kind}: {text}"
            )
        changed = reply.get("changed")
        if isinstance(changed, list) and changed:
            where = ", ".join(str(c)[:40] for c in changed[:5])
            raise ArgumentChanged(
                f"{self.__name__} changed the array(s) it was given ({where}); a graded function must leave "
                "its inputs as they were (work on a copy)"
            )
        try:
            result = _live(wire.decode(reply.get("result")), tensors)
        except wire.WireError as exc:
            raise TypeError(f"{self.__name__} returned something that cannot be graded: {exc}") from None
        return result


def _symbolic(value, tensors: list):
    """``value`` with each symbolic Keras tensor (top level, or in a top-level list or tuple) replaced by its
    shape and dtype (``wire.KerasInput``); the tensors are kept, in order, in ``tensors``."""
    keras = sys.modules.get("keras") if str(type(value).__module__).startswith("keras.") else None
    if keras is not None and isinstance(value, keras.KerasTensor):
        tensors.append(value)
        return wire.KerasInput(tuple(value.shape), str(value.dtype))
    if type(value) in (list, tuple):
        return type(value)(_symbolic(v, tensors) for v in value)
    return value


def _live(value, tensors: list, depth: int = 0):
    """``value`` with each ``wire.KerasModel`` rebuilt (``wire.rebuild_model``); one that stands for a
    returned tensor is applied to the grader's own tensors, its layers called on them one by one (no nested
    model)."""
    if depth > wire.MAX_DEPTH:
        raise wire.WireError("value nested too deeply")
    if type(value) is wire.KerasModel:
        model = wire.rebuild_model(value)
        if not value.call:
            return model
        if not tensors or len(tensors) != len(model.inputs):
            raise wire.WireError("a returned tensor does not match the tensors given")
        return model.call(tensors[0] if len(tensors) == 1 else list(tensors))
    if type(value) in (list, tuple):
        return type(value)(_live(v, tensors, depth + 1) for v in value)
    if type(value) is dict:
        return {k: _live(v, tensors, depth + 1) for k, v in value.items()}
    return value


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


def hidden_modules(spec: Spec) -> tuple[str, ...]:
    """The libraries made unimportable in a submission's sandbox: those its assignment forbids."""
    return tuple(m for m in SHORTCUT_MODULES if m in spec.forbid) if spec.mode == "trusted" else ()


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
    session = _Session(box, deadline, cell_timeout, limit)
    try:
        _collect(session, spec, cells, outcome, cell_timeout)
    finally:
        box.close()
        if not isinstance(box, SandboxProcess):
            outcome.sandbox_cpu = box.cpu_seconds
    outcome.note = "; ".join(filter(None, [outcome.note, *box.limit_notes()]))
    return outcome


def _collect(session: _Session, spec: Spec, cells: list[dict], outcome: Outcome, cell_timeout: float) -> None:
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
        used = shortcut_use(src, spec.forbid)
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
                    r.message = f"this question forbids {', '.join(spec.forbid)}; the answer uses {used}"
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


def _trusted_tests(session: _Session, spec: Spec, outcome: Outcome, ready: bool) -> None:
    names = sorted({n for ns in spec.answer_names.values() for n in ns})
    namespace: dict = {"__name__": "__grader__", "GRADING_SEED": secrets.randbelow(2**31)}
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
