"""NumPy runtime helpers of the rules of Python's dict methods: ``d.get``, ``d.values()``, ``d.items()``,
and of ``x.copy()``, which is an array's, a dict's or a list's.

Method rules are found by the method's name, so each helper first checks that the receiver is a dict and
refuses anything else: an object with a ``get`` method of its own is not differentiated as a dict.
A dict's adjoint is a :class:`DictAdjoint` holding the keys that received a gradient.
"""
from __future__ import annotations

import numpy as np

from .numpy_adjoints import DictAdjoint, ListAdjoint, TupleAdjoint, _dict_adjoint, zeros_like

__all__ = [
    "dict_values", "dict_items",  # what the lowering writes for d.values() / d.items() outside a for loop
    "dict_get_adjoint", "dict_get_default_adjoint", "dict_get_tangent", "dict_get_default_tangent",
    "dict_values_adjoint", "dict_values_tangent", "dict_items_adjoint", "dict_items_tangent", "copy_adjoint",
]


def _dict_only(d, method: str) -> None:
    if not isinstance(d, dict):
        from sourcediff.errors import MissingRuleError

        raise MissingRuleError(f"no derivative rule for the method .{method}() of a {type(d).__name__}: "
                               f"sourcediff differentiates .{method}() of a dict only",
                               hint=f"give {type(d).__name__}.{method} a rule with sourcediff.rules.registry."
                                    "defrule, or compute the value outside the function being differentiated")


def dict_values(d):
    """``list(d.values())`` for a dict (the rules need a list, not a view); ``d.values()`` of anything else."""
    return list(d.values()) if isinstance(d, dict) else d.values()


def dict_items(d):
    """``list(d.items())`` for a dict; ``d.items()`` of anything else."""
    return list(d.items()) if isinstance(d, dict) else d.items()


def dict_get_adjoint(g, d, key):
    """Adjoint of ``d.get(key, default)`` for ``d``: ``g`` at ``key`` when ``d`` has it, else zero."""
    _dict_only(d, "get")
    return _dict_adjoint(d, {key: g} if key in d else {})


def dict_get_default_adjoint(g, d, key, default):
    """Adjoint of ``d.get(key, default)`` for ``default``: ``g`` when ``d`` lacks ``key``, else zero."""
    _dict_only(d, "get")
    return zeros_like(default) if key in d else g


def dict_get_tangent(t, d, key, ans):
    """Tangent of ``d.get(key, default)`` from ``d``'s tangent ``t``."""
    _dict_only(d, "get")
    return _entry(t, d, key) if key in d else zeros_like(ans)


def dict_get_default_tangent(t, d, key, ans):
    """Tangent of ``d.get(key, default)`` from ``default``'s tangent ``t``."""
    _dict_only(d, "get")
    return zeros_like(ans) if key in d else t


def _entry(t, d, key):
    """``t[key]`` of a dict's tangent (or adjoint), which may leave out keys that are zero."""
    return t[key] if key in t else zeros_like(d[key])


def _parts(g, n: int) -> list:
    """The ``n`` per-element adjoints of a list: ``g`` as a list, or the rows of an array (a list that was
    used as an array operand); ``None`` is zero."""
    if g is None:
        return [None] * n
    if type(g) is np.ndarray:
        g = list(g)
    if len(g) != n:
        raise ValueError(f"the adjoint of a list of {n} dict entries has {len(g)} elements")
    return list(g)


def dict_values_adjoint(g, d):
    """Adjoint of ``list(d.values())``: the i-th element's adjoint goes to the i-th key."""
    _dict_only(d, "values")
    out = DictAdjoint()
    out.primal = d
    for key, part in zip(d, _parts(g, len(d))):
        if part is not None:
            out[key] = part
    return out


def dict_items_adjoint(g, d):
    """Adjoint of ``list(d.items())``: each pair's second adjoint goes to its key (keys carry none)."""
    _dict_only(d, "items")
    out = DictAdjoint()
    out.primal = d
    for key, pair in zip(d, _parts(g, len(d))):
        if pair is not None and pair[1] is not None:
            out[key] = pair[1]
    return out


def dict_values_tangent(t, d):
    """Tangent of ``list(d.values())`` from ``d``'s tangent."""
    _dict_only(d, "values")
    return ListAdjoint(_entry(t, d, key) for key in d)


def dict_items_tangent(t, d):
    """Tangent of ``list(d.items())`` from ``d``'s tangent: the keys' tangents are ``None``."""
    _dict_only(d, "items")
    return ListAdjoint(TupleAdjoint((None, _entry(t, d, key))) for key in d)



def copy_adjoint(g, x):
    """Adjoint (and tangent) of ``x.copy()``: a copy of ``g`` for an array; ``g`` itself for a dict or a list,
    whose copy is shallow (it holds the same elements)."""
    if isinstance(x, (dict, list)):
        return g
    return np.copy(g)
