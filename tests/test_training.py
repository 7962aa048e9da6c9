"""course_lib.training: recipes against the papers' numbers, the L2 update rule by hand, fit/evaluate helpers,
augmentation, and training under MirroredStrategy on two logical CPU devices (in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import config, models, training

# (recipe, optimizer class, learning rate, momentum, L2 decay, batch size, schedule) as the papers state them:
# AlexNet Sec. 5, VGG Sec. 3.1, ResNet Sec. 3.4 (ImageNet) and Sec. 4.2 (CIFAR-10).
PAPER_RECIPES = [
    ("alexnet", training.SGDWithL2, 0.01, 0.9, 5e-4, 128, "plateau"),
    ("vgg", training.SGDWithL2, 0.01, 0.9, 5e-4, 256, "plateau"),
    ("resnet_imagenet", training.SGDWithL2, 0.1, 0.9, 1e-4, 256, "plateau"),
    ("resnet_cifar", training.SGDWithL2, 0.1, 0.9, 1e-4, 128, "steps"),
    ("googlenet", keras.optimizers.SGD, 0.01, 0.9, 0.0, 128, "epoch_decay"),
    ("adam", keras.optimizers.Adam, 1e-3, None, 0.0, 128, None),
]


@pytest.mark.parametrize("name, cls, lr, momentum, l2, batch, schedule", PAPER_RECIPES,
                         ids=[r[0] for r in PAPER_RECIPES])
def test_recipes_build_the_papers_optimizer(name, cls, lr, momentum, l2, batch, schedule):
    recipe = training.RECIPES[name]
    assert (recipe.batch_size, recipe.schedule) == (batch, schedule)
    opt = training.make_optimizer(name)
    assert type(opt) is cls
    if momentum is not None:
        assert opt.momentum == momentum
    assert getattr(opt, "l2", 0.0) == l2
    if schedule != "steps":
        assert float(opt.learning_rate) == pytest.approx(lr)


def test_resnet_cifar_schedule_divides_by_ten_at_32k_and_48k_iterations():
    schedule = training.make_optimizer("resnet_cifar")._learning_rate
    rates = [float(schedule(step)) for step in (0, 31_999, 32_000, 47_999, 48_000, 64_000)]
    np.testing.assert_allclose(rates, [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-6)
    assert training.RECIPES["resnet_cifar"].iterations == 64_000


def test_recipe_overrides_and_errors():
    assert training.get_recipe("alexnet", learning_rate=0.05).learning_rate == 0.05
    assert training.get_recipe("alexnet", learning_rate=None).learning_rate == 0.01
    with pytest.raises(ValueError, match="recipe must be a Recipe or one of adam, .*, got 'lenet'"):
        training.get_recipe("lenet")
    with pytest.raises(ValueError, match="unknown recipe field"):
        training.get_recipe("adam", learnig_rate=0.1)


def test_sgd_with_l2_follows_the_alexnet_update_rule():
    # v <- mu v - lr (g + lambda w);  w <- w + v   for kernels; biases get no decay.
    lr, mu, lam = 0.1, 0.9, 0.05
    w0, b0 = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([1.0, -1.0])
    g_w, g_b = np.array([[0.2, 0.1], [-0.3, 0.4]]), np.array([0.5, 0.25])
    kernel, bias = keras.Variable(w0, dtype="float64"), keras.Variable(b0, dtype="float64")
    opt = training.SGDWithL2(lr, momentum=mu, l2=lam)
    w, v, b, vb = w0.copy(), np.zeros_like(w0), b0.copy(), np.zeros_like(b0)
    for _ in range(3):
        opt.apply_gradients([(tf.constant(g_w), kernel), (tf.constant(g_b), bias)])
        v = mu * v - lr * (g_w + lam * w)
        w = w + v
        vb = mu * vb - lr * g_b
        b = b + vb
    # lr and momentum are kept as float32 by Keras: agreement to ~1e-9, not 1e-16.
    np.testing.assert_allclose(np.asarray(kernel), w, rtol=1e-7)
    np.testing.assert_allclose(np.asarray(bias), b, rtol=1e-7)
    clone = training.SGDWithL2.from_config(opt.get_config())
    assert clone.l2 == lam
    with pytest.raises(ValueError, match="l2 must be a float >= 0, got -1.0"):
        training.SGDWithL2(0.1, l2=-1)


def test_compile_model_handles_aux_outputs():
    model = models.googlenet(aux_logits=True, input_shape=(65, 65, 3), width_multiplier=0.03, num_classes=3)
    recipe = training.get_recipe("googlenet", learning_rate=0.02)
    training.compile_model(model, recipe=recipe, run_eagerly=True)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)
    assert models.aux_loss_weights(model) == {"predictions": 1.0, "aux1": 0.3, "aux2": 0.3}
    x = np.random.default_rng(0).random((4, 65, 65, 3), dtype=np.float32)
    y = np.array([0, 1, 2, 1])
    history = training.fit(model, (x, y), recipe=recipe, epochs=1, batch_size=2, validation=(x, y))
    assert {"loss", "aux1_loss", "aux2_loss", "predictions_accuracy"} <= set(history.history)
    # A plateau recipe on this model watches the main output's validation accuracy, a key training logs.
    (plateau,) = training.recipe_callbacks(model, training.RECIPES["alexnet"], has_validation=True)
    assert plateau.monitor == "val_predictions_accuracy" and plateau.monitor in history.history
    # The total loss is the 1 / 0.3 / 0.3 weighted sum of the three outputs' losses.
    logs = model.evaluate(x, {n: y for n in model.output_names}, verbose=0, return_dict=True)
    weighted = logs["predictions_loss"] + 0.3 * (logs["aux1_loss"] + logs["aux2_loss"])
    assert logs["loss"] == pytest.approx(weighted, rel=1e-4)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_compile_model_gives_a_logits_model_the_logits_loss(loss):
    # The same network twice, from the same weights: once ending in a softmax, once in its logits.
    keras.utils.set_random_seed(0)
    softmax = models.lenet5("modern", width_multiplier=0.5, num_classes=5)
    logits = models.lenet5("modern", width_multiplier=0.5, num_classes=5, classifier_activation=None)
    logits.set_weights(softmax.get_weights())
    for model in (softmax, logits):
        training.compile_model(model, recipe="sgd", learning_rate=0.1, loss=loss)
    assert softmax.loss == loss  # a softmax model keeps the loss it is given, as before
    assert isinstance(logits.loss, keras.losses.Loss) and logits.loss.get_config()["from_logits"]
    assert logits.loss.get_config()["name"] == loss
    rng = np.random.default_rng(0)
    x = rng.random((16, *softmax.input_shape[1:]), dtype=np.float32)
    y = np.arange(16) % 5
    if loss == "categorical_crossentropy":
        y = np.eye(5, dtype=np.float32)[y]
    # one SGD step on the same batch: the same loss during the step and after it, the same weights
    steps = [model.train_on_batch(x, y, return_dict=True)["loss"] for model in (softmax, logits)]
    after = [model.evaluate(x, y, verbose=0, return_dict=True)["loss"] for model in (softmax, logits)]
    assert abs(steps[0] - steps[1]) < 1e-5 and abs(after[0] - after[1]) < 1e-5
    assert abs(after[0] - steps[0]) > 1e-3  # the step did change the network
    for a, b in zip(softmax.get_weights(), logits.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_compile_model_follows_each_output_and_leaves_other_losses_alone():
    aux = models.googlenet(aux_logits=True, input_shape=(65, 65, 3), width_multiplier=0.03, num_classes=3,
                           classifier_activation=None)
    training.compile_model(aux, recipe="adam")
    assert sorted(aux.loss) == ["aux1", "aux2", "predictions"]
    assert all(loss.get_config()["from_logits"] for loss in aux.loss.values())
    # a Sequential ending in a nested model: its last layer decides
    head = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)], name="head")
    nested = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), head])
    assert training.compile_model(nested).loss.get_config()["from_logits"]
    # another loss, or a loss object: used as given
    assert training.compile_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]),
                                  loss="mse", metrics=()).loss == "mse"
    given = keras.losses.SparseCategoricalCrossentropy()
    assert training.compile_model(nested, loss=given).loss is given


def test_recipe_callbacks():
    model = models.lenet5("modern", width_multiplier=0.1)
    alexnet = training.RECIPES["alexnet"]
    (plateau,) = training.recipe_callbacks(model, alexnet, has_validation=True)
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.monitor, plateau.mode, plateau.factor) == ("val_accuracy", "max", 0.1)
    (plateau,) = training.recipe_callbacks(model, alexnet, has_validation=False)
    assert (plateau.monitor, plateau.mode) == ("loss", "min")
    (plateau,) = training.recipe_callbacks(model, training.get_recipe(alexnet, monitor="loss"),
                                           has_validation=True)
    assert (plateau.monitor, plateau.mode) == ("val_loss", "min")
    with pytest.raises(ValueError, match="recipe.monitor must be one of 'accuracy', 'loss', got 'top5'"):
        training.recipe_callbacks(model, training.get_recipe(alexnet, monitor="top5"), has_validation=True)
    (scheduler,) = training.recipe_callbacks(model, training.RECIPES["googlenet"], has_validation=False)
    rates = [scheduler.schedule(epoch) for epoch in (0, 7, 8, 16)]
    np.testing.assert_allclose(rates, [0.01, 0.01, 0.0096, 0.009216])  # 4% less every 8 epochs
    assert training.recipe_callbacks(model, training.RECIPES["resnet_cifar"], has_validation=True) == []


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_fit_verbosity_follows_the_run_mode_and_returns_history(monkeypatch, capsys, mode):
    # The test sets the mode itself, so it passes whatever COURSE_MODE the suite runs under.
    monkeypatch.setenv("COURSE_MODE", mode)
    monkeypatch.setattr(config, "_mode_cache", None)  # resolve again from the environment
    assert config.get_mode() == mode
    keras.utils.set_random_seed(0)
    model = models.lenet5("modern", width_multiplier=0.1)
    training.compile_model(model, recipe="adam", run_eagerly=True)
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 40)
    history = training.fit(model, (x, y), recipe="adam", epochs=2, batch_size=16, validation=0.25)
    out = capsys.readouterr().out
    if mode == "quick":
        assert out == ""
    else:  # verbose=2: one line per epoch
        assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert len(history.history["loss"]) == 2 and "val_accuracy" in history.history
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        training.fit(model, (x, y), recipe="adam", epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got -1"):
        training.fit(model, (x, y), recipe="adam", epochs=1, batch_size=-1)


def test_fit_needs_the_recipe_explicitly():
    model = models.lenet5("modern", width_multiplier=0.1)
    training.compile_model(model, recipe="alexnet")
    assert not hasattr(model, "course_recipe")  # nothing rides on the model object
    x, y = np.zeros((4, 28, 28, 1), dtype=np.float32), np.zeros(4, dtype=int)
    with pytest.raises(TypeError, match="fit needs recipe="):
        training.fit(model, (x, y), epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="batch_size is needed for array data when recipe=None"):
        training.fit(model, (x, y), recipe=None, epochs=1)


def _plateau_fit(model, recipe, x, y):
    """Two epochs at a negligible rate: validation accuracy cannot improve, so the plateau (patience 1)
    lowers the rate once, by the recipe's factor."""
    history = training.fit(model, (x, y), recipe=recipe, epochs=2, batch_size=8, validation=(x, y))
    return float(model.optimizer.learning_rate), history


