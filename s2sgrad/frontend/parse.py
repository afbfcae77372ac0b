"""Stage 1 — parse: a live function → its gast `FunctionDef` plus a name resolver.

Takes a Python function; returns a `Parsed` record: the function's AST (line numbers
shifted to the user's file), the file name and its lines (for error carets), and
`resolve(name)` which maps every free name to the object it denotes (closure cells,
globals, builtins). Nothing is executed.
"""
import builtins
import functools
import inspect
import linecache
import textwrap
from dataclasses import dataclass, field

import gast

from ..syntax import nodes, reserved
from ..syntax.source import source_tree
from ..errors import SourceUnavailableError, TransformError


@dataclass
class Parsed:
    func: object                 # the user's function (None when parsed from a file)
    node: gast.FunctionDef
    filename: str
    lines: list                  # the file's lines, for error messages
    namespace: dict              # globals the generated code runs in
    closure: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)     # the closure's cells, by name
    inline_helpers: bool = True  # small helpers of the same file are inlined (`normalize`)

    def resolve(self, id_):
        """The object a free name denotes, or raise KeyError."""
        if id_ in self.closure:
            return self.closure[id_]
        if id_ in self.namespace:
            return self.namespace[id_]
        if hasattr(builtins, id_):
            return getattr(builtins, id_)
        raise KeyError(id_)

    def error(self, message, node=None, hint=None, cls=TransformError):
        lineno = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
        line = None
        if lineno is not None and 0 < lineno <= len(self.lines):
            line = self.lines[lineno - 1]
        return cls(message, self.filename, lineno, col, line, hint)


class CellView:
    """A closure cell read like a namespace (`get`): generated code holds the value a
    cell had when it was compiled, so the cache compares it with the cell's value now
    (`nonlocal` may have rebound it)."""

    def __init__(self, cell):
        self.cell = cell

    def get(self, name, default=None):
        try:
            return self.cell.cell_contents
        except ValueError:
            return default


class FunctionView:
    """A function's code and defaults read like a namespace (`get("__code__")`), held
    weakly: code that inlined the function's body is stale once they are set anew."""

    def __init__(self, func):
        import weakref
        self.ref = weakref.ref(func)

    def get(self, name, default=None):
        func = self.ref()
        return default if func is None else getattr(func, name, default)


def unwrap(func):
    """The plain Python function behind decorators and bound methods. A decorator's
    `__wrapped__` is followed only when the wrapper provably just calls it (see
    `_transparent`); a decorator that changes the result is refused, never skipped."""
    while True:
        if isinstance(func, functools.partial):
            raise SourceUnavailableError(
                "cannot differentiate a functools.partial object",
                hint="differentiate the underlying function and pass the fixed "
                     "arguments explicitly")
        inner = getattr(func, "__s2sgrad_wrapped__", None)
        if inner is None:
            inner = getattr(func, "__wrapped__", None)
            if inner is not None and not _transparent(func, inner):
                raise _decorator_error(func, inner)
        if inner is None:
            return func
        func = inner


def _transparent(wrapper, inner):
    """Does calling `wrapper` do exactly what calling `inner` does? True for
    staticmethod/classmethod, functools' caches, and a Python wrapper whose whole code
    is `return inner(<its own parameters>)` with `inner` its closure cell (what
    `functools.wraps` around a pass-through looks like); compared on bytecode against
    that pass-through compiled with the wrapper's own names."""
    if isinstance(wrapper, (staticmethod, classmethod)):
        return True
    if type(wrapper).__module__ == "functools" and \
            type(wrapper).__name__ == "_lru_cache_wrapper":
        return True
    if not inspect.isfunction(wrapper) or not wrapper.__closure__:
        return False
    code = wrapper.__code__
    cells = [n for n, c in zip(code.co_freevars, wrapper.__closure__)
             if _cell_is(c, inner)]
    if len(code.co_freevars) != 1 or not cells or code.co_kwonlyargcount \
            or code.co_posonlyargcount:
        return False
    try:
        return _opcodes(code) == _opcodes(_pass_through(code, cells[0]))
    except Exception:                        # an unexpected code shape: not provable
        return False


def _cell_is(cell, obj):
    try:
        return cell.cell_contents is obj
    except ValueError:
        return False


