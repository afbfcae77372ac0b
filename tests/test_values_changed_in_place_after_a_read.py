"""A silently wrong gradient, fixed: the adjoint of `a * b` with respect to `a` is `b`
times the seed; where a loop's seed is folded out (or is 1.0), `a_bar = 1.0 * b` was
simplified to `a_bar = b`, a second name for b, and the backward pass then undid the
step's `b[0] = ...` in place (`restore_item(b, 0, ...)`) before a_bar was read: a_bar
read b's old first entry. A value changed in place later keeps its copy
(`optimize.algebra.simplify`). Checked against centred finite differences."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches

R = np.random.default_rng(37)


def store_after_the_product(W, xs):
    h = np.zeros(W.shape[0])
    out = 0.0
    for t in range(xs.shape[0]):
        a = np.tanh(W @ h + xs[t])
        b = a.copy()
        b[0] = b[0] * 2.0
        h = b
        out = out + np.sum(a * b)
    return out


def store_then_product_outside_a_loop(x):
    b = np.sin(x)
    c = b.copy()
    c[1] = 3.0 * c[1]
    return np.sum(x * c) + np.sum(c)


def appended_after_the_product(x):
    parts = [x * 2.0]
    total = np.sum(x * parts[0])
    parts.append(x ** 2)
    return total + np.sum(parts[1])


@pytest.mark.parametrize("f, args, wrt", [
    (store_after_the_product, (0.4 * R.standard_normal((3, 3)), R.standard_normal((5, 3))),
     0),
    (store_then_product_outside_a_loop, (R.standard_normal(4),), 0),
    (appended_after_the_product, (R.standard_normal(3),), 0),
], ids=["loop", "straight", "appended"])
def test_gradient_matches_finite_differences(f, args, wrt):
    assert_grad_matches(f, *args, wrt=wrt)
    got = s2sgrad.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, s2sgrad.grad(f, wrt=wrt, optimize=False)(*args),
                               rtol=1e-12, atol=1e-12)
