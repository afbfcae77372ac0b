"""Reading a gradient at a point: the execution trace and the adjoint table, with values.

`explain(f, *args)` differentiates `f` once more with a reading-friendly pipeline
(parse → normalize → trace, then repeated expressions merged so that `x1 / x2` is one
`v1` as in the lecture notes → reverse → emit), runs an *instrumented* copy of the
generated code at `args` (a recording call after every assignment) and returns an
`Explanation`: the forward table `v_i = op(...) = value`, the adjoint table
`v̄_i = ... = value`, the gradient, which statement cut the path of an input whose
gradient is structurally zero, and what each loop saves for the backward pass.

`run_instrumented` is also what `s2sgrad show --at` uses to annotate lines with shapes,
and `local_rule_checks` is the bisection step of `s2sgrad check`.
"""
import ast
import html
import re
import sys
from typing import Any, Callable
from dataclasses import dataclass, field

import gast
import numpy as np

from ..syntax import emit
from ..backend import load
from ..syntax import nodes
from .. import ir, pipeline
from ..frontend.normalize import normalize, check_returns_value
from ..frontend.parse import Parsed, parse_function
from ..ad.reverse import reverse, gradient_function

MACRON = "\u0304"

# ----------------------------------------------------------------- instrumentation
from ..ir import Kind


class Records:
    """What an instrumented run saw, by line of the generated text: the last value of
    each assigned name, how often the line ran, and what each `saved_*.append` pushed."""

    def __init__(self):
        self.last = {}          # lineno -> {name: value}
        self.count = {}         # lineno -> times run
        self.first_inputs = {}  # lineno -> {name: value} read before its first run
        self.pushed = {}        # lineno -> [bytes per push]

    def rec(self, lineno, names, values):
        self.count[lineno] = self.count.get(lineno, 0) + 1
        self.last[lineno] = {n: _snapshot(v) for n, v in zip(names, values)}

    def pre(self, lineno, values):
        if lineno not in self.first_inputs:
            self.first_inputs[lineno] = {k: _snapshot(v) for k, v in values.items()}

    def push(self, lineno, value):
        self.pushed.setdefault(lineno, []).append(nbytes(value))

    def loop(self, lineno):
        self.count[lineno] = self.count.get(lineno, 0) + 1


def _snapshot(v):
    return v.copy() if isinstance(v, np.ndarray) else v


def nbytes(v):
    """Memory a saved value holds (arrays by their buffer, numbers as 8 bytes)."""
    if v is None:
        return 0
    if isinstance(v, np.ndarray):
        return int(v.nbytes)
    if isinstance(v, np.generic):
        return int(v.itemsize)
    if isinstance(v, (bool, int, float, complex)):
        return 8
    if isinstance(v, (list, tuple)):
        return sum(nbytes(x) for x in v)
    if isinstance(v, dict):
        return sum(nbytes(x) for x in v.values())
    return sys.getsizeof(v)


class _Instrument(ast.NodeTransformer):
    def __init__(self, inputs):
        self.inputs = inputs

    def _stmts(self, body):
        out = []
        for st in body:
            st = self.visit(st)
            line = getattr(st, "lineno", 0)
            if self.inputs and isinstance(st, ast.Assign):
                loads = sorted({n.id for n in ast.walk(st.value)
                                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)})
                out.append(_call("__s2s_rec__.pre", [ast.Constant(line), ast.Dict(
                    keys=[ast.Constant(n) for n in loads],
                    values=[_guarded(n) for n in loads])]))
            out.append(st)
            if isinstance(st, (ast.Assign, ast.AugAssign)):
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
                out.append(_call("__s2s_rec__.rec", [
                    ast.Constant(line), ast.Tuple([ast.Constant(n) for n in names], ast.Load()),
                    ast.Tuple([ast.Name(n, ast.Load()) for n in names], ast.Load())]))
            elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) \
                    and isinstance(st.value.func, ast.Attribute) \
                    and st.value.func.attr == "append" \
                    and isinstance(st.value.func.value, ast.Name) \
                    and st.value.func.value.id.startswith("saved_"):
                last = ast.Subscript(ast.Name(st.value.func.value.id, ast.Load()),
                                     ast.Constant(-1), ast.Load())
                out.append(_call("__s2s_rec__.push", [ast.Constant(line), last]))
        return out

    def generic_visit(self, node):
        for fld in ("body", "orelse"):
            if isinstance(getattr(node, fld, None), list):
                setattr(node, fld, self._stmts(getattr(node, fld)))
        if isinstance(node, (ast.For, ast.While)):
            node.body.insert(0, _call("__s2s_rec__.loop", [ast.Constant(node.lineno)]))
        return node


