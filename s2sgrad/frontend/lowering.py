"""What the normalizer lowers where it can do so exactly, and the checks that say where
it cannot: `del name` (`deleted_then_read`), `del xs[i]`/`del d[k]`
(`deleted_item_kind`, `item_del_refused`), `:=` (`walrus_targets`), `try` whose handlers
only raise, and `nonlocal` in a local function that is inlined (`lowering_refused`).

Functions of gast trees, for `normalize.unsupported_constructs` (the refusals, each
(what, hint)) and `normalize.Normalizer` (the lowering itself)."""
import gast

from ..syntax import nodes

# what the normalizer lowers where it can do so exactly (`lowering_refused` says where
# it cannot): `del name`, `:=`, `try` whose handlers only raise, `nonlocal` in a local
# function it inlines
LOWERED = (gast.Delete, gast.NamedExpr, gast.Try, gast.Nonlocal)


def lowering_refused(fn, node, local_functions=()):
    """(what, hint) where the `del`, `:=`, `try` or `nonlocal` `node` of `fn` is not one
    the normalizer lowers exactly, else None."""
    owner = _innermost(fn, node, (gast.Lambda, gast.FunctionDef, gast.Assert, gast.Raise))
    if isinstance(node, gast.Delete):
        for t in node.targets:
            if not isinstance(t, gast.Name):
                refused = item_del_refused(fn, node, t)
                if refused:
                    return refused
        declared = {n for n in nodes.walk(owner or fn) if isinstance(n, gast.Nonlocal)
                    for n in n.names}
        shared = [t.id for t in node.targets if isinstance(t, gast.Name) and t.id in declared]
        if shared:
            return (f"`del {shared[0]}` of a `nonlocal` name", "let the name go out of "
                    "scope instead")
        return None
    if isinstance(node, gast.NamedExpr):
        if isinstance(owner, gast.Lambda):
            return ("an assignment expression (`:=`) in a lambda",
                    "define the function with `def`, or assign before the lambda")
        if isinstance(owner, (gast.Assert, gast.Raise)):
            return ("an assignment expression (`:=`) in an `assert` or a `raise`",
                    "assign on a line of its own before it")
        return None
    if isinstance(node, gast.Try):
        quiet = next((h for h in node.handlers if not _raises(h.body)), None)
        if quiet is not None:
            return ("`try` blocks whose `except` does not end by raising (the function's "
                    "value after an exception is another function's, whose gradient "
                    "s2sgrad cannot follow)", "test for the case before it happens (`if ...:`), "
                    "or let the exception propagate (`except E: raise ...`), or move the "
                    "`try` outside the differentiated function")
        jumps = [n for part in (node.body, node.orelse, node.finalbody)
                 for st in part for n in nodes.walk(st)
                 if isinstance(n, (gast.Return, gast.Break, gast.Continue))]
        if node.finalbody and jumps:
            return ("`return`, `break` or `continue` in a `try` that has a `finally`",
                    "move the jump after the `try` statement")
        return None
    # nonlocal: in a local function that is inlined, of a name the function binds
    if not (isinstance(owner, gast.FunctionDef) and any(owner is f for f in local_functions)):
        return ("`nonlocal` outside a local function s2sgrad inlines",
                "pass the value in as an argument and return it")
    bound = _own_stores(fn) | {a.id for a in fn.args.args}
    outside = [n for n in node.names if n not in bound]
    if outside:
        return (f"`nonlocal {outside[0]}` of a name the differentiated function does not "
                "bind", "pass the value in as an argument and return it")
    return None


_REBUILT = "build the container without it: `xs = xs[:i] + xs[i + 1:]`, " \
    "`d = {k: v for k, v in d.items() if k != key}`"


