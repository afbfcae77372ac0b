"""Everyday Python that the normalizer lowers to its core (frontend/normalize.py):
`del`, the walrus operator, `min`/`max` with `key=`, `sorted(zip(...))`, loops over
functions, `nonlocal` in a local helper, `try` whose handlers only raise.

Each supported idiom is checked against centered finite differences in float64 under
grad, value_and_grad, jvp and hvp (the Hessian-vector product against differences of
the gradient); each variant that cannot be lowered exactly is refused at transform time
with a TransformError located at the construct."""
import math

import numpy as np
import pytest

import s2sgrad
from s2sgrad import TransformError
from support.numeric import numerical_grad

X = np.array([0.7, -0.4, 1.3, 0.25])
V = np.array([0.3, -1.1, 0.5, 0.9])


def check_modes(f, x=X, v=V, second=True):
    """grad, value_and_grad, jvp (and hvp) of `f` at `x` against finite differences."""
    g = s2sgrad.grad(f)(x)
    np.testing.assert_allclose(g, numerical_grad(f, (x,)), rtol=1e-6, atol=1e-8)
    value, g2 = s2sgrad.value_and_grad(f)(x)
    assert value == pytest.approx(f(x), rel=1e-12)
    np.testing.assert_allclose(g2, g, rtol=1e-12, atol=1e-14)
    h = 1e-6
    value, tangent = s2sgrad.jvp(f)((x,), (v,))
    assert value == pytest.approx(f(x), rel=1e-12)
    assert tangent == pytest.approx((f(x + h * v) - f(x - h * v)) / (2 * h), rel=1e-6,
                                    abs=1e-8)
    if second:
        grad_f = s2sgrad.grad(f)
        expected = (grad_f(x + h * v) - grad_f(x - h * v)) / (2 * h)
        np.testing.assert_allclose(s2sgrad.hvp(f)(x, v), expected, rtol=1e-5, atol=1e-6)
    return g


def refused(f, *words, args=(X,)):
    """grad(f) raises a TransformError at the line marked `# <- HERE`, whose message
    holds every one of `words`."""
    import inspect
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(f)(*args)
    err = info.value
    lines, first = inspect.getsourcelines(f)
    marked = [first + k for k, line in enumerate(lines) if "# <- HERE" in line]
    assert err.lineno in marked, (err.lineno, marked, str(err))
    text = str(err)
    for w in words:
        assert w in text, (w, text)
    return err


# ---------------------------------------------------------------------------- del

def del_name(x):
    y = np.sin(x)
    z = np.sum(y * x)
    del y
    return z * z


def del_in_a_loop(x):
    total = 0.0
    for k in range(3):
        tmp = np.cos(x * k)
        total = total + np.sum(tmp * x)
        del tmp
    return total


def del_list_items(x):
    xs = [x[0], x[1] * 2.0, np.sin(x[2]), x[3] ** 2]
    del xs[-1]
    del xs[0]
    return xs[0] * xs[-1] + len(xs)


def del_dict_item(x):
    d = {"a": x[0], "b": x[1] * 3.0, "c": np.exp(x[2])}
    del d["b"]
    total = 0.0
    for key, value in d.items():
        total = total + value * value
    return total + len(d)


def del_list_items_in_a_loop(x):
    xs = [x[k % 4] * k for k in range(6)]
    for i in range(2):
        del xs[i]
    return sum(xs) * xs[0]


@pytest.mark.parametrize("f", [del_name, del_in_a_loop, del_list_items, del_dict_item,
                               del_list_items_in_a_loop])
def test_del(f):
    check_modes(f)


def test_del_name_leaves_no_trace_in_the_code():
    source = s2sgrad.grad(del_name).source
    assert "del" not in source.replace("del_name", "")


def read_after_del(x):
    y = x * 2.0
    del y  # <- HERE
    return np.sum(y)


def read_after_del_in_a_branch(x):
    y = x * 2.0
    if x[0] > 0:
        del y  # <- HERE
    return np.sum(y)


