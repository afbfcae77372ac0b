"""Logistic regression trained by gradient descent on a small synthetic 2-D dataset, with the gradient from s2sgrad."""
import numpy as np

from s2sgrad import value_and_grad


def loss(w, b, X, y):
    """Mean binary cross-entropy of sigmoid(X @ w + b), written in the stable log-sum-exp form."""
    z = X @ w + b
    # -[y log s(z) + (1 - y) log(1 - s(z))] = log(1 + exp(z)) - y z
    return np.mean(np.logaddexp(0.0, z) - y * z)


rng = np.random.default_rng(0)
n = 200
X = np.concatenate([rng.normal([-1.0, -1.0], 1.0, size=(n // 2, 2)),
                    rng.normal([1.5, 1.0], 1.0, size=(n // 2, 2))])
y = np.concatenate([np.zeros(n // 2), np.ones(n // 2)])

w = np.zeros(2)
b = 0.0
step = value_and_grad(loss, wrt=("w", "b"))
lr = 0.5
for epoch in range(101):
    value, (dw, db) = step(w, b, X, y)
    if epoch % 20 == 0:
        print(f"epoch {epoch:3d}  loss {value:.4f}")
    w = w - lr * dw
    b = b - lr * db

accuracy = np.mean(((X @ w + b) > 0) == (y == 1))
print(f"w = {np.round(w, 3)}, b = {b:.3f}, training accuracy {accuracy:.1%}")
print("✓" if accuracy > 0.85 else "✗", "the classes are separated")
