"""Rule properties are declared where a rule is registered (`props=`), and the analyses
read nothing else about a rule: not the module its template lives in, not a set of
rule names. A rule moved to another file keeps what the analyses know of it."""
import ast
import math
import operator
import pathlib
import re

import numpy as np
import pytest

import s2sgrad
from s2sgrad.errors import TransformError
from s2sgrad.rules import registry as R
from support.numeric import assert_grad_matches

PACKAGE = pathlib.Path(s2sgrad.__file__).parent


def _registered():
    """(key, rule) for every adjoint and tangent rule of every table."""
    for table in (R.CALLABLES, R.T_CALLABLES):
        for key, rule in table.items():
            yield R._KEEP[key], rule
    for table in (R.OPERATORS, R.METHODS, R.ATTRIBUTES,
                  R.T_OPERATORS, R.T_METHODS, R.T_ATTRIBUTES):
        yield from table.items()


def _callables_with(prop):
    return [obj for obj, rule in ((R._KEEP[k], r) for k, r in R.CALLABLES.items())
            if prop in rule.props]


def test_every_rule_declares_only_known_properties():
    for key, rule in _registered():
        assert isinstance(rule.props, frozenset), key
        assert rule.props <= R.PROPERTIES, (key, rule.props - R.PROPERTIES)


def test_an_unknown_property_is_refused_at_registration():
    def f(x):
        return x
    with pytest.raises(s2sgrad.S2SGradError, match="unknown properties"):
        R.adjoint(f, props=("elementwize",))(lambda y, x: None)


def test_properties_are_consistent():
    for key, rule in _registered():
        assert not {R.FRESH, R.VIEW} <= rule.props, key
        if R.ELEMENTWISE in rule.props:
            assert R.SCALAR_PRESERVING in rule.props, key
        if R.HOLDS_OPERANDS in rule.props:
            assert R.FRESH in rule.props, key


# ---------------------------------------------------------------- nothing is inferred

def _analysis_files():
    for sub in ("ir", "optimize", "ad"):
        yield from sorted((PACKAGE / sub).glob("*.py"))


def test_no_analysis_reads_a_templates_module():
    for path in _analysis_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "__module__":
                base = node.value
                assert not (isinstance(base, ast.Attribute) and base.attr == "template"), \
                    f"{path.name}:{node.lineno} reads a rule template's module"
            if isinstance(node, ast.Attribute) and node.attr == "template":
                raise AssertionError(f"{path.name}:{node.lineno} looks at a rule's template "
                                     "to decide what it is; declare a property instead")


def test_no_analysis_tests_a_rule_name_against_a_named_set():
    """`rule.name in _SOME_RULES` is a property kept as a list of names: it breaks when
    two families have rules of one name (list * n and np.repeat are both `repeat`)."""
    for path in _analysis_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(isinstance(o, (ast.In, ast.NotIn))
                                                     for o in node.ops):
                left = node.left
                is_name = isinstance(left, ast.Attribute) and left.attr == "name" and \
                    isinstance(left.value, ast.Attribute) and left.value.attr == "rule"
                named_set = any(isinstance(c, ast.Name) and c.id.isupper() or
                                isinstance(c, ast.Name) and c.id.startswith("_")
                                for c in node.comparators)
                assert not (is_name and named_set), \
                    f"{path.name}:{node.lineno} tests a rule name against a set of names"


# ---------------------------------------------------------------- moving a rule

def my_sin(x):
    return np.sin(x)


def my_view(x):
    return x[::-1]


def _sin_copy(y, x):
    """the template of np.sin, written in this test module"""
    x_bar += y_bar * np.cos(x)   # noqa: F821


R.adjoint(my_sin, props=R.lookup(np.sin).props)(_sin_copy)
def _no_gradient(y, x):
    pass


R.adjoint(my_view)(_no_gradient)


def my_sin_bare(x):
    return np.sin(x)


R.adjoint(my_sin_bare)(_sin_copy)


def uses_np_sin(x, b):
    y = np.sin(x)
    z = y + x
    return np.sum(z * b * z)


def uses_my_sin(x, b):
    y = my_sin(x)
    z = y + x
    return np.sum(z * b * z)


def uses_my_sin_bare(x, b):
    y = my_sin_bare(x)
    z = y + x
    return np.sum(z * b * z)


