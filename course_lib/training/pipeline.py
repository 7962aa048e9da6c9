"""The input side of training: (x, y) pairs and tf.data pipelines, targets for multi-output models, and
random augmentation layers.

``fit`` turns array data into a shuffled, batched, augmented ``tf.data`` pipeline with :func:`array_pipeline`;
:func:`augmentation` builds the papers' augmentation (flips and pad-and-crop) as Keras layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from ..validation import check_bool, check_float, check_int


def is_multi_output(model: keras.Model) -> bool:
    """True when ``model`` has several outputs (GoogLeNet with its auxiliary classifiers, say)."""
    return len(model.outputs) > 1


def targets_for(model: keras.Model, y):
    """The targets ``model.fit`` wants: for a multi-output model, the same labels for every output.

    Args:
        model: a Keras model.
        y: labels ``(n,)`` or ``(n, k)``, or already a dict by output name (returned as is).

    Returns:
        ``y`` itself, or ``{output name: y}`` for a model with several outputs.
    """
    if is_multi_output(model) and not isinstance(y, dict):
        return {name: y for name in model.output_names}
    return y


def is_dataset(data) -> bool:
    """True when ``data`` is a ``tf.data.Dataset`` (imports TensorFlow only when asked)."""
    import tensorflow as tf

    return isinstance(data, tf.data.Dataset)


def split_pair(data, what: str):
    """``data`` as an ``(x, y)`` pair.

    Args:
        data: a tuple or list of two arrays.
        what: the argument's name, for the error message.

    Returns:
        ``data`` unchanged.

    Raises:
        TypeError: ``data`` is not a pair.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data
    raise TypeError(f"{what} must be an (x, y) pair or a tf.data.Dataset, got {type(data).__name__}")


