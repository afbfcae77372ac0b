"""Generated code for loops, as a person would write it.

Each case checks the generated source (what is saved per step, which runtime helpers
remain) and the gradient against centered finite differences in float64.
"""
import math

import numpy as np

import s2sgrad

from support.numeric import assert_grad_matches


def source_of(f, *args, wrt=0):
    g = s2sgrad.grad(f, wrt=wrt)
    g(*args)
    return g.source


# ------------------------------------------------- shapes through np.roll and np.flip

def diffusion(psi, D, steps):
    for t in range(steps):
        lap = np.roll(psi, 1) - 2.0 * psi + np.roll(psi, -1)
        psi = psi + D * lap
    return np.sum(psi * psi)


def test_stencil_with_roll_keeps_one_shape():
    """psi keeps its shape through np.roll: no unbroadcast, no saved shapes."""
    psi = np.linspace(0.0, 1.0, 12) ** 2
    src = source_of(diffusion, psi, 0.1, 5, wrt=(0, 1))
    assert "unbroadcast" not in src and "ShapeOf" not in src
    assert_grad_matches(diffusion, psi, 0.1, 5, wrt=(0, 1))


def flipped(x, w):
    y = x
    for i in range(3):
        y = np.flip(y) * w + y
    return np.sum(y * y)


def test_flip_keeps_the_shape():
    x = np.array([0.3, -0.2, 0.9, 1.1])
    src = source_of(flipped, x, 0.7, wrt=(0, 1))
    assert "unbroadcast" not in src
    assert_grad_matches(flipped, x, 0.7, wrt=(0, 1))


def test_roll_of_a_matrix_broadcast_against_a_row_keeps_unbroadcast():
    """A row added to a rolled matrix still sums its adjoint over the rows."""
    def f(X, b):
        Y = X
        for i in range(2):
            Y = np.roll(Y, 1, axis=0) + b
        return np.sum(Y * Y)
    X = np.arange(12.0).reshape(4, 3) / 7
    b = np.array([0.1, -0.3, 0.2])
    assert_grad_matches(f, X, b, wrt=(0, 1))
