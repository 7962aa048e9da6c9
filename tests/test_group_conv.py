"""Tests of the p4 group convolutions, orientation pooling and maxout (course_lib/models/group_conv.py).

Expected values come from outside the layers: ``np.rot90`` / ``np.roll`` applied to the outputs (the
equivariance), a loop reference written from the definition of the p4 correlation with rotated *offset
vectors* (no kernel rotation, no TensorFlow), ``scipy.signal.correlate2d``, and parameter and multiply-add
counts worked out by hand.
"""

import keras
import numpy as np
import pytest
from scipy.signal import correlate2d

from course_lib import graph
from course_lib.models import layers as model_layers
from course_lib.models.group_conv import Maxout, OrientationPooling, P4Conv2D, P4ConvLift2D

ATOL = 2e-5


def np_out(layer, x):
    return keras.ops.convert_to_numpy(layer(x))


def rotate_image(x, r):
    """Rotate NHWC (or N, H, W, 4, C) arrays by r * 90 degrees in the spatial plane (np.rot90's sense)."""
    return np.rot90(x, r, axes=(1, 2))


def rotate_p4(y, r):
    """How p4 acts on a p4 feature map: rotate every map and roll the rotation axis forward by r."""
    return np.roll(rotate_image(y, r), r, axis=3)


# ---------------------------------------------------------------- a reference written from the definition
def _offset_rotation(r):
    """R^r for R(p, q) = (-q, p): how a 90-degree turn moves a kernel offset (row p, column q)."""
    rot = np.array([[0, -1], [1, 0]])
    return np.linalg.matrix_power(rot, r)


def reference_p4(x, kernel, bias, padding):
    """p4 correlation by loops over rotations and kernel offsets.

    x: (n, h, w, s_in, c) with s_in = 1 for the lifting layer (no rotation axis) or 4;
    kernel: (k, k, s_in, c, f). Output (n, h', w', 4, f):
    out[t, r, f] = sum_{u, s, c} x[t + R^r u, s, c] * kernel[u, (s - r) % s_in, c, f] + bias[f].
    """
    n, h, w, s_in, c = x.shape
    k, f = kernel.shape[0], kernel.shape[-1]
    half = k // 2
    if padding == "same":
        x = np.pad(x, ((0, 0), (half, half), (half, half), (0, 0), (0, 0)))
        out_h, out_w = h, w
    else:
        out_h, out_w = h - k + 1, w - k + 1
    out = np.zeros((n, out_h, out_w, 4, f))
    for r in range(4):
        rot = _offset_rotation(r)
        for p in range(-half, half + 1):
            for q in range(-half, half + 1):
                dp, dq = rot @ np.array([p, q])  # where offset (p, q) lands after r turns
                window = x[:, half + dp: half + dp + out_h, half + dq: half + dq + out_w]  # (n, h', w', s, c)
                for s in range(s_in):
                    tap = kernel[p + half, q + half, (s - r) % s_in]  # (c, f)
                    out[:, :, :, r, :] += window[:, :, :, s, :] @ tap
    return out + bias


@pytest.mark.parametrize("k,padding", [(3, "same"), (5, "same"), (3, "valid"), (1, "same")])
def test_lifting_layer_equals_the_loop_reference(k, padding):
    rng = np.random.default_rng(k)
    x = rng.normal(size=(2, 7, 7, 3)).astype("float32")
    layer = P4ConvLift2D(4, k, padding=padding, bias_initializer="random_normal")
    got = np_out(layer, x)
    kernel, bias = (w.numpy() for w in (layer.kernel, layer.bias))
    want = reference_p4(x[:, :, :, None, :].astype("float64"), kernel[:, :, None], bias, padding)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=ATOL)