def test_recipe_behaviour_survives_clone_and_save_load(tmp_path):
    keras.utils.set_random_seed(0)
    recipe = training.get_recipe("alexnet", learning_rate=1e-9, patience=1)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 16)
    original = training.compile_model(models.lenet5("modern", width_multiplier=0.1), recipe=recipe,
                                      run_eagerly=True)
    original.optimizer.build(original.trainable_variables)  # saved with its momentum slots, as after training
    path = tmp_path / "lenet.keras"
    original.save(path)
    clone = training.compile_model(keras.models.clone_model(original), recipe=recipe, run_eagerly=True)
    loaded = keras.models.load_model(path)  # keeps its compiled optimizer: SGD with the papers' L2 decay
    assert type(loaded.optimizer) is training.SGDWithL2 and loaded.optimizer.l2 == 5e-4
    for model in (original, clone, loaded):
        rate, history = _plateau_fit(model, recipe, x, y)
        assert rate == pytest.approx(1e-9 * recipe.lr_factor, rel=1e-5)
        assert "val_accuracy" in history.history
    # Without the recipe the same training keeps its rate: the schedule comes from the argument, not the
    # model.
    rate, _ = _plateau_fit(keras.models.load_model(path), None, x, y)
    assert rate == pytest.approx(1e-9, rel=1e-5)


