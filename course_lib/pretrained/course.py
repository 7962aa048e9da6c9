"""The course's own pretrained network, which needs no download: its source task (:func:`make_glyphs`, 100
generated glyph classes), its architecture (:func:`course_net`) and its checkpoint (:func:`course_model`).

``scripts/pretrain_course_net.py`` reproduces the checkpoint. It ships inside the package with its SHA-256
and training record (``checkpoints/course_net.json``). The network takes 32x32 RGB images with values in
[0, 1]; its first layer rescales them to [-1, 1] itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..validation import check_bool, check_int, check_positive_int
from .lookup import WeightsUnavailable, verify_file

# --------------------------------------------------------------------------- course network: source task

NUM_GLYPH_CLASSES = 100
_TEMPLATE_SEED = 20_241_130  # fixes the 100 class templates; the seed of make_glyphs only draws images



def _cross_2d(u: np.ndarray, v: np.ndarray) -> float:
    """``u_x v_y - u_y v_x`` of two 2-vectors (twice the signed triangle area); NumPy 2.5 refuses np.cross
    on 2-D vectors."""
    return float(u[0] * v[1] - u[1] * v[0])

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
                while abs(_cross_2d(p[2:4] - p[0:2], p[4:6] - p[0:2])) < 0.35:
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
    brightness gradient and a faint grating of random orientation, plus pixel noise. No class is one of
    shapes10's, since every glyph combines two or three primitives, but the primitives are close kin of
    shapes10's circles, triangles, bars and rings, and both sets are drawn the same way: a network trained on
    the glyphs learns strokes, corners and colour edges that shapes10 needs too.

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
               widths: tuple[int, ...] = COURSE_WIDTHS, classifier_activation="softmax",
               name: str = "course_net"):
    """Build (untrained) the course's pretrained network: four conv-BN-ReLU blocks, global pooling, softmax.

    Layers (Keras names): ``image`` (input), ``rescale`` ([0, 1] -> [-1, 1]), ``block1_conv`` (5x5, so the
    first-layer filters are big enough to look at) ... ``block4_conv`` (3x3), each followed by ``blockN_bn``
    and ``blockN_relu`` and, in blocks 1-3, a 2x2 ``blockN_pool``; ``avg_pool`` (global average, the feature
    vector) and ``predictions``. At 32x32: 32x32x16 -> 16x16x32 -> 8x8x64 -> 4x4x128 -> 128.

    Args:
        num_classes: outputs of ``predictions``.
        input_shape: (height, width, 3).
        widths: filters of the four blocks.
        classifier_activation: of ``predictions``, as for every classifier of the kit and of
            ``keras.applications``: ``"softmax"`` (class probabilities), None (the logits) or another Keras
            activation; the weights are the same whichever is chosen.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` taking float images in [0, 1].

    Raises:
        TypeError / ValueError: a bad ``num_classes`` or ``classifier_activation``.
    """
    import keras
    from keras import layers

    from ..models.blocks import classifier_head
    from ..models.common import check_classifier_activation

    num_classes = check_positive_int(num_classes, "num_classes")
    check_classifier_activation(classifier_activation)
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
    outputs = classifier_head(x, num_classes, pool="avg", classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------- course network: checkpoint

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"  # course_lib/checkpoints
CHECKPOINT_NAME = "course_net.weights.h5"
RECORD_NAME = "course_net.json"
COURSE_INPUT_NOTE = "32x32 RGB float32 in [0, 1] (the model's 'rescale' layer maps it to [-1, 1])"


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


