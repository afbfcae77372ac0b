"""Checkpointed loops: `grad(f, checkpoint=N)` and `checkpoint="auto"`.

A rewrite of the normalized function, before the trace is built. A loop

    for t in range(start, stop, step):
        <body>

whose body only rebinds names becomes, when the schedule wants it, segments of
consecutive steps, each one call of a *segment function* that runs the body over its
steps and returns the loop-carried state:

    if checkpoint_wanted(start, stop, step, N):
        t_stride = checkpoint_stride(start, stop, step, N)
        t_segments = checkpoint_segments(start, stop, step, t_stride)
        for t_segment in range(t_segments):
            t_first = checkpoint_first(start, step, t_stride, t_segment)
            t_last = checkpoint_stop(start, stop, step, t_stride, t_segment)
            h = f_loop_L7(h, W, xs, t_first, t_last, step)
    else:
        for t in range(start, stop, step):
            <body>

The segment function is marked for checkpointing, so its call gets the checkpointed pair
(ad/callees.py): the forward pass keeps one snapshot of the carried state per segment,
the backward pass runs one segment forward again and then backwards. The segment's own
loop is rewritten the same way when built, down to MAX_LEVELS levels (a cap of N
snapshots per level: a loop of up to N**3 steps keeps at most N steps' tape at once, for
at most one more forward pass per level); with "auto", one level of about sqrt(steps)
segments of about sqrt(steps) steps.

Whatever the loop code does per step (what it saves, how) happens inside one segment,
unchanged. A loop that stores into containers, or whose target is read after it, runs as
written. A `while` loop cannot be scheduled (its trip count is not known before it ends):
`pipeline.refuse_while` names it when a gradient flows through it.
"""
import re

import gast

from ..syntax import nodes, emit
from .. import runtime

MAX_LEVELS = 3       # checkpoint=N: segments of segments, at most this deep

_HELPERS = ("checkpoint_wanted", "checkpoint_stride", "checkpoint_segments",
            "checkpoint_first", "checkpoint_stop")


def check_option(option):
    """`checkpoint=` is None, "auto" or a positive int (the snapshots per loop)."""
    from ..errors import S2SGradError
    if option is None or option == "auto":
        return option
    if isinstance(option, bool) or not isinstance(option, int) or option < 1:
        raise S2SGradError(f"checkpoint={option!r}: give \"auto\" or a number of snapshots "
                           "per loop (an int >= 1), or leave it out")
    return option


def checkpoint_loops(parsed, fn, option):
    """`fn` (normalized) with its eligible loops rewritten into checkpointed segments;
    the segment functions and the schedule helpers are bound in `parsed.closure`."""
    if option is None:
        return fn
    rewriter = _Rewriter(parsed, fn, option)
    fn.body = rewriter.block(fn.body)
    if rewriter.made:
        for n in _HELPERS:
            parsed.closure[n] = getattr(runtime.checkpoint, n)
    return fn


