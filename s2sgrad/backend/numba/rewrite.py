"""The generated source, rewritten line for line where Numba lacks what it uses (line
numbers stay those of the NumPy code, so messages and tracebacks point at it)."""
import ast
import re


def for_numba(source):
    """Every rewrite below."""
    return pieces_unplaced(shapes_kept(zero_adjoints_typed(tapes_appended(
        numba_source(source)))))


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
    """`x_bar = 0.0` for a parameter `x` written `x_bar = zero_grad(x)`: the zero of
    x's type, so that a loop adding arrays to it keeps one type (Numba types each
    variable once; the float 0.0 would become an array). Adjoints of a parameter have
    its shape, so the numbers are the same."""
    out, params = [], set()
    for line in source.splitlines(True):
        m = re.match(r"def \w+\((.*)\):", line)
        if m:
            params = {p.split("=")[0].strip() for p in m.group(1).split(",")}
        m = re.match(r"(\s+)(\w+)_bar = 0\.0\n?$", line)
        if m and m.group(2) in params:
            line = f"{m.group(1)}{m.group(2)}_bar = zero_grad({m.group(2)})\n"
        out.append(line)
    return "".join(out)


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