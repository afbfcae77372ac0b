"""`optimize.joint.joint_adjoints`: the adjoints of two operands that share a costly step
come from one call (`solve_grads`, `outer_grads(...)` unpacked), and the linear-algebra
helpers take the triangular route for Cholesky factors. Each case: the gradient against
centred finite differences, optimized and not, and what the generated code calls."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.optimize.joint import joint_adjoints
from s2sgrad.runtime import cholesky_grad, solve_grad_a, solve_grad_b, solve_grads
from s2sgrad.syntax import emit, nodes

from support.numeric import assert_grad_matches, numerical_grad

try:
    import scipy  # noqa: F401
    HAVE_SCIPY = True
except ImportError:
    HAVE_SCIPY = False


def solve_both(A, b):
    return np.sum(np.sin(np.linalg.solve(A, b)))


def solve_matrix_rhs(A, B):
    return np.sum(np.linalg.solve(A, B) ** 2)


def solve_batched(A, b):
    return np.sum(np.linalg.solve(A, b) ** 2)


def outer_both(a, b):
    return np.sum(np.tanh(np.outer(a, b)))


def inner_both(a, b):
    return np.sum(np.inner(a, b) ** 2)


def tensordot_both(a, b):
    return np.sum(np.cos(np.tensordot(a, b, axes=1)))


def gp_like(log_ell, log_sn, D2, y):
    n = y.shape[0]
    K = np.exp(-0.5 * D2 / np.exp(2.0 * log_ell)) + np.exp(2.0 * log_sn) * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return 0.5 * np.dot(y, alpha) + np.sum(np.log(np.diag(L)))


def upper_cholesky(A, b):
    U = np.linalg.cholesky(A @ A.T + 4.0 * np.eye(A.shape[0])).T
    return np.sum(np.linalg.solve(U, b) ** 2) + np.sum(U ** 3)


def chol_read_everywhere(A, M):
    L = np.linalg.cholesky(A @ A.T + 3.0 * np.eye(A.shape[0]))
    return np.sum(L * M) + np.sum(np.linalg.solve(L, M[:, 0]))


def tril_made(A, b):
    T = np.tril(A + 4.0 * np.eye(A.shape[0]))
    return np.sum(np.linalg.solve(T, b) ** 2) + np.sum(np.linalg.solve(T.T, b))


def factor_changed_in_place(A, b):
    L = np.tril(A) + 4.0 * np.eye(A.shape[0])
    L = np.tril(L)
    L[0, 1] = 0.5                           # no longer triangular
    return np.sum(np.linalg.solve(L, b) ** 2)


def factor_changed_through_a_view(A, b):
    L = np.tril(A + 4.0 * np.eye(A.shape[0]))
    U = L.T
    U[1, 0] = 0.5                           # writes L[0, 1]
    return np.sum(np.linalg.solve(L, b) ** 2)


def stacked_factors(A, b):
    L = np.linalg.cholesky(A @ np.swapaxes(A, -1, -2) + 4.0 * np.eye(A.shape[-1]))
    return np.sum(np.linalg.solve(L, b) ** 2)     # a stack: LU at run time


def _rng():
    return np.random.default_rng(42)


def _spd(n, rng):
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def _gp_data(n, rng):
    x = rng.uniform(-2, 2, (n, 2))
    D2 = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=2)
    return 0.2, -1.0, D2, rng.standard_normal(n)


CASES = [
    (solve_both, lambda r: (_spd(5, r), r.standard_normal(5)), (0, 1)),
    (solve_matrix_rhs, lambda r: (_spd(4, r), r.standard_normal((4, 3))), (0, 1)),
    (solve_batched, lambda r: (np.stack([_spd(3, r), _spd(3, r)]),
                               r.standard_normal((2, 3, 2))), (0, 1)),
    (outer_both, lambda r: (r.standard_normal(4), r.standard_normal(3)), (0, 1)),
    (inner_both, lambda r: (r.standard_normal((3, 4)), r.standard_normal((2, 4))), (0, 1)),
    (tensordot_both, lambda r: (r.standard_normal((3, 4)), r.standard_normal((4, 2))),
     (0, 1)),
    (gp_like, lambda r: _gp_data(12, r), (0, 1)),
    (upper_cholesky, lambda r: (r.standard_normal((4, 4)), r.standard_normal(4)), (0, 1)),
    (chol_read_everywhere, lambda r: (r.standard_normal((4, 4)),
                                      r.standard_normal((4, 4))), (0, 1)),
    (tril_made, lambda r: (r.standard_normal((4, 4)), r.standard_normal(4)), (0, 1)),
    (stacked_factors, lambda r: (r.standard_normal((3, 3, 3)), r.standard_normal((3, 3, 2))),
     (0, 1)),
]


@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_matches_finite_differences(f, make, wrt):
    assert_grad_matches(f, *make(_rng()), wrt=wrt, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_unoptimized_agrees_with_finite_differences(f, make, wrt):
    args = make(_rng())
    got = s2sgrad.grad(f, wrt=wrt, optimize=False)(*args)
    expected = numerical_grad(f, args, wrt)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f, joint", [(solve_both, "solve_grads("),
                                      (outer_both, "= outer_grads("),
                                      (tensordot_both, "= tensordot_grads(")])
def test_both_adjoints_come_from_one_call(f, joint):
    g = s2sgrad.grad(f, wrt=(0, 1))
    src = g.source
    assert joint in src
    assert "solve_grad_a(" not in src and "solve_grad_b(" not in src
    assert "[0]" not in src and "[1]" not in src


def test_solves_with_a_cholesky_factor_back_substitute():
    """`triangular_solves`: the factor and its transpose are known triangular, in the
    forward pass and in the adjoint; a factor changed in place is not."""
    src = s2sgrad.grad(gp_like, wrt=(0, 1)).source
    assert "solve_triangle(L, y, True)" in src
    code = [line for line in src.splitlines() if not line.strip().startswith("#")]
    assert any(", False)" in line for line in code)
    assert not any("np.linalg.solve" in line for line in code)
    assert "solve_triangle(" in s2sgrad.grad(tril_made, wrt=(0, 1)).source
    # a factor changed in place (np.tril's result is a new array, the function's own to
    # change) is no longer triangular: solved by LU, and the gradient is still exact
    src = s2sgrad.grad(factor_changed_in_place, wrt=(0, 1)).source
    assert "solve_triangle" not in src
    rng = _rng()
    args = (rng.standard_normal((3, 3)), rng.standard_normal(3))
    got = s2sgrad.grad(factor_changed_in_place, wrt=(0, 1))(*args)
    for g, e in zip(got, numerical_grad(factor_changed_in_place, args, (0, 1))):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    with pytest.raises(s2sgrad.TransformError, match="cannot store into"):
        s2sgrad.grad(factor_changed_through_a_view, wrt=(0, 1)).source   # (a view of it)
    assert "solve_triangle" not in s2sgrad.grad(gp_like, wrt=(0, 1), optimize=False).source


def test_value_of_the_back_substituted_function():
    args = _gp_data(12, _rng())
    value, _ = s2sgrad.value_and_grad(gp_like, wrt=(0, 1))(*args)
    assert abs(value - gp_like(*args)) <= 1e-12 * abs(gp_like(*args))


def test_one_active_operand_keeps_its_own_helper():
    src = s2sgrad.grad(solve_both, wrt=0).source
    assert "solve_grad_a(" in src and "solve_grads(" not in src
    src = s2sgrad.grad(solve_both, wrt=1).source
    assert "solve_grad_b(" in src and "solve_grads(" not in src


def test_forward_mode_through_the_joint_solve():
    """jvp of the gradient object differentiates its generated code, `solve_grads`
    included (its tangent rule), against finite differences of the gradient."""
    rng = _rng()
    A, b = _spd(4, rng), rng.standard_normal(4)
    dA, db = rng.standard_normal((4, 4)), rng.standard_normal(4)
    g = s2sgrad.grad(solve_both, wrt=(0, 1))
    assert "solve_grads(" in g.source
    _, tangent = s2sgrad.jvp(g)((A, b), (dA, db))
    h = 1e-5
    plus = g(A + h * dA, b + h * db)
    minus = g(A - h * dA, b - h * db)
    for got, p, m in zip(tangent, plus, minus):
        np.testing.assert_allclose(got, (p - m) / (2 * h), rtol=1e-6, atol=1e-8)


def test_hvp_refuses_several_arguments_with_a_message():
    with pytest.raises(s2sgrad.S2SGradError, match="one argument index or name"):
        s2sgrad.hvp(solve_both, wrt=(0, 1))


# ---- the pass on its own


def _stmts(text):
    return nodes.parse_stmts(text)


def _text(stmts):
    return emit.source(nodes.module(stmts)).strip()


def test_pass_pairs_helpers_with_the_same_operands():
    out = joint_adjoints(_stmts("A_bar = solve_grad_a(g, y, A, b)\n"
                                "b_bar = solve_grad_b(g, A, b)\n"))
    assert _text(out) == "A_bar, b_bar = solve_grads(g, y, A, b)"


def test_pass_pairs_in_either_order_and_across_unrelated_statements():
    out = joint_adjoints(_stmts("b_bar = solve_grad_b(g, A, b)\n"
                                "c = d + 1\n"
                                "A_bar = solve_grad_a(g, y, A, b)\n"))
    assert _text(out) == "A_bar, b_bar = solve_grads(g, y, A, b)\nc = d + 1"


@pytest.mark.parametrize("text", [
    # different operands
    "A_bar = solve_grad_a(g, y, A, b)\nb_bar = solve_grad_b(g, A, c)\n",
    # an operand changes in between
    "A_bar = solve_grad_a(g, y, A, b)\ng = g * 2\nb_bar = solve_grad_b(g, A, b)\n",
    # the first target is read in between
    "A_bar = solve_grad_a(g, y, A, b)\nc = A_bar + 1\nb_bar = solve_grad_b(g, A, b)\n",
    # the second target is read in between
    "A_bar = solve_grad_a(g, y, A, b)\nc = b_bar + 1\nb_bar = solve_grad_b(g, A, b)\n",
    # the two items of different calls
    "a_bar = outer_grads(g, a, b)[0]\nb_bar = outer_grads(h, a, b)[1]\n",
    # the same item twice
    "a_bar = outer_grads(g, a, b)[0]\nb_bar = outer_grads(g, a, b)[0]\n",
    # a branch in between
    "A_bar = solve_grad_a(g, y, A, b)\nif c:\n    d = 1\nb_bar = solve_grad_b(g, A, b)\n",
    # the call reads its own target
    "g = solve_grad_a(g, y, A, b)\nb_bar = solve_grad_b(g, A, b)\n",
])
def test_pass_leaves_pairs_it_cannot_join(text):
    assert _text(joint_adjoints(_stmts(text))) == _text(_stmts(text))


# ---- the helpers against their definitions


def test_solve_grads_equals_the_two_helpers():
    rng = _rng()
    A, b = _spd(5, rng), rng.standard_normal((5, 2))
    y = np.linalg.solve(A, b)
    g = rng.standard_normal((5, 2))
    ga, gb = solve_grads(g, y, A, b)
    np.testing.assert_allclose(ga, solve_grad_a(g, y, A, b), rtol=1e-13)
    np.testing.assert_allclose(gb, solve_grad_b(g, A, b), rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("which", ["lower", "upper"])
def test_triangular_route_of_the_solve_adjoint(dtype, which):
    rng = _rng()
    L = np.linalg.cholesky(_spd(6, rng)).astype(dtype)
    T = L if which == "lower" else L.T
    g = rng.standard_normal(6).astype(dtype)
    got = solve_grad_b(g, T, g)
    expected = np.linalg.solve(T.T.astype(np.float64), g.astype(np.float64))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=1e-4 if dtype == np.float32 else 1e-12)


def test_nearly_triangular_matrix_takes_the_general_route():
    rng = _rng()
    A = np.tril(_spd(5, rng))
    A[1, 3] = 1e-300                        # not exactly triangular
    g = rng.standard_normal(5)
    np.testing.assert_allclose(solve_grad_b(g, A, g), np.linalg.solve(A.T, g), rtol=1e-12)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_adjoint_against_finite_differences(upper):
    rng = _rng()
    K = _spd(5, rng)
    M = rng.standard_normal((5, 5))

    def f(k):
        return np.sum(np.linalg.cholesky(k, upper=upper) * M)

    got = cholesky_grad(M, np.linalg.cholesky(K, upper=upper), upper)
    np.testing.assert_allclose(got, numerical_grad(f, (K,), 0), rtol=1e-6, atol=1e-8)


@pytest.mark.skipif(not HAVE_SCIPY, reason="the triangular route needs SciPy")
def test_without_scipy_the_routes_agree(monkeypatch):
    import builtins
    rng = _rng()
    L = np.linalg.cholesky(_spd(6, rng))
    G = rng.standard_normal((6, 6))
    g = rng.standard_normal(6)
    with_scipy = cholesky_grad(G, L), solve_grad_b(g, L.T, g)
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    without = cholesky_grad(G, L), solve_grad_b(g, L.T, g)
    for a, b in zip(with_scipy, without):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


@pytest.mark.skipif(not HAVE_SCIPY, reason="the BLAS route needs SciPy")
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [False, True])
@pytest.mark.parametrize("cols", [None, 3])
def test_blas_triangular_solve_either_layout(order, dtype, lower, trans, cols):
    """BLAS reads a C-ordered factor as its Fortran-ordered transpose: same answer."""
    from s2sgrad.runtime.linalg import _blas_triangular_solve
    rng = _rng()
    L = np.linalg.cholesky(_spd(6, rng))
    T = np.asarray(L if lower else L.T, dtype=dtype, order=order)
    b = rng.standard_normal(6 if cols is None else (6, cols)).astype(dtype)
    got = _blas_triangular_solve(T, b, lower, trans)
    t64 = T.astype(np.float64)
    expected = np.linalg.solve(t64.T if trans else t64, b.astype(np.float64))
    assert got.dtype == dtype and got.shape == b.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4 if dtype == np.float32 else 1e-12)


@pytest.mark.skipif(not HAVE_SCIPY, reason="the BLAS route needs SciPy")
def test_triangular_solve_of_a_singular_triangle_still_raises():
    """A zero on the diagonal leaves the BLAS route (which would return inf) to the
    solvers that refuse a singular matrix."""
    from s2sgrad.runtime.linalg import _blas_triangular_solve, solve_triangle
    L = np.tril(_spd(4, _rng()))
    L[2, 2] = 0.0
    assert _blas_triangular_solve(L, np.ones(4), True, False) is None
    with pytest.raises(np.linalg.LinAlgError):
        solve_triangle(L, np.ones(4), True)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_phi_sandwich_folds_the_cholesky_sandwich(order, dtype):
    """Φ(L⁻ᵀ·C·L⁻¹), C symmetric from m's lower triangle (m's upper one is never read),
    against the dense formula."""
    from s2sgrad.runtime import phi_sandwich
    rng = _rng()
    L = np.asarray(np.linalg.cholesky(_spd(5, rng)), dtype=dtype, order=order)
    m = rng.standard_normal((5, 5)).astype(dtype)
    c = np.tril(m) + np.tril(m, -1).T
    inv = np.linalg.inv(L.astype(np.float64))
    x = inv.T @ c @ inv
    expected = np.tril(x) - 0.5 * np.diag(np.diag(x))
    junk = m + np.triu(np.full((5, 5), 1e30, dtype), 1)
    got = phi_sandwich(L, junk)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtypes", [(np.float64, np.float64), (np.float32, np.float32),
                                    (np.float32, np.float64)])
def test_lower_t_product_reads_the_lower_triangle(order, dtypes):
    """Lᵀ·g by BLAS trmm (either layout of L) is Lᵀ @ g; L's upper triangle is not read."""
    from s2sgrad.runtime import lower_t_product
    rng = _rng()
    L = np.asarray(np.tril(rng.standard_normal((5, 5))), dtype=dtypes[0], order=order)
    g = rng.standard_normal((5, 3)).astype(dtypes[1])
    expected = L.T @ g
    if HAVE_SCIPY:
        L = L + np.triu(np.full((5, 5), 1e30, dtypes[0]), 1)   # junk above the diagonal
    got = lower_t_product(L, g)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5 if np.float32 in dtypes else 1e-13)
