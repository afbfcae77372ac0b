"""List, tuple and dict idioms: `xs.extend(ys)`, starred items in list and tuple displays
(`[*a, *b, x]`, `(*a, x)`) and `**` in dict displays (`{**p, "c": v}`, `{**p, **q}`).

`xs.extend(ys)` is list's `+=`: `xs += list(ys)`, differentiated where Python's change in
place is seen by no other name, and refused where it would be (another name for the
list, a helper extending its caller's list) or where `xs` is not known to be a list.
A starred display is the concatenation of copies of its starred items and of its plain
items; a dict display with `**` is the dict of its pairs in order (later keys win).
Each idiom is checked against centered finite differences (reverse mode) and a
directional finite difference (forward mode).
"""
import functools
import operator
from functools import reduce

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError

from support.numeric import assert_grad_matches

RNG = np.random.default_rng(3)
X = RNG.normal(size=4)


def check_jvp(f, x):
    v = RNG.normal(size=np.shape(x))
    out, tangent = s2sgrad.jvp(f)((x,), (v,))
    h = 1e-6
    expected = (f(x + h * v) - f(x - h * v)) / (2 * h)
    np.testing.assert_allclose(out, f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- extend
def extend_display(x):
    xs = [x[0]]
    xs.extend([2.0 * x[1], x[2] * x[3]])
    xs.extend((x[0] ** 2,))
    return sum(xs) * xs[2]


def extend_comprehension(x):
    xs = []
    xs.extend([np.sin(v) for v in x])
    xs.extend(v * v for v in x[:2])
    return xs[0] * xs[3] + sum(xs)


def extend_in_loop(x):
    rows = []
    for i in range(3):
        rows.extend([x[i] * x[i + 1], np.exp(x[i])])
    return sum(r * r for r in rows)


def extend_with_list(x):
    xs = [x[0], x[1]]
    ys = [x[2] * 3.0, x[3]]
    xs.extend(ys)
    return xs[0] * xs[2] + xs[3] * ys[1]


def extend_argument(xs, x):
    xs.extend([x, x * x])
    return sum(xs) * x


def extend_with_array_rows(x):
    xs = [np.sum(x)]
    xs.extend(np.reshape(x, (2, 2)))
    return xs[0] * np.sum(xs[1] * xs[2])


# ---------------------------------------------------------------- starred displays
def starred_list(x):
    a = [x[0], 2.0 * x[1]]
    b = (x[2] * x[3],)
    ys = [*a, *b, x[3] ** 2]
    return ys[0] * ys[2] + sum(ys)


def starred_tuple(x):
    a = [x[0], x[1]]
    t = (*a, x[2] * x[3])
    u = (x[0] ** 3, *t)
    return t[0] * t[2] + u[0] * u[3]


def starred_array(x):
    ys = [*x, 1.0]
    zs = (*np.reshape(x, (2, 2)),)
    return ys[0] * ys[3] + ys[4] + np.sum(zs[0] * zs[1])


def starred_only(x):
    ys = [*[x[0], x[1]]]
    return ys[0] * ys[1]


# ---------------------------------------------------------------- dict displays with **
def dict_merge(x):
    p = {"a": x[0], "b": 2.0 * x[1]}
    d = {**p, "c": x[2] * x[3]}
    return d["a"] * d["c"] + d["b"]


def dict_merge_two(x):
    p = {"a": x[0], "b": x[1]}
    q = {"b": x[2] ** 2, "c": x[3]}
    d = {**p, **q}
    return d["a"] * d["b"] + d["c"] * len(d)


def dict_merge_overrides(x):
    p = {"a": x[0], "b": x[1]}
    d = {"a": x[3], **p, "b": 3.0 * x[2]}
    return d["a"] * d["b"]


def dict_merge_argument(params, x):
    d = {**params, "scale": x}
    return d["w"] * d["scale"] + d["b"]


CASES = [extend_display, extend_comprehension, extend_in_loop, extend_with_list,
         extend_with_array_rows, starred_list, starred_tuple, starred_array, starred_only,
         dict_merge, dict_merge_two, dict_merge_overrides]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_gradient_matches_finite_differences(f):
    assert_grad_matches(f, X.copy())


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_tangent_matches_finite_differences(f):
    check_jvp(f, X.copy())


def test_extend_of_an_argument_list():
    xs = [1.0, 2.0]
    g_xs, g_x = s2sgrad.grad(extend_argument, wrt=(0, 1))(xs, 1.5)
    assert xs == [1.0, 2.0]          # the caller's list is left as it was
    assert g_xs == [1.5, 1.5]        # f = (Σxs + x + x²)·x
    assert g_x == pytest.approx(3.0 + 2 * 1.5 + 3 * 1.5 ** 2)


def test_dict_merge_of_an_argument_dict():
    params = {"w": 1.5, "b": -0.5}
    assert_grad_matches(dict_merge_argument, params, 2.0, wrt=1)
    g = s2sgrad.grad(dict_merge_argument)(params, 2.0)
    assert g == {"w": 2.0, "b": 1.0}


# ---------------------------------------------------------------- refusals
def extend_array(x):
    a = np.zeros(2) + x[0]
    a.extend([x[1]])
    return np.sum(a)


def extend_alias(x):
    xs = [x[0]]
    zs = xs
    xs.extend([x[1]])
    return sum(zs)


def _extend_helper(xs, v):
    xs.extend([v])
    return xs


def extend_in_helper(x):
    ys = [x[0]]
    zs = _extend_helper(ys, x[1])
    return sum(ys) + sum(zs)


def starred_target(x):
    first, *rest = [x[0], x[1], x[2]]
    return first * rest[0]


def starred_for_target(x):
    tot = 0.0
    for a, *b in [[x[0], x[1]], [x[2], x[3]]]:
        tot = tot + a * b[0]
    return tot


@pytest.mark.parametrize("f, message", [
    (extend_array, "not known to be a list"),
    (extend_alias, "changes `xs` in place"),
    (extend_in_helper, "changes its argument `xs` in place"),
    (starred_for_target, "starred expressions"),
], ids=lambda v: getattr(v, "__name__", "message"))
def test_unsupported_forms_are_refused(f, message):
    with pytest.raises(TransformError, match=message):
        s2sgrad.grad(f)(X.copy())


# ---------------------------------------------------------------- map
def _cube(v):
    return v ** 3


def map_lambda_summed(x):
    return sum(map(lambda v: v ** 2, x)) + max(map(lambda v: np.sin(v), x))


def map_function_listed(x):
    ys = list(map(np.tanh, x))
    return ys[0] * ys[2] + sum(map(_cube, x))


def map_two_iterables(x):
    w = [0.5, -1.0, 2.0]
    return sum(map(lambda a, b: a * b ** 2, w, x)) + sum(map(pow, x, [2, 3, 1]))


def map_in_a_loop_and_unpacked(x):
    total = 0.0
    for v in map(lambda t: t * x[0], x):
        total = total + v ** 2
    a, b, c = map(np.exp, x)
    return total + a * b - c


@pytest.mark.parametrize("f", [map_lambda_summed, map_function_listed, map_two_iterables,
                               map_in_a_loop_and_unpacked], ids=lambda f: f.__name__)
def test_map_consumed_whole_is_its_list_comprehension(f):
    assert_grad_matches(f, np.array([0.3, -0.8, 1.1]))


def map_kept(x):
    m = map(np.sin, x)
    return sum(list(m))


def test_a_map_object_kept_is_still_refused():
    with pytest.raises(TransformError, match="map"):
        s2sgrad.grad(map_kept)(np.array([0.3, -0.8, 1.1]))


# ---------------------------------------------------------------- functools.reduce
def reduce_matrix_chain(x):
    A = np.reshape(x[:4], (2, 2))
    B = np.reshape(x[4:8], (2, 2))
    P = functools.reduce(np.dot, [A, B, A.T])
    Q = functools.reduce(lambda a, b: a @ b + 0.5 * b, [B, A, B])
    return np.sum(P ** 2) + np.sum(np.tanh(Q))


def reduce_with_an_initial_value(x):
    total = functools.reduce(operator.add, [x[0] ** 2, x[1] * x[2], np.sin(x[3])], 0.5)
    return functools.reduce(operator.mul, x[4:], total)


def reduce_over_rows_in_a_loop(x):
    M = np.reshape(x, (4, 2))
    out = 0.0
    for k in range(2):
        r = reduce(np.maximum, M * (k + 1))
        out = out + np.sum(r)
    return out


@pytest.mark.parametrize("f", [reduce_matrix_chain, reduce_with_an_initial_value,
                               reduce_over_rows_in_a_loop], ids=lambda f: f.__name__)
def test_reduce_is_the_loop_it_runs(f):
    assert_grad_matches(f, np.array([0.3, -0.8, 1.1, 0.4, -0.6, 0.9, 1.3, -0.2]))


def reduce_inside_an_expression(x):
    return np.sum(reduce(np.maximum, np.reshape(x, (4, 2))))


def test_reduce_inside_an_expression_is_refused_at_the_call():
    with pytest.raises(TransformError, match="reduce"):
        s2sgrad.grad(reduce_inside_an_expression)(np.arange(8.0))


# ------------------------------------------- a list read both as a list and as an array

def list_summed_and_averaged(x):
    parts = [x[0], x[1] * 2.0, x[2] ** 2]
    return np.sum(sum(parts) ** 2) + np.mean(parts)


def list_of_numbers_both_ways(x):
    parts = [x[0] * x[1], x[2]]
    return sum(parts) * np.mean(parts) + np.max(parts)


@pytest.mark.parametrize("f", [list_summed_and_averaged, list_of_numbers_both_ways])
def test_a_list_read_by_numpy_as_an_array_and_by_python_as_a_list(f):
    """The list's adjoint from np.mean is one array, from sum() a list: they add."""
    assert_grad_matches(f, RNG.normal(size=(3, 4)) if f is list_summed_and_averaged
                        else RNG.normal(size=3))


# ------------------------------------------------------- starred names in an assignment

def first_and_rest(x):
    first, *rest = x
    *init, last = rest
    return first * last + sum(init) ** 2


def middle_of_a_list(x):
    a, *b, c = list(x)
    return a * c + sum(v ** 2 for v in b)


def head_of_itself(x):
    xs = [x[0] * 2.0, x[1], x[2] ** 2, x[3]]
    head, *xs = xs
    return head * sum(xs)


def rows_unpacked(m):
    top, *others = m
    return np.sum(top * sum(others))


def empty_star(x):
    a, *mid, b = x[:2]
    return a * b + len(mid)


@pytest.mark.parametrize("f", [first_and_rest, middle_of_a_list, head_of_itself,
                               empty_star, starred_target])
def test_starred_names_in_assignments(f):
    assert_grad_matches(f, RNG.normal(size=5))


def test_starred_rows_of_a_matrix():
    assert_grad_matches(rows_unpacked, RNG.normal(size=(3, 2)))
