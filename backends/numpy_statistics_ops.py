"""NumPy runtime helpers of the statistics rules (NaN-aware reductions, ``average``, ``ptp``, order
statistics, ``cov``/``corrcoef``), of the elementwise ``sinc`` and of ``math.prod``, ``math.dist``,
``math.gamma`` and ``math.lgamma``.

The conventions at ties and kinks are those documented in ``rules/numpy/statistics.py``,
``rules/numpy/elementwise.py`` and ``rules/math_module.py``. Helpers return fresh arrays, and a Python
float where the primal argument was a Python scalar.
"""
from __future__ import annotations

import math

import numpy as np

from .numpy_adjoints import as_list_adjoint, as_tuple_adjoint
from .numpy_array_ops import _axes, _expand, _float, _like, _refuse, extremum_adjoint, prod_adjoint
from .numpy_shape_ops import cumprod_adjoint, cumprod_tangent, cumsum_adjoint

__all__ = [
    # elementwise
    "sinc_slope", "digamma",
    # NaN-aware reductions, ptp, average
    "nan_sum_adjoint", "nan_mean_adjoint", "nan_extremum_adjoint", "ptp_adjoint",
    "average_adjoint_a", "average_adjoint_weights", "average_tangent_weights",
    # order statistics
    "quantile_adjoint", "quantile_tangent",
    # covariance and correlation
    "cov_adjoint", "cov_tangent", "corrcoef_adjoint", "corrcoef_tangent",
    # math module
    "sequence_prod_adjoint", "sequence_prod_tangent", "dist_adjoint", "dist_tangent",
]


# ------------------------------------------------------------------------------------- elementwise

def sinc_slope(x, ans):
    """``d sinc(x)/dx = (cos(pi x) - sinc(x)) / x`` for ``np.sinc(x) = sin(pi x) / (pi x)``; 0 at ``x == 0``.

    Near 0 the quotient cancels, so for ``|x| < 0.01`` the Maclaurin series
    ``-pi^2 x / 3 + pi^4 x^3 / 30 - pi^6 x^5 / 840`` is used instead (its next term is below 1e-13 of it).
    """
    xa = _float(x)
    small = np.abs(xa) < 0.01
    safe = np.where(small, 1.0, xa)
    x2 = xa * xa
    series = xa * (-math.pi**2 / 3 + x2 * (math.pi**4 / 30 - x2 * math.pi**6 / 840))
    out = np.where(small, series, (np.cos(np.pi * safe) - ans) / safe)
    return _like(x, out)


def digamma(x):
    """The digamma function ``psi(x) = d log|Gamma(x)| / dx`` of a real number (not a pole).

    Reflection ``psi(x) = psi(1 - x) - pi / tan(pi x)`` below 0.5, the recurrence
    ``psi(x) = psi(x + 1) - 1 / x`` up to 10, then the asymptotic series in ``1 / x**2``.
    """
    x = float(x)
    if x <= 0 and x == math.floor(x):
        return math.nan  # a pole of Gamma
    if x < 0.5:
        return digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    shift = 0.0
    while x < 10.0:
        shift -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    # Bernoulli numbers B_2k / (2k): 1/12, -1/120, 1/252, -1/240, 1/132, -691/32760, 1/12
    series = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132 - r * (691 / 32760
                                                                                              - r / 12))))))
    return shift + math.log(x) - 0.5 / x - series


# ----------------------------------------------------------------------------- NaN-aware reductions

def nan_sum_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of ``np.nansum``: ``g`` broadcast back over the reduced axes, 0 at the NaN entries."""
    xa = _float(a)
    axes = _axes(axis, xa.ndim)
    out = np.where(np.isnan(xa), 0.0, np.broadcast_to(_expand(g, xa.ndim, axes, keepdims), xa.shape))
    return _like(a, out)


def nan_mean_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of ``np.nanmean``: ``g / count`` at the entries that are not NaN (``count`` of them), 0 at NaNs."""
    xa = _float(a)
    axes = _axes(axis, xa.ndim)
    keep = np.logical_not(np.isnan(xa))
    count = np.maximum(np.sum(keep, axis=axes, keepdims=True), 1)
    out = np.where(keep, np.broadcast_to(_expand(g, xa.ndim, axes, keepdims) / count, xa.shape), 0.0)
    return _like(a, out)


