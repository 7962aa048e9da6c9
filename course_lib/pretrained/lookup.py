"""Finding ImageNet weight files and checking them: the table of files keras.applications downloads, where
they are looked for, their hashes, and the download (through :func:`course_lib.data.download_file`).

A file is looked up first in the course's data folder (``data/keras/models/``), then in Keras's own caches
(``$KERAS_HOME/models/``, ``~/.keras/models/``) under the name keras.applications gives it, and only then
downloaded into ``data/keras/models/`` from the address keras.applications uses. Every file with a published
hash is checked against it before it is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from .. import config
from ..data.files import (
    ChecksumMismatch,
    DownloadFailed,
    data_folder,
    download_file,
    file_digest,
    hash_algorithm,
)
from ..validation import check_bool, check_choice

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
IMAGENET_MODELS = tuple(IMAGENET_WEIGHTS)


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither on disk nor downloadable; the message says how to provide them."""


class WeightsCorrupt(RuntimeError):
    """A weight file on disk does not match its published checksum, or cannot be read into the model."""


# ------------------------------------------------------------------------------- ImageNet: finding files

_MOBILENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# MobileNetV2's files (one per width and input side) have no published hash; a hash entered here for a file
# name is checked like the others.
MOBILENET_V2_HASHES: dict[str, str] = {}
_MOBILENET_ROWS = (96, 128, 160, 192, 224)


def check_network_name(name: Any) -> str:
    """``name`` if it is one of :data:`IMAGENET_MODELS`.

    Raises:
        ValueError: any other value; the message names the argument, the choices and the value received.
    """
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
    name = check_network_name(name)
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
    dirs = [data_folder(data_dir) / "keras" / "models"]
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


def verify_file(path: str | Path, expected: str | None) -> None:
    """Check a weight file against its published hash (MD5 or SHA-256, told apart by length).

    Args:
        path: the file.
        expected: the published hex digest; None checks nothing (no hash is published).

    Raises:
        WeightsCorrupt: the digest differs; the message names the file, both digests and the cure.
    """
    if expected is None:
        return
    algorithm = hash_algorithm(expected)
    got = file_digest(path, algorithm)
    if got != expected:
        raise WeightsCorrupt(
            f"the weight file {path} is corrupt, incomplete or not the published one: its "
            f"{algorithm.upper()} is {got}, not {expected}. Delete it and fetch it again "
            "(`make weights`, or call again with download=True).")


def how_to_provide(wf: WeightFile, data_dir=None) -> str:
    """What to do when a file is missing: ``make weights``, the address and place to copy it by hand, or a
    fallback."""
    target = weights_dirs(data_dir, keras_cache=False)[0] / wf.fname
    return (f"Run `make weights` on a machine with internet access, or download the file by hand:\n"
            f"  {wf.origin}  ->  {target}\n"
            f"(Keras's own cache, {weights_dirs(None)[1]}, is searched too), or pass fallback='course' "
            "(the course's offline network) or fallback='random' (the same architecture, untrained).")


def fetch_weights(wf: WeightFile, data_dir: str | Path | None = None) -> Path:
    """Download one weight file into ``<data_dir>/keras/models/`` (``course_lib.data.download_file``, which
    checks the published hash).

    Returns:
        The file's path.

    Raises:
        WeightsUnavailable: the download failed (no network, HTTP error, wrong hash of the download).
    """
    target = weights_dirs(data_dir, keras_cache=False)[0] / wf.fname
    try:
        download_file(wf.origin, target, file_hash=wf.file_hash)
    except (DownloadFailed, ChecksumMismatch) as err:
        raise WeightsUnavailable(
            f"{wf.fname} is not on this machine and could not be downloaded: {err}.\n"
            + how_to_provide(wf, data_dir)) from err
    return target


def obtain(wf: WeightFile, *, what: str, data_dir=None, download: bool = True,
           keras_cache: bool = True) -> Path:
    """A file of the table on disk with its hash checked: found (:func:`find_weights`) or downloaded.

    Args:
        wf: the file.
        what: what it holds, for the message (e.g. "vgg16 ImageNet weights").
        data_dir: the course's data folder (default ``config.DATA_DIR``), searched first, then Keras's caches.
        download: fetch a missing file into ``<data_dir>/keras/models/``.
        keras_cache: search Keras's caches too.

    Returns:
        The path of a file whose hash matches the published one (where one is published).

    Raises:
        WeightsUnavailable: not on disk and not downloadable (or ``download=False``).
        WeightsCorrupt: the file does not match its published hash.
    """
    path = find_weights(wf, data_dir, keras_cache=keras_cache)
    if path is None:
        if not check_bool(download, "download"):
            raise WeightsUnavailable(f"{wf.fname} ({what}) is not on this machine and download=False.\n"
                                     + how_to_provide(wf, data_dir))
        path = fetch_weights(wf, data_dir)
    verify_file(path, wf.file_hash)
    return path


def locate_weights(name: str, *, include_top: bool = True, data_dir=None, download: bool = True,
                   alpha: float = 1.0, rows: int = 224, keras_cache: bool = True) -> Path:
    """Find (or download) a network's ImageNet weight file and check its hash: :func:`obtain` for the file
    :func:`weight_file` names.

    Args:
        name, include_top, alpha, rows: as for :func:`weight_file`.
        data_dir, download, keras_cache: as for :func:`obtain`.

    Returns:
        The path of a file whose hash matches the published one (where one is published).

    Raises:
        WeightsUnavailable, WeightsCorrupt: as for :func:`obtain`.
    """
    wf = weight_file(name, include_top=include_top, alpha=alpha, rows=rows)
    return obtain(wf, what=f"{name} ImageNet weights", data_dir=data_dir, download=download,
                  keras_cache=keras_cache)
