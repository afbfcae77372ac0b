"""The generated source, rewritten line for line where Numba lacks what it uses (line
numbers stay those of the NumPy code, so messages and tracebacks point at it)."""
import ast
import re


def for_numba(source):
    """Every rewrite below."""
    source = zero_adjoints_typed(tapes_appended(numba_source(sums_of_squares(source))))
    return pieces_unplaced(shapes_kept(in_place_checked(reductions_over_axes(source))))


def sums_of_squares(source):
    """`np.einsum('...i,...i->...', a, a)` and `np.einsum('ij,ij->', a, a)` (a sum of
    squares, `optimize.squares`) written `np.sum(a * a, axis=-1)` and `np.sum(a * a)`:
    Numba has no einsum, and fuses the product into its sum."""
    source = re.sub(r"np\.einsum\('\.\.\.i,\.\.\.i->\.\.\.', (\w+), \1\)",
                    r"np.sum(\1 * \1, axis=-1)", source)
    return re.sub(r"np\.einsum\('([a-z]+),\1->', (\w+), \2\)", r"np.sum(\2 * \2)", source)


def pieces_unplaced(source):
    """`matmul_right(g, a, b, out=...)` (a piece of an adjoint written into its place,
    `optimize.pieces`) written without `out=`: the Numba helpers make their own array,
    and the statement after it puts the piece in its place (the value is the same)."""
    out, start = [], 0
    for m in re.finditer(r"(?<![\w.])(?:matmul_left|matmul_right|dot_left|dot_right)\(",
                         source):
        if m.start() < start:
            continue
        end = _closing(source, m.end())
        if end is None:
            continue
        k = source.rfind(", out=", m.end(), end)
        if k < 0 or _closing(source[k:end] + ")", 0) != end - k:
            continue                         # (not a keyword of this call)
        out.append(source[start:k])
        start = end
    out.append(source[start:])
    return "".join(out)


def tapes_appended(source):
    """A loop's tape (`saved = [None] * n`, written `saved[i] = a, b` at step i of
    `for i in range(n)`, see `optimize.saves.preallocate_tapes`) made `saved = []`
    and written `saved.append((a, b))`: Numba types a list by what it holds, and a list
    of `None` cannot hold tuples. The steps write the tape in order, once each, so the
    entries are where the backward loop reads them (`saved[i]`)."""
    tapes, out = set(), []
    for line in source.splitlines(True):
        m = re.match(r"(\s+)(saved\w*) = \[None\] \* .+\n?$", line)
        if m:
            tapes.add(m.group(2))
            line = f"{m.group(1)}{m.group(2)} = []\n"
        m = re.match(r"(\s+)(saved\w*)\[\w+\] = (.+?)\n?$", line)
        if m and m.group(2) in tapes:
            line = f"{m.group(1)}{m.group(2)}.append(({m.group(3)}))\n"
        out.append(line)
    return "".join(out)


def shapes_kept(source):
    """`ShapeOf(x)` (an object of a Python class, which Numba cannot hold) written
    `shape_kept(x)`: the value itself, whose shape is what the backward pass reads."""
    return re.sub(r"(?<![\w.])ShapeOf\(", "shape_kept(", source)


def numba_source(source):
    """The generated source with `reversed(range(...))` (which Numba does not compile)
    written as a counting-down range."""
    out, start = [], 0
    while True:
        k = source.find("reversed(range(", start)
        if k < 0 or (k > 0 and (source[k - 1].isalnum() or source[k - 1] in "._")):
            if k < 0:
                out.append(source[start:])
                return "".join(out)
            out.append(source[start:k + 1])
            start = k + 1
            continue
        inner = k + len("reversed(range(")
        end = _closing(source, inner)
        if end is None or source[end + 1:end + 2] != ")":
            out.append(source[start:inner])
            start = inner
            continue
        out.append(source[start:k])
        out.append(_countdown(source[inner:end]))
        start = end + 2


