"""The data that crosses the sandbox's wall: length-prefixed JSON messages, arrays as ``.npy`` bytes.

Both sides use it: the trusted grader (``trusted``) and the driver inside the sandbox (``driver``). Only data
crosses: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, lists, tuples, dicts with string keys,
NumPy arrays of numeric or boolean dtype and NumPy scalars. Nothing is ever unpickled (``np.load`` runs with
``allow_pickle=False``), so an object "equal to everything", a subclass with a patched ``__eq__`` or a
``tf.Tensor`` cannot come back from a student's function: it is refused, and the test that asked for it fails.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import struct
import time

import numpy as np

MAX_MESSAGE = 256 * 1024 * 1024  # bytes; a longer message is a protocol error
MAX_DEPTH = 20
_KINDS = "biufc"  # NumPy dtype kinds that may cross: bool, int, uint, float, complex


class WireError(ValueError):
    """A value that may not cross the wall, or a malformed message."""


def encode(value, *, callables=None, depth: int = 0):
    """A JSON-able form of ``value``.

    Args:
        value: the value (see the module docstring for what is allowed).
        callables: a dict to register callables in (id -> callable) and send as ``{"__fn__": id}``; None
            refuses callables.
        depth: recursion depth (internal).

    Raises:
        WireError: a value of another type, or nesting deeper than ``MAX_DEPTH``.
    """
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return {"__float__": repr(value)}  # keeps nan and inf, which JSON cannot
    if kind is complex:
        return {"__complex__": [repr(value.real), repr(value.imag)]}
    if kind in (list, tuple):
        items = [encode(v, callables=callables, depth=depth + 1) for v in value]
        return items if kind is list else {"__tuple__": items}
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise WireError("only dicts with str keys may cross")
        return {"__dict__": {k: encode(v, callables=callables, depth=depth + 1) for k, v in value.items()}}
    if kind is np.ndarray or isinstance(value, np.generic) and kind.__module__ == "numpy":
        arr = np.asarray(value) if kind is not np.ndarray else value
        if type(arr) is not np.ndarray or arr.dtype.kind not in _KINDS or arr.dtype.hasobject:
            raise WireError(f"arrays of dtype {arr.dtype} may not cross")
        buf = io.BytesIO()
        np.save(buf, np.array(arr, order="C", copy=True), allow_pickle=False)
        tag = "__nd__" if kind is np.ndarray else "__np__"
        return {tag: base64.b64encode(buf.getvalue()).decode("ascii")}
    if callables is not None and callable(value):
        key = str(len(callables))
        callables[key] = value
        return {"__fn__": key}
    raise WireError(
        f"a value of type {kind.__module__}.{kind.__qualname__} may not cross (only numbers, "
        "strings, lists, tuples, dicts and NumPy arrays)"
    )


def decode(value, *, make_callable=None, depth: int = 0):
    """The value ``encode`` encoded.

    Args:
        value: parsed JSON.
        make_callable: turns a ``{"__fn__": id}`` into a callable; None refuses them.
        depth: recursion depth (internal).

    Raises:
        WireError: the message is malformed or holds something that may not cross.
    """
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is list:
        return [decode(v, make_callable=make_callable, depth=depth + 1) for v in value]
    if type(value) is not dict or len(value) != 1:
        raise WireError("malformed value")
    ((tag, body),) = value.items()
    if tag == "__float__" and type(body) is str:
        return float(body)
    if tag == "__complex__" and type(body) is list and len(body) == 2:
        return complex(float(body[0]), float(body[1]))
    if tag == "__tuple__" and type(body) is list:
        return tuple(decode(v, make_callable=make_callable, depth=depth + 1) for v in body)
    if tag == "__dict__" and type(body) is dict:
        return {str(k): decode(v, make_callable=make_callable, depth=depth + 1) for k, v in body.items()}
    if tag in ("__nd__", "__np__") and type(body) is str:
        try:
            arr = np.load(io.BytesIO(base64.b64decode(body, validate=True)), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - anything wrong with the bytes is a malformed message
            raise WireError(f"malformed array ({exc})") from None
        if type(arr) is not np.ndarray or arr.dtype.kind not in _KINDS:
            raise WireError("malformed array")
        return arr if tag == "__nd__" else arr[()]
    if tag == "__fn__" and make_callable is not None and type(body) is str:
        return make_callable(body)
    raise WireError(f"malformed value (tag {tag!r})")


def send(fd: int, message: dict) -> None:
    """Write one message (a dict of JSON-able values, already encoded) to a file descriptor."""
    data = json.dumps(message).encode()
    payload = struct.pack(">I", len(data)) + data
    while payload:
        payload = payload[os.write(fd, payload) :]


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError("no answer from the other side in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd: int, deadline: float | None = None) -> dict:
    """Read one message from a file descriptor.

    Args:
        fd: the descriptor.
        deadline: a ``time.monotonic()`` value after which ``TimeoutError`` is raised; None waits for ever.

    Raises:
        EOFError: the channel was closed.
        WireError: the message is too long or not a JSON object.
    """
    (size,) = struct.unpack(">I", _read_exactly(fd, 4, deadline))
    if size > MAX_MESSAGE:
        raise WireError(f"message of {size} bytes refused")
    try:
        message = json.loads(_read_exactly(fd, size, deadline))
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"malformed message ({exc})") from None
    if type(message) is not dict:
        raise WireError("malformed message")
    return message
