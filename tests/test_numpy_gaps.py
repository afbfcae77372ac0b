"""NumPy functions met in real code: real, conj, atleast_3d, vsplit, hsplit, dsplit, column_stack,
rollaxis, select, partition, nan_to_num, logaddexp2, fabs, median and linalg.eig.

Each is checked in reverse mode (the gradient against centered finite differences in
float64) and in forward mode (a jvp against the directional finite difference), in the
variants real code uses (axis, keepdims, options passed by keyword); float32 inputs keep
their precision. eig of a matrix with complex eigenvalues is refused, never a number.
"""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import GradientError, TransformError

from support.numeric import assert_grad_matches

RNG = np.random.default_rng(7)
X12 = RNG.normal(size=12)
X24 = RNG.normal(size=24)


def check_jvp(f, x, rtol=1e-6, atol=1e-8):
    """s2sgrad.jvp(f) along a random direction against (f(x + hv) - f(x - hv)) / 2h."""
    v = RNG.normal(size=np.shape(x))
    out, tangent = s2sgrad.jvp(f)((x,), (v,))
    h = 1e-6
    expected = (f(x + h * v) - f(x - h * v)) / (2 * h)
    np.testing.assert_allclose(out, f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, expected, rtol=rtol, atol=atol)


def real_(x):
    return np.sum(np.real(x * x) * x) + np.sum(np.conj(x) * x)


def atleast_3d(x):
    return np.sum(np.atleast_3d(x[:4]) * np.atleast_3d(np.reshape(x, (3, 4)))[0])


def vsplit(x):
    a, b = np.vsplit(np.reshape(x, (4, 3)), 2)
    return np.sum(a * b * b)


def vsplit_sections(x):
    parts = np.vsplit(np.reshape(x, (4, 3)), [1, 3])
    return np.sum(parts[0] ** 2) + np.sum(np.sin(parts[1])) + np.sum(parts[2] ** 3)


def hsplit(x):
    a, b = np.hsplit(np.reshape(x, (3, 4)), 2)
    return np.sum(a * np.exp(b))


def hsplit_vector(x):
    a, b, c = np.hsplit(x, 3)
    return np.sum(a * b * c)


def dsplit(x):
    a, b = np.dsplit(np.reshape(x, (2, 3, 4)), [1])
    return np.sum(a * a) + np.sum(np.tanh(b))


def column_stack(x):
    m = np.column_stack([x[:3], np.reshape(x[3:9], (3, 2)), x[9:] ** 2])
    return np.sum(np.sin(m) * np.arange(12.0).reshape(3, 4))


def rollaxis(x):
    y = np.rollaxis(np.reshape(x, (2, 3, 4)), 2)
    return np.sum(y * np.arange(24.0).reshape(4, 2, 3) * y)


def rollaxis_start(x):
    y = np.rollaxis(np.reshape(x, (2, 3, 4)), 0, 3)
    return np.sum(np.sin(y) * np.arange(24.0).reshape(3, 4, 2))


def rollaxis_negative(x):
    y = np.rollaxis(np.reshape(x, (2, 3, 4)), -1, 1)
    return np.sum(np.sin(y) * np.arange(24.0).reshape(2, 4, 3))


def select(x):
    y = np.select([x < -0.5, x < 0.5], [x ** 2, np.sin(x)], default=3.0 * x)
    return np.sum(y * np.arange(12.0))


def select_scalar_choice(x):
    y = np.select([x > 0.0], [x * x], np.sum(x))
    return np.sum(y * y)


def partition(x):
    p = np.partition(x, 4)
    return np.sum(p[:5] ** 2) + np.sum(np.exp(p[5:]) * np.arange(7.0))


def partition_axis(x):
    p = np.partition(np.reshape(x, (3, 4)), [1, 2], axis=0)
    return np.sum(p * np.arange(12.0).reshape(3, 4) * p)


def partition_none(x):
    p = np.partition(np.reshape(x, (3, 4)), 3, axis=None)
    return np.sum(np.sin(p) * np.arange(12.0))


SPECIAL = np.array([0.0, np.inf, 0.0, np.nan, -np.inf, 0.0, np.nan, 0.0, 0.0, np.inf, 0.0, 0.0])


def nan_to_num(x):
    z = np.where(SPECIAL == 0.0, x, SPECIAL)
    return np.sum(np.nan_to_num(z, nan=2.0 * x[0], posinf=x[1] ** 2, neginf=-1.0) * x)


def nan_to_num_defaults(x):
    return np.sum(np.sin(np.nan_to_num(np.where(SPECIAL == 0.0, x, SPECIAL))) * x)


