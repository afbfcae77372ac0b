"""`optimize.sums.backward_sums` and the runtime's `axis_sum` and `sum_product`: sums
over one axis in the backward pass are `axis_sum` (BLAS for a C-ordered float64 matrix,
np.sum otherwise), sums of products `sum_product` (np.vdot for two float64 arrays of
one shape); the forward pass is left as written. The pass source in → source out,
gradients against centred finite differences (optimized and not), and the helpers
against np.sum for every layout and dtype they may meet."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.optimize.sums import backward_sums
from s2sgrad.runtime import axis_sum, sum_product
from s2sgrad.syntax import emit, nodes

from support.numeric import numerical_grad


def dense_softmax(W, b, X, Y):
    z = X @ W + b
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def column_scale(A, s):
    return np.sum(np.tanh(A * s[None, :]) ** 2)


def middle_axis(A, c):
    return np.sum(np.sin(A + c) ** 2)          # A 3-D, c broadcast over axis 1


def scaled_kernel(log_s, log_l, D2):
    K = np.exp(2.0 * log_s) * np.exp(-0.5 * D2 / np.exp(2.0 * log_l))
    return np.sum(np.sin(K))


def taps(w, x):
    m = x.shape[1] - w.shape[0] + 1
    y = w[0] * x[:, 0:m]
    for j in range(1, w.shape[0]):
        y = y + w[j] * x[:, j:j + m]          # a strided slice times a number
    return np.sum(np.tanh(y) ** 2)


def loop_bias(W, b, X):
    h = X
    for _ in range(3):
        h = np.tanh(h @ W + b)
    return np.sum(h * h)


CASES = [
    (dense_softmax, lambda r: (r.standard_normal((4, 3)), r.standard_normal(3),
                               r.standard_normal((30, 4)),
                               np.eye(3)[r.integers(0, 3, 30)]), (0, 1)),
    (column_scale, lambda r: (r.standard_normal((25, 4)), r.standard_normal(4)), (0, 1)),
    (middle_axis, lambda r: (r.standard_normal((3, 4, 5)), r.standard_normal((3, 1, 5))),
     (0, 1)),
    (scaled_kernel, lambda r: (0.1, -0.2, np.abs(r.standard_normal((6, 6)))), (0, 1)),
    (taps, lambda r: (r.standard_normal(3), r.standard_normal((4, 12))), (0, 1)),
    (loop_bias, lambda r: (0.5 * r.standard_normal((4, 4)), r.standard_normal(4),
                           r.standard_normal((20, 4))), (0, 1)),
]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_against_finite_differences(f, make, wrt, optimize):
    args = make(np.random.default_rng(3))
    got = s2sgrad.grad(f, wrt=wrt, optimize=optimize)(*args)
    for g, e in zip(got, numerical_grad(f, args, wrt)):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    value, _ = s2sgrad.value_and_grad(f, wrt=wrt, optimize=optimize)(*args)
    assert value == f(*args)                   # the forward pass as written, bit for bit


def test_the_backward_pass_sums_by_axis_sum_and_the_forward_pass_by_np_sum():
    g = s2sgrad.value_and_grad(dense_softmax, wrt=(0, 1))
    g(*CASES[0][1](np.random.default_rng(3)))
    forward, backward = g.source.split("# backward pass")
    assert "np.sum(v2, axis=1, keepdims=True)" in forward and "axis_sum(" not in forward
    assert "axis_sum(z_bar, 0)" in backward
    assert "axis_sum(logp_bar, 1, True)" in backward


def _pass(forward, backward, numbers=frozenset()):
    body = nodes.parse_stmts(forward) + [nodes.comment("backward pass")] + \
        nodes.parse_stmts(backward)
    return emit.source(nodes.function_def("f", [], backward_sums(body, numbers)))


def test_source_in_source_out():
    out = _pass("v = np.sum(x, axis=1)\n", """\
a_bar = np.sum(g, axis=0)
b_bar = -np.sum(g * h, axis=1, keepdims=True)
c_bar = np.sum(g, 1)
d_bar = np.sum(g, axis=(0, 1))
e_bar = np.sum(g)
f_bar = np.sum(g, axis=0, dtype=np.float32)
for i in range(3):
    h_bar += np.sum(g, axis=-1, keepdims=False)
