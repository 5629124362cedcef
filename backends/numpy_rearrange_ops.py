"""NumPy runtime helpers of the rearranging, gathering and sliding rules (roll, pad, split, cross, tensordot,
take, take_along_axis, choose, compress, meshgrid, polyval, interp, convolve, correlate).

Like the other helpers, each returns a fresh array, or a Python float where the
primal argument was a Python scalar. An adjoint ``g`` of a list result (np.split,
np.meshgrid) is a list whose entries may be None (no gradient reached that part).
"""
from __future__ import annotations

import operator

import numpy as np

from .numpy_array_ops import _float, _like, _refuse, _sum_to_shape

__all__ = ["roll_adjoint", "pad_adjoint", "pad_tangent", "split_adjoint", "cross_adjoint", "tensordot_adjoint",
           "take_adjoint", "take_along_axis_adjoint", "choose_adjoint", "choose_tangent", "compress_adjoint",
           "meshgrid_adjoint", "meshgrid_tangent", "polyval_adjoint", "polyval_slope", "interp_adjoint",
           "interp_tangent", "interp_slope", "convolve_adjoint", "correlate_adjoint"]


def _zeros(shape, *like):
    return np.zeros(shape, dtype=np.result_type(np.float64, *[np.asarray(x).dtype for x in like]))


def _part(g, shape):
    """One entry of a list adjoint as an array of ``shape`` (None: zeros)."""
    return np.zeros(shape) if g is None else np.broadcast_to(_float(g), shape)


def roll_adjoint(g, shift, axis=None):
    """Adjoint of ``np.roll(a, shift, axis)``: ``g`` rolled back by the same shifts."""
    return np.roll(_float(g), np.negative(shift), axis)


# -- pad -------------------------------------------------------------------------------------------

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_sources(shape, pad_width, mode, reflect_type):
    """For each element of the padded array, the flat index of the element of the input it copies (-1: a
    constant). np.pad of the indices themselves says it, so the convention at the edges is NumPy's own:
    ``reflect`` mirrors about the edge element (which is not repeated), ``symmetric`` repeats it."""
    if mode not in _PAD_MODES:
        _refuse(f"np.pad with mode={mode!r} has no rule",
                f"use one of the modes {', '.join(map(repr, _PAD_MODES))}, or pad by concatenating")
    if reflect_type != "even":
        _refuse("np.pad with reflect_type='odd' has no rule", "use the default reflect_type='even'")
    index = np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)
    if mode == "constant":
        return np.pad(index, pad_width, mode="constant", constant_values=-1)
    return np.pad(index, pad_width, mode=mode)


def pad_adjoint(g, array, pad_width, mode="constant", reflect_type="even"):
    """Adjoint of ``np.pad(array, pad_width, mode)``: every element gets the adjoints of all its copies
    (an edge element padded ``k`` times gets ``k + 1`` of them); the constant padding gets none."""
    shape = np.shape(array)
    source = _pad_sources(shape, pad_width, mode, reflect_type)
    g = _float(g)
    out = np.zeros(int(np.prod(shape)), dtype=g.dtype)
    copied = source >= 0
    np.add.at(out, source[copied], g[copied])
    return _like(array, out.reshape(shape))


def pad_tangent(t, array, pad_width, mode="constant", reflect_type="even"):
    """Tangent of ``np.pad``: the tangent padded the same way, with zeros where the padding is a constant."""
    source = _pad_sources(np.shape(array), pad_width, mode, reflect_type)
    flat = np.ravel(_float(np.broadcast_to(t, np.shape(array))))
    return np.where(source >= 0, flat[np.maximum(source, 0)], 0.0)


# -- split, meshgrid: list results -------------------------------------------------------------------

def split_adjoint(g, ary, indices_or_sections, axis=0):
    """Adjoint of ``np.split``/``np.array_split``/``np.hsplit``/``np.vsplit``: the parts' adjoints put back
    where the parts came from (a part that received none: zeros)."""
    out = _zeros(np.shape(ary), *[x for x in g if x is not None])
    parts = np.array_split(out, indices_or_sections, axis)  # views of ``out``: writes land in it
    if len(parts) != len(g):
        raise ValueError(f"the adjoint of np.split has {len(g)} parts, the split {len(parts)}")
    for part, adjoint in zip(parts, g):
        if adjoint is not None:
            part[...] = adjoint
    return _like(ary, out)


def _meshgrid_axis(k, n, indexing):
    """The axis of the output along which the ``k``-th of ``n`` inputs runs."""
    if indexing == "xy" and n > 1 and k < 2:
        return 1 - k
    return k


