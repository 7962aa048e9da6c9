"""Repeated training runs: one configuration trained from several seeds, its curves and end points kept.

A claim like "dropout narrows the gap between training and validation accuracy" is only a claim about one
network if it rests on one run: the seed moves the result too. :func:`train_runs` trains the same
configuration once per seed and returns every run's learning curves and final accuracies, so a notebook can
compare two configurations against the spread of each (notebook 08 does this for every technique it teaches).

The runs reuse one compiled model: the first seed's model is traced once, and each later seed copies in the
variables its own build produced (the weights, and the random-number states of its dropout and augmentation
layers) and starts from a fresh optimizer (``reset_optimizer``), so a second seed costs the training steps and
not another trace, and gives exactly the run it would give alone.

    >>> runs = train_runs(build, (x_fit, y_fit), (x_val, y_val), seeds=(0, 1, 2), passes=60, points=12,
    ...                   batch_size=50)
    >>> runs.gap().mean(), runs.val_accuracy.min()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from .. import config
from ..validation import check_positive_int
from .loop import build_training_state, evaluate_accuracy, reset_optimizer

__all__ = ["BatchLosses", "Runs", "repeating_batches", "train_runs"]


@dataclass
class Runs:
    """The runs of one configuration, one row per seed.

    Attributes:
        name: the configuration's label.
        seeds: the seeds, in row order.
        curves: metric name -> ``(seeds, points)`` array, as Keras logs them at the end of each point
            (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, and ``learning_rate`` where the optimizer
            reports it). Training loss and accuracy are running means over the batches of that stretch, with
            dropout and augmentation active, as Keras reports them.
        passes_per_point: passes over the training set between two points of the curves.
        train_accuracy: ``(seeds,)`` accuracy on the (unaugmented) training set at the end, in inference mode.
        val_accuracy: ``(seeds,)`` validation accuracy at the end, in inference mode (after any callback
            such as ``EarlyStopping(restore_best_weights=True)`` has restored weights).
        measures: ``(seeds,)`` list of whatever ``measure(model)`` returned at the end of each run.
        model: the trained model of the last seed.
    """

    name: str
    seeds: tuple[int, ...]
    curves: dict[str, np.ndarray]
    passes_per_point: int
    train_accuracy: np.ndarray
    val_accuracy: np.ndarray
    measures: list = field(default_factory=list)
    model: keras.Model | None = field(default=None, repr=False)

    def gap(self) -> np.ndarray:
        """``(seeds,)`` training minus validation accuracy at the end: what the fit fails to generalise."""
        return self.train_accuracy - self.val_accuracy

    def passes(self) -> np.ndarray:
        """``(points,)`` the number of passes over the training set at each point of the curves."""
        points = next(iter(self.curves.values())).shape[1]
        return self.passes_per_point * np.arange(1, points + 1)


def repeating_batches(x, y, *, batch_size: int, seed: int):
    """Shuffled batches of ``(x, y)`` that repeat forever, reshuffled at every pass.

    ``fit`` on it needs ``steps_per_epoch``; an "epoch" is then as many steps as that says, however many
    passes over the data it is (fewer epochs means fewer validation runs and less per-epoch overhead).

    Args:
        x: inputs ``(n, ...)``.
        y: labels ``(n,)``.
        batch_size: samples per batch.
        seed: the shuffling seed.

    Returns:
        A ``tf.data.Dataset`` of ``(x_batch, y_batch)``.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.repeat().batch(batch_size).prefetch(tf.data.AUTOTUNE)


