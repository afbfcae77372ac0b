"""Everyday idioms that used to be refused: np.diff's prepend=/append=, math.prod, divmod,
`**opts` of a dict literal, `zip(*pairs)` of a literal list.

Every gradient is checked against an independent oracle: centred finite differences in
float64 (support.numeric) or a closed form. Where the keys or the length are not known
at transform time, the call stays refused with a located TransformError."""
import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError
from support.numeric import assert_grad_matches, numerical_grad

X = np.array([0.3, 1.2, -0.7, 2.0])
M = np.array([[0.4, -1.1, 0.9, 0.2], [1.3, 0.5, -0.6, 0.8], [-0.2, 0.7, 1.5, -0.9]])
V = np.array([0.5, -1.0, 0.25, 2.0])


def _fd_jvp(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def _fd_hvp(f, x, v, h=1e-4):
    g = lambda z: numerical_grad(f, (z,), 0)  # noqa: E731
    return (g(x + h * v) - g(x - h * v)) / (2 * h)


# ---------------------------------------------------------------- np.diff(prepend=, append=)

def diff_number_ends(x):
    return np.sum(np.diff(x, prepend=0.0) ** 2) + np.sum(np.diff(x, append=1.5) ** 3)


def diff_end_of_input(x):
    return np.sum(np.diff(x, prepend=x[0] * 2.0, append=x[-1]) ** 2)


def diff_array_ends(x):
    return np.sum(np.sin(np.diff(x, prepend=np.array([0.5, -0.25]), append=x[:2] * 3.0)))


def diff_list_end(x):
    return np.sum(np.diff(x, prepend=[x[1] * 2.0, 1.0]) ** 2)


def diff_twice(x):
    return np.sum(np.diff(x, n=2, prepend=x[:2] ** 2, append=0.5 * x[1]) ** 2)


def diff_rows(m):
    return np.sum(np.diff(m, axis=1, prepend=m[:, :1] ** 2, append=0.5) ** 3)


def diff_columns(m):
    return np.sum(np.tanh(np.diff(m, n=2, axis=0, prepend=np.ones((1, 4)), append=m[:1])))


def diff_zero_times(x):
    return np.sum(np.diff(x, n=0, prepend=x[0] * 5.0) ** 2)   # x itself: no prepend


def diff_positional(x):
    return np.sum(np.diff(x, 1, -1, x[0], x[-1] * x[0]) ** 2)


@pytest.mark.parametrize("f, x", [(diff_number_ends, X), (diff_end_of_input, X),
                                  (diff_array_ends, X), (diff_list_end, X),
                                  (diff_twice, X), (diff_rows, M), (diff_columns, M),
                                  (diff_positional, X), (diff_zero_times, X)])
def test_diff_with_prepend_and_append(f, x):
    assert_grad_matches(f, x)


def test_diff_without_ends_keeps_its_adjoint():
    def f(m):
        return np.sum(np.diff(m, n=2, axis=0) ** 2)
    assert_grad_matches(f, M)
    assert "diff_grad(v1_bar, m, 2, 0)" in s2sgrad.source(f)


def test_diff_end_closed_form():
    # Σ diff([p, x0, …, x_last]) telescopes to x_last - p
    def f(x, p):
        return np.sum(np.diff(x, prepend=p))          # = x[-1] - p
    gx, gp = s2sgrad.grad(f, wrt=(0, 1))(X, 0.7)
    np.testing.assert_allclose(gx, [0.0, 0.0, 0.0, 1.0])
    assert gp == pytest.approx(-1.0)


@pytest.mark.parametrize("f, x", [(diff_end_of_input, X), (diff_twice, X), (diff_rows, M)])
def test_diff_with_ends_jvp_and_hvp(f, x):
    v = np.linspace(-1.0, 1.5, x.size).reshape(x.shape)
    value, t = s2sgrad.jvp(f)((x,), (v,))
    assert value == pytest.approx(f(x))
    assert t == pytest.approx(_fd_jvp(f, x, v), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, v), _fd_hvp(f, x, v), rtol=1e-4, atol=1e-4)


