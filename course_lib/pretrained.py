"""Pretrained networks: keras.applications with ImageNet weights, and the course's own offline checkpoint.

Two sources of pretrained weights:

- :func:`imagenet_model` builds a ``keras.applications`` model and loads its published ImageNet weights. The
  weight files are looked up first in the course's data folder (``data/keras/models/``), then in Keras's own
  caches (``$KERAS_HOME/models/``, ``~/.keras/models/``) under the file names keras.applications gives them,
  and only then downloaded (``download=True``) from the addresses keras.applications uses, with their
  published checksums. Every file is checked against its checksum before it is loaded. ``make weights``
  (``python -m course_lib.pretrained fetch``) fetches them on a machine with internet access.
- :func:`course_model` loads a small CNN that the course pretrained on :func:`make_glyphs`, a generated
  100-class task that needs no download (``scripts/pretrain_course_net.py`` reproduces it). Its checkpoint
  ships inside the package with its SHA-256 and training record (``checkpoints/course_net.json``). It takes
  32x32 RGB images with values in [0, 1]; its first layer rescales them to [-1, 1] itself.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import config
from .validation import check_bool, check_choice, check_int, check_positive_int

# ------------------------------------------------------------------------------- ImageNet weight files

_KA = "https://storage.googleapis.com/tensorflow/keras-applications/"


class WeightFile(NamedTuple):
    """One weight file keras.applications downloads: its file name in ``models/``, address and checksum.

    ``file_hash`` is the hash keras.applications passes to ``keras.utils.get_file`` (32 hex digits: MD5,
    64: SHA-256, as ``get_file``'s "auto" reads it); None where keras.applications publishes none.
    """

    fname: str
    origin: str
    file_hash: str | None


# name -> (keras.applications constructor, weights with the classifier, weights without it). File names,
# addresses and hashes are those in keras/src/applications/*.py of Keras 3.15 (MobileNetV2 publishes no hash:
# keras.applications downloads it unchecked; the course checks that it loads into the model instead).
_MOBILENET_V2 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224"
IMAGENET_WEIGHTS: dict[str, tuple[str, WeightFile, WeightFile]] = {
    "vgg16": ("VGG16",
              WeightFile("vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                         _KA + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                         "64373286793e3c8b2b4e3219cbf3544b"),
              WeightFile("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                         _KA + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                         "6d6bbae143d832006294945121d1f1fc")),
    "resnet50": ("ResNet50",
                 WeightFile("resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                            _KA + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                            "2cb95161c43110f7111970584f804107"),
                 WeightFile("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                            _KA + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                            "4d473c1dd8becc155b73f8504c6f6626")),
    "mobilenet_v2": ("MobileNetV2",
                     WeightFile(_MOBILENET_V2 + ".h5", _KA + "mobilenet_v2/" + _MOBILENET_V2 + ".h5", None),
                     WeightFile(_MOBILENET_V2 + "_no_top.h5",
                                _KA + "mobilenet_v2/" + _MOBILENET_V2 + "_no_top.h5", None)),
    "efficientnet_b0": ("EfficientNetB0",
                        WeightFile("efficientnetb0.h5",
                                   "https://storage.googleapis.com/keras-applications/efficientnetb0.h5",
                                   "902e53a9f72be733fc0bcb005b3ebbac"),
                        WeightFile("efficientnetb0_notop.h5",
                                   "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",
                                   "50bc09e76180e00e4465e1a485ddc09d")),
    "xception": ("Xception",
                 WeightFile("xception_weights_tf_dim_ordering_tf_kernels.h5",
                            _KA + "xception/xception_weights_tf_dim_ordering_tf_kernels.h5",
                            "0a58e3b7378bc2990ea3b43d5981f1f6"),
                 WeightFile("xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                            _KA + "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                            "b0042744bf5b25fce3cb969f33bebb97")),
    "inception_v3": ("InceptionV3",
                     WeightFile("inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                                _KA + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                                "9a0d58056eeedaa3f26cb7ebd46da564"),
                     WeightFile("inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                _KA + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                "bcbd6486424b2319ff4ef7d526e38f63")),
}
# The ImageNet class names decode_predictions reads (keras/src/applications/imagenet_utils.py).
CLASS_INDEX = WeightFile(
    "imagenet_class_index.json",
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
    "c2c37ea517e94d9795004a39431a14cb")
# Each network's own input preprocessing (keras.applications.<module>.preprocess_input) and default size.
_MODULES = {"vgg16": "vgg16", "resnet50": "resnet", "mobilenet_v2": "mobilenet_v2",
            "efficientnet_b0": "efficientnet", "xception": "xception", "inception_v3": "inception_v3"}
DEFAULT_SIZES = {"vgg16": 224, "resnet50": 224, "mobilenet_v2": 224, "efficientnet_b0": 224, "xception": 299,
                 "inception_v3": 299}
IMAGENET_MODELS = tuple(IMAGENET_WEIGHTS)


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither on disk nor downloadable; the message says how to provide them."""


class WeightsCorrupt(RuntimeError):
    """A weight file on disk does not match its published checksum, or cannot be read into the model."""


# --------------------------------------------------------------------------- course network: source task

NUM_GLYPH_CLASSES = 100
_TEMPLATE_SEED = 20_241_130  # fixes the 100 class templates; the seed of make_glyphs only draws images


def _glyph_templates(num_classes: int) -> list[list[tuple[str, np.ndarray]]]:
    """The class templates of make_glyphs: 2 or 3 primitives each, in coordinates where the glyph fits the
    unit disc. Fixed by ``_TEMPLATE_SEED`` so that every seed of make_glyphs shares the same classes."""
    templates = []
    for c in range(num_classes):
        rng = np.random.default_rng([_TEMPLATE_SEED, c])
        prims = []
        for _ in range(int(rng.integers(2, 4))):
            kind = str(rng.choice(["stroke", "ellipse", "arc", "triangle"]))
            if kind == "stroke":  # x1, y1, x2, y2, half-thickness
                a, b = rng.uniform(-0.85, 0.85, 2), rng.uniform(-0.85, 0.85, 2)
                while np.hypot(*(a - b)) < 0.6:
                    b = rng.uniform(-0.85, 0.85, 2)
                p = np.r_[a, b, rng.uniform(0.1, 0.2)]
            elif kind == "ellipse":  # cx, cy, semi-axes, angle
                p = np.r_[rng.uniform(-0.5, 0.5, 2), rng.uniform(0.15, 0.45, 2), rng.uniform(0, np.pi)]
            elif kind == "arc":  # cx, cy, radius, half-thickness, start angle, extent
                p = np.r_[rng.uniform(-0.4, 0.4, 2), rng.uniform(0.3, 0.6), rng.uniform(0.08, 0.16),
                          rng.uniform(0, 2 * np.pi), rng.uniform(np.pi / 2, 2 * np.pi)]
            else:  # three corners
                p = rng.uniform(-0.85, 0.85, 6)
                while abs(np.cross(p[2:4] - p[0:2], p[4:6] - p[0:2])) < 0.35:
                    p = rng.uniform(-0.85, 0.85, 6)
            prims.append((kind, p))
        templates.append(prims)
    return templates


def _primitive_mask(kind: str, p: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    if kind == "stroke":
        ax, ay, bx, by, t = p
        dx, dy = bx - ax, by - ay
        s = np.clip(((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        return np.hypot(u - ax - s * dx, v - ay - s * dy) < t
    if kind == "ellipse":
        cx, cy, a, b, phi = p
        x, y = u - cx, v - cy
        xr, yr = np.cos(phi) * x + np.sin(phi) * y, -np.sin(phi) * x + np.cos(phi) * y
        return (xr / a) ** 2 + (yr / b) ** 2 < 1
    if kind == "arc":
        cx, cy, r, t, start, extent = p
        x, y = u - cx, v - cy
        on_ring = np.abs(np.hypot(x, y) - r) < t
        return on_ring & (np.mod(np.arctan2(y, x) - start, 2 * np.pi) < extent)
    x1, y1, x2, y2, x3, y3 = p
    d1 = (u - x2) * (y1 - y2) - (x1 - x2) * (v - y2)
    d2 = (u - x3) * (y2 - y3) - (x2 - x3) * (v - y3)
    d3 = (u - x1) * (y3 - y1) - (x3 - x1) * (v - y1)
    return ~(((d1 < 0) | (d2 < 0) | (d3 < 0)) & ((d1 > 0) | (d2 > 0) | (d3 > 0)))


def make_glyphs(n: int, *, num_classes: int = NUM_GLYPH_CLASSES, seed: int = 0, image_size: int = 32):
    """Generate ``n`` images of the course network's source task: glyph classes made of strokes and blobs.

    Every class is a fixed template of two or three primitives (straight strokes, filled ellipses, circular
    arcs, triangles), drawn at a random position, size (radius 9 to 13 pixels at 32x32) and rotation (up to
    40 degrees either way), each primitive in its own random bright colour, over a dark background with a
    brightness gradient and a faint grating of random orientation, plus pixel noise. The classes share
    nothing with shapes10's circles, squares and stars except the way they are drawn, so a network trained
    on them has to learn general strokes, corners and colour edges.

    Args:
        n: number of images (positive int).
        num_classes: number of glyph classes, 2 to 100 (the first ``num_classes`` templates).
        seed: draws the images; the class templates are the same for every seed.
        image_size: side length in pixels (>= 16).

    Returns:
        images (n, image_size, image_size, 3) float32 in [0, 1]; labels (n,) int64, balanced over the
        classes.

    Raises:
        TypeError / ValueError: a bad ``n``, ``num_classes``, ``seed`` or ``image_size``.
    """
    n = check_positive_int(n, "n")
    num_classes = check_int(num_classes, "num_classes", minimum=2, maximum=NUM_GLYPH_CLASSES)
    seed = check_int(seed, "seed", minimum=0)
    size = check_int(image_size, "image_size", minimum=16)
    templates = _glyph_templates(num_classes)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)
    f32 = np.float32
    yy, xx = np.mgrid[0:size, 0:size].astype(f32) + f32(0.5)
    col = lambda a: np.asarray(a, dtype=f32)[:, None, None]  # noqa: E731 - per-image value over the grid

    scale = size / 32.0
    radius = rng.uniform(9.0, 13.0, n) * scale
    cx, cy = rng.uniform(radius, size - radius), rng.uniform(radius, size - radius)
    angle = rng.uniform(-0.7, 0.7, n)
    dx, dy = (xx[None] - col(cx)) / col(radius), (yy[None] - col(cy)) / col(radius)
    u = col(np.cos(angle)) * dx + col(np.sin(angle)) * dy
    v = col(-np.sin(angle)) * dx + col(np.cos(angle)) * dy
    del dx, dy

    # Background: dark colour, a brightness gradient and a faint grating (texture that is never the class).
    background = rng.uniform(0.0, 0.4, (n, 3)).astype(f32)
    gdir, strength = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 0.3, n)
    images = background[:, None, None, :] + (
        col(np.cos(gdir) * strength) * (xx[None] / size - f32(0.5))
        + col(np.sin(gdir) * strength) * (yy[None] / size - f32(0.5)))[..., None]
    wdir, freq, amp = rng.uniform(0, np.pi, n), rng.uniform(0.3, 1.2, n), rng.uniform(0, 0.08, n)
    grating = col(amp) * np.sin(col(freq) * (col(np.cos(wdir)) * xx[None] + col(np.sin(wdir)) * yy[None]))
    images += grating[..., None]
    del grating

    for c in range(num_classes):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        for kind, p in templates[c]:
            mask = _primitive_mask(kind, p, u[idx], v[idx])
            colour = rng.uniform(0.5, 1.0, (len(idx), 3)).astype(f32)
            block = images[idx]
            block[mask] = np.repeat(colour, mask.reshape(len(idx), -1).sum(1), axis=0)
            images[idx] = block
    images += rng.standard_normal(images.shape, dtype=f32) * f32(0.04)
    np.clip(images, 0, 1, out=images)
    return images.astype(f32), labels


# --------------------------------------------------------------------------- course network: architecture

COURSE_INPUT_SHAPE = (32, 32, 3)
COURSE_WIDTHS = (16, 32, 64, 128)


def course_net(num_classes: int = NUM_GLYPH_CLASSES, *,
               input_shape: tuple[int, int, int] = COURSE_INPUT_SHAPE,
               widths: tuple[int, ...] = COURSE_WIDTHS, name: str = "course_net"):
    """Build (untrained) the course's pretrained network: four conv-BN-ReLU blocks, global pooling, softmax.

    Layers (Keras names): ``image`` (input), ``rescale`` ([0, 1] -> [-1, 1]), ``block1_conv`` (5x5, so the
    first-layer filters are big enough to look at) ... ``block4_conv`` (3x3), each followed by ``blockN_bn``
    and ``blockN_relu`` and, in blocks 1-3, a 2x2 ``blockN_pool``; ``avg_pool`` (global average, the feature
    vector) and ``predictions``. At 32x32: 32x32x16 -> 16x16x32 -> 8x8x64 -> 4x4x128 -> 128.

    Args:
        num_classes: outputs of ``predictions``.
        input_shape: (height, width, 3).
        widths: filters of the four blocks.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` taking float images in [0, 1].
    """
    import keras
    from keras import layers

    num_classes = check_positive_int(num_classes, "num_classes")
    inputs = keras.Input(input_shape, name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="rescale")(inputs)
    for i, filters in enumerate(widths, start=1):
        kernel = 5 if i == 1 else 3
        # The first layer starts from weights 20 times smaller than He initialisation (BN makes the scale
        # irrelevant to the output): after training its filters are then what the data put there, not the
        # initial noise, which is what makes them worth looking at.
        init = keras.initializers.VarianceScaling(0.005, seed=None) if i == 1 else "he_normal"
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, kernel_initializer=init,
                          name=f"block{i}_conv")(x)
        # momentum 0.9 (Keras's default is 0.99): the moving statistics settle within the few dozen steps
        # of the short runs that the notebooks train this architecture for.
        x = layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        if i < len(widths):
            x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------- course network: checkpoint

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
CHECKPOINT_NAME = "course_net.weights.h5"
RECORD_NAME = "course_net.json"
COURSE_INPUT_NOTE = "32x32 RGB float32 in [0, 1] (the model's 'rescale' layer maps it to [-1, 1])"


# ------------------------------------------------------------------------------- ImageNet: finding files

_MOBILENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# MobileNetV2's files (one per width and input side) have no published hash; a hash entered here for a file
# name is checked like the others.
MOBILENET_V2_HASHES: dict[str, str] = {}
_MOBILENET_ROWS = (96, 128, 160, 192, 224)

# keras.utils.get_file, reached through this name so that tests can replace the download.
_get_file = None


def _keras_get_file(*args, **kwargs):
    if _get_file is not None:
        return _get_file(*args, **kwargs)
    import keras

    return keras.utils.get_file(*args, **kwargs)


def _check_name(name: Any) -> str:
    return check_choice(name, "name", IMAGENET_MODELS)


def weight_file(name: str, *, include_top: bool = True, alpha: float = 1.0, rows: int = 224) -> WeightFile:
    """The file keras.applications downloads for ``name``'s ImageNet weights.

    Args:
        name: one of :data:`IMAGENET_MODELS` ("vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0",
            "xception", "inception_v3").
        include_top: the weights with the 1000-class classifier, or without it ("notop").
        alpha, rows: MobileNetV2 only: its width multiplier and input side, which name its file (Keras falls
            back to rows=224 for sides it has no weights for).

    Returns:
        A :class:`WeightFile` (file name, address, published hash or None).

    Raises:
        TypeError / ValueError: unknown name, or a MobileNetV2 alpha Keras has no weights for.
    """
    name = _check_name(name)
    include_top = check_bool(include_top, "include_top")
    _, with_top, no_top = IMAGENET_WEIGHTS[name]
    if name != "mobilenet_v2":
        return with_top if include_top else no_top
    alpha = float(check_choice(alpha, "alpha", _MOBILENET_ALPHAS))
    rows = rows if rows in _MOBILENET_ROWS else 224
    base = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}"
    fname = base + (".h5" if include_top else "_no_top.h5")
    return WeightFile(fname, _KA + "mobilenet_v2/" + fname, MOBILENET_V2_HASHES.get(fname))


def weights_dirs(data_dir: str | Path | None = None, *, keras_cache: bool = True) -> list[Path]:
    """Where weight files are looked for, in order: ``<data_dir>/keras/models``, then Keras's caches.

    Args:
        data_dir: the course's data folder (default ``config.DATA_DIR``).
        keras_cache: also list Keras's own ``models`` folders, next to the dataset caches that
            :func:`course_lib.config.keras_dataset_dirs` lists (``$KERAS_HOME/models``, ``~/.keras/models``).
    """
    base = Path(data_dir) if data_dir is not None else config.DATA_DIR
    dirs = [base / "keras" / "models"]
    if keras_cache:
        dirs += [d.parent / "models" for d in config.keras_dataset_dirs()]
    return dirs


def find_weights(wf: WeightFile, data_dir: str | Path | None = None, *,
                 keras_cache: bool = True) -> Path | None:
    """The first existing file named ``wf.fname`` in :func:`weights_dirs`, or None (never downloads)."""
    for folder in weights_dirs(data_dir, keras_cache=keras_cache):
        if (folder / wf.fname).is_file():
            return folder / wf.fname
    return None


def _algorithm(file_hash: str) -> str:
    # keras.utils.get_file's "auto": 64 hex digits are SHA-256, anything else MD5.
    return "sha256" if len(file_hash) == 64 else "md5"


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file ("sha256" or "md5"), read in 1 MiB chunks."""
    digest = hashlib.new(check_choice(algorithm, "algorithm", ("sha256", "md5")))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | Path, expected: str | None) -> None:
    """Check a weight file against its published hash (MD5 or SHA-256, told apart by length).

    Raises:
        WeightsCorrupt: the digest differs; the message names the file, both digests and the cure.
    """
    if expected is None:
        return
    algorithm = _algorithm(expected)
    got = file_digest(path, algorithm)
    if got != expected:
        raise WeightsCorrupt(
            f"the weight file {path} is corrupt, incomplete or not the published one: its "
            f"{algorithm.upper()} is {got}, not {expected}. Delete it and fetch it again "
            "(`make weights`, or call again with download=True).")


def _how_to_provide(wf: WeightFile, data_dir) -> str:
    target = weights_dirs(data_dir, keras_cache=False)[0] / wf.fname
    return (f"Run `make weights` on a machine with internet access, or download the file by hand:\n"
            f"  {wf.origin}  ->  {target}\n"
            f"(Keras's own cache, {weights_dirs(None)[1]}, is searched too), or pass fallback='course' "
            "(the course's offline network) or fallback='random' (the same architecture, untrained).")


def fetch_weights(wf: WeightFile, data_dir: str | Path | None = None) -> Path:
    """Download one weight file into ``<data_dir>/keras/models/`` with keras.utils.get_file, hash-checked.

    Raises:
        WeightsUnavailable: the download failed (no network, HTTP error, wrong hash of the download).
    """
    base = Path(data_dir) if data_dir is not None else config.DATA_DIR
    try:
        path = _keras_get_file(wf.fname, wf.origin, file_hash=wf.file_hash, cache_subdir="models",
                               cache_dir=str(base / "keras"))
    except Exception as err:  # urllib's errors, Keras's "Failed to download", a hash mismatch of the download
        raise WeightsUnavailable(
            f"{wf.fname} is not on this machine and could not be downloaded ({type(err).__name__}: {err}).\n"
            + _how_to_provide(wf, data_dir)) from err
    return Path(path)


def locate_weights(name: str, *, include_top: bool = True, data_dir=None, download: bool = True,
                   alpha: float = 1.0, rows: int = 224, keras_cache: bool = True) -> Path:
    """Find (or download) a network's ImageNet weight file and check its hash.

    Args:
        name, include_top, alpha, rows: as for :func:`weight_file`.
        data_dir: the course's data folder (default ``config.DATA_DIR``), searched first, then Keras's caches.
        download: fetch a missing file into ``<data_dir>/keras/models/``.
        keras_cache: search Keras's caches too.

    Returns:
        The path of a file whose hash matches the published one (where one is published).

    Raises:
        WeightsUnavailable: not on disk and not downloadable (or ``download=False``).
        WeightsCorrupt: a file on disk does not match its published hash.
    """
    wf = weight_file(name, include_top=include_top, alpha=alpha, rows=rows)
    path = find_weights(wf, data_dir, keras_cache=keras_cache)
    if path is None:
        if not check_bool(download, "download"):
            raise WeightsUnavailable(f"{wf.fname} ({name} ImageNet weights) is not on this machine and "
                                     "download=False.\n" + _how_to_provide(wf, data_dir))
        path = fetch_weights(wf, data_dir)
    verify_file(path, wf.file_hash)
    return path


# ------------------------------------------------------------------------------- ImageNet: models

FALLBACKS = ("course", "random")


def _mobilenet_args(name: str, kwargs: dict) -> tuple[float, int]:
    if name != "mobilenet_v2":
        return 1.0, 224
    shape = kwargs.get("input_shape")
    rows = int(shape[0]) if shape is not None and shape[0] == shape[1] else 224
    return kwargs.get("alpha", 1.0), rows


def imagenet_model(name: str, *, include_top: bool = True, data_dir=None, download: bool = True,
                   fallback: str | None = None, keras_cache: bool = True, **kwargs):
    """A keras.applications network with its ImageNet weights, from disk or downloaded with its hash checked.

    The weight file is looked for in ``<data_dir>/keras/models/`` and then in Keras's caches under the name
    keras.applications gives it; a missing one is downloaded (``download=True``) from the address Keras uses,
    into ``<data_dir>/keras/models/``. The file's hash is checked before it is loaded.

    Args:
        name: one of :data:`IMAGENET_MODELS`: "vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0",
            "xception", "inception_v3".
        include_top: keep the 1000-class ImageNet classifier (then ``classes`` must stay 1000).
        data_dir: the course's data folder (default ``config.DATA_DIR``).
        download: allow a download when the file is not on disk.
        fallback: what to return when the weights cannot be had: None raises; "course" returns
            :func:`course_model` (the course's offline network: a different, 32x32 architecture); "random"
            returns the same architecture untrained. One line is printed saying so.
        keras_cache: search Keras's caches too.
        **kwargs: passed to the keras.applications constructor (``input_shape``, ``pooling``, ``alpha``, ...).

    Returns:
        The ``keras.Model``, expecting inputs prepared by :func:`preprocess` (each network's own
        ``preprocess_input``).

    Raises:
        TypeError / ValueError: unknown name or fallback, ``weights=`` or ``classes != 1000`` with the top.
        WeightsUnavailable: no file, no download and no fallback.
        WeightsCorrupt: a file on disk fails its hash check or cannot be loaded into the model.

    Reference: Yosinski, Clune, Bengio and Lipson, "How transferable are features in deep neural networks?",
    NeurIPS 2014 (why reusing them works); each network's own paper is cited in its keras.applications page.
    """
    import keras

    name = _check_name(name)
    if fallback is not None:
        check_choice(fallback, "fallback", FALLBACKS)
    if "weights" in kwargs:
        raise TypeError("imagenet_model always loads ImageNet weights; build keras.applications."
                        f"{IMAGENET_WEIGHTS[name][0]} yourself for weights={kwargs['weights']!r}")
    if include_top and kwargs.get("classes", 1000) != 1000:
        raise ValueError("classes must be 1000 with include_top=True (ImageNet's), "
                         f"got {kwargs['classes']!r}")
    alpha, rows = _mobilenet_args(name, kwargs)
    constructor = getattr(keras.applications, IMAGENET_WEIGHTS[name][0])
    try:
        path = locate_weights(name, include_top=include_top, data_dir=data_dir, download=download,
                              alpha=alpha, rows=rows, keras_cache=keras_cache)
    except WeightsUnavailable as err:
        if fallback is None:
            raise
        print(f"{name}: ImageNet weights unavailable ({str(err).splitlines()[0]}); using "
              + ("the course's offline network instead" if fallback == "course"
                 else "the same architecture with random weights instead"))
        if fallback == "course":
            return course_model(include_top=include_top)
        return constructor(weights=None, include_top=include_top, **kwargs)
    model = constructor(weights=None, include_top=include_top, **kwargs)
    try:
        model.load_weights(path)
    except Exception as err:  # h5py, Keras shape checks: a damaged or foreign file
        raise WeightsCorrupt(
            f"the weight file {path} could not be loaded into {name} ({type(err).__name__}: {err}). It is "
            "damaged or belongs to another network or input size; delete it and fetch it again "
            "(`make weights`).") from err
    return model


def preprocess(name: str, images) -> np.ndarray:
    """Prepare images in [0, 1] for an ImageNet network: scale to [0, 255] and apply its ``preprocess_input``.

    Args:
        name: one of :data:`IMAGENET_MODELS`.
        images: (N, H, W, 3) RGB in [0, 1].

    Returns:
        (N, H, W, 3) float32 as the network expects (VGG16/ResNet50: BGR minus the ImageNet means;
        MobileNetV2, Xception, InceptionV3: [-1, 1]; EfficientNet: [0, 255], it rescales itself).
    """
    import keras

    name = _check_name(name)
    module = getattr(keras.applications, _MODULES[name])
    return np.asarray(module.preprocess_input(np.asarray(images, np.float32) * 255.0), dtype=np.float32)


def imagenet_classes(*, data_dir=None, download: bool = True,
                     keras_cache: bool = True) -> list[tuple[str, str]]:
    """The 1000 ImageNet classes as (WordNet id, name), from the file decode_predictions uses (hash-checked).

    Raises:
        WeightsUnavailable / WeightsCorrupt: as for :func:`locate_weights`.
    """
    path = find_weights(CLASS_INDEX, data_dir, keras_cache=keras_cache)
    if path is None:
        if not download:
            raise WeightsUnavailable(f"{CLASS_INDEX.fname} (ImageNet class names) is not on this machine and "
                                     "download=False.\n" + _how_to_provide(CLASS_INDEX, data_dir))
        path = fetch_weights(CLASS_INDEX, data_dir)
    verify_file(path, CLASS_INDEX.file_hash)
    index = json.loads(Path(path).read_text())
    return [tuple(index[str(i)]) for i in range(len(index))]


def top_k(probabilities, class_names, *, k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable classes of each row, best first (``decode_predictions`` without the download).

    Args:
        probabilities: (N, C) scores.
        class_names: C names, or C (id, name) pairs as :func:`imagenet_classes` returns (the name is kept).
        k: how many classes per row (1 to C).

    Returns:
        N lists of ``k`` pairs (class name, score).

    Raises:
        ValueError: not 2-D, ``k`` out of range, or a class count that differs from ``len(class_names)``.
    """
    from .validation import check_array

    p = check_array(probabilities, "probabilities", ndim=2, layout="(N, C)")
    names = [c[1] if isinstance(c, (tuple, list)) else str(c) for c in class_names]
    if p.shape[1] != len(names):
        raise ValueError(f"probabilities must have {len(names)} columns (one per class name), "
                         f"got shape {p.shape}")
    k = check_int(k, "k", minimum=1, maximum=p.shape[1])
    order = np.argsort(-p, axis=1, kind="stable")[:, :k]
    return [[(names[j], float(row[j])) for j in idx] for row, idx in zip(p, order)]


# ------------------------------------------------------------------------------- the course's network


def course_record(directory: str | Path | None = None) -> dict:
    """The training record of the course network (``course_net.json``): recipe, accuracy, SHA-256."""
    folder = Path(directory) if directory is not None else CHECKPOINT_DIR
    path = folder / RECORD_NAME
    if not path.is_file():
        raise WeightsUnavailable(f"the course network's record {path} is missing; reinstall the kit or run "
                                 "`python scripts/pretrain_course_net.py`")
    return json.loads(path.read_text())


def course_model(*, include_top: bool = True, directory: str | Path | None = None):
    """The course's pretrained network (see :func:`course_net`), loaded from its checkpoint, SHA-256 checked.

    It was trained on :func:`make_glyphs` (100 generated classes) by ``scripts/pretrain_course_net.py``; its
    record (``course_record()``) has the recipe and the held-out accuracy. Inputs: 32x32 RGB float32 in
    [0, 1], nothing else to do (the first layer, ``rescale``, maps them to [-1, 1]).

    Args:
        include_top: keep the 100-class ``predictions`` layer; False ends at ``avg_pool`` (128 features).
        directory: where ``course_net.weights.h5`` and ``course_net.json`` are (default: the package's).

    Returns:
        A functional ``keras.Model`` with layers ``block1_conv`` ... ``avg_pool`` (and ``predictions``).

    Raises:
        WeightsUnavailable: the checkpoint or its record is missing.
        WeightsCorrupt: the checkpoint's SHA-256 is not the recorded one.

    Reference: Yosinski et al., NeurIPS 2014: first-layer features are general across tasks, which is what
    the glyph task is designed to teach the network.
    """
    import keras

    include_top = check_bool(include_top, "include_top")
    folder = Path(directory) if directory is not None else CHECKPOINT_DIR
    record = course_record(folder)
    path = folder / record["file"]
    if not path.is_file():
        raise WeightsUnavailable(f"the course network's checkpoint {path} is missing; reinstall the kit or "
                                 "run `python scripts/pretrain_course_net.py`")
    verify_file(path, record["sha256"])
    arch = record["architecture"]
    model = course_net(arch["num_classes"], input_shape=tuple(arch["input_shape"]),
                       widths=tuple(arch["widths"]))
    model.load_weights(path)
    if include_top:
        return model
    return keras.Model(model.input, model.get_layer("avg_pool").output, name="course_net_features")


# ------------------------------------------------------------------------------------------ command line

# What `make weights` fetches: the files notebook 14 uses in full mode (MobileNetV2 with its classifier for
# the top-5 demo, without it at 160x160 for transfer) and the ImageNet class names.
NOTEBOOK_WEIGHTS = (("mobilenet_v2", True, 224), ("mobilenet_v2", False, 160))


def _wanted(names, everything: bool) -> list[tuple[str, WeightFile]]:
    if everything or names:
        chosen = names or list(IMAGENET_MODELS)
        files = [(n, weight_file(n, include_top=top)) for n in chosen for top in (True, False)]
    else:
        files = [(n, weight_file(n, include_top=top, rows=rows)) for n, top, rows in NOTEBOOK_WEIGHTS]
    return files + [("imagenet classes", CLASS_INDEX)]


def status(names=(), *, everything: bool = False, data_dir=None, out=None) -> dict[str, str]:
    """Say where each weight file is: "data/keras/models", "Keras's cache" or "missing" (no hashing)."""
    out = out or sys.stdout
    result = {}
    for name, wf in _wanted(list(names), everything):
        path = find_weights(wf, data_dir)
        where = ("missing" if path is None else "data" if path.parent == weights_dirs(data_dir)[0]
                 else "Keras's cache")
        result[wf.fname] = where
        print(f"{name:<17} {wf.fname:<66} {where}" + (f" ({path})" if path is not None else ""), file=out)
    return result


def fetch(names=(), *, everything: bool = False, data_dir=None, out=None) -> bool:
    """Download the missing weight files into ``<data_dir>/keras/models/`` and check every file's hash.

    Args:
        names: networks to fetch (both with and without the classifier); empty with ``everything=False``:
            what notebook 14 uses in full mode (``NOTEBOOK_WEIGHTS``).
        everything: all six networks, with and without the classifier (about 1.3 GB).
        data_dir: the course's data folder (default ``config.DATA_DIR``).
        out: where the lines go (default ``sys.stdout``).

    Returns:
        True when every file is on disk with the right hash afterwards.
    """
    out = out or sys.stdout
    for n in names:
        _check_name(n)
    ok = True
    for name, wf in _wanted(list(names), everything):
        try:
            path = find_weights(wf, data_dir) or fetch_weights(wf, data_dir)
            verify_file(path, wf.file_hash)
        except (WeightsUnavailable, WeightsCorrupt) as err:
            print(f"{name}: FAILED: {err}", file=out)
            ok = False
            continue
        check = "hash verified" if wf.file_hash else "no published hash"
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB, {check})", file=out)
    return ok


def main(argv=None) -> int:
    """``python -m course_lib.pretrained fetch|status [names] [--all]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_lib.pretrained",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command, text in (("fetch", "download ImageNet weights into data/keras/models/ (make weights)"),
                          ("status", "say which weight files are on disk")):
        p = sub.add_parser(command, help=text)
        p.add_argument("names", nargs="*", help=", ".join(IMAGENET_MODELS) + " (default: notebook 14's)")
        p.add_argument("--all", action="store_true", help="all six networks, with and without the top")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in IMAGENET_MODELS]
    if unknown:
        parser.error(f"unknown network(s) {', '.join(unknown)}; choose from {', '.join(IMAGENET_MODELS)}")
    if args.command == "status":
        status(args.names, everything=args.all)
        return 0
    return 0 if fetch(args.names, everything=args.all) else 1


if __name__ == "__main__":
    sys.exit(main())
