"""Working from a file: load a user's module, lint it, and write a stand-alone gradient
module (`s2sgrad transform`) whose only imports are NumPy, `math` and the standard library.

`load_file` works *statically* by default: it never runs the module's top level. It
executes only the top-level imports of NumPy, `math` and standard-library modules,
simple constant assignments (literals, arithmetic, calls of NumPy/`math` functions), and
compiles each top-level `def` (decorators stripped) under the file's real name, so that
`inspect.getsource` and error carets point into the user's file. `load_file(...,
import_module=True)` imports the module instead (its top level runs, so rules registered
there with `@s2sgrad.adjoint` take effect).
"""
import ast
import builtins
import importlib.util
import inspect
import linecache
import os
import re
import sys
from dataclasses import dataclass, field

from .. import runtime
from ..syntax import reserved
from ..errors import S2SGradError, TransformError


class UsageError(S2SGradError):
    """The command line names something that does not exist (exit status 2)."""


_DENY = {"load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt",
         "fromfile", "memmap", "tofile", "fromregex", "DataSource", "open", "system"}
_NOTHING = object()
_SAFE_BUILTINS = {"float", "int", "complex", "bool", "tuple", "list", "dict", "range",
                  "abs", "min", "max", "len", "round", "sum", "slice", "pow"}


@dataclass
class SourceFile:
    path: str
    text: str
    tree: ast.Module
    namespace: dict
    functions: dict                    # name -> live function object
    kept: list = field(default_factory=list)       # top-level statements made live
    skipped: dict = field(default_factory=dict)    # name -> line of a skipped definition
    stale: dict = field(default_factory=dict)      # name -> line: last bound by a skipped one
    imported: bool = False

    def function(self, name):
        if name not in self.functions:
            have = ", ".join(sorted(self.functions)) or "none"
            raise UsageError(f"{self.path} has no top-level function named {name!r} "
                             f"(functions: {have})")
        return self.functions[name]

    def public(self):
        """Top-level functions transformed by default: public, with parameters, not
        an adjoint rule."""
        out = []
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") \
                    and node.name in self.functions and node.args.args \
                    and not _is_rule(node):
                out.append(node.name)
        return out


def rule_definitions(sf):
    """[(name, line)] of the top-level functions the file registers as adjoint rules."""
    return [(node.name, node.lineno) for node in sf.tree.body
            if isinstance(node, ast.FunctionDef) and _is_rule(node)]


def _is_rule(node):
    for d in node.decorator_list:
        f = d.func if isinstance(d, ast.Call) else d
        if (getattr(f, "attr", None) or getattr(f, "id", None)) in ("adjoint", "defadjoint"):
            return True
    return False


def syntax_error(exc, path):
    line = exc.text if exc.text else None
    col = (exc.offset - 1) if exc.offset else None
    return TransformError(f"syntax error: {exc.msg}", path, exc.lineno, col, line)


def load_file(path, import_module=False):
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise syntax_error(exc, path) from None
    path_abs = os.path.abspath(path)
    linecache.cache[path_abs] = (len(text), None, text.splitlines(True), path_abs)
    if import_module:
        return _import(path, path_abs, text, tree)
    ns = {"__name__": "_s2sgrad_static_" + _stem(path), "__file__": path_abs,
          "__builtins__": builtins}
    sf = SourceFile(path, text, tree, ns, {})
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _allowed_import(node):
                _run(node, path_abs, ns) and sf.kept.append(node)
            else:
                for a in node.names:
                    sf.skipped[(a.asname or a.name).split(".")[0]] = node.lineno
        elif isinstance(node, ast.FunctionDef):
            bare = ast.FunctionDef(**{**node.__dict__, "decorator_list": []})
            if _run(bare, path_abs, ns):
                sf.functions[node.name] = ns[node.name]
                sf.kept.append(node)
                sf.stale.pop(node.name, None)
        elif _constant_statement(node, ns) and _run(node, path_abs, ns):
            sf.kept.append(node)
            for name in _bound_names(node):
                sf.stale.pop(name, None)
        else:
            # a name this statement (re)binds has no value the static reading knows: an
            # earlier constant value of it would be stale, so it is forgotten too
            for name in _bound_names(node):
                sf.skipped[name] = sf.stale[name] = node.lineno
                ns.pop(name, None)
    return sf