""")
    assert "v = np.sum(x, axis=1)" in out                           # forward: as written
    assert "a_bar = axis_sum(g, 0)" in out
    assert "b_bar = -axis_sum(g * h, 1, True)" in out
    assert "c_bar = axis_sum(g, 1)" in out
    assert "d_bar = np.sum(g, axis=(0, 1))" in out                  # several axes
    assert "e_bar = np.sum(g)" in out                               # every axis
    assert "np.sum(g, axis=0, dtype=np.float32)" in out             # other options
    assert "h_bar += axis_sum(g, -1)" in out                        # in a loop


def test_sums_of_products_source_in_source_out():
    out = _pass("v = np.sum(x * y)\n", """\
a_bar = np.sum(g * h)
b_bar = -np.sum(g * h / c)
c_bar = np.sum(g * h / d)
d_bar = np.sum(c * g)
e_bar = np.sum(g * h * k)
f_bar = np.sum(g / h)
""", numbers={"c"})
    assert "v = np.sum(x * y)" in out                               # forward: as written
    assert "a_bar = sum_product(g, h)" in out
    assert "b_bar = -(sum_product(g, h) / c)" in out                # c: a number
    assert "c_bar = np.sum(g * h / d)" in out                       # d: maybe an array
    assert "d_bar = np.sum(c * g)" in out                           # a number's product
    assert "e_bar = sum_product(g * h, k)" in out
    assert "f_bar = np.sum(g / h)" in out


def test_no_mark_no_change():
    body = nodes.parse_stmts("a_bar = np.sum(g, axis=0)\n")
    assert backward_sums(body) is body


@pytest.mark.parametrize("shape", [(7, 3), (1, 5), (6, 1), (300, 10), (3, 2000), (0, 4)])
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("layout", ["C", "F", "strided", "float32", "int"])
def test_axis_sum_is_np_sum(shape, axis, keepdims, layout):
    x = np.random.default_rng(1).standard_normal((shape[0] * 2, shape[1]))
    x = x[::2] if layout == "strided" else x[:shape[0]]
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout in ("float32", "int"):
        x = (10 * x).astype(np.float32 if layout == "float32" else np.int64)
    got, expected = axis_sum(x, axis, keepdims), np.sum(x, axis=axis, keepdims=keepdims)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x, axis", [(np.arange(6.0), 0), (np.ones((2, 3, 4)), 2),
                                     (np.ones((2, 3, 4)), (0, 2))])
def test_axis_sum_of_other_arrays_is_np_sum(x, axis):
    np.testing.assert_array_equal(axis_sum(x, axis), np.sum(x, axis=axis))


def test_axis_sum_keeps_nan_and_inf():
    x = np.ones((4, 3))
    x[1, 2], x[2, 0] = np.nan, np.inf
    for axis in (0, 1):
        np.testing.assert_array_equal(axis_sum(x, axis), np.sum(x, axis=axis))


@pytest.mark.parametrize("a, b", [
    (np.arange(12.0).reshape(3, 4), np.linspace(-1, 1, 12).reshape(3, 4)),
    (np.arange(24.0).reshape(4, 6)[:, 1:5], np.ones((4, 4))),           # a strided slice
    (np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.ones((3, 4))),
    (np.arange(12.0).reshape(3, 4), np.arange(4.0)),                   # broadcasting
    (np.arange(4.0), 2.5), (1.5, 2.0),
    (np.arange(4, dtype=np.float32), np.ones(4, np.float32)),
    (np.arange(4), np.arange(4)),
    (np.array([1.0, np.nan]), np.ones(2)), (np.zeros((0, 3)), np.zeros((0, 3)))])
def test_sum_product_is_np_sum_of_the_product(a, b):
    got, expected = sum_product(a, b), np.sum(a * b)
    assert type(got) is type(expected) and np.shape(got) == ()
    np.testing.assert_allclose(got, expected, rtol=1e-13)
