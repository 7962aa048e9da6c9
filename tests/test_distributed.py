"""Training on several devices (course_lib.training.distributed and .workers): one replica and two give the
same step, one process and two workers the same weights, full mode installs the default strategy, and no
worker process outlives its call.

TensorFlow fixes its devices once per process, so the two-device checks run in one subprocess that splits the
CPU in two before anything else (started once for the module and read by several tests, to keep the module
short); the multi-worker checks run two worker processes through ``run_workers``, in a network namespace
with only loopback. Every subprocess has a time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from course_lib import config, training
from course_lib.training import workers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# One subprocess, two logical CPUs: a step on one device and on two, then full mode's default strategy.
TWO_DEVICES = textwrap.dedent(
    """
    import contextlib, io, json, os
    from course_lib import config, training

    report = {"devices": training.split_cpu(2)}  # before TensorFlow sets up its devices
    import keras, numpy as np, tensorflow as tf


    def net(seed):
        init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)
        model = keras.Sequential([
            keras.Input((8, 8, 1), name="image"),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv", kernel_initializer=init(0)),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="predictions", kernel_initializer=init(1)),
        ], name="net")
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        return model


    rng = np.random.default_rng(0)
    x, y = rng.random((32, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 32)
    strategy = training.make_strategy("mirrored", devices=report["devices"])
    with strategy.scope():
        twin = net(0)
    single = net(0)
    before = single.get_weights()


    @tf.function
    def replica_gradients(xs, ys):
        with tf.GradientTape() as tape:
            loss = twin.compute_loss(x=xs, y=ys, y_pred=twin(xs, training=True))  # scaled as fit scales it
        return tape.gradient(loss, twin.trainable_variables)


    batches = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(32))
    xs, ys = next(iter(batches))
    summed = strategy.reduce("SUM", strategy.run(replica_gradients, args=(xs, ys)), axis=None)
    with tf.GradientTape() as tape:
        loss = single.compute_loss(x=x, y=y, y_pred=single(x, training=True))
    one = tape.gradient(loss, single.trainable_variables)
    twin.train_on_batch(x, y)
    single.train_on_batch(x, y)
    report["shards"] = [int(t.shape[0]) for t in strategy.experimental_local_results(xs)]
    report["gradients"] = [[a.numpy().tolist(), b.numpy().tolist()] for a, b in zip(one, summed)]
    report["steps"] = [[(a - w).tolist(), (b - w).tolist()]
                       for a, b, w in zip(single.get_weights(), twin.get_weights(), before)]
    report["copies_equal"] = all(np.array_equal(*[c.numpy() for c in v.value.values])
                                 for v in twin.trainable_variables)
    try:
        training.split_cpu(3)
    except RuntimeError as error:
        report["split_too_late"] = str(error)
    report["split_again"] = training.split_cpu(2)

    # Full mode: start_notebook installs the strategy COURSE_STRATEGY names; models are then mirrored.
    config._mode_cache = "full"
    os.environ["COURSE_STRATEGY"] = "mirrored"
    lines = io.StringIO()
    with contextlib.redirect_stdout(lines):
        config.start_notebook(seed=0)
        plain = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(10, activation="softmax")])
        plain.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        history = plain.fit(x, y, batch_size=16, epochs=1, verbose=0)
        report["plain"] = [type(plain.trainable_weights[0].value).__name__,
                           plain.distribute_strategy.num_replicas_in_sync, history.history["loss"][0],
                           plain.distribute_strategy is strategy]
        kit = training.build_and_compile(lambda: net(1), recipe="adam")
        history = training.fit(kit, (x, y), recipe=None, batch_size=16, epochs=1, verbose=0)
        report["kit"] = [type(kit.trainable_weights[0].value).__name__, history.history["loss"][0]]
        os.environ["COURSE_STRATEGY"] = "none"  # overrides the argument
        report["override"] = [training.use_strategy("mirrored") is None, tf.distribute.has_strategy()]
        os.environ["COURSE_STRATEGY"] = "auto"  # no GPU, no TF_CONFIG: nothing
        report["auto"] = training.use_strategy("mirrored") is None
    report["lines"] = lines.getvalue().splitlines()
    print(json.dumps(report))
    """
)

# Each worker: full mode's default strategy from TF_CONFIG, a plain Keras model, its own half of each global
# batch; the chief saves its weights.
WORKER = textwrap.dedent(
    """
    import json, os
    import numpy as np
    from course_lib import training

    strategy = training.use_strategy("auto")  # TF_CONFIG is set: MultiWorkerMirroredStrategy
    import keras, tensorflow as tf

    GLOBAL, STEPS = 16, 3
    task = strategy.cluster_resolver.task_id
    init = lambda k: keras.initializers.GlorotUniform(seed=k)
    model = keras.Sequential([
        keras.Input((8, 8, 1), name="image"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv", kernel_initializer=init(0)),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="softmax", name="predictions", kernel_initializer=init(1)),
    ], name="net")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((GLOBAL * STEPS, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, GLOBAL * STEPS)


    def shard(context):  # this worker's half of every global batch
        local = context.get_per_replica_batch_size(GLOBAL)
        first = context.input_pipeline_id * local
        rows = np.concatenate([np.arange(s * GLOBAL + first, s * GLOBAL + first + local)
                               for s in range(STEPS)])
        return tf.data.Dataset.from_tensor_slices((x[rows], y[rows])).batch(local)


    model.fit(strategy.distribute_datasets_from_function(shard), epochs=1, steps_per_epoch=STEPS, verbose=0)
    if task == 0:
        np.savez(os.environ["WEIGHTS"], *model.get_weights())
    report = {"task": task, "replicas": strategy.num_replicas_in_sync,
              "variable": type(model.trainable_weights[0].value).__name__,
              "checksum": float(sum(np.sum(np.abs(w)) for w in model.get_weights()))}
    # arrays, as the notebooks pass them: the strategy shards them itself
    more = model.fit(x[:32], y[:32], batch_size=16, epochs=1, verbose=0)
    report["arrays"] = [bool(np.isfinite(more.history["loss"][0])),
                        list(model.predict(x[:16], batch_size=16, verbose=0).shape)]
    print(json.dumps(report))
    """
)

EPS32 = float(np.finfo(np.float32).eps)


def _gone(pids):
    return all(not workers._running(pid, None) for pid in pids)


@pytest.fixture(scope="module")
def two_devices_started(tmp_path_factory):
    """The two-device subprocess, started (the first test that needs it starts it, so that it runs while that
    test's workers run)."""
    env = dict(os.environ, **config.TF_QUIET_ENV, CUDA_VISIBLE_DEVICES="", COURSE_MODE="quick")
    env.pop("COURSE_STRATEGY", None)
    process = subprocess.Popen([sys.executable, "-c", TWO_DEVICES], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               cwd=tmp_path_factory.mktemp("two_devices"))
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def two_devices(two_devices_started):
    """What the two-device subprocess reported (it has 240 s)."""
    try:
        out, err = two_devices_started.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        two_devices_started.kill()
        two_devices_started.communicate()
        pytest.fail("the two-device subprocess did not finish within 240 s")
    assert two_devices_started.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not workers.can_isolate_network(), reason="bubblewrap cannot make a network namespace")
def test_one_process_and_two_workers_end_with_the_same_weights(tmp_path, two_devices_started):
    # two_devices_started: the two-device subprocess starts here, and runs while the workers do
    weights = tmp_path / "chief.npz"
    run = training.run_workers(WORKER, timeout=180, env={"WEIGHTS": str(weights)}, cwd=tmp_path)
    assert _gone(run.pids) and len(run.pids) == 2
    assert run.isolated and run.interfaces == ("lo",)  # only loopback inside the namespace
    assert all(address in ("::", "0.0.0.0") for address in run.listen_addresses), run.listen_addresses
    reports = run.reports()
    assert [r["task"] for r in reports] == [0, 1] and {r["replicas"] for r in reports} == {2}
    assert {r["variable"] for r in reports} == {"MirroredVariable"}
    assert reports[0]["checksum"] == reports[1]["checksum"]  # the workers hold the same weights
    assert all(r["arrays"] == [True, [16, 10]] for r in reports)  # fit and predict on arrays work too
    assert "Strategy: MultiWorkerMirroredStrategy, worker 0 of 2 (TF_CONFIG is set)" in run.outputs[0]

    init = lambda k: keras.initializers.GlorotUniform(seed=k)  # noqa: E731
    model = keras.Sequential([
        keras.Input((8, 8, 1), name="image"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv", kernel_initializer=init(0)),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="softmax", name="predictions", kernel_initializer=init(1)),
    ], name="net")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((48, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 48)
    initial = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)  # the same three global batches
    saved = np.load(weights)
    for expected, start, name in zip(model.get_weights(), initial, saved.files):
        step = expected - start
        np.testing.assert_allclose(saved[name] - start, step, rtol=0, atol=1e3 * EPS32 * np.abs(step).max())


def test_one_replica_and_two_take_the_same_step(two_devices):
    report = two_devices
    assert report["devices"] == ["/device:CPU:0", "/device:CPU:1"] == report["split_again"]
    assert report["shards"] == [16, 16]  # the global batch of 32, halved
    # Each replica's loss is divided by the global batch and the gradients summed: the one-device gradient of
    # the mean loss, up to float32 round-off (sums over 32 examples in another order: far below 1e3 eps).
    for one, two in report["gradients"] + report["steps"]:
        one, two = np.asarray(one), np.asarray(two)
        np.testing.assert_allclose(two, one, rtol=0, atol=1e3 * EPS32 * np.abs(one).max())
    assert report["copies_equal"]  # both replicas applied the same update to their copy
    too_late = report["split_too_late"]
    assert "already set up its devices" in too_late and "split_cpu(3)" in too_late


def test_full_mode_installs_the_default_strategy_and_plain_models_train_under_it(two_devices):
    report = two_devices
    assert report["lines"][0].startswith("Run mode: full")
    assert report["lines"][2] == ("Strategy: MirroredStrategy over 2 devices (CPU:0, CPU:1); fit's "
                                  "batch_size is the global batch")
    variable, replicas, loss, same = report["plain"]
    assert (variable, replicas, same) == ("MirroredVariable", 2, True) and np.isfinite(loss)
    assert report["kit"][0] == "MirroredVariable" and np.isfinite(report["kit"][1])
    assert report["override"] == [True, False]
    assert report["lines"][3] == "Strategy: none, one device (COURSE_STRATEGY=none)"
    assert report["auto"] and report["lines"][4] == "Strategy: none, one device (no GPU visible)"


def test_a_failing_worker_stops_the_others_and_a_timeout_stops_all():
    failing = textwrap.dedent(
        """
        import json, os, sys, time
        if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
            sys.exit("worker 1 gives up")
        time.sleep(600)
        """
    )
    isolate = workers.can_isolate_network()
    start = time.monotonic()
    with pytest.raises(training.WorkersFailed, match="worker 1 exited with status 1") as caught:
        training.run_workers(failing, timeout=60, isolate_network=isolate)
    assert "worker 1 gives up" in str(caught.value)
    assert time.monotonic() - start < 30  # worker 0 was killed, not waited for
    assert caught.value.run.failed == 1 and _gone(caught.value.run.pids) and len(caught.value.run.pids) == 2
    with pytest.raises(training.WorkersFailed, match="did not finish within timeout=1 s") as caught:
        training.run_workers("import time\ntime.sleep(600)\n", timeout=1, isolate_network=isolate)
    assert caught.value.run.timed_out and _gone(caught.value.run.pids) and len(caught.value.run.pids) == 2


def test_linear_scaling_rule_and_its_warm_up():
    assert training.scaled_learning_rate(0.1, 256, 8192) == pytest.approx(3.2)  # Goyal et al., k = 32
    schedule = training.scaled_learning_rate(0.1, 256, 1024, warmup_steps=10)
    rates = [float(schedule(step)) for step in (0, 5, 10, 100)]
    assert rates == pytest.approx([0.1, 0.25, 0.4, 0.4])


@pytest.mark.parametrize("call, name", [
    (lambda: training.run_workers("pass", num_workers=0), "num_workers"),
    (lambda: training.run_workers("pass", timeout=0), "timeout"),
    (lambda: training.run_workers("   "), "source"),
    (lambda: training.use_strategy("tpu"), "kind"),
    (lambda: training.split_cpu(0), "n"),
    (lambda: training.scaled_learning_rate(0.1, 0, 64), "base_batch"),
    (lambda: training.scaled_learning_rate(-0.1, 32, 64), "base_lr"),
    (lambda: training.scaled_learning_rate(0.1, 32, 64, warmup_steps=-1), "warmup_steps"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        call()


def test_a_bad_course_strategy_names_the_variable(monkeypatch):
    monkeypatch.setenv("COURSE_STRATEGY", "several")
    with pytest.raises(ValueError, match="^COURSE_STRATEGY must be one of 'auto', 'mirrored', 'none'"):
        training.use_strategy("auto")
    with pytest.raises(TypeError, match="^isolate_network must be a bool"):
        training.run_workers("pass", isolate_network="yes")
