"""Data generated on this machine: the procedural ``shapes10`` set (and the shape masks that ``scenes`` draws
with), and MNIST-1D made by its own package. Deterministic in the seed; no network, no files needed.
"""

from __future__ import annotations

import random

import numpy as np

from ..validation import check_bool, check_int, check_positive_int
from .files import data_folder


def shape_masks(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where one of the ten shapes of shapes10 lies, in the shape's own normalised, rotated coordinates.

    The one drawing of the shapes: :func:`make_shapes10` paints its images with it and
    :func:`course_lib.scenes.make_scenes` its objects, so a class looks the same in both.

    Args:
        label: the shape class, 0 to 9 (the order of ``CLASS_NAMES["shapes10"]``: circle, ring, square, frame,
            triangle, cross, star, bar, crescent, pair).
        u, v: coordinates of every pixel relative to the shape's centre, rotated by its angle and divided by
            its radius (``(n, H, W)`` for n images, or ``(H, W)``); the shape fits in the unit disc.

    Returns:
        A bool array shaped like ``u``: True inside the shape.

    Raises:
        TypeError / ValueError: ``label`` is not an int from 0 to 9.
    """
    label = check_int(label, "label", minimum=0, maximum=9)
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
    # label == 9: a pair of dots
    return (np.hypot(u - 0.5, v) < 0.38) | (np.hypot(u + 0.5, v) < 0.38)


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
        mask[idx] = shape_masks(label, u[idx], v[idx])
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


def shapes10_split(n_train: int | None, n_test: int | None, seed: int, image_size: int | None):
    """The shapes10 dataset as ``load_dataset`` serves it: a training and a test set of :func:`make_shapes10`.

    Args:
        n_train, n_test: numbers of images (None: 10,000 and 2,000).
        seed: seeds both sets; the test set comes from another stream, so it never repeats a training image.
        image_size: side length (None: 32).

    Returns:
        ``(x_train, y_train, x_test, y_test)``: images (n, s, s, 3) float32 in [0, 1], labels (n,) int64.
    """
    x_train, y_train = make_shapes10(n_train or 10000, seed=seed, image_size=image_size or 32)
    # The test set comes from a different stream of the same generator, so it never repeats a training image.
    x_test, y_test = make_shapes10(n_test or 2000, seed=seed + 1_000_003, image_size=image_size or 32)
    return x_train, y_train, x_test, y_test


def mnist1d_split(seed: int, data_dir=None):
    """Greydanus' MNIST-1D, generated by the ``mnist1d`` package (never its download path).

    Generating takes about two seconds, so the result is cached as ``<data_dir>/mnist1d_seed<seed>.npz`` and
    later notebooks load it at once; a damaged cache is generated again.

    Args:
        seed: 0 gives the dataset paper's standard split (its generator seed, 42, plus ``seed``).
        data_dir: the data folder (default ``config.DATA_DIR``).

    Returns:
        ``(x_train, y_train, x_test, y_test)``: 4,000 and 1,000 zero-centred signals (n, 40, 1) float32 (not
        in [0, 1]), labels (n,) int64.
    """
    cache = data_folder(data_dir) / f"mnist1d_seed{seed}.npz"
    if cache.exists():
        try:
            with np.load(cache) as f:
                return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        except Exception:  # a damaged cache of generated data is simply generated again
            cache.unlink()
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = 42 + seed
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

