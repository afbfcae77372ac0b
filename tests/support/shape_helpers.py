"""Helpers in a module of their own (not inlined into their callers): sizes and shapes."""


def dims(a):
    n, d = a.shape
    return n, d


def rows(a):
    return a.shape[0]


def scaled_rows(a, s):
    return a.shape[0] * s          # depends on s: not a constant
