"""NumPy runtime helpers for differentiating generated code again: the in-place adjoint helpers, spelled out.

A derivative's backward pass updates adjoint buffers in place (``sd.store_adjoint``, ``sd.clear_at``,
``sd.add_at``, ``sd.unpop``). When sourcediff differentiates that code again, the parse stage spells each of
those calls out as a pure call and a visible write (``sourcediff.parse.spell_out_writes``), so that the next
transformation sees every change of memory. These are the pure calls it writes; each has a rule
(``rules/runtime.py``).
"""
from __future__ import annotations

import numpy as np

from .numpy_adjoints import ListAdjoint, _ndarray, add, zeros_like

__all__ = ["as_mutable", "restored_value", "written_part", "written_part_adjoint", "increment_part", "cleared",
           "added_at", "added_at_adjoint", "unpop_position"]


def _last_writes(shape, index, part_shape):
    """Where ``array[index] = v`` keeps an element of ``v``: with repeated integer indices, only the last
    occurrence of each element lands (NumPy's rule); a boolean mask on ``part_shape`` positions."""
    ids = np.arange(int(np.prod(part_shape, dtype=int))).reshape(part_shape)
    last = np.full(shape, -1)
    last[index] = ids
    return last[index] == ids


def written_part(adjoint, index, array=None):
    """What ``sd.store_adjoint(adjoint, index, None, array)`` returns, without zeroing ``adjoint[index]``: the
    adjoint of the elements that ``array[index] = v`` wrote (last write wins; zeros for an integer array)."""
    from .numpy_backend import _is_basic, _is_mask

    if type(array) is _ndarray and array.dtype.kind in "biu":
        return adjoint[index] * 0.0
    if type(adjoint) is not _ndarray:
        if isinstance(index, slice):
            return ListAdjoint(adjoint[i] for i in range(*index.indices(len(adjoint))))
        return adjoint[index]
    if type(index) is int and adjoint.ndim == 1:
        return adjoint[index]
    if _is_basic(index) or _is_mask(index):
        return np.array(adjoint[index])
    part = adjoint[index]
    return np.where(_last_writes(adjoint.shape, index, part.shape), part, 0.0)


def written_part_adjoint(g, adjoint, index, array=None):
    """The transpose of :func:`written_part` in ``adjoint``: ``g`` put back at ``index`` (last writes only) in
    zeros shaped like ``adjoint``."""
    from .numpy_backend import _is_basic, _is_mask

    if type(array) is _ndarray and array.dtype.kind in "biu":
        return zeros_like(adjoint)
    if type(adjoint) is not _ndarray:
        out = [zeros_like(v) for v in adjoint]
        if isinstance(index, slice):
            for i, v in zip(range(*index.indices(len(adjoint))), g):
                out[i] = v
        else:
            out[index] = g
        return ListAdjoint(out)
    out = np.zeros(adjoint.shape, dtype=np.result_type(g, np.float64))
    if _is_basic(index) or _is_mask(index):
        out[index] = g
        return out
    part_shape = np.shape(adjoint[index])
    kept = np.where(_last_writes(adjoint.shape, index, part_shape), np.broadcast_to(g, part_shape), 0.0)
    out[index] = kept  # each element receives its last write only: the others are zero
    return out


def increment_part(adjoint, index, array, negate=False):
    """What ``sd.increment_adjoint`` returns, for a float ``array`` (where it leaves ``adjoint`` as it was)."""
    if array.dtype.kind in "biu":
        from sourcediff.errors import SourcediffError

        raise SourcediffError("sourcediff cannot differentiate again a derivative that adds floats into an integer "
                              "array in place (the values are truncated)",
                              hint="make the array a float array (dtype=float)")
    part = written_part(adjoint, index, array)
    return -part if negate else part


def cleared(adjoint, index):
    """The zeros that ``sd.clear_at(adjoint, index)`` writes at ``adjoint[index]``: ``0.0`` for an array, a zero
    adjoint per element of a list."""
    if type(adjoint) is _ndarray:
        return 0.0
    if isinstance(index, slice):
        return ListAdjoint(zeros_like(adjoint[i]) for i in range(*index.indices(len(adjoint))))
    return zeros_like(adjoint[index])


def added_at(adjoint, index, value):
    """What ``sd.add_at(adjoint, index, value)`` leaves at ``adjoint[index]`` (repeated indices accumulate)."""
    from .numpy_backend import _is_basic, _is_mask

    if type(adjoint) is _ndarray:
        if _is_basic(index) or _is_mask(index):
            return adjoint[index] + value
        out = adjoint.copy()
        np.add.at(out, index, value)
        return out[index]
    if isinstance(index, slice):
        return ListAdjoint(add(adjoint[i], v) for i, v in zip(range(*index.indices(len(adjoint))), value))
    return add(adjoint[index], value)


def added_at_adjoint(g, adjoint, index, value):
    """The adjoint of ``value`` in :func:`added_at`: each value receives ``g`` of the element it lands on."""
    from .numpy_backend import _is_basic, _is_mask, unbroadcast

    if type(adjoint) is _ndarray:
        if _is_basic(index) or _is_mask(index):
            return unbroadcast(g, value)
        total = np.zeros(adjoint.shape, dtype=np.result_type(g, np.float64))
        np.add.at(total, index, g)
        return unbroadcast(total[index], value)
    return ListAdjoint(g) if isinstance(index, slice) else g


def as_mutable(adjoint):
    """A private copy of an adjoint that ``adjoint[i] = ...`` can write into: a tuple's adjoint becomes a list
    adjoint. (A copy, so that the next transformation knows no other name holds it.)"""
    if isinstance(adjoint, tuple):
        return ListAdjoint(adjoint)
    from .numpy_backend import own

    return own(adjoint)


def restored_value(saved):
    """What ``sd.restore_item(container, key, saved)`` writes back at ``container[key]``: the snapshot; a key that
    the write added (the snapshot is a marker) is refused."""
    from .numpy_backend import _MISSING

    if saved is _MISSING:
        from sourcediff.errors import SourcediffError

        raise SourcediffError("sourcediff cannot differentiate again a derivative that adds a key to a dict",
                              hint="fill the dict with every key before the differentiated code writes into it")
    return saved


def unpop_position(items, index):
    """Where ``sd.unpop(items, index, value)`` inserts ``value``: ``index`` counted as ``items.pop(index)`` did."""
    return index if index >= 0 else len(items) + 1 + index
