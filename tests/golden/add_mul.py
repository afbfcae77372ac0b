"""The first circuit of the backpropagation notes: f(x, y, z) = (x + y) * z."""


def f(x, y, z):
    return (x + y) * z


FUNCTION = f
WRT = (0, 1, 2)
CASES = {"floats": (-2.0, 5.0, -4.0)}