class _Rewriter:
    def __init__(self, parsed, fn, option):
        self.parsed = parsed
        self.fn = fn
        self.option = option
        self.taken = set(nodes.names_in(fn)) | {a.id for a in fn.args.args} | \
            set(parsed.closure) | set(parsed.namespace) | set(_HELPERS)
        self.locals = {a.id for a in fn.args.args} | set(nodes.names_in(fn, gast.Store))
        self.made = 0

    def block(self, stmts):
        out = []
        for st in stmts:
            if isinstance(st, gast.If):
                st.body = self.block(st.body)
                st.orelse = self.block(st.orelse)
                out.append(st)
            elif isinstance(st, gast.For) and self.eligible(st):
                out += self.rewrite(st)
            else:
                out.append(st)
        return out

    # ----------------------------------------------------------- which loops
    def eligible(self, loop):
        """A `for t in range(...)` whose body only binds plain names (no stores into
        containers, no statements run for their effect), whose target is not read
        after it, and whose state is bound before it."""
        if not (_is_range(loop.iter) and isinstance(loop.target, gast.Name)) or loop.orelse:
            return False
        for n in nodes.walk(loop):
            if isinstance(n, (gast.Subscript, gast.Attribute)) and \
                    isinstance(getattr(n, "ctx", None), gast.Store):
                return False
            if isinstance(n, (gast.Expr, gast.Return, gast.FunctionDef, gast.Lambda,
                              gast.Global, gast.Nonlocal, gast.Delete, gast.AugAssign)) \
                    and not _is_docstring(n):
                return False
        if loop.target.id in self.read_outside(loop):
            return False
        inputs, outputs = self.interface(loop)
        bound = self.bound_before(loop)
        return bool(outputs) and all(n in bound for n in inputs if n != loop.target.id)

    def read_outside(self, loop):
        inside = {id(n) for n in nodes.walk(loop)}
        return {n.id for n in nodes.walk(self.fn) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Load) and id(n) not in inside}

    def bound_before(self, loop):
        """Names certainly bound when the loop starts: the parameters and what every
        path through the statements before it assigns (the segment's call reads them)."""
        out = {a.id for a in self.fn.args.args}
        _exposed(_statements_before(self.fn.body, loop)[0], out, set(), set())
        return out

    def interface(self, loop):
        """(inputs, outputs) of a segment: the function's names the body reads before
        it binds them (the loop-carried state and the loop's constants), and the names
        it binds that are carried or read after the loop. An output the body binds only
        in a branch is an input too (a segment may not bind it)."""
        target = loop.target.id
        exposed, definite = set(), {target}
        _exposed(loop.body, definite, self.locals, exposed)
        stored = set(nodes.names_in(gast.Module(body=loop.body, type_ignores=[]),
                                    gast.Store)) - {target}
        outputs = sorted(n for n in stored
                         if n in exposed or n in self.read_outside(loop))
        inputs = sorted(exposed | {n for n in outputs if n not in definite})
        return inputs, outputs

    # ----------------------------------------------------------- the rewrite
    def fresh(self, hint):
        return nodes.fresh_name(hint, self.taken)

    def rewrite(self, loop):
        t = loop.target.id
        inputs, outputs = self.interface(loop)
        for n in nodes.walk(loop):
            # `h += e` makes a new value here: a segment must leave the caller's snapshot
            # of h as it was. (The function as written passed the checks of in-place
            # updates first: see pipeline.build_trace.)
            if getattr(n, "s2s_inplace", False):
                n.s2s_inplace = False
        args = list(loop.iter.args)
        start, stop, step = (_zero(), args[0], _one()) if len(args) == 1 else \
            (args[0], args[1], args[2] if len(args) > 2 else _one())
        line = getattr(loop, "lineno", 0)
        depth = getattr(self.parsed, "checkpoint_depth", 1)
        seg_name = self.fresh(f"{self.fn.name}_loop_L{line}" if depth == 1 else
                              re.sub(r"_level\d+$", "", self.fn.name) + f"_level{depth}")
        func = self.segment(loop, seg_name, inputs, outputs)
        self.parsed.closure[seg_name] = func
        self.made += 1
        stride, count, k, first, last = (self.fresh(f"{t}_{s}") for s in (
            "stride", "segments", "segment", "first", "last"))
        snap = nodes.const(self.option)

        def bounds():
            return [nodes.clone(start), nodes.clone(stop), nodes.clone(step)]
        call = nodes.call(seg_name, [nodes.name(n) for n in inputs] +
                          [nodes.name(first), nodes.name(last), nodes.clone(step)])
        body = [nodes.assign(first, nodes.call("checkpoint_first", [
                    nodes.clone(start), nodes.clone(step), nodes.name(stride), nodes.name(k)])),
                nodes.assign(last, nodes.call("checkpoint_stop", bounds() + [
                    nodes.name(stride), nodes.name(k)]))]
        if len(outputs) == 1:         # (a call never binds a name it reads: the
            new = self.fresh(f"{outputs[0]}_new")       # reverse pass relies on it)
            body += [nodes.assign(new, call), nodes.assign(outputs[0], nodes.name(new))]
        else:
            state = self.fresh(f"{t}_state")
            body.append(nodes.assign(state, call))
            body += [nodes.assign(o, nodes.subscript(nodes.name(state), nodes.const(i)))
                     for i, o in enumerate(outputs)]
        segmented = [
            nodes.assign(stride, nodes.call("checkpoint_stride", bounds() + [snap])),
            nodes.assign(count, nodes.call("checkpoint_segments", bounds() +
                                           [nodes.name(stride)])),
            nodes.for_(k, nodes.call("range", [nodes.name(count)]), body)]
        wanted = self.fresh(f"{t}_checkpointed")
        test = nodes.assign(wanted, nodes.call("checkpoint_wanted", bounds() + [snap]))
        branch = nodes.if_(nodes.name(wanted), segmented, [loop])
        for st in [test, branch] + segmented + body:
            _locate(st, loop)
        return [test, branch]

    def segment(self, loop, name, inputs, outputs):
        """The segment function: the loop over steps [first, last) of the range, as a
        live function marked for checkpointing whose parse gives this tree (located in
        the user's file)."""
        t = loop.target.id
        first, last, step = (nodes.fresh_name(f"{t}_{s}", set(self.taken) | set(inputs))
                             for s in ("first", "last", "step"))
        inner = nodes.for_(t, nodes.call("range", [nodes.name(first), nodes.name(last),
                                                   nodes.name(step)]),
                           [nodes.clone(s) for s in loop.body])
        _locate(inner, loop)
        result = nodes.name(outputs[0]) if len(outputs) == 1 else \
            nodes.tuple_([nodes.name(o) for o in outputs])
        ret = _locate(nodes.return_(result), loop)
        fdef = nodes.function_def(name, inputs + [first, last, step], [inner, ret])
        _locate(fdef, loop)
        return _live_segment(self.parsed, fdef, self.option)


