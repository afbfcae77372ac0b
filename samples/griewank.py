"""Griewank & Walther's example: y = (sin(x1/x2) + x1/x2 - exp(x2)) * (x1/x2 - exp(x2)) at (1.5, 0.5), with its generated code."""
import numpy as np

import s2sgrad


def f(x1, x2):
    return (np.sin(x1 / x2) + x1 / x2 - np.exp(x2)) * (x1 / x2 - np.exp(x2))


def mark(ok):
    return "✓" if ok else "✗"


df = s2sgrad.value_and_grad(f, wrt=("x1", "x2"))
y, (x1_bar, x2_bar) = df(1.5, 0.5)

# The notes' reverse sweep prints y = 2.0167, x1_bar = 3.0118, x2_bar = -13.7239, working with
# intermediates rounded to four decimals; exact arithmetic differs in the last digit
# (2.01665, -13.72396), so compare within 1e-3.
for name, got, want in [("y", y, 2.0167), ("x1_bar", x1_bar, 3.0118), ("x2_bar", x2_bar, -13.7239)]:
    print(f"{name:6} = {got:9.5f}   (notes: {want:8.4f}) {mark(abs(got - want) < 1e-3)}")
print(f"finite differences agree (worst relative error {s2sgrad.check_grad(f, 1.5, 0.5, wrt=(0, 1)):.1e})")
print()
print("generated code (compare with the adjoint table of the notes):")
df.show()
