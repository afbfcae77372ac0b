"""Regressions of the fifth hunt in other people's styles, each against an independent
oracle (closed forms, or centered finite differences in float64)."""
import functools

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches, numerical_grad


def _r(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# ---------------------------------------------------------------- einsum(optimize=...)

def einsum_optimized(A, x):
    return np.einsum("ij,j->", A, x, optimize=True) \
        + np.sum(np.einsum("ij,jk->ik", A, A, optimize="greedy") ** 2)


def test_einsum_optimize_keyword_is_differentiated():
    """optimize= picks the contraction order, never the value (it was refused)."""
    A, x = _r(3, 3), _r(3, seed=1)
    gA, gx = assert_grad_matches(einsum_optimized, A, x, wrt=(0, 1))
    np.testing.assert_allclose(gx, A.sum(axis=0), rtol=1e-12)
    v = _r(3, seed=2)
    _, tangent = s2sgrad.jvp(einsum_optimized)((A, x), (np.zeros((3, 3)), v))
    np.testing.assert_allclose(tangent, A.sum(axis=0) @ v, rtol=1e-12)


def test_einsum_optimize_depending_on_the_input_is_refused():
    def f(A):
        return np.einsum("ij->", A, optimize=A)
    with pytest.raises(TransformError, match="optimize="):
        s2sgrad.grad(f)(_r(2, 2))


# ---------------------------------------------------------------- callable objects

class Quadratic:
    """A model object called like a function (PyTorch's style): its __call__ is the loss."""

    def __init__(self, A):
        self.A = A

    def __call__(self, x, scale=1.0):
        return scale * (x @ self.A @ x) + np.sum(np.sin(x))


def test_callable_object_is_differentiated_through_its_call():
    """grad(model) differentiates model.__call__ (it was refused as "not a function")."""
    A = _r(3, 3)
    model = Quadratic(A)
    x = _r(3, seed=1)
    expected = (A + A.T) @ x + np.cos(x)
    np.testing.assert_allclose(s2sgrad.grad(model)(x), expected, rtol=1e-12)
    value, g = s2sgrad.value_and_grad(model)(x, 2.0)
    assert value == pytest.approx(model(x, 2.0), rel=1e-14)
    np.testing.assert_allclose(g, numerical_grad(model, (x, 2.0), 0), rtol=1e-6)
    np.testing.assert_allclose(s2sgrad.grad(model, wrt=1)(x, 2.0), x @ A @ x, rtol=1e-12)
    v = _r(3, seed=2)
    _, tangent = s2sgrad.jvp(model)((x,), (v,))
    assert tangent == pytest.approx(expected @ v, rel=1e-12)
    _, pullback = s2sgrad.vjp(model)(x)
    np.testing.assert_allclose(pullback(3.0), 3.0 * expected, rtol=1e-12)
    np.testing.assert_allclose(s2sgrad.hessian(model)(x), A + A.T - np.diag(np.sin(x)),
                               rtol=1e-12, atol=1e-14)


def test_library_callable_objects_are_still_refused_with_a_hint():
    with pytest.raises(s2sgrad.S2SGradError, match="not a Python function"):
        s2sgrad.grad(np.vectorize(np.sin))(_r(3))


# ------------------------------------- higher derivatives of partials, methods, objects

def _cubic(c, t, s=1.0):
    return c * s * t ** 3


def _cubic_kw(t, s=1.0, c=1.0):
    return c * s * t ** 3


class _Cubic:
    def __init__(self, c):
        self.c = c

    def value(self, t, s=1.0):
        return self.c * s * t ** 3

    def __call__(self, t, s=1.0):
        return self.c * s * t ** 3


_CUBICS = [
    pytest.param(functools.partial(_cubic, 2.0), id="partial"),
    pytest.param(functools.partial(_cubic_kw, c=2.0), id="keyword_partial"),
    pytest.param(_Cubic(2.0).value, id="bound_method"),
    pytest.param(_Cubic(2.0), id="callable_object"),
]


@pytest.mark.parametrize("f", _CUBICS)
def test_second_and_third_derivatives_pass_the_bound_arguments(f):
    """grad(grad(f)) and grad(grad(grad(f))) of a partial, a bound method or a callable
    object pass what f's calls pass first (they raised IndexError or TypeError): for
    2 t³, 12 t and 12."""
    t = 1.5
    assert s2sgrad.grad(s2sgrad.grad(f))(t) == pytest.approx(12 * t, rel=1e-12)
    assert s2sgrad.grad(s2sgrad.grad(s2sgrad.grad(f)))(t) == pytest.approx(12.0, rel=1e-12)
    assert s2sgrad.grad(s2sgrad.grad(f), wrt="s")(t, 1.0) == pytest.approx(6 * t ** 2,
                                                                           rel=1e-12)


def _weighted_cube(a, x, y):
    return np.sum(a * x ** 3 * y)


def _weighted_cube_kw(x, y, a=1.0):
    return np.sum(a * x ** 3 * y)


class _Weighted:
    def __init__(self, a):
        self.a = a

    def loss(self, x, y):
        return np.sum(self.a * x ** 3 * y)


@pytest.mark.parametrize("make", [
    pytest.param(lambda a: functools.partial(_weighted_cube, a), id="partial"),
    pytest.param(lambda a: functools.partial(_weighted_cube_kw, a=a), id="keyword_partial"),
    pytest.param(lambda a: _Weighted(a).loss, id="bound_method"),
])
def test_jvp_of_grad_passes_the_bound_arguments(make):
    """jvp(grad(f)) of a partial or a bound method (a TypeError, an argument missing):
    the gradient 3 a x² y and its tangent 6 a x y ẋ + 3 a x² ẏ."""
    a, x, y = _r(3), _r(3, seed=1), _r(3, seed=2)
    vx, vy = _r(3, seed=3), _r(3, seed=4)
    value, tangent = s2sgrad.jvp(s2sgrad.grad(make(a)))((x, y), (vx, vy))
    np.testing.assert_allclose(value, 3 * a * x ** 2 * y, rtol=1e-12)
    np.testing.assert_allclose(tangent, 6 * a * x * y * vx + 3 * a * x ** 2 * vy, rtol=1e-12)


# ------------------------------------------------- classmethods in every operator

class _Scaled:
    factor = 3.0

    @classmethod
    def loss(cls, x, y):
        return cls.factor * np.sum(np.sin(x) * y ** 2)


def test_classmethod_in_every_operator():
    """A classmethod was differentiated by grad but refused by vjp, jvp, hvp and hessian
    ("not a Python function with source code"): the class is passed first."""
    x, y, v = _r(3), _r(3, seed=1), _r(3, seed=2)
    f = _Scaled.loss
    g = 3.0 * np.cos(x) * y ** 2
    H = np.diag(-3.0 * np.sin(x) * y ** 2)
    np.testing.assert_allclose(s2sgrad.grad(f)(x, y), g, rtol=1e-12)
    np.testing.assert_allclose(s2sgrad.vjp(f)(x, y)[1](2.0), 2 * g, rtol=1e-12)
    assert s2sgrad.jvp(f)((x, y), (v, np.zeros(3)))[1] == pytest.approx(g @ v, rel=1e-12)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, y, v), H @ v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(s2sgrad.hessian(f)(x, y), H, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ jacobian(grad(f))

def _mixed(x, y):
    return np.sum(np.sin(x) * y ** 2) + np.sum(x ** 2) * y[0]


def test_jacobian_of_grad_is_the_hessian():
    """jacobian(grad(f)), autograd's and JAX's way to a Hessian, was refused ("cannot
    read the signature"); now the Hessian, and with another wrt the mixed block."""
    x, y = _r(3), _r(3, seed=1)
    H = np.diag(-np.sin(x) * y ** 2 + 2 * y[0])
    np.testing.assert_allclose(s2sgrad.jacobian(s2sgrad.grad(_mixed))(x, y), H,
                               rtol=1e-12, atol=1e-14)
    mixed = np.diag(2 * np.cos(x) * y)
    mixed[:, 0] += 2 * x
    np.testing.assert_allclose(s2sgrad.jacobian(s2sgrad.grad(_mixed), wrt=1)(x, y), mixed,
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        s2sgrad.jacobian(s2sgrad.grad(functools.partial(_mixed, y=y)))(x), H,
        rtol=1e-12, atol=1e-14)
    assert s2sgrad.jacobian(s2sgrad.grad(lambda t: t ** 3))(1.5) == pytest.approx(9.0)


def test_jacobian_of_grad_of_several_arguments_is_refused():
    with pytest.raises(s2sgrad.S2SGradError, match="single wrt"):
        s2sgrad.jacobian(s2sgrad.grad(_mixed, wrt=(0, 1)))


# ------------------------------------------ keywords in the calls of hvp, hessian, grad²

def _power_sum(x, scale=2.0, *, p=3.0):
    return scale * np.sum(np.abs(x) ** p)


def test_second_order_calls_take_keywords():
    """hvp(f)(x, v, p=4.0), hessian(f)(x, p=4.0) and grad(grad(f))(t, p=4.0) raised
    TypeError (unexpected keyword argument), though grad(f)(x, p=4.0) takes it."""
    x, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, 2.0, -1.0])
    H = np.diag(2.0 * 4.0 * 3.0 * np.abs(x) ** 2)
    np.testing.assert_allclose(s2sgrad.hvp(_power_sum)(x, v, p=4.0), H @ v, rtol=1e-12)
    np.testing.assert_allclose(s2sgrad.hessian(_power_sum)(x, p=4.0), H, rtol=1e-12)
    assert s2sgrad.grad(s2sgrad.grad(_power_sum))(0.7, p=4.0) == \
        pytest.approx(2.0 * 12 * 0.7 ** 2, rel=1e-12)


