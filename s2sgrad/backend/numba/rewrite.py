"""The generated source, rewritten line for line where Numba lacks what it uses (line
numbers stay those of the NumPy code, so messages and tracebacks point at it)."""
import ast
import re

from ...ir.shapes import broadcast

#: The comment ending each line a rewrite adds (`source_line` counts them).
ADDED = "  # (added for Numba)"


def for_numba(source, shapes=None):
    """Every rewrite below (`shapes`: {def's name: {name: dims}}, see
    `elementwise_loops`)."""
    source = elementwise_loops(contractions(source, shapes or {}), shapes or {})
    source = zero_adjoints_typed(tapes_appended(numba_source(sums_of_squares(source))))
    source = views_added(source, shapes or {})
    return pieces_unplaced(shapes_kept(in_place_checked(reductions_over_axes(source))))


def sums_of_squares(source):
    """`np.einsum('...i,...i->...', a, a)` and `np.einsum('ij,ij->', a, a)` (a sum of
    squares, `optimize.squares`) written `np.sum(a * a, axis=-1)` and `np.sum(a * a)`:
    Numba has no einsum, and fuses the product into its sum."""
    source = re.sub(r"np\.einsum\('\.\.\.i,\.\.\.i->\.\.\.', (\w+), \1\)",
                    r"np.sum(\1 * \1, axis=-1)", source)
    return re.sub(r"np\.einsum\('([a-z]+),\1->', (\w+), \2\)", r"np.sum(\2 * \2)", source)


def contractions(source, shapes=None):
    """`np.einsum('ij,ijk->jk', a, b)` (a sum of a product, `optimize.contract`) written
    as the product it contracts, its operands widened where they lack a letter, then
    summed over each letter the result drops: `axis_sum(np.expand_dims(a, 2) * b, 0)`,
    and `np.expand_dims(np.einsum(...), k)` of one summed axis k as `axis_sum(..., k,
    True)`. Numba has no einsum; `axis_sum` of an elementwise product is what
    `arguments_named` and `elementwise_loops` make one loop of. A divisor after it that
    is the same along the summed axes (its dims in `shapes`, {def's name: {name: dims}},
    say so: what `optimize.contract` took out of the sum) goes back into the sum, for
    that loop: `axis_sum(g * p / s, 1, True)`. Only for the specs that pass writes: two
    operands, the letters of each and of the result in order."""
    shapes = shapes or {}
    parts = re.split(r"(?m)^(?=def )", source)
    return "".join(_widened(_contracted(part, shapes.get(_def_name(part), {})),
                            shapes.get(_def_name(part), {})) for part in parts)


def _widened(source, known):
    """`np.expand_dims(a, k)` inside a line the contractions wrote, bound to a name of
    its own on a line before (`a_wide = np.expand_dims(a, 2)`, a view), so that the
    product reads names alone and `elementwise_loops` makes it a loop; the name's dims
    go to `known`."""
    if "axis_sum(np.expand_dims(" not in source:
        return source
    taken = set(re.findall(r"\w+", source))
    out = []
    for line in source.splitlines(True):
        added = []

        def bind(m):
            name, k = m.group(1), int(m.group(2))
            wide = next(f"{name}_wide{i or ''}" for i in range(100)
                        if f"{name}_wide{i or ''}" not in taken)
            taken.add(wide)
            dims = known.get(name)
            if type(dims) is tuple and 0 <= k <= len(dims):
                known[wide] = dims[:k] + (1,) + dims[k:]
            added.append(f"{wide} = np.expand_dims({name}, {k})")
            return wide
        if "axis_sum(" in line and not line.rstrip().endswith(ADDED.strip()):
            line = re.sub(r"np\.expand_dims\((\w+), (\d+)\)", bind, line)
        indent = re.match(r"\s*", line).group(0)
        out.extend(f"{indent}{a}{ADDED}\n" for a in added)
        out.append(line)
    return "".join(out)


def _def_name(part):
    m = re.match(r"def (\w+)\(", part)
    return m.group(1) if m else None