def _guarded(name):
    # `locals().get(name)`: a name read before its first assignment records None
    return ast.Call(ast.Attribute(ast.Call(ast.Name("locals", ast.Load()), [], []), "get",
                                  ast.Load()), [ast.Constant(name)], [])


def _call(dotted, args):
    obj, attr = dotted.split(".")
    return ast.Expr(ast.Call(ast.Attribute(ast.Name(obj, ast.Load()), attr, ast.Load()),
                             args, []))


def run_instrumented(text, fname, namespace, args, inputs=False, filename="<s2sgrad explain>"):
    """Run `fname` from generated `text` with a recording call after each assignment.
    Returns (result, Records)."""
    tree = _Instrument(inputs).visit(ast.parse(text))
    ast.fix_missing_locations(tree)
    records = Records()
    ns = dict(namespace)
    ns["__s2s_rec__"] = records
    exec(compile(tree, filename, "exec"), ns)
    return ns[fname](*args), records


def closure_bindings(fn, generated_file):
    """The helpers a loaded generated function reaches through its closure (the
    factory in `load` binds them), following generated callee pairs."""
    out, seen, todo = {}, set(), [fn]
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        for name, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            try:
                obj = cell.cell_contents
            except ValueError:
                continue
            if getattr(getattr(obj, "__code__", None), "co_filename", None) == generated_file:
                todo.append(obj)
            else:
                out[name] = obj
        for name, obj in default_bindings(f).items():
            out.setdefault(name, obj)
    return out


def default_bindings(fn):
    """{name: value} of the defaults a generated function's def reads by name (a
    callee's default is bound under a name to the value its own def computed)."""
    import ast
    import inspect
    import textwrap
    values = fn.__defaults__ or ()
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return {}
    named = node.args.defaults[len(node.args.defaults) - len(values):]
    return {d.id: v for d, v in zip(named, values) if isinstance(d, ast.Name)}


# ------------------------------------------------------------ the reading pipeline


@dataclass
class Run:
    """One instrumented run of the reading pipeline."""
    trace: object
    parsed: object
    text: str
    fname: str
    result: object
    records: Records
    lines: list
    forward_span: tuple          # (first, last) line numbers of the forward pass
    backward_span: tuple
    display: dict = field(default_factory=dict)   # trace name -> name shown
    args: tuple = ()


def merge_repeated(tr):
    """Value numbering on straight-line top-level code: a repeated operation on the
    same operands (`x1 / x2` twice) becomes one name, as in the lecture notes. Only
    temporaries of the normal form are merged, never the user's own names."""
    user = set(nodes.names_in(tr.parsed.node)) | set(tr.params)
    seen, mapping, body = {}, {}, []
    for s in tr.body:
        if mapping:
            ir.apply_renames(s, mapping)
        if not isinstance(s, ir.Assign) or s.kind is Kind.CALL:
            if not isinstance(s, (ir.Effect, ir.Return)):
                seen.clear()
            body.append(s)
            continue
        key = (s.kind, emit.expression_source(s.expr))
        if s.kind is Kind.OP and s.target not in user and s.target not in tr.overwritten:
            if key in seen:
                mapping[s.target] = seen[key]
                continue
            seen[key] = s.target
        body.append(s)
    tr.body = body
    ir.analyse(tr)
    return tr


def prepare(func, wrt, merge=True):
    """(parsed, trace, text, fname, namespace): the reading pipeline's generated code."""
    parsed = func if isinstance(func, Parsed) else parse_function(func)
    parsed.inline_helpers = False        # the reader's calls stay calls in the tables
    fn = normalize(parsed)
    check_returns_value(parsed)
    tr = ir.build(parsed, fn, tuple(wrt))
    if merge:
        merge_repeated(tr)
    tr.tuple_wrt = True
    graph = pipeline.call_graph(parsed)
    adj = reverse(tr, call_hook=graph.hook)
    fname = f"grad_{tr.name}"
    fdef = gradient_function(adj, fname)
    text = "".join(emit.source(d) + "\n\n" for d in graph.definitions()) + emit.source(fdef)
    ns = dict(parsed.namespace)
    ns.update(load.runtime_bindings(text, parsed.namespace, adj.env | graph.env))
    ns.update(parsed.closure)
    return parsed, tr, text, fname, ns


