"""Random well-typed programs for the differential fuzz test (tests/test_fuzz.py).

``programs()`` is a Hypothesis strategy that draws a small Python module as source
text -- constants, 0 to 2 factories, 0 to 2 helper functions and a ``main(x, y)`` --
together with argument values.
Every program is well typed by construction: the generator tracks the shape of every
name (``()`` for a scalar, ``(3,)``, ``(2, 3)``, ``(1, 3)``, ``(2,)`` for arrays) and
only writes operations whose operands broadcast to the shape it asked for.

What the programs contain:

* straight-line scalar and array arithmetic: ``+ - *``, division by a safe
  denominator ``(1.0 + e * e)``, ``** 2``, ``np.sin / np.cos / np.tanh``,
  ``np.exp(np.tanh(.))``, the same from ``math`` on scalars, ``np.sum(., axis)``,
  ``np.mean``, ``@`` on compatible shapes, reassignment of existing names;
* ``if``/``else`` on data (``if np.sum(a) > 0.3:``) assigning the same names in both
  branches;
* ``for i in range(k)`` with loop-carried values (``s = s * 0.9 + np.sin(x)``),
  sometimes using the integer ``i``;
* ``while k < 3 and s < 2.0:`` with an integer counter bound;
* lists built with ``append`` in a loop and reduced with ``sum`` or ``np.stack``;
* calls to the generated helper functions;
* Python's scopes: module constants (``c0``, ``c1``, ``w0``) read by every function and
  rebound after the defs (a function reads the last value, a default the value at its
  def); parameters and first-statement locals that shadow a constant or an enclosing
  function's name; helpers with defaults (literals, constants, a factory's parameters,
  main's locals) called with and without them; closures made by factories
  (``f0 = make0(0.7)``, or ``make0(0.7)(1.2)`` two levels deep) whose inner functions
  read the factory's parameters and call each other; local functions inside ``main``
  that read main's names when they are called.

Values stay bounded (``tanh`` before ``exp``, contractive loop updates, inputs in
[-1.5, 1.5]); the test rejects the rare overflowing draw.  Every data-dependent
comparison is also rendered in an *instrumented* copy of the program
(``_note(lhs - rhs) > 0``) so the test can measure how far each branch decision is
from its threshold and skip points where finite differences would straddle a jump.

The finite-difference oracle here (``fd_grad``) is independent of s2sgrad.
"""
import hashlib
import importlib.util
import itertools
import math
import os

import numpy as np
from hypothesis import strategies as st

SCALAR = ()
ARG_SHAPES = [(), (3,), (2, 3), (1, 3)]
ALL_SHAPES = [(), (3,), (2, 3), (1, 3), (2,)]

#: Unary functions, as format strings, for arrays and for scalars.
NP_UNARY = ["np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(np.tanh({}))", "({}) ** 2"]
MATH_UNARY = ["math.sin({})", "math.cos({})", "math.tanh({})", "math.exp(math.tanh({}))",
              "({}) ** 2", "np.sin({})", "np.tanh({})"]


def broadcasts_to(s, t):
    """True if shape s broadcasts to exactly shape t."""
    try:
        return np.broadcast_shapes(s, t) == t
    except ValueError:
        return False


def fmt_float(v):
    return repr(round(float(v), 3))


# ----------------------------------------------------------------------------
# program tree: statements are tuples, rendered plain or instrumented


class Cond:
    """A data-dependent comparison ``lhs op rhs`` on scalars."""

    def __init__(self, lhs, op, rhs):
        self.lhs, self.op, self.rhs = lhs, op, rhs

    def render(self, instrument):
        if instrument:
            return "_note(({}) - ({})) {} 0".format(self.lhs, self.rhs, self.op)
        return "{} {} {}".format(self.lhs, self.op, self.rhs)


