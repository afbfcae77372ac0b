"""`syntax.source.source_lines` reads a def's lines by indentation (no tokenizer): the
same definition as `inspect.getsourcelines`, the same first line, on functions written
in every shape a file holds them; where the indentation cannot tell, inspect decides."""
import ast
import inspect
import textwrap

import pytest

from s2sgrad.syntax.source import source_lines
from support import source_shapes as S

FUNCTIONS = [S.plain, S.with_docstring, S.comment_at_margin, S.string_at_margin,
             S.bracket_at_margin, S.header_over_lines, S.decorated.__wrapped__,
             S.decorated_over_lines.__wrapped__, S.one_liner, S.factory(2.0),
             S.Model.loss, S.Model.static_loss, S.square, S.last_in_file]


def _tree(lines):
    return ast.dump(ast.parse(textwrap.dedent("".join(lines))))


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__qualname__)
def test_the_same_definition_as_inspect(func):
    lines, first = source_lines(func)
    expected, expected_first = inspect.getsourcelines(func)
    assert first == expected_first
    assert _tree(lines) == _tree(expected)


def test_no_source_raises_as_inspect_does():
    namespace = {}
    exec("def typed(x):\n    return x\n", namespace)
    with pytest.raises(OSError):
        source_lines(namespace["typed"])


def test_which_shapes_the_indentation_reads():
    from s2sgrad.syntax.source import _by_indentation
    read = [S.plain, S.comment_at_margin, S.header_over_lines,
            S.decorated.__wrapped__, S.one_liner, S.factory(2.0), S.Model.loss,
            S.Model.static_loss, S.last_in_file]
    left = [S.with_docstring, S.string_at_margin, S.bracket_at_margin,
            S.decorated_over_lines.__wrapped__, S.square]
    assert all(_by_indentation(f) is not None for f in read)
    assert all(_by_indentation(f) is None for f in left)