def run(func, args, wrt, merge=True, inputs=False):
    parsed = func if isinstance(func, Parsed) else parse_function(func)
    # like grad's compilation for these arguments: `for k in d` over a dict argument
    parsed.dict_params = {p.id for p, a in zip(parsed.node.args.args, args)
                          if isinstance(a, dict)}
    parsed, tr, text, fname, ns = prepare(parsed, wrt, merge)
    result, records = run_instrumented(text, fname, ns, args, inputs)
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines, 1) if ln.startswith(f"def {fname}("))
    fwd = next(i for i in range(start, len(lines) + 1) if lines[i - 1].strip() == "# forward pass")
    bwd = next(i for i in range(fwd, len(lines) + 1) if lines[i - 1].strip() == "# backward pass")
    r = Run(tr, parsed, text, fname, result, records, lines, (fwd + 1, bwd - 1),
            (bwd + 1, len(lines)), args=tuple(args))
    r.display = _display_names(tr, parsed)
    return r


def _display_names(tr, parsed):
    """Temporaries renumbered v1, v2, ... in order (gaps left by merging closed up)."""
    user = set(nodes.names_in(parsed.node)) | set(tr.params)
    if any(re.fullmatch(r"v\d+", n) for n in user):
        return {}
    temps = [s.target for s in ir.walk(tr.body) if isinstance(s, ir.Assign)
             and re.fullmatch(r"v\d+", s.target)]
    out = {}
    for t in temps:
        out.setdefault(t, f"v{len(out) + 1}")
    return out


# -------------------------------------------------------------------- the tables


@dataclass
class Row:
    """One line of a table: `text` (a statement, loop header or gradient), its value
    (the last one when the line ran several times), the user's line, the run count."""
    text: str
    value: object = None
    line: int = None
    count: int = 1
    depth: int = 0
    has_value: bool = True


