"""Calls to the user's own functions.

Each callee gets a generated forward/backward pair instead of being inlined:

    def g_fwd(a, b):            # g's forward pass; also returns what its backward needs
        ...
        return y, (saved_v, v1, b)

    def g_bwd(saved, y_bar):    # g's backward pass
        saved_v, v1, b = saved
        ...
        return a_bar, b_bar

At the call site, `y = g(a, b)` becomes `y, y_saved = g_fwd(a, b)` in the forward pass
and `a_bar_g, b_bar_g = g_bwd(y_saved, y_bar)` in the backward pass. A pair is made
once per (function, differentiated argument positions), so recursion and functions
called from several places work and nothing is recomputed.

A function marked for checkpointing (`@s2sgrad.checkpoint`, or a loop segment the
`checkpoint=` rewrite made) is called through a checkpointed pair instead, which trades
time for memory: its forward keeps only the call's inputs, and its backward runs the
forward pass again to rebuild what the backward pass needs:

    def g_checkpoint_fwd(a, b):     # runs g, keeps its inputs only
        y, _ = g_fwd(a, b)
        return y, (a, b)

    def g_checkpoint_bwd(saved, y_bar):
        a, b = saved
        y, g_saved = g_fwd(a, b)    # the forward pass again
        return g_bwd(g_saved, y_bar)
"""
import builtins
import inspect

import gast

from ..syntax import nodes
from ..frontend.parse import parse_function, bind_defaults, CellView, readable_name
from ..syntax.scopes import free_names, rename_free
from ..ir import walk, Assign


class Pair:
    def __init__(self, func, fwd, bwd, active):
        self.func = func
        self.fwd = fwd
        self.bwd = bwd
        self.active = active
        self.defs = []


