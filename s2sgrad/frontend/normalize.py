"""Stage 2 — normalize: desugar the user's function and put it in A-normal form.

Takes a `Parsed` function; returns a new gast `FunctionDef` (the *execution trace* of
the lecture notes, still as Python). Afterwards every statement has one of these shapes,
where an *atom* is a name or a literal (constant, tuple of constants, slice of atoms):

    name = atom                          a copy
    name = atom OP atom | OP atom        one arithmetic operation (BinOp, UnaryOp)
    name = atom CMP atom [CMP atom ...]  a comparison (never differentiated)
    name = f(atom, ..., kw=atom)         f a name, a module attribute (`np.sin`) or a
                                         method of an atom (`x.sum`)
    name = atom.attr | atom[index]       index: atom, slice of atoms, or tuple of those
    name = [atom, ...] | (atom, ...) | {"key": atom, ...}
    name[index] = atom                   a store into a local container
    atom.append(atom) | f(atom, ...)     a call for its effect (appends, prints)
    if name: ... else: ...
    for name in range(atom, atom, atom): ...
    while name: ...                      the test's statements run before the loop and
                                         again at the end of the body
    assert ...                           kept for the forward pass only
    return atom                          exactly once, last

Desugared on the way: augmented assignment, tuple unpacking, multiple targets,
`elif`, conditional expressions, `and`/`or`, comprehensions and generator expressions,
`for` over sequences/`zip`/`enumerate`/`reversed`, `break`/`continue`/early `return`
(lowered to boolean flags), and local functions (`def` or `name = lambda ...` in the
function body, only ever called): each call is inlined, its locals renamed apart (not
its `nonlocal` names) and its free names read where the call happens, as Python's
closures do. Also lowered where that is exact (`lowering.lowering_refused` says where not):
`(y := e)` to an assignment where Python evaluates it, `del name` to nothing,
`del xs[i]`/`del d[k]` to a rebuilt container, `try` whose handlers only raise to its
body, `min`/`max` with `key=` to the item at `first_best(keys)`, loops over functions
unrolled into their calls. Anything else is refused with a `TransformError`.
"""
import dataclasses
import inspect
import types

import gast
import numpy as np

from ..errors import TransformError
from ..syntax import nodes
from .lowering import (LOWERED, deleted_item_kind, deleted_then_read, lowering_refused,
                       walrus_targets)
from .parse import Parsed

_UNSUPPORTED = {
    gast.Try: ("`try` blocks", "move the exception handling outside the differentiated function"),
    gast.With: ("`with` blocks", "move the `with` outside the differentiated function"),
    gast.AsyncWith: ("`async with`", None),
    gast.AsyncFor: ("`async for`", None),
    gast.AsyncFunctionDef: ("async functions", None),
    gast.ClassDef: ("class definitions", "define the class at module level"),
    gast.FunctionDef: ("nested function definitions",
                       "define the helper at module level and call it"),
    gast.Global: ("`global` statements", "pass the value in as an argument and return it"),
    gast.Nonlocal: ("`nonlocal` statements", "pass the value in as an argument and return it"),
    gast.Delete: ("`del` statements", "let the name go out of scope instead"),
    gast.Import: ("imports inside the function", "import at module level"),
    gast.ImportFrom: ("imports inside the function", "import at module level"),
    gast.Yield: ("generators (`yield`)", "return a list instead"),
    gast.YieldFrom: ("generators (`yield from`)", "return a list instead"),
    gast.Await: ("`await`", None),
    gast.Lambda: ("lambda expressions", "define a function with `def` at module level"),
    gast.SetComp: ("set comprehensions", "use a list comprehension"),
    gast.Set: ("set displays", "use a list or a tuple"),
    gast.Starred: ("starred expressions (`*args`)", "pass the arguments one by one"),
    gast.NamedExpr: ("assignment expressions (`:=`)", "assign on a line of its own"),
}

_RANGE_LIKE = {"range", "zip", "enumerate", "reversed"}


def unsupported_constructs(func_node, local_functions=()):
    """Every construct in `func_node` that s2sgrad refuses: [(node, what, hint)]
    (`local_functions`: the def/lambda nodes that will be inlined, checked inside only)."""
    found = []
    args = func_node.args
    if args.vararg or args.kwarg or args.kwonlyargs:
        found.append((func_node, "`*args`, `**kwargs` and keyword-only parameters",
                      "list the parameters explicitly"))
    inlined = {id(n) for n in local_functions} | _sort_keys(func_node)
    call_args = {id(a) for n in _walk_body(func_node) if isinstance(n, gast.Call)
                 for a in n.args if isinstance(a, gast.Starred)}
    # `[*a, *b, x]`, `(*a, x)`: concatenations (see `Normalizer.display`)
    call_args |= {id(a) for n in _walk_body(func_node)
                  if isinstance(n, (gast.List, gast.Tuple)) and isinstance(n.ctx, gast.Load)
                  for a in n.elts if isinstance(a, gast.Starred)}
    # `first, *rest = xs` (one starred name in an assignment's target: `Normalizer.store`)
    call_args |= {id(a) for n in _walk_body(func_node) if isinstance(n, gast.Assign)
                  for t in n.targets if isinstance(t, (gast.Tuple, gast.List))
                  and sum(isinstance(e, gast.Starred) for e in t.elts) == 1
                  for a in t.elts if isinstance(a, gast.Starred)
                  and isinstance(a.value, gast.Name)}
    for node in _walk_body(func_node):
        if id(node) in inlined or id(node) in call_args:   # f(*xs): see `Normalizer.call`
            continue
        kind = _UNSUPPORTED.get(type(node))
        if isinstance(node, (gast.FunctionDef, gast.Lambda)):
            kind = _not_inlined(func_node, node) or kind
        elif isinstance(node, LOWERED):
            kind = lowering_refused(func_node, node, local_functions)
        if kind:
            found.append((node, kind[0], kind[1]))
        elif isinstance(node, gast.Match if hasattr(gast, "Match") else ()):
            found.append((node, "`match` statements", "use if/elif/else"))
    return found


def _not_inlined(fn, node):
    """Why the def or lambda `node` in `fn` is not one of the local functions s2sgrad
    inlines (`_local_functions`): (what, hint), or None for the general refusal."""
    a = node.args
    what = "a nested function" if isinstance(node, gast.FunctionDef) else "a lambda"
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        return (f"{what} with `*args`, `**kwargs`, keyword-only or positional-only "
                "parameters", "list its parameters plainly (s2sgrad inlines local "
                "functions with plain parameters), or define it at module level")
    if isinstance(node, gast.FunctionDef) and node.decorator_list:
        return (f"a decorated nested function", "define it at module level")
    top = any(st is node or isinstance(st, gast.Assign) and st.value is node
              for st in fn.body)
    if isinstance(node, gast.FunctionDef) and not top:
        return ("a function defined inside a loop, a branch or another function",
                "define it at the top of the function's body, or at module level")
    if top:
        return (f"{what} used other than by calling it (passed on, returned, stored "
                "or bound twice)", "call it directly where it is needed, or define it "
                "at module level")
    return None


def _is_generator(fdef):
    """Does the function `fdef` yield (itself, not a function defined in it)?"""
    return any(isinstance(n, (gast.Yield, gast.YieldFrom)) and not _inside_nested_function(
        fdef, n, top=True) for n in nodes.walk(fdef))


def _inside_nested_function(root, target, top=False):
    """Is `target` inside a def or lambda nested in `root` (`top`: root is the function
    itself, whose own body does not count as nested)?"""
    def search(node, nested):
        if node is target:
            return nested
        for child in gast.iter_child_nodes(node):
            inner = nested or (isinstance(child, (gast.FunctionDef, gast.Lambda))
                               and child is not root)
            found = search(child, inner)
            if found is not None:
                return found
        return None
    return bool(search(root, False))


def _starred(value, old):
    """`*value` where `old` was, keeping what `Normalizer.pack_call` marked."""
    new = nodes.copy_location(gast.Starred(value=value, ctx=gast.Load()), old)
    if getattr(old, "s2s_packed", None):
        new.s2s_packed = old.s2s_packed
    return new


def _plain_default(v):
    """Is a default a literal the generated code can write (a number, a string, None)?"""
    return v is None or isinstance(v, (bool, int, float, str))


def _describe_call(node):
    """A short rendering of a name or dotted name for messages."""
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        return _describe_call(node.value) + "." + node.attr
    return "the value"


def _walk_body(func_node):
    for stmt in func_node.body:
        yield from nodes.walk(stmt)


