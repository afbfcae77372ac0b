"""The intermediate representation: the execution trace's statements.

A `Trace` is a list of statements — `Assign` (one primitive operation), `SetItem`,
`Append`, `Pop`, `Effect` (a statement run for its effect), the structured blocks `If`,
`For`, `While` — ending in one `Return`, plus the facts the analyses attach. `walk` visits
every statement, blocks included; `defs` says which names a statement binds.
"""
from dataclasses import dataclass, field
from enum import Enum

import gast

from .. import rules
from ..syntax import nodes

# --------------------------------------------------------------------------- the IR


class Kind(str, Enum):
    """What an `Assign` does, which decides how each stage treats it."""
    OP = "op"                # a primitive with an adjoint rule (`rule`)
    COPY = "copy"            # `y = x`
    CONST = "const"          # a literal or a module constant (`np.pi`)
    NONDIFF = "nondiff"      # integers, booleans, comparisons, shapes: never differentiated
    STOP = "stop"            # `s2sgrad.stop_gradient(x)`
    CALL = "call"            # a call of the user's own function (`callee`)
    OPAQUE = "opaque"        # no rule: a constant unless a gradient must flow (`error`)
    POP = "pop"              # `xs.pop()`

    def __str__(self):
        return self.value


@dataclass
class Assign:
    """`target = expr`, one primitive operation."""
    target: str
    expr: object                  # the forward expression (gast), operands as atoms
    kind: Kind
    rule: object = None           # rules.Rule for kind OP
    args: list = field(default_factory=list)       # operands: str (a name) or Const
    kwargs: dict = field(default_factory=dict)
    node: object = None           # the ANF statement (location, forward emission)
    callee: object = None         # the user's function, for kind CALL
    keys: list = None             # dict display keys
    # facts later stages attach
    error: Exception = None       # OPAQUE: the refusal to raise if a gradient flows
    mutable_receiver: bool = False    # OPAQUE method call: it may change args[0] in place
    tangent_only: bool = False    # a helper of generated code: forward mode only
    first_def: bool = False       # a top-level first definition: no old value to save
    fused: str = None             # what the trace optimizer fused here (sigmoid of x)
    fwd_node: object = None       # the statement the forward sweep runs instead of `node`
    extra_targets: list = field(default_factory=list)  # names the forward node also binds
    cut_what: str = None          # NONDIFF that a gradient must not reach: what it is
    cut_args: list = None         # ... and which of its operands (None: all it reads)
    in_place: bool = False        # written `v op= e`: Python changes v's memory in place
    item_update: bool = False     # the `old op e` of `c[i] op= e` (an array item of a list
                                  # changes in place: `ir.check_item_updates`)
    function_args: dict = None    # CALL: {position or keyword: function object passed}
    no_gradient: str = None       # OP whose adjoint is exactly zero here: why (a softmax's
                                  # shift, `optimize.trace_passes.stop_softmax_shifts`)
    number: bool = False          # CONST of a module's number (`np.pi`, `math.e`)
    random: bool = False          # NONDIFF random draw: each run gives other numbers, so
                                  # it is never loop-invariant nor run again

    def __post_init__(self):
        self.kind = Kind(self.kind)

    def reads(self):
        return [a for a in list(self.args) + list(self.kwargs.values()) if isinstance(a, str)] \
            + _index_names(self)


@dataclass
class SetItem:
    """`container[index] = value` into a local container."""
    container: str
    index: object                 # gast index expression
    value: object                 # operand
    node: object = None

    def reads(self):
        return ([self.value] if isinstance(self.value, str) else []) + \
            [self.container] + nodes.names_in(self.index)


@dataclass
class Append:
    """`container.append(value)` on a local list."""
    container: str
    value: object
    node: object = None

    def reads(self):
        return [self.container] + ([self.value] if isinstance(self.value, str) else [])


@dataclass
class Pop:
    """`container.pop()` as a statement (undoing an append)."""
    container: str
    node: object = None

    def reads(self):
        return [self.container]


@dataclass
class Effect:
    """A statement kept for the forward pass only (print, assert)."""
    node: object

    def reads(self):
        return nodes.names_in(self.node)

    def restored_item(self):
        """(x, old) for generated code's `restore_item(x, index, old)`, which writes the
        value `old` back into x (old: a name, or None for another operand); else None."""
        call = self.node.value if isinstance(self.node, gast.Expr) else None
        if not (isinstance(call, gast.Call) and nodes.is_name(call.func, "restore_item")
                and len(call.args) == 3 and isinstance(call.args[0], gast.Name)):
            return None
        old = call.args[2]
        return call.args[0].id, (old.id if isinstance(old, gast.Name) else None)


