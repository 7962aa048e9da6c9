"""The training loop: distribution strategies, building and compiling, ``fit`` and ``evaluate_accuracy``, and
the tracing savings (``build_training_state``, ``reset_optimizer``).

    >>> from course_lib import training
    >>> recipe = training.get_recipe("resnet_cifar")
    >>> model = training.build_and_compile("cifar_resnet20", recipe=recipe)
    >>> history = training.fit(model, (x_train, y_train), recipe=recipe, epochs=2, validation=(x_val, y_val),
    ...                        augment=training.augmentation(flip=True, crop_padding=4))
    >>> training.evaluate_accuracy(model, (x_test, y_test))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from .. import config
from ..validation import check_bool, check_float, check_positive_int
from .pipeline import (
    EagerAugmentedBatches,
    array_pipeline,
    graph_augmentation_works,
    is_dataset,
    is_multi_output,
    split_pair,
    targets_for,
)
from .recipes import Recipe, compile_model, get_recipe, recipe_callbacks


# ----------------------------------------------------------------------------------------------------------
# strategy and building
# ----------------------------------------------------------------------------------------------------------
def make_strategy(kind: str | Any = "auto", *, devices: Sequence[str] | None = None):
    """A ``tf.distribute`` strategy to build and train a model on several devices (of one machine, or of
    several with ``"multi_worker"``).

    ``tf.distribute`` exists only on the TensorFlow backend. Under JAX or PyTorch the kinds that ask for no
    distribution (None, ``"default"``, and ``"auto"``, which on these backends trains on the default device)
    return a strategy-shaped stand-in whose ``scope()`` does nothing, so that ``build_and_compile`` and the
    notebooks run unchanged; ``"mirrored"`` raises (JAX distributes through ``keras.distribution``).

    Args:
        kind: ``"auto"`` (MirroredStrategy when two or more GPUs are visible, else the default strategy),
            ``"mirrored"`` (MirroredStrategy over ``devices``, else all GPUs, else all logical CPUs),
            ``"multi_worker"`` (MultiWorkerMirroredStrategy over the workers ``TF_CONFIG`` names; see
            ``distributed.multi_worker_strategy``), None or ``"default"`` (no distribution, or the strategy
            ``use_strategy`` installed), or a ``tf.distribute.Strategy`` (returned as is).
        devices: device names for ``"mirrored"``, e.g. ``["/cpu:0", "/cpu:1"]``.

    Returns:
        A ``tf.distribute.Strategy`` (on other backends, a stand-in with ``scope()`` and
        ``num_replicas_in_sync == 1``); build and compile the model inside ``strategy.scope()`` (see
        ``build_and_compile``) and give ``fit`` the global batch size (it is split across replicas).

    Raises:
        ValueError: unknown kind, or a distributing kind on a backend other than TensorFlow.
    """
    if keras.backend.backend() != "tensorflow":
        if kind is None or kind in ("default", "auto"):
            return _NO_STRATEGY
        if isinstance(kind, _NoStrategy):
            return kind
        raise ValueError(f"strategy {kind!r} needs KERAS_BACKEND=tensorflow (tf.distribute); the backend is "
                         f"{keras.backend.backend()!r}: use strategy=None, or keras.distribution under JAX")
    import tensorflow as tf

    if isinstance(kind, tf.distribute.Strategy):
        return kind
    if kind is None or kind == "default":
        return tf.distribute.get_strategy()
    from .distributed import mirrored_strategy, multi_worker_strategy

    if kind == "multi_worker":  # before anything sets up the devices: it must configure them itself
        return multi_worker_strategy()
    if kind == "mirrored":
        return mirrored_strategy(devices)  # one object per set of devices (see mirrored_strategy)
    if kind == "auto":
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
        return mirrored_strategy(gpus) if len(gpus) >= 2 else tf.distribute.get_strategy()
    raise ValueError(f"strategy must be 'auto', 'mirrored', 'multi_worker', 'default', None or a "
                     f"tf.distribute.Strategy; got {kind!r}")


class _NoStrategy:
    """What ``make_strategy`` gives on JAX and PyTorch: one replica and a ``scope()`` that changes nothing."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


_NO_STRATEGY = _NoStrategy()