def _contracted(source, known):
    def product(m, kept=None):
        specs, out = m.group("specs").split(","), m.group("out")
        letters = sorted(set("".join(specs)))
        if any(list(s) != sorted(s) for s in specs + [out]) or not set(out) <= set(letters):
            return None
        terms = []
        for spec, name in zip(specs, (m.group("a"), m.group("b"))):
            for k, letter in enumerate(letters):
                if letter not in spec:
                    name = f"np.expand_dims({name}, {k})"
            terms.append(name)
        summed = [k for k, letter in enumerate(letters) if letter not in out]
        d = m.group("d")
        inside = d is not None and _same_along(known.get(d), summed, len(letters))
        total = " * ".join(terms) + (f" / {d}" if inside else "")
        after = f" / {d}" if d is not None and not inside else ""
        if kept is not None:
            return f"axis_sum({total}, {kept}, True){after}" if summed == [kept] else None
        if len(summed) == 1:
            return f"axis_sum({total}, {summed[0]}){after}"
        for k in reversed(summed):
            total = f"np.sum({total}, axis={k})"
        return total + after

    einsum = r"np\.einsum\('(?P<specs>[a-z]+,[a-z]+)->(?P<out>[a-z]*)', (?P<a>\w+), (?P<b>\w+)\)"
    kept = r"np\.expand_dims\(" + einsum + r", (?P<k>\d+)\)"
    divided = r"(?: / (?P<d>\w+)(?![\w.(\[]))?"
    def negated(m, kept=None):
        """`-(…)` around one sum (a divisor went inside): `-axis_sum(…)`, the form the
        loops that follow are written around."""
        text = product(m, kept)
        return None if text is None else ("-" + text if text.startswith("axis_sum(")
                                          and text.endswith(")") and " / " not in
                                          text[text.rindex(")"):] else f"-({text})")
    source = re.sub(r"-\(" + kept + divided + r"\)",
                    lambda m: negated(m, int(m.group("k"))) or m.group(0), source)
    source = re.sub(r"-\(" + einsum + divided + r"\)", lambda m: negated(m) or m.group(0),
                    source)
    source = re.sub(kept + divided, lambda m: product(m, int(m.group("k"))) or m.group(0),
                    source)
    return re.sub(einsum + divided, lambda m: product(m) or m.group(0), source)


