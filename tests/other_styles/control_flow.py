"""Loops over time, break/continue, while loops, recursion, branches on values."""
import numpy as np

from ._registry import entry, V, P, AWAY, U, DISTINCT


@entry(V(3, 3), V(3, 2), V(5, 2))
def rnn_loop(Wh, Wx, xs):
    h = np.zeros(3)
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
    return np.sum(h ** 2)


@entry(V(3, 3), V(3, 2), V(4, 2))
def rnn_loop_over_rows(Wh, Wx, xs):
    h = np.zeros(3)
    loss = 0.0
    for x in xs:
        h = np.tanh(Wh.dot(h) + Wx.dot(x))
        loss = loss + np.sum(h)
    return loss


@entry(V(2, 2), V(4, 2))
def rnn_collect_outputs(W, xs):
    h = np.ones(2)
    outs = []
    for x in xs:
        h = np.tanh(W @ h + x)
        outs.append(h)
    return np.sum(np.stack(outs) ** 2)


@entry(V(2, 2), V(4, 2))
def rnn_reversed(W, xs):
    h = np.zeros(2)
    for t in reversed(range(len(xs))):
        h = np.sin(W @ h) + xs[t]
    return np.sum(h)


@entry(V(2), V(5, 2))
def gru_like(w, xs):
    h = np.zeros(2)
    for x in xs:
        z = 1.0 / (1.0 + np.exp(-(w * x + h)))
        h = (1 - z) * h + z * np.tanh(x * w)
    return np.sum(h ** 2)


@entry(V(6))
def loop_with_continue(x):
    s = 0.0
    for i in range(len(x)):
        if i % 2 == 0:
            continue
        s = s + x[i] ** 2
    return s


@entry(V(6))
def loop_with_break(x):
    s = 0.0
    for i in range(len(x)):
        if i >= 4:
            break
        s = s + np.sin(x[i])
    return s


@entry(DISTINCT(6))
def loop_break_on_value(x):
    s = 0.0
    for v in x:
        if s > 1.0:
            break
        s = s + v * v
    return s


@entry(DISTINCT(6))
def loop_continue_on_value(x):
    s = 0.0
    for v in x:
        if v < 0:
            continue
        s = s + np.exp(-v)
    return s


@entry(P())
def while_tolerance_newton(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


@entry(P(lo=2.0, hi=3.0))
def while_counter(x):
    i = 0
    y = x
    while i < 5:
        y = y * 0.9 + np.sin(y)
        i += 1
    return y


@entry(P(lo=3.0, hi=20.0))
def while_halving(x):
    k = 0
    while x > 1.5:
        x = x / 2.0
        k = k + 1
    return x * (k + 1)


@entry(V(3), P())
def while_array_norm(v, c):
    v = v * c
    while np.linalg.norm(v) > 0.5:
        v = v * 0.8
    return np.sum(v)


@entry(P())
def fixed_point(a):
    x = 1.0
    for _ in range(30):
        x = np.cos(x) * a * 0.3
    return x


@entry(U(lo=0.2, hi=0.9))
def recursion_power(x):
    def power(x, n):
        if n == 0:
            return 1.0
        return x * power(x, n - 1)
    return power(x, 4)


def factorial_like(x, n):
    if n <= 1:
        return x
    return x * n + factorial_like(np.sin(x), n - 1)


@entry(V(3))
def module_recursion(x):
    return np.sum(factorial_like(x, 3))


@entry(AWAY())
def branch_on_value(x):
    if x > 0:
        return x ** 2
    else:
        return -x ** 3


@entry(AWAY(4))
def branch_on_sum(x):
    if np.sum(x) > 0:
        y = x * 2.0
    else:
        y = x * -3.0
    return np.sum(y ** 2)


@entry(AWAY(5))
def branch_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            s = s + x[i]
        elif x[i] < -1:
            s = s - 2 * x[i]
        else:
            s = s + x[i] ** 2
    return s


@entry(AWAY())
def conditional_expression(x):
    y = x * x if x > 0 else np.exp(x)
    return y * 3.0


@entry(AWAY(), V())
def early_return(x, y):
    if x < 0:
        return y * x
    z = x + y
    return z * z


@entry(V(4))
def nested_loops(x):
    s = 0.0
    for i in range(4):
        for j in range(i):
            s = s + x[i] * x[j]
    return s


@entry(V(3, 4))
def nested_loops_2d(A):
    s = 0.0
    n, m = A.shape
    for i in range(n):
        for j in range(m):
            s += A[i, j] ** 2 * (i + j)
    return s


@entry(V(4), V(4))
def zip_loop(a, b):
    s = 0.0
    for x, y in zip(a, b):
        s += x * y
    return s


@entry(V(4))
def enumerate_loop(a):
    s = 0.0
    for i, x in enumerate(a):
        s = s + i * x ** 2
    return s


@entry(V(5))
def loop_accumulate_array(x):
    acc = np.zeros(2)
    for i in range(len(x) - 1):
        acc = acc + np.array([x[i], x[i + 1]]) ** 2
    return np.sum(acc)


@entry(V(3), V(3))
def gradient_descent_inner(w0, target):
    w = w0
    for _ in range(5):
        g = 2 * (w - target)
        w = w - 0.1 * g
    return np.sum(w ** 2)


@entry(V(4), V())
def loop_step_in_range(x, a):
    s = 0.0
    for i in range(0, 4, 2):
        s = s + x[i] * a
    return s


@entry(P())
def loop_multiplies_scalar(x):
    y = 1.0
    for k in range(1, 5):
        y = y * (x + k)
    return np.log(y)


@entry(V(3))
def loop_builds_dict(x):
    d = {}
    for i in range(3):
        d[i] = x[i] ** 2
    return d[0] + d[1] * d[2]


@entry(AWAY(5))
def while_index(x):
    i = 0
    s = 0.0
    while i < len(x):
        s = s + np.abs(x[i])
        i = i + 2
    return s


@entry(V(3))
def for_else(x):
    s = 0.0
    for i in range(3):
        s = s + x[i]
    else:
        s = s * 2.0
    return s ** 2


@entry(U(lo=0.1, hi=0.5))
def series_until_small(x):
    term = x
    total = x
    n = 1
    while abs(term) > 1e-14:
        term = -term * x * x / ((2 * n) * (2 * n + 1))
        total = total + term
        n = n + 1
    return total


@entry(V(4))
def scan_cumulative(x):
    out = []
    s = 0.0
    for v in x:
        s = s + v
        out.append(s)
    return sum(o * o for o in out)


@entry(V(2, 2), V(2))
def unrolled_ode(A, y0):
    y = y0
    dt = 0.05
    for _ in range(10):
        k1 = A @ y
        k2 = A @ (y + dt * k1)
        y = y + 0.5 * dt * (k1 + k2)
    return np.sum(y ** 2)


@entry(V(3))
def loop_tuple_state(x):
    a, b = 0.0, 1.0
    for v in x:
        a, b = b, a + b * v
    return a + b