def read_after_del_next_step(x):
    y = x
    for k in range(2):
        x = x + y
        del y  # <- HERE
    return np.sum(x)


def del_of_an_alias(x):
    xs = [x[0], x[1]]
    ys = xs
    del xs[0]  # <- HERE
    return ys[0]


def del_while_looping(x):
    xs = [x[0], x[1]]
    for v in xs:
        del xs[0]  # <- HERE
    return x[0]


def del_of_an_argument_item(xs):
    del xs[0]  # <- HERE
    return xs[0]


def del_of_a_slice(x):
    xs = [x[0], x[1], x[2]]
    del xs[1:]  # <- HERE
    return xs[0]


def test_del_refusals():
    refused(read_after_del, "`y` may be read after `del y`")
    refused(read_after_del_in_a_branch, "read after `del y`")
    refused(read_after_del_next_step, "read after `del y`")
    refused(del_of_an_alias, "another name", "Python deletes in place")
    refused(del_while_looping, "in a loop over `xs`")
    refused(del_of_an_argument_item, "not a list or a dict the function makes",
            args=([0.5, 1.5],))
    refused(del_of_a_slice, "`del` of a slice")


def test_del_of_a_missing_item_raises_as_python_does():
    def f(x):
        d = {"a": x[0]}
        del d["b"]
        return d["a"]

    def g(x):
        xs = [x[0]]
        del xs[3]
        return xs[0]
    with pytest.raises(KeyError):
        s2sgrad.grad(f)(X)
    with pytest.raises(IndexError):
        s2sgrad.grad(g)(X)


# ------------------------------------------------------------------------- walrus

def walrus_statement(x):
    (y := np.sin(x))
    return np.sum(y * x)


def walrus_in_a_test(x):
    if (n := len(x)) > 2:
        return np.sum(x ** 2) / n
    return x[0]


def walrus_reads_old_then_new(x):
    y = x[0]
    z = y + (y := np.sin(x[1])) * y
    w = (a := x[2] * 2.0) + (a := a * x[3]) + a
    return z * y + w


def walrus_short_circuit(x):
    y = 1.0
    if x[0] > 0 and (y := x[1] * x[2]) > -10.0:
        y = y + 1.0
    z = 2.0
    if x[1] > 0 and (z := x[3] ** 2) > 0:
        z = z * 3.0
    return y * x[0] + z * x[3]


def walrus_in_a_while_test(x):
    k = 0
    y = x[0]
    while (k := k + 1) < 10:
        y = y * x[1] + x[2]
        if k == 3:
            break
    return y * k


def walrus_in_a_comprehension(x):
    kept = [y * 2.0 for v in x if (y := v * v) > 0.1]
    return sum(kept) + y


def walrus_augmented(x):
    s = x[0]
    s += (s := s * x[1])
    return s


@pytest.mark.parametrize("f", [walrus_statement, walrus_in_a_test,
                               walrus_reads_old_then_new, walrus_short_circuit,
                               walrus_in_a_while_test, walrus_in_a_comprehension,
                               walrus_augmented])
def test_walrus(f):
    check_modes(f)
    check_modes(f, -X[::-1].copy())     # the other branches


def test_walrus_in_a_test_reads_like_an_assignment():
    source = s2sgrad.grad(walrus_in_a_test).source
    assert "n = len(x)" in source


def walrus_in_a_lambda(x):
    f = lambda v: (w := v * 2.0) + w  # <- HERE  # noqa: E731
    return f(x[0])


def walrus_in_an_assert(x):
    assert (n := len(x)) > 0  # <- HERE
    return x[0] * n


def test_walrus_refusals():
    refused(walrus_in_a_lambda, "in a lambda", "def")
    refused(walrus_in_an_assert, "`assert`", "line of its own")


# --------------------------------------------------------------- min/max with key=

def max_by_square(x):
    xs = list(x)
    return max(xs, key=lambda v: v * v) * 3.0


