"""Every free name of every function s2sgrad differentiates resolves as Python resolves
it: the function's own closure cells, its defaults (evaluated once, at its `def`), the
globals of the module that defined it, then builtins — also when the function is a
callee whose generated code runs among another function's names.

Oracles: closed forms, and centered finite differences (tests/support/numeric.py)."""
import importlib
import sys

import numpy as np
import pytest

import s2sgrad
from s2sgrad import grad

from support.numeric import numerical_grad

scale = 100.0
k = 7
c = 10.0


# ------------------------------------------------------------- helpers from a factory

def make_scaled(scale):
    def head(v):
        return v * scale
    def f(v):
        return np.sum(head(v) ** 2)
    return f


def test_a_factory_helper_reads_its_own_cell_not_the_global_of_that_name():
    f = make_scaled(2.0)
    x = np.array([1.0, -0.5])
    # f = 4 |v|², df = 8 v (the global scale = 100 would give 20000 v)
    np.testing.assert_allclose(grad(f)(x), 8.0 * x, rtol=1e-12)
    _, jv = s2sgrad.jvp(f)((x,), (np.array([1.0, 1.0]),))
    assert jv == pytest.approx(8.0 * x.sum(), rel=1e-12)
    np.testing.assert_allclose(s2sgrad.hessian(f)(x), 8.0 * np.eye(2), rtol=1e-12)


def make_prefix(k):
    def head(v):
        return v[:k]
    def f(v):
        return np.sum(head(v) ** 2)
    return f


def test_a_factory_helper_reads_a_cell_the_caller_does_not_have():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(grad(make_prefix(2))(x), [2.0, 4.0, 0.0], rtol=1e-12)


def make_power(num):
    def fun(x, n=num):
        return x ** n
    def f(x):
        return fun(x)
    return f


def test_a_callee_default_is_the_value_computed_at_its_def():
    assert grad(make_power(3))(2.0) == pytest.approx(12.0, rel=1e-12)
    assert s2sgrad.vjp(make_power(3))(2.0)[1](1.0) == pytest.approx(12.0, rel=1e-12)
    _, t = s2sgrad.jvp(make_power(4))((2.0,), (1.0,))
    assert t == pytest.approx(32.0, rel=1e-12)


def make_two_cells(a, b):
    def inner(v):
        return v * a
    def outer(v):
        return inner(v) + b * v
    def f(v):
        return np.sum(outer(v) ** 2)
    return f


def test_a_factory_helper_called_from_a_factory_helper():
    f = make_two_cells(2.0, 3.0)
    x = np.array([0.5, -1.0])
    # f = 25 |v|²
    np.testing.assert_allclose(grad(f)(x), 50.0 * x, rtol=1e-12)


def make_nested(scale):
    def middle(c):
        def leaf(v):
            return v * scale + c
        def f(v):
            return np.sum(leaf(v) ** 2)
        return f
    return middle


def test_nested_factories_two_levels_deep():
    f = make_nested(3.0)(0.5)
    x = np.array([1.0, -2.0])
    # f = Σ (3v + 0.5)², df = 6 (3v + 0.5)
    np.testing.assert_allclose(grad(f)(x), 6.0 * (3.0 * x + 0.5), rtol=1e-12)


def make_same_name(k):
    def f(v):
        return np.sum(helper_k(v)) * k
    return f


def helper_k(v):
    return v ** 2 * k              # the module's k (7), not the factory's


def test_a_module_helper_reads_its_global_although_the_caller_has_a_cell_of_that_name():
    f = make_same_name(2.0)
    x = np.array([1.0, 3.0])
    # f = 2 · 7 Σ v², df = 28 v
    np.testing.assert_allclose(grad(f)(x), 28.0 * x, rtol=1e-12)
    np.testing.assert_allclose(grad(f)(x), numerical_grad(f, (x,), 0), rtol=1e-6)


# ------------------------------------------------------------------- shadowing

def shadow_param(v, c):
    return v * c


def uses_param_named_like_a_global(x):
    return shadow_param(x, 3.0) + c * x


def shadow_local(v):
    c = 2.0
    return v * c


def make_shadowing(c):
    def f(v):
        return shadow_local(v) * c + uses_param_named_like_a_global(v)
    return f