# ------------------------------------------------------------------- jvp(hvp(f))

def _quartic(x, c=2.0):
    return c * np.sum(x ** 4)


class _Quartic:
    def __init__(self, c):
        self.c = c

    def loss(self, x):
        return self.c * np.sum(x ** 4)


@pytest.mark.parametrize("f,c", [
    pytest.param(_quartic, 2.0, id="default_left_out"),
    pytest.param(functools.partial(_quartic, c=3.0), 3.0, id="keyword_partial"),
    pytest.param(_Quartic(3.0).loss, 3.0, id="bound_method"),
])
def test_jvp_of_hvp_of_functions_with_defaults_partials_and_methods(f, c):
    """jvp(hvp(f)) raised TypeError for an f with a parameter left at its default (the
    code was called with the arguments given only), and refused partials and bound
    methods. H·v = 12 c x² v; its tangent along (ẋ, v̇): 24 c x ẋ v + 12 c x² v̇."""
    x, v = np.array([0.5, -1.0]), np.array([1.0, 0.5])
    xd, vd = np.array([0.3, 0.2]), np.array([-0.4, 0.1])
    hv, dhv = s2sgrad.jvp(s2sgrad.hvp(f))((x, v), (xd, vd))
    np.testing.assert_allclose(hv, 12 * c * x ** 2 * v, rtol=1e-12)
    np.testing.assert_allclose(dhv, 24 * c * x * xd * v + 12 * c * x ** 2 * vd, rtol=1e-12)


