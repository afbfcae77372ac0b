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