def nan_extremum_adjoint(g, a, ans, axis=None, keepdims=False):
    """Adjoint of ``np.nanmax``/``np.nanmin``: the extremum's adjoint shared evenly among the entries equal to
    it (as ``extremum_adjoint``); NaN entries get 0, also in a slice that holds only NaNs."""
    xa = _float(a)
    out = np.where(np.isnan(xa), 0.0, extremum_adjoint(g, xa, ans, axis, keepdims))
    return _like(a, out)


def ptp_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of ``np.ptp(a) = max(a) - min(a)``: ``g`` to the maximum, ``-g`` to the minimum, each shared
    evenly among tied entries (so a constant slice gets 0 everywhere)."""
    xa = _float(a)
    top = np.max(xa, axis=axis, keepdims=keepdims)
    bottom = np.min(xa, axis=axis, keepdims=keepdims)
    out = extremum_adjoint(g, xa, top, axis, keepdims) - extremum_adjoint(g, xa, bottom, axis, keepdims)
    return _like(a, out)


# ---------------------------------------------------------------------------------------- average

def _weights_axes(a, weights, axis):
    """``(axes in the order given, ndim)`` where ``weights`` has a shape of its own (``np.average``'s
    1-D weights along ``axis``, or weights with the shape of ``a`` along a tuple of axes)."""
    ndim = np.ndim(a)
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    given = tuple(int(i) % ndim for i in items)
    return given, ndim


def _broadcast_weights(a, weights, axis):
    """``weights`` shaped to broadcast against ``a``, as ``np.average`` does."""
    w = _float(weights)
    if w.shape == np.shape(a):
        return w
    given, ndim = _weights_axes(a, weights, axis)
    w = np.transpose(w, np.argsort(given))
    return w.reshape(tuple(np.shape(a)[i] if i in given else 1 for i in range(ndim)))


def _weights_back(gw, a, weights, axis):
    """A full-shape adjoint of the broadcast weights, summed back to the shape of ``weights``."""
    if np.shape(weights) == np.shape(a):
        return _like(weights, gw)
    given, ndim = _weights_axes(a, weights, axis)
    others = tuple(i for i in range(ndim) if i not in given)
    summed = np.sum(gw, axis=others)  # its axes: ``given`` sorted
    return _like(weights, np.transpose(summed, np.argsort(np.argsort(given))))


def average_adjoint_a(g, a, axis=None, weights=None, keepdims=False):
    """Adjoint of ``np.average`` in ``a``: ``g w / sum(w)`` (``g / count`` without weights)."""
    xa = _float(a)
    axes = _axes(axis, xa.ndim)
    g = _expand(g, xa.ndim, axes, keepdims)
    if weights is None:
        count = int(np.prod([xa.shape[i] for i in axes]))
        return _like(a, np.array(np.broadcast_to(g / count, xa.shape)))
    w = np.broadcast_to(_broadcast_weights(xa, weights, axis), xa.shape)
    total = np.sum(w, axis=axes, keepdims=True)
    return _like(a, g * w / total)


def average_adjoint_weights(g, a, axis=None, weights=None, ans=None, keepdims=False):
    """Adjoint of ``np.average`` in ``weights``: ``g (a - average) / sum(w)``, summed back to the weights' shape."""
    xa = _float(a)
    axes = _axes(axis, xa.ndim)
    g = _expand(g, xa.ndim, axes, keepdims)
    w = np.broadcast_to(_broadcast_weights(xa, weights, axis), xa.shape)
    total = np.sum(w, axis=axes, keepdims=True)
    gw = g * (xa - _expand(ans, xa.ndim, axes, keepdims)) / total
    return _weights_back(gw, xa, weights, axis)


def average_tangent_weights(t, a, axis=None, weights=None, ans=None, keepdims=False):
    """Tangent of ``np.average`` in ``weights``: ``sum(t (a - average)) / sum(w)`` over the averaged axes."""
    xa = _float(a)
    axes = _axes(axis, xa.ndim)
    w = np.broadcast_to(_broadcast_weights(xa, weights, axis), xa.shape)
    tw = np.broadcast_to(_broadcast_weights(xa, t, axis), xa.shape)
    total = np.sum(w, axis=axes, keepdims=keepdims)
    return np.sum(tw * (xa - _expand(ans, xa.ndim, axes, keepdims)), axis=axes, keepdims=keepdims) / total


# ------------------------------------------------------------------------------ order statistics

def _check_method(method):
    if method != "linear":
        _refuse(f"no derivative rule for np.quantile/np.percentile with method={method!r}",
                hint="only the default method='linear' has a rule; use it, or sort and index yourself")


