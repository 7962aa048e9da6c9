"""Building blocks of the classic CNNs: functions ``block(x, filters, *, ..., name=...)`` returning a tensor.

Every block names its layers from ``name`` the way ``keras.applications`` does (``block1_conv1``,
``inception3a_1x1``, ``conv2_block1_1_conv``), so a notebook or a test can find a layer with
``model.get_layer(...)``. A convolution that is followed by batch normalisation has no bias: the BN shift
(beta) would make it redundant.

Two pieces serve every family of the kit, the classic ones here and the later ones (``modern_blocks`` and
the family files): ``conv_bn`` (convolution -> BatchNorm -> activation, with the options all of them need:
groups, BN without gamma, another epsilon, an initializer) and ``classifier_head`` (pooling or flattening,
the optional fully connected layers, dropout, and the output layer ``predictions`` with
``classifier_activation`` as in ``keras.applications``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_choice
from .common import check_classifier_activation, scaled
from .layers import LocalResponseNormalization, ZeroPadShortcut

# Batch-norm constants of the ResNet/Inception-v3 reference code (PyTorch's 0.1 running-average momentum is
# Keras' 0.9); Keras' defaults (0.99, 1e-3) are tuned for long ImageNet runs and adapt slowly in short ones.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

# Initialisation of the residual networks' convolutions: He et al. (2016) write "we adopt the weight
# initialization in [13]", i.e. He, Zhang, Ren and Sun, "Delving Deep into Rectifiers", ICCV 2015: zero-mean
# Gaussian weights with variance 2 / fan_in (fan_in = kh * kw * c_in), which keeps the activations' scale from
# layer to layer through ReLUs. Keras' "he_normal" has that variance; it draws from a normal truncated at two
# standard deviations (rescaled so the variance is still 2 / fan_in), where the paper's Gaussian is not
# truncated. The other networks of the kit keep Keras' default (Glorot uniform), since their papers used other
# schemes (fixed-std Gaussians for AlexNet and VGG) that the course does not reproduce.
HE_INIT = "he_normal"


def batch_norm(name: str, *, epsilon: float = BN_EPSILON, scale: bool = True) -> layers.BatchNormalization:
    """A channels-last BatchNormalization layer with the kit's momentum (and its epsilon unless given)."""
    return layers.BatchNormalization(axis=-1, momentum=BN_MOMENTUM, epsilon=epsilon, scale=scale, name=name)


def activation_layer(x, activation: str | None, *, name: str):
    """An ``Activation`` layer named ``{name}_{activation}`` on ``x``; ``x`` itself for None."""
    if activation is None:
        return x
    return layers.Activation(activation, name=f"{name}_{activation}")(x)


