"""Stage 5 — tangent: the trace → tangent code (forward mode, the dual numbers of the
lecture notes).

Takes a `Trace` whose `wrt` inputs carry tangents; returns the statements of
`jvp_f(params..., x_dot, ...)`: every statement of the trace, followed (for active
targets) by its tangent rule inlined from `rules/tangents.py`, e.g.

    v2 = np.sin(v1)
    v2_dot = v1_dot * np.cos(v1)

Control flow keeps its shape (no stacks are needed: tangents travel with the values).
Calls to the user's functions get their own `g_jvp` functions. An active value
computed without any active input gets a concrete zero tangent (`zero_grad(y)`), so
after every statement each active name has a tangent of its value's structure.
"""
import builtins
import inspect

import gast

from ..syntax import nodes, reserved
from .. import rules
from ..syntax.nodes import Const
from ..frontend.parse import Parsed, parse_function, readable_name
from .reverse import bind_rule, _const_node, _index_value, _ITEM
from ..ir import Assign, SetItem, Append, Pop, Effect, If, For, While, Return, Kind


def dot(name):
    return name + "_dot"


def _read_as_container(trace):
    """Names whose value the function reads as a tuple or list (indexes or unpacks it,
    passes it to a function of the user's, returns it), through copies. A rule may give
    a tuple that its properties do not announce (`np.average(a, weights=w,
    returned=True)`): the tangent terms of such a value are added with `add_grads`,
    elementwise, never with `+`, which would join the tuples."""
    from ..ir import walk
    from ..ir.analyses import container_uses
    stmts = list(walk(trace.body))
    returned = [s.value for s in stmts if isinstance(s, Return) and isinstance(s.value, str)]
    return container_uses(stmts, returned)[0]


def _changed_and_views(trace):
    """The containers a store or a generated `restore_item` changes in place, with the
    names that are views or second names of them (or that they are views of): the
    values whose tangents such a change writes into."""
    from ..ir import walk
    from ..ir.analyses import _is_view
    stmts = list(walk(trace.body))
    out = {s.container for s in stmts if isinstance(s, SetItem)}
    out |= {s.restored_item()[0] for s in stmts
            if isinstance(s, Effect) and s.restored_item()}
    if not out:
        return out
    links = [(s.args[0], s.target) for s in stmts if isinstance(s, Assign) and s.args
             and isinstance(s.args[0], str)
             and (s.kind is Kind.COPY or _is_view(s, trace))]
    grown = True
    while grown:
        grown = False
        for a, b in links:
            if (a in out) != (b in out):
                out |= {a, b}
                grown = True
    return out