class Normalizer:
    """Rewrites one function into A-normal form.

    State: `parsed` (for error messages and name resolution), `used` (every name in the
    function, so fresh names never collide), `counter` (next `v<n>` temporary), and the
    jump flags of the loop being lowered.
    """

    def __init__(self, parsed):
        self.parsed = parsed
        self.used = set(nodes.names_in(parsed.node)) | {
            a.id for a in parsed.node.args.args}
        self.counter = 0
        self.ret_flag = None      # name of the "has returned" flag, when needed
        self.ret_value = None     # name holding the return value, when needed
        self.loop_flags = []      # stack of (break_flag, continue_flag) per loop
        self.depth = 0            # nesting depth of compound statements
        self.nested = _assigned_in_blocks(parsed.node)
        # (`xs = np.array(xs)` after a loop appending to xs: the new value gets a name
        # of its own, as for a name assigned in a block)
        self.changed_in_blocks = _changed_in_blocks(parsed.node)
        self.local_functions = {}  # name -> FunctionDef or Lambda, inlined where called
        self.inlining = []        # names of the local functions being inlined (no recursion)
        self.default_values = {}  # local function -> {parameter: name its default was bound to}
        self.arity_override = None   # zip(*rows): the sequences the loop unpacks
        self.used_locally = set(nodes.names_in(parsed.node, nodes.STORE)) | {
            a.id for a in parsed.node.args.args}
        # per statement being normalized, the names its `:=` will bind and have not bound
        # yet: a read of one before its binding is a copy (`x + (x := 2)` adds the old x)
        self.walrus_pending = [{}]
        self.has_walrus = any(isinstance(n, gast.NamedExpr) for n in nodes.walk(parsed.node))

    # -- names -------------------------------------------------------------
    def fresh(self, hint="v"):
        if hint == "v":
            while True:
                self.counter += 1
                cand = f"v{self.counter}"
                if cand not in self.used:
                    break
            self.used.add(cand)
            return cand
        return nodes.fresh_name(hint, self.used)

    def error(self, message, node, hint=None):
        return self.parsed.error(message, node, hint)

    # -- entry ---------------------------------------------------------------
    def rewrite_first(self):
        """The rewrites made before anything is refused (local aliases of modules,
        generator expressions, map/reduce, errstate blocks, loops over functions
        unrolled); the local functions then inlined."""
        self.aliases()
        self.generators()
        self.maps()
        self.reduces()
        self.errstates()
        self.function_loops()
        self.local_functions = _local_functions(self.parsed.node)

    def run(self):
        fn = self.parsed.node
        self.rewrite_first()
        problems = unsupported_constructs(fn, self.local_functions.values())
        if problems:
            node, what, hint = problems[0]
            raise self.error(f"s2sgrad cannot differentiate {what}", node, hint)
        for body in [fn.body] + [f.body for f in self.local_functions.values()
                                 if isinstance(f, gast.FunctionDef)]:
            found = deleted_then_read(body, self.local_functions)
            if found:
                raise self.error(f"`{found[1]}` may be read after `del {found[1]}` (Python "
                                 "would raise NameError there)", found[0],
                                 f"bind `{found[1]}` again before reading it, or drop the "
                                 "`del`")
        body = list(fn.body)
        if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]                      # docstring
        body = [d for st in body for d in self.local_function_defaults(st)]
        # an argument the body stores into is copied first: the caller's data stays as it was
        copies = []
        for p in _stored_arguments(fn, body):
            copy = gast.Assign(targets=[nodes.name(p, store=True)], value=nodes.call(
                nodes.attribute(nodes.name(p), "copy")), type_comment=None)
            copies.append(nodes.copy_location(copy, body[0] if body else fn))
        body = copies + body
        if _has_early_return(body):
            self.ret_flag = self.fresh("returned")
            self.ret_value = self.fresh("result")
            out = [nodes.assign(self.ret_flag, nodes.const(False)),
                   nodes.assign(self.ret_value, nodes.const(None))]
            out += self.block(body)
            out.append(nodes.return_(nodes.name(self.ret_value)))
        else:
            out = self.block(body)
            if not out or not isinstance(out[-1], gast.Return):
                out.append(nodes.return_(nodes.const(None)))
        new = nodes.function_def(fn.name, [a.id for a in fn.args.args], out,
                                 defaults=[nodes.clone(d) for d in fn.args.defaults])
        nodes.copy_location(new, fn)
        return new

    # -- statements ------------------------------------------------------------
    def block(self, stmts):
        """Normalize a statement list, lowering jumps: after a statement that may
        break/continue/return, the rest of the block runs under `if not flag:`."""
        out = []
        for idx, stmt in enumerate(stmts):
            new = self.stmt(stmt)
            out.extend(new)
            if isinstance(stmt, (gast.Break, gast.Continue)) or (
                    isinstance(stmt, gast.Return) and self.ret_flag):
                return out                                   # the rest is dead
            guard = self.jump_guard(stmt)
            if guard is not None:
                rest = self.block(stmts[idx + 1:])
                if rest:
                    out.extend(self.guarded(guard, rest, stmt))
                return out
        return out

    def jump_guard(self, stmt):
        """The flags a compound statement may set that must stop the rest of the block."""
        flags = []
        if self.ret_flag and _contains(stmt, gast.Return, into_loops=True):
            flags.append(self.ret_flag)
        if self.loop_flags and not isinstance(stmt, (gast.For, gast.While)):
            brk, cont = self.loop_flags[-1]
            if _contains(stmt, gast.Break):
                flags.append(brk)
            if _contains(stmt, gast.Continue):
                flags.append(cont)
        return flags or None

    def guarded(self, flags, rest, loc):
        """`if not (f1 or f2): rest`, with the test in A-normal form."""
        stmts = []
        test = nodes.name(flags[0])
        for f in flags[1:]:
            t = self.fresh("stop")
            stmts.append(nodes.copy_location(nodes.assign(t, gast.BoolOp(
                op=gast.Or(), values=[test, nodes.name(f)])), loc))
            test = nodes.name(t)
        go = self.fresh("go")
        stmts.append(nodes.copy_location(
            nodes.assign(go, gast.UnaryOp(op=gast.Not(), operand=test)), loc))
        stmts.append(nodes.copy_location(nodes.if_(nodes.name(go), rest), loc))
        return stmts

    def stmt(self, s):
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            raise self.error(f"s2sgrad cannot differentiate a `{type(s).__name__}` statement", s)
        self.walrus_pending.append(walrus_targets(s) if self.has_walrus else {})
        try:
            out = method(s)
        finally:
            self.walrus_pending.pop()
        for new in out:
            for n in nodes.walk(new):
                if isinstance(n, (gast.stmt, gast.expr)):
                    nodes.copy_location(n, s)
        return out

    def stmt_Pass(self, s):
        return []

    def stmt_Delete(self, s):
        """`del name` unbinds a name that is not read again before it is bound again
        (`deleted_then_read` refuses the others): nothing to compute. `del xs[i]` and
        `del d[k]` of a local list or dict that nothing else sees (`lowering.item_del_refused`)
        rebind it to the container without the item, raising where Python raises:

            j = range(len(xs))[i]              # IndexError; a negative i from the end
            xs = [xs[m] for m in range(len(xs)) if m != j]

            if k not in d: raise KeyError(k)
            d = {key: d[key] for key in d.keys() if key != k}
        """
        out = []
        for t in s.targets:
            if isinstance(t, gast.Name):
                continue
            c = t.value.id
            at = self.fresh("position" if deleted_item_kind(self.parsed.node, c) == "list"
                            else "key")
            key = self.fresh("key")
            if deleted_item_kind(self.parsed.node, c) == "list":
                text = (f"{at} = range(len({c}))[INDEX]\n"
                        f"{c} = [{c}[{key}] for {key} in range(len({c})) if {key} != {at}]\n")
            else:
                text = (f"{at} = INDEX\n"
                        f"if {at} not in {c}:\n"
                        f"    raise KeyError({at})\n"
                        f"{c} = {{{key}: {c}[{key}] for {key} in {c}.keys() "
                        f"if {key} != {at}}}\n")
            for st in nodes.parse_stmts(text):
                out += self.stmt(_placed_at(nodes.substitute(st, {"INDEX": t.slice}), s))
        return out

    def stmt_Nonlocal(self, s):
        """`nonlocal v` in a local function: the inlined body leaves `v` the caller's
        name (`inline` renames only the function's own locals apart)."""
        return []

    def stmt_Try(self, s):
        """`try: body except E: raise ... else: rest finally: last` (every handler
        raises, no jump out of a `try` that has a `finally`: `lowering.lowering_refused`) is
        `body; rest; last` on the path without an exception, the only one that gives a
        value; an exception propagates from where the body raised it."""
        return self.block(s.body + s.orelse + s.finalbody)

    def stmt_Expr(self, s):
        if isinstance(s.value, gast.Constant):
            return []                                     # stray string / docstring
        pre = []
        value = s.value
        if _is_extend(value):
            return self.extend(value, s)
        if isinstance(value, gast.Call):
            call = self.call(value, pre)
            if isinstance(call, gast.Call):
                pre.append(nodes.expr_stmt(call))
            return pre                                    # (an inlined call leaves a name)
        self.atom(value, pre)
        return pre

    def extend(self, call, s):
        """`xs.extend(ys)` is `xs += list(ys)` (list's `+=` is its extend): a new list
        where nothing else holds xs, refused where another name would see the change
        (`ir.check_in_place`); the tracer checks that xs is a list."""
        aug = nodes.copy_location(gast.AugAssign(
            target=nodes.name(call.func.value.id, store=True), op=gast.Add(),
            value=nodes.copy_location(nodes.call("list", [call.args[0]]), call.args[0])), s)
        out = self.stmt_AugAssign(aug)
        for st in reversed(out):
            if getattr(st, "s2s_inplace", False):
                st.s2s_extend = True
                break
        return out

    def stmt_Assert(self, s):
        return [s]

    def stmt_Raise(self, s):
        """`raise` (a check of the input: `if np.any(np.isnan(x)): raise ...`) runs in
        the forward pass as written; a call that raises has no gradient to compute."""
        if s.exc is None:
            raise self.error("a bare `raise` re-raises the exception being handled, and "
                             "s2sgrad differentiates no `try` block", s,
                             "raise an exception object: `raise ValueError(...)`")
        return [s]

    def stmt_AnnAssign(self, s):
        if s.value is None:
            return []
        return self.stmt_Assign(gast.Assign(targets=[s.target], value=s.value,
                                            type_comment=None))

    def stmt_Assign(self, s):
        pre = []
        if len(s.targets) > 1:                   # a = b = expr
            first = self.fresh()
            value = self.expr(s.value, pre)
            pre.append(nodes.assign(first, value))
            for t in s.targets:
                pre += self.store(t, nodes.name(first), s)
            return pre
        target = s.targets[0]
        if isinstance(target, gast.Name):
            value = self.expr(s.value, pre)
            if (self.depth or target.id in self.nested or target.id in self.changed_in_blocks) \
                    and target.id in nodes.names_in(value):
                # `s = s + x` inside a block: keep old and new value apart
                tmp = self.fresh(target.id + "_new")
                pre.append(nodes.assign(tmp, value))
                value = nodes.name(tmp)
            pre.append(nodes.assign(target.id, value))
            return pre
        if isinstance(target, (gast.Tuple, gast.List)) \
                and isinstance(s.value, (gast.Tuple, gast.List)) \
                and len(target.elts) == len(s.value.elts) \
                and not any(isinstance(e, gast.Starred) for e in target.elts + s.value.elts):
            return pre + self.parallel_assign(target, s.value, s)
        value = s.value
        if isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, gast.Call) \
                and isinstance(value.func, gast.Name) and value.func.id == "zip" \
                and self._is_builtin("zip"):
            # `a, b = zip(*pairs)` unpacks every tuple zip makes, there and then: the
            # list of them (`zip(*xs)` of a display, or of a name bound once to one)
            value = self.spread(value, pre)
            if self._pairs_read_whole(value):
                value = nodes.copy_location(self.tuples(value), s.value)
        value = self.atom(value, pre)
        return pre + self.store(target, value, s)

    def parallel_assign(self, target, value, loc):
        """`x, v = x0, 0.0 * x0` as one assignment per name (no tuple to build and index,
        so each name keeps what is known of its value). Every right-hand side is
        evaluated first, and a name the targets rebind is read through a copy (`a, b =
        b, a`)."""
        pre = []
        atoms = [self.atom(e, pre) for e in value.elts]
        stored = set(nodes.names_in(target, nodes.STORE))
        for k, a in enumerate(atoms):
            if isinstance(a, gast.Name) and a.id in stored:
                tmp = self.fresh()
                pre.append(nodes.assign(tmp, a))
                atoms[k] = nodes.name(tmp)
        for elt, a in zip(target.elts, atoms):
            pre += self.stmt_Assign(nodes.copy_location(
                gast.Assign(targets=[elt], value=a, type_comment=None), loc))
        return pre

    def store(self, target, value_atom, loc):
        """Assign an atom to an arbitrary target (name, subscript, tuple)."""
        if isinstance(target, gast.Name):
            return [nodes.assign(target.id, value_atom)]
        if isinstance(target, (gast.Tuple, gast.List)):
            out = []
            if not isinstance(value_atom, gast.Name):
                tmp = self.fresh()
                out.append(nodes.assign(tmp, value_atom))
                value_atom = nodes.name(tmp)
            star = [k for k, elt in enumerate(target.elts) if isinstance(elt, gast.Starred)]
            if star:
                return out + self.store_starred(target.elts, star[0], value_atom, loc)
            for k, elt in enumerate(target.elts):
                part = self.fresh() if not isinstance(elt, gast.Name) else elt.id
                out.append(nodes.assign(part, nodes.subscript(
                    nodes.clone(value_atom), nodes.const(k))))
                if not isinstance(elt, gast.Name):
                    out += self.store(elt, nodes.name(part), loc)
            return out
        if isinstance(target, gast.Subscript):
            pre = []
            if not isinstance(target.value, gast.Name):
                raise self.error("s2sgrad can only store into a subscript of a local name",
                                 target, "assign the container to a name first")
            index = self.index(target.slice, pre)
            return pre + [nodes.assign(
                nodes.subscript(nodes.name(target.value.id), index, store=True), value_atom)]
        if isinstance(target, gast.Attribute):
            raise self.error("s2sgrad cannot differentiate attribute assignment", target,
                             "use a local variable or a dict")
        raise self.error("unsupported assignment target", target)

    def store_starred(self, elts, p, seq, loc):
        """`a, *rest, z = seq`: the items before the star by position, those after it
        from the end, and the starred name the list of the items between (Python's
        `list(seq[p:len(seq) - after])`)."""
        after = len(elts) - p - 1
        held = self.fresh()              # (`head, *xs = xs` rebinds the name it reads)
        out = [nodes.assign(held, nodes.clone(seq))]
        seq = nodes.name(held)
        n, stop, part = self.fresh("n"), self.fresh("stop"), self.fresh()
        out.append(nodes.assign(n, nodes.call("len", [nodes.clone(seq)])))
        out.append(nodes.assign(stop, gast.BinOp(left=nodes.name(n), op=gast.Sub(),
                                                 right=nodes.const(after))))
        out.append(nodes.assign(part, nodes.subscript(nodes.clone(seq), gast.Slice(
            lower=nodes.const(p), upper=nodes.name(stop), step=None))))
        out.append(nodes.assign(elts[p].value.id, nodes.call("list", [nodes.name(part)])))
        for k, elt in enumerate(elts):
            if k == p:
                continue
            index = nodes.const(k) if k < p else gast.UnaryOp(
                op=gast.USub(), operand=nodes.const(len(elts) - k))
            item = self.fresh() if not isinstance(elt, gast.Name) else elt.id
            out.append(nodes.assign(item, nodes.subscript(nodes.clone(seq), index)))
            if not isinstance(elt, gast.Name):
                out += self.store(elt, nodes.name(item), loc)
        return out

    def stmt_AugAssign(self, s):
        t = s.target
        if isinstance(t, gast.Name):
            out = self.stmt_Assign(gast.Assign(
                targets=[nodes.name(t.id, store=True)],
                value=gast.BinOp(left=nodes.name(t.id), op=s.op, right=s.value),
                type_comment=None))
            # `v op= e` changes an array or a list in place (every alias sees it): the
            # rebinding written here is right only where nothing shares v's memory,
            # which `ir.check_in_place` decides once kinds and aliases are known
            for st in reversed(out):
                if isinstance(st, gast.Assign) and isinstance(st.value, gast.BinOp) \
                        and nodes.is_name(st.value.left, t.id):
                    st.s2s_inplace = True
                    break
            return out
        if isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name):
            pre = []
            index = self.index(t.slice, pre)
            old = self.fresh()
            pre.append(nodes.assign(old, nodes.subscript(nodes.name(t.value.id),
                                                         nodes.clone(index))))
            rhs = self.atom(s.value, pre)
            new = self.fresh()
            update = nodes.assign(new, gast.BinOp(left=nodes.name(old), op=s.op, right=rhs))
            update.s2s_item_update = True    # (an array in a list changes in place)
            pre.append(update)
            pre.append(nodes.assign(nodes.subscript(nodes.name(t.value.id), index, store=True),
                                    nodes.name(new)))
            return pre
        raise self.error("unsupported augmented assignment target", t,
                         "assign to a local name or a subscript of one")

    def stmt_Return(self, s):
        pre = []
        value = self.atom(s.value, pre) if s.value is not None else nodes.const(None)
        if self.ret_flag is None and self.ret_value is not None:    # last line of a local function
            return pre + [nodes.assign(self.ret_value, value)]
        if self.ret_flag is None:
            return pre + [nodes.return_(value)]
        pre.append(nodes.assign(self.ret_value, value))
        pre.append(nodes.assign(self.ret_flag, nodes.const(True)))
        for brk, _ in self.loop_flags:       # leave every enclosing loop
            if brk:
                pre.append(nodes.assign(brk, nodes.const(True)))
        return pre

    def stmt_Break(self, s):
        if not self.loop_flags:
            raise self.error("`break` outside a loop", s)
        return [nodes.assign(self.loop_flags[-1][0], nodes.const(True))]

    def stmt_Continue(self, s):
        if not self.loop_flags:
            raise self.error("`continue` outside a loop", s)
        return [nodes.assign(self.loop_flags[-1][1], nodes.const(True))]

    def stmt_If(self, s):
        pre = []
        test = self.test(s.test, pre)
        self.depth += 1
        body, orelse = self.block(s.body), self.block(s.orelse)
        self.depth -= 1
        if not body and not orelse:
            return pre
        return pre + [nodes.if_(test, body or [nodes.pass_()], orelse)]

    def test(self, expr, pre):
        """A branch/loop test as a name holding a bool."""
        value = self.expr(expr, pre)
        if isinstance(value, gast.Name):
            return value
        t = self.fresh("cond")
        pre.append(nodes.assign(t, value))
        return nodes.name(t)

    def stmt_While(self, s):
        pre = []
        test_stmts = []
        test = self.test(s.test, test_stmts)
        brk, cont, body = self.loop_body(s, s.body)
        again = [nodes.clone(t) for t in test_stmts]
        if brk and any(isinstance(n, gast.NamedExpr) for n in nodes.walk(s.test)):
            # after a break Python does not evaluate the test again: its `:=` binds not
            go_on = self.fresh("go")
            again = [nodes.assign(go_on, gast.UnaryOp(op=gast.Not(), operand=nodes.name(brk))),
                     nodes.if_(nodes.name(go_on), again)]
        if brk:
            go = self.fresh("go")
            step = nodes.assign(go, gast.BoolOp(
                op=gast.And(), values=[gast.UnaryOp(op=gast.Not(), operand=nodes.name(brk)),
                                       test]))
            test_stmts.append(step)
            again.append(nodes.clone(step))
            test = nodes.name(go)
            pre.append(nodes.assign(brk, nodes.const(False)))
        loop_body = body + again
        return pre + test_stmts + [nodes.while_(test, loop_body)] + self.loop_else(s, brk)

    def loop_body(self, loop, body):
        """Normalize a loop body with its own break/continue flags (None when unused)."""
        needs_break = _contains_jump(body, gast.Break) or (
            self.ret_flag and _contains(loop, gast.Return, into_loops=True))
        needs_cont = _contains_jump(body, gast.Continue)
        brk = self.fresh("stop") if needs_break else None
        cont = self.fresh("skip") if needs_cont else None
        self.loop_flags.append((brk, cont))
        self.depth += 1
        new = self.block(body)
        self.depth -= 1
        self.loop_flags.pop()
        if cont:
            new = [nodes.assign(cont, nodes.const(False))] + new
        return brk, cont, new

    def stmt_For(self, s):
        pre = []
        header, per_item = self.for_header(s, pre)
        brk, cont, body = self.loop_body(s, s.body)
        body = per_item + body
        if brk:
            pre.append(nodes.assign(brk, nodes.const(False)))
            go = self.fresh("go")
            body = [nodes.assign(go, gast.UnaryOp(op=gast.Not(), operand=nodes.name(brk))),
                    nodes.if_(nodes.name(go), body)]
        index, range_args = header
        return pre + [nodes.for_(index, nodes.call("range", range_args), body)] + \
            self.loop_else(s, brk)

    def loop_else(self, loop, brk):
        """A loop's `else:` runs when the loop ends without `break` (or `return`): after
        the loop, under `if not brk` when the loop has a break flag."""
        if not loop.orelse:
            return []
        orelse = self.block(loop.orelse)
        if not brk or not orelse:
            return orelse
        go = self.fresh("completed")
        return [nodes.assign(go, gast.UnaryOp(op=gast.Not(), operand=nodes.name(brk))),
                nodes.if_(nodes.name(go), orelse)]

    def for_header(self, s, pre, stored=None):
        """Lower `for target in iterable` to an index loop over `range(...)`.

        Returns ((index_name, range_args), statements binding the target per step).
        A name the loop reads each step (a sequence, a dict, a bound of `range`) that
        the body rebinds (`stored`) is read through a name of its own, bound before
        the loop: Python evaluates the iterable once."""
        it, target = s.iter, s.target
        if stored is None:
            stored = {n for b in s.body for n in nodes.names_in(b, nodes.STORE)}
        func = it.func.id if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) \
            and it.func.id in _RANGE_LIKE and self._is_builtin(it.func.id) else None
        if func == "range" and isinstance(target, gast.Name):
            if it.keywords or not 1 <= len(it.args) <= 3:
                raise self.error("unsupported call to range()", it)
            args = [self.held(self.atom(a, pre), stored, pre) for a in it.args]
            if target.id in stored:
                # the body rebinds the loop variable: the loop counts with an index of
                # its own (the backward loop rebinds its index, not the user's name)
                index = self.fresh("i")
                return (index, args), [nodes.copy_location(
                    nodes.assign(target.id, nodes.name(index)), s)]
            return (target.id, args), []
        if func == "reversed" and len(it.args) == 1:
            seq = self.sequence(it.args[0], pre, stored)
            n = self.length(seq, pre)
            index = self.fresh("i")
            last = self.fresh()
            pre.append(nodes.assign(last, gast.BinOp(left=nodes.name(n), op=gast.Sub(),
                                                     right=nodes.const(1))))
            return (index, [nodes.name(last), nodes.const(-1), nodes.const(-1)]), \
                self.bind(target, seq, index, s)
        if func == "enumerate":
            start_kw = [k for k in it.keywords if k.arg == "start"]
            if len(it.args) + len(start_kw) not in (1, 2) or len(it.keywords) != len(start_kw):
                raise self.error("unsupported call to enumerate()", it)
            if not (isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2):
                raise self.error("unpack enumerate() into two names", target,
                                 "write `for i, x in enumerate(xs):`")
            if start_kw:
                it = gast.Call(func=it.func, args=[it.args[0], start_kw[0].value], keywords=[])
            inner = it.args[0]
            if isinstance(inner, gast.Call) and isinstance(inner.func, gast.Name) \
                    and inner.func.id == "zip" and self._is_builtin("zip"):
                # enumerate(zip(a, b)): one index for the counter and every sequence
                fake = gast.For(target=target.elts[1], iter=inner, body=[], orelse=[],
                                type_comment=None)
                nodes.copy_location(fake, s)
                (index, rng), binds = self.for_header(fake, pre, stored)
                count = target.elts[0]
                if not isinstance(count, gast.Name):
                    raise self.error("the counter of enumerate() must be a name", count)
                value = nodes.name(index) if len(it.args) == 1 else gast.BinOp(
                    left=nodes.name(index), op=gast.Add(), right=self.atom(it.args[1], pre))
                return (index, rng), [nodes.assign(count.id, value)] + binds
            seq = self.sequence(it.args[0], pre, stored)
            n = self.length(seq, pre)
            index = self.fresh("i")
            binds = []
            count = target.elts[0]
            if not isinstance(count, gast.Name):
                raise self.error("the counter of enumerate() must be a name", count)
            if len(it.args) == 2:
                start = self.atom(it.args[1], pre)
                binds.append(nodes.assign(count.id, gast.BinOp(
                    left=nodes.name(index), op=gast.Add(), right=start)))
            else:
                binds.append(nodes.assign(count.id, nodes.name(index)))
            binds += self.bind(target.elts[1], seq, index, s)
            return (index, [nodes.name(n)]), binds
        if func == "zip":
            if not it.args or it.keywords:
                raise self.error("unsupported call to zip()", it)
            if any(isinstance(a, gast.Starred) for a in it.args):
                it = self.spread_zip(it, target, pre)
            seqs = [self.sequence(a, pre, stored) for a in it.args]
            lens = [self.length(q, pre) for q in seqs]
            # the shortest length, as min(a, b) per pair (the binary rule; zip(a, b, c))
            n = lens[0]
            for other in lens[1:]:
                shorter = self.fresh("n")
                if self._is_builtin("min"):
                    pre.append(nodes.assign(shorter, nodes.call("min", [nodes.name(n),
                                                                        nodes.name(other)])))
                else:
                    # the module rebinds min (`from numpy import *`): the shorter length
                    # chosen by a branch
                    less = self.fresh("shorter")
                    pre.append(nodes.assign(less, gast.Compare(
                        left=nodes.name(n), ops=[gast.Lt()], comparators=[nodes.name(other)])))
                    pre.append(nodes.if_(nodes.name(less), [nodes.assign(shorter, nodes.name(n))],
                                         [nodes.assign(shorter, nodes.name(other))]))
                n = shorter
            if not (isinstance(target, (gast.Tuple, gast.List))
                    and len(target.elts) == len(seqs)):
                raise self.error("unpack zip() into one name per sequence", target)
            index = self.fresh("i")
            binds = []
            for elt, seq in zip(target.elts, seqs):
                binds += self.bind(elt, seq, index, s)
            return (index, [nodes.name(n)]), binds
        if isinstance(it, gast.Call) and isinstance(it.func, gast.Attribute) \
                and it.func.attr in ("items", "keys", "values") and not it.args \
                and not it.keywords:
            d = self.held(self.atom(it.func.value, pre), stored, pre)
            return self.dict_loop(it.func.attr, d, target, s, pre)
        if is_dict(it, self.parsed):              # `for k in d`: the keys, as in Python
            d = self.held(self.atom(it, pre), stored, pre)
            return self.dict_loop("keys", d, target, s, pre)
        if self._makes_iterator(it):
            # np.ndindex(...), itertools.product(...): no len() and no indexing, so the
            # index loop runs over the list of what they yield (computed once, as Python
            # iterates once)
            it = nodes.copy_location(nodes.call("list", [it]), it)
        seq = self.sequence(it, pre, stored)
        n = self.length(seq, pre)
        index = self.fresh("i")
        return (index, [nodes.name(n)]), self.bind(target, seq, index, s)

    def dict_loop(self, kind, d, target, loc, pre):
        """`for k, v in d.items()` (or `.keys()`, `.values()`): an index loop over the
        list of keys, reading `d[k]` each step (the keys carry no gradient)."""
        view, keys = self.fresh("keys"), self.fresh("keys")
        pre.append(nodes.assign(view, nodes.call(nodes.attribute(d, "keys"))))
        pre.append(nodes.assign(keys, nodes.call("list", [nodes.name(view)])))
        n = self.length(keys, pre)
        index = self.fresh("i")
        key = self.fresh("key")
        binds = [nodes.assign(key, nodes.subscript(nodes.name(keys), nodes.name(index)))]
        value = nodes.subscript(nodes.clone(d), nodes.name(key))
        if kind == "items":
            if not (isinstance(target, (gast.Tuple, gast.List)) and len(target.elts) == 2):
                raise self.error("unpack .items() into two names", target,
                                 "write `for key, value in d.items():`")
            binds += self.store(target.elts[0], nodes.name(key), loc)
            item = self.fresh()
            binds.append(nodes.assign(item, value))
            binds += self.store(target.elts[1], nodes.name(item), loc)
        elif kind == "keys":
            binds += self.store(target, nodes.name(key), loc)
        else:
            item = self.fresh()
            binds.append(nodes.assign(item, value))
            binds += self.store(target, nodes.name(item), loc)
        return (index, [nodes.name(n)]), binds

    def _places_a_piece(self, func):
        """Is `func` a runtime helper whose `out=` only says where to put its result
        (`optimize.pieces`: a statement after it stores the result there anyway)?"""
        from .. import runtime
        if not isinstance(func, gast.Name) or func.id not in runtime.WRITES_INTO:
            return False
        try:
            return self.parsed.resolve(func.id) is getattr(runtime, func.id)
        except KeyError:
            return False

    def _is_builtin(self, id_):
        import builtins
        try:
            return self.parsed.resolve(id_) is getattr(builtins, id_)
        except KeyError:
            return False

    def held(self, atom, stored, pre):
        """`atom`, or a new name bound to it before the loop when the loop body rebinds
        it (`for v in xs: xs = ...` iterates over the first `xs`, as in Python)."""
        if isinstance(atom, gast.Name) and atom.id in stored:
            t = self.fresh()
            pre.append(nodes.assign(t, atom))
            return nodes.name(t)
        return atom

    def sequence(self, expr, pre, stored=()):
        atom = self.held(self.atom(expr, pre), stored, pre)
        if isinstance(atom, gast.Name):
            return atom.id
        t = self.fresh("seq")
        pre.append(nodes.assign(t, atom))
        return t

    def length(self, seq, pre):
        n = self.fresh("n")
        pre.append(nodes.assign(n, nodes.call("len", [nodes.name(seq)])))
        return n

    def bind(self, target, seq, index, loc):
        item = nodes.subscript(nodes.name(seq), nodes.name(index))
        if isinstance(target, gast.Name):
            return [nodes.assign(target.id, item)]
        tmp = self.fresh()
        return [nodes.assign(tmp, item)] + self.store(target, nodes.name(tmp), loc)

    # -- expressions -----------------------------------------------------------
    def atom(self, expr, pre):
        """Normalize `expr` to an atom, emitting statements for its parts into `pre`."""
        if isinstance(expr, gast.Name) and self.walrus_pending[-1].get(expr.id):
            return self.snapshot(expr.id, pre)
        if _is_literal(expr) or isinstance(expr, gast.Name):
            return nodes.clone(expr)
        value = self.expr(expr, pre)
        if isinstance(value, gast.Name) or _is_literal(value):
            return value
        t = self.fresh()
        pre.append(nodes.copy_location(nodes.assign(t, value), expr))
        return nodes.name(t)

    def expr(self, e, pre):
        """Normalize `e` to one operation over atoms (the right side of a statement)."""
        if isinstance(e, gast.Name) and self.walrus_pending[-1].get(e.id):
            return self.snapshot(e.id, pre)
        if _is_literal(e) or isinstance(e, gast.Name):
            return nodes.clone(e)
        method = getattr(self, "expr_" + type(e).__name__, None)
        if method is None:
            kind = _UNSUPPORTED.get(type(e))
            what = kind[0] if kind else f"`{type(e).__name__}` expressions"
            raise self.error(f"s2sgrad cannot differentiate {what}", e,
                             kind[1] if kind else None)
        return nodes.copy_location(method(e, pre), e)     # carets point at the operation

    def snapshot(self, name, pre):
        """The value `name` has now, in a name of its own (an `:=` of this statement will
        rebind `name` before the value is used)."""
        t = self.fresh(name)
        pre.append(nodes.assign(t, nodes.name(name)))
        return nodes.name(t)

    def expr_NamedExpr(self, e, pre):
        """`(y := expr)`: the assignment `y = expr` where Python evaluates it (so under the
        branch of `a and (y := f(x))` that evaluates it), and the value y read there."""
        name = e.target.id
        pre.extend(self.stmt_Assign(nodes.copy_location(gast.Assign(
            targets=[nodes.name(name, store=True)], value=e.value, type_comment=None), e)))
        pending = self.walrus_pending[-1]
        if pending.get(name):
            pending[name] -= 1
        return self.snapshot(name, pre) if pending.get(name) else nodes.name(name)

    def expr_BinOp(self, e, pre):
        return gast.BinOp(left=self.atom(e.left, pre), op=e.op, right=self.atom(e.right, pre))

    def expr_UnaryOp(self, e, pre):
        return gast.UnaryOp(op=e.op, operand=self.atom(e.operand, pre))

    def expr_Compare(self, e, pre):
        left = self.atom(e.left, pre)
        return gast.Compare(left=left, ops=list(e.ops),
                            comparators=[self.atom(c, pre) for c in e.comparators])

    def expr_BoolOp(self, e, pre):
        # `a and b` evaluates b only when a is true: an if statement keeps that.
        t = self.fresh()
        pre.append(nodes.assign(t, self.expr(e.values[0], pre)))
        for v in e.values[1:]:
            inner = []
            inner.append(nodes.assign(t, self.expr(v, inner)))
            test = nodes.name(t)
            if isinstance(e.op, gast.Or):
                neg = self.fresh("cond")
                pre.append(nodes.assign(neg, gast.UnaryOp(op=gast.Not(), operand=test)))
                test = nodes.name(neg)
            pre.append(nodes.if_(test, inner))
        return nodes.name(t)

    def expr_IfExp(self, e, pre):
        test = self.test(e.test, pre)
        t = self.fresh()
        body, orelse = [], []
        body.append(nodes.assign(t, self.expr(e.body, body)))
        orelse.append(nodes.assign(t, self.expr(e.orelse, orelse)))
        pre.append(nodes.copy_location(nodes.if_(test, body, orelse), e))
        return nodes.name(t)

    def expr_Call(self, e, pre):
        return self.call(e, pre)

    def call(self, e, pre):
        func = e.func
        if any(isinstance(a, gast.Starred) for a in e.args):
            e = self.spread(e, pre)
        e = self.spread_keywords(e)
        e = self.pack_call(e)
        if isinstance(func, gast.Name) and func.id in self.local_functions:
            return self.inline(e, pre)
        if isinstance(func, gast.Name) and self.small_helper(func.id) is not None:
            return self.inline(e, pre, self.small_helper(func.id))
        denoted = self._global_chain(func, _local_names(self.parsed))
        spelled = _library_spelling(e, self.parsed, denoted)
        if spelled is not None:
            return self.expr(nodes.copy_location(spelled, e), pre)
        if isinstance(func, gast.Attribute) and func.attr in ("values", "items") \
                and not e.args and not e.keywords and is_dict(func.value, self.parsed):
            # d.values(), d.items() read as values (sum(d.values()), list(d.items())):
            # the list [d[k] for k in d.keys()] (or of pairs), in the dict's order
            k = self.fresh("key")
            item = nodes.subscript(nodes.clone(func.value), nodes.name(k))
            elt = item if func.attr == "values" else nodes.tuple_([nodes.name(k), item])
            comp = gast.ListComp(elt=elt, generators=[gast.comprehension(
                target=nodes.name(k, store=True),
                iter=nodes.call(nodes.attribute(nodes.clone(func.value), "keys")),
                ifs=[], is_async=0)])
            return self.expr(nodes.copy_location(comp, e), pre)
        if isinstance(func, gast.Name) and func.id == "divmod" and len(e.args) == 2 \
                and not e.keywords and self._is_builtin("divmod") \
                and not any(isinstance(a, gast.Starred) for a in e.args):
            # divmod(a, b) is (a // b, a % b), as Python defines both: `//` carries no
            # gradient, `%` has its rule (a and b evaluated once, in order)
            a, b = self.atom(e.args[0], pre), self.atom(e.args[1], pre)
            pair = gast.Tuple(elts=[
                nodes.copy_location(gast.BinOp(left=a, op=gast.FloorDiv(), right=b), e),
                nodes.copy_location(gast.BinOp(left=nodes.clone(a), op=gast.Mod(),
                                               right=nodes.clone(b)), e)], ctx=gast.Load())
            return self.expr(nodes.copy_location(pair, e), pre)
        if isinstance(func, gast.Name) and func.id == "dict" and not e.args and e.keywords \
                and all(k.arg for k in e.keywords) and self._is_builtin("dict"):
            # dict(a=x, b=y) is the display {"a": x, "b": y}
            return self.expr_Dict(gast.Dict(keys=[nodes.const(k.arg) for k in e.keywords],
                                            values=[k.value for k in e.keywords]), pre)
        if isinstance(func, gast.Name) and func.id == "dict" and len(e.args) == 1 \
                and not e.keywords and self._is_builtin("dict") \
                and is_dict(e.args[0], self.parsed) and not isinstance(e.args[0], gast.Call):
            # dict(d) of a dict: its copy, a new dict (items stored into it change no
            # one else's dict)
            return self.expr(nodes.copy_location(
                nodes.call(nodes.attribute(e.args[0], "copy")), e), pre)
        if isinstance(func, gast.Name) and func.id == "dict" and len(e.args) == 1 \
                and not e.keywords and self._is_builtin("dict") and _is_pairs(e.args[0]):
            # dict(zip(keys, values)), dict([(k, v), ...]): {k: v for k, v in pairs}
            k, v = self.fresh("key"), self.fresh("value")
            comp = gast.DictComp(key=nodes.name(k), value=nodes.name(v), generators=[
                gast.comprehension(target=nodes.tuple_([nodes.name(k, store=True),
                                                        nodes.name(v, store=True)], store=True),
                                   iter=e.args[0], ifs=[], is_async=0)])
            return self.comprehension(nodes.copy_location(comp, e), pre)
        if isinstance(func, gast.Attribute) and not _is_dotted_global(func, self.parsed):
            func = gast.Attribute(value=self.atom(func.value, pre), attr=func.attr,
                                  ctx=gast.Load())
        elif not isinstance(func, (gast.Name, gast.Attribute)):
            func = self.atom(func, pre)
        if isinstance(func, gast.Name) and func.id in ("list", "tuple", "sorted") \
                and len(e.args) == 1 and self._is_builtin(func.id) \
                and self._pairs_read_whole(e.args[0]):
            # sorted(zip(a, b)), list(enumerate(xs)): the list of the tuples they make
            if func.id == "list":
                return self.expr(self.tuples(e.args[0]), pre)
            e = nodes.copy_location(gast.Call(func=e.func, args=[self.tuples(e.args[0])],
                                              keywords=e.keywords), e)
        if isinstance(func, gast.Name) and func.id == "sorted" \
                and id(_key_lambda(e)) in _sort_keys(e) and self._is_builtin("sorted"):
            return self.sorted_by_lambda(e, pre)
        if isinstance(func, gast.Name) and func.id in ("max", "min") \
                and _extremum_by_key(e) and self._is_builtin(func.id):
            return self.extremum_by_key(e, pre)
        if isinstance(func, gast.Name) and func.id in ("max", "min") and len(e.args) > 2 \
                and not e.keywords and self._is_builtin(func.id):
            # max(a, b, c) → max(max(a, b), c): the binary rule routes the adjoint
            inner = gast.Call(func=nodes.clone(func), args=e.args[:-1], keywords=[])
            nodes.copy_location(inner, e)
            return gast.Call(func=nodes.clone(func), args=[self.atom(inner, pre),
                                                           self.atom(e.args[-1], pre)],
                             keywords=[])
        if isinstance(func, gast.Name) and func.id == "reversed" and len(e.args) == 1 \
                and not e.keywords and not isinstance(e.args[0], gast.Starred) \
                and self._is_builtin("reversed") and not is_dict(e.args[0], self.parsed):
            # reversed(xs) read whole (`enumerate(reversed(xs))`, `list(reversed(xs))`,
            # `sum(...)`): the same items as xs[::-1] (a list, tuple, array or range)
            return nodes.subscript(self.atom(e.args[0], pre), gast.Slice(
                lower=None, upper=None, step=nodes.const(-1)))
        if _is_comprehension_arg(e):
            args = [self.comprehension(e.args[0], pre)]
        else:
            args = [_starred(self.atom(a.value, pre), a)
                    if isinstance(a, gast.Starred) else self.atom(a, pre) for a in e.args]
        keywords = []
        for kw in e.keywords:
            if kw.arg is None and getattr(kw, "s2s_packed", None):
                packed = gast.keyword(arg=None, value=self.atom(kw.value, pre))
                packed.s2s_packed = kw.s2s_packed
                keywords.append(packed)
                continue
            if kw.arg is None:
                raise self.error("`**kwargs` in calls is not supported", kw.value,
                                 "pass the keyword arguments one by one")
            if kw.arg == "out" and self._places_a_piece(func):
                continue     # (generated code read again: the product's value is all)
            if kw.arg == "out" and not (isinstance(kw.value, gast.Constant)
                                        and kw.value.value is None):
                raise self.error("s2sgrad does not follow writes through `out=`", kw.value,
                                 "assign the result instead: `y = np.multiply(x, 2.0)`")
            keywords.append(gast.keyword(arg=kw.arg, value=self.atom(kw.value, pre)))
        return gast.Call(func=nodes.clone(func), args=args, keywords=keywords)

    def sorted_by_lambda(self, e, pre):
        """sorted(xs, key=lambda p: k(p), reverse=r) → the keys by a comprehension (the
        lambda inlined), the positions sorted by (key, position) with the builtin sort
        (stable like sorted's; the order carries no gradient), and the items read at them:

            seq = list(xs); keys = [k(p) for p in seq]
            pairs = sorted(zip(keys, range(len(seq))))       # range(0, -n, -1), reverse
            [seq[pair[1]] for pair in pairs]                 # seq[-pair[1]], reverse
        """
        lam = _key_lambda(e)
        reverse = [k.value for k in e.keywords if k.arg == "reverse"]
        if reverse and not (isinstance(reverse[0], gast.Constant)
                            and isinstance(reverse[0].value, bool)):
            raise self.error("sorted(..., key=lambda ...) with a computed `reverse=`",
                             reverse[0], "write reverse=True or reverse=False")
        backwards = bool(reverse and reverse[0].value)
        for name in ("list", "zip", "range", "len"):
            if not self._is_builtin(name):
                raise self.error(f"sorted(..., key=lambda ...) where `{name}` is not the "
                                 "builtin", e, "define the key function with `def`")
        seq = self.atom(nodes.call("list", [e.args[0]]), pre)
        param = lam.args.args[0].id
        keys = self.atom(gast.ListComp(elt=lam.body, generators=[gast.comprehension(
            target=nodes.name(param, store=True), iter=nodes.clone(seq), ifs=[],
            is_async=0)]), pre)
        n = self.atom(nodes.call("len", [nodes.clone(seq)]), pre)
        positions = nodes.call("range", [nodes.const(0), gast.UnaryOp(
            op=gast.USub(), operand=nodes.clone(n)), nodes.const(-1)]) if backwards \
            else nodes.call("range", [nodes.clone(n)])
        order = nodes.call("sorted", [nodes.call("zip", [nodes.clone(keys), positions])],
                           {"reverse": nodes.const(True)} if backwards else None)
        pair = self.fresh("pair")
        position = nodes.subscript(nodes.name(pair), nodes.const(1))
        if backwards:
            position = gast.UnaryOp(op=gast.USub(), operand=position)
        out = gast.ListComp(elt=nodes.subscript(nodes.clone(seq), position), generators=[
            gast.comprehension(target=nodes.name(pair, store=True), iter=order, ifs=[],
                               is_async=0)])
        _locate(out, e)
        return self.expr(out, pre)

    def helper(self, name):
        """The name the code calls the runtime helper `name` by: bound in the function's
        closure (another name where the function's own names take that one)."""
        from .. import runtime
        obj = getattr(runtime, name)
        taken = self.used | set(self.parsed.namespace)
        while name in taken and self.parsed.closure.get(name) is not obj:
            name = "s2s_" + name
        self.parsed.closure[name] = obj
        self.used.add(name)
        return name

    def _pairs_read_whole(self, it):
        """Is `it` a call of the builtin zip (positional sequences) or enumerate (one
        sequence, maybe a start), read whole where it is written?"""
        if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Name)
                and it.func.id in ("zip", "enumerate") and self._is_builtin(it.func.id)
                and it.args and not any(isinstance(a, gast.Starred) for a in it.args)):
            return False
        if it.func.id == "zip":
            return not it.keywords
        return len(it.args) + len(it.keywords) <= 2 and all(
            k.arg == "start" for k in it.keywords)

    def tuples(self, it):
        """zip(a, b) → [(u, v) for u, v in zip(a, b)] (enumerate alike): the tuples the
        iterator yields, as a list comprehension (whose loop `for_header` lowers)."""
        arity = len(it.args) if it.func.id == "zip" else 2
        names = [self.fresh("item") for _ in range(arity)]
        comp = gast.ListComp(elt=nodes.tuple_([nodes.name(n) for n in names]), generators=[
            gast.comprehension(target=nodes.tuple_([nodes.name(n, store=True)
                                                    for n in names], store=True),
                               iter=it, ifs=[], is_async=0)])
        _locate(comp, it)
        return comp

    def extremum_by_key(self, e, pre):
        """max(xs, key=k) (min, several items, default=) → the items, their keys by a
        comprehension (a lambda inlined), and the item at the position of the first
        largest key, found as Python's max finds it (`runtime.first_best`: a later item
        replaces the best only when its key is strictly larger, smaller for min): the
        gradient goes to that item, the keys and the position carry none.

            items = list(xs); keys = [k(p) for p in items]
            best = first_best(keys, True)    # False for min
            items[best]                      # items[best] if items else default
        """
        words = {k.arg: k.value for k in e.keywords}
        lam = words["key"] if isinstance(words["key"], gast.Lambda) else None
        seq = e.args[0] if len(e.args) == 1 else gast.List(elts=list(e.args), ctx=gast.Load())
        items = self.atom(nodes.copy_location(nodes.call("list", [seq]), e)
                          if len(e.args) == 1 else nodes.copy_location(seq, e), pre)
        p = lam.args.args[0].id if lam is not None else self.fresh("item")
        if lam is not None:
            elt = lam.body
        elif isinstance(words["key"], gast.Constant) and words["key"].value is None:
            elt = nodes.name(p)                         # key=None: the items themselves
        else:
            # a name or an attribute chain (`np.abs`, `d.get`: looked up per item, which
            # reads the same function) is called as written; another expression once
            key = words["key"] if _is_chain(words["key"]) else self.atom(words["key"], pre)
            elt = nodes.call(nodes.clone(key), [nodes.name(p)])
        keys = self.atom(nodes.copy_location(gast.ListComp(elt=elt, generators=[
            gast.comprehension(target=nodes.name(p, store=True), iter=nodes.clone(items),
                               ifs=[], is_async=0)]), e), pre)
        default = self.atom(words["default"], pre) if "default" in words else None
        if not self._is_builtin("list"):
            raise self.error(f"{e.func.id}(..., key=...) where `list` is not the builtin", e)
        best = self.fresh("best")
        pre.append(nodes.assign(best, nodes.call(self.helper("first_best"), [
            nodes.clone(keys), nodes.const(e.func.id == "max")])))
        out = nodes.subscript(nodes.clone(items), nodes.name(best))
        if default is not None:
            out = gast.IfExp(test=nodes.clone(items), body=out, orelse=default)
        _locate(out, e)
        return self.expr(out, pre)

    # -- generators ------------------------------------------------------------
    def generators(self):
        """Generators, inlined: a generator function (this one, a local `def`, one of
        yours it calls) builds the list of what it yields (`yield v` → `acc.append(v)`),
        and its calls are consumed whole, as lists: `for x in gen(...)` (a loop without
        `break` or `return`), `a, b = gen(...)`, `list(...)`, `tuple(...)`, `sum(...)`.
        A generator call used any other way escapes the function: refused."""
        fn = self.parsed.node
        local = set()
        for st in [fn] + [d for d in fn.body if isinstance(d, gast.FunctionDef)]:
            if _is_generator(st):
                self.listify(st)
                if st is not fn:
                    local.add(st.name)
        stored = set(nodes.names_in(fn, nodes.STORE))

        def is_gen_call(node):
            if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)):
                return False
            name = node.func.id
            if name in local:
                return True
            if name in stored or name in {a.id for a in fn.args.args}:
                return False
            try:
                obj = self.parsed.resolve(name)
            except KeyError:
                return False
            import inspect
            return inspect.isgeneratorfunction(obj)
        consumed = set()
        for node in _walk_body(fn):
            if isinstance(node, gast.For) and is_gen_call(node.iter):
                jump = next((n for st in node.body for n in nodes.walk(st)
                             if isinstance(n, (gast.Break, gast.Return))), None)
                if jump is not None:
                    raise self.error("s2sgrad reads a generator whole: a loop over it may "
                                     "not stop early", jump,
                                     "loop over list(...) of it, or move the test into "
                                     "the generator")
                consumed.add(id(node.iter))
                node.iter = nodes.copy_location(nodes.call("list", [node.iter]), node.iter)
            elif isinstance(node, gast.Assign) and is_gen_call(node.value) \
                    and isinstance(node.targets[0], (gast.Tuple, gast.List)):
                consumed.add(id(node.value))
                node.value = nodes.copy_location(nodes.call("list", [node.value]),
                                                 node.value)
            elif isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                    and node.func.id in ("list", "tuple", "sum") and len(node.args) == 1 \
                    and self._is_builtin(node.func.id):
                consumed.add(id(node.args[0]))
        for node in _walk_body(fn):
            if is_gen_call(node) and id(node) not in consumed:
                raise self.error(
                    f"s2sgrad cannot differentiate a generator that escapes: the call of "
                    f"`{node.func.id}` is not consumed here", node,
                    "loop over it (`for x in gen(...)`), unpack it, or make a list of it "
                    "(`list(gen(...))`)")

    _CONSUMERS = ("list", "tuple", "sum", "sorted", "min", "max")

    def aliases(self):
        """`xp = np`, `sp = scipy.special`, `sin = np.sin`: a local name bound once, by a
        statement of the function's own top level, to a global name or attribute chain
        that denotes a module or a function; its reads become that expression, and the
        binding goes. Serves array-API style code (`xp.sum(x)`, which would otherwise be
        taken for a method of a local value) and local shorthands for functions. A name
        bound anywhere else too (a nested scope included), a parameter, or a chain
        whose root is local stays as it is."""
        fn = self.parsed.node
        stores, declared = _binding_counts(fn)
        found = {}
        for st, t in _top_bindings(fn):
            obj = self._global_chain(st.value, stores)
            if stores.get(t) == 1 and t not in declared and t not in found and (
                    isinstance(obj, _ALIASABLE)):
                found[t] = st
        if not found:
            return

        class Substitute(nodes.Transformer):
            def visit_Name(self, node):
                st = found.get(node.id)
                if st is None or not isinstance(node.ctx, gast.Load):
                    return node
                return nodes.copy_location(nodes.clone(st.value), node)
        fn.body = [st for st in fn.body if st not in found.values()]
        Substitute().visit(fn)

    def _global_chain(self, e, stores):
        """The object a chain `a.b.c` of a free name (not in `stores`) denotes, else
        None."""
        attrs = []
        while isinstance(e, gast.Attribute):
            attrs.append(e.attr)
            e = e.value
        if not isinstance(e, gast.Name) or e.id in stores:
            return None
        try:
            obj = self.parsed.resolve(e.id)
            for a in reversed(attrs):
                obj = getattr(obj, a)
        except (KeyError, AttributeError):
            return None
        return obj

    def function_loops(self):
        """`for f in (np.sin, np.cos): y = y + f(x)` and `for layer in layers: x =
        layer(x)`: a loop over functions is unrolled, one copy of the body per function
        with the function in place of the loop name, so each call is matched to its rule,
        its pair, or a local function inlined. The functions: a tuple or list display in
        the loop header; a local name bound once, at the top level of the body, to such a
        display and read only as the iterable of such loops (its lambdas become local
        functions where the display was); or a global tuple of functions that have global
        names (a tuple cannot change; the code is stale when the name is rebound). A loop
        with `break` or `continue`, whose name the body rebinds or the function reads
        elsewhere, stays a loop (and is refused where it calls through the name)."""
        fn = self.parsed.node
        if not any(isinstance(n, gast.For) for n in _walk_body(fn)):
            return
        stores, loads = {}, {}
        for n in nodes.walk(fn):
            if isinstance(n, gast.Name):
                (loads if isinstance(n.ctx, gast.Load) else stores).setdefault(
                    n.id, []).append(n)
        defs = {st.name for st in fn.body if isinstance(st, gast.FunctionDef)} | {
            st.targets[0].id for st in fn.body if isinstance(st, gast.Assign)
            and len(st.targets) == 1 and isinstance(st.targets[0], gast.Name)
            and isinstance(st.value, gast.Lambda)
            and len(stores.get(st.targets[0].id, ())) == 1}      # (`sq = lambda v: ...`)
        params = {a.id for a in fn.args.args}
        bindings = {st.targets[0].id: st for st in fn.body if isinstance(st, gast.Assign)
                    and len(st.targets) == 1 and isinstance(st.targets[0], gast.Name)
                    and isinstance(st.value, (gast.List, gast.Tuple))
                    and len(stores.get(st.targets[0].id, ())) == 1}
        iters = {id(n.iter) for n in _walk_body(fn) if isinstance(n, gast.For)}

        def function_like(e):
            if isinstance(e, gast.Lambda):
                return True
            if isinstance(e, gast.Name) and e.id in defs:
                return True
            obj = self._global_chain(e, set(stores) | params)
            return callable(obj) and not isinstance(obj, type)

        def functions(it):
            """The function nodes `it` iterates over, or None."""
            if isinstance(it, (gast.List, gast.Tuple)) and it.elts \
                    and all(function_like(e) for e in it.elts):
                return list(it.elts)
            if isinstance(it, gast.Name) and it.id in bindings:
                shown = functions(bindings[it.id].value)
                if shown and all(id(n) in iters for n in loads.get(it.id, ())):
                    return shown
                return None
            if isinstance(it, gast.Name) and it.id not in stores and it.id not in params:
                return self.named_functions(it)
            return None

        loops = [n for n in _walk_body(fn) if isinstance(n, gast.For)]

        def unrollable(loop):
            """The loop name is bound only as the name of loops (this one, others over
            functions), read only in their bodies; no `break` or `continue`."""
            f = loop.target.id if isinstance(loop.target, gast.Name) else None
            own = [lp for lp in loops if nodes.is_name(lp.target, f)]
            inside = {id(m) for lp in own for st in lp.body for m in nodes.walk(st)}
            return f is not None and len(stores.get(f, ())) == len(own) \
                and all(id(n) in inside for n in loads.get(f, ())) \
                and not _contains_jump(loop.body, (gast.Break, gast.Continue))

        hoisted = {}                 # id(lambda) -> the local name it is bound to
        unrolled = []

        def name_of(e):
            if isinstance(e, gast.Lambda):
                if id(e) not in hoisted:
                    hoisted[id(e)] = self.fresh("layer")
                return nodes.name(hoisted[id(e)])
            return e

        def rewrite(body, top):
            out = []
            for st in body:
                for field in ("body", "orelse"):
                    inner = getattr(st, field, None)
                    if isinstance(inner, list) and isinstance(st, (gast.If, gast.For,
                                                                   gast.While,
                                                                   gast.FunctionDef)):
                        setattr(st, field, rewrite(inner, False))
                found = functions(st.iter) if isinstance(st, gast.For) else None
                if found and not unrollable(st):
                    if any(isinstance(n, gast.Call) and nodes.is_name(n.func, st.target.id)
                           for b in st.body for n in nodes.walk(b)
                           if isinstance(st.target, gast.Name)):
                        raise self.refused_function_loop(st)   # (it calls through the name)
                    found = None
                if found and any(isinstance(e, gast.Lambda) for e in found) and not top \
                        and not isinstance(st.iter, gast.Name):
                    found = None             # (its lambdas are bound where the loop is)
                if not found:
                    out.append(st)
                    continue
                unrolled.append(st)
                if not isinstance(st.iter, gast.Name):   # (the display's lambdas, first)
                    out += [nodes.copy_location(nodes.assign(name_of(e).id, e), e)
                            for e in found if isinstance(e, gast.Lambda)]
                for e in found:
                    out += [nodes.substitute(b, {st.target.id: name_of(e)})
                            for b in st.body]
                out += st.orelse
            return out

        fn.body = rewrite(fn.body, True)
        if unrolled:                                  # (what is assigned in blocks now)
            self.nested = _assigned_in_blocks(fn)
            self.changed_in_blocks = _changed_in_blocks(fn)
        # a display of functions read only by the loops unrolled: its lambdas become
        # local functions where it was
        for name, st in bindings.items():
            if name in nodes.names_in(fn, nodes.LOAD) or functions(st.value) is None:
                continue
            k = fn.body.index(st)
            fn.body[k:k + 1] = [nodes.copy_location(nodes.assign(name_of(e).id, e), e)
                                for e in st.value.elts if isinstance(e, gast.Lambda)]

    def refused_function_loop(self, loop):
        """The TransformError for a loop over functions that is not unrolled."""
        if _contains_jump(loop.body, (gast.Break, gast.Continue)):
            return self.error("s2sgrad unrolls a loop over functions into their calls, "
                              "which leaves no loop to `break` or `continue`", loop,
                              "put the rest of the step under `if`, with a flag set where "
                              "the loop would break")
        name = _describe_call(loop.target)
        return self.error(f"s2sgrad unrolls a loop over functions into their calls only "
                          f"where `{name}` is a plain name read only in the loop's body "
                          "(nor bound elsewhere)", loop,
                          "give the loop a name of its own, and bind the function to "
                          "another name where it is needed after the loop")

    def named_functions(self, node):
        """The global name `node` holds a tuple of functions that each have a global
        name (a function of the module, `np.sin`): those names, else None (the code
        depends on the name staying bound to the tuple). A list of functions is refused:
        it may change after the code is compiled."""
        name = node.id
        try:
            seq = self.parsed.resolve(name)
        except KeyError:
            return None
        if type(seq) is list and seq and all(callable(f) and not isinstance(f, type)
                                             for f in seq):
            raise self.error(f"s2sgrad cannot unroll a loop over the global list `{name}` "
                             "of functions (a list may change after the gradient is "
                             "compiled)", node, f"make it a tuple: `{name} = (...)`, or "
                             "loop over a display in the function")
        if type(seq) is not tuple or not seq or not all(
                callable(f) and not isinstance(f, type) for f in seq):
            return None
        stores = set(nodes.names_in(self.parsed.node, nodes.STORE))
        out = []
        for f in seq:
            label = getattr(f, "__name__", None)
            found = None
            if isinstance(label, str) and label not in stores and label.isidentifier():
                try:
                    if self.parsed.resolve(label) is f:
                        found = nodes.name(label)
                except KeyError:
                    pass
                for key, mod in sorted(self.parsed.namespace.items()):
                    if found is None and isinstance(mod, types.ModuleType) \
                            and key not in stores and getattr(mod, label, None) is f:
                        found = nodes.attribute(nodes.name(key), label)
            if found is None:
                return None
            out.append(found)
        if name not in self.parsed.closure:
            if not isinstance(getattr(self.parsed, "name_deps", None), list):
                self.parsed.name_deps = list(getattr(self.parsed, "name_deps", ()))
            self.parsed.name_deps.append((self.parsed.namespace, name, seq))
        return out

    def errstates(self):
        """`with np.errstate(divide="ignore", ...):` around code that may divide by zero
        or overflow (`np.where(x > 0, np.log(x), 0.0)`): the body, inlined. The modes
        "ignore", "warn", "print" and "log" only say whether NumPy reports the event, never
        change a value, so the gradient is that of the body (its code may then print
        NumPy's warnings); "raise" and "call" turn the event into an exception or a call:
        that `with` stays refused."""
        fn = self.parsed.node
        if not any(isinstance(n, gast.With) for n in _walk_body(fn)):
            return

        def neutral(w):
            if len(w.items) != 1 or w.items[0].optional_vars is not None:
                return False
            call = w.items[0].context_expr
            if not (isinstance(call, gast.Call) and not call.args
                    and self._resolves_to(call.func, np.errstate)):
                return False
            return all(k.arg in ("all", "divide", "over", "under", "invalid")
                       and isinstance(k.value, gast.Constant)
                       and k.value.value in ("ignore", "warn", "print", "log")
                       for k in call.keywords)

        def inline(stmts):
            out = []
            for st in stmts:
                for field in ("body", "orelse"):
                    inner = getattr(st, field, None)
                    if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                        setattr(st, field, inline(inner))
                if isinstance(st, gast.With) and neutral(st):
                    out += st.body
                else:
                    out.append(st)
            return out
        fn.body = inline(fn.body)

    def _makes_iterator(self, it):
        """Is `it` a call of a class whose objects have no len() or no indexing
        (`np.ndindex`, `itertools.product`, `map`...), of `iter`, or of a generator
        function? An index loop cannot read those: it iterates over their list."""
        if not (isinstance(it, gast.Call) and self._is_builtin("list")):
            return False
        found = self._denoted(it.func)
        if found is None:
            return False
        if isinstance(found, type):
            return not (hasattr(found, "__len__") and hasattr(found, "__getitem__"))
        return found is iter or inspect.isgeneratorfunction(found)

    def _denoted(self, node):
        """The object the name or dotted name `node` denotes, or None."""
        return self._global_chain(node, set(nodes.names_in(self.parsed.node, nodes.STORE)))

    def _resolves_to(self, node, obj):
        """Does the name or dotted name `node` denote `obj` (`np.errstate`)?"""
        return obj is not None and self._denoted(node) is obj

    def maps(self):
        """`map(f, xs)` consumed whole (`list(...)`, `tuple(...)`, `sum(...)`,
        `sorted(...)`, `min(...)`, `max(...)`, a `for` loop without `break`, an
        unpacking) is the list comprehension it builds: `[f(v) for v in xs]`, or with a
        lambda its body, `map(lambda v: v ** 2, xs)` → `[v ** 2 for v in xs]` (several
        iterables: over their zip). Any other use of map stays (refused if a gradient
        reaches it)."""
        fn = self.parsed.node
        if not any(isinstance(n, gast.Name) and n.id == "map" for n in _walk_body(fn)) \
                or not self._is_builtin("map"):
            return
        taken = {n.id for n in nodes.walk(fn) if isinstance(n, gast.Name)}

        def whole(node):
            return isinstance(node, gast.Call) and nodes.is_name(node.func, "map") \
                and len(node.args) >= 2 and not node.keywords \
                and not any(isinstance(a, gast.Starred) for a in node.args)

        def comprehension(call):
            f, iterables = call.args[0], call.args[1:]
            a = f.args if isinstance(f, gast.Lambda) else None
            if a is not None and not (a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs
                                      or a.defaults) and len(a.args) == len(iterables) \
                    and not any(isinstance(n, gast.NamedExpr) for n in nodes.walk(f)):
                # (a lambda's `:=` binds in the lambda: kept one, which is refused)
                targets, elt = [p.id for p in a.args], f.body
            else:
                targets = []
                for _ in iterables:
                    targets.append(nodes.fresh_name("mapped", taken))
                    taken.add(targets[-1])
                elt = nodes.call(f, [nodes.name(t) for t in targets])
            target = nodes.name(targets[0], store=True) if len(targets) == 1 else \
                nodes.tuple_([nodes.name(t, store=True) for t in targets], store=True)
            it = iterables[0] if len(iterables) == 1 else nodes.call("zip", list(iterables))
            comp = gast.ListComp(elt=elt, generators=[gast.comprehension(
                target=target, iter=it, ifs=[], is_async=0)])
            return nodes.copy_location(comp, call)

        for node in _walk_body(fn):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                    and node.func.id in self._CONSUMERS and len(node.args) == 1 \
                    and whole(node.args[0]) and self._is_builtin(node.func.id):
                node.args[0] = comprehension(node.args[0])
            elif isinstance(node, gast.For) and whole(node.iter) and not any(
                    isinstance(n, gast.Break) for st in node.body for n in nodes.walk(st)):
                node.iter = comprehension(node.iter)
            elif isinstance(node, gast.Assign) and whole(node.value) \
                    and isinstance(node.targets[0], (gast.Tuple, gast.List)):
                node.value = comprehension(node.value)

    def reduces(self):
        """`y = functools.reduce(f, xs[, init])` (or `return reduce(...)`) is the loop it
        runs: `acc = init` (else the first item) then `acc = f(acc, v)` for the rest;
        a lambda `f` is first bound to a local name, which is inlined where called.
        Serves chains of products and sums (`reduce(np.dot, mats)`, `reduce(lambda a,
        b: a @ b, mats)`, `reduce(operator.add, terms, 0.0)`)."""
        import functools

        def is_reduce(call):
            if not (isinstance(call, gast.Call) and 2 <= len(call.args) <= 3
                    and not call.keywords
                    and not any(isinstance(a, gast.Starred) for a in call.args)):
                return False
            f = call.func
            try:
                if isinstance(f, gast.Name):
                    return f.id not in stored and self.parsed.resolve(f.id) is functools.reduce
                if isinstance(f, gast.Attribute) and isinstance(f.value, gast.Name) \
                        and f.value.id not in stored:
                    return getattr(self.parsed.resolve(f.value.id), f.attr, None) \
                        is functools.reduce
            except KeyError:
                return False
            return False

        def expand(st, call):
            f, xs = call.args[0], call.args[1]
            out = []
            if isinstance(f, gast.Lambda):
                name = self.fresh("reduced_f")
                out.append(nodes.assign(name, f))
                f = nodes.name(name)
            acc, item, items = self.fresh("acc"), self.fresh("item"), self.fresh("items")
            out.append(nodes.assign(items, nodes.call("list", [xs])))
            if len(call.args) == 3:
                out.append(nodes.assign(acc, call.args[2]))
                rest = nodes.name(items)
            else:
                out.append(nodes.assign(acc, nodes.subscript(nodes.name(items),
                                                             nodes.const(0))))
                rest = nodes.subscript(nodes.name(items), gast.Slice(
                    lower=nodes.const(1), upper=None, step=None))
            step = nodes.assign(acc, nodes.call(f, [nodes.name(acc), nodes.name(item)]))
            out.append(nodes.for_(item, rest, [step]))
            if isinstance(st, gast.Return):
                out.append(gast.Return(value=nodes.name(acc)))
            else:
                out.append(gast.Assign(targets=st.targets, value=nodes.name(acc),
                                       type_comment=None))
            return [nodes.copy_location(x, st) for x in out]

        def rewrite(body):
            out = []
            for st in body:
                for field in ("body", "orelse"):
                    inner = getattr(st, field, None)
                    if isinstance(inner, list) and isinstance(st, (gast.If, gast.For,
                                                                   gast.While)):
                        setattr(st, field, rewrite(inner))
                value = st.value if isinstance(st, (gast.Assign, gast.Return)) else None
                if is_reduce(value) and (isinstance(st, gast.Return) or len(st.targets) == 1):
                    out += expand(st, value)
                else:
                    out.append(st)
            return out

        fn = self.parsed.node
        if not any(isinstance(n, (gast.Name, gast.Attribute))
                   and getattr(n, "id", getattr(n, "attr", None)) == "reduce"
                   for n in _walk_body(fn)):
            return
        stored = set(nodes.names_in(fn, nodes.STORE))
        fn.body = rewrite(fn.body)

    def listify(self, fdef):
        """Rewrite the generator function `fdef` into one returning the list of what it
        yields."""
        taken = {n.id for n in nodes.walk(fdef) if isinstance(n, gast.Name)}
        acc = nodes.fresh_name("yielded", taken)

        def rewrite(body):
            out = []
            for st in body:
                if isinstance(st, gast.Expr) and isinstance(st.value, gast.Yield):
                    v = st.value.value if st.value.value is not None else nodes.const(None)
                    new = gast.Expr(value=nodes.call(nodes.attribute(nodes.name(acc),
                                                                     "append"), [v]))
                    out.append(nodes.copy_location(new, st))
                    continue
                if isinstance(st, gast.Expr) and isinstance(st.value, gast.YieldFrom):
                    item = nodes.fresh_name("item", taken | {acc})
                    taken.add(item)
                    new = gast.For(target=nodes.name(item, store=True), iter=st.value.value,
                                   body=[nodes.copy_location(gast.Expr(value=nodes.call(
                                       nodes.attribute(nodes.name(acc), "append"),
                                       [nodes.name(item)])), st)],
                                   orelse=[], type_comment=None)
                    out.append(nodes.copy_location(new, st))
                    continue
                if isinstance(st, gast.Return):
                    if st.value is not None and not (isinstance(st.value, gast.Constant)
                                                     and st.value.value is None):
                        raise self.error("s2sgrad cannot differentiate a generator that "
                                         "returns a value", st, "end it with a bare `return`")
                    out.append(nodes.copy_location(nodes.return_(nodes.name(acc)), st))
                    continue
                if isinstance(st, (gast.FunctionDef, gast.ClassDef)):
                    out.append(st)
                    continue
                for field in ("body", "orelse"):
                    if isinstance(getattr(st, field, None), list):
                        setattr(st, field, rewrite(getattr(st, field)))
                for n in nodes.walk(st):
                    if isinstance(n, (gast.Yield, gast.YieldFrom)) and \
                            not _inside_nested_function(st, n):
                        raise self.error("s2sgrad cannot differentiate a `yield` whose value "
                                         "is used", n, "write `yield v` as a statement")
                out.append(st)
            return out
        body = rewrite(fdef.body)
        start = nodes.copy_location(nodes.assign(acc, gast.List(elts=[], ctx=gast.Load())),
                                    fdef.body[0])
        doc = body[:1] if body and isinstance(body[0], gast.Expr) and \
            isinstance(body[0].value, gast.Constant) else []
        body = doc + [start] + body[len(doc):]
        if not _ends(body):
            body.append(nodes.copy_location(nodes.return_(nodes.name(acc)), fdef.body[-1]))
        fdef.body = body

    # -- starred arguments -----------------------------------------------------
    def spread(self, e, pre, what=None):
        """`f(a, *xs)`: the items of a display (`f(*(a, b))`) are passed one by one; for a
        function whose positional parameters are known (a local function, one of yours,
        without defaults or `*args`), `xs` is passed as `xs[0], xs[1], …`, as many as
        the parameters left, after a check that it has that many items; for any other
        function, a name bound once to a display is spread like it (`spread_known`).
        Any other call keeps `*xs` (the trace accepts it where no gradient is involved:
        `rs.randn(*shape)`)."""
        arity = self.positional_arity(e.func)
        if arity is None:
            e = self.spread_known(e)
        starred = [a for a in e.args if isinstance(a, gast.Starred)]
        opaque = [a for a in starred if not isinstance(a.value, (gast.Tuple, gast.List))]
        if len(opaque) > 1 or (opaque and arity is None):
            return e
        fixed = sum(1 for a in e.args if not isinstance(a, gast.Starred)) + sum(
            len(a.value.elts) for a in starred if a not in opaque)
        args = []
        for a in e.args:
            if not isinstance(a, gast.Starred):
                args.append(a)
            elif a not in opaque:
                args += list(a.value.elts)
            else:
                named = self.params_of(e.func)
                k = arity - fixed - sum(1 for kw in e.keywords if kw.arg in named)
                if k < 0:
                    raise self.error("too many arguments for the call", e)
                seq = self.atom(a.value, pre)
                label = what or f"{_describe_call(e.func)} takes {arity} positional " \
                    "arguments"
                check = gast.Expr(value=nodes.call("spread_count", [
                    nodes.clone(seq), nodes.const(k),
                    nodes.const(f"{label}: `*{_describe_call(a.value)}` must give {k}")]))
                pre.append(nodes.copy_location(check, a))
                args += [nodes.copy_location(nodes.subscript(nodes.clone(seq), nodes.const(i)),
                                             a) for i in range(k)]
        return nodes.copy_location(gast.Call(func=e.func, args=args, keywords=e.keywords), e)

    def spread_known(self, e):
        """`f(*xs)` of a name bound once to a list or tuple display (`_fixed_display`):
        `f(*(xs[0], xs[1], …))`, as many items as the display has."""
        args = []
        for a in e.args:
            shown = _fixed_display(self.parsed, a.value.id) if isinstance(
                a, gast.Starred) and isinstance(a.value, gast.Name) else None
            if isinstance(shown, (gast.List, gast.Tuple)):
                items = [nodes.copy_location(nodes.subscript(nodes.clone(a.value),
                                                             nodes.const(i)), a)
                         for i in range(len(shown.elts))]
                a = nodes.copy_location(gast.Starred(value=nodes.copy_location(
                    gast.Tuple(elts=items, ctx=gast.Load()), a), ctx=gast.Load()), a)
            args.append(a)
        return nodes.copy_location(gast.Call(func=e.func, args=args, keywords=e.keywords), e)

    def spread_keywords(self, e):
        """`f(**{"k": v})`, and `f(**opts)` of a name bound once to such a dict display
        (`_fixed_display`): `f(k=v)`, `f(k=opts["k"])`, one keyword per key. A `**`
        whose keys are not known here stays (refused where it reaches the trace)."""
        if not any(k.arg is None for k in e.keywords):
            return e
        keywords = []
        for kw in e.keywords:
            shown = kw.value if isinstance(kw.value, gast.Dict) else _fixed_display(
                self.parsed, kw.value.id) if isinstance(kw.value, gast.Name) else None
            if kw.arg is not None or getattr(kw, "s2s_packed", None) \
                    or not isinstance(shown, gast.Dict) or not all(
                        isinstance(k, gast.Constant) and isinstance(k.value, str)
                        for k in shown.keys):
                keywords.append(kw)
                continue
            for k, v in zip(shown.keys, shown.values):
                value = v if shown is kw.value else nodes.copy_location(
                    nodes.subscript(nodes.clone(kw.value), nodes.const(k.value)), kw.value)
                keywords.append(gast.keyword(arg=k.value, value=value))
        given = [k.arg for k in keywords if k.arg is not None]
        twice = sorted({k for k in given if given.count(k) > 1})
        if twice:
            raise self.error(f"the keyword `{twice[0]}=` is given twice in the call", e)
        return nodes.copy_location(gast.Call(func=e.func, args=e.args, keywords=keywords), e)

    def spread_zip(self, it, target, pre):
        """`for a, b in zip(*rows)`: as many sequences as the target has names, checked
        against the number of rows when the loop starts."""
        starred = [a for a in it.args if isinstance(a, gast.Starred)]
        if len(starred) > 1 or not isinstance(target, (gast.Tuple, gast.List)):
            raise self.error("zip(*...) needs a target of one name per sequence (`for a, b "
                             "in zip(*rows)`)", starred[0], "unpack into names")
        if len(target.elts) < len(it.args) - 1:
            raise self.error("unpack zip() into one name per sequence", target)
        self.arity_override = len(target.elts)
        try:
            return self.spread(it, pre, f"the loop unpacks {len(target.elts)} sequences")
        finally:
            self.arity_override = None

    def pack_call(self, e):
        """A call of a function of yours with `*args`/`**kwargs` parameters passes the
        extra positional arguments as one tuple, the extra keywords as one dict (the
        function is compiled with them as plain parameters, `pipeline.pack_variadic`)."""
        import inspect
        fn = self._python_function(e.func)
        if fn is None or isinstance(fn, (gast.FunctionDef, gast.Lambda)) \
                or any(isinstance(a, gast.Starred) for a in e.args):
            return e
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return e
        star = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
        keywords = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
        if not (star or keywords) or any(p.kind is p.KEYWORD_ONLY for p in params):
            return e
        named = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        given = {k.arg for k in e.keywords if k.arg is not None}
        args = list(e.args[:len(named)])
        for p in named[len(args):]:
            if p.name in given or p.default is p.empty:
                if p.name not in given:
                    return e                # a missing argument: Python's TypeError
                if star:
                    raise self.error(f"pass the named arguments of {fn.__name__} by "
                                     f"position when it is called with `*{star}`", e)
                continue
            if star:
                args.append(nodes.const(p.default) if _plain_default(p.default)
                            else None)
                if args[-1] is None:
                    raise self.error(f"pass `{p.name}` to {fn.__name__} (s2sgrad packs "
                                     f"the `*{star}` of a call after every named "
                                     "argument)", e)
        keep = [k for k in e.keywords if k.arg in {p.name for p in named}]
        extra = [k for k in e.keywords if k not in keep]
        if any(k.arg is None for k in extra) or (extra and not keywords):
            return e
        # `f(a, *(b, c), **{"k": v})`: Python's own call when the function runs as it is,
        # and, marked `s2s_packed`, one operand per packed parameter for the trace
        if star:
            packed = gast.Starred(value=nodes.copy_location(gast.Tuple(
                elts=list(e.args[len(named):]), ctx=gast.Load()), e), ctx=gast.Load())
            packed.s2s_packed = star
            args.append(nodes.copy_location(packed, e))
        elif len(e.args) > len(named):
            return e
        if keywords:
            packed = gast.keyword(arg=None, value=nodes.copy_location(gast.Dict(
                keys=[nodes.const(k.arg) for k in extra], values=[k.value for k in extra]),
                e))
            packed.s2s_packed = keywords
            keep.append(packed)
        return nodes.copy_location(gast.Call(func=e.func, args=args, keywords=keep), e)

    def params_of(self, func):
        """The positional parameter names of the function `func` names, or []."""
        fn = self._python_function(func)
        if isinstance(fn, (gast.FunctionDef, gast.Lambda)):
            return [a.id for a in fn.args.args]
        if fn is None:
            return []
        import inspect
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def positional_arity(self, func):
        """How many positional arguments a call of `func` takes when that is fixed: a
        local function or a Python function of the user's, without defaults, `*args` or
        keyword-only parameters; else None."""
        if self.arity_override is not None:
            return self.arity_override
        fn = self._python_function(func)
        if isinstance(fn, (gast.FunctionDef, gast.Lambda)):
            a = fn.args
            plain = not (a.vararg or a.kwarg or a.kwonlyargs or a.defaults)
            return len(a.args) if plain else None
        if fn is None:
            return None
        import inspect
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return None
        if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               or p.default is not p.empty for p in params):
            return None
        return len(params)

    def _python_function(self, func):
        """The local function node or the Python function object `func` names."""
        import types
        if isinstance(func, gast.Name) and func.id in self.local_functions:
            return self.local_functions[func.id]
        if not isinstance(func, gast.Name):
            return None
        given = getattr(self.parsed, "functions", None) or {}
        if func.id in self.used_locally:
            if func.id not in given or func.id in set(nodes.names_in(self.parsed.node,
                                                                     nodes.STORE)):
                return None
            obj = given[func.id]                    # a parameter given this function
        else:
            try:
                obj = self.parsed.resolve(func.id)
            except KeyError:
                return None
        if isinstance(obj, types.FunctionType) and \
                (obj.__module__ or "").split(".")[0] not in ("numpy", "scipy", "math"):
            return obj
        return None

    # -- small helpers -------------------------------------------------------
    def small_helper(self, name):
        """The def of the function of the user's that `name` calls when its call is
        better inlined than paired, else None.

        Serves code written as many tiny helpers called in loops (`residual(a, b, x, y)`,
        `softplus(z)`, `sigmoid(z)` called per data point): a generated forward/backward
        pair per call costs two Python calls and a tuple of saved values each time, more
        than the helper's own arithmetic. A helper is inlined, like a local function,
        when it is defined in the same file as the caller (the line numbers in the
        generated comments stay the file's), is a plain `def` without closure, decorator
        marks, *args/**kwargs or keyword-only parameters, its defaults are literals, its
        body is at most `_SMALL` assignments to names ending in its one `return` (no loop,
        branch, `op=`, nested function, global or yield), it changes no argument in
        place, calls none of its parameters, and
        every free name it reads denotes the same object where the call is and is no
        local name of the caller. Anything else (recursion included) keeps its pair."""
        if not self.parsed.inline_helpers or name in self.inlining \
                or name in self.used_locally or name in getattr(self.parsed, "functions", {}):
            return None
        cache = self.__dict__.setdefault("_helpers", {})
        if name not in cache:
            cache[name] = self._small_helper(name)
        return cache[name]

    def _small_helper(self, name):
        import types
        from .. import rules
        from ..errors import S2SGradError
        from .effects import parameter_writes
        from .parse import parse_function
        try:
            obj = self.parsed.resolve(name)
        except KeyError:
            return None
        code = getattr(obj, "__code__", None)
        if type(obj) is not types.FunctionType or obj.__closure__ or code is None \
                or code.co_flags & 0x3AC or code.co_kwonlyargcount \
                or getattr(obj, "__s2sgrad_checkpoint__", False) \
                or id(obj) in rules.CALLABLES or id(obj) in rules.T_CALLABLES \
                or code.co_filename != self.parsed.filename or obj.__name__ == "<lambda>":
            return None
        try:
            helper = parse_function(obj)
        except S2SGradError:
            return None
        if getattr(helper, "renamed", None):
            return None                  # names renamed at parse time: its pair maps them
        fn = helper.node
        body = fn.body
        if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant):
            body = body[1:]
        if not body or len(body) > _SMALL or fn.decorator_list \
                or not all(_is_literal(d) for d in fn.args.defaults) \
                or not _same_defaults(fn.args.defaults, obj.__defaults__) \
                or not isinstance(body[-1], gast.Return) or body[-1].value is None \
                or not all(isinstance(st, (gast.Assign, gast.Return)) for st in body) \
                or any(isinstance(n, (gast.Lambda, gast.FunctionDef, gast.Yield,
                                      gast.YieldFrom, gast.Await, gast.NamedExpr,
                                      gast.ListComp, gast.SetComp, gast.DictComp,
                                      gast.GeneratorExp, gast.Starred))
                       for st in body for n in nodes.walk(st)) \
                or sum(isinstance(st, gast.Return) for st in body) != 1 \
                or any(not isinstance(t, gast.Name) for st in body
                       if isinstance(st, gast.Assign) for t in st.targets) \
                or parameter_writes(obj):
            return None
        local = set(nodes.names_in(fn, nodes.STORE)) | {a.id for a in fn.args.args}
        if any(isinstance(n, gast.Call) and isinstance(n.func, gast.Name)
               and n.func.id in local for st in body for n in nodes.walk(st)):
            return None                  # calls a function it is given: specialized pairs
        for free in set(nodes.names_in(fn)) - local:
            if free in self.used_locally or free == name:
                return None
            try:
                if helper.resolve(free) is not self.parsed.resolve(free):
                    return None
            except KeyError:
                return None
        self.used |= set(nodes.names_in(fn))
        if name not in self.parsed.closure and name in self.parsed.namespace:
            # the code holds the helper's body: stale once the name is rebound
            if not isinstance(getattr(self.parsed, "name_deps", None), list):
                self.parsed.name_deps = list(getattr(self.parsed, "name_deps", ()))
            self.parsed.name_deps.append((self.parsed.namespace, name, obj))
        from .parse import FunctionView
        view = FunctionView(obj)          # (its body and defaults are in the code)
        if not isinstance(getattr(self.parsed, "name_deps", None), list):
            self.parsed.name_deps = list(getattr(self.parsed, "name_deps", ()))
        self.parsed.name_deps += [(view, "__code__", obj.__code__),
                                  (view, "__defaults__", obj.__defaults__)]
        renames = getattr(self.parsed, "free_renames", None)
        if renames:                      # (the caller's free names renamed for its module:
            from ..syntax.scopes import rename_free      # ad.callees.bind_callee_names)
            rename_free(fn, renames)
        return fn

    # -- local functions -------------------------------------------------------
    def defines_local_function(self, st):
        """Is `st` the `def f(...)` or `f = lambda ...` of a local function (dropped:
        its calls are inlined)?"""
        if isinstance(st, gast.FunctionDef):
            return self.local_functions.get(st.name) is st
        return isinstance(st, gast.Assign) and len(st.targets) == 1 \
            and isinstance(st.targets[0], gast.Name) \
            and self.local_functions.get(st.targets[0].id) is st.value

    def local_function_defaults(self, st):
        """What stays of `st` in the body: nothing for a local function's def (its calls
        are inlined), except its defaults that are not literals, which Python evaluates
        once, when the def runs: `def h(v, n=k)` becomes `n_h = k` there, and calls
        that leave `n` out read `n_h`."""
        if not self.defines_local_function(st):
            return [st]
        fn = st if isinstance(st, gast.FunctionDef) else st.value
        name = st.name if isinstance(st, gast.FunctionDef) else st.targets[0].id
        params = [a.id for a in fn.args.args]
        out, bound = [], {}
        for p, d in zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults):
            if _is_literal(d):
                continue
            bound[p] = self.fresh(f"{p}_{name}")
            out.append(nodes.copy_location(nodes.assign(bound[p], nodes.clone(d)), d))
        self.default_values[name] = bound
        return out

    def inline(self, e, pre, fn=None):
        """`f(a, b)` of a local function f (or of the small helper `fn`): bind fresh
        copies of its parameters, run its body with its locals renamed apart, and give
        the value it returns."""
        name = e.func.id
        fn = fn or self.local_functions[name]
        if name in self.inlining:
            raise self.error(f"the local function `{name}` calls itself", e,
                             "define it at module level: module-level functions may recurse")
        params = [a.id for a in fn.args.args]
        if len(e.args) > len(params):
            raise self.error(f"`{name}` takes {len(params)} arguments, "
                             f"{len(e.args)} given", e)
        bound = {p: self.atom(a, pre) for p, a in zip(params, e.args)}
        for kw in e.keywords:
            if kw.arg not in params or kw.arg in bound:
                raise self.error(f"`{name}` has no parameter `{kw.arg}` left to pass by name"
                                 if kw.arg is not None else "`**kwargs` in calls is not "
                                 "supported", kw.value)
            bound[kw.arg] = self.atom(kw.value, pre)
        defaults = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
        renames = {}
        stored = set() if isinstance(fn, gast.Lambda) else set(nodes.names_in(fn, nodes.STORE))
        for p in params:
            if p not in bound and p not in defaults:
                raise self.error(f"`{name}` is called without its argument `{p}`", e)
            evaluated = self.default_values.get(name, {})
            value = bound[p] if p in bound else nodes.name(evaluated[p]) if p in evaluated \
                else self.atom(nodes.clone(defaults[p]), pre)
            if p not in stored and isinstance(value, (gast.Name, gast.Constant)):
                renames[p] = value         # the body reads the argument itself
                continue
            renames[p] = self.fresh(p)
            pre.append(nodes.copy_location(nodes.assign(renames[p], value), e))
        if isinstance(fn, gast.Lambda):
            body = _renamed(fn.body, renames)
            self.inlining.append(name)
            try:
                return self.expr(body, pre)
            finally:
                self.inlining.pop()
        shared = {v for n in nodes.walk(fn) if isinstance(n, gast.Nonlocal) for v in n.names}
        for local in sorted(nodes.names_in(fn, nodes.STORE)):
            if local not in renames and local != name and local not in shared:
                renames[local] = self.fresh(local)
        body = [_renamed(st, renames) for st in fn.body]
        if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant):
            body = body[1:]                          # docstring
        if body and isinstance(body[-1], gast.Return) and body[-1].value is not None \
                and not _has_early_return(body):
            self.inlining.append(name)   # straight to the end: the call is the value returned
            self.depth += 1
            try:
                pre.extend(self.block(body[:-1]))
                return self.expr(body[-1].value, pre)
            finally:
                self.depth -= 1
                self.inlining.pop()
        result = self.fresh("result")
        saved = (self.ret_flag, self.ret_value, self.loop_flags)
        self.ret_flag = self.fresh("returned") if _has_early_return(body) else None
        self.ret_value, self.loop_flags = result, []
        self.inlining.append(name)
        falls_off = not body or not isinstance(body[-1], gast.Return)
        try:
            if self.ret_flag or falls_off:
                pre.append(nodes.copy_location(nodes.assign(result, nodes.const(None)), e))
            if self.ret_flag:
                pre.append(nodes.copy_location(
                    nodes.assign(self.ret_flag, nodes.const(False)), e))
            self.depth += 1              # the body may run many times (in a loop, twice)
            pre.extend(self.block(body))
        finally:
            self.depth -= 1
            self.inlining.pop()
            self.ret_flag, self.ret_value, self.loop_flags = saved
        return nodes.name(result)

    def expr_Attribute(self, e, pre):
        if _is_dotted_global(e, self.parsed):
            return nodes.clone(e)
        return gast.Attribute(value=self.atom(e.value, pre), attr=e.attr, ctx=gast.Load())

    def expr_Subscript(self, e, pre):
        return nodes.subscript(self.atom(e.value, pre), self.index(e.slice, pre))

    def index(self, idx, pre):
        if isinstance(idx, gast.Slice):
            return gast.Slice(lower=self._opt_atom(idx.lower, pre),
                              upper=self._opt_atom(idx.upper, pre),
                              step=self._opt_atom(idx.step, pre))
        if isinstance(idx, gast.Tuple):
            return gast.Tuple(elts=[self.index(x, pre) for x in idx.elts], ctx=gast.Load())
        return self.atom(idx, pre)

    def _opt_atom(self, e, pre):
        return None if e is None else self.atom(e, pre)

    def expr_Tuple(self, e, pre):
        if any(isinstance(x, gast.Starred) for x in e.elts):
            return self.starred_display(e, pre, "tuple", nodes.tuple_)
        return nodes.tuple_([self.atom(x, pre) for x in e.elts])

    def expr_List(self, e, pre):
        if any(isinstance(x, gast.Starred) for x in e.elts):
            return self.starred_display(e, pre, "list", nodes.list_)
        return nodes.list_([self.atom(x, pre) for x in e.elts])

    def starred_display(self, e, pre, kind, display):
        """`[*a, *b, x]` → `list(a) + list(b) + [x]`, `(*a, x)` → `tuple(a) + (x,)`: the
        concatenation of the starred items' copies and of the runs of plain items."""
        parts, run = [], []
        for x in e.elts:
            if isinstance(x, gast.Starred):
                if run:
                    parts.append(display(run))
                    run = []
                parts.append(nodes.copy_location(nodes.call(kind, [x.value]), x))
            else:
                run.append(x)
        if run:
            parts.append(display(run))
        return self.expr(self._joined(parts, e), pre)

    @staticmethod
    def _joined(parts, e):
        """parts[0] + parts[1] + … (evaluated left to right, as the display was)."""
        out = parts[0]
        for part in parts[1:]:
            out = nodes.copy_location(gast.BinOp(left=out, op=gast.Add(), right=part), e)
        return out

    def expr_Dict(self, e, pre):
        if any(k is None for k in e.keys):
            return self.merged_dict(e, pre)
        keys = []
        for k in e.keys:
            keys.append(self.atom(k, pre))
        return gast.Dict(keys=keys, values=[self.atom(v, pre) for v in e.values])

    def merged_dict(self, e, pre):
        """`{**p, "c": v, **q}` → `{k: v for k, v in list(p.items()) + [("c", v)] +
        list(q.items())}`: the pairs in the display's order, so later keys win."""
        parts, run = [], []
        for k, v in zip(e.keys, e.values):
            if k is None:
                if run:
                    parts.append(nodes.list_(run))
                    run = []
                parts.append(nodes.copy_location(nodes.call("list", [nodes.call(
                    nodes.attribute(v, "items"))]), v))
            else:
                run.append(nodes.tuple_([k, v]))
        if run:
            parts.append(nodes.list_(run))
        key, value = self.fresh("key"), self.fresh("value")
        comp = gast.DictComp(key=nodes.name(key), value=nodes.name(value), generators=[
            gast.comprehension(target=nodes.tuple_([nodes.name(key, store=True),
                                                    nodes.name(value, store=True)], store=True),
                               iter=self._joined(parts, e), ifs=[], is_async=0)])
        return self.comprehension(nodes.copy_location(comp, e), pre)

    def expr_ListComp(self, e, pre):
        return nodes.name(self.comprehension(e, pre).id)

    def expr_JoinedStr(self, e, pre):
        """f"loss {v:.3f}" → `template = 'loss {:.3f}'; template.format(v)`: a string, which
        carries no gradient (`.format` is declared non-differentiable), so printing or
        logging a value is no reason to refuse a function."""
        text, values = [], []
        for part in e.values:
            if isinstance(part, gast.Constant):
                text.append(str(part.value).replace("{", "{{").replace("}", "}}"))
                continue
            spec = part.format_spec
            if spec is not None and not all(isinstance(p, gast.Constant) for p in spec.values):
                raise self.error("s2sgrad cannot differentiate f-strings with a computed "
                                 "format spec", part, "write the format spec literally")
            conversion = "" if part.conversion in (None, -1) else "!" + chr(part.conversion)
            spec_text = "".join(str(p.value) for p in spec.values) if spec is not None else ""
            text.append("{" + conversion + (":" + spec_text if spec_text else "") + "}")
            values.append(self.atom(part.value, pre))
        template = self.fresh("template")
        pre.append(nodes.copy_location(nodes.assign(template, nodes.const("".join(text))), e))
        return nodes.call(nodes.attribute(nodes.name(template), "format"), values)

    expr_GeneratorExp = expr_ListComp

    def comprehension(self, e, pre):
        """`[elt for x in xs if c]` → a list built by a loop with `append`; `{k: v for …}`
        → a dict built by a loop with `d[k] = v`."""
        result = self.fresh("items")
        empty = gast.Dict(keys=[], values=[]) if isinstance(e, gast.DictComp) else nodes.list_([])
        pre.append(nodes.copy_location(nodes.assign(result, empty), e))
        # the loop variables belong to the comprehension: renamed apart from the function's
        renames, gens = {}, []
        for gen in e.generators:
            if gen.is_async:
                raise self.error("async comprehensions are not supported", e)
            it = _renamed(gen.iter, renames)
            for n in sorted(nodes.names_in(gen.target, nodes.STORE)):
                renames[n] = self.fresh(n)
            gens.append((_renamed(gen.target, renames), it,
                         [_renamed(c, renames) for c in gen.ifs]))
        if isinstance(e, gast.DictComp):          # {k: v for ...}: d[k] = v in the loop
            inner = gast.Assign(targets=[gast.Subscript(
                value=nodes.name(result), slice=_renamed(e.key, renames), ctx=gast.Store())],
                value=_renamed(e.value, renames), type_comment=None)
        else:
            inner = gast.Expr(value=gast.Call(
                func=gast.Attribute(value=nodes.name(result), attr="append", ctx=gast.Load()),
                args=[_renamed(e.elt, renames)], keywords=[]))
        stmt = inner
        for target, it, ifs in reversed(gens):
            body = [stmt]
            for cond in reversed(ifs):
                body = [gast.If(test=cond, body=body, orelse=[])]
            stmt = gast.For(target=target, iter=it, body=body, orelse=[], type_comment=None)
        _locate(stmt, e)
        pre.extend(self.stmt(stmt))
        return nodes.name(result)

    def expr_DictComp(self, e, pre):
        return self.comprehension(e, pre)