def render_block(stmts, indent, instrument, out):
    pad = "    " * indent
    for s in stmts:
        kind = s[0]
        if kind == "line":
            out.append(pad + s[1])
        elif kind == "if":
            _, cond, body, orelse = s
            out.append(pad + "if " + cond.render(instrument) + ":")
            render_block(body, indent + 1, instrument, out)
            out.append(pad + "else:")
            render_block(orelse, indent + 1, instrument, out)
        elif kind == "for":
            _, var, n, body = s
            out.append(pad + "for {} in range({}):".format(var, n))
            render_block(body, indent + 1, instrument, out)
        elif kind == "def":
            _, name, params, body, ret = s
            out.append(pad + "def {}({}):".format(name, ", ".join(params)))
            render_block(body, indent + 1, instrument, out)
            out.append(pad + "    return " + ret)
        elif kind == "while":
            _, counter, bound, cond, body = s
            out.append(pad + "{} = 0".format(counter))
            out.append(pad + "while {} < {} and {}:".format(counter, bound,
                                                          cond.render(instrument)))
            render_block(body, indent + 1, instrument, out)
            out.append(pad + "    {0} = {0} + 1".format(counter))
        else:  # pragma: no cover
            raise ValueError(kind)


class Program:
    """A generated module: helper functions plus ``main``, and the argument values."""

    def __init__(self, functions, args):
        # list of (name, params, body, return_expr), or ("stmts", module-level statements)
        self.functions = functions
        self.args = args

    def render(self, instrument=False):
        out = ["import math", "import numpy as np", ""]
        if instrument:
            out += ["_MARGINS = []", "", "",
                    "def _note(v):", "    _MARGINS.append(abs(float(v)))",
                    "    return v", ""]
        for item in self.functions:
            out.append("")
            if item[0] == "stmts":              # module-level statements (globals, factories)
                render_block(item[1], 0, instrument, out)
                continue
            name, params, body, ret = item
            out.append("def {}({}):".format(name, ", ".join(params)))
            render_block(body, 1, instrument, out)
            out.append("    return " + ret)
            out.append("")
        return "\n".join(out)

    @property
    def source(self):
        return self.render(False)

    def args_source(self):
        return "ARGS = ({})\n".format("".join(arg_repr(a) + ", " for a in self.args))

    def digest(self):
        return hashlib.sha1((self.source + self.args_source()).encode()).hexdigest()[:12]

    def __repr__(self):
        return "<program>\n" + self.source + "\n" + self.args_source()


def arg_repr(a):
    if isinstance(a, np.ndarray):
        return "np.array({!r})".format(a.tolist())
    return repr(float(a))


# ----------------------------------------------------------------------------
# the generator


