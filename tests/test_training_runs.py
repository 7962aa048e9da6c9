"""course_lib.training.runs (several seeds of one configuration, as notebook 08 trains them) and plot_runs."""

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import config, plotting  # noqa: E402
from course_lib.training import runs as R  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.random((24, 4, 4, 1)).astype("float32")
Y = (X.mean(axis=(1, 2, 3)) > 0.5).astype("int64")  # a learnable rule
X_VAL, Y_VAL = X[:8], Y[:8]


def build(seed, optimizer=None):
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(3, 3, name="conv"),
                              keras.layers.Flatten(name="flat"),
                              keras.layers.Dropout(0.2, seed=seed, name="drop"),
                              keras.layers.Dense(2, activation="softmax", name="out")])
    model.compile(optimizer or keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_every_seed_is_the_run_it_would_be_alone():
    # The runs reuse the first seed's compiled model; seed 1's row must equal seed 1 trained on its own.
    both = R.train_runs(build, (X, Y), (X_VAL, Y_VAL), seeds=(0, 1), passes=6, points=3, batch_size=8)
    alone = R.train_runs(build, (X, Y), (X_VAL, Y_VAL), seeds=(1,), passes=6, points=3, batch_size=8)
    assert both.curves["loss"].shape == (2, 3)
    np.testing.assert_allclose(both.curves["loss"][1], alone.curves["loss"][0], rtol=1e-5)
    np.testing.assert_allclose(both.curves["val_loss"][1], alone.curves["val_loss"][0], rtol=1e-5)
    assert both.val_accuracy[1] == alone.val_accuracy[0]
    assert list(both.passes()) == [2, 4, 6]
    np.testing.assert_allclose(both.gap(), both.train_accuracy - both.val_accuracy)


def test_a_lowered_learning_rate_does_not_carry_over_to_the_next_seed():
    def callbacks():  # lowers the rate after every evaluation, whatever happens
        return [keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=0, min_delta=10.0)]

    both = R.train_runs(build, (X, Y), (X_VAL, Y_VAL), seeds=(0, 1), passes=4, points=2, batch_size=8,
                        callbacks=callbacks)
    alone = R.train_runs(build, (X, Y), (X_VAL, Y_VAL), seeds=(1,), passes=4, points=2, batch_size=8,
                         callbacks=callbacks)
    np.testing.assert_allclose(both.curves["learning_rate"][1], alone.curves["learning_rate"][0])
    np.testing.assert_allclose(both.curves["loss"][1], alone.curves["loss"][0], rtol=1e-5)


def test_measure_and_the_recorded_accuracies_are_in_inference_mode():
    runs = R.train_runs(build, (X, Y), (X_VAL, Y_VAL), seeds=(0,), passes=2, points=1, batch_size=8,
                        measure=lambda m: m.evaluate(X_VAL, Y_VAL, verbose=0)[1])
    # Keras's evaluate (inference mode, dropout off) agrees with the recorded validation accuracy, and so
    # does the argmax of the model's predictions counted here
    assert runs.measures[0] == pytest.approx(runs.val_accuracy[0])
    probabilities = runs.model.predict(X_VAL, verbose=0)
    assert runs.val_accuracy[0] == pytest.approx(np.mean(probabilities.argmax(axis=1) == Y_VAL))


def test_batch_losses_are_the_losses_of_each_batch():
    config.set_seed(0)
    model = build(0, optimizer=keras.optimizers.SGD(0.0))  # no update: every batch meets the same weights
    model.layers[2].rate = 0.0  # and no dropout, so the loss can be recomputed
    recorder = R.BatchLosses()
    model.fit(X, Y, batch_size=8, shuffle=False, epochs=1, verbose=0, callbacks=[recorder])
    loss = keras.losses.sparse_categorical_crossentropy
    expected = [float(np.mean(keras.ops.convert_to_numpy(loss(Y[i:i + 8], model(X[i:i + 8])))))
                for i in range(0, 24, 8)]
    np.testing.assert_allclose(recorder.losses, expected, rtol=1e-4)


def test_repeating_batches_reshuffle_every_pass():
    batches = R.repeating_batches(np.arange(6), np.arange(6), batch_size=6, seed=0)
    first, second = [x.numpy().tolist() for x, _ in batches.take(2)]
    assert sorted(first) == sorted(second) == list(range(6)) and first != second


@pytest.mark.parametrize("kwargs, word", [(dict(seeds=()), "seeds"), (dict(passes=5, points=2), "multiple"),
                                          (dict(points=0), "points")])
def test_bad_arguments_are_named(kwargs, word):
    args = dict(seeds=(0,), passes=4, points=2, batch_size=8) | kwargs
    with pytest.raises(ValueError, match=word):
        R.train_runs(build, (X, Y), (X_VAL, Y_VAL), **args)


def test_plot_runs_draws_a_mean_and_a_min_max_band_per_configuration():
    curves = {"val_accuracy": np.array([[0.5, 0.7, np.nan], [0.6, 0.8, 0.9]])}  # seed 0 stopped early
    runs = [R.Runs("a", (0, 1), curves, 2, np.zeros(2), np.zeros(2)),
            R.Runs("b", (0, 1), {"val_accuracy": curves["val_accuracy"] - 0.1}, 2, np.zeros(2), np.zeros(2))]
    ax = plotting.plot_runs(runs, "val_accuracy")
    assert [line.get_label() for line in ax.lines] == ["a (2 seeds)", "b (2 seeds)"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.55, 0.75, 0.9])
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [2, 4, 6])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(0.5) and band.max() == pytest.approx(0.9)
    sizes = [t.get_fontsize() for t in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels()]]
    assert min(sizes) >= 10
    with pytest.raises(ValueError, match="loss"):
        plotting.plot_runs(runs, "loss")
    plt.close("all")
