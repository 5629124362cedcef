"""NumPy runtime: the adjoints of containers, their zeros and their sum.

A tuple's adjoint is a :class:`TupleAdjoint`, a list's a :class:`ListAdjoint`,
a dict's a :class:`DictAdjoint` (absent keys are zero) and an object's an
:class:`ObjectAdjoint`; ``+`` of two of them is :func:`add`, element by
element. Every helper module of the runtime may use them.
"""
from __future__ import annotations

import numpy as np

from sourcediff import pytrees

__all__ = ["zeros_like", "add", "as_tuple_adjoint", "as_list_adjoint", "TupleAdjoint", "ListAdjoint", "DictAdjoint",
           "ObjectAdjoint"]

_SCALAR_TYPES = (float, int, complex, np.float64)  # np.float64: elements read out of arrays
_NO_GRADIENT_TYPES = (str, bytes, bool)
_ndarray = np.ndarray  # one global lookup instead of two on the hot paths


def zeros_like(x):
    """A zero adjoint of the same structure as ``x``.

    Numbers give ``0.0``, arrays float zeros, tuples and lists a zero per
    element; a dict gives an empty :class:`DictAdjoint` and a dataclass or plain
    object an empty :class:`ObjectAdjoint` (absent keys and fields are zero).
    Leaves that carry no gradient (``None``, strings, bools) give ``None``.
    """
    kind = type(x)
    if kind in _SCALAR_TYPES:
        return 0.0
    if kind is _ndarray:
        return np.zeros(x.shape, dtype=np.result_type(x, np.float64) if x.dtype.kind == "c" else np.float64)
    if isinstance(x, tuple):
        return TupleAdjoint([zeros_like(v) for v in x])
    if isinstance(x, list):
        return ListAdjoint([zeros_like(v) for v in x])
    if isinstance(x, dict):
        out = DictAdjoint()
        out.primal = x
        return out
    if x is None or kind in _NO_GRADIENT_TYPES:
        return None
    if not isinstance(x, np.generic) and pytrees.record_fields(x) is not None:
        return ObjectAdjoint()
    return np.zeros(np.shape(x), dtype=np.result_type(x, np.float64) if np.iscomplexobj(x) else np.float64)


# Container adjoints. Generated code reads them with ``g[i]`` and ``g['key']``
# and accumulates them with ``sd.add``; their ``+`` is ``sd.add`` too, so that an
# adjoint accumulated with ``+`` adds element by element instead of concatenating.
# The API turns them into the argument's own types (namedtuple, dataclass, ...).

class _AddsAsAdjoint:
    """``+`` of two adjoints is ``sd.add``: element by element, never concatenation."""

    __slots__ = ()

    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)


class TupleAdjoint(_AddsAsAdjoint, tuple):
    """The adjoint of a tuple or namedtuple: one adjoint per element."""

    __slots__ = ()


class ListAdjoint(_AddsAsAdjoint, list):
    """The adjoint of a list: one adjoint per element."""

    __slots__ = ()


def as_tuple_adjoint(values):
    """``values`` as a :class:`TupleAdjoint`. Helpers build tuple adjoints through it: it is in the runtime
    contract, with a rule, so that their source can be differentiated again."""
    return TupleAdjoint(values)


def as_list_adjoint(values):
    """``values`` as a :class:`ListAdjoint` (see :func:`as_tuple_adjoint`)."""
    return ListAdjoint(values)


class DictAdjoint(_AddsAsAdjoint, dict):
    """The adjoint of a dict, holding only the keys that received a gradient.

    An absent key is zero: reading it (as generated code does with ``g['key']``)
    gives zeros shaped like ``primal[key]``. Reading one key of a large dict of
    parameters therefore costs one entry, not zeros for every parameter.
    """

    __slots__ = ("primal",)

    def __missing__(self, key):
        return zeros_like(self.primal[key])


class ObjectAdjoint(_AddsAsAdjoint, dict):
    """The adjoint of a dataclass or plain object: ``{field name: adjoint}``; absent fields are zero."""

    __slots__ = ()


def add(a, b):
    """Add two adjoints, which may be nested containers (tuples, lists, dicts, objects).

    ``None`` is a zero of any structure.
    """
    kind = type(a)
    if kind in _SCALAR_TYPES or kind is _ndarray or isinstance(a, np.generic):
        return a + b
    if a is None:
        return _fresh(b)
    if b is None:
        return _fresh(a)
    if isinstance(a, (tuple, list)) and type(b) is _ndarray and b.ndim and len(b) == len(a):
        b = list(b)  # the list was also used as an array operand: its adjoint came back as an array
    if isinstance(a, (tuple, list)):
        if not isinstance(b, (tuple, list)) or len(a) != len(b):
            raise ValueError(f"cannot add the adjoint {type(b).__name__} to the adjoint of a "
                             f"{kind.__name__} of length {len(a)}")
        values = [add(u, v) for u, v in zip(a, b)]
        return ListAdjoint(values) if isinstance(a, list) else TupleAdjoint(values)
    if isinstance(a, dict) and not isinstance(a, ObjectAdjoint):
        if type(a) is DictAdjoint:
            out = _dict_adjoint(a.primal, a)
        elif type(b) is DictAdjoint:
            out = _dict_adjoint(b.primal, a)
        else:
            out = dict(a)
        for k, v in b.items():
            out[k] = add(out[k], v) if k in out else v
        return out
    if isinstance(a, ObjectAdjoint) or isinstance(b, ObjectAdjoint) or pytrees.record_fields(a) is not None:
        out = ObjectAdjoint(_fields_of(a))
        for k, v in _fields_of(b).items():
            out[k] = add(out[k], v) if k in out else v
        return out
    return a + b


def _fresh(adjoint):
    """``adjoint`` as a new object where it is a mutable one: the sum of two adjoints never shares memory with
    either (code differentiating a derivative again relies on that: ``rules/runtime.py``)."""
    if type(adjoint) is _ndarray:
        return adjoint.copy()
    if type(adjoint) is DictAdjoint:
        return _dict_adjoint(adjoint.primal, adjoint)
    if isinstance(adjoint, list):
        return ListAdjoint(adjoint)
    if isinstance(adjoint, dict):
        return type(adjoint)(adjoint)
    return adjoint


def _dict_adjoint(primal, items):
    out = DictAdjoint(items)
    out.primal = primal
    return out


def _fields_of(obj):
    """``{field: value}`` of an object adjoint given as an :class:`ObjectAdjoint` or an instance."""
    if isinstance(obj, dict):
        return obj
    fields = pytrees.record_fields(obj)
    if fields is None:
        raise ValueError(f"cannot add a {type(obj).__name__} to the adjoint of an object")
    return {name: getattr(obj, name) for name in fields}
