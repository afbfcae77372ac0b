"""The only module that builds AST nodes.

Every other stage talks to these small constructors, so a change in `gast` touches
this file alone. Nodes are gast nodes; `emit` turns them into source text.
"""
import gast

COMMENT_MARK = "__s2sgrad_comment__:"


def name(id_, store=False):
    ctx = gast.Store() if store else gast.Load()
    return gast.Name(id=id_, ctx=ctx, annotation=None, type_comment=None)


def fresh_name(hint, taken):
    """`hint`, or `hint2`, `hint3`, ... : the first not in `taken` (which it joins)."""
    cand, n = hint, 1
    while cand in taken:
        n += 1
        cand = f"{hint}{n}"
    taken.add(cand)
    return cand


def const(value):
    return gast.Constant(value=value, kind=None)


def operand(x):
    """A name for a str, a constant otherwise (the two kinds of ANF operand)."""
    if isinstance(x, Const):
        return const(x.value)
    return name(x)


class Const:
    """A literal operand of a trace statement (kept apart from variable names)."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Const) and type(other.value) is type(self.value) \
            and other.value == self.value

    def __hash__(self):
        return hash((type(self.value), repr(self.value)))

    def __repr__(self):
        return f"Const({self.value!r})"


def assign(target, value):
    tgt = name(target, store=True) if isinstance(target, str) else target
    return gast.Assign(targets=[tgt], value=value, type_comment=None)


def tuple_(elts, store=False):
    ctx = gast.Store() if store else gast.Load()
    return gast.Tuple(elts=list(elts), ctx=ctx)


def list_(elts):
    return gast.List(elts=list(elts), ctx=gast.Load())


def call(func, args=(), keywords=None):
    if isinstance(func, str):
        func = parse_expr(func)
    kws = [gast.keyword(arg=k, value=v) for k, v in (keywords or {}).items()]
    return gast.Call(func=func, args=list(args), keywords=kws)


def attribute(value, attr):
    return gast.Attribute(value=value, attr=attr, ctx=gast.Load())


def subscript(value, index, store=False):
    ctx = gast.Store() if store else gast.Load()
    return gast.Subscript(value=value, slice=index, ctx=ctx)


def expr_stmt(value):
    return gast.Expr(value=value)


def comment(text):
    """A statement that `emit` prints as a `# text` comment line."""
    return gast.Expr(value=const(COMMENT_MARK + text))


def return_(value):
    return gast.Return(value=value)


def if_(test, body, orelse=()):
    return gast.If(test=test, body=list(body) or [gast.Pass()], orelse=list(orelse))


def for_(target, iter_, body):
    tgt = name(target, store=True) if isinstance(target, str) else target
    return gast.For(target=tgt, iter=iter_, body=list(body) or [gast.Pass()],
                    orelse=[], type_comment=None)


def while_(test, body):
    return gast.While(test=test, body=list(body) or [gast.Pass()], orelse=[])


def pass_():
    return gast.Pass()


def break_():
    return gast.Break()


def function_def(fname, params, body, defaults=(), docstring=None):
    """`def fname(params...):` with trailing `defaults` as constants/nodes."""
    args = gast.arguments(
        args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None)
              for p in params],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=[d if isinstance(d, gast.AST) else const(d) for d in defaults])
    stmts = list(body)
    if docstring:
        stmts.insert(0, gast.Expr(value=const(docstring)))
    return gast.FunctionDef(name=fname, args=args, body=stmts or [gast.Pass()],
                            decorator_list=[], returns=None, type_comment=None,
                            type_params=[])


def module(body):
    return gast.Module(body=list(body), type_ignores=[])


def parse_stmts(text):
    return gast.parse(text).body


def parse_expr(text):
    return gast.parse(text).body[0].value


def clone(node):
    """A deep copy of a gast tree (much faster than copy.deepcopy on AST nodes)."""
    if isinstance(node, list):
        return [clone(x) for x in node]
    if not isinstance(node, gast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    for name, value in node.__dict__.items():
        if isinstance(value, list):
            setattr(new, name, [clone(x) for x in value])
        elif isinstance(value, gast.AST):
            setattr(new, name, clone(value))
        else:
            setattr(new, name, value)
    return new


def substitute(tree, mapping):
    """Replace names in (a copy of) `tree`: str values rename, nodes replace."""
    if isinstance(tree, gast.Name) and tree.id in mapping:
        new = mapping[tree.id]
        if isinstance(new, str):
            return gast.Name(id=new, ctx=clone(tree.ctx), annotation=None, type_comment=None)
        return clone(new)
    if not isinstance(tree, gast.AST):
        return clone(tree)
    new = tree.__class__.__new__(tree.__class__)
    fields = tree._fields
    for name, value in tree.__dict__.items():
        if name not in fields:
            setattr(new, name, clone(value))      # locations, marks: copied as they are
        elif isinstance(value, list):
            setattr(new, name, [substitute(x, mapping) for x in value])
        else:
            setattr(new, name, substitute(value, mapping))
    return new


_CHILD_FIELDS = {}


# fields that never hold a node (strings, numbers, flags), and `ctx`: the Load/Store
# mark, read through its Name
_NOT_NODES = frozenset(("ctx", "type_comment", "id", "attr", "arg", "kind", "conversion",
                        "is_async", "level", "module", "simple"))


def _child_fields(cls):
    """The fields of a node class that may hold nodes the analyses look at (not a
    constant's value either)."""
    fields = _CHILD_FIELDS[cls] = tuple(
        f for f in cls._fields
        if f not in _NOT_NODES and not (cls is gast.Constant and f == "value"))
    return fields


def walk(tree):
    """The nodes of `tree` in the order of `gast.walk` (breadth first) but for the
    Load/Store marks of names, faster: walks are the inner loop of most analyses."""
    return _breadth_first(tree, _CHILD_FIELDS, _child_fields)


def _breadth_first(tree, known, fields_of):
    """The nodes reached from `tree` through the fields `known[cls]` of each node's
    class (`fields_of(cls)` fills the table), breadth first."""
    todo, ast_ = [tree], gast.AST
    for node in todo:
        fields = known.get(node.__class__)
        for field in fields_of(node.__class__) if fields is None else fields:
            value = getattr(node, field, None)
            if value is None:
                continue
            if value.__class__ is list:
                todo += [x for x in value if isinstance(x, ast_)]
            elif isinstance(value, ast_):
                todo.append(value)
    return todo


class Transformer(gast.NodeTransformer):
    """`gast.NodeTransformer`, faster (the optimizer's rewrites visit every node of the
    function several times): the visit method of a node class is looked up once, and
    the children are read from the fields that may hold nodes (`walk`). Same contract:
    a visit returns the node, a replacement, a list (in a list field) or None (drop)."""

    def visit(self, node):
        cls = self.__class__
        table = cls.__dict__.get("_visits")
        if table is None:
            table = cls._visits = {}
        method = table.get(node.__class__)
        if method is None:
            method = table[node.__class__] = getattr(
                cls, "visit_" + node.__class__.__name__, None) or cls.generic_visit
        return method(self, node)

    def generic_visit(self, node):
        fields = _CHILD_FIELDS.get(node.__class__)
        for field in _child_fields(node.__class__) if fields is None else fields:
            old = getattr(node, field, None)
            if old.__class__ is list:
                new = []
                for value in old:
                    if isinstance(value, gast.AST):
                        value = self.visit(value)
                        if value is None:
                            continue
                        if not isinstance(value, gast.AST):
                            new.extend(value)
                            continue
                    new.append(value)
                old[:] = new
            elif isinstance(old, gast.AST):
                new = self.visit(old)
                if new is None:
                    delattr(node, field)
                else:
                    setattr(node, field, new)
        return node


def children(node):
    """The direct child nodes of `node` (as `gast.iter_child_nodes`, without the
    Load/Store marks of names), in field order."""
    out = []
    fields = _CHILD_FIELDS.get(node.__class__)
    for field in _child_fields(node.__class__) if fields is None else fields:
        value = getattr(node, field, None)
        if value.__class__ is list:
            out += [x for x in value if isinstance(x, gast.AST)]
        elif isinstance(value, gast.AST):
            out.append(value)
    return out


_NAME_FIELDS = {gast.Constant: ()}
# fields that never hold a Name: operators, marks and strings
_NO_NAMES = _NOT_NODES | {"op", "ops"}


def _name_fields(cls):
    fields = _NAME_FIELDS[cls] = tuple(f for f in cls._fields if f not in _NO_NAMES)
    return fields


def name_nodes(tree):
    """The Name nodes of `tree`, in the order of `walk`, by a walk that enters no
    constant nor operator, nor a name's mark (the read/write facts the optimizer asks
    of every statement)."""
    name_ = gast.Name
    return [n for n in _breadth_first(tree, _NAME_FIELDS, _name_fields)
            if n.__class__ is name_]


def name_sets(tree):
    """(ids read, ids bound) by the Name nodes of `tree`."""
    loads, stores = set(), set()
    load, store = gast.Load, gast.Store
    for node in name_nodes(tree):
        ctx = node.ctx.__class__
        if ctx is load:
            loads.add(node.id)
        elif ctx is store:
            stores.add(node.id)
    return loads, stores


def names_in(tree, ctx=None):
    """Ids of the Name nodes in `tree` (Load, Store or any), in source order."""
    if ctx is None:
        return [n.id for n in name_nodes(tree)]
    return [n.id for n in name_nodes(tree) if isinstance(n.ctx, ctx)]


def copy_location(new, old):
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        if hasattr(old, attr) and not hasattr(new, attr):
            setattr(new, attr, getattr(old, attr))
    return new


def is_name(node, id_=None):
    return isinstance(node, gast.Name) and (id_ is None or node.id == id_)


def is_const(node):
    return isinstance(node, gast.Constant)


LOAD, STORE = gast.Load, gast.Store


def statements(stmts):
    """Every statement of `stmts` and of every block nested in them (loops' and
    branches' bodies and `else` blocks, `try` handlers and `finally`, nested defs), in
    order: the statements `walk` reaches, without walking their expressions."""
    for st in stmts:
        yield st
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(st, field, None)
            if inner.__class__ is list:
                yield from statements(inner)
        for handler in getattr(st, "handlers", ()):
            yield from statements(handler.body)
        for case in getattr(st, "cases", ()):
            yield from statements(case.body)


def flat(stmts):
    """Every statement of `stmts`, the bodies of `if`, `for` and `while` blocks included,
    in order."""
    for st in stmts:
        yield st
        if isinstance(st, gast.If):
            yield from flat(st.body)
            yield from flat(st.orelse)
        elif isinstance(st, (gast.For, gast.While)):
            yield from flat(st.body)
