"""Functions written in the shapes `syntax.source` must read as `inspect` does."""
import functools

import numpy as np


def plain(x):
    return np.sum(x ** 2)


def with_docstring(x):
    """A docstring
whose lines go back to the margin."""
    return x * 2.0


def comment_at_margin(x):
    y = x + 1.0
# a comment at the margin inside the body
    return y * y


def string_at_margin(x):
    s = """
a string
"""
    return x * len(s)


def bracket_at_margin(x):
    y = np.sum([x,
x])
    return y


def header_over_lines(x,
                      y=2.0):
    return x * y


@functools.lru_cache(maxsize=None)
def decorated(n):
    return n + 1


@functools.lru_cache(
    maxsize=None)
def decorated_over_lines(n):
    return n + 2


def one_liner(x): return x * 3.0


def factory(scale):
    def inner(x):
        return scale * x

    return inner


class Model:
    def loss(self, w):
        return np.sum(w * w)

    @staticmethod
    def static_loss(w):
        return np.sum(w)


square = lambda x: x * x  # noqa: E731


def last_in_file(x):
    return x - 1.0
    # a trailing comment
