"""The gradient tables: adjoint and tangent rules written as Python templates.

`registry` holds the tables and the decorators that fill them (`defadjoint`, `deftangent`,
`nondifferentiable`, `constant_arguments`, and the public `adjoint`/`tangent`); each family
module registers its rules on import, reverse and forward side by side where both are
short (`arrays`, `products`, `series`, `decompositions`) and in `tangents` otherwise.
"""
from .registry import (ATTRIBUTES, CALLABLES, CONSTANT_ARGS, METHODS, NONDIFF,  # noqa: F401
                       NONDIFF_ATTRIBUTES, NONDIFF_METHODS, OPERATORS, POSITIONAL_OPTIONS,
                       T_ATTRIBUTES, T_CALLABLES, T_METHODS, T_OPERATORS, Rule, adjoint,
                       all_rules, bound, constant_arguments, defadjoint, deftangent,
                       is_nondifferentiable, load_optional, lookup, nondifferentiable,
                       tangent, tangent_for)
from .registry import (CONTAINER, ELEMENTWISE, FRESH, FULL_REDUCTION,  # noqa: F401
                       HOLDS_OPERANDS, PROPERTIES, PURE, READS_CONTAINER, RETURNS_NUMBER,
                       SCALAR_PRESERVING, VIEW)
from . import arithmetic, math_, numpy_, reductions, linalg, indexing, containers  # noqa: F401
from . import arrays, series, products, decompositions, selections, tangents  # noqa: F401
from . import array_api  # noqa: F401
