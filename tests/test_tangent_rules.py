"""Every tangent (forward-mode) rule checked directly against finite differences.

The forward transformer is not needed: each rule's template body is run as it
would be inlined. For a case `f(*args)` the harness binds the rule's parameters to
the arguments, `y` to the output and `<input>_dot` to a random direction for each
active input, evaluates every `y_dot += <term>` (one term per input tangent, the
k-th variadic input's term with `k` bound), adds the terms like generated code does
(`add_grads`), and compares the sum with the centred difference
(f(x + h·v) - f(x - h·v)) / 2h in float64. Each term alone must already have the
output's shape (the transformer turns the first term into the definition).

A registered key (callable, operator, method or attribute) without a case here
fails the suite, and so does an adjoint rule without a tangent rule.
"""
import ast
import builtins
import inspect
import math
import operator
import typing

import gast
import numpy as np
import pytest

from s2sgrad import rules, runtime

#: What template bodies may use: NumPy, math, the builtins and the runtime helpers.
NAMESPACE = {"np": np, "math": math,
             **{n: getattr(runtime, n) for n in dir(runtime) if not n.startswith("_")}}

RNG = np.random.default_rng(20240601)


# ----------------------------------------------------------------------------
# inputs


def u(*shape, lo=-1.0, hi=1.0):
    """Uniform in [lo, hi]: a Python float for no shape, else a float64 array."""
    x = RNG.uniform(lo, hi, size=shape)
    return float(x) if shape == () else x


def pos(*shape):
    return u(*shape, lo=0.5, hi=2.0)


def signed(*shape):
    """|x| in [0.3, 1.5] with a random sign (away from the kink at 0)."""
    x = u(*shape, lo=0.3, hi=1.5) * RNG.choice([-1.0, 1.0], size=shape)
    return float(x) if shape == () else x


def distinct(*shape):
    """No two entries within 0.1 of each other (no ties for max/min)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.2 + RNG.uniform(-0.05, 0.05, n) - 0.1 * n).reshape(shape)


class Case:
    """One call `f(*args, **kw)` of a registered key. `active` lists the argument
    slots (positions or keyword names) that get a tangent (default: every slot that
    holds floats); `dirs` overrides the random direction of some slots."""

    def __init__(self, kind, key, args, kw=None, active=None, dirs=None, keys=None,
                 h=1e-6, rtol=1e-6, atol=1e-8):
        self.kind, self.key, self.args, self.kw = kind, key, list(args), dict(kw or {})
        self.active, self.dirs, self.keys = active, dict(dirs or {}), keys
        self.h, self.rtol, self.atol = h, rtol, atol

    @property
    def label(self):
        if self.kind == "callable":
            mod = getattr(self.key, "__module__", None) or ""
            name = getattr(self.key, "__name__", repr(self.key))
            return f"{mod.split('.')[-1]}.{name}" if mod else name
        return f"{self.kind}:{self.key}"

    def rule(self):
        table = {"callable": None, "op": rules.T_OPERATORS, "method": rules.T_METHODS,
                 "attr": rules.T_ATTRIBUTES}[self.kind]
        if table is None:
            return rules.T_CALLABLES.get(_callable_key(self.key))
        return table.get(self.key)

    def call(self, args, kw):
        if self.kind == "callable":
            return self.key(*args, **kw)
        if self.kind == "op":
            if self.key == "dict":
                return dict(zip(self.keys, args))
            return OPS[self.key](*args, **kw)
        if self.kind == "method":
            out = getattr(args[0], self.key)(*args[1:], **kw)
            return list(out) if isinstance(out, type({}.items())) else out   # d.items()
        return getattr(args[0], self.key)


def _callable_key(obj):
    """The table key of a callable: its id, or (owner, name) for a bound method of a
    library object (`np.maximum.accumulate`)."""
    return id(obj) if id(obj) in rules.T_CALLABLES else \
        (rules.registry._bound_key(obj) or id(obj))


OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
       "truediv": operator.truediv, "pow": operator.pow, "neg": operator.neg,
       "pos": operator.pos, "pow_var": operator.pow, "mod": operator.mod, "matmul": operator.matmul,
       "getitem": lambda x, index: x[index], "list": lambda *items: list(items),
       "tuple": lambda *items: tuple(items), "concat": operator.add, "repeat": operator.mul,
       "index_concat": lambda maker, index, *items: maker[items], "field": getattr}


def C(func, *args, **kw):
    opts = {k: kw.pop(k) for k in ("active", "dirs", "h", "rtol", "atol") if k in kw}
    return Case("callable", func, args, kw, **opts)


def OP(name, *args, keys=None, **opts):
    return Case("op", name, args, keys=keys, **opts)


def M(name, *args, **kw):
    opts = {k: kw.pop(k) for k in ("active", "dirs") if k in kw}
    return Case("method", name, args, kw, **opts)


def A(name, x):
    return Case("attr", name, [x])


# ----------------------------------------------------------------------------
# trees of floats and arrays (lists, tuples, dicts)


class Pair(typing.NamedTuple):
    """A parameter container read by attribute (the rule "field")."""
    a: float
    b: np.ndarray


def rand_like(x):
    """A random direction with the structure of x; None if x holds no floats."""
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, float):
        return float(RNG.normal())
    if isinstance(x, np.floating):
        return type(x)(RNG.normal())
    if isinstance(x, np.ndarray):
        return RNG.normal(size=x.shape).astype(x.dtype) if x.dtype.kind == "f" else None
    if isinstance(x, (list, tuple)):
        vs = [rand_like(v) for v in x]
        if not vs or all(v is None for v in vs):
            return None
        return _like(x, [0.0 if v is None else v for v in vs])
    if isinstance(x, dict):
        vs = {k: rand_like(v) for k, v in x.items()}
        if all(v is None for v in vs.values()):
            return None
        return {k: 0.0 if v is None else v for k, v in vs.items()}
    return None


def axpy(x, v, s):
    """x + s·v leaf by leaf (a 0.0 leaf of v leaves x's leaf as it is)."""
    if isinstance(v, float) and v == 0.0:
        return x
    if isinstance(x, (list, tuple)):
        return _like(x, [axpy(a, b, s) for a, b in zip(x, v)])
    if isinstance(x, dict):
        return {k: axpy(x[k], v[k], s) for k in x}
    return x + s * v


def _like(x, items):
    """A list, tuple or NamedTuple of x's type holding `items`."""
    return type(x)(*items) if hasattr(type(x), "_fields") else type(x)(items)


def fd_diff(p, m, h):
    """(p - m) / 2h leaf by leaf."""
    if isinstance(p, (list, tuple)):
        items = [fd_diff(a, b, h) for a, b in zip(p, m)]
        return type(p)(*items) if hasattr(type(p), "_fields") else type(p)(items)
    if isinstance(p, dict):
        return {k: fd_diff(p[k], m[k], h) for k in p}
    return (np.asarray(p, dtype=np.float64) - np.asarray(m, dtype=np.float64)) / (2 * h)


def is_zero(t):
    return isinstance(t, float) and t == 0.0


def assert_like(t, y, where="y"):
    """A tangent term has the structure, shape and float dtype of the value y (a
    float 0.0 stands for a zero of any shape; a dict term may miss keys)."""
    if is_zero(t):
        return
    if isinstance(y, (list, tuple)):
        assert type(t) is type(y) and len(t) == len(y), \
            f"{where}: tangent {type(t).__name__}[{len(t)}] for {type(y).__name__}[{len(y)}]"
        for i, (a, b) in enumerate(zip(t, y)):
            assert_like(a, b, f"{where}[{i}]")
        return
    if isinstance(y, dict):
        assert isinstance(t, dict) and set(t) <= set(y), f"{where}: keys {set(t)} vs {set(y)}"
        for k in t:
            assert_like(t[k], y[k], f"{where}[{k!r}]")
        return
    assert not isinstance(t, (list, tuple, dict)), f"{where}: container tangent for an array"
    assert np.shape(t) == np.shape(y), f"{where}: tangent shape {np.shape(t)} != {np.shape(y)}"
    if isinstance(y, (np.ndarray, np.floating)) and y.dtype.kind == "f":
        assert np.asarray(t).dtype == y.dtype, f"{where}: dtype {np.asarray(t).dtype} != {y.dtype}"


def assert_close(t, fd, rtol, atol, where="y"):
    if isinstance(fd, (list, tuple)):
        for i, b in enumerate(fd):
            assert_close(0.0 if is_zero(t) else t[i], b, rtol, atol, f"{where}[{i}]")
        return
    if isinstance(fd, dict):
        for k, b in fd.items():
            a = 0.0 if is_zero(t) else t.get(k, 0.0)
            assert_close(a, b, rtol, atol, f"{where}[{k!r}]")
        return
    got = np.broadcast_to(np.asarray(t, dtype=np.float64), np.shape(fd))
    np.testing.assert_allclose(got, fd, rtol=rtol, atol=atol, err_msg=where)


# ----------------------------------------------------------------------------
# running a template


def terms_of(rule):
    """[(input parameter, compiled term)] for the statements `<out>_dot += term`."""
    inputs = set(rule.params) | set(rule.kwonly) | {rule.vararg} - {None}
    out = []
    for stmt in rule.body:
        node = gast.gast_to_ast(stmt)
        assert isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and \
            isinstance(node.target, ast.Name) and node.target.id == rule.output + "_dot", \
            f"{rule.name}: not `{rule.output}_dot += ...`: {ast.unparse(node)}"
        dots = {n.id for n in ast.walk(node.value)
                if isinstance(n, ast.Name) and n.id.endswith("_dot")}
        assert len(dots) == 1, f"{rule.name}: a term must use exactly one tangent: {dots}"
        stores = [n for n in ast.walk(node.value)
                  if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)]
        assert not stores, f"{rule.name}: a term may not assign"
        (dot,) = dots
        assert dot[:-4] in inputs, f"{rule.name}: {dot} is not the tangent of an input"
        code = compile(ast.Expression(node.value), f"<tangent {rule.name}>", "eval")
        out.append((dot[:-4], code))
    return out