class CallGraph:
    """The pairs generated while differentiating one function (and its callees).

    State: `pairs` by (function, active positions), `order` (definition order,
    callees first), `env` (objects callee code needs that the root's globals name
    differently), `names` (function names taken)."""

    def __init__(self, build, optimize=True, root_globals=None, root_closure=None):
        self.build = build            # the pipeline's parse → normalize → trace
        self.optimize = optimize
        self.root_closure = root_closure
        self.pairs = {}
        self.order = []
        self.env = {}
        self.names = set()
        self.root_globals = root_globals
        self.has_stores = False       # does any generated pair store into arrays?
        self.deps = []                # (namespace, name, function) the calls go through

    def hook(self, rev, s):
        from .reverse import bar
        tr = rev.trace
        func = s.callee
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            raise tr.parsed.error(f"cannot read the signature of {func.__name__}", s.node) \
                from None
        params = [p.name for p in sig.parameters.values()]
        binding = {}
        for i, a in enumerate(s.args):
            if i >= len(params):
                raise tr.parsed.error(f"too many arguments in the call to {func.__name__}",
                                      s.node)
            binding[params[i]] = a
        for k, a in s.kwargs.items():
            if k not in params:
                raise tr.parsed.error(f"{func.__name__} has no parameter {k!r}", s.node)
            binding[k] = a
        active = tuple(i for i, p in enumerate(params)
                       if isinstance(binding.get(p), str) and binding[p] in tr.active)
        if not active:
            return []
        pair = self.pair(func, active, tr.parsed)
        if is_checkpointed(func):
            pair = self.checkpointed(pair, func, active)
        saved = rev.fresh(f"{s.target}_saved")
        s.fwd_node = nodes.copy_location(nodes.assign(
            nodes.tuple_([nodes.name(s.target, store=True), nodes.name(saved, store=True)],
                         store=True),
            nodes.call(pair.fwd, [nodes.operand(a) for a in s.args],
                       {pair.renamed.get(k, k): nodes.operand(a)
                        for k, a in s.kwargs.items()})), s.node)
        s.extra_targets = [saved]
        if s.target in tr.overwritten:
            tr.overwritten.add(saved)
        tr.user_names.add(saved)
        parts = [rev.fresh(f"{binding[params[i]]}_bar_{readable_name(func)}") for i in active]
        out = [nodes.assign(nodes.tuple_([nodes.name(p, store=True) for p in parts] +
                                         ([] if len(parts) > 1 else []), store=True)
                            if len(parts) > 1 else parts[0],
                            nodes.call(pair.bwd, [nodes.name(saved), nodes.name(bar(s.target))])
                            if len(parts) > 1 else
                            nodes.subscript(nodes.call(pair.bwd, [nodes.name(saved),
                                                                  nodes.name(bar(s.target))]),
                                            nodes.const(0)))]
        for i, part in zip(active, parts):
            out += rev.accumulate(binding[params[i]], nodes.name(part))
        return out

    def _fresh_name(self, base):
        name = nodes.fresh_name(base, self.names | set(self.env))   # (env: bound names)
        self.names.add(name)
        return name

    def pair(self, func, active, caller_parsed):
        key = (func, active)
        if key in self.pairs:
            return self.pairs[key]
        from .reverse import Reverse, _assigned_before_blocks
        parsed = parse_function(func)
        self._check_namespace(parsed, caller_parsed)
        pair = Pair(func, self._fresh_name(f"{readable_name(func)}_fwd"),
                    self._fresh_name(f"{readable_name(func)}_bwd"), active)
        pair.renamed = getattr(parsed, "renamed", {})     # (keywords of the calls)
        self.pairs[key] = pair
        tr = self.build(parsed, active)
        pair.trace = tr
        self.deps += tr.deps
        from ..ir import SetItem
        self.has_stores |= any(isinstance(x, SetItem) for x in walk(tr.body))
        rev = Reverse(tr, call_hook=self.hook)
        adj = rev.run()
        # what the backward pass reads from the forward pass
        primal = set(tr.user_names) | set(tr.params) | set(adj.stacks.values())
        reads = set()
        for st in adj.backward:
            for n in gast.walk(st):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in primal:
                    reads.add(n.id)
        reads.discard(adj.seed)
        saved = sorted(reads)
        result = nodes.operand(tr.result)
        already = {x.targets[0].id for x in adj.forward if isinstance(x, gast.Assign)
                   and isinstance(x.targets[0], gast.Name)
                   and isinstance(x.value, gast.Constant) and x.value.value is None}
        inits = [nodes.assign(n, nodes.const(None)) for n in saved
                 if n not in tr.params and n not in adj.stacks.values()
                 and n not in already and not _assigned_before_blocks(tr.body, n)]
        doc = f"Forward pass of {readable_name(func)}, keeping what {pair.bwd} needs."
        fwd = nodes.function_def(
            pair.fwd, tr.params, inits + [nodes.clone(x) for x in adj.forward] +
            [nodes.return_(nodes.tuple_([result, nodes.tuple_([nodes.name(n)
                                                               for n in saved])]))],
            [nodes.clone(d) for d in tr.defaults], doc)
        outs = [nodes.name(g) if g is not None else nodes.const(0.0) for g in adj.grads]
        bwd_body = []
        if saved:
            bwd_body.append(nodes.assign(
                nodes.tuple_([nodes.name(n, store=True) for n in saved] if len(saved) > 1
                             else [nodes.name(saved[0], store=True)], store=True),
                nodes.name("saved")))
        bwd_body += [nodes.clone(x) for x in adj.backward]
        bwd_body.append(nodes.return_(nodes.tuple_(outs)))
        doc = f"Backward pass of {readable_name(func)}: adjoints of " + \
            ", ".join(tr.params[i] for i in active) + "."
        seed = adj.seed if isinstance(tr.result, str) else "out_bar"
        bwd = nodes.function_def(pair.bwd, ["saved", seed], bwd_body, (), doc)
        pair.defs = [fwd, bwd]
        self.env.update(adj.env)
        self.order.append(key)
        return pair

    def checkpointed(self, inner, func, active):
        """The checkpointed pair over `inner` (see the module docstring): made once per
        (function, active positions), after the pair it re-runs."""
        key = (func, active, "checkpoint")
        if key in self.pairs:
            return self.pairs[key]
        _refuse_recomputation_hazards(inner.trace, func)
        base = readable_name(func)
        pair = Pair(func, self._fresh_name(f"{base}_checkpoint_fwd"),
                    self._fresh_name(f"{base}_checkpoint_bwd"), active)
        pair.renamed = inner.renamed
        pair.inner = inner
        self.pairs[key] = pair
        self.order.append(key)
        return pair

    def _checkpointed_defs(self, pair):
        """The two functions of a checkpointed pair, written once the pair it re-runs
        is complete (a recursive function's is not while its own calls are made)."""
        inner = pair.inner
        base = readable_name(pair.func)
        args = nodes.clone(inner.defs[0].args)
        params = [a.id for a in args.args]
        value = "value" if "value" not in params else nodes.fresh_name("value", set(params))
        doc = (f"Forward pass of {base}, checkpointed: keeps only its inputs "
               f"({pair.bwd} runs {inner.fwd} again).")
        fwd = nodes.function_def(pair.fwd, params, [
            nodes.assign(nodes.tuple_([nodes.name(value, store=True),
                                       nodes.name("_", store=True)], store=True),
                         nodes.call(inner.fwd, [nodes.name(p) for p in params])),
            nodes.return_(nodes.tuple_([nodes.name(value),
                                        nodes.tuple_([nodes.name(p) for p in params])]))],
            (), doc)
        fwd.args = args
        taken = set(params) | {"saved"}
        seed = nodes.fresh_name("out_bar", taken)
        inner_saved = nodes.fresh_name(f"{base}_saved", taken)
        doc = (f"Backward pass of {base}, checkpointed: runs its forward pass again, "
               "then its backward pass.")
        unpack = nodes.tuple_([nodes.name(p, store=True) for p in params], store=True) \
            if len(params) != 1 else nodes.tuple_([nodes.name(params[0], store=True)],
                                                  store=True)
        body = ([nodes.assign(unpack, nodes.name("saved"))] if params else []) + [
            nodes.assign(nodes.tuple_([nodes.name("_", store=True),
                                       nodes.name(inner_saved, store=True)], store=True),
                         nodes.call(inner.fwd, [nodes.name(p) for p in params])),
            nodes.return_(nodes.call(inner.bwd, [nodes.name(inner_saved),
                                                 nodes.name(seed)]))]
        bwd = nodes.function_def(pair.bwd, ["saved", seed], body, (), doc)
        pair.defs = [fwd, bwd]

    def _check_namespace(self, parsed, caller):
        bind_callee_names(parsed, self.root_globals, self.env, self.root_closure, self.deps,
                          self.names)

    def definitions(self):
        out = []
        for key in self.order:
            pair = self.pairs[key]
            if getattr(pair, "inner", None) is not None and not pair.defs:
                self._checkpointed_defs(pair)
            out += pair.defs
        return out