def min_by_abs_ties_first(x):
    xs = [x[0], -x[0], x[1] * 0.1, x[2]]      # x[0] and -x[0] tie at every x: the first
    return min(xs, key=abs) + max(xs, key=abs)


def extremum_of_items(x):
    a, b, c = np.sin(x[0]), x[1] * x[2], x[3]
    best = max(a, b, c, key=lambda v: -abs(v - 0.2))
    return best * min([], key=abs, default=x[0]) + min(x, key=None)


def _score(pair):
    return pair[1]


def extremum_of_pairs(x):
    pairs = [(x[0], 2.0), (x[1], 5.0), (x[2], 5.0), (x[3], 1.0)]
    top = max(pairs, key=_score)              # the first with score 5: x[1]
    low = min(pairs, key=lambda p: p[1])
    return top[0] * low[0]


@pytest.mark.parametrize("f", [max_by_square, min_by_abs_ties_first, extremum_of_items,
                               extremum_of_pairs])
def test_min_max_with_key(f):
    check_modes(f)


def test_min_max_with_key_gives_python_s_item():
    g = s2sgrad.grad(extremum_of_pairs)(X)
    np.testing.assert_allclose(g, [0.0, X[3], 0.0, X[1]])


def test_min_max_tie_goes_to_the_first():
    def f(x):
        xs = [x[0], -x[0], x[1]]               # abs ties between the first two
        return min(xs, key=abs) * 1.0 + max(xs, key=abs) * 2.0
    x = np.array([0.5, 4.0])                   # min: x[0] (first of the tie), max: x[1]
    np.testing.assert_allclose(s2sgrad.grad(f)(x), [1.0, 2.0])
    x = np.array([5.0, 0.5])                   # max: x[0] (first of the tie), min: x[1]
    np.testing.assert_allclose(s2sgrad.grad(f)(x), [2.0, 1.0])


# ------------------------------------------------------------ sorted(zip(...)) etc.

def sorted_pairs(x):
    weights = [3.0, 1.0, 2.0, 1.0]
    total = 0.0
    for rank, (w, v) in enumerate(sorted(zip(weights, x))):
        total = total + (rank + 1) * w * v * v
    return total


def listed_pairs(x):
    pairs = list(zip(x, np.cos(x)))
    numbered = list(enumerate(x, start=1))
    return pairs[1][0] * pairs[2][1] + numbered[3][0] * numbered[3][1]


@pytest.mark.parametrize("f", [sorted_pairs, listed_pairs])
def test_zip_and_enumerate_read_whole(f):
    check_modes(f)


def test_the_tangent_of_a_copied_list_of_tuples_holding_integers():
    # list(...) of pairs (count, value): the counts are values, their tangents zero (the
    # copy's tangent carried the count itself over: jvp 4.6 instead of 3.6)
    def f(x):
        pairs = list([(4, x[3]), (1, x[0])])
        return pairs[0][0] * pairs[0][1] + pairs[1][0] * pairs[1][1]
    value, tangent = s2sgrad.jvp(f)((X,), (V,))
    assert tangent == pytest.approx(4 * V[3] + V[0])


def test_sorted_zip_is_stable_and_moves_the_gradient():
    # weights tie (1.0, 1.0): the pairs compare their values; the gradient follows them
    g = s2sgrad.grad(sorted_pairs)(X)
    np.testing.assert_allclose(g, numerical_grad(sorted_pairs, (X,)), rtol=1e-6)


# ----------------------------------------------------------- loops over functions

def loop_over_a_display(x):
    y = 0.0
    for f in (np.sin, np.cos, math.tanh):
        y = y + f(x[0]) * x[1]
    return y


def loop_over_lambdas(x):
    w = x[3]
    layers = [lambda v: np.tanh(v * w), lambda v: v + np.sin(v)]
    y = x[:3]
    for step in range(2):
        for layer in layers:
            y = layer(y)
    return np.sum(y)


def _double(v):
    return 2.0 * v


ACTIVATIONS = (np.tanh, _double, math.sin)


