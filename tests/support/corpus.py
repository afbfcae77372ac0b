"""A corpus of small functions for the reliability tests (tests/test_reliability.py).

Every entry is ``Case(func, args, wrt)``: arrays, lists, tuples and dicts as inputs,
loops that store into local arrays, augmented assignment on locals, branches, a while
loop and a call to a user function.  The functions are ordinary module-level code, so
s2sgrad can read their source; nothing here uses s2sgrad.
"""
from collections import namedtuple

import numpy as np

Case = namedtuple("Case", "func args wrt")


def helper(a, b):
    return a * np.sin(b) + b


def sum_sin(x):
    return np.sum(np.sin(x) * x)


def matvec(W, x):
    return np.sum(np.tanh(W @ x))


def list_of_floats(xs):
    s = 0.0
    for i in range(len(xs)):
        s = s + xs[i] * xs[i] * (i + 1.0)
    return s


def list_of_arrays(ws, x):
    h = x
    for w in ws:
        h = np.tanh(w @ h)
    return np.sum(h)


def dict_params(p, x):
    return np.sum(np.tanh(p["w"] @ x + p["b"]) ** 2)


def dict_with_list(p, x):
    return p["a"][0] * x + p["a"][1] * x * x + p["c"]


def tuple_arg(t):
    a, b = t
    return a * b + np.sin(a)


def store_into_local_array(x, n):
    z = np.zeros(n)
    for i in range(n):
        z[i] = x[i] * x[i + 1]
    return np.sum(z * z)


def copy_then_store(x):
    y = x.copy()
    y[0] = y[0] * 3.0
    return np.sum(y * y)


def augmented_locals(x):
    y = x * 1.0
    y += np.sin(x)
    y *= x
    return np.sum(y)


def loop_accumulate(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x ** 2) * i
    return s


def while_loop(x):
    i = 0
    y = x
    while i < 3:
        y = y * 0.9 + np.cos(y)
        i += 1
    return np.sum(y)


def branch(x, y):
    if np.sum(x) > 0:
        z = x * y
    else:
        z = x - np.exp(y)
    return np.sum(z * z)


def append_to_local_list(x):
    ys = []
    for i in range(3):
        ys.append(x * (i + 1.0))
    return np.sum(ys[0] + ys[1] * ys[2])


def broadcast(x, b):
    return np.sum(np.sin(x + b))


def index_reads(x, w):
    return x[0] * w[1] + x[1] * w[0] + x[0]


def slices(x):
    return np.sum(x[1:] * x[:-1])


def reductions(x):
    return np.sum(np.mean(x, axis=0) ** 2) + np.max(x)


def user_call(x, y):
    return np.sum(helper(x, y) * y)


def float32_input(x):
    return np.sum(x * x)


def slice_store_local(x):
    z = np.zeros(4)
    z[1:3] = x[:2] * 2.0
    return np.sum(z * x)


def non_wrt_buffer(x, buf):
    return np.sum(x * buf) + np.sum(buf)


def nested_loops(x, n):
    acc = np.zeros_like(x)
    for i in range(n):
        for j in range(2):
            acc = acc + np.sin(x * (i + j + 1.0))
    return np.sum(acc * x)


_rng = np.random.RandomState(0)
X3 = np.array([0.3, -0.7, 1.2])
X5 = np.array([0.4, -0.2, 0.9, 1.1, -0.5])

CASES = [
    Case(sum_sin, (X3,), 0),
    Case(matvec, (_rng.randn(3, 3), X3), (0, 1)),
    Case(list_of_floats, ([0.5, -1.5, 2.0],), 0),
    Case(list_of_arrays, ([_rng.randn(3, 3) * 0.5, _rng.randn(3, 3) * 0.5], X3), (0, 1)),
    Case(dict_params, ({"w": _rng.randn(2, 3), "b": np.array([0.1, -0.2])}, X3), (0, 1)),
    Case(dict_with_list, ({"a": [0.5, 1.5], "c": 0.25}, 1.3), (0, 1)),
    Case(tuple_arg, ((0.7, 1.9),), 0),
    Case(store_into_local_array, (X5, 4), 0),
    Case(copy_then_store, (X3,), 0),
    Case(augmented_locals, (X3,), 0),
    Case(loop_accumulate, (X3, 4), 0),
    Case(while_loop, (X3,), 0),
    Case(branch, (X3, 0.4), (0, 1)),
    Case(branch, (-X3 - 1.0, 0.4), (0, 1)),
    Case(append_to_local_list, (X3,), 0),
    Case(broadcast, (_rng.randn(2, 3), X3), (0, 1)),
    Case(index_reads, (X3, np.array([2.0, -1.0])), (0, 1)),
    Case(slices, (X5,), 0),
    Case(reductions, (_rng.randn(3, 2),), 0),
    Case(user_call, (X3, 0.8), (0, 1)),
    Case(float32_input, (X3.astype(np.float32),), 0),
    Case(slice_store_local, (np.array([0.3, -0.7, 1.2, 0.5]),), 0),
    Case(non_wrt_buffer, (X3, np.array([1.0, 2.0, 3.0])), 0),
    Case(nested_loops, (X3, 3), 0),
]
