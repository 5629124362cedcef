"""NumPy runtime helpers of the rearranging, gathering and sliding rules (roll, pad, split, cross, tensordot,
take, take_along_axis, choose, compress, meshgrid, polyval, interp, convolve, correlate), and of finite
differences, integration, polynomials and spaced samples (gradient, trapezoid, vander, polyadd/mul/der/int,
polyfit, logspace, geomspace, partition, select, bincount).

Like the other helpers, each returns a fresh array, or a Python float where the
primal argument was a Python scalar. An adjoint ``g`` of a list result (np.split,
np.meshgrid) is a list whose entries may be None (no gradient reached that part).
"""
from __future__ import annotations

import operator

import numpy as np

from .numpy_array_ops import _float, _like, _refuse, _sum_to_shape, linspace_adjoint
from .numpy_shape_ops import _shaped

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
    x = a if which == "a" else b
    axis_x = axisa if which == "a" else axisb
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
    if n == 0:
        return np.zeros(p_arr.shape, dtype=np.result_type(g, x, np.float64))
    power = np.ones(np.broadcast_shapes(g.shape, x.shape))
    rows = []  # x**0 for the last coefficient, ..., x**(n-1) for the first
    for _ in range(n):
        rows.append(np.broadcast_to(_sum_to_shape(g * power, p_arr.shape[1:]), p_arr.shape[1:]))
        power = power * x
    out = np.flip(np.stack(rows), 0).astype(np.result_type(g, x, np.float64))
    return out if not isinstance(p, list) else list(out)


def _interp_weight(x, xp, j):
    """The weight of ``fp[j+1]`` at ``x`` in segment ``j`` (1 in a segment of zero width)."""
    width = xp[j + 1] - xp[j]
    return np.where(width > 0, (x - xp[j]) / np.where(width > 0, width, 1.0), 1.0)


def _interp_segments(x, xp):
    """Where each ``x`` falls in ``xp``: the segment index ``j`` (``xp[j] <= x < xp[j+1]``; the last segment at
    ``x == xp[-1]``), the weight of ``fp[j+1]``, and the masks of the points left and right of ``xp``."""
    xp = _float(xp)
    x = _float(x)
    n = xp.shape[0]
    if n < 2:
        return np.zeros(x.shape, dtype=np.intp), np.zeros(x.shape), x < xp[0], x > xp[-1]
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, n - 2)
    return j, _interp_weight(x, xp, j), x < xp[0], x > xp[-1]


def interp_adjoint(g, x, xp, fp, left=None, right=None):
    """Adjoint of ``np.interp(x, xp, fp, left, right)`` in ``fp``: each ``x`` hands ``g`` to the two values of
    its segment by their interpolation weights; outside ``xp``, to the end value (none when ``left`` or
    ``right`` replaces it)."""
    xs, xps = _float(x), _float(xp)
    below, above = xs < xps[0], xs > xps[-1]
    g = np.broadcast_to(_float(g), xs.shape)
    keep_left, keep_right = float(left is None), float(right is None)
    n = np.shape(fp)[0]
    if n == 1:  # one point: its value everywhere (but where left/right replace it)
        out = np.reshape(np.sum(np.where(below, keep_left * g, np.where(above, keep_right * g, g))), (1,))
    else:  # summed in the order np.add.at would: the lower ends' shares, then the upper ends'
        j = np.clip(np.searchsorted(xps, xs, side="right") - 1, 0, n - 2)  # the segment of each x, as above
        w = _interp_weight(xs, xps, j)
        lower = np.where(below, keep_left * g, np.where(above, 0.0, (1.0 - w) * g))
        upper = np.where(above, keep_right * g, np.where(below, 0.0, w * g))
        out = np.bincount(np.concatenate([np.ravel(j), np.ravel(j) + 1]),
                          np.concatenate([np.ravel(lower), np.ravel(upper)]), n).astype(g.dtype)
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
    return _like(x, np.where(np.logical_or(below, above), 0.0, slope))


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


# -- numpy breadth: finite differences, integration, polynomials, spaced samples, partition, select ----------

__all__ += ["gradient_adjoint", "gradient_tangent", "trapezoid_adjoint", "trapezoid_tangent", "vander_slope",
            "polyadd_adjoint", "polymul_adjoint", "polymul_tangent", "polyder_adjoint", "polyint_adjoint",
            "polyfit_adjoint",
            "polyfit_tangent",
            "logspace_adjoint", "logspace_tangent", "geomspace_adjoint", "geomspace_tangent", "partition_adjoint",
            "partition_tangent", "select_adjoint", "select_tangent", "bincount_adjoint"]


