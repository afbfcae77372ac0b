"""Stage 6 — optimize: passes over the generated code.

`optimize_function` runs the passes below, in this order, over one generated function;
`optimize_gradient` then trims what `grad_f` does not need when the function's value is
a number (it returns the gradient only). Passes over the *trace* (common subexpressions,
sigmoid fusion) run before the reverse pass, in `trace_passes`. Each pass takes gast
statements and returns statements with the same meaning; what they share is in `facts`.

1. `first_write` — the first contribution to an adjoint defines it (no zero-then-add).
2. `algebra` — `g * 1.0`, `0 + g`, `a + -b`, `-(-g)`.
3. `dead` — adjoints nobody reads.
4. `copies` — adjoint copies propagated (then the dead copies dropped).
5. `joint` — the adjoints of two operands that share a costly step (a solve), one call.
6. `signs` — the sign of a subtraction's adjoint moved into the sum that reads it.
7. `in_place` — `x_bar += g` where the adjoint is provably unshared; a checkpointed
   call given the caller's adjoint to add to, not a copy, where it is unshared.
8. `lists` — adjoints of lists of numbers as lists (`x_bar[i] += g`).
9. `kinds` — helpers the known kinds and shapes settle written as NumPy; `scatter` —
   the adjoint of indexing at provably distinct positions as a plain assignment;
   `contract` — a sum over axes of a product of two arrays as one einsum or `@`;
   `stack` — the outer products a backward loop adds up, one matrix product after it;
   `concat` — the parts of np.concatenate's adjoint as slices of it.
10. `saves` — no stack whose values nothing reads; one tuple pushed per loop step (for
    the old values, and for the step's own); a tape of n entries for `for i in range(n)`
    loops.

For `grad_f` (`optimize_gradient`): shape-only reads from elsewhere, the forward values
only the value needs dropped, loops whose steps share only sums fused (`fuse`), a
loop's number seed multiplied in once after it (`seeds`), values computed twice in a
block read from their first name (`reuse`), sums over an axis of a matrix and sums of
products in the backward pass by BLAS (`sums`); for `value_and_grad_f` the same
passes, keeping what the value needs.
"""
import gast

from .algebra import negated_reductions, simplify
from .concat import spell_concat_parts
from .contract import contract_sums
from .copies import propagate_copies
from .dead import (dead_adjoints, dead_forward, dead_forward_in_blocks, fill_blocks,
                   drop_empty_backward_loops,
                   read_shapes_elsewhere, uniform_seeds)
from .facts import called_names
from .first_write import first_writes
from .fuse import fuse_loops
from .in_place import accumulate_in_place, array_accumulators, thread_accumulators
from .joint import joint_adjoints
from .lists import list_adjoints
from .pieces import write_pieces_in_place
from .reuse import reuse_values
from .seeds import fold_loop_seeds
from .kinds import code_shapes, index_adjoints, parameter_sizes, spell_out_helpers, \
    spell_out_shapes, with_items
from .saves import batch_saves, dead_saves, preallocate_tapes
from .scatter import distinct_scatters
from .signs import fold_negations
from .squares import sums_of_squares
from .stack import stack_outer_products
from .sums import backward_sums
from .trace_passes import optimize_trace

__all__ = ["optimize_function", "optimize_gradient", "optimize_trace", "uniform_seeds"]