def _is_chain(e):
    """Is `e` a name or an attribute chain rooted at one (`d.get`, `np.abs`)?"""
    while isinstance(e, gast.Attribute):
        e = e.value
    return isinstance(e, gast.Name)


def _is_extend(value):
    """Is `value` the call `xs.extend(ys)` of a local name, one positional argument?"""
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
        and value.func.attr == "extend" and isinstance(value.func.value, gast.Name) \
        and len(value.args) == 1 and not isinstance(value.args[0], gast.Starred) \
        and not value.keywords


def _key_lambda(call):
    """The `key=lambda p: ...` of a call, or None."""
    for k in getattr(call, "keywords", ()):
        if k.arg == "key" and isinstance(k.value, gast.Lambda):
            return k.value
    return None


def _sort_keys(tree):
    """ids of the lambdas given as `key=` to `sorted(xs, ...)` (one plain parameter, no
    other keyword than reverse=) or to `min`/`max` (other keyword: default=):
    `Normalizer.sorted_by_lambda` and `Normalizer.extremum_by_key` inline them."""
    out = set()
    for n in nodes.walk(tree):
        lam = _key_lambda(n) if isinstance(n, gast.Call) else None
        if lam is None or not isinstance(n.func, gast.Name) or len(lam.args.args) != 1 \
                or lam.args.defaults or lam.args.vararg or lam.args.kwarg \
                or lam.args.kwonlyargs or lam.args.posonlyargs:
            continue
        if n.func.id == "sorted" and len(n.args) == 1 \
                and all(k.arg in ("key", "reverse") for k in n.keywords):
            out.add(id(lam))
        elif n.func.id in ("min", "max") and _extremum_by_key(n):
            out.add(id(lam))
    return out


