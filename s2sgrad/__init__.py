"""s2sgrad — a source-to-source gradient compiler for Python and NumPy.

    from s2sgrad import grad

    @grad
    def df(x):
        return np.sum(np.sin(x) * x)

    df(np.ones(3))       # the gradient
    df.show()            # the generated Python code that computed it
"""
from .api import (grad, value_and_grad, source, stop_gradient, check_grad,  # noqa: F401
                  GradientFunction, numerical_grad)
from .errors import S2SGradError, TransformError, GradientError, CheckError  # noqa: F401
from .tools.explain import explain  # noqa: F401
from .rules import adjoint, tangent  # noqa: F401
from .operators import jvp, vjp, jacobian, hessian, hvp  # noqa: F401

from .version import __version__  # noqa: F401
__all__ = ["grad", "value_and_grad", "source", "adjoint", "tangent", "stop_gradient",
           "check_grad", "jvp", "vjp", "jacobian", "hessian", "hvp",
           "S2SGradError", "TransformError", "GradientError", "CheckError", "explain"]