def _reduced_last(x, axes, kept):
    """``x`` with the reduced ``axes`` moved last and flattened into one."""
    moved = np.transpose(x, kept + list(axes))
    return moved.reshape(moved.shape[:len(kept)] + (-1,))


def _interpolation(q, n):
    """Per quantile (flattened) of ``n`` sorted values, the two positions interpolated and the weight of the
    upper one."""
    position = np.ravel(np.asarray(q, dtype=np.float64)) * (n - 1)
    lo = np.clip(np.floor(position), 0, n - 1).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, position - lo


def _result_shape(shape, q, axes, kept, keepdims):
    """The shape of the quantiles of an array of ``shape``: ``q``'s axes first, then the kept axes (the
    reduced ones as 1 with ``keepdims``)."""
    if keepdims:
        return np.shape(q) + tuple(1 if i in axes else shape[i] for i in range(len(shape)))
    return np.shape(q) + tuple(shape[i] for i in kept)


def _unsorted(sorted_values, order, shape, axes, kept):
    """Values given in sorted order (``order``, along the last axis) put back where the sorted entries came
    from, in an array of ``shape``."""
    back = np.take_along_axis(sorted_values, np.argsort(order, axis=-1), axis=-1)
    back = back.reshape([shape[i] for i in kept] + [shape[i] for i in axes])
    return np.transpose(back, np.argsort(kept + list(axes)))


def quantile_adjoint(g, a, q, axis=None, method="linear", keepdims=False):
    """Adjoint of ``np.quantile(a, q, axis, keepdims=...)`` with ``method='linear'``.

    Each quantile is ``(1 - f) s[lo] + f s[lo + 1]`` of the sorted values ``s``: its adjoint goes to the two
    order statistics with those weights, and from there to the entries a stable sort puts at those positions
    (as ``np.sort``'s rule, and as JAX does: of tied entries, the one sorted there gets it all).
    """
    _check_method(method)
    shape = np.shape(a)
    axes = _axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    order = np.argsort(_reduced_last(_float(a), axes, kept), axis=-1, kind="stable")  # NaNs last
    n = order.shape[-1]
    lo, hi, frac = _interpolation(q, n)
    g = np.asarray(g, dtype=np.float64).reshape((len(lo),) + order.shape[:-1])  # q's axes first, then the kept
    positions = np.arange(n)
    sorted_adjoint = np.zeros(order.shape)
    for k in range(len(lo)):
        sorted_adjoint = sorted_adjoint + np.where(positions == lo[k], (g[k] * (1.0 - frac[k]))[..., None], 0.0)
        sorted_adjoint = sorted_adjoint + np.where(positions == hi[k], (g[k] * frac[k])[..., None], 0.0)
    return _like(a, _unsorted(sorted_adjoint, order, shape, axes, kept))


def quantile_tangent(t, a, q, axis=None, method="linear", keepdims=False):
    """Tangent of ``np.quantile`` with ``method='linear'``: the same interpolation of the sorted tangents."""
    _check_method(method)
    shape = np.shape(a)
    axes = _axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    order = np.argsort(_reduced_last(_float(a), axes, kept), axis=-1, kind="stable")  # NaNs last
    lo, hi, frac = _interpolation(q, order.shape[-1])
    ts = np.take_along_axis(_reduced_last(np.broadcast_to(_float(t), shape), axes, kept), order, axis=-1)
    out = np.stack([(1.0 - f) * ts[..., i] + f * ts[..., j] for i, j, f in zip(lo, hi, frac)])
    return out.reshape(_result_shape(shape, q, axes, kept, keepdims))[()]  # a full reduction: a number, as np.median's


# -------------------------------------------------------------------------- covariance, correlation

def _cov_rows(m, y, rowvar):
    """The variables as rows, ``m``'s then ``y``'s, as ``np.cov`` stacks them; and ``m``'s row count."""
    rows = np.atleast_2d(_float(m))
    if not rowvar and np.ndim(m) != 1:  # NumPy tests m's own ndim, and y's rows (below)
        rows = rows.T
    count = rows.shape[0]
    if y is not None:
        more = np.atleast_2d(_float(y))
        if not rowvar and more.shape[0] != 1:
            more = more.T
        rows = np.concatenate([rows, more], axis=0)
    return rows, count


def _cov_parts(m, y, rowvar, bias, ddof):
    rows, count = _cov_rows(m, y, rowvar)
    if ddof is None:
        ddof = 0 if bias else 1
    centered = rows - np.mean(rows, axis=1, keepdims=True)
    return rows, count, centered, rows.shape[1] - ddof