def _pass_through(code, callee):
    """The code of `def W(<code's parameters>): return callee(<the same>)`."""
    n = code.co_argcount
    names = list(code.co_varnames[:n])
    params, passed = list(names), list(names)
    k = n
    if code.co_flags & inspect.CO_VARARGS:
        params.append("*" + code.co_varnames[k])
        passed.append("*" + code.co_varnames[k])
        k += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        params.append("**" + code.co_varnames[k])
        passed.append("**" + code.co_varnames[k])
    text = (f"def _outer():\n    {callee} = None\n"
            f"    def {code.co_name}({', '.join(params)}):\n"
            f"        return {callee}({', '.join(passed)})\n")
    outer = compile(text, "<pass-through>", "exec").co_consts[0]
    return next(c for c in outer.co_consts if hasattr(c, "co_code"))


def _opcodes(code):
    import dis
    return [(i.opname, i.argval if isinstance(i.argval, str) else i.arg)
            for i in dis.get_instructions(code)
            if i.opname not in ("RESUME", "NOP", "CACHE", "EXTENDED_ARG")]


def _decorator_error(wrapper, inner):
    """A located refusal: the decorator's effect on the value is unknown."""
    wcode = getattr(wrapper, "__code__", None)       # (wraps copied the inner's names)
    qual = getattr(wcode, "co_qualname", getattr(wcode, "co_name", "")) or ""
    deco = qual.split(".<locals>")[0] if ".<locals>" in qual else \
        type(wrapper).__name__
    name = getattr(inner, "__qualname__", getattr(inner, "__name__", repr(inner)))
    code = getattr(inner, "__code__", None)
    filename = getattr(code, "co_filename", None)
    lineno = getattr(code, "co_firstlineno", None)
    line = linecache.getline(filename, lineno) if filename and lineno else None
    return SourceUnavailableError(
        f"{name} is decorated by `{deco}`, whose wrapper does more than call it: "
        "s2sgrad cannot know the decorator's effect on the result",
        filename, lineno, _indent(line) if line else None, line or None,
        f"differentiate the undecorated function ({name.split('.')[-1]}.__wrapped__) "
        "and apply the decorator's effect yourself, or register an adjoint for the "
        "decorated function with @s2sgrad.adjoint")


def parse_function(func) -> Parsed:
    func = unwrap(func)
    made = getattr(func, "__s2sgrad_parsed__", None)
    if made is not None:             # a function s2sgrad wrote (a checkpointed loop segment)
        return made()
    if not inspect.isfunction(func):
        raise SourceUnavailableError(
            f"cannot differentiate {func!r}: it is not a Python function with source code",
            hint="pass a function defined with `def` in a file")
    linecache.checkcache(func.__code__.co_filename)     # the file may have been edited
    if func.__name__ == "<lambda>":
        return _finish(func, _lambda_node(func), _filename(func))
    try:
        src_lines, first, parsed = source_tree(func)
    except (OSError, TypeError) as exc:
        raise SourceUnavailableError(
            f"source code of {func.__qualname__} is not available ({exc})",
            _filename(func), func.__code__.co_firstlineno, None, None,
            "define the function in a .py file (functions typed at the interactive "
            "prompt or created by exec() have no source s2sgrad can read)") from None
    filename = _filename(func)
    text = textwrap.dedent("".join(src_lines))
    try:
        if parsed is not None:       # (the decorators are dropped below: not made gast)
            parsed.body[0].decorator_list = []
            tree = gast.ast_to_gast(parsed)
        else:
            tree = gast.parse(text)
    except SyntaxError as exc:
        raise SourceUnavailableError(
            f"cannot parse the source of {func.__qualname__}: {exc.msg}", filename,
            first + (exc.lineno or 1) - 1, None, None) from None
    node = tree.body[0]
    if isinstance(node, gast.FunctionDef) and not _same_code(func, text, first, "".join(src_lines)):
        raise SourceUnavailableError(
            f"the source of {func.__qualname__} in {filename} has changed since the "
            "function was defined", filename, first, None, None,
            "reload the module (importlib.reload) or run the definition again")
    if isinstance(node, gast.AsyncFunctionDef):
        raise SourceUnavailableError(
            f"s2sgrad cannot differentiate async functions ({func.__qualname__})",
            filename, first, _indent(src_lines[0]), src_lines[0],
            "differentiate a plain function and await outside it")
    if not isinstance(node, gast.FunctionDef):
        raise SourceUnavailableError(
            f"{func.__qualname__} is not defined by a plain `def` statement",
            filename, first, None, None)
    _move(tree, first - 1, _indent(src_lines[0]))
    node.decorator_list = []
    return _finish(func, node, filename, text)