def _extremum_by_key(call):
    """Is `call` a `min`/`max` call with `key=` that `Normalizer.extremum_by_key`
    lowers: positional items or one iterable (then maybe `default=`), nothing starred?"""
    words = [k.arg for k in call.keywords]
    return "key" in words and set(words) <= {"key", "default"} and call.args \
        and not any(isinstance(a, gast.Starred) for a in call.args) \
        and ("default" not in words or len(call.args) == 1)


def _is_pairs(e):
    """Is `e` spelled as a sequence of pairs (what `dict(e)` lowers to a loop over): a
    `zip(...)` call, a list or tuple display, or a list comprehension? (A dict or another
    value is left to `dict`, which iterates a dict's keys.)"""
    return isinstance(e, (gast.List, gast.Tuple, gast.ListComp)) or (
        isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and e.func.id == "zip")


def _local_functions(fn):
    """The local functions s2sgrad inlines: `def f(...)` or `f = lambda ...` at the top
    level of the body, `f` bound only there and only ever called (`f(...)`), with plain
    parameters (defaults are evaluated where the def is) and no decorators. Others stay
    refused."""
    found = {}
    for st in fn.body:
        if isinstance(st, gast.FunctionDef) and not st.decorator_list:
            found[st.name] = st
        elif isinstance(st, gast.Assign) and len(st.targets) == 1 \
                and isinstance(st.targets[0], gast.Name) and isinstance(st.value, gast.Lambda):
            found[st.targets[0].id] = st.value
    for name, node in list(found.items()):
        a = node.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
            del found[name]
    if not found:
        return found
    binds, calls = {}, set()
    for n in nodes.walk(fn):
        if isinstance(n, gast.Call) and isinstance(n.func, gast.Name):
            calls.add(id(n.func))
            if n.func.id in ("min", "max") and _extremum_by_key(n):
                # (`Normalizer.extremum_by_key` calls its key on each item)
                calls.update(id(k.value) for k in n.keywords if k.arg == "key")
        if isinstance(n, (gast.FunctionDef, gast.Lambda)):
            for a in n.args.args:
                binds[a.id] = binds.get(a.id, 0) + 1      # a parameter shadows the name
        if isinstance(n, gast.FunctionDef) and n is not fn:
            binds[n.name] = binds.get(n.name, 0) + 1
    for n in nodes.walk(fn):
        if isinstance(n, gast.Name) and n.id in found:
            if isinstance(n.ctx, gast.Store):
                binds[n.id] = binds.get(n.id, 0) + 1
            elif isinstance(n.ctx, gast.Load) and id(n) not in calls:
                binds[n.id] = binds.get(n.id, 0) + 2      # used as a value: not inlined
    return {k: v for k, v in found.items() if binds.get(k, 0) == 1}


