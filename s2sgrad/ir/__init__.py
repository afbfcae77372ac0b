"""Stage 3 — the intermediate representation: the execution trace and its analyses.

`build(parsed, fn, wrt)` turns a normalized function into a `Trace` (statements in
`statements`, built by `trace.Builder`), renames straight-line code to SSA and attaches
the facts later stages read (`analyses`: active, overwritten, maybe_container; `shapes`
and `shape_classes`: which values are numbers and which share a shape). `render` prints
a trace as source.
"""
from .analyses import analyse, apply_renames, dependencies
from .render import render
from .shape_classes import (infer_scalars, shape_classes, shape_representatives,
                            uniform_adjoint_ok)
from .statements import (Assign, SetItem, Append, Pop, Effect, If, For, While, Return,
                         Trace, Kind, walk, defs)
from .trace import Builder, build
from ..syntax.nodes import Const

__all__ = ["Assign", "SetItem", "Append", "Pop", "Effect", "If", "For", "While", "Return",
           "Trace", "Kind", "Const", "walk", "defs", "build", "Builder", "analyse", "apply_renames",
           "dependencies", "infer_scalars", "shape_classes", "shape_representatives",
           "uniform_adjoint_ok", "render"]
