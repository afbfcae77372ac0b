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

    def g_checkpoint_bwd(saved, y_bar, b_bar=0.0):
        a, b = saved
        y, g_saved = g_fwd(a, b)    # the forward pass again
        return g_bwd(g_saved, y_bar, b_bar=b_bar)

A checkpointed function's backward pass also *adds into* the caller's adjoints of the
parameters it never rebinds (`b_bar=0.0` above: its accumulators), instead of returning
a new adjoint for the caller to add: a loop of checkpointed segments (`checkpoint=`)
then keeps one adjoint of its weights, not one per segment beside the sum. The caller
writes `a_bar, b_bar = g_checkpoint_bwd(g_saved, y_bar, b_bar=own_grad(b_bar))`; the
callee may add to what it is given in place, so `own_grad` copies it unless the
optimizer proves that nobody else holds it (`optimize.in_place.thread_accumulators`).
"""
import builtins
import inspect

import gast

from ..syntax import nodes
from ..frontend.parse import parse_function, bind_defaults, CellView, readable_name
from ..syntax.scopes import free_names, rename_free
from ..ir import walk, defs, Assign


class Pair:
    def __init__(self, func, fwd, bwd, active):
        self.func = func
        self.fwd = fwd
        self.bwd = bwd
        self.active = active
        self.defs = []
        self.served = [bwd]          # the backward functions its forward function feeds
        self.accumulators = {}       # {position: adjoint parameter of bwd}, see above


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
        self.root = None              # the function differentiated (for recursion checks)
        self.stack = []               # the functions whose pairs are being built

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
        functions = {(params[k] if isinstance(k, int) else k): obj
                     for k, obj in (s.function_args or {}).items()}
        if self.root is None:
            self.root = tr.parsed.func
        if functions and any(f is func for f in [self.root] + self.stack):
            raise tr.parsed.error(
                f"s2sgrad cannot differentiate the recursive call of {func.__name__} that "
                f"passes a function (`{'`, `'.join(sorted(functions))}`): the code is "
                "specialized on the functions a call is given", s.node,
                "call the function by its global name inside the recursion, or write the "
                "recursion as a loop")
        pair = self.pair(func, active, tr.parsed, functions,
                         _known_kinds(tr, params, binding))
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
        threaded = _threaded(pair, active, params, binding, s)
        targets, keywords, parts = [], {}, []
        for i in active:
            x = binding[params[i]]
            if i in threaded:               # the callee adds into x_bar itself
                if bar(x) in rev.defined:
                    keywords[pair.accumulators[i]] = nodes.call("own_grad",
                                                                [nodes.name(bar(x))])
                rev.defined.add(bar(x))
                targets.append(bar(x))
            else:
                part = rev.fresh(f"{x}_bar_{readable_name(func)}")
                parts.append((x, part))
                targets.append(part)
        call = nodes.call(pair.bwd, [nodes.name(saved), nodes.name(bar(s.target))], keywords)
        out = [nodes.assign(nodes.tuple_([nodes.name(t, store=True) for t in targets],
                                         store=True), call)
               if len(targets) > 1 else
               nodes.assign(targets[0], nodes.subscript(call, nodes.const(0)))]
        for x, part in parts:
            out += rev.accumulate(x, nodes.name(part))
        return out

    def _fresh_name(self, base):
        name = nodes.fresh_name(base, self.names | set(self.env))   # (env: bound names)
        self.names.add(name)
        return name

    def pair(self, func, active, caller_parsed, functions=None, kinds=((), ())):
        """The pair of `func` differentiated in the positions `active`, specialised on the
        function objects its parameters are given ({parameter: function}) and on `kinds`:
        (its parameters known to be numbers, those known to be lists of numbers) at the
        call site."""
        functions = functions or {}
        key = (func, active, kinds) + tuple((p, _Identity(functions[p]))
                                            for p in sorted(functions))
        if key in self.pairs:
            return self.pairs[key]
        parsed = parse_function(func)
        parsed.inline_helpers = self.optimize
        self._check_namespace(parsed, caller_parsed)
        pair = Pair(func, self._fresh_name(f"{readable_name(func)}_fwd"),
                    self._fresh_name(f"{readable_name(func)}_bwd"), active)
        pair.renamed = getattr(parsed, "renamed", {})     # (keywords of the calls)
        self.pairs[key] = pair
        self.stack.append(func)
        try:
            return self._make_pair(pair, key, func, parsed, active, functions, kinds)
        finally:
            self.stack.pop()

    def _make_pair(self, pair, key, func, parsed, active, functions, kinds):
        """Build the trace of `func`, differentiate it, and write the pair's defs."""
        from .reverse import Reverse, _assigned_before_blocks
        parsed.number_lists = set(kinds[1])
        tr = self.build(parsed, active, set(kinds[0]), functions=functions) if functions \
            else self.build(parsed, active, set(kinds[0]))
        pair.trace = tr
        self.deps += tr.deps
        from ..ir import SetItem
        self.has_stores |= any(isinstance(x, SetItem) for x in walk(tr.body))
        if is_checkpointed(func):
            pair.accumulators = _accumulators(tr, active)
        rev = Reverse(tr, call_hook=self.hook, incoming=pair.accumulators.values())
        adj = rev.run()
        # what the backward pass reads from the forward pass
        primal = set(tr.user_names) | set(tr.params) | set(adj.stacks.values())
        reads = read_before_bound(adj.backward) & primal
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
        accs = list(pair.accumulators.values())
        bwd = nodes.function_def(pair.bwd, ["saved", seed] + accs, bwd_body,
                                 [0.0] * len(accs), doc)
        bwd.s2s_numbers, bwd.s2s_number_lists = set(tr.scalars), set(tr.number_lists)
        bwd.s2s_owned = set(accs)          # (the caller gives what nobody else holds)
        pair.defs = [fwd, bwd]
        twin = self._same_forward(pair, fwd)
        if twin is not None:               # one forward function serves both backwards
            pair.fwd = twin.fwd
            pair.defs = [bwd]
            twin.served.append(pair.bwd)
            twin.defs[0].body[0] = gast.Expr(value=nodes.const(
                f"Forward pass of {readable_name(func)}, keeping what "
                f"{' and '.join(twin.served)} need."))
        self.env.update(adj.env)
        self.order.append(key)
        return pair

    def _same_forward(self, pair, fwd):
        """An earlier pair of the same function whose forward function is this one
        statement for statement (the positions differentiated differ, what the forward
        pass computes and keeps does not: `layer(W1, x)` and `layer(W2, h)`)."""
        body = _forward_text(fwd)
        if pair.fwd in body:
            return None                    # (recursive: it calls itself by its name)
        for other in self.pairs.values():
            if other is not pair and other.func is pair.func and other.defs \
                    and other.defs[0].name == other.fwd and _forward_text(other.defs[0]) == body:
                return other
        return None

    def checkpointed(self, inner, func, active):
        """The checkpointed pair over `inner` (see the module docstring): made once per
        pair it re-runs, after it."""
        key = ("checkpoint", inner.fwd, inner.bwd)
        if key in self.pairs:
            return self.pairs[key]
        _refuse_recomputation_hazards(inner.trace, func)
        base = readable_name(func)
        pair = Pair(func, self._fresh_name(f"{base}_checkpoint_fwd"),
                    self._fresh_name(f"{base}_checkpoint_bwd"), active)
        pair.renamed = inner.renamed
        pair.inner = inner
        pair.accumulators = dict(inner.accumulators)
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
        accs = list(pair.accumulators.values())
        taken = set(params) | {"saved"} | set(accs)
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
            nodes.return_(nodes.call(inner.bwd, [nodes.name(inner_saved), nodes.name(seed)],
                                     {a: nodes.name(a) for a in accs}))]
        bwd = nodes.function_def(pair.bwd, ["saved", seed] + accs, body, [0.0] * len(accs),
                                 doc)
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


