"""Residual and Inception builders: He initialisation where the ResNet paper uses it, and each block
recomputed with plain TensorFlow ops on the same weights (the same computation written two ways)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import course_lib as cl
from course_lib.models import blocks

RESNETS = [
    ("cifar_resnet20", lambda: cl.models.cifar_resnet(20)),
    ("cifar_plain20", lambda: cl.models.cifar_resnet(20, plain=True)),
    ("cifar_resnet20_B", lambda: cl.models.cifar_resnet(20, shortcut="B")),
    ("resnet18", lambda: cl.models.resnet(18)),
    ("resnet50", lambda: cl.models.resnet(50)),
    ("plain34", lambda: cl.models.resnet(34, plain=True)),
]


def conv_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


@pytest.mark.parametrize("name, build", RESNETS, ids=[r[0] for r in RESNETS])
def test_every_resnet_convolution_uses_he_normal(name, build):
    # He et al. (2016), Section 3.4: "we adopt the weight initialization in [13]" (He et al. 2015).
    with cl.models.architecture_only():
        model = build()
    convs = conv_layers(model)
    assert len(convs) >= 7
    for layer in convs:
        config = layer.get_config()["kernel_initializer"]
        assert config["class_name"] == "HeNormal", f"{name}: {layer.name} uses {config['class_name']}"
    # the documented departure: the final Dense layer keeps Keras' default
    assert model.get_layer("predictions").get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"


@pytest.mark.parametrize("build", [lambda: cl.models.googlenet(input_shape=(65, 65, 3), num_classes=10),
                                   lambda: cl.models.nin()], ids=["googlenet", "nin"])
def test_googlenet_and_nin_keep_the_keras_default(build):
    with cl.models.architecture_only():
        model = build()
    kinds = {layer.get_config()["kernel_initializer"]["class_name"] for layer in conv_layers(model)}
    assert kinds == {"GlorotUniform"}


def test_he_init_has_variance_two_over_fan_in():
    # He et al. (2015), Eq. (10): std = sqrt(2 / n) with n = k * k * c_in, computed here by hand.
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 64))
    model = keras.Model(inputs, cl.models.basic_block(inputs, 64, name="b"))
    kernel = model.get_layer("b_1_conv").get_weights()[0]
    assert kernel.shape == (3, 3, 64, 64)
    expected_std = np.sqrt(2.0 / (3 * 3 * 64))
    assert abs(kernel.mean()) < 0.1 * expected_std
    np.testing.assert_allclose(kernel.std(), expected_std, rtol=0.03)


def _randomise_bn(model, rng):
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(size=beta.shape),
                               rng.normal(size=mean.shape), rng.uniform(0.5, 2.0, var.shape)])


def _conv_bn_tf(model, x, name, stride=1, padding="SAME", relu=True):
    """conv (no bias) then inference-mode BN (and ReLU) with tf.nn ops and the model's weights."""
    kernel = model.get_layer(f"{name}_conv").get_weights()[0]
    gamma, beta, mean, var = model.get_layer(f"{name}_bn").get_weights()
    y = tf.nn.conv2d(x, kernel, strides=stride, padding=padding)
    y = tf.nn.batch_normalization(y, mean, var, beta, gamma, blocks.BN_EPSILON)
    return tf.nn.relu(y) if relu else y


