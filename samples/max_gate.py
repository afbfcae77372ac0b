"""The max gate routes the gradient to the larger input: f = 3 * (x*y + max(z, w)) at (3, -4, 2, -1), and (x + y) * max(y, z) at (1, 2, 0)."""
from s2sgrad import grad


def mark(ok):
    return "✓" if ok else "✗"


def f(x, y, z, w):
    return 3 * (x * y + max(z, w))


# Figure 8 of the notes: the add gate hands 3 to both inputs, the max gate routes all of it to z
# (z = 2 > w = -1), the multiply gate swaps its inputs: df/dx = 3*y = -12, df/dy = 3*x = 9.
grads = grad(f, wrt=(0, 1, 2, 3))(3.0, -4.0, 2.0, -1.0)
print("f(x, y, z, w) = 3 * (x*y + max(z, w)) at (3, -4, 2, -1)")
for name, got, want in zip(["x", "y", "z", "w"], grads, [-12, 9, 3, 0]):
    print(f"  df/d{name} = {got:g}   (expected {want}) {mark(abs(got - want) < 1e-12)}")


def g(x, y, z):
    a = x + y
    b = max(y, z)
    return a * b


# The second lecture: df/da = b = 2, df/db = a = 3, db/dy = 1(y > z) = 1, db/dz = 0, so
# df/dx = 2, df/dy = 2 + 3 = 5 (y fans out), df/dz = 0.
dg = grad(g, wrt=(0, 1, 2))
grads = dg(1.0, 2.0, 0.0)
print("g(x, y, z) = (x + y) * max(y, z) at (1, 2, 0)")
for name, got, want in zip(["x", "y", "z"], grads, [2, 5, 0]):
    print(f"  dg/d{name} = {got:g}   (expected {want}) {mark(abs(got - want) < 1e-12)}")
print()
print("generated code for g (the branch max took is reused in the backward pass):")
dg.show()
