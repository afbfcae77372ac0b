"""The trace as a graph of statements, node by node.

`graphviz(run)` draws the computational graph (inputs, one node per operation, the output;
loops and branches as clusters), with forward values and adjoints on the edges when the
run was made at a point. `local_rule_checks(func, args, wrt)` is the bisection step of
`s2sgrad check`: it takes each operation of the trace at the values it saw, and
compares that single statement's adjoint rule with finite differences of that
statement alone, so that a wrong gradient is pinned to one line of the user's code.
"""
import numpy as np

from ..syntax import emit
from .. import ir
from .explain import fmt, show_name, run as explain_run
from ..ir import Kind


def _q(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def graphviz(r, values=True):
    """DOT text of the graph of `r.trace` (an `explain.Run`)."""
    tr, disp = r.trace, r.display
    last = _edge_values(r)
    several, in_loop = _versions(tr)
    given = dict(zip(tr.params, r.args))
    show = lambda n: show_name(n, disp)  # noqa: E731
    out = [f"digraph {_q(tr.name)} {{", "  rankdir=TB;",
           '  node [fontname="Helvetica", fontsize=11];',
           '  edge [fontname="Helvetica", fontsize=9];']
    producer = {}
    for i, p in enumerate(tr.params):
        nid = f"in{i}"
        style = ', style=filled, fillcolor="#dbe8f6"' if i in tr.wrt else ""
        out.append(f"  {nid} [shape=ellipse, label={_q(p)}{style}];")
        producer[p] = nid
    edges = []
    counter = [0]

    def edge(name, target, dashed=False):
        if name not in producer:
            return
        label = ""
        if values and r.records.last and name in last:
            if name in several and producer[name].startswith("in"):
                label = f"{show(name)} = {fmt(given[name])} (the argument)"
            elif name in several:    # one name, several values: none is the edge's
                label = f"{show(name)} (reassigned: value not shown)"
            elif name in in_loop:    # one value per iteration; the adjoint likewise
                label = f"{show(name)} = {fmt(last[name])} (last iteration)"
            else:
                label = f"{show(name)} = {fmt(last[name])}"
                if name + "_bar" in last:
                    label += f"\n{show(name + '_bar')} = {fmt(last[name + '_bar'])}"
        attrs = [f"label={_q(label)}"] if label else []
        if dashed:
            attrs.append("style=dashed")
        edges.append(f"  {producer[name]} -> {target}" +
                     (f" [{', '.join(attrs)}]" if attrs else "") + ";")

    def block(body, indent):
        pad = "  " * indent
        for s in body:
            counter[0] += 1
            k = counter[0]
            if isinstance(s, (ir.If, ir.For, ir.While)):
                head = emit.expression_source(s.node).splitlines()[0].rstrip(":")
                out.append(f"{pad}subgraph cluster_{k} {{")
                out.append(f"{pad}  label={_q(head)}; style=rounded;")
                tests = [s.test] if not isinstance(s, ir.For) else \
                    [a for a in s.range_args if isinstance(a, str)]
                out.append(f"{pad}  ctl{k} [shape=diamond, label={_q(head)}];")
                for t in tests:
                    edge(t, f"ctl{k}", dashed=True)
                if isinstance(s, ir.For):
                    producer[s.target] = f"ctl{k}"
                block(s.body, indent + 1)
                if isinstance(s, ir.If):
                    block(s.orelse, indent + 1)
                out.append(f"{pad}}}")
            elif isinstance(s, ir.Return):
                out.append(f"{pad}out [shape=doubleoctagon, label=\"output\"];")
                if isinstance(s.value, str):
                    edge(s.value, "out")
            elif isinstance(s, (ir.Assign, ir.SetItem, ir.Append)):
                text = emit.expression_source(s.node)
                for n, shown in sorted(disp.items(), key=lambda kv: -len(kv[0])):
                    text = _word_sub(text, n, shown)
                line = getattr(s.node, "lineno", None)
                label = text + (f"\nline {line}" if line else "")
                out.append(f"{pad}s{k} [shape=box, label={_q(label)}];")
                for a in dict.fromkeys(s.reads()):
                    edge(a, f"s{k}")
                for d in ir.defs(s):
                    producer[d] = f"s{k}"
    block(tr.body, 1)
    return "\n".join(out + edges + ["}"]) + "\n"


def _edge_values(r):
    """{name: value} of the run: forward values from the forward pass only (the
    backward pass restores earlier values into the same names), adjoints from the
    backward pass."""
    tr = r.trace
    out = dict(zip(tr.params, r.args))
    lo, hi = r.forward_span
    for line in sorted(r.records.last):
        rec = r.records.last[line]
        if lo <= line <= hi:
            out.update((k, v) for k, v in rec.items() if not k.endswith("_bar"))
        elif line > hi:
            out.update((k, v) for k, v in rec.items() if k.endswith("_bar"))
    if isinstance(tr.result, str) and r.records.last:
        out.setdefault(tr.result + "_bar", 1.0)
    return out


def _versions(tr):
    """(names given a value by more than one statement or parameter, names given
    values inside a loop): their recorded value is not the value of every edge."""
    count = dict.fromkeys(tr.params, 1)
    in_loop = set()

    def visit(body, looped):
        for s in body:
            if isinstance(s, ir.For):
                count[s.target] = count.get(s.target, 0) + 1
                in_loop.add(s.target)
            if isinstance(s, (ir.If, ir.For, ir.While)):
                inner = looped or not isinstance(s, ir.If)
                visit(s.body, inner)
                visit(getattr(s, "orelse", None) or [], inner)
                continue
            for d in ir.defs(s):
                count[d] = count.get(d, 0) + 1
                if looped:
                    in_loop.add(d)
    visit(tr.body, False)
    return {n for n, c in count.items() if c > 1}, in_loop


def _word_sub(text, old, new):
    import re
    return re.sub(rf"\b{re.escape(old)}\b", new, text)


# ---------------------------------------------------------------- rule checks


def local_rule_checks(func, args, wrt, rtol=1e-4, seed=0):
    """[(statement, user line, relative error)] for each operation of the trace whose
    adjoint rule disagrees with finite differences of that statement alone, first
    disagreement first. Statements inside called user functions are not visited."""
    r = explain_run(func, args, wrt, merge=False, inputs=True)
    tr = r.trace
    rng = np.random.default_rng(seed)
    texts = {}
    for line in range(r.forward_span[0], r.forward_span[1] + 1):
        texts.setdefault(r.lines[line - 1].strip(), line)
    bad = []
    for s in ir.walk(tr.body):
        if not isinstance(s, ir.Assign) or s.kind is not Kind.OP or s.target not in tr.active:
            continue
        line = texts.get(emit.expression_source(getattr(s, "fwd_node", None) or s.node))
        inputs = r.records.first_inputs.get(line)
        if inputs is None:
            continue
        err = _check_statement(s, inputs, tr, r.parsed, rng)
        if err is not None and err > rtol:
            bad.append((emit.expression_source(s.node), getattr(s.node, "lineno", None), err))
    return bad


def _real(v):
    return (isinstance(v, float) or isinstance(v, np.ndarray) and v.dtype.kind == "f")


def _check_statement(s, inputs, tr, parsed, rng):
    """Relative error of one statement's rule: ⟨x̄, d⟩ against the centered difference
    of ⟨ȳ, f(x + h·d)⟩, with random ȳ and directions d."""
    import gast
    from .explain import prepare
    from ..frontend.parse import Parsed
    names = [n for n in dict.fromkeys(s.reads()) if n in inputs]
    active = [i for i, n in enumerate(names) if n in tr.active and _real(inputs[n])]
    if not active:
        return None
    body = emit.expression_source(s.expr)
    src = f"def _statement({', '.join(names)}):\n    return {body}\n"
    node = gast.parse(src).body[0]
    for n in gast.walk(node):
        if hasattr(n, "lineno"):
            n.lineno = getattr(s.node, "lineno", 1)
    one = Parsed(None, node, parsed.filename, parsed.lines, parsed.namespace, parsed.closure)
    _, _, text, fname, ns = prepare(one, active, merge=False)
    vals = [inputs[n] for n in names]
    exec(compile(text, "<s2sgrad check>", "exec"), ns)
    ns2 = dict(parsed.namespace)
    ns2.update(parsed.closure)
    exec(compile(src, "<s2sgrad check>", "exec"), ns2)
    forward = ns2["_statement"]
    y = forward(*vals)
    if not _real(y) and not isinstance(y, (np.floating, int)):
        return None
    ybar = rng.standard_normal(np.shape(y))
    ybar = float(ybar) if np.ndim(y) == 0 else ybar
    grads = ns[fname](*vals, ybar)
    worst = 0.0
    for i, g in zip(active, grads):
        x = vals[i]
        d = rng.standard_normal(np.shape(x))
        d = float(d) if np.ndim(x) == 0 else d
        h = 1e-6 * max(1.0, float(np.max(np.abs(x))))

        def phi(t):
            moved = list(vals)
            moved[i] = x + t * d
            return float(np.sum(ybar * forward(*moved)))
        numeric = (phi(h) - phi(-h)) / (2 * h)
        exact = float(np.sum(np.asarray(g) * d))
        worst = max(worst, abs(exact - numeric) / max(abs(numeric), abs(exact), 1e-8))
    return worst