def loop_over_a_global_tuple(x):
    y = x[0] * x[1]
    for act in ACTIVATIONS:
        y = act(y)
    return y


def loop_over_local_defs(x):
    def square(v):
        return v * v

    def shift(v):
        return v + x[2]
    total = 0.0
    for g in [square, shift, np.exp]:
        total = total + g(x[0])
    for g in (shift,):
        total = total * g(x[1])
    return total


@pytest.mark.parametrize("f", [loop_over_a_display, loop_over_lambdas,
                               loop_over_a_global_tuple, loop_over_local_defs])
def test_loops_over_functions(f):
    check_modes(f)


def test_a_loop_over_functions_reads_as_its_calls():
    source = s2sgrad.grad(loop_over_a_display).source
    for call in ("np.sin(", "np.cos(", "math.tanh("):
        assert call in source


def test_a_rebound_global_tuple_recompiles():
    global ACTIVATIONS
    saved = ACTIVATIONS
    try:
        g = s2sgrad.grad(loop_over_a_global_tuple)
        first = g(X)
        ACTIVATIONS = (np.sin,)
        np.testing.assert_allclose(g(X), numerical_grad(loop_over_a_global_tuple, (X,)),
                                   rtol=1e-6)
        assert not np.allclose(g(X), first)
    finally:
        ACTIVATIONS = saved


LAYER_LIST = [np.tanh, np.sin]


def loop_over_a_global_list(x):
    y = x[0]
    for layer in LAYER_LIST:  # <- HERE
        y = layer(y)
    return y


def loop_over_functions_with_break(x):
    y = x[0]
    for f in (np.sin, np.cos):  # <- HERE
        y = f(y)
        if y > 10.0:
            break
    return y


def loop_over_functions_name_read_after(x):
    y = x[0]
    for f in (np.sin, np.cos):  # <- HERE
        y = f(y)
    return y * f(x[1])


def test_loops_over_functions_refused():
    refused(loop_over_a_global_list, "global list `LAYER_LIST`", "make it a tuple")
    refused(loop_over_functions_with_break, "no loop to `break` or `continue`")
    refused(loop_over_functions_name_read_after, "read only in the loop's body")


# ----------------------------------------------------------------------- nonlocal

def nonlocal_accumulator(x):
    total = 0.0
    count = 0

    def add(v):
        nonlocal total, count
        total = total + v * v
        count += 1
    for k in range(4):
        add(x[k] * np.sin(x[(k + 1) % 4]))
    add(total)
    return total / count


def nonlocal_reads_the_caller_s_value(x):
    scale = x[0]

    def grow():
        nonlocal scale
        scale = scale * x[1]
        return scale
    a = grow()
    scale = scale + x[2]
    b = grow()
    return a * b + scale


@pytest.mark.parametrize("f", [nonlocal_accumulator, nonlocal_reads_the_caller_s_value])
def test_nonlocal(f):
    check_modes(f)


def nonlocal_passed_on(x):
    total = 0.0

    def add(v):  # <- HERE
        nonlocal total
        total = total + v
    fs = (add,)
    fs[0](x[0])
    return total


def nonlocal_del(x):
    total = x[0]

    def drop():
        nonlocal total
        del total  # <- HERE
    drop()
    return x[1]


def test_nonlocal_refusals():
    refused(nonlocal_passed_on, "function")
    refused(nonlocal_del, "`del total` of a `nonlocal` name")


# ---------------------------------------------------------------------------- try

def try_with_raising_handlers(x):
    try:
        y = np.log(x[0] ** 2 + 1.0)
        if y < 0:
            raise ValueError("negative")
    except ValueError as e:
        raise RuntimeError("bad input") from e
    except (KeyError, IndexError):
        raise
    else:
        y = y * x[1]
    finally:
        z = np.sin(x[2])
    return y + z


def try_finally_in_a_loop(x):
    total = 0.0
    for k in range(3):
        try:
            total = total + x[k] * x[k + 1]
        finally:
            total = total * 0.5
    return total