def bind(rule, case):
    """(env of parameter values, {parameter: slot}, [vararg slots])"""
    env, slots, varslots, extra = {}, {}, [], {}
    for i, a in enumerate(case.args):
        if i < len(rule.params):
            env[rule.params[i]] = a
            slots[rule.params[i]] = i
        else:
            assert rule.vararg, f"{rule.name}: too many arguments"
            varslots.append(i)
    for k, v in case.kw.items():
        if k in rule.params or k in rule.kwonly:
            env[k], slots[k] = v, k
        else:
            assert rule.varkw, f"{rule.name}: unexpected keyword {k}"
            extra[k] = v
    for p in rule.params + rule.kwonly:
        if p not in env:
            assert p in rule.defaults, f"{rule.name}: missing argument {p}"
            env[p] = rule.defaults[p]
    if rule.vararg:
        env[rule.vararg] = tuple(case.args[i] for i in varslots)
    if rule.varkw:
        env[rule.varkw] = extra
    if rule.name == "getitem":
        env["index"] = case.args[1]
    if rule.name == "index_concat":
        env["index"] = tuple(case.args[2:])
    return env, slots, varslots


def run_case(case):
    rule = case.rule()
    assert rule is not None, f"no tangent rule registered for {case.label}"
    values = {i: a for i, a in enumerate(case.args)}
    values.update(case.kw)
    active = case.active if case.active is not None else \
        [s for s, v in values.items() if rand_like(v) is not None]
    assert active, f"{case.label}: no active input"
    dirs = {s: case.dirs[s] if s in case.dirs else rand_like(values[s]) for s in active}

    y = case.call(case.args, case.kw)
    env, slots, varslots = bind(rule, case)
    env = {**NAMESPACE, **env, rule.output: y}
    total, used = None, set()
    for p, code in terms_of(rule):
        if p == rule.vararg:
            todo = [(k, s) for k, s in enumerate(varslots) if s in dirs]
        else:
            todo = [(None, slots[p])] if p in slots and slots[p] in dirs else []
        for k, s in todo:
            local = dict(env)
            local[p + "_dot"] = dirs[s]
            if k is not None:
                local["k"] = k
                if case.keys is not None:
                    local["key"] = case.keys[k]
            term = eval(code, local)
            assert_like(term, y, f"{case.label}: term of {p}")
            total = term if total is None else runtime.add_grads(total, term)
            used.add(s)
    missing = set(active) - used
    assert not missing, f"{case.label}: no term for the tangent of argument(s) {missing}"

    def shifted(s):
        args = [axpy(a, dirs[i], s) if i in dirs else a for i, a in enumerate(case.args)]
        kw = {k: axpy(v, dirs[k], s) if k in dirs else v for k, v in case.kw.items()}
        return case.call(args, kw)

    fd = fd_diff(shifted(case.h), shifted(-case.h), case.h)
    assert_close(total, fd, case.rtol, case.atol, case.label)


# ----------------------------------------------------------------------------
# the cases: at least one for every registered key

MOD_A, MOD_B = np.array([2.3, 0.4, -5.2]), np.array([1.0, 0.9, 1.5])   # a/b far from integers
TIED = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])
WITH_ZEROS = np.array([[1.2, 0.0, -0.7, 0.9], [0.0, 0.0, 1.1, 0.8], [0.5, 1.3, -1.1, 0.6]])
CLIP_X = np.array([[-1.7, -0.2, 0.3, 1.9], [0.45, -0.45, 0.0, 1.1]])


def wellcond(*shape):
    """Square matrices (batched) far from singular: u + 3·I."""
    return u(*shape) + 3.0 * np.eye(shape[-1])


NEG_DET = np.array([[0.3, 2.1, -0.4], [1.7, 0.2, 0.5], [-0.6, 0.8, 2.4]])   # det < 0

ITEM_0 = operator.itemgetter(0)
SELECT_X = np.array([-0.9, -0.1, 0.2, 0.5, -0.4, 0.8])
PART_X = np.array([0.5, -1.2, 2.0, 0.1, -0.3, 1.1, 0.7])
EIG_A = np.array([[2.0, 0.3, 0.1], [0.5, -1.0, 0.2], [0.1, 0.4, 0.7]])


NAN_X = np.array([0.3, np.nan, -0.7, 1.1, 0.5, np.nan])