class Tangent:
    """Writes the tangent code of one trace. State: `used` names, `env` (objects the
    templates refer to), `jvps` (the JvpGraph making callee functions), `stored_into`
    (the containers stores write into: their tangents are made their own)."""

    def __init__(self, trace, graph):
        self.trace = trace
        self.graph = graph
        self.used = set(trace.user_names) | set(trace.params) | reserved.outside(trace.parsed)
        self.env = {}
        self.read_as_container = _read_as_container(trace)
        from ..ir import walk
        self.stored_into = {s.container for s in walk(trace.body) if isinstance(s, SetItem)}
        self.shared = _changed_and_views(trace)

    def unshared(self, s):
        """For a value whose tangent may be (a view of) the tangent of an operand that a
        store changes later, while the value is a new array (`z = y + 0.0`, `z =
        y.flatten()`, a call of the user's returning its argument): the tangent copied
        where it shares memory (`unshared_tangent`), so that the store leaves it be."""
        t = s.target
        if t in self.shared or t in self.trace.scalars or s.kind not in (Kind.OP, Kind.CALL):
            return []
        return [nodes.assign(dot(t), nodes.call("unshared_tangent", [
            nodes.name(dot(t)), nodes.name(t), nodes.name(dot(a)), nodes.name(a)]))
            for a in s.args if isinstance(a, str) and a in self.shared and self.active(a)
            and a not in self.trace.scalars]

    def fresh(self, hint):
        return nodes.fresh_name(hint, self.used)

    def active(self, x):
        return isinstance(x, str) and x in self.trace.active

    def run(self):
        body = self.block(self.trace.body)
        return body

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def zero(self, t):
        return nodes.assign(dot(t), nodes.call("zero_grad", [nodes.name(t)]))

    def stmt(self, s):
        tr = self.trace
        if isinstance(s, Assign):
            if s.kind is Kind.CALL and s.target in tr.active:
                return self.call(s) + self.unshared(s)
            out = [s.node]
            if s.target in tr.active:
                out += self.tangent(s)
                if s.target in self.stored_into:
                    # stores below write into the tangent: one of its own
                    out.append(nodes.assign(dot(s.target), nodes.call(
                        "own_tangent", [nodes.name(dot(s.target)), nodes.name(s.target)])))
                else:
                    out += self.unshared(s)
            return out
        if isinstance(s, SetItem):
            out = [s.node]
            if s.container in tr.active:
                value = nodes.call("stored_cast_grad", [
                    nodes.name(dot(s.value)), nodes.name(s.container)]) \
                    if self.active(s.value) else \
                    nodes.call("zero_grad", [nodes.operand(s.value)])
                out.append(nodes.assign(nodes.subscript(nodes.name(dot(s.container)),
                                                        nodes.clone(s.index), store=True), value))
            return out
        if isinstance(s, Append):
            out = [s.node]
            if s.container in tr.active:
                value = nodes.name(dot(s.value)) if self.active(s.value) else \
                    nodes.call("zero_grad", [nodes.operand(s.value)])
                out.append(nodes.expr_stmt(nodes.call(nodes.attribute(
                    nodes.name(dot(s.container)), "append"), [value])))
            return out
        if isinstance(s, Pop):
            out = [s.node]
            if s.container in tr.active:
                out.append(nodes.expr_stmt(nodes.call(nodes.attribute(
                    nodes.name(dot(s.container)), "pop"))))
            return out
        if isinstance(s, Effect):
            call = s.node.value if isinstance(s.node, gast.Expr) else None
            restored = s.restored_item()
            if restored and restored[0] in tr.active:
                # generated reverse code undoing a store: undo it on the tangent too
                old = call.args[2]
                old_dot = nodes.name(dot(old.id)) if self.active(restored[1]) \
                    else nodes.call("zero_grad", [nodes.clone(old)])
                return [s.node, nodes.expr_stmt(nodes.call("restore_item", [
                    nodes.name(dot(call.args[0].id)), nodes.clone(call.args[1]), old_dot]))]
            return [s.node]
        if isinstance(s, If):
            return [nodes.copy_location(nodes.if_(nodes.name(s.test), self.block(s.body),
                                                  self.block(s.orelse)), s.node)]
        if isinstance(s, For):
            loop = nodes.for_(s.target, nodes.call("range", [nodes.operand(a)
                                                             for a in s.range_args]),
                              self.block(s.body))
            return [nodes.copy_location(loop, s.node)]
        if isinstance(s, While):
            return [nodes.copy_location(nodes.while_(nodes.name(s.test), self.block(s.body)),
                                        s.node)]
        if isinstance(s, Return):
            return []
        raise TypeError(s)

    # ------------------------------------------------------------ tangents
    def tangent(self, s):
        t = s.target
        if s.kind is Kind.COPY:
            a = s.args[0]
            return [nodes.assign(dot(t), nodes.name(dot(a)))] if self.active(a) \
                else [self.zero(t)]
        if s.kind is Kind.POP:
            return [nodes.assign(dot(t), nodes.call(nodes.attribute(
                nodes.name(dot(s.args[0])), "pop")))] if self.active(s.args[0]) \
                else [self.zero(t)]
        if s.kind is Kind.OPAQUE:
            raise s.error
        if s.kind is not Kind.OP:
            return [self.zero(t)]
        obj = _callee_object(s, self.trace)
        if obj in (builtins.max, builtins.min) and len(s.args) == 1:
            obj = None      # max(xs) of one iterable: np.max's rule (ir/trace.py)
        rule = rules.tangent_for(s.rule, obj)
        if rule is None:
            raise self.trace.parsed.error(
                f"no tangent (forward-mode) rule for `{s.rule.name}`", s.node,
                "register one with @s2sgrad.tangent")
        return self.inline(rule, s) or [self.zero(t)]

    def inline(self, rule, s):
        mapping, varargs = bind_rule(rule, s, self.trace.parsed)
        if rule.name == "getitem" and isinstance(s.expr, gast.Subscript):
            mapping["index"] = nodes.clone(s.expr.slice)   # x_dot[1:], as the user wrote
        for n in nodes.walk(gast.Module(body=rule.body, type_ignores=[])):
            if isinstance(n, gast.Name) and n.id in rule.namespace and not n.id.endswith("_dot"):
                self.env.setdefault(n.id, rule.namespace[n.id])
        terms = []
        for stmt in rule.body:
            if not isinstance(stmt, gast.AugAssign):
                raise TypeError(f"tangent rule {rule.name} may only add to the output tangent")
            reads = {n.id[:-4] for n in nodes.walk(stmt.value)
                     if isinstance(n, gast.Name) and n.id.endswith("_dot")}
            if rule.vararg and rule.vararg in reads:
                for k, a in enumerate(varargs):
                    if self.active(a):
                        extra = {"k": Const(k), _ITEM: a}
                        if s.keys is not None:
                            extra["key"] = Const(s.keys[k])
                        terms.append(self.term(stmt.value, {**mapping, **extra}, rule,
                                               varargs, s))
                continue
            operands = [mapping.get(r) for r in reads]
            if operands and all(self.active(o) for o in operands):
                terms.append(self.term(stmt.value, mapping, rule, varargs, s))
        out = []
        t = s.target
        for value in terms:
            if not out:
                out.append(nodes.assign(dot(t), value))
            elif t in self.trace.maybe_container or t in self.read_as_container:
                out.append(nodes.assign(dot(t), nodes.call("add_grads", [nodes.name(dot(t)),
                                                                          value])))
            else:
                out.append(nodes.assign(dot(t), gast.BinOp(left=nodes.name(dot(t)),
                                                           op=gast.Add(), right=value)))
        return out

    def term(self, expr, mapping, rule, varargs, s):
        from .templates import fold_template
        mapping = dict(mapping)
        item = mapping.pop(_ITEM, None)
        subst = {}
        for p, a in mapping.items():
            subst[p] = a if isinstance(a, (str, gast.AST)) else _const_node(a)
            if isinstance(a, str):
                subst[dot(p)] = dot(a)
        if rule.vararg:
            subst[rule.vararg] = nodes.tuple_([nodes.operand(a) for a in varargs])
            if item is not None:
                subst[dot(rule.vararg)] = dot(item)
        subst[dot(rule.output)] = dot(s.target)
        from .templates import drop_broadcast
        return drop_broadcast(fold_template(nodes.substitute(expr, subst)), s,
                              self.trace.scalars)

    # ------------------------------------------------------------- calls
    def call(self, s):
        func = s.callee
        params = list(inspect.signature(func).parameters)
        binding = {}
        for i, a in enumerate(s.args):
            binding[params[i]] = a
        binding.update(s.kwargs)
        active = tuple(i for i, p in enumerate(params) if self.active(binding.get(p)))
        if not active:
            return [s.node, self.zero(s.target)]
        # the functions the call passes (`apply(np.tanh, x)`): the callee's code is
        # specialized on them, as its reverse-mode pair is (ad/callees.py)
        functions = {(params[k] if isinstance(k, int) else k): obj
                     for k, obj in (getattr(s, "function_args", None) or {}).items()}
        name = self.graph.jvp_function(func, active, functions)
        renamed = self.graph.renamed.get(name, {})   # its parameters, as generated
        args = [nodes.operand(a) for a in s.args]
        kwargs = {renamed.get(k, k): nodes.operand(a) for k, a in s.kwargs.items()}
        kwargs.update({dot(renamed.get(params[i], params[i])):
                       nodes.name(dot(binding[params[i]])) for i in active})
        target = nodes.tuple_([nodes.name(s.target, store=True),
                               nodes.name(dot(s.target), store=True)], store=True)
        return [nodes.copy_location(nodes.assign(target, nodes.call(name, args, kwargs)),
                                    s.node)]