@dataclass
class Explanation:
    """The execution trace of one call, as the lecture notes print it. `str()` renders
    the tables; the rows are also available as objects."""
    name: str
    where: str
    inputs: list          # [(name, value)]
    forward: list         # [Row]
    backward: list        # [Row]
    gradient: list        # [(name shown, value)]
    notes: list = field(default_factory=list)

    def __str__(self):
        args = ", ".join(f"{n} = {fmt(v)}" for n, v in self.inputs)
        out = [f"Execution trace of {self.name} at {args}   ({self.where})", "",
               "forward pass: v_i = op(...)"]
        out += _table(self.forward)
        out += ["", f"backward pass: adjoints v{MACRON}_i = ∂y/∂v_i"]
        out += _table(self.backward)
        out += ["", "gradient"]
        out += _table([Row(f"{n} = {fmt(v)}", has_value=False) for n, v in self.gradient])
        if self.notes:
            out += [""] + [f"note: {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def values(self):
        """{text of the row: value} of both tables (for tests and notebooks)."""
        return {r.text: r.value for r in self.forward + self.backward if r.has_value}

    def _sections(self):
        args = ", ".join(f"{n} = {fmt(v)}" for n, v in self.inputs)
        grad = [Row(f"{n}", v) for n, v in self.gradient]
        return (f"Execution trace of {self.name} at {args} ({self.where})",
                [("forward pass: v_i = op(...)", self.forward),
                 (f"backward pass: adjoints v{MACRON}_i = ∂y/∂v_i", self.backward),
                 ("gradient", grad)])

    def _repr_markdown_(self):
        """The tables as Markdown (a notebook cell's last expression)."""
        title, sections = self._sections()
        out = [f"**{_md(title)}**", ""]
        for head, rows in sections:
            out += [f"*{_md(head)}*", "", "| statement | value | line |", "|---|---:|---:|"]
            out += [f"| {_md('  ' * r.depth + r.text)} | {_md(fmt(r.value)) if r.has_value else ''}"
                    f" | {_row_tail(r)} |" for r in rows]
            out.append("")
        out += [f"note: {_md(n)}" for n in self.notes]
        return "\n".join(out) + "\n"

    def _repr_html_(self):
        """The tables as HTML tables (a notebook cell's last expression)."""
        title, sections = self._sections()
        out = [f"<p><b>{html.escape(title)}</b></p>"]
        for head, rows in sections:
            out.append(f"<p><i>{html.escape(head)}</i></p><table>"
                       "<tr><th>statement</th><th>value</th><th>line</th></tr>")
            out += [f"<tr><td><code>{html.escape('  ' * r.depth + r.text)}</code></td>"
                    f"<td>{html.escape(fmt(r.value)) if r.has_value else ''}</td>"
                    f"<td>{html.escape(_row_tail(r))}</td></tr>" for r in rows]
            out.append("</table>")
        out += [f"<p>note: {html.escape(n)}</p>" for n in self.notes]
        return "\n".join(out)


def _md(text):
    """Text for a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def _row_tail(r):
    tail = str(r.line) if r.line else ""
    if r.count > 1:
        tail += f" (last of {r.count})"
    return tail


def _width(s):
    return len(s) - s.count(MACRON)


def _table(rows):
    width = max([_width("  " * r.depth + r.text) for r in rows] + [20])
    out = []
    for r in rows:
        text = "  " * r.depth + r.text
        if not r.has_value:
            out.append("  " + text + (f"    # ran {r.count}×" if r.count != 1 else ""))
            continue
        tail = f"line {r.line}" if r.line else ""
        if r.count > 1:
            tail += (", " if tail else "") + f"last of {r.count}"
        out.append(f"  {text}{' ' * (width - _width(text))}  = {fmt(r.value):>10}"
                   + (f"    ({tail})" if tail else ""))
    return out


def fmt(v):
    """A value as the notes print it: 4 decimals; arrays by shape and a few values."""
    if isinstance(v, (bool, np.bool_)) or v is None:
        return repr(v if v is None else bool(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4f}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, np.ndarray):
        flat = v.ravel()
        head = ", ".join(fmt(x) for x in flat[:3]) + (", …" if flat.size > 3 else "")
        return f"array{v.shape} {v.dtype} [{head}]"
    if isinstance(v, (list, tuple)):
        head = ", ".join(fmt(x) for x in v[:3]) + (", …" if len(v) > 3 else "")
        return f"{type(v).__name__}[{len(v)}] [{head}]" if len(v) > 3 else \
            ("[" if isinstance(v, list) else "(") + head + ("]" if isinstance(v, list) else ")")
    return repr(v)


def show_name(name, display):
    """`v6_bar` → `v̄6` (the notes' notation); long names keep `_bar`."""
    is_bar = name.endswith("_bar")
    base = display.get(name[:-4] if is_bar else name, name[:-4] if is_bar else name)
    if not is_bar:
        return base
    if re.fullmatch(r"[A-Za-z]_?\d*", base):
        return base[0] + MACRON + base[1:]
    return base + "_bar"


class _Pretty(ast.NodeTransformer):
    def __init__(self, display):
        self.display = display

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("unbroadcast", "grad_like") \
                and node.args:
            return node.args[0]
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            inner = _negated(node.right)
            if inner is not None:          # a + -b  →  a - b
                node.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
                node.right = inner
        return node

    def visit_Name(self, node):
        node.id = show_name(node.id, self.display)
        return node


def _negated(e):
    """`e` without its leading minus (`-a * b / c` → `a * b / c`), or None."""
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return e.operand
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Mult, ast.Div)):
        left = _negated(e.left)
        if left is not None:
            return ast.BinOp(left, e.op, e.right)
    return None


def pretty(text, display):
    """Generated code as the tables show it: helper wrappers dropped, names as in the notes."""
    try:
        tree = ast.parse(text.strip())
    except SyntaxError:
        return text.strip()
    return ast.unparse(_Pretty(display).visit(tree))


def explain(func: Callable[..., Any], *args: Any, wrt: Any = None) -> "Explanation":
    """The execution trace and adjoint table of `func` at `args` (public API).
    `wrt` defaults to every argument that is a float or a float array."""
    from ..api import resolve_wrt
    if wrt is None:
        wrt = tuple(i for i, a in enumerate(args) if _is_real(a)) or (0,)
    else:
        wrt = resolve_wrt(func, wrt)[0] if not isinstance(func, Parsed) else wrt
    return build_explanation(run(func, args, wrt), args)


def _is_real(a):
    if isinstance(a, bool):
        return False
    if isinstance(a, float):
        return True
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _fdef(tree, fname):
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fname)