def test_diff_with_ends_vmap():
    xs = np.stack([X, 2 * X, -X + 0.3])
    per_example = np.stack([numerical_grad(diff_rows, (np.outer(r, [1.0, -0.5]).T,), 0)
                            for r in xs])
    got = s2sgrad.vmap(s2sgrad.grad(diff_rows))(np.stack([np.outer(r, [1.0, -0.5]).T
                                                          for r in xs]))
    np.testing.assert_allclose(got, per_example, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- math.prod

def prod_of_numbers(x):
    return math.prod([x[0], x[1], 2.0]) + x[2]


def prod_with_start(x):
    return math.prod([x[0], x[1], x[2]], start=-1.5)


def prod_start_of_input(x):
    return math.prod((x[0], x[2]), start=x[1] * 3.0)


def prod_of_generator(x):
    return math.prod((np.sin(v) for v in x), start=0.5)


def prod_of_arrays(x):
    return np.sum(math.prod([x, np.cos(x), x[1]]))


def prod_of_rows(m):
    return np.sum(math.prod(m, start=m[0]))


@pytest.mark.parametrize("f, x", [(prod_of_numbers, X), (prod_with_start, X),
                                  (prod_start_of_input, X), (prod_of_generator, X),
                                  (prod_of_arrays, X), (prod_of_rows, M)])
def test_math_prod(f, x):
    assert_grad_matches(f, x)


def test_math_prod_with_a_zero_closed_form():
    # d/dxᵢ Π x = Π_{j≠i} xⱼ, exact where another item (or the item itself) is zero
    def f(x):
        return math.prod([x[0], x[1], x[2]])
    x = np.array([0.0, 2.0, -3.0])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), [-6.0, 0.0, 0.0])
    x = np.array([0.0, 0.0, -3.0])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), [0.0, 0.0, 0.0])


