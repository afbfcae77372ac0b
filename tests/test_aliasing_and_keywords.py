"""Aliasing through in-place operators, keyword arguments the rules do not handle,
decorators, closure cells rebound after compilation, the builtin `sum` of an array and
the source check of nested helpers: each either differentiated as Python runs it
(checked against finite differences) or refused at transform time."""
import functools

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError
from support.numeric import assert_value_and_grad_matches, numerical_grad


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


# ------------------------------------------- the source check of nested helpers

def make_nested_helpers(k):
    def scale(y):
        return y * 2.0

    def outer(x):
        def inner(y):
            return scale(y) + np.sin(y)
        return inner(x) * inner(2.0 * x)

    def f(x):
        return np.sum(outer(x)) * k
    return f


def test_unchanged_helper_nested_in_a_factory_helper_is_accepted():
    assert_value_and_grad_matches(make_nested_helpers(1.5), np.array([0.3, -0.4, 0.8]))


_NESTED_SOURCE = '''
import numpy as np

def make():
    def outer(x):
        def inner(y):
            return y * {c}
        return inner(x) + np.sin(x)
    def f(x):
        return np.sum(outer(x))
    return f

f = make()
'''


def test_edit_inside_a_nested_function_is_refused(tmp_path, monkeypatch):
    """Only the nested function's body changes on disk: the gradient of the running
    code (3 + cos x) or a refusal, never that of the text (7 + cos x)."""
    import importlib
    import sys
    name = "alias_nested_edit"
    path = tmp_path / f"{name}.py"
    path.write_text(_NESTED_SOURCE.format(c="3.0"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    mod = importlib.import_module(name)
    path.write_text(_NESTED_SOURCE.format(c="7.0"))
    x = np.array([0.2, 0.5])
    try:
        got = s2sgrad.grad(mod.f)(x)
    except s2sgrad.S2SGradError as exc:
        assert "has changed since" in str(exc)
        return
    finally:
        sys.modules.pop(name, None)
    np.testing.assert_allclose(got, 3.0 + np.cos(x))


# ------------------------------------------------------------------------ decorators

def times10(func):
    @functools.wraps(func)
    def wrapper(*a, **k):
        return 10 * func(*a, **k)
    return wrapper


def passes_through(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        """Logs nothing, changes nothing."""
        return func(*args, **kwargs)
    return wrapper


def passes_through_positional(func):
    @functools.wraps(func)
    def inner(v):
        return func(v)
    return inner


@times10
def sq_times10(v):
    return v ** 2


@passes_through
def sq_plain(v):
    return v ** 2


@passes_through_positional
def cube_plain(v):
    return v ** 3


def calls_scaling_decorated(x):
    return np.sum(sq_times10(x))


def calls_transparent_decorated(x):
    return np.sum(sq_plain(x) + cube_plain(x))


def test_decorator_that_scales_is_refused_at_the_call():
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(calls_scaling_decorated)(np.array([1.0, 2.0]))
    msg = str(info.value)
    assert "`times10`" in msg and "decorator's effect" in msg
    assert "return np.sum(sq_times10(x))" in msg and "__wrapped__" in msg


def test_decorated_entry_point_that_scales_is_refused():
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(sq_times10)(3.0)
    assert "`times10`" in str(info.value) and "@times10" in str(info.value)


def test_transparent_decorators_are_followed():
    assert_value_and_grad_matches(calls_transparent_decorated, np.array([0.5, -1.5]))
    assert_value_and_grad_matches(sq_plain, 1.5)
    assert_value_and_grad_matches(cube_plain, 1.5)


# ------------------------------------------------- closure cells rebound after compiling

def make_helper_with_cell():
    k = 2.0

    def helper(u):
        return u * k

    def f(v):
        return np.sum(helper(v))

    def set_k(value):
        nonlocal k
        k = value
    return f, set_k


def test_rebound_cell_of_a_called_helper_makes_the_code_stale():
    """The compiled code is no longer current once a cell of a helper it pairs is
    rebound (checked on the cache entry: running it needs closure scoping of
    helpers)."""
    f, set_k = make_helper_with_cell()
    compiled = s2sgrad.grad(f).compiled
    assert compiled.is_current()
    set_k(3.0)
    assert not compiled.is_current()


def make_with_function_cell():
    act = np.sin

    def f(v):
        return np.sum(act(v))

    def set_act(g):
        nonlocal act
        act = g
    return f, set_act


def test_rebound_closure_cell_holding_a_function_recompiles():
    f, set_act = make_with_function_cell()
    df = s2sgrad.grad(f)
    x = np.array([0.5, -1.0])
    np.testing.assert_allclose(df(x), np.cos(x))
    set_act(np.tanh)
    np.testing.assert_allclose(df(x), numerical_grad(f, (x,), 0), rtol=1e-6)


# ------------------------------------------------------------ keywords and index order

_W6 = np.arange(1.0, 7.0)


def reshape_method_F(x):
    return np.sum(np.sin(x.reshape((2, 3), order='F')) * _W6.reshape(2, 3))


def reshape_function_F(x):
    return np.sum(np.sin(np.reshape(x, (2, 3), order='F')) * _W6.reshape(2, 3))


def reshape_positional_F(A):
    return np.sum(np.sin(np.reshape(A, 6, 'F')) * _W6)


def ravel_F(A):
    return np.sum(np.sin(A.ravel(order='F')) * _W6)


def flatten_positional_F(A):
    return np.sum(np.sin(A.flatten('F')) * _W6)


def np_ravel_positional_F(A):
    return np.sum(np.sin(np.ravel(A, 'F')) * _W6)


def reshape_A_of_transpose(A):
    return np.sum(np.sin(A.T.reshape(6, order='A')) * _W6)


def astype_float_then_int(x):
    return np.sum(x.astype(np.float64) * 2.0) + np.sum(x.astype(int) * x)


_X6 = np.linspace(0.1, 1.0, 6)
ORDER_CASES = [
    pytest.param(reshape_method_F, _X6, id="method_F"),
    pytest.param(reshape_function_F, _X6, id="function_F"),
    pytest.param(reshape_positional_F, _X6.reshape(2, 3), id="positional_F"),
    pytest.param(ravel_F, _X6.reshape(2, 3), id="ravel_F"),
    pytest.param(flatten_positional_F, _X6.reshape(2, 3), id="flatten_F"),
    pytest.param(np_ravel_positional_F, _X6.reshape(2, 3), id="np_ravel_F"),
    pytest.param(reshape_A_of_transpose, _X6.reshape(2, 3), id="A_fortran_input"),
    pytest.param(astype_float_then_int, np.array([0.3, 1.7, 2.2]), id="astype_int"),
]


@pytest.mark.parametrize("f, x", ORDER_CASES)
def test_index_order_and_casts(f, x):
    assert_value_and_grad_matches(f, x, rtol=1e-4)


@pytest.mark.parametrize("f, x", ORDER_CASES)
def test_index_order_and_casts_forward(f, x):
    t = np.cos(np.arange(x.size)).reshape(x.shape)
    _, d = s2sgrad.jvp(f)((x,), (t,))
    expected = np.sum(numerical_grad(f, (x,), 0) * t)
    assert abs(d - expected) <= 1e-5 + 1e-4 * abs(expected)


def sum_into_out(x):
    buf = np.zeros(())
    return np.sum(x, out=buf)


def sort_with_order(x):
    return np.sum(np.sort(x, order=None, kind='stable') ** 2)


def sum_int_dtype(x):
    return np.sum(x ** 2, dtype=int)


def prod_int_dtype(x):
    return np.prod(x ** 2, dtype=int)


def mean_float32_dtype(x):
    return np.mean(x ** 2, dtype=np.float32)


def ravel_order_K(A):
    return np.sum(A.ravel(order='K') * _W6)


def reshape_order_variable(A, order):
    return np.sum(A.reshape(6, order=order) * _W6)


@pytest.mark.parametrize("f, keyword", [
    (sum_into_out, "out="), (prod_int_dtype, "dtype="),
    (ravel_order_K, "order 'C', 'F' or 'A'"),
])
def test_keyword_the_rule_does_not_handle_is_refused(f, keyword):
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(f)(np.array([0.3, -1.2, 0.7, 0.1, 0.2, 0.5]).reshape(2, 3))
    assert keyword in str(info.value) and info.value.lineno is not None


def test_keyword_left_at_its_default_and_float_dtype_are_accepted():
    x = np.array([0.3, -1.2, 0.7])
    assert_value_and_grad_matches(sort_with_order, x)
    g = s2sgrad.grad(mean_float32_dtype)(x)
    np.testing.assert_allclose(g, 2 * x / 3, rtol=1e-5)
    # an integer accumulator truncates each square first: a piecewise constant function
    np.testing.assert_array_equal(s2sgrad.grad(sum_int_dtype)(x), np.zeros(3))


def test_variable_index_order_is_refused():
    with pytest.raises(TransformError, match="given as a literal"):
        s2sgrad.grad(reshape_order_variable)(_X6.reshape(2, 3), "F")


def _registered():
    from s2sgrad import rules
    out = [(f"operator {k}", r) for k, r in rules.OPERATORS.items()]
    out += [(f"method .{k}()", r) for k, r in rules.METHODS.items()]
    out += [(f"attribute .{k}", r) for k, r in rules.ATTRIBUTES.items()]
    out += [(repr(rules.registry._KEEP.get(k)), r) for k, r in rules.CALLABLES.items()]
    return out


@pytest.mark.parametrize("label, rule", _registered(), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_every_rule_refuses_an_unknown_keyword(label, rule):
    """Each registered rule, called with its required operands and a keyword no rule
    understands, names that keyword; and a value other than the default for an option
    its template never reads is refused too."""
    from s2sgrad.syntax.nodes import Const
    args = [f"a{i}" for i, p in enumerate(rule.params) if p not in rule.defaults]
    ok = lambda a: False                                       # noqa: E731
    assert rule.unsupported_option(args, {"bogus_option": Const(1)}, ok) == "bogus_option"
    for p in rule.unread_options():
        assert rule.unsupported_option(args, {p: "some_name"}, ok) == p, p


# --------------------------------------------------- in-place operators and aliasing

def view_then_imul(x):
    z = x * 1.0
    v = z[:2]
    v *= 3.0
    return np.sum(z)


def second_name_then_iadd(x):
    z = x * 1.0
    w = z
    w += 1.0
    return np.sum(z * z)


def rows_then_imul(A):
    B = A * 1.0
    for row in B:
        row *= 2.0
    return np.sum(B)


def transpose_then_isub(A):
    B = A * 1.0
    C = B.T
    C -= 1.0
    return np.sum(B ** 2)


def reshape_then_idiv(x):
    z = x * 1.0
    m = z.reshape(3, 1)
    m /= 2.0
    return np.sum(z ** 2)


def alias_then_original_imul(x):
    z = x * 1.0
    w = z
    z *= 2.0
    return np.sum(w)


def list_alias_iadd(xs, y):
    ys = xs
    ys += [y]
    return sum(xs)


def list_holding_array_then_iadd(x):
    h = x * 1.0
    out = []
    for _ in range(3):
        out.append(h)
        h += x
    return np.sum(out[0])


def argument_imul(x):
    x *= 2.0
    return np.sum(x)


def helper_scales_in_place(a):
    a *= 2.0
    return np.sum(a)


def caller_reads_after_helper(x):
    z = x * 1.0
    s = helper_scales_in_place(z)
    return s + np.sum(z)


REFUSED_IN_PLACE = [
    pytest.param(view_then_imul, (np.ones(3),), "v *= ", id="slice_view"),
    pytest.param(second_name_then_iadd, (np.ones(3),), "w += ", id="second_name"),
    pytest.param(rows_then_imul, (np.ones((2, 2)),), "row *= ", id="loop_rows"),
    pytest.param(transpose_then_isub, (np.ones((2, 2)),), "C -= ", id="transpose"),
    pytest.param(reshape_then_idiv, (np.ones(3),), "m /= ", id="reshape"),
    pytest.param(alias_then_original_imul, (np.ones(3),), "z *= ", id="original_of_alias"),
    pytest.param(list_alias_iadd, ([1.0, 2.0], 3.0), "ys += ", id="list_alias"),
    pytest.param(list_holding_array_then_iadd, (np.ones(3),), "h += ", id="held_by_list"),
    pytest.param(caller_reads_after_helper, (np.ones(3),), "argument `a`", id="helper_arg"),
]


@pytest.mark.parametrize("f, args, what", REFUSED_IN_PLACE)
def test_in_place_update_of_shared_memory_is_refused(f, args, what):
    """Python changes every alias; s2sgrad would rebind one name: refused, located,
    with what to write instead (the gradient of these is never silently wrong)."""
    with pytest.raises(TransformError) as info:
        s2sgrad.grad(f)(*args)
    msg = str(info.value)
    assert what in msg and "in place" in msg and info.value.lineno is not None
    assert "hint:" in msg


def fresh_accumulators(x):
    h = np.zeros(3)
    for i in range(3):
        h += x * i
    loss = 0.0
    for i in range(3):
        loss += np.sum(h * x)
    return loss


def scalar_argument_iadd(x, s):
    s += 1.0
    z = x * 1.0
    z *= s
    return np.sum(z)


def store_into_the_array_itself(x):
    z = x * 1.0
    v = z[:2]
    v = v * 3.0
    z[:2] *= 3.0
    return np.sum(z) + np.sum(v)


def view_updated_but_original_unused(x):
    z = x * 1.0
    v = z[:2]
    v *= 3.0
    return np.sum(v ** 2)


def list_iadd_fresh(x):
    ys = [x[0]]
    ys += [x[1] * 2.0]
    return sum(ys)


@pytest.mark.parametrize("f, args, wrt", [
    pytest.param(fresh_accumulators, (np.array([0.3, -0.5, 1.2]),), 0, id="accumulators"),
    pytest.param(scalar_argument_iadd, (np.array([0.3, -0.5, 1.2]), 0.7), (0, 1),
                 id="scalar_argument"),
    pytest.param(store_into_the_array_itself, (np.array([0.3, -0.5, 1.2]),), 0,
                 id="store_itself"),
    pytest.param(view_updated_but_original_unused, (np.array([0.3, -0.5, 1.2]),), 0,
                 id="original_unused"),
    pytest.param(list_iadd_fresh, (np.array([0.3, -0.5]),), 0, id="fresh_list"),
])
def test_in_place_update_of_unshared_values_is_differentiated(f, args, wrt):
    assert_value_and_grad_matches(f, *args, wrt=wrt)


def test_in_place_update_of_the_called_functions_own_argument():
    """The function the user differentiates may update its argument in place (nothing
    else in it sees the change): d/dx Σ 2x = 2 (closed form; finite differences
    cannot run a function that changes its input)."""
    x = np.array([0.3, -0.5, 1.2])
    np.testing.assert_allclose(s2sgrad.grad(argument_imul)(x), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(x, [0.3, -0.5, 1.2])       # and the caller's x is unchanged


def unpack_with_running_offset(params, inputs, shapes):
    idx = 0
    for m, n in shapes:
        W = params[idx:idx + m * n].reshape(m, n)
        idx += m * n
        b = params[idx:idx + n]
        idx += n
        inputs = np.tanh(np.dot(inputs, W) + b)
    return np.sum(inputs)


def test_a_running_offset_updated_with_op_assign_is_not_an_alias():
    # `idx += m * n` is desugared to `idx_new = idx + m * n; idx = idx_new`: the
    # write-back is idx taking its next value, not a second name for the old one
    params = np.linspace(-0.5, 0.6, 12)
    args = (params, np.array([[0.3, -0.2]]), [(2, 2), (2, 2)])
    np.testing.assert_allclose(s2sgrad.grad(unpack_with_running_offset)(*args),
                               numerical_grad(unpack_with_running_offset, args, 0),
                               rtol=1e-6, atol=1e-9)


def unpack_then_update(x, y):
    a, b = x * 2.0, y
    a += b
    for v in [a, b]:
        a = a * v
    return np.sum(a)


def element_of_a_list_updated(W):
    W = W * 1.0
    rows = [W]
    row = rows[0]
    row *= 2.0              # W is rows[0]: Python changes W too
    return np.sum(W)


def test_op_assign_after_tuple_unpacking_and_before_a_list_is_built():
    # `a` and `b` are different elements of the unpacked tuple (they share no memory),
    # and the list [a, b] is built after the update (it holds the new value either way)
    args = (np.array([0.3, 0.7]), np.array([1.1, -0.4]))
    for i in (0, 1):
        np.testing.assert_allclose(s2sgrad.grad(unpack_then_update, wrt=i)(*args),
                                   numerical_grad(unpack_then_update, args, i), rtol=1e-6)


def test_op_assign_on_an_element_read_from_a_list_reaches_what_was_put_in():
    with pytest.raises(TransformError, match=r"`row \*= \.\.\.` changes `row` in place"):
        s2sgrad.grad(element_of_a_list_updated)(np.array([0.3, 0.7]))


def element_of_a_joined_list_updated(W):
    W = W * 1.0
    xs = [W]
    ys = [W * 0.0] + xs
    e = ys[1]               # the W held by xs
    e *= 2.0
    return np.sum(W)


def test_op_assign_on_an_element_of_a_joined_list_reaches_the_inner_list():
    with pytest.raises(TransformError, match=r"`e \*= \.\.\.` changes `e` in place"):
        s2sgrad.grad(element_of_a_joined_list_updated)(np.array([0.3, 0.7]))


def rows_listed_then_matrix_updated(X):
    Y = X * 1.0
    rows = list(Y)              # the rows are views of Y
    Y += X * X
    return np.sum(rows[0] * rows[0])


def rows_listed_then_matrix_rebound(X):
    Y = X * 1.0
    rows = list(Y)
    Y = Y + X * X
    return np.sum(rows[0] * rows[0]) + np.sum(Y * Y)


def test_list_of_a_matrix_holds_views_of_its_rows():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TransformError, match=r"`Y \+= \.\.\.` changes `Y` in place"):
        s2sgrad.grad(rows_listed_then_matrix_updated)(X)
    # the rows' list adjoint goes back into the matrix's adjoint as an array
    np.testing.assert_allclose(s2sgrad.grad(rows_listed_then_matrix_rebound)(X),
                               numerical_grad(rows_listed_then_matrix_rebound, (X,), 0),
                               rtol=1e-6)
