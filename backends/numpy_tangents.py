"""NumPy runtime for forward mode: zero tangents, and tangents fitted to their primal's shape.

A tangent has the structure of its primal: a number's is a float, an array's a
float (or complex) array of the same shape, a tuple's, list's, dict's or
record's a container of the same kind holding the tangents of its parts.
"""
from __future__ import annotations

import numpy as np

from sourcediff import pytrees

from .numpy_adjoints import (_SCALAR_TYPES, DictAdjoint, ListAdjoint, ObjectAdjoint, _dict_adjoint, _ndarray,
                             zeros_like)

__all__ = ["zero_tangent", "fit_tangent", "own_tangent", "tangent_stored_in", "field_of_tangent"]

_NO_TANGENT_TYPES = (str, bytes, type(None))


def zero_tangent(x):
    """A zero tangent with the structure of ``x``; leaves that carry none (strings, None) stay as they are. A
    bool's is ``0.0``: Python computes with bools as numbers (``1.0 + flag``), and a tangent must add nothing."""
    kind = type(x)
    if kind in _SCALAR_TYPES or kind is bool:
        return 0.0
    if kind is _ndarray:
        return np.zeros(x.shape, dtype=np.result_type(x, np.float64) if x.dtype.kind == "c" else np.float64)
    if kind in _NO_TANGENT_TYPES:
        return x
    if kind is DictAdjoint or kind is ObjectAdjoint:  # an adjoint's sparse container: absent parts are zero
        return zeros_like(x)
    if isinstance(x, np.generic):
        return np.zeros((), dtype=np.result_type(x, np.float64) if np.iscomplexobj(x) else np.float64)[()]
    parts = pytrees.children(x)
    if parts is None:
        return x  # an object without a tangent: functions, modules, ranges
    return pytrees.rebuild(x, [zero_tangent(v) for _, v in parts])


def fit_tangent(t, like):
    """``t`` broadcast to the shape of the primal ``like`` (a rule's tangent may have a broadcastable shape).

    A list or tuple ``like`` made by ``+`` or ``*`` joins or repeats its operands, which the elementwise rules
    do not follow: a tangent of another length is refused."""
    if type(like) is _ndarray:
        if type(t) is _ndarray and t.shape == like.shape:
            return t
        return np.array(np.broadcast_to(t, like.shape))
    if type(t) is _ndarray and t.ndim == 0 and isinstance(like, (float, complex, np.generic)):
        return t[()]  # a number's tangent is a number: a 0-d array could be written into in place (y += y)
    if isinstance(like, (list, tuple)) and (not hasattr(t, "__len__") or len(t) != len(like)):
        from sourcediff.errors import SourcediffError

        raise SourcediffError("sourcediff cannot differentiate joining lists or tuples with + (or * n) yet",
                              hint="build the list with .append or .extend, or use np.concatenate for arrays")
    return t


def own_tangent(t):
    """A private copy of an array tangent: its primal is a new array that will be written into."""
    kind = type(t)
    if kind is _ndarray:
        return t.copy()
    if kind is DictAdjoint:  # an adjoint's sparse dict (absent keys are zero), in higher-order code
        return _dict_adjoint(t.primal, t)
    if kind is ListAdjoint:
        return ListAdjoint(t)
    if kind is list or kind is dict:
        return kind(t)
    return t


def tangent_stored_in(primal, value):
    """The tangent of what ``primal[index] = value`` stores: ``value``'s, or zero in an integer array (whose
    elements are integers)."""
    if type(primal) is _ndarray and primal.dtype.kind not in "fc":
        return 0.0
    return value


def field_of_tangent(t, primal, field):
    """The tangent of ``primal.field`` for a named tuple ``primal`` whose tangent ``t`` may be a plain tuple."""
    if type(t) is type(primal) or not isinstance(t, tuple):
        return getattr(t, field)
    return t[type(primal)._fields.index(field)]
