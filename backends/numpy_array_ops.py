"""NumPy runtime helpers used by the reduction, shape, indexing and linalg rules.

Each helper computes one adjoint that is too long for an inline template. The
generated code reaches them as ``sd.<name>``. Helpers return fresh arrays (never
read-only broadcast views), and a Python float where the primal argument was a
Python scalar.
"""
from __future__ import annotations

import operator
import string

import numpy as np

__all__ = [
    # reductions
    "sum_adjoint", "mean_adjoint", "prod_adjoint", "extremum_adjoint",
    "var_adjoint", "std_adjoint",
    # shape and constructors
    "transpose_adjoint", "concatenate_adjoint", "stack_adjoint", "hstack_adjoint",
    "vstack_adjoint", "array_adjoint", "array_tangent", "linspace_adjoint", "arange_adjoint", "diag_adjoint",
    # indexing
    "sort_adjoint", "sort_tangent", "concatenate_rows", "concatenate_columns", "index_concatenate_adjoint",
    # linalg
    "dot_adjoint_a", "dot_adjoint_b", "matmul_adjoint_a", "matmul_adjoint_b",
    "outer_adjoint_a", "outer_adjoint_b", "inner_adjoint_a", "inner_adjoint_b",
    "trace_adjoint", "einsum_adjoint", "einsum_tangent", "solve_adjoint_a", "solve_adjoint_b",
    "inv_adjoint", "det_adjoint", "norm_adjoint",
]

_SCALAR_TYPES = (float, int, bool)


def _refuse(message: str, hint: str) -> None:
    from sourcediff.errors import MissingRuleError

    raise MissingRuleError(message, hint=hint)


def _like(x, out):
    """Return ``out`` as a float if the primal ``x`` was a Python scalar."""
    if type(x) in _SCALAR_TYPES:
        return float(np.sum(out))
    return out


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.inexact) else x.astype(np.float64)


def _axes(axis, ndim: int) -> tuple[int, ...]:
    """Normalize ``axis`` (None, int, negative int or tuple) to sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        a = operator.index(a)
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def _sum_to_shape(g, shape) -> np.ndarray:
    """Sum ``g`` down to ``shape``, undoing broadcasting."""
    g = np.asarray(g)
    shape = tuple(shape)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != shape:
        g = np.broadcast_to(g, shape)
    return np.array(g)


def _expand(g, ndim: int, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Give a reduction's result (or its adjoint) back its reduced axes, as size 1."""
    g = np.asarray(g)
    if keepdims or not axes:
        return g
    return np.expand_dims(g, axes)


# --------------------------------------------------------------------- reductions

def sum_adjoint(g, x, axis=None, keepdims=False):
    """Adjoint of ``np.sum(x, axis, keepdims=...)``: ``g`` broadcast back over the reduced axes."""
    shape = np.shape(x)
    axes = _axes(axis, len(shape))
    out = np.array(np.broadcast_to(_expand(g, len(shape), axes, keepdims), shape))
    return _like(x, out)


def mean_adjoint(g, x, axis=None, keepdims=False):
    """Adjoint of ``np.mean``: the sum adjoint divided by the number of averaged elements."""
    shape = np.shape(x)
    axes = _axes(axis, len(shape))
    count = int(np.prod([shape[a] for a in axes]))
    out = np.broadcast_to(_expand(g, len(shape), axes, keepdims) / count, shape)
    return _like(x, np.array(out))


def prod_adjoint(g, x, axis=None, keepdims=False):
    """Adjoint of ``np.prod``: each element gets the product of the others.

    The products of the others come from exclusive cumulative products from both
    ends, so zeros in ``x`` are handled exactly (no division by ``x``).
    """
    xa = _float(x)
    axes = _axes(axis, xa.ndim)
    g = _expand(g, xa.ndim, axes, keepdims)
    if not axes:
        return _like(x, np.array(np.broadcast_to(g, xa.shape)))
    kept = [i for i in range(xa.ndim) if i not in axes]
    order = kept + list(axes)
    moved = np.transpose(xa, order)
    lead_shape = moved.shape[:len(kept)]
    flat = moved.reshape(lead_shape + (-1,))
    n = flat.shape[-1]
    left = np.ones_like(flat)
    right = np.ones_like(flat)
    if n > 1:
        left[..., 1:] = np.cumprod(flat[..., :-1], axis=-1)
        right[..., :-1] = np.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1]
    others = left * right
    gm = np.transpose(np.broadcast_to(g, tuple(1 if i in axes else xa.shape[i] for i in range(xa.ndim))), order)
    gm = gm.reshape(lead_shape + (1,))
    out = (gm * others).reshape(moved.shape)
    return _like(x, np.transpose(out, np.argsort(order)))


