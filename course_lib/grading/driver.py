"""The program that runs inside a submission's sandbox: the student's cells, then the trusted grader's calls.

Started by ``sandbox.run_sandboxed`` as ``python -m course_lib.grading.driver JOB IN_FD OUT_FD`` inside
bubblewrap, with a copy of ``course_lib``, the released files and the student's own files, and nothing else
of the course. It

1. executes the cells listed in the job file in one IPython shell (so magics and IPython syntax work as in
   Jupyter), each under a per-cell time limit, and reports each cell's outputs;
2. then answers the grader's requests: ``describe`` (which names the notebook defined) and ``call`` (call one
   of the student's functions on arguments the grader drew, and send back the result as data, see ``wire``);
   a callable argument is called back in the grader. A Keras model a function returns goes back as its config
   and weights (``wire.KerasModel``); a symbolic tensor argument arrives as its shape (``wire.KerasInput``)
   and is made a ``keras.Input`` here, and the tensor the function returns goes back as the model from those
   inputs to it.

Everything here runs alongside student code and may be patched by it; that can only change what this
submission sends back, never the reference it is compared with or the score (both stay in the grader).
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sys

from . import wire

MAX_TEXT = 20_000


class CellTimeout(BaseException):
    """Raised by the alarm at the per-cell (or per-call) time limit."""


def _alarm(signum, frame):
    raise CellTimeout("ran past the time limit and was interrupted")


def _limit(seconds: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 0.0))


def _cut(text: str) -> str:
    return (
        text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"\n... ({len(text) - MAX_TEXT} characters cut)"
    )


def _outputs(captured) -> list[dict]:
    outs = []
    if captured.stdout:
        outs.append({"name": "stdout", "text": _cut(captured.stdout)})
    if captured.stderr:
        outs.append({"name": "stderr", "text": _cut(captured.stderr)})
    for item in captured.outputs[:50]:
        data = {
            k: _cut(v) if isinstance(v, str) else _cut(json.dumps(v, default=str))
            for k, v in (item.data or {}).items()
            if isinstance(k, str)
        }
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
    ``keras.Input``."""
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


def _call(namespace: dict, message: dict, call_timeout: float, in_fd: int, out_fd: int) -> dict:
    """Call one of the student's functions; the reply also holds what it printed (``printed``), so that the
    student sees it in the feedback under the test that called it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        reply = _call_quietly(namespace, message, call_timeout, in_fd, out_fd)
    reply["printed"] = {"stdout": _cut(out.getvalue()), "stderr": _cut(err.getvalue())}
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
    signal.signal(signal.SIGALRM, _alarm)
    _limit(call_timeout)
    try:
        result = _portable(function(*args, **kwargs), made)
        _limit(0)
        reply = {"event": "reply", "result": wire.encode(result)}
        reply["mutated"] = [
            wire.encode(a) if type(a).__module__ == "numpy" and hasattr(a, "shape") else None for a in args
        ]
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


def main(argv: list[str]) -> int:
    job_path, in_fd, out_fd = argv[0], int(argv[1]), int(argv[2])
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
        else:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
