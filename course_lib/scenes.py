"""Scenes with several objects, their boxes and their masks: the data of detection and segmentation.

``make_scenes`` draws the ten shapes of ``shapes10`` (the same drawing code, ``data.shape_masks``) several
to an image, at varied sizes and places, some overlapping, and returns every target a detector or a segmenter
needs: boxes ``(x_min, y_min, x_max, y_max)`` in pixels, class labels, an instance map and a class map. It
needs no network and is deterministic in its seed. ``load_scene_dataset("scenes")`` returns a train and a test
set of them.

Full mode can use a real set with boxes and masks, the Penn-Fudan pedestrians (170 street photographs, 345
people, each outlined by hand): ``load_scene_dataset("pennfudan", fallback="scenes")``. Its archive is
downloaded into ``data/pennfudan/`` (or put there by hand) and read in place.

Box convention: pixel ``(row i, column j)`` covers the square ``[j, j + 1) x [i, i + 1)``, so a box is
``[x_min, x_max) x [y_min, y_max)``, its area is ``(x_max - x_min) * (y_max - y_min)`` with no ``+ 1``, and
an object painting columns 3 to 7 has ``x_min = 3`` and ``x_max = 8``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config, data
from .validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_optional_positive_int,
    check_positive_int,
)

__all__ = ["Scenes", "SceneDataset", "make_scenes", "boxes_from_instances", "load_scene_dataset",
           "PENNFUDAN_URL", "PENNFUDAN_SHA256", "pennfudan_path"]

SHAPE_NAMES: tuple[str, ...] = data.CLASS_NAMES["shapes10"]

PENNFUDAN_URL = "https://www.cis.upenn.edu/~jshi/ped_html/PennFudanPed.zip"
# The SHA-256 of PennFudanPed.zip. The dataset's page publishes no checksum and this kit was written on a
# machine without network access, so the digest could not be computed here: it is None until someone pins it
# from a verified copy (`sha256sum PennFudanPed.zip`). Until then the archive is checked by its content
# instead (170 images, 170 masks, the pairs matching) and its digest is printed so that it can be pinned.
PENNFUDAN_SHA256: str | None = None
PENNFUDAN_FILE = "PennFudanPed.zip"
PENNFUDAN_COUNT = 170


@dataclass(frozen=True)
class Scenes:
    """Images with several objects each, and every target that detection and segmentation need.

    Attributes:
        images: (N, H, W, 3) float32 in [0, 1].
        boxes: N arrays of shape (k_i, 4) float32, ``(x_min, y_min, x_max, y_max)`` in pixels.
        labels: N arrays of shape (k_i,) int64, indices into ``class_names``.
        instance_masks: (N, H, W) int32: 0 background, ``j + 1`` where object ``j`` of the image is visible.
        class_masks: (N, H, W) int64: 0 background, ``c + 1`` where an object of class ``c`` is visible.
        class_names: the object classes (no background).
    """

    images: np.ndarray
    boxes: tuple[np.ndarray, ...]
    labels: tuple[np.ndarray, ...]
    instance_masks: np.ndarray
    class_masks: np.ndarray
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        """Object classes, background not counted."""
        return len(self.class_names)

    def subset(self, index) -> Scenes:
        """The scenes at ``index`` (a slice, or an array of indices or booleans), as a new :class:`Scenes`."""
        picked = np.arange(len(self))[index]
        picked = np.atleast_1d(picked)
        return Scenes(self.images[picked], tuple(self.boxes[i] for i in picked),
                      tuple(self.labels[i] for i in picked), self.instance_masks[picked],
                      self.class_masks[picked], self.class_names)


@dataclass(frozen=True)
class SceneDataset(data.Dataset):
    """A :class:`course_lib.data.Dataset` whose targets are masks, with the boxes alongside.

    ``(x_train, y_train), (x_test, y_test) = load_scene_dataset("scenes")`` unpacks as for every other set:
    ``y`` is the class map (N, H, W) int64, whose values index ``class_names`` (``"background"`` first). The
    full targets are in ``train`` and ``test`` (:class:`Scenes`: boxes, labels, instance maps; their
    ``class_names`` leave the background out, so detection labels start at 0).
    """

    train: Scenes | None = field(default=None)
    test: Scenes | None = field(default=None)


def _resolve_classes(classes) -> list[int]:
    if classes is None:
        return list(range(len(SHAPE_NAMES)))
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence) or len(classes) == 0:
        raise TypeError("classes must be None or a non-empty sequence of shape names or indices, "
                        f"got {classes!r}")
    out = []
    for c in classes:
        if isinstance(c, str):
            if c not in SHAPE_NAMES:
                raise ValueError(f"classes must name shapes from {', '.join(SHAPE_NAMES)}, got {c!r}")
            out.append(SHAPE_NAMES.index(c))
        else:
            out.append(check_int(c, "classes[i]", minimum=0, maximum=len(SHAPE_NAMES) - 1))
    if len(set(out)) != len(out):
        raise ValueError(f"classes must not repeat a class, got {classes!r}")
    return out


def boxes_from_instances(instance_mask: np.ndarray, count: int) -> np.ndarray:
    """The tight box of each instance of one instance map.

    Args:
        instance_mask: (H, W) ints, 0 background and ``j + 1`` for instance ``j``.
        count: the number of instances (j runs over 0 .. count - 1; each must have at least one pixel).

    Returns:
        (count, 4) float32 boxes ``(x_min, y_min, x_max, y_max)``: pixel columns x_min .. x_max - 1 and rows
        y_min .. y_max - 1 hold the instance.

    Raises:
        ValueError: an instance has no pixel.
    """
    boxes = np.zeros((count, 4), np.float32)
    for j in range(count):
        rows, cols = np.nonzero(instance_mask == j + 1)
        if rows.size == 0:
            raise ValueError(f"instance {j + 1} has no pixel in the instance mask")
        boxes[j] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    return boxes


def _box_iou(a, b) -> float:
    # Scalar IoU of two boxes, used only while placing objects (detection.iou is the public, checked one).
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def make_scenes(n: int, *, seed: int = 0, image_size: int = 64, classes=None, min_objects: int = 1,
                max_objects: int = 4, min_size: float = 12.0, max_size: float = 28.0,
                max_overlap: float = 0.3, min_visible: float = 0.6, noise: float = 0.03) -> Scenes:
    """Generate ``n`` scenes of several shapes each, deterministically from ``seed``.

    Each scene has a dark background with a brightness gradient and 1..4 shapes (by default) in bright
    colours of their own, each rotated and scaled at random and placed anywhere inside the image. Later
    shapes are drawn over earlier ones, so objects overlap, but never so much that two boxes have an IoU
    above ``max_overlap`` or that an object keeps less than ``min_visible`` of its pixels. Boxes and masks
    describe what is visible.

    Args:
        n: number of scenes.
        seed: generator seed; the same arguments always give the same arrays.
        image_size: side length in pixels (>= 16).
        classes: the shape classes to draw, as names from shapes10 ("circle", "square", ...) or indices;
            None draws all ten. Labels are positions in this list.
        min_objects, max_objects: how many objects a scene has (uniform between the two, inclusive). Fewer
            are placed when no free spot is found after 30 tries.
        min_size, max_size: the object's diameter in pixels (uniform between the two).
        max_overlap: the largest IoU allowed between two objects' boxes, in [0, 1).
        min_visible: the smallest fraction of an object's pixels that must stay visible, in (0, 1].
        noise: standard deviation of the Gaussian pixel noise.

    Returns:
        A :class:`Scenes`.

    Raises:
        TypeError / ValueError: an argument of the wrong type or out of range.
    """
    n = check_positive_int(n, "n")
    seed = check_int(seed, "seed", minimum=0)
    size = check_int(image_size, "image_size", minimum=16)
    chosen = _resolve_classes(classes)
    min_objects = check_int(min_objects, "min_objects", minimum=0)
    max_objects = check_int(max_objects, "max_objects", minimum=max(1, min_objects))
    min_size = check_float(min_size, "min_size", minimum=4.0)
    max_size = check_float(max_size, "max_size", minimum=min_size, maximum=float(size))
    max_overlap = check_float(max_overlap, "max_overlap", minimum=0.0, maximum=1.0, include_maximum=False)
    min_visible = check_float(min_visible, "min_visible", minimum=0.0, maximum=1.0, include_minimum=False)
    noise = check_float(noise, "noise", minimum=0.0)

    rng = np.random.default_rng(seed)
    f32 = np.float32
    yy, xx = np.mgrid[0:size, 0:size].astype(f32) + f32(0.5)  # pixel centres
    images = np.empty((n, size, size, 3), f32)
    instance = np.zeros((n, size, size), np.int32)
    classmap = np.zeros((n, size, size), np.int64)
    all_boxes, all_labels = [], []
    for i in range(n):
        background = rng.uniform(0.0, 0.35, 3).astype(f32)
        direction, strength = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.3)
        gradient = strength * (np.cos(direction) * (xx / size - 0.5) + np.sin(direction) * (yy / size - 0.5))
        image = background[None, None, :] + gradient[..., None].astype(f32)
        inst = instance[i]
        full_counts, labels, boxes = [], [], []
        for _ in range(int(rng.integers(min_objects, max_objects + 1))):
            for _try in range(30):
                label = chosen[int(rng.integers(len(chosen)))]
                radius = rng.uniform(min_size, max_size) / 2
                cx, cy = rng.uniform(radius, size - radius, 2)
                angle = rng.uniform(0, 2 * np.pi)
                dx, dy = (xx - cx) / radius, (yy - cy) / radius
                u = np.cos(angle) * dx + np.sin(angle) * dy
                v = -np.sin(angle) * dx + np.cos(angle) * dy
                mask = data.shape_masks(label, u, v)
                if mask.sum() < 4:
                    continue
                rows, cols = np.nonzero(mask)
                box = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
                if any(_box_iou(box, other) > max_overlap for other in boxes):
                    continue
                # The new object hides part of the earlier ones: each must keep min_visible of its pixels.
                trial = np.where(mask, len(labels) + 1, inst)
                visible = np.bincount(trial.ravel(), minlength=len(labels) + 2)[1:len(labels) + 1]
                if any(visible[j] < min_visible * full_counts[j] for j in range(len(labels))):
                    continue
                inst[...] = trial
                full_counts.append(int(mask.sum()))
                labels.append(chosen.index(label))
                boxes.append(box)
                colour = rng.uniform(0.5, 1.0, 3).astype(f32)
                image[mask] = colour
                break
        image += rng.standard_normal(image.shape, dtype=f32) * f32(noise)
        images[i] = np.clip(image, 0.0, 1.0)
        lab = np.asarray(labels, np.int64)
        all_labels.append(lab)
        all_boxes.append(boxes_from_instances(inst, len(labels)))
        classmap[i] = np.concatenate([[0], lab + 1])[inst]
    names = tuple(SHAPE_NAMES[c] for c in chosen)
    return Scenes(images, tuple(all_boxes), tuple(all_labels), instance, classmap, names)


# ------------------------------------------------------------------------------------------- Penn-Fudan


def pennfudan_path(data_dir=None) -> Path:
    """Where the Penn-Fudan archive is expected: ``data/pennfudan/PennFudanPed.zip``."""
    base = Path(data_dir) if data_dir is not None else config.DATA_DIR
    return base / "pennfudan" / PENNFUDAN_FILE


def _pennfudan_members(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    names = set(archive.namelist())
    images = sorted(n for n in names if "/PNGImages/" in n and n.endswith(".png"))
    pairs = []
    for image in images:
        mask = image.replace("/PNGImages/", "/PedMasks/")[:-4] + "_mask.png"
        if mask not in names:
            raise ValueError(f"the archive has {image} but not its mask {mask}")
        pairs.append((image, mask))
    if len(pairs) != PENNFUDAN_COUNT:
        raise ValueError(f"the archive holds {len(pairs)} image/mask pairs, not Penn-Fudan's "
                         f"{PENNFUDAN_COUNT}")
    return pairs


def _read_pennfudan(path: Path, image_size: int) -> Scenes:
    from PIL import Image

    images, instances, boxes, labels = [], [], [], []
    with zipfile.ZipFile(path) as archive:
        for image_name, mask_name in _pennfudan_members(archive):
            image = Image.open(io.BytesIO(archive.read(image_name))).convert("RGB")
            mask = Image.open(io.BytesIO(archive.read(mask_name)))
            # Squash each photograph to a square: boxes then stay axis-aligned rectangles of the new image.
            image = np.asarray(image.resize((image_size, image_size), Image.BILINEAR), np.float32) / 255.0
            mask = np.asarray(mask.resize((image_size, image_size), Image.NEAREST), np.int32)
            ids = [v for v in np.unique(mask) if v != 0 and (mask == v).any()]
            inst = np.zeros_like(mask)
            for j, v in enumerate(ids):
                inst[mask == v] = j + 1
            images.append(image)
            instances.append(inst)
            boxes.append(boxes_from_instances(inst, len(ids)))
            labels.append(np.zeros(len(ids), np.int64))
    instance = np.stack(instances)
    return Scenes(np.stack(images), tuple(boxes), tuple(labels), instance,
                  (instance > 0).astype(np.int64), ("pedestrian",))


def _fetch_pennfudan(path: Path) -> None:
    """Download the archive with the kit's downloader, checked by its pinned SHA-256 where there is one.

    Without a pinned digest (see ``PENNFUDAN_SHA256``) the content is checked instead, a file that fails is
    deleted, and the digest is printed so that it can be pinned.
    """
    data.download_file(PENNFUDAN_URL, path, file_hash=PENNFUDAN_SHA256, algorithm="sha256")
    if PENNFUDAN_SHA256 is not None:
        return
    try:
        with zipfile.ZipFile(path) as archive:
            _pennfudan_members(archive)
    except Exception:  # not the Penn-Fudan archive: nothing that looks complete is left behind
        path.unlink(missing_ok=True)
        raise
    print(f"pennfudan: downloaded, SHA-256 {data.file_digest(path, 'sha256')} (not pinned in "
          "course_lib.scenes.PENNFUDAN_SHA256: compare it with a trusted copy)")


def _how_to_provide_pennfudan(data_dir) -> str:
    return (f"Download {PENNFUDAN_URL} on a machine with internet access and put it at "
            f"{pennfudan_path(data_dir)} (the archive as it is, not unpacked), or pass fallback='scenes'.")


def _split_scenes(scenes: Scenes, n_test: int, seed: int) -> tuple[Scenes, Scenes]:
    order = np.random.default_rng(seed).permutation(len(scenes))
    return scenes.subset(np.sort(order[n_test:])), scenes.subset(np.sort(order[:n_test]))


def _scene_dataset(train: Scenes, test: Scenes, *, name, requested, source, note) -> SceneDataset:
    return SceneDataset(
        x_train=train.images, y_train=train.class_masks, x_test=test.images, y_test=test.class_masks,
        class_names=("background", *train.class_names), name=name, requested=requested, source=source,
        note=note, train=train, test=test)


def load_scene_dataset(name: str = "scenes", *, fallback: str | None = None, n_train: int | None = None,
                       n_test: int | None = None, image_size: int | None = None, seed: int = 0,
                       data_dir=None, verify_hash: bool = True, download: bool = True,
                       **scene_options) -> SceneDataset:
    """Load "scenes" (generated) or "pennfudan" (downloaded), with boxes and masks (load_dataset's sibling).

    Args:
        name: "scenes" or "pennfudan".
        fallback: for "pennfudan", "scenes" to use when the archive is not on disk and cannot be downloaded
            (quick mode never downloads). One line says so.
        n_train, n_test: how many scenes (generated: default 2,000 and 500; Penn-Fudan: 120 and 50 of its
            170 photographs, the test set chosen by ``seed``).
        image_size: side length (scenes: default 64; Penn-Fudan: default 128, each photograph squashed to a
            square).
        seed: seeds the generator (train and test come from different streams) or the Penn-Fudan split.
        data_dir: the data folder (default ``data/``).
        verify_hash: check the archive's SHA-256 when one is pinned.
        download: False never touches the network.
        **scene_options: passed to :func:`make_scenes` (classes, min_objects, max_objects, min_size, ...).

    Returns:
        A :class:`SceneDataset`.

    Raises:
        ValueError: unknown name or fallback, bad sizes.
        DatasetUnavailable: Penn-Fudan is not on disk, cannot be downloaded and there is no fallback, or the
            file on disk is not the Penn-Fudan archive.
    """
    name = check_choice(name, "name", ("scenes", "pennfudan"))
    if fallback is not None:
        fallback = check_choice(fallback, "fallback", ("scenes",))
    n_train = check_optional_positive_int(n_train, "n_train")
    n_test = check_optional_positive_int(n_test, "n_test")
    if image_size is not None:
        image_size = check_int(image_size, "image_size", minimum=16, maximum=512)
    seed = check_int(seed, "seed", minimum=0)
    verify_hash = check_bool(verify_hash, "verify_hash")
    download = check_bool(download, "download")
    if name == "pennfudan":
        if scene_options:
            raise TypeError(f"pennfudan takes no scene options, got {', '.join(sorted(scene_options))}")
        path = pennfudan_path(data_dir)
        source, note = "cache", ""
        if not path.is_file():
            reason = ("quick mode does not download" if config.is_quick()
                      else "download=False" if not download else None)
            if reason is None:
                try:
                    _fetch_pennfudan(path)
                    source = "download"
                except Exception as err:  # no network, HTTP error, wrong file
                    reason = f"it could not be downloaded ({type(err).__name__}: {err})"
            if reason is not None:
                if fallback is None:
                    raise data.DatasetUnavailable(
                        f"pennfudan is not in {path.parent} and {reason}.\n"
                        + _how_to_provide_pennfudan(data_dir))
                note = f"pennfudan is not in {path.parent} and {reason}: using {fallback} instead"
                print(note)
        if not note:
            if verify_hash and PENNFUDAN_SHA256 is not None:
                digest = data.file_digest(path, "sha256")
                if digest != PENNFUDAN_SHA256:
                    raise data.DatasetUnavailable(
                        f"{path} has SHA-256 {digest}, not the pinned {PENNFUDAN_SHA256}: delete it and load "
                        "again, or copy a good archive there.")
            try:
                scenes = _read_pennfudan(path, image_size or 128)
            except (zipfile.BadZipFile, ValueError, OSError) as err:
                raise data.DatasetUnavailable(
                    f"could not read {path} as the Penn-Fudan archive ({type(err).__name__}: {err}). "
                    + _how_to_provide_pennfudan(data_dir)) from err
            test_count = n_test or 50
            if test_count >= len(scenes):
                raise ValueError(
                    f"n_test must be smaller than the {len(scenes)} photographs, got {test_count}")
            train, test = _split_scenes(scenes, test_count, seed)
            if n_train is not None:
                if n_train > len(train):
                    raise ValueError(
                        f"n_train={n_train} is larger than the {len(train)} photographs available")
                train = train.subset(slice(0, n_train))
            return _scene_dataset(train, test, name="pennfudan", requested=name, source=source, note=note)
    else:
        note = ""
    size = image_size or 64
    train = make_scenes(n_train or 2000, seed=seed, image_size=size, **scene_options)
    # A different stream of the same generator: the test set never repeats a training scene.
    test = make_scenes(n_test or 500, seed=seed + 1_000_003, image_size=size, **scene_options)
    return _scene_dataset(train, test, name="scenes", requested=name, source="offline", note=note)