class _Identity:
    """A function object in a pair's key, compared by identity."""
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, _Identity) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


def _forward_text(fwd):
    """A forward function's statements (its docstring, naming its backward, aside)."""
    return gast.dump(gast.Module(body=fwd.body[1:], type_ignores=[]))


def read_before_bound(stmts):
    """The names `stmts` may read before binding them (what a backward pass needs from
    its forward pass): a name bound at the start of a loop step and read after it in the
    step is not among them. Conservative: a block's bindings count after it only when
    every path makes them (both branches; never a loop's body)."""
    live = set()

    def reads(node):
        return {n.id for n in nodes.walk(node) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Load)}

    def stores(node):
        return {n.id for n in nodes.walk(node) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Store)}

    def visit(block, bound):
        for st in block:
            if isinstance(st, gast.For):
                live.update(reads(st.iter) - bound)
                visit(st.body, bound | stores(st.target))
                visit(st.orelse, set(bound))
            elif isinstance(st, gast.While):
                live.update(reads(st.test) - bound)
                visit(st.body, set(bound))
                visit(st.orelse, set(bound))
            elif isinstance(st, gast.If):
                live.update(reads(st.test) - bound)
                bound |= visit(st.body, set(bound)) & visit(st.orelse, set(bound))
            else:
                read = reads(st)
                if isinstance(st, gast.AugAssign) and isinstance(st.target, gast.Name):
                    read.add(st.target.id)            # (`x += e` reads x)
                live.update(read - bound)
                bound |= stores(st)
        return bound
    visit(stmts, set())
    return live


