"""Tests for course_lib.checks: numeric comparisons, gradient checks and layer-by-layer model comparison."""

import keras
import numpy as np
import pytest
from keras import layers

from course_lib import checks
from course_lib.numpy_cnn import gradcheck

# --------------------------------------------------------------------------------------------- numbers


def test_rel_error_is_the_gradcheck_one():
    # One helper, one home: checks re-exports it rather than keeping a second copy.
    assert checks.rel_error is gradcheck.rel_error


def test_assert_close_passes_and_returns_the_error():
    a = np.array([1.0, 2.0, 4.0])
    err = checks.assert_close(a * (1 + 1e-9), a, name="y", tol=1e-6)
    assert 0 < err < 1e-8


def test_assert_close_names_the_worst_entry():
    expected = np.zeros((2, 3)) + 1.0
    got = expected.copy()
    got[1, 2] = 1.5  # rel error 0.5 / 2.5 = 0.2
    got[0, 0] = 1.01
    with pytest.raises(AssertionError) as info:
        checks.assert_close(got, expected, name="conv output", tol=1e-3)
    msg = str(info.value)
    assert "conv output" in msg and "(1, 2)" in msg and "0.2" in msg and "2 of 6 entries" in msg


def test_assert_close_shape_mismatch():
    with pytest.raises(AssertionError, match=r"expected shape \(3, 2\), got shape \(2, 3\)"):
        checks.assert_close(np.zeros((2, 3)), np.zeros((3, 2)), name="x", tol=1e-6)


def test_assert_close_nan_is_never_close():
    got = np.array([1.0, np.nan])
    with pytest.raises(AssertionError, match=r"entry \(1,\) is nan"):
        checks.assert_close(got, np.array([1.0, 2.0]), name="x", tol=1.0)


# A tol that is not a number is a TypeError; a number that is not positive (or NaN) a ValueError.
@pytest.mark.parametrize("tol,exc,shown", [
    (0, ValueError, "0.0"), (-1e-3, ValueError, "-0.001"), (float("nan"), ValueError, "nan"),
    ("small", TypeError, "str 'small'"), (True, TypeError, "bool True"), (None, TypeError, "NoneType None"),
])
def test_assert_close_rejects_bad_tol(tol, exc, shown):
    with pytest.raises(exc, match=f"tol must be a float > 0, got {shown}"):
        checks.assert_close(1.0, 1.0, name="x", tol=tol)
    with pytest.raises(exc, match=f"tol must be a float > 0, got {shown}"):
        checks.check_gradient(np.sum, np.ones(3), np.ones(3), tol=tol)


def test_assert_close_accepts_numpy_scalar_tol():
    assert checks.assert_close([1.0, 2.0], [1.0, 2.0 + 1e-9], tol=np.float32(1e-6)) < 1e-9


def test_check_gradient_accepts_a_correct_gradient():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x0 = x.copy()
    err = checks.check_gradient(lambda v: np.sum(v ** 3), x, 3 * x ** 2)
    assert err < 1e-6
    np.testing.assert_array_equal(x, x0)  # restored after perturbation


def test_check_gradient_reports_error_and_index():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 2))
    wrong = np.cos(x)
    wrong[1, 0, 1] *= 2.0  # one wrong entry: rel error |c| / (3|c|) = 1/3 there
    with pytest.raises(AssertionError) as info:
        checks.check_gradient(lambda v: np.sum(np.sin(v)), x, wrong, tol=1e-6)
    msg = str(info.value)
    assert "(1, 0, 1)" in msg and "0.333" in msg


