"""NumPy runtime helpers of the cumulative, repeating and rearranging rules (cumsum, cumprod, diff, repeat,
tile, kron, diagonal), and of moving, stacking, inserting, deleting and resizing (rollaxis, column_stack, dstack,
block, broadcast_arrays, delete, insert, diagflat, ediff1d, resize, unstack, cumulative_sum/prod, extract,
trim_zeros).

Like the other helpers, each returns a fresh array, or a Python float where the
primal argument was a Python scalar.
"""
from __future__ import annotations

import operator

import numpy as np

from .numpy_array_ops import _container, _float, _like, _sum_to_shape, array_adjoint

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


def _axis_along(ndim, axis):
    """The axis the cumulative functions run along, in an array of ``ndim`` axes (``axis`` None: 0, of the
    array flattened)."""
    if axis is None:
        return 0
    return operator.index(axis) % max(ndim, 1)


def _first_along(x, a, ax, axis):
    """``x`` as a float array of ``a``'s shape with axis ``ax`` first (``axis`` None: both flattened)."""
    x = _float(x)
    if axis is None:
        return np.broadcast_to(x.ravel(), (np.size(a),))
    return np.moveaxis(np.broadcast_to(x, np.shape(a)), ax, 0)


def _products_before(am):
    """``p[i]``, the product of the elements of ``am`` before ``i`` along its first axis."""
    if am.shape[0] > 1:
        return np.concatenate([np.ones_like(am[:1]), np.cumprod(am[:-1], axis=0)])
    return np.ones_like(am)


def cumprod_adjoint(g, a, axis=None):
    """Adjoint of ``np.cumprod(a, axis)``, exact at zeros (no division by ``a``).

    With ``p[i]`` the product of the elements before ``i``, the adjoint of ``a[i]``
    is ``p[i] * s[i]``, where ``s[i] = g[i] + a[i+1] * s[i+1]`` runs from the end.
    """
    ax = _axis_along(np.ndim(a), axis)
    am = _first_along(a, a, ax, axis)
    gm = _first_along(g, a, ax, axis)
    n = am.shape[0]
    parts = []  # s[n-1], ..., s[0]
    if n:
        s = gm[n - 1]
        parts.append(s)
        for i in range(n - 2, -1, -1):
            s = gm[i] + am[i + 1] * s
            parts.append(s)
    s = np.flip(np.stack(parts), 0) if n else np.zeros(am.shape, dtype=np.result_type(am, gm))
    out = np.moveaxis(_products_before(am) * s, 0, ax)
    return _like(a, out.reshape(np.shape(a)))


def cumprod_tangent(t, a, axis=None):
    """Tangent of ``np.cumprod(a, axis)``: ``d[i] = d[i-1] * a[i] + p[i] * t[i]``, ``p[i]`` the product before ``i``."""
    ax = _axis_along(np.ndim(a), axis)
    am = _first_along(a, a, ax, axis)
    tm = _first_along(t, a, ax, axis)
    before = _products_before(am)
    n = am.shape[0]
    parts = []
    if n:
        d = tm[0]
        parts.append(d)
        for i in range(1, n):
            d = d * am[i] + before[i] * tm[i]
            parts.append(d)
    d = np.stack(parts) if n else np.zeros(am.shape, dtype=np.result_type(am, tm))
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


# -- numpy breadth: moving, stacking, inserting, deleting, resizing, cumulating (rules/numpy/shape.py) ----------
# A function that only copies elements (delete, insert, resize, block, extract ...) is applied to the inputs'
# elements numbered 0, 1, 2 ... (``_numbered``): where each number lands says where each output element comes
# from, by NumPy's own rule, and the adjoint sums ``g`` back onto those sources (``_sum_onto_sources``).