# -------------------------------------------------------------- values made strings

def _keys_by_format(params):
    total = 0.0
    for i in range(2):
        total = total + np.sum(params["w{}".format(i)] ** 2) * (i + 1)
    return total + params["_".join(["b", "0"])] ** 3


def test_string_methods_of_literals_build_keys():
    """`params["w{}".format(i)]` was refused ("unknown function `<expression>.format`")."""
    p = {"w0": np.array([1.0, 2.0]), "w1": np.array([0.5]), "b_0": 0.7}
    g = s2sgrad.grad(_keys_by_format)(p)
    np.testing.assert_allclose(g["w0"], 2 * p["w0"], rtol=1e-12)
    np.testing.assert_allclose(g["w1"], 4 * p["w1"], rtol=1e-12)
    assert g["b_0"] == pytest.approx(3 * 0.7 ** 2, rel=1e-12)


def _logs(x):
    loss = np.sum(x ** 2)
    print("loss %.3f" % loss, "x0 {:.2f}".format(x[0]), f"{loss:.1f}", str(x[1]))
    return loss


def _str_round_trip(x):
    return float(str(x[0])) * x[1]


def _fstring_round_trip(x):
    return float(f"{x[0]}") * x[1]


def _percent_round_trip(x):
    return float("%.17g" % x[0]) * x[1]


