"""Regressions of the sixth hunt (today's optimizer passes and the styles around them),
each against an independent oracle: centered finite differences in float64."""
import warnings

import numpy as np
import pytest

import s2sgrad


def _r(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def _fd_directional(f, x, v, eps=1e-6):
    return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)


# ------------------------------------------- tangents of new values, stores into operands

def _copy_then_store(copy):
    def f(x):
        y = x * 2.0
        z = copy(y)
        y[0] = 5.0 * y[1]
        return np.sum(z * y)
    return f


def _minus_zero(y):
    return y - 0.0


COPIES = {
    "plus zero": lambda y: y + 0.0,
    "unary plus": lambda y: +y,
    "minus zero": lambda y: y - 0,
    "flatten": lambda y: y.flatten(),
    "ravel plus zero": lambda y: np.ravel(y) + 0,
    "call of the user's": _minus_zero,
}


@pytest.mark.parametrize("name", sorted(COPIES))
def test_tangent_of_a_copy_is_not_changed_by_a_store_into_the_original(name):
    """`z = y + 0.0` has the tangent ẏ itself (`y.flatten()` a view of it); a store
    `y[0] = v` afterwards changed ż too: jvp and hvp were silently wrong."""
    f = _copy_then_store(COPIES[name])
    x, v = _r(4), _r(4, seed=1)
    _, tangent = s2sgrad.jvp(f)((x,), (v,))
    np.testing.assert_allclose(tangent, _fd_directional(f, x, v), rtol=1e-6)
    g = s2sgrad.grad(f)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, v), _fd_directional(g, x, v, 1e-5),
                               rtol=1e-5, atol=1e-6)


def test_hvp_of_a_copy_then_a_store_into_the_original():
    def f(x):
        y = x * 1.0
        z = y + 0.0
        y[0] = 5.0 * y[1]
        return np.sum(z * y)
    x, v = np.array([0.3, -1.2, 0.5, 2.0]), np.array([1.0, 2.0, 3.0, 4.0])
    g = s2sgrad.grad(f)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, v), _fd_directional(g, x, v, 1e-5),
                               rtol=1e-6)


# ------------------------------------------- stacked outer products, a negative count

def fewer_steps(K, v, n):
    for i in range(n - 5):
        v = np.tanh(K @ v)
    return np.sum(v)


@pytest.mark.parametrize("n", [2, 5, 8])
def test_stacked_outer_products_of_a_loop_of_negative_count(n):
    """`range(n - 5)` makes no step for n < 5; the rows of the stacked outer products
    were allocated as `np.empty((n - 5, ...))`: ValueError (negative dimensions)."""
    K, v = 0.5 * _r(3, 3), _r(3, seed=1)
    gK, gv = s2sgrad.grad(fewer_steps, wrt=(0, 1))(K, v, n)
    for got, i, x in ((gK, 0, K), (gv, 1, v)):
        ref = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[idx] = 1e-6
            args_p, args_m = [K, v, n], [K, v, n]
            args_p[i], args_m[i] = x + e, x - e
            ref[idx] = (fewer_steps(*args_p) - fewer_steps(*args_m)) / 2e-6
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)


