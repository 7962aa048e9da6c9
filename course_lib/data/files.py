"""Files on disk and from the network: which datasets exist, where the downloaded ones are kept, and the kit's
one downloader with hash checking.

The downloaded sets (``mnist``, ``fashion_mnist``, ``cifar10``) come from the same addresses as
``keras.datasets``, checked against their published checksums (Keras's SHA-256 for MNIST and CIFAR-10,
Zalando's MD5 for Fashion-MNIST), and are kept in ``data/keras/`` so a course folder carries its own cache.
Files that Keras itself downloaded before (``~/.keras/datasets``, under Keras's own names) are found and read
in place, never written (``config.find_dataset_files`` knows both places).

:func:`download_file` is the kit's only way to the network: the datasets here, the Penn-Fudan archive
(:mod:`course_lib.scenes`) and the ImageNet weights (:mod:`course_lib.pretrained`) all come through it, and
:func:`file_digest` is the one digest every cached file is checked with.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from .. import config
from ..validation import check_choice

KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# file name -> (origin, (hash algorithm, hex digest)). MNIST and CIFAR-10: the SHA-256 that keras.datasets
# checks. Fashion-MNIST: keras.datasets checks nothing; these are the MD5s its authors publish (Zalando's
# README), and Keras's mirror serves the same files (same sizes: 29,515 / 26,421,880 / 5,148 / 4,422,102
# bytes).
_SOURCES: dict[str, tuple[str, tuple[str, str]]] = {
    "mnist.npz": (KERAS_BASE + "mnist.npz",
                  ("sha256", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")),
    "train-labels-idx1-ubyte.gz": (KERAS_BASE + "train-labels-idx1-ubyte.gz",
                                   ("md5", "25c81989df183df01b3e8a0aad5dffbe")),
    "train-images-idx3-ubyte.gz": (KERAS_BASE + "train-images-idx3-ubyte.gz",
                                   ("md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d")),
    "t10k-labels-idx1-ubyte.gz": (KERAS_BASE + "t10k-labels-idx1-ubyte.gz",
                                  ("md5", "bb300cfdad3c16e7a12a480ee83cd310")),
    "t10k-images-idx3-ubyte.gz": (KERAS_BASE + "t10k-images-idx3-ubyte.gz",
                                  ("md5", "bef4ecab320f06d8554ea6380940ec79")),
    "cifar-10-python.tar.gz": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        ("sha256", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")),
}

# name -> files (file name in data/keras, origin, (algorithm, digest)); the names come from config, which also
# knows where Keras keeps the same files.
KERAS_FILES: dict[str, list[tuple[str, str, tuple[str, str]]]] = {
    name: [(f, *_SOURCES[f]) for f in config.DATASET_FILES[name]] for name in config.REAL_DATASETS
}

DOWNLOADED = tuple(KERAS_FILES)
OFFLINE = ("digits", "faces", "photos", "mnist1d", "shapes10")
DEFAULT_FALLBACK = dict(config.STAND_INS)

DOWNLOAD_TIMEOUT_S = 30


class DatasetUnavailable(RuntimeError):
    """A dataset is neither cached nor downloadable here; the message says how to provide it."""


def known_datasets() -> tuple[str, ...]:
    """Every name ``load_dataset`` accepts: the downloaded sets, then the offline ones."""
    return DOWNLOADED + OFFLINE


def check_dataset_name(name, argument: str = "name") -> str:
    """``name`` if it is one of :func:`known_datasets`.

    Raises:
        ValueError: any other value; the message names ``argument``, the choices and the value received.
    """
    return check_choice(name, argument, known_datasets())


def data_folder(data_dir=None) -> Path:
    """The course's data folder: ``data_dir`` as a Path, or ``config.DATA_DIR`` when it is None."""
    return Path(data_dir) if data_dir is not None else config.DATA_DIR


def shown_path(path: str | Path) -> str:
    """``path`` as a message shows it: relative to the checkout when inside it (``data/keras``), ``~/...``
    under the home folder, else absolute (a stored notebook output then does not carry the machine's path)."""
    path = Path(path)
    for base, prefix in ((config.REPO_ROOT, ""), (Path.home(), "~/")):
        try:
            return prefix + path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def cache_paths(name: str, data_dir=None) -> list[Path]:
    """Where the files of a downloaded dataset are expected: ``data/keras/<file>`` ([] for an offline set)."""
    check_dataset_name(name)
    if name not in KERAS_FILES:
        return []
    return [data_folder(data_dir) / "keras" / fname for fname, _, _ in KERAS_FILES[name]]


def locate(name: str, data_dir=None) -> config.DatasetFiles | None:
    """Find a downloaded dataset's files: ``data/keras/`` first, then Keras's own cache (read only).

    Args:
        name: "mnist", "fashion_mnist" or "cifar10".
        data_dir: the data folder; None means ``config.DATA_DIR`` and also searches Keras's caches
            (``$KERAS_HOME/datasets``, ``~/.keras/datasets``). An explicit folder is the only place looked in.

    Returns:
        ``config.DatasetFiles(paths, place)`` or None when the set is not on this machine.
    """
    check_dataset_name(name)
    if name not in KERAS_FILES:
        return None
    return config.find_dataset_files(name, data_dir, keras_cache=data_dir is None)


def is_cached(name: str, data_dir=None) -> bool:
    """True when :func:`locate` finds the dataset's files (in data/keras or Keras's cache)."""
    return locate(name, data_dir) is not None


def available_datasets(data_dir=None) -> dict[str, str]:
    """Each dataset name -> "offline", "cached" (data/keras), "cached by Keras" or "download needed"."""
    status = {}
    for name in DOWNLOADED:
        found = locate(name, data_dir)
        status[name] = ("download needed" if found is None
                        else "cached" if found.place == "data" else "cached by Keras")
    for name in OFFLINE:
        status[name] = "offline"
    return status