def _rows_back(grows, count, m, y, rowvar, which):
    """The part of an adjoint of the stacked rows that belongs to ``m`` (``which='m'``) or ``y``."""
    part, like = (grows[:count], m) if which == "m" else (grows[count:], y)
    if not rowvar and (np.ndim(m) != 1 if which == "m" else np.atleast_2d(_float(y)).shape[0] != 1):
        part = part.T
    return _like(like, part.reshape(np.shape(like)))


def _cov_tangent_rows(t, m, y, rowvar, which):
    """The tangent of the stacked rows when ``which`` (``'m'`` or ``'y'``) moves by ``t``."""
    tm = t if which == "m" else np.zeros(np.shape(m))
    ty = None if y is None else (t if which == "y" else np.zeros(np.shape(y)))
    rows, _ = _cov_rows(tm, ty, rowvar)
    return rows - np.mean(rows, axis=1, keepdims=True)


def cov_adjoint(g, m, y=None, rowvar=True, bias=False, ddof=None, which="m"):
    """Adjoint of ``np.cov`` in ``m`` or ``y``: ``C = Xc Xc^T / (N - ddof)`` gives ``(G + G^T) Xc / (N - ddof)``
    (its rows already have mean 0, so the centering, which is its own transpose, leaves it as it is)."""
    rows, count, centered, scale = _cov_parts(m, y, rowvar, bias, ddof)
    k = rows.shape[0]
    g = np.asarray(g, dtype=np.float64).reshape(k, k)
    return _rows_back((g + g.T) @ centered / scale, count, m, y, rowvar, which)


def cov_tangent(t, m, y=None, rowvar=True, bias=False, ddof=None, which="m"):
    """Tangent of ``np.cov`` in ``m`` or ``y``: ``(dXc Xc^T + Xc dXc^T) / (N - ddof)``, squeezed as ``np.cov``."""
    rows, count, centered, scale = _cov_parts(m, y, rowvar, bias, ddof)
    d = _cov_tangent_rows(t, m, y, rowvar, which)
    dc = d @ centered.T
    return ((dc + dc.T) / scale).squeeze()


def _corr_parts(x, y, rowvar):
    rows, count, centered, scale = _cov_parts(x, y, rowvar, False, None)
    c = centered @ centered.T / scale
    d = np.diag(c)
    s = np.sqrt(d)
    return count, centered, scale, c, d, c / np.outer(s, s)


def corrcoef_adjoint(g, x, y=None, rowvar=True, which="x"):
    """Adjoint of ``np.corrcoef`` in ``x`` or ``y``, through the covariance ``C``: ``R = C / sqrt(d d^T)``,
    ``d = diag(C)``, so ``C`` gets ``G / sqrt(d d^T)`` less, on its diagonal, ``sum_j (G R + G^T R^T)_ij / (2 d_i)``.
    The diagonal of ``R`` is 1 whatever the data: it passes no adjoint."""
    count, centered, scale, c, d, r = _corr_parts(x, y, rowvar)
    k = c.shape[0]
    g = np.asarray(g, dtype=np.float64).reshape(k, k) * (1.0 - np.eye(k))
    gc = g / np.sqrt(np.outer(d, d))
    gc -= np.diag(np.sum(g * r + (g * r).T, axis=1) / (2.0 * d))
    return _rows_back((gc + gc.T) @ centered / scale, count, x, y, rowvar, "m" if which == "x" else "y")


def corrcoef_tangent(t, x, y=None, rowvar=True, which="x"):
    """Tangent of ``np.corrcoef`` in ``x`` or ``y``: ``dR = dC / sqrt(d d^T) - R (dd_i / d_i + dd_j / d_j) / 2``."""
    count, centered, scale, c, d, r = _corr_parts(x, y, rowvar)
    rows = _cov_tangent_rows(t, x, y, rowvar, "m" if which == "x" else "y")
    dc = rows @ centered.T
    dc = (dc + dc.T) / scale
    rel = np.diag(dc) / d
    dr = dc / np.sqrt(np.outer(d, d)) - 0.5 * r * (rel[:, None] + rel[None, :])
    return (dr * (1.0 - np.eye(len(d)))).squeeze()


# ------------------------------------------------------------------------------------ math module

def _others_products(values, start):
    """For each element, ``start`` times the product of the other elements (exact at zeros: no division)."""
    n = len(values)
    left = [start]  # left[i]: start times the elements before i
    for v in values:
        left.append(left[-1] * v)
    right = [1]  # right[m]: the product of the last m elements, taken from the end
    for i in range(n - 1, 0, -1):
        right.append(right[-1] * values[i])
    return [left[i] * right[n - 1 - i] for i in range(n)]


