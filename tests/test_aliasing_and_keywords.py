"""Aliasing through in-place operators, keyword arguments the rules do not handle,
decorators, closure cells rebound after compilation, the builtin `sum` of an array and
the source check of nested helpers: each either differentiated as Python runs it
(checked against finite differences) or refused at transform time."""
import functools

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError
from tests.numeric import assert_value_and_grad_matches, numerical_grad


# ------------------------------------------------------------- builtin sum of an array

def builtin_sum_vector(x):
    return sum(x ** 2) + sum(np.sin(x))


def builtin_sum_rows(A):
    return np.sum(sum(A * A) * np.arange(1.0, 4.0))


def builtin_sum_rows_start(A, c):
    return np.sum(sum(A * A, c * np.ones(3)) ** 2)


def builtin_sum_of_sum(A):
    return sum(sum(A ** 3))


SUM_CASES = [
    pytest.param(builtin_sum_vector, (np.array([0.3, -1.2, 0.7]),), 0, id="vector"),
    pytest.param(builtin_sum_rows, (np.arange(6.0).reshape(2, 3) / 5,), 0, id="rows"),
    pytest.param(builtin_sum_rows_start, (np.arange(6.0).reshape(2, 3) / 5, 0.7), (0, 1),
                 id="rows_start"),
    pytest.param(builtin_sum_of_sum, (np.arange(6.0).reshape(3, 2) / 5,), 0, id="sum_of_sum"),
]


@pytest.mark.parametrize("f, args, wrt", SUM_CASES)
def test_builtin_sum_of_an_array(f, args, wrt):
    assert_value_and_grad_matches(f, *args, wrt=wrt)


@pytest.mark.parametrize("f, args, wrt", SUM_CASES)
def test_builtin_sum_of_an_array_forward(f, args, wrt):
    first = wrt if isinstance(wrt, int) else wrt[0]
    x = args[first]
    t = np.ones_like(x) if isinstance(x, np.ndarray) else 1.0
    tangents = tuple(t if i == first else np.zeros_like(a) if isinstance(a, np.ndarray)
                     else 0.0 for i, a in enumerate(args))
    _, d = s2sgrad.jvp(f)(args, tangents)
    expected = np.sum(numerical_grad(f, args, first) * t)
    assert abs(d - expected) <= 1e-6 + 1e-5 * abs(expected)