def build_explanation(r, args):
    tr, rec, disp = r.trace, r.records, r.display
    fdef = _fdef(ast.parse(r.text), r.fname)
    user_text = {}
    for s in ir.walk(tr.body):
        if isinstance(s, ir.Assign):
            shown = emit.expression_source(getattr(s, "fwd_node", None) or s.node)
            user_text[shown] = (emit.expression_source(s.node), getattr(s.node, "lineno", None))
    counts = {w.count_name for w in ir.walk(tr.body) if isinstance(w, ir.While)}

    def next_adjoint(rest):
        """The adjoint the next adjoint assignment of a block sets (None at its end)."""
        for st in rest:
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name) \
                    and "_bar" in st.targets[0].id:
                return st.targets[0].id
            if not isinstance(st, ast.Assign):
                return None
        return None

    def rows(body, lo, hi, depth, backward):
        out = []
        for idx, st in enumerate(body):
            if not lo <= st.lineno <= hi:
                continue
            seg = r.lines[st.lineno - 1].strip()
            if isinstance(st, (ast.For, ast.While, ast.If)):
                out.append(Row(seg, line=None, count=1 if isinstance(st, ast.If)
                               else rec.count.get(st.lineno, 0),
                               depth=depth, has_value=False))
                out += rows(st.body, lo, hi, depth + 1, backward)
                if getattr(st, "orelse", None):
                    out.append(Row("else:", depth=depth, has_value=False))
                    out += rows(st.orelse, lo, hi, depth + 1, backward)
                continue
            if not isinstance(st, ast.Assign) or st.lineno not in rec.last:
                continue
            names = list(rec.last[st.lineno])
            target = names[0]
            if backward:
                zero = isinstance(st.value, ast.Constant) and st.value.value == 0.0
                # a reset is shown when the next adjoint line adds into it (so that
                # the rows add up), not the resets that end a loop step
                if "_bar" not in target or (
                        zero and next_adjoint(body[idx + 1:]) != target):
                    continue
                text = pretty(seg, disp)
            else:
                if target.startswith("saved_") or target in counts or (
                        isinstance(st.value, ast.Constant) and st.value.value is None):
                    continue
                text, line = user_text.get(seg, (seg, None))
                text = pretty(text, disp)
            line = None if backward else user_text.get(seg, (None, None))[1]
            out.append(Row(text, rec.last[st.lineno][target], line,
                           rec.count.get(st.lineno, 1), depth))
        return out

    forward = rows(fdef.body, *r.forward_span, 0, False)
    res = tr.result
    out_value = _output_value(r, res)
    if isinstance(res, str):
        label = "y" if "y" not in set(tr.user_names) | set(tr.params) else "out"
        forward.append(Row(f"{label} = {show_name(res, disp)}", out_value))
        seed = show_name(res + "_bar", disp)
        backward = [Row(f"{seed} = {show_name(label + '_bar', {})}", 1.0)]
    else:
        backward = []
    backward += rows(fdef.body, *r.backward_span, 0, True)
    grads = r.result if isinstance(r.result, tuple) else (r.result,)
    gradient = [(show_name(tr.params[i] + "_bar", {}), g) for i, g in zip(tr.wrt, grads)]
    where = f"{_short(r.parsed.filename)}:{getattr(r.parsed.node, 'lineno', '?')}"
    inputs = list(zip(tr.params, args))
    notes = zero_gradient_notes(tr, grads) + loop_notes(r, fdef)
    return Explanation(tr.name, where, inputs, forward, backward, gradient, notes)


def _output_value(r, res):
    if not isinstance(res, str):
        return getattr(res, "value", res)
    value = None
    for line in sorted(r.records.last):
        if r.forward_span[0] <= line <= r.forward_span[1] and res in r.records.last[line]:
            value = r.records.last[line][res]
    return value


def _short(path):
    import os
    return os.path.basename(path) if path else "?"


# ------------------------------------------------------------ why is it zero?


def _closure(start, edges):
    """Names reachable from `start` along (sources, targets) edges."""
    seen = set(start)
    changed = True
    while changed:
        changed = False
        for srcs, dsts in edges:
            if any(x in seen for x in srcs):
                new = [d for d in dsts if d not in seen]
                if new:
                    seen.update(new)
                    changed = True
    return seen


def _all_edges(tr):
    """Every flow of information, differentiable or not, control dependences included."""
    edges = []

    def block(body, ctrl):
        for s in body:
            if isinstance(s, (ir.If, ir.While)):
                inner = [s.test] + ctrl
                block(s.body, inner)
                block(getattr(s, "orelse", []), inner)
            elif isinstance(s, ir.For):
                inner = [a for a in s.range_args if isinstance(a, str)] + ctrl
                edges.append((inner, [s.target]))
                block(s.body, inner)
            elif hasattr(s, "reads"):
                edges.append((list(s.reads()) + ctrl, ir.defs(s)))
    block(tr.body, [])
    return edges