def test_negative_count_in_a_module_that_imports_numpy_with_a_star(tmp_path, monkeypatch):
    """`from numpy import *` replaces the builtin max in the user's module, where the
    generated code runs: the count is clamped with np.maximum."""
    (tmp_path / "star_module_hunt6.py").write_text(
        "from numpy import *\n\n"
        "def f(K, v, n):\n"
        "    for i in range(n - 5):\n"
        "        v = tanh(K @ v)\n"
        "    return sum(v)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import star_module_hunt6 as m
    K, v = 0.5 * _r(3, 3), _r(3, seed=1)
    for n in (2, 7):
        gv = s2sgrad.grad(m.f, wrt=1)(K, v, n)
        ref = np.array([(m.f(K, v + e, n) - m.f(K, v - e, n)) / 2e-6
                        for e in 1e-6 * np.eye(3)])
        np.testing.assert_allclose(gv, ref, rtol=1e-6, atol=1e-9)


# ------------------------------------------- zip in a module that imports numpy with a star

def test_zip_in_a_module_that_imports_numpy_with_a_star(tmp_path, monkeypatch):
    """`for x, y in zip(xs, ys)` runs for the shorter length, which the normalizer wrote
    `min(n, n2)`: with `from numpy import *` that is np.min(n, axis=n2), an AxisError."""
    (tmp_path / "star_zip_hunt6.py").write_text(
        "from numpy import *\n\n"
        "def f(w, xs, ys):\n"
        "    s = 0.0\n"
        "    for x, y in zip(xs, ys):\n"
        "        s = s + (x @ w - y) ** 2\n"
        "    return s\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import star_zip_hunt6 as m
    w = _r(3)
    for rows, count in ((4, 4), (4, 1), (2, 5)):
        xs, ys = _r(rows, 3, seed=1), _r(count, seed=2)
        gw = s2sgrad.grad(m.f)(w, xs, ys)
        ref = np.array([(m.f(w + e, xs, ys) - m.f(w - e, xs, ys)) / 2e-6
                        for e in 1e-6 * np.eye(3)])
        np.testing.assert_allclose(gw, ref, rtol=1e-6, atol=1e-9)


def test_forward_jacobian_of_a_copy_then_a_store_into_the_original():
    """The batched forward pass (jacobian by columns) copies the shared tangent too,
    with a batching rule of its own (no loop over the examples)."""
    def f(x):
        y = x * 2.0
        z = y + 0.0
        y[0] = 5.0 * y[1]
        return z * y
    x = _r(4)
    ref = np.array([(f(x + e) - f(x - e)) / 2e-6 for e in 1e-6 * np.eye(4)]).T
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*own_tangent")
        warnings.filterwarnings("error", message=".*unshared_tangent")
        J = s2sgrad.jacobian(f, mode="forward")(x)
    np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-8)


def _fd_grad(f, args, i, eps=1e-6):
    x = args[i]
    ref = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        plus, minus = list(args), list(args)
        plus[i], minus[i] = x + e, x - e
        ref[idx] = (f(*plus) - f(*minus)) / (2 * eps)
    return ref


# ------------------------------------------- stacked outer products, a shared adjoint

def loop_then_sum_of_a_sum(K, D, v, n):
    for i in range(n):
        v = np.tanh(K @ v)
    M = K + D
    return np.sum(v) + np.sum(M * M)


def loop_then_sine_of_a_sum(K, D, v, n):
    for i in range(n):
        v = np.tanh(K @ v)
    return np.sum(v) + np.sum(np.sin(K + D))


@pytest.mark.parametrize("f", [loop_then_sum_of_a_sum, loop_then_sine_of_a_sum])
def test_stacked_outer_products_leave_a_shared_adjoint_be(f):
    """`K_bar = M_bar; D_bar = M_bar` (the adjoint of K + D), then the loop's outer
    products added after it as `K_bar += rows.T @ rows`: in place, into D_bar too. D's
    gradient was silently wrong; the sum is `K_bar = K_bar + ...` where the loop added
    that way."""
    K, D, v = 0.5 * _r(3, 3), _r(3, 3, seed=1), _r(3, seed=2)
    args = (K, D, v, 3)
    got = s2sgrad.grad(f, wrt=(0, 1))(*args)
    for i, g in zip((0, 1), got):
        np.testing.assert_allclose(g, _fd_grad(f, args, i), rtol=1e-6, atol=1e-8)


# ------------------------------------------- the zero seed of a value kept as its shape

def weighted_by_the_step_then_joined(A, B, D, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(A @ A.T) * i
    M = np.concatenate([A, B], axis=1) + D
    return s + np.sum(np.tanh(M))


def test_value_and_grad_with_a_zero_seed_of_a_value_kept_as_its_shape():
    """At step 0 the seed `s_bar * i` is 0; value_and_grad kept only the shape of
    `A @ A.T` (ShapeOf) and unreduce gave the number 0.0 for it, not zeros of that
    shape: `v2_bar @ v1.T` raised ValueError (matmul of a number)."""
    A, B, D = _r(2, 2), _r(2, 3, seed=1), _r(2, 5, seed=2)
    args = (A, B, D, 3)
    value, got = s2sgrad.value_and_grad(weighted_by_the_step_then_joined, wrt=(0, 1, 2))(*args)
    assert value == pytest.approx(weighted_by_the_step_then_joined(*args), rel=1e-12)
    for i, g in zip((0, 1, 2), got):
        np.testing.assert_allclose(g, _fd_grad(weighted_by_the_step_then_joined, args, i),
                                   rtol=1e-6, atol=1e-8)
