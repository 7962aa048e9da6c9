"""Readers of the downloaded sets' files (MNIST's npz, Fashion-MNIST's idx, CIFAR-10's pickled batches), with
their checksums checked, and nothing executed from a pickle.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile

import numpy as np

from .. import config
from . import files


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle CIFAR batches: plain containers and NumPy arrays only, never arbitrary code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")


def _read_idx(raw: bytes, expected_ndim: int) -> np.ndarray:
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim != expected_ndim:
        raise ValueError(
            f"not an idx file of unsigned bytes with {expected_ndim} dimensions (magic {magic:#x})")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return body.reshape(dims)


def _parse_mnist_npz(paths):
    with np.load(paths[0], allow_pickle=False) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


def _parse_fashion(paths):
    arrays = []
    for path, ndim in zip(paths, (1, 3, 1, 3)):
        with gzip.open(path, "rb") as f:
            arrays.append(_read_idx(f.read(), ndim))
    y_train, x_train, y_test, x_test = arrays
    return x_train, y_train, x_test, y_test


def _cifar_batch(raw: bytes):
    d = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    return np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(d[b"labels"])


def _parse_cifar10(paths):
    batches = {}
    if paths[0].is_dir():  # the folder Keras extracted the archive into
        for path in sorted(paths[0].iterdir()):
            if path.name.startswith("data_batch_") or path.name == "test_batch":
                batches[path.name] = _cifar_batch(path.read_bytes())
    else:
        with tarfile.open(paths[0], "r:gz") as tar:
            for member in tar.getmembers():
                base = member.name.rsplit("/", 1)[-1]
                if base.startswith("data_batch_") or base == "test_batch":
                    batches[base] = _cifar_batch(tar.extractfile(member).read())
    train_names = sorted(n for n in batches if n.startswith("data_batch_"))
    if not train_names or "test_batch" not in batches:
        raise ValueError("the archive holds no data_batch_* or no test_batch file")
    x_train = np.concatenate([batches[n][0] for n in train_names]).transpose(0, 2, 3, 1)
    y_train = np.concatenate([batches[n][1] for n in train_names])
    x_test, y_test = batches["test_batch"]
    return x_train, y_train, x_test.transpose(0, 2, 3, 1), y_test


_PARSERS = {"mnist": _parse_mnist_npz, "fashion_mnist": _parse_fashion, "cifar10": _parse_cifar10}


def read_cached(name: str, found: config.DatasetFiles, verify_hash: bool = True):
    """Read a downloaded set from its files, checked against the published checksums first.

    Args:
        name: "mnist", "fashion_mnist" or "cifar10".
        found: where its files are (``files.locate``), in data/keras or Keras's cache.
        verify_hash: check each file's checksum (an extracted CIFAR-10 folder has none to check).

    Returns:
        ``(x_train, y_train, x_test, y_test)``: images (N, H, W, C) float32 in [0, 1], labels (N,) int64.

    Raises:
        DatasetUnavailable: a file fails its checksum or cannot be read; the message says how to cure it
            (which depends on whether the file is the kit's or Keras's).
    """
    paths = list(found.paths)
    if found.place == "data":
        cure = ("Delete it and load again (or run `make data`) to download it again, or copy a good copy "
                "there.")
    else:
        cure = ("It is in Keras's cache, which the course only reads: delete it there, or run `make data` to "
                "download a good copy into data/keras/.")
    if verify_hash and not paths[0].is_dir():  # an extracted CIFAR folder has no published checksum
        for (_, _, (algorithm, expected)), path in zip(files.KERAS_FILES[name], paths):
            if files.file_digest(path, algorithm) != expected:
                raise files.DatasetUnavailable(
                    f"the cached file {path} for {name} is corrupt or incomplete (its {algorithm.upper()} "
                    f"does not match the published one). {cure}"
                )
    try:
        x_train, y_train, x_test, y_test = _PARSERS[name](paths)
    except Exception as err:  # zlib, tar, pickle and numpy all raise their own types on damaged files
        raise files.DatasetUnavailable(
            f"could not read the cached {name} file(s) {', '.join(map(str, paths))}: "
            f"{type(err).__name__}: {err}. The file is probably corrupt or truncated. {cure}"
        ) from err
    if x_train.ndim == 3:  # grey images: add the channel axis (NHWC)
        x_train, x_test = x_train[..., None], x_test[..., None]
    to_float = lambda a: (np.asarray(a, dtype=np.float32) / 255.0)  # noqa: E731
    return (to_float(x_train), np.asarray(y_train, np.int64).reshape(-1),
            to_float(x_test), np.asarray(y_test, np.int64).reshape(-1))