def how_to_provide(name: str, data_dir=None) -> str:
    """What to do when a downloaded set is missing: ``make data``, the files to copy by hand, a fallback."""
    lines = ["Run `make data` on a machine with internet access, or put these files there by hand (for "
             "example copied from one):"]
    for (_fname, origin, _), path in zip(KERAS_FILES[name], cache_paths(name, data_dir)):
        lines.append(f"  {origin}  ->  {path}")
    lines.append("or pass fallback= (e.g. load_dataset(" + repr(name) + ", fallback="
                 + repr(DEFAULT_FALLBACK[name]) + ")) to use an offline set instead.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------- hashes, download


def hash_algorithm(file_hash: str, algorithm: str = "auto") -> str:
    """The algorithm of a published digest: ``algorithm`` itself, or for "auto" what ``keras.utils.get_file``
    reads from the length (64 hex digits: "sha256", anything else "md5").

    Raises:
        ValueError: ``algorithm`` is not "auto", "sha256" or "md5".
    """
    algorithm = check_choice(algorithm, "hash_algorithm", ("auto", "sha256", "md5"))
    if algorithm != "auto":
        return algorithm
    return "sha256" if len(file_hash) == 64 else "md5"


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks.

    Args:
        path: the file.
        algorithm: "sha256" or "md5".

    Returns:
        The lower-case hex digest.

    Raises:
        ValueError: another algorithm.
        OSError: the file cannot be read.
    """
    digest = hashlib.new(check_choice(algorithm, "algorithm", ("sha256", "md5")))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DownloadFailed(OSError):
    """The network part of a download failed: no connection, DNS or HTTP error, timeout."""


class ChecksumMismatch(ValueError):
    """Downloaded bytes do not have the published digest (they are not kept)."""


# keras.utils.get_file, reached through this name so that tests can replace the network under it.
_get_file = None


def _keras_get_file(*args, **kwargs):
    if _get_file is not None:
        return _get_file(*args, **kwargs)
    import keras

    return keras.utils.get_file(*args, **kwargs)


def download_file(origin: str, target: str | Path, *, file_hash: str | None = None,
                  algorithm: str = "auto") -> int:
    """Download ``origin`` to ``target`` with ``keras.utils.get_file``, checking the published hash.

    ``get_file`` is pointed at ``target``'s own folder (``cache_dir`` the folder above it, ``cache_subdir``
    its name: ``data`` + ``keras`` for datasets, ``data/keras`` + ``models`` for weights), so the kit's
    existing caches are the ones it sees: a file there with the right hash is kept, a damaged one is
    downloaded again.

    Args:
        origin: the address.
        target: where the file goes (its folder is created).
        file_hash: the published hex digest, or None where none is published (the caller then checks the
            content itself, e.g. that the file loads).
        algorithm: "sha256", "md5", or "auto" (told apart by length, as ``get_file`` does).

    Returns:
        The number of bytes downloaded; 0 when ``target`` was already there with the right hash (or, without
        a hash, at all).

    Raises:
        DownloadFailed: an ``OSError``: no network, DNS or HTTP error, timeout. Nothing is left at ``target``.
        ChecksumMismatch: a ``ValueError``: the downloaded bytes do not have ``file_hash``; they are deleted,
            so a damaged download never looks like a complete file.
    """
    target = Path(target)
    algorithm = hash_algorithm(file_hash, algorithm) if file_hash is not None else "auto"
    if target.is_file() and (file_hash is None or file_digest(target, algorithm) == file_hash):
        return 0
    # get_file writes to /tmp/.keras instead when its cache_dir is not writable, and a missing folder is not.
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # get_file's urlretrieve takes no timeout of its own
    try:
        path = Path(_keras_get_file(target.name, origin, file_hash=file_hash, hash_algorithm=algorithm,
                                    cache_dir=str(target.parent.parent), cache_subdir=target.parent.name))
    except ValueError as err:  # get_file checked the fresh download against file_hash and it differs
        got = file_digest(target, algorithm) if target.is_file() else "(no file)"
        target.unlink(missing_ok=True)
        raise ChecksumMismatch(f"the file downloaded from {origin} has {algorithm.upper()} {got}, not the "
                               f"published {file_hash}: it was not kept") from err
    except Exception as err:  # get_file turns urllib's errors into plain Exceptions ("URL fetch failure")
        target.unlink(missing_ok=True)
        raise DownloadFailed(f"the request for {origin} failed ({type(err).__name__}: {err})") from err
    finally:
        socket.setdefaulttimeout(previous)
    if path.resolve() != target.resolve():
        raise DownloadFailed(f"keras.utils.get_file saved {origin} to {path}, not {target}: is "
                             f"{target.parent} writable?")
    return target.stat().st_size


def download_dataset(name: str, data_dir=None) -> list[tuple[Path, int]]:
    """Fetch the missing or damaged files of a downloaded set into ``data/keras/``, checksum-checked.

    Args:
        name: "mnist", "fashion_mnist" or "cifar10".
        data_dir: the data folder (default ``config.DATA_DIR``).

    Returns:
        (path, bytes) for each file downloaded (none for files already there with the right checksum).

    Raises:
        DownloadFailed, ChecksumMismatch: as for :func:`download_file`.
    """
    fetched = []
    for (_fname, origin, (algorithm, digest)), path in zip(KERAS_FILES[name], cache_paths(name, data_dir)):
        size = download_file(origin, path, file_hash=digest, algorithm=algorithm)
        if size:
            fetched.append((path, size))
    return fetched
