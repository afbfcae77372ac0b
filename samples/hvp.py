"""A Hessian-vector product of the Rosenbrock function, by central differences of s2sgrad gradients, checked against the exact Hessian."""
import numpy as np

import s2sgrad

# Forward mode is not built yet, so this takes central differences of two reverse-mode
# gradients: H v ≈ (∇f(x + εv) − ∇f(x − εv)) / 2ε, accurate to O(ε²).
# `s2sgrad.hvp` (forward-over-reverse, exact, one pass) is coming and will replace this.


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def hvp_fd(f, x, v, eps=1e-5):
    df = s2sgrad.grad(f)
    return (df(x + eps * v) - df(x - eps * v)) / (2 * eps)


def rosenbrock_hessian(x):
    """The exact Hessian, by hand (tridiagonal)."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


x = np.array([-1.2, 1.0, 0.5, 0.8])
v = np.array([1.0, -0.5, 0.25, 2.0])
got = hvp_fd(rosenbrock, x, v)
exact = rosenbrock_hessian(x) @ v
print("H v (finite differences of s2sgrad gradients):", np.round(got, 4))
print("H v (exact Hessian by hand):                  ", np.round(exact, 4))
err = np.max(np.abs(got - exact) / np.maximum(1.0, np.abs(exact)))
print("✓" if err < 1e-6 else "✗", f"agree (worst relative error {err:.1e})")