def _constant_statement(node, ns):
    """Can the static reading run this top-level statement? Assignments (plain,
    annotated, augmented) of constant expressions, and `if` blocks made of them with a
    constant test; docstrings and `pass`."""
    if isinstance(node, ast.Assign):
        return _simple(node.value, ns)
    if isinstance(node, ast.AnnAssign):
        return node.value is not None and isinstance(node.target, ast.Name) \
            and _simple(node.value, ns)
    if isinstance(node, ast.AugAssign):
        return isinstance(node.target, ast.Name) and _simple(node.value, ns)
    if isinstance(node, ast.If):
        return _simple(node.test, ns) and all(
            _constant_statement(s, ns) for s in node.body + node.orelse)
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)
    return isinstance(node, ast.Pass)


def _bound_names(node):
    """The top-level names a statement may bind."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
             and isinstance(n.ctx, (ast.Store, ast.Del))}
    names |= {n.name for n in ast.walk(node) if isinstance(
        n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    names |= {(a.asname or a.name).split(".")[0] for n in ast.walk(node)
              if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    return names


def _stem(path):
    return re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])


def _import(path, path_abs, text, tree):
    name = _stem(path)
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) != path_abs:
        name = "_s2sgrad_user_" + name
    folder = os.path.dirname(path_abs)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path_abs)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise S2SGradError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    funcs = {n.name: getattr(module, n.name) for n in tree.body
             if isinstance(n, ast.FunctionDef) and inspect.isfunction(
                 getattr(module, n.name, None))}
    kept, skipped, stale = [], {}, {}
    for n in tree.body:
        reads = {m.id for m in ast.walk(n) if isinstance(m, ast.Name)
                 and isinstance(m.ctx, ast.Load)}
        reads |= {m.target.id for m in ast.walk(n) if isinstance(m, ast.AugAssign)
                  and isinstance(m.target, ast.Name)}      # `N += 1` reads N too
        if isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef)) or \
                _constant_statement(n, vars(module)) and not reads & set(stale):
            kept.append(n)
            for name in _bound_names(n):
                stale.pop(name, None)
        else:
            # not copied (a constant computed from a name the copy lacks would fail
            # when the written module is imported): its names are stale
            skipped.update(dict.fromkeys(_bound_names(n), n.lineno))
            stale.update(dict.fromkeys(_bound_names(n), n.lineno))
    return SourceFile(path, text, tree, vars(module), funcs, kept, skipped, stale, True)


def _root(node, alias):
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] if not node.level else None
    return alias.name.split(".")[0]


def _allowed_import(node):
    roots = {_root(node, a) for a in node.names}
    ok = set(sys.stdlib_module_names) | {"numpy", "scipy", "s2sgrad"}   # libraries: no user code
    return None not in roots and roots <= ok


def _uses_scipy(sf):
    """Does the file import SciPy (its copied imports then need it)?"""
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) and "scipy" in {
        _root(n, a) for a in n.names} for n in ast.walk(ast.parse(sf.text)))


def _run(node, path, ns):
    try:
        exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), ns)
        return True
    except Exception:
        return False


def _simple(value, ns):
    """Is `value` a constant expression: literals, names already bound, arithmetic,
    and calls of NumPy/`math` functions (nothing that reads files)?"""
    for n in ast.walk(value):
        if isinstance(n, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.ListComp,
                          ast.GeneratorExp, ast.DictComp, ast.SetComp, ast.JoinedStr)):
            return False
        if isinstance(n, ast.Attribute) and (n.attr.startswith("_") or n.attr in _DENY):
            return False
        if isinstance(n, ast.Call):
            f = n.func
            if isinstance(f, ast.Name):
                if f.id not in _SAFE_BUILTINS or f.id in ns:
                    return False
                continue
            root = f
            while isinstance(root, ast.Attribute):
                root = root.value
            mod = ns.get(root.id) if isinstance(root, ast.Name) else None
            if getattr(mod, "__name__", "").split(".")[0] not in ("numpy", "math"):
                return False
    return True


# ------------------------------------------------------------ writing a module


def split_defs(text):
    """[(name, source)] of the top-level functions in generated text."""
    tree = ast.parse(text)
    lines = text.splitlines(True)
    return [(n.name, "".join(lines[n.lineno - 1:n.end_lineno]).rstrip() + "\n")
            for n in tree.body if isinstance(n, ast.FunctionDef)]


def runtime_sources(names):
    """Source of the runtime helpers `names`, with the helpers and the module-level
    constants of the runtime (a cache dict, a set of types) they use, in file order."""
    pool = {n: v for family in runtime.FAMILIES for n, v in vars(family).items()
            if (inspect.isfunction(v) or inspect.isclass(v)) and runtime.owns(v)}
    constants = _runtime_constants()
    need, todo = set(), [n for n in names if n in pool]
    while todo:
        n = todo.pop()
        if n in need:
            continue
        need.add(n)
        src = constants[n][2] if n in constants else inspect.getsource(pool[n])
        todo += [m for m in set(re.findall(r"[A-Za-z_]\w*", src))
                 if m in pool or m in constants]
    families = [f.__name__ for f in runtime.FAMILIES]

    def place(n):
        if n in constants:
            return (0, families.index(constants[n][0]), constants[n][1])
        return (1, families.index(pool[n].__module__), inspect.getsourcelines(pool[n])[1])
    order = sorted(need, key=place)
    text = "".join(constants[n][2] + "\n\n" if n in constants else
                   _without_relative_imports(inspect.getsource(pool[n])) + "\n\n"
                   for n in order)
    return [n for n in order if n not in constants], text


def _without_relative_imports(src):
    """A helper's source without its imports of other runtime helpers (`from .core
    import zero_grad` inside a function): the module copies those at its top level, and
    a relative import fails there."""
    lines = src.splitlines(True)
    found = {k for node in ast.walk(ast.parse(src))
             if isinstance(node, ast.ImportFrom) and node.level
             for k in range(node.lineno - 1, node.end_lineno)}
    kept = "".join(line for k, line in enumerate(lines) if k not in found)
    try:
        ast.parse(kept)
        return kept
    except SyntaxError:                   # (an import was a block's only statement)
        return "".join(re.sub(r"\S.*", "pass", line) if k in found else line
                       for k, line in enumerate(lines))


def _runtime_constants():
    """{name: (family, line, source)} of the runtime families' top-level assignments of
    one name (helpers read them as globals: a written module must define them too)."""
    out = {}
    for family in runtime.FAMILIES:
        text = inspect.getsource(family)
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                out[node.targets[0].id] = (family.__name__, node.lineno,
                                           ast.get_source_segment(text, node) + "\n")
    return out


_ERROR_CLASS = '''class GradientError(ValueError):
    """A gradient that does not make sense at run time (as s2sgrad.GradientError)."""
'''


def bindings_code(bindings):
    """Python that binds the names generated code takes from s2sgrad's runtime, and the
    runtime helpers among them."""
    from .. import api
    imports, helpers, extra = [], [], []
    for name, obj in sorted(bindings.items()):
        mod = getattr(obj, "__module__", None) or ""
        if inspect.ismodule(obj):
            line = f"import {obj.__name__}" + ("" if obj.__name__ == name else f" as {name}")
            imports.append(line)
        elif runtime.owns(obj) and (inspect.isfunction(obj) or inspect.isclass(obj)) \
                and obj.__name__ == name:
            helpers.append(name)
        elif obj is api.stop_gradient:
            extra.append(f"def {name}(x):\n    return x\n")
        elif name == "GradientError":
            continue
        elif type(obj) in (int, float, bool, str, complex, type(None)):
            extra.append(f"{name} = {obj!r}\n")     # a callee's default, as its def computed it
        elif mod and not mod.startswith("s2sgrad") and hasattr(obj, "__qualname__"):
            imports.append(f"from {mod} import {obj.__qualname__}"
                           + ("" if obj.__qualname__ == name else f" as {name}"))
        else:
            raise S2SGradError(f"cannot write a stand-alone module: the generated code "
                               f"needs `{name}` = {obj!r}")
    order, text = runtime_sources(helpers)
    if "GradientError" in text or "GradientError" in bindings:
        text = _ERROR_CLASS + "\n\n" + text
    return imports, order, text + "".join(x + "\n\n" for x in extra)


def user_code(sf, leave_out=()):
    """The user's imports, constants and functions (but those in `leave_out`), copied for
    the generated code to call (imports of s2sgrad replaced by what generated code may
    use of it)."""
    lines = sf.text.splitlines(True)
    out = []
    available = set(dir(builtins)) | {"np", "math"}
    for node in sf.kept:
        if isinstance(node, ast.FunctionDef) and (_is_rule(node) or node.name in leave_out):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                _root(node, a) == "s2sgrad" for a in node.names):
            # keep the other names of the statement; stand in for s2sgrad's
            others = [a for a in node.names if _root(node, a) != "s2sgrad"]
            if others:
                kept = ast.Import(names=others) if isinstance(node, ast.Import) else \
                    ast.ImportFrom(module=node.module, names=others, level=node.level)
                out.append(ast.unparse(kept) + "\n")
            for a in node.names:
                if _root(node, a) != "s2sgrad":
                    continue
                if isinstance(node, ast.ImportFrom) and a.name == "stop_gradient":
                    out.append(f"def {a.asname or a.name}(x):\n    return x\n")
                elif isinstance(node, ast.Import):
                    out.append(f"import types as _types\n{a.asname or 's2sgrad'} = "
                               f"_types.SimpleNamespace(stop_gradient=lambda x: x)\n")
            continue
        head = _decorators(lines, node, available) if isinstance(node, ast.FunctionDef) else ""
        out.append(head + _segment(lines, node) + "\n")
        available |= _bound_names(node)
    return out


def _segment(lines, node):
    """The source text of one node: exactly its own columns, so that statements sharing
    a line (`a = 1; b = 2`) are copied once each and a comment after them is left out."""
    start, end = node.lineno - 1, node.end_lineno - 1
    if start == end:
        return lines[start].encode()[node.col_offset:node.end_col_offset].decode()
    head = lines[start].encode()[node.col_offset:].decode()
    tail = lines[end].encode()[:node.end_col_offset].decode()
    return head + "".join(lines[start + 1:end]) + tail


def _decorators(lines, node, available):
    """The decorator lines of a copied function: those whose names the written module
    defines; the others (an import it does not copy) become a comment saying so."""
    out = []
    for d in node.decorator_list:
        text = _segment(lines, d)
        names = {n.id for n in ast.walk(d) if isinstance(n, ast.Name)}
        if names <= available:
            out.append(f"@{text}\n")
        else:
            out.append(f"# @{text}  (not copied: the written module does not define "
                       f"{', '.join(sorted(names - available))})\n")
    return "".join(out)


def transform(sf, names, wrt, command, mode="reverse", wrts=None, skipped=None,
              backend="numpy"):
    """The text of a module with `grad_<name>` (or, in forward mode, `jvp_<name>`) for
    each function in `names` (`wrts`: {name: wrt} where it differs from `wrt`). A
    function s2sgrad cannot differentiate is left out and reported in `skipped` as
    (name, error) when a list is given; without one its error is raised."""
    prefix = "grad_" if mode == "reverse" else "jvp_"
    from .. import api, pipeline
    from ..version import __version__
    from .explain import closure_bindings
    taken = {n.id for node in sf.kept for n in ast.walk(node) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)} | set(sf.functions)
    emitted, pieces, bindings, grads, aliases = {}, [], {}, [], {}
    for fname in names:
        func = sf.function(fname)
        try:
            indices, is_tuple = api.resolve_wrt(func, (wrts or {}).get(fname, wrt))
        except S2SGradError as exc:
            raise UsageError(str(exc)) from None
        try:
            _refuse_variadic(sf, fname)
            if mode == "reverse":
                comp = pipeline.compile_gradient(func, indices, is_tuple)
            else:
                comp = pipeline.compile_tangent(func, indices)
        except TransformError as exc:
            if skipped is None:
                raise
            skipped.append((fname, exc))
            continue
        for k, v in closure_bindings(comp.grad_fn, comp.filename).items():
            if k in taken and v is sf.namespace.get(k, _NOTHING):
                continue                     # a default the copied code binds itself
            old = _top_level_name(sf, taken, k, v)
            if old is not None:              # a user global renamed in generated code
                aliases[k] = old
                continue
            if k in taken and _is_helper(k, v) and bindings.get(k, v) is v:
                bindings[k] = v              # renamed below: the module's name stays its own
                continue
            if k in bindings and bindings[k] is not v or k in taken:
                raise S2SGradError(f"cannot write one module: the name `{k}` means "
                                   f"different things in {sf.path} and in generated code")
            bindings[k] = v
        renames = {}
        for name, src in split_defs(comp.source):
            src = _rename(src, renames)
            if name == f"{prefix}{fname}":
                if name in taken:
                    raise S2SGradError(f"{sf.path} already defines {name}; rename it")
                grads.append(name)
            elif name in emitted and emitted[name] != src:
                n = 2
                while f"{name}{n}" in emitted or f"{name}{n}" in taken:
                    n += 1
                renames[name] = f"{name}{n}"
                name, src = renames[name], _rename(src, {name: renames[name]})
            elif name in emitted:
                continue
            emitted[name] = src
            pieces.append(src)
    if not grads:
        raise skipped[0][1] if skipped else UsageError("nothing to differentiate")
    if backend == "numba":
        from ..backend import numba as numba_backend
        pieces = [numba_backend.numba_source(p) for p in pieces]
        if any("zero_grad(" in p for p in pieces):
            bindings.setdefault("zero_grad", runtime.zero_grad)
    imports, helpers, helper_text = bindings_code(bindings)
    if backend == "numba":
        helper_text = helper_text.rstrip() + "\n\n\n" + numba_backend.written_helpers(
            helper_text + "".join(pieces))
        trailer = numba_backend.written_trailer(pieces, grads, bindings)
        imports = imports + ["", "import numba"]
    clash = _helper_renames(helpers, helper_text, taken | _imported_names(sf) | set(emitted))
    if clash:
        helper_text = _rename_references(helper_text, clash)
        pieces = [_rename_references(p, clash) for p in pieces]
    base = os.path.basename(sf.path)
    head = [f"# Generated by s2sgrad {__version__} from {base}. Do not edit: regenerate.",
            f"# Command:    {command}",
            f"# Regenerate: run the same command again after changing {base}.",
            "# Needs NumPy" + (", SciPy" if _uses_scipy(sf) else "")
            + (", Numba" if backend == "numba" else "")
            + " and the standard library only; it does not import s2sgrad.",
            f'"""Gradients of {base}: {", ".join(grads)}.', "",
            *(["grad_<f>(<f's arguments>, <output>_bar=1.0) returns the gradient of f with",
               f"respect to argument(s) {_wrt_text(names, wrt, wrts, grads, prefix)}, scaled by "
               "the output adjoint."]
              if mode == "reverse" else
              ["jvp_<f>(<f's arguments>, <x>_dot, ...) returns (f(...), the derivative of f",
               f"along the tangents of argument(s) "
               f"{_wrt_text(names, wrt, wrts, grads, prefix)})."]), '"""',
            "import math", "", "import numpy as np"] + imports
    generated = "\n\n".join(pieces)
    unneeded = _unneeded_stale_functions(sf, generated)
    parts = ["\n".join(head) + "\n"]
    parts.append(f"# {'-' * 20} copied from {base} (imports, constants, functions)\n\n"
                 + _join(user_code(sf, leave_out=unneeded)))
    if unneeded:
        parts.append(f"# {'-' * 20} left out of the copy: functions no gradient calls that read\n"
                     f"# names {base} computes in code this module does not copy\n"
                     + "".join(f"#   {name} (reads {', '.join(reads)})\n"
                               for name, reads in sorted(unneeded.items())))
    if aliases:
        parts.append(f"# {'-' * 20} names of {base} the generated code reads renamed\n\n"
                     + "".join(f"{k} = {v}\n" for k, v in sorted(aliases.items())))
    if helper_text:
        parts.append(f"# {'-' * 20} runtime helpers copied from s2sgrad.runtime\n\n"
                     + helper_text.rstrip() + "\n")
    parts.append(f"# {'-' * 20} generated gradient code\n\n" + "\n\n".join(pieces))
    if backend == "numba":
        parts.append(f"# {'-' * 20} compiled with Numba\n\n" + trailer)
    parts.append(f"__all__ = {grads!r}\n")
    text = "\n\n".join(p.rstrip() + "\n" for p in parts)
    pinned = _pinned_values(sf, _stale_reads(sf, ast.parse(text, "<generated>")))
    if pinned:
        parts.insert(2, f"# {'-' * 20} values {base} computed (imported with --import)\n\n"
                     + pinned)
        text = "\n\n".join(p.rstrip() + "\n" for p in parts)
    return text


def _refuse_variadic(sf, fname):
    """A function taking `*args` or `**kwargs` has no gradient a module can write ahead of
    time: `grad` packs the arguments of each call, whose number only the call knows."""
    node = next(n for n in sf.tree.body if isinstance(n, ast.FunctionDef) and n.name == fname)
    star = node.args.vararg or node.args.kwarg
    if star is None:
        return
    what = ("*" if star is node.args.vararg else "**") + star.arg
    line = sf.text.splitlines()[star.lineno - 1]
    raise TransformError(
        f"cannot write a gradient of {fname} ahead of time: it takes `{what}`, whose "
        "number of values only a call knows", sf.path, star.lineno,
        line.rfind("*", 0, star.col_offset + 1 - (what[1] == "*")), line,
        hint=f"give {fname} named parameters (`def {fname}(a, b)`) or take the values as "
             f"one tuple or dict argument (`def {fname}(ws)`); in process, "
             f"s2sgrad.grad({fname}) packs them at each call")


def _wrt_text(names, wrt, wrts, grads, prefix):
    """`0` when every function is differentiated with respect to the same arguments, else
    one `grad_f: 0, 1` entry per written function."""
    own = {n: (wrts or {}).get(n, wrt) for n in names if prefix + n in grads}
    if len({repr(w) for w in own.values()}) <= 1:
        return repr(next(iter(own.values()), wrt))
    return "; ".join(f"{prefix}{n}: {w!r}" for n, w in own.items())


def _free_reads(f):
    """The names a function definition reads that it does not bind itself."""
    local = {a.arg for a in ast.walk(f.args) if isinstance(a, ast.arg)}
    local |= {n.id for n in ast.walk(f) if isinstance(n, ast.Name)
              and not isinstance(n.ctx, ast.Load)}
    return {n.id for n in ast.walk(f) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)} - local


def _unneeded_stale_functions(sf, generated):
    """{name: stale names it reads} for the user's functions that read a name the written
    module cannot compute (`HERE = os.path.dirname(__file__)`, data loaded at top level)
    and that no generated function reaches, directly or through other user functions.
    Such a function (a data loader, a `main`) is left out of the copy instead of making
    the whole module impossible; one the gradients do need is still refused by
    `_stale_reads`."""
    defs = {node.name: node for node in sf.kept if isinstance(node, ast.FunctionDef)}
    needed, todo = set(), [n.id for n in ast.walk(ast.parse(generated))
                           if isinstance(n, ast.Name)]
    while todo:
        name = todo.pop()
        if name in defs and name not in needed:
            needed.add(name)
            todo.extend(_free_reads(defs[name]))
    return {name: sorted(_free_reads(node) & set(sf.stale))
            for name, node in defs.items()
            if name not in needed and _free_reads(node) & set(sf.stale)}


def _stale_reads(sf, tree):
    """The names the written module's functions read that a top-level statement it
    does not copy (a loop, a call, ...) gives their final value, sorted."""
    read = set()
    for f in tree.body:
        if isinstance(f, ast.FunctionDef):
            read |= _free_reads(f)
    return sorted(read & set(sf.stale))


_PINNABLE = (bool, int, float, complex, str, type(None))


def _pinned_values(sf, names):
    """Assignments giving the written module the values these names have in the
    imported module (numbers and strings, written exactly by repr); any other value,
    or a module read statically, is refused: the copy would compute with another value
    than the user's module."""
    lines = []
    for name in names:
        line = sf.stale[name]
        value = sf.namespace.get(name) if sf.imported else None
        if sf.imported and name in sf.namespace and type(value) in _PINNABLE:
            lines.append(f"{name} = {value!r}  # as {os.path.basename(sf.path)} computed it "
                         f"(line {line})\n")
            continue
        what = type(next(n for n in sf.tree.body if n.lineno == line)).__name__.lower()
        raise S2SGradError(
            f"cannot write a stand-alone module: {sf.path}:{line} sets `{name}` with a "
            f"`{what}` statement that the written module does not copy, so `{name}` would "
            "have another value there; compute it with constant assignments (or `if` "
            "blocks of them) at the top level, or pass it as an argument"
            + ("" if sf.imported else ", or run with --import to write its value"))
    return "".join(lines)


def _join(pieces):
    """Imports and constants on consecutive lines, two blank lines around functions."""
    out = ""
    for p in pieces:
        is_def = p.startswith(("def ", "class ", "@", "# @"))
        if out and (is_def or out.endswith("\n\n\n")):
            out = out.rstrip("\n") + "\n\n\n"
        out += p + ("\n\n" if is_def else "")
    return out


def _top_level_name(sf, taken, k, v):
    """The module's own top-level name whose object the generated code reads as `k`
    (a name of the user's that generated code also uses is renamed there, see
    syntax/reserved.py), or None."""
    if k in taken or _is_helper(k, v):
        return None
    for old in sorted(taken):
        if reserved.renamed_from(old, k) and sf.namespace.get(old, _NOTHING) is v:
            return old
    return None


def _is_helper(name, obj):
    return runtime.owns(obj) and \
        getattr(obj, "__name__", None) == name


def _imported_names(sf):
    return {(a.asname or a.name).split(".")[0] for node in sf.kept
            for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names}


def _helper_renames(helpers, helper_text, taken):
    """{helper: new name} for the runtime helpers the written module copies whose names
    the user's module also defines at top level (its `unbroadcast = 3.0` stays its own;
    the copied helper and the generated code's calls of it become `s2s_unbroadcast`)."""
    defined = set(re.findall(r"^(?:def|class) (\w+)", helper_text, re.M))
    out = {}
    for n in sorted(defined & taken):
        new, k = f"s2s_{n}", 1
        while new in taken or new in defined:
            k += 1
            new = f"s2s_{n}{k}"
        out[n] = new
    return out


def _rename_references(src, renames):
    """`_rename` of names only: not of an attribute (`obj.name`) nor a keyword."""
    for old, new in renames.items():
        src = re.sub(rf"(?<![\w.]){re.escape(old)}\b(?!\s*=[^=])", new, src)
    return src


def _rename(src, renames):
    for old, new in renames.items():
        src = re.sub(rf"\b{re.escape(old)}\b", new, src)
    return src


# ------------------------------------------------------------------------ lint


@dataclass
class Problem:
    path: str
    line: int
    col: int
    message: str
    hint: str = None

    def __str__(self):
        text = f"{self.path}:{self.line}:{(self.col or 0) + 1}: {self.message}"
        return text + (f"\n    instead: {self.hint}" if self.hint else "")


def lint(sf):
    """Every construct in the file's functions that s2sgrad cannot differentiate."""
    from ..frontend.normalize import refused_constructs
    from ..frontend.parse import parse_file_function
    found = []
    for node in sf.tree.body:
        if not isinstance(node, ast.FunctionDef) or _is_rule(node):
            continue
        parsed = parse_file_function(sf.path, node.name, sf.namespace)
        problems = refused_constructs(parsed) or []
        for n, what, hint in problems:
            found.append(Problem(sf.path, getattr(n, "lineno", node.lineno),
                                 getattr(n, "col_offset", 0),
                                 f"s2sgrad cannot differentiate {what}", hint))
        _strip(parsed.node, {id(n) for n, _, _ in problems})
        found += [_problem(e, sf) for e in _dry_run(parsed)]
    seen, out = set(), []
    unknown = {p.line for p in found if p.message.startswith("unknown name")}
    for p in sorted(found, key=lambda p: (p.line, p.col or 0)):
        if p.line in unknown and not p.message.startswith(("unknown name", "s2sgrad cannot")):
            continue            # a consequence of the unknown name on the same line
        if (p.line, p.col, p.message) not in seen:
            seen.add((p.line, p.col, p.message))
            out.append(p)
    return out


def _problem(e, sf):
    hint = e.hint
    m = re.search(r"`([A-Za-z_]\w*)", e.message)
    if m and m.group(1) in sf.skipped and "unknown" in e.message:
        hint = (f"the static reading skipped line {sf.skipped[m.group(1)]}, which defines "
                f"`{m.group(1)}`; run with --import to execute the module")
    return Problem(e.filename or sf.path, e.lineno or 0, e.col, e.message, hint)


