"""Names the generated code introduces, kept apart from the user's names.

Generated code refers to the runtime helpers by their bare names (`unbroadcast`,
`grad_like`, `ShapeOf`, ...) and names what it makes after fixed patterns (`x_bar`
adjoints, `x_dot` tangents, `saved_*` stacks, `g_fwd`/`g_bwd`/`g_jvp` pairs,
`grad_f`/`value_and_grad_f`/`jvp_f`). A user's name of the same spelling (a global,
a closure value, a parameter, a local, a nested def) would capture or be captured by
it: `unbroadcast = 3.0; ... x * unbroadcast` read the helper function inside the
generated code.

`protect` renames such user names in the parsed tree before anything is generated,
uniformly (every occurrence, so the code means what it meant), to a name of no
generated pattern (`unbroadcast_`, `x_bar_`, `user_grad_g_`). A renamed free name is
bound to the object it denoted (as a closure value), and a renamed global stays a
dependency of the compiled code (rebinding it recompiles). Programs without such a
name are left exactly as they were.
"""
import builtins
import re

import gast

from . import nodes
from .scopes import free_names

# the patterns of the names generated code makes (see ad/reverse.py `bar`, ad/tangent.py
# `dot`, ad/callees.py pair names, api/operators function names, optimize/saves stacks)
_GENERATED = re.compile(r".*_(bar|dot)|(grad|value_and_grad|jvp|hvp)_.*|.*_(fwd|bwd|jvp)\d*"
                        r"|saved(_\w*|\d*)|_s2sgrad_.*")
# names generated code picks apart from the function's locals, but not from the globals
# it reads: `for _ in range(count)` (a while loop run backwards), `value` (the value kept
# before the backward pass restores an overwritten result)
_FREE_ONLY = re.compile(r"_|value_*")
# builtins the generated code calls itself (backward loops, index values)
_BUILTINS_USED = ("range", "reversed", "slice", "len")

_POOL = None


def helper_pool():
    """{name: object} of what generated code may reference by a bare name: the runtime
    helpers (the rule templates refer to nothing else) and the builtins it calls."""
    global _POOL
    if _POOL is None:
        from .. import runtime
        pool = runtime.helpers()
        pool.update((n, getattr(builtins, n)) for n in _BUILTINS_USED)
        _POOL = pool
    return _POOL


def is_generated_pattern(name):
    return _GENERATED.fullmatch(name) is not None


_MISSING = object()


def protect(parsed):
    """Rename, in `parsed.node`, every user name that generated code could confuse with
    its own. Returns {old: new} (empty for the ordinary program)."""
    node = parsed.node
    used = _names_in(node)
    pool = helper_pool()
    free = set(free_names(node))
    renames = {}
    for n in sorted(used):
        if n in pool:
            if n in free and not _bound_anywhere(node, n) and \
                    _resolve(parsed, n) is pool[n]:
                continue               # `np` that is NumPy: the very object the helper is
        elif not is_generated_pattern(n) and not (n in free and _FREE_ONLY.fullmatch(n)):
            continue
        renames[n] = None
    if not renames:
        return {}
    taken = set(used) | set(pool) | set(parsed.namespace) | set(parsed.closure) | \
        set(dir(builtins))
    for n in renames:
        hint = n + "_"
        if is_generated_pattern(hint):
            hint = "user_" + n + "_"
        renames[n] = nodes.fresh_name(hint, taken)
    _rename_everywhere(node, renames)
    deps = getattr(parsed, "name_deps", None)
    if deps is None:
        deps = parsed.name_deps = []
    for old, new in renames.items():
        if old not in free:
            continue
        if old in parsed.closure:
            parsed.closure[new] = parsed.closure.pop(old)
            if old in parsed.cells:
                parsed.cells[new] = parsed.cells.pop(old)
            continue
        obj = _resolve(parsed, old)
        if obj is _MISSING:
            continue                   # a NameError when it runs, as in Python (no binding)
        parsed.closure[new] = obj
        if old in parsed.namespace:
            deps.append((parsed.namespace, old, obj))   # stale once the global is rebound
    parsed.renamed = renames
    return renames


def _resolve(parsed, n):
    try:
        return parsed.resolve(n)
    except KeyError:
        return _MISSING


def _names_in(node):
    out = set()
    for n in nodes.walk(node):
        if isinstance(n, gast.Name):
            out.add(n.id)
        elif isinstance(n, (gast.FunctionDef, gast.ClassDef)) and n is not node:
            out.add(n.name)
        elif isinstance(n, (gast.Global, gast.Nonlocal)):
            out.update(n.names)
    return out


def _bound_anywhere(node, name):
    for n in nodes.walk(node):
        if isinstance(n, gast.Name) and n.id == name and not isinstance(n.ctx, gast.Load):
            return True
        if isinstance(n, (gast.FunctionDef, gast.ClassDef)) and n is not node \
                and n.name == name:
            return True
        if isinstance(n, gast.alias) and (n.asname or n.name.split(".")[0]) == name:
            return True
    return False


def _rename_everywhere(node, renames):
    """Alpha-rename every occurrence (a fresh name is unused, so scoping is kept)."""
    for n in nodes.walk(node):
        if isinstance(n, gast.Name) and n.id in renames:
            n.id = renames[n.id]
        elif isinstance(n, (gast.FunctionDef, gast.ClassDef)) and n is not node \
                and n.name in renames:
            n.name = renames[n.name]
        elif isinstance(n, (gast.Global, gast.Nonlocal)):
            n.names = [renames.get(x, x) for x in n.names]
        elif isinstance(n, gast.alias) and n.asname in renames:
            n.asname = renames[n.asname]


def renamed_from(old, new):
    """Could `protect` (or a callee's binding after it) have renamed `old` to `new`?"""
    return re.fullmatch(rf"(user_)?{re.escape(old)}_\w*", new) is not None


def outside(parsed):
    """The names the function reads from outside itself: a fresh name the generated code
    picks (a template temporary, `y_saved`) must not hide one of them."""
    out = getattr(parsed, "outside_names", None)
    if out is None:
            out = parsed.outside_names = frozenset(free_names(parsed.node))
    return out
