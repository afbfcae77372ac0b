"""Stage 4 — reverse: the trace → the forward pass and the backward pass (adjoint code).

Takes a `Trace`; returns an `Adjoint` record with the forward statements (the
trace, plus `saved_x.append(x)` before each assignment whose old value the backward
pass still needs) and the backward statements (for each statement of the trace, in
reverse order, the inlined template of its rule under a `# grad of:` comment).

Invariant of the backward pass: when the adjoint of statement S runs, every variable
holds the value it had just after S ran forward. Statements that overwrite a needed
value push the old one; the backward pass pops it right after S's adjoint. Loops run
backwards (`for i in reversed(range(...))`, `while` loops by their trip count),
branches replay the recorded test.

Adjoints start undefined; a rule's first `x_bar += e` becomes `x_bar = e`. Where a
block may or may not write an adjoint, it is set to `0.0` before the block; a zero
adjoint is the float `0.0` (broadcasts against anything) until a value arrives.
"""
import copy
from dataclasses import dataclass, field

import gast

from ..syntax import nodes, reserved
from ..syntax.nodes import Const
from ..ir import Assign, SetItem, Append, Pop, Effect, If, For, While, Trace, Kind, defs, walk
from ..ir import loops as ir_loops


@dataclass
class Adjoint:
    trace: object
    forward: list
    backward: list
    seed: str                     # name of the output adjoint parameter
    grads: list                   # adjoint names of the wrt inputs, in wrt order
    stacks: list = field(default_factory=list)
    callees: list = field(default_factory=list)   # (key, callee Trace) generated pairs
    env: dict = field(default_factory=dict)       # names templates need -> objects


_ITEM = "<vararg item>"


class _Step:
    """Placeholder at the start of a backward loop's body: the values of the names that
    live within one step of `loop` (see `ir.loops`), popped or read again."""

    def __init__(self, loop):
        self.loop = id(loop)


class _Restore:
    """Placeholder in the backward code: pop `name` if the forward pass saved it."""

    def __init__(self, name, kind="pop"):
        self.name = name
        self.kind = kind


def bar(name):
    return name + "_bar"