def _under_strategy(model: keras.Model) -> bool:
    """Whether the model was built, or is trained, under a ``tf.distribute`` strategy other than the default
    one: its own, or one that ``use_strategy`` installed (always False on JAX and PyTorch, whose models have
    no ``distribute_strategy``)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.distribute.has_strategy() or model.distribute_strategy is not tf.distribute.get_strategy()


def build_and_compile(
    builder: str | Callable[..., keras.Model],
    *,
    strategy=None,
    recipe: str | Recipe = "adam",
    compile_kwargs: dict | None = None,
    **builder_kwargs,
) -> keras.Model:
    """Build a model and compile it with a recipe, both inside the strategy's scope.

    Args:
        builder: a model name for ``models.get_model`` or a callable returning a model.
        strategy: None (no distribution), a ``make_strategy`` kind, or a ``tf.distribute.Strategy``.
        recipe: passed to ``compile_model`` (give ``fit`` the same one).
        compile_kwargs: other ``compile_model`` keywords.
        **builder_kwargs: passed to the builder (``num_classes=``, ``input_shape=``, ...).

    Returns:
        The compiled model; its variables live on the strategy's devices.
    """
    from ..models import get_model

    strat = make_strategy(strategy)
    with strat.scope():
        if isinstance(builder, str):
            model = get_model(builder, **builder_kwargs)
        else:
            model = builder(**builder_kwargs)
        compile_model(model, recipe=recipe, **(compile_kwargs or {}))
    return model


# ----------------------------------------------------------------------------------------------------------
# tracing: build the training state once, restart runs on the traced step
# ----------------------------------------------------------------------------------------------------------
def _require_compiled(model: keras.Model, caller: str) -> None:
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError(f"{caller} needs a compiled model; {model.name!r} is not compiled")


def reset_optimizer(model: keras.Model) -> keras.Model:
    """Give a compiled model a fresh optimizer: iteration count and slots (momentum, Adam's moments) at zero.

    With new initial weights (``model.set_weights(build(seed).get_weights())``) this starts a new training run
    on the same compiled model, so the second and later seeds reuse its traced training step instead of paying
    for another trace. The learning rate (a variable, or a schedule of the iteration count) is kept.

    Args:
        model: a compiled Keras model.

    Returns:
        The same model.

    Raises:
        ValueError: the model is not compiled.
    """
    _require_compiled(model, "reset_optimizer")
    for variable in model.optimizer.variables:
        if variable.path.split("/")[-1] != "learning_rate":
            variable.assign(ops.zeros(variable.shape, variable.dtype))
    return model


def build_training_state(model: keras.Model, x_sample, y_sample) -> keras.Model:
    """Create a compiled model's optimizer slots, loss trackers and metric variables before ``fit``.

    Why: without a distribution strategy, Keras 3 creates these variables inside the first trace of its
    training step, and TensorFlow must then trace that step a second time (a ``tf.function`` that creates
    variables is traced again without them). Tracing is most of the cost of a short run on a CPU: for
    ResNet-20 it is about 3 s, while an epoch of 768 images at 16x16 takes 0.6 s
    (``benchmarks/bench_tracing.py``). Building the state first makes the first trace the only one; the
    training itself is unchanged (the same losses to the last digit). On JAX and PyTorch it saves no trace,
    but it does the same work, so that ``reset_optimizer`` finds the same slots on every backend.

    The model is run once, eagerly, in inference mode on ``x_sample`` (no batch-norm statistics move); the
    loss and metrics are computed once and then reset. ``cl.training.fit`` calls this itself; call it before a
    plain ``model.fit`` to get the same saving.

    Args:
        model: a compiled Keras model.
        x_sample: inputs, ``(n, ...)`` with n >= 1 (one sample is enough).
        y_sample: the matching targets (a dict by output name for a multi-output model, or one array for all).

    Returns:
        The same model.

    Raises:
        ValueError: the model is not compiled, or ``x_sample`` holds no sample.
    """
    _require_compiled(model, "build_training_state")
    flat = keras.tree.flatten(x_sample)
    first = flat[0] if flat else None
    if first is None or np.ndim(first) == 0 or len(first) == 0:
        raise ValueError(f"build_training_state needs at least one sample in x_sample, got {np.shape(first)}")
    if _under_strategy(model):
        return model  # built under a strategy: Keras builds the state itself, inside the strategy's scope
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    if all(getattr(metric, "built", True) for metric in model.metrics):
        return model
    x_one = keras.tree.map_structure(lambda a: a[:1], x_sample)
    y_one = keras.tree.map_structure(lambda a: a[:1], targets_for(model, y_sample))
    y_pred = model(x_one, training=False)
    model.compute_loss(x=x_one, y=y_one, y_pred=y_pred, training=False)
    model.compute_metrics(x_one, y_one, y_pred, sample_weight=None)
    model.reset_metrics()
    return model


def _build_state_from(model: keras.Model, train) -> None:
    """``build_training_state`` from zeros shaped like one batch of ``train`` (draws nothing from it, so the
    shuffling and augmentation random streams are untouched)."""
    if isinstance(train, EagerAugmentedBatches):
        build_training_state(model, np.zeros_like(train.x[:1]), np.zeros_like(train.y[:1]))
        return
    x_spec, y_spec = train.element_spec
    specs = keras.tree.flatten((x_spec, y_spec))
    if any(None in spec.shape[1:] for spec in specs):
        return  # variable-sized inputs: leave it to Keras
    zeros = keras.tree.map_structure(lambda spec: np.zeros((1, *spec.shape[1:]), spec.dtype.as_numpy_dtype),
                                     (x_spec, y_spec))
    build_training_state(model, *zeros)


# ----------------------------------------------------------------------------------------------------------
# fit / evaluate
# ----------------------------------------------------------------------------------------------------------
_REQUIRED: Any = object()  # fit's recipe has no default: forgetting it would silently drop a schedule


def fit(
    model: keras.Model,
    data,
    *,
    epochs: int,
    recipe: str | Recipe | None = _REQUIRED,
    batch_size: int | None = None,
    validation=None,
    verbose: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    augment: keras.layers.Layer | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
) -> keras.callbacks.History:
    """Train a compiled model, adding the callbacks its recipe's schedule needs.

    On several GPUs or machines (full mode): ``cl.config.start_notebook`` installs a default strategy in full
    mode (``use_strategy("auto")``): ``MirroredStrategy`` over every GPU of a machine with two or more, or
    ``MultiWorkerMirroredStrategy`` on each machine of a cluster whose ``TF_CONFIG`` is set (start the same
    notebook or script on every machine, each with its own ``task`` index). Models built afterwards are
    mirrored on every device, and ``batch_size`` stays the *global* batch: each of R replicas gets
    ``batch_size / R`` examples per step, so scale the batch (and, by the linear scaling rule, the learning
    rate: ``scaled_learning_rate``) with the number of devices. ``COURSE_STRATEGY=none`` turns it off.

    Args:
        model: compiled (with ``compile_model``; a model built in ``strategy.scope()`` trains on all the
            strategy's devices, with ``batch_size`` the global batch).
        data: ``(x, y)`` arrays (``x`` ``(n, h, w, c)``, ``y`` ``(n,)`` integer labels or ``(n, k)``
            one-hot) or a batched ``tf.data.Dataset`` of such pairs.
        epochs: number of passes over ``data`` (>= 1).
        recipe: required: the recipe the model was compiled with (a key of ``RECIPES`` or a ``Recipe``): its
            plateau or epoch schedule becomes a callback and its batch size is the default. ``None`` trains
            with the optimizer alone (no schedule callback) and needs ``batch_size`` for array data.
        batch_size: for array data; default the recipe's.
        validation: None, ``(x_val, y_val)``, a fraction in (0, 1) held out from array ``data`` (the last
            samples, as Keras does), or a ``tf.data.Dataset``.
        verbose: Keras verbosity; default 0 in quick mode and 2 (one line per epoch) in full mode.
        callbacks: extra Keras callbacks.
        augment: a layer applied to each training batch with ``training=True`` (see ``augmentation``).
        shuffle: shuffle array data every epoch.
        seed: shuffling seed for array data.

    Returns:
        The ``keras.callbacks.History`` (``history.history["loss"]`` ...).

    Raises:
        TypeError: no ``recipe`` given, or an argument of the wrong type.
        ValueError: bad epochs, batch size, recipe, validation or data; array data with neither a recipe nor
            a batch size.
    """
    if recipe is _REQUIRED:
        raise TypeError(
            "fit needs recipe=: the recipe the model was compiled with (its schedule and batch size), e.g. "
            "fit(model, data, recipe='alexnet', ...), or recipe=None to train without a schedule"
        )
    epochs = check_positive_int(epochs, "epochs")
    rec = get_recipe(recipe) if recipe is not None else None
    if batch_size is None and rec is not None:
        batch_size = rec.batch_size
    if batch_size is None and not is_dataset(data):
        raise ValueError("batch_size is needed for array data when recipe=None (a recipe supplies its own)")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    shuffle = check_bool(shuffle, "shuffle")
    if verbose is None:
        verbose = 0 if config.is_quick() else 2

    if is_dataset(data):
        if augment is not None and not graph_augmentation_works():
            raise ValueError(f"augment with a tf.data.Dataset needs KERAS_BACKEND=tensorflow (the backend is "
                             f"{keras.backend.backend()!r}): pass (x, y) arrays, which fit augments eagerly")
        train = data.map(lambda a, b: (augment(a, training=True), b)) if augment is not None else data
        if is_multi_output(model):
            train = train.map(lambda a, b: (a, targets_for(model, b)))
    else:
        x, y = split_pair(data, "data")
        if isinstance(validation, float):
            check_float(validation, "validation", minimum=0.0, maximum=1.0, include_minimum=False,
                        include_maximum=False)
            cut = int(round(len(x) * (1 - validation)))
            x, y, validation = x[:cut], y[:cut], (x[cut:], y[cut:])
        if augment is not None:
            augment.build((None, *np.shape(x)[1:]))  # create its variables outside the tf.data graph
        if augment is not None and not graph_augmentation_works():
            train = EagerAugmentedBatches(model, x, y, batch_size=batch_size, augment=augment,
                                          shuffle=shuffle, seed=seed)
        else:
            train = array_pipeline(model, x, y, batch_size=batch_size, augment=augment, shuffle=shuffle,
                                   seed=seed)

    val = None
    if validation is not None:
        if is_dataset(validation):
            val = validation
            if is_multi_output(model):
                val = validation.map(lambda a, b: (a, targets_for(model, b)))
        else:
            xv, yv = split_pair(validation, "validation")
            val = array_pipeline(model, xv, yv, batch_size=batch_size, augment=None, shuffle=False, seed=None)

    _build_state_from(model, train)
    all_callbacks = recipe_callbacks(model, rec, has_validation=val is not None) + list(callbacks)
    # shuffle=False: the pipeline above already shuffles (Keras would warn that it ignores the flag).
    return model.fit(train, epochs=epochs, validation_data=val, callbacks=all_callbacks, verbose=verbose,
                     shuffle=False)


def evaluate_accuracy(model: keras.Model, data, *, batch_size: int = 256, top_k: int = 1) -> float:
    """Top-k accuracy of a classifier (its ``predictions`` output if it has several).

    Args:
        model: outputs ``(batch, num_classes)`` scores or probabilities.
        data: ``(x, y)`` with ``y`` integer labels ``(n,)`` or one-hot ``(n, k)``, or a batched
            ``tf.data.Dataset`` of such pairs.
        batch_size: prediction batch size for arrays.
        top_k: count a sample correct when its label is among the ``top_k`` highest scores.

    Returns:
        Accuracy in [0, 1] as a Python float.

    Raises:
        TypeError / ValueError: top_k or batch_size not a positive int; no samples.
    """
    top_k = check_positive_int(top_k, "top_k")
    batch_size = check_positive_int(batch_size, "batch_size")
    index = model.output_names.index("predictions") if is_multi_output(model) else 0

    def scores_of(x):
        out = model.predict(x, batch_size=batch_size, verbose=0)
        return ops.convert_to_numpy(out[index] if isinstance(out, (list, tuple)) else out)

    if is_dataset(data):
        labels, scores = [], []
        for xb, yb in data.as_numpy_iterator():  # NumPy batches: any Keras backend can predict on them
            scores.append(scores_of(xb))
            labels.append(np.asarray(yb))
        if not scores:
            raise ValueError("data holds no samples")
        s, y = np.concatenate(scores), np.concatenate(labels)
    else:
        x, y = split_pair(data, "data")
        if len(x) == 0:
            raise ValueError("data holds no samples")
        s, y = scores_of(x), np.asarray(y)
    if y.ndim == 2:
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    top = np.argsort(-s, axis=1)[:, :top_k]
    return float(np.mean(np.any(top == y[:, None], axis=1)))