__all__ += ["rollaxis_adjoint", "column_stack_adjoint", "dstack_adjoint", "block_adjoint", "broadcast_arrays_adjoint",
            "broadcast_arrays_tangent", "delete_adjoint", "insert_adjoint", "diagflat_adjoint", "ediff1d_adjoint",
            "resize_adjoint", "unstack_adjoint", "cumulative_sum_adjoint", "cumulative_prod_adjoint",
            "cumulative_prod_tangent", "extract_adjoint", "trim_zeros_adjoint", "trim_zeros_tangent"]


def _numbered(*shapes):
    """Integer arrays of ``shapes`` that number the elements of all of them in turn (the first array's
    elements 0 .. n0 - 1, the next one's from n0 on), and how many there are."""
    return _numbered_in_turn(shapes)


def _numbered_in_turn(shapes):
    """``_numbered(*shapes)``, the shapes given as one sequence."""
    out, start = [], 0
    for shape in shapes:
        count = int(np.prod(shape, dtype=np.intp))
        out.append(np.arange(start, start + count, dtype=np.intp).reshape(shape))
        start += count
    return out, start


def _sum_onto_sources(g, sources, total):
    """``g`` summed onto the numbered elements that the output elements copy (``sources``: the function applied
    to the numbered inputs); a flat float array of ``total`` entries."""
    return np.bincount(np.ravel(sources), weights=np.ravel(_float(np.broadcast_to(g, np.shape(sources)))),
                       minlength=total)


def _shaped(flat, like):
    """The entries ``flat`` as the adjoint of the argument ``like``: its shape, a float for a number, a list or
    tuple (nested as the argument) for a list or tuple of numbers."""
    return array_adjoint(np.reshape(flat, np.shape(like)), like)


def rollaxis_adjoint(g, a, axis, start=0):
    """Adjoint of ``np.rollaxis(a, axis, start)``: ``g`` with its axes put back (the inverse permutation of
    NumPy's: ``axis`` moved to just before the axis that was at ``start``)."""
    ndim = np.ndim(a)
    axis = operator.index(axis) % ndim
    start = operator.index(start) + (ndim if start < 0 else 0)
    if axis < start:
        start -= 1
    order = [k for k in range(ndim) if k != axis]
    order.insert(start, axis)
    return np.transpose(g, np.argsort(order))


def _as_columns(x):
    """What ``np.column_stack`` makes of one of its arrays: 2-D ones as they are, others as columns."""
    return np.array(x, ndmin=2).T if np.ndim(x) < 2 else np.asarray(x)


def _stacked_back(g, tup, pieces, axis):
    """Blocks of ``g`` along ``axis`` as wide as the shapes ``pieces`` are, each in the shape of its array of
    ``tup``."""
    widths = np.cumsum([shape[axis] for shape in pieces])[:-1]
    blocks = np.split(_float(g), widths, axis=axis)
    return _container(tup, [np.reshape(b, np.shape(x)) for b, x in zip(blocks, tup)])


def column_stack_adjoint(g, tup):
    """Adjoint of ``np.column_stack(tup)``: one block of columns of ``g`` per array (a vector's is its column)."""
    return _stacked_back(g, tup, [np.shape(_as_columns(x)) for x in tup], 1)


def dstack_adjoint(g, tup):
    """Adjoint of ``np.dstack(tup)``: one block of ``g`` along the third axis per array (after ``atleast_3d``)."""
    return _stacked_back(g, tup, [np.shape(np.atleast_3d(x)) for x in tup], 2)


def _block_leaves(arrays):
    """The leaves (arrays and numbers) of ``np.block``'s nested lists, in order."""
    if isinstance(arrays, list):
        return [leaf for item in arrays for leaf in _block_leaves(item)]
    return [arrays]


def _block_rebuilt(arrays, leaves):
    """``arrays``' nested lists with their leaves replaced by ``leaves`` (a list), in order."""
    if not isinstance(arrays, list):
        return leaves[0]
    ends = np.cumsum([len(_block_leaves(item)) for item in arrays]).tolist()
    return [_block_rebuilt(item, leaves[end - len(_block_leaves(item)):end]) for item, end in zip(arrays, ends)]