class Reverse:
    """Generates the backward pass of one trace.

    State: `defined` (adjoints definitely assigned at the current point of the
    backward code), `temps` (fresh template temporaries), `env` (objects the inlined
    templates refer to by name), `calls` (user functions called, for their own pairs).
    `incoming`: adjoints that hold a value when the backward pass starts (a callee's
    accumulators, given by its caller: see `callees`), added to, never defined.
    """

    def __init__(self, trace, call_hook=None, incoming=()):
        self.trace = trace
        self.defined = set(incoming)
        self.used = set(trace.user_names) | set(trace.params) | \
            reserved.outside(trace.parsed) | set(incoming)
        self.env = {}
        self.call_hook = call_hook
        self.callees = []
        self._dry = {}                 # dry-run code by (block, state), see writes_of
        self._texts = {}               # id(statement node) -> its source, for comments
        # names that may hold a list built in the function (a call's result may be a
        # tuple too, but a number times a call's result is no repetition to watch for)
        self.lists = trace.maybe_container - {
            s.target for s in walk(trace.body) if isinstance(s, Assign)
            and (s.kind is Kind.CALL or s.tangent_only)}

    def fresh(self, hint):
        return nodes.fresh_name(hint, self.used)

    # ---------------------------------------------------------------- driver
    def run(self):
        tr = self.trace
        result = tr.result
        if isinstance(result, str):
            seed = bar(result)
            self.used.add(seed)
        else:
            seed = self.fresh("out_bar")
        body = tr.body[:-1]
        if isinstance(result, str) and result in tr.active:
            self.defined.add(seed)
        backward = self.block(body)
        grads = []
        for i in tr.wrt:
            p = tr.params[i]
            grads.append(bar(p) if bar(p) in self.defined else None)
        backward = self.finish(backward)
        forward, stacks = self.forward_pass(body, backward)
        backward = self.resolve_restores(backward, stacks)
        return Adjoint(tr, forward, backward, seed, grads, stacks, self.callees, self.env)

    # ------------------------------------------------------------- backward
    def block(self, stmts):
        out = []
        for s in reversed(stmts):
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, Assign):
            return self.assign(s)
        if isinstance(s, SetItem):
            return self.setitem(s)
        if isinstance(s, Append):
            return self.append(s)
        if isinstance(s, Effect):
            return []
        if isinstance(s, Pop):
            raise self.trace.parsed.error(
                "reverse mode cannot differentiate `.pop()`", s.node,
                "build a new list instead of popping from one")
        if isinstance(s, If):
            return self.if_(s)
        if isinstance(s, For):
            return self.for_(s)
        if isinstance(s, While):
            return self.while_(s)
        raise TypeError(s)

    def header(self, s):
        text = self._texts.get(id(s.node))      # (a loop's body is generated more than
        if text is None:                        # once: see writes_of)
            text = self._texts[id(s.node)] = _source_of(s.node)
        line = getattr(s.node, "lineno", None)
        note = f"line {line}" if line else ""
        if isinstance(s, Assign) and s.fused:
            note += f"; fused: {s.fused}, adjoint y·(1 - y)"
        return nodes.comment(f"grad of: {text}" + (f"  ({note.lstrip('; ')})" if note else ""))

    def assign(self, s):
        tr = self.trace
        t = s.target
        out = []
        if s.kind is Kind.OPAQUE and (t in tr.active or (
                s.mutable_receiver and s.args[0] in tr.active)):
            raise s.error
        if s.kind is Kind.POP and t in tr.active:
            raise tr.parsed.error("reverse mode cannot differentiate `.pop()`", s.node,
                                  "index the list instead (xs[-1]) and build a new list")
        if s.tangent_only and t in tr.active and bar(t) in self.defined:
            raise tr.parsed.error(
                f"reverse mode has no adjoint for `{s.rule.name}` (a helper of generated "
                "code)", s.node, "differentiate generated gradients in forward mode "
                "(s2sgrad.hvp, s2sgrad.hessian)")
        if t in tr.active and bar(t) in self.defined and s.kind in (Kind.OP, Kind.COPY, Kind.CALL):
            if s.kind is Kind.COPY:
                out += self.accumulate(s.args[0], nodes.name(bar(t)))
            elif s.kind is Kind.CALL:
                out += self.call(s)
            else:
                out += self.inline(s)
            if out:
                out.insert(0, self.header(s))
        if t in tr.active and bar(t) in self.defined and t in tr.overwritten:
            # the value before this statement is another value: its adjoint starts at 0
            out.append(nodes.assign(bar(t), nodes.const(0.0)))
        if t in tr.overwritten and not s.first_def:
            out.append(_Restore(t))
        for extra in s.extra_targets:
            if extra in tr.overwritten:
                out.append(_Restore(extra))
        return out

    def accumulate(self, x, value):
        """`x_bar += value`, as a definition when x_bar has no value yet."""
        if not isinstance(x, str) or x not in self.trace.active:
            return []
        xb = bar(x)
        if xb not in self.defined:
            self.defined.add(xb)
            return [nodes.assign(xb, value)]
        if x in self.trace.maybe_container:
            return [nodes.assign(xb, nodes.call("add_grads", [nodes.name(xb), value]))]
        return [nodes.assign(xb, gast.BinOp(left=nodes.name(xb), op=gast.Add(), right=value))]

    # --------------------------------------------------------- rule inlining
    def bind(self, s):
        return bind_rule(s.rule, s, self.trace.parsed)

    def inline(self, s):
        rule = s.rule
        mapping, varargs = self.bind(s)
        self._note_env(rule)
        out = []
        temps = {}
        facts = _template_names(rule)
        for stmt in rule.body:
            vararg_bar = rule.vararg and bar(rule.vararg) in facts[id(stmt)][0]
            if vararg_bar:
                for k, a in enumerate(varargs):
                    extra = {"k": Const(k), _ITEM: a}
                    if s.keys is not None:
                        extra["key"] = Const(s.keys[k])
                    out += self.instantiate(stmt, {**mapping, **extra}, temps, s,
                                            whole=(rule.vararg, varargs))
            else:
                out += self.instantiate(stmt, mapping, temps, s,
                                        whole=(rule.vararg, varargs))
        return out

    def instantiate(self, stmt, mapping, temps, s, whole):
        """One template statement with names replaced; [] when it writes an adjoint of
        an inactive operand."""
        from .templates import fold_template, drop_broadcast
        subst = {}
        mapping = dict(mapping)
        vname, vargs = whole
        item = mapping.pop(_ITEM, None)
        for p, a in mapping.items():
            subst[p] = a if isinstance(a, (str, gast.AST)) else _const_node(a)
            if isinstance(a, str):
                subst[bar(p)] = bar(a)
        if vname:
            subst[vname] = nodes.tuple_([nodes.operand(a) for a in vargs])
            if item is not None:
                mapping[vname] = item
                if isinstance(item, str):
                    subst[bar(vname)] = bar(item)
        subst[bar(s.rule.output)] = bar(s.target)
        stores, writes = _template_names(s.rule)[id(stmt)]
        for n in stores:
            if not n.endswith("_bar") and n not in temps:
                temps[n] = self.fresh(f"{s.target}_{n}")
        subst.update(temps)
        # which adjoint does this statement write?
        if isinstance(stmt, gast.AugAssign):
            written = stmt.target.id
            operand = mapping.get(written[:-4])
            if not isinstance(operand, str) or operand not in self.trace.active:
                return []
            value = fold_template(nodes.substitute(stmt.value, subst))
            value = drop_broadcast(value, s, self.trace.scalars, self.trace.shape_class,
                                   self.lists)
            return self.accumulate(operand, value)
        if isinstance(stmt, gast.Assign):
            for w in writes:
                operand = mapping.get(w[:-4])
                if not isinstance(operand, str) or operand not in self.trace.active:
                    return []
            new = nodes.substitute(stmt, subst)
            for w in writes:
                xb = bar(mapping[w[:-4]])
                if xb not in self.defined:
                    new.value = nodes.substitute(new.value, {xb: nodes.const(0.0)})
                    self.defined.add(xb)
            new.value = fold_template(new.value)
            return [new]
        raise TypeError("adjoint templates may only assign")

    def _note_env(self, rule):
        names = getattr(rule, "_env_names", None)
        if names is None:
            names = rule._env_names = {
                n.id for n in nodes.walk(gast.Module(body=rule.body, type_ignores=[]))
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
                and n.id in rule.namespace}
        for n in names:
            self.env.setdefault(n, rule.namespace[n])

    # ------------------------------------------------------------ user calls
    def call(self, s):
        if self.call_hook is None:
            raise self.trace.parsed.error("calls to user functions are not supported here",
                                          s.node)
        return self.call_hook(self, s)

    # --------------------------------------------------------- containers
    def setitem(self, s):
        tr = self.trace
        out = []
        c = s.container
        if c in tr.active and bar(c) in self.defined:
            idx = _index_value(s.index)
            piece = nodes.call("getitem_grad", [nodes.name(bar(c)), idx]) \
                if _basic_index(s.index, tr.scalars) else \
                nodes.call("stored_grad", [nodes.name(bar(c)), nodes.name(c), idx])
            if isinstance(s.value, str) and s.value in tr.active:
                # a value broadcast into array slots gets their sum; a list stored in a
                # list slot is not broadcast; a value that may be either: decided when
                # it runs, by the container
                if s.value in tr.maybe_container:
                    piece = nodes.call("stored_grad", [nodes.name(bar(c)), nodes.name(c),
                                                       nodes.clone(idx),
                                                       nodes.name(s.value)])
                else:
                    piece = nodes.call("unbroadcast", [piece, nodes.name(s.value)])
                piece = nodes.call("stored_cast_grad", [piece, nodes.name(c)])
                out += self.accumulate(s.value, piece)
            out.append(nodes.assign(bar(c), nodes.call(
                "set_zero", [nodes.name(bar(c)), nodes.name(c), nodes.clone(idx)])))
            out.insert(0, self.header(s))
        restore = _Restore(c, "setitem")
        restore.index = s.index
        out.append(restore)
        return out

    def append(self, s):
        tr = self.trace
        out = []
        c = s.container
        if c in tr.active and bar(c) in self.defined:
            part = self.fresh(f"{c}_last_bar")
            out.append(self.header(s))
            out.append(nodes.assign(nodes.tuple_([nodes.name(bar(c), store=True),
                                                  nodes.name(part, store=True)], store=True),
                                    nodes.call("unappend", [nodes.name(bar(c))])))
            if isinstance(s.value, str) and s.value in tr.active:
                out += self.accumulate(s.value, nodes.name(part))
        out.append(_Restore(c, "append"))
        return out

    # ------------------------------------------------------------ control
    def _state(self, stmts):
        return (id(stmts), frozenset(self.defined), frozenset(self.used),
                frozenset((k, id(v)) for k, v in self.env.items()), len(self.callees))

    def writes_of(self, stmts):
        """Adjoints a block's backward code writes (dry run on a copy of the state). The
        code is kept: the real run from the same state takes it (`block_again`), so a
        loop nest is not generated once more per level for each enclosing level."""
        saved = (set(self.defined), set(self.used), dict(self.env), list(self.callees))
        key = self._state(stmts)
        code = self.block(stmts)
        self._dry[key] = (code, (self.defined, self.used, self.env, self.callees))
        self.defined, self.used, self.env, self.callees = saved
        out = set()
        for st in nodes.flat(code):
            if isinstance(st, gast.Assign):
                for n in nodes.walk(st.targets[0]):
                    if isinstance(n, gast.Name) and n.id.endswith("_bar"):
                        out.add(n.id)
        return out

    def block_again(self, stmts):
        """`block(stmts)`, or the code a dry run made from this very state."""
        hit = self._dry.pop(self._state(stmts), None)
        if hit is None:
            return self.block(stmts)
        code, (defined, used, env, callees) = hit
        self.defined, self.used, self.env, self.callees = \
            set(defined), set(used), dict(env), list(callees)
        return code

    def prepare(self, blocks):
        """Set to 0.0 the adjoints a block may write but that have no value yet."""
        init = []
        while True:             # a zero adjoint may switch on more rules: iterate
            written = set()
            for b in blocks:
                written |= self.writes_of(b)
            new = sorted(written - self.defined)
            if not new:
                break
            init += new
            self.defined |= set(new)
        return [nodes.assign(n, nodes.const(0.0)) for n in sorted(init)]

    def if_(self, s):
        pre = self.prepare([s.body, s.orelse])
        body = self.block_again(s.body)
        orelse = self.block_again(s.orelse)
        out = pre
        if body or orelse:           # restores stay under their branch
            out.append(nodes.if_(nodes.name(s.test), body or [nodes.pass_()], orelse))
        return out

    def for_(self, s):
        pre = self.prepare([s.body])
        body = self.block_again(s.body)
        rng = nodes.call("reversed", [nodes.call("range", [nodes.operand(a)
                                                           for a in s.range_args])])
        loop = nodes.for_(s.target, rng, [_Step(s)] + body)
        loop.s2s_backward = True
        loop.s2s_pair = id(s)                 # its forward loop has the same mark
        out = pre + [nodes.comment(f"grad of: {_loop_text(s)}"), loop]
        if s.target in self.trace.overwritten:
            out.append(_Restore(s.target, "loop"))
        return out

    def while_(self, s):
        pre = self.prepare([s.body])
        body = self.block_again(s.body)
        count = s.count_name
        loop = nodes.for_("_", nodes.call("range", [nodes.name(count)]), [_Step(s)] + body)
        loop.s2s_backward = True
        out = pre + [nodes.comment(f"grad of: {_loop_text(s)}"),
                     _Restore(count, "count"), loop]
        return out

    # -------------------------------------------------------------- finish
    def finish(self, backward):
        return backward

    def needed_names(self, backward):
        """Primal names that the backward code reads."""
        primal = set(self.trace.user_names) | set(self.trace.params)
        out = set()
        for st in nodes.flat(backward):
            if isinstance(st, (_Restore, _Step)):
                continue
            for n in nodes.walk(st):
                if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) \
                        and n.id in primal:
                    out.add(n.id)
            if isinstance(st, gast.For) and getattr(st, "s2s_backward", False):
                pass
        return out

    def forward_pass(self, body, backward):
        needed = self._needed_all = self.needed_names(backward)   # resolve_restores too
        tr = self.trace
        save = {n for n in needed if n in tr.overwritten and n not in tr.invariant}
        self._plan_steps(save)
        save -= set(self._reread)
        # loop counters of while loops nested in other loops are saved per run
        stacks = {}
        for n in sorted(save):
            stacks[n] = self.fresh(f"saved_{n}")
        self._save = save
        self._stacks = stacks
        # (parameters are read again when the gradients are returned: keep them whole)
        shape_only = {n for n in save if n not in tr.scalars and n not in tr.params}
        self._shape_only = shape_only - _read_beyond_shape(backward) if shape_only else set()
        code = self.emit_forward(body, in_loop=False)
        first = [nodes.assign(stacks[n], nodes.list_([])) for n in sorted(stacks)]
        # values saved before their first assignment start as None
        undefined = sorted(n for n in save if n not in tr.params and n not in self._after
                           and not _assigned_before_blocks(tr.body, n))
        first += [nodes.assign(n, nodes.const(None)) for n in undefined]
        return first + code, stacks

    def _plan_steps(self, save):
        """Which saved names live within one loop step (`_after`: pushed after their
        binding, popped at the start of the backward step) and which of those the
        backward step reads again instead (`_reread`); `_steps`: {id(loop): [(name,
        statement)]} in the forward order."""
        self._after, self._reread, self._steps = {}, {}, {}
        for name, (loop, s) in ir_loops.step_locals(self.trace, save).items():
            if ir_loops.rereadable(self.trace, loop, s, save):
                self._reread[name] = s
            else:
                self._after[name] = s
            self._steps.setdefault(id(loop), []).append((name, s))
        for found in self._steps.values():
            found.sort(key=lambda x: self._order(x[1]))

    def _order(self, s):
        if not hasattr(self, "_positions"):
            self._positions = {id(x): k for k, x in enumerate(walk(self.trace.body))}
        return self._positions[id(s)]

    def emit_forward(self, body, in_loop):
        out = []
        for s in body:
            if isinstance(s, Assign):
                for t in [s.target] + s.extra_targets:
                    if t in self._save and not (t == s.target and s.first_def) \
                            and t not in self._after:
                        out.append(self.push(t))
                out.append(s.fwd_node or s.node)
                if s.target in self._after:
                    out.append(self.push(s.target))
            elif isinstance(s, SetItem):
                if s.container in self._save:
                    out.append(nodes.expr_stmt(nodes.call(
                        nodes.attribute(nodes.name(self._stacks[s.container]), "append"),
                        [nodes.call("copy_item", [nodes.name(s.container),
                                                  _index_value(s.index)])])))
                out.append(s.node)
            elif isinstance(s, (Append, Effect)):
                out.append(s.node)
            elif isinstance(s, If):
                out.append(nodes.copy_location(nodes.if_(
                    nodes.name(s.test), self.emit_forward(s.body, in_loop),
                    self.emit_forward(s.orelse, in_loop)), s.node))
            elif isinstance(s, For):
                if s.target in self._save:
                    out.append(self.push(s.target))
                loop = nodes.for_(s.target, nodes.call("range", [
                    nodes.operand(a) for a in s.range_args]), self.emit_forward(s.body, True))
                loop.s2s_pair = id(s)
                out.append(nodes.copy_location(loop, s.node))
            elif isinstance(s, While):
                c = s.count_name
                out.append(nodes.assign(c, nodes.const(0)))
                body = [nodes.assign(c, gast.BinOp(left=nodes.name(c), op=gast.Add(),
                                                   right=nodes.const(1)))]
                body += self.emit_forward(s.body, True)
                out.append(nodes.copy_location(nodes.while_(nodes.name(s.test), body),
                                               s.node))
                if c in self._save:
                    out.append(self.push(c))
        return out

    def push(self, n):
        value = nodes.name(n)
        if n in self._shape_only:
            value = nodes.call("ShapeOf", [value])       # the backward pass needs no more
        return nodes.expr_stmt(nodes.call(
            nodes.attribute(nodes.name(self._stacks[n]), "append"), [value]))

    def step_values(self, loop, stacks):
        """The start of a backward step: each step-local name popped, or read again."""
        out = []
        for name, s in self._steps.get(loop, ()):
            if name in self._reread:
                again = nodes.clone(s.fwd_node or s.node)
                again.s2s_reread = True          # (a fused loop recomputes it anyway)
                out.append(again)
            elif name in self._after and name in stacks:
                out.append(nodes.assign(name, nodes.call(
                    nodes.attribute(nodes.name(stacks[name]), "pop"))))
        return out

    def resolve_restores(self, backward, stacks):
        def fix(stmts):
            out = []
            for st in stmts:
                if isinstance(st, _Step):
                    out += self.step_values(st.loop, stacks)
                    continue
                if isinstance(st, _Restore):
                    if st.name in self._after or st.name in self._reread:
                        continue                 # set at the start of the step instead
                    if st.name not in stacks:
                        if st.kind == "append" and st.name in self._needed_all:
                            out.append(nodes.expr_stmt(nodes.call(
                                nodes.attribute(nodes.name(st.name), "pop"))))
                        continue
                    pop = nodes.call(nodes.attribute(nodes.name(stacks[st.name]), "pop"))
                    if st.kind == "setitem":
                        out.append(nodes.expr_stmt(nodes.call("restore_item", [
                            nodes.name(st.name), _index_value(st.index), pop])))
                    elif st.kind == "append":
                        out.append(nodes.expr_stmt(nodes.call(
                            nodes.attribute(nodes.name(st.name), "pop"))))
                    else:
                        out.append(nodes.assign(st.name, pop))
                    continue
                if isinstance(st, gast.If):
                    st.body = fix(st.body)
                    st.orelse = fix(st.orelse)
                    if not st.body and not st.orelse:
                        continue                         # nothing left to undo
                    st.body = st.body or [nodes.pass_()]
                elif isinstance(st, (gast.For, gast.While)):
                    st.body = fix(st.body) or [nodes.pass_()]
                out.append(st)
            return out
        return fix(backward)