CASES = [
    # ---------------------------------------------------------- arithmetic
    C(operator.add, u(3, 4), u(4)), C(np.add, u(), u(3)), OP("add", u(3), u(3, 1)),
    OP("add", u(), u()),
    C(operator.sub, u(4), u(3, 4)), C(np.subtract, u(2, 3), u()), OP("sub", u(), u()),
    C(operator.mul, u(3, 4), u(4)), C(np.multiply, u(), u(3)), OP("mul", u(), u()),
    C(operator.truediv, u(3, 4), pos(4)), C(np.divide, u(), pos(3)),
    C(np.true_divide, u(3), pos()), OP("truediv", u(), pos()),
    C(operator.pow, pos(3, 4), u(4)), C(np.power, pos(3), 3), C(np.power, u(3), 2.0, active=[0]),
    OP("pow", pos(), u()), OP("pow_var", pos(3), u(3)),
    C(runtime.pow_base_deriv, pos(3), u(3)), C(runtime.log_or_zero, pos(3)),
    C(runtime.pow_base_deriv2, pos(3), u(3)), C(runtime.pow_base_deriv2, pos(3), 2.5, active=[0]),
    C(operator.neg, u(3)), C(np.negative, u(2, 2)), OP("neg", u()),
    C(operator.pos, u(3)), C(np.positive, u(2, 2)), OP("pos", u()),
    C(operator.mod, MOD_A, MOD_B), C(np.mod, MOD_A, 0.7), C(np.remainder, 2.3, MOD_B),
    OP("mod", 2.3, 0.9),
    # ---------------------------------------------------------- math module
    C(math.sin, 0.7), C(math.cos, 0.7), C(math.tan, 0.7), C(math.asin, 0.4),
    C(math.acos, -0.6), C(math.atan, 1.9), C(math.atan2, 0.7, -1.3), C(math.atan2, -0.4, 0.9),
    C(math.exp, -0.4), C(math.expm1, 0.4), C(math.log, 1.7), C(math.log, 3.5, 2.5),
    C(math.log1p, -0.3), C(math.log2, 1.7), C(math.log10, 1.7), C(math.sqrt, 2.3),
    C(math.pow, 1.7, 0.6), C(math.pow, -1.5, 3.0, active=[0]), C(builtins.pow, 1.7, 0.6),
    C(math.tanh, 0.6), C(math.sinh, -0.8), C(math.cosh, -0.8), C(math.hypot, 1.2, -0.5),
    C(math.erf, 0.3),
    C(math.fabs, -1.2), C(builtins.abs, signed(3)), C(builtins.abs, 1.2),
    C(np.abs, signed(3, 4)), C(np.absolute, signed(4)),
    C(builtins.max, 1.5, -0.5), C(builtins.max, -0.5, 1.5),
    C(builtins.min, 1.5, -0.5), C(builtins.min, -0.5, 1.5),
    C(builtins.float, 0.7), C(builtins.float, np.float64(-0.3)), C(builtins.float, np.array(0.4)),
    C(math.fsum, [u(), u(), u()]), C(math.fsum, u(4)),
    # ---------------------------------------------------------- numpy elementwise
    C(np.exp, u(3, 4)), C(np.exp2, u(3)), C(np.expm1, u(3)), C(np.log, pos(3, 4)),
    C(np.log2, pos(3)), C(np.log10, pos(3)), C(np.log1p, u(3, lo=-0.5)),
    C(np.logaddexp, u(3, 4), u(4)), C(np.logaddexp, u(), u(3)),
    C(np.sqrt, pos(3, 4)), C(np.cbrt, signed(3)), C(np.square, u(3)), C(np.reciprocal, signed(3)),
    C(np.sin, u(3, 4)), C(np.cos, u(3)), C(np.tan, u(3)), C(np.arcsin, u(3, lo=-0.9, hi=0.9)),
    C(np.arccos, u(3, lo=-0.9, hi=0.9)), C(np.arctan, u(3)),
    C(np.arctan2, u(3, 4), signed(4)), C(np.hypot, u(3, 4), signed(4)),
    C(np.sinh, u(3)), C(np.cosh, u(3)), C(np.tanh, u(3)), C(np.arcsinh, u(3)),
    C(np.arctanh, u(3, lo=-0.9, hi=0.9)),
    C(np.maximum, np.array([[0.1, 0.9], [-0.6, 0.5]]), np.array([0.4, -0.2])),
    C(np.maximum, 0.3, np.array([0.1, 0.9, -0.6])),
    C(np.fmax, np.array([0.1, 0.9, -0.6]), np.array([0.4, -0.2, 0.0])),
    C(np.minimum, np.array([[0.1, 0.9], [-0.6, 0.5]]), np.array([0.4, -0.2])),
    C(np.minimum, np.array([0.1, 0.9, -0.6]), 0.3),
    C(np.fmin, np.array([0.1, 0.9, -0.6]), np.array([0.4, -0.2, 0.0])),
    C(np.where, np.array([True, False, True, False]), u(3, 4), u()),
    C(np.where, np.array([True, False, True]), u(), u(2, 3)),
    C(np.clip, CLIP_X, -0.5, 0.5), C(np.clip, CLIP_X, None, 0.5), C(np.clip, CLIP_X, -0.5, None),
    C(np.clip, CLIP_X[0], np.array([-0.5, -0.4, 0.5, -0.3]), 1.0),
    C(np.clip, CLIP_X, min=-0.5, max=0.5), C(np.clip, CLIP_X[0], min=-0.3, max=np.full(4, 0.4)),
    C(runtime.clip_pass, u(*CLIP_X.shape), CLIP_X, -0.5, 0.5, active=[0]),
    C(runtime.stored_cast_grad, u(3), u(4), active=[0]),
    C(runtime.stored_cast_grad, u(3), np.arange(4), active=[0]),
    M("clip", CLIP_X, -0.5, 0.5),
    # ---------------------------------------------------------- reductions
    C(np.sum, u(3, 4), axis=1), C(np.sum, [u(), u(), u()]),
    C(np.sum, u(2, 3, 4), axis=(0, 2), keepdims=True), M("sum", u(3, 4)),
    C(np.mean, u(3, 4), axis=0), M("mean", u(5)), M("mean", u(3, 4), axis=1, keepdims=True),
    C(np.prod, u(3, 4), axis=1), M("prod", u(5)), C(np.prod, WITH_ZEROS, axis=1),
    C(np.prod, WITH_ZEROS), C(np.prod, WITH_ZEROS[:2], axis=0, keepdims=True),
    C(np.prod, u(2, 3, 2), axis=(0, 2)),
    C(np.max, distinct(3, 4), axis=1), C(np.amax, distinct(5)),
    M("max", distinct(3, 4), axis=0, keepdims=True),
    C(np.min, distinct(3, 4), axis=1), C(np.amin, distinct(5)), M("min", distinct(3, 4)),
    C(np.var, u(3, 4), axis=1, ddof=1), M("var", u(5)),
    C(np.std, u(3, 4), axis=0), M("std", u(5), ddof=1),
    C(builtins.sum, [u(), u(), u()]), C(builtins.sum, [u(3), u(), u(2, 3)]),
    C(builtins.sum, [u(3), u(3)], 0.5),
    C(math.prod, [u(), u(), u()]), C(math.prod, [u(3), u(), u(2, 3)], start=u()),
    C(math.prod, u(3, 2), start=u(2)),
    C(np.cumsum, u(3, 4), axis=1), M("cumsum", u(3, 4)),
    # ---------------------------------------------------------- products
    C(operator.matmul, u(3, 4), u(4, 2)), C(np.matmul, u(2, 3, 4), u(4)),
    C(np.matmul, u(3, 4), u(2, 4, 5)), OP("matmul", u(4), u(2, 4, 3)), OP("matmul", u(4), u(4)),
    C(np.dot, u(3, 4), u(4)), C(np.dot, u(), u(3)), M("dot", u(3, 4), u(4, 2)),
    C(np.inner, u(4), u(4)), C(np.inner, u(2, 4), u(3, 4)),
    C(np.outer, u(3), u(4)),
    C(np.tensordot, u(2, 3, 4), u(3, 4, 5)), C(np.tensordot, u(3, 4), u(4, 3), axes=([0], [1])),
    C(np.einsum, "ij,jk->ik", u(2, 3), u(3, 4)), C(np.einsum, "i,i", u(3), u(3)),
    C(np.einsum, "ij,jk,k->i", u(2, 3), u(3, 4), u(4)), C(np.einsum, "ii->i", u(3, 3)),
    # ---------------------------------------------------------- shapes and indexing
    OP("getitem", u(3, 4), (1, slice(None, 2))), OP("getitem", [u(), u(3)], 1),
    OP("index_concat", np.r_, None, u(2), u(), u(3), active=[2, 3, 4]),
    OP("index_concat", np.c_, None, u(3), u(3, 2), active=[2, 3]),
    OP("getitem", {"a": u(), "b": u(2)}, "b"), OP("getitem", u(5), np.array([0, 2, 2])),
    OP("getitem", (u(), u()), slice(0, 1)),
    OP("field", Pair(u(), u(3)), "b", active=[0]),
    C(np.transpose, u(2, 3, 4), (2, 0, 1)), C(np.transpose, u(3, 4)),
    C(np.transpose, u(2, 3, 4), axes=(1, 0, 2)), M("transpose", u(2, 3, 4), 1, 2, 0),
    M("transpose", u(3, 4)),
    A("T", u(3, 4)),
    C(np.reshape, u(3, 4), (2, 6)), C(np.ravel, u(3, 4)), C(np.squeeze, u(3, 1, 4), axis=1),
    C(np.expand_dims, u(3), 0), C(np.atleast_1d, u()), C(np.atleast_2d, u(3)),
    M("reshape", u(3, 4), 4, 3), M("ravel", u(3, 4)), M("flatten", u(3, 4)), M("squeeze", u(1, 4)),
    C(np.flip, u(3, 4)), C(np.flip, u(3, 4), 1),
    C(np.broadcast_to, u(4), (3, 4)),
    C(np.array, [u(), u(), u()]), C(np.asarray, u(3)), C(builtins.list, u(3)),
    C(builtins.list, (u(), u())), C(builtins.tuple, [u(), u()]), C(np.asanyarray, u(2, 2)),
    C(np.copy, u(3)), C(np.float64, u()), C(np.float32, u(), h=1e-2, rtol=1e-4, atol=1e-6),
    M("copy", u(3)), M("astype", u(3), np.float64),
    C(np.split, u(6), 3), C(np.split, u(2, 6), [1, 4], axis=1), C(np.array_split, u(7), 3),
    # ---------------------------------------------------------- linear algebra
    C(np.linalg.norm, u(5)), C(np.linalg.norm, u(3, 4)), C(np.linalg.norm, u(3, 4), "fro"),
    C(np.linalg.norm, u(3, 4), 2, 1), C(np.linalg.norm, u(2, 3, 4), axis=(0, 2), keepdims=True),
    C(np.linalg.norm, u(3, 4), axis=0),
    C(np.linalg.inv, wellcond(3, 3)), C(np.linalg.inv, wellcond(2, 3, 3)),
    C(np.linalg.det, wellcond(3, 3)), C(np.linalg.det, wellcond(2, 3, 3)),
    C(np.linalg.slogdet, wellcond(3, 3)), C(np.linalg.slogdet, NEG_DET),
    C(np.linalg.slogdet, wellcond(2, 3, 3)),
    C(np.linalg.solve, wellcond(3, 3), u(3)), C(np.linalg.solve, wellcond(3, 3), u(3, 2)),
    C(np.linalg.solve, wellcond(2, 3, 3), u(2, 3, 2)), C(np.linalg.solve, wellcond(2, 3, 3), u(3)),
    C(np.linalg.solve, wellcond(3, 3), u(2, 3, 4)),
    C(np.trace, u(3, 3)), C(np.trace, u(3, 4), 1), C(np.trace, u(2, 3, 3), axis1=1, axis2=2),
    M("trace", u(4, 3), -1),
    C(np.diagonal, u(3, 4)), C(np.diagonal, u(2, 3, 4), 1, 1, 2), M("diagonal", u(4, 3), -1),
    C(np.diag, u(3)), C(np.diag, u(3), -1), C(np.diag, u(3, 4)), C(np.diag, u(4, 3), 1),
    # ---------------------------------------------------------- copies and selections
    C(np.tile, u(3), 2), C(np.tile, u(2, 3), (2, 1)), C(np.tile, u(3), (2, 2)),
    C(np.tile, u(2, 3), 2),
    C(np.repeat, u(3), 2), C(np.repeat, u(2, 3), [1, 0, 2], axis=1), C(np.repeat, u(2, 3), 2),
    M("repeat", u(2, 3), 3, axis=0),
    C(np.diff, u(5)), C(np.diff, u(3, 5), 2), C(np.diff, u(4, 3), axis=0),
    C(np.diff, u(5), prepend=u(), append=u(2)),
    C(np.diff, u(3, 5), 2, 1, prepend=u(3, 2), append=u()),
    C(np.roll, u(5), 2), C(np.roll, u(3, 4), -1, 1), C(np.roll, u(3, 4), (1, 2), (0, 1)),
    C(np.roll, u(3, 4), 5),
    C(np.sort, distinct(6)), C(np.sort, distinct(3, 4), axis=0), C(np.sort, distinct(3, 4), None),
    C(np.take, u(5), np.array([0, 3, 3, 1])), C(np.take, u(3, 4), np.array([[0, 2], [1, 1]]), 1),
    C(np.take, u(3, 4), 5), C(np.take, u(3, 4), np.array([-1, 4]), axis=0, mode="wrap"),
    M("take", u(2, 3, 4), [2, 0], axis=-1),
    M("item", u(1, 1)), M("item", u(3, 4), 5), M("item", u(3, 4), 1, 2), M("item", u(2, 3), (1, 0)),
    # ---------------------------------------------------------- containers
    OP("list", u(), u(3), 2), OP("tuple", u(2), u()),
    OP("dict", u(), u(3), keys=("a", "b")),
    OP("concat", [u(), u(2)], [u()]), OP("concat", (u(),), (u(), u())),
    OP("repeat", [u(), u(2)], 3, active=[0]), OP("repeat", 2, [u(), u()], active=[1]),
    C(np.concatenate, [u(2, 3), u(1, 3)]), C(np.concatenate, [u(2, 3), u(2, 2)], axis=1),
    C(np.concatenate, [u(2, 3), u(1, 3)], dirs={0: [0.0, RNG.normal(size=(1, 3))]}),
    C(np.concatenate, [u(2, 2), u(3)], axis=None),
    C(np.stack, [u(3), u(3)], axis=1), C(np.stack, (u(2, 2), u(2, 2))),
    C(np.hstack, [u(3), u(2)]), C(np.hstack, [u(2, 3), u(2, 1)]),
    C(np.vstack, [u(3), u(2, 3)]),
    # ---------------------------------------------------------- runtime helpers (reverse code)
    C(runtime.unbroadcast, u(3, 4), u(4), active=[0]),
    C(runtime.unbroadcast, u(2, 3, 4), u(3, 1), active=[0]),
    C(runtime.unbroadcast, u(), u(), active=[0]),
    C(runtime.unreduce, u(3), u(3, 4), 1, False, active=[0]),
    C(runtime.axis_sum, u(5, 3), 0, active=[0]),                 # BLAS: ones @ x
    C(runtime.axis_sum, u(5, 3), -1, True, active=[0]),          # x @ ones, kept axis
    C(runtime.axis_sum, u(2, 5, 3), 1, active=[0]),              # np.sum
    C(runtime.sum_product, u(4, 3), u(4, 3)),                     # np.vdot
    C(runtime.sum_product, u(4, 3), u(3)),                        # broadcast: np.sum
    C(runtime.unreduce, u(), u(3, 4), active=[0]),
    C(runtime.add_grads, u(3), u(3)), C(runtime.add_grads, u(), u(3)),
    C(runtime.add_grads, [u(), u(2)], [u(), u(2)]),
    C(runtime.add_grads, {"a": u()}, {"a": u(), "b": u(2)}),
    C(runtime.grad_like, u(3, 4), u(3, 4), active=[0]),
    C(runtime.grad_like, u(3), 0.5, active=[0]),
    C(runtime.grad_like, [u(), u()], (0.3, 0.4), active=[0]),
    C(runtime.getitem_grad, [u(), u(2)], 1), C(runtime.getitem_grad, {"a": u()}, "a"),
    C(runtime.getitem_grad, u(3, 4), (0, 1)),
    C(runtime.add_at, u(5), u(5), np.array([0, 2, 2]), u(3), active=[0, 3]),
    C(runtime.add_at, 0.0, u(4), 1, u(), active=[3]),
    C(runtime.add_at, [u(), u(2)], [0.0, np.zeros(2)], 1, u(2), active=[0, 3]),
    C(runtime.add_at, [u(), u(), u()], [0.0] * 3, slice(0, 2), [u(), u()], active=[0, 3]),
    C(runtime.add_at, {"a": u()}, {"a": 0.0, "b": 0.0}, "b", u(), active=[0, 3]),
    C(runtime.add_attr, (u(), u(2)), Pair(0.0, np.zeros(2)), "b", u(2), active=[0, 3]),
    C(runtime.add_attr, {"a": u()}, Pair(0.0, np.zeros(2)), "a", u(), active=[0, 3]),
    C(runtime.set_zero, u(5), u(5), slice(1, 3), active=[0]),
    C(runtime.stored_grad, u(5), u(5), np.array([0, 2, 2, 4, 0]), active=[0]),
    C(runtime.stored_grad, u(4, 3), u(4, 3), (np.array([3, 0, 3]), slice(1, None)),
      active=[0]),
    C(runtime.stored_grad, u(5), u(5), slice(1, 4), 0.5, active=[0]),
    C(runtime.set_zero, [u(), u(2)], [0.0, 0.0], 0, active=[0]),
    C(runtime.set_zero, {"a": u(), "b": u()}, {}, "a", active=[0]),
    C(runtime.copy_item, u(3, 4), 1), C(runtime.copy_item, [u(), u(2)], 1),
    C(runtime.unappend, [u(), u(2), u()]),
    C(runtime.split_concat, [u(), u(), u()], [0.0], [0.0, 0.0], active=[0]),
    C(runtime.sum_list_grad, u(2, 3), [u(3), u(), u(2, 3)], active=[0]),
    C(runtime.prod_list_grad, u(), [u(), u(), u()], u()),
    C(runtime.prod_list_grad, u(2, 3), [u(3), u(), u(2, 3)], u()),
    C(runtime.prod_list_grad, u(2), u(3, 2)),
    C(runtime.extremum_grad, u(2), TIED.max(axis=1), TIED, 1, active=[0]),
    C(runtime.extremum_grad, u(), TIED.min(), TIED, active=[0]),
    C(runtime.choose_grad, u(3, 4), u(3, 4) > 0), C(runtime.choose_grad, u(), False),
    C(runtime.choose_grad, u(), True),
    C(runtime.prod_grad, u(3), WITH_ZEROS, 1), C(runtime.prod_grad, u(), WITH_ZEROS),
    C(runtime.prod_grad, u(1, 4), WITH_ZEROS, 0, True), C(runtime.prod_grad, u(), u(5)),
    C(runtime.prod_grad, u(2), pos(2, 3, 2), (1, 2)),
    C(runtime.matmul_left, u(3, 2), u(4, 2), u(3, 4), active=[0, 1]),
    C(runtime.matmul_left, u(), u(4), u(4), active=[0, 1]),
    C(runtime.matmul_left, u(2, 3), u(4), u(2, 3, 4), active=[0, 1]),
    C(runtime.matmul_left, u(2, 3), u(2, 4, 3), u(4), active=[0, 1]),
    C(runtime.matmul_left, u(2, 3, 5), u(2, 4, 5), u(3, 4), active=[0, 1]),
    C(runtime.matmul_right, u(3, 2), u(3, 4), u(4, 2), active=[0, 1]),
    C(runtime.matmul_right, u(), u(4), u(4), active=[0, 1]),
    C(runtime.matmul_right, u(2, 3), u(4), u(2, 4, 3), active=[0, 1]),
    C(runtime.matmul_right, u(2, 3), u(2, 3, 4), u(4), active=[0, 1]),
    C(runtime.matmul_right, u(2, 3, 5), u(3, 4), u(2, 4, 5), active=[0, 1]),
    C(runtime.dot_left, u(3), u(3), u(), active=[0, 1]),
    C(runtime.dot_left, u(3, 2), u(4, 2), u(3, 4), active=[0, 1]),
    C(runtime.dot_right, u(3), u(), u(3), active=[0, 1]),
    C(runtime.dot_right, u(3), u(3, 4), u(4), active=[0, 1]),
    C(runtime.tensordot_grads, u(2, 5), u(2, 3, 4), u(3, 4, 5)),
    C(runtime.tensordot_grads, u(4, 2), u(3, 4), u(2, 3), ([0], [1])),
    C(runtime.einsum_grad, u(2, 4), "ij,jk->ik", (u(2, 3), u(3, 4)), 0),
    C(runtime.scatter_add, u(4, 3), np.array([1, 2, 1, 1]), u(4, 3), active=[0, 2]),
    C(runtime.scatter_add, u(5), (np.array([0, 0, 3]),), u(), -1, active=[0, 2]),
    C(runtime.scatter_add_grad_v, u(4, 3), np.array([1, 2, 1, 1]), u(4, 3), active=[0]),
    C(runtime.scatter_add_grad_v, u(5), [0, 0, 3], u(), -1, active=[0]),
    C(runtime.index_concat_grad, u(5), np.r_, (u(2), u(3)), 1, active=[0]),
    C(runtime.index_concat_grad, u(3, 2), np.c_, (u(3), u(3)), 0, active=[0]),
    C(runtime.einsum_grad, u(2), "ij,jk,k->i", (u(2, 3), u(3, 4), u(4)), 1),
    C(runtime.einsum_grad, u(3), "ij,j->j", (u(2, 3), u(3)), 0),
    C(runtime.transpose_grad, u(2, 3, 4), ((2, 0, 1),)), C(runtime.transpose_grad, u(3, 4)),
    C(runtime.concat_grads, u(5, 3), [u(2, 3), u(3, 3)], 0, active=[0]),
    C(runtime.concat_grads, u(7), [u(2, 2), u(3)], None, active=[0]),
    C(runtime.stack_grads, u(2, 3), [u(3), u(3)], 0, active=[0]),
    C(runtime.hstack_grads, u(5), [u(2), u(3)], active=[0]),
    C(runtime.vstack_grads, u(2, 3), [u(3), u(1, 3)], active=[0]),
    C(runtime.split_grad, [u(2), 0.0, u(2)], u(6), 3, active=[0],
      dirs={0: [RNG.normal(size=2), 0.0, RNG.normal(size=2)]}),
    C(runtime.split_grad, [u(2), u(4)], u(6), [2], active=[0]),
    C(runtime.split_grad, [u(3), u(2), u(2)], u(7), 3, active=[0]),     # unequal parts
    C(runtime.hstack_grads, u(3), u(3), active=[0]),                       # hstack(x) of one array
    C(runtime.div_or_zero, u(3), pos(3)), C(runtime.div_or_zero, u(), pos()),
    C(runtime.norm_grad, u(), 1.3, u(5), active=[0, 1, 2]),
    C(runtime.norm_grad, u(3), pos(3), u(3, 4), None, 1, active=[0, 1, 2]),
    C(runtime.inv_grad, u(3, 3), u(3, 3)), C(runtime.inv_grad, u(2, 3, 3), u(2, 3, 3)),
    C(runtime.det_grad, u(), 1.7, wellcond(3, 3)),
    C(runtime.det_grad, u(2), pos(2), wellcond(2, 3, 3)),
    C(runtime.slogdet_grad, (0.0, u()), wellcond(3, 3), dirs={0: (0.0, 0.7)}),
    C(runtime.slogdet_grad, [0.0, u(2)], wellcond(2, 3, 3), dirs={0: [0.0, RNG.normal(size=2)]}),
    C(runtime.solve_grad_a, u(3), u(3), wellcond(3, 3), u(3), active=[0, 1, 2]),
    C(runtime.solve_grad_a, u(2, 3, 2), u(2, 3, 2), wellcond(3, 3), u(2, 3, 2), active=[0, 1, 2]),
    C(runtime.solve_grad_b, u(3), wellcond(3, 3), u(3), active=[0, 1]),
    C(runtime.solve_grad_b, u(2, 3), wellcond(2, 3, 3), u(3), active=[0, 1]),
    C(runtime.solve_grads, u(3), u(3), wellcond(3, 3), u(3), active=[0, 1, 2]),
    C(runtime.solve_grads, u(3, 2), u(3, 2), wellcond(3, 3), u(3, 2), active=[0, 1, 2]),
    C(runtime.solve_grads, u(3), u(3), np.tril(wellcond(3, 3)) + 3 * np.eye(3), u(3),
      active=[0, 1, 2]),                                 # the triangular route
    C(runtime.solve_triangle, np.tril(wellcond(3, 3)), u(3), True,
      dirs={0: np.tril(u(3, 3))}, active=[0, 1]),     # a Cholesky factor: its tangent too
    C(runtime.solve_triangle, np.triu(wellcond(3, 3)), u(3, 2), False,
      dirs={0: np.triu(u(3, 3))}, active=[0, 1]),
    C(runtime.solve_transposed, wellcond(3, 3), u(3)),
    C(runtime.solve_transposed, wellcond(3, 3), u(3, 2)),
    C(runtime.solve_transposed, np.triu(wellcond(4, 4)), u(4, 2)),    # triangular route
    C(runtime.lower_t_product, np.tril(u(4, 4)), u(4, 3),
      dirs={0: np.tril(u(4, 4))}),                       # BLAS trmm
    C(runtime.lower_t_product, np.tril(u(2, 4, 4)), u(2, 4, 3),
      dirs={0: np.tril(u(2, 4, 4))}),                    # batched: matmul
    C(runtime.phi_sandwich, np.tril(wellcond(4, 4)), u(4, 4),
      dirs={0: np.tril(u(4, 4))}),                       # L and its tangent lower
    C(runtime.phi_sandwich, np.tril(wellcond(2, 4, 4)), u(2, 4, 4),
      dirs={0: np.tril(u(2, 4, 4))}),                    # batched: through np.linalg.inv
    C(runtime.trace_grad, u(), u(3, 4), 1, active=[0]),
    C(runtime.diagonal_grad, u(2, 3), u(2, 3, 4), 1, 1, 2, active=[0]),
    C(runtime.diag_grad, u(3, 3), u(3), active=[0]),
    C(runtime.diag_grad, u(3), u(3, 4), active=[0]),
    C(runtime.tile_grad, u(2, 6), u(3), (2, 2), active=[0]),
    C(runtime.repeat_grad, u(2, 3), u(2, 3), [1, 0, 2], 1, active=[0]),
    C(runtime.diff_grad, u(3, 3), u(3, 5), 2, active=[0]),
    C(runtime.diff_grad, u(3, 6), u(3, 5), 2, prepend=u(3, 1), append=u(3, 2), active=[0]),
    C(runtime.diff_end_grad, u(3, 6), "prepend", u(3, 5), 2, prepend=u(3, 1),
      append=u(3, 2), active=[0]),
    C(runtime.diff_end_grad, u(4, 2), "append", u(3, 2), 2, 0, prepend=u(),
      append=u(2, 2), active=[0]),
    C(runtime.sort_grad, u(3, 4), distinct(3, 4), 0, active=[0]),
    C(runtime.take_grad, u(4), u(5), np.array([0, 3, 3, 1]), active=[0]),
    C(runtime.item_grad, u(), u(3, 4), (1, 2), active=[0]),
    C(runtime.match_shape, u(4), u(3, 4), active=[0]),
    C(runtime.match_shape, u(), u(), active=[0]),
]


