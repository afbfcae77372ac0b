"""What `grad(f)` returns: a callable that compiles (through the pipeline) on its first
call with each kind of arguments, checks what it is given, and runs the generated code;
and `resolve_wrt`, which reads `wrt` against the function's parameters."""
import copy
import functools
import inspect
import types

import numpy as np

from .errors import GradientError, S2SGradError, TransformError
from .frontend.parse import readable_name, unwrap
from .backend.numba import check_backend
from .frontend.checkpoint import check_option
from .runtime.core import record_fields
from .ir.instances import InstanceKind
from .pipeline import (DICT, NUMBER_TUPLE, NUMBERS, OTHER, DictKind, FunctionKind, RecordKind,
                       cached_compile, record_kinds,
                       compile_kinds, kinds_of, symbol_sizes, _is_current)


# ------------------------------------------------------------------ wrt handling

def _param_names(func):
    fn = unwrap(func)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        raise S2SGradError(f"cannot read the signature of {func!r}") from None
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _compiled_names(func):
    """The parameters in the order the compiled code takes them: the positional ones,
    then the keyword-only ones, those without a default first (`pack_variadic`)."""
    params = inspect.signature(unwrap(func)).parameters.values()
    keyword = [p for p in params if p.kind is p.KEYWORD_ONLY]
    return _param_names(func) + [p.name for p in keyword if p.default is p.empty] + \
        [p.name for p in keyword if p.default is not p.empty]


def partial_parts(func):
    """(function, fixed positional arguments, fixed keyword arguments) of a
    functools.partial (nested partials are flattened by functools itself) or of a bound
    method (its object first); of any other callable: (func, (), {})."""
    if isinstance(func, functools.partial):
        return func.func, tuple(func.args), dict(func.keywords)
    if inspect.ismethod(func):      # model.loss: self passed first (a classmethod: cls)
        return func.__func__, (func.__self__,), {}
    call = called_method(func)
    if call is not None:
        return call, (func,), {}                        # model(x): model.__call__(x)
    return func, (), {}


_LIBRARIES = ("numpy", "scipy", "s2sgrad", "functools")


def called_method(obj):
    """The `__call__` a class of the user's defines for its instance `obj`, written in
    Python (`grad(model)` differentiates `model.__call__`); None for anything else:
    functions, classes, and the callable objects of libraries (np.vectorize, partials,
    s2sgrad's own gradients), whose `__call__` is not the user's code."""
    if isinstance(obj, type) or inspect.isroutine(obj) or not callable(obj):
        return None
    cls = type(obj)
    if (cls.__module__ or "").split(".")[0] in _LIBRARIES:
        return None
    call = getattr(cls, "__call__", None)
    return call if inspect.isfunction(call) else None


def resolve_wrt(func, wrt):
    """(indices, is_tuple) for an int, a name, or a tuple of either. The indices of a
    functools.partial count the arguments its calls pass (JAX's convention): they are
    those of the underlying function's parameters left after the fixed positional ones."""
    if isinstance(func, functools.partial):
        return _resolve_partial_wrt(func, wrt)
    names = _param_names(func)
    single = not isinstance(wrt, (tuple, list))
    items = [wrt] if single else list(wrt)
    if not items:
        raise S2SGradError("wrt must name at least one argument")
    out = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise S2SGradError(f"wrt entries must be argument indices or names, not {w!r}")
        if isinstance(w, str):
            every = _compiled_names(func)        # (keyword-only ones too)
            if w not in every:
                _refuse_varargs(func, f"wrt={w!r}", names)
                raise S2SGradError(
                    f"{getattr(func, '__name__', func)} has no argument named {w!r} "
                    f"(its arguments: {', '.join(every)})")
            out.append(every.index(w))
        else:
            idx = w + len(names) if w < 0 else w
            if w >= len(names) and _variadic(func)[0]:
                out.append(w)                   # an item of *args, counted as passed
                continue
            if not 0 <= idx < len(names):
                _refuse_varargs(func, f"wrt={w}", names)
                raise S2SGradError(
                    f"wrt={w} is out of range: {getattr(func, '__name__', func)} takes "
                    f"{len(names)} argument(s)")
            out.append(idx)
    return tuple(out), not single


