"""Convolutional networks from scratch in NumPy: the ops, their backward passes, gradient checks, a tiny CNN.

Never imports TensorFlow or Keras, so it loads in a blink and reads on its own. Layout is NHWC with kernels
``(KH, KW, C_in, C_out)``, as in Keras, so every op can be checked against its Keras twin.
"""

from ..shapes import same_pads  # the one home of TensorFlow's "same" split, re-exported for the ops
from .conv import (
    conv_backward,
    conv_forward,
    convolve2d,
    correlate2d,
    pad2d,
    resolve_padding,
)
from .gradcheck import normwise_error, numeric_gradient, numeric_gradient_array, rel_error
from .layers import (
    affine_backward,
    affine_forward,
    dense_backward,
    dense_forward,
    flatten_backward,
    flatten_forward,
    logistic_loss,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_backward,
    softmax_cross_entropy,
    softmax_forward,
    softmax_loss,
)
from .net import TinyCNN
from .pool import (
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool2d,
    pool_backward,
    pool_forward,
)

__all__ = [
    "pad2d", "correlate2d", "convolve2d", "conv_forward", "conv_backward", "same_pads", "resolve_padding",
    "pool_forward", "pool_backward", "max_pool2d", "global_avg_pool_forward", "global_avg_pool_backward",
    "dense_forward", "dense_backward", "affine_forward", "affine_backward", "flatten_forward",
    "flatten_backward", "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
    "softmax_forward", "softmax_backward", "logistic_loss", "softmax_cross_entropy", "softmax_loss",
    "numeric_gradient", "numeric_gradient_array", "rel_error", "normwise_error", "TinyCNN",
]