def _move(tree, lines, columns):
    """Locations in the dedented text → the file's: `lines` down, `columns` right (one
    walk, as `gast.increment_lineno` and a column shift would make two)."""
    for n in nodes.walk(tree):
        d = n.__dict__
        if d.get("lineno") is not None:
            d["lineno"] += lines
        if d.get("end_lineno") is not None:
            d["end_lineno"] += lines
        if columns:
            if d.get("col_offset") is not None:
                d["col_offset"] += columns
            if d.get("end_col_offset") is not None:
                d["end_col_offset"] += columns


def _finish(func, node, filename, text=""):
    """The Parsed of a function's (located) FunctionDef: its closure cells and its
    defaults bound as they are for the running function."""
    closure, cells = {}, {}
    if func.__closure__:
        for cname, cell in zip(func.__code__.co_freevars, func.__closure__):
            try:
                closure[cname] = cell.cell_contents
                cells[cname] = cell
            except ValueError:       # an empty cell: defined later
                pass
    _bind_own_defaults(node, func, closure)
    _bind_local_imports(node, func, closure)
    lines = linecache.getlines(filename) or text.splitlines(True)
    parsed = Parsed(func, node, filename, lines, func.__globals__, closure, cells)
    reserved.protect(parsed)     # no user name is read as one the generated code makes
    return parsed


def readable_name(func):
    """A function's name as generated code can spell it: a lambda's is that of the
    variable it is bound to (`act = lambda z: ...` gives `act`), else `lambda_L<line>`."""
    name = getattr(func, "__name__", "f")
    if name != "<lambda>" or not inspect.isfunction(func):
        return name
    try:
        return _lambda_node(func).name
    except SourceUnavailableError:
        return f"lambda_L{func.__code__.co_firstlineno}"


def _lambda_node(func):
    """A lambda as the FunctionDef `def <name>(<its args>): return <its body>`, located
    at the user's lambda. Found in the parsed file among the lambdas on its first line
    with its parameter names, told apart by comparing their compiled code with the
    running code; named after the variable it is bound to (`loss = lambda w: ...` gives
    `loss`), else `lambda_L<line>`."""
    code = func.__code__
    filename, line = _filename(func), code.co_firstlineno
    lines = linecache.getlines(filename)
    hint = "define it with `def` (in a file)"
    if not lines:
        raise SourceUnavailableError(
            "source code of the lambda is not available", filename, line, None, None,
            "define the function with `def` in a .py file (functions typed at the "
            "interactive prompt or created by exec() have no source s2sgrad can read)")
    text = "".join(lines)
    try:
        tree = gast.parse(text)
    except SyntaxError:
        raise SourceUnavailableError("cannot parse the file holding the lambda", filename,
                                     line, None, None, hint) from None
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = [n for n in nodes.walk(tree) if isinstance(n, gast.Lambda)
             and n.lineno == line and _lambda_params(n) == params]
    src_line = lines[line - 1] if 0 < line <= len(lines) else None
    same = [n for n in found if _same_lambda(n, text, code)]
    if len(same) != 1:
        if len(same) > 1:
            what, col = "several lambdas on this line compile to this code", \
                same[1].col_offset
        elif found:
            what, col = "the lambda's source has changed since it was made (reload " \
                "the module)", found[0].col_offset
        else:
            what, col = "the lambda's source was not found (the file changed?)", None
        raise SourceUnavailableError(
            f"cannot tell which lambda to differentiate: {what}", filename, line, col,
            src_line, "define the function with `def`, or put each lambda on a line "
                      "of its own")
    lam = same[0]
    name = _bound_name(tree, lam) or f"lambda_L{line}"
    body = nodes.copy_location(gast.Return(value=lam.body), lam.body)
    node = gast.FunctionDef(name=name, args=lam.args, body=[body], decorator_list=[],
                            returns=None, type_comment=None, type_params=[])
    return nodes.copy_location(node, lam)


