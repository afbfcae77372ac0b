"""Python containers: lists, tuples and dicts of floats/arrays as arguments and
locals, comprehensions, generator expressions, append-then-stack, tuple
packing/unpacking, subscript assignment into local arrays and lists, and
augmented assignment.

The finite-difference oracle of ``tests/support/numeric.py`` differentiates float and
array arguments only; for container arguments ``container_fd`` below flattens
the container into one float64 vector, differentiates a wrapper with
``numerical_grad`` and rebuilds the container shape.  Nothing here uses
s2sgrad to compute an expected value.
"""
import math

import numpy as np
import pytest

import s2sgrad

from support.numeric import assert_grad_matches, assert_value_and_grad_matches, numerical_grad


# ----------------------------------------------------------------------------
# a container-aware oracle built on numerical_grad


def _leaves(x):
    """Leaves (floats/arrays) of a nested list/tuple/dict, in a fixed order."""
    if isinstance(x, dict):
        return [leaf for k in x for leaf in _leaves(x[k])]
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def _rebuild(template, flat, pos=0):
    """A container shaped like `template` whose leaves come from `flat`."""
    if isinstance(template, dict):
        out = {}
        for k in template:
            out[k], pos = _rebuild(template[k], flat, pos)
        return out, pos
    if isinstance(template, (list, tuple)):
        items = []
        for v in template:
            item, pos = _rebuild(v, flat, pos)
            items.append(item)
        return type(template)(items), pos
    if isinstance(template, np.ndarray):
        n = template.size
        return np.array(flat[pos:pos + n]).reshape(template.shape), pos + n
    return float(flat[pos]), pos + 1


def container_fd(f, args, i):
    """Centered finite differences of scalar f in the container argument i."""
    x = args[i]
    vec = np.concatenate([np.ravel(np.asarray(leaf, dtype=np.float64))
                          for leaf in _leaves(x)])

    def wrapped(v):
        a = list(args)
        a[i] = _rebuild(x, v)[0]
        return f(*a)

    g = numerical_grad(wrapped, [vec], 0)
    return _rebuild(x, g)[0]


def _assert_same_structure(got, expected, where):
    if isinstance(expected, dict):
        assert isinstance(got, dict), "%s: expected a dict, got %r" % (where, type(got))
        assert list(got) == list(expected) or set(got) == set(expected), \
            "%s: keys %s, expected %s" % (where, list(got), list(expected))
        for k in expected:
            _assert_same_structure(got[k], expected[k], "%s[%r]" % (where, k))
    elif isinstance(expected, (list, tuple)):
        assert type(got) is type(expected), \
            "%s: expected a %s, got %s" % (where, type(expected).__name__, type(got).__name__)
        assert len(got) == len(expected), \
            "%s: length %d, expected %d" % (where, len(got), len(expected))
        for j, (g, e) in enumerate(zip(got, expected)):
            _assert_same_structure(g, e, "%s[%d]" % (where, j))
    elif isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == expected.shape, \
            "%s: expected an array of shape %s, got %r" % (where, expected.shape, got)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=where)
    else:
        assert isinstance(got, float) and not isinstance(got, np.ndarray), \
            "%s: expected a float, got %s %r" % (where, type(got).__name__, got)
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6), where


def assert_container_grad(f, *args, wrt=0):
    """s2sgrad's gradient w.r.t. container (or plain) arguments matches finite
    differences and has the argument's structure; arguments are not mutated."""
    import copy
    before = copy.deepcopy(args)
    got = s2sgrad.grad(f, wrt=wrt)(*args)
    idx = list(wrt) if isinstance(wrt, tuple) else [wrt]
    gots = list(got) if isinstance(wrt, tuple) else [got]
    assert len(gots) == len(idx)
    for i, g in zip(idx, gots):
        x = args[i]
        if isinstance(x, (list, tuple, dict)):
            expected = container_fd(f, args, i)
        else:
            expected = numerical_grad(f, args, i)
        _assert_same_structure(g, expected, "d/d%s" % f.__code__.co_varnames[i])
    for b, a in zip(before, args):  # nothing mutated
        assert type(a) is type(b)
        for lb, la in zip(_leaves(b), _leaves(a)):
            assert np.array_equal(lb, la)
    return got


