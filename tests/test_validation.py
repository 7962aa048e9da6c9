"""course_lib.validation: each check on its own, then the same mistake fed to many public functions.

The rule under test (DESIGN.md, "Errors"): a value of the wrong type raises ``TypeError``, a value of the
right type outside what is allowed raises ``ValueError``, and the message names the argument and shows what
was received. The cross-module tests check that shapes, numpy_cnn and plotting keep that rule *together*: the
same mistake gets the same exception type wherever it is made.
"""

from __future__ import annotations

import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # plotting is imported below; no display in tests

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import numpy_cnn, plotting, shapes, validation  # noqa: E402
from course_lib.validation import (  # noqa: E402
    check_array,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_int_tuple,
    check_optional_positive_int,
    check_positive_int,
    check_probability,
    check_str,
)

# ----------------------------------------------------------------------------------------------------- ints


@pytest.mark.parametrize("value", [0, 7, -3, np.int64(5), np.int8(-2), np.uint16(9)])
def test_check_int_accepts_python_and_numpy_ints_and_returns_a_python_int(value):
    got = check_int(value, "n")
    assert got == int(value) and type(got) is int


@pytest.mark.parametrize("value, shown", [
    (True, "bool True"), (np.bool_(False), f"{type(np.bool_(False)).__name__} False"), (2.0, "float 2.0"),
    (np.float64(3.0), "float64 3.0"), ("3", "str '3'"), (None, "NoneType None"), ([3], "list [3]"),
])
def test_check_int_refuses_other_types_with_a_type_error_naming_the_argument(value, shown):
    with pytest.raises(TypeError) as err:
        check_int(value, "stride")
    assert str(err.value) == f"stride must be an int, got {shown}"


@pytest.mark.parametrize("kwargs, value, expected", [
    (dict(minimum=1), 0, "stride must be a positive int, got 0"),
    (dict(minimum=0), -1, "stride must be a non-negative int, got -1"),
    (dict(minimum=2), 1, "stride must be an int >= 2, got 1"),
    (dict(maximum=3), 4, "stride must be an int <= 3, got 4"),
    (dict(minimum=1, maximum=3), np.int32(7), "stride must be an int in [1, 3], got 7"),
])
def test_check_int_bounds_are_value_errors_showing_the_value(kwargs, value, expected):
    with pytest.raises(ValueError) as err:
        check_int(value, "stride", **kwargs)
    assert str(err.value) == expected


def test_check_int_bounds_are_inclusive():
    assert check_int(1, "k", minimum=1, maximum=1) == 1
    assert check_positive_int(np.int64(1), "k") == 1
    with pytest.raises(ValueError, match="k must be a positive int, got -4"):
        check_positive_int(-4, "k")
    with pytest.raises(TypeError, match="k must be a positive int, got float 1.0"):
        check_positive_int(1.0, "k")


def test_check_optional_positive_int():
    assert check_optional_positive_int(None, "limit") is None
    assert check_optional_positive_int(np.int16(3), "limit") == 3
    with pytest.raises(ValueError, match="limit must be a positive int or None, got 0"):
        check_optional_positive_int(0, "limit")
    with pytest.raises(TypeError, match="limit must be a positive int or None, got bool False"):
        check_optional_positive_int(False, "limit")


# --------------------------------------------------------------------------------------------------- floats


@pytest.mark.parametrize("value", [0.25, 1, np.float32(0.5), np.float64(2.0), np.int64(3)])
def test_check_float_accepts_ints_and_numpy_scalars_and_returns_a_python_float(value):
    got = check_float(value, "lr")
    assert got == float(value) and type(got) is float


@pytest.mark.parametrize("value, shown", [(True, "bool True"), ("0.1", "str '0.1'"), (None, "NoneType None"),
                                          (1 + 2j, "complex (1+2j)")])
def test_check_float_refuses_non_real_numbers(value, shown):
    with pytest.raises(TypeError) as err:
        check_float(value, "lr")
    assert str(err.value) == f"lr must be a float, got {shown}"