def _lambda_params(lam):
    a = lam.args
    return [p.id for p in list(a.posonlyargs) + list(a.args) + list(a.kwonlyargs)]


def _same_lambda(lam, text, code):
    """Does this lambda's text compile to the running code? (Two lambdas on a line,
    or a file edited since the lambda was made.)"""
    segment = _segment(text, lam)
    if segment is None:
        return False
    try:
        compiled = compile("(" + segment + ")", code.co_filename, "eval")
        found = next(c for c in compiled.co_consts if hasattr(c, "co_code"))
        running = _fingerprint(code)
        if any(n.startswith("@py") for n in running[2]):
            return True                      # rewritten by pytest: not comparable
        return _fingerprint(found) == running
    except Exception:                        # an unexpected code shape: not provable
        return False


def _segment(text, node):
    """The source text of a node (gast nodes carry the positions `ast` reads)."""
    import ast
    try:
        return ast.get_source_segment(text, node)
    except Exception:
        return None


def _bound_name(tree, lam):
    """`name = lambda ...`: the name; otherwise None."""
    for n in nodes.walk(tree):
        if isinstance(n, gast.Assign) and n.value is lam and len(n.targets) == 1 \
                and isinstance(n.targets[0], gast.Name):
            return n.targets[0].id
        if isinstance(n, gast.AnnAssign) and n.value is lam and \
                isinstance(n.target, gast.Name):
            return n.target.id
    return None


