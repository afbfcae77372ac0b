"""NumPy 2's array-API names (np.vecdot, np.matvec, np.vecmat, np.matrix_transpose,
np.permute_dims, np.cumulative_sum, np.cumulative_prod, np.unstack, np.concat,
np.astype, np.linalg.vecdot, np.linalg.matrix_transpose, np.linalg.vector_norm,
np.linalg.matrix_norm, np.linalg.matmul, outer, tensordot, cross, diagonal, trace): gradients, tangents and Hessian-vector products against
centered finite differences in float64, with their keyword arguments and broadcasting.
A name the installed NumPy lacks is skipped."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad import TransformError

from support.numeric import assert_grad_matches, numerical_grad

RNG = np.random.default_rng(7)
A = RNG.uniform(0.5, 1.5, (3, 4))
B = RNG.uniform(-1.0, 1.0, (4,))
W3 = RNG.uniform(0.5, 1.5, (3,))
W34 = RNG.uniform(0.5, 1.5, (3, 4))
W44 = RNG.uniform(0.5, 1.5, (4, 4))
W54 = RNG.uniform(0.5, 1.5, (5, 4))
W35 = RNG.uniform(0.5, 1.5, (3, 5))


def needs(*names):
    missing = []
    for name in names:
        obj = np
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            missing.append(name)
    return pytest.mark.skipif(bool(missing), reason=f"NumPy has no {', '.join(missing)}")


# ---------------------------------------------------------------- the functions
def vecdot_same(x):
    return np.sum(np.vecdot(x, x))


def vecdot_broadcast(x, b):
    return np.sum(np.vecdot(x, b) * W3)                 # (3, 4)·(4,) → (3,)


def vecdot_axis0(x, b):
    return np.sum(np.vecdot(x, b, axis=0) ** 2)          # over the 3 rows → (4,)


def linalg_vecdot(x, b):
    return np.sum(np.linalg.vecdot(b, x) * W3)


def matvec_(x, b):
    return np.sum(np.matvec(x, b) ** 2)                  # (3, 4)·(4,) → (3,)


def matvec_batched(x, b):
    return np.sum(np.matvec(x.reshape(3, 1, 1, 4), b.reshape(2, 4)) * W3[:, None, None])


def vecmat_(x, b):
    return np.sum(np.vecmat(b[:3], x) * B)               # (3,)·(3, 4) → (4,)


def matrix_transpose_(x):
    return np.sum(np.matrix_transpose(x) * W34.T)


def linalg_matrix_transpose(x):
    m = np.linalg.matrix_transpose(x.reshape(2, 3, 2))
    return np.sum(m @ x.reshape(2, 3, 2))


def permute_dims_(x):
    return np.sum(np.permute_dims(x.reshape(3, 2, 2), (2, 0, 1)) * np.arange(12.0).reshape(2, 3, 2))


def cumulative_sum_(x):
    return np.sum(np.cumulative_sum(x) ** 2)


def cumulative_sum_axis(x):
    return np.sum(np.cumulative_sum(x, axis=1, include_initial=True) ** 2 * W35)


def cumulative_sum_axis0(x):
    return np.sum(np.cumulative_sum(x, axis=0) * W34)


def cumulative_prod_(x):
    return np.sum(np.cumulative_prod(x) * B)


def cumulative_prod_initial(x):
    return np.sum(np.cumulative_prod(x, axis=0, include_initial=True) * W44)


def unstack_(x):
    a, b, c = np.unstack(x)
    return np.sum(a * b) + np.sum(c ** 3)


def unstack_axis(x):
    parts = np.unstack(x, axis=1)
    return np.sum(parts[0] * parts[3]) + np.sum(parts[2])


def concat_(x, b):
    return np.sum(np.concat([x, b[None, :]], axis=0) ** 2 * W44)


def astype_(x):
    return np.sum(np.astype(x, np.float64) ** 3)


def vector_norm_(x):
    return np.linalg.vector_norm(x)                      # all entries of a matrix


def vector_norm_axis(x):
    return np.sum(np.linalg.vector_norm(x, axis=1) * W3)


def vector_norm_keep(x):
    return np.sum(np.linalg.vector_norm(x, axis=0, keepdims=True) * B)


def vector_norm_ord1(x):
    return np.sum(np.linalg.vector_norm(x, axis=-1, ord=1) * W3)


def vector_norm_ord3(x):
    return np.linalg.vector_norm(x, ord=3)


def vector_norm_axes(x):
    return np.sum(np.linalg.vector_norm(x.reshape(3, 2, 2), axis=(0, 2)) * B[:2])


def matrix_norm_(x):
    return np.linalg.matrix_norm(x)


def matrix_norm_batched(x):
    return np.sum(np.linalg.matrix_norm(x.reshape(3, 2, 2), keepdims=True) ** 2 * W3[:, None, None])


def matrix_norm_spectral(x):
    return np.linalg.matrix_norm(x, ord=2)


def linalg_matmul(x, b):
    return np.sum(np.linalg.matmul(x, b) * W3)


def linalg_outer(x, b):
    return np.sum(np.linalg.outer(x[0], b) * W44)


def linalg_tensordot(x, b):
    return np.sum(np.linalg.tensordot(x, np.outer(b, b), axes=1) * W34)


def linalg_cross(x, b):
    return np.sum(np.linalg.cross(x[:, :3], b[:3]) * W34[:, :3])


def linalg_diagonal(x):
    return np.sum(np.linalg.diagonal(x.reshape(3, 2, 2), offset=0) * W34[:, :2])


def linalg_trace(x):
    return np.sum(np.linalg.trace(x.reshape(2, 2, 3), offset=1) * W3[:2])


X = A
CASES = [
    (linalg_matmul, (X, B), ("linalg.matmul",)),
    (linalg_outer, (X, B), ("linalg.outer",)),
    (linalg_tensordot, (X, B), ("linalg.tensordot",)),
    (linalg_cross, (X, B), ("linalg.cross",)),
    (linalg_diagonal, (RNG.uniform(-1, 1, 12),), ("linalg.diagonal",)),
    (linalg_trace, (RNG.uniform(-1, 1, 12),), ("linalg.trace",)),
    (vecdot_same, (B,), ("vecdot",)),
    (vecdot_broadcast, (X, B), ("vecdot",)),
    (vecdot_axis0, (X, W34 - 1.0), ("vecdot",)),
    (linalg_vecdot, (X, B), ("linalg.vecdot",)),
    (matvec_, (X, B), ("matvec",)),
    (matvec_batched, (X, RNG.uniform(-1, 1, 8)), ("matvec",)),
    (vecmat_, (X, B), ("vecmat",)),
    (matrix_transpose_, (X,), ("matrix_transpose",)),
    (linalg_matrix_transpose, (RNG.uniform(-1, 1, 12),), ("linalg.matrix_transpose",)),
    (permute_dims_, (RNG.uniform(-1, 1, 12),), ("permute_dims",)),
    (cumulative_sum_, (B,), ("cumulative_sum",)),
    (cumulative_sum_axis, (X,), ("cumulative_sum",)),
    (cumulative_sum_axis0, (X,), ("cumulative_sum",)),
    (cumulative_prod_, (B,), ("cumulative_prod",)),
    (cumulative_prod_initial, (X,), ("cumulative_prod",)),
    (unstack_, (X,), ("unstack",)),
    (unstack_axis, (X,), ("unstack",)),
    (concat_, (X, B), ("concat",)),
    (astype_, (X,), ("astype",)),
    (vector_norm_, (X,), ("linalg.vector_norm",)),
    (vector_norm_axis, (X,), ("linalg.vector_norm",)),
    (vector_norm_keep, (X,), ("linalg.vector_norm",)),
    (vector_norm_ord1, (X - 1.0,), ("linalg.vector_norm",)),
    (vector_norm_ord3, (X - 1.0,), ("linalg.vector_norm",)),
    (vector_norm_axes, (RNG.uniform(-1, 1, 12),), ("linalg.vector_norm",)),
    (matrix_norm_, (X,), ("linalg.matrix_norm",)),
    (matrix_norm_batched, (RNG.uniform(-1, 1, 12),), ("linalg.matrix_norm",)),
    (matrix_norm_spectral, (X,), ("linalg.matrix_norm",)),
]


def params():
    return [pytest.param(f, args, marks=needs(*names), id=f.__name__)
            for f, args, names in CASES]


def fd_jvp(f, args, dirs, h=1e-6):
    plus = [a + h * d for a, d in zip(args, dirs)]
    minus = [a - h * d for a, d in zip(args, dirs)]
    return (f(*plus) - f(*minus)) / (2 * h)


@pytest.mark.parametrize("f, args", params())
def test_grad_matches_finite_differences(f, args):
    assert_grad_matches(f, *args, wrt=tuple(range(len(args))) if len(args) > 1 else 0)


@pytest.mark.parametrize("f, args", params())
def test_jvp_matches_finite_differences(f, args):
    dirs = [np.random.default_rng(3).uniform(-1, 1, np.shape(a)) for a in args]
    value, tangent = s2sgrad.jvp(f)(args, dirs)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(tangent, fd_jvp(f, args, dirs), rtol=1e-6, atol=1e-8)


def fd_hvp(f, x, v, h=1e-3):
    """(H·v)ᵢ by the four-point centered difference of f in float64."""
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        out.flat[i] = (f(x + e + h * v) - f(x + e - h * v) - f(x - e + h * v)
                       + f(x - e - h * v)) / (4 * h * h)
    return out


@pytest.mark.parametrize("f, x", [
    pytest.param(vecdot_same, B, marks=needs("vecdot"), id="vecdot"),
    pytest.param(matvec_, X, marks=needs("matvec"), id="matvec"),
    pytest.param(cumulative_sum_axis, X, marks=needs("cumulative_sum"), id="cumulative_sum"),
    pytest.param(cumulative_prod_initial, X, marks=needs("cumulative_prod"),
                 id="cumulative_prod"),
    pytest.param(unstack_axis, X, marks=needs("unstack"), id="unstack"),
    pytest.param(vector_norm_axis, X, marks=needs("linalg.vector_norm"), id="vector_norm"),
    pytest.param(vector_norm_, X, marks=needs("linalg.vector_norm"), id="vector_norm_all"),
    pytest.param(matrix_norm_, X, marks=needs("linalg.matrix_norm"), id="matrix_norm"),
    pytest.param(matrix_transpose_, X, marks=needs("matrix_transpose"), id="matrix_transpose")])
def test_hvp_matches_finite_differences(f, x):
    extra = (B,) if f is matvec_ else ()
    v = np.random.default_rng(5).uniform(-1, 1, x.shape)
    got = s2sgrad.hvp(f, wrt=0)(x, *extra, v)
    np.testing.assert_allclose(got, fd_hvp(lambda z: f(z, *extra), x, v), rtol=1e-4,
                               atol=1e-5)


@needs("vecdot")
def test_hessian_of_vecdot_closed_form():
    """f(x) = vecdot(x, M x) summed: H = M + Mᵀ."""
    m = RNG.uniform(-1, 1, (4, 4))

    def quad(x):
        return np.sum(np.vecdot(x, x @ m.T))
    np.testing.assert_allclose(s2sgrad.hessian(quad)(B), m + m.T, rtol=1e-12, atol=1e-12)


@needs("cumulative_sum")
def test_cumulative_sum_with_initial_closed_form():
    """y = [0, x₀, x₀+x₁, …]; Σ wⱼ yⱼ → x̄ᵢ = Σ_{j>i} wⱼ."""
    w = np.array([5.0, 1.0, 2.0, 3.0, 4.0])

    def f(x):
        return np.sum(np.cumulative_sum(x, include_initial=True) * w)
    np.testing.assert_allclose(s2sgrad.grad(f)(B), [10.0, 9.0, 7.0, 4.0])


def outputs_out(x):
    out = np.zeros(3)
    return np.sum(np.cumulative_sum(x, axis=1, out=out))


@needs("cumulative_sum")
def test_cumulative_sum_out_is_refused():
    with pytest.raises(TransformError, match="out"):
        s2sgrad.grad(outputs_out)(X)


def integer_cast(x):
    return np.sum(np.astype(x, np.int64) * x)


@needs("astype")
def test_astype_to_integers_passes_no_gradient():
    np.testing.assert_allclose(s2sgrad.grad(integer_cast)(X), np.trunc(X))


def vecdot_vmapped(x):
    return np.vecdot(x, W54)                             # (4,) example against (5, 4)


def matvec_vmapped(x):
    return np.matvec(W54, x)


def matmul_vmapped(x):
    return np.matmul(x, W54.T)


@pytest.mark.parametrize("f, names", [
    pytest.param(vecdot_vmapped, ("vecdot",), marks=needs("vecdot"), id="vecdot"),
    pytest.param(matvec_vmapped, ("matvec",), marks=needs("matvec"), id="matvec"),
    pytest.param(matmul_vmapped, (), id="matmul")])
def test_vmap_of_products_with_core_axes(f, names):
    """A gufunc's core axes are not broadcast like an elementwise function's: a batched
    vector against an unbatched matrix keeps the vector's shape per example."""
    xs = RNG.uniform(-1, 1, (6, 4))
    got = s2sgrad.vmap(f)(xs)
    want = np.stack([f(x) for x in xs])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12)