def _live_segment(parsed, fdef, option):
    """A callable function for the segment (it runs the steps as Python would), whose
    `parse_function` gives a fresh copy of `fdef` in the user's file, and whose own loop
    is checkpointed again with `option` when its trace is built."""
    from .parse import Parsed
    scope = dict(parsed.namespace)
    scope.update(parsed.closure)
    code = compile(emit.source(fdef), f"<s2sgrad loop segment {fdef.name}>", "exec")
    exec(code, scope)
    func = scope[fdef.name]
    closure = parsed.closure
    depth = getattr(parsed, "checkpoint_depth", 1) + 1
    nested = option != "auto" and depth <= MAX_LEVELS       # "auto": one level

    def make():
        made = Parsed(func, nodes.clone(fdef), parsed.filename, parsed.lines,
                      parsed.namespace, dict(closure), dict(parsed.cells))
        made.checkpoint = option if nested else None
        made.checkpoint_depth = depth
        return made
    func.__s2sgrad_parsed__ = make
    func.__s2sgrad_checkpoint__ = True
    return func


def _exposed(stmts, definite, local, out):
    """Add to `out` the names of `local` that `stmts` read where they are not certainly
    bound yet (by `definite`, or by an earlier statement on every path); `definite`
    grows by what `stmts` certainly bind."""
    def reads(*trees):
        for tree in trees:
            for n in nodes.walk(tree):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) \
                        and n.id in local and n.id not in definite:
                    out.add(n.id)
    for st in stmts:
        if isinstance(st, gast.If):
            reads(st.test)
            first, second = set(definite), set(definite)
            _exposed(st.body, first, local, out)
            _exposed(st.orelse, second, local, out)
            definite |= first & second
        elif isinstance(st, (gast.For, gast.While)):
            reads(st.iter if isinstance(st, gast.For) else st.test)
            inner = set(definite) | set(nodes.names_in(getattr(st, "target", None) or
                                                       gast.Tuple(elts=[], ctx=gast.Load())))
            _exposed(st.body, inner, local, out)      # (it may run no step)
        else:
            reads(st)
            definite |= set(nodes.names_in(st, gast.Store))


def _statements_before(body, target):
    """The statements run before `target` starts, walking into the blocks that hold it."""
    out = []
    for st in body:
        if st is target:
            return out, True
        for attr in ("body", "orelse"):
            if isinstance(getattr(st, attr, None), list):
                got, found = _statements_before(getattr(st, attr), target)
                if found:
                    return out + got, True
        out.append(st)
    return out, False


def _is_range(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id == "range" and not node.keywords and 1 <= len(node.args) <= 3


def _is_docstring(n):
    return isinstance(n, gast.Expr) and isinstance(n.value, gast.Constant) and \
        isinstance(n.value.value, str)


def _zero():
    return nodes.const(0)


def _one():
    return nodes.const(1)


def _locate(tree, loc):
    for n in nodes.walk(tree):
        if hasattr(n, "lineno") or isinstance(n, (gast.stmt, gast.expr)):
            if getattr(n, "lineno", None) is None:
                nodes.copy_location(n, loc)
    return tree