def extremum_adjoint(g, x, ans, axis=None, keepdims=False):
    """Adjoint of ``np.max``/``np.min``: ``g`` goes to the positions equal to the result.

    Ties share the adjoint evenly (as JAX does), so the gradient of the maximum of
    ``[1, 1]`` is ``[0.5, 0.5]``. NaN results send the adjoint to the NaN entries.
    """
    xa = np.asarray(x)
    axes = _axes(axis, xa.ndim)
    a = _expand(ans, xa.ndim, axes, keepdims)
    g = _expand(g, xa.ndim, axes, keepdims)
    mask = (np.logical_or(xa == a, np.logical_and(np.isnan(xa), np.isnan(a))) if np.issubdtype(xa.dtype, np.inexact)
            else xa == a)
    count = np.sum(mask, axis=axes, keepdims=True)
    return _like(x, np.where(mask, g / np.maximum(count, 1), 0.0))


def var_adjoint(g, x, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``np.var``: ``2 (x - mean) g / (N - ddof)``."""
    xa = _float(x)
    axes = _axes(axis, xa.ndim)
    n = int(np.prod([xa.shape[a] for a in axes]))
    centered = _centered(xa, axes)
    return _like(x, 2.0 * centered * _expand(g, xa.ndim, axes, keepdims) / (n - ddof))


def _centered(xa, axes):
    """``x - mean(x)``, centered twice, so that it sums to zero to rounding even where x is large next to its
    spread (a shift of every element then changes the var and std by exactly nothing, as it should)."""
    centered = xa - np.mean(xa, axis=axes, keepdims=True)
    return centered - np.mean(centered, axis=axes, keepdims=True) if centered.size else centered


def std_adjoint(g, x, ans, axis=None, ddof=0, keepdims=False):
    """Adjoint of ``np.std``: ``(x - mean) g / ((N - ddof) std)``; NaN where the std is 0."""
    xa = _float(x)
    axes = _axes(axis, xa.ndim)
    n = int(np.prod([xa.shape[a] for a in axes]))
    centered = _centered(xa, axes)
    g = _expand(g, xa.ndim, axes, keepdims)
    s = _expand(ans, xa.ndim, axes, keepdims)
    spread = (n - ddof) * s
    slope = centered / np.where(spread == 0, 1.0, spread)  # 0 only where s is, which is masked below
    # where the spread is 0 (to rounding: np.std([a, a, a]) is ~1e-16) take slope 0: the std of one element,
    # of x - x or of equal values is constant; where equal elements could spread, 0 is a subgradient
    rounding = 8 * np.finfo(slope.dtype).eps * np.max(np.abs(xa), axis=axes, keepdims=True) if xa.size else 0.0
    return _like(x, np.where(np.logical_or(centered == 0, np.abs(s) <= rounding), 0.0, slope) * g)


def sort_adjoint(g, x, axis=-1):
    """Adjoint of ``np.sort(x, axis)``: each sorted position's ``g`` goes back to where its element came from."""
    xa = np.asarray(x)
    g = np.asarray(g, dtype=np.result_type(g, np.float64))
    if axis is None:
        out = np.zeros(xa.size, dtype=g.dtype)
        out[np.argsort(xa, axis=None, kind="stable")] = g
        return _like(x, out.reshape(xa.shape))
    order = np.argsort(xa, axis=axis, kind="stable")
    out = np.zeros(xa.shape, dtype=g.dtype)
    np.put_along_axis(out, order, g, axis=axis)
    return _like(x, out)


def sort_tangent(t, x, axis=-1):
    """Tangent of ``np.sort(x, axis)``: ``t`` gathered by the (stable) sorting permutation of ``x``."""
    t = np.asarray(t)
    if axis is None:
        return np.ravel(t)[np.argsort(x, axis=None, kind="stable")]
    return np.take_along_axis(t, np.argsort(x, axis=axis, kind="stable"), axis=axis)


# ---------------------------------------------------------------- shape, constructors

def _transpose_axes(axes):
    """Normalize the ``axes`` of ``np.transpose`` or ``x.transpose(*axes)`` to a tuple or None."""
    if axes is None:
        return None
    axes = tuple(axes)
    if len(axes) == 0:
        return None
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list, np.ndarray))):
        return _transpose_axes(axes[0])
    return axes


