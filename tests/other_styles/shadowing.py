"""Shadowed names: locals and parameters named like module globals, helpers that read
module globals, globals that change meaning inside a function."""
import numpy as np

from ._registry import entry, register, V, P

scale = 100.0
W = np.eye(3) * 7.0
x = 5.0
k = 3
n = 10
bias = np.array([1.0, 2.0, 3.0])
lr = 0.5


def head(v):
    return v * scale


@entry(V(3))
def uses_global_scale(v):
    return np.sum(head(v) ** 2)


def make(scale):
    def head(v):
        return v * scale

    def f(v):
        return np.sum(head(v) ** 2)
    return f


register(make(2.0), V(3), name="factory_param_shadows_global")


def make_k(k):
    def f(v):
        return np.sum(v[:k] ** 2)
    return f


register(make_k(2), V(5), name="factory_param_k_shadows_global")


def make_local_shadow():
    scale = 3.0

    def f(v):
        return np.sum(v * scale)
    return f


register(make_local_shadow(), V(3), name="factory_local_shadows_global")


@entry(V(3))
def param_named_x(x):
    return np.sum(x ** 2) * 2.0


@entry(V(3, 3), V(3))
def param_named_W(W, v):
    return np.sum(np.tanh(W @ v))


@entry(V(3))
def local_shadows_global(v):
    scale = 2.0
    return np.sum(v * scale)


@entry(V(3))
def local_shadows_global_late(v):
    s = np.sum(v * scale)
    return s


@entry(V(3))
def local_W_shadows_global(v):
    W = np.ones((3, 3)) * 0.5
    return np.sum(W @ v ** 2)


@entry(V(3))
def global_W_used(v):
    return np.sum(W @ v ** 2)


@entry(V(3))
def global_bias_added(v):
    return np.sum((v + bias) ** 2)


@entry(V(3))
def helper_param_named_like_global(v):
    def apply(scale, v):
        return v * scale
    return np.sum(apply(2.0, v) ** 2)


@entry(V(3))
def helper_default_reads_global(v):
    def apply(v, s=scale):
        return v * s
    return np.sum(apply(v))


@entry(V(3))
def helper_default_shadowed_param(v):
    def apply(v, scale=2.0):
        return v * scale
    return np.sum(apply(v) ** 2) + np.sum(apply(v, 3.0))


@entry(V(3))
def loop_var_named_like_global(v):
    s = 0.0
    for n in range(3):
        s = s + v[n] * n
    return s


@entry(V(3))
def comprehension_var_shadows(v):
    return sum([v[k] ** 2 for k in range(3)])


@entry(V(3))
def reassign_param(v):
    v = v * 2.0
    v = np.sin(v)
    return np.sum(v)


@entry(V(3))
def name_reused_different_type(v):
    t = np.sum(v)
    t = [t, t * 2.0]
    return t[0] * t[1]


@entry(V(3))
def nested_helper_shadows_outer(v):
    scale = 0.5

    def inner(v):
        scale = 4.0
        return v * scale
    return np.sum(inner(v) * scale)


@entry(V())
def lr_global_in_update(w):
    for _ in range(3):
        w = w - lr * 2 * w
    return w ** 2


def loss(w):
    return np.sum(w ** 2)


@entry(V(3))
def calls_global_loss(w):
    return loss(w * 2.0) + 1.0


@entry(V(3))
def local_named_like_global_function(w):
    loss = np.sum(w ** 3)
    return loss


@entry(V(3))
def parameter_named_np_like(x):
    sum = np.sum(x)
    return sum * 2.0


@entry(V(3))
def shadow_builtin_max(v):
    max = np.max(v)
    return max * np.sum(v)


def make_two_closures(a):
    def f1(v):
        return v * a

    def f2(v):
        a = 10.0
        return f1(v) + a

    def f(v):
        return np.sum(f2(v) ** 2)
    return f


register(make_two_closures(3.0), V(3), name="closure_local_same_name_as_cell")


def make_late_binding():
    fs = []
    for i in range(3):
        def g(v, i=i):
            return v * (i + 1)
        fs.append(g)

    def f(v):
        return np.sum(fs[0](v) + fs[2](v) ** 2)
    return f


register(make_late_binding(), V(3), name="loop_closures_default_binding")


def make_mutated_cell():
    c = 1.0

    def f(v):
        return np.sum(v * c)
    c = 4.0
    return f


register(make_mutated_cell(), V(3), name="cell_value_at_call_time")


@entry(V(3), V())
def param_named_like_global_function(w, loss):
    return np.sum(w ** 2) * loss


@entry(V(3), V())
def param_named_like_global_float(v, scale):
    return np.sum(head(v)) + scale * np.sum(v)


@entry(V(3), V(3))
def keyword_call_reordered(a, b):
    def combine(p, q, r=1.0):
        return np.sum(p * 2.0 + q ** 2) * r
    return combine(q=a, p=b) + combine(b, a, r=3.0)


def scaled_output(func):
    """A decorator that changes what the helper returns."""
    import functools

    @functools.wraps(func)
    def wrapper(v):
        return 10.0 * func(v)
    return wrapper


@scaled_output
def decorated_helper(v):
    return v ** 2


@entry(V(3))
def calls_decorated_helper(v):
    return np.sum(decorated_helper(v))


class Scale:
    def __init__(self, s):
        self.s = s

    def __call__(self, v):
        return v * self.s


_triple = Scale(3.0)


@entry(V(3))
def calls_callable_object(v):
    return np.sum(_triple(v) ** 2)


_default_array = np.array([1.0, 2.0, 3.0])


def weighted(v, w=_default_array):
    return np.sum(v * w)


@entry(V(3))
def helper_array_default(v):
    return weighted(v ** 2) + weighted(v, w=np.ones(3))


counter = 0


@entry(V(3))
def global_statement(v):
    global counter
    counter = counter + 1
    return np.sum(v ** 2)


@entry(V(3))
@scaled_output
def decorated_entry_point(v):
    return np.sum(np.sin(v))