@pytest.mark.parametrize("f", [try_with_raising_handlers, try_finally_in_a_loop])
def test_try(f):
    check_modes(f)


def test_try_body_raises_as_python_does():
    def f(x):
        try:
            y = x[0]
            if y > 0:
                raise ValueError("positive")
        except ValueError:
            raise
        return y
    with pytest.raises(ValueError):
        s2sgrad.grad(f)(X)


def try_with_a_quiet_handler(x):
    try:  # <- HERE
        y = np.log(x[0])
    except FloatingPointError:
        y = 0.0
    return y


def try_finally_with_return(x):
    try:  # <- HERE
        return np.sum(x)
    finally:
        x = x * 2.0


def test_try_refusals():
    err = refused(try_with_a_quiet_handler, "`except` does not end by raising")
    assert "test for the case before it happens" in err.render()
    refused(try_finally_with_return, "`finally`", "move the jump after")


# --------------------------------------------------------------- more of the same

def min_max_of_a_dict_by_its_values(x):
    d = {"a": x[0] * x[1], "b": x[2], "c": x[3] * 2.0}
    low = min(d, key=d.get)
    high = max(d, key=d.get)
    return d[low] * 3.0 + d[high]


def longest_row(x):
    rows = [[x[0], x[1]], [x[2]], [x[0], x[1], x[3]]]
    return sum(max(rows, key=len)) * x[2]


def loop_over_functions_in_a_local_helper(x):
    def apply_all(v):
        out = v
        for h in (np.sin, np.cos):
            out = out + h(v)
        return out
    return apply_all(x[0]) * x[1]


@pytest.mark.parametrize("f", [min_max_of_a_dict_by_its_values, longest_row,
                               loop_over_functions_in_a_local_helper])
def test_more_idioms(f):
    check_modes(f)


def test_a_parameter_is_not_the_global_tuple_of_the_same_name():
    # the parameter `ACTIVATIONS` shadows the global tuple: the loop is not unrolled
    # over the global's functions
    def f(x, ACTIVATIONS):
        y = x[0]
        for act in ACTIVATIONS:
            y = y * act
        return y
    np.testing.assert_allclose(s2sgrad.grad(f)(X, [2.0, 3.0]), [6.0, 0, 0, 0])


def min_by_a_local_def(x):
    def distance(v):
        return (v - x[3]) ** 2
    xs = [x[0], x[1], x[2]]
    return min(xs, key=distance) * max(xs, key=distance)


def test_min_max_with_a_local_def_as_key():
    check_modes(min_by_a_local_def)


def walrus_in_a_mapped_lambda(x):
    return sum(map(lambda v: (w := v * 2.0) + w, x))  # <- HERE


def test_a_mapped_lambda_keeps_its_walrus_refused():
    refused(walrus_in_a_mapped_lambda, "lambda")


def loop_over_named_lambdas(x):
    sq = lambda v: v * v  # noqa: E731
    cube = lambda v: v * v * v  # noqa: E731
    total = x[0]
    for f in (sq, cube, np.sin):
        total = total + f(x[1] * total)
    return total


def test_loop_over_lambdas_bound_to_names():
    check_modes(loop_over_named_lambdas)


def del_then_walrus_in_the_next_step(x):
    out = []
    for v in x:
        if (s := v * v) > 0.1:
            out.append(s)
        del s
    return sum(out)


def test_del_then_bound_by_a_walrus():
    check_modes(del_then_walrus_in_the_next_step)


def del_then_augmented(x):
    s = x[0]
    del s  # <- HERE
    s += 1.0
    return s


def del_then_bound_under_and(x):
    s = x[0]
    del s  # <- HERE
    _ = x[1] > 0 and (s := x[2])
    return s


def test_del_refusals_of_reads_python_makes_too():
    refused(del_then_augmented, "`s` may be read after `del s`")
    refused(del_then_bound_under_and, "`s` may be read after `del s`")
