"""The first example of the notes: f(x, y, z) = (x + y) * z at (-2, 5, -4); the gradient is (-4, -4, 3)."""
from s2sgrad import value_and_grad


def f(x, y, z):
    return (x + y) * z


def mark(ok):
    return "✓" if ok else "✗"


df = value_and_grad(f, wrt=(0, 1, 2))
value, (dx, dy, dz) = df(-2.0, 5.0, -4.0)

print(f"f(-2, 5, -4) = {value}   (notes: -12) {mark(value == -12)}")
for name, got, want in [("df/dx", dx, -4), ("df/dy", dy, -4), ("df/dz", dz, 3)]:
    print(f"{name} = {got:g}   (notes: {want}) {mark(abs(got - want) < 1e-12)}")
print()
print("generated code:")
df.show()