class Gen:
    """Draws statements and expressions of a requested shape from a scope."""

    def __init__(self, draw, helpers, names, readonly=(), counter=None):
        self.draw = draw
        # list of (name, param_shapes, return_shape, required): calls may leave out the
        # parameters after the first `required` (they have defaults)
        self.helpers = helpers
        self.names = names          # iterator of fresh variable names
        # names read but never assigned here (globals, cells of an enclosing function):
        # assigning one would make it local to the whole function
        self.readonly = set(readonly)
        self.counter = counter if counter is not None else itertools.count()

    def writable(self, env, ints=()):
        return sorted(n for n in env if n not in self.readonly and n not in ints)

    # -- helpers for drawing
    def choice(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def coin(self, p=0.5):
        return self.draw(st.floats(0, 1)) < p

    def const(self):
        return fmt_float(self.draw(st.sampled_from([0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 1.5, 2.0,
                                                    -0.4, -1.2])))

    def fresh(self):
        return next(self.names)

    # -- shapes reachable from the names in scope
    def available(self, env):
        have = set(env.values())
        out = {SCALAR}
        for s in have:
            out.add(s)
            if s == (2, 3):
                out.update({(3,), (2,), (1, 3)})
            if s == (1, 3):
                out.add((3,))
        return out

    def leaf(self, t, env, ints):
        exact = [n for n, s in env.items() if s == t]
        opts = []
        if exact:
            opts += ["var"] * 4
        if t == SCALAR:
            opts += ["const"] if exact else ["const"] * 2
            if ints:
                opts += ["int"]
            if any(s != SCALAR for s in env.values()):
                opts += ["sum"]
        else:
            if any(s == (2, 3) for s in env.values()) and t in [(3,), (2,), (1, 3)]:
                opts += ["axis"]
            if t == (3,) and any(s == (1, 3) for s in env.values()):
                opts += ["axis"]
        if not opts:
            raise AssertionError("unreachable shape %s from %s" % (t, env))
        k = self.choice(opts)
        if k == "var":
            return self.choice(exact)
        if k == "const":
            return self.const()
        if k == "int":
            return "(0.1 * {})".format(self.choice(ints))
        if k == "sum":
            n = self.choice([n for n, s in env.items() if s != SCALAR])
            return self.choice(["np.sum({})", "np.mean({})"]).format(n)
        # axis reductions from a (2, 3) or (1, 3) name
        if t == (3,):
            n = self.choice([n for n, s in env.items() if s in [(2, 3), (1, 3)]])
            return "np.sum({}, axis=0)".format(n)
        n = self.choice([n for n, s in env.items() if s == (2, 3)])
        if t == (2,):
            return self.choice(["np.sum({}, axis=1)", "np.mean({}, axis=1)"]).format(n)
        return "np.sum({}, axis=0, keepdims=True)".format(n)

    def expr(self, t, env, depth, ints=()):
        """An expression of exactly shape t."""
        if depth <= 0:
            return self.leaf(t, env, ints)
        avail = self.available(env)
        opts = ["leaf", "leaf", "unary", "unary", "binary", "binary", "binary", "div"]
        if t == SCALAR and len(avail) > 1:
            opts += ["reduce"]
        if t == (3,) and (2, 3) in avail:
            opts += ["reduce_axis"]
        if t == (2,) and (2, 3) in avail:
            opts += ["reduce_axis"]
        if (t == SCALAR and (3,) in avail) or (t == (2,) and (2, 3) in avail and (3,) in avail):
            opts += ["matmul"]
        callable_ = [h for h in self.helpers
                     if h[2] == t and all(p in avail for p in h[1])]
        if callable_:
            opts += ["call", "call"]
        k = self.choice(opts)
        d = depth - 1
        if k == "leaf":
            return self.leaf(t, env, ints)
        if k == "unary":
            f = self.choice(MATH_UNARY if t == SCALAR else NP_UNARY)
            return f.format(self.expr(t, env, d, ints))
        if k in ("binary", "div"):
            subs = [s for s in avail if broadcasts_to(s, t)]
            other = self.choice(subs)
            a = self.expr(t, env, d, ints)
            b = self.expr(other, env, d, ints)
            if k == "div":
                if self.coin():
                    return "{} / (1.0 + {} * {})".format(_p(a), _p(b), _p(b))
                return "{} / ({} + {})".format(_p(a), fmt_float(self.draw(
                    st.sampled_from([1.5, 2.0, 3.0]))), "np.tanh({})".format(b)
                    if other != SCALAR else "math.tanh({})".format(b))
            op = self.choice(["+", "-", "*"])
            if self.coin():
                a, b = b, a
            return "{} {} {}".format(_p(a), op, _p(b))
        if k == "reduce":
            s = self.choice([s for s in avail if s != SCALAR])
            f = self.choice(["np.sum({})", "np.mean({})"])
            return f.format(self.expr(s, env, d, ints))
        if k == "reduce_axis":
            ax = 0 if t == (3,) else 1
            return "np.sum({}, axis={})".format(self.expr((2, 3), env, d, ints), ax)
        if k == "matmul":
            if t == SCALAR:
                return "{} @ {}".format(_p(self.expr((3,), env, d, ints)),
                                        _p(self.expr((3,), env, d, ints)))
            return "{} @ {}".format(_p(self.expr((2, 3), env, d, ints)),
                                    _p(self.expr((3,), env, d, ints)))
        if k == "call":
            name, pshapes, _, required = self.choice(callable_)
            if required < len(pshapes) and self.coin(0.5):
                pshapes = pshapes[:required]                    # the defaults are used
            return "{}({})".format(name, ", ".join(self.expr(p, env, d, ints)
                                                   for p in pshapes))
        raise AssertionError(k)  # pragma: no cover

    # -- statements
    def cond(self, env, ints):
        """A comparison on scalar data: lhs op constant."""
        avail = self.available(env)
        s = self.choice(sorted(avail))
        e = self.expr(s, env, 1, ints)
        lhs = e if s == SCALAR else self.choice(["np.sum({})", "np.mean({})"]).format(e)
        return Cond(lhs, self.choice([">", "<"]), self.choice(["0.3", "0.0", "-0.5", "1.0"]))

    def assign(self, env, ints, depth, out, new=None):
        avail = self.available(env)
        if new is None:
            new = self.coin(0.7) or not self.writable(env, ints)
        if new:
            name = self.fresh()
            t = self.choice(sorted(avail))
        else:
            name = self.choice(self.writable(env, ints))
            t = env[name]
        out.append(("line", "{} = {}".format(name, self.expr(t, env, depth, ints))))
        env[name] = t
        return name

    def block(self, env, ints, n, nest, out, allow_loops=True):
        for _ in range(n):
            kinds = ["assign", "assign", "assign", "update"]
            if nest > 0:
                kinds += ["if", "if"]
                if allow_loops:
                    kinds += ["for", "for", "while", "list"]
            k = self.choice(kinds)
            getattr(self, "stmt_" + k)(env, ints, nest, out)

    def stmt_assign(self, env, ints, nest, out):
        self.assign(env, ints, self.choice([1, 2, 2, 3]), out)

    def stmt_update(self, env, ints, nest, out):
        """An in-place update `n = g(n, ...)` of a name in scope (`s = s * 0.9 + x`)."""
        if not self.writable(env):
            return self.stmt_assign(env, ints, nest, out)
        name, rhs = self.carried(env, ints, env)
        out.append(("line", "{} = {}".format(name, rhs)))

    def stmt_if(self, env, ints, nest, out):
        cond = self.cond(env, ints)
        avail = sorted(self.available(env))
        # names assigned in both branches: some existing, maybe one new
        targets = {}
        existing = self.writable(env)
        for _ in range(self.choice([1, 1, 2])):
            if existing and self.coin(0.5):
                n = self.choice(existing)
                targets[n] = env[n]
            else:
                targets[self.fresh()] = self.choice(avail)
        branches = []
        for _ in range(2):
            benv = dict(env)
            body = []
            if nest > 1 and self.coin(0.3):
                self.block(benv, ints, 1, nest - 1, body)
            for n, t in targets.items():
                body.append(("line", "{} = {}".format(n, self.expr(t, benv, self.choice([1, 2]),
                                                                   ints))))
            branches.append(body)
        out.append(("if", cond, branches[0], branches[1]))
        env.update(targets)

    def carried(self, env, ints, outer):
        """An update of a loop-carried name (one of `outer`) that stays bounded."""
        name = self.choice(sorted(n for n in outer if n in env and n not in self.readonly))
        t = env[name]
        form = self.choice(["decay", "decay", "squash", "add", "sum"])
        e = self.expr(t, env, self.choice([1, 2]), ints)
        if form == "decay":
            rhs = "{} * {} + {}".format(name, self.choice(["0.9", "0.5", "-0.7"]),
                                        ("np.sin({})" if t != SCALAR else
                                         self.choice(["math.sin({})", "np.sin({})"])).format(e))
        elif form == "squash":
            rhs = ("np.tanh({})" if t != SCALAR else "math.tanh({})").format(e)
        elif form == "add":
            rhs = "{} + {} * np.tanh({})".format(name, self.const(), e)
        else:
            # a sum whose terms have a factor fixed for the loop (hoisted when the loop
            # is fused, its adjoint applied once after the loop)
            # and a step term that does not read the sum (steps independent: fused)
            others = {n: s for n, s in env.items() if n != name}
            try:
                step = self.expr(t, others, 1, ints)
                fixed = self.expr(t, {n: s for n, s in outer.items() if n != name}, 1, ())
            except AssertionError:            # no way to that shape without the sum
                step, fixed = e, self.expr(t, outer, 1, ())
            rhs = "{} + np.tanh({}) * np.sin({} * {})".format(
                name, fixed, self.const(), _p(step))
        return name, rhs

    def stmt_for(self, env, ints, nest, out):
        var = "i{}".format(next(self.counter))
        n = self.choice([1, 2, 3])
        benv = dict(env)
        bints = tuple(ints) + (var,)
        body = []
        if self.coin(0.4):
            # a temporary inside the loop
            self.assign(benv, bints, self.choice([1, 2]), body, new=True)
        if nest > 1 and self.coin(0.3):
            self.block(benv, bints, 1, nest - 1, body)
        for _ in range(self.choice([1, 1, 2]) if self.writable(env) else 0):
            # carry only names that exist outside the loop
            name, rhs = self.carried(benv, bints, env)
            body.append(("line", "{} = {}".format(name, rhs)))
        if not body:
            self.assign(benv, bints, 1, body, new=True)
        out.append(("for", var, n, body))

    def scalar_name(self, env, ints, out):
        scal = [n for n, s in env.items() if s == SCALAR and n not in ints
                and n not in self.readonly]
        if scal and self.coin(0.7):
            return self.choice(scal)
        name = self.fresh()
        out.append(("line", "{} = {}".format(name, self.expr(SCALAR, env, 1, ints))))
        env[name] = SCALAR
        return name

    def stmt_while(self, env, ints, nest, out):
        s = self.scalar_name(env, ints, out)
        counter = "k{}".format(next(self.counter))
        bound = self.choice([2, 3])
        cond = Cond(s, "<", self.choice(["1.0", "2.0", "0.5"]))
        benv = dict(env)
        bints = tuple(ints) + (counter,)
        body = []
        if self.coin(0.3):
            self.assign(benv, bints, 1, body, new=True)
        e = self.expr(SCALAR, benv, self.choice([1, 2]), bints)
        body.append(("line", "{0} = {0} + {1} + 0.5 * math.tanh({2})".format(
            s, self.choice(["0.3", "0.6"]), e)))
        if self.coin(0.4) and self.writable(env):
            name, rhs = self.carried(benv, bints, env)
            body.append(("line", "{} = {}".format(name, rhs)))
        out.append(("while", counter, bound, cond, body))

    def stmt_list(self, env, ints, nest, out):
        acc = self.fresh() + "_list"
        var = "i{}".format(next(self.counter))
        t = self.choice(sorted(self.available(env)))
        n = self.choice([1, 2, 3])
        bints = tuple(ints) + (var,)
        out.append(("line", "{} = []".format(acc)))
        e = self.expr(t, env, self.choice([1, 2]), bints)
        out.append(("for", var, n, [("line", "{}.append({})".format(acc, e))]))
        name = self.fresh()
        red = self.choice(["sum", "stack0", "stackall"])
        if red == "sum":
            rhs, rt = "sum({})".format(acc), t
        elif red == "stack0":
            rhs, rt = "np.sum(np.stack({}), axis=0)".format(acc), t
        else:
            rhs, rt = "np.sum(np.stack({}))".format(acc), SCALAR
        out.append(("line", "{} = {}".format(name, rhs)))
        env[name] = rt


def _p(e):
    """Parenthesize unless the expression is obviously atomic."""
    if e.replace("_", "").replace(".", "").isalnum() and not e.startswith("-"):
        return e
    if e.startswith("np.") and e.endswith(")") and _balanced_call(e):
        return e
    return "(" + e + ")"


def _balanced_call(e):
    """True if e is a single call f(...) whose outer parentheses match."""
    i = e.find("(")
    if i < 0 or not e[:i].replace(".", "").replace("_", "").isalnum():
        return False
    depth = 0
    for j, ch in enumerate(e[i:], start=i):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return j == len(e) - 1
    return False


def _names(prefix):
    for i in itertools.count():
        yield "{}{}".format(prefix, i)


def arrays(shape):
    n = int(np.prod(shape)) if shape else 1
    vals = st.lists(st.integers(-1500, 1500).map(lambda k: k / 1000.0),
                    min_size=n, max_size=n)
    if shape == ():
        return vals.map(lambda v: float(v[0]))
    return vals.map(lambda v: np.array(v, dtype=np.float64).reshape(shape))


#: Module-level constants the functions may read (and shadow): name -> (shape, values).
GLOBALS = {"c0": (SCALAR, ["0.7", "-0.4", "1.5"]), "c1": (SCALAR, ["0.25", "-1.2", "2.0"]),
           "w0": ((3,), ["np.array([0.5, -0.2, 0.3])", "np.array([-1.0, 0.4, 0.9])"])}


def draw_globals(draw):
    """Module constants (statements) and their shapes; some are rebound at the end of
    the module (functions read the last value, defaults the one at their def)."""
    names = sorted(draw(st.sets(st.sampled_from(sorted(GLOBALS)), max_size=3)))
    first = [("line", "{} = {}".format(n, draw(st.sampled_from(GLOBALS[n][1]))))
             for n in names]
    last = [("line", "{} = {}".format(n, draw(st.sampled_from(GLOBALS[n][1]))))
            for n in names if draw(st.booleans())]
    return {n: GLOBALS[n][0] for n in names}, first, last


def shadow(g, env, body, candidates, p=0.3):
    """Maybe start `body` by assigning one of `candidates` (a global or an enclosing
    function's name): from there on it is a local of this function, read and written."""
    def others(name):
        return {n: t for n, t in env.items() if n != name}
    names = sorted(n for n in candidates if n in g.readonly
                   and env[n] in g.available(others(n)))       # (its shape is reachable)
    if not names or not g.coin(p):
        return
    name = g.choice(names)
    others = others(name)
    body.append(("line", "{} = {}".format(name, g.expr(env[name], others, 1))))
    g.readonly.discard(name)


def signature(g, env, params, default_names=(), scalar_only=False):
    """Parameter names and shapes, the last maybe with a default read from
    `default_names` (a global, a cell, a local of the enclosing function) or a literal.
    Returns (rendered params, shapes, required count)."""
    shapes = [g.choice([SCALAR] if scalar_only else ARG_SHAPES) for _ in params]
    rendered = list(params)
    required = len(params)
    if len(params) > 1 and g.coin(0.5):
        same = sorted(n for n in default_names if env.get(n) is not None)
        if same and g.coin(0.7):
            d = g.choice(same)
            shapes[-1] = env[d]
        else:
            d, shapes[-1] = g.const(), SCALAR
        rendered[-1] = "{}={}".format(params[-1], d)
        required -= 1
    return rendered, shapes, required


def function_body(g, env, n, nest=1):
    """Statements and the return expression of a helper (no loops: short)."""
    body = []
    g.block(env, (), n, nest, body, allow_loops=False)
    rshape = g.choice(sorted(g.available(env)))
    return body, g.expr(rshape, env, 2), rshape


def draw_factory(draw, fname, helpers, globals_, levels):
    """`def make0(a): def k0(p): ...; return k0` (maybe a factory of factories, and two
    inner functions, the second calling the first): its statements and the signature
    of the function `make0(...)(...)` returns. Parameters may shadow globals; inner
    defaults may read the factory's parameters."""
    counter = itertools.count()
    cells = {}
    params_by_level, stmts_stack = [], []
    for level in range(levels):
        own = ["a{}".format(level)] + (["b{}".format(level)] if draw(st.booleans()) else [])
        if draw(st.booleans()) and globals_:
            own[0] = draw(st.sampled_from(sorted(globals_)))      # shadows the global
        params_by_level.append(own)
        cells.update({p: SCALAR for p in own})
    visible = dict(globals_)
    visible.update(cells)
    inner_helpers = list(helpers)
    defs = []
    for j in range(draw(st.integers(1, 2))):
        g = Gen(draw, list(inner_helpers), _names("t{}_".format(j)), readonly=visible,
                counter=counter)
        name = "k{}".format(j)
        rendered, shapes, required = signature(g, visible, ["p", "q"][:draw(st.integers(1, 2))],
                                               default_names=cells)
        env = dict(visible)
        env.update(zip(["p", "q"], shapes))
        body = []
        shadow(g, env, body, cells)
        more, ret, rshape = function_body(g, env, draw(st.integers(0, 2)))
        defs.append(("def", name, rendered, body + more, ret))
        inner_helpers.append((name, shapes, rshape, required))
    sig = inner_helpers[-1]
    inner = defs + []
    ret_name = sig[0]
    for level in reversed(range(levels)):
        maker = fname if level == 0 else "{}_{}".format(fname, level)
        inner = [("def", maker, params_by_level[level], inner, ret_name)]
        ret_name = maker
    call = fname + "".join("({})".format(", ".join(
        draw(st.sampled_from(["0.7", "-0.3", "1.2", "0.5"])) for _ in own))
        for own in params_by_level)
    return inner, call, sig


@st.composite
def programs(draw, max_helpers=2, main_statements=(2, 5), nest=2, scopes=True):
    """A `Program`: helpers + main(x, y) source and the argument values.

    With `scopes`, the module may also have constants (read by the functions, shadowed
    by parameters and locals, rebound after the defs), helpers with defaults, closures
    made by factories (`f0 = make0(0.7)`, nested two deep), and local functions in
    main that read main's names and have defaults evaluated at their def."""
    helpers = []
    functions = []
    globals_, first, last = draw_globals(draw) if scopes else ({}, [], [])
    if first:
        functions.append(("stmts", first))
    for f in range(draw(st.integers(0, 2)) if scopes and draw(st.booleans()) else 0):
        stmts, call, sig = draw_factory(draw, "make{}".format(f), helpers, globals_,
                                        draw(st.sampled_from([1, 1, 2])))
        name = "f{}".format(f)
        functions.append(("stmts", stmts + [("line", "{} = {}".format(name, call))]))
        helpers.append((name,) + tuple(sig[1:]))
    for h in range(draw(st.integers(0, max_helpers))):
        name = "h{}".format(h)
        g = Gen(draw, list(helpers), _names("t"), readonly=globals_)
        params = ["p", "q"][:draw(st.integers(1, 2))]
        if scopes and globals_ and draw(st.booleans()):
            params[-1] = draw(st.sampled_from(sorted(globals_)))   # shadows the global
            g.readonly.discard(params[-1])
        rendered, pshapes, required = signature(
            g, globals_, params, default_names=globals_ if scopes else ())
        if not scopes:
            rendered, required = params, len(params)
        env = dict(globals_)
        env.update(zip(params, pshapes))
        body = []
        g.block(env, (), draw(st.integers(0, 2)), 1, body, allow_loops=False)
        rshape = draw(st.sampled_from(sorted(g.available(env))))
        ret = g.expr(rshape, env, 2)
        functions.append((name, rendered, body, ret))
        helpers.append((name, pshapes, rshape, required))

    xs = draw(st.sampled_from(ARG_SHAPES))
    ys = draw(st.sampled_from(ARG_SHAPES))
    env = dict(globals_)
    env.update({"x": xs, "y": ys})
    g = Gen(draw, helpers, _names("v"), readonly=globals_)
    body = []
    count = draw(st.integers(*main_statements))
    if scopes:
        shadow(g, env, body, globals_)
        before = draw(st.integers(0, count))          # the local defs come after these
        g.block(env, (), before, nest, body)
        count -= before
        for j in range(draw(st.sampled_from([0, 0, 1, 2]))):
            local_function(g, env, body, "l{}".format(j))
    g.block(env, (), count, nest, body)
    # return a scalar that depends on the last name and a few others
    made = [n for n in env if n not in ("x", "y") and n not in globals_]
    live = made[-1:] + [n for n in reversed(made[:-1]) if g.coin(0.6)][:3]
    if not live:
        live = ["x"]
    terms = []
    for n in live:
        terms.append(("np.sum({})" if env[n] != SCALAR else "{}").format(n))
    ret = "np.sum({})".format(live[0]) if len(live) == 1 else " + ".join(terms)
    functions.append(("main", ["x", "y"], body, ret))
    if last:
        functions.append(("stmts", last))
    args = (draw(arrays(xs)), draw(arrays(ys)))
    return Program(functions, args)


def local_function(g, env, body, name):
    """`def l0(u, w=<a name of main>):` at the top of main's body: it reads main's names
    when called (maybe shadowing one), and its default is the value at the def."""
    outer = dict(env)
    inner = Gen(g.draw, list(g.helpers), _names(name + "_"), readonly=set(outer),
                counter=g.counter)
    rendered, shapes, required = signature(inner, outer, ["u", "w"][:g.choice([1, 2])],
                                           default_names=outer)
    lenv = dict(outer)
    lenv.update(zip(["u", "w"], shapes))
    inner.readonly -= {"u", "w"}
    lbody = []
    shadow(inner, lenv, lbody, [n for n in outer if n not in ("u", "w")])
    more, ret, rshape = function_body(inner, lenv, g.choice([0, 1, 2]))
    body.append(("def", name, rendered, lbody + more, ret))
    g.helpers.append((name, shapes, rshape, required))


# ----------------------------------------------------------------------------
# loading and the oracle


def load_module(path, name):
    """Import the module at `path` under `name` (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def branch_margins(program):
    """Distances of every data comparison from its threshold, evaluated at the args."""
    ns = {"__name__": "fuzz_instrumented"}
    exec(compile(program.render(True), "<instrumented>", "exec"), ns)
    ns["main"](*copy_args(program.args))
    return list(ns["_MARGINS"])


def copy_args(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def fd_grad(f, args, rel_step=1e-6):
    """Finite-difference gradient of scalar f in every argument (float64).

    Five-point centered stencil (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h with
    h = rel_step * max(1, |x|): truncation error O(h**4), so strongly curved programs
    (gradients in the thousands) are still checked to the test tolerance."""
    base = copy_args(args)

    def at(i, x):
        return float(f(*(base[:i] + (x,) + base[i + 1:])))

    def stencil(g, h):
        return (g(-2 * h) - 8 * g(-h) + 8 * g(h) - g(2 * h)) / (12 * h)

    out = []
    for i, x in enumerate(base):
        if isinstance(x, np.ndarray):
            g = np.zeros(x.shape)
            for k in np.ndindex(*x.shape):
                h = rel_step * max(1.0, abs(x[k]))

                def shifted(d, k=k):
                    xs = x.copy()
                    xs[k] += d
                    return at(i, xs)
                g[k] = stencil(shifted, h)
            out.append(g)
        else:
            h = rel_step * max(1.0, abs(x))
            out.append(stencil(lambda d: at(i, x + d), h))
    return tuple(out)


def compare(got, expected, args, rtol=1e-5, atol=1e-6):
    """None if the gradients agree (value, type and shape), else a message."""
    if not isinstance(got, tuple) or len(got) != len(expected):
        return "expected a tuple of {} gradients, got {!r}".format(len(expected), got)
    msgs = []
    for i, (g, e, a) in enumerate(zip(got, expected, args)):
        name = "xy"[i] if i < 2 else "arg%d" % i
        if isinstance(a, np.ndarray):
            if not isinstance(g, np.ndarray) or g.shape != a.shape or g.dtype != a.dtype:
                msgs.append("d/d{}: argument is a {} {} array, gradient is {!r}".format(
                    name, a.shape, a.dtype, g))
                continue
        elif not isinstance(g, float):
            msgs.append("d/d{}: argument is a float, gradient is {} {!r}".format(
                name, type(g).__name__, g))
            continue
        gv, ev = np.asarray(g, dtype=float), np.asarray(e, dtype=float)
        if not np.all(np.isfinite(gv)) or np.any(np.abs(gv - ev) > atol + rtol * np.abs(ev)):
            msgs.append("d/d{}: s2sgrad {} vs finite differences {}".format(
                name, np.array2string(gv, precision=8), np.array2string(ev, precision=8)))
    return "\n".join(msgs) or None


def regression_text(program, message):
    """A tests/regressions/ file: the program, its arguments and what went wrong."""
    comment = "".join("# " + line + "\n" for line in message.splitlines())
    return ("# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).\n"
            "# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite\n"
            "# differences.  Failure when found:\n" + comment +
            program.source + "\n\n" + program.args_source())


def write_regression(directory, program, message):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, program.digest() + ".py")
    if not os.path.exists(path):
        with open(path, "w") as fh:
            fh.write(regression_text(program, message))
    return path