def _gradient_axes(ndim, axis):
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(operator.index(a) % ndim for a in items)


def _gradient_spacings(varargs, count):
    """One spacing (a number or a coordinate array) per differentiated axis, as ``np.gradient`` reads them."""
    if len(varargs) == 0:
        return [1.0] * count
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return [varargs[0]] * count
    if len(varargs) != count:
        raise TypeError("invalid number of arguments")
    return list(varargs)


def _gradient_bands(n, spacing, edge_order):
    """The matrix ``D`` of ``np.gradient`` along an axis of length ``n`` (``D[i, j]`` zero unless
    ``|i - j| <= 2``), as its five diagonals ``{d: c}``, ``c[i] = D[i, i + d]``. They are read off NumPy's own
    result for five probes, the indicators of the indices ``j % 5 == r``: row ``i`` of ``D`` meets each
    residue once among the five columns it may use, so the coefficients are NumPy's, edges included."""
    index = np.arange(n)
    probes = np.stack([np.gradient((index % 5 == r).astype(np.float64), spacing, edge_order=edge_order)
                       for r in range(5)])
    bands = {}
    for d in range(-2, 3):
        j = index + d
        bands[d] = np.where(np.logical_and(j >= 0, j < n), probes[j % 5, index], 0.0)
    return bands


def _uniform_gradient_transpose(gm, h, edge_order):
    """``D^T g`` along the last axis for a uniform spacing ``h``: NumPy's central differences inside, one-sided
    ones of first or second order at the two ends, transposed."""
    out = np.zeros(gm.shape, dtype=gm.dtype)
    half = gm[..., 1:-1] * (0.5 / h)
    out[..., :-2] -= half
    out[..., 2:] += half
    first, last = gm[..., 0] / h, gm[..., -1] / h
    if edge_order == 1:
        out[..., 0] -= first
        out[..., 1] += first
        out[..., -2] -= last
        out[..., -1] += last
    else:
        out[..., 0] -= 1.5 * first
        out[..., 1] += 2.0 * first
        out[..., 2] -= 0.5 * first
        out[..., -3] += 0.5 * last
        out[..., -2] -= 2.0 * last
        out[..., -1] += 1.5 * last
    return out


def _gradient_transpose(g, axis, n, spacing, edge_order):
    """``D^T g`` along ``axis``: ``out[j] = sum_d D[j - d, j] g[j - d]`` (directly for a uniform spacing)."""
    gm = np.moveaxis(_float(g), axis, -1)
    if np.ndim(spacing) == 0:
        return np.moveaxis(_uniform_gradient_transpose(gm, float(spacing), edge_order), -1, axis)
    out = np.zeros(gm.shape, dtype=gm.dtype)
    for d, c in _gradient_bands(n, spacing, edge_order).items():
        weighted = gm * c
        if d > 0:
            out[..., d:] += weighted[..., :n - d]
        elif d < 0:
            out[..., :n + d] += weighted[..., -d:]
        else:
            out += weighted
    return np.moveaxis(out, -1, axis)


def gradient_adjoint(g, f, varargs=(), axis=None, edge_order=1):
    """Adjoint of ``np.gradient(f, *varargs, axis=axis, edge_order=edge_order)``, linear in ``f``: each axis's
    result adjoint through the transpose of that axis's difference matrix, summed (None: no adjoint)."""
    shape = np.shape(f)
    axes = _gradient_axes(len(shape), axis)
    spacings = _gradient_spacings(varargs, len(axes))
    parts = [g] if len(axes) == 1 else list(g)
    out = np.zeros(shape)
    for ax, spacing, part in zip(axes, spacings, parts):
        if part is not None:
            out = out + _gradient_transpose(part, ax, shape[ax], spacing, edge_order)
    return out


def gradient_tangent(t, f, varargs=(), axis=None, edge_order=1):
    """Tangent of ``np.gradient``: the gradient of the tangent, with the same spacings."""
    return np.gradient(np.broadcast_to(_float(t), np.shape(f)), *varargs, axis=axis, edge_order=edge_order)