def deleted_item_kind(fn, name):
    """"list" or "dict" when every binding of the local `name` in `fn` makes a new list
    (a display, a comprehension, `list(...)`, `[...] * n`, `+=`) or every one a new dict;
    else None (a parameter, a value of unknown kind)."""
    kinds = set()
    binds = [st for st in nodes.walk(fn) if isinstance(st, (gast.Assign, gast.AugAssign))]
    found = 0
    for st in binds:
        targets = st.targets if isinstance(st, gast.Assign) else [st.target]
        if not any(nodes.is_name(t, name) for t in targets):
            continue
        found += 1
        v = st.value
        if isinstance(st, gast.AugAssign):
            kinds.add("list" if isinstance(st.op, gast.Add) else "other")
        elif isinstance(v, (gast.List, gast.ListComp)) or (
                isinstance(v, gast.Call) and nodes.is_name(v.func, "list")) or (
                isinstance(v, gast.BinOp) and isinstance(v.op, gast.Mult)
                and isinstance(v.left, gast.List)):
            kinds.add("list")
        elif isinstance(v, (gast.Dict, gast.DictComp)) or (
                isinstance(v, gast.Call) and nodes.is_name(v.func, "dict")):
            kinds.add("dict")
        else:
            kinds.add("other")
    stored = sum(1 for n in nodes.walk(fn) if isinstance(n, gast.Name) and n.id == name
                 and isinstance(n.ctx, gast.Store))     # (a loop, an unpacking bind it too)
    if found != stored or len(kinds) != 1 or name in {a.id for a in fn.args.args}:
        return None
    kind = kinds.pop()
    return kind if kind in ("list", "dict") else None


# the reads of a container that neither keep it under another name nor iterate it
# lazily: an item, its length, a whole-reading builtin, a membership test, an operand
_WHOLE_READERS = {"len", "sum", "sorted", "list", "tuple", "dict", "min", "max", "print",
                  "any", "all"}
_SAFE_METHODS = {"get", "copy", "count", "index", "append", "extend", "insert", "pop",
                 "keys", "values", "items"}
_VIEWS = {"keys", "values", "items"}


def item_del_refused(fn, node, target):
    """(what, hint) where `del c[k]` (the `target` of `node`) is not lowered exactly: `c`
    must be a local list or dict (every binding a new one), `k` no slice, and no other
    name, container or lazy iterator may see `c` change (Python deletes in place, the
    code rebinds `c`); else None."""
    if not (isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name)):
        return ("`del` of an attribute or of an item of an expression", _REBUILT)
    c = target.value.id
    if isinstance(target.slice, gast.Slice):
        return ("`del` of a slice", _REBUILT)
    if deleted_item_kind(fn, c) is None:
        return (f"`del {c}[...]` where `{c}` is not a list or a dict the function makes "
                "(an argument, or a value of another kind)",
                f"copy it first (`{c} = list({c})` or `{c} = dict({c})`), or " + _REBUILT)
    parents = _parents(fn)
    up = parents.get(id(node))
    while up is not None:
        if isinstance(up, gast.For) and c in nodes.names_in(up.iter):
            return (f"`del {c}[...]` in a loop over `{c}` (Python's loop sees the items "
                    "move)", "loop over a copy: `for v in list(...)`, and build the "
                    "container anew")
        up = parents.get(id(up))
    for n in nodes.walk(fn):
        if isinstance(n, gast.Name) and n.id == c and isinstance(n.ctx, gast.Load) \
                and not _plain_read(n, parents):
            return (f"`del {c}[...]` where `{c}` may also be seen through another name, "
                    "a container or an iterator (Python deletes in place)", _REBUILT)
    return None