X3 = np.array([0.3, -0.7, 1.2])

DOUBLE_POP = ("compiler bug: a name reassigned under a condition inside a loop (here the "
              "`if` of a comprehension) is restored from its save stack more times than it "
              "was pushed in the backward pass: IndexError: pop from empty list")


# ----------------------------------------------------------------------------
# lists and tuples of floats / arrays as arguments


def list_arg(xs):
    s = 0.0
    for i in range(len(xs)):
        s = s + xs[i] * xs[i] * (i + 1)
    return s + xs[0] * xs[-1]


def test_list_of_floats_argument():
    g = assert_container_grad(list_arg, [0.5, -1.0, 2.0])
    assert g == pytest.approx([1.0 + 2.0, -4.0, 12.0 + 0.5])


def tuple_arg(t):
    a, b, c = t
    return a * math.sin(b) + c * c


def test_tuple_of_floats_argument():
    g = assert_container_grad(tuple_arg, (0.5, -1.0, 2.0))
    assert isinstance(g, tuple)


def list_of_arrays(ws, x):
    h = x
    for w in ws:
        h = np.tanh(w @ h)
    return np.sum(h)


def test_list_of_arrays_argument():
    ws = [np.array([[0.2, -0.5, 0.1], [0.7, 0.1, -0.4]]),
          np.array([[0.3, -0.9], [0.5, 0.2]])]
    assert_container_grad(list_of_arrays, ws, X3, wrt=(0, 1))


def tuple_of_arrays(p, x):
    W, b = p
    return np.sum(np.sin(W @ x + b))


def test_tuple_of_arrays_argument():
    p = (np.array([[0.2, -0.5, 0.1], [0.7, 0.1, -0.4]]), np.array([0.1, -0.3]))
    g = assert_container_grad(tuple_of_arrays, p, X3)
    assert isinstance(g, tuple) and len(g) == 2


def mixed_list(xs):
    return xs[0] * np.sum(xs[1] ** 2) + xs[2]


def test_list_mixing_floats_and_arrays():
    assert_container_grad(mixed_list, [0.7, X3.copy(), -1.5])


def nested_containers(p):
    (a, b), c = p[0], p[1]
    return a * b + np.sum(c * c) * a


def test_nested_containers():
    assert_container_grad(nested_containers, [(0.5, -2.0), X3.copy()])


# ----------------------------------------------------------------------------
# list literals, concatenation, indexing, len, sum


def list_literal(x, y):
    L = [x, y, x * y, 2.0]
    return L[0] * L[1] + L[2] * L[3] + L[-2] * len(L)


def test_list_literal_indexing_len():
    assert_grad_matches(list_literal, 0.7, -0.4, wrt=(0, 1))


def concat_prefix(x):
    y = [1] + x
    return y[0] * y[1] + y[1] * y[2] + y[2] * y[3]


def test_list_concat_constant_prefix():
    g = assert_container_grad(concat_prefix, [0.5, -1.5, 2.0])
    assert g == pytest.approx([1.0 - 1.5, 0.5 + 2.0, -1.5])


def concat_suffix(x, y):
    z = x + [y]
    return z[0] * z[2] + z[1] * len(z)


def test_list_concat_literal_suffix():
    g = assert_container_grad(concat_suffix, [0.5, -1.5], 0.7, wrt=(0, 1))
    assert g == ([0.7, 3.0], 0.5)


def concat_explicit(x, y):
    z = list(x) + [y] + list(x)
    s = 0.0
    for i in range(len(z)):
        s = s + z[i] * (i + 1)
    return s * y


def test_list_concat_chain_explicit_lists():
    assert_container_grad(concat_explicit, [0.5, -1.5], 0.7, wrt=(0, 1))


