"""Code written without s2sgrad in mind: a model class whose loss method loops over a dict of layers with a local activation and helper; grad(model.loss) differentiates the bound method."""
import numpy as np

from s2sgrad import grad, numerical_grad


class Regressor:
    """A small tanh network with a smooth L1-like loss; `self` holds the settings."""

    def __init__(self, sizes, delta, rng):
        self.delta = delta
        self.layers = {f"layer{i}": rng.normal(0, 1 / np.sqrt(m), (m, n))
                       for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))}

    def loss(self, layers, X, y):
        act = lambda z: np.tanh(z)  # noqa: E731   (a local lambda: inlined)

        def huber(r):              # a local helper reading self.delta when called
            a = np.abs(r)
            return np.where(a < self.delta, 0.5 * r * r, self.delta * (a - 0.5 * self.delta))

        h = X
        for name, W in layers.items():
            h = act(h @ W)
        return np.mean(huber(h[:, 0] - y))


rng = np.random.default_rng(1)
X = rng.normal(size=(64, 3))
y = np.sin(X[:, 0]) * 0.8 - 0.3 * X[:, 1]
model = Regressor([3, 16, 1], delta=0.5, rng=rng)

step = grad(model.loss)            # wrt=0: the dict of layers
g = step(model.layers, X[:8], y[:8])
fd = numerical_grad(model.loss, (model.layers, X[:8], y[:8]), 0)
ok = all(np.allclose(g[k], fd[k], rtol=1e-5, atol=1e-7) for k in g)
print("✓" if ok else "✗", "gradient of the bound method agrees with finite differences")
if not ok:
    raise SystemExit(1)

for it in range(301):
    if it % 100 == 0:
        print(f"step {it:3d}  loss {model.loss(model.layers, X, y):.4f}")
    g = step(model.layers, X, y)
    model.layers = {k: W - 0.5 * g[k] for k, W in model.layers.items()}

print("\nThe generated code (the lambda and the helper are inlined, the dict loop is an index loop):")
print(step.source)