@dataclass
class If:
    test: str
    body: list
    orelse: list
    node: object = None


@dataclass
class For:
    target: str
    range_args: list              # operands of range(...)
    body: list
    node: object = None


@dataclass
class While:
    test: str
    body: list
    node: object = None
    count_name: str = None        # how many times the body ran (for the backward loop)


@dataclass
class Return:
    value: object                 # operand
    node: object = None


@dataclass
class Trace:
    name: str
    params: list
    defaults: list
    body: list
    parsed: object
    wrt: tuple = ()
    active: set = field(default_factory=set)
    overwritten: set = field(default_factory=set)
    maybe_container: set = field(default_factory=set)
    user_names: set = field(default_factory=set)
    scalars: set = field(default_factory=set)
    shape_class: dict = field(default_factory=dict)   # see `shape_classes`
    structural_class: dict = field(default_factory=dict)  # the same, sizes aside
    known_shapes: dict = field(default_factory=dict)      # {name: shape}, infer_scalars
    array_params: tuple = ()      # parameters known to be NumPy arrays (not containers)
    array_shapes: dict = field(default_factory=dict)  # {array parameter: shape pattern}
    # {dict parameter: {key: shape pattern, () for a number}} of the dicts read only by
    # items at constant keys (`shapes.read_only_dicts`)
    dict_items: dict = field(default_factory=dict)
    # {list display name: (dims of each item)} of the lists only np.concatenate reads
    # (`shapes.infer_shapes`): the adjoint's parts have those dims
    list_items: dict = field(default_factory=dict)
    symbol_sizes: dict = None     # {symbol: size} of the call compiled for (the entry's)
    shape_assumptions: set = field(default_factory=set)   # what shapes rely on, `shapes`
    number_list_params: tuple = ()  # parameters known to be lists of numbers (not changed)
    number_lists: set = field(default_factory=set)     # names holding lists of numbers
    invariant: set = field(default_factory=set)
    deps: list = field(default_factory=list)
    tuple_wrt: bool = False       # gradients returned as a tuple (wrt given as a tuple)
    aux: object = None            # has_aux: the Assign building the returned (value, aux)

    @property
    def result(self):
        return self.body[-1].value


def _index_names(stmt):
    if stmt.kind is Kind.OP and stmt.rule is rules.OPERATORS.get("getitem"):
        return nodes.names_in(stmt.expr.slice)
    if stmt.kind in (Kind.OP, Kind.NONDIFF) and isinstance(stmt.expr, gast.Subscript) \
            and (stmt.kind is Kind.NONDIFF or stmt.rule is rules.OPERATORS.get("index_concat")):
        return nodes.names_in(stmt.expr.slice)      # np.r_[a, 0:n], np.s_[i:j]
    return []


def walk(body):
    """Every IR statement in `body`, blocks included, in order."""
    for s in body:
        yield s
        if isinstance(s, If):
            yield from walk(s.body)
            yield from walk(s.orelse)
        elif isinstance(s, (For, While)):
            yield from walk(s.body)


def makes_array(s):
    """Is `s` an array NumPy makes of its first operand (`np.array(xs)`, `np.asarray(xs)`,
    `np.copy(xs)`: the copy rule called as a NumPy function), not a method of the operand
    (`xs.copy()` of a list is a list) nor `list(x)`/`tuple(x)`?"""
    f = getattr(s.expr, "func", None)
    return s.kind is Kind.OP and s.rule.name == "copy" and isinstance(f, gast.Attribute) \
        and f.attr in ("array", "asarray", "asanyarray", "copy") \
        and not (isinstance(f.value, gast.Name) and s.args and f.value.id == s.args[0])


def reads(s):
    """The names one statement reads (not those of its nested blocks): a branch's or a
    `while`'s test, a loop's range bounds, the value returned, an operation's operands."""
    if isinstance(s, (If, While)):
        return [s.test]
    if isinstance(s, For):
        return [a for a in s.range_args if isinstance(a, str)]
    if isinstance(s, Return):
        return [s.value] if isinstance(s.value, str) else []
    return list(s.reads()) if hasattr(s, "reads") else []


def defs(s):
    """Names a statement (re)binds."""
    if isinstance(s, Assign):
        return [s.target]
    if isinstance(s, (SetItem, Append, Pop)):
        return [s.container]
    if isinstance(s, For):
        return [s.target]
    return []