def _resolve_partial_wrt(func, wrt):
    base, fixed, keywords = partial_parts(func)
    indices, is_tuple = resolve_wrt(base, wrt)
    names = _param_names(base)
    out = []
    for w, i in zip([wrt] if not is_tuple else list(wrt), indices):
        if isinstance(w, int) and w >= 0:
            i = w + len(fixed)
        if i < len(fixed):
            raise S2SGradError(
                f"wrt={w!r} names an argument that the partial fixes (positionally): "
                "fixed arguments are constants; differentiate the function itself")
        if not 0 <= i < len(names):
            raise S2SGradError(
                f"wrt={w!r} is out of range: the partial of {base.__name__} takes "
                f"{len(names) - len(fixed)} positional argument(s)")
        if names[i] in keywords:
            raise S2SGradError(
                f"wrt={w!r} names the argument {names[i]!r} that the partial fixes "
                f"({names[i]}={keywords[names[i]]!r}): fixed arguments are constants; "
                "differentiate the function itself")
        out.append(i - len(fixed))
    return tuple(out), is_tuple


def _variadic(func):
    """(name of the `*args` parameter, name of the `**kwargs` one), None where absent."""
    try:
        params = inspect.signature(unwrap(func)).parameters.values()
    except (TypeError, ValueError):
        return None, None
    star = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
    return star, next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)


def _refuse_varargs(func, what, names):
    """A `wrt` that names no positional argument of a function taking `*args` or
    `**kwargs` (a negative index, a keyword passed through `**kwargs`): say what is
    differentiated instead."""
    star, keywords = _variadic(func)
    if star or keywords:
        name = getattr(func, "__name__", "f")
        raise S2SGradError(
            f"{what} names no positional argument of {name}: s2sgrad differentiates with "
            f"respect to the positional arguments as passed, `*{star or 'args'}` included "
            f"(wrt=len(named) + k for its k-th item); the values of "
            f"`**{keywords or 'kwargs'}` are constants: pass the value positionally")


