"""The source lines of a function defined with `def`, as `inspect.getsourcelines` gives
them, found faster: `inspect` tokenizes the file from the def on (and compiles the
tokenizer's expressions on its first use in a process, some 15 ms), where the lines of
a def in ordinary code end where the indentation comes back to the def's own."""
import ast
import inspect
import linecache
import textwrap


def source_lines(func):
    """(lines, number of the first line) of `func`'s definition, decorators included
    (the contract of `inspect.getsourcelines`, whose errors it raises)."""
    return source_tree(func)[:2]


def source_tree(func):
    """(lines, number of the first line, `ast` module of the dedented lines or None) of
    `func`'s definition: `source_lines` and the tree that found them, where the lines
    were found by indentation (their reading is checked by parsing them: the caller
    need not parse them again). None where `inspect` found the lines."""
    found = _by_indentation(func)
    if found is None:
        return (*inspect.getsourcelines(func), None)
    return found


def _by_indentation(func):
    """The lines of the def: from its first line (a decorator's, or `def`) to the last
    line before the first later one that is neither blank nor a comment and is indented
    no deeper than the def. None where that reading is not certain: the lines must
    parse alone as the definition of a function of that name (a string or bracket
    dedented below the def, or a header spread over lines back at the def's
    indentation, does not parse), else `inspect` decides."""
    code = getattr(func, "__code__", None)
    if code is None or func.__name__ == "<lambda>":
        return None
    lines = linecache.getlines(code.co_filename)
    start = code.co_firstlineno - 1
    if not 0 <= start < len(lines):
        return None
    first = lines[start]
    indent = len(first) - len(first.lstrip())
    k = start
    while k < len(lines) and lines[k].lstrip().startswith("@"):
        k += 1                       # decorators (on one line each, else inspect decides)
    if k == len(lines) or not lines[k].lstrip().startswith("def ") or \
            len(lines[k]) - len(lines[k].lstrip()) != indent:
        return None
    end = k + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and \
                len(line) - len(line.lstrip()) <= indent:
            break
        end += 1
    block = lines[start:end]
    try:
        tree = ast.parse(textwrap.dedent("".join(block)))
    except (SyntaxError, ValueError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) or \
            tree.body[0].name != func.__name__:
        return None
    return block, start + 1, tree