# ---------------------------------------------------------- more NumPy and math (appended, so
# that the random inputs and directions of the cases above stay as they were)
def spd(*shape):
    """Symmetric positive definite matrices (batched) with well separated eigenvalues."""
    b = u(*shape)
    return b @ np.swapaxes(b, -1, -2) + 1.5 * np.diag(np.arange(1.0, shape[-1] + 1.0))


XP = np.array([-1.0, -0.3, 0.2, 0.9, 1.5])
FP = np.array([0.4, -0.8, 1.1, 0.6, -0.2])
XQ = np.array([-1.4, -0.7, 0.0, 0.31, 0.95, 1.2, 1.8])    # two beyond the ends, none at a knot
TRAPEZOIDS = [f for f in (getattr(np, "trapezoid", None), getattr(np, "trapz", None)) if f]
ALONG = np.array([[3, 0], [1, 1], [0, 2]])

CASES += [
    # math module
    C(math.erfc, 0.3), C(math.gamma, 2.3), C(math.gamma, -1.5), C(math.lgamma, 0.7),
    C(math.lgamma, -2.5), C(math.asinh, -0.8), C(math.acosh, 1.7), C(math.atanh, 0.4),
    C(math.degrees, 0.3), C(math.radians, 0.3),
    # angles, sinc, arccosh
    C(np.arccosh, u(3, lo=1.2, hi=3.0)), C(np.deg2rad, u(3)), C(np.radians, u(2, 2)),
    C(np.rad2deg, u(3)), C(np.degrees, u(2, 2)), C(np.sinc, u(5, lo=-2.5, hi=2.5)),
    C(np.sinc, np.array([0.0, 1e-4, 0.7])),
    # triangles, padding, axes, along-axis selections
    C(np.tril, u(3, 4)), C(np.tril, u(4), -1), C(np.triu, u(2, 3, 3), 1), C(np.triu, u(3)),
    C(np.pad, u(3), 2), C(np.pad, u(2, 3), ((1, 0), (2, 1)), constant_values=0.5),
    C(np.pad, u(2, 3), 1, "constant", constant_values=(0.2, 0.7)),
    C(np.swapaxes, u(2, 3, 4), 0, 2), M("swapaxes", u(3, 4), 1, 0),
    C(np.moveaxis, u(2, 3, 4), 0, -1), C(np.moveaxis, u(2, 3, 4), [0, 1], [2, 0]),
    C(np.fliplr, u(3, 4)), C(np.flipud, u(3, 4)), C(np.rot90, u(3, 4)),
    C(np.rot90, u(2, 3, 4), -1, (1, 2)),
    C(np.take_along_axis, u(3, 4), ALONG, 1),
    C(np.lib.stride_tricks.sliding_window_view, u(3, 5), (2, 3)),
    C(np.lib.stride_tricks.sliding_window_view, u(3, 5), 2, axis=1),
    C(np.take_along_axis, u(3, 4), np.array([5, 0, 5]), None),
    # cumulative products, averages, integration, polynomials, interpolation, convolution
    C(np.cumprod, u(5)), C(np.cumprod, WITH_ZEROS, axis=1), M("cumprod", u(3, 4), axis=0),
    C(np.average, u(3, 4)), C(np.average, u(3, 4), axis=1, weights=pos(4)),
    C(np.average, u(2, 3, 4), axis=(2, 0), weights=pos(4, 2)),
    C(np.average, u(3, 4), axis=1, weights=pos(3, 4), returned=True),
    C(np.average, u(3, 4), axis=0, keepdims=True),
    *[C(f, u(5), np.sort(u(5))) for f in TRAPEZOIDS], *[C(f, u(6), dx=0.3) for f in TRAPEZOIDS],
    *[C(f, u(4, 3), u(4), axis=0) for f in TRAPEZOIDS],
    *[C(f, u(3, 4), u(3, 4)) for f in TRAPEZOIDS],
    C(np.polyval, u(4), u(5)), C(np.polyval, u(3), 0.7), C(np.polyval, [0.5, u(), -1.0], u(2, 3)),
    C(np.interp, XQ, XP, FP), C(np.interp, XQ, XP, FP, -0.5, 2.0), C(np.interp, 0.45, XP, FP),
    C(np.convolve, u(5), u(3)), C(np.convolve, u(3), u(5), "same"),
    C(np.convolve, u(4), u(2), "valid"),
    C(np.correlate, u(5), u(3)), C(np.correlate, u(2), u(3), "same"),
    C(np.correlate, u(4), u(6), "full"),
    # kron, vdot, cross
    C(np.kron, u(2, 3), u(3, 2)), C(np.kron, u(3), u(2, 2)), C(np.vdot, u(3, 4), u(2, 6)),
    C(np.cross, u(3), u(3)), C(np.cross, u(4, 3), u(3)),
    C(np.cross, u(3, 2), u(2, 3), axisa=0, axisc=0),
    # decompositions and powers (random, non-symmetric directions: one triangle is read)
    C(np.linalg.cholesky, spd(3, 3)), C(np.linalg.cholesky, spd(2, 3, 3)),
    C(np.linalg.cholesky, spd(3, 3), upper=True),
    C(np.linalg.eigh, spd(3, 3)), C(np.linalg.eigh, spd(2, 3, 3), "U"),
    C(np.linalg.eigvalsh, spd(4, 4)), C(np.linalg.eigvalsh, spd(3, 3), UPLO="U"),
    C(np.linalg.svd, u(4, 3), full_matrices=False), C(np.linalg.svd, u(3, 3)),
    C(np.linalg.svd, u(3, 5), False), C(np.linalg.svd, u(2, 4, 3), compute_uv=False),
    C(np.linalg.pinv, u(4, 3)), C(np.linalg.pinv, u(2, 3, 5)),
    C(np.linalg.matrix_power, wellcond(3, 3) / 3.0, 3),
    C(np.linalg.matrix_power, wellcond(2, 3, 3) / 3.0, -2),
    C(np.linalg.matrix_power, wellcond(3, 3), 0),
    C(np.linalg.qr, u(4, 3) + np.eye(4, 3)), C(np.linalg.qr, wellcond(2, 3, 3)),
    C(np.linalg.qr, u(4, 3) + np.eye(4, 3), mode="r"),
    # runtime helpers of the rules above (reverse code)
    C(runtime.tril_grad, u(3, 4), u(3, 4), active=[0]),
    C(runtime.tril_grad, u(4, 4), u(4), -1, active=[0]),
    C(runtime.triu_grad, u(3, 3), u(3, 3), 1, active=[0]),
    C(runtime.pad_grad, u(5), u(3), 1, active=[0]),
    C(runtime.pad_values_grad, u(4, 5), u(2, 3), 1, 0.5, active=[0]),
    C(runtime.swapaxes_grad, u(4, 3, 2), 0, 2), C(runtime.moveaxis_grad, u(3, 4, 2), 0, -1),
    C(runtime.rot90_grad, u(4, 3)),
    C(runtime.take_along_axis_grad, u(3, 2), u(3, 4), ALONG, 1, active=[0]),
    C(runtime.sliding_window_grad, u(2, 3, 2, 3), u(3, 5), (2, 3), active=[0]),
    C(runtime.sliding_window_grad, u(3, 4, 2), u(3, 5), 2, 1, active=[0]),
    C(runtime.convolve_grad, u(7), u(3), u(5), active=[0, 1]),
    C(runtime.convolve_grad, u(5), u(3), u(5), "same", active=[0, 1]),
    C(runtime.correlate_grad_a, u(3), u(3), u(5), active=[0, 1]),
    C(runtime.correlate_grad_v, u(3), u(2), u(3), "same", active=[0, 1]),
    C(runtime.kron_grad_a, u(6, 6), u(3, 2), u(2, 3), active=[0, 1]),
    C(runtime.kron_grad_b, u(6, 6), u(2, 3), u(3, 2), active=[0, 1]),
    C(runtime.vdot_grad, u(), u(2, 6), u(3, 4), active=[0, 1]),
    C(runtime.cross_grad_a, u(4, 3), u(3), u(4, 3), active=[0, 1]),
    C(runtime.cross_grad_b, u(4, 3), u(4, 3), u(3), active=[0, 1]),
    C(runtime.flip_grad, u(3, 4), 1), C(runtime.flip_grad, u(3, 4)),
    C(runtime.trapezoid_grad_y, u(3), u(3, 4), u(4), axis=1, active=[0, 2]),
    C(runtime.trapezoid_grad_y, u(), u(5), None, 0.3, active=[0, 3]),
    C(runtime.trapezoid_grad_y, u(4), u(3, 4), u(3, 4), 1.0, 0, active=[0, 2]),
    C(runtime.trapezoid_grad_x, u(3), u(3, 4), u(4), axis=1, active=[0, 1]),
    C(runtime.trapezoid_grad_x, u(4), u(3, 4), u(3, 4), 1.0, 0, active=[0, 1]),
    C(runtime.trapezoid_grad_dx, u(), u(5), None, 0.3, active=[0, 1]),
    # splits, stacks, axes, selections, order statistics and eig (rules/selections.py)
    C(np.real, u(3, 4)), A("real", u(3, 4)), C(np.imag, u(3)), A("imag", u(2, 3)),
    C(np.conjugate, u(3)), C(np.atleast_3d, u(4)), C(np.atleast_3d, u(3, 4)),
    C(np.vsplit, u(4, 3), 2), C(np.hsplit, u(3, 4), [1]), C(np.hsplit, u(6), 3),
    C(np.dsplit, u(2, 3, 4), 2),
    C(np.column_stack, [u(3), u(3, 2)]), C(np.rollaxis, u(2, 3, 4), 2),
    C(np.rollaxis, u(2, 3, 4), 0, 3), C(np.rollaxis, u(2, 3, 4), -1, 1),
    C(np.select, [SELECT_X < -0.2, SELECT_X < 0.3], [u(6), u()], u(6)),
    C(np.select, [SELECT_X > 0.0], [u(6)]),
    C(np.partition, distinct(7), 3), C(np.partition, distinct(3, 4), [1, 2], axis=0),
    C(np.partition, distinct(3, 4), 2, None),
    C(np.median, distinct(7)), C(np.median, distinct(3, 4), axis=0),
    C(np.median, distinct(3, 4), axis=1, keepdims=True), C(np.median, distinct(2, 3, 4), (0, 2)),
    C(np.nan_to_num, u(4)),
    C(np.nan_to_num, np.array([0.3, np.nan, np.inf, -np.inf]), nan=u(), posinf=u(),
      neginf=u(), active=[0, "nan", "posinf", "neginf"],
      dirs={0: np.array([0.7, 0.0, 0.0, 0.0])}),
    C(np.logaddexp2, u(3, 4), u(4)), C(np.fabs, signed(3, 4)),
    C(np.linalg.eig, EIG_A),
    C(runtime.column_stack_grads, u(3, 3), [u(3), u(3, 2)], active=[0]),
    C(runtime.rollaxis_grad, u(2, 4, 3), u(2, 3, 4), -1, 1, active=[0]),
    C(runtime.select_grads, u(6), [SELECT_X < -0.2, SELECT_X < 0.3], [u(6), u()], active=[0]),
    C(runtime.select_default_grad, u(6), [SELECT_X < -0.2], u(), active=[0]),
    C(runtime.partition_grad, u(7), np.partition(PART_X, 3), PART_X, active=[0]),
    C(runtime.median_grad, u(4), distinct(3, 4), 0, active=[0]),
    # more NumPy met in real code (rules/numpy_.py, math_.py, selections.py, decompositions.py)
    C(np.fmod, np.array([0.7, 1.3, -2.2, 2.9]), np.array([0.9, 0.8, 1.7, 1.1])),
    C(np.copysign, signed(3, 4), signed(4), active=[0]),
    C(math.copysign, 1.3, -0.5, active=[0]), C(np.float_power, pos(3, 4), u(4)),
    C(np.dstack, [u(2, 3), u(2, 3)]), C(np.dstack, [u(4), u(4)]),
    C(np.meshgrid, u(3), u(4)), C(np.meshgrid, u(2), u(3), u(4), indexing="ij"),
    C(np.ptp, distinct(7)), C(np.ptp, distinct(3, 4), axis=1, keepdims=True),
    C(np.quantile, distinct(7), 0.3, active=[0]),
    C(np.quantile, distinct(3, 4), [0.2, 0.9], axis=0, active=[0]),
    C(np.percentile, distinct(2, 3, 4), 40.0, axis=(0, 2), keepdims=True, active=[0]),
    C(np.nansum, NAN_X.reshape(2, 3), axis=1), C(np.nanmean, NAN_X),
    C(np.nanmax, NAN_X), C(np.nanmin, NAN_X.reshape(2, 3), axis=0, keepdims=True),
    C(np.nanprod, NAN_X), C(np.nanvar, NAN_X.reshape(2, 3), axis=1, ddof=1),
    C(np.nanstd, NAN_X),
    C(np.maximum.accumulate, distinct(7)), C(np.minimum.accumulate, distinct(3, 4), axis=1),
    C(np.logaddexp.reduce, u(3, 4), axis=1), C(np.logaddexp.reduce, u(3, 4)),
    C(np.add.reduce, u(3, 4)), C(np.add.reduce, u(3, 4), axis=1, keepdims=True),
    C(np.multiply.reduce, pos(3, 4)), C(np.multiply.reduce, pos(3, 4), axis=None),
    C(np.maximum.reduce, distinct(3, 4)), C(np.minimum.reduce, distinct(3, 4), axis=1),
    C(np.linspace, u(), u(), 5), C(np.linspace, u(3), u(), 4, endpoint=False, axis=1),
    C(np.linalg.lstsq, u(5, 3), u(5)), C(np.linalg.lstsq, u(5, 3), u(5, 2), rcond=None),
    M("conj", u(3)), M("conjugate", u(3)), M("tolist", u(3, 4)),
    C(runtime.dstack_grads, u(2, 3, 2), [u(2, 3), u(2, 3)], active=[0]),
    C(runtime.meshgrid_grad, (u(4, 3), u(4, 3)), (u(3), u(4)), 1, active=[0]),
    C(runtime.quantile_grad, u(2, 4), distinct(3, 4), [0.2, 0.9], 0, active=[0]),
    C(runtime.accumulate_grad, u(7), distinct(7), active=[0]),
    C(runtime.linspace_grad, u(5), u(), u(), 5, active=[0]),
    C(runtime.tolist_grad, [u(), u(), u()], u(3), active=[0]),
    # dict idioms (rules/containers.py)
    M("get", {"a": u(3), "b": u()}, "a", u(3)), M("get", {"a": u(3)}, "z", u(3)),
    M("items", {0: u(3), 1: u()}),
    C(builtins.sorted, [u(), u(), u()]), C(builtins.sorted, [u(), u(), u()], reverse=True),
    C(builtins.sorted, [(u(), u(2)), (u(), u(2)), (u(), u(2))], key=ITEM_0),
]


