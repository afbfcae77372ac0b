"""s2sgrad — a source-to-source gradient compiler for Python and NumPy.

    from s2sgrad import grad

    @grad
    def df(x):
        return np.sum(np.sin(x) * x)

    df(np.ones(3))       # the gradient
    df.show()            # the generated Python code that computed it

The package is laid out as its pipeline, and its layers only point down
(tests/test_architecture.py checks it):

    tools/       the `s2sgrad` command, explain, graph, working from files
    api          grad, value_and_grad, source, check_grad, stop_gradient
    trees        tree_map, tree_leaves over parameter containers
    operators    jvp, vjp, jacobian, hessian, hvp (the two modes composed)
    batch        vmap, batched pullbacks and Jacobians
    gradient     GradientFunction: what grad(f) returns, and wrt handling
    pipeline     the one owner of the stage chain, and the cache
    backend/     load: generated source → live functions
    optimize/    passes over the trace and the generated code, in order
    ad/          reverse mode, forward (tangent) mode, pairs of called functions
    ir/          the execution trace: statements, builder, analyses, shapes
    frontend/    parse and normalize (A-normal form)
    rules/       the gradient tables (registry + families)
    syntax/      the only module that builds AST nodes, the only one that prints code
    runtime/     helpers generated code calls, by family
    errors       every error class
"""
from .api import (grad, value_and_grad, source, stop_gradient, check_grad,  # noqa: F401
                  GradientFunction, numerical_grad, checkpoint)
from .errors import S2SGradError, TransformError, GradientError, CheckError  # noqa: F401
from .tools.explain import explain  # noqa: F401
from .rules import adjoint, tangent  # noqa: F401
from .operators import jvp, vjp, jacobian, hessian, hvp, vmap  # noqa: F401
from .trees import tree_map, tree_leaves  # noqa: F401

from .version import __version__  # noqa: F401

#: Show s2sgrad's own frames in tracebacks of refusals (also: S2SGRAD_DEBUG=1).
debug = False

from .backend import tracebacks as _tracebacks  # noqa: E402
_tracebacks.install()      # uncaught refusals without s2sgrad's frames (see its docstring)
__all__ = ["grad", "value_and_grad", "source", "adjoint", "tangent", "stop_gradient",
           "check_grad", "checkpoint", "jvp", "vjp", "jacobian", "hessian", "hvp", "vmap",
           "S2SGradError", "TransformError", "GradientError", "CheckError", "explain",
           "tree_map", "tree_leaves"]