def _known_kinds(tr, params, binding):
    """(the parameters bound to numbers, those bound to lists of numbers) of a call, as
    the caller's trace knows its operands (`Trace.scalars`, `Trace.number_lists`)."""
    def known(names, const_ok):
        return tuple(p for p in params if p in binding and (
            binding[p] in names if isinstance(binding[p], str) else const_ok(binding[p])))
    return (known(tr.scalars, lambda c: type(c.value) in (int, float)),
            known(tr.number_lists, lambda c: False))


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
        random = s.random
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


def _accumulators(tr, active):
    """{position: adjoint name} of the active parameters of a checkpointed function whose
    adjoint its backward pass can take from its caller and add to: those it never
    rebinds (their adjoint is a sum of contributions, nothing resets it), other than
    the one its result's adjoint is named after."""
    from .reverse import bar
    bound = {n for s in walk(tr.body) for n in defs(s)}
    seed = bar(tr.result) if isinstance(tr.result, str) else None
    return {i: bar(tr.params[i]) for i in active
            if tr.params[i] not in bound and tr.params[i] not in tr.overwritten
            and bar(tr.params[i]) not in (seed, "saved")}


def _threaded(pair, active, params, binding, s):
    """The positions of a call whose adjoints go through the callee's accumulators: those
    it has, bound to a name that no other argument of the call is (two accumulators
    holding one adjoint would each start from it)."""
    args = list(s.args) + list(s.kwargs.values())
    return {i for i in active if i in pair.accumulators and isinstance(binding[params[i]], str)
            and sum(a == binding[params[i]] for a in args if isinstance(a, str)) == 1}


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
    own = free_names(parsed.node)
    for n in own + _inlined_free_names(parsed, own):
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
        # (the small helpers normalize inlines read them too: renamed there, see
        # Normalizer._small_helper)
        parsed.free_renames = {**getattr(parsed, "free_renames", {}), **renames}
    _bind_defaults(parsed, func, where, taken, env, root_globals, root_closure)


def _inlined_free_names(parsed, names):
    """The free names of the functions of the callee's own file that `names` denote,
    and of theirs in turn: `normalize` may inline such a small helper's body into the
    callee, and that body's names must mean in the generated module what they mean in
    the file (a global `scale` of the callee's module, not the root's)."""
    import types
    from ..errors import S2SGradError
    out, seen, stack = [], set(), list(names)
    while stack:
        n = stack.pop()
        try:
            obj = parsed.resolve(n)
        except KeyError:
            continue
        code = getattr(obj, "__code__", None)
        if type(obj) is not types.FunctionType or id(obj) in seen or obj.__closure__ \
                or code.co_filename != parsed.filename or code.co_flags & 0x3AC:
            continue
        seen.add(id(obj))
        try:
            node = parse_function(obj).node
        except S2SGradError:
            continue
        for m in free_names(node):
            if m not in names and m not in out:
                out.append(m)
                stack.append(m)
    return out


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