def sequence_prod_adjoint(g, iterable, start=1):
    """Adjoint of ``math.prod(iterable, start=start)`` in ``iterable``: each element gets ``g`` times the product
    of ``start`` and the other elements, in the structure of ``iterable``."""
    values = list(iterable)
    out = [g * p for p in _others_products(values, start)]
    if isinstance(iterable, np.ndarray):
        return np.array(out, dtype=np.float64).reshape(np.shape(iterable))
    return as_tuple_adjoint(out) if isinstance(iterable, tuple) else as_list_adjoint(out)


def sequence_prod_tangent(t, iterable, start=1):
    """Tangent of ``math.prod`` in ``iterable``: ``sum_i t_i * start * prod_{j != i} x_j``."""
    return sum(ti * p for ti, p in zip(list(t), _others_products(list(iterable), start)))


def _dist_slopes(p, q, ans):
    """``(p_i - q_i) / dist`` per coordinate; 0 where the points coincide (``dist == 0``), as ``math.hypot``."""
    if ans == 0:
        return [0.0 for _ in p]
    return [(a - b) / ans for a, b in zip(p, q)]


def dist_adjoint(g, p, q, ans, sign=1.0):
    """Adjoint of ``math.dist(p, q)`` in ``p`` (``sign=1``) or ``q`` (``sign=-1``), in the structure of it."""
    out = [sign * g * s for s in _dist_slopes(list(p), list(q), ans)]
    like = p if sign > 0 else q
    if isinstance(like, np.ndarray):
        return np.array(out, dtype=np.float64).reshape(np.shape(like))
    return as_tuple_adjoint(out) if isinstance(like, tuple) else as_list_adjoint(out)


def dist_tangent(t, p, q, ans, sign=1.0):
    """Tangent of ``math.dist`` in ``p`` (``sign=1``) or ``q`` (``sign=-1``): ``sign sum_i t_i (p_i - q_i) / dist``."""
    return sign * sum(ti * s for ti, s in zip(list(t), _dist_slopes(list(p), list(q), ans)))


# -- numpy breadth: NaN-aware var, std, prod, order statistics and cumulative functions (rules/numpy/statistics.py)

__all__ += ["nan_var_adjoint", "nan_std_adjoint", "nan_prod_adjoint", "nan_quantile_adjoint", "nan_quantile_tangent",
            "nan_cumsum_adjoint", "nan_cumprod_adjoint", "nan_cumprod_tangent"]


