"""The package's layers only point down: no import cycle among s2sgrad's modules (imports
inside functions included), and no module imports from a layer above its own.

The import graph is read from the source with `ast`, so an import hidden in a function
counts like one at the top of a module. The layers, from the bottom:

    errors, version → syntax, runtime → frontend, rules → ir → ad → optimize → backend
    → pipeline → gradient, batch → operators → api, trees → tools → the package's face

A module may import from its own layer and any layer below it.
"""
import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "s2sgrad")

#: Layers from the bottom; an entry names a module or a sub-package (all it holds).
LAYERS = [
    ["errors", "version"],
    ["syntax", "runtime"],
    ["frontend", "rules"],
    ["ir"],
    ["ad"],
    ["optimize"],
    ["backend"],
    ["pipeline"],
    ["gradient", "batch"],
    ["operators"],
    ["api", "trees"],
    ["tools"],
    ["__init__", "__main__"],
]


def module_files():
    """{dotted module name relative to the package: path}."""
    out = {}
    for dirpath, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), PACKAGE)[:-3].split(os.sep)
                if rel[-1] == "__init__" and len(rel) > 1:
                    rel = rel[:-1]
                out[".".join(rel)] = os.path.join(dirpath, f)
    return out


def _package_of(name, path):
    parts = name.split(".") if name != "__init__" else []
    return parts if path.endswith("__init__.py") else parts[:-1]


def imports_of(name, path, known):
    """The package modules `name` imports anywhere in its source."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name, path)
                base = base[:len(base) - node.level + 1]
            elif node.module and node.module.split(".")[0] == "s2sgrad":
                base = []
                node_module = node.module.split(".")[1:]
                target = ".".join(node_module)
                _add(found, target, [a.name for a in node.names], known)
                continue
            else:
                continue
            target = ".".join(base + (node.module.split(".") if node.module else []))
            _add(found, target, [a.name for a in node.names], known)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "s2sgrad" and len(parts) > 1:
                    found.add(_known_prefix(".".join(parts[1:]), known))
    found.discard(None)
    found.discard(name)
    return found


def _known_prefix(dotted, known):
    parts = dotted.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return "__init__"


def _add(found, target, names, known):
    for n in names:            # `from . import trace` names a module
        full = f"{target}.{n}" if target else n
        if full in known:
            found.add(full)
        else:
            found.add(_known_prefix(target, known) if target else "__init__")


def graph():
    files = module_files()
    return {name: imports_of(name, path, files) for name, path in files.items()}


def layer(name):
    top = name.split(".")[0]
    for i, members in enumerate(LAYERS):
        if top in members:
            return i
    raise AssertionError(f"s2sgrad.{name} is in no layer: add it to LAYERS")


def cycles(g):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_in_a_layer():
    for name in graph():
        layer(name)


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles among s2sgrad's modules: " + "; ".join(
        " ↔ ".join(c) for c in found)


def test_imports_only_point_down():
    g = graph()
    up = sorted(f"s2sgrad.{a} imports s2sgrad.{b}" for a, targets in g.items()
                for b in targets if layer(b) > layer(a))
    assert not up, "imports from a higher layer:\n" + "\n".join(up)


@pytest.mark.parametrize("name", ["tools", "ad", "optimize"])
def test_the_checker_sees_imports_inside_functions(name):
    g = graph()
    assert any(t.startswith(name) or a.startswith(name) for a, ts in g.items() for t in ts)
