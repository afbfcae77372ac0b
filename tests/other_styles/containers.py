"""Lists, comprehensions, dicts of parameters, tuples returned and indexed."""
import numpy as np

from ._registry import entry, V, P


@entry(V(3, 4), V(4), V(4, 2), V(2), V(5, 3))
def dict_params(W1, b1, W2, b2, X):
    params = {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}
    h = np.tanh(X @ params['W1'] + params['b1'])
    out = h @ params['W2'] + params['b2']
    return np.sum(out ** 2)


@entry(V(3), V(3))
def dict_items_loop(a, b):
    params = {'a': a, 'b': b}
    total = 0.0
    for name, p in params.items():
        total = total + np.sum(p ** 2)
    return total


@entry(V(3), V(3))
def dict_values_sum(a, b):
    params = {'a': a, 'b': b}
    return sum(np.sum(np.sin(v)) for v in params.values())


@entry(V(3))
def list_comprehension(x):
    ys = [x[i] * x[i] for i in range(3)]
    return sum(ys)


@entry(V(4))
def list_comprehension_filter(x):
    return sum([x[i] ** 3 for i in range(4) if i != 2])


@entry(V(4))
def list_comp_over_array(x):
    return np.sum(np.array([np.sin(v) for v in x]))


@entry(V(3, 2))
def list_of_rows(A):
    rows = [A[i] * (i + 1) for i in range(A.shape[0])]
    return np.sum(np.vstack(rows) ** 2)


@entry(V(3))
def list_append_loop(x):
    out = []
    for i in range(3):
        out.append(x[i] * 2.0)
    return out[0] * out[1] + out[2]


@entry(V(4))
def list_pop_last(x):
    xs = [x[0], x[1], x[2], x[3]]
    last = xs[-1]
    return last * xs[0] + sum(xs[1:3])


@entry(V(3))
def tuple_return_indexed(x):
    def stats(v):
        return np.mean(v), np.var(v)
    return stats(x)[0] + stats(x)[1] * 2.0


@entry(V(3))
def tuple_return_unpacked(x):
    def moments(v):
        m = np.mean(v)
        return m, np.mean((v - m) ** 2), np.mean((v - m) ** 3)
    a, b, c = moments(x)
    return a + b + c


@entry(V(3))
def nested_list_params(x):
    layers = [[x[0], x[1]], [x[2]]]
    return layers[0][0] * layers[0][1] + layers[1][0] ** 2


@entry(V(2, 2), V(2, 2), V(3, 2))
def list_of_weights(W1, W2, X):
    Ws = [W1, W2]
    h = X
    for W in Ws:
        h = np.tanh(h @ W)
    return np.sum(h)


@entry(V(2), V(2))
def list_arg_inner(a, b):
    def total(vs):
        return sum(np.sum(v ** 2) for v in vs)
    return total([a, b])


@entry(V(4))
def builtin_sum_len(v):
    xs = list(v)
    return sum(xs) / len(xs) + max(xs) * min(xs)


@entry(V(3))
def zip_two_lists(x):
    a = [x[0], x[1]]
    b = [x[2], x[0]]
    return sum(p * q for p, q in zip(a, b))


@entry(V(4))
def dict_comprehension(x):
    d = {k: x[k] ** 2 for k in range(4)}
    return d[1] + d[3] * d[0]


@entry(V(3), V(3))
def dict_get_default(a, b):
    p = {'a': a}
    w = p.get('a', b)
    return np.sum(w * b)


@entry(V(3))
def tuple_swap(x):
    a, b = x[0], x[1]
    a, b = b, a
    return a * 2.0 + b * 3.0 + x[2] * a


@entry(V(5))
def list_slicing(x):
    xs = [x[i] for i in range(5)]
    ys = xs[1:4]
    return sum(ys) * xs[0]


@entry(V(3), V(3))
def dict_update_loop(a, b):
    params = {'w': a, 'v': b}
    grads = {'w': a * 0.1, 'v': b * 0.2}
    for k in ['w', 'v']:
        params[k] = params[k] - grads[k]
    return np.sum(params['w'] * params['v'])


@entry(V(2), V(2))
def list_reversed_sum(a, b):
    xs = [a, b, a * b]
    s = np.zeros(2)
    for v in reversed(xs):
        s = s * 0.5 + v
    return np.sum(s ** 2)


@entry(V(3))
def sorted_constant_keys(x):
    d = {'b': x[1], 'a': x[0], 'c': x[2]}
    return sum(d[k] * i for i, k in enumerate(sorted(d)))


@entry(V(4))
def np_array_from_list(x):
    m = np.array([[x[0], x[1]], [x[2], x[3]]])
    return np.sum(m @ m)


@entry(V(3))
def asarray_list(x):
    y = np.asarray([x[0] ** 2, x[1], 3.0])
    return np.sum(y * x)


@entry(V(2, 3))
def list_of_tuples(A):
    pairs = [(A[0, i], A[1, i]) for i in range(3)]
    return sum(a * b for a, b in pairs)


@entry(V(3))
def any_all_guard(x):
    xs = [x[0], x[1], x[2]]
    if all(np.isfinite(v) for v in xs):
        return sum(v ** 2 for v in xs)
    return 0.0


@entry(V(4))
def map_builtin(x):
    return sum(map(np.sin, x))
