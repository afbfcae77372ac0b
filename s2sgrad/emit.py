"""Stage 7 — emit: gast nodes → Python source text. The only module that prints code.

`function_source` renders a generated function: comment markers become `# ...` lines,
and the output is stable (the same nodes always give byte-identical text).
"""
import astor
import gast

from .nodes import COMMENT_MARK


def to_ast(node):
    return gast.gast_to_ast(node)


def source(node):
    """Source text of a gast statement, module or function, comments rendered."""
    tree = to_ast(node)
    text = astor.to_source(tree, indent_with="    ", pretty_source=_pretty)
    return _render_comments(text)


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