# NumPy 2's array-API names (rules/array_api.py), where the installed NumPy has them
def _numpy(name):
    obj = np
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj


def _if_numpy(name, *cases):
    return list(cases) if _numpy(name) is not None else []


CASES += [
    *_if_numpy("vecdot", *[C(_numpy("vecdot"), u(3, 4), u(4)),
                           C(_numpy("vecdot"), u(4, 3), u(4, 1), axis=0)]),
    *_if_numpy("linalg.vecdot", C(_numpy("linalg.vecdot"), u(2, 3), u(2, 3), axis=-1)),
    *_if_numpy("matvec", C(_numpy("matvec"), u(3, 4), u(2, 1, 4))),
    *_if_numpy("vecmat", C(_numpy("vecmat"), u(2, 3), u(3, 4))),
    *_if_numpy("matrix_transpose", C(_numpy("matrix_transpose"), u(2, 3, 4))),
    *_if_numpy("linalg.matrix_transpose", C(_numpy("linalg.matrix_transpose"), u(3, 4))),
    *_if_numpy("unstack", C(_numpy("unstack"), u(3, 2)), C(_numpy("unstack"), u(2, 3), axis=1)),
    *_if_numpy("cumulative_sum", C(_numpy("cumulative_sum"), u(5)),
               C(_numpy("cumulative_sum"), u(3, 4), axis=1, include_initial=True)),
    *_if_numpy("cumulative_prod", C(_numpy("cumulative_prod"), u(5)),
               C(_numpy("cumulative_prod"), u(3, 4), axis=0, include_initial=True)),
    *_if_numpy("astype", C(_numpy("astype"), u(3), np.float64)),
    *_if_numpy("linalg.vector_norm", C(_numpy("linalg.vector_norm"), u(3, 4)),
               C(_numpy("linalg.vector_norm"), u(3, 4), axis=0, keepdims=True),
               C(_numpy("linalg.vector_norm"), u(2, 3, 4), axis=(0, 2), ord=3)),
    *_if_numpy("linalg.matrix_norm", C(_numpy("linalg.matrix_norm"), u(3, 4)),
               C(_numpy("linalg.matrix_norm"), u(2, 3, 3), keepdims=True, ord="nuc")),
    *_if_numpy("linalg.matmul", C(_numpy("linalg.matmul"), u(2, 3, 4), u(4, 2))),
    *_if_numpy("linalg.outer", C(_numpy("linalg.outer"), u(3), u(4))),
    *_if_numpy("linalg.tensordot", C(_numpy("linalg.tensordot"), u(3, 4), u(4, 2), axes=1)),
    *_if_numpy("linalg.cross", C(_numpy("linalg.cross"), u(2, 3), u(3))),
    *_if_numpy("linalg.diagonal", C(_numpy("linalg.diagonal"), u(2, 3, 4), offset=1)),
    *_if_numpy("linalg.trace", C(_numpy("linalg.trace"), u(2, 3, 3), offset=-1)),
    # their runtime helpers (reverse code)
    C(runtime.vecdot_grad, u(3), u(3, 4), u(4), active=[0, 1]),
    C(runtime.vecdot_grad, u(3), u(4, 3), u(4, 1), 0, active=[0, 1]),
    C(runtime.matvec_grad_matrix, u(2, 3), u(4), u(3, 4), active=[0, 1]),
    C(runtime.matvec_grad_vector, u(2, 3), u(3, 4), u(4), active=[0, 1]),
    C(runtime.vecmat_grad_vector, u(2, 4), u(3, 4), u(3), active=[0, 1]),
    C(runtime.vecmat_grad_matrix, u(2, 4), u(3), u(3, 4), active=[0, 1]),
    C(runtime.drop_initial, u(3, 5), 1, True, active=[0]),
    C(runtime.with_initial, u(4, 3), 0, True, active=[0]),
    C(runtime.unstack_grad, [u(3), 0.0], u(3, 2), 1, active=[0], dirs={0: [u(3), 0.0]}),
    C(runtime.vector_norm_grad, u(3), pos(3), u(3, 4), 1, active=[0, 1, 2]),
    C(runtime.vector_norm_grad, u(), 1.3, u(2, 3), active=[0, 1, 2]),
]

