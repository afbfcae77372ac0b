"""The schedule of checkpointed loops (`grad(f, checkpoint=...)`).

A loop `for t in range(start, stop, step)` checkpointed with `snapshots` runs as
segments of `stride` consecutive steps; each segment is one checkpointed call, so the
forward pass keeps one snapshot of the loop-carried state per segment and the backward
pass recomputes one segment at a time. These helpers compute the schedule from the trip
count, which a `for` loop over a range knows before it starts. They return integers and
booleans only: generated code calls them, nothing differentiates them. `own_grad` and
`array_grad` serve the backward pass of a checkpointed call, which adds into its
caller's adjoints.
"""
import math

import numpy as np

AUTO_MIN_STEPS = 32      # "auto": loops of fewer steps run as written


def checkpoint_steps(start, stop, step):
    """The trip count of `range(start, stop, step)`."""
    return len(range(start, stop, step))


def checkpoint_wanted(start, stop, step, snapshots):
    """Does the loop run checkpointed? With a cap of N snapshots, when it has more than
    N steps; with "auto", when it has at least AUTO_MIN_STEPS steps."""
    n = len(range(start, stop, step))
    if snapshots == "auto":
        return n >= AUTO_MIN_STEPS
    return n > snapshots


def checkpoint_stride(start, stop, step, snapshots):
    """Steps per segment: with a cap of N snapshots, ceil(steps / N) (so at most N
    segments); with "auto", about sqrt(steps) segments of about sqrt(steps) steps."""
    n = len(range(start, stop, step))
    count = math.isqrt(max(n - 1, 0)) + 1 if snapshots == "auto" else snapshots
    count = max(1, min(count, n))
    return max(1, -(-n // count))


def checkpoint_segments(start, stop, step, stride):
    """How many segments of `stride` steps cover the loop."""
    return -(-len(range(start, stop, step)) // stride)


def checkpoint_first(start, step, stride, k):
    """The loop index the k-th segment starts at."""
    return start + k * stride * step


def checkpoint_stop(start, stop, step, stride, k):
    """The range stop of the k-th segment (its last step is the loop's last, or the
    step before the next segment's first)."""
    n = len(range(start, stop, step))
    return start + min((k + 1) * stride, n) * step


def own_grad(g):
    """A copy of the adjoint `g` that a checkpointed function's backward pass may add to
    in place (its accumulators): the caller's own array is left as it was."""
    if type(g) is np.ndarray:
        return g.copy()
    if type(g) in (list, dict):
        return type(g)(g)
    return g


def array_grad(g):
    """The accumulator `g` a backward pass adds array adjoints to in place (`g += e`):
    an array or a number as it is, a list or tuple given by the caller as the array
    `g + e` would have made of it (`+=` would extend a list)."""
    if type(g) in (list, tuple):
        return np.array(g, dtype=float)
    return g
