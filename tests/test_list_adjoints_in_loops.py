"""The adjoint of a list of arrays read at each step of a loop (`for x in xs`, `pts[i]`,
a list of layers) is updated in place at each step where the optimizer proved nobody
else holds it (`runtime.add_at(..., in_place=True)` on a list), not copied: the
gradients below are checked against centred finite differences, including lists whose
items are read twice in a step, read again after the loop, or shared with another
name, where a list updated in place would show the change to its other holder."""
import numpy as np
import pytest

import s2sgrad
from s2sgrad.runtime.core import add_at

R = np.random.default_rng(5)


def leaf_differences(f, tree, *rest, eps=1e-6):
    """Centred finite differences of f with respect to every array in `tree` (a list of
    arrays or of tuples of arrays), as a tree of the same structure."""
    def rebuilt(path, k, delta):
        out = []
        for i, item in enumerate(tree):
            parts = list(item) if isinstance(item, tuple) else [item]
            parts = [p.copy() for p in parts]
            if i == path[0]:
                parts[path[1]].flat[k] += delta
            out.append(tuple(parts) if isinstance(item, tuple) else parts[0])
        return out
    grads = []
    for i, item in enumerate(tree):
        parts = list(item) if isinstance(item, tuple) else [item]
        gs = []
        for j, p in enumerate(parts):
            g = np.zeros_like(p)
            for k in range(p.size):
                g.flat[k] = (f(rebuilt((i, j), k, eps), *rest)
                             - f(rebuilt((i, j), k, -eps), *rest)) / (2 * eps)
            gs.append(g)
        grads.append(tuple(gs) if isinstance(item, tuple) else gs[0])
    return grads


def assert_grad_matches(f, tree, *rest):
    got = s2sgrad.grad(f)(tree, *rest)
    want = leaf_differences(f, tree, *rest)
    assert type(got) is list and len(got) == len(want)
    for g, w in zip(got, want):
        for a, b in zip(g if isinstance(g, tuple) else (g,), w if isinstance(w, tuple) else (w,)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def each_item(xs):
    s = 0.0
    for x in xs:
        s = s + np.sum(np.sin(x) ** 2)
    return s


def by_index_twice(pts):
    s = 0.0
    for i in range(len(pts)):
        s = s + np.sum(pts[i] * pts[i]) + np.sum(pts[i] * pts[len(pts) - 1 - i])
    return s


def read_after_the_loop(xs):
    s = 0.0
    for x in xs:
        s = s + np.sum(x ** 3)
    return s + np.sum(xs[0] * xs[-1])


def layers(params, X):
    h = X
    for W, b in params:
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


def aliased(xs):
    ys = xs
    s = 0.0
    for i in range(len(xs)):
        s = s + np.sum(xs[i] ** 2) * np.sum(ys[i])
    return s


ITEMS = [R.standard_normal(3) for _ in range(5)]


@pytest.mark.parametrize("f", [each_item, by_index_twice, read_after_the_loop, aliased],
                         ids=lambda f: f.__name__)
def test_list_of_arrays(f):
    assert_grad_matches(f, [x.copy() for x in ITEMS])


def test_list_of_layers():
    params = [(0.5 * R.standard_normal((4, 3)), R.standard_normal(3)),
              (0.5 * R.standard_normal((3, 2)), R.standard_normal(2))]
    assert_grad_matches(layers, params, R.standard_normal((5, 4)))


def test_in_place_update_of_a_list_adjoint_keeps_its_length_and_items():
    xs = [np.zeros(2), np.zeros(2), np.zeros(2)]
    g = add_at(0.0, xs, 1, np.ones(2), True)
    same = add_at(g, xs, 1, np.ones(2), True)
    assert same is g and len(g) == 3 and np.array_equal(g[1], [2.0, 2.0])
    # a tuple's adjoint is a new tuple; without in_place, a new list
    t = add_at(0.0, tuple(xs), 0, np.ones(2), True)
    assert isinstance(t, tuple) and add_at(g, xs, 0, np.ones(2)) is not g