def _ids():
    seen = {}
    out = []
    for c in CASES:
        seen[c.label] = seen.get(c.label, 0) + 1
        out.append(f"{c.label}-{seen[c.label]}")
    return out


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_tangent_matches_finite_differences(case):
    run_case(case)


# ----------------------------------------------------------------------------
# coverage and shape of the tables


def _builtin(table):
    """The core's own rules (an optional library's, SciPy's, are checked in its own test
    module, which runs only where the library is installed)."""
    return {k: r for k, r in table.items() if not r.user and r.optional is None}


def _registered_tangent_keys():
    keys = {("callable", k) for k in _builtin(rules.T_CALLABLES)}
    for kind, table in (("op", rules.T_OPERATORS), ("method", rules.T_METHODS),
                        ("attr", rules.T_ATTRIBUTES)):
        keys |= {(kind, k) for k in _builtin(table)}
    return keys


def _describe(kind, key):
    if kind == "callable":
        obj = rules.registry._KEEP.get(key)
        return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__name__', obj)}"
    return f"{kind} {key!r}"


def test_every_tangent_rule_has_a_case():
    covered = {("callable", _callable_key(c.key)) if c.kind == "callable" else (c.kind, c.key)
               for c in CASES}
    missing = _registered_tangent_keys() - covered
    assert not missing, "tangent rules without a test case: " + ", ".join(
        sorted(_describe(*m) for m in missing))