@needs("vecdot", "cumulative_sum")
def test_jacobian_of_array_api_names():
    def f(x):
        return np.cumulative_sum(x, include_initial=True) * np.vecdot(x, x)
    x = B.copy()
    want = np.stack([numerical_grad(lambda z, i=i: f(z)[i], (x,)) for i in range(5)])
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(s2sgrad.jacobian(f, mode=mode)(x), want, rtol=1e-6,
                                   atol=1e-8)


def v_cumulative(x):
    return np.cumulative_sum(x, axis=0) * np.cumulative_prod(x, axis=1, include_initial=True)[:, 1:]


def v_norms(x):
    return np.linalg.vector_norm(x) + np.linalg.vector_norm(x, axis=1, ord=1)[0] \
        + np.linalg.matrix_norm(x, ord="nuc")


def v_transpose_cast(x):
    return np.matrix_transpose(np.astype(x, np.float64)) @ x


@pytest.mark.parametrize("f", [
    pytest.param(v_cumulative, marks=needs("cumulative_sum", "cumulative_prod")),
    pytest.param(v_norms, marks=needs("linalg.vector_norm", "linalg.matrix_norm")),
    pytest.param(v_transpose_cast, marks=needs("matrix_transpose", "astype"))],
    ids=lambda f: f.__name__)
def test_vmap_without_a_loop(f):
    import warnings
    xs = RNG.uniform(0.5, 1.5, (5, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = s2sgrad.vmap(f)(xs)
    np.testing.assert_allclose(got, np.stack([f(x) for x in xs]), rtol=1e-12)


def complex_vecdot(z):
    return np.real(np.sum(np.vecdot(z, z)))


@needs("vecdot")
def test_complex_operands_are_refused_like_elsewhere():
    """vecdot conjugates its first operand; s2sgrad's rules are those of real code, and a
    complex argument is refused before they run."""
    from s2sgrad import GradientError
    with pytest.raises(GradientError, match="complex"):
        s2sgrad.grad(complex_vecdot)(np.array([1.0 + 1.0j, 2.0]))