@pytest.mark.parametrize("value", [float("nan"), np.float32("nan")])
def test_check_float_refuses_nan_even_without_bounds(value):
    with pytest.raises(ValueError, match="lr must be a float, got nan"):
        check_float(value, "lr")
    with pytest.raises(ValueError, match=r"lr must be a float >= 0, got nan"):
        check_float(value, "lr", minimum=0.0)


def test_check_float_bounds_open_and_closed():
    assert check_float(0.0, "x", minimum=0.0) == 0.0
    with pytest.raises(ValueError, match=r"x must be a float > 0, got 0.0"):
        check_float(0.0, "x", minimum=0.0, include_minimum=False)
    assert check_float(1.0, "x", maximum=1.0) == 1.0
    with pytest.raises(ValueError, match=r"x must be a float < 1, got 1.0"):
        check_float(1.0, "x", maximum=1.0, include_maximum=False)
    with pytest.raises(ValueError, match=r"x must be a float in \(0, 1\], got 1.5"):
        check_float(1.5, "x", minimum=0.0, maximum=1.0, include_minimum=False)


def test_check_probability():
    assert check_probability(0, "rate") == 0.0
    assert check_probability(np.float32(0.5), "rate") == 0.5
    with pytest.raises(ValueError, match=r"rate must be a float in \[0, 1\), got 1.0"):
        check_probability(1.0, "rate")
    assert check_probability(1.0, "rate", include_one=True) == 1.0
    with pytest.raises(ValueError, match=r"rate must be a float in \[0, 1\], got -0.1"):
        check_probability(-0.1, "rate", include_one=True)


# ------------------------------------------------------------------------------------------ bools, strings


def test_check_bool():
    assert check_bool(True, "bias") is True
    assert check_bool(np.bool_(False), "bias") is False
    with pytest.raises(TypeError, match=r"bias must be a bool, got ndarray array\(\[ True\]\)"):
        check_bool(np.array([True]), "bias")  # an array of one bool is still an array
    for value, shown in [(1, "int 1"), ("yes", "str 'yes'"), (None, "NoneType None")]:
        with pytest.raises(TypeError) as err:
            check_bool(value, "bias")
        assert str(err.value) == f"bias must be a bool, got {shown}"


def test_check_str():
    assert check_str("relu", "activation") == "relu"
    with pytest.raises(TypeError, match="activation must be a str, got int 3"):
        check_str(3, "activation")


def test_check_choice_accepts_listed_values_and_can_ignore_case():
    assert check_choice("max", "mode", ("max", "avg")) == "max"
    assert check_choice("AVG", "mode", ("max", "avg"), ignore_case=True) == "avg"
    assert check_choice(34, "depth", (18, 34, 50)) == 34  # non-string choices work too


def test_check_choice_unknown_string_is_a_value_error_listing_the_choices_and_the_value_as_written():
    with pytest.raises(ValueError) as err:
        check_choice("Median", "mode", ("max", "avg"), ignore_case=True)
    assert str(err.value) == "mode must be one of 'max', 'avg', got 'Median'"
    with pytest.raises(ValueError, match="depth must be one of 18, 34, 50, got 20"):
        check_choice(20, "depth", (18, 34, 50))
    with pytest.raises(ValueError, match=r"depth must be one of 18, 34, got \[18\]"):
        check_choice([18], "depth", (18, 34))  # unhashable: still a clean ValueError


@pytest.mark.parametrize("value, shown", [(None, "NoneType None"), (3, "int 3"), (b"max", "bytes b'max'")])
def test_check_choice_non_string_among_string_choices_is_a_type_error(value, shown):
    with pytest.raises(TypeError) as err:
        check_choice(value, "mode", ("max", "avg"))
    assert str(err.value) == f"mode must be one of 'max', 'avg', got {shown}"


# ---------------------------------------------------------------------------------------------- int tuples