def test_plateau_schedule_refuses_a_quantity_that_is_not_logged():
    model = models.lenet5("modern", width_multiplier=0.1)
    training.compile_model(model, recipe="alexnet", metrics=(), run_eagerly=True)  # no accuracy metric
    x, y = np.zeros((8, 28, 28, 1), dtype=np.float32), np.zeros(8, dtype=int)
    with pytest.raises(ValueError, match="watches 'val_accuracy', which training does not log"):
        training.fit(model, (x, y), recipe="alexnet", epochs=1, batch_size=4, validation=(x, y))


def _shift(image, dy, dx, pad):
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)))
    h, w = image.shape[:2]
    return padded[pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def test_augmentation_is_shape_preserving_flip_and_pad_crop():
    aug = training.augmentation(flip=True, crop_padding=3, seed=1, input_shape=(10, 9, 2))
    x = np.random.default_rng(0).random((32, 10, 9, 2), dtype=np.float32) + 1.0  # no zeros in the images
    out = np.asarray(aug(x, training=True))
    assert out.shape == x.shape
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    # Each output is the input, maybe mirrored, moved by a whole number of pixels (at most 3) with zero fill.
    moves = set()
    for i in range(len(x)):
        matches = [(f, dy, dx) for f in (False, True) for dy in range(-3, 4) for dx in range(-3, 4)
                   if np.array_equal(out[i], _shift(x[i][:, ::-1] if f else x[i], dy, dx, 3))]
        assert len(matches) == 1, i
        moves.add(matches[0])
    assert len(moves) > 8  # images are moved independently, not one offset per batch
    with pytest.raises(ValueError, match="crop_padding must be a non-negative int, got -1"):
        training.augmentation(crop_padding=-1)
    with pytest.raises(TypeError, match="flip must be a bool"):
        training.augmentation(flip="horizontal")


def test_fit_with_augmentation_runs():
    model = models.cifar_resnet(8, width_multiplier=0.25, num_classes=3)
    training.compile_model(model, recipe="resnet_cifar", run_eagerly=True)
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 32, 32, 3), dtype=np.float32), rng.integers(0, 3, 8)
    history = training.fit(model, (x, y), recipe="resnet_cifar", epochs=1, batch_size=4,
                           augment=training.augmentation(seed=0))
    assert np.isfinite(history.history["loss"][0])


