"""vjp, jvp, hvp, hessian, jacobian and grad(grad) of a function taking `*args` or
`**kwargs`: only grad packs such calls, the others bound the arguments to the wrong
parameters (hvp gave a wrong Hessian-vector product without a word, vjp and jvp
crashed): they refuse now, saying what to write."""
import numpy as np
import pytest

import s2sgrad

A, B = np.ones(3), np.arange(3.0)


def cubes(*ws):
    return sum(np.sum(w ** 3) for w in ws)


def scaled(x, **opts):
    return np.sum(x ** 2) * opts.get("s", 1.0)


def cube_first(*xs):
    return xs[0] ** 3


@pytest.mark.parametrize("call", [
    lambda: s2sgrad.hvp(cubes)(A, B, A),
    lambda: s2sgrad.hessian(cubes)(A, B),
    lambda: s2sgrad.jacobian(cubes)(A, B),
    lambda: s2sgrad.vjp(cubes, wrt=(0, 1))(A, B),
    lambda: s2sgrad.jvp(cubes)((A, B), (A, B)),
    lambda: s2sgrad.vjp(scaled)(A, s=2.0),
    lambda: s2sgrad.jvp(scaled)((A,), (A,)),
    lambda: s2sgrad.jvp(s2sgrad.grad(cubes))((A, B), (A, B)),
])
def test_refused_with_what_to_write(call):
    with pytest.raises(s2sgrad.S2SGradError, match="named parameters"):
        call()


def test_grad_still_packs_them():
    ga, gb = s2sgrad.grad(cubes, wrt=(0, 1))(A, B)
    np.testing.assert_allclose(ga, 3 * A ** 2)
    np.testing.assert_allclose(gb, 3 * B ** 2)
    np.testing.assert_allclose(s2sgrad.grad(scaled)(A, s=2.0), 4 * A)


def test_named_parameters_work():
    def cubes2(a, b):
        return np.sum(a ** 3) + np.sum(b ** 3)
    np.testing.assert_allclose(s2sgrad.hvp(cubes2)(A, B, A), 6 * A * A)