def nan_var_adjoint(g, a, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``np.nanvar``: ``2 (a - mean) / (count - ddof)`` over the entries that are not NaN (``count``
    of them, ``mean`` theirs), 0 at NaNs; NaN where ``count == ddof`` (the variance is NaN there)."""
    xa = _float(a)
    axes = _axes(axis, xa.ndim)
    keep = np.logical_not(np.isnan(xa))
    count = np.sum(keep, axis=axes, keepdims=True)
    kept = np.where(keep, xa, 0.0)  # no NaN, whose products with zero adjoints would be NaN
    mean = np.sum(kept, axis=axes, keepdims=True) / np.maximum(count, 1)
    dof = count - ddof
    no_dof = dof == 0
    out = np.where(keep, 2.0 * (kept - mean) / np.where(no_dof, 1, dof) * _expand(g, xa.ndim, axes, keepdims), 0.0)
    return _like(a, np.where(np.logical_and(keep, no_dof), np.nan, out))


def nan_std_adjoint(g, a, ans, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``np.nanstd``: that of ``np.nanvar`` times ``1 / (2 std)``, and 0 where the std is 0 (as
    ``std``'s rule)."""
    xa = _float(a)
    axes = _axes(axis, xa.ndim)
    s = _expand(ans, xa.ndim, axes, keepdims)
    scale = np.where(s == 0, 0.0, _expand(g, xa.ndim, axes, keepdims) / (2.0 * np.where(s == 0, 1.0, s)))
    return _like(a, nan_var_adjoint(1.0, xa, axis, ddof, True) * scale)


def nan_prod_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of ``np.nanprod``, the product with NaNs read as 1: ``prod``'s (exact at zeros), 0 at NaNs."""
    xa = _float(a)
    nan = np.isnan(xa)
    return _like(a, np.where(nan, 0.0, prod_adjoint(g, np.where(nan, 1.0, xa), axis, keepdims)))


def _nan_interpolation(missing, q):
    """As ``_interpolation``, over the entries that are not NaN (``missing``: the NaNs, the reduced axes last
    and flattened; a stable sort puts them last): each slice interpolates between its own two order statistics
    (``lo``, ``hi``, ``low_weight`` and ``frac`` per quantile and slice); a slice of NaNs only has weight 0
    everywhere (its quantiles are NaN)."""
    count = np.sum(np.logical_not(missing), axis=-1)  # per slice
    qs = np.ravel(np.asarray(q, dtype=np.float64))
    position = qs.reshape((-1,) + (1,) * count.ndim) * (count - 1)  # (quantile, *slices)
    top = np.maximum(count - 1, 0)
    lo = np.clip(np.floor(position), 0, top).astype(np.intp)
    hi = np.minimum(lo + 1, top)
    frac = np.where(count > 0, position - lo, 0.0)
    low_weight = np.where(count > 0, 1.0 - frac, 0.0)
    return lo, hi, low_weight, frac


def _at_positions(values, positions):
    """``values[..., positions[...]]``, one position of the last axis per slice."""
    return np.take_along_axis(values, positions[..., None], axis=-1)[..., 0]


def nan_quantile_adjoint(g, a, q, axis=None, method="linear", keepdims=False):
    """Adjoint of ``np.nanquantile`` (``nanpercentile`` with ``q / 100``, ``nanmedian`` with 0.5), method
    'linear': that of ``quantile`` over the entries that are not NaN; NaNs get 0."""
    _check_method(method)
    shape = np.shape(a)
    axes = _axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    order = np.argsort(_reduced_last(_float(a), axes, kept), axis=-1, kind="stable")  # NaNs last
    lo, hi, low_weight, frac = _nan_interpolation(_reduced_last(np.isnan(_float(a)), axes, kept), q)
    g = np.asarray(g, dtype=np.float64).reshape(lo.shape)
    positions = np.arange(order.shape[-1])
    sorted_adjoint = np.zeros(order.shape)
    for k in range(lo.shape[0]):
        sorted_adjoint = sorted_adjoint + np.where(positions == lo[k][..., None], (g[k] * low_weight[k])[..., None],
                                                   0.0)
        sorted_adjoint = sorted_adjoint + np.where(positions == hi[k][..., None], (g[k] * frac[k])[..., None], 0.0)
    return _like(a, _unsorted(sorted_adjoint, order, shape, axes, kept))


def nan_quantile_tangent(t, a, q, axis=None, method="linear", keepdims=False):
    """Tangent of ``np.nanquantile`` with method 'linear': the interpolation of the sorted tangents of the
    entries that are not NaN."""
    _check_method(method)
    shape = np.shape(a)
    axes = _axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    order = np.argsort(_reduced_last(_float(a), axes, kept), axis=-1, kind="stable")  # NaNs last
    lo, hi, low_weight, frac = _nan_interpolation(_reduced_last(np.isnan(_float(a)), axes, kept), q)
    ts = np.take_along_axis(_reduced_last(np.broadcast_to(_float(t), shape), axes, kept), order, axis=-1)
    out = np.stack([w * _at_positions(ts, i) + f * _at_positions(ts, j) for i, j, w, f in zip(lo, hi, low_weight,
                                                                                                  frac)])
    return out.reshape(_result_shape(shape, q, axes, kept, keepdims))[()]  # a full reduction: a number, as np.median's


def nan_cumsum_adjoint(g, a, axis=None):
    """Adjoint of ``np.nancumsum``, the cumulative sum with NaNs read as 0: ``cumsum``'s, 0 at NaNs."""
    return _like(a, np.where(np.isnan(_float(a)), 0.0, cumsum_adjoint(g, _float(a), axis)))


def nan_cumprod_adjoint(g, a, axis=None):
    """Adjoint of ``np.nancumprod``, the cumulative product with NaNs read as 1: ``cumprod``'s, 0 at NaNs."""
    xa = _float(a)
    nan = np.isnan(xa)
    return _like(a, np.where(nan, 0.0, cumprod_adjoint(g, np.where(nan, 1.0, xa), axis)))


def nan_cumprod_tangent(t, a, axis=None):
    """Tangent of ``np.nancumprod``: ``cumprod``'s, the NaNs read as 1 with no tangent."""
    xa = _float(a)
    nan = np.isnan(xa)
    return cumprod_tangent(np.where(nan, 0.0, t), np.where(nan, 1.0, xa), axis)