def _callee_object(s, trace):
    """The callable a statement calls (for user-registered tangent rules)."""
    e = s.expr
    if not isinstance(e, gast.Call):
        return None
    func = e.func
    try:
        if isinstance(func, gast.Name):
            return trace.parsed.resolve(func.id)
        if isinstance(func, gast.Attribute):
            chain = []
            while isinstance(func, gast.Attribute):
                chain.append(func.attr)
                func = func.value
            if isinstance(func, gast.Name):
                obj = trace.parsed.resolve(func.id)
                for attr in reversed(chain):
                    obj = getattr(obj, attr)
                return obj
    except (KeyError, AttributeError):
        return None
    return None


class JvpGraph:
    """The jvp functions generated for one root function and its callees."""

    def __init__(self, build, root_globals=None, root_closure=None, deps=None):
        self.build = build            # the pipeline's parse → normalize → trace
        self.root_closure = root_closure
        self.deps = deps              # (namespace, name, object) the code took, or None
        self.functions = {}
        self.order = []
        self.env = {}
        self.names = set()
        self.renamed = {}             # jvp function -> its user names renamed at parse
        self.root_globals = root_globals

    def jvp_function(self, func, active, functions=None):
        functions = functions or {}
        key = (func, active) + tuple((p, id(functions[p])) for p in sorted(functions))
        if key in self.functions:
            return self.functions[key][0]
        base, n = f"{readable_name(func)}_jvp", 1
        name = base
        while name in self.names:
            n += 1
            name = f"{base}{n}"
        self.names.add(name)
        self.functions[key] = (name, None)
        parsed = parse_function(func)
        self.renamed[name] = getattr(parsed, "renamed", {})
        from .callees import bind_callee_names
        bind_callee_names(parsed, self.root_globals, self.env, self.root_closure,
                          self.deps)
        fdef, env = jvp_definition(parsed, active, name, self, functions=functions)
        self.env.update(env)
        self.functions[key] = (name, fdef)
        self.order.append(key)
        return name

    def definitions(self):
        return [self.functions[k][1] for k in self.order]