def test_evaluate_accuracy_against_argmax_by_hand():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Activation("linear", name="predictions")(inputs))  # scores = x
    scores = np.array(
        [[0.1, 0.5, 0.3, 0.1], [0.7, 0.1, 0.1, 0.1], [0.05, 0.25, 0.5, 0.2], [0.3, 0.4, 0.2, 0.1]],
        dtype=np.float32,
    )
    labels = np.array([1, 0, 0, 0])  # top-1 right for samples 0, 1; sample 3's label is second best
    assert training.evaluate_accuracy(model, (scores, labels)) == 0.5
    assert training.evaluate_accuracy(model, (scores, labels), top_k=2) == 0.75
    assert training.evaluate_accuracy(model, (scores, np.eye(4)[labels])) == 0.5  # one-hot labels
    ds = tf.data.Dataset.from_tensor_slices((scores, labels)).batch(3)
    assert training.evaluate_accuracy(model, ds) == 0.5
    with pytest.raises(ValueError, match="top_k must be a positive int, got 0"):
        training.evaluate_accuracy(model, (scores, labels), top_k=0)


def test_make_strategy_choices():
    assert training.make_strategy(None).num_replicas_in_sync == 1
    gpus = len(tf.config.list_logical_devices("GPU"))
    assert training.make_strategy("auto").num_replicas_in_sync == (gpus if gpus >= 2 else 1)
    own = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert training.make_strategy(own) is own
    with pytest.raises(ValueError, match="strategy must be 'auto', 'mirrored'.*got 'tpu'"):
        training.make_strategy("tpu")


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import tensorflow as tf

    # Split the one physical CPU into two logical devices before anything else touches TensorFlow.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import numpy as np
    from course_lib import training

    strategy = training.make_strategy("mirrored")
    model = training.build_and_compile("lenet5_modern", strategy=strategy, recipe="alexnet",
                                       width_multiplier=0.1)
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 64)
    history = training.fit(model, (x, y), recipe="alexnet", epochs=1, batch_size=16,
                           validation=(x[:16], y[:16]), verbose=0)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "devices": list(strategy.extended.worker_devices),
        "variable": type(model.trainable_weights[0].value).__name__,
        "loss": history.history["loss"],
        "lr": history.history["learning_rate"],
    }))
    """
)


def test_one_epoch_under_mirrored_strategy_on_two_logical_cpus(tmp_path):
    env = dict(os.environ, **config.TF_QUIET_ENV, CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert [d.split("/")[-1] for d in report["devices"]] == ["device:CPU:0", "device:CPU:1"]
    assert "Mirrored" in report["variable"]
    assert len(report["loss"]) == 1 and np.isfinite(report["loss"][0])
    assert report["lr"] == [pytest.approx(0.01)]


# ---------------------------------------------------------------------------------------------------------
# the standard linear baseline
# ---------------------------------------------------------------------------------------------------------
def test_linear_readout_is_softmax_regression_on_the_flattened_input():
    model = training.linear_readout((4, 5, 3), 7, seed=0)
    assert model.count_params() == 4 * 5 * 3 * 7 + 7  # a weight per (input value, class), a bias per class
    x = np.random.default_rng(0).normal(size=(3, 4, 5, 3)).astype("float32")
    w, b = model.get_layer("predictions").get_weights()
    logits = x.reshape(3, -1) @ w + b
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_linear_baseline_matches_a_converged_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    centres = rng.normal(scale=3.0, size=(3, 6))
    y = rng.integers(0, 3, size=600)
    x = (centres[y] + rng.normal(size=(600, 6))).astype("float32")
    train, test = (x[:400], y[:400]), (x[400:], y[400:])
    reference = LogisticRegression(max_iter=2000).fit(*train).score(*test)
    model, accuracy = training.linear_baseline(train, test, epochs=30, learning_rate=1e-2, seed=0)
    assert model.name == "linear"
    assert abs(accuracy - reference) <= 0.03, (accuracy, reference)


@pytest.mark.parametrize("kwargs, error", [
    ({"input_shape": (0, 3)}, ValueError), ({"input_shape": "32x32"}, TypeError),
    ({"num_classes": 1}, ValueError), ({"num_classes": 2.5}, TypeError),
])
def test_linear_readout_rejects_bad_arguments(kwargs, error):
    args = {"input_shape": (8, 8, 1), "num_classes": 10, **kwargs}
    with pytest.raises(error, match=next(iter(kwargs))):
        training.linear_readout(args.pop("input_shape"), args.pop("num_classes"))


class _TraceCounter(keras.layers.Layer):
    """Identity layer that counts how often its Python ``call`` runs: once per eager call or per trace (and
    once when the functional model is built, which the tests subtract)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def call(self, x):
        self.calls += 1
        return x


