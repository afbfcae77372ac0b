"""float32 inputs, Python floats vs 0-d arrays vs NumPy scalars, integer arguments."""
import numpy as np

from ._registry import entry, V, P, F32, ZD, LABELS, AWAY


@entry(F32(V(4)))
def f32_sum_squares(x):
    return np.sum(x ** 2)


@entry(F32(V(3, 2)), F32(V(2)))
def f32_matvec(A, v):
    return np.sum(np.tanh(A @ v))


@entry(F32(V(5)))
def f32_logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@entry(F32(V(4)), V(4))
def f32_mixed_f64(a, b):
    return np.sum(a * b) + np.sum(a ** 2)


@entry(F32(V(4)))
def f32_times_python_float(x):
    return np.sum(x * 0.5 + 1.5) ** 2


@entry(F32(V(3, 3)))
def f32_methods(A):
    return A.sum(axis=1).dot(A.T.mean(axis=1))


@entry(F32(V(4)))
def f32_astype_float64(x):
    y = x.astype(np.float64)
    return np.sum(np.sin(y))


@entry(V(4))
def asarray_dtype_float(x):
    y = np.asarray(x, dtype=float)
    return np.sum(y.astype(np.float64) * x)


@entry(F32(V(3)), F32(V(3)))
def f32_two_args(a, b):
    return np.dot(a, b) * np.sum(a)


@entry(F32(V(3, 2)), F32(V(4, 3)), LABELS(4, 2))
def f32_softmax_ce(W, X, y):
    z = X @ W
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(4), y])


@entry(ZD(V()))
def zero_d_square(x):
    return x * x


@entry(ZD(V()), V(3))
def zero_d_times_array(s, v):
    return np.sum(s * v ** 2)


@entry(V(), V(3))
def float_times_array(s, v):
    return np.sum(s * v ** 2)


@entry(V(3))
def returns_numpy_scalar(v):
    return np.float64(np.sum(v)) ** 2


@entry(V(3))
def returns_python_float(v):
    return float(np.sum(v ** 2))


@entry(V(3))
def returns_item(v):
    return (np.sum(v ** 3)).item()


@entry(V(1))
def one_element_array(v):
    return np.sum(v * 3.0) ** 2


@entry(V(3), 4)
def integer_argument(v, n):
    return np.sum(v ** n)


@entry(V(3), 2.0)
def float_constant_argument_also_differentiated(v, p):
    return np.sum(np.abs(v) ** p)


@entry(V(3), LABELS(3, 3))
def integer_array_argument(v, idx):
    return np.sum(v[idx] ** 2)


@entry(V(3), True)
def boolean_flag_argument(v, squared):
    if squared:
        return np.sum(v ** 2)
    return np.sum(v)


@entry(V(3), "sum")
def string_mode_argument(v, mode):
    if mode == "sum":
        return np.sum(np.sin(v))
    return np.mean(np.sin(v))


@entry(V(3), None)
def none_argument(v, w):
    if w is None:
        w = np.ones(3)
    return np.sum(v * w * v)


@entry(V(2), V(2))
def numpy_float64_scalars(a, b):
    s = np.float64(2.0)
    return np.sum(a * s) * np.sum(b) + s * np.dot(a, b)


@entry(V(3))
def ndim_shape_size(v):
    return np.sum(v ** 2) / v.size + v.ndim * np.sum(v) + v.shape[0] * v[0]


@entry(V(3))
def dtype_check(v):
    if v.dtype == np.float64:
        return np.sum(v ** 2)
    return np.sum(v)


@entry(V(2, 3))
def len_of_matrix(A):
    return np.sum(A) * len(A) + np.sum(A ** 2) / A.shape[1]


@entry(F32(V(3)), ZD(V()))
def f32_with_zero_d(v, s):
    return np.sum(v * s)


@entry(V(3))
def int_cast_inside(v):
    k = int(np.sum(np.abs(v)) > 0)
    return np.sum(v ** 2) * (k + 1)