def meshgrid_adjoint(g, xi, sparse=False, indexing="xy"):
    """Adjoint of ``np.meshgrid(*xi)``: output ``k`` repeats input ``k`` along every other axis, so input ``k``
    gets its output's adjoint summed over those axes (a tuple, one per input)."""
    n = len(xi)
    out = []
    for k, (x, gk) in enumerate(zip(xi, g)):
        if gk is None:
            out.append(_like(x, np.zeros(np.shape(x))))
            continue
        gk = _float(gk)
        axis = _meshgrid_axis(k, n, indexing)
        others = tuple(d for d in range(gk.ndim) if d != axis)
        out.append(_like(x, np.sum(gk, axis=others).reshape(np.shape(x))))
    return tuple(out)


def meshgrid_tangent(t, xi, sparse=False, indexing="xy"):
    """Tangent of ``np.meshgrid(*xi)``: the meshgrid of the inputs' tangents (None: zeros), a list."""
    tangents = [np.zeros(np.shape(x)) if tk is None else _float(tk) for x, tk in zip(xi, t)]
    return [np.array(m, dtype=np.float64) for m in np.meshgrid(*tangents, sparse=sparse, indexing=indexing)]


# -- cross and tensordot -------------------------------------------------------------------------------

def _as_3d(x, axis):
    """``x`` with its vector axis last, as 3-vectors (a 2-vector gets a zero third component)."""
    x = np.moveaxis(_float(x), axis, -1)
    if x.shape[-1] == 2:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (1,), dtype=x.dtype)], axis=-1)
    return x


def cross_adjoint(g, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None, which="a"):
    """Adjoint of ``np.cross(a, b, ...)`` in ``a`` (``which`` 'a') or ``b``.

    ``<g, a x b> = <a, b x g> = <b, g x a>``. 2-vectors are 3-vectors with a zero
    third component; the product of two of them is its third component alone.
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a3, b3 = _as_3d(a, axisa), _as_3d(b, axisb)
    planar = np.shape(a)[axisa] == 2 and np.shape(b)[axisb] == 2
    g = _float(g)
    if planar:
        g3 = np.zeros(g.shape + (3,), dtype=g.dtype)
        g3[..., 2] = g
    else:
        g3 = np.moveaxis(g, axisc, -1)
    x, axis_x = (a, axisa) if which == "a" else (b, axisb)
    out = np.cross(b3, g3) if which == "a" else np.cross(g3, a3)
    moved = np.moveaxis(np.asarray(x), axis_x, -1).shape
    out = _sum_to_shape(out[..., :moved[-1]], moved)
    return _like(x, np.moveaxis(out, -1, axis_x))


def _tensordot_axes(axes, ndim_a, ndim_b):
    """The contracted axes of ``a`` and ``b`` as two lists of non-negative axes, paired in order."""
    try:
        n = operator.index(axes)
    except TypeError:
        axes_a, axes_b = axes
        axes_a = [axes_a] if np.ndim(axes_a) == 0 else list(axes_a)
        axes_b = [axes_b] if np.ndim(axes_b) == 0 else list(axes_b)
        return [operator.index(k) % ndim_a for k in axes_a], [operator.index(k) % ndim_b for k in axes_b]
    return list(range(ndim_a - n, ndim_a)), list(range(n))


def tensordot_adjoint(g, a, b, axes=2, which="a"):
    """Adjoint of ``np.tensordot(a, b, axes)`` in ``a`` (``which`` 'a') or ``b``: ``g`` contracted with the other
    factor over that factor's free axes, then its axes put back in the factor's order."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    axes_a, axes_b = _tensordot_axes(axes, a_arr.ndim, b_arr.ndim)
    free_a = [k for k in range(a_arr.ndim) if k not in axes_a]
    free_b = [k for k in range(b_arr.ndim) if k not in axes_b]
    g = _float(g)
    if which == "a":
        out = np.tensordot(g, b_arr, axes=(list(range(len(free_a), len(free_a) + len(free_b))), free_b))
        order = free_a + [axes_a[axes_b.index(k)] for k in sorted(axes_b)]
        return _like(a, np.transpose(out, np.argsort(order)))
    out = np.tensordot(a_arr, g, axes=(free_a, list(range(len(free_a)))))
    order = [axes_b[axes_a.index(k)] for k in sorted(axes_a)] + free_b
    return _like(b, np.transpose(out, np.argsort(order)))


# -- gathers: take, take_along_axis, choose, compress ---------------------------------------------------

def _mode_indices(indices, n, mode):
    indices = np.asarray(indices)
    if mode == "wrap":
        return indices % n
    if mode == "clip":
        return np.clip(indices, 0, n - 1)
    return indices


