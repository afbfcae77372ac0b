"""Every error s2sgrad raises.

A refusal names the user's file and line, shows the line with a caret under the
construct, says what is not supported and, where there is one, what to write instead.
"""


class S2SGradError(Exception):
    """Base class of all s2sgrad errors."""


class TransformError(S2SGradError):
    """The compiler refuses a construct it cannot differentiate correctly."""

    def __init__(self, message, filename=None, lineno=None, col=None,
                 source_line=None, hint=None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col = col
        self.source_line = source_line
        self.hint = hint
        super().__init__(self.render())

    def render(self):
        where = ""
        if self.filename is not None:
            where = f"{self.filename}:{self.lineno}"
            if self.col is not None:
                where += f":{self.col + 1}"
            where += ": "
        lines = [where + self.message]
        if self.source_line is not None:
            text = self.source_line.rstrip("\n")
            stripped = text.lstrip()
            indent = len(text) - len(stripped)
            lines.append("    " + stripped)
            if self.col is not None and self.col >= indent:
                lines.append("    " + " " * (self.col - indent) + "^")
        if self.hint:
            lines.append("hint: " + self.hint)
        return "\n".join(lines)


class SourceUnavailableError(TransformError):
    """The function's source code cannot be found (lambda, REPL, builtin)."""


class GradientError(S2SGradError):
    """A gradient was requested that does not make sense at run time
    (non-scalar output, integer argument, ambiguous list concatenation)."""


class CheckError(S2SGradError, AssertionError):
    """`check_grad` found a gradient that disagrees with finite differences."""


class BatchingWarning(UserWarning):
    """`vmap` (or a batched pullback) runs part of the code once per example, in a
    Python loop over the batch, because no batching rule covers it."""