def concat_both(x, y):
    z = x + [y] + x
    s = 0.0
    for i in range(len(z)):
        s = s + z[i] * (i + 1)
    return s * y


def test_list_concat_of_arguments():
    assert_container_grad(concat_both, [0.5, -1.5], 0.7, wrt=(0, 1))


def builtin_sum(xs, y):
    return sum(xs) * y + sum([y, y * y])


def test_builtin_sum_over_list():
    g = assert_container_grad(builtin_sum, [0.5, -1.5, 2.0], 0.3, wrt=(0, 1))
    assert g[0] == pytest.approx([0.3, 0.3, 0.3])


def sum_list_of_arrays(x):
    parts = [x * x, np.sin(x), x]
    return np.sum(sum(parts))


def test_builtin_sum_over_list_of_arrays():
    assert_grad_matches(sum_list_of_arrays, X3)


def list_comprehension(x):
    sq = [v * v for v in x]
    idx = [x[i] * i for i in range(len(x))]
    return sum(sq) + sum(idx) * sq[1]


def test_list_comprehensions():
    assert_grad_matches(list_comprehension, X3)


def list_comprehension_if(x):
    pos = [v * v * 3.0 for v in x if v > 0.0]
    return sum(pos) + len(pos)


def test_list_comprehension_with_if():
    g = assert_grad_matches(list_comprehension_if, X3)
    np.testing.assert_allclose(g, np.where(X3 > 0, 6 * X3, 0.0), rtol=1e-12)


def list_comprehension_of_list(xs):
    ys = [math.exp(v) for v in xs if v < 1.0]
    return sum(ys) * len(ys)


def test_list_comprehension_over_list_argument():
    assert_container_grad(list_comprehension_of_list, [0.5, 1.5, -0.3])


def generator_in_sum(x, w):
    return sum(a * b for a, b in zip(x, w)) + sum(v * v for v in x)


def test_generator_expression_in_sum():
    assert_grad_matches(generator_in_sum, X3, np.array([1.5, 0.2, -0.6]), wrt=(0, 1))


def generator_over_list_argument(xs, y):
    return sum(math.sin(v * y) for v in xs)


def test_generator_expression_over_list_argument():
    assert_container_grad(generator_over_list_argument, [0.5, -1.5], 0.8, wrt=(0, 1))


def append_then_array(x):
    out = []
    for i in range(len(x)):
        out.append(x[i] * x[i] + i)
    return np.sum(np.array(out) * np.array([1.0, -2.0, 0.5]))


def test_append_then_np_array():
    assert_grad_matches(append_then_array, X3)


def append_then_stack(x, W):
    rows = []
    h = x
    for i in range(3):
        h = np.tanh(W @ h)
        rows.append(h)
    M = np.stack(rows)
    return np.sum(M * np.arange(1.0, 1.0 + M.size).reshape(M.shape))


def test_append_arrays_then_np_stack():
    W = np.array([[0.2, -0.5, 0.1], [0.7, 0.1, -0.4], [0.3, 0.3, 0.9]])
    assert_grad_matches(append_then_stack, X3, W, wrt=(0, 1))


def append_then_sum(x):
    terms = []
    y = x
    for i in range(4):
        y = y * 0.9 + math.sin(y)
        terms.append(y * y)
    return sum(terms)


def test_append_then_builtin_sum():
    assert_grad_matches(append_then_sum, 0.6)


def append_then_index(x):
    terms = []
    for v in x:
        terms.append(np.exp(v))
    return terms[0] * terms[-1] + terms[1] * len(terms)


def test_append_then_index():
    assert_grad_matches(append_then_index, X3)


# ----------------------------------------------------------------------------
# tuple packing and unpacking


def tuple_pack_unpack(x, y):
    t = (x, y * 2.0)
    a, b = t
    a, b = b, a * b
    c, (d, e) = a, (b, x)
    return a * b + c * d + e * math.sin(t[1])