# ------------------------------------------------------------------ helpers

def bind_rule(rule, s, parsed):
    """Map a rule's template parameters to the operands of statement `s`:
    ({param: name | Const | index node}, [vararg operands])."""
    mapping = {rule.output: s.target}
    params = rule.params
    varargs = []
    for i, a in enumerate(s.args):
        if i < len(params):
            mapping[params[i]] = a
        elif rule.vararg:
            varargs.append(a)
        else:
            raise parsed.error(f"too many arguments for the rule of `{rule.name}`", s.node)
    for k, a in s.kwargs.items():
        if k in params or k in rule.kwonly:
            mapping[k] = a
        elif not rule.varkw:
            raise parsed.error(f"s2sgrad does not support the keyword `{k}=` of "
                               f"`{rule.name}`", s.node)
    for p in params + rule.kwonly:
        if p not in mapping:
            if p in rule.defaults:
                mapping[p] = Const(rule.defaults[p])
            else:
                raise parsed.error(f"missing argument `{p}` for `{rule.name}`", s.node)
    if rule.name in ("getitem", "index_concat"):
        mapping["index"] = _index_value(s.expr.slice)
    return mapping, varargs


_SHAPE_ARGS = {"unbroadcast": 1, "unreduce": 1, "count_reduced": 0}


