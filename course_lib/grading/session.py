"""The grader's side of one submission's sandbox: the protocol session, and the proxies that stand for the
student's functions in the tests.

``Session`` sends requests and reads replies with deadlines (a sandbox that stops answering, or stops
reading, is given up on at the limits, never waited for); ``Proxy`` turns a test's call into a request, and
the reply into a value the test can use (``wire`` decides what may cross; a returned Keras model is rebuilt
here). Nothing that comes back is ever written into the grader's own values.
"""

from __future__ import annotations

import builtins
import sys
import time

from . import wire
from .text import MAX_TEXT, cut_text

MAX_PRINTED = MAX_TEXT  # characters of each output stream kept per test cell


class Session:
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


def sandbox_seeder(session: Session):
    """``SANDBOX_SET_SEED(seed)`` for the tests: seeds the submission's process (as ``cl.config.set_seed``),
    so that a test can have the student's functions build there what the student's own experiment built after
    seeding, and compare measurements exactly."""

    def set_seed(seed: int) -> int:
        if type(seed) is not int or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        reply = session.request({"event": "seed", "seed": seed})
        if reply.get("event") != "seeded" or "raised" in reply:
            why = str(reply.get("raised"))[:200]
            raise RuntimeError(f"the submission's process could not be seeded ({why})")
        return seed

    return set_seed


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

    def __init__(self, session: Session, name: str):
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
    shape and dtype (``wire.KerasInput``); the tensors are kept, in order, in ``tensors``. A Keras model
    given as an argument (ps5's base network) crosses as its data (``wire.KerasModel``): the sandbox rebuilds
    its own copy, and the grader's model is never touched by the student's code."""
    keras = sys.modules.get("keras") if str(type(value).__module__).startswith("keras.") else None
    if keras is not None and isinstance(value, keras.Model):
        return wire.KerasModel.of(value)
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
