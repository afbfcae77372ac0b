"""The gradient tables: adjoint rules written as Python templates.

A rule is an ordinary function whose parameters are the output followed by the
inputs in call order, and whose body only *adds* to input adjoints:

    @defadjoint(np.sin)
    def sin(y, x):
        \"\"\"y = sin(x)  →  x̄ += ȳ·cos(x)\"\"\"
        x_bar += y_bar * np.cos(x)

The body is never run: its source is inlined into generated code with `y`, `x`,
`y_bar`, `x_bar` replaced by the names of the statement being differentiated.
Parameters with defaults are non-differentiable options (`axis=None`). Names that
the body assigns other than `*_bar` are temporaries, renamed per use.

Three registries map what the trace sees to rules: callables (`np.sin`, `math.exp`,
user functions registered with `@adjoint`), operators (`"add"`, `"getitem"`, ...)
and array methods (`"sum"` for `x.sum()`, with `x` as the first input). A method of a
library's singleton object (`scipy.stats.norm.logpdf`, a new bound method at each
attribute read) is registered as `bound(norm, "logpdf")`.

Rules of optional libraries (SciPy) live in their own modules, loaded the first time a
call is looked up while the library is imported (`OPTIONAL`): nothing imports SciPy
for s2sgrad, and a program that does not use it never pays for its rules.

What the analyses need to know about a rule (its result is a view, has the broadcast
shape of its operands, ...) is declared where it is registered, `props=` below, so a
rule keeps its properties wherever its template lives:

    @defadjoint(np.sin, props=(ELEMENTWISE, SCALAR_PRESERVING, FRESH, PURE))

A rule with no properties (every user rule unless its author declares some) is taken
at its most general: its result may alias its operands, has no known shape, and is
never merged with another call.
"""
import ast
import importlib
import inspect
import sys
import textwrap
import types

import gast

from ..errors import S2SGradError
from ..syntax import nodes
from ..syntax.source import source_tree

CALLABLES = {}      # id(object) -> Rule  (ids: ufuncs are not all hashable-stable)
_KEEP = {}          # id(object) -> object, keeps registered objects alive
OPERATORS = {}      # "add", "getitem", ... -> Rule
METHODS = {}        # "sum", "reshape", ... -> Rule
ATTRIBUTES = {}     # "T", "real" -> Rule
NONDIFF = set()     # ids of callables whose outputs carry no gradient
CONSTANT_ARGS = {}  # id -> first checked argument, for constants only of constant arguments
NONDIFF_METHODS = set()
NONDIFF_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}
POSITIONAL_OPTIONS = {}   # id(callable) or ".method" -> {argument position: option name}
# Properties a rule may declare (`props=`); the analyses read nothing else about it.
ELEMENTWISE = "elementwise"              # result has the broadcast shape of its operands
SCALAR_PRESERVING = "scalar_preserving"  # numbers in → a number out
RETURNS_NUMBER = "returns_number"        # a number whatever its operands (float(x))
FULL_REDUCTION = "full_reduction"        # reduces `axis=` (its default if not given) of one operand
FRESH = "fresh"                          # result is a new object, never a view or alias
VIEW = "view"                            # result is a view of its first operand
HOLDS_OPERANDS = "holds_operands"        # result is a container holding the operands themselves
CONTAINER = "container"                  # result is a list, tuple or dict
READS_CONTAINER = "reads_container"      # the first operand may be a list, tuple or dict
PURE = "pure"                            # same operands → equal result (may be merged)
PROPERTIES = frozenset({ELEMENTWISE, SCALAR_PRESERVING, RETURNS_NUMBER, FULL_REDUCTION,
                        FRESH, VIEW, HOLDS_OPERANDS, CONTAINER, READS_CONTAINER, PURE})
# Tangent (forward-mode) rules, keyed like the adjoint tables.
T_CALLABLES = {}
T_OPERATORS = {}
T_METHODS = {}
T_ATTRIBUTES = {}


