"""Automatic differentiation, stages 4 and 5: `reverse` writes the adjoint code of a
trace, `tangent` its forward-mode (tangent) code, `callees` the forward/backward pair of
each function the user's function calls; both modes instantiate the rule templates
through `templates`."""
