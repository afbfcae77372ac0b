"""Forward mode and higher order: jvp, vjp, jacobian, hessian, hvp, grad(grad(f)),
user tangent rules.

Every derivative is compared with an independent oracle: centred finite differences
(``tests/support/numeric.py`` for gradients, the directional and second-order differences
below, written in plain NumPy) or a closed form written by hand. The only place
where s2sgrad is compared with itself is the explicit dot-product consistency test
``<J v, u> == <v, Jᵀ u>`` (jvp against vjp).
"""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


RNG = np.random.default_rng(12345)
H_DIR = 1e-6        # step of the directional difference (relative to max(1, |x|))


# ----------------------------------------------------------------------------
# independent oracles (plain NumPy, no s2sgrad)


def _flat(value):
    """A function output (float, array, tuple/list of them) as one float64 vector."""
    if isinstance(value, (tuple, list)):
        parts = [_flat(v) for v in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    if isinstance(value, dict):
        return _flat([value[k] for k in sorted(value)])
    return np.ravel(np.asarray(value, dtype=np.float64))


def _axpy(x, t, h):
    """x + h * t for floats, arrays and (nested) lists/tuples/dicts."""
    if t is None:
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(_axpy(a, b, h) for a, b in zip(x, t))
    if isinstance(x, dict):
        return {k: _axpy(x[k], t[k], h) for k in x}
    if isinstance(x, np.ndarray):
        return x.astype(np.float64) + h * np.asarray(t, dtype=np.float64)
    return float(x) + h * float(t)


def _scale(x):
    return max(1.0, float(np.max(np.abs(_flat(x))))) if np.size(_flat(x)) else 1.0


def fd_directional(f, primals, tangents):
    """(f(x + h·v) - f(x - h·v)) / 2h as a flat float64 vector (h relative to |x|)."""
    h = H_DIR * max(_scale(p) for p, t in zip(primals, tangents) if t is not None)
    plus = [_axpy(p, t, h) for p, t in zip(primals, tangents)]
    minus = [_axpy(p, t, -h) for p, t in zip(primals, tangents)]
    return (_flat(f(*plus)) - _flat(f(*minus))) / (2 * h)


def fd_jacobian(f, args, i):
    """Jacobian of f w.r.t. argument i by centred differences, shaped out + in."""
    x = np.asarray(args[i], dtype=np.float64)
    out_shape = np.shape(f(*args))
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        tangents = [None] * len(args)
        tangents[i] = e.reshape(x.shape)
        cols.append(fd_directional(f, args, tangents))
    return np.stack(cols, axis=1).reshape(out_shape + x.shape)


def fd_hessian(f, x, h=1e-4):
    """Second-order centred differences of scalar f on f itself (no gradient code)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    H = np.zeros((n, n))
    flat = x.ravel()

    def at(d):
        return float(f((flat + d).reshape(x.shape)))
    for i in range(n):
        for j in range(i, n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = h
            ej[j] = h
            H[i, j] = H[j, i] = (at(ei + ej) - at(ei - ej) - at(-ei + ej) + at(-ei - ej)) \
                / (4 * h * h)
    return H.reshape(x.shape + x.shape)


def assert_close(got, expected, rtol=1e-5, atol=1e-6, what="derivative"):
    g = _flat(got)
    e = _flat(expected)
    assert g.shape == e.shape, f"{what}: shape {g.shape}, expected {e.shape}"
    assert np.all(np.isfinite(g)), f"{what}: non-finite {got!r}"
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=what)


def check_jvp(f, primals, tangents, rtol=1e-5, atol=1e-6):
    """s2sgrad.jvp(f) against f itself (value) and directional differences (tangent)."""
    value, tdot = s2sgrad.jvp(f)(primals, tangents)
    assert_close(value, f(*primals), rtol=1e-12, atol=1e-12, what="value")
    fd_tangents = [None if (isinstance(p, (int, bool, np.integer)) and not isinstance(p, float))
                   else t for p, t in zip(primals, tangents)]
    expected = fd_directional(f, primals, fd_tangents)
    assert_close(tdot, expected, rtol=rtol, atol=atol, what="tangent")
    # the tangent has the structure of the value
    assert np.shape(tdot) == np.shape(value) or isinstance(value, (list, tuple, dict))
    return value, tdot


def r(*shape):
    x = RNG.uniform(-1.0, 1.0, size=shape)
    return float(x) if shape == () else x


def rpos(*shape):
    x = RNG.uniform(0.5, 2.0, size=shape)
    return float(x) if shape == () else x


# ----------------------------------------------------------------------------
# jvp: straight-line code


def scalar_math(x, y):
    a = x / y
    b = math.sin(a) + a - math.exp(y)
    return b * (a - math.exp(y)) + math.sqrt(x * x + 1.0) - math.log(y) + x ** 3 / 7.0


def scalar_python_ops(x, y):
    z = -x + 2.0 * y - x * y
    z = z / (1.0 + y * y) + abs(x) + max(x, y) - min(x, 0.2 * y)
    return z ** 2 + math.tanh(z) + math.atan2(x, y) + math.hypot(x, y)


def array_elementwise(x, y):
    u = np.sin(x) * np.exp(-y) + np.tanh(x * y)
    v = np.log1p(x ** 2) / (1.0 + y ** 2) - np.sqrt(y * y + 1.0)
    return u * v + np.cos(u) - np.abs(x) + np.maximum(x, y) + np.arctan(v) + np.square(u)


def broadcasting(x, y, s):
    # x (3, 1), y (4,), s scalar: result (3, 4)
    z = x * y + s
    w = np.exp(z / 4.0) - s * x + y
    return w * z + x ** 2 + s ** 3


def reductions(x):
    a = np.sum(x, axis=0)
    b = np.mean(x * x, axis=1, keepdims=True)
    c = np.max(x, axis=1)
    d = np.prod(x + 2.0, axis=0)
    e = x.sum() + np.sum(x ** 3) + x.mean()
    return np.concatenate([a, b.ravel(), c, d, np.array([e, np.std(x), np.min(x)])])


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def matmul(A, x, B):
    y = A @ x
    C = A @ B
    z = np.dot(C.T, y) + B.T @ np.tanh(x)
    return np.concatenate([y, z, np.ravel(C @ C.T)])


def indexing(x, i):
    a = x[1:] - x[:-1]
    b = x[::2] * x[i]
    c = x[np.array([0, 2, 3])]
    m = np.reshape(x, (2, 3))
    d = m[1, :] * m[:, 2].sum() + m[0, 1] + m.T[:, 0]
    return np.concatenate([a, b, c, d, np.array([x[-1] ** 2, m[1][2]])])


def setitem(x):
    y = np.zeros(5)
    y[0] = x[1] * 2.0
    y[1:4] = np.sin(x[:3])
    y[4] = y[0] * x[0]
    z = x.copy()
    z[2] = 7.0
    return y * np.sum(z)


JVP_CASES = [
    ("scalar_math", scalar_math, lambda: ((1.3, 0.7), (0.4, -1.1))),
    ("scalar_python_ops", scalar_python_ops, lambda: ((0.8, 1.9), (1.0, 0.5))),
    ("scalar_x_only", scalar_math, lambda: ((1.3, 0.7), (1.0, None))),
    ("scalar_y_zero", scalar_math, lambda: ((1.3, 0.7), (0.0, 0.0))),
    ("array_elementwise", array_elementwise, lambda: ((r(6), r(6)), (r(6), r(6)))),
    ("array_elementwise_one", array_elementwise, lambda: ((r(6), r(6)), (None, r(6)))),
    ("broadcasting", broadcasting, lambda: ((r(3, 1), r(4), 0.7), (r(3, 1), r(4), -0.3))),
    ("broadcasting_scalar_only", broadcasting, lambda: ((r(3, 1), r(4), 0.7), (None, None, 1.0))),
    ("reductions", reductions, lambda: ((r(3, 4),), (r(3, 4),))),
    ("logsumexp", logsumexp, lambda: ((r(7),), (r(7),))),
    ("matmul", matmul, lambda: ((r(4, 3), r(3), r(3, 2)), (r(4, 3), r(3), r(3, 2)))),
    ("matmul_x_only", matmul, lambda: ((r(4, 3), r(3), r(3, 2)), (None, r(3), None))),
    ("indexing", indexing, lambda: ((r(6), 4), (r(6), None))),
    ("indexing_int_tangent_zero", indexing, lambda: ((r(6), 4), (r(6), 0))),
    ("setitem", setitem, lambda: ((r(4),), (r(4),))),
]


@pytest.mark.parametrize("name,f,make", JVP_CASES, ids=[c[0] for c in JVP_CASES])
def test_jvp_straight_line(name, f, make):
    primals, tangents = make()
    check_jvp(f, primals, tangents)


def test_jvp_scalar_value_types():
    value, t = s2sgrad.jvp(scalar_math)((1.3, 0.7), (1.0, 0.0))
    assert isinstance(value, float) and isinstance(t, float)


def test_jvp_does_not_mutate_inputs():
    x, v = r(4), r(4)
    x0, v0 = x.copy(), v.copy()
    s2sgrad.jvp(setitem)((x,), (v,))
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(v, v0)


def test_jvp_is_linear_in_the_tangent():
    x, v = r(6), r(6)
    _, t1 = s2sgrad.jvp(logsumexp)((x,), (v,))
    expected = fd_directional(logsumexp, (x,), (v,))
    _, t3 = s2sgrad.jvp(logsumexp)((x,), (3.0 * v,))
    assert_close(t1, expected)
    assert_close(t3, 3.0 * expected)


# ----------------------------------------------------------------------------
# jvp: control flow


def branch(x, y):
    if x > y:
        z = x * math.sin(y)
    elif x > 0.0:
        z = x ** 2 + y
    else:
        z = -x * y
    return z * y + (x if z > 0 else y)


def array_branch(x):
    if np.sum(x) > 0:
        y = np.sin(x) * x
    else:
        y = np.exp(x)
    return y * 2.0


def for_loop(x, n):
    y = x
    for i in range(n):
        y = np.sin(y) * x + 0.1 * i
    return y


def for_over_array(x):
    acc = 0.0
    for v in x:
        acc = acc * 0.5 + v ** 2
    return acc


def while_loop(x):
    y = x
    k = 0
    while y < 10.0:
        y = y * 1.7 + 0.1
        k += 1
    return y * k


def with_break(x, n):
    acc = x
    for i in range(n):
        acc = acc * x + 1.0
        if acc > 5.0:
            break
    return acc


def with_continue(x):
    total = np.zeros_like(x)
    for i in range(len(x)):
        if x[i] < 0:
            continue
        total = total + x * x[i]
    return total


def nested_loops(x):
    out = 0.0
    for i in range(3):
        for j in range(2):
            out = out + np.sum(x[i] * x[j] ** (j + 1)) * (i + 1)
    return out


FLOW_CASES = [
    ("branch_first", branch, lambda: ((1.5, 0.4), (0.3, 1.0))),
    ("branch_elif", branch, lambda: ((0.3, 1.4), (0.3, 1.0))),
    ("branch_else", branch, lambda: ((-0.5, 0.8), (0.3, 1.0))),
    ("array_branch_pos", array_branch, lambda: ((rpos(4),), (r(4),))),
    ("array_branch_neg", array_branch, lambda: ((-rpos(4),), (r(4),))),
    ("for_loop", for_loop, lambda: ((r(5), 4), (r(5), None))),
    ("for_loop_zero_iter", for_loop, lambda: ((r(5), 0), (r(5), None))),
    ("for_over_array", for_over_array, lambda: ((r(5),), (r(5),))),
    ("while_loop", while_loop, lambda: ((1.3,), (1.0,))),
    ("with_break_taken", with_break, lambda: ((1.6, 10), (1.0, None))),
    ("with_break_not_taken", with_break, lambda: ((0.5, 3), (1.0, None))),
    ("with_continue", with_continue, lambda: ((np.array([0.5, -0.3, 1.2, -0.8]),), (r(4),))),
    ("nested_loops", nested_loops, lambda: ((r(3, 2),), (r(3, 2),))),
]


@pytest.mark.parametrize("name,f,make", FLOW_CASES, ids=[c[0] for c in FLOW_CASES])
def test_jvp_control_flow(name, f, make):
    primals, tangents = make()
    check_jvp(f, primals, tangents)


# ----------------------------------------------------------------------------
# jvp: calls to user functions, recursion


def helper(a, b):
    return np.tanh(a) * b + a


def helper_scalar_only(a, k):
    return a * k


def calls_helper(x, y):
    u = helper(x, y)
    v = helper(u, x) + helper_scalar_only(y, 3)
    w = helper(y, 2.0)               # only one argument active
    return u * v + w


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def calls_recursive(x):
    return power(x, 5) + np.sin(power(x, 2))


def fib_like(x, n):
    if n <= 1:
        return x
    return fib_like(x, n - 1) * 0.5 + np.sin(fib_like(x, n - 2))


def calls_with_inactive_call(x):
    c = helper(np.ones(3), 2.0)          # no active argument
    return x * c


CALL_CASES = [
    ("helper", calls_helper, lambda: ((r(4), r(4)), (r(4), r(4)))),
    ("helper_one_active", calls_helper, lambda: ((r(4), r(4)), (None, r(4)))),
    ("recursion_scalar", calls_recursive, lambda: ((0.9,), (1.0,))),
    ("recursion_array", calls_recursive, lambda: ((r(3),), (r(3),))),
    ("double_recursion", fib_like, lambda: ((r(3), 5), (r(3), None))),
    ("inactive_call", calls_with_inactive_call, lambda: ((r(3),), (r(3),))),
]


@pytest.mark.parametrize("name,f,make", CALL_CASES, ids=[c[0] for c in CALL_CASES])
def test_jvp_calls(name, f, make):
    primals, tangents = make()
    check_jvp(f, primals, tangents)


# ----------------------------------------------------------------------------
# jvp: lists, tuples and dicts


def list_build(x):
    parts = []
    for i in range(3):
        parts.append(x * (i + 1.0) + np.sin(x))
    return parts[0] * parts[2] - parts[1]


def list_argument(xs):
    total = 0.0
    for v in xs:
        total = total + v * v
    return total * xs[0]


def list_literal_out(x, y):
    return [x * y, np.sin(x), y]


def tuple_out(x, y):
    a = x * y
    return a, np.exp(x) - y


def dict_build(x, y):
    d = {"a": x * 2.0, "b": np.cos(y)}
    d["c"] = d["a"] * d["b"]
    return d["c"] + d["a"] ** 2


def dict_argument(p):
    return p["w"] * np.tanh(p["b"]) + p["w"] ** 2


def zip_enumerate(xs, ws):
    out = 0.0
    for k, (x, w) in enumerate(zip(xs, ws)):
        out = out + (k + 1) * x * w
    return out


CONTAINER_CASES = [
    ("list_build", list_build, lambda: ((r(4),), (r(4),))),
    ("list_argument", list_argument, lambda: (([0.3, -1.2, 0.8],), ([1.0, 0.5, -0.25],))),
    ("list_out", list_literal_out, lambda: ((r(3), r(3)), (r(3), r(3)))),
    ("tuple_out", tuple_out, lambda: ((0.4, 1.1), (1.0, -0.5))),
    ("dict_build", dict_build, lambda: ((r(3), r(3)), (r(3), r(3)))),
    ("dict_argument", dict_argument, lambda: (({"w": r(3), "b": r(3)},),
                                              ({"w": r(3), "b": r(3)},))),
    ("zip_enumerate", zip_enumerate, lambda: (([0.3, 0.5, -0.2], [1.1, 2.0, 0.7]),
                                              ([1.0, 0.0, 2.0], [0.5, -1.0, 0.25]))),
]


@pytest.mark.parametrize("name,f,make", CONTAINER_CASES, ids=[c[0] for c in CONTAINER_CASES])
def test_jvp_containers(name, f, make):
    primals, tangents = make()
    check_jvp(f, primals, tangents)


# ----------------------------------------------------------------------------
# jvp against vjp: <J v, u> == <v, Jᵀ u>


def vec_map_1(x):
    return np.tanh(x[:, None] * x[None, :]).ravel() + np.cumsum(x ** 2)[-1]


def vec_map_2(x):
    A = np.reshape(np.arange(12.0), (3, 4)) / 10.0
    h = np.tanh(A @ x)
    return np.concatenate([h * x[:3], np.exp(-h)])


def vec_map_3(x):
    y = x
    for i in range(3):
        y = np.sin(y) * x[::-1] + 0.5 * y
    return y / (1.0 + np.sum(y ** 2))


def vec_map_4(x):
    m = np.reshape(x, (2, 3))
    s = np.exp(m - np.max(m, axis=1, keepdims=True))
    return (s / np.sum(s, axis=1, keepdims=True)) * m


@pytest.mark.parametrize("f,n", [(vec_map_1, 4), (vec_map_2, 4), (vec_map_3, 5),
                                 (vec_map_4, 6)],
                         ids=["outer_tanh", "affine_tanh", "loop", "softmax_rows"])
def test_dot_product_jvp_vs_vjp(f, n):
    x = r(n)
    out = f(x)
    for _ in range(3):
        v = r(n)
        u = RNG.uniform(-1, 1, size=np.shape(out))
        _, jv = s2sgrad.jvp(f)((x,), (v,))
        value, pull = s2sgrad.vjp(f)(x)
        jtu = pull(u)
        lhs = float(np.sum(np.asarray(jv) * u))
        rhs = float(np.sum(v * np.asarray(jtu)))
        assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-12)
    # and one side against the oracle, so that both are not wrong together
    assert_close(jv, fd_directional(f, (x,), (v,)))


# ----------------------------------------------------------------------------
# vjp


def array_out(x, w):
    return np.tanh(np.outer(x, w)) * x[:, None]


_FORWARD_CALLS = [0]


def counted(x):
    """Counts its forward evaluations; its rule is registered below (identity map)."""
    _FORWARD_CALLS[0] += 1
    return x * 1.0


@s2sgrad.adjoint(counted)
def _counted_adjoint(y, x):
    x_bar += y_bar  # noqa: F821  (template, never run)


@s2sgrad.tangent(counted)
def _counted_tangent(y, x):
    y_dot += x_dot  # noqa: F821  (template, never run)


def uses_counted(x):
    return np.sin(counted(x)) * x


def test_vjp_array_output_against_fd():
    x, w = r(3), r(4)
    value, pull = s2sgrad.vjp(array_out, wrt=(0, 1))(x, w)
    assert_close(value, array_out(x, w), rtol=1e-12, atol=1e-12)
    u = r(3, 4)
    gx, gw = pull(u)
    assert gx.shape == x.shape and gw.shape == w.shape
    exp = numerical_grad(lambda a, b: float(np.sum(array_out(a, b) * u)), (x, w), wrt=(0, 1))
    assert_close(gx, exp[0])
    assert_close(gw, exp[1])


def test_vjp_single_wrt_returns_array():
    x, w = r(3), r(4)
    _, pull = s2sgrad.vjp(array_out, wrt="w")(x, w)
    u = r(3, 4)
    g = pull(u)
    assert isinstance(g, np.ndarray) and g.shape == w.shape
    assert_close(g, numerical_grad(lambda b: float(np.sum(array_out(x, b) * u)), (w,)))


def test_vjp_tuple_output():
    x, y = 0.4, 1.3
    value, pull = s2sgrad.vjp(tuple_out, wrt=(0, 1))(x, y)
    assert_close(value, tuple_out(x, y), rtol=1e-12, atol=1e-12)
    ct = (0.7, -1.5)
    gx, gy = pull(ct)
    exp = numerical_grad(lambda a, b: ct[0] * tuple_out(a, b)[0] + ct[1] * tuple_out(a, b)[1],
                         (x, y), wrt=(0, 1))
    assert gx == pytest.approx(exp[0], rel=1e-6) and gy == pytest.approx(exp[1], rel=1e-6)


def test_vjp_tuple_output_arrays():
    x, y = r(3), r(3)
    _, pull = s2sgrad.vjp(tuple_out, wrt=0)(x, y)
    ct = (r(3), r(3))
    g = pull(ct)
    exp = numerical_grad(lambda a: float(np.sum(tuple_out(a, y)[0] * ct[0])
                                         + np.sum(tuple_out(a, y)[1] * ct[1])), (x,))
    assert_close(g, exp)


def test_vjp_pullback_twice_does_not_rerun_forward():
    x = r(5)
    _FORWARD_CALLS[0] = 0
    value, pull = s2sgrad.vjp(uses_counted)(x)
    assert _FORWARD_CALLS[0] == 1
    u1, u2 = r(5), r(5)
    g1 = pull(u1)
    g2 = pull(u2)
    g1_again = pull(u1)
    assert _FORWARD_CALLS[0] == 1, "the pullback re-ran the forward pass"
    plain = lambda a: np.sin(a * 1.0) * a   # noqa: E731  same maths, no counter
    assert_close(value, plain(x), rtol=1e-12, atol=1e-12)
    assert_close(g1, numerical_grad(lambda a: float(np.sum(plain(a) * u1)), (x,)))
    assert_close(g2, numerical_grad(lambda a: float(np.sum(plain(a) * u2)), (x,)))
    np.testing.assert_array_equal(g1, g1_again)


def test_vjp_pullback_twice_loop():
    """A loop saves values on stacks: a second pullback must still see them."""
    x = r(5)
    value, pull = s2sgrad.vjp(vec_map_3)(x)
    u1, u2 = r(5), r(5)
    g1, g2 = pull(u1), pull(u2)
    assert_close(g1, numerical_grad(lambda a: float(np.sum(vec_map_3(a) * u1)), (x,)))
    assert_close(g2, numerical_grad(lambda a: float(np.sum(vec_map_3(a) * u2)), (x,)))


def test_vjp_pullback_does_not_mutate_cotangent():
    x = r(5)
    _, pull = s2sgrad.vjp(vec_map_3)(x)
    u = r(5)
    u0 = u.copy()
    pull(u)
    np.testing.assert_array_equal(u, u0)


# ----------------------------------------------------------------------------
# jacobian


def r3_to_r5(x):
    a, b, c = x[0], x[1], x[2]
    return np.array([a * b, np.sin(c) * a, np.exp(b - c), a + b + c, c ** 3]) + 0.0 * a


def r3_to_r5_vec(x):
    M = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 1.0], [3.0, 0.1, 0.2],
                  [0.4, 0.4, 0.4], [-1.0, 0.0, 2.0]])
    return np.tanh(M @ x) * np.sum(x ** 2)


def r5_to_r2(x):
    return np.array([np.sum(np.sin(x) * x), np.prod(x + 2.0)])


def r5_to_r2_vec(x, y):
    W = np.reshape(np.arange(10.0), (2, 5)) / 7.0
    return np.log1p(np.exp(W @ (x * y)))


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
@pytest.mark.parametrize("f,n", [(r3_to_r5_vec, 3), (r5_to_r2, 5), (r3_to_r5, 3)],
                         ids=["R3toR5", "R5toR2", "R3toR5_stack"])
def test_jacobian_modes_against_fd(f, n, mode):
    x = r(n)
    J = s2sgrad.jacobian(f, mode=mode)(x)
    expected = fd_jacobian(f, (x,), 0)
    assert J.shape == np.shape(f(x)) + (n,)
    assert_close(J, expected)


def test_jacobian_forward_equals_reverse_two_args():
    x, y = r(5), r(5)
    Jf = s2sgrad.jacobian(r5_to_r2_vec, wrt=(0, 1), mode="forward")(x, y)
    Jr = s2sgrad.jacobian(r5_to_r2_vec, wrt=(0, 1), mode="reverse")(x, y)
    for k in range(2):
        expected = fd_jacobian(r5_to_r2_vec, (x, y), k)
        assert Jf[k].shape == (2, 5) and Jr[k].shape == (2, 5)
        assert_close(Jf[k], expected)
        assert_close(Jr[k], expected)


def column_tanh_sums(X):
    return np.sum(np.tanh(X), axis=0)


def test_jacobian_matrix_input():
    X = r(2, 3)
    f = column_tanh_sums
    for mode in ("forward", "reverse"):
        J = s2sgrad.jacobian(f, mode=mode)(X)
        assert J.shape == (3, 2, 3)
        assert_close(J, fd_jacobian(f, (X,), 0))


# ----------------------------------------------------------------------------
# Hessians of known functions against closed forms


A_Q = np.array([[2.0, 1.0, 0.5], [-0.3, 3.0, 0.2], [0.7, 0.1, 1.5]])
B_Q = np.array([0.3, -1.0, 2.0])


def quadratic(x):
    return 0.5 * x @ A_Q @ x + B_Q @ x


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    """Hand-written gradient (checked against finite differences below)."""
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def rosenbrock_hessian(x):
    """Closed-form Hessian of the Rosenbrock function, written by hand."""
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] = H[i + 1, i] = -400.0 * x[i]
    return H


def lse(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def test_hessian_quadratic():
    x = r(3)
    H = s2sgrad.hessian(quadratic)(x)
    assert H.shape == (3, 3)
    assert_close(H, (A_Q + A_Q.T) / 2, rtol=1e-12, atol=1e-12)


def test_rosenbrock_closed_forms_are_right():
    x = r(5)
    assert_close(rosenbrock_grad(x), numerical_grad(rosenbrock, (x,)))
    assert_close(rosenbrock_hessian(x), fd_hessian(rosenbrock, x), rtol=1e-5, atol=1e-4)


def test_hessian_rosenbrock():
    x = r(6)
    H = s2sgrad.hessian(rosenbrock)(x)
    assert_close(H, rosenbrock_hessian(x), rtol=1e-10, atol=1e-10)


def test_hessian_logsumexp():
    x = r(5)
    p = np.exp(x - lse(x))
    H = s2sgrad.hessian(lse)(x)
    assert_close(H, np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-12)


def quartic_sin(x):
    return x ** 4 + math.sin(x)


def test_hessian_scalar_argument():
    h = s2sgrad.hessian(quartic_sin)(0.7)
    assert h == pytest.approx(12 * 0.7 ** 2 - math.sin(0.7), rel=1e-12)


def test_hessian_wrt_second_argument():
    def f(a, x):
        return np.sum(a * x ** 3)
    a, x = r(4), r(4)
    H = s2sgrad.hessian(f, wrt=1)(a, x)
    assert_close(H, np.diag(6 * a * x), rtol=1e-12, atol=1e-12)


def test_hvp_rosenbrock_vs_fd_of_gradient():
    x, v = r(8), r(8)
    hv = s2sgrad.hvp(rosenbrock)(x, v)
    h = 1e-6
    fd = (rosenbrock_grad(x + h * v) - rosenbrock_grad(x - h * v)) / (2 * h)
    assert isinstance(hv, np.ndarray) and hv.shape == x.shape
    assert_close(hv, fd, rtol=1e-6, atol=1e-6)
    assert_close(hv, rosenbrock_hessian(x) @ v, rtol=1e-10, atol=1e-10)


def test_hvp_logsumexp_vs_fd_of_gradient():
    x, v = r(6), r(6)
    hv = s2sgrad.hvp(lse)(x, v)
    softmax = lambda z: np.exp(z - lse(z))  # noqa: E731  hand-written gradient of lse
    assert_close(softmax(x), numerical_grad(lse, (x,)))
    h = 1e-6
    assert_close(hv, (softmax(x + h * v) - softmax(x - h * v)) / (2 * h))


def test_hvp_with_extra_argument():
    def f(x, a):
        return np.sum(np.sin(x) * a) + np.sum(x ** 2) * a[0]
    x, a, v = r(4), r(4), r(4)
    hv = s2sgrad.hvp(f, wrt=0)(x, a, v)
    H = np.diag(-np.sin(x) * a + 2 * a[0])
    assert_close(hv, H @ v, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- grad(grad(f))


def d_sin(x):
    return math.sin(x)


def d_cube(x):
    return x ** 3


def d_xexp(x):
    return math.exp(x) * x


def d_np_sin(x):
    return np.sin(x)


@pytest.mark.parametrize("f,d2", [(d_sin, lambda x: -math.sin(x)),
                                  (d_cube, lambda x: 6 * x),
                                  (d_xexp, lambda x: math.exp(x) * (x + 2)),
                                  (d_np_sin, lambda x: -math.sin(x))],
                         ids=["sin", "cube", "xexp", "np_sin"])
@pytest.mark.parametrize("x", [0.3, -1.2, 2.0])
def test_grad_of_grad_closed_form(f, d2, x):
    got = s2sgrad.grad(s2sgrad.grad(f))(x)
    assert isinstance(got, float)
    assert got == pytest.approx(d2(x), rel=1e-10, abs=1e-12)


def test_grad_of_grad_two_args():
    def f(x, y):
        return x ** 2 * y + math.sin(x * y)
    x, y = 0.6, 1.4
    # d/dy of df/dx = 2x + cos(xy) - xy sin(xy)
    got = s2sgrad.grad(s2sgrad.grad(f, wrt=0), wrt=1)(x, y)
    assert got == pytest.approx(2 * x + math.cos(x * y) - x * y * math.sin(x * y), rel=1e-10)


# --------------------------------------------------- Hessians through control flow


def hess_loop(x):
    y = x
    for i in range(3):
        y = np.sin(y) * x + 0.3 * y
    return np.sum(y ** 2)


def hess_branch(x):
    if np.sum(x) > 0:
        z = np.sum(x ** 3) * x[0]
    else:
        z = np.sum(np.exp(x) * x[::-1])
    return z


def hess_while(x):
    s = 1.0
    y = x
    while s < 20.0:
        y = y * x + np.cos(y)
        s = s * 2.0
    return np.sum(y)


def hess_call(x):
    return helper(np.sum(x * x), x[0]) + np.sum(helper(x, x))


@pytest.mark.parametrize("f,x", [(hess_loop, np.array([0.3, -0.5, 0.8])),
                                 (hess_branch, np.array([0.4, 0.7, -0.2])),
                                 (hess_branch, np.array([-0.4, -0.7, 0.2])),
                                 (hess_while, np.array([0.3, 0.5, -0.6])),
                                 (hess_call, np.array([0.3, 0.5, -0.6]))],
                         ids=["loop", "branch_pos", "branch_neg", "while", "call"])
def test_hessian_control_flow_vs_fd(f, x):
    H = s2sgrad.hessian(f)(x)
    assert_close(H, fd_hessian(f, x), rtol=1e-5, atol=1e-5)
    v = r(3)
    assert_close(s2sgrad.hvp(f)(x, v), fd_hessian(f, x) @ v, rtol=1e-5, atol=1e-5)


def scalar_loop(x):
    y = x
    for i in range(4):
        if y > 1.0:
            y = y * 0.5 + math.sin(x)
        else:
            y = y * x + 1.0
    return y


def test_grad_of_grad_loop_branch():
    x = 0.8
    h = 1e-4
    fd = (scalar_loop(x + h) - 2 * scalar_loop(x) + scalar_loop(x - h)) / h ** 2
    got = s2sgrad.grad(s2sgrad.grad(scalar_loop))(x)
    assert got == pytest.approx(fd, rel=1e-5)


# ---------------------------------------------------------------- user tangent rule


def softplus_floor(x):
    """log(1 + e^x) rounded down to a multiple of 2**-40 through np.floor: the body's
    derivative is 0 almost everywhere, only the registered rules are right."""
    v = np.log1p(np.exp(x))
    return np.floor(v * 2.0 ** 40) / 2.0 ** 40


@s2sgrad.tangent(softplus_floor)
def _softplus_floor_tangent(y, x):
    y_dot += x_dot / (1.0 + np.exp(-x))  # noqa: F821  (template, never run)


@s2sgrad.adjoint(softplus_floor)
def _softplus_floor_adjoint(y, x):
    x_bar += y_bar / (1.0 + np.exp(-x))  # noqa: F821  (template, never run)


def uses_softplus_floor(x, w):
    return softplus_floor(x * w) * w + x


def softplus_tangent_only(x):
    v = np.log1p(np.exp(x))
    return np.floor(v * 2.0 ** 40) / 2.0 ** 40


@s2sgrad.tangent(softplus_tangent_only)
def _softplus_tangent_only_rule(y, x):
    y_dot += x_dot / (1.0 + np.exp(-x))  # noqa: F821  (template, never run)


def uses_softplus_tangent_only(x):
    return softplus_tangent_only(x) * 2.0


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_user_tangent_rule_is_used():
    x, w = r(4), r(4)
    v, u = r(4), r(4)
    value, t = s2sgrad.jvp(uses_softplus_floor)((x, w), (v, u))
    z = x * w
    expected = _sigmoid(z) * (v * w + x * u) * w + np.log1p(np.exp(z)) * u + v
    assert_close(t, expected, rtol=1e-10, atol=1e-12)
    # the oracle: finite differences of the smooth function
    smooth = lambda x, w: np.log1p(np.exp(x * w)) * w + x  # noqa: E731
    assert_close(t, fd_directional(smooth, (x, w), (v, u)))
    assert "_dot" in s2sgrad.jvp(uses_softplus_floor).source


def test_user_tangent_rule_scalar():
    value, t = s2sgrad.jvp(uses_softplus_floor)((0.4, 1.5), (1.0, 0.0))
    assert t == pytest.approx(_sigmoid(0.6) * 1.5 * 1.5 + 1.0, rel=1e-10)


def test_user_tangent_rule_without_adjoint_rule():
    x, v = r(4), r(4)
    _, t = s2sgrad.jvp(uses_softplus_tangent_only)((x,), (v,))
    assert_close(t, 2.0 * _sigmoid(x) * v, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- generated source


def test_jvp_source_reads_like_forward_code():
    src = s2sgrad.jvp(array_elementwise).source
    assert "def " in src and "_dot" in src
    assert "x_dot" in src and "y_dot" in src
    assert "np.cos(x)" in src              # tangent of np.sin(x)
    assert "_bar" not in src                # no adjoints in forward code
    assert "return" in src
    compile(src, "<jvp>", "exec")           # valid Python


def test_jvp_source_of_loop_keeps_the_loop():
    src = s2sgrad.jvp(for_loop).source
    assert "for " in src and "range(" in src and "y_dot" in src
    assert ".pop()" not in src and "reversed(" not in src


def test_jvp_source_is_stable():
    assert s2sgrad.jvp(scalar_math).source == s2sgrad.jvp(scalar_math).source


def test_hvp_source_is_forward_over_reverse():
    src = s2sgrad.hvp(rosenbrock).source
    assert "_bar" in src and "_dot" in src


# ---------------------------------------------------------------- more higher order


def h_setitem(x):
    y = np.zeros(4)
    y[0] = x[1] * x[0]
    y[1:3] = np.sin(x[:2]) * x[2]
    y[3] = y[0] * x[2]
    return np.sum(y ** 2)


def h_setitem_loop(x):
    y = x.copy()
    for i in range(1, 3):
        y[i] = y[i - 1] * y[i] + np.sin(y[i])
    return np.sum(y * y)


def h_list(x):
    parts = []
    for i in range(3):
        parts.append(x[i] * x[(i + 1) % 3])
    return parts[0] * parts[1] + parts[2] ** 2


def h_dict(x):
    d = {"a": x[0] * x[1], "b": np.exp(x[2])}
    return d["a"] * d["b"] + d["a"] ** 2


def h_matrix(X):
    return np.sum(np.tanh(X @ X.T)) + np.sum(X ** 3)


def h_recursion(x):
    return np.sum(power(x, 4)) + np.sum(np.sin(power(x, 2)))


def h_max_abs(x):
    return np.max(x) ** 2 + np.sum(np.maximum(x, 0.5) ** 2) + np.sum(np.abs(x) ** 3)


def h_where(x):
    return np.sum(np.where(x > 0, x ** 3, np.exp(x)))


def h_broadcast(x):
    m = x.reshape(2, 2)
    return np.sum((m[:, :1] * m + m[:1, :]) ** 2) + np.sum(m.mean(axis=0, keepdims=True) * m)


def h_softmax_ce(x):
    z = x - np.max(x)
    p = np.exp(z) / np.sum(np.exp(z))
    return -np.log(p[1]) + np.sum(p * p)


def h_fancy_index(x):
    idx = np.array([0, 2, 2, 1])
    return np.sum(x[idx] ** 3) + x[-1] * x[0] ** 2


def h_break(x):
    acc = 0.0
    for i in range(len(x)):
        acc = acc + x[i] ** 3 * acc + x[i]
        if acc > 1.0:
            break
    return acc * acc


H_CASES = [(h_setitem, lambda: r(3)), (h_setitem_loop, lambda: r(3)), (h_list, lambda: r(3)),
           (h_dict, lambda: r(3)), (h_matrix, lambda: r(2, 3)), (h_recursion, lambda: r(3)),
           (h_max_abs, lambda: np.array([0.9, -0.2, 0.3])),
           (h_where, lambda: np.array([0.4, -0.3, 1.1])), (h_broadcast, lambda: r(4)),
           (h_softmax_ce, lambda: r(4)), (h_fancy_index, lambda: r(3)),
           (h_break, lambda: np.array([0.5, 0.6, 0.4, 0.3]))]


@pytest.mark.parametrize("f,make", H_CASES, ids=[f.__name__ for f, _ in H_CASES])
def test_hessian_more_vs_fd(f, make):
    x = make()
    H = s2sgrad.hessian(f)(x)
    expected = fd_hessian(f, x)
    assert H.shape == x.shape + x.shape
    assert_close(H, expected, rtol=1e-5, atol=1e-5)
    v = r(*x.shape)
    hv = s2sgrad.hvp(f)(x, v)
    assert hv.shape == x.shape
    assert_close(hv, np.tensordot(expected, v, axes=x.ndim), rtol=1e-5, atol=1e-5)


def test_hvp_float32_keeps_dtype():
    x = r(3).astype(np.float32)
    hv = s2sgrad.hvp(d_quartic_sum)(x, np.ones(3))
    assert hv.dtype == np.float32
    assert_close(hv, 12 * x.astype(float) ** 2, rtol=1e-5, atol=1e-5)


def d_quartic_sum(x):
    return np.sum(x ** 4)


def test_hvp_reused_for_other_shapes():
    h = s2sgrad.hvp(d_quartic_sum)
    for n in (2, 5):
        x, v = r(n), r(n)
        assert_close(h(x, v), 12 * x ** 2 * v, rtol=1e-12, atol=1e-12)


def scalar_two(x, y):
    return x * x * y + math.exp(x * y)


def test_hessian_wrt_name_and_scalar_hvp():
    x, y = 0.3, 0.8
    assert s2sgrad.hessian(scalar_two, wrt="y")(x, y) == pytest.approx(x * x * math.exp(x * y))
    hv = s2sgrad.hvp(scalar_two)(x, y, 1.0)
    assert isinstance(hv, float)
    assert hv == pytest.approx(2 * y + y * y * math.exp(x * y), rel=1e-12)


def loop_n(x, n):
    y = x
    for i in range(n):
        y = y * math.sin(y) + x
    return y


def test_grad_of_grad_with_int_argument():
    x, h = 0.7, 1e-4
    fd = (loop_n(x + h, 3) - 2 * loop_n(x, 3) + loop_n(x - h, 3)) / h ** 2
    assert s2sgrad.grad(s2sgrad.grad(loop_n))(x, 3) == pytest.approx(fd, rel=1e-5)


def sp_sum(x):
    return np.sum(softplus_floor(x) * x)


def sp_smooth(x):
    return np.sum(np.log1p(np.exp(x)) * x)


def test_hessian_through_user_rules():
    """Forward over reverse: the inlined adjoint rule is differentiated in forward mode."""
    x = r(3)
    assert_close(s2sgrad.hessian(sp_sum)(x), fd_hessian(sp_smooth, x), rtol=1e-5, atol=1e-5)


# ------------------------------------------------- more user tangent rules


def mul_floor(a, b):
    return np.floor(a * b * 2.0 ** 40) / 2.0 ** 40


@s2sgrad.tangent(mul_floor)
def _mul_floor_tangent(y, a, b):
    y_dot += a_dot * b  # noqa: F821
    y_dot += a * b_dot  # noqa: F821


def uses_mul_floor(a, b):
    return mul_floor(np.sin(a), b) + a


def exp_floor(x):
    return np.floor(np.exp(x) * 2.0 ** 40) / 2.0 ** 40


@s2sgrad.tangent(exp_floor)
def _exp_floor_tangent(y, x):
    y_dot += x_dot * y  # noqa: F821  (uses the output)


def uses_exp_floor(x):
    return exp_floor(x * 2.0)


def test_user_tangent_rule_two_inputs():
    a, b, va, vb = r(3), r(3), r(3), r(3)
    _, t = s2sgrad.jvp(uses_mul_floor)((a, b), (va, vb))
    assert_close(t, np.cos(a) * va * b + np.sin(a) * vb + va, rtol=1e-10, atol=1e-12)
    _, t = s2sgrad.jvp(uses_mul_floor)((a, b), (None, vb))
    assert_close(t, np.sin(a) * vb, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x", [0.3, np.array([0.1, -0.4, 0.7])], ids=["float", "array"])
def test_user_tangent_rule_using_output(x):
    v = np.ones_like(x) * 0.5 if isinstance(x, np.ndarray) else 0.5
    _, t = s2sgrad.jvp(uses_exp_floor)((x,), (v,))
    assert_close(t, 2 * np.exp(2 * x) * v, rtol=1e-10, atol=1e-12)


# ------------------------------------------------- jacobian corner cases


def sq_sum(x):
    return np.sum(x ** 2)


def curve(t):
    return np.array([t, t ** 2, math.sin(t)])


def list_out(x):
    return [x[0] * x[1], np.sin(x[2])]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_scalar_in_or_out(mode):
    x = r(3)
    assert_close(s2sgrad.jacobian(sq_sum, mode=mode)(x), 2 * x, rtol=1e-12, atol=1e-12)
    assert_close(s2sgrad.jacobian(curve, mode=mode)(0.4), [1.0, 0.8, math.cos(0.4)],
                 rtol=1e-12, atol=1e-12)
    J = s2sgrad.jacobian(list_out, mode=mode)(x)
    assert_close(J, [[x[1], x[0], 0.0], [0.0, 0.0, math.cos(x[2])]], rtol=1e-12, atol=1e-12)


def test_jacobian_rejects_unknown_mode():
    with pytest.raises((ValueError, s2sgrad.S2SGradError)):
        s2sgrad.jacobian(sq_sum, mode="sideways")(r(3))


# ------------------------------------------------- aliasing and mutation


def reshape_t(x):
    y = x.reshape(2, 2)
    return y.T


def test_jvp_tangent_output_is_writable_and_not_a_view():
    x, v = r(4), r(4)
    _, t = s2sgrad.jvp(reshape_t)((x,), (v,))
    assert_close(t, v.reshape(2, 2).T)
    t[0, 0] = 42.0                       # must not raise nor change v
    assert v[0] != 42.0


def square(x):
    return x * x


def test_vjp_pullback_is_at_the_point_of_evaluation():
    x = np.array([1.0, 2.0])
    _, pull = s2sgrad.vjp(square)(x)
    x[:] = 0.0                            # e.g. an optimiser step in place
    assert_close(pull(np.ones(2)), [2.0, 4.0])


def test_jvp_of_grad_is_forward_over_reverse():
    def quad(x):
        return np.sum(x ** 3)
    x, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.5, -0.25])
    g, hv = s2sgrad.jvp(s2sgrad.grad(quad))((x, 1.0), (v, None))
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-12)
    np.testing.assert_allclose(hv, 6 * x * v, rtol=1e-12)


def test_third_derivative_of_sine_is_minus_cosine():
    d3 = s2sgrad.grad(s2sgrad.grad(s2sgrad.grad(lambda x: math.sin(x))))
    assert d3(0.4) == pytest.approx(-math.cos(0.4), rel=1e-12)


def test_jvp_of_a_second_derivative_says_what_composes():
    with pytest.raises(s2sgrad.S2SGradError, match="grad\\(grad\\(grad"):
        s2sgrad.jvp(s2sgrad.grad(s2sgrad.grad(lambda x: math.sin(x))))


# --- a rule whose result may be a tuple its properties do not announce -------------

def _average_unpacked(a, w):
    avg, tot = np.average(a, weights=w, returned=True)
    return avg * tot + np.sum(a)


def _average_returned(a, w):
    return np.average(a * 2.0, weights=w, returned=True)


def _average_copied(a, w):
    r = np.average(a, weights=w, axis=0, returned=True)
    q = r
    return np.sum(q[0] * q[1])


@pytest.mark.parametrize("f", [_average_unpacked, _average_returned, _average_copied])
def test_tangent_terms_of_a_tuple_result_are_added_elementwise(f):
    """Both operands active: the two tangent terms of `np.average(..., returned=True)`
    are tuples; `+` would join them (a wrong number, no error)."""
    a, w = np.array([1.0, 2.0, 3.5]), np.array([0.5, 1.5, 2.0])
    da, dw = np.array([0.3, -0.2, 0.1]), np.array([0.1, 0.4, -0.3])
    _, got = s2sgrad.jvp(f)((a, w), (da, dw))
    want = fd_directional(lambda x, y: np.asarray(f(x, y), dtype=float), (a, w), (da, dw))
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-6, atol=1e-8)