def zero_adjoints_typed(source):
    """`x_bar = 0.0` written `x_bar = zero_grad(x)` for a parameter `x`, and
    `x_bar = zero_like(x)` for any other name the function binds: the zero of x's type
    (an array of x's shape when x holds an array), so that a loop adding arrays to the
    adjoint keeps one type (Numba types each variable once; the float 0.0 would become
    an array). The adjoint of a value has the value's shape, and where the zero is
    set, x holds the value whose adjoint it is (reverse.py's invariant), except when
    the zero is set for the value a restore brings back (`x_bar = 0.0` just before
    `x = saved_x.pop()`): the two lines then change places. The numbers are the same:
    adding zeros changes nothing."""
    lines = source.splitlines(True)
    bound = _names_bound(source)
    params, func = set(), None
    for k, line in enumerate(lines):
        m = re.match(r"def (\w+)\((.*)\):", line)
        if m:
            func = m.group(1)
            params = {p.split("=")[0].strip() for p in m.group(2).split(",")}
        m = re.match(r"(\s+)(\w+)_bar = 0\.0\n?$", line)
        if not m or func is None:
            continue
        indent, x = m.group(1), m.group(2)
        if x in params:
            lines[k] = f"{indent}{x}_bar = zero_grad({x})\n"
        elif x in bound.get(func, ()):
            lines[k] = f"{indent}{x}_bar = zero_like({x})\n"
        else:
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if re.match(rf"{indent}{x} = saved\w*(\.pop\(\)|\[\w+\])\n?$", nxt):
            lines[k], lines[k + 1] = nxt, lines[k]
    return "".join(lines)


