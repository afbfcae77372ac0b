"""The trace as readable source (`s2sgrad show --stage ssa`)."""
from .statements import Assign, If, For, While, Return, Kind


def render(trace):
    """The trace as readable source: the SSA statements, with the analysis facts."""
    from ..syntax import emit

    def lines(body, indent):
        out = []
        pad = "    " * indent
        for s in body:
            if isinstance(s, If):
                out.append(f"{pad}if {s.test}:")
                out += lines(s.body, indent + 1) or [pad + "    pass"]
                if s.orelse:
                    out.append(f"{pad}else:")
                    out += lines(s.orelse, indent + 1)
            elif isinstance(s, For):
                args = ", ".join(a if isinstance(a, str) else repr(a.value) for a in s.range_args)
                out.append(f"{pad}for {s.target} in range({args}):")
                out += lines(s.body, indent + 1) or [pad + "    pass"]
            elif isinstance(s, While):
                out.append(f"{pad}while {s.test}:    # trip count kept in {s.count_name}")
                out += lines(s.body, indent + 1) or [pad + "    pass"]
            elif isinstance(s, Return):
                v = s.value if isinstance(s.value, str) else repr(s.value.value)
                out.append(f"{pad}return {v}")
            else:
                text = emit.expression_source(getattr(s, "fwd_node", None) or s.node)
                tags = []
                if isinstance(s, Assign):
                    if s.target in trace.active:
                        tags.append("active")
                    if s.target in trace.overwritten:
                        tags.append("overwritten")
                    if s.kind is Kind.OP:
                        tags.append(f"rule {s.rule.name}")
                    elif s.kind is not Kind.COPY:
                        tags.append(s.kind)
                line = getattr(s.node, "lineno", None)
                if line:
                    tags.append(f"line {line}")
                out.append(f"{pad}{text}" + (f"    # {', '.join(tags)}" if tags else ""))
        return out

    wrt = ", ".join(trace.params[i] for i in trace.wrt)
    head = f"def {trace.name}({', '.join(trace.params)}):    # wrt {wrt}"
    return "\n".join([head] + lines(trace.body, 1)) + "\n"