def test_math_prod_of_nothing_is_its_start():
    def f(x):
        return math.prod([], start=x[0] * 2.0) + x[1]
    np.testing.assert_allclose(s2sgrad.grad(f)(X), [2.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("f", [prod_of_numbers, prod_start_of_input, prod_of_generator,
                               prod_of_arrays])
def test_math_prod_jvp_and_hvp(f):
    value, t = s2sgrad.jvp(f)((X,), (V,))
    assert value == pytest.approx(f(X))
    assert t == pytest.approx(_fd_jvp(f, X, V), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(s2sgrad.hvp(f)(X, V), _fd_hvp(f, X, V), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- divmod

def divmod_by_number(x):
    q, r = divmod(x[0], 0.7)
    return r * x[1] + q


def divmod_by_input(x):
    q, r = divmod(x[0] * 3.0, x[1])
    return r ** 2 + q * x[2]


def divmod_of_array(x):
    qr = divmod(x, 0.45)
    return np.sum(qr[1] ** 2 + qr[0] * x)


# away from the jumps of a // b; signs of a and b in every combination
POINTS = [np.array([2.3, 0.7, -0.35, 1.1]), np.array([-2.3, 0.7, 1.1, 0.2]),
          np.array([2.3, -0.8, 1.1, -0.3]), np.array([-2.35, -0.8, 0.35, 2.0])]


@pytest.mark.parametrize("f", [divmod_by_number, divmod_by_input, divmod_of_array])
@pytest.mark.parametrize("x", POINTS)
def test_divmod(f, x):
    assert_grad_matches(f, x)


def test_divmod_closed_form():
    # r = a - b·floor(a/b): dr/da = 1, dr/db = -floor(a/b); q is piecewise constant
    def f(a, b):
        q, r = divmod(a, b)
        return r + 10.0 * q
    for a, b in [(2.3, 0.7), (-2.3, 0.7), (2.3, -0.7), (-2.3, -0.7)]:
        ga, gb = s2sgrad.grad(f, wrt=(0, 1))(a, b)
        assert ga == pytest.approx(1.0)
        assert gb == pytest.approx(-math.floor(a / b))


@pytest.mark.parametrize("x", POINTS[:2])
def test_divmod_jvp_and_hvp(x):
    f = divmod_by_input
    value, t = s2sgrad.jvp(f)((x,), (V,))
    assert value == pytest.approx(f(x))
    assert t == pytest.approx(_fd_jvp(f, x, V), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(s2sgrad.hvp(f)(x, V), _fd_hvp(f, x, V), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- **opts of a dict display

def _loss(w, scale=1.0, shift=0.0):
    return scale * np.sum((w - shift) ** 2)


def kwargs_of_name(x):
    opts = {"scale": 2.0, "shift": 0.5}
    return _loss(x, **opts)


def kwargs_of_display(x):
    return _loss(x, **{"scale": x[0], "shift": x[1] * 2.0})


def kwargs_depending_on_input(x):
    opts = {"scale": x[2], "shift": 0.5}
    return _loss(x, **opts) + opts["scale"] ** 2


def kwargs_with_named_argument(x):
    opts = {"shift": np.cos(x[3])}
    return _loss(x, scale=x[1], **opts)


def kwargs_to_numpy(x):
    opts = {"axis": 0}
    return np.sum(np.cumsum(x * x, **opts))


@pytest.mark.parametrize("f", [kwargs_of_name, kwargs_of_display, kwargs_depending_on_input,
                               kwargs_with_named_argument, kwargs_to_numpy])
def test_kwargs_of_a_dict_display(f):
    assert_grad_matches(f, X)


def test_kwargs_closed_form():
    # d/dw of 2·Σ(w - 0.5)² = 4·(w - 0.5)
    np.testing.assert_allclose(s2sgrad.grad(kwargs_of_name)(X), 4.0 * (X - 0.5))


def test_kwargs_jvp():
    f = kwargs_depending_on_input
    value, t = s2sgrad.jvp(f)((X,), (V,))
    assert t == pytest.approx(_fd_jvp(f, X, V), rel=1e-5, abs=1e-6)


def kwargs_changed(x):
    opts = {"scale": 2.0}
    opts["shift"] = x[0]
    return _loss(x, **opts)


def kwargs_updated(x):
    opts = {"scale": 2.0}
    opts.update(shift=x[0])
    return _loss(x, **opts)


def kwargs_bound_twice(x):
    opts = {"scale": 2.0}
    if x[0] > 0:
        opts = {"shift": x[0]}
    return _loss(x, **opts)


def kwargs_of_parameter(x, opts):
    return _loss(x, **opts)


@pytest.mark.parametrize("f", [kwargs_changed, kwargs_updated, kwargs_bound_twice])
def test_kwargs_whose_keys_are_not_known_stay_refused(f):
    with pytest.raises(TransformError, match=r"`\*\*kwargs` in calls is not supported") as e:
        s2sgrad.grad(f)(X)
    assert "test_everyday_idioms.py" in str(e.value)


def test_kwargs_of_a_parameter_stay_refused():
    with pytest.raises(TransformError, match=r"`\*\*kwargs` in calls is not supported"):
        s2sgrad.grad(kwargs_of_parameter)(X, {"scale": 2.0})


def test_keyword_given_twice_is_refused():
    def f(x):
        opts = {"scale": 2.0}
        return _loss(x, scale=1.0, **opts)
    with pytest.raises(TransformError, match="given twice"):
        s2sgrad.grad(f)(X)


# ---------------------------------------------------------------- zip(*pairs)

def zip_of_name(x):
    pairs = [(x[0], x[1]), (x[2], x[0])]
    a, b = zip(*pairs)
    return sum(a) * sum(b)


def zip_of_display(x):
    a, b = zip(*[(x[0], x[1]), (x[2], x[0])])
    return sum(a) * sum(b)


def zip_of_three_pairs(x):
    pairs = [(x[0], x[1]), (x[2], x[3]), (x[1], 2.0)]
    xs, ys = zip(*pairs)
    return sum(u * v for u, v in zip(xs, ys)) + np.sum(np.array(xs) ** 2)


def zip_of_tuple_in_loop(x):
    rows = (x[:2], x[2:])
    for a, b in zip(*rows):
        x = x * a + b
    return np.sum(x)


def zip_of_rows_read(x):
    rows = [x[:2] * 2.0, np.sin(x[2:])]
    first, second = zip(*rows)
    return first[0] * second[1] + rows[1][0]


def star_of_tuple_name(x):
    xs = (x, x[::-1] * 2.0)
    return np.sum(np.maximum(*xs))


@pytest.mark.parametrize("f", [zip_of_name, zip_of_display, zip_of_three_pairs,
                               zip_of_tuple_in_loop, zip_of_rows_read, star_of_tuple_name])
def test_zip_of_a_known_number_of_sequences(f):
    assert_grad_matches(f, X)


def test_zip_closed_form():
    # (x0 + x2)·(x1 + x0): d/dx = [x1 + x0 + x0 + x2, x0 + x2, x1 + x0, 0]
    x0, x1, x2, _ = X
    np.testing.assert_allclose(s2sgrad.grad(zip_of_name)(X),
                               [x1 + 2 * x0 + x2, x0 + x2, x1 + x0, 0.0])


def test_zip_jvp_and_hvp():
    f = zip_of_three_pairs
    value, t = s2sgrad.jvp(f)((X,), (V,))
    assert t == pytest.approx(_fd_jvp(f, X, V), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(s2sgrad.hvp(f)(X, V), _fd_hvp(f, X, V), rtol=1e-4, atol=1e-4)


def zip_of_appended(x):
    pairs = [(x[0], x[1])]
    pairs.append((x[2], x[0]))
    a, b = zip(*pairs)
    return sum(a) * sum(b)


def zip_of_changed_length(x):
    pairs = [(x[0], x[1]), (x[2], x[0])]
    pairs[1:] = []
    a, = zip(*pairs)
    return sum(a)


def zip_of_parameter(x, pairs):
    a, b = zip(*pairs)
    return sum(a) * sum(b) * x[0]


@pytest.mark.parametrize("f", [zip_of_appended, zip_of_changed_length])
def test_zip_of_unknown_length_stays_refused(f):
    with pytest.raises(TransformError, match=r"`zip` called with `\*`") as e:
        s2sgrad.grad(f)(X)
    assert "test_everyday_idioms.py" in str(e.value)


def test_zip_of_a_parameter_stays_refused():
    with pytest.raises(TransformError, match=r"`zip` called with `\*`"):
        s2sgrad.grad(zip_of_parameter)(X, [(1.0, 2.0), (3.0, 4.0)])
