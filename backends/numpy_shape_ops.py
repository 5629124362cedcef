"""NumPy runtime helpers of the cumulative, repeating and rearranging rules (cumsum, cumprod, diff, repeat,
tile, kron, diagonal).

Like the other helpers, each returns a fresh array, or a Python float where the
primal argument was a Python scalar.
"""
from __future__ import annotations

import operator

import numpy as np

from .numpy_array_ops import _float, _like

__all__ = ["cumsum_adjoint", "cumprod_adjoint", "cumprod_tangent", "diff_adjoint", "repeat_adjoint",
           "tile_adjoint", "kron_adjoint", "diagonal_adjoint"]


def _along(x, axis):
    """``x`` as an array and the axis the cumulative functions run along (``axis`` None: ``x`` flattened)."""
    x = _float(x)
    if axis is None:
        return x.ravel(), 0
    return x, operator.index(axis) % max(x.ndim, 1)


def cumsum_adjoint(g, a, axis=None):
    """Adjoint of ``np.cumsum(a, axis)``: the cumulative sum of ``g`` taken from the end."""
    gg, ax = _along(g, axis)
    out = np.flip(np.cumsum(np.flip(gg, ax), axis=ax), ax)
    return _like(a, out.reshape(np.shape(a)))


def _with_products_before(a, other, axis):
    """``a`` and ``other`` (an adjoint or tangent of ``np.cumprod(a, axis)``) with that axis first, ``p[i]``
    the product of the elements of ``a`` before ``i``, and the axis."""
    aa, ax = _along(a, axis)
    am = np.moveaxis(aa, ax, 0)
    om = np.moveaxis(np.broadcast_to(_along(other, axis)[0], aa.shape), ax, 0)
    before = np.ones_like(am)
    if am.shape[0] > 1:
        before[1:] = np.cumprod(am[:-1], axis=0)
    return am, om, before, ax


def cumprod_adjoint(g, a, axis=None):
    """Adjoint of ``np.cumprod(a, axis)``, exact at zeros (no division by ``a``).

    With ``p[i]`` the product of the elements before ``i``, the adjoint of ``a[i]``
    is ``p[i] * s[i]``, where ``s[i] = g[i] + a[i+1] * s[i+1]`` runs from the end.
    """
    am, gm, before, ax = _with_products_before(a, g, axis)
    n = am.shape[0]
    s = np.empty(am.shape, dtype=np.result_type(am, gm))
    if n:
        s[n - 1] = gm[n - 1]
    for i in range(n - 2, -1, -1):
        s[i] = gm[i] + am[i + 1] * s[i + 1]
    out = np.moveaxis(before * s, 0, ax)
    return _like(a, out.reshape(np.shape(a)))


def cumprod_tangent(t, a, axis=None):
    """Tangent of ``np.cumprod(a, axis)``: ``d[i] = d[i-1] * a[i] + p[i] * t[i]``, ``p[i]`` the product before ``i``."""
    am, tm, before, ax = _with_products_before(a, t, axis)
    n = am.shape[0]
    d = np.empty(am.shape, dtype=np.result_type(am, tm))
    if n:
        d[0] = tm[0]
    for i in range(1, n):
        d[i] = d[i - 1] * am[i] + before[i] * tm[i]
    return np.moveaxis(d, 0, ax)


def diff_adjoint(g, n=1, axis=-1):
    """Adjoint of ``np.diff(a, n, axis)``: ``n`` times the transpose of one difference, ``-diff`` of ``g``
    padded with a zero at both ends."""
    g = _float(g)
    ax = operator.index(axis) % g.ndim
    pad = [(0, 0)] * g.ndim
    pad[ax] = (1, 1)
    for _ in range(operator.index(n)):
        g = -np.diff(np.pad(g, pad), axis=ax)
    return g


def repeat_adjoint(g, a, repeats, axis=None):
    """Adjoint of ``np.repeat(a, repeats, axis)``: each element gets the sum of its copies' adjoints."""
    aa = np.asarray(a)
    if axis is None:
        shape, ax = (aa.size,), 0
    else:
        shape, ax = aa.shape, operator.index(axis) % aa.ndim
    n = shape[ax]
    owner = np.repeat(np.arange(n), np.broadcast_to(repeats, (n,)))  # which element each copy comes from
    gm = np.moveaxis(_float(g), ax, 0)
    out = np.zeros((n,) + gm.shape[1:], dtype=gm.dtype)
    np.add.at(out, owner, gm)
    return _like(a, np.moveaxis(out, 0, ax).reshape(np.shape(a)))


def tile_adjoint(g, a, reps):
    """Adjoint of ``np.tile(a, reps)``: the sum over the tiles."""
    shape = np.shape(a)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    d = max(len(shape), len(reps))
    tile_shape = (1,) * (d - len(shape)) + tuple(shape)
    counts = (1,) * (d - len(reps)) + reps
    interleaved = [k for pair in zip(counts, tile_shape) for k in pair]
    out = _float(g).reshape(interleaved).sum(axis=tuple(range(0, 2 * d, 2)))
    return _like(a, out.reshape(shape))


def kron_adjoint(g, a, b, which):
    """Adjoint of ``np.kron(a, b)`` in ``a`` (``which`` 'a') or ``b``: ``g`` seen as blocks, each contracted
    with the other factor."""
    sa, sb = np.shape(a), np.shape(b)
    d = max(len(sa), len(sb))
    fa, fb = (1,) * (d - len(sa)) + tuple(sa), (1,) * (d - len(sb)) + tuple(sb)
    blocks = _float(g).reshape([k for pair in zip(fa, fb) for k in pair])  # axes a0, b0, a1, b1, ...
    if which == "a":
        other = np.reshape(b, fb).reshape([1 if k % 2 == 0 else fb[k // 2] for k in range(2 * d)])
        out = (blocks * other).sum(axis=tuple(range(1, 2 * d, 2)))
        return _like(a, out.reshape(sa))
    other = np.reshape(a, fa).reshape([fa[k // 2] if k % 2 == 0 else 1 for k in range(2 * d)])
    out = (blocks * other).sum(axis=tuple(range(0, 2 * d, 2)))
    return _like(b, out.reshape(sb))


def diagonal_adjoint(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of ``np.diagonal(a, offset, axis1, axis2)``: ``g`` written on that diagonal of zeros."""
    g = _float(g)
    out = np.zeros(np.shape(a), dtype=np.result_type(g, np.float64))
    ndim = out.ndim
    on_diagonal = np.moveaxis(out, (operator.index(axis1) % ndim, operator.index(axis2) % ndim), (-2, -1))
    steps = np.arange(g.shape[-1])
    rows, cols = (steps, steps + offset) if offset >= 0 else (steps - offset, steps)
    on_diagonal[..., rows, cols] = g  # a view: the writes land in ``out``
    return out
