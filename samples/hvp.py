"""A Hessian-vector product of the Rosenbrock function by forward-over-reverse, checked against the exact Hessian."""
import numpy as np

import s2sgrad

# s2sgrad.hvp feeds the generated gradient code back into the compiler and
# differentiates it in forward mode: H·v in one pass, exact, no Hessian built.


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


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
hvp = s2sgrad.hvp(rosenbrock)
got = hvp(x, v)
exact = rosenbrock_hessian(x) @ v
print("H v (s2sgrad.hvp, forward over reverse):", np.round(got, 4))
print("H v (exact Hessian by hand):            ", np.round(exact, 4))
err = np.max(np.abs(got - exact) / np.maximum(1.0, np.abs(exact)))
print("✓" if err < 1e-10 else "✗", f"agree (worst relative error {err:.1e})")
H = s2sgrad.hessian(rosenbrock)(x)
print("✓" if np.allclose(H, rosenbrock_hessian(x), rtol=1e-12) else "✗",
      "s2sgrad.hessian matches the Hessian by hand")
print("\nThe generated forward-over-reverse code:\n")
print(hvp.source)