def _format_round_trip(x):
    return float("{}".format(x[0])) * x[1]


def test_logging_a_value_as_text_still_differentiates(capsys):
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(s2sgrad.grad(_logs)(x), 2 * x, rtol=1e-12)


@pytest.mark.parametrize("f", [_str_round_trip, _fstring_round_trip, _percent_round_trip,
                               _format_round_trip])
def test_a_number_read_back_from_its_text_is_refused(f):
    """float(str(v)) is v (finite differences: slope 1): s2sgrad took the text for a
    constant, a silently zero gradient (`%` raised TypeError in the backward pass)."""
    x = np.array([2.0, 3.0])
    assert numerical_grad(f, (x,), 0)[0] == pytest.approx(3.0, rel=1e-6)
    with pytest.raises(TransformError, match="formatted as a string") as info:
        s2sgrad.grad(f)(x)
    assert info.value.lineno


# --------------------------------------- second order through loops: zero adjoints, masks

_B = np.array([[2.0, 0.3], [0.1, 1.5]])
_b = np.array([1.0, -0.5])


def _fd_hvp(f, x, v, h=1e-4):
    """The directional derivative of a finite-difference gradient (both centered)."""
    def g(z):
        return np.asarray(numerical_grad(f, (z,), 0), dtype=float)
    return (g(x + h * v) - g(x - h * v)) / (2 * h)


def _recurrence(step):
    """A state updated through `step` in a loop, the output summed before the update: the
    last step's result is never read, so its adjoint is the zero adjoint `0.0`."""
    def f(q):
        P = np.eye(2)
        out = 0.0
        for i in range(3):
            S = _B + q * P
            out = out + np.sum(S * S)
            P = P + 0.1 * step(S)
        return out
    return f


def _inv_step(S):
    return np.linalg.inv(S)


def _solve_vector_step(S):
    return np.outer(np.linalg.solve(S, _b), _b)


def _solve_matrix_step(S):
    return np.linalg.solve(S, _B)


def _einsum_step(S):
    return np.einsum("ij,jk->ik", S, S)


def _tensordot_step(S):
    return np.tensordot(S, S, axes=1)


def _kalman(q):
    P = np.eye(2)
    Hm = np.array([[1.0, 0.0]])
    ll = 0.0
    for _ in range(3):
        P = P + q * np.eye(2)
        S = Hm @ P @ Hm.T + 0.5
        K = P @ Hm.T @ np.linalg.inv(S)
        P = (np.eye(2) - K @ Hm) @ P
        ll = ll + np.log(np.linalg.det(S))
    return ll


@pytest.mark.parametrize("f", [
    pytest.param(_recurrence(_inv_step), id="inv"),
    pytest.param(_recurrence(_solve_vector_step), id="solve_vector"),
    pytest.param(_recurrence(_solve_matrix_step), id="solve_matrix"),
    pytest.param(_recurrence(_einsum_step), id="einsum"),
    pytest.param(_recurrence(_tensordot_step), id="tensordot"),
    pytest.param(_kalman, id="kalman_covariance"),
])
def test_second_order_where_a_loop_step_has_the_zero_adjoint(f):
    """hvp and grad(grad(f)) raised ValueError (matmul/solve of the zero adjoint `0.0`,
    or a tangent of a matrix's shape for it) where a loop's last np.linalg.inv,
    np.linalg.solve, np.einsum or np.tensordot result is never read."""
    q = 0.3
    expected = _fd_hvp(f, q, 1.0)
    assert s2sgrad.hvp(f)(q, 1.0) == pytest.approx(expected, rel=1e-5)
    assert s2sgrad.grad(s2sgrad.grad(f))(q) == pytest.approx(expected, rel=1e-5)