def test_check_int_tuple_broadcasts_an_int_and_checks_each_entry():
    assert check_int_tuple(3, "kernel", 2) == (3, 3)
    assert check_int_tuple([np.int64(3), 5], "kernel", 2, minimum=1) == (3, 5)
    assert all(type(v) is int for v in check_int_tuple((np.int32(1), 2), "kernel", 2))
    with pytest.raises(ValueError, match=r"kernel must be an int or 2 ints \(one per spatial dimension\), "
                                         r"got \(3, 3, 3\)"):
        check_int_tuple((3, 3, 3), "kernel", 2)
    with pytest.raises(ValueError, match=r"kernel\[1\] must be a positive int, got 0"):
        check_int_tuple((3, 0), "kernel", 2, minimum=1)
    with pytest.raises(TypeError, match=r"kernel\[0\] must be a positive int, got bool True"):
        check_int_tuple((True, 3), "kernel", 2, minimum=1)
    with pytest.raises(TypeError, match=r"kernel must be a positive int or a tuple of 2, got str '3x3'"):
        check_int_tuple("3x3", "kernel", 2, minimum=1)


# --------------------------------------------------------------------------------------------------- arrays


def test_check_array_accepts_nested_lists_and_checks_ndim():
    arr = check_array([[1, 2], [3, 4]], "x", ndim=2)
    assert isinstance(arr, np.ndarray) and arr.shape == (2, 2)
    assert check_array(np.zeros((1, 2, 3)), "x", ndim=(2, 3)).ndim == 3
    with pytest.raises(ValueError) as err:
        check_array(np.zeros((5, 5, 2)), "x", ndim=4, layout="(N, H, W, C)")
    assert str(err.value) == "x must be a 4-D array (N, H, W, C), got shape (5, 5, 2) (3-D)"


def test_check_array_type_errors():
    with pytest.raises(TypeError, match="x must be an array, got list"):
        check_array([[1, 2], [3]], "x")  # ragged
    with pytest.raises(TypeError, match="x must hold numbers, got an array of dtype <U1"):
        check_array(["a", "b"], "x")
    assert check_array(["a", "b"], "x", numeric=False).dtype.kind == "U"
    assert check_array([True, False], "mask").dtype == np.bool_


def test_messages_show_a_long_value_shortened():
    text = validation.describe(list(range(100)))
    assert text.startswith("list [0, 1, 2") and text.endswith("...") and len(text) <= 85


# ------------------------------------------------------------------- one mistake, one error, across the kit

X4 = np.ones((1, 6, 6, 2))
W4 = np.ones((3, 3, 2, 2))
X2 = np.ones((6, 6))

# (label, argument name as the message must show it, call taking the bad value)
STRIDE_TAKERS = [
    ("shapes.conv_output_size", "stride", lambda v: shapes.conv_output_size(8, 3, stride=v)),
    ("shapes.conv_output_size 2-D", "stride", lambda v: shapes.conv_output_size((8, 8), 3, stride=v)),
    ("shapes.conv_macs", "stride", lambda v: shapes.conv_macs(8, 3, 1, 1, stride=v)),
    ("shapes.same_pads", "stride", lambda v: shapes.same_pads(8, 3, stride=v)),
    ("shapes.resolve_padding", "stride", lambda v: shapes.resolve_padding("same", (8, 8), 3, stride=v)),
    ("shapes.receptive_field", r"layers\[0\] stride", lambda v: shapes.receptive_field([(3, v)])),
    ("numpy_cnn.conv_forward", "stride", lambda v: numpy_cnn.conv_forward(X4, W4, stride=v)),
    ("numpy_cnn.pool_forward", "stride", lambda v: numpy_cnn.pool_forward(X4, 2, stride=v)),
    ("numpy_cnn.max_pool2d", "stride", lambda v: numpy_cnn.max_pool2d(X2, 2, stride=v)),
]
INT_MISTAKES = [  # value, exception, how the message shows it
    (0, ValueError, "0"),
    (-2, ValueError, "-2"),
    (np.int64(0), ValueError, "0"),
    (1.5, TypeError, "float 1.5"),
    (2.0, TypeError, "float 2.0"),
    (True, TypeError, "bool True"),
    ("2", TypeError, "str '2'"),
]


def _ids(table):
    return [row[0] for row in table]