def _counted_model(num_outputs: int = 1):
    config.set_seed(0)
    counter = _TraceCounter()
    inputs = keras.Input((6,))
    hidden = counter(keras.layers.Dense(8, activation="relu")(inputs))
    outputs = [keras.layers.Dense(3, activation="softmax", name=name)(hidden)
               for name in (["predictions", "aux1"][:num_outputs])]
    model = keras.Model(inputs, outputs if num_outputs > 1 else outputs[0])
    return model, counter


def _toy_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 6)).astype("float32"), rng.integers(0, 3, size=64)


def test_plain_keras_fit_traces_its_training_step_twice():
    # The control for the next tests: the cost that build_training_state removes. Keras creates the metric and
    # optimizer variables inside the first trace, and TensorFlow traces again.
    model, counter = _counted_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _toy_data()
    start = counter.calls
    model.fit(x, y, epochs=1, batch_size=64, verbose=0, shuffle=False)
    assert counter.calls - start == 2


@pytest.mark.parametrize("num_outputs", [1, 2])
def test_build_training_state_leaves_one_trace_and_the_same_training(num_outputs):
    x, y = _toy_data()
    losses = {}
    for prebuilt in (False, True):
        model, counter = _counted_model(num_outputs)
        training.compile_model(model, recipe="adam")
        if prebuilt:
            start = counter.calls
            training.build_training_state(model, x[:1], y[:1])
            assert counter.calls - start == 1  # the one eager call
            assert model.optimizer.built and all(m.built for m in model.metrics if hasattr(m, "built"))
            # nothing was counted: the metrics start the epoch at zero
            assert all(float(v) == 0.0 for v in model.get_metrics_result().values())
        before = counter.calls
        history = model.fit(x, training.pipeline.targets_for(model, y), epochs=2, batch_size=16, verbose=0,
                            shuffle=False)
        losses[prebuilt] = history.history["loss"]
        assert counter.calls - before == (1 if prebuilt else 2)
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-6)