def test_every_adjoint_rule_has_a_tangent_rule():
    missing = []
    for kind, table, ttable in (("callable", rules.CALLABLES, rules.T_CALLABLES),
                                ("op", rules.OPERATORS, rules.T_OPERATORS),
                                ("method", rules.METHODS, rules.T_METHODS),
                                ("attr", rules.ATTRIBUTES, rules.T_ATTRIBUTES)):
        for key in _builtin(table):
            if key not in ttable and not (kind == "op" and key == "append"):
                missing.append(_describe(kind, key))
    assert not missing, "adjoint rules without a tangent rule: " + ", ".join(sorted(missing))


def _signature(template):
    return [(p.name, p.kind, p.default) for p in inspect.signature(template).parameters.values()]


def test_tangent_parameters_match_the_adjoint_rule():
    """The transformer binds a statement to both tables the same way."""
    wrong = []
    for kind, table, ttable in (("callable", rules.CALLABLES, rules.T_CALLABLES),
                                ("op", rules.OPERATORS, rules.T_OPERATORS),
                                ("method", rules.METHODS, rules.T_METHODS),
                                ("attr", rules.ATTRIBUTES, rules.T_ATTRIBUTES)):
        for key, rule in _builtin(table).items():
            trule = ttable.get(key)
            if trule is not None and _signature(rule.template) != _signature(trule.template):
                wrong.append(f"{_describe(kind, key)}: {inspect.signature(rule.template)} vs "
                             f"{inspect.signature(trule.template)}")
    assert not wrong, "\n".join(wrong)


def test_runtime_helper_rules_take_the_helpers_parameters():
    """A helper's rule is `(output, *the helper's parameters)`, defaults included."""
    wrong = []
    for key, trule in _builtin(rules.T_CALLABLES).items():
        obj = rules.registry._KEEP[key]
        if not runtime.owns(obj):
            continue
        want = _signature(obj)
        got = _signature(trule.template)[1:]
        if want != got:
            wrong.append(f"{obj.__name__}{inspect.signature(obj)} vs "
                         f"{trule.name}{inspect.signature(trule.template)}")
    assert not wrong, "\n".join(wrong)


def test_every_template_is_a_sum_of_single_tangent_terms():
    seen = set()
    for table in (rules.T_CALLABLES, rules.T_OPERATORS, rules.T_METHODS, rules.T_ATTRIBUTES):
        for rule in _builtin(table).values():
            if id(rule) not in seen:
                seen.add(id(rule))
                assert terms_of(rule), f"{rule.name}: empty template"
                assert rule.doc, f"{rule.name}: the docstring states the math"


def test_runtime_constants_are_nondifferentiable():
    assert rules.is_nondifferentiable(runtime.zero_grad)
    assert rules.is_nondifferentiable(runtime.count_reduced)