def _strip(fn, bad):
    """Replace the statements holding refused constructs by `pass` (in place)."""
    import gast
    fn.args.vararg = fn.args.kwarg = None
    fn.args.kwonlyargs, fn.args.kw_defaults = [], []

    def holds(st):
        if id(st) in bad:
            return True
        fields = [getattr(st, f) for f in st._fields if f not in ("body", "orelse",
                                                                   "finalbody", "handlers")]
        return any(id(n) in bad for v in fields for x in (v if isinstance(v, list) else [v])
                   if isinstance(x, gast.AST) for n in gast.walk(x))

    def block(body):
        out = []
        for st in body:
            if holds(st):
                out.append(gast.copy_location(gast.Pass(), st))
                continue
            for f in ("body", "orelse"):
                if isinstance(getattr(st, f, None), list) and getattr(st, f):
                    setattr(st, f, block(getattr(st, f)) or [gast.Pass()])
            out.append(st)
        return out
    fn.body = block(fn.body) or [gast.Pass()]


def _dry_run(parsed):
    """Normalize and build the trace, collecting every refusal instead of the first."""
    from .. import ir, pipeline
    from ..frontend.normalize import normalize, check_returns_value
    errors = []

    class Collecting(ir.Builder):
        def stmt(self, s):
            try:
                return super().stmt(s)
            except TransformError as exc:
                errors.append(exc)
                return ir.Effect(s)
    try:
        fn = normalize(parsed)
        Collecting(parsed, fn).block(fn.body)
        if parsed.node.args.args:
            check_returns_value(parsed)
    except TransformError as exc:
        errors.append(exc)
    if errors or not parsed.node.args.args:
        return errors
    try:
        from ..ad.reverse import reverse
        tr = ir.build(parsed, fn, tuple(range(len(parsed.node.args.args))))
        graph = pipeline.call_graph(parsed)
        reverse(tr, call_hook=graph.hook)
    except TransformError as exc:
        errors.append(exc)
    return errors
