"""Calls to the user's own functions: each callee gets a generated forward/backward
pair (`f_fwd` returns its result and what its backward needs; `f_bwd` takes that and
the result's adjoint and returns the adjoints of the arguments)."""


class CallGraph:
    def __init__(self, optimize=True):
        self.optimize = optimize
        self.env = {}
        self.pairs = {}

    def hook(self, rev, s):
        raise rev.trace.parsed.error("calls to user functions are not supported yet", s.node)

    def definitions(self):
        return []
