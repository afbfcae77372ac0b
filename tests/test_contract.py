"""`optimize.contract`: a sum over axes of a product of two arrays in the backward pass,
written as one `np.einsum` (or `@` where it is one matrix product). Each program is
checked against centred finite differences, through `grad` and `value_and_grad`, in
float64 and float32; the source checks say which form the pass wrote, and where it must
leave the code alone. The Numba spelling of the einsum is checked against NumPy."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.backend.numba.rewrite import contractions
from s2sgrad.runtime import axis_sum
from s2sgrad.optimize.contract import contract_sums

from support.numeric import assert_grad_matches, assert_value_and_grad_matches
from support.source_passes import gradient_source, run_pass

R = np.random.default_rng(7)


def kmeans(C, X):                                 # centres subtracted from every point
    D2 = np.sum((X[:, None, :] - C[None, :, :]) ** 2, axis=2)
    return np.mean(np.min(D2, axis=1))


def scale_and_shift(gamma, beta, X):              # a norm layer's scale, shared by rows
    return np.sum(np.tanh(gamma * X + beta) ** 2)


def weighted_sum(A, V):                           # attention's weighted sum of values
    out = np.sum(A[:, :, None] * V[None, :, :], axis=1)
    return np.sum(np.sin(out))


def outer_products(r, X):                         # outer products added over a batch
    S = np.sum(r[:, :, None] * X[:, None, :], axis=0)
    return np.sum(S * S)


def scaled_outer(s, x, y):                        # a number times a broadcast product
    return np.sum(np.cos(s * x[:, None] * y[None, :]))


def last_axis(w, X):                              # a negative axis
    return np.sum(np.exp(np.sum(w[None, :] * X, axis=-1)))


def softmax_values(Z, V):                         # a softmax's normaliser divides
    E = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    P = E / np.sum(E, axis=1, keepdims=True)
    return np.sum(np.sin(P @ V))


def scaled_squares(X, s2):                        # a variance per column divides
    return np.sum(np.log1p(X ** 2 / s2))


def read_twice(a, b):                             # the product's adjoint read twice
    c = a[:, None] * b
    return np.sum(np.sin(c))


CASES = [
    (kmeans, (R.standard_normal((3, 2)), R.standard_normal((9, 2))), 0),
    (scale_and_shift, (R.standard_normal(4), R.standard_normal(4), R.standard_normal((5, 4))),
     (0, 1, 2)),
    (weighted_sum, (R.standard_normal((3, 5)), R.standard_normal((5, 2))), (0, 1)),
    (outer_products, (R.standard_normal((6, 3)), R.standard_normal((6, 4))), (0, 1)),
    (scaled_outer, (0.7, R.standard_normal(4), R.standard_normal(3)), (0, 1, 2)),
    (last_axis, (0.3 * R.standard_normal(3), R.standard_normal((4, 3))), (0, 1)),
    (read_twice, (R.standard_normal(3), R.standard_normal((3, 2))), (0, 1)),
    (softmax_values, (R.standard_normal((4, 5)), R.standard_normal((5, 3))), (0, 1)),
    (scaled_squares, (R.standard_normal((6, 3)), 1.0 + R.random(3)), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_gradients_match_finite_differences(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)
    assert_value_and_grad_matches(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_float32_stays_float32(f, args, wrt):
    small = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args)
    got = s2sgrad.grad(f, wrt=wrt)(*small)
    want = s2sgrad.grad(f, wrt=wrt, optimize=False)(*args)
    for g, w, a in zip(got if isinstance(got, tuple) else (got,),
                       want if isinstance(want, tuple) else (want,),
                       [small[k] for k in (wrt if isinstance(wrt, tuple) else (wrt,))]):
        if isinstance(a, np.ndarray):
            assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5)


def test_kmeans_centres_adjoint_is_one_einsum():
    src = gradient_source(*CASES[0])
    assert "np.einsum('ij,ijk->jk', D2_bar, v3)" in src, src
    assert "v3_bar" not in src and "v4_bar" not in src, src      # no temporaries left
    assert "np.einsum('...i,...i->...', v3, v3)" in src, src     # (the squares' pass too)


def test_shared_scale_is_an_einsum_over_the_rows():
    src = gradient_source(*CASES[1])
    assert "np.einsum('ij,ij->j'" in src, src


def test_outer_products_over_a_batch_are_matrix_products():
    src = gradient_source(*CASES[3])
    assert " @ " in src and "einsum" not in src, src


def test_adjoint_read_twice_is_contracted_where_it_is_summed():
    src = gradient_source(*CASES[6])
    assert "v1_bar = np.expand_dims(np.einsum('ij,ij->i', c_bar, b), 1)" in src, src
    assert "b_bar = c_bar * v1" in src, src


def test_product_read_twice_keeps_its_sum():
    text = (
        "def f(g, x):\n"
        "    '''__s2sgrad_comment__:backward pass'''\n"
        "    t = g * x\n"
        "    y_bar = np.sum(t, axis=0)\n"
        "    return y_bar, t\n")
    out = _optimized(text, {"g": ("n", "k"), "x": ("n", "k")})
    assert "einsum" not in out and "np.sum(t, axis=0)" in out, out


def test_views_are_read_through():
    # the broadcast of an adjoint and an indexing view, both read twice: their arrays
    # are the operands, and the views go where nothing else reads them
    text = (
        "def f(S_bar, X, v3):\n"
        "    v2 = X[:, None, :]\n"
        "    '''__s2sgrad_comment__:backward pass'''\n"
        "    v3_bar = unreduce(S_bar, v3, 0, False)\n"
        "    v1_bar = np.sum(v3_bar * v2, axis=2)\n"
        "    w_bar = np.sum(v3_bar * v2, axis=(0, 2))\n"
        "    return v1_bar, w_bar, v2\n")
    out = _optimized(text, {"S_bar": ("k", "d"), "X": ("n", "d"), "v3": ("n", "k", "d"),
                                "v2": ("n", 1, "d")})
    assert "v1_bar = X @ S_bar.T" in out, out
    assert "w_bar = np.einsum('jk,ik->j', S_bar, X)" in out, out
    assert "unreduce" not in out and "v2 = X[:, None, :]" in out, out


def test_views_of_a_name_bound_again_are_not_read_through():
    text = (
        "def f(g, x, n):\n"
        "    '''__s2sgrad_comment__:backward pass'''\n"
        "    t = np.expand_dims(g, 0)\n"
        "    for i in range(n):\n"
        "        y_bar = np.sum(t * x, axis=0)\n"
        "        g = g * 2.0\n"
        "    return y_bar\n")
    out = _optimized(text, {"g": ("k",), "x": ("n", "k"), "t": (1, "k")})
    assert "np.einsum('ij,ij->j', t, x)" in out, out


def _optimized(text, shapes):
    return run_pass(text, contract_sums, shapes)


def test_source_in_source_out():
    text = (
        "def f(g, x, y):\n"
        "    '''__s2sgrad_comment__:backward pass'''\n"
        "    t = g * 2.0 * x\n"
        "    y_bar = np.sum(t, axis=0)\n"
        "    return y_bar\n")
    out = _optimized(text, {"g": ("n", "k"), "x": ("n", "k")})
    assert "y_bar = 2.0 * np.einsum('ij,ij->j', g, x)" in out, out
    assert "t = " not in out, out


@pytest.mark.parametrize("shapes, axis, want", [
    ({"a": ("n", "k"), "b": ("n", "m")}, None, None),          # sum over all: not this pass
    ({"a": ("n", "k"), "b": ("n", "k")}, "axis=(0, 1)", "np.einsum('ij,ij->', a, b)"),
    ({"a": ("n", "k"), "b": ("k",)}, "axis=1", "a @ b"),
    ({"a": ("n",), "b": ("n", "k")}, "axis=0", None),             # (a broadcasts the other way)
    ({"a": ("n", "k"), "b": None}, "axis=0", None),               # b's shape unknown
])
def test_which_sums_are_contracted(shapes, axis, want):
    args = ", ".join(["a * b"] + ([axis] if axis else []))
    text = (
        "def f(a, b):\n"
        "    '''__s2sgrad_comment__:backward pass'''\n"
        f"    s_bar = np.sum({args})\n"
        "    return s_bar\n")
    out = _optimized(text, {k: v for k, v in shapes.items() if v is not None})
    if want is None:
        assert "einsum" not in out and "@" not in out, out
    else:
        assert want in out, out


def test_divisors_the_same_along_the_summed_axes_divide_the_sum():
    src = gradient_source(*CASES[7])
    assert "np.expand_dims(np.einsum('ij,ij->i', P_bar, P), 1) / v" in src, src
    src = gradient_source(*CASES[8])
    assert "np.einsum('ij,ij->j'" in src and ") / s2" in src, src


@pytest.mark.parametrize("d, axis, contracted", [
    (("n", 1), "axis=1, keepdims=True", True),      # length 1 along the summed axis
    (("n", 1), "axis=1", False),                    # ... but the sum drops that axis
    (("k",), "axis=0", True),                       # after the summed axis
    (("k",), "axis=1", False),                      # along the summed axis
    ((), "axis=0", True),                           # a number
])
def test_which_divisors_leave_the_sum(d, axis, contracted):
    text = (
        "def f(a, b, d):\n"
        "    '''__s2sgrad_comment__:backward pass'''\n"
        f"    s_bar = np.sum(a * b / d, {axis})\n"
        "    return s_bar\n")
    out = _optimized(text, {"a": ("n", "k"), "b": ("n", "k"), "d": d})
    assert ("einsum" in out) == contracted, out


def test_forward_pass_is_left_alone():
    text = (
        "def f(a, b):\n"
        "    s = np.sum(a * b, axis=0)\n"
        "    '''__s2sgrad_comment__:backward pass'''\n"
        "    return s\n")
    out = _optimized(text, {"a": ("n", "k"), "b": ("n", "k")})
    assert "np.sum(a * b, axis=0)" in out, out


@pytest.mark.parametrize("text, want", [
    ("r = np.expand_dims(np.einsum('ij,ijk->jk', a, b), 0)",
     "a_wide = np.expand_dims(a, 2)  # (added for Numba)\nr = axis_sum(a_wide * b, 0, True)"),
    ("r = np.expand_dims(np.einsum('ij,ij->i', a, b), 1)", "r = axis_sum(a * b, 1, True)"),
    ("r = np.expand_dims(np.einsum('ij,ij->i', a, b), 0)",
     "r = np.expand_dims(axis_sum(a * b, 1), 0)"),
    ("r = -(np.expand_dims(np.einsum('ij,ij->i', a, b), 1) / d)",
     "r = -axis_sum(a * b / d, 1, True)"),              # (d: one column, as the pass leaves)
    ("r = -(np.einsum('ij,ij->i', a, b) / e)", "r = -(axis_sum(a * b, 1) / e)"),   # (e varies)
])
def test_numba_spelling_keeps_one_summed_axis(text, want):
    shapes = {"f": {"a": ("n", "k"), "b": ("n", "k"), "d": ("n", 1), "e": ("k",)}}
    out = contractions(f"def f(a, b, d, e):\n    {text}\n", shapes)
    assert out == "def f(a, b, d, e):\n" + "".join(f"    {line}\n" for line in want.split("\n"))


@pytest.mark.parametrize("spec, shapes", [
    ("ij,ijk->jk", [(5, 3), (5, 3, 2)]),
    ("ij,ij->j", [(4, 3), (1, 3)]),
    ("ik,ijk->ij", [(4, 2), (4, 3, 2)]),
    ("ij,ij->", [(3, 2), (3, 2)]),
    ("j,ij->i", [(3,), (4, 3)]),
])
def test_numba_spelling_computes_the_einsum(spec, shapes):
    a, b = (R.standard_normal(s) for s in shapes)
    text = contractions(f"r = np.einsum('{spec}', a, b)\n")
    assert "einsum" not in text, text
    space = {"np": np, "a": a, "b": b, "axis_sum": axis_sum}
    exec(text, space)
    np.testing.assert_allclose(space["r"], np.einsum(spec, a, b), rtol=1e-13, atol=1e-13)