def _read_beyond_shape(backward):
    """The names the backward code reads other than for their shape (a name read only
    as in `unbroadcast(g, name)` needs only its shape saved)."""
    shape_uses = {}
    loads = {}
    for st in nodes.flat(backward):
        if isinstance(st, (_Restore, _Step)):
            continue
        for n in nodes.walk(st):
            if isinstance(n, gast.Call) and isinstance(n.func, gast.Name) \
                    and n.func.id in _SHAPE_ARGS and len(n.args) > _SHAPE_ARGS[n.func.id]:
                arg = n.args[_SHAPE_ARGS[n.func.id]]
                if isinstance(arg, gast.Name):
                    shape_uses[arg.id] = shape_uses.get(arg.id, 0) + 1
            elif isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load):
                loads[n.id] = loads.get(n.id, 0) + 1
    return {n for n in set(loads) | set(shape_uses) if loads.get(n, 0) != shape_uses.get(n, 0)}


def _template_names(rule):
    """{id(statement): (names it stores, in walk order; the adjoint names its target
    holds)} for the statements of a rule's template, which never change."""
    facts = getattr(rule, "_names_by_statement", None)
    if facts is None:
        facts = rule._names_by_statement = {}
        for stmt in rule.body:
            stores = [n.id for n in nodes.walk(stmt)
                      if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]
            writes = [n.id for n in nodes.walk(stmt.targets[0])
                      if isinstance(n, gast.Name) and n.id.endswith("_bar")] \
                if isinstance(stmt, gast.Assign) else []
            facts[id(stmt)] = stores, writes
    return facts