def logaddexp2(x):
    return np.sum(np.logaddexp2(x[:6], x[6:]) + np.logaddexp2(x[:6], 0.5))


def fabs(x):
    return np.sum(np.fabs(x) * x)


def median(x):
    return np.median(x * x) + np.median(np.sin(x[:11]))


def median_axis(x):
    m = np.reshape(x, (3, 4))
    return np.sum(np.median(m, axis=0) ** 2) + np.sum(np.median(m, axis=1) * np.arange(3.0))


def median_keepdims(x):
    m = np.reshape(x, (3, 4))
    return np.sum(np.median(m, axis=-1, keepdims=True) * m)


def median_axes(x):
    m = np.reshape(x, (2, 3, 4))
    return np.sum(np.median(m, axis=(0, 2)) ** 3)


A_EIG = np.array([[2.0, 0.3, 0.1], [0.5, -1.0, 0.2], [0.1, 0.4, 0.7]])


def eig_values(x):
    w, v = np.linalg.eig(A_EIG + np.reshape(x[:9], (3, 3)) * 0.1)
    return np.sum(w ** 3)


def eig_vectors(x):
    w, v = np.linalg.eig(A_EIG + np.reshape(x[:9], (3, 3)) * 0.1)
    order = np.argsort(w)
    vs = v[:, order] * np.sign(v[0, order])       # a sign convention FD can follow
    return np.sum(vs * np.arange(9.0).reshape(3, 3)) + np.sum(w * w)


CASES = [(real_, X12), (atleast_3d, X12), (vsplit, X12), (vsplit_sections, X12),
         (hsplit, X12), (hsplit_vector, X12), (dsplit, X24), (column_stack, X12),
         (rollaxis, X24), (rollaxis_start, X24), (rollaxis_negative, X24), (select, X12),
         (select_scalar_choice, X12), (partition, X12), (partition_axis, X12),
         (partition_none, X12), (nan_to_num, X12), (nan_to_num_defaults, X12),
         (logaddexp2, X12), (fabs, X12),
         (median, X12), (median_axis, X12), (median_keepdims, X12), (median_axes, X24),
         (eig_values, X12), (eig_vectors, X12)]


@pytest.mark.parametrize("f, x", CASES, ids=[f.__name__ for f, _ in CASES])
def test_gradient_matches_finite_differences(f, x):
    assert_grad_matches(f, x.copy())


@pytest.mark.parametrize("f, x", CASES, ids=[f.__name__ for f, _ in CASES])
def test_tangent_matches_finite_differences(f, x):
    check_jvp(f, x.copy())


@pytest.mark.parametrize("f", [fabs, median_axis, partition, logaddexp2, column_stack,
                               rollaxis_start, select],
                         ids=lambda f: f.__name__)
def test_float32_stays_float32(f):
    x = (X24 if f is rollaxis_start else X12).astype(np.float32)
    g = s2sgrad.grad(f)(x)
    assert g.dtype == np.float32
    expected = s2sgrad.grad(f)(x.astype(np.float64))
    np.testing.assert_allclose(g, expected, rtol=1e-4, atol=1e-5)


def eig_complex(x):
    w, v = np.linalg.eig(np.array([[0.0, -1.0], [1.0, 0.0]]) * x[0])
    return np.sum(np.real(w))


def test_eig_with_complex_eigenvalues_is_refused():
    with pytest.raises(GradientError, match="complex eigenvalues"):
        s2sgrad.grad(eig_complex)(np.array([2.0]))
    with pytest.raises(GradientError, match="complex eigenvalues"):
        s2sgrad.jvp(eig_complex)((np.array([2.0]),), (np.array([1.0]),))


def median_overwrite(x):
    return np.median(x, overwrite_input=True)


def partition_kind(x):
    return np.sum(np.partition(x, 2, kind="heapsort"))


def nan_to_num_in_place(x):
    return np.sum(np.nan_to_num(x, copy=False))


def atleast_two_arrays(x):
    a, b = np.atleast_3d(x, np.ones(3))
    return np.sum(a * b)


def test_atleast_of_several_arrays_is_refused():
    with pytest.raises(TransformError, match="argument 2 of `np.atleast_3d`"):
        s2sgrad.grad(atleast_two_arrays)(X12[:3].copy())


@pytest.mark.parametrize("f, keyword", [(median_overwrite, "overwrite_input"),
                                        (partition_kind, "kind"),
                                        (nan_to_num_in_place, "copy")])
def test_unhandled_options_are_refused(f, keyword):
    with pytest.raises(TransformError, match=f"`{keyword}=`"):
        s2sgrad.grad(f)(X12.copy())