def _stored_arguments(fn, body):
    """Arguments that `body` writes into (`x[i] = v`, `x[i] += v`, `xs.append(v)`), in
    parameter order."""
    params = [a.id for a in fn.args.args]
    hit = set()
    for st in body:
        for n in nodes.walk(st):
            targets = n.targets if isinstance(n, gast.Assign) else \
                [n.target] if isinstance(n, gast.AugAssign) else []
            for t in targets:
                for sub in nodes.walk(t):
                    if isinstance(sub, gast.Subscript) and isinstance(sub.ctx, gast.Store):
                        base = sub.value
                        while isinstance(base, gast.Subscript):
                            base = base.value
                        if isinstance(base, gast.Name):
                            hit.add(base.id)
            if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                    and n.func.attr in ("append", "extend") \
                    and isinstance(n.func.value, gast.Name):
                hit.add(n.func.value.id)
    return [p for p in params if p in hit]


def _renamed(tree, renames):
    """A copy of `tree` with the names in `renames` replaced (by a name for a str, by
    a copy of the node for a node: an argument read in place of a parameter)."""
    return nodes.substitute(tree, renames)


def _assigned_in_blocks(fn):
    """Names stored inside compound statements (those cannot be renamed to SSA)."""
    out = set()
    for stmt in fn.body:
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            out.update(nodes.names_in(stmt, nodes.STORE))
        for n in nodes.walk(stmt):
            if isinstance(n, (gast.ListComp, gast.GeneratorExp, gast.DictComp)):
                out.update(nodes.names_in(n, nodes.STORE))
    return out


