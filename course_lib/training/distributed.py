"""Training on several devices: logical CPUs to try it on one machine, the course-wide default strategy, and
the linear scaling rule for the learning rate.

    >>> from course_lib import training
    >>> training.split_cpu(2)            # first, before TensorFlow sets up its devices
    ['/device:CPU:0', '/device:CPU:1']
    >>> training.use_strategy("mirrored")  # every model built from now on is mirrored on both
    Strategy: MirroredStrategy over 2 devices (CPU:0, CPU:1); fit's batch_size is the global batch

``cl.config.start_notebook`` calls ``use_strategy("auto")`` in full mode on the TensorFlow backend, so that
the notebooks train on every GPU of a machine, or on several machines, without a change to their code; set
``COURSE_STRATEGY`` to ``none``, ``mirrored`` or ``auto`` to choose otherwise.

Nothing here imports TensorFlow at module level: ``course_lib.training`` stays importable under JAX and
PyTorch, where :func:`scaled_learning_rate`, ``use_strategy("none")`` and (JAX) :func:`split_cpu` apply. Of
the kit this module imports only ``validation``, because ``config.start_notebook`` imports it (config stays a
leaf otherwise).
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import Any

import keras

from ..validation import check_choice, check_float, check_int, check_positive_int, value_error

__all__ = ["STRATEGY_ENV_VAR", "mirrored_strategy", "multi_worker_strategy", "scaled_learning_rate",
           "split_cpu", "use_strategy"]

STRATEGY_ENV_VAR = "COURSE_STRATEGY"
STRATEGY_KINDS = ("auto", "mirrored", "none")


def _backend() -> str:
    return keras.backend.backend()


# ------------------------------------------------------------------------------------------- logical CPUs
def split_cpu(n: int = 2) -> list[str]:
    """Split this machine's CPU into ``n`` logical devices, to try data parallelism without several GPUs.

    TensorFlow fixes its devices the first time it runs anything (a tensor, a variable, a model, a strategy,
    or a call that lists logical devices); after that the split cannot change. Call this first: in a
    notebook, in the first cell (importing ``course_lib``, Keras and TensorFlow is fine; running them is not).
    Calling it again with the same ``n`` changes nothing. The logical devices share the same cores: they
    show how work is divided, not a speed-up. Under JAX it sets ``jax_num_cpu_devices``, with the same rule
    (before JAX runs anything); PyTorch has no logical devices.

    Args:
        n: the number of logical CPU devices (>= 1).

    Returns:
        Their names: ``["/device:CPU:0", "/device:CPU:1", ...]`` (TensorFlow) or ``["cpu:0", "cpu:1", ...]``
        (JAX, as ``keras.distribution.list_devices`` writes them).

    Raises:
        TypeError / ValueError: ``n`` is not a positive int.
        RuntimeError: the backend is neither TensorFlow nor JAX, or it has already set up a different number
            of CPU devices (the message says what to do).
    """
    n = check_positive_int(n, "n")
    backend = _backend()
    too_late = (f"cannot split the CPU into {n} logical devices: {{}} has already set up its devices "
                f"in this process ({{}} CPU device(s)), which happens the first time it runs anything (a "
                f"tensor, a model, a strategy, a list of devices). Call split_cpu({n}) before that: in a "
                f"notebook, restart the kernel and call it in the first cell.")
    if backend == "jax":
        import jax

        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError as error:
            if len(jax.devices("cpu")) != n:
                raise RuntimeError(too_late.format("JAX", len(jax.devices("cpu")))) from error
        return [f"cpu:{d.id}" for d in jax.devices("cpu")]
    if backend != "tensorflow":
        raise RuntimeError(f"split_cpu needs the TensorFlow or JAX backend; the backend is {backend!r}")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]  # lists the hardware without setting anything up
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as error:
        have = [d.name for d in tf.config.list_logical_devices("CPU")]
        if len(have) == n:
            return have
        raise RuntimeError(too_late.format("TensorFlow", len(have))) from error
    return [d.name for d in tf.config.list_logical_devices("CPU")]


# ------------------------------------------------------------------------------------------- strategies
_MIRRORED: dict[tuple[str, ...], Any] = {}


def mirrored_strategy(devices=None):
    """The ``tf.distribute.MirroredStrategy`` over ``devices``: one object per set of devices, made once.

    Two MirroredStrategy objects over the same devices in one process number their collective operations
    from the same start, so the gradient all-reduces of two models can be taken for each other and fail
    ("Shape mismatch in the collective instance"); TensorFlow's own tests shift each new strategy's key base
    to avoid it. Handing out one object per set of devices avoids it too, and lets a model built under the
    strategy ``use_strategy`` installed be trained in ``make_strategy("mirrored")``'s scope (the same object).

    Args:
        devices: device names (``"/gpu:0"``, ``"/device:CPU:1"``, ...); default every GPU, else every logical
            CPU. Sets up TensorFlow's devices.
    """
    import tensorflow as tf

    if devices is None:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
    key = tuple(tf.DeviceSpec.from_string(d).to_string() for d in devices)
    if key not in _MIRRORED:
        _MIRRORED[key] = tf.distribute.MirroredStrategy(devices=list(key))
    return _MIRRORED[key]


# -------------------------------------------------------------------------------------- multi-worker strategy
@cache
def _multi_worker_class():
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """``tf.distribute.MultiWorkerMirroredStrategy`` whose ``reduce`` also takes what Keras 3 gives it.

        Keras 3's ``fit`` calls ``strategy.reduce`` on a whole ``(x, y)`` batch (to build the model) and with
        ``axis=0`` on scalar metrics; TensorFlow's multi-worker strategy accepts neither, so ``fit`` fails on
        its first batch (keras-team/keras#20585, tensorflow/tensorflow#72388). This subclass reduces each
        tensor of a structure separately and ignores ``axis`` for scalars; everything else is TensorFlow's.
        """

        def reduce(self, reduce_op, value, axis):
            def one(v):
                first = v.values[0] if isinstance(v, tf.distribute.DistributedValues) else v
                rank = getattr(getattr(first, "shape", None), "rank", None)
                return super(MultiWorkerMirroredStrategy, self).reduce(
                    reduce_op, v, None if rank == 0 else axis)

            return tf.nest.map_structure(one, value)

    return MultiWorkerMirroredStrategy


def multi_worker_strategy(**kwargs):
    """A ``tf.distribute.MultiWorkerMirroredStrategy`` that Keras 3's ``fit`` can train with.

    Make it first, before TensorFlow sets up its devices (it configures them for the cluster, and TensorFlow
    refuses that once they are set up: "Collective ops must be configured at program startup"). The workers
    find each other through ``TF_CONFIG`` (see ``course_lib.training.workers.run_workers``); build
    and compile the model inside its ``scope()`` and give ``fit`` the global batch (each worker's dataset
    yields its own share of it, ``global / workers``, e.g. through
    ``strategy.distribute_datasets_from_function``).

    Args:
        **kwargs: passed to ``tf.distribute.MultiWorkerMirroredStrategy`` (``cluster_resolver``,
            ``communication_options``).

    Raises:
        RuntimeError: the backend is not TensorFlow.
    """
    if _backend() != "tensorflow":
        raise RuntimeError(f"the multi-worker strategy needs KERAS_BACKEND=tensorflow; the backend is "
                           f"{_backend()!r} (JAX distributes through keras.distribution)")
    return _multi_worker_class()(**kwargs)


# ---------------------------------------------------------------------------------- the default strategy
def _describe(strategy, why: str) -> str:
    name = type(strategy).__name__
    if name == "MultiWorkerMirroredStrategy":
        tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        task = tf_config.get("task", {})
        cluster = tf_config.get("cluster", {})
        workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
        return (f"Strategy: MultiWorkerMirroredStrategy, {task.get('type', 'worker')} {task.get('index', 0)} "
                f"of {workers} ({why}), {strategy.num_replicas_in_sync} replicas in all; fit's batch_size is "
                f"the global batch")
    devices = [d.split("device:")[-1] for d in strategy.extended.worker_devices]
    return (f"Strategy: {name} over {len(devices)} devices ({', '.join(devices)}); fit's batch_size is the "
            f"global batch")


def use_strategy(kind: str = "auto", *, verbose: bool = True):
    """Install a course-wide default ``tf.distribute`` strategy: every model built afterwards is built, and
    trained, under it, with no ``strategy.scope()`` in the notebook.

    ``COURSE_STRATEGY`` (``none``, ``mirrored`` or ``auto``), when set, overrides ``kind``. What is chosen:

    - ``"auto"``: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` is set (several machines; see
      :func:`multi_worker_strategy`), else ``MirroredStrategy`` over the GPUs when two or more are visible,
      else none;
    - ``"mirrored"``: ``MirroredStrategy`` over every GPU, or over the logical CPUs when there is no GPU;
    - ``"none"``: no strategy (a strategy installed earlier is removed).

    Installing a strategy sets up TensorFlow's devices (see :func:`split_cpu`). Models built before the call
    are not moved; a different strategy's ``scope()`` cannot be entered while one is installed, so code that
    makes its own strategies calls ``use_strategy("none")`` first. Under JAX or PyTorch only ``"none"`` and
    ``"auto"`` (which then chooses none) are accepted, and TensorFlow is not imported.

    Args:
        kind: ``"auto"``, ``"mirrored"`` or ``"none"``.
        verbose: print one line saying what was chosen.

    Returns:
        The installed ``tf.distribute.Strategy``, or None.

    Raises:
        TypeError / ValueError: ``kind`` (or ``COURSE_STRATEGY``) is not one of the kinds; ``"mirrored"`` on
            a backend other than TensorFlow.
        RuntimeError: called inside a ``strategy.scope()``.
    """
    kind = check_choice(kind, "kind", STRATEGY_KINDS)
    why = f"kind={kind!r}"
    chosen = os.environ.get(STRATEGY_ENV_VAR, "").strip()
    if chosen:
        kind = check_choice(chosen.lower(), STRATEGY_ENV_VAR, STRATEGY_KINDS)
        why = f"{STRATEGY_ENV_VAR}={chosen}"
    backend = _backend()
    if backend != "tensorflow":
        if kind == "mirrored":
            raise value_error("kind", f"'none' or 'auto' on the {backend} backend (tf.distribute needs "
                                      "TensorFlow; JAX distributes through keras.distribution)", kind)
        if verbose:
            print(f"Strategy: none (the {backend} backend; tf.distribute needs TensorFlow)")
        return None
    if kind == "none" and "tensorflow" not in sys.modules:
        if verbose:
            print(f"Strategy: none ({why})")
        return None  # nothing can have been installed without TensorFlow
    import tensorflow as tf

    strategy = None
    if kind == "auto":
        gpus = tf.config.list_physical_devices("GPU")  # lists the hardware without setting anything up
        if os.environ.get("TF_CONFIG"):
            strategy, why = multi_worker_strategy(), "TF_CONFIG is set"
        elif len(gpus) >= 2:
            strategy, why = mirrored_strategy(), f"{len(gpus)} GPUs visible"
        else:
            why = f"{len(gpus)} GPU visible" if gpus else "no GPU visible"
    elif kind == "mirrored":
        strategy = mirrored_strategy()
    tf.distribute.experimental_set_strategy(strategy)
    if verbose:
        print(_describe(strategy, why) if strategy is not None else f"Strategy: none, one device ({why})")
    return strategy


# ------------------------------------------------------------------------------------ linear scaling rule
def scaled_learning_rate(base_lr: float, base_batch: int, batch: int, *, warmup_steps: int = 0):
    """The learning rate for ``batch`` by Goyal et al.'s linear scaling rule, with their gradual warm-up.

    The rule: when the minibatch is ``k`` times larger, make the learning rate ``k`` times larger
    (``base_lr * batch / base_batch``). The warm-up starts at ``base_lr`` and climbs linearly to the scaled
    rate over ``warmup_steps`` steps, then stays there.

    Args:
        base_lr: the rate that works for ``base_batch`` (> 0).
        base_batch, batch: batch sizes (positive ints).
        warmup_steps: steps of linear warm-up (>= 0); 0 returns the scaled rate as a float.

    Returns:
        A float (no warm-up), or a ``keras.optimizers.schedules.LearningRateSchedule`` for the optimizer.

    Reference:
        Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017, Sections 2.1-2.2.
    """
    base_lr = check_float(base_lr, "base_lr", minimum=0.0, include_minimum=False)
    base_batch = check_positive_int(base_batch, "base_batch")
    batch = check_positive_int(batch, "batch")
    warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0)
    target = base_lr * batch / base_batch
    if warmup_steps == 0:
        return target
    # CosineDecay with alpha=1 never decays: after its linear warm-up it holds warmup_target.
    return keras.optimizers.schedules.CosineDecay(base_lr, decay_steps=1, alpha=1.0, warmup_target=target,
                                                  warmup_steps=warmup_steps)


def installed_strategy() -> Any:
    """The strategy :func:`use_strategy` installed, or None (without importing TensorFlow)."""
    if "tensorflow" not in sys.modules or _backend() != "tensorflow":
        return None
    import tensorflow as tf

    return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
