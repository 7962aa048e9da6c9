"""Training helpers: the papers' optimisation recipes as data, compile/fit wrappers, augmentation, accuracy.

    >>> from course_lib import models, training
    >>> recipe = training.get_recipe("resnet_cifar")
    >>> model = training.build_and_compile("cifar_resnet20", recipe=recipe)
    >>> history = training.fit(model, (x_train, y_train), recipe=recipe, epochs=2, validation=(x_val, y_val),
    ...                        augment=training.augmentation(flip=True, crop_padding=4))
    >>> training.evaluate_accuracy(model, (x_test, y_test))

Every name is importable from ``course_lib.training``; each lives in one module with one job:

- :mod:`~course_lib.training.recipes`: ``Recipe``, ``RECIPES``, ``get_recipe``, the optimizers they build
  (``SGDWithL2``, ``make_optimizer``), ``compile_model``, and their schedules as callbacks
  (``recipe_callbacks``, ``PlateauSchedule``); the weight-decay conventions are explained there.
- :mod:`~course_lib.training.pipeline`: the input side: ``(x, y)`` pairs into ``tf.data`` pipelines, targets
  of multi-output models, and the augmentation layers (``augmentation``, ``RandomShift``).
- :mod:`~course_lib.training.loop`: ``fit``, ``evaluate_accuracy``, distribution (``make_strategy``,
  ``build_and_compile``) and tracing (``build_training_state``, ``reset_optimizer``).
- :mod:`~course_lib.training.distributed`: several devices: ``split_cpu`` (logical CPUs), ``use_strategy``
  (the course-wide default strategy of full mode), ``multi_worker_strategy``, and the linear scaling rule
  (``scaled_learning_rate``).
- :mod:`~course_lib.training.workers`: ``run_workers``, the worker processes of a multi-worker run on one
  machine (``TF_CONFIG``, time limit, network namespace, nothing left behind).
- :mod:`~course_lib.training.runs`: ``train_runs`` (one configuration trained from several seeds, its
  curves and end points kept in a ``Runs``; accuracies through ``evaluate_accuracy``).
- :mod:`~course_lib.training.baselines`: ``linear_readout`` and ``linear_baseline``, the linear classifier
  each demo compares its network against.
"""

from __future__ import annotations

from .baselines import linear_baseline, linear_readout
from .distributed import multi_worker_strategy, scaled_learning_rate, split_cpu, use_strategy
from .loop import (
    build_and_compile,
    build_training_state,
    evaluate_accuracy,
    fit,
    make_strategy,
    reset_optimizer,
)
from .pipeline import RandomShift, augmentation
from .recipes import (
    RECIPES,
    PlateauSchedule,
    Recipe,
    SGDWithL2,
    compile_model,
    get_recipe,
    make_optimizer,
    recipe_callbacks,
)
from .runs import Runs, train_runs
from .workers import WorkerRun, WorkersFailed, can_isolate_network, run_workers

__all__ = [
    "RECIPES", "PlateauSchedule", "RandomShift", "Recipe", "Runs", "SGDWithL2", "WorkerRun", "WorkersFailed",
    "augmentation", "build_and_compile", "build_training_state", "can_isolate_network", "compile_model",
    "evaluate_accuracy", "fit", "get_recipe", "linear_baseline", "linear_readout", "make_optimizer",
    "make_strategy", "multi_worker_strategy", "recipe_callbacks", "reset_optimizer", "run_workers",
    "scaled_learning_rate", "split_cpu", "train_runs", "use_strategy",
]