_CHANGING_METHODS = {"append", "extend", "insert", "pop", "remove", "update", "setdefault",
                     "clear", "sort", "reverse", "fill", "resize", "put"}


def _changed_in_blocks(fn):
    """Names whose object a compound statement changes in place (`xs.append(v)`,
    `y[i] = v`, `y[i] += v` in a loop or a branch): like the names stored there, they
    are not renamed to SSA."""
    out = set()
    for stmt in fn.body:
        if not isinstance(stmt, (gast.If, gast.For, gast.While)):
            continue
        for n in nodes.walk(stmt):
            if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) \
                    and isinstance(n.value, gast.Name):
                out.add(n.value.id)
            elif isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Subscript) \
                    and isinstance(n.target.value, gast.Name):
                out.add(n.target.value.id)
            elif isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute) \
                    and n.func.attr in _CHANGING_METHODS and isinstance(n.func.value, gast.Name):
                out.add(n.func.value.id)
            elif isinstance(n, gast.Delete):          # (`del xs[i]` rebinds xs)
                out.update(t.value.id for t in n.targets if isinstance(t, gast.Subscript)
                           and isinstance(t.value, gast.Name))
    return out


def _placed_at(tree, loc):
    """`tree` (parsed from a template, the user's subtrees put in it) with every node at
    `loc`'s place: errors and `# grad of:` comments point at the user's statement."""
    for n in nodes.walk(tree):
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if hasattr(loc, attr):
                setattr(n, attr, getattr(loc, attr))
    return tree