def _plain_read(n, parents):
    """Is the read `n` of a container one that keeps no reference to it?"""
    p = parents.get(id(n))
    if isinstance(p, gast.Subscript) and p.value is n:
        return True
    if isinstance(p, (gast.Compare, gast.BinOp, gast.Return)):
        return True
    if isinstance(p, gast.Call) and nodes.is_name(p.func) and p.func.id in _WHOLE_READERS \
            and n in p.args:
        return True
    if isinstance(p, (gast.For, gast.comprehension)) and p.iter is n:
        return True
    if isinstance(p, gast.Attribute) and p.attr in _SAFE_METHODS:
        call = parents.get(id(p))
        if not (isinstance(call, gast.Call) and call.func is p):
            return False
        if p.attr not in _VIEWS:
            return True
        user = parents.get(id(call))          # a view read at once, never kept
        return isinstance(user, (gast.For, gast.comprehension)) and user.iter is call \
            or isinstance(user, gast.Call) and nodes.is_name(user.func) \
            and user.func.id in _WHOLE_READERS
    return False


def _parents(tree):
    """{id(node): its parent} over `tree`."""
    out = {}
    for n in nodes.walk(tree):
        for child in gast.iter_child_nodes(n):
            out[id(child)] = n
    return out


def deleted_then_read(body, local_functions=None):
    """The first `(del statement, name)` in `body` (a function's) whose name may be read
    after the `del` before it is bound again, else None. `del name` is then dropped by
    the normalizer: Python would raise where the generated code reads the old value.
    Conservative: a branch or a loop that may not bind the name leaves it deleted, a
    local function (`local_functions`: name → def) whose body mentions it reads it."""
    local_functions = local_functions or {}

    def visit(stmts, cont):
        for k, st in enumerate(stmts):
            rest = [stmts[k + 1:]] + cont
            if isinstance(st, gast.Delete):
                for t in st.targets:
                    if isinstance(t, gast.Name) and _first_use(
                            t.id, rest, _callers(t.id, local_functions)) == "read":
                        return st, t.id
            if isinstance(st, (gast.FunctionDef, gast.ClassDef)):
                continue
            if isinstance(st, (gast.For, gast.While)):      # (then the next step)
                parts = [(st.body, [[st]] + rest), (st.orelse, rest)]
            elif isinstance(st, gast.Try):
                parts = [(st.body, [st.orelse, st.finalbody] + rest),
                         (st.orelse, [st.finalbody] + rest), (st.finalbody, rest)]
                parts += [(h.body, [st.finalbody] + rest) for h in st.handlers]
            else:
                parts = [(getattr(st, f), rest) for f in ("body", "orelse")
                         if isinstance(getattr(st, f, None), list)]
            for inner, after in parts:
                found = visit(inner, after)
                if found:
                    return found
        return None
    return visit(body, [])


def _callers(name, local_functions):
    """The local functions whose bodies mention `name` (a call of one reads it)."""
    return {f for f, d in local_functions.items() if name in nodes.names_in(d)}


def _first_use(name, seqs, callers):
    """How the statements of `seqs`, run in order, first meet `name`: "read", "bound"
    or None."""
    for seq in seqs:
        for st in seq:
            use = _use(name, st, callers)
            if use:
                return use
    return None


