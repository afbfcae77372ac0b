"""Stores into arrays seen through another name, and stores into integer arrays:
checked against finite differences and closed forms, never against s2sgrad itself."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad import TransformError


def _fd(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


X = np.array([0.3, -1.2, 0.7, 2.1])


# ------------------------------------------------- a second name `z = y` of a stored array
def alias_ellipsis(x):
    y = x * 2.0
    z = y
    y[...] = y + x[1]
    return np.sum(z ** 3)


def alias_element(x):
    y = x * 2.0
    z = y
    y[0] = x[1] * 3
    return np.sum(z ** 3)


def alias_add_at(x):
    y = x * 2.0
    z = y
    np.add.at(y, np.array([0, 0]), x[1])
    return np.sum(y ** 3) + np.sum(z)


@pytest.mark.parametrize("f", [alias_ellipsis, alias_element, alias_add_at])
def test_store_seen_through_second_name_is_refused(f):
    # Python's z sees the store (the same array); the trace rebinds y only, so the
    # gradient would take z for its value before the store
    with pytest.raises(TransformError, match="another name"):
        s2sgrad.grad(f)(X.copy())


def alias_before_rebinding(x):
    y = x * 2.0
    z = y                 # read before the store only: no matter
    w = np.sum(z)
    y[0] = x[1] * 3
    return np.sum(y ** 3) + w


def test_second_name_read_only_before_the_store():
    g = s2sgrad.grad(alias_before_rebinding)(X.copy())
    np.testing.assert_allclose(g, _fd(alias_before_rebinding, X), rtol=1e-6, atol=1e-6)


# ------------------------------------------------- stores into integer arrays truncate
XI = np.array([1.3, -2.6, 0.7, 2.1])


def int_store(x):
    y = np.zeros(4, dtype=int)
    y[0] = x[0] * x[1]
    y[1:3] = x[1:3]
    return np.sum(y * y * x)


def int_add_at(x):
    y = np.arange(4)
    np.add.at(y, np.array([0, 0, 1]), x[:3] * 2.0)
    return np.sum(y * x)


def float_store(x):
    y = np.zeros(4)
    y[0] = x[0] * x[1]
    np.add.at(y, np.array([0, 0, 3]), x[:3] * x[0])
    return np.sum(y * y * x)


@pytest.mark.parametrize("f", [int_store, int_add_at, float_store])
def test_store_into_integer_array_grad(f):
    # the store casts v to the integers (a piecewise constant function of v): no
    # gradient flows into v, only into the reads of x that use y
    g = s2sgrad.grad(f)(XI.copy())
    np.testing.assert_allclose(g, _fd(f, XI), rtol=1e-6, atol=1e-6)


def test_store_into_integer_array_closed_form():
    y = np.zeros(4, dtype=int)
    y[0], y[1:3] = XI[0] * XI[1], XI[1:3]
    np.testing.assert_allclose(s2sgrad.grad(int_store)(XI.copy()), y * y)


@pytest.mark.parametrize("f", [int_store, int_add_at, float_store])
def test_store_into_integer_array_jvp_hvp(f):
    v = np.array([0.3, -0.2, 0.5, 1.1])
    out, t = s2sgrad.jvp(f)((XI.copy(),), (v,))
    e = 1e-6
    assert out == f(XI)
    np.testing.assert_allclose(t, (f(XI + e * v) - f(XI - e * v)) / (2 * e), rtol=1e-5,
                               atol=1e-6)
    gf = lambda x: _fd(f, x, 1e-5)  # noqa: E731
    ref = (gf(XI + 1e-4 * v) - gf(XI - 1e-4 * v)) / 2e-4
    np.testing.assert_allclose(s2sgrad.hvp(f)(XI.copy(), v), ref, rtol=1e-3, atol=1e-3)


# ------------------------------------- `astype(..., copy=False)` may be the array itself
def astype_no_copy_into(x):
    z = x * 2
    y = z.astype(float, copy=False)          # z itself: the store changes z
    np.add.at(y, 0, x[1])
    return np.sum(z ** 2)


def astype_no_copy_read(x):
    z = x * 2
    y = z.astype(float, copy=False)
    z[0] = x[1] * 3
    return np.sum(y ** 2)


def array_copy_none(x):
    z = x * 2
    y = np.array(z, copy=None)
    y[1] = x[0]
    return np.sum(z ** 2)


@pytest.mark.parametrize("f", [astype_no_copy_into, astype_no_copy_read, array_copy_none])
def test_copy_false_is_not_a_new_array(f):
    with pytest.raises(TransformError, match="share memory|another name|a view"):
        s2sgrad.grad(f)(X.copy())


def astype_copy(x):
    z = x * 2
    y = z.astype(float)                      # a new array (copy=True by default)
    np.add.at(y, 0, x[1])
    return np.sum(z ** 2) + np.sum(y ** 2)


def test_astype_copies():
    np.testing.assert_allclose(s2sgrad.grad(astype_copy)(X.copy()), _fd(astype_copy, X),
                               rtol=1e-6, atol=1e-6)


# ------------------- a second name of an array made anew in each loop step, then stored into
def alias_in_step_read_later(x):
    s = 0.0
    for i in range(3):
        y = np.zeros(4)
        z = y
        y[0] = x[i]
        s = s + np.sum(z * x)
    return s


def test_alias_in_the_same_step_is_refused():
    with pytest.raises(TransformError, match="another name"):
        s2sgrad.grad(alias_in_step_read_later)(X.copy())


def alias_of_earlier_steps(x):
    acc = None
    for i in range(3):
        y = np.zeros(4)
        np.add.at(y, np.array([i, i, 3]), x[:3] * x[i])
        acc = y if acc is None else acc + y * acc
    return np.sum(acc)


def growing(x):
    s = x[:1]
    for i in range(3):
        t = np.zeros(s.size * 2)
        np.add.at(t, np.arange(s.size) * 2, s * x[i])
        np.add.at(t, np.arange(s.size) * 2 + 1, s)
        s = t
    return np.sum(s * np.arange(8.0))


@pytest.mark.parametrize("f", [alias_of_earlier_steps, growing])
def test_names_of_earlier_steps_arrays(f):
    # the stores change this step's new array; the other names hold earlier steps'
    np.testing.assert_allclose(s2sgrad.grad(f)(X.copy()), _fd(f, X), rtol=1e-6, atol=1e-6)


# ------------------------------------------- np.add.at into a list raises as NumPy does
def add_at_list(x):
    y = [0.0, 0.0, 0.0]
    np.add.at(y, np.array([0, 0]), x[:2])
    return np.sum(np.array(y) * x[:3])


def test_add_at_into_a_list_raises_numpys_error():
    with pytest.raises(TypeError, match="first operand must be array"):
        add_at_list(X.copy())
    with pytest.raises(TypeError, match="first operand must be array"):
        s2sgrad.value_and_grad(add_at_list)(X.copy())
