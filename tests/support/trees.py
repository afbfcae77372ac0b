"""Parameter containers (nested lists, tuples, NamedTuples and dicts of arrays and floats)
for the numerical oracle: flattened to one float64 vector for centered finite differences
(support/numeric.py) and rebuilt, and a gradient's structure compared with its argument's."""
import numpy as np

from .numeric import check_grads


def leaves(tree):
    """The float arrays and numbers of a nested list/tuple/dict, in a fixed order."""
    if isinstance(tree, dict):
        return [x for k in tree for x in leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [x for t in tree for x in leaves(t)]
    return [tree]


def flatten(tree):
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in leaves(tree)])


def unflatten(tree, vec):
    """A container of the same structure as `tree` holding the values of `vec`."""
    pos = [0]

    def build(t):
        if isinstance(t, dict):
            return {k: build(v) for k, v in t.items()}
        if isinstance(t, (list, tuple)):
            items = [build(v) for v in t]
            return type(t)(*items) if hasattr(t, "_fields") else type(t)(items)
        size = np.size(t)
        chunk = vec[pos[0]:pos[0] + size]
        pos[0] += size
        return chunk.reshape(np.shape(t)) if isinstance(t, np.ndarray) else float(chunk[0])
    return build(tree)


def same_structure(a, b):
    """Same container types, keys and lengths, arrays of the same shapes and dtypes."""
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same_structure(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(b) is type(a) and len(a) == len(b) and all(map(same_structure, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
    return isinstance(b, float)


def assert_tree_grad(f, args, wrt=0, rtol=1e-5, atol=1e-6):
    """s2sgrad's gradient of f with respect to the container args[wrt] has the container's
    structure and, flattened, matches finite differences of f on the flattened leaves."""
    import s2sgrad

    got = s2sgrad.grad(f, wrt=wrt)(*args)
    tree = args[wrt]
    assert same_structure(tree, got), "gradient structure %r differs from %r" % (
        type(got).__name__, type(tree).__name__)

    def on_vector(vec):
        return f(*(unflatten(tree, vec) if i == wrt else a for i, a in enumerate(args)))

    check_grads(on_vector, (flatten(tree),), flatten(got), rtol=rtol, atol=atol)
    return got