class BatchLosses(keras.callbacks.Callback):
    """Record the training loss of every batch (``losses``, a list of floats, one per step).

    Keras logs a running mean over the batches of the epoch so far; the loss of batch ``k`` (counting from 1)
    is recovered from two consecutive means as ``k * mean_k - (k - 1) * mean_{k-1}``. This assumes batches of
    equal size (the running mean is weighted by batch size), which the caller must ensure. Used for the
    learning-rate range test of notebook 08, where every step has its own rate.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._previous_mean = 0.0
        self._seen = 0

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        mean = float(logs["loss"])
        self._seen += 1
        self.losses.append(self._seen * mean - (self._seen - 1) * self._previous_mean)
        self._previous_mean = mean


def _copy_state(source: keras.Model, target: keras.Model) -> None:
    """Give ``target`` all of ``source``'s variables: weights, and the states of the random-number generators
    of dropout and augmentation layers (not among ``get_weights()``), so that the run continues exactly as a
    run of ``source`` itself would."""
    theirs, mine = source.variables, target.variables
    if [tuple(v.shape) for v in theirs] != [tuple(v.shape) for v in mine]:
        raise ValueError("build(seed) must return the same architecture for every seed; the model built for "
                         f"a later seed has variables {[v.path for v in theirs]}, the first "
                         f"{[v.path for v in mine]}")
    for variable, value in zip(mine, theirs):
        variable.assign(value)


def train_runs(
    build: Callable[[int], keras.Model],
    train,
    validation,
    *,
    seeds: Sequence[int],
    passes: int,
    points: int,
    batch_size: int,
    name: str = "",
    callbacks: Callable[[], list] | None = None,
    measure: Callable[[keras.Model], object] | None = None,
) -> Runs:
    """Train one configuration from each seed and keep its curves and end points.

    Args:
        build: ``build(seed)`` returns a compiled model whose initial weights depend on ``seed`` only. It
            is called once per seed; the first model is the one trained each time (its traced step is
            reused), the others only lend their initial weights.
        train: ``(x, y)`` arrays, ``x`` ``(n, ...)``, ``y`` ``(n,)`` integer labels.
        validation: ``(x_val, y_val)`` arrays, evaluated at each point.
        seeds: one run per seed (also the seed of the shuffling).
        passes: passes over the training set in all (a multiple of ``points``).
        points: how many times the curves are sampled (and the validation set evaluated).
        batch_size: samples per step; each pass is ``ceil(n / batch_size)`` steps.
        name: the configuration's label.
        callbacks: ``callbacks()`` returns fresh Keras callbacks for each run (stateful ones such as
            ``EarlyStopping`` must not carry over from one seed to the next).
        measure: ``measure(model)`` at the end of each run; its results land in ``Runs.measures``.

    Returns:
        A :class:`Runs`.

    Raises:
        ValueError: no seeds, or ``passes`` not a positive multiple of ``points``.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed, got an empty sequence")
    passes = check_positive_int(passes, "passes")
    points = check_positive_int(points, "points")
    batch_size = check_positive_int(batch_size, "batch_size")
    if passes % points:
        raise ValueError(f"passes must be a multiple of points, got passes={passes} and points={points}")
    x, y = train
    x_val, y_val = validation
    steps_per_pass = -(-len(x) // batch_size)
    model = None
    initial_lr = None
    curves: dict[str, list] = {}
    train_acc, val_acc, measures = [], [], []
    for seed in seeds:
        config.set_seed(seed)
        fresh = build(seed)
        if model is None:
            model = fresh
            build_training_state(model, x[:1], y[:1])
            lr = model.optimizer.learning_rate  # a Variable, or a schedule's current value (a tensor)
            initial_lr = float(keras.ops.convert_to_numpy(lr)) if isinstance(lr, keras.Variable) else None
        else:
            _copy_state(fresh, model)
            reset_optimizer(model)
            if initial_lr is not None:  # a callback such as ReduceLROnPlateau may have lowered it
                model.optimizer.learning_rate.assign(initial_lr)
        history = model.fit(
            repeating_batches(x, y, batch_size=batch_size, seed=seed),
            epochs=points,
            steps_per_epoch=steps_per_pass * (passes // points),
            validation_data=(x_val, y_val),
            validation_batch_size=len(x_val),
            callbacks=callbacks() if callbacks is not None else None,
            shuffle=False,  # the dataset shuffles itself
            verbose=0,
        )
        for key, values in history.history.items():
            values = list(values) + [np.nan] * (points - len(values))  # a run stopped early
            curves.setdefault(key, []).append(values)
        train_acc.append(evaluate_accuracy(model, (x, y), batch_size=512))
        val_acc.append(evaluate_accuracy(model, (x_val, y_val), batch_size=512))
        if measure is not None:
            measures.append(measure(model))
    return Runs(name=name, seeds=seeds, curves={k: np.asarray(v, dtype=float) for k, v in curves.items()},
                passes_per_point=passes // points, train_accuracy=np.asarray(train_acc),
                val_accuracy=np.asarray(val_acc), measures=measures, model=model)