def conv_bn(x, filters: int, kernel_size, *, strides=1, padding="same", groups: int = 1,
            activation: str | None = "relu", bn_scale: bool = True, bn_epsilon: float = BN_EPSILON,
            kernel_initializer="glorot_uniform", name: str):
    """Convolution (no bias, optionally grouped) -> BatchNorm -> activation: the block of every family.

    Args:
        x: tensor ``(batch, h, w, c)``; ``c`` divisible by ``groups``.
        filters: output channels (divisible by ``groups``).
        kernel_size: int or ``(kh, kw)`` (``(1, 7)`` for a factorised Inception-v3 convolution).
        strides, padding: as in ``keras.layers.Conv2D``.
        groups: split input and output channels into this many groups (ResNeXt's cardinality); each output
            channel then reads only ``c / groups`` input channels.
        activation: a Keras activation name applied after BN ("relu", "relu6", "swish"); None for a linear
            output (a residual branch before the addition, a projection shortcut).
        bn_scale: keep BN's gamma. Inception-v3 drops it (``scale=False``, as in ``keras.applications``): a
            ReLU follows, and the next convolution can absorb a per-channel scale.
        bn_epsilon: BN's epsilon (the kit's 1e-5, or the 1e-3 / 1.001e-5 a reference implementation uses).
        kernel_initializer: of the convolution; Keras' default, or ``HE_INIT`` in the residual networks.
        name: prefix; layers ``{name}_conv``, ``{name}_bn`` and ``{name}_{activation}`` (``{name}_relu``).

    Returns:
        Tensor ``(batch, h', w', filters)``.
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, groups=groups, use_bias=False,
                      kernel_initializer=kernel_initializer, name=f"{name}_conv")(x)
    x = batch_norm(f"{name}_bn", epsilon=bn_epsilon, scale=bn_scale)(x)
    return activation_layer(x, activation, name=name)


# ----------------------------------------------------------------------------------------------------------
# VGG
# ----------------------------------------------------------------------------------------------------------
# Every VGG stage ends in a 2x2 max-pool of stride 2 (Simonyan and Zisserman, Section 2.1).
VGG_POOL = (2, 2)


def vgg_block(x, filters: Sequence, *, use_batch_norm: bool = False, lrn_after: int | None = None, name: str):
    """A VGG stage: 3x3 (or 1x1) convolutions with ReLU, then a 2x2 max-pool of stride 2.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: one entry per convolution: an int (a 3x3 convolution with that many filters) or a pair
            ``(filters, kernel)`` (configuration C's ``(256, 1)`` is a 1x1 convolution).
        use_batch_norm: conv (no bias) -> BN -> ReLU instead of conv with bias and ReLU (the later "VGG-BN").
        lrn_after: insert a LocalResponseNormalization after this convolution (1-based; A-LRN uses 1).
        name: stage prefix, e.g. ``"block1"``: layers ``block1_conv1``, ..., ``block1_pool``.

    Returns:
        Tensor ``(batch, h // 2, w // 2, filters[-1])``.

    Reference: Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
    ICLR 2015, Table 1.
    """
    for i, entry in enumerate(filters, start=1):
        n, kernel = (entry, 3) if isinstance(entry, int) else entry
        if use_batch_norm:
            x = layers.Conv2D(n, kernel, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
            x = batch_norm(f"{name}_bn{i}")(x)
            x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
        else:
            x = layers.Conv2D(n, kernel, padding="same", activation="relu", name=f"{name}_conv{i}")(x)
        if lrn_after == i:
            x = LocalResponseNormalization(name=f"{name}_lrn")(x)
    size, stride = VGG_POOL
    return layers.MaxPooling2D(size, strides=stride, name=f"{name}_pool")(x)


# ----------------------------------------------------------------------------------------------------------
# Network in Network
# ----------------------------------------------------------------------------------------------------------
def mlpconv_block(x, filters: Sequence[int], *, kernel_size, strides=1, padding="same", name: str):
    """An mlpconv layer: one spatial convolution followed by 1x1 convolutions, all with ReLU.

    The 1x1 convolutions act as a small multilayer perceptron applied at every pixel.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: ``(f_conv, f_1x1, f_1x1, ...)``: widths of the spatial convolution and of each 1x1 layer.
        kernel_size, strides, padding: of the spatial convolution.
        name: prefix: ``{name}_conv``, ``{name}_mlp1``, ``{name}_mlp2``.

    Returns:
        Tensor ``(batch, h', w', filters[-1])``.

    Reference: Lin, Chen and Yan, "Network In Network", ICLR 2014, Section 3.1 and Figure 2.
    """
    first, *rest = filters
    x = layers.Conv2D(first, kernel_size, strides=strides, padding=padding, activation="relu",
                      name=f"{name}_conv")(x)
    for i, n in enumerate(rest, start=1):
        x = layers.Conv2D(n, 1, activation="relu", name=f"{name}_mlp{i}")(x)
    return x


# ----------------------------------------------------------------------------------------------------------
# Inception
# ----------------------------------------------------------------------------------------------------------
class InceptionRow(NamedTuple):
    """One inception row of GoogLeNet's Table 1: the number of filters in each branch.

    Fields follow the paper's columns: ``#1x1``, ``#3x3 reduce``, ``#3x3``, ``#5x5 reduce``, ``#5x5`` and
    ``pool proj``. The module's output depth is ``n1x1 + n3x3 + n5x5 + pool_proj``.
    """

    n1x1: int
    n3x3_reduce: int
    n3x3: int
    n5x5_reduce: int
    n5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        """Depth of the concatenated output."""
        return self.n1x1 + self.n3x3 + self.n5x5 + self.pool_proj

    def scaled(self, width_multiplier: float) -> InceptionRow:
        """Every branch width times ``width_multiplier`` (rounded, at least 1)."""
        return InceptionRow(*(scaled(n, width_multiplier) for n in self))


def inception_module(x, filters: InceptionRow | Sequence[int], *, kernel_initializer="glorot_uniform",
                     name: str):
    """The Inception module with dimension reductions (GoogLeNet Figure 2b): four branches, concatenated.

    Branches: 1x1; 1x1 reduce -> 3x3; 1x1 reduce -> 5x5; 3x3 max-pool (stride 1) -> 1x1 projection. Every
    convolution has a bias and a ReLU (the 2014 network has no batch norm).

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: an ``InceptionRow`` (or a 6-tuple in its order).
        kernel_initializer: of every convolution (Keras' default unless a caller chooses another).
        name: prefix, e.g. ``"inception3a"``: layers ``inception3a_1x1``, ``inception3a_3x3_reduce``,
            ``inception3a_3x3``, ``inception3a_5x5_reduce``, ``inception3a_5x5``, ``inception3a_pool``,
            ``inception3a_pool_proj`` and ``inception3a`` (the concatenation).

    Returns:
        Tensor ``(batch, h, w, n1x1 + n3x3 + n5x5 + pool_proj)``.

    Reference: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Figure 2(b) and Table 1.
    """
    row = InceptionRow(*filters)

    def conv(t, n, k, suffix):
        return layers.Conv2D(n, k, padding="same", activation="relu", kernel_initializer=kernel_initializer,
                             name=f"{name}_{suffix}")(t)

    b1 = conv(x, row.n1x1, 1, "1x1")
    b2 = conv(conv(x, row.n3x3_reduce, 1, "3x3_reduce"), row.n3x3, 3, "3x3")
    b3 = conv(conv(x, row.n5x5_reduce, 1, "5x5_reduce"), row.n5x5, 5, "5x5")
    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    b4 = conv(b4, row.pool_proj, 1, "pool_proj")
    return layers.Concatenate(axis=-1, name=name)([b1, b2, b3, b4])


class InceptionV3Filters(NamedTuple):
    """Branch widths of an Inception-v3 module.

    ``n1x1``: the 1x1 branch; ``nxn_reduce -> nxn``: one (factorised) n x n convolution after a 1x1 reduction;
    ``dbl_reduce -> dbl``: two stacked n x n convolutions (they see a (2n-1) x (2n-1) window, so with n = 3
    they replace GoogLeNet's 5x5 branch); ``pool_proj``: 1x1 after a 3x3 average pool.
    """

    n1x1: int
    nxn_reduce: int
    nxn: int
    dbl_reduce: int
    dbl: int
    pool_proj: int


def inception_v3_module(
    x, filters: InceptionV3Filters | Sequence[int], *, n: int = 3, asymmetric: bool = False, name: str
):
    """An Inception-v3 module: GoogLeNet's branches with large convolutions factorised into small ones.

    With ``asymmetric=False`` (Figure 5 of the paper) every n x n convolution is a square ``n x n`` one and
    the old 5x5 branch becomes two stacked 3x3s. With ``asymmetric=True`` (Figure 6) each n x n convolution is
    further split into a ``1 x n`` followed by an ``n x 1`` (n = 7 on the 17x17 grid). Every convolution is
    conv (no bias) -> BatchNorm -> ReLU.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: ``InceptionV3Filters`` (or a 6-tuple in its order).
        n: the kernel size being factorised (3 or 7 in the paper).
        asymmetric: split each ``n x n`` into ``1 x n`` then ``n x 1``.
        name: prefix; layers ``{name}_1x1_conv``, ``{name}_nxn_reduce_conv``, ``{name}_nxn_conv`` (square) or
            ``{name}_nxn_1xn_conv`` / ``{name}_nxn_nx1_conv`` (asymmetric), ``{name}_dbl1_...``,
            ``{name}_dbl2_...``, ``{name}_pool``, ``{name}_pool_proj_conv`` and ``{name}`` (concatenation).

    Returns:
        Tensor ``(batch, h, w, n1x1 + nxn + dbl + pool_proj)``.

    Reference: Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception Architecture for
    Computer Vision", CVPR 2016, Figures 5 and 6.
    """
    f = InceptionV3Filters(*filters)

    def nxn(t, width, prefix):
        if not asymmetric:
            return conv_bn(t, width, n, name=prefix)
        t = conv_bn(t, width, (1, n), name=f"{prefix}_1xn")
        return conv_bn(t, width, (n, 1), name=f"{prefix}_nx1")

    b1 = conv_bn(x, f.n1x1, 1, name=f"{name}_1x1")
    b2 = nxn(conv_bn(x, f.nxn_reduce, 1, name=f"{name}_nxn_reduce"), f.nxn, f"{name}_nxn")
    b3 = conv_bn(x, f.dbl_reduce, 1, name=f"{name}_dbl_reduce")
    b3 = nxn(b3, f.dbl, f"{name}_dbl1")
    b3 = nxn(b3, f.dbl, f"{name}_dbl2")
    b4 = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    b4 = conv_bn(b4, f.pool_proj, 1, name=f"{name}_pool_proj")
    return layers.Concatenate(axis=-1, name=name)([b1, b2, b3, b4])


# ----------------------------------------------------------------------------------------------------------
# ResNet
# ----------------------------------------------------------------------------------------------------------
SHORTCUTS = ("A", "B", None)

# Where a residual stage halves the map: the window (kernel, zeros per side) of the block's strided
# convolution. The basic block strides its first 3x3 (padded by one), the bottleneck its first 1x1.
STRIDED_WINDOW = {"basic": (3, 1), "bottleneck": (1, 0)}


def _check_shortcut(shortcut):
    check_choice(shortcut, "shortcut", SHORTCUTS)  # None: the plain network


def _shortcut(x, out_channels: int, stride: int, shortcut, name: str):
    """Identity when the shape is kept; otherwise option A (zero-pad) or B (1x1 projection + BN)."""
    if stride == 1 and x.shape[-1] == out_channels:
        return x
    if shortcut == "A":
        return ZeroPadShortcut(out_channels, stride, name=f"{name}_0_pad")(x)
    return conv_bn(x, out_channels, 1, strides=stride, padding="valid", activation=None,
                   kernel_initializer=HE_INIT, name=f"{name}_0")


def _strided_conv3x3_bn(x, filters, stride, *, activation, name):
    # Explicit one-pixel padding then a valid convolution: for stride 2 the windows start at the top-left
    # corner exactly as in the reference (PyTorch/Caffe) code, while padding="same" would pad only at the
    # bottom/right. At stride 1 both are the same.
    kernel, pad = STRIDED_WINDOW["basic"]
    if stride == 1:
        return conv_bn(x, filters, kernel, activation=activation, kernel_initializer=HE_INIT, name=name)
    x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    return conv_bn(x, filters, kernel, strides=stride, padding="valid", activation=activation,
                   kernel_initializer=HE_INIT, name=name)


def basic_block(x, filters: int, *, stride: int = 1, shortcut="B", name: str):
    """ResNet's basic residual block: two 3x3 conv-BN layers plus a shortcut, then ReLU.

    Every convolution (the projection shortcut's too) is initialised with ``HE_INIT``, as in the paper.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: width of both convolutions (and of the output).
        stride: 2 in the first block of a stage that halves the resolution.
        shortcut: when the shape changes, ``"B"`` projects with a 1x1 convolution + BN (ImageNet ResNets),
            ``"A"`` subsamples and zero-pads the channels, with no parameters (CIFAR ResNets); ``None`` gives
            the "plain" counterpart with no shortcut at all.
        name: prefix, e.g. ``"conv2_block1"``: layers ``..._1_conv``, ``..._1_bn``, ``..._1_relu``,
            ``..._2_conv``, ``..._2_bn``, ``..._0_conv``/``..._0_bn`` (projection) or ``..._0_pad``
            (option A), ``..._add`` and ``..._out``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), filters)``.

    Reference: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, Figure 5
    (left) and Section 3.3.
    """
    _check_shortcut(shortcut)
    residual = _strided_conv3x3_bn(x, filters, stride, activation="relu", name=f"{name}_1")
    residual = conv_bn(residual, filters, 3, activation=None, kernel_initializer=HE_INIT, name=f"{name}_2")
    if shortcut is not None:
        residual = layers.Add(name=f"{name}_add")([_shortcut(x, filters, stride, shortcut, name), residual])
    return layers.Activation("relu", name=f"{name}_out")(residual)


def bottleneck_block(x, filters: int, *, stride: int = 1, expansion: int = 4, shortcut="B", name: str):
    """ResNet's bottleneck block: 1x1 reduce, 3x3, 1x1 expand (x4), each with BN, plus a shortcut, then ReLU.

    The stride sits on the first 1x1 convolution, as in the paper and ``keras.applications.ResNet50``
    (torchvision's "v1.5" moves it to the 3x3; the parameter count is the same). Every convolution is
    initialised with ``HE_INIT``, as in the paper.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: width of the 1x1 reduce and 3x3 convolutions; the output has ``expansion * filters``.
        stride: 2 in the first block of stages 3-5.
        expansion: output width factor (4 in the paper).
        shortcut: ``"B"`` (projection where the shape changes), ``"A"`` (zero-pad) or None (plain).
        name: prefix, e.g. ``"conv3_block1"``: layers ``..._1_conv`` ... ``..._3_bn``, ``..._0_conv``,
            ``..._add``, ``..._out``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), expansion * filters)``.

    Reference: He et al., CVPR 2016, Figure 5 (right) and Table 1.
    """
    _check_shortcut(shortcut)
    out_channels = expansion * filters
    kernel, pad = STRIDED_WINDOW["bottleneck"]
    assert pad == 0, "the strided 1x1 convolution reads no padding"
    residual = conv_bn(x, filters, kernel, strides=stride, padding="valid", kernel_initializer=HE_INIT,
                       name=f"{name}_1")
    residual = conv_bn(residual, filters, 3, kernel_initializer=HE_INIT, name=f"{name}_2")
    residual = conv_bn(residual, out_channels, 1, activation=None, kernel_initializer=HE_INIT,
                       name=f"{name}_3")
    if shortcut is not None:
        shortcut_branch = _shortcut(x, out_channels, stride, shortcut, name)
        residual = layers.Add(name=f"{name}_add")([shortcut_branch, residual])
    return layers.Activation("relu", name=f"{name}_out")(residual)


# ----------------------------------------------------------------------------------------------------------
# The classifier head
# ----------------------------------------------------------------------------------------------------------
HEAD_POOLS = ("avg", "flatten", None)
HEAD_NAME = "predictions"


def classifier_head(x, num_classes: int | None, *, pool: str | None = None, hidden: Sequence[int] = (),
                    dropout: float = 0.0, classifier_activation="softmax",
                    kernel_initializer="glorot_uniform", softmax_layer: bool = False, name: str = HEAD_NAME):
    """The classifier every family ends with: [pool] -> [fc + ReLU (+ dropout)] ... -> [dropout] -> output.

    The output layer is ``Dense(num_classes, activation=classifier_activation, name="predictions")``, the
    layer ``keras.applications`` ends with, so a model built with ``classifier_activation=None`` outputs the
    class scores (logits) and the default one their softmax, with the same weights under the same names.

    Args:
        x: features: ``(batch, h, w, c)`` with ``pool``, ``(batch, features)`` without.
        num_classes: width of the output Dense layer; None when ``x`` already holds one score per class
            (NiN's pooled class maps, LeNet-5's negated RBF penalties): the output layer is then an
            ``Activation`` with no weights.
        pool: ``"avg"`` (global average pooling, layer ``avg_pool``), ``"flatten"`` (layer ``flatten``) or
            None (``x`` is used as it is).
        hidden: widths of fully connected ReLU layers ``fc1``, ``fc2``, ... before the output
            (``(4096, 4096)`` in AlexNet and VGG).
        dropout: rate after each hidden layer (``dropout1``, ``dropout2``, ...) or, without hidden layers,
            before the output layer (``dropout``); 0 for none.
        classifier_activation: of the output layer, as in ``keras.applications``: ``"softmax"`` (class
            probabilities), None (the logits: a linear output), or another Keras activation (a name or a
            callable).
        kernel_initializer: of the output Dense layer (NFNet starts it at zero).
        softmax_layer: with ``num_classes=None`` and the softmax, a ``keras.layers.Softmax`` instead of
            ``Activation("softmax")`` (the same values; LeNet-5's published network has always had one).
        name: the output layer's name: ``"predictions"``, or ``"aux1"`` ... for an auxiliary classifier.

    Returns:
        Tensor ``(batch, num_classes)``: probabilities by default, logits with ``classifier_activation=None``.

    Raises:
        TypeError / ValueError: an unknown pool or classifier_activation.
    """
    check_choice(pool, "pool", HEAD_POOLS)
    classifier_activation = check_classifier_activation(classifier_activation)
    if pool == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pool == "flatten":
        x = layers.Flatten(name="flatten")(x)
    for i, n in enumerate(hidden, start=1):
        x = layers.Dense(n, activation="relu", name=f"fc{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    if dropout and not hidden:
        x = layers.Dropout(dropout, name="dropout")(x)
    if num_classes is not None:
        return layers.Dense(num_classes, activation=classifier_activation,
                            kernel_initializer=kernel_initializer, name=name)(x)
    if softmax_layer and classifier_activation == "softmax":
        return layers.Softmax(name=name)(x)
    return layers.Activation(classifier_activation or "linear", name=name)(x)


def model_input(input_shape, name: str = "input") -> keras.KerasTensor:
    """``keras.Input`` with the kit's input name."""
    return keras.Input(shape=tuple(input_shape), name=name)