def _where_in_loop(x):
    P = x
    out = 0.0
    for _ in range(3):
        S = P * 1.0
        out = out + np.sum(S * S)
        P = P + 0.1 * np.where(S > 0.5, S, S ** 2)
    return out


def _take_along_in_loop(x):
    P = x
    out = 0.0
    for _ in range(3):
        S = P * 1.0
        out = out + np.sum(S * S)
        P = P + 0.1 * np.take_along_axis(S, np.array([1, 0]), axis=0)
    return out


@pytest.mark.parametrize("f", [_where_in_loop, _take_along_in_loop])
def test_hvp_reads_masks_and_indices_saved_by_the_gradient(f):
    """The mask of np.where (the indices of take_along_axis) is saved per step by the
    gradient; hvp read it back from the list and refused it as a value depending on the
    input. A selector is piecewise constant, like an index."""
    x, v = np.array([0.3, 0.9]), np.array([1.0, -0.5])
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, v), _fd_hvp(f, x, v), rtol=1e-5)


def _expand_then_broadcast(q):
    P = np.eye(2)
    out = 0.0
    for _ in range(3):
        S = _B + q * P
        out = out + np.sum(S * S)
        P = P + 0.1 * (np.expand_dims(S[0], 0) * np.ones((2, 1)))
    return out


def test_a_broadcast_product_of_the_zero_adjoint_keeps_its_operands_shape():
    """`np.expand_dims(S[0], 0) * np.ones((2, 1))` in a loop whose last result is never
    read: the zero adjoint times the (2, 1) operand was summed to (1, 1), not the (1, 2)
    of the other operand, and the adjoint of expand_dims failed to reshape it (a
    ValueError in grad itself)."""
    q = 0.3
    assert s2sgrad.grad(_expand_then_broadcast)(q) == pytest.approx(
        numerical_grad(_expand_then_broadcast, (q,), 0), rel=1e-6)
    assert s2sgrad.hvp(_expand_then_broadcast)(q, 1.0) == pytest.approx(
        _fd_hvp(_expand_then_broadcast, q, 1.0), rel=1e-5)


_W = np.array([1.0, 3.0])


def _weighted_average(X):
    return np.sum(np.average(X, axis=0, weights=_W) ** 2) + np.average(X[0] ** 3, weights=_W)


def _open_mesh(X):
    return np.sum(X[np.ix_([1, 0], [0, 1])] ** 3)


@pytest.mark.parametrize("f", [_weighted_average, _open_mesh])
def test_hvp_of_weighted_averages_and_open_meshes(f):
    """hvp refused np.average with weights over an axis (the adjoint's reduced axes,
    computed from the array, were taken for a value of the input reaching np.sum's axis)
    and an index made by np.ix_ ("no adjoint for numpy.ix_" in the gradient's code)."""
    X = np.array([[0.3, 0.9], [1.2, -0.4]])
    V = np.array([[1.0, 0.5], [-0.3, 0.2]])
    np.testing.assert_allclose(s2sgrad.hvp(f)(X, V), _fd_hvp(f, X, V), rtol=1e-5, atol=1e-5)


def test_np_ix_of_values_the_input_moves_is_refused():
    """np.ix_ of float arrays gives reshaped views of them (an outer product's
    operands): it has no derivative, so a value that depends on the input reaching it is
    refused, where it would have been taken for a constant; index arrays pass."""
    import s2sgrad
    from s2sgrad.errors import TransformError

    def outer_sum(x, y):
        xx, yy = np.ix_(x, y)
        return np.sum(xx * yy)

    with pytest.raises(TransformError, match="np.ix_"):
        s2sgrad.grad(outer_sum)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