def take_adjoint(g, a, indices, axis=None, mode="raise"):
    """Adjoint of ``np.take(a, indices, axis, mode=mode)``: ``g`` scattered back, an element taken several times
    receiving the sum of its copies' adjoints (``np.add.at``)."""
    shape = np.shape(a)
    g = _float(g)
    if axis is None:
        out = np.zeros(int(np.prod(shape)), dtype=g.dtype)
        np.add.at(out, _mode_indices(indices, out.size, mode), g)
        return _like(a, out.reshape(shape))
    ax = operator.index(axis) % len(shape)
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, (slice(None),) * ax + (_mode_indices(indices, shape[ax], mode),), g)
    return _like(a, out)


def take_along_axis_adjoint(g, arr, indices, axis):
    """Adjoint of ``np.take_along_axis(arr, indices, axis)``: ``g`` scattered back, repeats accumulating."""
    g = _float(g)
    if axis is None:
        out = np.zeros(np.size(arr), dtype=g.dtype)
        np.add.at(out, np.asarray(indices), g)
        return out.reshape(np.shape(arr))
    shape = np.shape(arr)
    ax = operator.index(axis) % len(shape)
    where = []
    for d, n in enumerate(shape):
        if d == ax:
            where.append(np.asarray(indices))
        else:
            where.append(np.arange(n).reshape([n if k == d else 1 for k in range(len(shape))]))
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, tuple(where), g)
    return out


def _choose_index(a, choices, mode):
    return _mode_indices(a, len(choices), mode)


def choose_adjoint(g, a, choices, mode="raise"):
    """Adjoint of ``np.choose(a, choices, mode=mode)`` in ``choices``: each choice gets ``g`` where ``a`` picks
    it, summed back to its own shape; a list or tuple of choices gets one adjoint each, an array its stack."""
    index = _choose_index(a, choices, mode)
    g = _float(g)
    parts = [_like(c, _sum_to_shape(np.where(index == k, g, 0.0), np.shape(c))) for k, c in enumerate(choices)]
    if isinstance(choices, np.ndarray):
        return np.stack(parts) if parts else np.zeros(choices.shape)
    return tuple(parts) if isinstance(choices, tuple) else parts


def choose_tangent(t, a, choices, mode="raise"):
    """Tangent of ``np.choose`` in ``choices``: the choices' tangents (None: zero) chosen the same way."""
    tangents = [np.zeros(np.shape(c)) if tk is None else _float(tk) for c, tk in zip(choices, t)]
    shape = np.broadcast_shapes(np.shape(a), *[np.shape(c) for c in choices])
    index = np.broadcast_to(_choose_index(a, choices, mode), shape)
    out = np.zeros(shape)
    for k, tk in enumerate(tangents):
        out = np.where(index == k, tk, out)
    return out


def compress_adjoint(g, condition, a, axis=None):
    """Adjoint of ``np.compress(condition, a, axis)``: ``g`` written back where ``condition`` is true."""
    kept = np.flatnonzero(condition)
    g = _float(g)
    shape = np.shape(a)
    if axis is None:
        out = np.zeros(int(np.prod(shape)), dtype=g.dtype)
        out[kept] = g
        return _like(a, out.reshape(shape))
    ax = operator.index(axis) % len(shape)
    out = np.zeros(shape, dtype=g.dtype)
    out[(slice(None),) * ax + (kept,)] = g
    return _like(a, out)


# -- polyval and interp ------------------------------------------------------------------------------

def polyval_slope(p, x):
    """The derivative in ``x`` of ``np.polyval(p, x)``: the polynomial of ``p``'s derivative at ``x``."""
    p = _float(p)
    n = p.shape[0]
    if n < 2:
        return _like(x, np.zeros(np.broadcast_shapes(np.shape(x), p.shape[1:])))
    powers = np.arange(n - 1, 0, -1, dtype=np.float64).reshape((n - 1,) + (1,) * (p.ndim - 1))
    return np.polyval(p[:-1] * powers, x)


def polyval_adjoint(g, p, x):
    """Adjoint of ``np.polyval(p, x)`` in ``p``: coefficient ``k`` (highest first) gets ``g * x**(n-1-k)``,
    summed back to its shape."""
    p_arr = np.asarray(p)
    n = p_arr.shape[0]
    g = _float(g)
    x = _float(x)
    out = np.zeros(p_arr.shape, dtype=np.result_type(g, x, np.float64))
    power = np.ones(np.broadcast_shapes(g.shape, x.shape))
    for k in range(n - 1, -1, -1):  # x**0 for the last coefficient, x**(n-1) for the first
        out[k] = _sum_to_shape(g * power, p_arr.shape[1:])
        power = power * x
    return out if not isinstance(p, list) else list(out)