@pytest.mark.parametrize("stride, shortcut", [(1, "B"), (2, "B"), (2, "A"), (1, None)])
def test_basic_block_equals_tf_ops(stride, shortcut):
    rng = np.random.default_rng(0)
    cin, filters = 8, (8 if stride == 1 else 16)
    inputs = keras.Input((8, 8, cin))
    block = cl.models.basic_block(inputs, filters, stride=stride, shortcut=shortcut, name="b")
    model = keras.Model(inputs, block)
    _randomise_bn(model, rng)
    x = rng.normal(size=(2, 8, 8, cin)).astype("float32")
    # the strided 3x3 reads one zero on every side, then a valid convolution
    first_in = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) if stride == 2 else x
    y = _conv_bn_tf(model, first_in, "b_1", stride=stride, padding="VALID" if stride == 2 else "SAME")
    y = _conv_bn_tf(model, y, "b_2", relu=False)
    if shortcut == "B" and stride == 2:
        y = y + _conv_bn_tf(model, x, "b_0", stride=2, padding="VALID", relu=False)
    elif shortcut == "A" and stride == 2:
        extra = filters - cin
        y = y + tf.pad(x[:, ::2, ::2, :], [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])
    elif shortcut is not None:
        y = y + x
    expected = tf.nn.relu(y).numpy()
    got = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_bottleneck_block_equals_tf_ops():
    rng = np.random.default_rng(1)
    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, cl.models.bottleneck_block(inputs, 8, stride=2, name="b"))
    _randomise_bn(model, rng)
    x = rng.normal(size=(2, 8, 8, 16)).astype("float32")
    y = _conv_bn_tf(model, x, "b_1", stride=2, padding="VALID")
    y = _conv_bn_tf(model, y, "b_2")
    y = _conv_bn_tf(model, y, "b_3", relu=False)
    y = y + _conv_bn_tf(model, x, "b_0", stride=2, padding="VALID", relu=False)
    expected = tf.nn.relu(y).numpy()
    got = keras.ops.convert_to_numpy(model(x, training=False))
    assert got.shape == (2, 4, 4, 32)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_inception_module_equals_tf_ops():
    rng = np.random.default_rng(2)
    row = blocks.InceptionRow(4, 3, 5, 2, 3, 2)
    inputs = keras.Input((7, 7, 6))
    model = keras.Model(inputs, cl.models.inception_module(inputs, row, name="m"))
    x = rng.normal(size=(2, 7, 7, 6)).astype("float32")

    def conv(t, suffix):
        kernel, bias = model.get_layer(f"m_{suffix}").get_weights()
        return tf.nn.relu(tf.nn.conv2d(t, kernel, strides=1, padding="SAME") + bias)

    pooled = tf.nn.max_pool2d(x, 3, strides=1, padding="SAME")
    expected = tf.concat([conv(x, "1x1"), conv(conv(x, "3x3_reduce"), "3x3"),
                          conv(conv(x, "5x5_reduce"), "5x5"), conv(pooled, "pool_proj")], axis=-1).numpy()
    got = keras.ops.convert_to_numpy(model(x))
    assert got.shape == (2, 7, 7, row.out_channels)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_resnet_imagenet_tables_agree_with_each_other_and_with_the_paper():
    # He et al. (2016): Table 2 (top-1, plain vs residual) and Table 3 (top-1 and top-5) share their ResNet-34
    # A and plain-34 rows; deeper bottleneck networks have lower error in both columns.
    t2, t3 = cl.models.RESNET_IMAGENET_TABLE2, cl.models.RESNET_IMAGENET_TABLE3
    assert t2["ResNet-34"] == t3["ResNet-34 A"].top1 == 25.03
    assert t2["plain-34"] == t3["plain-34"].top1 == 28.54
    assert t2["plain-18"] > t2["ResNet-18"] and t2["plain-34"] > t2["ResNet-34"]  # shortcuts help
    deeper = [t3[f"ResNet-{d}"] for d in (50, 101, 152)]
    assert [r.top5 for r in deeper] == sorted((r.top5 for r in deeper), reverse=True) == [6.71, 6.05, 5.71]
    assert t3["ResNet-34 A"].top5 > t3["ResNet-34 B"].top5 > t3["ResNet-34 C"].top5  # A > B > C, Section 4.1
    assert list(t3)[:4] == ["VGG-16", "GoogLeNet", "PReLU-net", "plain-34"] and t3["GoogLeNet"].top1 is None