def zero_gradient_notes(tr, grads):
    """For each wrt input whose gradient is zero: the statement that cut its path."""
    notes = []
    stmts = list(ir.walk(tr.body))
    diff = [(flows, targets) for targets, flows in map(ir.dependencies, stmts)]
    edges = _all_edges(tr)
    res = tr.result if isinstance(tr.result, str) else None
    reaches = _closure({res} if res else set(), [(d, s) for s, d in edges])
    for i, g in zip(tr.wrt, grads):
        if np.any(np.asarray(_flat(g), dtype=float) != 0):
            continue
        p = tr.params[i]
        varied = _closure({p}, diff)
        if res and res in varied:
            notes.append(f"the gradient of {p} is zero at this point although a "
                         "differentiable path to the output exists (a branch, max/min or "
                         "a piecewise rule selected another input here)")
            continue
        cuts = [s for s in stmts if isinstance(s, ir.Assign)
                and any(a in varied for a in s.reads()) and s.target not in varied
                and s.target in reaches]
        if not cuts:
            notes.append(f"{p} does not influence the output, so its gradient is zero")
        for s in cuts:
            notes.append(f"the gradient of {p} is zero: its path to the output is cut at "
                         f"line {getattr(s.node, 'lineno', '?')}, "
                         f"`{emit.expression_source(s.node)}` ({_cut_reason(s, varied, tr)})")
    return notes


def _flat(g):
    if isinstance(g, (list, tuple)):
        return [x for v in g for x in np.ravel(_flat(v))] or [0.0]
    if isinstance(g, dict):
        return _flat(list(g.values()))
    return g


def _cut_reason(s, varied, tr):
    e = s.expr
    if s.kind is Kind.STOP:
        return "stop_gradient passes no gradient"
    if isinstance(e, gast.Compare):
        return "a comparison: its result is a boolean, which has no derivative"
    if isinstance(e, gast.BoolOp):
        return "a boolean operation"
    if isinstance(e, gast.Call):
        name = emit.expression_source(e.func)
        if name in ("int", "round", "np.round", "np.floor", "np.ceil", "math.floor",
                    "math.ceil", "np.rint", "np.trunc"):
            what = "an int() cast" if name == "int" else f"`{name}`"
            return f"{what} is piecewise constant: its derivative is zero"
        return f"`{name}` is not differentiable"
    if isinstance(e, gast.Attribute):
        return f"`.{e.attr}` is not a differentiable quantity"
    if isinstance(e, gast.BinOp) and s.kind is Kind.NONDIFF:
        return "an integer operation (//, %, bit operations) is not differentiable"
    if s.kind is Kind.OP:
        cut = [a for a in s.args if isinstance(a, str) and a in varied]
        return f"the rule of `{s.rule.name}` passes no gradient to {', '.join(cut)}"
    return "the result does not depend differentiably on its operands"


def loop_notes(r, fdef):
    """What each forward loop pushes per iteration, and the bytes held at this point."""
    notes = []
    loops = [s for s in ir.walk(r.trace.body)
             if isinstance(s, (ir.For, ir.While))]
    fwd_loops = [n for n in ast.walk(fdef) if isinstance(n, (ast.For, ast.While))
                 and r.forward_span[0] <= n.lineno <= r.forward_span[1]]
    fwd_loops.sort(key=lambda n: n.lineno)
    for k, node in enumerate(fwd_loops):
        pushes = [st for st in node.body if isinstance(st, ast.Expr)
                  and isinstance(st.value, ast.Call)
                  and isinstance(st.value.func, ast.Attribute)
                  and getattr(st.value.func.value, "id", "").startswith("saved_")]
        saved = [st.value.func.value.id[len("saved_"):] for st in pushes]
        runs = r.records.count.get(node.lineno, 0)
        total = sum(sum(r.records.pushed.get(st.lineno, [])) for st in pushes)
        src = loops[k] if k < len(loops) else None
        head = r.lines[node.lineno - 1].strip().rstrip(":")
        where = f" (line {src.node.lineno})" if src is not None and \
            getattr(src.node, "lineno", None) else ""
        shown = ", ".join(show_name(n, r.display) for n in saved)
        if not saved:
            notes.append(f"loop `{head}`{where} ran {runs} time(s); the backward pass "
                         "saves nothing per iteration")
        else:
            per = total / runs if runs else 0
            notes.append(f"loop `{head}`{where} ran {runs} time(s); the backward pass saves "
                         f"{shown} per iteration (about {per:.0f} bytes per iteration, "
                         f"{total} bytes held at this point)")
    return notes