def test_lifting_layer_equals_scipy_correlation_with_rotated_kernels():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 6, 6, 1)).astype("float32")
    layer = P4ConvLift2D(2, 3, use_bias=False)
    got = np_out(layer, x)
    kernel = layer.kernel.numpy()
    for r in range(4):
        for f in range(2):
            want = correlate2d(x[0, :, :, 0], np.rot90(kernel[:, :, 0, f], r), mode="same")
            np.testing.assert_allclose(got[0, :, :, r, f], want, atol=ATOL)


@pytest.mark.parametrize("k,padding", [(3, "same"), (3, "valid"), (5, "same")])
def test_group_layer_equals_the_loop_reference(k, padding):
    rng = np.random.default_rng(10 + k)
    x = rng.normal(size=(2, 7, 7, 4, 3)).astype("float32")
    layer = P4Conv2D(5, k, padding=padding, bias_initializer="random_normal")
    got = np_out(layer, x)
    kernel, bias = (w.numpy() for w in (layer.kernel, layer.bias))
    want = reference_p4(x.astype("float64"), kernel, bias, padding)
    side = 7 if padding == "same" else 7 - k + 1
    assert got.shape == want.shape == (2, side, side, 4, 5)
    np.testing.assert_allclose(got, want, atol=ATOL)


# ------------------------------------------------------------------------------------------ equivariance
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("r", [1, 2, 3])
def test_lifting_layer_is_rotation_equivariant(padding, r):
    rng = np.random.default_rng(r)
    x = rng.normal(size=(3, 9, 9, 2)).astype("float32")
    layer = P4ConvLift2D(6, 3, padding=padding, activation="relu", bias_initializer="random_normal")
    y = np_out(layer, x)
    y_of_rotated = np_out(layer, np.ascontiguousarray(rotate_image(x, r)))
    np.testing.assert_allclose(y_of_rotated, rotate_p4(y, r), atol=ATOL)
    # the roll is needed: rotating the maps alone does not match
    assert np.abs(y_of_rotated - rotate_image(y, r)).max() > 0.1


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("r", [1, 2, 3])
def test_group_layer_is_rotation_equivariant(padding, r):
    rng = np.random.default_rng(20 + r)
    x = rng.normal(size=(2, 8, 8, 4, 3)).astype("float32")
    layer = P4Conv2D(5, 3, padding=padding, bias_initializer="random_normal")
    y = np_out(layer, x)
    y_of_moved = np_out(layer, np.ascontiguousarray(rotate_p4(x, r)))
    np.testing.assert_allclose(y_of_moved, rotate_p4(y, r), atol=ATOL)
    assert np.abs(y_of_moved - rotate_image(y, r)).max() > 0.1


