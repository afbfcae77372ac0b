"""Parameter containers (pytrees): nested dicts, lists, tuples, NamedTuples and dataclass
instances whose float and complex leaves (numbers, arrays) are what a gradient is
computed for. A gradient with respect to such a container has its type and structure
(`runtime.tree_grad_like`); these two functions make the update step one line:

    params = tree_map(lambda p, g: p - lr * g, params, grads)

Every other leaf (ints, bools, strings, None, integer arrays, other objects) is carried
over unchanged, from the first tree, by `tree_map` and in gradients alike, and is not
listed by `tree_leaves`. Dicts are walked in their insertion order (a gradient keeps
its argument's order). Nothing here changes the containers it is given."""
import copy
from typing import Any, Callable

from .runtime.core import is_tree_leaf, record_fields


def tree_leaves(tree: Any) -> list:
    """The float and complex leaves (numbers, arrays) of `tree`, in order: dicts in
    insertion order, the fields of NamedTuples and dataclasses in declaration order."""
    out = []
    _collect(tree, out)
    return out


def _collect(node, out):
    """Append the leaves under `node` to `out` (depth first)."""
    for child in _children(node):
        _collect(child, out)
    if is_tree_leaf(node):
        out.append(node)


def _children(node):
    """The sub-trees of a container, in order (none for a leaf)."""
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, (list, tuple)):
        return list(node)
    fields = record_fields(node)
    if fields is not None:
        return [getattr(node, n) for n in fields]
    return []


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """A tree of the structure of `tree` whose leaves are `fn(leaf, *matching leaves of
    rest)`; `rest` are trees of the same structure (e.g. gradients of `tree`). Leaves
    that are not floats or float arrays are carried over from `tree`, without calling
    `fn`. Refuses (ValueError) trees whose structures differ."""
    return _map(fn, tree, rest, "tree")


def _map(fn, node, others, where):
    if isinstance(node, dict):
        for o in others:
            _same(isinstance(o, dict) and list(o) == list(node), node, o, where)
        out = {k: _map(fn, v, [o[k] for o in others], f"{where}[{k!r}]")
               for k, v in node.items()}
        return out if type(node) is dict else type(node)(out)
    if isinstance(node, (list, tuple)):
        for o in others:
            _same(isinstance(o, (list, tuple)) and len(o) == len(node), node, o, where)
        items = [_map(fn, v, [o[i] for o in others], f"{where}[{i}]")
                 for i, v in enumerate(node)]
        if isinstance(node, tuple) and hasattr(type(node), "_fields"):
            return type(node)(*items)                    # a NamedTuple
        return type(node)(items)
    fields = record_fields(node)
    if fields is not None:
        for o in others:
            _same(type(o) is type(node), node, o, where)
        out = copy.copy(node)
        for n in fields:
            object.__setattr__(out, n, _map(fn, getattr(node, n),
                                            [getattr(o, n) for o in others], f"{where}.{n}"))
        return out
    if is_tree_leaf(node):
        return fn(node, *others)
    return node


def _same(ok, node, other, where):
    if not ok:
        raise ValueError(f"tree_map: the trees differ at {where}: "
                         f"{_describe(node)} and {_describe(other)}")


def _describe(node):
    n = len(node) if isinstance(node, (list, tuple, dict)) else None
    what = type(node).__name__
    if isinstance(node, dict):
        return f"a {what} with keys {list(node)}"
    return f"a {what} of length {n}" if n is not None else f"a {what}"
