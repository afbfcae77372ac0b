"""The notes' logistic neuron in plain Python — lists, a zip loop, math.exp and a call to dot(w, x) — with its generated code."""
import math

import s2sgrad


def dot(w, x):
    """Dot product of w, x."""
    w_dot_x = 0.0
    x = [1] + x  # append "1" to the start, complementing bias as w0 in w
    for (wi, xi) in zip(w, x):
        w_dot_x = w_dot_x + (wi * xi)
    return w_dot_x


def f(w, x):
    """Logistic sigmoid function."""
    return 1 / (1 + math.exp(-1 * dot(w, x)))


def mark(ok):
    return "✓" if ok else "✗"


w = [-3, 2, -3]  # as in the notes: ints are fine, the gradients are floats
x = [-1, -2]

# The notes' hand-written backward pass: with out = sigmoid(w . [1] + x),
# df/dw = [1, x1, x2] * out * (1 - out) and df/dx = [w1, w2] * out * (1 - out).
out = f(w, x)
d = out * (1 - out)
hand_dw = [1.0 * d, x[0] * d, x[1] * d]
hand_dx = [w[1] * d, w[2] * d]

df = s2sgrad.grad(f, wrt=("w", "x"))
dw, dx = df(w, x)

print(f"f(w, x) = {out:.4f}")
print("df/dw:", [round(v, 4) for v in dw], " (notes, by hand:", [round(v, 4) for v in hand_dw], ")",
      mark(type(dw) is list and all(abs(a - b) < 1e-12 for a, b in zip(dw, hand_dw))))
print("df/dx:", [round(v, 4) for v in dx], " (notes, by hand:", [round(v, 4) for v in hand_dx], ")",
      mark(type(dx) is list and all(abs(a - b) < 1e-12 for a, b in zip(dx, hand_dx))))
print()
print("generated code (dot gets its own forward/backward pair; the loop is reversed):")
df.show()