def transpose_adjoint(g, axes=None):
    """Adjoint of ``np.transpose(x, axes)``: the inverse permutation applied to ``g``."""
    axes = _transpose_axes(axes)
    g = np.asarray(g)
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([operator.index(a) % g.ndim for a in axes]))


def _split(g, pieces, axis):
    """Split ``g`` along ``axis`` into blocks as long as ``pieces`` are along it."""
    sizes = [p.shape[axis] for p in pieces]
    return np.split(g, np.cumsum(sizes)[:-1], axis=axis)


def _container(arrays, adjoints):
    adjoints = [_like(x, np.array(a)) for x, a in zip(arrays, adjoints)]
    return tuple(adjoints) if isinstance(arrays, tuple) else adjoints


def concatenate_adjoint(g, arrays, axis=0):
    """Adjoint of ``np.concatenate(arrays, axis)``: one block of ``g`` per array."""
    g = np.asarray(g)
    if axis is None:
        pieces = [np.ravel(a) for a in arrays]
        blocks = [b.reshape(np.shape(a)) for b, a in zip(_split(g, pieces, 0), arrays)]
        return _container(arrays, blocks)
    axis = operator.index(axis) % g.ndim
    pieces = [np.asarray(a) for a in arrays]
    return _container(arrays, _split(g, pieces, axis))


def concatenate_rows(*items):
    """``np.r_[items]`` for values (no slices or string directives)."""
    return np.r_[items]


def concatenate_columns(*items):
    """``np.c_[items]`` for values (no slices or string directives)."""
    return np.c_[items]


def index_concatenate_adjoint(g, items, columns):
    """Adjoints of ``np.r_[items]`` (``columns`` False) or ``np.c_[items]`` (True): one block of ``g`` each.

    ``np.r_`` makes each item at least 1-D and joins them along axis 0; ``np.c_``
    makes each at least 2-D, a vector as a column, and joins them along the last axis.
    """
    g = np.asarray(g)
    axis = -1 if columns else 0
    widths = []
    for item in items:
        shape = np.shape(item)
        if columns:
            shape = (1, 1) if not shape else (shape[0], 1) if len(shape) == 1 else shape
        widths.append(shape[axis] if shape else 1)
    bounds = np.cumsum([0] + widths)
    blocks = [np.take(g, np.arange(lo, hi), axis=axis) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return tuple(_like(item, np.reshape(block, np.shape(item))) for item, block in zip(items, blocks))


def stack_adjoint(g, arrays, axis=0):
    """Adjoint of ``np.stack(arrays, axis)``: the slices of ``g`` along the new axis."""
    g = np.asarray(g)
    axis = operator.index(axis) % g.ndim
    return _container(arrays, [np.take(g, i, axis=axis) for i in range(len(arrays))])


def hstack_adjoint(g, arrays):
    """Adjoint of ``np.hstack``."""
    pieces = [np.atleast_1d(a) for a in arrays]
    axis = 0 if pieces[0].ndim == 1 else 1
    blocks = _split(np.asarray(g), pieces, axis)
    return _container(arrays, [b.reshape(np.shape(a)) for b, a in zip(blocks, arrays)])


def vstack_adjoint(g, arrays):
    """Adjoint of ``np.vstack``."""
    pieces = [np.atleast_2d(a) for a in arrays]
    blocks = _split(np.asarray(g), pieces, 0)
    return _container(arrays, [b.reshape(np.shape(a)) for b, a in zip(blocks, arrays)])


def array_adjoint(g, obj, dtype=None):
    """Adjoint of ``np.array(obj)``/``np.asarray(obj)``.

    For an array it is ``g`` in the shape of ``obj``; for a (nested) list or tuple
    it is a list/tuple of the same structure. An integer or boolean ``dtype``
    truncates, so the adjoint is zero.
    """
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        return _zeros_like_structure(obj)
    g = np.reshape(g, np.shape(obj))
    if isinstance(obj, (list, tuple)):
        out = [array_adjoint(g[i], item) for i, item in enumerate(obj)]
        return tuple(out) if isinstance(obj, tuple) else out
    return _like(obj, np.array(g))


def array_tangent(t, dtype=None, ndmin=0):
    """Tangent of ``np.array(obj, dtype, ndmin=...)``/``np.asarray``: the tangents ``t`` (shaped like ``obj``)
    built the same way, as floats; zeros for an integer or boolean ``dtype``, which truncates."""
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.inexact):
        return np.zeros(np.shape(np.array(t, ndmin=ndmin)))
    out = np.array(t, dtype=dtype, ndmin=ndmin)
    return out if out.dtype.kind in "fc" else out.astype(np.float64)