def _locate(tree, loc):
    for n in nodes.walk(tree):
        if not hasattr(n, "lineno") and hasattr(loc, "lineno"):
            nodes.copy_location(n, loc)


def _same_defaults(nodes_, values):
    """Are the function's defaults now (`__defaults__`) the literals its source shows?
    (Inlining writes the literals; `f.__defaults__ = ...` may have changed them.)"""
    import ast
    values = tuple(values or ())
    if len(values) != len(nodes_):
        return False
    try:
        literal = tuple(ast.literal_eval(gast.gast_to_ast(nodes.clone(d))) for d in nodes_)
    except (ValueError, TypeError, SyntaxError):
        return False
    return all(type(a) is type(b) and a == b for a, b in zip(literal, values))


def _is_literal(e):
    if isinstance(e, gast.Constant):
        return True
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, (gast.USub, gast.UAdd)) \
            and isinstance(e.operand, gast.Constant) \
            and isinstance(e.operand.value, (int, float, complex)) \
            and not isinstance(e.operand.value, bool):
        return True
    if isinstance(e, gast.Tuple):
        return all(_is_literal(x) for x in e.elts)
    return False


def _is_comprehension_arg(call):
    return len(call.args) == 1 and isinstance(call.args[0], gast.GeneratorExp)


def _library_spelling(e, parsed, obj):
    """The call `e` of a NumPy function written with the functions it stands for, or
    None: `np.sum(x, axis, initial=c)` is `np.sum(x, axis) + c` (np.prod's `* c`),
    `np.linalg.multi_dot([A, B, C])` is `A @ B @ C` (the same product, its order fixed),
    `np.diagflat(v, k)` is `np.diag(np.ravel(v), k)`. Serves code that uses these
    spellings (they were refused as options or functions without a rule). `obj`: what
    the call's function denotes (`Normalizer._global_chain`), or None."""
    func = e.func
    if obj is None or any(k.arg is None for k in e.keywords):
        return None
    kw = {k.arg: k.value for k in e.keywords}
    if (obj is np.sum or obj is np.prod) and "initial" in kw and "where" not in kw \
            and len(e.args) <= 3:
        rest = [k for k in e.keywords if k.arg != "initial"]
        reduced = gast.Call(func=func, args=list(e.args), keywords=rest)
        op = gast.Add() if obj is np.sum else gast.Mult()
        return gast.BinOp(left=reduced, op=op, right=kw["initial"])
    multi_dot = getattr(np.linalg, "multi_dot", None)
    if obj is multi_dot and len(e.args) == 1 and not kw and \
            isinstance(e.args[0], (gast.List, gast.Tuple)) and len(e.args[0].elts) >= 2 \
            and not any(isinstance(x, gast.Starred) for x in e.args[0].elts):
        out = e.args[0].elts[0]
        for x in e.args[0].elts[1:]:
            out = gast.BinOp(left=out, op=gast.MatMult(), right=x)
        return out
    if obj is np.diagflat and 1 <= len(e.args) + len(kw) <= 2 and set(kw) <= {"v", "k"}:
        args = dict(zip(("v", "k"), e.args), **kw)
        if "v" not in args:
            return None
        ravel = nodes.call(nodes.attribute(nodes.name("np"), "ravel"), [args["v"]])
        diag = nodes.call(nodes.attribute(nodes.name("np"), "diag"),
                          [ravel] + ([args["k"]] if "k" in args else []))
        return diag if _numpy_is_np(parsed) else None
    return None