def _names_bound(source):
    """{def's name: the names it binds (assignments, loop variables)}."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = {n.id for n in ast.walk(node)
                              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return out


#: np.<name>(a, axis, keepdims) → the helper Numba compiles (helpers.py); np.sum without
#: keepdims over an axis known only when running is Numba's own.
REDUCTIONS = {"max": "reduce_max", "amax": "reduce_max", "min": "reduce_min",
              "amin": "reduce_min", "mean": "reduce_mean", "sum": "reduce_sum"}


def reductions_over_axes(source):
    """`np.max(z, axis=1, keepdims=True)` written `reduce_max(z, 1, True)` (and np.min,
    np.mean, np.sum with keepdims): Numba's versions take no axis (np.sum no keepdims).
    np.sum over constant axes without keepdims is written `reduce_sum` too: Numba's own
    goes through a general strided loop, two to five times slower than the helper's
    contiguous one (row sums, bias adjoints, squared distances). Calls on one line
    only; other keywords (dtype, out, where) stay as they are."""
    tree = ast.parse(source)
    segment = _segments(source)
    edits = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "np"
                and node.func.attr in REDUCTIONS and node.lineno == node.end_lineno):
            continue
        kw = {k.arg: k.value for k in node.keywords}
        if None in kw or set(kw) - {"axis", "keepdims"} or len(node.args) + len(kw) > 3 \
                or not node.args or len(node.args) > 3:
            continue
        args = list(node.args)
        axis = args[1] if len(args) > 1 else kw.get("axis")
        keep = args[2] if len(args) > 2 else kw.get("keepdims")
        if axis is None or (isinstance(axis, ast.Constant) and axis.value is None):
            continue
        if node.func.attr == "sum" and (keep is None or (isinstance(keep, ast.Constant)
                                                         and keep.value is False)) \
                and not _constant_axes(axis):
            continue
        parts = [segment(a) for a in (args[0], axis)]
        if keep is not None:
            parts.append(segment(keep))
        edits.append((node.lineno, node.col_offset, node.end_col_offset,
                      f"{REDUCTIONS[node.func.attr]}({', '.join(parts)})"))
    return _edited(source, edits)


def _constant_axes(axis):
    """Is the axis argument an integer constant or a tuple of them?"""
    items = axis.elts if isinstance(axis, ast.Tuple) else [axis]
    return bool(items) and all(
        isinstance(a, ast.Constant) and type(a.value) is int or
        (isinstance(a, ast.UnaryOp) and isinstance(a.op, ast.USub) and
         isinstance(a.operand, ast.Constant) and type(a.operand.value) is int)
        for a in items)


def in_place_checked(source):
    """`x_bar += e` written `x_bar += fits(e, x_bar)` (and -=, *=, /=; on a name or a
    subscript): Numba's in-place operators do not check that e's shape broadcasts to
    x_bar's, and read past e's end when it does not, where NumPy raises. `fits` raises
    as NumPy would; between numbers, or for shapes known equal, it is e itself."""
    tree = ast.parse(source)
    segment = _segments(source)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(
                node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)) and \
                isinstance(node.target, (ast.Name, ast.Subscript)) and \
                node.value.lineno == node.value.end_lineno and \
                node.target.lineno == node.target.end_lineno:
            value, target = segment(node.value), segment(node.target)
            edits.append((node.value.lineno, node.value.col_offset,
                          node.value.end_col_offset, f"fits({value}, {target})"))
    return _edited(source, edits)


def _segments(source):
    """A function giving the text of a one-line node of `source` (ast.get_source_segment
    splits the whole source at each call: a second per gradient of an LSTM)."""
    lines = [ln.encode() for ln in source.splitlines(True)]
    return lambda n: lines[n.lineno - 1][n.col_offset:n.end_col_offset].decode()


def _edited(source, edits):
    """`source` with each (line, start, end, text) edit made (columns in UTF-8 bytes, as
    `ast` counts them; one line each)."""
    lines = source.splitlines(True)
    for lineno, start, end, text in sorted(edits, reverse=True):
        raw = lines[lineno - 1].encode()
        lines[lineno - 1] = (raw[:start] + text.encode() + raw[end:]).decode()
    return "".join(lines)


def _closing(text, i):
    """The index of the `)` closing the parenthesis opened just before `i`."""
    depth = 1
    for j in range(i, len(text)):
        c = text[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return j
        elif c == "\n":
            return None
    return None


def _countdown(args_text):
    """`range(...)` visiting the numbers `range(args_text)` visits, last first."""
    call = ast.parse(f"f({args_text})", mode="eval").body
    parts = [ast.get_source_segment(f"f({args_text})", a) for a in call.args]
    if len(parts) == 1:
        return f"range(({parts[0]}) - 1, -1, -1)"
    if len(parts) == 2:
        return f"range(({parts[1]}) - 1, ({parts[0]}) - 1, -1)"
    a, b, s = parts
    return f"range(({a}) + (len(range({a}, {b}, {s})) - 1) * ({s}), ({a}) - ({s}), -({s}))"

def read_only_sequences(source, name):
    """The positions of the parameters of def `name` that the def only reads with
    `len(p)` and `p[i]` (never binds again, passes on or returns): a list or tuple of
    numbers given there can be passed to compiled code as an array, with the same
    values read. (Numba converts a list argument item by item on each call, and
    writes it back after: about 2 µs per 100 numbers, against 0.05 µs for an array.)"""
    fdef = next((n for n in ast.parse(source).body
                 if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fdef is None:
        return ()
    params = [a.arg for a in fdef.args.args]
    parents = {}
    for node in ast.walk(fdef):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    ok = {p: True for p in params}
    for node in ast.walk(fdef):
        if not isinstance(node, ast.Name) or node.id not in ok:
            continue
        up = parents.get(node)
        if isinstance(node.ctx, ast.Load) and (
                (isinstance(up, ast.Subscript) and up.value is node
                 and isinstance(up.ctx, ast.Load)) or
                (isinstance(up, ast.Call) and isinstance(up.func, ast.Name)
                 and up.func.id == "len" and up.args == [node])):
            continue
        ok[node.id] = False
    return tuple(i for i, p in enumerate(params) if ok[p] and any(
        isinstance(n, ast.Name) and n.id == p for n in ast.walk(fdef)))