def _has_code(stmts):
    return any(not isinstance(s, (_Restore, _Step)) for s in stmts)


def _assigned_before_blocks(body, n):
    for s in body:
        if isinstance(s, (If, For, While)):
            return False
        if n in defs(s):
            return True
    return False


def _const_node(c):
    v = c.value
    if isinstance(v, tuple):
        return nodes.tuple_([_const_node(Const(x)) for x in v])
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
        return gast.UnaryOp(op=gast.USub(), operand=nodes.const(-v))
    return nodes.const(v)


def _basic_index(idx, scalars):
    """Is `idx` known to be made of numbers, slices, `None` and `...` (no integer array,
    so that `x[idx] = v` writes each position at most once)?"""
    if isinstance(idx, gast.Slice):
        return True
    if isinstance(idx, gast.Tuple):
        return all(_basic_index(e, scalars) for e in idx.elts)
    if isinstance(idx, gast.Constant):
        return not isinstance(idx.value, (list, tuple))
    return isinstance(idx, gast.Name) and idx.id in scalars


def _index_value(idx):
    """An index expression as a value that can be passed to a function."""
    if isinstance(idx, gast.Slice):
        parts = [nodes.clone(p) if p is not None else nodes.const(None)
                 for p in (idx.lower, idx.upper, idx.step)]
        return nodes.call("slice", parts)
    if isinstance(idx, gast.Tuple):
        return nodes.tuple_([_index_value(e) for e in idx.elts])
    return nodes.clone(idx)


