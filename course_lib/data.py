"""Datasets for the course: Keras downloads cached under ``data/``, and offline sets that need no network.

Every loader returns a :class:`Dataset` of NHWC ``float32`` images in [0, 1] with ``int64`` labels, which
unpacks like ``keras.datasets``::

    (x_train, y_train), (x_test, y_test) = load_dataset("mnist", fallback="digits")

Downloaded sets (``mnist``, ``fashion_mnist``, ``cifar10``) are fetched from the same addresses as
``keras.datasets`` and checked against their published checksums (Keras's SHA-256 for MNIST and CIFAR-10,
Zalando's MD5 for Fashion-MNIST), but kept in ``data/keras/`` so a course folder carries its own cache. Files
that Keras itself downloaded before (``~/.keras/datasets``, under Keras's own names) are found and read in
place, never written. ``make data`` (``python -m course_lib.data fetch``) downloads all three. In quick mode
a set that is on disk is used; one that is not is never downloaded: its ``fallback`` is used and one line says
so.

Offline sets:
    digits    scikit-learn's 1,797 handwritten digits, 8x8; ``image_size=28`` or ``32`` centres the digit in a
              20x20 box the way MNIST does (28) and LeNet's padded input does (32).
    faces     scikit-image's ``lfw_subset``: 100 faces and 100 non-faces, 25x25 grey.
    photos    the colour and grey photographs shipped with scikit-image and scikit-learn, resized to a square
              (one per class; for filter demos, not for training). See also :func:`load_photo`.
    mnist1d   Greydanus' MNIST-1D, generated locally by the ``mnist1d`` package (never its download path):
              4,000 + 1,000 signals of length 40, shape (N, 40, 1). These values are NOT in [0, 1]: they are
              the generator's zero-centred signals, as in the dataset's paper.
    shapes10  ten classes of coloured shapes on noisy backgrounds, 32x32x3 like CIFAR-10, generated from the
              seed (see :func:`make_shapes10`).
    scenes    several shapes10 objects per 64x64 image with boxes and masks, for detection and segmentation
              (loaded by its sibling :func:`course_lib.scenes.load_scene_dataset`, which also loads the real
              ``"pennfudan"``; scenes imports data, never the reverse).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import random
import sys
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config
from .validation import check_bool, check_choice, check_int, check_optional_positive_int, check_positive_int

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

CLASS_NAMES = {
    "mnist": tuple(str(i) for i in range(10)),
    "digits": tuple(str(i) for i in range(10)),
    "mnist1d": tuple(str(i) for i in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "shapes10": ("circle", "ring", "square", "frame", "triangle", "cross", "star", "bar", "crescent", "pair"),
    "faces": ("not face", "face"),
}

OFFLINE = ("digits", "faces", "photos", "mnist1d", "shapes10")
DOWNLOADED = tuple(KERAS_FILES)
DEFAULT_FALLBACK = dict(config.STAND_INS)

# skimage.data and sklearn photographs that ship inside the installed packages (no download).
_SKIMAGE_PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "brick")
_SKLEARN_PHOTOS = ("china", "flower")

DOWNLOAD_TIMEOUT_S = 30


class DatasetUnavailable(RuntimeError):
    """A dataset is neither cached nor downloadable here; the message says how to provide it."""


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays plus what was actually loaded.

    Attributes:
        x_train, x_test: (N, H, W, C) float32 in [0, 1] (mnist1d: (N, 40, 1), zero-centred).
        y_train, y_test: (N,) int64 class indices.
        class_names: one name per class index.
        name: the set actually loaded; requested: the name asked for (differs when a fallback was used).
        source: "offline", "cache" or "download".
        note: one line on what was used and why ("" when nothing needs saying).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    requested: str
    source: str
    note: str = field(default="")

    def __iter__(self):
        yield (self.x_train, self.y_train)
        yield (self.x_test, self.y_test)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def known_datasets() -> tuple[str, ...]:
    return DOWNLOADED + OFFLINE


# Sets with boxes and masks; course_lib.scenes loads them (load_dataset names the right call).
SCENE_DATASETS = ("scenes", "pennfudan")


def _check_name(name, argument="name"):
    return check_choice(name, argument, known_datasets())


def _data_dir(data_dir) -> Path:
    return Path(data_dir) if data_dir is not None else config.DATA_DIR


def cache_paths(name: str, data_dir=None) -> list[Path]:
    """Where the files of a downloaded dataset are expected: ``data/keras/<file>``."""
    _check_name(name)
    if name not in KERAS_FILES:
        return []
    return [_data_dir(data_dir) / "keras" / fname for fname, _, _ in KERAS_FILES[name]]


def locate(name: str, data_dir=None) -> config.DatasetFiles | None:
    """Find a downloaded dataset's files: ``data/keras/`` first, then Keras's own cache (read only).

    Args:
        name: "mnist", "fashion_mnist" or "cifar10".
        data_dir: the data folder; None means ``config.DATA_DIR`` and also searches Keras's caches
            (``$KERAS_HOME/datasets``, ``~/.keras/datasets``). An explicit folder is the only place looked in.

    Returns:
        ``config.DatasetFiles(paths, place)`` or None when the set is not on this machine.
    """
    _check_name(name)
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


# --------------------------------------------------------------------------------------------- downloads


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _how_to_provide(name: str, data_dir) -> str:
    lines = ["Run `make data` on a machine with internet access, or put these files there by hand (for "
             "example copied from one):"]
    for (_fname, origin, _), path in zip(KERAS_FILES[name], cache_paths(name, data_dir)):
        lines.append(f"  {origin}  ->  {path}")
    lines.append("or pass fallback= (e.g. load_dataset(" + repr(name) + ", fallback="
                 + repr(DEFAULT_FALLBACK[name]) + ")) to use an offline set instead.")
    return "\n".join(lines)


# The network is reached only through this name, so that tests can replace it.
_urlopen = urllib.request.urlopen


def _fetch_file(origin: str, target: Path, checksum: tuple[str, str]) -> int:
    """Download ``origin`` to ``target``, checking its checksum; returns the number of bytes.

    The bytes go to ``target.part`` first and are renamed only once the checksum matches, so an interrupted or
    corrupted download never leaves a file that looks complete.

    Raises:
        OSError: no network, HTTP error, timeout (urllib's errors are OSErrors).
        ValueError: the downloaded bytes do not match the published checksum (nothing is kept).
    """
    algorithm, expected = checksum
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    digest, size = hashlib.new(algorithm), 0
    try:
        with _urlopen(origin, timeout=DOWNLOAD_TIMEOUT_S) as response, open(part, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if digest.hexdigest() != expected:
            raise ValueError(f"the file downloaded from {origin} has {algorithm.upper()} "
                             f"{digest.hexdigest()}, not the published {expected}: it was not kept")
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    return size


def _download(name: str, data_dir) -> list[tuple[Path, int]]:
    """Fetch the missing or damaged files of ``name`` into data/keras/, checksum-checked.

    Returns:
        (path, bytes) for each file downloaded.
    """
    fetched = []
    for (_fname, origin, checksum), path in zip(KERAS_FILES[name], cache_paths(name, data_dir)):
        if path.is_file() and _file_digest(path, checksum[0]) == checksum[1]:
            continue
        fetched.append((path, _fetch_file(origin, path, checksum)))
    return fetched


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


def _load_cached(name: str, found: config.DatasetFiles, verify_hash: bool):
    paths = list(found.paths)
    if found.place == "data":
        cure = ("Delete it and load again (or run `make data`) to download it again, or copy a good copy "
                "there.")
    else:
        cure = ("It is in Keras's cache, which the course only reads: delete it there, or run `make data` to "
                "download a good copy into data/keras/.")
    if verify_hash and not paths[0].is_dir():  # an extracted CIFAR folder has no published checksum
        for (_, _, (algorithm, expected)), path in zip(KERAS_FILES[name], paths):
            if _file_digest(path, algorithm) != expected:
                raise DatasetUnavailable(
                    f"the cached file {path} for {name} is corrupt or incomplete (its {algorithm.upper()} "
                    f"does not match the published one). {cure}"
                )
    try:
        x_train, y_train, x_test, y_test = _PARSERS[name](paths)
    except Exception as err:  # zlib, tar, pickle and numpy all raise their own types on damaged files
        raise DatasetUnavailable(
            f"could not read the cached {name} file(s) {', '.join(map(str, paths))}: "
            f"{type(err).__name__}: {err}. The file is probably corrupt or truncated. {cure}"
        ) from err
    if x_train.ndim == 3:  # grey images: add the channel axis (NHWC)
        x_train, x_test = x_train[..., None], x_test[..., None]
    to_float = lambda a: (np.asarray(a, dtype=np.float32) / 255.0)  # noqa: E731
    return (to_float(x_train), np.asarray(y_train, np.int64).reshape(-1),
            to_float(x_test), np.asarray(y_test, np.int64).reshape(-1))


# ------------------------------------------------------------------------------------------ offline sets


def _place_in_box(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, h, w) images so the content fills a 20x20 box centred in size x size (MNIST's layout).

    Sizes below 20 are a plain resize to size x size.
    """
    from skimage.transform import resize

    box = 20 if size >= 20 else size
    n = len(images)
    scaled = resize(images, (n, box, box), order=1, anti_aliasing=False, preserve_range=True)
    out = np.zeros((n, size, size), dtype=np.float32)
    start = (size - box) // 2
    out[:, start:start + box, start:start + box] = scaled
    return out


def _split(x, y, test_fraction, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)


def _digits(image_size, seed):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    if image_size not in (None, 8):
        images = _place_in_box(images, image_size)
    x_train, x_test, y_train, y_test = _split(images[..., None], bunch.target, 0.2, seed)
    return x_train, y_train, x_test, y_test


def _faces(image_size, seed):
    from skimage.data import lfw_subset

    images = lfw_subset().astype(np.float32)  # first 100 are faces, the next 100 are not
    labels = np.r_[np.ones(100), np.zeros(100)].astype(np.int64)
    if image_size not in (None, 25):
        from skimage.transform import resize

        images = resize(images, (len(images), image_size, image_size), order=1, preserve_range=True)
    x_train, x_test, y_train, y_test = _split(images[..., None].astype(np.float32), labels, 0.25, seed)
    return x_train, y_train, x_test, y_test


def photo_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_photo`: photographs that ship with scikit-image and scikit-learn."""
    return _SKIMAGE_PHOTOS + _SKLEARN_PHOTOS


def load_photo(name: str, *, size=None, gray: bool = False) -> np.ndarray:
    """One real photograph as float32 in [0, 1].

    Args:
        name: one of :func:`photo_names` (e.g. "astronaut", "camera", "chelsea", "china").
        size: None keeps the original size; an int gives size x size; a pair (height, width) that size.
        gray: return luminance only, shape (H, W, 1); otherwise (H, W, 3) (grey photos are repeated).

    Returns:
        (H, W, 3) or (H, W, 1) float32 array in [0, 1].

    Raises:
        ValueError: unknown name or bad size.
    """
    if name not in photo_names():
        raise ValueError(f"unknown photo name={name!r}; available photos: {', '.join(photo_names())}")
    if name in _SKLEARN_PHOTOS:
        from sklearn.datasets import load_sample_image

        image = load_sample_image(f"{name}.jpg")
    else:
        import skimage.data

        image = getattr(skimage.data, name)()
    image = np.asarray(image, dtype=np.float32) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if size is not None:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            size = (int(size), int(size))
        if (not isinstance(size, tuple) or len(size) != 2
                or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size)):
            raise ValueError(f"size must be None, a positive int or a (height, width) pair, got {size!r}")
        from skimage.transform import resize

        image = resize(image, (*size, 3), order=1, anti_aliasing=True, preserve_range=True)
    if gray:
        # ITU-R BT.601 luma weights, the usual RGB -> grey conversion
        image = (image @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def _photos(image_size, seed):
    size = image_size or 128
    names = photo_names()
    x = np.stack([load_photo(n, size=size) for n in names])
    y = np.arange(len(names), dtype=np.int64)
    empty = np.zeros((0, size, size, 3), np.float32)
    return x, y, empty, np.zeros((0,), np.int64), names


def _mnist1d(seed, data_dir):
    # Generating takes about two seconds; the result is cached so later notebooks load it at once.
    cache = _data_dir(data_dir) / f"mnist1d_seed{seed}.npz"
    if cache.exists():
        try:
            with np.load(cache) as f:
                return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        except Exception:  # a damaged cache of generated data is simply generated again
            cache.unlink()
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = 42 + seed  # seed 0 gives the dataset paper's standard split (its generator seed is 42)
    # make_dataset reseeds the global NumPy and Python generators; put them back so that loading data never
    # changes what a notebook's later random draws are.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = (made["x"][..., None].astype(np.float32), made["y"].astype(np.int64),
              made["x_test"][..., None].astype(np.float32), made["y_test"].astype(np.int64))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    return arrays


def _shape_masks(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean masks of one shape class in normalised, rotated coordinates (u, v), each (n, H, W)."""
    r = np.hypot(u, v)
    theta = np.arctan2(v, u)
    if label == 0:  # circle
        return r < 0.9
    if label == 1:  # ring
        return (r < 0.95) & (r > 0.55)
    if label == 2:  # square
        return np.maximum(abs(u), abs(v)) < 0.75
    if label == 3:  # frame: hollow square
        m = np.maximum(abs(u), abs(v))
        return (m < 0.8) & (m > 0.48)
    if label == 4:  # equilateral triangle
        s3 = np.sqrt(3.0)
        return (v > -0.5) & (s3 * u + v < 1.0) & (-s3 * u + v < 1.0)
    if label == 5:  # plus-shaped cross
        return ((abs(u) < 0.28) & (abs(v) < 0.95)) | ((abs(v) < 0.28) & (abs(u) < 0.95))
    if label == 6:  # five-pointed star
        return r < 0.42 + 0.55 * np.maximum(0.0, np.cos(5.0 * theta)) ** 2
    if label == 7:  # bar: long thin rectangle
        return (abs(u) < 0.95) & (abs(v) < 0.22)
    if label == 8:  # crescent: a disc with a shifted disc removed
        return (r < 0.9) & (np.hypot(u - 0.45, v) > 0.7)
    if label == 9:  # pair of dots
        return (np.hypot(u - 0.5, v) < 0.38) | (np.hypot(u + 0.5, v) < 0.38)
    raise AssertionError(label)


def make_shapes10(n: int, *, seed: int = 0, image_size: int = 32, return_masks: bool = False):
    """Generate ``n`` coloured shape images in ten classes, deterministically from ``seed``.

    Each image has a random dark background colour with a brightness gradient, a random bright foreground
    colour, a shape of random size (radius 7 to 12 pixels at 32x32), position and rotation, a thin
    distractor stroke, and Gaussian pixel noise. A logistic regression on raw pixels does far worse
    than a small CNN on it, which is the point: the classes are defined by shape, not by where pixels are.

    Args:
        n: number of images (positive int).
        seed: generator seed; the same seed always gives the same arrays.
        image_size: side length in pixels (>= 16).
        return_masks: also return where each shape is, to score a heat map against the object (the images
            and labels are the same either way).

    Returns:
        images (n, image_size, image_size, 3) float32 in [0, 1], labels (n,) int64 balanced over 10 classes;
        with ``return_masks`` a third array, masks (n, image_size, image_size) bool, True on the pixels
        painted in the shape's colour (the distractor stroke and the background are False).
    """
    n = check_positive_int(n, "n")
    image_size = check_int(image_size, "image_size", minimum=16)
    return_masks = check_bool(return_masks, "return_masks")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
    size = int(image_size)
    scale = size / 32.0
    f32 = np.float32
    yy, xx = (np.mgrid[0:size, 0:size].astype(f32) + f32(0.5))
    col = lambda a: np.asarray(a, dtype=f32)[:, None, None]  # noqa: E731 - per-image value over the grid

    radius = rng.uniform(7.0, 12.0, n) * scale
    cx = rng.uniform(radius, size - radius)
    cy = rng.uniform(radius, size - radius)
    angle = rng.uniform(0, 2 * np.pi, n)
    dx = (xx[None] - col(cx)) / col(radius)
    dy = (yy[None] - col(cy)) / col(radius)
    u = col(np.cos(angle)) * dx + col(np.sin(angle)) * dy
    v = col(-np.sin(angle)) * dx + col(np.cos(angle)) * dy
    del dx, dy

    mask = np.zeros((n, size, size), dtype=bool)
    for label in range(10):
        idx = np.flatnonzero(labels == label)
        mask[idx] = _shape_masks(label, u[idx], v[idx])
    del u, v

    # Colours: a dark background and a bright foreground, hues free. The brightness gap keeps every shape's
    # outline visible to a grey edge detector; the free hues keep colour itself from naming the class.
    background = rng.uniform(0.0, 0.45, (n, 3))
    foreground = rng.uniform(0.55, 1.0, (n, 3))
    gradient_dir = rng.uniform(0, 2 * np.pi, n)
    strength = rng.uniform(0, 0.4, n)
    gradient = (col(np.cos(gradient_dir) * strength) * (xx[None] / size - f32(0.5))
                + col(np.sin(gradient_dir) * strength) * (yy[None] / size - f32(0.5)))
    images = background.astype(f32)[:, None, None, :] + gradient[..., None]
    del gradient

    # Distractor: a thin straight stroke in a third colour, so edges alone do not give the class away.
    for _ in range(1):
        px, py = rng.uniform(0, size, n), rng.uniform(0, size, n)
        phi = rng.uniform(0, np.pi, n)
        ox, oy = xx[None] - col(px), yy[None] - col(py)
        dist = np.abs(col(np.cos(phi)) * oy - col(np.sin(phi)) * ox)
        stroke = (dist < 0.6 * scale) & (ox * ox + oy * oy < col(rng.uniform(3, 6, n) * scale) ** 2)
        colour = rng.uniform(0, 1, (n, 3)).astype(f32)
        images[stroke] = np.repeat(colour, stroke.reshape(n, -1).sum(1), axis=0)

    images[mask] = np.repeat(foreground.astype(f32), mask.reshape(n, -1).sum(1), axis=0)
    images += rng.standard_normal(images.shape, dtype=f32) * f32(0.04)
    np.clip(images, 0, 1, out=images)
    return (images, labels, mask) if return_masks else (images, labels)


def _shapes10(n_train, n_test, seed, image_size):
    x_train, y_train = make_shapes10(n_train or 10000, seed=seed, image_size=image_size or 32)
    # The test set comes from a different stream of the same generator, so it never repeats a training image.
    x_test, y_test = make_shapes10(n_test or 2000, seed=seed + 1_000_003, image_size=image_size or 32)
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------------------- preprocessing


def standardize_per_image(images, *, eps: float = 1e-3) -> np.ndarray:
    """Give every colour channel of every image mean 0 and variance 1 over its own pixels.

    On shapes10 a small network then need not learn to ignore each image's colours before it can learn shapes,
    which is what lets the quick-mode training runs converge in a few epochs.

    Args:
        images: (N, H, W, C) array.
        eps: added to the variance, so a flat channel maps to zeros instead of dividing by zero.

    Returns:
        (N, H, W, C) float32 array.

    Raises:
        ValueError: images is not 4-D.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got shape {images.shape}")
    mean = images.mean(axis=(1, 2), keepdims=True)
    return (images - mean) / np.sqrt(images.var(axis=(1, 2), keepdims=True) + np.float32(eps))


# ---------------------------------------------------------------------------------------------- loader


def _subset(x, y, n, seed, argument):
    if n is None:
        return x, y
    if n > len(x):
        raise ValueError(f"{argument}={n} is larger than the {len(x)} examples available")
    idx = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
    return x[idx], y[idx]


def _resize_keras_images(x, image_size):
    if image_size is None or image_size == x.shape[1]:
        return x
    if x.shape[1] == 28 and image_size == 32:
        return np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))  # LeNet-5's 32x32 input: MNIST padded by two
    from skimage.transform import resize

    out = resize(x, (len(x), image_size, image_size, x.shape[-1]), order=1, preserve_range=True)
    return out.astype(np.float32)


def _load_offline(name, *, n_train, n_test, image_size, seed, data_dir):
    names = CLASS_NAMES.get(name)
    if name == "digits":
        arrays = _digits(image_size, seed)
    elif name == "faces":
        arrays = _faces(image_size, seed)
    elif name == "photos":
        *arrays, names = _photos(image_size, seed)
    elif name == "mnist1d":
        if image_size is not None:
            raise ValueError(f"image_size does not apply to mnist1d (1-D signals), got {image_size!r}")
        arrays = _mnist1d(seed, data_dir)
    else:
        arrays = _shapes10(n_train, n_test, seed, image_size)
    return arrays, tuple(names)


def load_dataset(name: str, *, fallback: str | None = None, n_train: int | None = None,
                 n_test: int | None = None, image_size: int | None = None, seed: int = 0,
                 data_dir=None, verify_hash: bool = True, download: bool = True) -> Dataset:
    """Load a dataset by name as NHWC float32 in [0, 1] with int64 labels.

    Args:
        name: one of ``known_datasets()``: mnist, fashion_mnist, cifar10, digits, faces, photos, mnist1d,
            shapes10.
        fallback: an offline set to use when ``name`` needs a download that cannot happen (in quick mode the
            download is not even tried). One line is printed saying what was used and why.
        n_train, n_test: keep a random subset of this many examples (seeded); None keeps all.
        image_size: side length to resize to (digits: 28/32 centre the digit like MNIST; mnist: 32 pads by 2).
        seed: seeds the split of the offline sets, the generated sets and the subsets.
        data_dir: the cache folder (default ``config.DATA_DIR``, i.e. ``data/``). Left at None, files that
            Keras downloaded before (``~/.keras/datasets``, under Keras's names) are used too, read only.
        verify_hash: check cached downloads against their published checksums (turn off only for hand-made
            files).
        download: False never touches the network: an uncached set then uses its fallback or raises.

    Returns:
        A :class:`Dataset`; ``(x_train, y_train), (x_test, y_test) = load_dataset(...)`` also works.

    Raises:
        ValueError: unknown name or fallback, bad n_train / n_test / image_size.
        DatasetUnavailable: a download set is not cached, cannot be downloaded and has no fallback, or its
            cached file is corrupt.
    """
    if name in SCENE_DATASETS:  # boxes and masks, not one label per image: their loader is a sibling module
        raise ValueError(f"name {name!r} is a detection/segmentation set: load it with "
                         f"course_lib.scenes.load_scene_dataset({name!r}, ...) (boxes, labels and masks)")
    _check_name(name)
    if fallback is not None:
        _check_name(fallback, "fallback")
        if fallback not in OFFLINE:
            raise ValueError(f"fallback must be an offline dataset ({', '.join(OFFLINE)}), got {fallback!r}")
    n_train = check_optional_positive_int(n_train, "n_train")
    n_test = check_optional_positive_int(n_test, "n_test")
    if image_size is not None:
        image_size = check_int(image_size, "image_size", minimum=4, maximum=512)
    seed = check_int(seed, "seed", minimum=0)

    source, note, loaded = "offline", "", name
    if name in DOWNLOADED:
        arrays = None
        found = locate(name, data_dir)
        if found is not None:
            arrays, source = _load_cached(name, found, verify_hash), "cache"
            if found.place == "keras cache":
                note = f"{name}: read from Keras's cache, {found.paths[0].parent}"
        elif fallback is not None and config.is_quick():
            note = (f"{name} is not cached in {_data_dir(data_dir) / 'keras'} and quick mode does not "
                    f"download: using {fallback} instead")
        elif not download:
            if fallback is None:
                raise DatasetUnavailable(
                    f"{name} is not cached and download=False.\n" + _how_to_provide(name, data_dir))
            note = f"{name} is not cached and download=False: using {fallback} instead"
        else:
            try:
                _download(name, data_dir)
                downloaded = config.DatasetFiles(tuple(cache_paths(name, data_dir)), "data")
                arrays, source = _load_cached(name, downloaded, verify_hash), "download"
            except DatasetUnavailable:
                raise
            except Exception as err:  # no network, DNS failure, HTTP error, bad hash of a fresh download
                if fallback is None:
                    raise DatasetUnavailable(
                        f"{name} is not cached and could not be downloaded ({type(err).__name__}: {err}).\n"
                        + _how_to_provide(name, data_dir)
                    ) from err
                note = f"{name} could not be downloaded ({type(err).__name__}): using {fallback} instead"
        if arrays is not None:
            x_train, y_train, x_test, y_test = arrays
            x_train = _resize_keras_images(x_train, image_size)
            x_test = _resize_keras_images(x_test, image_size)
            names = CLASS_NAMES[name]
        else:
            loaded = fallback
            if image_size is None and fallback == "digits":
                image_size = 28  # stand-in for MNIST-shaped data
            if fallback == "digits" and name == "fashion_mnist":
                note += " (the classes are digits, not clothes)"
            print(note)
    if loaded in OFFLINE:
        (x_train, y_train, x_test, y_test), names = _load_offline(
            loaded, n_train=n_train, n_test=n_test, image_size=image_size, seed=seed, data_dir=data_dir)

    x_train, y_train = _subset(x_train, y_train, n_train, seed, "n_train")
    x_test, y_test = _subset(x_test, y_test, n_test, seed + 1, "n_test")
    return Dataset(
        x_train=np.ascontiguousarray(x_train, dtype=np.float32), y_train=np.asarray(y_train, np.int64),
        x_test=np.ascontiguousarray(x_test, dtype=np.float32), y_test=np.asarray(y_test, np.int64),
        class_names=tuple(names), name=loaded, requested=name, source=source, note=note,
    )


# ------------------------------------------------------------------------------------------ command line


def fetch(names=None, *, data_dir=None, out=None) -> bool:
    """Make the real datasets available, downloading what is missing into data/keras/ (``make data``).

    A set already in data/keras (checksum verified) or in Keras's cache is not downloaded again. One line per
    set says what was done.

    Args:
        names: dataset names (default: mnist, fashion_mnist, cifar10).
        data_dir: the data folder (default ``config.DATA_DIR``).
        out: where the lines go (default ``sys.stdout``).

    Returns:
        True when every set is available afterwards.

    Raises:
        ValueError: a name is not a downloadable dataset.
    """
    out = out or sys.stdout
    names = list(names or DOWNLOADED)
    for name in names:
        if name not in DOWNLOADED:
            raise ValueError(f"name must be one of {', '.join(DOWNLOADED)}, got {name!r}")
    ok = True
    for name in names:
        title = config.DATASET_TITLES[name]
        found = locate(name, data_dir)
        if found is not None and found.place == "keras cache":
            print(f"{title}: found in Keras's cache ({found.paths[0].parent}); used from there, nothing "
                  "downloaded", file=out)
            continue
        try:
            fetched = _download(name, data_dir)
        except ValueError as err:  # a checksum mismatch: the server sent something else
            print(f"{title}: FAILED: {err}", file=out)
            ok = False
            continue
        except OSError as err:  # urllib's URLError, timeouts and refused connections are OSErrors
            reason = getattr(err, "reason", err)
            print(f"{title}: FAILED: could not download ({type(err).__name__}: {reason}). Is there a network "
                  "connection? Without one, copy the files by hand:", file=out)
            for (_fname, origin, _), path in zip(KERAS_FILES[name], cache_paths(name, data_dir)):
                print(f"    {origin}  ->  {path}", file=out)
            ok = False
            continue
        folder = _data_dir(data_dir) / "keras"
        if fetched:
            size = sum(n for _, n in fetched) / 1e6
            print(f"{title}: downloaded {len(fetched)} file(s), {size:.1f} MB, checksums verified, into "
                  f"{folder}", file=out)
        else:
            print(f"{title}: already in {folder} (checksums verified)", file=out)
    return ok


def main(argv=None) -> int:
    """``python -m course_lib.data fetch [names]`` downloads; ``... status`` lists what is on disk."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_lib.data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_parser = sub.add_parser("fetch", help="download the real datasets into data/keras/ (make data)")
    fetch_parser.add_argument("names", nargs="*", help="mnist, fashion_mnist, cifar10 (default: all three)")
    sub.add_parser("status", help="say which datasets are on disk")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        unknown = [n for n in args.names if n not in DOWNLOADED]
        if unknown:
            parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DOWNLOADED)}")
    if args.command == "status":
        for name, status in available_datasets().items():
            print(f"{name:<14} {status}")
        return 0
    return 0 if fetch(args.names) else 1


if __name__ == "__main__":
    sys.exit(main())