_MISSING = object()


def _refuse_recomputation_hazards(tr, func):
    """A checkpointed function runs its forward pass twice; a statement that would give
    other values the second time (a random draw, a method call that may change its
    object, such as a generator's draw) would make the backward pass differentiate
    another computation than the forward pass ran: refused where it is written."""
    from ..ir import Kind
    for s in walk(tr.body):
        if not isinstance(s, Assign) or s.kind not in (Kind.OPAQUE, Kind.NONDIFF):
            continue
        random = "random" in (s.cut_what or "")
        if random or (s.kind is Kind.OPAQUE and s.mutable_receiver):
            what = "draws random numbers" if random else \
                "calls a method that may change its object"
            if hasattr(func, "__s2sgrad_parsed__"):
                who = "checkpoint= runs this loop's steps again in the backward pass"
                fix = "draw the numbers before the loop (an array of them, indexed by " \
                      "step), or leave out checkpoint="
            else:
                who = (f"{readable_name(func)} is checkpointed: its forward pass runs "
                       "again in the backward pass")
                fix = "draw the numbers outside and pass them in as an argument, or " \
                      "remove @s2sgrad.checkpoint"
            raise tr.parsed.error(
                f"{who}, and this statement {what}: the second run would give other "
                "values", s.node, fix)