def _source_of(node):
    from ..syntax.emit import expression_source
    return expression_source(node)


def _loop_text(s):
    """The loop's first line (`for t in range(n)`), printed without its body."""
    from ..syntax.emit import expression_source
    head = copy.copy(s.node)
    head.body, head.orelse = [gast.Pass()], []
    return expression_source(head).splitlines()[0].rstrip(":")


def reverse(trace: Trace, call_hook=None) -> "Reverse":
    return Reverse(trace, call_hook).run()


def gradient_function(adj: "Reverse", fname: str, with_value: bool = False,
                      doc: str = None) -> gast.FunctionDef:
    """Assemble `def grad_f(params..., y_bar=1.0)`: forward pass, backward pass and
    the gradients of the `wrt` inputs in their arguments' types."""
    tr = adj.trace
    body = [nodes.comment("forward pass")] + list(adj.forward)
    result = tr.body[-1].value
    result_node = nodes.operand(result)
    backward_mark = nodes.comment("backward pass")
    body.append(backward_mark)
    body += list(adj.backward)
    outs = []
    for i, g in zip(tr.wrt, adj.grads):
        p = tr.params[i]
        if g is None:
            outs.append(nodes.call("zero_grad", [nodes.name(p)]))
        else:
            outs.append(nodes.call("grad_like", [nodes.name(g), nodes.name(p)]))
    ret = outs[0] if len(outs) == 1 and not tr.tuple_wrt \
        else nodes.tuple_(outs)
    if with_value:
        if isinstance(result, str) and result in tr.overwritten:
            # the backward pass restores overwritten names: keep the value first
            value = "value"
            while value in tr.user_names or value in tr.params:
                value += "_"
            body.insert(body.index(backward_mark), nodes.assign(value, result_node))
            result_node = nodes.name(value)
        ret = nodes.tuple_([result_node, ret])
    body.append(nodes.return_(ret))
    defaults = [nodes.clone(d) for d in tr.defaults] + [nodes.const(1.0)]
    fdef = nodes.function_def(fname, tr.params + [adj.seed], body, defaults, doc)
    fdef.s2s_number_lists = set(tr.number_lists)     # (see optimize.lists)
    return fdef