@pytest.mark.parametrize("value, exc, shown", INT_MISTAKES, ids=[repr(m[0]) for m in INT_MISTAKES])
@pytest.mark.parametrize("label, name, call", STRIDE_TAKERS, ids=_ids(STRIDE_TAKERS))
def test_the_same_stride_mistake_gets_the_same_error_everywhere(label, name, call, value, exc, shown):
    with pytest.raises(exc) as err:
        call(value)
    assert type(err.value) is exc
    assert re.fullmatch(rf"{name} must be .+, got {re.escape(shown)}", str(err.value)), str(err.value)


WINDOW_TAKERS = [
    ("shapes.conv_output_size", "kernel", lambda v: shapes.conv_output_size(8, v)),
    ("shapes.same_padding", "kernel", lambda v: shapes.same_padding(v, asymmetric=True)),
    ("shapes.same_pads", "kernel", lambda v: shapes.same_pads(8, v)),
    ("shapes.conv_params", "kernel", lambda v: shapes.conv_params(v, 3, 8)),
    ("numpy_cnn.pool_forward", "size", lambda v: numpy_cnn.pool_forward(X4, size=v)),
    ("numpy_cnn.max_pool2d", "size", lambda v: numpy_cnn.max_pool2d(X2, size=v)),
    ("numpy_cnn.TinyCNN", "kernel_size", lambda v: numpy_cnn.TinyCNN(kernel_size=v)),
    ("numpy_cnn.TinyCNN pool", "pool_size", lambda v: numpy_cnn.TinyCNN(pool_size=v)),
    ("plotting.show_images", "ncols", lambda v: plotting.show_images(np.zeros((2, 4, 4)), ncols=v)),
]


@pytest.mark.parametrize("value, exc, shown", INT_MISTAKES, ids=[repr(m[0]) for m in INT_MISTAKES])
@pytest.mark.parametrize("label, name, call", WINDOW_TAKERS, ids=_ids(WINDOW_TAKERS))
def test_the_same_size_mistake_gets_the_same_error_everywhere(label, name, call, value, exc, shown):
    with pytest.raises(exc) as err:
        call(value)
    assert re.fullmatch(rf"{name} must be .+, got {re.escape(shown)}", str(err.value)), str(err.value)


PADDING_TAKERS = [
    ("shapes.conv_output_size", "padding", lambda v: shapes.conv_output_size(8, 3, 1, v)),
    ("shapes.conv_macs", "padding", lambda v: shapes.conv_macs(8, 3, 1, 1, 1, v)),
    ("shapes.resolve_padding", "padding", lambda v: shapes.resolve_padding(v, 8, 3)),
    ("numpy_cnn.conv_forward", "pad", lambda v: numpy_cnn.conv_forward(X4, W4, pad=v)),
    ("numpy_cnn.resolve_padding", "pad", lambda v: numpy_cnn.resolve_padding(v, (6, 6), (3, 3), (1, 1))),
    ("numpy_cnn.pool_forward", "padding", lambda v: numpy_cnn.pool_forward(X4, 2, padding=v)),
]


@pytest.mark.parametrize("label, name, call", PADDING_TAKERS, ids=_ids(PADDING_TAKERS))
def test_an_unknown_padding_string_is_a_value_error_listing_the_choices(label, name, call):
    with pytest.raises(ValueError) as err:
        call("bogus")
    message = str(err.value)
    assert message.startswith(f"{name} must be one of ") and message.endswith("got 'bogus'"), message
    assert "'same'" in message and "'valid'" in message


@pytest.mark.parametrize("value, shown", [(None, "NoneType None"), (1.5, "float 1.5")])
@pytest.mark.parametrize("label, name, call", PADDING_TAKERS, ids=_ids(PADDING_TAKERS))
def test_padding_of_the_wrong_type_is_a_type_error(label, name, call, value, shown):
    with pytest.raises(TypeError) as err:
        call(value)
    assert re.fullmatch(rf"{name} must be .+, got {re.escape(shown)}", str(err.value)), str(err.value)


def test_same_and_valid_are_case_insensitive_everywhere():
    assert shapes.conv_output_size(8, 3, 2, "SAME") == shapes.conv_output_size(8, 3, 2, "same") == 4
    assert shapes.resolve_padding("Valid", 8, 3) == ((0, 0),)
    np.testing.assert_array_equal(numpy_cnn.pool_forward(X4, 4, 2, padding="SAME")[0],
                                  numpy_cnn.pool_forward(X4, 4, 2, padding="same")[0])