def _numpy_is_np(parsed):
    """Does the name `np` denote NumPy in the function's module (so that spelled-out
    calls written with it resolve)?"""
    try:
        return parsed.resolve("np") is np and "np" not in _local_names(parsed)
    except KeyError:
        return False


def _is_dotted_global(e, parsed):
    """`np.linalg.norm`: an attribute chain rooted at a module-level name (not a local)."""
    while isinstance(e, gast.Attribute):
        e = e.value
    if not isinstance(e, gast.Name):
        return False
    local = e.id in _local_names(parsed)
    if local:
        return False
    try:
        import types
        return isinstance(parsed.resolve(e.id), types.ModuleType)
    except KeyError:
        return False


def _local_names(parsed):
    cache = getattr(parsed, "_locals", None)
    if cache is None:
        cache = set(nodes.names_in(parsed.node, nodes.STORE)) | {
            a.id for a in parsed.node.args.args}
        parsed._locals = cache
    return cache


def _fixed_display(parsed, name):
    """The display (a list or tuple without `*items`, or a dict with constant string keys
    and no `**items`) a local name is bound to when its length, or its keys, are known
    wherever the function reads it: bound once, by a statement of the function's own top
    level, and read only as `*name` or `**name` in a call or as `name[...]` (a tuple
    anywhere: it cannot change). Else None: `name.append(...)`, `name[k] = ...` or a
    call that is given the name could change it."""
    cache = getattr(parsed, "_fixed_displays", None)
    if cache is None:
        cache = parsed._fixed_displays = _fixed_displays(parsed.node)
    return cache.get(name)


def _binding_counts(fn):
    """({name: times `fn` binds it, its parameters and nested definitions included},
    the names it declares global or nonlocal)."""
    stores, declared = {}, set()
    for n in nodes.walk(fn):
        if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load):
            stores[n.id] = stores.get(n.id, 0) + 1     # (Store, Del, Param)
        elif isinstance(n, (gast.Global, gast.Nonlocal)):
            declared.update(n.names)
        elif isinstance(n, (gast.FunctionDef, gast.ClassDef)) and n is not fn:
            stores[n.name] = stores.get(n.name, 0) + 1
    return stores, declared


def _top_bindings(fn):
    """(statement, name) of each `name = value` at the top level of `fn`'s body."""
    for st in fn.body:
        if isinstance(st, gast.Assign) and len(st.targets) == 1 \
                and isinstance(st.targets[0], gast.Name):
            yield st, st.targets[0].id


def _fixed_displays(fn):
    stores, declared = _binding_counts(fn)
    found = {}
    for st, t in _top_bindings(fn):
        v = st.value
        if stores.get(t) != 1 or t in declared:
            continue
        if isinstance(v, (gast.List, gast.Tuple)) and not any(
                isinstance(e, gast.Starred) for e in v.elts):
            found[t] = v
        elif isinstance(v, gast.Dict) and all(
                isinstance(k, gast.Constant) and isinstance(k.value, str) for k in v.keys) \
                and len({k.value for k in v.keys}) == len(v.keys):
            found[t] = v
    if not found:
        return found
    read = set()                      # the reads that cannot change the display
    for n in nodes.walk(fn):
        if isinstance(n, gast.Call):
            read |= {id(a.value) for a in n.args if isinstance(a, gast.Starred)}
            read |= {id(k.value) for k in n.keywords if k.arg is None}
        elif isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Load):
            read.add(id(n.value))
    for n in nodes.walk(fn):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in found \
                and id(n) not in read and not isinstance(found[n.id], gast.Tuple):
            del found[n.id]
    return found


def _contains(node, kind, into_loops=False):
    """Does `node` contain a `kind` statement that jumps out of it (not one that
    belongs to a nested loop, unless `into_loops`)?"""
    if isinstance(node, kind):
        return True
    for child in gast.iter_child_nodes(node):
        if not isinstance(child, gast.stmt):
            continue
        if isinstance(child, (gast.For, gast.While)) and not into_loops:
            continue
        if _contains(child, kind, into_loops):
            return True
    return False


def _contains_jump(body, kind):
    return any(_contains(s, kind) if not isinstance(s, (gast.For, gast.While))
               else False for s in body)


def _has_early_return(body):
    for i, s in enumerate(body):
        if isinstance(s, gast.Return):
            if i != len(body) - 1:
                return True
        elif _contains(s, gast.Return, into_loops=True):
            return True
    return False


_SMALL = 8          # statements of a helper `Normalizer.small_helper` inlines

# what a local alias may denote (`Normalizer.aliases`): modules and functions (NumPy's
# functions are dispatcher objects of their own type)
_ALIASABLE = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, np.ufunc,
              type(np.sum))


def normalize(parsed: Parsed) -> gast.FunctionDef:
    return Normalizer(parsed).run()


def refused_constructs(parsed: Parsed):
    """[(node, what, hint)]: what `normalize` refuses in the function, seen as it sees
    it, after `Normalizer.rewrite_first` (a lambda in a loop over functions is inlined,
    not refused), made on a copy: each node is that of `parsed.node` at the same place
    (the rewrites keep locations). None where a rewrite refuses: running the
    transform gives that error."""
    copy = dataclasses.replace(parsed, node=nodes.clone(parsed.node))
    normalizer = Normalizer(copy)
    try:
        normalizer.rewrite_first()
    except TransformError:
        return None
    at = {}
    for n in nodes.walk(parsed.node):
        at.setdefault((type(n), getattr(n, "lineno", None), getattr(n, "col_offset", None)),
                      n)
    return [(at.get((type(n), getattr(n, "lineno", None), getattr(n, "col_offset", None)),
                    n), what, hint)
            for n, what, hint in unsupported_constructs(
                copy.node, normalizer.local_functions.values())]


def check_returns_value(parsed):
    """Refuse a differentiated function whose value can be None: a bare `return`,
    `return None`, or a path that reaches the end of the body. Its gradient would
    silently be zero (nothing depends on the inputs), so it is an error at transform
    time, located at the return or at the `def`."""
    fn = parsed.node
    for node in _own_statements(fn.body):
        if isinstance(node, gast.Return) and (
                node.value is None or (isinstance(node.value, gast.Constant)
                                       and node.value.value is None)):
            raise parsed.error(f"{fn.name} returns None here: there is nothing to "
                               "differentiate", node,
                               "return the number whose gradient you want")
    if not _ends(fn.body):
        last = fn.body[-1] if fn.body else fn
        raise parsed.error(
            f"{fn.name} can reach the end of its body without a `return` (after line "
            f"{getattr(last, 'end_lineno', None) or last.lineno}), so its value can be None",
            fn, "end every path with `return <the number whose gradient you want>`")


def _ends(stmts):
    """Can control not pass the end of this statement list (every path returns or
    raises)?"""
    return any(_stops(s) for s in stmts)


def _stops(s):
    if isinstance(s, (gast.Return, gast.Raise)):
        return True
    if isinstance(s, gast.If):
        return _ends(s.body) and _ends(s.orelse)
    if isinstance(s, gast.While):
        forever = isinstance(s.test, gast.Constant) and bool(s.test.value)
        return forever and not _contains_jump(s.body, gast.Break)
    if isinstance(s, gast.With):
        return _ends(s.body)
    if isinstance(s, gast.Try):
        return (_ends(s.body + s.orelse) and all(_ends(h.body) for h in s.handlers)) \
            or _ends(s.finalbody)
    return False


def _own_statements(stmts):
    """The statements of a body, nested blocks included, nested functions not."""
    for s in stmts:
        yield s
        if not isinstance(s, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            for f in ("body", "orelse", "finalbody"):
                yield from _own_statements(getattr(s, f, None) or [])
            for h in getattr(s, "handlers", None) or []:
                yield from _own_statements(h.body)


def is_dict(expr, parsed):
    """Is `expr` a dict wherever the function runs: a dict display or comprehension, a
    call of `dict`, a local name only ever assigned such values, or a parameter given a
    dict in this compilation (`parsed.dict_params`, from the argument kinds) and never
    reassigned? Looping over it iterates its keys."""
    if isinstance(expr, (gast.Dict, gast.DictComp)):
        return True
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) \
            and expr.func.id == "dict":
        return True
    if not isinstance(expr, gast.Name):
        return False
    fn = parsed.node
    values = [s.value for s in _own_statements(fn.body) if isinstance(s, gast.Assign)
              and any(isinstance(t, gast.Name) and t.id == expr.id for t in s.targets)]
    stored = [n for n in nodes.walk(fn) if isinstance(n, gast.Name) and n.id == expr.id
              and isinstance(n.ctx, gast.Store)]
    if len(values) != len(stored):       # bound otherwise too (a loop, unpacking, ...)
        return False
    if expr.id in {a.id for a in fn.args.args}:
        return expr.id in getattr(parsed, "dict_params", ()) and not values
    return bool(values) and all(is_dict(v, parsed) for v in values)