def test_parameters_and_locals_shadow_globals_and_cells():
    f = make_shadowing(5.0)
    # f = 2v · 5 + 3v + 10 v = 23 v
    assert grad(f)(1.5) == pytest.approx(23.0, rel=1e-12)


def local_default_reads_a_local(x):
    n = 3.0
    def h(v, p=n):
        return v ** p
    n = 5.0
    return h(x) + n * x


def local_default_reads_the_argument(x):
    def h(v, w=x * x):
        return v * w
    return h(x)


def test_a_local_helper_default_is_evaluated_at_its_def():
    # x³ + 5x: the default took n when the def ran (3), not at the call (5)
    assert grad(local_default_reads_a_local)(2.0) == pytest.approx(17.0, rel=1e-12)
    # x · x² (the default depends on x): 3x²
    assert grad(local_default_reads_the_argument)(2.0) == pytest.approx(12.0, rel=1e-12)


# ------------------------------------------------------- a helper from another module

OTHER = '''
c = 3.0


def times_c(v):
    return v * c
'''

CALLER = '''
import numpy as np
import scoping_other

c = 5.0


def make(c_cell):
    def f(v):
        return np.sum(scoping_other.times_c(v) ** 2) + c * c_cell * np.sum(v)
    return f


f = make(2.0)


def g(v):
    c = 11.0
    return np.sum(scoping_other.times_c(v)) * c
'''


