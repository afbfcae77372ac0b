"""Special functions."""
import math

import numpy as np


# ---- special functions

def digamma(x):
    """ψ(x) = d/dx ln Γ(x): ψ(x) = ψ(x + 1) - 1/x up to x ≥ 10, then the asymptotic series
    ln x - 1/(2x) - Σ B₂ₖ/(2k·x²ᵏ); ψ(x) = ψ(1 - x) - π/tan(πx) for x < 0."""
    x = float(x)
    if x < 0.0:
        return digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    x2 = 1.0 / (x * x)
    series = x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240
                                                                     - x2 / 132))))
    return result + math.log(x) - 0.5 / x - series


def sinc_deriv(x):
    """d/dx sinc(x) = (cos(πx) - sinc(x)) / x, and -(π²x/3)·(1 - (πx)²/10) near 0."""
    x = np.asarray(x)
    small = np.abs(x) < 1e-3
    safe = np.where(small, 1.0, x)
    px = np.pi * x
    return np.where(small, -(np.pi ** 2) * x / 3.0 * (1.0 - px * px / 10.0),
                    (np.cos(np.pi * safe) - np.sinc(safe)) / safe)[()]