def test_course_fit_builds_the_state_itself():
    x, y = _toy_data()
    model, counter = _counted_model()
    training.compile_model(model, recipe="adam")
    start = counter.calls
    training.fit(model, (x, y), recipe="adam", epochs=1, batch_size=16)
    assert counter.calls - start == 2  # one eager call on a zero sample, one trace


def test_build_training_state_refuses_an_uncompiled_model_and_an_empty_sample():
    model, _ = _counted_model()
    with pytest.raises(ValueError, match="compiled"):
        training.build_training_state(model, *_toy_data())
    training.compile_model(model, recipe="adam")
    x, y = _toy_data()
    with pytest.raises(ValueError, match=r"x_sample, got \(0, 6\)"):
        training.build_training_state(model, x[:0], y[:0])


@pytest.mark.parametrize("recipe", ["adam", "resnet_cifar"])
def test_reset_optimizer_makes_a_second_run_repeat_the_first(recipe):
    x, y = _toy_data()
    model, _ = _counted_model()
    training.compile_model(model, recipe=recipe, learning_rate=0.05, **(
        {"boundaries": (4, 6)} if recipe == "resnet_cifar" else {}))
    initial = model.get_weights()

    def run():
        history = training.fit(model, (x, y), recipe=None, epochs=2, batch_size=16, shuffle=False)
        return history.history["loss"]

    first = run()
    model.set_weights(initial)
    carried_over = run()  # the optimizer still holds the first run's iteration count and slots
    model.set_weights(initial)
    training.reset_optimizer(model)
    again = run()
    np.testing.assert_allclose(again, first, rtol=1e-6)
    assert not np.allclose(carried_over, first, rtol=1e-3)
    assert int(model.optimizer.iterations) == 8
    if recipe == "adam":
        assert float(model.optimizer.learning_rate) == pytest.approx(0.05)


def test_reset_optimizer_refuses_an_uncompiled_model():
    model, _ = _counted_model()
    with pytest.raises(ValueError, match="compiled"):
        training.reset_optimizer(model)