def test_check_gradient_judges_tiny_entries_by_the_differences_round_off():
    # f(v) = c . v is linear, so its centred differences have no truncation error, only round-off of about
    # eps * |f| / h = 2e-16 * 1e3 / 1e-5 = 2e-8 absolute in every entry. The entry whose true derivative is
    # 1e-7 is then off by some 10 % relative: noise, not a wrong gradient (CI met it in ps2's hidden check).
    c = np.array([1e3, 1e-7, -3.0])
    x = np.array([1.0, 0.5, -2.0])
    numeric = gradcheck.numeric_gradient(lambda v: float(c @ v), x.copy())
    assert abs(numeric[1] - c[1]) / (abs(numeric[1]) + abs(c[1])) > 1e-6  # the old measure would fail it
    assert checks.check_gradient(lambda v: float(c @ v), x, c, tol=1e-6) <= 1e-6
    # a gradient wrong by a part of itself still fails, in the big entries and the tiny one alike
    for wrong in (c * [1.001, 1, 1], c + [0, 1e-3, 0]):
        with pytest.raises(AssertionError, match="gradient check failed"):
            checks.check_gradient(lambda v: float(c @ v), x, wrong, tol=1e-6)


def test_check_gradient_input_validation():
    with pytest.raises(TypeError, match="float64"):
        checks.check_gradient(np.sum, np.ones(3, dtype=np.float32), np.ones(3))
    with pytest.raises(ValueError, match=r"shape of x \(3,\)"):
        checks.check_gradient(np.sum, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="h must be a float > 0, got 0.0"):
        checks.check_gradient(np.sum, np.ones(3), np.ones(3), h=0.0)
    with pytest.raises(TypeError, match="h must be a float > 0, got str '1e-5'"):
        checks.check_gradient(np.sum, np.ones(3), np.ones(3), h="1e-5")


# --------------------------------------------------------------------------------------------- architectures



def small_cnn(*, padding="same", strides=1, activation="relu", pool_size=2, kernel_size=3, filters=8,
              units=16, extra=False, drop_pool=False, functional=False):
    """A small CNN on 16x16x3 inputs; each keyword changes one aspect of it."""
    stack = [
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation=activation),
    ]
    if not drop_pool:
        stack.append(layers.MaxPooling2D(pool_size))
    stack += [layers.Flatten(), layers.Dense(units, activation="relu")]
    if extra:
        stack.append(layers.Dense(units, activation="relu"))
    stack.append(layers.Dense(10, activation="softmax"))
    if functional:
        inp = keras.Input((16, 16, 3))
        x = inp
        for layer in stack:
            x = layer(x)
        return keras.Model(inp, x)
    return keras.Sequential([keras.Input((16, 16, 3))] + stack)


@pytest.fixture(scope="module")
def reference():
    keras.utils.set_random_seed(0)
    return small_cnn()