def _code(f, *args):
    g = s2sgrad.grad(f)
    g(*args)
    src = g.source.replace(f.__name__, "f").replace("my_sin_bare(", "np.sin(")
    return re.sub(r"\(line \d+\)|\.py:\d+", "", src.replace("my_sin(", "np.sin("))


def test_a_rule_moved_elsewhere_with_its_properties_gives_the_same_code():
    """Shape and scalar inference depend only on the declared properties: the template
    of np.sin declared in this module with np.sin's props yields the built-in rule's code;
    without them its result's shape is unknown and the code keeps `unbroadcast`."""
    x, b = np.linspace(0.1, 0.9, 4), np.linspace(1.0, 2.0, 4)
    builtin = _code(uses_np_sin, x, b)
    assert "unbroadcast" not in builtin
    assert _code(uses_my_sin, x, b) == builtin
    assert _code(uses_my_sin_bare, x, b) != builtin
    assert_grad_matches(uses_my_sin, x, b)
    assert_grad_matches(uses_my_sin_bare, x, b)


def test_a_user_rule_without_properties_is_taken_for_a_possible_alias():
    def f(x):
        y = x * 1.0
        v = my_view(y)
        v += x * x
        return np.sum(y * y)
    with pytest.raises(TransformError, match="may share its memory"):
        s2sgrad.grad(f)(np.array([1.0, 2.0, 3.0]))


# ---------------------------------------------------------------- aliasing by callable

