"""A scalar recurrence with loop-carried state (a damped oscillator, explicit Euler): the
backward loop pops the carried values, nothing else."""


def f(k, c, x0, steps):
    x = x0
    v = 0.0
    dt = 0.01
    for t in range(steps):
        a = -k * x - c * v
        v = v + dt * a
        x = x + dt * v
    return x * x + v * v


FUNCTION = f
WRT = (0, 1, 2)
CASES = {"floats": (1.5, 0.1, 1.0, 20)}