def test_rows_of_the_reference(reference):
    # By hand: 3*3*3*4+4 = 112; 3*3*4*8+8 = 296; 8*8*8 = 512 inputs -> 512*16+16 = 8208; 16*10+10 = 170.
    rows = checks.architecture_rows(reference)
    assert [r["class"] for r in rows] == ["Conv2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    assert [r["params"] for r in rows] == [112, 296, 0, 0, 8208, 170]
    assert rows[1]["output_shape"] == (None, 16, 16, 8)
    assert rows[2]["pool_size"] == (2, 2) and rows[2]["strides"] == (2, 2)
    assert rows[1]["activation"] == "relu" and rows[5]["activation"] == "softmax"


def test_identical_and_functional_twin_have_no_differences(reference):
    assert checks.compare_models(small_cnn(), reference) == []
    assert checks.compare_models(small_cnn(functional=True), reference) == []
    checks.assert_same_architecture(small_cnn(functional=True), reference)


# (keyword change, substrings the single expected difference line must contain)
ONE_DIFFERENCE = [
    ({"padding": "valid"}, ["layer 1 (", "expected padding 'same', got 'valid'"]),
    ({"activation": "tanh"}, ["layer 1 (", "expected activation 'relu', got 'tanh'"]),
    ({"kernel_size": (3, 1), "padding": "same"}, ["expected kernel_size (3, 3), got (3, 1)"]),
]


@pytest.mark.parametrize("change,needles", ONE_DIFFERENCE)
def test_one_config_difference_is_reported_alone_when_shapes_survive(reference, change, needles):
    diffs = checks.compare_models(small_cnn(**change), reference)
    joined = "\n".join(diffs)
    for needle in needles:
        assert needle in joined, joined
    # padding/activation leave shapes alone; kernel (3,1) also changes the parameter count (3*1*4*8+8 = 104)
    keys = ("expected padding", "expected activation", "kernel_size")
    config_lines = [d for d in diffs if any(k in d for k in keys)]
    assert len(config_lines) == 1, diffs


# Changes that ripple into shapes and parameter counts: every consequence must be listed, not just the first.
RIPPLES = [
    ({"strides": 2}, ["expected strides (1, 1), got (2, 2)", "expected output shape (None, 16, 16, 8), "
                      "got (None, 8, 8, 8)", "expected 8,208 parameters, got 2,064", "total: expected"]),
    ({"pool_size": 4}, ["expected pool_size (2, 2), got (4, 4)", "expected strides (2, 2), got (4, 4)",
                        "expected output shape (None, 8, 8, 8), got (None, 4, 4, 8)"]),
    ({"filters": 6}, ["expected filters 8, got 6", "expected 296 parameters, got 222"]),
    ({"units": 32}, ["expected units 16, got 32", "expected 170 parameters, got 330"]),
]


@pytest.mark.parametrize("change,needles", RIPPLES)
def test_every_consequence_is_listed(reference, change, needles):
    diffs = checks.compare_models(small_cnn(**change), reference)
    joined = "\n".join(diffs)
    for needle in needles:
        assert needle in joined, joined


def test_wrong_layer_class_is_reported():
    ref = keras.Sequential([keras.Input((8, 8, 2)), layers.MaxPooling2D(2), layers.Flatten()])
    got = keras.Sequential([keras.Input((8, 8, 2)), layers.AveragePooling2D(2), layers.Flatten()])
    diffs = checks.compare_models(got, ref)
    assert any("layer 0 (" in d and "expected a MaxPooling2D layer, got AveragePooling2D" in d for d in diffs)


def test_missing_and_extra_layers_are_named(reference):
    missing = checks.compare_models(small_cnn(drop_pool=True), reference)
    assert missing[0] == "expected 6 layers (not counting the input), got 5"
    assert any(d.startswith("missing layer after layer 1 (") and "MaxPooling2D" in d for d in missing), \
        missing
    extra = checks.compare_models(small_cnn(extra=True), reference)
    assert any("unexpected Dense layer" in d for d in extra), extra


def test_assert_same_architecture_lists_all_differences_in_one_message(reference):
    with pytest.raises(AssertionError) as info:
        checks.assert_same_architecture(small_cnn(padding="valid", activation="tanh", units=32), reference)
    msg = str(info.value)
    assert "expected padding 'same', got 'valid'" in msg
    assert "expected activation 'relu', got 'tanh'" in msg
    assert "expected units 16, got 32" in msg


def test_assert_same_architecture_with_rows():
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(20, 5, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10)])
    rows = [("Conv2D", (None, 24, 24, 20), 5 * 5 * 1 * 20 + 20),
            {"class": "MaxPooling2D", "output_shape": (12, 12, 20), "pool_size": 2},
            ("Flatten", (None, 2880), 0),
            {"class": "Dense", "params": 2880 * 10 + 10, "activation": "linear"}]
    checks.assert_same_architecture(model, rows)
    rows[0] = {"class": "Conv2D", "padding": "same", "filters": 20}
    rows[3] = ("Dense", (None, 10), 1)
    with pytest.raises(AssertionError) as info:
        checks.assert_same_architecture(model, rows)
    msg = str(info.value)
    assert msg.startswith("2 difference(s)")
    assert "layer 0 (conv2d" in msg and "expected padding 'same', got 'valid'" in msg
    assert "expected 1 parameters, got 28,810" in msg


@pytest.mark.parametrize("rows,exc", [("Conv2D", TypeError), ([("Conv2D", (None, 1))], ValueError),
                                      ([{"params": 3}], ValueError)])
def test_malformed_rows_are_rejected(reference, rows, exc):
    with pytest.raises(exc):
        checks.assert_same_architecture(reference, rows)


def test_unbuilt_model_is_a_clear_error():
    model = keras.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match="build the model from keras.Input"):
        checks.architecture_rows(model)
    with pytest.raises(TypeError, match="must be a Keras model"):
        checks.architecture_rows(object())