def test_a_renamed_asarray_is_still_a_view():
    """View-ness belongs to np.asarray, not to how the call is spelled: `v = aa(y)` is y
    itself, so `v += ...` changes y (taken for a copy, the gradient was wrong)."""
    from numpy import asarray as aa

    def f(x):
        y = x * 1.0
        v = aa(y)
        v += x * x
        return np.sum(y * y)
    with pytest.raises(TransformError, match="may share its memory"):
        s2sgrad.grad(f)(np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("diag", [np.diag, np.diagonal])
def test_the_diagonal_of_a_matrix_is_a_view(diag):
    """np.diag(Y) and np.diagonal(Y) see a later `Y += ...` (they were declared fresh
    and the gradient silently used the old diagonal)."""
    def f(X):
        Y = X * 1.0
        d = diag(Y)
        Y += X * X
        return np.sum(d * d)
    with pytest.raises(TransformError, match="may share its memory"):
        s2sgrad.grad(f)(np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_np_float64_of_an_array_is_the_array():
    """np.float64(y) of a float64 array returns y itself: `v += ...` changes y (taken
    for a copy, the gradient was silently wrong)."""
    def f(x):
        y = x * 1.0
        v = np.float64(y)
        v += x * x
        return np.sum(y * y)
    with pytest.raises(TransformError, match="may share its memory"):
        s2sgrad.grad(f)(np.array([1.0, 2.0, 3.0]))


def test_np_repeat_is_a_new_array_not_a_list_repeat():
    """np.repeat and `list * n` are both rules named `repeat`; only the list holds its
    operand, so changing `a` after `b = np.repeat(a, 2)` leaves b alone."""
    def f(x):
        a = x * 2.0
        b = np.repeat(a, 2)
        a += x * x
        return np.sum(b * b) + np.sum(a)
    x = np.array([1.0, 2.0])
    assert_grad_matches(f, x)
    np.testing.assert_allclose(s2sgrad.grad(f)(x), 16 * x + 2 + 2 * x)


# ---------------------------------------------------------------- the properties hold

def _leaves(out):
    if isinstance(out, (tuple, list)):
        for o in out:
            yield from _leaves(o)
    elif isinstance(out, np.ndarray):
        yield out


_ARGS = {np.where: lambda a, b: (a > 0.5, a, b), np.clip: lambda a, b: (a, 0.3, 0.6)}
try:                       # ψ⁽ⁿ⁾: an integer order, then the values
    import scipy.special
    from s2sgrad.runtime import polygamma
    _ARGS[scipy.special.polygamma] = _ARGS[polygamma] = lambda a, b: (1, a + b)
except ImportError:
    pass


def test_elementwise_results_have_the_broadcast_shape():
    a = np.linspace(0.2, 0.8, 3).reshape(3, 1)
    b = np.linspace(1.2, 1.8, 4).reshape(1, 4)
    checked = 0
    for f in _callables_with(R.ELEMENTWISE):
        rule = R.lookup(f)
        n = len([p for p in rule.params if p not in rule.defaults])
        args = _ARGS[f](a, b) if f in _ARGS else (a, b)[:n] if n <= 2 else None
        assert args is not None, f
        with np.errstate(all="ignore"):
            out = f(*args)
        assert np.shape(out) == np.broadcast_shapes(*(np.shape(x) for x in args)), f
        checked += 1
    assert checked >= 40


def test_full_reductions_reduce_the_axis_their_defaults_say():
    """A reduction given no `axis=` reduces the axis its function's default names (every
    axis for np.sum, the first for a ufunc's `reduce`): the shapes and the numbers the
    analyses infer read that default (`shapes.reduced_axis`), so it must be the
    function's own."""
    from s2sgrad.ir.shapes import reduced
    x = np.linspace(0.5, 1.5, 12).reshape(3, 4)
    checked = 0
    for f in _callables_with(R.FULL_REDUCTION):
        rule = R.lookup(f)
        assert "axis" in rule.defaults, f
        with np.errstate(all="ignore"):
            out = f(x)
        assert np.shape(out) == reduced(x.shape, rule.defaults["axis"], False), f
        checked += 1
    assert checked >= 15


def test_fresh_results_do_not_share_memory_with_the_operands():
    m = np.array([[2.0, 0.5, 0.1], [0.5, 3.0, 0.2], [0.1, 0.2, 4.0]])
    checked = 0
    for f in _callables_with(R.FRESH):
        if f in (list, tuple):
            continue         # a new container, but the rows of a matrix are views of it
        rule = R.lookup(f)
        n = len([p for p in rule.params if p not in rule.defaults])
        try:
            with np.errstate(all="ignore"):
                out = f(*[m] * n)
        except Exception:
            continue         # needs other operands than matrices
        for leaf in _leaves(out):
            assert not np.shares_memory(leaf, m), f
        checked += 1
    assert checked >= 40


_VIEW_SAMPLES = {np.transpose: (), np.reshape: ((9,),), np.ravel: (), np.squeeze: (),
                 np.expand_dims: (0,), np.atleast_1d: (), np.atleast_2d: (),
                 np.broadcast_to: ((2, 3, 3),), np.flip: (), np.swapaxes: (0, 1),
                 np.moveaxis: (0, 1), np.fliplr: (), np.flipud: (), np.rot90: (),
                 np.diagonal: (), np.diag: (), np.asarray: (), np.asanyarray: (),
                 np.float64: (), np.float32: (), np.rollaxis: (1,), np.atleast_3d: (),
                 np.real: (), np.lib.stride_tricks.sliding_window_view: ((2, 2),),
                 **{f: () for f in (getattr(np, "matrix_transpose", None),
                                    getattr(np.linalg, "matrix_transpose", None),
                                    getattr(np.linalg, "diagonal", None)) if f}}


def test_view_results_share_memory_with_their_operand():
    m = np.arange(9.0).reshape(3, 3)
    views = _callables_with(R.VIEW)
    assert set(views) <= set(_VIEW_SAMPLES), "give each VIEW callable a sample call"
    for f in views:
        x = m.astype(np.float32) if f is np.float32 else m
        assert np.shares_memory(f(x, *_VIEW_SAMPLES[f]), x), f


def test_scalar_preserving_rules_give_numbers_of_numbers():
    for f in _callables_with(R.SCALAR_PRESERVING):
        rule = R.lookup(f)
        n = len([p for p in rule.params if p not in rule.defaults])
        args = _ARGS[f](0.4, 1.3) if f in _ARGS else (0.4, 1.3)[:n]
        if f in (math.acosh,):
            args = (1.3,)
        with np.errstate(all="ignore"):
            out = f(*args)
        assert np.ndim(out) == 0 and not isinstance(out, (list, tuple)), f


def test_operators_keep_their_properties():
    assert R.ELEMENTWISE in R.OPERATORS["add"].props
    assert R.lookup(operator.add) is R.OPERATORS["add"]
    assert R.VIEW in R.ATTRIBUTES["T"].props
    assert R.FULL_REDUCTION in R.METHODS["sum"].props