class Rule:
    """One adjoint template. `params` are the template's inputs (after the output);
    `defaults` maps option parameters to their default values."""

    def __init__(self, template, name=None, user=False, keywords=(), props=()):
        self.template = template
        self.props = _properties(props, name or template.__name__)
        self.keywords = set(keywords)    # keywords a `**options` template accepts unread
        self.name = name or template.__name__
        sig = inspect.signature(template)
        params = list(sig.parameters.values())
        if not params:
            raise S2SGradError(f"adjoint rule {self.name} needs an output parameter")
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self.output = params[0].name
        self.params = [p.name for p in params[1:] if p.kind in kinds]
        self.defaults = {p.name: p.default for p in params
                         if p.default is not inspect.Parameter.empty}
        self.vararg = next((p.name for p in params
                            if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
        self.kwonly = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
        self.varkw = next((p.name for p in params
                           if p.kind is inspect.Parameter.VAR_KEYWORD), None)
        self.doc = inspect.getdoc(template) or ""
        self.user = user
        self.optional = None             # the optional library the rule is for ("scipy")
        self.namespace = template.__globals__
        self._body = None

    @property
    def body(self):
        """The template's statements as gast nodes (parsed on first use)."""
        if self._body is None:
            lines, _, tree = source_tree(self.template)
            if tree is None:
                tree = ast.parse(textwrap.dedent("".join(lines)))
            body = tree.body[0].body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    body[0].value, ast.Constant):
                body = body[1:]
            # (only the statements made gast: the decorators and the docstring were
            # half the time of a rule's first use)
            self._body = [gast.ast_to_gast(st) for st in body]
        return self._body

    def adjoint_names(self):
        """Inputs whose adjoint the template writes (`x` for `x_bar += ...`)."""
        if getattr(self, "_adjoint_names", None) is not None:
            return self._adjoint_names
        out = set()
        for st in self.body:
            loads, stores = nodes.name_sets(st)
            out |= {n[:-4] for n in stores if n.endswith("_bar")}
            # a tangent rule: the inputs it reads
            out |= {n[:-4] for n in loads
                    if n.endswith("_dot") and n != self.output + "_dot"}
        self._adjoint_names = out
        return out

    def unread_options(self):
        """Options (parameters with defaults) the template never reads: they cannot
        change the generated adjoint, so a call must leave them at their default."""
        if getattr(self, "_unread", None) is None:
            read = {n for st in self.body for n in nodes.names_in(st)}
            self._unread = {p for p in self.params + self.kwonly if p in self.defaults
                            and p not in read and p + "_bar" not in read}
        return self._unread

    def unsupported_option(self, args, kwargs, is_float_dtype):
        """The first option of a call (`args` positional operands, `kwargs` keyword
        operands) this template does not handle, or None. `is_float_dtype(operand)`
        says whether a `dtype=` operand is statically a floating dtype (which only sets
        the precision); every other option the template leaves unread must be left at
        its default, and a keyword a `**options` template does not declare is refused."""
        from ..syntax.nodes import Const
        if len(args) > len(self.params) and not self.vararg:
            return f"argument {len(self.params) + 1}"
        bound = dict(zip(self.params, args))
        bound.update(kwargs)
        unread = self.unread_options()
        for k, a in bound.items():
            if k == "dtype" and k not in self.keywords and (
                    k in unread or k not in self.params + self.kwonly):
                if is_float_dtype(a):
                    continue
                return k
            if k in self.params or k in self.kwonly:
                if k in unread and not (isinstance(a, Const) and _same(a.value,
                                                                       self.defaults[k])):
                    return k
            elif not (self.varkw and k in self.keywords):
                return k
        return None

    def __repr__(self):
        return f"<rule {self.name}>"


def _properties(props, name):
    """`props` (one property or several) as a frozenset, refusing unknown names."""
    props = frozenset([props] if isinstance(props, str) else props)
    unknown = props - PROPERTIES
    if unknown:
        raise S2SGradError(f"rule {name}: unknown properties {sorted(unknown)} "
                           f"(known: {sorted(PROPERTIES)})")
    return props


def _same(a, b):
    try:
        return a is b or (type(a) is type(b) and a == b)
    except Exception:
        return False


class bound:
    """The key of a method of one library object: `bound(scipy.stats.norm, "logpdf")`
    stands for every `norm.logpdf` bound method (each attribute read makes a new one)."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    @property
    def key(self):
        return ("bound", id(self.owner), self.name)

    @property
    def method(self):
        return getattr(self.owner, self.name)


def _key(obj):
    """The CALLABLES key of a callable object (a bound method's owner and name)."""
    if isinstance(obj, bound):
        return obj.key
    return id(obj)


def _keep(obj):
    key = _key(obj)
    _KEEP[key] = obj.method if isinstance(obj, bound) else obj
    if isinstance(obj, bound):
        _KEEP[("owner",) + key[1:]] = obj.owner       # keeps the id in the key alive
    return key


def _register(table, keys, rule):
    for key in keys:
        if isinstance(key, str):
            table[key] = rule
        else:
            CALLABLES[_keep(key)] = rule


def defadjoint(*funcs, ops=(), methods=(), attributes=(), keywords=(), positional=None,
               props=()):
    """Register a built-in rule for callables, operator names and method names.
    `props`: the rule's properties (ELEMENTWISE, FRESH, ...) the analyses rely on;
    `keywords`: what a `**options` template accepts without reading (options that
    never change the derivative); `positional`: {callable or ".method": {position:
    option name}} for options a call may pass by position (`x.flatten('F')`)."""
    def deco(template):
        rule = Rule(template, keywords=keywords, props=props)
        for key, where in (positional or {}).items():
            POSITIONAL_OPTIONS[key if isinstance(key, str) else id(key)] = where
        _register(CALLABLES, funcs, rule)
        _register(OPERATORS, ops, rule)
        _register(METHODS, methods, rule)
        _register(ATTRIBUTES, attributes, rule)
        return template
    return deco


def deftangent(*funcs, ops=(), methods=(), attributes=()):
    """Register a built-in tangent rule. The body only adds to the output tangent,
    one term per input, so that terms of inputs without a tangent can be dropped:

        @deftangent(operator.mul, np.multiply, ops=["mul"])
        def multiply(y, a, b):
            \"\"\"y = a * b  →  ẏ = ȧ·b + a·ḃ\"\"\"
            y_dot += a_dot * b
            y_dot += a * b_dot
    """
    def deco(template):
        rule = Rule(template)
        for key in funcs:
            T_CALLABLES[_keep(key)] = rule
        for table, keys in ((T_OPERATORS, ops), (T_METHODS, methods),
                            (T_ATTRIBUTES, attributes)):
            for key in keys:
                table[key] = rule
        return template
    return deco


def tangent(func):
    """Register a user's forward rule for `func` (public API: `@s2sgrad.tangent`)."""
    def deco(template):
        rule = Rule(template, name=getattr(func, "__name__", template.__name__), user=True)
        T_CALLABLES[id(func)] = rule
        _KEEP[id(func)] = func
        return template
    return deco


def tangent_for(adjoint_rule, obj=None):
    """The tangent rule matching an adjoint rule (same registry key)."""
    if obj is not None and id(obj) in T_CALLABLES:
        return T_CALLABLES[id(obj)]
    if obj is not None and _bound_key(obj) in T_CALLABLES:
        return T_CALLABLES[_bound_key(obj)]
    for table, ttable in ((OPERATORS, T_OPERATORS), (METHODS, T_METHODS),
                          (ATTRIBUTES, T_ATTRIBUTES)):
        for key, rule in table.items():
            if rule is adjoint_rule and key in ttable:
                return ttable[key]
    for key, rule in CALLABLES.items():
        if rule is adjoint_rule and key in T_CALLABLES:
            return T_CALLABLES[key]
    return None


def adjoint(func, props=()):
    """Register a user's reverse rule for `func` (public API: `@s2sgrad.adjoint`).

        @s2sgrad.adjoint(softplus)
        def softplus_adjoint(y, x):
            x_bar += y_bar / (1 + np.exp(-x))

    `props` declares what the analyses may assume of `func` (s2sgrad.rules.ELEMENTWISE,
    FRESH, ...); with none, its result is taken to possibly alias its operands."""
    def deco(template):
        rule = Rule(template, name=getattr(func, "__name__", template.__name__), user=True,
                    props=props)
        CALLABLES[id(func)] = rule
        _KEEP[id(func)] = func
        return template
    return deco


def nondifferentiable(*funcs, methods=()):
    """Callables whose results never carry a gradient (comparisons, len, argmax...)."""
    for f in funcs:
        NONDIFF.add(id(f))
        _KEEP[id(f)] = f
    NONDIFF_METHODS.update(methods)


def constant_arguments(*funcs, first=0):
    """Callables whose results are constants only while their arguments are: np.full's
    fill value, np.arange's start, a random draw's location. A value that depends on
    the differentiated input reaching argument `first` or a later one is refused (for
    np.full_like(x, c) only `c` matters: `first=1`)."""
    for f in funcs:
        CONSTANT_ARGS[id(f)] = first
        _KEEP[id(f)] = f


# module of an optional library -> the rules module loaded once that module is imported.
# One rules module per library module: importing scipy.linalg's rules must not import
# scipy.stats (most of a second on a first transform; scipy.linalg alone is imported by
# s2sgrad's own triangular solves, and by any program that uses SciPy at all)
OPTIONAL = {"scipy.special": "s2sgrad.rules.scipy_special",
            "scipy.stats": "s2sgrad.rules.scipy_stats",
            "scipy.linalg": "s2sgrad.rules.scipy_linalg"}
_LOADED = set()


def mark_optional(namespace, library):
    """Mark the rules whose templates live in `namespace` (a rules module's globals) as
    `library`'s: the core's coverage tests leave them to that library's tests."""
    for rule in list(CALLABLES.values()) + list(T_CALLABLES.values()):
        if rule.namespace is namespace:
            rule.optional = library


def load_optional():
    """Load the rules of each optional library module the program has imported (once
    each; a module that cannot be imported after all is left alone)."""
    for library, module in OPTIONAL.items():
        if library not in _LOADED and sys.modules.get(library) is not None:
            _LOADED.add(library)
            try:
                importlib.import_module(module)
            except ImportError:
                pass


def _bound_key(obj):
    """The key of a bound method (`norm.logpdf`, a ufunc's `np.maximum.accumulate`) by
    its owner and name; None for anything else."""
    owner, func = getattr(obj, "__self__", None), getattr(obj, "__func__", None)
    if owner is None or isinstance(owner, (type, types.ModuleType)):
        return None
    if func is None:       # a method of a C type: a ufunc's reduce/accumulate
        if not isinstance(obj, types.BuiltinMethodType):
            return None
        return ("bound", id(owner), obj.__name__)
    return ("bound", id(owner), func.__name__)


def lookup(obj):
    rule = CALLABLES.get(id(obj))
    if rule is None:
        load_optional()
        rule = CALLABLES.get(id(obj))
        key = _bound_key(obj) if rule is None else None
        if key is not None:
            rule = CALLABLES.get(key)
    return rule


def is_nondifferentiable(obj):
    if id(obj) not in NONDIFF:
        load_optional()
    return id(obj) in NONDIFF


def all_rules():
    """Every registered rule once, in a stable order (for the printed table)."""
    load_optional()
    seen, out = set(), []
    for table in (OPERATORS, METHODS, ATTRIBUTES):
        for rule in table.values():
            if id(rule) not in seen:
                seen.add(id(rule))
                out.append(rule)
    for rule in CALLABLES.values():
        if id(rule) not in seen:
            seen.add(id(rule))
            out.append(rule)
    return out