def is_checkpointed(func):
    """Is `func` marked to be recomputed in the backward pass (`@s2sgrad.checkpoint`)?"""
    return getattr(func, "__s2sgrad_checkpoint__", False) is True


def bind_callee_names(parsed, root_globals, env, root_closure=None, deps=None,
                      generated=()):
    """Generated code for a callee runs among the root function's names (its closure
    values, `env`, the runtime helpers, its module's globals, builtins). Each free name
    of the callee must still mean what it means where the callee was defined (its own
    closure cells, its own module's globals): a name the root's code would read as
    something else is renamed in the callee's tree to `<name>_<callee>` and bound in
    `env`; one the root does not have is bound under its own name. The callee's
    defaults become bound names too (Python evaluated them once, at its `def`)."""
    func = parsed.func
    where = getattr(func, "__name__", parsed.node.name)
    taken = _taken_names(parsed, root_globals, root_closure, env) | set(generated)
    renames = {}
    for n in free_names(parsed.node):
        try:
            obj = parsed.resolve(n)
        except KeyError:
            continue                    # a NameError when the callee runs, as in Python
        if deps is not None and n in parsed.cells:
            deps.append((CellView(parsed.cells[n]), n, obj))  # stale once the cell changes
        seen = _runtime_value(n, root_globals, root_closure, env)
        if seen is obj:
            continue
        if seen is _MISSING:
            env[n] = obj
            taken.add(n)
        else:
            renames[n] = nodes.fresh_name(f"{n}_{where}", taken)
            taken.add(renames[n])
            env[renames[n]] = obj
            parsed.closure[renames[n]] = obj
        if deps is not None and n not in parsed.closure and n in parsed.namespace:
            deps.append((parsed.namespace, n, obj))    # a global: stale once rebound
    if renames:
        rename_free(parsed.node, renames)
    _bind_defaults(parsed, func, where, taken, env, root_globals, root_closure)


def _bind_defaults(parsed, func, where, taken, env, root_globals, root_closure):
    """Replace the default expressions of the callee's def by names bound to the
    values Python computed when the def ran (`def fun(x, n=num)` in a factory reads
    the factory's `num`, which the generated code cannot see)."""
    def visible(n):
        return _runtime_value(n, root_globals, root_closure, env)

    def bind(hint, value):
        fresh = nodes.fresh_name(f"{hint}_{where}", taken)
        taken.add(fresh)
        env[fresh] = value
        return fresh
    bind_defaults(parsed.node, func, visible, bind)


def _runtime_value(n, root_globals, root_closure, env):
    """What `n` reads in the generated module: the root's closure values, then the
    names bound for callees, then the runtime helpers, the root's globals, builtins
    (the order `api.load_definitions` binds them in)."""
    if root_closure and n in root_closure:
        return root_closure[n]
    if n in env:
        return env[n]
    pool = _runtime_pool()
    if n in pool and (root_globals or {}).get(n, _MISSING) is not pool[n]:
        return pool[n]
    if root_globals is not None and n in root_globals:
        return root_globals[n]
    if hasattr(builtins, n):
        return getattr(builtins, n)
    return _MISSING


def _runtime_pool():
    from .. import runtime
    return runtime.helpers()


def _taken_names(parsed, root_globals, root_closure, env):
    """Names a new binding must not take: anything the generated module or the callee
    could already mean by it."""
    taken = set(root_globals or ()) | set(root_closure or ()) | set(env)
    taken |= set(_runtime_pool()) | set(dir(builtins))
    taken |= {n.id for n in nodes.walk(parsed.node) if isinstance(n, gast.Name)}
    return taken


__all__ = ["CallGraph", "walk", "Assign", "bind_callee_names"]