@pytest.fixture
def two_modules(tmp_path, monkeypatch):
    (tmp_path / "scoping_other.py").write_text(OTHER)
    (tmp_path / "scoping_caller.py").write_text(CALLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("scoping_other", "scoping_caller"):
        sys.modules.pop(name, None)
    yield importlib.import_module("scoping_caller")
    for name in ("scoping_other", "scoping_caller"):
        sys.modules.pop(name, None)


def test_a_helper_reads_the_globals_of_its_own_module(two_modules):
    mod = two_modules
    x = np.array([1.0, -2.0])
    # f = 9 |v|² + 10 Σ v; g = 3 · 11 Σ v
    np.testing.assert_allclose(grad(mod.f)(x), 18.0 * x + 10.0, rtol=1e-12)
    np.testing.assert_allclose(grad(mod.g)(x), [33.0, 33.0], rtol=1e-12)
    np.testing.assert_allclose(grad(mod.f)(x), numerical_grad(mod.f, (x,), 0), rtol=1e-6)


def test_rebinding_a_helpers_global_is_seen(two_modules):
    mod = two_modules
    x = np.array([1.0, -2.0])
    gf = grad(mod.g)
    np.testing.assert_allclose(gf(x), [33.0, 33.0], rtol=1e-12)
    sys.modules["scoping_other"].c = 4.0
    np.testing.assert_allclose(gf(x), [44.0, 44.0], rtol=1e-12)


# ------------------------------------------------- a default is the value at the def

base = 100.0


def weighted(v, n=base):
    return v ** 2 * n


base = 3.0                         # rebound after the def: the default stays 100


def uses_weighted(v):
    return np.sum(weighted(v))


def test_a_module_callee_default_keeps_the_value_of_its_def():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(grad(uses_weighted)(x), 200.0 * x, rtol=1e-12)
    np.testing.assert_allclose(grad(uses_weighted)(x), numerical_grad(uses_weighted, (x,), 0),
                               rtol=1e-6)


CLI_MODULE = '''
import numpy as np
base = 100.0


def weighted(v, n=base):
    return v ** 2 * n


base = 3.0


def uses_weighted(v, w=base):
    return np.sum(weighted(v)) * w
'''


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_cli_writes_a_callee_default_as_its_def_computed_it(tmp_path, capsys, mode):
    from s2sgrad.tools.cli import main
    src = tmp_path / "scoping_cli.py"
    src.write_text(CLI_MODULE)
    out = tmp_path / "scoping_cli_grad.py"
    assert main(["transform", str(src), "-f", "uses_weighted", "--mode", mode,
                 "-o", str(out)]) == 0, capsys.readouterr().err
    ns = {}
    exec(compile(out.read_text(), str(out), "exec"), ns)
    x = np.array([1.0, 2.0])
    # f = 100 Σ v² · 3: df = 600 v
    if mode == "reverse":
        np.testing.assert_allclose(ns["grad_uses_weighted"](x), 600.0 * x, rtol=1e-12)
    else:
        value, tangent = ns["jvp_uses_weighted"](x, v_dot=np.array([1.0, 0.0]))
        assert value == pytest.approx(1500.0) and tangent == pytest.approx(600.0)


def make_root_default(num):
    def f(x, n=num):
        return x ** n
    return f


def rebound_root_default(v, n=base):      # base is 3.0 here
    return np.sum(v ** n)


def test_the_differentiated_function_s_own_defaults_are_the_values_at_its_def():
    f = make_root_default(3)
    assert grad(f)(2.0) == pytest.approx(12.0, rel=1e-12)
    assert s2sgrad.value_and_grad(f)(2.0) == pytest.approx((8.0, 12.0), rel=1e-12)
    _, t = s2sgrad.jvp(f)((2.0,), (1.0,))
    assert t == pytest.approx(12.0, rel=1e-12)
    assert s2sgrad.hessian(f)(2.0) == pytest.approx(12.0, rel=1e-12)     # 6x
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(grad(rebound_root_default)(x), 3.0 * x ** 2, rtol=1e-12)


def make_with_inner_def(scale):
    def head(v):
        """Scaled, then squared:
        the nested def reads the factory's cell."""
        def scaled(u):
            return u * scale
        return scaled(v) ** 2
    def f(v):
        return np.sum(head(v))
    return f


def make_with_comprehension(scale):
    def head(v):
        return sum([v[i] * scale for i in range(2)])
    def f(v):
        return head(v) ** 2
    return f


def make_shadowing_a_builtin(sum):
    def head(v):
        return sum(v)
    def f(v):
        return head(v * 2.0)
    return f


def test_cells_read_by_nested_defs_and_comprehensions_of_a_callee():
    x = np.array([1.0, -1.0])
    # (2v)² summed: 8 v (a nested def passing a cell on was taken for an edited source)
    np.testing.assert_allclose(grad(make_with_inner_def(2.0))(x), 8.0 * x, rtol=1e-12)
    # (2 v0 + 2 v1)²: 8 (v0 + v1) in each component
    y = np.array([1.0, 0.5, 3.0])
    np.testing.assert_allclose(grad(make_with_comprehension(2.0))(y), [12.0, 12.0, 0.0],
                               rtol=1e-12)
    # a cell named like a builtin: `sum` is np.sum here, over all of v
    np.testing.assert_allclose(grad(make_shadowing_a_builtin(np.sum))(y), [2.0, 2.0, 2.0],
                               rtol=1e-12)


def make_rebindable():
    s = 1.0
    def head(v):
        return v * s
    def through_helper(v):
        return np.sum(head(v))
    def direct(v):
        return np.sum(v * s)
    def set_s(value):
        nonlocal s
        s = value
    return through_helper, direct, set_s


def test_a_cell_rebound_after_compiling_is_seen():
    through_helper, direct, set_s = make_rebindable()
    g_helper, g_direct = grad(through_helper), grad(direct)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(g_helper(x), [1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(g_direct(x), [1.0, 1.0], rtol=1e-12)
    set_s(5.0)                   # Python's closures read the cell when they run
    np.testing.assert_allclose(g_helper(x), [5.0, 5.0], rtol=1e-12)
    np.testing.assert_allclose(g_direct(x), [5.0, 5.0], rtol=1e-12)


def test_a_cell_rebound_after_compiling_is_seen_by_jvp():
    through_helper, direct, set_s = make_rebindable()
    x, v = np.array([1.0, 2.0]), np.array([1.0, 1.0])
    j_helper, j_direct = s2sgrad.jvp(through_helper), s2sgrad.jvp(direct)
    assert j_helper((x,), (v,))[1] == pytest.approx(2.0, rel=1e-12)
    assert j_direct((x,), (v,))[1] == pytest.approx(2.0, rel=1e-12)
    set_s(5.0)
    assert j_helper((x,), (v,))[1] == pytest.approx(10.0, rel=1e-12)
    assert j_direct((x,), (v,))[1] == pytest.approx(10.0, rel=1e-12)


def test_a_cell_rebound_after_compiling_is_seen_by_vjp():
    through_helper, direct, set_s = make_rebindable()
    x = np.array([1.0, 2.0])
    v_helper, v_direct = s2sgrad.vjp(through_helper), s2sgrad.vjp(direct)
    np.testing.assert_allclose(v_helper(x)[1](1.0), [1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(v_direct(x)[1](1.0), [1.0, 1.0], rtol=1e-12)
    set_s(5.0)
    np.testing.assert_allclose(v_helper(x)[1](1.0), [5.0, 5.0], rtol=1e-12)
    np.testing.assert_allclose(v_direct(x)[1](1.0), [5.0, 5.0], rtol=1e-12)


# ------------------------------------------------------------- imports inside the function

def uses_local_imports(x):
    import math
    import numpy.linalg as la
    from numpy import tanh, sum as total
    return total(tanh(x) ** 2) + math.pi * la.norm(x) ** 2


def helper_with_import(x):
    from numpy import sin
    return sin(x)


def calls_helper_with_import(x):
    return np.sum(helper_with_import(x) * x)


def test_imports_at_the_top_of_a_function_bind_as_at_module_level():
    x = np.array([0.3, -1.2, 0.7])
    # d/dx [Σ tanh² + π |x|²] = 2 tanh sech² + 2π x
    expected = 2 * np.tanh(x) / np.cosh(x) ** 2 + 2 * np.pi * x
    np.testing.assert_allclose(grad(uses_local_imports)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(grad(calls_helper_with_import)(x),
                               numerical_grad(calls_helper_with_import, (x,), 0), rtol=1e-7)


def import_under_a_branch(x, fast):
    if fast:
        from numpy import tanh
    else:
        from numpy import sin as tanh
    return np.sum(tanh(x))


def import_of_a_missing_module(x):
    import s2sgrad_no_such_module
    return s2sgrad_no_such_module.f(x)


@pytest.mark.parametrize("f", [import_under_a_branch, import_of_a_missing_module])
def test_imports_that_cannot_be_bound_ahead_are_refused_where_they_stand(f):
    with pytest.raises(s2sgrad.TransformError, match="imports inside the function"):
        grad(f)(np.array([0.5]), True) if f is import_under_a_branch else grad(f)(0.5)


# ----------------------------------- a NumPy function under a global name of the user's

activation = np.tanh               # rebound by the test below


def uses_activation(v):
    return np.sum(activation(v) * v)


def activation_twice(v):
    return np.sum(uses_activation(v) * v)


def apply_to(f, v):
    return f(v) * 2.0


def applies_activation(v):
    return np.sum(apply_to(activation, v))


def test_rebinding_a_global_alias_of_a_numpy_function_recompiles():
    """`activation = np.tanh`: the code calls `activation`, with the rule of np.tanh; once
    the name is rebound to np.sin, every transform must take the rule of np.sin (it took
    the forward value of sin with the adjoint of tanh, with no error)."""
    global activation
    x, v = np.array([0.3, -0.7, 1.1]), np.array([0.2, 1.0, -0.4])
    transforms = [(f, grad(f), s2sgrad.value_and_grad(f), s2sgrad.jvp(f), s2sgrad.vjp(f),
                   s2sgrad.hvp(f))
                  for f in (uses_activation, activation_twice, applies_activation)]

    def check():
        for f, g, vg, jv, vj, hv in transforms:
            expected = numerical_grad(f, (x,), 0)
            np.testing.assert_allclose(g(x), expected, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(vg(x)[1], expected, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(vj(x)[1](1.0), expected, rtol=1e-6, atol=1e-8)
            if f is not applies_activation:     # (forward mode refuses `f(v)` of a parameter)
                assert jv((x,), (v,))[1] == pytest.approx(expected @ v, rel=1e-6)
                h = 1e-5
                fd = (grad(f)(x + h * v) - grad(f)(x - h * v)) / (2 * h)
                np.testing.assert_allclose(hv(x, v), fd, rtol=1e-5, atol=1e-7)
    check()
    activation = np.sin
    try:
        check()
    finally:
        activation = np.tanh