def array_pipeline(model: keras.Model, x, y, *, batch_size: int, augment: keras.layers.Layer | None,
                   shuffle: bool, seed: int | None):
    """A batched ``tf.data`` pipeline over arrays, shuffled and augmented per batch, as ``fit`` trains on.

    Args:
        model: the model to be trained (a multi-output model gets ``y`` for every output).
        x: inputs ``(n, h, w, c)``.
        y: labels ``(n,)`` or ``(n, k)``.
        batch_size: samples per batch.
        augment: a layer called on each batch with ``training=True``, or None.
        shuffle: reshuffle every epoch.
        seed: shuffling seed.

    Returns:
        A prefetched ``tf.data.Dataset`` of ``(x_batch, y_batch)``.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, targets_for(model, y)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        # Sequential on purpose: parallel map calls draw the layers' random numbers in a varying order, so the
        # same seed would give different flips and crops (and accuracies) from run to run.
        ds = ds.map(lambda a, b: (augment(a, training=True), b))
    return ds.prefetch(tf.data.AUTOTUNE)


def graph_augmentation_works() -> bool:
    """Whether augmentation layers can run inside a ``tf.data`` graph: only on the TensorFlow backend.

    On JAX and PyTorch a ``keras.Sequential`` of preprocessing layers (and ``RandomShift``) cannot be called
    on the symbolic tensors of ``Dataset.map``; :class:`EagerAugmentedBatches` applies them to each batch
    eagerly instead.
    """
    return keras.backend.backend() == "tensorflow"


class EagerAugmentedBatches(keras.utils.PyDataset):
    """Shuffled batches of arrays, augmented eagerly on the Keras backend: ``fit``'s input on JAX and PyTorch
    when it augments (see :func:`graph_augmentation_works`).

    Args:
        model: the model to be trained (a multi-output model gets ``y`` for every output).
        x: inputs ``(n, h, w, c)``.
        y: labels ``(n,)`` or ``(n, k)``.
        batch_size: samples per batch (the last batch may be smaller).
        augment: a layer called on each batch with ``training=True``.
        shuffle: draw a new order every epoch.
        seed: seed of the order.

    Each item is ``(augmented x batch as NumPy, y batch)``.
    """

    def __init__(self, model: keras.Model, x, y, *, batch_size: int, augment: keras.layers.Layer,
                 shuffle: bool, seed: int | None):
        super().__init__()
        self.model, self.x, self.y = model, np.asarray(x), np.asarray(y)
        self.batch_size, self.augment, self.shuffle = batch_size, augment, shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self.x))
        self.on_epoch_end()

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int):
        chosen = self._order[index * self.batch_size: (index + 1) * self.batch_size]
        xb = keras.ops.convert_to_numpy(self.augment(self.x[chosen], training=True))
        return xb, targets_for(self.model, self.y[chosen])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(len(self.x))


# ----------------------------------------------------------------------------------------------------------
# augmentation
# ----------------------------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="course_lib")
class RandomShift(keras.layers.Layer):
    """Shift each image by up to ``padding`` pixels in each direction, filling with zeros.

    This is "pad by ``padding`` then crop a random window of the original size" (ResNet's CIFAR
    augmentation), done per image with ``keras.layers.RandomTranslation``; the pixel amount is turned into
    the fraction that layer wants once the image size is known. (``keras.layers.RandomCrop`` would draw one
    offset for the whole batch.) Identity at inference.

    Args:
        padding: maximum shift in pixels.
        seed: seed of the random shifts.

    Input/Output shape: ``(batch, h, w, c)``.
    """

    def __init__(self, padding: int = 4, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)
        self.seed = seed
        self._translate = None

    def build(self, input_shape):
        height, width = input_shape[-3], input_shape[-2]
        if height is None or width is None:
            raise ValueError(f"RandomShift needs a known image size, got input shape {input_shape}")
        self._translate = keras.layers.RandomTranslation(
            self.padding / height, self.padding / width, fill_mode="constant", fill_value=0.0,
            interpolation="nearest", seed=self.seed, name=f"{self.name}_translation",
        )
        self._translate.build(input_shape)

    def call(self, inputs, training=None):
        return self._translate(inputs, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config_ = super().get_config()
        config_.update({"padding": self.padding, "seed": self.seed})
        return config_


def augmentation(
    *,
    flip: bool = True,
    crop_padding: int = 4,
    rotation: float = 0.0,
    zoom: float = 0.0,
    contrast: float = 0.0,
    input_shape: Sequence[int] | None = None,
    seed: int | None = None,
    name: str = "augmentation",
) -> keras.Sequential:
    """Random training-time augmentation as Keras preprocessing layers (identity when ``training=False``).

    The defaults are the CIFAR recipe of the ResNet paper: random horizontal flips and a random crop of the
    image padded by 4 pixels. Shapes are preserved, so the block can sit at the start of a model or be mapped
    over a ``tf.data`` pipeline (``fit(augment=...)`` does the latter).

    Args:
        flip: random left-right flips.
        crop_padding: maximum shift in pixels (pad-and-crop); 0 for none.
        rotation: maximum rotation as a fraction of a full turn (``RandomRotation``); 0 for none.
        zoom: maximum zoom fraction (``RandomZoom``); 0 for none.
        contrast: maximum contrast change (``RandomContrast``); 0 for none.
        input_shape: ``(h, w, c)`` to build the layers now (otherwise on first call).
        seed: base seed; each layer gets its own.
        name: the Sequential's name.

    Returns:
        A ``keras.Sequential`` mapping ``(batch, h, w, c)`` to the same shape.

    Raises:
        TypeError / ValueError: a flag that is not a bool, or a negative amount.
    """
    flip = check_bool(flip, "flip")
    crop_padding = check_int(crop_padding, "crop_padding", minimum=0)
    rotation = check_float(rotation, "rotation", minimum=0.0)
    zoom = check_float(zoom, "zoom", minimum=0.0)
    contrast = check_float(contrast, "contrast", minimum=0.0)

    def seed_for(i):
        return None if seed is None else seed + i

    steps: list[keras.layers.Layer] = []
    if flip:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed_for(0), name="flip"))
    if crop_padding:
        steps.append(RandomShift(crop_padding, seed=seed_for(1), name="pad_crop"))
    if rotation:
        steps.append(keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed_for(2),
                                                 name="rotation"))
    if zoom:
        steps.append(keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed_for(3), name="zoom"))
    if contrast:
        steps.append(keras.layers.RandomContrast(contrast, seed=seed_for(4), name="contrast"))
    block = keras.Sequential(steps, name=name)
    if input_shape is not None:
        block.build((None, *input_shape))
    return block


