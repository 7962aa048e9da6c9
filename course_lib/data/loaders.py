"""Loading a dataset by name: ``load_dataset`` and its :class:`Dataset`, the offline sets that ship with
installed packages (digits, faces, photos), and per-image standardisation.

Downloaded sets are read through :mod:`~course_lib.data.parsers` from the files :mod:`~course_lib.data.files`
finds or downloads; generated ones come from :mod:`~course_lib.data.generators`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import config
from ..validation import check_int, check_optional_positive_int
from . import files, parsers
from .files import DOWNLOADED, OFFLINE, DatasetUnavailable, check_dataset_name, data_folder, locate
from .generators import mnist1d_split, shapes10_split

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

# skimage.data and sklearn photographs that ship inside the installed packages (no download).
_SKIMAGE_PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "brick")
_SKLEARN_PHOTOS = ("china", "flower")


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


# Sets with boxes and masks; course_lib.scenes loads them (load_dataset names the right call).
SCENE_DATASETS = ("scenes", "pennfudan")


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
        arrays = mnist1d_split(seed, data_dir)
    else:
        arrays = shapes10_split(n_train, n_test, seed, image_size)
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
    check_dataset_name(name)
    if fallback is not None:
        check_dataset_name(fallback, "fallback")
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
            arrays, source = parsers.read_cached(name, found, verify_hash), "cache"
            if found.place == "keras cache":
                note = f"{name}: read from Keras's cache, {files.shown_path(found.paths[0].parent)}"
        elif fallback is not None and config.is_quick():
            where = files.shown_path(data_folder(data_dir) / "keras")
            note = (f"{name} is not cached in {where} and quick mode does not download: "
                    f"using {fallback} instead")
        elif not download:
            if fallback is None:
                raise DatasetUnavailable(
                    f"{name} is not cached and download=False.\n" + files.how_to_provide(name, data_dir))
            note = f"{name} is not cached and download=False: using {fallback} instead"
        else:
            try:
                files.download_dataset(name, data_dir)
            except (files.DownloadFailed, files.ChecksumMismatch) as err:  # no network, HTTP error, bad hash
                if fallback is None:
                    raise DatasetUnavailable(
                        f"{name} is not cached and could not be downloaded: {err}.\n"
                        + files.how_to_provide(name, data_dir)
                    ) from err
                note = f"{name} could not be downloaded ({type(err).__name__}): using {fallback} instead"
            else:
                downloaded = config.DatasetFiles(tuple(files.cache_paths(name, data_dir)), "data")
                arrays, source = parsers.read_cached(name, downloaded, verify_hash), "download"
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