def test_tuple_packing_unpacking():
    assert_grad_matches(tuple_pack_unpack, 0.7, -0.4, wrt=(0, 1))


def star_free_unpack_array(v):
    a, b, c = v
    return a * b * c


def test_unpack_array_rows():
    g = assert_grad_matches(star_free_unpack_array, X3)
    np.testing.assert_allclose(g, [X3[1] * X3[2], X3[0] * X3[2], X3[0] * X3[1]], rtol=1e-12)


# ----------------------------------------------------------------------------
# dicts with string keys as parameter containers


def mlp(params, x):
    h = np.tanh(params["W1"] @ x + params["b1"])
    out = params["W2"] @ h + params["b2"]
    return np.sum(out * out) * params["scale"]


PARAMS = {
    "W1": np.array([[0.2, -0.5, 0.1], [0.7, 0.1, -0.4]]),
    "b1": np.array([0.1, -0.2]),
    "W2": np.array([[0.3, -0.9]]),
    "b2": np.array([0.05]),
    "scale": 0.8,
}


def test_dict_of_parameters():
    g = assert_container_grad(mlp, dict(PARAMS), X3, wrt=(0, 1))
    assert isinstance(g[0], dict) and set(g[0]) == set(PARAMS)
    assert isinstance(g[0]["scale"], float)


def local_dict_existing_keys(x, y):
    d = {"a": x, "b": y * y}
    d["b"] = d["a"] * d["b"]
    return d["b"] + d["a"] * len(d)


def test_local_dict_overwrite_existing_key():
    g = assert_grad_matches(local_dict_existing_keys, 0.7, -0.4, wrt=(0, 1))
    assert g == pytest.approx((0.16 + 2.0, 2 * 0.7 * -0.4))


def local_dict(x, y):
    d = {"a": x, "b": y * y}
    d["c"] = d["a"] * d["b"]
    return d["c"] + d["a"]


def test_local_dict():
    assert_grad_matches(local_dict, 0.7, -0.4, wrt=(0, 1))


# ----------------------------------------------------------------------------
# subscript assignment into local arrays and lists