def _trapezoid_widths(ndim, x, dx, axis):
    """The widths ``d`` that ``np.trapezoid`` multiplies the mean of each pair of neighbours by, shaped to
    broadcast against them (``y`` has ``ndim`` axes)."""
    if x is None:
        return np.asarray(dx, dtype=np.float64)
    x = _float(x)
    if x.ndim == 1:
        ax = operator.index(axis) % ndim
        return np.diff(x).reshape(tuple(x.shape[0] - 1 if i == ax else 1 for i in range(ndim)))
    return np.diff(x, axis=axis)


def _pairs(y, ax):
    """``y[..., 1:, ...]`` and ``y[..., :-1, ...]`` along ``ax``."""
    n = np.shape(y)[ax]
    return np.take(y, np.arange(1, n), axis=ax), np.take(y, np.arange(n - 1), axis=ax)


def trapezoid_adjoint(g, y, x=None, dx=1.0, axis=-1, which="y"):
    """Adjoint of ``np.trapezoid(y, x, dx, axis) = sum(d * (y[1:] + y[:-1]) / 2)`` in ``y``, ``x`` (through
    ``d = diff(x)``) or ``dx`` (``which``); ``dx`` gets 0 when ``x`` is given (it is not used then)."""
    ya = _float(y)
    ax = operator.index(axis) % np.ndim(y)
    d = _trapezoid_widths(np.ndim(y), x, dx, axis)
    ge = np.expand_dims(_float(g), ax)
    if which == "y":
        upper = _pairs(ya, ax)[0]
        w = d * ge / 2.0
        w = _sum_to_shape(np.broadcast_to(w, np.broadcast_shapes(w.shape, upper.shape)), upper.shape)
        # y[i] is in the pairs i - 1 and i: out[i] = (0 + w[i-1]) + w[i], summed as written in place before
        after = tuple((1, 0) if i == ax else (0, 0) for i in range(ya.ndim))
        before = tuple((0, 1) if i == ax else (0, 0) for i in range(ya.ndim))
        return _like(y, np.zeros(ya.shape) + np.pad(w, after) + np.pad(w, before))
    upper, lower = _pairs(ya, ax)
    gd = ge * (upper + lower) / 2.0
    if which == "dx":
        if x is not None:
            return _like(dx, np.zeros(np.shape(dx)))
        return _like(dx, _sum_to_shape(gd, np.shape(dx)))
    xa = _float(x)
    if xa.ndim == 1:
        gd = np.sum(np.moveaxis(gd, ax, -1).reshape(-1, gd.shape[ax]), axis=0)
        return _like(x, -np.diff(np.concatenate([[0.0], gd, [0.0]])))
    gd = _sum_to_shape(gd, np.diff(xa, axis=axis).shape)
    xax = operator.index(axis) % xa.ndim
    pad = [(0, 0)] * xa.ndim
    pad[xax] = (1, 1)
    return _like(x, -np.diff(np.pad(gd, pad), axis=xax))


def trapezoid_tangent(t, y, x=None, dx=1.0, axis=-1, which="y"):
    """Tangent of ``np.trapezoid`` in ``y``, ``x`` or ``dx`` (``which``); in ``dx``, 0 when ``x`` is given."""
    if which == "y":
        return np.trapezoid(_float(t), x, dx, axis)
    if which == "x":
        return np.trapezoid(y, _float(t), axis=axis)
    if x is not None:
        return np.zeros(np.shape(np.trapezoid(y, x, dx, axis)))
    return np.trapezoid(y, dx=_float(t), axis=axis)