def _call_error(func, label, args, kwargs):
    """The TypeError of calling `func` with these arguments, named after the user's
    function (`grad of f() missing 1 required positional argument: 'x'`), or None
    when they fit its signature."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = [p.replace(annotation=p.empty, default=None if p.default is not p.empty
                        else p.empty) for p in sig.parameters.values()]
    ns = {}
    name = readable_name(func)          # an identifier, also for a lambda
    exec(f"def {name}{sig.replace(parameters=params, return_annotation=sig.empty)}:"
         f" pass", ns)
    try:
        ns[name](*args, **kwargs)
    except TypeError as exc:
        return TypeError(f"{label} of {exc}")
    return None


# ------------------------------------------------------------ the callable

_KINDS_KEPT = 64         # argument kinds (shapes) remembered per gradient object

class GradientFunction:
    """What `grad(f)` returns: call it like f; read `.source`; `.show()` prints it."""

    def __init__(self, func, wrt=0, optimize=True, with_value=False, has_aux=False,
                 checkpoint=None, backend=None, strict=False):
        self.backend = check_backend(backend)
        self.strict = bool(strict)
        self.original = func
        self.checkpoint = check_option(checkpoint)
        self.bound_to = ()
        self.wrt_spec = wrt
        self.wrt, self.is_tuple = resolve_wrt(func, wrt)
        func, fixed, self.keywords = partial_parts(func)
        if fixed:                   # partial(f, a): f differentiated, `a` passed first
            self.bound_to = fixed
            self.wrt = tuple(i + len(fixed) for i in self.wrt)
        if inspect.ismethod(func):      # model.loss: differentiate the function, self given
            self.bound_to = (func.__self__,) + self.bound_to
            func = func.__func__
            self.wrt = tuple(i + 1 for i in self.wrt)
        self.func = func
        self.n_params = len(_param_names(func))   # more positional arguments: an error
        self.variadic = None
        if any(_variadic(func)):
            self._pack_wrt(func)
        self.optimize = optimize
        self.with_value = with_value
        self.has_aux = bool(has_aux)
        self._compiled = None
        self._by_kinds = {}
        self.__name__ = ("value_and_grad_" if with_value else "grad_") + readable_name(func)
        self.__doc__ = f"Gradient of {readable_name(func)} (generated by s2sgrad)."
        self.__wrapped__ = None

    def __get__(self, obj, objtype=None):
        """`@grad(wrt=1)` on a method in a class body: read from an instance it binds
        that instance as the first argument, as a function does (wrt counts `self`, as
        for the plain function; the compiled code is shared)."""
        if obj is None:
            return self
        bound = copy.copy(self)
        bound.bound_to = (obj,) + self.bound_to
        return bound

    @property
    def compiled(self):
        if self._compiled is None:
            self._compiled = cached_compile(self.func, self.wrt, self.is_tuple, self.optimize,
                                            has_aux=self.has_aux, **self._options())
        return self._compiled

    @property
    def source(self):
        """The generated code that runs: for the argument kinds of the last call (numbers
        give simpler code than arrays), or the general code before any call;
        `value_and_grad_f` where the value is returned or must be checked (an output not
        provably a number), `grad_f` otherwise."""
        c = self.compiled
        runs_value = self.with_value or not getattr(c, "scalar_output", True)
        text = c.value_source if runs_value and c.value_source else c.source
        if self.backend == "numba":
            fn = c.value_grad_fn if runs_value else c.grad_fn
            text = numba_note(jit(fn, self.strict)) + text
        return text

    @property
    def function(self):
        """The generated gradient function itself (no checks, no conversion)."""
        return self.compiled.grad_fn

    def show(self):
        print(self.source, end="")

    def _repr_markdown_(self):
        return "```python\n" + self.source + "```\n"

    def _repr_html_(self):
        """The code that runs, highlighted with pygments when it is installed."""
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            import html
            return f"<pre>{html.escape(self.source)}</pre>"
        return highlight(self.source, PythonLexer(), HtmlFormatter(noclasses=True))

    def __repr__(self):
        what = "value and gradient" if self.with_value else "gradient"
        return f"<s2sgrad {what} of {getattr(self.func, '__qualname__', self.func)} " \
               f"wrt {self.wrt_spec!r}: call it like the function; .show() prints its code>"

    def __call__(self, *args, **kwargs):
        if self.bound_to:
            args = self.bound_to + args
        if self.keywords:
            args, kwargs = self._with_keywords(args, kwargs)
        if self.variadic is not None:
            args, kwargs = self._pack(args, kwargs), {}
        if len(args) > self.n_params:     # (the generated code would take one as ȳ)
            exc = _call_error(self.func, "value_and_grad" if self.with_value else "grad",
                              args, kwargs)
            if exc is not None:
                raise exc
        kinds = record_kinds(kinds_of(args), args)
        if len(args) < self.n_params and not kwargs and self.variadic is None:
            kinds += self._default_kinds(len(args))
        entry = self._by_kinds.get(kinds)
        if entry is None or not _is_current(entry[0]):
            _refuse_modules(self.func, args)
            entry = self._entry(kinds)
        compiled, fn, plain, arrays, others = entry
        self._compiled = compiled
        if kwargs and getattr(compiled.parsed, "renamed", None):   # (syntax/reserved.py)
            kwargs = {compiled.parsed.renamed.get(k, k): v for k, v in kwargs.items()}
        for i in arrays:                    # arrays of a dtype but float
            if i < len(args) and args[i].dtype.kind != "f":
                _check_wrt_arg(args[i], i - len(self.bound_to), self.func)
        for i in others:
            if i < len(self.bound_to):
                raise _bound_argument(args[i], i, self.func)
            if i < len(args):               # (not a default the call left out)
                _check_wrt_arg(args[i], i - len(self.bound_to), self.func)
        try:
            if plain:
                grads = fn(*args, **kwargs)
                if self.variadic is not None:
                    return self._unpack(grads, args)
                if self.backend == "numba":
                    grads = _numpy_scalars(grads, args, self.wrt, self.is_tuple)
                return _distinct(grads) if self.is_tuple else grads
            value, grads = fn(*args, **kwargs)
            if self.variadic is not None:
                grads = self._unpack(grads, args)
            elif self.backend == "numba":
                grads = _numpy_scalars(grads, args, self.wrt, self.is_tuple)
            if self.has_aux:
                value, aux = value
        except TypeError:
            label = "value_and_grad" if self.with_value else "grad"
            exc = _call_error(self.func, label, args, kwargs)
            if exc is None:
                raise
            raise exc from None
        if self.is_tuple and self.variadic is None:
            grads = _distinct(grads)
        if value is None:
            raise GradientError(
                f"grad needs a scalar output, but {self.func.__name__} returned None "
                "(a function it calls has no `return`?): there is nothing to differentiate")
        if type(value) is not float and type(value) is not np.float64 and np.ndim(value) != 0:
            raise GradientError(
                f"grad needs a scalar output, but {self.func.__name__} returned an "
                f"array of shape {np.shape(value)}; reduce it (np.sum, np.mean) or use "
                f"s2sgrad.vjp with an output cotangent")
        if self.has_aux:
            return ((value, aux), grads) if self.with_value else (grads, aux)
        if self.with_value:
            return value, grads
        return grads

    def _default_kinds(self, given):
        """The kinds of the defaults of the positional parameters a call leaves out
        (after its `given` arguments): the code runs with those values, so it is
        compiled knowing them as it knows the arguments' (a step `dt=0.05` is a number,
        and what it scales keeps its known shape). Read at each call: a function whose
        defaults are replaced gets code for the new ones' kinds."""
        defaults = getattr(unwrap(self.func), "__defaults__", None) or ()
        first = self.n_params - len(defaults)
        return kinds_of(defaults[given - first:]) if given >= first else ()

    def _pack_wrt(self, func):
        """A function with `*args`/`**kwargs`: its calls are packed (`_pack`) into the
        named arguments, a tuple and a dict (how the code is compiled), and `wrt` items
        of `*args` become items of the tuple's gradient."""
        n = self.n_params
        star, keywords = _variadic(func)
        picks = self.wrt
        named = tuple(i for i in picks if i < n)
        items = any(i >= n for i in picks)         # items of *args asked for
        self.variadic = (inspect.signature(unwrap(func)), star, keywords, picks,
                         tuple(sorted(set(named))) + ((n,) if items else ()), self.is_tuple,
                         n if items else None)
        self.wrt, self.is_tuple = self.variadic[4], True
        self.n_params = n + bool(star) + bool(keywords)

    def _pack(self, args, kwargs):
        """The call as the compiled code takes it: named arguments (defaults filled
        in), then the tuple of the rest, then the dict of the other keywords."""
        sig, star, keywords = self.variadic[:3]
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.__name__} of {exc}") from None
        bound.apply_defaults()
        out = [bound.arguments[p.name] for p in sig.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if star:
            out.append(tuple(bound.arguments.get(star, ())))
        if keywords:
            out.append(dict(bound.arguments.get(keywords, {})))
        return tuple(out)

    def _unpack(self, grads, packed):
        """The gradients asked for, from those of the named arguments and the tuple."""
        picks, compiled, is_tuple, n = self.variadic[3:]
        out = []
        for i in picks:
            if n is not None and i >= n:
                k = i - n
                if k >= len(packed[n]):
                    raise GradientError(
                        f"wrt={i} names argument {i}, but {self.func.__name__} was given "
                        f"{n + len(packed[n])} positional arguments")
                _check_wrt_arg(packed[n][k], i, self.func)
                out.append(grads[compiled.index(n)][k])
            else:
                out.append(grads[compiled.index(i)])
        return _distinct(tuple(out)) if is_tuple else out[0]

    def _with_keywords(self, args, kwargs):
        """The call of a partial's function with its fixed keywords: passed as
        positional arguments where they can be (their kinds are then known to the
        compiled code), by keyword otherwise; a call's own keywords override them."""
        kwargs = {**self.keywords, **kwargs}
        names = _param_names(self.func)
        args = list(args)
        while len(args) < len(names) and names[len(args)] in kwargs:
            args.append(kwargs.pop(names[len(args)]))
        return tuple(args), kwargs

    def _entry(self, kinds):
        """What a call with arguments of these kinds runs: (compiled, the function,
        whether it returns the gradients alone, the wrt arguments to check: arrays
        (their dtype), other values). Numbers need no check."""
        compiled = cached_compile(self.func, self.wrt, self.is_tuple, self.optimize,
                                  compile_kinds(kinds), self.has_aux, **self._options(),
                                  sizes=symbol_sizes(kinds))
        plain = compiled.scalar_output and not self.with_value and not self.has_aux
        fn = compiled.grad_fn if plain else compiled.value_grad_fn
        if self.backend == "numba":
            fn = jit(fn, self.strict)
        present = [i for i in self.wrt if i < len(kinds)]
        arrays = tuple(i for i in present if type(kinds[i]) is tuple)
        others = tuple(i for i in present if kinds[i] in (OTHER, DICT, NUMBERS, NUMBER_TUPLE)
                       or type(kinds[i]) in (FunctionKind, InstanceKind, DictKind, RecordKind))
        entry = (compiled, fn, plain, arrays, others)
        if len(self._by_kinds) >= _KINDS_KEPT:
            self._by_kinds.clear()          # many sizes: the compile cache has them
        self._by_kinds[kinds] = entry
        return entry

    def _options(self):
        """Compile options given only when set (the cache keys stay as they were)."""
        return {"checkpoint": self.checkpoint} if self.checkpoint is not None else {}

    def __reduce__(self):
        return (_rebuild, (self.original, self.wrt_spec, self.optimize, self.with_value)
                + (self.has_aux, self.checkpoint, self.backend, self.strict))


def _rebuild(func, wrt, optimize, with_value, has_aux=False, checkpoint=None, backend=None,
             strict=False):
    return GradientFunction(func, wrt, optimize, with_value, has_aux, checkpoint, backend,
                            strict)


def jit(fn, strict):
    """`fn` compiled by the Numba back end."""
    from .backend import numba
    return numba.jit(fn, strict)


def numba_note(compiled):
    """The comment `show()` prints above code the Numba back end runs: compiled, or
    why it runs as NumPy code."""
    if compiled.reason is not None:
        return f"# backend numba: {compiled.message()}\n"
    return f"# backend numba: compiled with numba.njit(cache=True) from {compiled.path}\n"


def _distinct(grads):
    """No two returned gradients may be one array (adjoints are shared freely inside
    the generated code)."""
    if len(grads) == 2:                      # (the common case, without a loop)
        a, b = grads
        if a is b and isinstance(b, np.ndarray):
            return a, b.copy()
        return a, b
    out = list(grads)
    for i in range(1, len(out)):
        g = out[i]
        if type(g) is np.ndarray or isinstance(g, np.ndarray):
            for j in range(i):
                if out[j] is g:
                    out[i] = g = g.copy()
                    break
    return tuple(out)


def _check_wrt_arg(x, i, func):
    t = type(x)
    if t is float or t is int:
        return
    if callable(x) and not isinstance(x, (np.ndarray, np.generic)) \
            and record_fields(x) is None:
        raise GradientError(
            f"argument {i} of {func.__name__} is a function: s2sgrad differentiates with "
            "respect to numbers, arrays and containers of them (a function argument is "
            "a constant the code is specialized on); pick another wrt")
    if x is None or isinstance(x, (str, bytes)):
        raise GradientError(
            f"argument {i} of {func.__name__} is {type(x).__name__}, not a number, an "
            "array or a container of numbers: it cannot be differentiated")
    if isinstance(x, np.ndarray) and x.dtype.kind == "c" or isinstance(
            x, (complex, np.complexfloating)):
        raise GradientError(
            f"argument {i} of {func.__name__} is complex: s2sgrad differentiates "
            "real-valued code of real inputs; pass the real and imaginary parts as two "
            "float arrays")
    if isinstance(x, np.ndarray):
        if x.dtype.kind != "f":
            raise GradientError(
                f"argument {i} of {func.__name__} is an array of dtype {x.dtype}; "
                "gradients need floating-point inputs: pass x.astype(float)")
    elif isinstance(x, (bool, np.bool_)):
        raise GradientError(f"argument {i} of {func.__name__} is a boolean and cannot "
                            "be differentiated")
    elif isinstance(x, np.integer):
        return
    elif not isinstance(x, (list, tuple, dict, float, complex, np.generic)) \
            and record_fields(x) is None:
        raise _object_argument(x, i, func)


def _refuse_modules(func, args):
    """A module given as an argument, or left as a parameter's default (`def f(x,
    xp=np)`): calls through it (`xp.sum(x)`) would be taken for methods of a value.
    Refused at the def, naming the parameter and what to write."""
    target = unwrap(func)
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return
    values = list(args) + [p.default for p in params[len(args):]]
    for p, v in zip(params, values):
        if isinstance(v, types.ModuleType) and _reads_attributes_of(target, p.name):
            name = next((n for n, g in getattr(target, "__globals__", {}).items()
                         if g is v), None) or "<its global name>"
            raise TransformError(
                f"parameter {p.name!r} of {func.__name__} is given the module "
                f"{v.__name__}: s2sgrad follows calls through modules it finds by name "
                "when it compiles, not through a module passed in", *_at_def(func),
                hint=f"call the module by its global name (`{name}.sum(...)`), or drop "
                     f"the parameter and bind the name at the top of the body: "
                     f"`{p.name} = {name}`")


def _reads_attributes_of(func, name):
    """Does `func`'s code (its nested functions' too) read an attribute of its local
    `name` (`xp.sum`)?"""
    import dis
    code = getattr(func, "__code__", None)
    todo = [code] if code is not None else []
    while todo:
        c = todo.pop()
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
        previous = None
        for ins in dis.get_instructions(c):
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and previous == name:
                return True
            previous = ins.argval if ins.opname in (
                "LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE") else None
    return False


def _bound_argument(x, i, func):
    """The refusal of differentiating with respect to the instance a method is bound to
    (`@grad` on a method: wrt=0 is `self`), naming the wrt= to write."""
    try:
        names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        names = []
    own = names[i] if i < len(names) else "self"
    rest = names[i + 1:]
    hint = (f"say which parameter: @s2sgrad.grad(wrt={i + 1}) or "
            f"@s2sgrad.grad(wrt={rest[0]!r}) (positions count {own} as 0)") if rest else \
        "differentiate a function of the parameters instead"
    return TransformError(
        f"{func.__name__} is called as a method, and grad differentiates with respect to "
        f"its parameter {own!r}, the {type(x).__name__} instance it is called on",
        *_at_def(func), hint=hint)


def _at_def(func):
    """(file, line, column, source line) of `func`'s def: where a refusal of what a
    call gives it is located."""
    import linecache
    code = getattr(func, "__code__", None)
    filename = getattr(code, "co_filename", None)
    lineno = getattr(code, "co_firstlineno", None)
    line = linecache.getline(filename, lineno) if filename and lineno else None
    return filename, lineno, None, line or None


def _object_argument(x, i, func):
    """The refusal of a plain object as an argument to differentiate (a class whose
    methods would carry the gradient through `self`), located at the function's def."""
    name, cls = func.__name__, type(x).__name__
    return TransformError(
        f"argument {i} of {name} is a {cls} object, not a number, an array or a parameter "
        "container (nested dicts, lists, tuples, NamedTuples, @dataclass instances): "
        "s2sgrad does not differentiate through the attributes of plain objects",
        *_at_def(func),
        hint=f"keep the parameters in a @dataclass (or a NamedTuple, a dict) and write the "
             f"method as a function of it: `def {name}(params, ...)` reading `params.W`; "
             f"grad({name})(params, ...) then gives a gradient of the same type")


def _numpy_scalars(grads, args, wrt, is_tuple):
    """The gradients of NumPy scalar arguments (np.float32(2.0)) of their type, as the
    NumPy back end's grad_like gives them: Numba returns every number as a Python
    float."""
    from .runtime import grad_like
    gs = grads if is_tuple else (grads,)
    out = tuple(grad_like(g, args[i]) if i < len(args) and type(g) is float and isinstance(
        args[i], np.generic) and not isinstance(args[i], float) else g
        for g, i in zip(gs, wrt))
    return out if is_tuple else out[0]