def fill_zeros(x, n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = math.sin(x[i]) * x[(i + 1) % n]
    return np.sum(y * y)


def test_fill_local_zeros_in_loop():
    assert_grad_matches(fill_zeros, X3, 3)


def column_add(A, v):
    m, n = A.shape
    y = np.zeros((m, n))
    for j in range(n):
        y[:, j] += A[:, j] * v[j]
        y[:, j] += np.sin(A[:, j - 1])
    return np.sum(np.sin(y))


def test_column_augmented_assignment():
    A = np.array([[0.2, -0.5], [0.7, 0.1], [0.3, 0.4]])
    assert_grad_matches(column_add, A, X3[:2].copy(), wrt=(0, 1))


def overwrite_after_use(x):
    y = x * 2.0
    z = np.sin(y[0]) * y[1]     # uses y[0], y[1] nonlinearly
    y[0] = x[1] * x[2]          # then overwrites y[0]
    y[1] = y[1] * y[0]          # and y[1] with a function of its old value
    return z + np.sum(y * y)


def test_overwrite_entry_after_nonlinear_use():
    g = assert_grad_matches(overwrite_after_use, X3)
    # by hand
    x0, x1, x2 = X3
    y0, y1 = 2 * x0, 2 * x1
    n0 = x1 * x2
    n1 = y1 * n0
    y2 = 2 * x2
    # f = sin(y0)*y1 + n0^2 + n1^2 + y2^2
    d0 = math.cos(y0) * y1 * 2
    d1 = math.sin(y0) * 2 + 2 * n0 * x2 + 2 * n1 * (2 * n0 + y1 * x2)
    d2 = 2 * n0 * x1 + 2 * n1 * (y1 * x1) + 2 * y2 * 2
    np.testing.assert_allclose(g, [d0, d1, d2], rtol=1e-10)


def overwrite_in_loop(x):
    y = x * 1.0
    for k in range(3):
        for i in range(len(y)):
            y[i] = np.tanh(y[i] * y[(i + 1) % len(y)] + 0.5)
    return np.sum(y)


def test_overwrite_entries_in_loop():
    assert_grad_matches(overwrite_in_loop, X3)


def copy_then_assign(x):
    y = x.copy()
    y[1] = y[1] ** 3
    z = np.copy(x)
    z[0] = 0.0
    return np.sum(y * z)


def test_copy_then_subscript_assign():
    assert_grad_matches(copy_then_assign, X3)


def slice_assign(x):
    y = np.zeros(5)
    y[1:4] = x * x
    y[::2] += 1.0
    y[-1] = y[1] * y[3]
    return np.sum(np.exp(y) * np.arange(5.0))


def test_slice_assignment():
    assert_grad_matches(slice_assign, X3)


def list_item_assign(x, y):
    L = [x, y, 0.0]
    L[2] = L[0] * L[1]
    L[0] = math.sin(L[0])
    L[1] += L[2]
    return L[0] * L[1] * L[2]


def test_list_item_assignment():
    assert_grad_matches(list_item_assign, 0.7, -0.4, wrt=(0, 1))


def list_assign_in_loop(x):
    L = [0.0] * len(x)
    for i in range(len(x)):
        L[i] = x[i] * x[i]
    for i in range(1, len(x)):
        L[i] = L[i] * L[i - 1] + L[i]
    return sum(L)


def test_list_assign_in_loop():
    assert_grad_matches(list_assign_in_loop, X3)


# ----------------------------------------------------------------------------
# augmented assignment everywhere


def aug_floats(x, y):
    s = x
    s += y
    s -= x * y
    s *= x
    s /= (1.0 + y * y)
    s **= 2
    return s


def test_augmented_assignment_floats():
    assert_grad_matches(aug_floats, 0.7, -0.4, wrt=(0, 1))


def aug_arrays(x, A):
    y = x * 1.0
    y += 1.0
    y -= x * x
    y *= np.sin(x)
    y /= (2.0 + x)
    z = A * 1.0
    z @= A.T
    y @= z
    return np.sum(y)


def test_augmented_assignment_arrays():
    A = np.array([[0.2, -0.5, 0.1], [0.7, 0.1, -0.4], [0.3, 0.3, 0.9]])
    assert_grad_matches(aug_arrays, X3, A, wrt=(0, 1))


def aug_on_argument_name(x, y):
    # rebinding a parameter name (not mutating its contents) is allowed
    x = x * 1.0
    x += y
    x *= y
    return np.sum(x)


def test_augmented_assignment_rebinding_parameter():
    assert_grad_matches(aug_on_argument_name, X3, np.array([0.5, 1.5, -0.5]), wrt=(0, 1))


def aug_float_param(x, y):
    x += y
    x *= x
    return x


def test_augmented_assignment_on_float_parameter():
    g = assert_grad_matches(aug_float_param, 0.7, -0.4, wrt=(0, 1))
    assert g == pytest.approx((2 * 0.3, 2 * 0.3))


def aug_subscripts(x):
    y = np.ones(3)
    for i in range(3):
        y[i] *= x[i]
        y[i] += x[(i + 1) % 3] ** 2
        y[i] -= 0.5 * x[i]
        y[i] /= 1.0 + x[i] * x[i]
    return np.sum(y * y)


def test_augmented_subscript_assignment():
    assert_grad_matches(aug_subscripts, X3)


def aug_in_loop(x):
    acc = 1.0
    tot = np.zeros(3)
    for i in range(4):
        acc *= 1.0 + 0.1 * x[i % 3]
        tot += x * acc
    return np.sum(tot)


def test_augmented_assignment_in_loop():
    assert_grad_matches(aug_in_loop, X3)


# ----------------------------------------------------------------------------
# more list/tuple/dict built-ins


def sum_with_start(x):
    return sum([x[0], x[1] * x[1]], x[2] * 2.0)


def test_builtin_sum_with_start():
    g = assert_grad_matches(sum_with_start, X3)
    np.testing.assert_allclose(g, [1.0, 2 * X3[1], 2.0], rtol=1e-12)


def max_min_over_list(x):
    return max([x[0] * 2.0, x[1], x[2]]) + min(x[0], x[1])


def test_max_min_over_list():
    g = assert_grad_matches(max_min_over_list, X3)
    np.testing.assert_allclose(g, [0.0, 1.0, 1.0], rtol=0, atol=0)


def tuple_and_list_of_array(x):
    t = tuple(x)
    L = list(x)
    return t[0] * t[1] + L[0] * L[-1] + len(t)


def test_tuple_and_list_of_array():
    assert_grad_matches(tuple_and_list_of_array, X3)


def dict_loop_over_keys(x):
    d = {"a": x[0], "b": x[1]}
    s = 0.0
    for k in ["a", "b"]:
        s = s + d[k] * d[k]
    return s


def test_dict_read_in_loop_over_keys():
    g = assert_grad_matches(dict_loop_over_keys, X3)
    np.testing.assert_allclose(g, [2 * X3[0], 2 * X3[1], 0.0], rtol=1e-12)


def mask_assign(x):
    y = x * 1.0
    y[y > 0] = 0.0
    return np.sum(y * y)


def test_boolean_mask_assignment():
    g = assert_grad_matches(mask_assign, X3)
    np.testing.assert_allclose(g, np.where(X3 > 0, 0.0, 2 * X3), rtol=1e-12)


def row_assign_in_loop(x):
    A = np.zeros((2, 3))
    for j in range(3):
        A[0, j] = x[j] ** 2
        A[1] = A[1] + A[0]
    return np.sum(A * A)


def test_row_assignment_in_loop():
    assert_grad_matches(row_assign_in_loop, X3)


def fsum_list(x, y):
    return math.fsum([x, y * y, x * y])


def test_math_fsum_over_list():
    g = assert_grad_matches(fsum_list, 0.5, 1.5, wrt=(0, 1))
    assert g == pytest.approx((1.0 + 1.5, 3.0 + 0.5))


def enumerate_zip(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        s = s + a * b * (i + 1)
    return s


def test_enumerate_of_zip():
    assert_grad_matches(enumerate_zip, X3, X3[::-1].copy(), wrt=(0, 1))


# ----------------------------------------------------------------------------
# lists made by list()/tuple()/.copy() and by repetition: their adjoints are lists
# and must be added elementwise (once, `+` concatenated them: a wrong gradient)


def list_copy_then_append(xs):
    ys = list(xs)
    ys.append(1.0)
    return sum(ys) * ys[0]


def method_copy_then_append(xs):
    ys = xs.copy()
    ys.append(xs[1] * 2.0)
    return sum(ys) * ys[0]


def repeated_then_stored(x):
    ys = [0.0] * 3
    for i in range(3):
        ys[i] = x * (i + 1)
    return sum(ys) * ys[1]


def repeated_list_of_values(x):
    ws = [x * 1.0, x * x]
    ws2 = 2 * ws
    return sum(ws2) * ws2[3]


def tuple_of_list(xs):
    a, b, c = tuple(xs)
    return a * b + c


@pytest.mark.parametrize("f, arg", [
    (list_copy_then_append, [0.5, 1.5]), (method_copy_then_append, [0.5, 1.5]),
    (repeated_then_stored, 0.7), (repeated_list_of_values, 0.7),
    (tuple_of_list, [0.5, 1.5, -0.3])])
def test_copied_and_repeated_lists(f, arg):
    assert_container_grad(f, arg)


def test_repeated_list_forward_mode():
    _, derivative = s2sgrad.jvp(repeated_list_of_values)((0.7,), (1.0,))
    assert derivative == pytest.approx(numerical_grad(repeated_list_of_values, (0.7,), 0),
                                       rel=1e-6)