def _zeros_like_structure(obj):
    if isinstance(obj, (list, tuple)):
        out = [_zeros_like_structure(v) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return _like(obj, np.zeros(np.shape(obj)))


def linspace_adjoint(g, start, stop, num=50, endpoint=True, axis=0, retstep=False, which="start"):
    """Adjoint of ``np.linspace`` with respect to ``start`` (``which="start"``) or ``stop``.

    Sample ``i`` is ``start + t_i (stop - start)`` with ``t_i = i / (num - 1)``
    (``i / num`` without the endpoint).
    """
    if retstep:
        _refuse("np.linspace(..., retstep=True) has no derivative rule",
                "compute the step yourself as (stop - start) / (num - 1)")
    g = np.asarray(g)
    num = operator.index(num)
    div = (num - 1) if endpoint else num
    t = np.arange(num, dtype=np.float64) / div if div > 0 else np.zeros(num)
    weight = 1.0 - t if which == "start" else t
    gm = np.moveaxis(g, operator.index(axis) % g.ndim, 0)
    weighted = np.tensordot(weight, gm, axes=(0, 0))
    primal = start if which == "start" else stop
    return _like(primal, _sum_to_shape(weighted, np.shape(primal)))


def arange_adjoint(g, ans, stop=None, which="start"):
    """Adjoint of ``np.arange`` for ``start`` (when a stop is given) and ``step``.

    Element ``i`` is ``start + i * step``; the stop only sets the length, so it
    has a zero derivative (and so has a lone positional argument, which is the stop).
    """
    if not np.issubdtype(np.asarray(ans).dtype, np.inexact):
        return 0.0
    g = np.asarray(g)
    if which == "start":
        return 0.0 if stop is None else float(np.sum(g))
    return float(np.sum(g * np.arange(g.shape[0])))


# ---------------------------------------------------------------------------- linalg

def _swap(a):
    return np.swapaxes(a, -1, -2)


def dot_adjoint_a(g, a, b):
    """Adjoint of ``np.dot(a, b)`` with respect to ``a`` (any dimensions)."""
    aa, bb, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if aa.ndim == 0 or bb.ndim == 0:
        return _like(a, _sum_to_shape(g * bb, aa.shape))
    b_contract = max(bb.ndim - 2, 0)
    b_rest = [i for i in range(bb.ndim) if i != b_contract]
    out = np.tensordot(g, bb, axes=(list(range(aa.ndim - 1, g.ndim)), b_rest))
    return out


def dot_adjoint_b(g, a, b):
    """Adjoint of ``np.dot(a, b)`` with respect to ``b`` (any dimensions)."""
    aa, bb, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if aa.ndim == 0 or bb.ndim == 0:
        return _like(b, _sum_to_shape(g * aa, bb.shape))
    lead = list(range(aa.ndim - 1))
    out = np.tensordot(aa, g, axes=(lead, lead))  # (m, b_rest...)
    return np.moveaxis(out, 0, max(bb.ndim - 2, 0))


def _matmul_promote(g, a, b):
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if b.ndim == 1:
        g = g[..., None]
    if a.ndim == 1:
        g = g[..., None, :]
    return g, a2, b2


def _fresh_to_shape(out: np.ndarray, shape) -> np.ndarray:
    """:func:`_sum_to_shape` of an array made by the caller: no copy when nothing is summed."""
    return out if out.shape == tuple(shape) else _sum_to_shape(out, shape)


def matmul_adjoint_a(g, a, b):
    """Adjoint of ``a @ b`` with respect to ``a`` (1-D, 2-D and broadcast batches)."""
    g2, a2, b2 = _matmul_promote(g, a, b)
    return _fresh_to_shape(g2 @ _swap(b2), a2.shape).reshape(np.shape(a))


def matmul_adjoint_b(g, a, b):
    """Adjoint of ``a @ b`` with respect to ``b`` (1-D, 2-D and broadcast batches)."""
    g2, a2, b2 = _matmul_promote(g, a, b)
    return _fresh_to_shape(_swap(a2) @ g2, b2.shape).reshape(np.shape(b))


def outer_adjoint_a(g, a, b):
    """Adjoint of ``np.outer(a, b)`` with respect to ``a``."""
    return _like(a, (np.asarray(g) @ np.ravel(b)).reshape(np.shape(a)))


def outer_adjoint_b(g, a, b):
    """Adjoint of ``np.outer(a, b)`` with respect to ``b``."""
    return _like(b, (np.ravel(a) @ np.asarray(g)).reshape(np.shape(b)))


def inner_adjoint_a(g, a, b):
    """Adjoint of ``np.inner(a, b)`` (sum over the last axes) with respect to ``a``."""
    aa, bb, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if aa.ndim == 0 or bb.ndim == 0:
        return _like(a, _sum_to_shape(g * bb, aa.shape))
    return np.tensordot(g, bb, axes=(list(range(aa.ndim - 1, g.ndim)), list(range(bb.ndim - 1))))


def inner_adjoint_b(g, a, b):
    """Adjoint of ``np.inner(a, b)`` with respect to ``b``."""
    aa, bb, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if aa.ndim == 0 or bb.ndim == 0:
        return _like(b, _sum_to_shape(g * aa, bb.shape))
    lead = list(range(aa.ndim - 1))
    return np.tensordot(g, aa, axes=(lead, lead))


def trace_adjoint(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of ``np.trace``: ``g`` placed on the (offset) diagonal, zeros elsewhere."""
    a = np.asarray(a)
    ax1, ax2 = operator.index(axis1) % a.ndim, operator.index(axis2) % a.ndim
    out = np.zeros(a.shape, dtype=np.result_type(g, a, np.float64))
    view = np.moveaxis(out, (ax1, ax2), (-2, -1))  # a view: writes land in ``out``
    n, m = view.shape[-2:]
    rows = np.arange(max(-offset, 0), n)
    cols = rows + offset
    keep = np.logical_and(cols >= 0, cols < m)
    rows, cols = rows[keep], cols[keep]
    view[..., rows, cols] = np.asarray(g)[..., None]
    return out


def _einsum_parse(subscripts: str, shapes):
    """Explicit letters for every operand and the output; the ellipsis becomes fresh letters."""
    if not isinstance(subscripts, str):
        _refuse("np.einsum in the interleaved (operand, sublist) form has no derivative rule",
                "write the subscripts as a string, for example np.einsum('ij,jk->ik', a, b)")
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(inputs)} operands, got {len(shapes)}")
    used = set(subscripts) - set(".,->")
    free = [c for c in string.ascii_letters if c not in used]
    ell_dims = max([len(s) - len(t.replace("...", "")) for t, s in zip(inputs, shapes) if "..." in t],
                   default=0)
    ell = "".join(free[:ell_dims])
    del free[:ell_dims]
    terms = []
    for t, s in zip(inputs, shapes):
        if "..." in t:
            n = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ell[ell_dims - n:] if n else "")
        terms.append(t)
    if out is None:
        counts = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return terms, out, free


def _einsum_of(subscripts, arrays):
    """``np.einsum(subscripts, *arrays)``, the operands passed one by one (up to 8; beyond, the first two are
    contracted first, onto the letters still used)."""
    n = len(arrays)
    if n == 1:
        return np.einsum(subscripts, arrays[0])
    if n == 2:
        return np.einsum(subscripts, arrays[0], arrays[1])
    if n == 3:
        return np.einsum(subscripts, arrays[0], arrays[1], arrays[2])
    if n == 4:
        return np.einsum(subscripts, arrays[0], arrays[1], arrays[2], arrays[3])
    if n == 5:
        return np.einsum(subscripts, arrays[0], arrays[1], arrays[2], arrays[3], arrays[4])
    if n == 6:
        return np.einsum(subscripts, arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5])
    if n == 7:
        return np.einsum(subscripts, arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6])
    if n == 8:
        return np.einsum(subscripts, arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6],
                         arrays[7])
    terms, out, _ = _einsum_parse(subscripts, [np.shape(a) for a in arrays])
    later = out + "".join(terms[2:])
    first = ""
    for c in terms[0] + terms[1]:
        if c in later and c not in first:
            first = first + c
    pair = np.einsum(f"{terms[0]},{terms[1]}->{first}", arrays[0], arrays[1])
    fewer = [pair]
    for a in arrays[2:]:
        fewer.append(a)
    return _einsum_of(first + "," + ",".join(terms[2:]) + "->" + out, fewer)


def _einsum_letters(subscripts, shapes, g_shape):
    """The letters of each operand and of the output (``_einsum_parse``), a size-1 dimension that broadcasts
    against a longer one renamed to a letter of its own, and each letter's length."""
    terms, out, free = _einsum_parse(subscripts, shapes)
    sizes: dict[str, int] = {}
    for t, shape in zip(terms + [out], list(shapes) + [g_shape]):
        for c, n in zip(t, shape):
            if sizes.get(c, 1) == 1:  # a length other than 1 (0 included) is the letter's; 1 may broadcast
                sizes[c] = n
    renamed = []
    for t, shape in zip(terms + [out], list(shapes) + [g_shape]):
        letters = []
        for c, n in zip(t, shape):
            if n == 1 and sizes[c] != 1:
                letters.append(free.pop())
                sizes[letters[-1]] = 1
            else:
                letters.append(c)
        renamed.append("".join(letters))
    return renamed[:-1], renamed[-1], sizes


def _einsum_operand_adjoint(k, terms, out, sizes):
    """For operand ``k``: the einsum spec of its adjoint (``g`` and the other operands onto the letters of
    operand ``k`` that appear elsewhere), the shape to reshape that to, and the shape to broadcast it to
    (its distinct letters, in order)."""
    others = [t for j, t in enumerate(terms) if j != k]
    elsewhere = out + "".join(others)
    unique = "".join(dict.fromkeys(terms[k]))
    target = "".join(c for c in unique if c in elsewhere)
    spec = ",".join([out] + others) + "->" + target
    return (spec, tuple(sizes[c] if c in target else 1 for c in unique), tuple(sizes[c] for c in unique))


def _on_diagonals(term):
    """For an operand whose letters ``term`` repeat: the positions where each letter first appears, and the
    pairs (position of a repeat, position it repeats)."""
    first = {}
    repeats = []
    for p, c in enumerate(term):
        if c in first:
            repeats.append((p, first[c]))
        else:
            first[c] = p
    return [p for p, c in enumerate(term) if first[c] == p], repeats


def _diagonal_mask(shape, repeats):
    """True where the indices at each repeated position equal those at the position they repeat."""
    index = np.indices(shape, sparse=True)
    mask = np.ones(shape, dtype=bool)
    for p, q in repeats:
        mask = np.logical_and(mask, index[p] == index[q])
    return mask


def einsum_adjoint(g, subscripts, operands):
    """Adjoints of ``np.einsum(subscripts, *operands)``: a tuple, one per operand.

    The adjoint of operand ``k`` is the einsum of ``g`` with the other operands
    onto the letters of operand ``k``. Letters only operand ``k`` has are
    broadcast back, repeated letters (diagonals) are put on the diagonal,
    and size-1 broadcast dimensions are summed.
    """
    arrays = [np.asarray(op) for op in operands]
    g = np.asarray(g)
    shapes = [np.shape(op) for op in operands]
    terms, out, sizes = _einsum_letters(subscripts, shapes, np.shape(g))
    adjoints = []
    for k in range(len(arrays)):
        spec, reduced, full_shape = _einsum_operand_adjoint(k, terms, out, sizes)
        factors = [g]
        for j in range(len(arrays)):
            if j != k:
                factors.append(arrays[j])
        full = np.broadcast_to(_einsum_of(spec, factors).reshape(reduced), full_shape)
        if len(full_shape) == len(terms[k]):  # distinct letters, in the operand's order
            adj = np.array(full)
        else:  # repeated letters: onto the diagonal, zeros elsewhere
            firsts, repeats = _on_diagonals(terms[k])
            on_firsts = tuple(n if p in firsts else 1 for p, n in enumerate(shapes[k]))
            spread = np.broadcast_to(full.reshape(on_firsts), shapes[k])
            zero = np.zeros((), dtype=np.result_type(full, np.float64))
            adj = np.where(_diagonal_mask(shapes[k], repeats), spread, zero)
        adjoints.append(_like(operands[k], adj))
    return tuple(adjoints)


def einsum_tangent(t, subscripts, operands):
    """Tangent of ``np.einsum(subscripts, *operands)``: by the product rule, the sum over operands of the
    einsum with that operand replaced by its tangent (``t`` holds one tangent per operand; None: inactive)."""
    out = 0.0
    for k, tk in enumerate(t):
        if tk is not None:
            out = out + _einsum_of(subscripts, [tk if j == k else a for j, a in enumerate(operands)])
    return out


def _solve_vector_form(a, b):
    """NumPy 2 treats ``b`` as a vector only when it is 1-D."""
    return np.ndim(b) == 1


def solve_adjoint_b(g, a, b):
    """Adjoint of ``np.linalg.solve(a, b)`` with respect to ``b``: ``solve(a^T, g)``."""
    a = np.asarray(a)
    if _solve_vector_form(a, b):
        gb = np.linalg.solve(_swap(a), np.asarray(g)[..., None])[..., 0]
    else:
        gb = np.linalg.solve(_swap(a), g)
    return _sum_to_shape(gb, np.shape(b))


def solve_adjoint_a(g, a, b, ans):
    """Adjoint of ``np.linalg.solve(a, b)`` with respect to ``a``: ``-solve(a^T, g) x^T``."""
    a = np.asarray(a)
    if _solve_vector_form(a, b):
        gb = np.linalg.solve(_swap(a), np.asarray(g)[..., None])
        ga = -gb @ _swap(np.asarray(ans)[..., None])
    else:
        ga = -np.linalg.solve(_swap(a), g) @ _swap(np.asarray(ans))
    return _sum_to_shape(ga, a.shape)


def inv_adjoint(g, ans):
    """Adjoint of ``np.linalg.inv``: ``-inv(a)^T g inv(a)^T``."""
    t = _swap(np.asarray(ans))
    return -(t @ np.asarray(g) @ t)


def det_adjoint(g, a, ans):
    """Adjoint of ``np.linalg.det``: ``g det(a) inv(a)^T`` (refuses a singular ``a`` loudly)."""
    scale = (np.asarray(g) * np.asarray(ans))[..., None, None]
    return scale * _swap(np.linalg.inv(a))


def _tie_mask(values, axis, pick):
    """Mask of the entries of ``values`` along ``axis`` that equal its max or min, split evenly."""
    best = pick(values, axis=axis, keepdims=True)
    mask = (values == best).astype(np.float64)
    return mask / np.sum(mask, axis=axis, keepdims=True)


def _vector_norm_adjoint(g, x, ans, ord, axis):
    """``g``/``ans`` already have the reduced axis (size 1); ``axis`` is one int."""
    if ord is None or ord == 2:
        return g * np.where(ans == 0, 0.0, x / np.where(ans == 0, 1.0, ans))
    if ord == 1:
        return g * np.sign(x)
    if ord == np.inf or ord == -np.inf:
        pick = np.max if ord == np.inf else np.min
        return g * np.sign(x) * _tie_mask(np.abs(x), axis, pick)
    if isinstance(ord, (int, float, np.number)) and not isinstance(ord, bool) and ord == 0:
        return np.zeros_like(x * g)  # the number of nonzero entries: piecewise constant
    if isinstance(ord, (int, float, np.number)) and not isinstance(ord, bool) and ord > 1:
        p = float(ord)
        ratio = np.where(ans == 0, 0.0, np.abs(x) / np.where(ans == 0, 1.0, ans))
        return g * np.sign(x) * ratio ** (p - 1)
    if isinstance(ord, (int, float, np.number)) and not isinstance(ord, bool):  # 0 < p < 1 and p < 0
        if np.any(x == 0):
            _refuse(f"np.linalg.norm with ord={ord!r} at a vector with a zero entry: below ord=1 the norm has "
                    "no derivative there", "use ord >= 1, or keep the entries away from 0")
        return g * np.sign(x) * (np.abs(x) / ans) ** (float(ord) - 1)
    _refuse(f"np.linalg.norm with ord={ord!r} on vectors has no derivative rule",
            "use ord=None, 0, 1, 2, np.inf, -np.inf or another real p")


def _matrix_norm_adjoint(g, x, ord):
    """Matrix norm over the last two axes; ``g`` has shape ``x.shape[:-2] + (1, 1)``."""
    if ord is None or ord == "fro":
        n = np.sqrt(np.sum(x * x, axis=(-2, -1), keepdims=True))
        return g * np.where(n == 0, 0.0, x / np.where(n == 0, 1.0, n))
    if ord == "nuc":
        u, _, vh = np.linalg.svd(x, full_matrices=False)
        return g * (u @ vh)
    if ord in (2, -2):  # the largest (smallest) singular value; tied ones share the adjoint equally
        u, s, vh = np.linalg.svd(x, full_matrices=False)
        extreme = s[..., :1] if ord == 2 else s[..., -1:]
        tied = np.abs(s - extreme) <= 1e-10 * np.maximum(np.abs(s[..., :1]), 1e-300)
        weights = tied / np.sum(tied, axis=-1, keepdims=True)
        return g * ((u * weights[..., None, :]) @ vh)
    if ord in (1, -1, np.inf, -np.inf):
        pick = np.max if ord in (1, np.inf) else np.min
        sum_axis = -2 if ord in (1, -1) else -1  # 1: column sums; inf: row sums
        sums = np.sum(np.abs(x), axis=sum_axis, keepdims=True)
        return g * np.sign(x) * _tie_mask(sums, -1 if sum_axis == -2 else -2, pick)
    _refuse(f"np.linalg.norm with ord={ord!r} on matrices has no derivative rule",
            "use ord=None, 'fro', 'nuc', 1, -1, 2, -2, np.inf or -np.inf")


def norm_adjoint(g, x, ans, ord=None, axis=None, keepdims=False):
    """Adjoint of ``np.linalg.norm(x, ord, axis, keepdims)`` for vector and matrix norms.

    Subgradient conventions: the adjoint is 0 where a 2-norm is 0, ``sign(x)``
    for the 1-norm, and ties of max/min-type norms share the adjoint evenly.
    """
    xa = _float(x)
    if axis is None:
        if ord is None:
            axes = tuple(range(xa.ndim))
            gg = _expand(g, xa.ndim, axes, keepdims)
            aa = _expand(ans, xa.ndim, axes, keepdims)
            flat_g = np.reshape(gg, (1,) * xa.ndim) if xa.ndim else gg
            flat_a = np.reshape(aa, (1,) * xa.ndim) if xa.ndim else aa
            return _like(x, _vector_norm_adjoint(flat_g, xa, flat_a, None, None))
        axis = (0, 1) if xa.ndim == 2 else (0,) if xa.ndim == 1 else None
        if axis is None:
            _refuse(f"np.linalg.norm with ord={ord!r} of a {xa.ndim}-D array needs an axis",
                    "pass axis=... as NumPy itself requires")
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes_n = tuple(operator.index(a) % xa.ndim for a in axes)
    gg = _expand(g, xa.ndim, tuple(sorted(axes_n)), keepdims)
    aa = _expand(ans, xa.ndim, tuple(sorted(axes_n)), keepdims)
    if len(axes_n) == 1:
        return _like(x, _vector_norm_adjoint(gg, xa, aa, ord, axes_n[0]))
    if len(axes_n) != 2:
        _refuse(f"np.linalg.norm over {len(axes_n)} axes", "use one axis or two axes")
    moved = np.moveaxis(xa, axes_n, (-2, -1))
    gm = np.moveaxis(gg, axes_n, (-2, -1))
    return np.moveaxis(_matrix_norm_adjoint(gm, moved, ord), (-2, -1), axes_n)


def diag_adjoint(g, v, k=0):
    """Adjoint of ``np.diag(v, k)``: the diagonal of ``g`` for a vector ``v``, ``g`` on the diagonal for a matrix."""
    if np.ndim(v) == 1:
        return np.array(np.diagonal(g, k))
    out = np.zeros(np.shape(v), dtype=np.result_type(g, np.float64))
    steps = np.arange(len(g))
    rows, cols = (steps, steps + k) if k >= 0 else (steps - k, steps)
    out[rows, cols] = g
    return out
