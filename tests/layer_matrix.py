"""The matrix a linear layer applies, read off by feeding it the identity basis (shared by test_shapes and
test_graph: multiply-adds counted independently of the code under test)."""

import math

import numpy as np


def matrix_nnz(layer, in_shape):
    """Non-zeros of the matrix that a linear, bias-free layer applies to one flattened example.

    Feeding the identity basis (one example per input value) gives the matrix's rows. With all-positive
    weights nothing cancels, and every non-zero is one weight-times-input product: the layer's multiply-adds.
    """
    n = math.prod(in_shape)
    basis = np.eye(n, dtype="float32").reshape((n, *in_shape))
    rows = np.asarray(layer(basis)).reshape(n, -1)
    return int(np.count_nonzero(rows))
