"""The program that runs inside a submission's sandbox: the student's cells, then the trusted grader's calls.

Started by ``trusted.grade_notebook`` as ``python -m course_lib.grading.driver JOB IN_FD OUT_FD`` inside
bubblewrap (``sandbox.sandbox_argv``), with a copy of ``course_lib``, the released files and the student's own
files, and nothing else of the course. It

0. copies the prepared home (read-only in the sandbox) into its size-capped home (``fill_home``);
1. executes the cells listed in the job file in one IPython shell (so magics and IPython syntax work as in
   Jupyter), each under a per-cell time limit, and reports each cell's outputs;
2. then answers the grader's requests: ``describe`` (which names the notebook defined) and ``call`` (call one
   of the student's functions on arguments the grader drew, and send back the result as data, see ``wire``);
   a callable argument is called back in the grader. A Keras model a function returns goes back as its config
   and weights (``wire.KerasModel``), and a model argument arrives that way and is rebuilt here; a symbolic
   tensor argument arrives as its shape (``wire.KerasInput``)
   and is made a ``keras.Input`` here, and the tensor the function returns goes back as the model from those
   inputs to it.

Everything here runs alongside student code and may be patched by it; that can only change what this
submission sends back, never the reference it is compared with or the score (both stay in the grader).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sys

import numpy as np

from . import wire
from .text import cut_text


class CellTimeout(BaseException):
    """Raised by the alarm at the per-cell (or per-call) time limit."""


def _alarm(signum, frame):
    raise CellTimeout("ran past the time limit and was interrupted")


def _limit(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 0.0))


def _outputs(captured) -> list[dict]:
    """A cell's outputs as they cross the wall: printed text and text data cut to ``MAX_TEXT`` characters;
    PNG and JPEG figures whole (base64), up to ``feedback.MAX_IMAGE_CHARS`` each and ``feedback.MAX_IMAGES``
    per cell, a figure beyond either sent as the marker ``{"omitted": "size" | "count"}`` so that the page can
    say why it is missing. (Cutting a figure's base64 would only break it. The grader enforces the same caps
    again, ``feedback.clean_outputs``: this side runs beside the student's code.)"""
    import base64

    from .feedback import IMAGE_MIMES, MAX_IMAGE_CHARS, MAX_IMAGES

    outs, figures = [], 0
    if captured.stdout:
        outs.append({"name": "stdout", "text": cut_text(captured.stdout)})
    if captured.stderr:
        outs.append({"name": "stderr", "text": cut_text(captured.stderr)})
    for item in captured.outputs[:50]:
        data, counted = {}, False  # counted: this output's figure (in whichever formats) is one of those sent
        for k, v in (item.data or {}).items():
            if not isinstance(k, str):
                continue
            if k in IMAGE_MIMES and isinstance(v, (str, bytes)):
                v = v if isinstance(v, str) else base64.b64encode(v).decode("ascii")
                if len(v) > MAX_IMAGE_CHARS + MAX_IMAGE_CHARS // 50:  # base64 broken into lines is longer
                    v = {"omitted": "size"}
                elif not counted and figures >= MAX_IMAGES:
                    v = {"omitted": "count"}
                elif not counted:
                    figures, counted = figures + 1, True
                data[k] = v
                continue
            try:
                data[k] = cut_text(v) if isinstance(v, str) else cut_text(json.dumps(v, default=str))
            except (TypeError, ValueError, RecursionError):  # e.g. a value that contains itself
                data[k] = f"(a value of type {type(v).__name__} not shown)"
        outs.append({"data": data})
    return outs


def run_cells(shell, cells: list[dict], cell_timeout: float, out_fd: int) -> None:
    """Run each cell and send a ``cell`` event with its outputs, error name and whether it timed out."""
    from IPython.utils.capture import capture_output

    for index, cell in enumerate(cells):
        timed_out, error = False, None
        with capture_output() as captured:
            signal.signal(signal.SIGALRM, _alarm)
            _limit(cell_timeout)
            try:
                result = shell.run_cell(cell["source"], store_history=True)
                err = result.error_in_exec or result.error_before_exec
                if err is not None:
                    error = type(err).__name__
                    timed_out = isinstance(err, CellTimeout)
            except CellTimeout:
                timed_out, error = True, "CellTimeout"
            finally:
                _limit(0)
        wire.send(
            out_fd,
            {
                "event": "cell",
                "index": index,
                "outputs": _outputs(captured),
                "error": error,
                "timed_out": timed_out,
            },
        )


class _Callback:
    """A callable argument: calling it asks the grader to call the real one."""

    def __init__(self, key: str, in_fd: int, out_fd: int):
        self.key, self.in_fd, self.out_fd = key, in_fd, out_fd

    def __call__(self, *args, **kwargs):
        wire.send(
            self.out_fd,
            {
                "event": "callback",
                "fn": self.key,
                "args": wire.encode(list(args)),
                "kwargs": wire.encode(kwargs),
            },
        )
        reply = wire.receive(self.in_fd)
        if "raised" in reply:
            raise RuntimeError(f"the grader's function raised {reply['raised']}")
        return wire.decode(reply.get("result"))


def _describe(namespace: dict, names: list[str]) -> dict:
    found = {}
    for name in names:
        if name not in namespace:
            found[name] = {"kind": "missing"}
        elif callable(namespace[name]):
            found[name] = {"kind": "function"}
        else:
            try:
                found[name] = {"kind": "value", "value": wire.encode(namespace[name])}
            except wire.WireError as exc:
                found[name] = {"kind": "other", "why": str(exc)}
    return found


def _keras_inputs(value, made: list):
    """``value`` with each ``wire.KerasInput`` (top level, or in a top-level list or tuple) made a
    ``keras.Input``, and each ``wire.KerasModel`` argument (a model the grader passed) rebuilt here."""
    if type(value) is wire.KerasModel and not value.call:
        return wire.rebuild_model(value)
    if type(value) is wire.KerasInput:
        import keras

        tensor = keras.Input(batch_shape=value.shape, dtype=value.dtype)
        made.append(tensor)
        return tensor
    if type(value) in (list, tuple):
        return type(value)(_keras_inputs(v, made) for v in value)
    return value


def _portable(result, made: list):
    """A Keras model becomes ``wire.KerasModel``; a symbolic tensor (or a list of them) returned for symbolic
    inputs becomes the model from those inputs to it. Anything else is left to ``wire.encode``."""
    if not str(type(result).__module__).startswith("keras."):
        return result  # Keras is not touched otherwise (the student's code may have broken it)
    import keras

    if isinstance(result, keras.Model):
        return wire.KerasModel.of(result)
    if made and isinstance(result, keras.KerasTensor):
        model = keras.Model(made[0] if len(made) == 1 else made, result)
        return wire.KerasModel.of(model, call=True)
    return result


def _array_copies(args: list, kwargs: dict) -> dict:
    """A copy of each NumPy array argument (positional ones by their index, keywords by name)."""
    items = [*enumerate(args), *kwargs.items()]
    return {key: value.copy() for key, value in items if type(value) is np.ndarray}


def _changed(args: list, kwargs: dict, before: dict) -> list[str]:
    """The array arguments the call left changed (the grader fails the test: see ``trusted.ArgumentChanged``).

    Only a report: the grader never takes values back from here, so this cannot make a score higher."""
    now = {**dict(enumerate(args)), **kwargs}
    out = []
    for key, copy in before.items():
        value = now.get(key)
        if type(value) is not np.ndarray or value.shape != copy.shape or not np.array_equal(
            value, copy, equal_nan=value.dtype.kind in "fc"
        ):
            out.append(f"argument {key + 1}" if type(key) is int else f"argument {key}")
    return out


def _call(namespace: dict, message: dict, call_timeout: float, in_fd: int, out_fd: int) -> dict:
    """Call one of the student's functions; the reply also holds what it printed (``printed``), so that the
    student sees it in the feedback under the test that called it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        reply = _call_quietly(namespace, message, call_timeout, in_fd, out_fd)
    reply["printed"] = {"stdout": cut_text(out.getvalue()), "stderr": cut_text(err.getvalue())}
    return reply


def _call_quietly(namespace: dict, message: dict, call_timeout: float, in_fd: int, out_fd: int) -> dict:
    def make(key):
        return _Callback(key, in_fd, out_fd)

    made: list = []
    try:
        args = _keras_inputs(wire.decode(message["args"], make_callable=make), made)
        kwargs = wire.decode(message["kwargs"], make_callable=make)
        kwargs = {k: _keras_inputs(v, made) for k, v in kwargs.items()}
        function = namespace[message["name"]]
    except KeyError:
        return {
            "event": "reply",
            "raised": {"type": "NameError", "message": f"name {message.get('name')!r} is not defined"},
        }
    except wire.WireError as exc:  # e.g. a model argument that Keras, as the student's code left it, refused
        return {"event": "reply", "raised": {"type": "TypeError", "message": f"an argument: {exc}"[:2000]}}
    before = _array_copies(args, kwargs)
    signal.signal(signal.SIGALRM, _alarm)
    _limit(call_timeout)
    try:
        result = _portable(function(*args, **kwargs), made)
        _limit(0)
        reply = {"event": "reply", "result": wire.encode(result)}
        reply["changed"] = _changed(args, kwargs, before)
        return reply
    except CellTimeout:
        return {
            "event": "reply",
            "raised": {"type": "TimeoutError", "message": f"{message['name']} ran past the time limit"},
        }
    except wire.WireError as exc:
        return {
            "event": "reply",
            "raised": {
                "type": "TypeError",
                "message": f"{message['name']} returned a value that cannot be graded: {exc}",
            },
        }
    except Exception as exc:  # noqa: BLE001 - any exception of the student's function goes back as data
        return {"event": "reply", "raised": {"type": type(exc).__name__, "message": str(exc)[:2000]}}
    finally:
        _limit(0)


def fill_home() -> None:
    """Copy the prepared home (mounted read-only, named by ``COURSE_HOME_FILES``) into ``HOME``, a tmpfs of a
    fixed size, before any of the student's code runs: files 0644, folders 0755, no symlinks. Without that
    variable (the unsafe mode, whose home is the real folder) there is nothing to copy. What does not fit is
    reported on stderr (the sandbox's log) and the cells run with what was copied."""
    source, home = os.environ.get("COURSE_HOME_FILES"), os.environ.get("HOME")
    if not source or not home or not os.path.isdir(source):
        return
    if os.path.realpath(source) == os.path.realpath(home):
        return
    try:
        for folder, dirs, files in os.walk(source):
            rel = os.path.relpath(folder, source)
            target = home if rel == "." else os.path.join(home, rel)
            os.makedirs(target, mode=0o755, exist_ok=True)
            os.chmod(target, 0o755)
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                shutil.copyfile(path, os.path.join(target, name))
                os.chmod(os.path.join(target, name), 0o644)
    except OSError as exc:
        print(f"could not copy the submission's files into {home}: {exc}", file=sys.stderr)


def _seed(message: dict) -> dict:
    """Seed this process as ``cl.config.set_seed`` does, for a test that rebuilds here what the student's code
    built after seeding (``trusted``: ``SANDBOX_SET_SEED``)."""
    try:
        from course_lib.config import set_seed

        set_seed(int(message.get("seed", 0)))
        return {"event": "seeded"}
    except Exception as exc:  # noqa: BLE001 - the test that asked fails, with the reason
        return {"event": "seeded", "raised": {"type": type(exc).__name__, "message": str(exc)[:500]}}


def main(argv: list[str]) -> int:
    job_path, in_fd, out_fd = argv[0], int(argv[1]), int(argv[2])
    fill_home()
    with open(job_path) as f:
        job = json.load(f)
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="NoColor")
    shell.user_ns["__name__"] = "__main__"
    run_cells(shell, job["cells"], job["cell_timeout"], out_fd)
    wire.send(out_fd, {"event": "ready"})
    namespace = shell.user_ns
    while True:
        try:
            message = wire.receive(in_fd)
        except EOFError:
            return 0
        kind = message.get("event")
        if kind == "describe":
            wire.send(out_fd, {"event": "described", "names": _describe(namespace, list(message["names"]))})
        elif kind == "call":
            wire.send(out_fd, _call(namespace, message, job["cell_timeout"], in_fd, out_fd))
        elif kind == "seed":
            wire.send(out_fd, _seed(message))
        else:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
