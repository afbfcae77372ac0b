"""Running one optimizer pass over a function written as source text, and the generated
code of a gradient: the helpers of the source-in / source-out tests of the passes."""
import astor
import gast

import s2sgrad
from s2sgrad.optimize.kinds import code_shapes
from s2sgrad.syntax import nodes


def run_pass(text, apply, shapes):
    """The source of the function `text` defines after `apply(fdef, shapes_of)`, where
    `shapes_of()` gives the shapes of its names from `shapes` ({name: dims})."""
    fdef = nodes.parse_stmts(text)[0]
    apply(fdef, lambda: code_shapes(fdef, shapes))
    return astor.to_source(gast.gast_to_ast(fdef))


def gradient_source(f, args, wrt):
    """The generated code `grad(f, wrt)` runs for these arguments."""
    g = s2sgrad.grad(f, wrt=wrt)
    g(*args)
    return g.source
