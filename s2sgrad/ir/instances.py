"""Objects of the user's own classes, whose methods a differentiated function calls:
`self.predict(w)` in `model.loss`, `model.forward(x)` on a model object given as an
argument or held in a global.

The code is specialized on the object's class (`InstanceKind`, a kind of argument like
a number or an array's shape): a call of a method on it is a call of the function the
class defines, with the object as its first argument (a static method's without), and
differentiates like any call of the user's function. The object itself carries no
gradient (its attributes are constants); a subclass that overrides the method gets code
of its own, and an object whose own attributes shadow a method of its class is not
specialized (its method calls stay refused).
"""
import dataclasses
import numbers
import types

import numpy as np

#: Packages whose functions are libraries' (their source is not the user's to differentiate).
LIBRARIES = ("numpy", "scipy", "math", "builtins", "jax", "torch", "autograd")
_NOT_INSTANCES = (tuple, list, dict, set, frozenset, str, bytes, np.ndarray, np.generic,
                  numbers.Number, type, types.ModuleType)


class InstanceKind:
    """The kind of an argument that is an object of the user's class `cls` with methods.
    One per class (so equal kinds are the same object, as the compile cache's keys and
    the pairs' specializations compare them)."""
    __slots__ = ("cls", "methods", "__weakref__")
    _of = {}

    def __new__(cls, klass):
        kind = cls._of.get(klass)
        if kind is None:
            kind = cls._of[klass] = object.__new__(cls)
            kind.cls = klass
            kind.methods = frozenset(_methods(klass))
        return kind

    def shadowed(self, obj):
        """Does `obj` hold an attribute of its own under the name of a method?"""
        own = getattr(obj, "__dict__", None)
        return bool(own) and not self.methods.isdisjoint(own)

    def __repr__(self):
        return f"InstanceKind({self.cls.__qualname__})"


def _methods(klass):
    return {name for k in klass.__mro__[:-1] for name, v in vars(k).items()
            if isinstance(v, (types.FunctionType, staticmethod))}


def has_methods(klass):
    """Is `klass` a class of the user's whose objects a function may call methods of:
    not a library's, not a number, array or container (a NamedTuple or @dataclass is a
    parameter container), with a method of its own."""
    module = (getattr(klass, "__module__", None) or "").split(".")[0]
    if module in LIBRARIES or issubclass(klass, _NOT_INSTANCES) and not _is_record(klass):
        return False
    return bool(_methods(klass))


def _is_record(klass):
    """A NamedTuple or @dataclass class (a parameter container, whose methods a
    function may call too: `params.predict(x)`)."""
    return dataclasses.is_dataclass(klass) or (issubclass(klass, tuple)
                                               and hasattr(klass, "_fields"))


def instance_kind(obj):
    """The InstanceKind of `obj`, or None (not an object of such a class, or one whose
    own attributes shadow a method)."""
    klass = type(obj)
    if not has_methods(klass):
        return None
    kind = InstanceKind(klass)
    return None if kind.shadowed(obj) else kind


def method_of(kind, name):
    """(function, takes the object first, the class dict that defines it) of the method
    `name` of the class of `kind`, or None: a plain function or a static method of the
    user's, found along the class's method resolution order."""
    for klass in kind.cls.__mro__[:-1]:
        attr = vars(klass).get(name)
        if attr is None:
            continue
        if isinstance(attr, staticmethod):
            fn, bound = attr.__func__, False
        elif isinstance(attr, types.FunctionType):
            fn, bound = attr, True
        else:
            return None
        module = (getattr(fn, "__module__", None) or "").split(".")[0]
        if not isinstance(fn, types.FunctionType) or module in LIBRARIES:
            return None
        return fn, bound, vars(klass)
    return None