def block_adjoint(g, arrays):
    """Adjoint of ``np.block(arrays)``: each block's part of ``g``, in the nested lists of ``arrays``."""
    leaves = _block_leaves(arrays)
    numbers, total = _numbered_in_turn([np.shape(x) for x in leaves])
    sources = np.block(_block_rebuilt(arrays, numbers))
    # np.block copies each element once: the numbered elements read g through the inverse permutation
    sums = 0.0 + np.ravel(_float(np.broadcast_to(g, np.shape(sources))))[np.argsort(np.ravel(sources))]
    bounds = np.cumsum([0] + [n.size for n in numbers])
    parts = [_shaped(sums[lo:hi], x) for lo, hi, x in zip(bounds[:-1], bounds[1:], leaves)]
    return _block_rebuilt(arrays, parts)


def broadcast_arrays_adjoint(g, args):
    """Adjoint of ``np.broadcast_arrays(*args)``: each result's adjoint summed back to its argument's shape
    (None: zeros), a tuple."""
    out = []
    for x, gx in zip(args, g):
        part = np.zeros(np.shape(x)) if gx is None else _sum_to_shape(_float(gx), np.shape(x))
        out.append(_like(x, part))
    return tuple(out)


def broadcast_arrays_tangent(t, args):
    """Tangent of ``np.broadcast_arrays(*args)``: each tangent broadcast to the common shape (None: zeros)."""
    shape = np.broadcast_shapes(*[np.shape(x) for x in args])
    return tuple(np.zeros(shape) if tx is None else np.array(np.broadcast_to(_float(tx), shape)) for tx in t)


def delete_adjoint(g, arr, obj, axis=None):
    """Adjoint of ``np.delete(arr, obj, axis)``: ``g`` written where the kept elements were, zeros where the
    deleted ones were."""
    (numbers,), total = _numbered(np.shape(arr))
    sources = np.delete(numbers, obj, axis)
    return _shaped(_sum_onto_sources(g, sources, total), arr)


def insert_adjoint(g, arr, obj, values, axis=None, which="arr"):
    """Adjoint of ``np.insert(arr, obj, values, axis)`` in ``arr`` (``which`` 'arr') or ``values``: the part of
    ``g`` where that argument's elements landed; an element of ``values`` inserted several times (``values``
    broadcast) gets the sum of its copies' adjoints."""
    (numbered_arr, numbered_values), total = _numbered(np.shape(arr), np.shape(values))
    sources = np.insert(numbered_arr, obj, numbered_values, axis)
    sums = _sum_onto_sources(g, sources, total)
    if which == "arr":
        return _shaped(sums[:numbered_arr.size], arr)
    return _shaped(sums[numbered_arr.size:], values)


def diagflat_adjoint(g, v, k=0):
    """Adjoint of ``np.diagflat(v, k)``: the ``k``-th diagonal of ``g``, in the shape of ``v``."""
    return _shaped(np.array(np.diagonal(_float(g), k)), v)


def ediff1d_adjoint(g, ary, to_end=None, to_begin=None, which="ary"):
    """Adjoint of ``np.ediff1d(ary, to_end, to_begin)``, the concatenation of ``to_begin``, the differences of
    ``ary`` flattened, and ``to_end``: each argument's block of ``g`` (``ary``'s through the differences,
    ``-diff`` of its block padded with a zero at both ends)."""
    g = np.ravel(_float(g))
    begin = 0 if to_begin is None else np.size(to_begin)
    end = 0 if to_end is None else np.size(to_end)
    if which == "to_begin":
        return _shaped(g[:begin], to_begin)
    if which == "to_end":
        return _shaped(g[g.size - end:], to_end)
    middle = g[begin:g.size - end]
    return _shaped(-np.diff(np.concatenate([[0.0], middle, [0.0]])), ary)


