"""Python's scopes, read from a gast function: which names it reads from outside itself.

A function's free names (those it reads but does not bind) resolve where the function
was DEFINED: its closure cells, then its module's globals, then builtins. Code
generated for a callee runs elsewhere (among the differentiated function's names), so
the callee's free names are found, and renamed where they would mean something else.
"""
import gast

from . import nodes


_SCOPES = (gast.FunctionDef, gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp,
           gast.GeneratorExp)


def _params(args):
    out = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]
    out += [a.id for a in (args.vararg, args.kwarg) if a is not None]
    return out


def _scope_parts(scope):
    """The nodes evaluated inside `scope` (not its defaults, which run outside it)."""
    if isinstance(scope, gast.FunctionDef):
        return list(scope.body)
    if isinstance(scope, gast.Lambda):
        return [scope.body]
    parts = [getattr(scope, a) for a in ("elt", "key", "value") if hasattr(scope, a)]
    for gen in scope.generators:
        parts += [gen.target, gen.iter] + list(gen.ifs)
    return parts


def _own_nodes(scope):
    """The nodes of `scope` itself: nested scopes are yielded but not entered (a nested
    def's defaults and decorators are evaluated here, so they are)."""
    stack = _scope_parts(scope)[::-1]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (gast.FunctionDef, gast.Lambda)):
            stack += list(n.args.defaults) + [d for d in n.args.kw_defaults if d is not None]
            stack += list(getattr(n, "decorator_list", ()))
        elif not isinstance(n, _SCOPES):
            stack += nodes.children(n)[::-1]


def _bound_in(scope):
    """The names `scope` binds itself (parameters, assignments, nested defs, imports),
    as Python decides which names are local."""
    bound = set(_params(scope.args)) if isinstance(scope, (gast.FunctionDef, gast.Lambda)) \
        else set()
    declared = set()
    for n in _own_nodes(scope):
        if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
            bound.add(n.id)
        elif isinstance(n, gast.FunctionDef):
            bound.add(n.name)
        elif isinstance(n, gast.alias):
            bound.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, (gast.Global, gast.Nonlocal)):
            declared.update(n.names)
    if not isinstance(scope, (gast.FunctionDef, gast.Lambda)):
        # a comprehension binds only its targets (a walrus binds in the enclosing scope)
        bound = {t for gen in scope.generators for t in nodes.names_in(gen.target)}
    return bound - declared


def _visit_free(scope, outer, visit):
    """Call `visit(name_node)` for every Name read in `scope` that no scope between it
    and the function `visit_free` started from binds."""
    bound = outer | _bound_in(scope)
    for n in _own_nodes(scope):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id not in bound:
            visit(n)
        elif isinstance(n, _SCOPES):
            _visit_free(n, bound, visit)


def free_names(func_node):
    """The names a function reads from outside itself (closure, globals, builtins), in
    source order; its own defaults are not included (they are evaluated at the def)."""
    out = []
    _visit_free(func_node, set(), lambda n: n.id in out or out.append(n.id))
    return out


def rename_free(func_node, renames):
    """Rename, in place, the free occurrences of the names in `renames` (a parameter or
    local of a nested function that happens to have the same name is left alone)."""
    def visit(n):
        if n.id in renames:
            n.id = renames[n.id]
    _visit_free(func_node, set(), visit)
