"""The schedule of checkpointed loops (`grad(f, checkpoint=...)`).

A loop `for t in range(start, stop, step)` checkpointed with `snapshots` runs as
segments of `stride` consecutive steps; each segment is one checkpointed call, so the
forward pass keeps one snapshot of the loop-carried state per segment and the backward
pass recomputes one segment at a time. These helpers compute the schedule from the trip
count, which a `for` loop over a range knows before it starts. They return integers and
booleans only: generated code calls them, nothing differentiates them.
"""
import math

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