def resize_adjoint(g, a, new_shape):
    """Adjoint of ``np.resize(a, new_shape)``: the result repeats ``a`` flattened, so each element gets the sum
    of its copies' adjoints (zeros where it was cut off)."""
    (numbers,), total = _numbered(np.shape(a))
    if total == 0:
        return _shaped(np.zeros(0), a)
    return _shaped(_sum_onto_sources(g, np.resize(numbers, new_shape), total), a)


def unstack_adjoint(g, x, axis=0):
    """Adjoint of ``np.unstack(x, axis=axis)``: the parts' adjoints stacked back along ``axis`` (None: zeros)."""
    shape = np.shape(x)
    ax = operator.index(axis) % len(shape)
    part = shape[:ax] + shape[ax + 1:]
    return np.stack([np.zeros(part) if p is None else np.broadcast_to(_float(p), part) for p in g], axis=ax)


def _without_initial(g, axis, include_initial):
    """``g`` of ``np.cumulative_sum``/``np.cumulative_prod`` without the initial element's entry along ``axis``
    (that entry is a constant, 0 or 1)."""
    g = _float(g)
    if include_initial:
        g = np.delete(g, 0, axis=axis)
    return g


def cumulative_sum_adjoint(g, x, axis=None, include_initial=False):
    """Adjoint of ``np.cumulative_sum(x, axis=axis, include_initial=...)``: that of ``np.cumsum``."""
    ax = 0 if axis is None else axis
    gg = _without_initial(g, ax, include_initial)
    return cumsum_adjoint(gg, x, ax if np.ndim(x) else None)


def cumulative_prod_adjoint(g, x, axis=None, include_initial=False):
    """Adjoint of ``np.cumulative_prod(x, axis=axis, include_initial=...)``: that of ``np.cumprod``."""
    ax = 0 if axis is None else axis
    gg = _without_initial(g, ax, include_initial)
    return cumprod_adjoint(gg, x, ax if np.ndim(x) else None)


def cumulative_prod_tangent(t, x, axis=None, include_initial=False):
    """Tangent of ``np.cumulative_prod``: that of ``np.cumprod``, after a zero for the initial 1."""
    ax = 0 if axis is None else axis
    out = cumprod_tangent(t, x, ax if np.ndim(x) else None)
    if include_initial:
        out = np.insert(out, 0, 0.0, axis=ax)
    return out


def extract_adjoint(g, condition, arr):
    """Adjoint of ``np.extract(condition, arr)``: ``g`` written where ``condition`` (flattened) holds."""
    (numbers,), total = _numbered(np.shape(arr))
    return _shaped(_sum_onto_sources(g, np.extract(condition, numbers), total), arr)


def _trimmed(filt, trim="fb", axis=None):
    """The slices ``np.trim_zeros(filt, trim, axis)`` keeps: the bounding box of the nonzero elements along the
    axes trimmed, on the sides ``trim`` names."""
    x = np.asarray(filt)
    axes = range(x.ndim) if axis is None else [operator.index(a) % x.ndim for a in np.atleast_1d(axis)]
    trim = trim.lower()
    nonzero = np.argwhere(x)
    if nonzero.size == 0:
        return tuple(slice(0, 0) if k in axes else slice(None) for k in range(x.ndim))
    start, stop = nonzero.min(axis=0), nonzero.max(axis=0) + 1
    return tuple(slice(start[k] if "f" in trim else None, stop[k] if "b" in trim else None) if k in axes
                 else slice(None) for k in range(x.ndim))


def trim_zeros_adjoint(g, filt, trim="fb", axis=None):
    """Adjoint of ``np.trim_zeros(filt, trim, axis)``: ``g`` written where the kept part was; the trimmed zeros
    get 0."""
    out = np.zeros(np.shape(filt))
    out[_trimmed(filt, trim, axis)] = _float(g)
    return _shaped(out, filt)


def trim_zeros_tangent(t, filt, trim="fb", axis=None):
    """Tangent of ``np.trim_zeros``: the tangent of the kept part."""
    return np.array(np.broadcast_to(_float(t), np.shape(filt))[_trimmed(filt, trim, axis)])
