"""Optimizer pass — sums in the backward pass written with the runtime's BLAS sums:

    b_bar = np.sum(z_bar, axis=0)                      →   b_bar = axis_sum(z_bar, 0)
    v5_bar = -np.sum(logp_bar, axis=1, keepdims=True)  →   v5_bar = -axis_sum(logp_bar, 1, True)
    s_bar = np.sum(K_bar * v8)                         →   s_bar = sum_product(K_bar, v8)
    c_bar = -np.sum(v7_bar * v7 / c)                   →   c_bar = -(sum_product(v7_bar, v7) / c)

`axis_sum` serves the adjoints of operands broadcast along an axis of a matrix: a dense
layer's bias, a softmax's or a mean's normalizer (`z - np.log(np.sum(np.exp(z), axis=1,
keepdims=True))`). NumPy's reduction spends its time per row of a tall, narrow matrix;
`axis_sum` sums a C-ordered float64 matrix by one BLAS matrix-vector product with ones
(1000 x 10: 39 us to 10 us). `sum_product` serves the adjoint of a number that scales an
array (`s * x`, a kernel's amplitude, a step size, a convolution's tap): BLAS's dot
product, with no temporary product array (100 x 100: 16 us to 4 us); `c` divides after
the sum where the compilation knows it is a number. Both fall back to what was written
for anything else (shapes that broadcast, other dtypes).

Only after the backward-pass mark: the forward pass computes the function's value as
the user's code does, bit for bit. Statements the gradient and its value twin share are
replaced, not changed.
"""
import gast

from ..ir.shapes import int_constant
from ..syntax import nodes
from .facts import is_comment, sum_options

_MARK = nodes.COMMENT_MARK + "backward pass"


def backward_sums(body, numbers=frozenset()):
    """The pass over a function's statements: a new list. `numbers`: names known to
    hold numbers."""
    marks = [k for k, st in enumerate(body) if is_comment(st) and st.value.value == _MARK]
    if not marks:
        return body
    start = marks[0] + 1
    sums = _Sums(numbers)
    return body[:start] + [_rewrite(st, sums) for st in body[start:]]


def _rewrite(st, sums):
    if not any(sums.rewritten(n) is not None for n in nodes.walk(st)):
        return st
    st = nodes.clone(st)
    sums.visit(st)
    return st


class _Sums(gast.NodeTransformer):
    def __init__(self, numbers):
        self.numbers = numbers

    def visit_Call(self, node):
        self.generic_visit(node)
        new = self.rewritten(node)
        return node if new is None else nodes.copy_location(new, node)

    def rewritten(self, node):
        """The BLAS form of a sum, else None."""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr == "sum" and nodes.is_name(node.func.value, "np")):
            return None
        args = _axis_sum_args(node)
        if args is not None:
            return nodes.call("axis_sum", args)
        if len(node.args) != 1 or node.keywords:
            return None
        x = node.args[0]
        divisor = None
        if isinstance(x, gast.BinOp) and isinstance(x.op, gast.Div) and self._number(x.right):
            x, divisor = x.left, x.right
        if not (isinstance(x, gast.BinOp) and isinstance(x.op, gast.Mult)) \
                or self._number(x.left) or self._number(x.right):
            return None
        total = nodes.call("sum_product", [x.left, x.right])
        return total if divisor is None else gast.BinOp(left=total, op=gast.Div(),
                                                         right=divisor)

    def _number(self, node):
        return (isinstance(node, gast.Name) and node.id in self.numbers) or \
            (isinstance(node, gast.Constant) and type(node.value) in (int, float))


def _axis_sum_args(node):
    """[x, axis, keepdims] of `np.sum(x, axis=k)` / `np.sum(x, k)` with an int k and a
    constant keepdims, else None."""
    found = sum_options(node)
    if found is None or int_constant(found[1]) is None:
        return None
    x, axis, keep = found
    args = [x, axis]
    return args + [keep] if keep.value else args
