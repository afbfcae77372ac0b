"""The `s2sgrad` command: transform, show, explain, graph, check, lint.

Exit status: 0 success; 1 a function could not be differentiated (or a check failed,
or lint found problems); 2 a usage error (bad option, missing file or function).
Errors are printed as `file:line:col: message` with the line and a caret, never as a
Python traceback (pass --traceback to see one).
"""
import argparse
import ast
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from ..errors import S2SGradError, TransformError
from ..version import __version__
from .files import UsageError

EPILOG = """exit status: 0 ok, 1 a function could not be differentiated (or a check or
lint failed), 2 usage error (bad option, missing file or function)."""

STATIC = """By default the file is read *statically*: its top level is NOT executed. Only
top-level imports of NumPy, SciPy, math and standard-library modules, simple constant
assignments (literals, arithmetic, calls of NumPy/math functions; also augmented,
and `if` blocks of them) and the `def` statements (decorators stripped) are made
live. Anything else at top level (data loading, training loops, objects built by
other libraries) is skipped, and a function reading a name it sets is refused.
--import imports the module instead: its top-level code RUNS, with all that it does
(only use it on files you trust); it is needed when the functions rely on names
defined dynamically or on rules registered with @s2sgrad.adjoint (`transform` then
writes the numbers and strings such code computed as constants)."""

AT_HELP = ("argument values: numbers, Python literals ('[1.0, 2.0]' becomes a float "
           "array) or NumPy expressions ('np.ones((3, 2))')")


