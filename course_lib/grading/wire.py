"""The data that crosses the sandbox's wall: length-prefixed JSON messages, arrays as ``.npy`` bytes.

Both sides use it: the trusted grader (``trusted``) and the driver inside the sandbox (``driver``). Only data
crosses: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, lists, tuples, dicts with string keys,
NumPy arrays of numeric or boolean dtype and NumPy scalars. Nothing is ever unpickled (``np.load`` runs with
``allow_pickle=False``), so an object "equal to everything", a subclass with a patched ``__eq__`` or a
``tf.Tensor`` cannot come back from a student's function: it is refused, and the test that asked for it fails.

Keras models cross as data too (``KerasModel``): their JSON config (``model.to_json()``) and their
weights (``model.get_weights()``, numeric arrays), rebuilt on the other side by ``rebuild_model`` with
Keras's safe mode and an explicit refusal of ``Lambda`` layers and of any class outside Keras. A symbolic
tensor given to a student's function (``residual_block(x, ...)``) crosses as its shape and dtype
(``KerasInput``); the tensor such a function returns comes back as the model from those inputs to it
(``KerasModel.call``), which the grader applies to its own tensor.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import struct
import time
from dataclasses import dataclass

import numpy as np

MAX_MESSAGE = 256 * 1024 * 1024  # bytes; a longer message is a protocol error
MAX_DEPTH = 20
# Bytes of one array, and of all the arrays of one message, that may cross (a 190 MB array that a grader-side
# function broadcast to 18 GB was the attack; a ps3/ps4 model's weights are a few MB).
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_ARRAY_ELEMENTS = 16 * 1024 * 1024
HEADER_CHARS = 4 * 1024  # base64 characters decoded to read a .npy header (np.save writes about 128 bytes)
_KINDS = "biufc"  # NumPy dtype kinds that may cross: bool, int, uint, float, complex


class WireError(ValueError):
    """A value that may not cross the wall, or a malformed message."""


class RefusedMessage(WireError):
    """A message read whole (its length prefix was honest, so the channel is still in step) but refused: not
    JSON, not an object, or nested too deeply. The reader may drop it and read the next one."""


KERAS_MODULES = ("keras",)  # the modules a model's config may name (Keras's own classes and functions only)
REFUSED_CLASSES = ("Lambda", "__lambda__", "TFSMLayer")


def _check_config(node, depth: int = 0) -> None:
    if depth > 200:
        raise WireError("keras model config nested too deeply")
    if isinstance(node, list):
        for item in node:
            _check_config(item, depth + 1)
    elif isinstance(node, dict):
        name = node.get("class_name")
        if name in REFUSED_CLASSES:
            raise WireError(f"a keras model with a {name} layer is refused (no Python code may cross)")
        module = node.get("module")
        if "class_name" in node and module is not None and (
            type(module) is not str or module.split(".")[0] not in KERAS_MODULES
        ):
            raise WireError(f"a keras model naming {module!r}.{name} is refused (only Keras's own classes)")
        if node.get("registered_name") not in (None, name) and "class_name" in node:
            custom = node.get("registered_name")
            raise WireError(f"a keras model with the custom object {custom!r} is refused")
        for value in node.values():
            _check_config(value, depth + 1)


@dataclass(frozen=True)
class KerasModel:
    """A Keras model as data: its JSON config and its weights (numeric arrays), validated when made.

    ``call`` is True when it stands for the tensor a student's function returned: the grader applies it to its
    own input tensors (see the module docstring).
    """

    config: str
    weights: tuple
    call: bool = False

    def __post_init__(self):
        if type(self.config) is not str:
            raise WireError("a keras model's config must be a JSON string")
        try:
            parsed = json.loads(self.config)
        except ValueError:
            raise WireError("a keras model's config must be a JSON string") from None
        if type(parsed) is not dict or "class_name" not in parsed:
            raise WireError("a keras model's config must be a JSON object naming its class")
        _check_config(parsed)
        if type(self.weights) not in (list, tuple) or not all(
            type(w) is np.ndarray and w.dtype.kind in _KINDS and not w.dtype.hasobject for w in self.weights
        ):
            raise WireError("a keras model's weights must be a list of numeric arrays")
        object.__setattr__(self, "weights", tuple(self.weights))
        if type(self.call) is not bool:
            raise WireError("malformed keras model")

    @classmethod
    def of(cls, model, *, call: bool = False) -> KerasModel:
        """The data of a live Keras model."""
        return cls(model.to_json(), [np.asarray(w) for w in model.get_weights()], call)


@dataclass(frozen=True)
class KerasInput:
    """A symbolic Keras tensor given as an argument: its shape (batch dimension included) and dtype."""

    shape: tuple
    dtype: str

    def __post_init__(self):
        if type(self.shape) not in (list, tuple) or not all(d is None or type(d) is int for d in self.shape):
            raise WireError("malformed keras input shape")
        object.__setattr__(self, "shape", tuple(self.shape))
        if type(self.dtype) is not str or not self.dtype.isidentifier():
            raise WireError("malformed keras input dtype")


def rebuild_model(data: KerasModel, custom_objects: dict | None = None):
    """A live Keras model from ``KerasModel`` data: ``keras.models.model_from_json`` in safe mode (no
    lambdas), then ``set_weights``.

    Args:
        data: the model's data (already validated).
        custom_objects: the kit's own layers, for an assignment that needs them; nothing else.

    Raises:
        WireError: Keras refused the config (an unknown class, a lambda, ...) or the weights do not fit.
    """
    import keras

    try:
        model = keras.models.model_from_json(data.config, custom_objects=custom_objects)
        model.set_weights(list(data.weights))
    except Exception as exc:  # noqa: BLE001 - whatever Keras refuses is a value that cannot be graded
        why = f"{type(exc).__name__}: {str(exc)[:300]}"
        raise WireError(f"the keras model could not be rebuilt ({why})") from None
    return model


def _check_array_size(arr: np.ndarray) -> None:
    """Refuse an array with more than ``MAX_ARRAY_ELEMENTS`` entries (whatever its dtype: a uint8 array that
    a function broadcasts or casts to float64 grows eightfold) or more than ``MAX_ARRAY_BYTES`` bytes."""
    if arr.size > MAX_ARRAY_ELEMENTS or arr.nbytes > MAX_ARRAY_BYTES:
        raise WireError(
            f"an array of shape {arr.shape} ({arr.size:,} entries) is larger than may cross "
            f"({MAX_ARRAY_ELEMENTS:,} entries, {MAX_ARRAY_BYTES // 2**20} MiB)"
        )


def _load_array(text: str) -> np.ndarray:
    """An array from base64 ``.npy`` bytes, its header checked before anything large is made: ``np.load``
    allocates the shape the header claims before it finds that the bytes are missing (a forged 40-byte
    header could ask for terabytes), and a 190 MB array is refused before its 190 MB are decoded."""
    head = base64.b64decode(text[:HEADER_CHARS], validate=True)
    if len(head) >= 12 and head[6:8] == b"\x02\x00":  # a version 2.0 header may be up to 4 GB long: refuse
        (header_len,) = struct.unpack("<I", head[8:12])
        if header_len > len(head) - 12:
            raise WireError("malformed array (header too long)")
    buf = io.BytesIO(head)
    version = np.lib.format.read_magic(buf)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(buf)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(buf)
    else:  # what np.save writes for these dtypes is 1.0 (2.0 for a header over 64 KiB)
        raise WireError(f"malformed array (.npy version {version})")
    if type(shape) is not tuple or not all(type(d) is int and d >= 0 for d in shape):
        raise WireError("malformed array (shape)")
    count = 1
    for d in shape:
        count *= d
    if count > MAX_ARRAY_ELEMENTS or count * dtype.itemsize > MAX_ARRAY_BYTES:
        raise WireError(
            f"an array of shape {shape} is larger than may cross ({MAX_ARRAY_ELEMENTS:,} entries, "
            f"{MAX_ARRAY_BYTES // 2**20} MiB)"
        )
    raw = base64.b64decode(text, validate=True)
    if len(raw) - buf.tell() != count * dtype.itemsize:
        raise WireError("malformed array (its bytes do not match its header)")
    return np.load(io.BytesIO(raw), allow_pickle=False)


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
    if kind is KerasModel:
        weights = [encode(w, depth=depth + 1) for w in value.weights]
        return {"__keras__": {"config": value.config, "weights": weights, "call": value.call}}
    if kind is KerasInput:
        return {"__keras_input__": {"shape": list(value.shape), "dtype": value.dtype}}
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
            arr = _load_array(body)
        except WireError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything wrong with the bytes is a malformed message
            raise WireError(f"malformed array ({exc})") from None
        if type(arr) is not np.ndarray or arr.dtype.kind not in _KINDS:
            raise WireError("malformed array")
        _check_array_size(arr)
        return arr if tag == "__nd__" else arr[()]
    if tag == "__keras__" and type(body) is dict and set(body) == {"config", "weights", "call"}:
        weights = body["weights"]
        if type(weights) is not list or not all(type(w) is dict and set(w) == {"__nd__"} for w in weights):
            raise WireError("a keras model's weights must be a list of numeric arrays")
        return KerasModel(body["config"], [decode(w, depth=depth + 1) for w in weights], body["call"])
    if tag == "__keras_input__" and type(body) is dict and set(body) == {"shape", "dtype"}:
        return KerasInput(body["shape"], body["dtype"])
    if tag == "__fn__" and make_callable is not None and type(body) is str:
        return make_callable(body)
    raise WireError(f"malformed value (tag {tag!r})")


def send(fd: int, message: dict, deadline: float | None = None) -> None:
    """Write one message (a dict of JSON-able values, already encoded) to a file descriptor.

    Args:
        fd: the descriptor.
        message: the message.
        deadline: a ``time.monotonic()`` value after which ``TimeoutError`` is raised; None waits for ever.
            The grader always gives one: a sandbox that stops reading would otherwise block it in ``write``
            as soon as a message outgrows the pipe's buffer (64 KiB).
    """
    data = json.dumps(message).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([], [fd], [], wait)[1]:
                raise TimeoutError("the other side stopped reading")
            # select says at least one byte fits: write no more than the pipe takes without blocking
            os.set_blocking(fd, False)
            try:
                written = os.write(fd, view[: 1 << 16])
            except BlockingIOError:
                written = 0
            finally:
                os.set_blocking(fd, True)
        else:
            written = os.write(fd, view)
        view = view[written:]


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
        RefusedMessage: the message was read but is not a JSON object (the next one may be read).
        WireError: the message is longer than ``MAX_MESSAGE`` (the channel is out of step).
    """
    (size,) = struct.unpack(">I", _read_exactly(fd, 4, deadline))
    if size > MAX_MESSAGE:
        raise WireError(f"message of {size} bytes refused")
    body = _read_exactly(fd, size, deadline)
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RefusedMessage(f"a message that is not JSON ({str(exc)[:100]})") from None
    except RecursionError:  # JSON nested deeper than the parser's stack (a 100,000-deep list)
        raise RefusedMessage("a message nested too deeply") from None
    if type(message) is not dict:
        raise RefusedMessage("a message that is not a JSON object")
    return message