def parse_file_function(path, fname, namespace=None):
    """Parse one top-level function out of a file without importing it (CLI)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    tree = gast.parse(text, filename=path)
    for node in tree.body:
        if isinstance(node, gast.FunctionDef) and node.name == fname:
            node.decorator_list = []
            return Parsed(None, node, path, text.splitlines(True), namespace or {})
    raise TransformError(f"no function named {fname!r} in {path}")


# How a name is reached depends on where the text is compiled: a nested function's free
# name from a factory is a cell passed down (LOAD_CLOSURE) in the running code and a
# global in the text compiled on its own; which names exist does not.
_SCOPE_OPS = {"LOAD_CLOSURE", "MAKE_CELL", "COPY_FREE_VARS"}


def _fingerprint(code):
    """The constants and names a code object uses, nested code included (robust to how
    it was compiled: scopes, method-call opcodes, jump layout)."""
    import dis
    consts, names = [], set()
    name_ops = set(dis.hasname + dis.haslocal + dis.hasfree)
    for ins in dis.get_instructions(code):
        arg = ins.argval
        if ins.opname in _SCOPE_OPS:
            continue
        if ins.opname == "LOAD_CONST":
            consts.append(repr(_fingerprint(arg)) if hasattr(arg, "co_code") else repr(arg))
        elif isinstance(arg, str) and ins.opcode in name_ops:
            names.add(arg)
    return code.co_name, sorted(consts), sorted(names)


def _same_code(func, text, first, original=None):
    """Does the source text read now compile to the code the function runs? (A file
    edited after import must not give the gradient of the new text.)"""
    free = func.__code__.co_freevars
    if free and original is not None and _indent(original):
        # compiled alone, the text would read its free names as globals: give them an
        # enclosing function, as where it was defined (a nested def passes them on),
        # and keep the text's own indentation (that of its multi-line strings)
        pad = " " * _indent(original)
        text = "def _s2sgrad_enclosing():\n" + "".join(
            f"{pad}{n} = None\n" for n in free) + original
    else:
        free = ()
    try:
        module = compile(text, func.__code__.co_filename, "exec")
    except SyntaxError:
        return True
    if free:
        module = next((c for c in module.co_consts if hasattr(c, "co_code")), module)
    found = None
    for const in module.co_consts:
        if hasattr(const, "co_code") and const.co_name == func.__code__.co_name:
            found = const
            break
    if found is None:
        return False
    if _identical(found, func.__code__):
        return True                          # (the common case, without disassembling)
    try:
        running = _fingerprint(func.__code__)
        if any(n.startswith("@py") for n in running[2]):
            return True                      # rewritten by pytest: not comparable
        return _fingerprint(found) == running
    except Exception:                        # an unexpected code shape: do not refuse
        return True


def _identical(a, b):
    """Do two code objects hold the same instructions, names and constants (nested code
    compared the same way; line numbers aside)? Then their fingerprints agree."""
    if a.co_code != b.co_code or a.co_names != b.co_names \
            or a.co_varnames != b.co_varnames or len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if hasattr(x, "co_code"):
            if not (hasattr(y, "co_code") and _identical(x, y)):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def _indent(line):
    return len(line) - len(line.lstrip())


def _filename(func):
    return func.__code__.co_filename


def bind_defaults(node, func, visible, bind):
    """Python evaluates a def's defaults once, where the def runs; generated code that
    repeats the def elsewhere must not evaluate them again. Each default of `node` that
    is not a literal, nor a name that `visible(name)` shows as the very value, becomes
    the name `bind(hint, value)` returns for the value `func` holds."""
    if func is None:
        return
    args = node.args
    values = list(func.__defaults__ or ())
    if len(values) == len(args.defaults):
        params = [a.id for a in args.args][len(args.args) - len(values):]
        args.defaults = [_default(p, v, d, visible, bind)
                         for p, v, d in zip(params, values, args.defaults)]
    kw = func.__kwdefaults__ or {}
    args.kw_defaults = [d if d is None or a.id not in kw else
                        _default(a.id, kw[a.id], d, visible, bind)
                        for a, d in zip(args.kwonlyargs, args.kw_defaults)]


def _default(param, value, node, visible, bind):
    if isinstance(node, gast.Constant) and type(node.value) in (int, float, bool, str,
                                                                type(None)) \
            and type(value) is type(node.value) and value == node.value:
        return node                # (`f.__defaults__ = ...` may have changed the value)
    if isinstance(node, gast.Name) and visible(node.id) is value:
        return node
    return nodes.copy_location(nodes.name(bind(f"{param}_default", value)), node)


def _bind_local_imports(node, func, closure):
    """`import m`, `import m as k` and `from m import a, b as c` at the top level of
    a function's body (not under an `if` or a loop) bind what they import
    in `closure`, as a module-level import would, and leave the body; the module is
    imported when the function is compiled, relative imports from the function's own
    package. A name the function also assigns keeps its import (and its refusal)."""
    import importlib
    stores = set(nodes.names_in(node, nodes.STORE))
    package = func.__globals__.get("__package__")
    kept = []
    for st in node.body:
        if not isinstance(st, (gast.Import, gast.ImportFrom)):
            kept.append(st)
            continue
        names = [(a.asname or (a.name if isinstance(st, gast.ImportFrom)
                               else a.name.split(".")[0]), a) for a in st.names]
        if any(a.name == "*" or bound in stores for bound, a in names):
            kept.append(st)
            continue
        try:
            bindings = {}
            for bound, a in names:
                if isinstance(st, gast.ImportFrom):
                    module = importlib.import_module("." * st.level + (st.module or ""),
                                                     package if st.level else None)
                    value = getattr(module, a.name, None)
                    if value is None:
                        value = importlib.import_module(f"{module.__name__}.{a.name}")
                elif a.asname:
                    value = importlib.import_module(a.name)
                else:
                    importlib.import_module(a.name)
                    value = importlib.import_module(a.name.split(".")[0])
                bindings[bound] = value
        except ImportError:
            kept.append(st)             # refused where it stands, with the error
            continue
        closure.update(bindings)
    node.body = kept or [gast.Pass()]


def _bind_own_defaults(node, func, closure):
    """The defaults of a function compiled as the root: a default that its module's
    globals do not give (a factory's local, a global rebound since the def) is bound
    in `closure` (which the generated code is given)."""
    missing = object()
    taken = set(closure) | set(func.__globals__) | set(dir(builtins)) | {
        n.id for n in nodes.walk(node) if isinstance(n, gast.Name)}

    def visible(n):
        return closure.get(n, func.__globals__.get(n, missing))

    def bind(hint, value):
        fresh = nodes.fresh_name(hint, taken)
        taken.add(fresh)
        closure[fresh] = value
        return fresh
    bind_defaults(node, func, visible, bind)
