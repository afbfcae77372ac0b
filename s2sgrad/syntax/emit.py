"""Stage 7 — emit: gast nodes → Python source text. The only module that prints code.

`function_source` renders a generated function: comment markers become `# ...` lines,
and the output is stable (the same nodes always give byte-identical text).
"""
import ast
import copy

import astor
import gast
from astor.code_gen import SourceGenerator

from .nodes import COMMENT_MARK


def to_ast(node):
    """The `ast` tree of a gast tree: the tree `gast.gast_to_ast` builds, several times
    faster (generated functions run to thousands of statements, and emitting them is
    most of the compile time)."""
    convert = _CONVERTERS.get(type(node))
    if convert is not None:
        return convert(node)
    if isinstance(node, list):
        return [to_ast(x) for x in node]
    if not isinstance(node, gast.AST):
        return node
    convert = _CONVERTERS[type(node)] = _converter(type(node))
    return convert(node)


def _converter(cls):
    """The function converting gast nodes of class `cls`: field by field into the `ast`
    class of the same name, as gast's own converter does for all but a few classes."""
    if cls.__name__ in _BY_GAST or not hasattr(ast, cls.__name__):
        return gast.gast_to_ast
    target, fields, attributes = getattr(ast, cls.__name__), cls._fields, cls._attributes
    if not fields and not attributes:           # contexts and operators
        return lambda node: target()

    def convert(node):
        new = target(**{f: to_ast(v) for f in fields
                        if (v := getattr(node, f, _MISSING)) is not _MISSING})
        for a in attributes:
            if (v := getattr(node, a, _MISSING)) is not _MISSING:
                setattr(new, a, v)
        return new
    return convert


def _name(node):
    return ast.copy_location(ast.Name(node.id, to_ast(node.ctx)), node)


def _assign(node):
    return ast.copy_location(ast.Assign(to_ast(node.targets), to_ast(node.value)), node)


def _arguments(node):
    return ast.arguments([_arg(a) for a in node.posonlyargs], [_arg(a) for a in node.args],
                         _arg(node.vararg), [_arg(a) for a in node.kwonlyargs],
                         to_ast(node.kw_defaults), _arg(node.kwarg), to_ast(node.defaults))


def _arg(node):
    if node is None:
        return None
    new = ast.arg(to_ast(node.id), to_ast(node.annotation), to_ast(node.type_comment))
    return ast.copy_location(new, node)


def _function_def(node):
    new = ast.FunctionDef(node.name, to_ast(node.args), to_ast(node.body),
                          to_ast(node.decorator_list), to_ast(node.returns),
                          to_ast(node.type_comment))
    return ast.copy_location(new, node)


_MISSING = object()
_BY_GAST = {"ExceptHandler", "ClassDef", "AsyncFunctionDef", "TypeVar", "TypeVarTuple",
            "ParamSpec", "alias"}          # gast converts these by hand on some version
_CONVERTERS = {gast.Name: _name, gast.Assign: _assign, gast.arguments: _arguments,
               gast.FunctionDef: _function_def}


def source(node: gast.AST) -> str:
    """Source text of a gast statement, module or function, comments rendered."""
    if isinstance(node, gast.FunctionDef):
        return sources([node])[0]
    tree = to_ast(node)
    text = astor.to_source(tree, indent_with="    ", pretty_source=_pretty)
    return _render_comments(text)


def sources(fdefs, printed=None):
    """[source(f) for f in fdefs]; a statement that several functions share
    (`value_and_grad_f` reuses the body of `grad_f`) is printed once. `printed`: {id of
    a statement: its text} of an earlier call whose statements are alive and unchanged
    (a twin emitted later), filled by this one."""
    printed = {} if printed is None else printed
    return [_function_source(f, printed) if isinstance(f, gast.FunctionDef) else source(f)
            for f in fdefs]


def _function_source(fdef, printed):
    """The text astor prints for the whole function, put together from the `def` line
    and the body's statements printed one by one at the body's indentation (astor
    starts each statement on a fresh line and carries no other state across)."""
    header = copy.copy(fdef)
    header.body = []
    parts = [astor.to_source(to_ast(header), indent_with="    ", pretty_source=_pretty)[:-1]]
    for st in fdef.body:
        text = printed.get(id(st))
        if text is None:
            printer = SourceGenerator("    ")
            printer.indentation = 1
            printer.visit(to_ast(st))
            text = printed[id(st)] = _pretty(printer.result)
        parts.append(text)
    parts.append("\n")
    return _render_comments("".join(parts))


def expression_source(node):
    """One-line source of a statement or expression (for comments and messages)."""
    if node is None:
        return "?"
    tree = to_ast(node)
    return astor.to_source(tree, pretty_source=_pretty).strip().splitlines()[0]


def _pretty(parts):
    return "".join(parts)


def _render_comments(text):
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        for quote in ('"""', "'", '"'):
            start = quote + COMMENT_MARK
            if stripped.startswith(start) and stripped.endswith(quote):
                indent = line[:len(line) - len(line.lstrip())]
                body = stripped[len(start):-len(quote)]
                body = body.encode("latin-1", "backslashreplace").decode("unicode_escape") \
                    if "\\" in body else body
                line = f"{indent}# {body}"
                break
        out.append(line)
    return "\n".join(out) + "\n"
