"""Library functions that change a value passed to them: `random.shuffle(ys)`,
`heapq.heapify(ys)`, `heapq.heappop(ys)`, `bisect.insort(ys, v)`, `operator.setitem`,
`operator.iadd(y, x)`, and methods taken from a mutable type and called with the object
(`np.ndarray.sort(y)`, `np.ndarray.fill(y, 1.0)`, `list.reverse(ys)`). A bare call was
kept for the forward pass only, and `z = np.ndarray.sort(y)` was read as np.sort: the
trace took the value for unchanged, a silently wrong gradient. Refused where written."""
import bisect
import heapq
import operator
import random

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError


def shuffled(x):
    y = [x[0], x[1], x[2]]
    random.shuffle(y)
    return y[0] * 1 + y[1] * 2 + y[2] * 3


def heap(x):
    y = [x[0], x[1], x[2]]
    heapq.heapify(y)
    return y[0] * 1 + y[1] * 2 + y[2] * 3


def heap_popped(x):
    y = [x[0], x[1], x[2]]
    s = heapq.heappop(y)
    return s * 5 + y[0] * 2 + y[1] * 3


def inserted_in_order(x):
    y = [x[0], x[1]]
    bisect.insort(y, x[2])
    return y[0] * 1 + y[1] * 2 + y[2] * 3


def set_by_operator(x):
    y = x * 1.0
    operator.setitem(y, 0, 5.0)
    return np.sum(y * x)


def added_by_operator(x):
    y = x * 1.0
    operator.iadd(y, x)
    return np.sum(y * x)


def sorted_by_the_class(x):
    y = x * 1.0
    np.ndarray.sort(y)
    return np.sum(y * np.arange(3))


def sorted_by_the_class_and_assigned(x):
    y = x * 1.0
    z = np.ndarray.sort(y)
    return np.sum(y * np.arange(3))


def filled_by_the_class(x):
    y = x * 1.0
    np.ndarray.fill(y, 1.0)
    return np.sum(y * x)


def reversed_by_the_class(x):
    y = [x[0], x[1], x[2]]
    list.reverse(y)
    return y[0] * 1 + y[1] * 2 + y[2] * 3


@pytest.mark.parametrize("f", [
    shuffled, heap, heap_popped, inserted_in_order, set_by_operator, added_by_operator,
    sorted_by_the_class, sorted_by_the_class_and_assigned, filled_by_the_class,
    reversed_by_the_class], ids=lambda f: f.__name__)
def test_refused_where_written(f):
    with pytest.raises(TransformError, match="changes its argument in place") as info:
        s2sgrad.grad(f)(np.array([0.5, -1.0, 2.0]))
    assert "assign it to a name" in str(info.value)


def test_reading_methods_and_other_calls_still_differentiate():
    def f(x):
        y = [x[0], x[1]]
        print("", end="")
        return np.sum(x * x) + operator.add(y[0], y[1]) + operator.mul(x[2], 3.0)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(s2sgrad.grad(f)(x), 2 * x + np.array([1.0, 1.0, 3.0]))


class Normalizer:
    """A global object whose methods change the array they are given."""

    def __init__(self, mu):
        self.mu = mu

    def apply_(self, v):
        v -= self.mu
        v *= 2.0

    def store_(self, v, value):
        v[0] = value

    @classmethod
    def double_(cls, v):
        v *= 2.0


NORMALIZER = Normalizer(np.array([0.1, 0.2, 0.3]))


def normalized_by_a_method(x):
    y = x * 1.0
    NORMALIZER.apply_(y)
    return np.sum(y * x)


def stored_by_a_method(x):
    y = x * 1.0
    NORMALIZER.store_(y, x[1] * 3)
    return np.sum(y * x)


def doubled_by_a_classmethod(x):
    y = x * 1.0
    Normalizer.double_(y)
    return np.sum(y * x)


@pytest.mark.parametrize("f", [normalized_by_a_method, stored_by_a_method,
                               doubled_by_a_classmethod], ids=lambda f: f.__name__)
def test_a_bound_method_called_for_its_effect_is_refused(f):
    # a bound method's first parameter is bound already: the check of the function's
    # parameter writes skipped bound methods, a silently wrong gradient
    with pytest.raises(TransformError, match="changes its argument `v` in place"):
        s2sgrad.grad(f)(np.array([0.5, -1.0, 2.0]))


class Clamp:
    def __init__(self, lo):
        self.lo = lo

    def __call__(self, v):
        v[v < self.lo] = self.lo


CLAMP = Clamp(0.0)


def clamped_by_a_callable_object(x):
    y = x * 1.0
    CLAMP(y)
    return np.sum(y * x)


def test_a_callable_object_called_for_its_effect_is_refused():
    with pytest.raises(TransformError, match="changes its argument `v` in place"):
        s2sgrad.grad(clamped_by_a_callable_object)(np.array([0.5, -1.0, 2.0]))