def vander_slope(x, N=None, increasing=False):
    """``d np.vander(x, N, increasing) / dx`` element by element: ``k x**(k - 1)`` in the column of power ``k``
    (0 in the column of power 0, also at ``x == 0``)."""
    x = _float(x)
    n = x.shape[0] if N is None else operator.index(N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    return powers * x[:, None] ** np.maximum(powers - 1, 0)


def polyadd_adjoint(g, a, sign=1.0):
    """Adjoint of ``np.polyadd(a1, a2)`` (``np.polysub`` with ``sign`` -1 for ``a2``) in one of them: the
    coefficients are aligned at the end (the constant term), so ``a`` gets the last ``len(a)`` entries of ``g``."""
    g = np.ravel(_float(g))
    size = np.size(np.atleast_1d(a))
    return _shaped(sign * g[g.size - size:], a)


def polymul_adjoint(g, a1, a2, which="a1"):
    """Adjoint of ``np.polymul(a1, a2)``, the full convolution of the coefficients, in ``a1`` or ``a2``."""
    x, y = np.ravel(_float(a1)), np.ravel(_float(a2))
    if which == "a1":
        return _shaped(convolve_adjoint(g, x, y, "full", "a"), a1)
    return _shaped(convolve_adjoint(g, x, y, "full", "v"), a2)


def polymul_tangent(t, other, ans):
    """Tangent of ``np.polymul`` from one factor's tangent ``t``: the full convolution with the other factor, as
    long as the product (``np.polymul`` drops leading zero coefficients of the product, and ``t`` may start with
    zeros where the factor does not)."""
    full = np.convolve(np.ravel(t), np.ravel(_float(other)))
    return full[len(full) - np.size(ans):]


def polyder_adjoint(g, p, m=1):
    """Adjoint of ``np.polyder(p, m)``: coefficient ``i`` of the result is ``p[i]`` times a constant (the falling
    factorial of its power), which ``np.polyder`` of ones gives; the last ``m`` coefficients of ``p`` (the
    lowest powers) get 0."""
    size = np.size(p)
    factors = np.polyder(np.ones(size), m)
    out = np.zeros(size)
    out[:factors.size] = np.ravel(_float(g))[:factors.size] * factors
    return _shaped(out, p)


def polyint_adjoint(g, p, m=1, k=None, which="p"):
    """Adjoint of ``np.polyint(p, m, k)`` in ``p`` or the integration constants ``k``: the map is linear in both
    and small, so its matrix is read column by column from ``np.polyint`` of unit vectors."""
    g = np.ravel(_float(g))
    if which == "p":
        basis = np.eye(np.size(p))
        columns = [np.polyint(e, m) for e in basis]
        return _shaped(np.array([np.dot(c, g) for c in columns]), p)
    size = np.size(k)
    zero = np.zeros(np.size(p))
    columns = [np.polyint(zero, m, np.reshape(e, np.shape(k))) for e in np.eye(size)]
    return _shaped(np.array([np.dot(c, g) for c in columns]), k)


def _polyfit_parts(x, deg, rcond=None, full=False, w=None, cov=False):
    """For ``np.polyfit``: the weights, the weighted Vandermonde matrix ``A`` (NumPy's ``lhs`` before it scales
    the columns), its pseudo-inverse with NumPy's cut-off ``rcond`` (the coefficients are ``A+ (w y)``), and
    whether ``A`` has full column rank."""
    if full or cov:
        _refuse("np.polyfit(..., full=True) or cov=True has no derivative rule",
                "call np.polyfit for the coefficients alone")
    x = _float(x)
    order = operator.index(deg) + 1
    rcond = x.shape[0] * np.finfo(x.dtype).eps if rcond is None else rcond
    weights = np.ones(x.shape[0]) if w is None else _float(w)
    lhs = np.vander(x, order) * weights[:, None]
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    scaled = lhs / scale
    s = np.linalg.svd(scaled, compute_uv=False)
    full_rank = s.shape[0] == order and s[-1] > rcond * s[0]
    return weights, lhs, np.linalg.pinv(scaled, rcond=rcond) / scale[:, None], full_rank


def _polyfit_x_parts(x, y, deg, rcond, full, w, cov, ans):
    """What the derivative in the points ``x`` needs: the weights, ``A``, ``A+``, the slopes of ``A`` in each
    point (``vander_slope`` times the weight), the weighted residuals ``w y - A c`` and the coefficients ``c``.
    A rank below ``deg + 1`` is refused: the fit is not differentiable in ``x`` there."""
    weights, lhs, pinv, full_rank = _polyfit_parts(x, deg, rcond, full, w, cov)
    if not full_rank:
        _refuse("np.polyfit in its points x, with fewer distinct points than coefficients (a rank-deficient "
                "fit), has no derivative", "fit a lower degree, or do not differentiate with respect to x")
    c = _float(ans)
    yw = _float(y) * (weights if np.ndim(y) == 1 else weights[:, None])
    slopes = vander_slope(x, operator.index(deg) + 1) * weights[:, None]
    return weights, lhs, pinv, slopes, yw - lhs @ c, c


def polyfit_adjoint(g, x, y, deg, rcond=None, full=False, w=None, cov=False, ans=None, which="y"):
    """Adjoint of ``np.polyfit(x, y, deg, rcond, w=w)`` in ``y`` or ``x``.

    The coefficients are ``c = A+ (w y)`` (weighted least squares, NumPy's cut-off ``rcond``): linear in ``y``,
    which gets ``w A+^T g``. In ``x`` (full column rank): ``dc = (A^T A)^-1 (dA^T r - A^T dA c)`` with ``r``
    the weighted residuals, so point ``i`` gets ``sum_k dA[i, k] (r_i z_k - (A z)_i c_k)``, ``z = (A^T A)^-1 g``.
    """
    g = _float(g)
    if which == "y":
        weights, lhs, pinv, _ = _polyfit_parts(x, deg, rcond, full, w, cov)
        return _shaped((pinv.T @ g) * (weights if g.ndim == 1 else weights[:, None]), y)
    weights, lhs, pinv, slopes, residuals, c = _polyfit_x_parts(x, y, deg, rcond, full, w, cov, ans)
    z = pinv @ (pinv.T @ g)
    if g.ndim == 1:
        coupling = np.outer(residuals, z) - np.outer(lhs @ z, c)
    else:
        coupling = residuals @ z.T - (lhs @ z) @ c.T
    return _shaped(np.sum(slopes * coupling, axis=1), x)


def polyfit_tangent(t, x, y, deg, rcond=None, full=False, w=None, cov=False, ans=None, which="y"):
    """Tangent of ``np.polyfit`` in ``y`` (the fit of the tangent) or ``x``: ``A+ A+^T dA^T r - A+ dA c``."""
    if which == "y":
        weights, lhs, pinv, _ = _polyfit_parts(x, deg, rcond, full, w, cov)
        t = _float(t)
        return pinv @ (t * (weights if t.ndim == 1 else weights[:, None]))
    weights, lhs, pinv, slopes, residuals, c = _polyfit_x_parts(x, y, deg, rcond, full, w, cov, ans)
    d_lhs = _float(t)[:, None] * slopes
    return pinv @ (pinv.T @ (d_lhs.T @ residuals)) - pinv @ (d_lhs @ c)


def _spaced_fraction(num, endpoint, axis, ndim):
    """Sample ``k``'s fraction ``k / (num - 1)`` (``k / num`` without the endpoint) of the way from start to
    stop, shaped to broadcast along ``axis`` of a result of ``ndim`` axes."""
    num = operator.index(num)
    div = (num - 1) if endpoint else num
    s = np.arange(num, dtype=np.float64) / div if div > 0 else np.zeros(num)
    shape = [1] * ndim
    shape[operator.index(axis) % ndim] = num
    return s.reshape(shape)


def _along_samples(x, ans, axis):
    """``x`` (``start``, ``stop``, ``base`` or a tangent of one) shaped to broadcast against the result of
    ``np.logspace``/``np.geomspace``: promoted to the result's other axes, with the samples' axis inserted."""
    x = _float(x)
    ndim = np.ndim(ans)
    x = x.reshape((1,) * (ndim - 1 - x.ndim) + x.shape)
    return np.expand_dims(x, operator.index(axis) % ndim)


def _log_base(base, ans, axis):
    """``log(base)`` shaped as ``np.logspace`` broadcasts ``base`` against its result."""
    return np.log(_along_samples(base, ans, axis))


def logspace_adjoint(g, start, stop, num=50, endpoint=True, base=10.0, axis=0, ans=None, which="start"):
    """Adjoint of ``np.logspace``, ``base ** linspace(start, stop)``, in ``start`` or ``stop``: through the
    linspace, with slope ``ans log(base)``."""
    inner = _float(g) * ans * _log_base(base, ans, axis)
    return linspace_adjoint(inner, start, stop, num, endpoint, axis, False, which)


def logspace_tangent(t, start, stop, num=50, endpoint=True, base=10.0, axis=0, ans=None, which="start"):
    """Tangent of ``np.logspace`` in ``start`` or ``stop``."""
    s = _spaced_fraction(num, endpoint, axis, np.ndim(ans))
    weight = 1.0 - s if which == "start" else s
    return ans * _log_base(base, ans, axis) * weight * _along_samples(t, ans, axis)


def _geomspace_slope(start, stop, num, endpoint, axis, ans, which):
    """``d ans / d start`` (``which`` 'start') or ``d ans / d stop``: ``ans (1 - s) / start`` and ``ans s / stop``
    with ``s`` the fraction of the way (``ans = start (stop / start) ** s``)."""
    s = _spaced_fraction(num, endpoint, axis, np.ndim(ans))
    if which == "start":
        return ans * (1.0 - s) / _along_samples(start, ans, axis)
    return ans * s / _along_samples(stop, ans, axis)


def geomspace_adjoint(g, start, stop, num=50, endpoint=True, axis=0, ans=None, which="start"):
    """Adjoint of ``np.geomspace`` in ``start`` or ``stop``: ``g`` times the slope, summed along the samples and
    back to the argument's shape."""
    slope = _geomspace_slope(start, stop, num, endpoint, axis, ans, which)
    ax = operator.index(axis) % np.ndim(ans)
    primal = start if which == "start" else stop
    return _like(primal, _sum_to_shape(np.sum(_float(g) * slope, axis=ax), np.shape(primal)))


def geomspace_tangent(t, start, stop, num=50, endpoint=True, axis=0, ans=None, which="start"):
    """Tangent of ``np.geomspace`` in ``start`` or ``stop``."""
    return _geomspace_slope(start, stop, num, endpoint, axis, ans, which) * _along_samples(t, ans, axis)


def _partition_permutation(a, ans, axis):
    """The permutation ``p`` along the axis with ``ans == take_along_axis(a, p)``, from the values themselves:
    the ``j``-th smallest entry of ``ans`` is the ``j``-th smallest of ``a`` (a stable sort of each pairs tied
    entries in order). ``a`` flattened for ``axis`` None, and the axis."""
    a, ans = _float(a), _float(ans)
    if axis is None:
        a, ax = a.ravel(), 0
    else:
        ax = operator.index(axis) % a.ndim
    from_a = np.argsort(a, axis=ax, kind="stable")
    from_ans = np.argsort(ans, axis=ax, kind="stable")
    permutation = np.empty_like(from_a)
    np.put_along_axis(permutation, from_ans, from_a, axis=ax)
    return a, permutation, ax


def partition_adjoint(g, a, ans, axis=-1):
    """Adjoint of ``np.partition(a, kth, axis)``: a permutation of ``a``, so ``g`` goes back through it."""
    flat, permutation, ax = _partition_permutation(a, ans, axis)
    out = np.zeros(flat.shape)
    np.put_along_axis(out, permutation, _float(g), axis=ax)
    return _like(a, out.reshape(np.shape(a)))


def partition_tangent(t, a, ans, axis=-1):
    """Tangent of ``np.partition``: the tangent permuted as the values are."""
    flat, permutation, ax = _partition_permutation(a, ans, axis)
    tt = np.broadcast_to(_float(t), np.shape(a))
    return np.take_along_axis(tt.ravel() if axis is None else tt, permutation, axis=ax)


def _selected(condlist, count):
    """Which choice ``np.select`` takes at each element: the first condition that holds, ``count`` (the default)
    where none does."""
    return np.select(condlist, list(range(count)), default=count)


def select_adjoint(g, condlist, choicelist, default=0, which="choicelist"):
    """Adjoint of ``np.select(condlist, choicelist, default)`` in the choices (a list, one per choice) or the
    default: ``g`` where that one is taken, summed back to its shape."""
    g = _float(g)
    picked = np.broadcast_to(_selected(condlist, len(choicelist)), g.shape)
    if which == "default":
        return _like(default, _sum_to_shape(np.where(picked == len(choicelist), g, 0.0), np.shape(default)))
    parts = [_like(c, _sum_to_shape(np.where(picked == k, g, 0.0), np.shape(c))) for k, c in enumerate(choicelist)]
    return tuple(parts) if isinstance(choicelist, tuple) else parts


def select_tangent(t, condlist, choicelist, default=0, which="choicelist"):
    """Tangent of ``np.select`` in the choices (``t`` a list, None: no tangent) or the default."""
    picked = _selected(condlist, len(choicelist))
    if which == "default":
        return np.where(picked == len(choicelist), _float(t), 0.0)
    out = 0.0
    for k, tk in enumerate(t):
        if tk is not None:
            out = out + np.where(picked == k, _float(tk), 0.0)
    return out


def bincount_adjoint(g, x, weights):
    """Adjoint of ``np.bincount(x, weights, minlength)`` in the weights: each weight gets ``g`` of its bin."""
    return _shaped(np.asarray(_float(g))[np.asarray(x)], weights)