def value_twin(fdef, adj, fname):
    """`value_and_grad_f`: the same statements as `grad_f`, returning (value, grads);
    with has_aux, ((value, aux), grads)."""
    tr = adj.trace
    body = list(fdef.body[:-1])
    result_node = _kept(tr, body, tr.body[-1].value, "value")
    if tr.aux is not None:         # has_aux: aux as the function computed it
        aux_node = _kept(tr, body, tr.aux.args[1], "aux")
        result_node = nodes.tuple_([result_node, aux_node])
    body.append(nodes.return_(nodes.tuple_([result_node, fdef.body[-1].value])))
    new = nodes.function_def(fname, [], body)
    new.args = fdef.args
    return new


def _kept(tr, body, operand, hint):
    """The node of a forward value returned by the value twin; a name the backward pass
    restores (overwritten in a loop) is first kept under a fresh name."""
    node = nodes.operand(operand)
    if isinstance(operand, str) and operand in tr.overwritten:
        value = hint
        while value in tr.user_names or value in tr.params:
            value += "_"
        mark = next(i for i, st in enumerate(body) if _is_backward_mark(st))
        body.insert(mark, nodes.assign(value, node))
        node = nodes.name(value)
    return node


def _is_backward_mark(st):
    return isinstance(st, gast.Expr) and isinstance(st.value, gast.Constant) \
        and st.value.value == nodes.COMMENT_MARK + "backward pass"