MODE_TAKERS = [
    ("numpy_cnn.pool_forward", "mode", lambda v: numpy_cnn.pool_forward(X4, 2, mode=v)),
    ("numpy_cnn.correlate2d", "mode", lambda v: numpy_cnn.correlate2d(X2, np.ones((2, 2)), v)),
    ("numpy_cnn.convolve2d", "mode", lambda v: numpy_cnn.convolve2d(X2, np.ones((2, 2)), v)),
    ("numpy_cnn.conv_forward", "method", lambda v: numpy_cnn.conv_forward(X4, W4, method=v)),
    ("numpy_cnn.flatten_forward", "order", lambda v: numpy_cnn.flatten_forward(X4, order=v)),
]


@pytest.mark.parametrize("label, name, call", MODE_TAKERS, ids=_ids(MODE_TAKERS))
def test_mode_strings_unknown_is_value_error_and_non_string_is_type_error(label, name, call):
    with pytest.raises(ValueError) as err:
        call("bogus")
    assert re.fullmatch(rf"{name} must be one of '.+', got 'bogus'", str(err.value)), str(err.value)
    with pytest.raises(TypeError) as err:
        call(3)
    assert re.fullmatch(rf"{name} must be one of '.+', got int 3", str(err.value)), str(err.value)


NDIM_TAKERS = [  # (label, call with an array of the wrong number of axes, start of the message)
    ("conv_forward x", lambda: numpy_cnn.conv_forward(np.ones((6, 6, 2)), W4), "x must be a 4-D array"),
    ("conv_forward w", lambda: numpy_cnn.conv_forward(X4, np.ones((3, 3, 2))), "w must be a 4-D array"),
    ("pool_forward", lambda: numpy_cnn.pool_forward(np.ones((6, 6, 2))), "x must be a 4-D array"),
    ("max_pool2d", lambda: numpy_cnn.max_pool2d(X4), "x must be a 2-D array"),
    ("correlate2d", lambda: numpy_cnn.correlate2d(X4, np.ones((2, 2))), "x must be a 2-D array"),
    ("global_avg_pool", lambda: numpy_cnn.global_avg_pool_forward(X2), "x must be a 4-D array"),
    ("softmax_cross_entropy", lambda: numpy_cnn.softmax_cross_entropy(np.ones(3), [0, 1, 2]),
     "scores must be a 2-D array"),
    ("TinyCNN.scores", lambda: numpy_cnn.TinyCNN().scores(np.ones((8, 8, 1))), "x must be a 4-D array"),
    ("plotting.plot_kernels", lambda: plotting.plot_kernels(np.ones((3, 3, 2))),
     "kernels must be a 4-D array"),
]


@pytest.mark.parametrize("label, call, start", NDIM_TAKERS, ids=_ids(NDIM_TAKERS))
def test_a_wrong_number_of_axes_is_a_value_error_showing_the_shape(label, call, start):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value).startswith(start) and "got shape" in str(err.value), str(err.value)


@pytest.mark.parametrize("label, name, call", STRIDE_TAKERS, ids=_ids(STRIDE_TAKERS))
def test_numpy_integers_are_accepted_wherever_python_ints_are(label, name, call):
    got, expected = call(np.int64(2)), call(2)
    if isinstance(got, tuple) and isinstance(got[0], np.ndarray):  # a forward pass: (out, cache)
        got, expected = got[0], expected[0]
    np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------------- leaf modules stay light


@pytest.mark.parametrize("module, absent", [
    ("course_lib.validation", ("tensorflow", "keras", "numpy")),
    ("course_lib.shapes", ("tensorflow", "keras", "numpy")),
    ("course_lib.numpy_cnn", ("tensorflow", "keras")),
])
def test_importing_a_leaf_module_leaves_heavy_libraries_unloaded(module, absent):
    # A fresh interpreter: this test process has long since imported NumPy (and maybe TensorFlow).
    code = (f"import sys, {module}; "
            f"print(','.join(m for m in {absent!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"importing {module} loaded {result.stdout.strip()}"
