"""`optimize.kinds.index_adjoints` on loops: an adjoint zero before a loop whose steps
only add into it at basic indices (a convolution's taps `x[:, j:j + m]`, `w[j]`) is one
array made before the loop and updated in place, as by hand. Gradients against centred
finite differences, optimized and not, and what the generated code does."""
import numpy as np
import pytest

import s2sgrad

from support.numeric import numerical_grad


def conv(w, x, target):
    m = x.shape[1] - w.shape[0] + 1
    y = w[0] * x[:, 0:m]
    for j in range(1, w.shape[0]):
        y = y + w[j] * x[:, j:j + m]
    return np.sum((np.tanh(y) - target) ** 2)


def taps_by_index_array(w, x, idx):
    total = 0.0
    for j in range(3):
        total = total + np.sum(w[idx] * x[j])    # idx repeats a position: np.add.at
    return total


def accumulator_read_in_the_loop(w, x):
    total = 0.0
    for j in range(w.shape[0]):
        total = total + w[j] * np.sum(x * w)     # w's adjoint gets whole arrays too
    return total


def stencil(u):
    s = 0.0
    for i in range(1, u.shape[0] - 1):
        s = s + (u[i - 1] - 2.0 * u[i] + u[i + 1]) ** 2
    return s


CASES = [
    (conv, lambda r: (r.standard_normal(3), r.standard_normal((2, 9)),
                      r.standard_normal((2, 7))), (0, 1)),
    (taps_by_index_array, lambda r: (r.standard_normal(4), r.standard_normal((3, 5)),
                                     np.array([0, 2, 2, 1, 0])), 0),
    (accumulator_read_in_the_loop, lambda r: (r.standard_normal(4), r.standard_normal(4)),
     (0, 1)),
    (stencil, lambda r: (r.standard_normal(8),), 0),
]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("f, make, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_against_finite_differences(f, make, wrt, optimize):
    args = make(np.random.default_rng(7))
    got = s2sgrad.grad(f, wrt=wrt, optimize=optimize)(*args)
    expected = numerical_grad(f, args, wrt)
    got = got if isinstance(wrt, tuple) else (got,)
    expected = expected if isinstance(wrt, tuple) else (expected,)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def _code(f, wrt, make):
    g = s2sgrad.grad(f, wrt=wrt)
    g(*make(np.random.default_rng(7)))
    return "\n".join(line for line in g.source.splitlines()
                     if not line.strip().startswith("#"))


def test_convolution_taps_update_arrays_made_before_the_loop():
    code = _code(*[(f, w, m) for f, m, w in CASES if f is conv][0])
    assert "w_bar = np.zeros_like(w)" in code and "x_bar = np.zeros_like(x)" in code
    assert "w_bar[j] += " in code and "x_bar[:, j:" in code and "add_at" not in code


def test_an_index_array_keeps_add_at():
    code = _code(*[(f, w, m) for f, m, w in CASES if f is taps_by_index_array][0])
    assert "add_at" in code


def test_an_accumulator_read_in_the_loop_keeps_add_at():
    code = _code(*[(f, w, m) for f, m, w in CASES if f is accumulator_read_in_the_loop][0])
    assert "w_bar[j] += " not in code