def _use(name, st, callers):
    """How the statement `st` first meets `name`: "read" (or may), "bound" (surely), or
    None (not at all)."""
    if isinstance(st, (gast.Assign, gast.AnnAssign)):
        targets = st.targets if isinstance(st, gast.Assign) else [st.target]
        value = _expr_use(name, st.value, callers)
        if value == "read" or any(_reads(name, t, callers) for t in targets):
            return "read"
        return "bound" if value == "bound" or st.value is not None and any(
            isinstance(t, gast.Name) and t.id == name for t in targets) else None
    if isinstance(st, gast.AugAssign):         # (`v += e` reads v first)
        if nodes.is_name(st.target, name) or _reads(name, st.target, callers):
            return "read"
        return _expr_use(name, st.value, callers)
    if isinstance(st, gast.If):
        head = _expr_use(name, st.test, callers)
        if head:
            return head
        a, b = (_first_use(name, [part], callers) for part in (st.body, st.orelse))
        return "read" if "read" in (a, b) else "bound" if a == b == "bound" else None
    if isinstance(st, (gast.For, gast.While)):
        head = _expr_use(name, st.iter if isinstance(st, gast.For) else st.test, callers)
        if head:
            return head                        # (the head is evaluated at least once)
        start = [[]] if not (isinstance(st, gast.For) and name in nodes.names_in(
            st.target, nodes.STORE)) else [[nodes.assign(name, nodes.const(None))]]
        uses = (_first_use(name, start + [st.body], callers),
                _first_use(name, [st.orelse], callers))
        return "read" if "read" in uses else None          # (it may run no step)
    if isinstance(st, gast.Try):
        uses = [_first_use(name, [st.body, st.orelse, st.finalbody], callers)] + [
            _first_use(name, [h.body], callers) for h in st.handlers]
        return "read" if "read" in uses else uses[0]
    if isinstance(st, gast.Delete):
        return "read" if name in nodes.names_in(st) else None    # (del of an unbound name)
    if isinstance(st, gast.FunctionDef):
        return "read" if name in nodes.names_in(st) else None    # (a closure reads it)
    return _expr_use(name, st, callers)


def _expr_use(name, tree, callers):
    """How evaluating `tree` meets `name`: "read" (or may), "bound" (by an `:=` that
    surely runs: none under `and`/`or`, a conditional expression or a comprehension),
    or None."""
    if tree is None:
        return None
    if _reads(name, tree, callers):
        return "read"
    if not any(isinstance(n, gast.NamedExpr) and n.target.id == name
               for n in nodes.walk(tree)):
        return None
    lazy = (gast.BoolOp, gast.IfExp, gast.ListComp, gast.GeneratorExp, gast.DictComp,
            gast.SetComp, gast.Lambda)
    return None if any(isinstance(n, lazy) for n in nodes.walk(tree)) else "bound"


def _reads(name, tree, callers):
    """Does `tree` read `name`, or call a local function that mentions it?"""
    for n in nodes.walk(tree):
        if isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load):
            return True
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Name) and n.func.id in callers:
            return True
        if isinstance(n, gast.Lambda) and name in nodes.names_in(n):
            return True
    return False


def _raises(stmts):
    """Does every path through `stmts` end in a `raise`?"""
    for s in stmts:
        if isinstance(s, gast.Raise):
            return True
        if isinstance(s, gast.If) and _raises(s.body) and _raises(s.orelse):
            return True
    return False


def _innermost(root, target, kinds):
    """The innermost node of one of `kinds` around `target` inside `root`, or None."""
    def search(node, around):
        if node is target:
            return around, True
        for child in gast.iter_child_nodes(node):
            found, hit = search(child, child if isinstance(child, kinds) and
                                child is not target else around)
            if hit:
                return found, True
        return None, False
    return search(root, None)[0]


def _own_stores(fn):
    """Names bound by `fn` itself (not by the functions and lambdas defined in it)."""
    out = set()

    def visit(node):
        for child in gast.iter_child_nodes(node):
            if isinstance(child, (gast.FunctionDef, gast.Lambda)):
                if isinstance(child, gast.FunctionDef):
                    out.add(child.name)
                continue
            if isinstance(child, gast.Name) and isinstance(child.ctx, gast.Store):
                out.add(child.id)
            visit(child)
    visit(fn)
    return out


def walrus_targets(s):
    """{name: how many `:=` bind it} in the statement `s` itself (its test, its value:
    not in the statements of its blocks, which are normalized on their own)."""
    inner = {id(n) for f in ("body", "orelse", "finalbody") for st in getattr(s, f, None) or []
             if isinstance(st, gast.stmt) for n in nodes.walk(st)}
    out = {}
    for n in nodes.walk(s):
        if isinstance(n, gast.NamedExpr) and id(n) not in inner:
            out[n.target.id] = out.get(n.target.id, 0) + 1
    return out