def optimize_function(fdef: gast.FunctionDef, arrays=frozenset(), numbers=frozenset(),
                      shapes: dict = None, lists: dict = None) -> gast.FunctionDef:
    """The optimizer's entry: runs the passes over one generated function. `arrays`
    and `numbers`: names known to hold NumPy arrays, and numbers, in this compilation
    (see `index_adjoints`, `spell_out_helpers`); `shapes`: {name: dims} of the trace's
    names of known shape (see `spell_out_shapes`), `lists`: {name: dims of each item} of
    the lists np.concatenate joins. The reverse pass marks the function
    with the facts of its trace (`s2s_numbers`, `s2s_number_lists`) where the caller
    passes none (a callee's pair)."""
    called = called_names(fdef.body)     # (no pass below introduces these helpers)
    fdef.body = first_writes(fdef.body)
    fdef.body = simplify(fdef.body)
    fdef.body = dead_adjoints(fdef.body, set())
    changed = []
    fdef.body = propagate_copies(fdef.body, changed)
    if changed:
        fdef.body = dead_adjoints(fdef.body, set())     # the copies nothing reads now
    fdef.body = joint_adjoints(fdef.body)
    fold_negations(fdef)
    owned = getattr(fdef, "s2s_owned", ())     # (a checkpointed callee's accumulators)
    if "own_grad" in called:
        fdef.body = thread_accumulators(fdef.body, owned)
    fdef.body = accumulate_in_place(fdef.body, entry=owned)
    array_accumulators(fdef, owned)
    numbers = numbers or getattr(fdef, "s2s_numbers", frozenset())
    fdef.body = list_adjoints(fdef.body, getattr(fdef, "s2s_number_lists", ()), numbers)
    if arrays and "add_at" in called:
        fdef.body = index_adjoints(fdef.body, arrays)
    if shapes and "add_at" in called:
        fdef.body = distinct_scatters(fdef.body, shapes)
    if arrays or numbers:
        spell_out_helpers(fdef.body, arrays, numbers)
    if arrays:
        fdef.body = write_pieces_in_place(fdef.body, arrays)
    if shapes:
        spell_out_shapes(fdef, shapes, numbers, lists)
        known, computed = with_items(shapes, lists), []

        def code():       # (computed once, for the passes below that find a candidate)
            if not computed:
                computed.append(code_shapes(fdef, known, numbers))
            return computed[0]
        contract_sums(fdef, code)
        stack_outer_products(fdef, code)
        spell_concat_parts(fdef, lists, code, lambda found: parameter_sizes(fdef, found))
    fdef.body = negated_reductions(fdef.body)
    dead_saves(fdef)
    batch_saves(fdef)
    preallocate_tapes(fdef)
    fdef.body = drop_empty_backward_loops(fdef.body)
    fill_blocks(fdef.body)
    return fdef


def optimize_gradient(body: list, scalars: set, representatives: dict,
                      with_value: bool = False, arrays=frozenset(), shapes=None,
                      adjoints=frozenset()) -> list:
    """What `grad_f` (the gradient alone, of a function whose value is a number) does not
    need: values read only for their shape come from `representatives`, the forward
    values only the function's value needs go, and loops whose steps share only sums
    are fused (see `fuse`). `with_value`: the same passes for `value_and_grad_f`, whose
    return reads the value (so what computes it stays live), with loops fused in the
    forward order where the value reads what a loop leaves (`fuse._in_order`): the
    value costs what it needs beyond the gradient, not a second, unfused pass.
    `shapes`: {name: dims} of the names of known shape (see `sums_of_squares`, for
    `grad_f` only: `value_and_grad_f` returns the value as the function's own code
    computes it, bit for bit); `adjoints`: names whose adjoint a pass contracted away
    (`contract`), which had one."""
    if with_value:
        # every forward value feeds the value: only the loops have something to gain
        body = list(body)
        fused = fuse_loops(body, scalars, in_order=True)
        body = body if fused is body else dead_forward_in_blocks(dead_forward(fused))
        return backward_sums(reuse_values(fold_loop_seeds(body, scalars, arrays)), scalars)
    body = read_shapes_elsewhere(list(body), representatives)
    body = dead_forward(body)
    fused = fuse_loops(body, scalars)
    if fused is not body:
        body = dead_forward(fused)
    body = fold_loop_seeds(dead_forward_in_blocks(body), scalars, arrays)
    return backward_sums(reuse_values(sums_of_squares(body, shapes or {}, adjoints)), scalars)
