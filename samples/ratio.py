"""Branching in the notes: f(x, y) = x / (x + y) at (-1, 2); x fans out, so its two gradients add up to 2."""
from s2sgrad import grad


def f(x, y):
    return x / (x + y)


def mark(ok):
    return "✓" if ok else "✗"


df = grad(f, wrt=(0, 1))
dx, dy = df(-1.0, 2.0)

# By hand: df/dx = 1/v1 + (-x)/v1**2 = 1 + 1 = 2 (notes), df/dy = -x/(x + y)**2 = 1.
print(f"df/dx = {dx:g}   (notes: 2) {mark(abs(dx - 2) < 1e-12)}")
print(f"df/dy = {dy:g}   (quotient rule: -x/(x+y)^2 = 1) {mark(abs(dy - 1) < 1e-12)}")
print()
print("generated code (the two contributions to x_bar are summed):")
df.show()