def jvp_definition(parsed: Parsed, wrt: tuple, name: str, graph: "JvpGraph",
                   doc: str = None, optional_tangents: bool = False,
                   functions=None) -> tuple:
    """`def name(params..., <wrt>_dot...)` returning (value, tangent). The tangents may be
    omitted (they are then zero) when the function has defaults, or when asked
    (`optional_tangents`: the CLI's modules, called by people)."""
    tr = graph.build(parsed, wrt, functions=functions) if functions else \
        graph.build(parsed, wrt)
    if graph.deps is not None:
        graph.deps += tr.deps         # the global names its calls go through
    gen = Tangent(tr, graph)
    body = gen.run()
    # parameters without a tangent that later carry one (an accumulator passed in) start at 0
    for i, p in enumerate(tr.params):
        if i not in wrt and p in tr.active:
            body.insert(0, nodes.assign(dot(p), nodes.call("zero_grad", [nodes.name(p)])))
    result = tr.result
    if isinstance(result, str) and result in tr.active:
        out_dot = nodes.name(dot(result))
    else:
        out_dot = nodes.call("zero_grad", [nodes.operand(result)])
    body.append(nodes.return_(nodes.tuple_([nodes.operand(result), out_dot])))
    dots = [dot(tr.params[i]) for i in wrt]
    params = tr.params + dots
    defaults = [nodes.clone(d) for d in tr.defaults]
    if defaults or optional_tangents:
        # (after parameters with defaults the tangents need one too): an omitted tangent
        # is zero, not None, which the tangent code would multiply
        defaults += [nodes.const(None)] * len(dots)
        body[:0] = [nodes.parse_stmts(f"{dot(tr.params[i])} = zero_grad({tr.params[i]}) "
                                      f"if {dot(tr.params[i])} is None else "
                                      f"{dot(tr.params[i])}")[0] for i in wrt]
    doc = doc or (f"Value and tangent (forward mode) of {tr.name} along "
                  + ", ".join(dots) + ".")
    return nodes.function_def(name, params, body, defaults, doc), gen.env


__all__ = ["Tangent", "JvpGraph", "jvp_definition", "dot", "_index_value"]