def test_an_ordinary_convolution_fails_the_same_check():
    """Control: the test above can fail. A Conv2D with a random kernel is not rotation equivariant."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 9, 2)).astype("float32")
    conv = keras.layers.Conv2D(4, 3, padding="same")
    y, y_of_rotated = np_out(conv, x), np_out(conv, np.ascontiguousarray(rotate_image(x, 1)))
    assert np.abs(y_of_rotated - rotate_image(y, 1)).max() > 0.1


def p4_network(input_shape=(8, 8, 1), pooling="max"):
    inputs = keras.Input(input_shape)
    x = P4ConvLift2D(6, 3, activation="relu", name="lift")(inputs)
    x = P4Conv2D(8, 3, activation="relu", name="p4conv")(x)
    # spatial pooling of p4 maps: fold the rotation axis into the channels, pool, unfold
    h, w = x.shape[1], x.shape[2]
    x = keras.layers.Reshape((h, w, 4 * 8))(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Reshape((h // 2, w // 2, 4, 8))(x)
    x = P4Conv2D(8, 3, activation="relu", name="p4conv2")(x)
    x = OrientationPooling(pooling, name="orientation_pool")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="logits")(x))


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_orientation_and_global_pooling_make_the_network_invariant(pooling):
    keras.utils.set_random_seed(0)
    model = p4_network(pooling=pooling)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype("float32")
    logits = keras.ops.convert_to_numpy(model(x))
    assert np.abs(logits).max() > 1e-2  # a non-trivial output
    for r in (1, 2, 3):
        rotated = keras.ops.convert_to_numpy(model(np.ascontiguousarray(rotate_image(x, r))))
        np.testing.assert_allclose(rotated, logits, atol=ATOL)
    # the orientation-pooled maps themselves turn with the input (equivariant as ordinary maps)
    pooled = keras.Model(model.input, model.get_layer("orientation_pool").output)
    maps = keras.ops.convert_to_numpy(pooled(x))
    maps_rotated = keras.ops.convert_to_numpy(pooled(np.ascontiguousarray(rotate_image(x, 1))))
    np.testing.assert_allclose(maps_rotated, rotate_image(maps, 1), atol=ATOL)


def test_equivariance_holds_with_an_unknown_spatial_size():
    inputs = keras.Input((None, None, 1))
    y = P4Conv2D(3, 3)(P4ConvLift2D(2, 3)(inputs))
    model = keras.Model(inputs, y)
    assert tuple(model.output.shape) == (None, None, None, 4, 3)
    x = np.random.default_rng(3).normal(size=(1, 11, 11, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(model(x))
    out_rot = keras.ops.convert_to_numpy(model(np.ascontiguousarray(rotate_image(x, 3))))
    np.testing.assert_allclose(out_rot, rotate_p4(out, 3), atol=ATOL)


# -------------------------------------------------------------------------------- counts and shapes
def test_parameter_counts_by_hand():
    inputs = keras.Input((8, 8, 3))
    lift = P4ConvLift2D(8, 3)
    group = P4Conv2D(16, 5)
    group_no_bias = P4Conv2D(16, 3, use_bias=False)
    group_no_bias(group(lift(inputs)))
    assert lift.count_params() == 3 * 3 * 3 * 8 + 8 == 224  # one 3x3x3 kernel per filter, one bias
    assert group.count_params() == 5 * 5 * 4 * 8 * 16 + 16 == 12_816  # each kernel spans 4 rotations x 8
    assert group_no_bias.count_params() == 3 * 3 * 4 * 16 * 16 == 9_216
    # the lifting layer has exactly the parameters of the Conv2D with the same filters
    conv = keras.layers.Conv2D(8, 3)
    conv.build((None, 8, 8, 3))
    assert conv.count_params() == lift.count_params()


def test_output_shapes_and_multiply_adds():
    inputs = keras.Input((10, 10, 2))
    x = P4ConvLift2D(4, 3, padding="valid", name="lift")(inputs)
    y = P4Conv2D(6, 3, name="group")(x)
    model = keras.Model(inputs, OrientationPooling(name="pool")(y))
    assert tuple(x.shape) == (None, 8, 8, 4, 4)
    assert tuple(y.shape) == (None, 8, 8, 4, 6)
    assert tuple(model.output.shape) == (None, 8, 8, 6)
    out = keras.ops.convert_to_numpy(model(np.zeros((2, 10, 10, 2), "float32")))
    assert out.shape == (2, 8, 8, 6)
    table = graph.layer_table(model)
    # every output value (8 x 8 positions x 4 rotations x filters) costs one kernel's multiply-adds
    assert table["lift"]["macs"] == 8 * 8 * 4 * 4 * (3 * 3 * 2) == 18_432
    assert table["group"]["macs"] == 8 * 8 * 4 * 6 * (3 * 3 * 4 * 4) == 221_184
    assert table["pool"]["macs"] == 0


# ------------------------------------------------------------------------------------ the pooling layers
def test_orientation_pooling_against_numpy():
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 4, 5)).astype("float32")
    np.testing.assert_allclose(np_out(OrientationPooling("max"), x), x.max(axis=3))
    np.testing.assert_allclose(np_out(OrientationPooling("mean"), x), x.mean(axis=3), atol=1e-6)


def test_maxout_against_a_loop():
    x = np.random.default_rng(0).normal(size=(2, 3, 12)).astype("float32")
    got = np_out(Maxout(3), x)
    want = np.empty((2, 3, 4), "float32")
    for i in range(4):  # unit i is the max of channels 3i, 3i+1, 3i+2
        want[..., i] = np.maximum(np.maximum(x[..., 3 * i], x[..., 3 * i + 1]), x[..., 3 * i + 2])
    np.testing.assert_array_equal(got, want)
    assert Maxout(3).compute_output_shape((None, 5, 5, 12)) == (None, 5, 5, 4)
    # cross-channel pooling of a conv layer's maps: a 4-D input
    maps = np.random.default_rng(1).normal(size=(1, 4, 4, 6)).astype("float32")
    np.testing.assert_array_equal(np_out(Maxout(2), maps), np.maximum(maps[..., 0::2], maps[..., 1::2]))


# ---------------------------------------------------------------------------------------- serialization
def test_config_round_trip_and_saved_model(tmp_path):
    keras.utils.set_random_seed(1)
    model = p4_network(pooling="mean")
    inputs = keras.Input((6,))
    dense = keras.Model(inputs, Maxout(2)(keras.layers.Dense(6)(inputs)))
    for layer in (model.get_layer("lift"), model.get_layer("p4conv"), model.get_layer("orientation_pool"),
                  dense.layers[-1]):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype("float32")
    for m, xin in ((model, x), (dense, x[:, 0, :6, 0])):
        path = tmp_path / f"{m.name}.keras"
        m.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(xin)),
                                   keras.ops.convert_to_numpy(m(xin)), atol=1e-6)


def test_names_are_re_exported_from_layers():
    assert model_layers.P4Conv2D is P4Conv2D
    assert model_layers.P4ConvLift2D is P4ConvLift2D
    assert model_layers.OrientationPooling is OrientationPooling
    assert model_layers.Maxout is Maxout


# ------------------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("kwargs,error,match", [
    ({"filters": 0, "kernel_size": 3}, ValueError, "filters must be a positive int, got 0"),
    ({"filters": 2.0, "kernel_size": 3}, TypeError, "filters must be a positive int"),
    ({"filters": 2, "kernel_size": 4}, ValueError, "kernel_size must be odd"),
    ({"filters": 2, "kernel_size": (3, 5)}, ValueError, "kernel_size must be square"),
    ({"filters": 2, "kernel_size": 0}, ValueError, "kernel_size"),
    ({"filters": 2, "kernel_size": "3"}, TypeError, "kernel_size"),
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, ValueError, "padding must be one of"),
    ({"filters": 2, "kernel_size": 3, "padding": 1}, TypeError, "padding must be one of"),
    ({"filters": 2, "kernel_size": 3, "use_bias": 1}, TypeError, "use_bias must be a bool"),
])
@pytest.mark.parametrize("cls", [P4ConvLift2D, P4Conv2D])
def test_bad_arguments_raise(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_bad_inputs_and_pooling_arguments_raise():
    with pytest.raises(ValueError, match="expects \\(batch, h, w, channels\\)"):
        P4ConvLift2D(2, 3)(np.zeros((1, 5, 5, 4, 2), "float32"))
    with pytest.raises(ValueError, match="expects \\(batch, h, w, 4, channels\\)"):
        P4Conv2D(2, 3)(np.zeros((1, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match="expects \\(batch, h, w, 4, channels\\)"):
        P4Conv2D(2, 3)(np.zeros((1, 5, 5, 3, 2), "float32"))  # 3 rotations is not p4
    with pytest.raises(ValueError, match="expects"):
        OrientationPooling()(np.zeros((1, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match="mode must be one of 'max', 'mean', got 'min'"):
        OrientationPooling("min")
    with pytest.raises(ValueError, match="pieces must be a positive int, got 0"):
        Maxout(0)
    with pytest.raises(TypeError, match="pieces must be a positive int"):
        Maxout(1.5)
    with pytest.raises(ValueError, match="divisible by 4, got 6"):
        Maxout(4)(np.zeros((1, 6), "float32"))
