"""NumPy runtime for generated derivatives: zeros, accumulation, unbroadcast.

Generated code refers to this module as ``sd``. Everything here is small and
called from inlined rule templates; keep each function cheap on Python floats.
"""
from __future__ import annotations

import numpy as np

from .numpy_array_ops import *  # noqa: F401,F403  (helpers of reductions, shape, indexing, linalg)
from .numpy_elementwise_ops import *  # noqa: F401,F403  (helpers of operators and elementwise rules)

_SCALAR_TYPES = (float, int, complex)


def unbroadcast(g, x):
    """Sum ``g`` down to the shape of ``x``, undoing NumPy broadcasting."""
    if type(x) in _SCALAR_TYPES:
        if type(g) in _SCALAR_TYPES:
            return g
        return np.sum(g).item() if np.ndim(g) else g.item() if hasattr(g, "item") else g
    shape = np.shape(x)
    gshape = np.shape(g)
    if gshape == shape:
        return g
    extra = len(gshape) - len(shape)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if np.shape(g) != shape:
        g = np.broadcast_to(g, shape)
    return g


def zeros_like(x):
    """A zero adjoint of the same structure as ``x``."""
    if type(x) in _SCALAR_TYPES:
        return 0.0
    if isinstance(x, tuple):
        return tuple(zeros_like(v) for v in x)
    if isinstance(x, list):
        return [zeros_like(v) for v in x]
    if isinstance(x, dict):
        return {k: zeros_like(v) for k, v in x.items()}
    return np.zeros(np.shape(x), dtype=np.result_type(x, np.float64) if np.iscomplexobj(x) else np.float64)


def add(a, b):
    """Add two adjoints that may be containers (tuples, lists, dicts)."""
    if isinstance(a, tuple):
        return tuple(add(u, v) for u, v in zip(a, b))
    if isinstance(a, list):
        return [add(u, v) for u, v in zip(a, b)]
    if isinstance(a, dict):
        return {k: add(a[k], b[k]) for k in a}
    return a + b


def index_adjoint(g, x, index):
    """Adjoint of ``x[index]``: ``g`` scattered into zeros shaped like ``x``."""
    if isinstance(x, (tuple, list)):
        out = [zeros_like(v) for v in x]
        if isinstance(index, slice):
            for i, v in zip(range(*index.indices(len(x))), g):
                out[i] = v
        else:
            out[index] = g
        return type(x)(out) if isinstance(x, tuple) else out
    out = np.zeros(np.shape(x), dtype=np.result_type(g, np.float64))
    if _is_basic(index):
        out[index] = g  # slices and integers never repeat an element
    else:
        np.add.at(out, _without_masks(index), g)  # integer arrays may repeat: accumulate
    return out


def _is_basic(index) -> bool:
    if isinstance(index, tuple):
        return all(_is_basic(i) for i in index)
    return index is None or index is Ellipsis or isinstance(index, (int, np.integer, slice))


def _without_masks(index):
    """Boolean masks as integer indices (``np.add.at`` reads booleans as 0 and 1)."""
    if isinstance(index, tuple):
        parts = []
        for i in index:
            parts.extend(_without_masks(i) if _is_mask(i) else (i,))
        return tuple(parts)
    if _is_mask(index):
        return np.nonzero(index)
    return index


def _is_mask(index) -> bool:
    return getattr(index, "dtype", None) == np.bool_ or (
        isinstance(index, list) and index and all(isinstance(v, (bool, np.bool_)) for v in index))


def scalar_seed(value):
    """The seed ``1.0`` of a scalar output; refuses a non-scalar one before the backward pass."""
    if type(value) is float or np.ndim(value) == 0:
        return 1.0
    from sourcediff.errors import NonScalarOutputError

    raise NonScalarOutputError(
        f"grad needs a scalar output, but the function returned an array of shape {np.shape(value)}",
        hint="reduce it (for example with np.sum or np.mean), or use sourcediff.vjp for non-scalar outputs")


def attribute_adjoint(g, obj, name):
    """Adjoint of ``obj.name`` for a dataclass, namedtuple or plain object (filled in with pytree support)."""
    raise NotImplementedError("attribute adjoints of objects")
