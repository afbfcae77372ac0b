"""Tracebacks for people, not for s2sgrad's developers.

Python prints an uncaught exception with its C traceback printer, which reads source
lines from files on disk: generated code, registered only in `linecache`, would show
without its lines. And a refusal (`S2SGradError`) raised deep in the compiler would show
five to nine of s2sgrad's own frames before the message that matters (file, line,
caret, what to write instead).

`install()` (called when generated code is first loaded) wraps `sys.excepthook` while it
is still Python's default one (IPython, pytest and user hooks are left alone):

- an `S2SGradError` is printed with the user's frames only;
- any exception that passed through generated code is printed by the `traceback`
  module, which reads the generated lines from `linecache`;
- anything else goes to the previous hook unchanged.

Set `s2sgrad.debug = True` or the environment variable `S2SGRAD_DEBUG=1` to see every
frame.
"""
import os
import sys
import traceback

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
GENERATED = "<s2sgrad "

_previous = None


def debugging():
    package = sys.modules.get("s2sgrad")
    return os.environ.get("S2SGRAD_DEBUG") == "1" or bool(getattr(package, "debug", False))


def _frames(tb):
    return traceback.extract_tb(tb)


def excepthook(etype, value, tb):
    from ..errors import S2SGradError
    frames = _frames(tb)
    if isinstance(value, S2SGradError) and not debugging():
        shown = [f for f in frames if not f.filename.startswith(PACKAGE)]
        lines = ["Traceback (most recent call last):\n"] if shown else []
        lines += traceback.format_list(shown) + traceback.format_exception_only(etype, value)
        sys.stderr.write("".join(lines))
    elif any(f.filename.startswith(GENERATED) for f in frames):
        traceback.print_exception(etype, value, tb)
    else:
        _previous(etype, value, tb)


def install():
    """Wrap Python's default excepthook (once; never a hook someone else installed)."""
    global _previous
    if sys.excepthook is sys.__excepthook__:
        _previous = sys.excepthook
        sys.excepthook = excepthook