def _interp_segments(x, xp):
    """Where each ``x`` falls in ``xp``: the segment index ``j`` (``xp[j] <= x < xp[j+1]``; the last segment at
    ``x == xp[-1]``), the weight of ``fp[j+1]``, and the masks of the points left and right of ``xp``."""
    xp = _float(xp)
    x = _float(x)
    n = xp.shape[0]
    if n < 2:
        j = np.zeros(x.shape, dtype=np.intp)
        return j, np.zeros(x.shape), np.zeros(x.shape, dtype=bool), np.zeros(x.shape, dtype=bool)
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, n - 2)
    width = xp[j + 1] - xp[j]
    w = np.where(width > 0, (x - xp[j]) / np.where(width > 0, width, 1.0), 1.0)
    return j, w, x < xp[0], x > xp[-1]


def interp_adjoint(g, x, xp, fp, left=None, right=None):
    """Adjoint of ``np.interp(x, xp, fp, left, right)`` in ``fp``: each ``x`` hands ``g`` to the two values of
    its segment by their interpolation weights; outside ``xp``, to the end value (none when ``left`` or
    ``right`` replaces it)."""
    j, w, below, above = _interp_segments(x, xp)
    g = np.broadcast_to(_float(g), j.shape)
    keep_left, keep_right = float(left is None), float(right is None)
    out = np.zeros(np.shape(fp)[0], dtype=g.dtype)
    if out.shape[0] == 1:  # one point: its value everywhere (but where left/right replace it)
        out[0] = np.sum(np.where(below, keep_left * g, np.where(above, keep_right * g, g)))
    else:
        np.add.at(out, j, np.where(below, keep_left * g, np.where(above, 0.0, (1.0 - w) * g)))
        np.add.at(out, j + 1, np.where(above, keep_right * g, np.where(below, 0.0, w * g)))
    return list(out) if isinstance(fp, list) else out


def interp_tangent(t, x, xp, left=None, right=None):
    """Tangent of ``np.interp`` in ``fp``: the tangent interpolated the same way (a given ``left``/``right`` is a
    constant: its tangent is zero)."""
    return np.interp(x, xp, _float(t), None if left is None else 0.0, None if right is None else 0.0)


def interp_slope(x, xp, fp, left=None, right=None):
    """The derivative of ``np.interp(x, xp, fp)`` in ``x``: the slope of the segment ``x`` is in, 0 outside
    ``xp``. At an interior knot it is the slope of the segment to its right; at ``xp[0]`` the first segment's,
    at ``xp[-1]`` the last one's (the one-sided slopes from inside the range)."""
    j, _, below, above = _interp_segments(x, xp)
    xp, fp = _float(xp), _float(fp)
    if xp.shape[0] < 2:
        return _like(x, np.zeros(j.shape))
    width = xp[j + 1] - xp[j]
    slope = np.where(width > 0, (fp[j + 1] - fp[j]) / np.where(width > 0, width, 1.0), 0.0)
    return _like(x, np.where(below | above, 0.0, slope))


# -- convolve and correlate ------------------------------------------------------------------------------

def _full_adjoint(g, n, m, mode, late=False):
    """``g`` of ``mode`` ('full', 'same', 'valid') of a convolution of lengths ``n`` and ``m``, put back in the
    full result (zeros outside): 'same' and 'valid' are centred slices of 'full'. When 'same' cannot be centred
    exactly, it starts ``(min(n, m) - 1) // 2`` in, or one later with ``late``."""
    g = _float(g)
    length = n + m - 1
    extra = min(n, m) - 1
    start = {"full": 0, "same": extra - extra // 2 if late else extra // 2, "valid": extra}[mode]
    out = np.zeros(length, dtype=g.dtype)
    out[start:start + g.shape[0]] = g
    return out


def convolve_adjoint(g, a, v, mode="full", which="a", late=False):
    """Adjoint of ``np.convolve(a, v, mode)`` in ``a`` (``which`` 'a') or ``v``: the full adjoint correlated
    with the other factor (``full[k] = sum_i a[i] v[k - i]``)."""
    n, m = np.size(a), np.size(v)
    full = _full_adjoint(g, n, m, mode, late)
    if which == "a":
        return _like(a, np.correlate(full, _float(v), "valid")[:n])
    return _like(v, np.correlate(full, _float(a), "valid")[:m])


def correlate_adjoint(g, a, v, mode="valid", which="a"):
    """Adjoint of ``np.correlate(a, v, mode)`` (real values) in ``a`` or ``v``: the correlation is the
    convolution with ``v`` reversed (NumPy centres 'same' one element later when ``v`` is the longer)."""
    reversed_v = _float(v)[::-1]
    late = np.size(v) > np.size(a)
    if which == "a":
        return convolve_adjoint(g, a, reversed_v, mode, "a", late)
    return _like(v, convolve_adjoint(g, a, reversed_v, mode, "v", late)[::-1].copy())