def build_parser():
    p = argparse.ArgumentParser(
        prog="s2sgrad", description="Source-to-source gradients for Python and NumPy: "
        "write, read and check the derivative code of your functions.", epilog=EPILOG)
    p.add_argument("--traceback", action="store_true", help="show Python tracebacks")
    p.add_argument("--version", action="version", version=f"s2sgrad {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, help_, target=True, at=False, at_required=False):
        c = sub.add_parser(name, help=help_, description=help_ + "\n\n" + STATIC,
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        if target:
            c.add_argument("target", metavar="FILE.py:FUNCTION",
                           help="the function to read, e.g. model.py:loss")
        if at:
            c.add_argument("--at", nargs="+", metavar="VALUE", required=at_required,
                           help=AT_HELP)
        c.add_argument("--wrt", help="arguments to differentiate: indices or names, "
                       "comma-separated (e.g. 0,1 or x,w)")
        c.add_argument("--import", dest="import_", action="store_true",
                       help="import the module (runs its top-level code) instead of "
                       "reading it statically")
        return c

    c = command("transform", "write a module with grad_<f> for functions of a file",
                target=False)
    c.add_argument("file", metavar="FILE.py")
    c.add_argument("-f", "--function", action="append", dest="functions", metavar="NAME",
                   help="function to differentiate, NAME or NAME:WRT for its own --wrt "
                   "(e.g. -f loss:0,1; repeatable; default: every public top-level function)")
    c.add_argument("--strict", action="store_true",
                   help="exit with status 1 if a function had to be left out")
    c.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                   help="reverse mode writes grad_<f> (gradients); forward mode writes "
                        "jvp_<f> (value and directional derivative)")
    c.add_argument("--backend", choices=("numpy", "numba"), default="numpy",
                   help="numba: the written functions are compiled with numba.njit "
                   "(the module then imports Numba)")
    c.add_argument("-o", "--output", help="where to write, - for standard output "
                   "(default: FILE_grad.py)")
    c.set_defaults(handler=cmd_transform)

    c = command("show", "print the generated gradient code (or the code after a stage)",
                at=True)
    c.add_argument("--stage", choices=("parse", "anf", "ssa", "reverse", "optimized"))
    c.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    c.set_defaults(handler=cmd_show)

    c = command("explain", "print the execution trace and the adjoint table at a point",
                at=True, at_required=True)
    c.set_defaults(handler=cmd_explain)

    c = command("graph", "draw the computational graph (DOT; SVG/PNG with Graphviz)", at=True)
    c.add_argument("-o", "--output", help="FILE.dot, FILE.svg or FILE.png "
                   "(default: DOT on standard output)")
    c.set_defaults(handler=cmd_graph)

    c = command("check", "compare the gradient with finite differences; locate a wrong rule",
                at=True, at_required=True)
    c.add_argument("--rtol", type=float, default=1e-5, help="relative tolerance (1e-5)")
    c.set_defaults(handler=cmd_check)

    c = command("lint", "list every construct s2sgrad cannot differentiate", target=False)
    c.add_argument("file", metavar="FILE.py")
    c.set_defaults(handler=cmd_lint)
    return p


# ------------------------------------------------------------------- helpers


def parse_wrt(text):
    if text is None:
        return None
    items = [w.strip() for w in text.split(",") if w.strip()]
    if not items:
        raise UsageError("--wrt needs at least one index or name")
    items = [int(w) if w.lstrip("-").isdigit() else w for w in items]
    return items[0] if len(items) == 1 else tuple(items)


def parse_value(text):
    try:
        v = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            v = eval(text, {"__builtins__": {}, "np": np, "numpy": np})
        except Exception as exc:
            raise UsageError(f"cannot read the value {text!r}: {exc}") from None
    if isinstance(v, (list, tuple)):
        arr = np.asarray(v)
        v = arr.astype(float) if arr.dtype.kind in "fc" else arr
    return v


def refuse_static_rules(sf, imported):
    """Rules a file registers with @s2sgrad.adjoint take effect only when the module runs:
    read statically, their functions would be differentiated without them (a wrong rule
    would check "ok"). Say so instead."""
    from .files import rule_definitions
    rules = rule_definitions(sf)
    if rules and not imported:
        where = ", ".join(f"{name} (line {line})" for name, line in rules)
        raise UsageError(f"{sf.path} registers adjoint rules ({where}); they take effect only "
                         f"when the module runs: add --import (it runs the file's top level)")


def load_target(args):
    from .files import load_file
    path, sep, name = args.target.rpartition(":")
    if not sep or not path:
        path, name = args.target, None
    sf = load_file(path, args.import_)
    refuse_static_rules(sf, args.import_)
    if name is None:
        public = sf.public()
        if len(public) != 1:
            raise UsageError(f"name the function: {path}:NAME (functions: "
                             f"{', '.join(public) or 'none'})")
        name = public[0]
    return sf, sf.function(name)


def values_at(args, func, wrt):
    from ..api import resolve_wrt
    vals = [parse_value(t) for t in args.at]
    indices = resolve_wrt(func, wrt)[0] if wrt is not None else \
        tuple(i for i, v in enumerate(vals) if isinstance(v, float) or
              isinstance(v, np.ndarray) and v.dtype.kind == "f") or (0,)
    for i in indices:
        if i < len(vals) and isinstance(vals[i], int) and not isinstance(vals[i], bool):
            vals[i] = float(vals[i])
        elif i < len(vals) and isinstance(vals[i], np.ndarray) and vals[i].dtype.kind in "iub":
            vals[i] = vals[i].astype(float)
    return vals, indices


def describe(v):
    """`(256, 10) float64`, `float`, `list[3]`: what an assignment produced."""
    if isinstance(v, np.ndarray):
        return f"{v.shape} {v.dtype}"
    if isinstance(v, np.generic):
        return f"{v.dtype} scalar"
    if isinstance(v, (list, tuple)):
        return f"{type(v).__name__}[{len(v)}]"
    return type(v).__name__


def highlight(text, color):
    if color == "never" or (color == "auto" and not sys.stdout.isatty()):
        return text
    try:
        from pygments import highlight as hl
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return text
    return hl(text, PythonLexer(), TerminalFormatter())


# ------------------------------------------------------------------ commands


def cmd_transform(args):
    from .files import load_file, transform
    sf = load_file(args.file, args.import_)
    refuse_static_rules(sf, args.import_)
    wrts = {}
    for spec in args.functions or ():
        name, sep, own = spec.partition(":")
        if sep:
            wrts[name] = parse_wrt(own)
    names = [spec.partition(":")[0] for spec in args.functions or ()] or sf.public()
    if not names:
        raise UsageError(f"{args.file} has no public top-level function with parameters")
    wrt = parse_wrt(args.wrt)
    out = args.output or os.path.splitext(args.file)[0] + "_grad.py"
    command = "s2sgrad " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv[1:2] == ["transform"] else _rebuild_command(args, out)
    skipped = []
    text = transform(sf, names, 0 if wrt is None else wrt, command, args.mode, wrts, skipped,
                     backend=args.backend)
    if out == "-":
        sys.stdout.write(text)
        out = "standard output"
    else:
        folder = os.path.dirname(os.path.abspath(out))
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    prefix = "grad_" if args.mode == "reverse" else "jvp_"
    left_out = {name for name, _ in skipped}
    print(f"wrote {out}: {', '.join(prefix + n for n in names if n not in left_out)}",
          file=sys.stderr)
    for name, exc in skipped:
        print(f"left out {name}: {exc}", file=sys.stderr)
    return 1 if skipped and args.strict else 0


def _rebuild_command(args, out):
    parts = ["s2sgrad", "transform", args.file]
    for n in args.functions or ():
        parts += ["-f", n]
    if args.wrt:
        parts += ["--wrt", args.wrt]
    if args.import_:
        parts.append("--import")
    if getattr(args, "backend", "numpy") != "numpy":
        parts += ["--backend", args.backend]
    parts += ["-o", out]
    return " ".join(shlex.quote(p) for p in parts)


def cmd_show(args):
    from .. import api, pipeline
    from .explain import closure_bindings, run_instrumented
    sf, func = load_target(args)
    wrt = parse_wrt(args.wrt)
    if args.stage:
        if args.at:
            raise UsageError("--at annotates the generated code; drop --stage")
        indices, is_tuple = api.resolve_wrt(func, 0 if wrt is None else wrt)
        text = pipeline.stage_sources(func, indices, is_tuple)[args.stage]
        sys.stdout.write(highlight(text, args.color))
        return 0
    indices, is_tuple = api.resolve_wrt(func, 0 if wrt is None else wrt)
    vals = values_at(args, func, 0 if wrt is None else wrt)[0] if args.at else None
    # with --at, the code specialized to those values' kinds: what a call with them runs
    kinds = pipeline.compile_kinds(pipeline.kinds_of(vals)) if args.at else ()
    comp = pipeline.compile_gradient(func, indices, is_tuple, kinds=kinds)
    text = comp.source
    if args.at:
        ns = dict(func.__globals__)
        ns.update(closure_bindings(comp.grad_fn, comp.filename))
        _, rec = run_instrumented(text, comp.grad_fn.__name__, ns, vals)
        lines = text.splitlines()
        width = min(max(len(ln) for ln in lines), 72)
        for line, vals_ in rec.last.items():
            kinds = ", ".join(describe(v) for v in vals_.values())
            lines[line - 1] = lines[line - 1].ljust(width) + f"  # {kinds}"
        text = "\n".join(lines) + "\n"
    sys.stdout.write(highlight(text, args.color))
    return 0


def cmd_explain(args):
    from .explain import build_explanation, run
    sf, func = load_target(args)
    vals, indices = values_at(args, func, parse_wrt(args.wrt))
    print(build_explanation(run(func, vals, indices), vals), end="")
    return 0


def cmd_graph(args):
    from .explain import run
    from .graph import graphviz
    sf, func = load_target(args)
    if args.at:
        vals, indices = values_at(args, func, parse_wrt(args.wrt))
        r = run(func, vals, indices)
    else:
        from ..api import resolve_wrt
        wrt = parse_wrt(args.wrt)
        params = func.__code__.co_varnames[:func.__code__.co_argcount]
        indices = resolve_wrt(func, wrt)[0] if wrt is not None else tuple(range(len(params)))
        r = _static_run(func, indices)
    text = graphviz(r, values=bool(args.at))
    out = args.output
    if not out or out.endswith(".dot") or out.endswith(".gv"):
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
        return 0
    fmt = os.path.splitext(out)[1].lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise UsageError(f"unknown graph format .{fmt}: use .dot, .svg or .png")
    exe = shutil.which("dot")
    if exe is None:
        print(f"s2sgrad graph: Graphviz's `dot` program is needed to write {out}; install "
              "Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
              "graphviz), or write DOT with -o FILE.dot. Nothing was written.", file=sys.stderr)
        return 1
    done = subprocess.run([exe, f"-T{fmt}", "-o", out], input=text.encode(),
                          capture_output=True)
    if done.returncode:
        print(f"s2sgrad graph: dot failed: {done.stderr.decode().strip()}", file=sys.stderr)
        return 1
    return 0


def _static_run(func, indices):
    from .explain import Records, Run, _display_names, prepare
    parsed, tr, text, fname, _ = prepare(func, indices)
    return Run(tr, parsed, text, fname, None, Records(), text.splitlines(), (0, 0), (0, 0),
               _display_names(tr, parsed))


def cmd_check(args):
    from .. import api, pipeline
    from .graph import local_rule_checks
    sf, func = load_target(args)
    vals, indices = values_at(args, func, parse_wrt(args.wrt))
    got = pipeline.compile_gradient(func, indices, True).grad_fn(*vals)
    names = func.__code__.co_varnames[:func.__code__.co_argcount]
    failed = False
    print(f"{func.__name__}: gradient against centered finite differences (float64)")
    for i, g in zip(indices, got):
        num = np.asarray(api.numerical_grad(func, vals, i), dtype=float)
        g = np.asarray(g, dtype=float)
        err = np.abs(g - num)
        rel = float(np.max(err / np.maximum(np.abs(num), 1.0))) if err.size else 0.0
        bad = g.shape != num.shape or bool(np.any(err > 1e-7 + args.rtol * np.abs(num)))
        failed |= bad
        print(f"  {names[i]:<12} worst relative error {rel:.2e}  {'MISMATCH' if bad else 'ok'}")
    if not failed:
        return 0
    print("bisecting: checking each statement's rule at the values it saw ...")
    bad = local_rule_checks(func, vals, indices)
    where = os.path.basename(func.__code__.co_filename)
    if bad:
        text, line, err = bad[0]
        print(f"{where}:{line}: the adjoint rule of `{text}` disagrees with finite "
              f"differences of that statement (relative error {err:.2e})")
        for text, line, err in bad[1:]:
            print(f"  also {where}:{line}: `{text}` (relative error {err:.2e})")
    else:
        print("no single statement's rule disagrees: look at control flow, or at "
              "statements inside called functions")
    return 1


def cmd_lint(args):
    from .files import lint, load_file
    sf = load_file(args.file, args.import_)
    problems = lint(sf)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{args.file}: no problems found", file=sys.stderr)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"s2sgrad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TransformError as exc:
        if args.traceback:
            raise
        print(exc.render(), file=sys.stderr)
        return 1
    except S2SGradError as exc:
        if args.traceback:
            raise
        print(f"s2sgrad {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if args.traceback:
            raise
        print(f"s2sgrad {args.command}: error: running the code raised "
              f"{type(exc).__name__}: {exc} (pass --traceback for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