def _same_along(dims, summed, rank):
    """Is a value of these dims (right-aligned against `rank` axes) of length 1, or
    absent, along each of the `summed` axes?"""
    if type(dims) is not tuple or len(dims) > rank:
        return False
    start = rank - len(dims)
    return all(p < start or dims[p - start] == 1 for p in summed)


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
    only; other keywords (dtype, out, where) stay as they are. A call inside another's
    arguments (`np.sum(g * (x - np.mean(x, axis=-1, keepdims=True)), axis=-1)`) is
    written first, then the one around it."""
    while True:
        edits = _reduction_edits(source)
        if not edits:
            return source
        source = _edited(source, [e for e in edits if not any(
            o is not e and o[0] == e[0] and e[1] <= o[1] and o[2] <= e[2] for o in edits)])


def _reduction_edits(source):
    """The edits of `reductions_over_axes`, nested ones included."""
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
    return edits


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


def views_added(source, shapes):
    """`x_bar[:, j:k] += e` (and `-=`) written `added_into(x_bar[:, j:k], e)`
    (`subtracted_into`) where the subscript is a view: x_bar an array of known dims
    (`shapes`, as for `elementwise_loops`), the index slices and numbers with at least
    one slice. The helper adds in one loop where e has the view's shape (a slice's
    adjoint: a convolution's windows, an LSTM's gates) and uses the in-place operator
    otherwise, so the numbers are those of `+=`. Numba's own in-place operator on a
    strided view is three times slower."""
    if not shapes:
        return source
    tree = ast.parse(source)
    segment = _segments(source)
    edits = []
    for fdef in tree.body:
        known = shapes.get(getattr(fdef, "name", None))
        if not isinstance(fdef, ast.FunctionDef) or not known:
            continue
        for node in ast.walk(fdef):
            if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)) \
                    and node.lineno == node.end_lineno and _is_view(node.target, known):
                helper = "added_into" if isinstance(node.op, ast.Add) else "subtracted_into"
                edits.append((node.lineno, node.col_offset, node.end_col_offset,
                              f"{helper}({segment(node.target)}, {segment(node.value)})"))
    return _edited(source, edits)


def _is_view(target, known):
    """Is `target` a subscript of an array of known dims by slices and numbers, one
    slice at least (basic indexing: a view of the array)?"""
    if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
            and known.get(target.value.id)):
        return False
    parts = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
    if len(parts) > len(known[target.value.id]) or \
            not any(isinstance(p, ast.Slice) for p in parts):
        return False
    return all(isinstance(p, ast.Slice) or
               (isinstance(p, ast.Name) and known.get(p.id) == ()) or
               (isinstance(p, ast.Constant) and type(p.value) is int) for p in parts)


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


# ---------------------------------------------------------------- elementwise loops

#: NumPy functions of one argument that act element by element, with a Numba version
#: for numbers.
UNARY = {"abs", "absolute", "arccos", "arcsin", "arctan", "arcsinh", "cos", "cosh", "exp",
         "expm1", "fabs", "log", "log10", "log1p", "log2", "negative", "sin", "sinh",
         "sqrt", "square", "tan", "tanh"}


#: NumPy's elementwise functions whose own loops can be several times faster than
#: Numba's calls for one number (`helpers.NUMPY_LOOP_SIZES` says from which size, on
#: this machine): an elementwise loop stops at them and hands the array it wrote to
#: `ufunc_in_place`, and one standing alone is `ufunc_of` (the same code on every
#: machine; the helpers choose).
NUMPY_LOOPS = {"tanh", "exp", "log", "log2", "log10", "log1p", "expm1", "arctan",
               "arcsin", "arccos", "arcsinh", "sinh", "cosh", "tan"}

#: Those of `NUMPY_LOOPS` at which a loop of several operations stops: all but exp,
#: whose version for numbers (`exp_number`, 1.6 ns) is within about what a second pass
#: over the array would cost of NumPy's (0.85 ns).
NUMPY_LOOPS_ENDING = NUMPY_LOOPS - {"exp"}

#: np.<name> of one number in an elementwise loop → the helper computing it faster
#: than Numba's version (helpers.py).
NUMBER_VERSIONS = {"tanh": "tanh_number", "exp": "exp_number"}


def elementwise_loops(source, shapes):
    """A run of consecutive assignments `t = e` whose expressions are arithmetic
    (+ - * / **) and NumPy's elementwise functions over arrays of one known shape,
    arrays that broadcast to it (a bias, a row's maximum) and numbers (`shapes`: {def's
    name: {name: dims}}, `optimize.kinds.code_shapes`), written as one loop over that
    shape (taken from an array of that shape the run reads; the others read at the
    loop's indices, `b[i1]`, `m[i0, 0]`, after `reads_broadcast` checks their shapes,
    raising as NumPy would): one pass over memory, each value the run computes and
    only it reads a number in the loop, the others written into arrays made before it.
    Numba's array expressions go through a general broadcasting iterator, two to three
    times slower than such a loop, and give a temporary array per statement. Serves
    every chain of elementwise operations over values of one shape, slices of one
    vector included (vectorised Rosenbrock and its adjoint, `x[1:] - x[:-1] ** 2`; an
    activation and its derivative; a loss's residual):

        v3 = v2 ** 2                       n = same_shape(v1, v2)
        v4 = v1 - v3                  →    v4_bar = np.empty(n, float_like(v1, v2))
        v4_bar = v5_bar * 2 * v4           for i in range(n[0]):
                                               v3_i = v2[i] ** 2
                                               v4_i = v1[i] - v3_i
                                               v4_bar[i] = v5_bar * 2 * v4_i

    (`same_shape` raises where the arrays' shapes differ.) Statements of the run that
    only compute numbers go before the loop, in their order. Division is written
    `np.divide` and powers other than small whole ones `np.power` (NumPy's results for
    a zero divisor or a negative base, where Python's operators raise). Runs of fewer
    than two operations stay as they are (but for one of `NUMBER_VERSIONS`), as does
    everything whose shapes are not known. np.tanh and np.exp of an element are
    `tanh_number` and `exp_number` (`NUMBER_VERSIONS`). Added lines end with `ADDED`
    (`source_line` maps lines back)."""
    if not shapes:
        return source
    shapes = {name: dict(known) for name, known in shapes.items()}
    source = arguments_named(source, shapes)
    tree = ast.parse(source)
    segment = _segments(source)
    lines = source.splitlines(True)
    edits = []                          # (first line, last line, new lines)
    for fdef in tree.body:
        if isinstance(fdef, ast.FunctionDef) and shapes.get(fdef.name):
            _Fuser(fdef, shapes[fdef.name], segment, lines).runs(fdef.body, edits)
    for first, last, new in sorted(edits, reverse=True):
        lines[first - 1:last] = new
    return "".join(lines)


#: Calls whose first argument, an elementwise expression, `arguments_named` names.
REDUCERS = {"axis_sum", "reduce_sum", "reduce_max", "reduce_min", "reduce_mean"} | {
    f"np.{r}" for r in ("sum", "mean", "max", "min", "amax", "amin")}


def arguments_named(source, shapes):
    """`t = -axis_sum(g * y / s, 1, True)` written `t_arg = g * y / s` (a line ending
    with `ADDED`) and `t = -axis_sum(t_arg, 1, True)`, where the argument is elementwise
    over known shapes (`shapes`: {def's name: {name: dims}}, which gets t_arg's) with two
    operations or an operand that broadcasts: `elementwise_loops` then makes it a loop
    (or part of one), where Numba would evaluate it as an array expression through its
    broadcasting iterator (128 x 128: 29 us against 12 us). Serves the reductions in
    adjoints of softmax, log-sum-exp and normalisations (`np.sum(g * p, axis=1)`)."""
    tree = ast.parse(source)
    lines = source.splitlines(True)
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    edits = []
    for fdef in tree.body:
        known = shapes.get(getattr(fdef, "name", None))
        if not isinstance(fdef, ast.FunctionDef) or not known:
            continue
        fuser = _Fuser(fdef, known, None, lines)
        for stmt in ast.walk(fdef):
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and
                    isinstance(stmt.targets[0], ast.Name) and
                    stmt.lineno == stmt.end_lineno):
                continue
            call = next((c for c in ast.walk(stmt.value) if isinstance(c, ast.Call)
                         and c.args and ast.unparse(c.func) in REDUCERS), None)
            if call is None:                   # (`-2 * axis_sum(...)`: anywhere in it)
                continue
            e, found = call.args[0], set()
            if isinstance(e, (ast.Name, ast.Constant)) or not fuser._elementwise(e, found):
                continue
            dims = broadcast([d for d in found if d != ()])
            if not dims or not (_operations(e) >= 2 or any(
                    d != dims for d in found if d != ())):
                continue
            name = next(n for n in _numbered(f"{stmt.targets[0].id}_arg") if n not in taken)
            taken.add(name)
            known[name] = dims
            edits.append((stmt.lineno, e.col_offset, e.end_col_offset, name,
                          ast.unparse(e)))
    for ln, start, end, name, text in sorted(edits, reverse=True):
        raw = lines[ln - 1].encode()             # (ast's columns count UTF-8 bytes)
        indent = re.match(r"\s*", lines[ln - 1]).group(0)
        lines[ln - 1] = f"{indent}{name} = {text}{ADDED}\n" + \
            (raw[:start] + name.encode() + raw[end:]).decode()
    return "".join(lines)


def source_line(module_line, text):
    """The line of the generated source that line `module_line` of a module `text`
    written from it comes from (the lines a rewrite added are skipped)."""
    lines = text.splitlines()[:module_line]
    return module_line - sum(1 for ln in lines[:-1] if ln.endswith(ADDED))


class _Fuser:
    """The runs of one def (`runs`); `loads`: every name the def reads, with the lines
    where it does; `taken`: the names the def uses."""

    def __init__(self, fdef, shapes, segment, lines):
        self.shapes, self.segment, self.lines = shapes, segment, lines
        self.loads, self.taken = {}, {a.arg for a in fdef.args.args}
        for n in ast.walk(fdef):
            if isinstance(n, ast.Name):
                self.taken.add(n.id)
                if isinstance(n.ctx, ast.Load):
                    self.loads.setdefault(n.id, []).append(n.lineno)

    def runs(self, body, edits):
        """Add to `edits` the runs of the statement list `body` and of the blocks in
        it."""
        run, dims = [], None
        for stmt in body:
            d = self._dims(stmt)
            if d is not None and run and not self._joins(run, stmt, d, dims):
                self._emit(run, dims, edits)
                run, dims = [], None
            if d is not None and not run and not self._joins([], stmt, d, None):
                d = None
            if d is None:
                if run:
                    self._emit(run, dims, edits, reduction=_reduction(stmt, dims))
                run, dims = [], None
                for block in ("body", "orelse"):
                    if isinstance(getattr(stmt, block, None), list):
                        self.runs(getattr(stmt, block), edits)
                continue
            name = _numpy_loop(stmt.value) if d else None
            if name and isinstance(stmt.value.args[0], ast.Name) and not any(
                    stmt.value.args[0].id == s.targets[0].id for s in run):
                if run:                 # (its argument is an array made before the run)
                    self._emit(run, dims, edits)
                run, dims = [], None
                indent = re.match(r"\s*", self.lines[stmt.lineno - 1]).group(0)
                edits.append((stmt.lineno, stmt.lineno, [
                    f'{indent}{stmt.targets[0].id} = ufunc_of('
                    f'{stmt.value.args[0].id}, "{name}")\n']))
                continue
            run.append(stmt)
            dims = d or dims
            if name in NUMPY_LOOPS_ENDING:      # (the run's loop writes its argument)
                self._emit(run, dims, edits, ending=stmt)
                run, dims = [], None
        if run:
            self._emit(run, dims, edits)

    def _dims(self, stmt):
        """The dims of the elementwise assignment `stmt` (`()` for a number), else
        None."""
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and
                isinstance(stmt.targets[0], ast.Name) and stmt.lineno == stmt.end_lineno):
            return None
        found = set()
        if not self._elementwise(stmt.value, found):
            return None
        arrays = {d for d in found if d != ()}
        target = self.shapes.get(stmt.targets[0].id)
        if target is None or bool(arrays) != bool(target) or \
                not all(_broadcasts(d, target) for d in arrays):
            return None
        return target

    def _elementwise(self, e, found):
        if isinstance(e, ast.Name):
            d = self.shapes.get(e.id)
            found.add(d)
            return d is not None
        if isinstance(e, ast.Constant):
            return type(e.value) in (int, float)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            return self._elementwise(e.operand, found)
        if isinstance(e, ast.BinOp) and isinstance(
                e.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            return self._elementwise(e.left, found) and self._elementwise(e.right, found)
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and \
                isinstance(e.func.value, ast.Name) and e.func.value.id == "np" and \
                e.func.attr in UNARY and len(e.args) == 1 and not e.keywords:
            return self._elementwise(e.args[0], found)
        return False

    def _joins(self, run, stmt, d, dims):
        """Can `stmt` (of dims `d`) join `run` (or start one)? One shape; a number's
        statement (which goes before the loop) reads no array the run computes and
        binds no name the run reads or binds."""
        if d and dims and d != dims:
            return False
        if d:
            return True
        bound = {s.targets[0].id for s in run}
        read = set().union(*(_names_read(s.value) for s in run))
        t = stmt.targets[0].id
        return t not in bound and t not in read and not any(
            self.shapes[n] for n in _names_read(stmt.value) & bound)

    def _emit(self, run, dims, edits, ending=None, reduction=None):
        """Add to `edits` the loop of `run` (`ending`: its last statement, `t =
        np.<f>(e)` with f in `NUMPY_LOOPS`, whose loop writes e into t, which
        `ufunc_in_place` then makes f(e); `reduction`: the statement after the run, a
        sum of an array the run writes over one axis, as `_reduction` reads it, added
        up in the loop where it can be, see `_fused_sum`)."""
        arrays = [s for s in run if self.shapes[s.targets[0].id]]
        if not arrays or (sum(_operations(s.value) for s in arrays) < 2 and
                          not any(_faster_per_number(s.value) for s in arrays) and
                          not any(self.shapes[n] not in ((), dims) for s in arrays
                                  for n in _names_read(s.value))):
            return                      # (one operation, on arrays of one shape)
        first, last = run[0].lineno, run[-1].end_lineno
        inside = set(range(first, last + 1))
        bound = {s.targets[0].id for s in arrays}
        outer, deps = set(), {}         # (names read before the run assigns them)
        for s in arrays:
            d = set()
            for n in _names_read(s.value):
                if n in deps:
                    d |= deps[n]
                else:
                    outer.add(n)
                    d |= {n} if self.shapes[n] else set()
            deps[s.targets[0].id] = d
        read = sorted(n for n in outer if self.shapes[n])
        inputs = [n for n in read if self.shapes[n] == dims]
        if not read:
            return
        # arrays: what is read after the run, and what it reads before binding (a
        # loop's carried value, read again by the next step)
        kept = {t for t in bound if t in outer or
                any(ln not in inside for ln in self.loads.get(t, ()))}
        nd, bases = len(dims), ["i", "k", "p", "q"] + [f"i{m}_" for m in range(2, 1000)]
        index = self._fresh(bases if nd == 1 else
                            [[f"{b}{a}" for a in range(nd)] for b in bases])
        shape = self._fresh(_numbered("shape"))
        local = {t: self._fresh(_numbered(f"{t}_i")) for t in sorted(bound)}
        wide = {n: n for n in read if self.shapes[n] != dims}
        out = {t: self._fresh(_numbered(f"{t}_new")) if t in outer else t for t in kept}
        if index is None or shape is None or None in local.values() or \
                None in out.values():
            return
        index = [index] if nd == 1 else index
        indent = re.match(r"\s*", self.lines[first - 1]).group(0)
        at = ", ".join(index)
        new = [f"{indent}{self.segment(s)}\n" for s in run if s not in arrays]
        new.append(f"{indent}{shape} = same_shape({', '.join(inputs)}){ADDED}\n" if inputs
                   else f"{indent}{shape} = broadcast_shape({', '.join(read)}){ADDED}\n")
        for n in wide:                  # (numbers, dims (), are not in `read`)
            ones = [d == 1 for d in self.shapes[n]]
            new.append(f"{indent}reads_broadcast({n}, {shape}, "
                       f"({', '.join(map(str, ones))}{',' if len(ones) == 1 else ''}))"
                       f"{ADDED}\n")
            axes = index[nd - len(ones):]
            wide[n] = f"{n}[{', '.join('0' if one else i for one, i in zip(ones, axes))}]"
        for t in sorted(kept):
            new.append(f"{indent}{out[t]} = np.empty({shape}, float_like("
                       f"{', '.join(sorted(deps[t]))})){ADDED}\n")
        fused = self._fused_sum(reduction, kept, outer | bound, ending, index, shape, out)
        if fused is not None:
            new.append(f"{indent}{fused[0]}{ADDED}\n")
            last = reduction[0].end_lineno
        for k, i in enumerate(index):
            new.append(f"{indent}{'    ' * k}for {i} in range({shape}[{k}]):{ADDED}\n")
        inner = indent + "    " * nd
        last_def = {s.targets[0].id: s for s in arrays}
        stmts = {s.lineno: s for s in arrays}
        seen = set()
        for ln in range(first, last + 1):
            if self.lines[ln - 1].strip().startswith("#"):
                new.append(inner + self.lines[ln - 1].lstrip())
                continue
            s = stmts.get(ln)
            if s is None:
                continue
            t = s.targets[0].id
            value = _loop_expression(s.value.args[0] if s is ending else s.value,
                                     lambda n: local[n] if n in seen else (
                                         _element(n, wide, at) if self.shapes[n] else n))
            lhs = f"{local[t]} = "
            if t in kept and last_def[t] is s:
                read_later = any(t in _names_read(o.value) for o in arrays
                                 if o.lineno > s.lineno)
                lhs = f"{out[t]}[{at}] = " + (lhs if read_later else "")
            seen.add(t)
            added = ADDED if self.lines[ln - 1].rstrip("\n").endswith(ADDED) else ""
            new.append(f"{inner}{lhs}{value}{added}\n")
        if fused is not None:
            new.append(f"{inner}{fused[1]}\n")
        t = ending and ending.targets[0].id
        if t in kept:
            new.append(f'{indent}ufunc_in_place({out[t]}, "{_numpy_loop(ending.value)}")'
                       f'{ADDED}\n')
        new.extend(f"{indent}{t} = {out[t]}{ADDED}\n" for t in sorted(kept) if t in outer)
        edits.append((first, last, new))

    def _fused_sum(self, reduction, kept, mentioned, ending, index, shape, out):
        """(the line before the loop, the last line in it) that add up `reduction`
        (`r = axis_sum(t, a)`, see `_reduction`) in the run's loop, or None:
        `r = np.zeros(<shape without axis a>, t.dtype)` and `r[i1] = r[i1] + t[at]`,
        the element read back from t's array as the loop wrote it (t keeps its array:
        the sum adds the numbers NumPy would, of t's dtype, and others may read t).
        The loop visits the elements in C order, so each sum adds its terms in the order
        of NumPy's sum over an axis that is not the last (row after row, from 0.0): the
        same numbers. Only for one axis, not the last (NumPy adds a row pairwise), of an
        array whose final value the loop writes (not under `ufunc_in_place`), into a
        name the run neither reads nor binds. Serves the adjoints of biases and of
        other operands broadcast along the leading axes (`b1_bar = axis_sum(v2_bar, 0)`
        after the loop of an activation's adjoint: one pass over the matrix less), and
        sums over a batch axis of what a run computes (`np.sum(x * w, axis=0)`)."""
        if reduction is None or ending is not None:
            return None
        stmt, r, t, axis, keep = reduction
        if t not in kept or r in mentioned or r == t:
            return None
        nd = len(index)
        sizes = [("1" if keep else None) if k == axis else f"{shape}[{k}]"
                 for k in range(nd)]
        sizes = [z for z in sizes if z is not None]
        at = [("0" if keep else None) if k == axis else i for k, i in enumerate(index)]
        at = [z for z in at if z is not None]
        comma = "," if len(sizes) == 1 else ""
        into = f"{r}[{', '.join(at)}]"
        return (f"{r} = np.zeros(({', '.join(sizes)}{comma}), {out[t]}.dtype)",
                f"{into} = {into} + {out[t]}[{', '.join(index)}]")

    def _fresh(self, candidates):
        for c in candidates:
            names = c if isinstance(c, list) else [c]
            if not any(n in self.taken for n in names):
                self.taken.update(names)
                return c
        return None


#: Calls summing their first argument over axes: the positional parameters after it.
_SUMS = {"axis_sum": ("axis", "keepdims"), "reduce_sum": ("axis", "keepdims"),
         "np.sum": ("axis",)}


def _reduction(stmt, dims):
    """(stmt, r, t, axis, keepdims) where `stmt` is `r = axis_sum(t, axis)` (or
    reduce_sum, np.sum, with keepdims) over one constant axis of t, an array of `dims`
    (two or more axes), other than the last; else None (see `_Fuser._fused_sum`)."""
    if not dims or len(dims) < 2 or not (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and
            isinstance(stmt.targets[0], ast.Name) and stmt.lineno == stmt.end_lineno and
            isinstance(stmt.value, ast.Call) and stmt.value.args and
            isinstance(stmt.value.args[0], ast.Name)):
        return None
    call = stmt.value
    params = _SUMS.get(ast.unparse(call.func))
    if params is None or len(call.args) - 1 > len(params):
        return None
    given = dict(zip(params, call.args[1:]))
    for k in call.keywords:
        if k.arg not in ("axis", "keepdims") or k.arg in given:
            return None
        given[k.arg] = k.value
    axis, keep = given.get("axis"), given.get("keepdims")
    if isinstance(axis, ast.Tuple) and len(axis.elts) == 1:
        axis = axis.elts[0]
    if isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.USub) and \
            isinstance(axis.operand, ast.Constant) and type(axis.operand.value) is int:
        axis = ast.Constant(-axis.operand.value)
    nd = len(dims)
    if not (isinstance(axis, ast.Constant) and type(axis.value) is int and
            -nd <= axis.value < nd and axis.value % nd != nd - 1):
        return None
    if keep is not None and not (isinstance(keep, ast.Constant) and
                                 type(keep.value) is bool):
        return None
    return (stmt, stmt.targets[0].id, call.args[0].id, axis.value % nd,
            bool(keep is not None and keep.value))


def _element(n, wide, at):
    """How a loop at index `at` reads the element of array n: `n[at]` for an array of
    the loop's shape, else as `wide` has it (`n[i0, 0]`, `b[i1]`: its axes of length 1
    at 0, the axes it lacks dropped)."""
    return wide.get(n, f"{n}[{at}]")


def _numbered(name):
    """`name`, then `name2` … `name999`: candidates for a fresh name (`_Fuser._fresh`)."""
    return [name] + [f"{name}{m}" for m in range(2, 1000)]


def _broadcasts(dims, to):
    """Do arrays of `dims` broadcast to `to` (aligned on the right, each dim equal or
    the literal 1)?"""
    return len(dims) <= len(to) and all(
        d == t or d == 1 for d, t in zip(dims[::-1], to[::-1]))


def _names_read(e):
    """The names an elementwise expression reads (not `np` of its calls)."""
    calls = {id(n.func.value) for n in ast.walk(e) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(e) if isinstance(n, ast.Name) and id(n) not in calls}


def _numpy_loop(e):
    """f if e is `np.<f>(x)` for f in `NUMPY_LOOPS`, else None."""
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and \
            isinstance(e.func.value, ast.Name) and e.func.value.id == "np" and \
            e.func.attr in NUMPY_LOOPS and len(e.args) == 1 and not e.keywords:
        return e.func.attr
    return None


def _faster_per_number(e):
    """Does e call a function whose version for numbers beats Numba's for arrays
    (`NUMBER_VERSIONS`)? Then a loop pays even for that one operation."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and
               n.func.attr in NUMBER_VERSIONS for n in ast.walk(e))


def _operations(e):
    return sum(isinstance(n, (ast.BinOp, ast.UnaryOp, ast.Call)) for n in ast.walk(e))


def _loop_expression(e, element):
    """The expression `e` for one element: names as `element(name)` gives them,
    division as np.divide, powers other than 2 and 3 as np.power."""
    class Rewrite(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.Name(element(node.id), ast.Load())

        def visit_Call(self, node):             # (np.tanh(...): only the argument)
            node.args = [self.visit(a) for a in node.args]
            if node.func.attr in NUMBER_VERSIONS:
                return ast.Call(ast.Name(NUMBER_VERSIONS[node.func.attr], ast.Load()),
                                node.args, [])
            return node

        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, ast.Div):
                return _np_call("divide", node.left, node.right)
            if isinstance(node.op, ast.Pow) and not (
                    isinstance(node.right, ast.Constant) and node.right.value in (2, 3)
                    and type(node.right.value) is int):
                return _np_call("power", node.left, node.right)
            return node
    return ast.unparse(Rewrite().visit(ast.parse(ast.unparse(e), mode="eval")).body)


def _np_call(name, *args):
    return ast.Call(ast.Attribute(ast.Name("np", ast.Load()), name, ast.Load()),
                    list(args), [])
