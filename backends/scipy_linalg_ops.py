"""Runtime helpers of the ``scipy.linalg`` rules (``rules/scipy/linalg.py``).

``import sourcediff`` imports this module but must not import SciPy: the
helpers that need it (``expm``, ``sqrtm`` and ``sylvester``, ``qr``) read it
through ``scipy_linalg`` (a ``LazyModule``), which imports it on first use: only in the
derivative of code that called ``scipy.linalg``. The others are NumPy. The
conventions (the triangle each function reads, the packed factors of
``cho_factor`` and ``lu_factor``, what is refused) are in the docstring of
``rules/scipy/linalg.py``.

Right-hand sides follow SciPy's rule: a 1-D ``b`` is one vector (shared by
every matrix of a batch), any other ``b`` is a stack of ``(n, k)`` matrices
whose batch axes broadcast against those of ``a``. Adjoints are summed back
over the axes that broadcast.
"""
from __future__ import annotations

import numpy as np

from .base import LazyModule
from .numpy_adjoints import as_list_adjoint, as_tuple_adjoint
from .numpy_array_ops import _like, _sum_to_shape, _swap, det_adjoint
from .numpy_linalg_ops import (_onto_triangle, _part, _pinv_adjoint, _pinv_tangent, _qr_square_adjoint,
                               _qr_square_tangent, _symmetric_from, cholesky_adjoint, cholesky_tangent,
                               eigh_adjoint, eigh_tangent, eigvalsh_adjoint, eigvalsh_tangent, svd_adjoint,
                               svd_tangent)

__all__ = [
    "solve_triangular_adjoint_a", "solve_triangular_adjoint_b", "solve_triangular_tangent_a",
    "solve_triangular_tangent_b", "cho_factor_adjoint", "cho_factor_tangent", "cho_solve_adjoint_c",
    "cho_solve_adjoint_b", "cho_solve_tangent_c", "cho_solve_tangent_b", "lu_factor_adjoint", "lu_factor_tangent",
    "lu_solve_adjoint_lu", "lu_solve_adjoint_b", "lu_solve_tangent_lu", "lu_solve_tangent_b", "expm_adjoint",
    "expm_tangent", "sqrtm_adjoint", "sqrtm_tangent", "sylvester", "block_diag_adjoint", "block_diag_tangent",
    "scipy_solve_adjoint_a", "scipy_solve_adjoint_b", "scipy_solve_tangent_a", "scipy_solve_tangent_b",
    "scipy_inv_adjoint", "scipy_inv_tangent", "scipy_det_adjoint", "scipy_det_tangent", "scipy_cholesky_adjoint",
    "scipy_cholesky_tangent", "scipy_eigh_adjoint", "scipy_eigh_tangent", "scipy_svd_adjoint",
    "scipy_svd_tangent", "scipy_qr_adjoint", "scipy_qr_tangent", "scipy_pinv_adjoint", "scipy_pinv_tangent",
    "scipy_lstsq_adjoint_a", "scipy_lstsq_adjoint_b", "scipy_lstsq_tangent_a", "scipy_lstsq_tangent_b",
]

scipy_linalg = LazyModule("scipy.linalg")  # SciPy loads on first use


def _refuse(message: str, hint: str) -> None:
    from sourcediff.errors import SourcediffError

    raise SourcediffError(message, hint=hint)


def _check(name: str, shape, *complex_operands: bool, square: bool = True, batched: bool = True, **overwrite) -> None:
    """Refuse complex operands, ``overwrite_*=True`` (SciPy may then destroy an input that the derivative reads),
    and, where asked, a first operand of ``shape`` that is not a (stack of) square matrices. The caller passes
    ``np.shape`` and ``np.iscomplexobj`` of its operands, which carry no derivative: the call, kept for its
    effect, then reads nothing differentiated, and the helper can be differentiated through its source."""
    for flag, value in overwrite.items():
        if value:
            _refuse(f"scipy.linalg.{name}(..., {flag}=True) may overwrite its argument, which the derivative reads "
                    "again", f"leave {flag} False (the default)")
    if any(complex_operands):
        _refuse(f"scipy.linalg.{name} of complex matrices has no derivative rule yet", "differentiate real matrices")
    a = shape
    if square and (len(a) < 2 or a[-1] != a[-2]):
        _refuse(f"scipy.linalg.{name} of an array of shape {a}: the derivative rule takes a square matrix (or a "
                "stack of them)", "pass a 2-D square matrix")
    if not batched and len(a) != 2:
        _refuse(f"scipy.linalg.{name} of an array of shape {a}: the derivative rule takes one 2-D matrix",
                "call it once per matrix")


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _tuple_like(arg, first):
    """The adjoint of a pair argument ``(c, lower)`` or ``(lu, piv)``: ``first`` for the matrix, and zeros for the
    flag or the pivots (zeros, not None: generated code adds the adjoints of a name used twice with ``+``)."""
    values = [first, np.zeros(np.shape(arg[1])) if np.ndim(arg[1]) else 0.0]
    return as_list_adjoint(values) if isinstance(arg, list) else as_tuple_adjoint(values)


# -- linear systems with an effective matrix -------------------------------------------------------------------
#
# Each solver reads a structured part of ``a`` (a triangle, a band, a symmetric matrix built from a triangle): the
# effective matrix M = P(a) (+ a constant, such as the unit diagonal), and it solves M x = b or M^T x = b. The
# derivatives are those of x = M^-1 b, with dM = P(da): the adjoint of ``a`` is P^T applied to the adjoint of M.

def _columns(x, vector):
    """``x`` as a stack of column blocks: with ``vector`` (a 1-D right-hand side), its last axis is one column."""
    x = _f(x)
    return x[..., None] if vector else x


def _solve(m, b):
    """``m^-1 b`` by SciPy's rule for ``b`` (see the module docstring)."""
    vector = np.ndim(b) == 1  # one right-hand side vector (SciPy's rule)
    x = np.linalg.solve(m, _columns(b, vector))
    return x[..., 0] if vector else x


def _solve_tangent_matrix(m, dm, x, b):
    """``-m^-1 dm x``: the tangent of ``x = m^-1 b`` from a tangent ``dm`` of the matrix."""
    vector = np.ndim(b) == 1  # one right-hand side vector (SciPy's rule)
    out = -np.linalg.solve(m, dm @ _columns(x, vector))
    return out[..., 0] if vector else out


def _solve_adjoints(g, m, b, x):
    """``(gm, gb)`` of ``x = m^-1 b``: ``gb = m^-T g`` summed to ``b``'s shape, ``gm = -gb x^T`` (unreduced)."""
    vector = np.ndim(b) == 1  # one right-hand side vector (SciPy's rule)
    gb = np.linalg.solve(_swap(m), _columns(g, vector))
    gm = -gb @ _swap(_columns(x, vector))
    gb = gb[..., 0] if vector else gb
    return gm, _sum_to_shape(gb, np.shape(b))


def _structure(name, assume_a):
    """The part of ``a`` that ``scipy.linalg.solve``/``inv`` read with ``assume_a``: ``'general'`` (all of it),
    ``'symmetric'`` (one triangle, mirrored), or the name of the triangle or band kept."""
    if assume_a in (None, "gen", "general"):
        return "general"
    if assume_a in ("sym", "symmetric", "her", "hermitian", "pos", "positive definite"):
        return "symmetric"
    if assume_a in ("upper triangular", "lower triangular"):
        return assume_a
    if name == "solve" and assume_a in ("diagonal", "tridiagonal"):
        return assume_a
    _refuse(f"scipy.linalg.{name}(..., assume_a={assume_a!r}) has no derivative rule",
            "use assume_a=None (the default), 'gen', 'sym', 'pos', or a triangular structure"
            + (", 'diagonal' or 'tridiagonal'" if name == "solve" else ""))


def _band_mask(n, structure):
    """The ``(n, n)`` entries kept by a triangular or banded ``structure``."""
    rows, cols = np.indices((n, n))
    if structure == "upper triangular":
        return cols >= rows
    if structure == "lower triangular":
        return cols <= rows
    if structure == "diagonal":
        return cols == rows
    return np.abs(cols - rows) <= 1


def _project(x, structure, lower, transpose):
    """``P(x)``, the effective matrix of ``structure`` read from ``x``, or with ``transpose`` its transpose ``P^T``
    (the mirror of a symmetric structure folds back onto the triangle read; a mask is its own transpose)."""
    if structure == "general":
        return x
    if structure == "symmetric":
        return _onto_triangle(x, bool(lower)) if transpose else _symmetric_from(x, bool(lower))
    return np.where(_band_mask(np.shape(x)[-1], structure), x, 0.0)


def _transposed(flag) -> bool:
    """solve_triangular's and lu_solve's ``trans``: 0/'N' solve with a, 1/'T' and 2/'C' with its transpose."""
    if flag in (0, "N", "n"):
        return False
    if flag in (1, 2, "T", "t", "C", "c"):
        return True
    _refuse(f"trans={flag!r} is not one of 0, 1, 2, 'N', 'T', 'C'", "pass one of them")


def _op(m, transposed):
    return _swap(m) if transposed else m


# -- solve_triangular ------------------------------------------------------------------------------------------

def _triangular(a, trans, lower, unit_diagonal):
    """``(op(M), keep, transposed)``: M the triangle of ``a`` read (unit diagonal: ones on it), ``keep`` its mask."""
    a = _f(a)
    n = a.shape[-1]
    keep = np.tril(np.ones((n, n), dtype=bool), -1 if unit_diagonal else 0) if lower else \
        np.triu(np.ones((n, n), dtype=bool), 1 if unit_diagonal else 0)
    m = np.where(keep, a, 0.0) + (np.eye(n) if unit_diagonal else 0.0)
    transposed = _transposed(trans)
    return _op(m, transposed), keep, transposed


def solve_triangular_tangent_b(t, a, b, ans, trans=0, lower=False, unit_diagonal=False, overwrite_b=False):
    """Tangent of ``scipy.linalg.solve_triangular`` in ``b``: ``op(M)^-1 db``."""
    _check("solve_triangular", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), np.iscomplexobj(t),
           overwrite_b=overwrite_b)
    m, _, _ = _triangular(a, trans, lower, unit_diagonal)
    return _solve(m, t)


def solve_triangular_tangent_a(t, a, b, ans, trans=0, lower=False, unit_diagonal=False, overwrite_b=False):
    """Tangent of ``scipy.linalg.solve_triangular`` in ``a``: ``-op(M)^-1 op(P(da)) x``, P the triangle read."""
    _check("solve_triangular", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), np.iscomplexobj(t),
           overwrite_b=overwrite_b)
    m, keep, transposed = _triangular(a, trans, lower, unit_diagonal)
    return _solve_tangent_matrix(m, _op(np.where(keep, _f(t), 0.0), transposed), ans, b)


def solve_triangular_adjoint_b(g, a, b, ans, trans=0, lower=False, unit_diagonal=False, overwrite_b=False):
    """Adjoint of ``scipy.linalg.solve_triangular`` in ``b``: ``op(M)^-T g``."""
    _check("solve_triangular", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), overwrite_b=overwrite_b)
    m, _, _ = _triangular(a, trans, lower, unit_diagonal)
    return _like(b, _solve_adjoints(g, m, b, ans)[1])


def solve_triangular_adjoint_a(g, a, b, ans, trans=0, lower=False, unit_diagonal=False, overwrite_b=False):
    """Adjoint of ``scipy.linalg.solve_triangular`` in ``a``: ``-op(M)^-T g x^T``, transposed back, on the triangle
    read (the unit diagonal, when assumed, gets none)."""
    _check("solve_triangular", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), overwrite_b=overwrite_b)
    m, keep, transposed = _triangular(a, trans, lower, unit_diagonal)
    gm = _solve_adjoints(g, m, b, ans)[0]
    return _sum_to_shape(np.where(keep, _op(gm, transposed), 0.0), np.shape(a))


# -- scipy.linalg.solve, inv, det ----------------------------------------------------------------------------------

def _general(a, assume_a, lower, transposed):
    """``(op(M), structure)``: M the part of ``a`` that ``assume_a`` reads."""
    structure = _structure("solve", assume_a)
    return _op(_project(_f(a), structure, lower, False), bool(transposed)), structure


def scipy_solve_tangent_b(t, a, b, ans, lower=False, overwrite_a=False, overwrite_b=False, assume_a=None,
                          transposed=False):
    """Tangent of ``scipy.linalg.solve`` in ``b``: ``op(M)^-1 db``, M the part of ``a`` that ``assume_a`` reads."""
    _check("solve", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), np.iscomplexobj(t), overwrite_a=overwrite_a,
           overwrite_b=overwrite_b)
    m, _ = _general(a, assume_a, lower, transposed)
    return _solve(m, t)


def scipy_solve_tangent_a(t, a, b, ans, lower=False, overwrite_a=False, overwrite_b=False, assume_a=None,
                          transposed=False):
    """Tangent of ``scipy.linalg.solve`` in ``a``: ``-op(M)^-1 op(P(da)) x``."""
    _check("solve", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), np.iscomplexobj(t), overwrite_a=overwrite_a,
           overwrite_b=overwrite_b)
    m, structure = _general(a, assume_a, lower, transposed)
    return _solve_tangent_matrix(m, _op(_project(_f(t), structure, lower, False), bool(transposed)), ans, b)


def scipy_solve_adjoint_b(g, a, b, ans, lower=False, overwrite_a=False, overwrite_b=False, assume_a=None,
                          transposed=False):
    """Adjoint of ``scipy.linalg.solve`` in ``b``: ``op(M)^-T g``."""
    _check("solve", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), overwrite_a=overwrite_a,
           overwrite_b=overwrite_b)
    m, _ = _general(a, assume_a, lower, transposed)
    return _like(b, _solve_adjoints(g, m, b, ans)[1])


def scipy_solve_adjoint_a(g, a, b, ans, lower=False, overwrite_a=False, overwrite_b=False, assume_a=None,
                          transposed=False):
    """Adjoint of ``scipy.linalg.solve`` in ``a``: ``P^T`` of ``-op(M)^-T g x^T`` (transposed back)."""
    _check("solve", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), overwrite_a=overwrite_a,
           overwrite_b=overwrite_b)
    m, structure = _general(a, assume_a, lower, transposed)
    gm = _solve_adjoints(g, m, b, ans)[0]
    return _sum_to_shape(_project(_op(gm, bool(transposed)), structure, lower, True), np.shape(a))


def _inverse_structure(assume_a):
    if assume_a in ("diagonal", "tridiagonal"):
        _refuse(f"scipy.linalg.inv(..., assume_a={assume_a!r}) has no derivative rule (SciPy 1.17 keeps the "
                "off-diagonal entries of a in the result of 'diagonal', and has no 'tridiagonal' inverse)",
                "use assume_a=None, or 1 / np.diag(a) for a diagonal matrix")
    return _structure("inv", assume_a)


def scipy_inv_tangent(t, a, ans, overwrite_a=False, assume_a=None, lower=False):
    """Tangent of ``scipy.linalg.inv``: ``-X P(da) X``, P the part of ``a`` that ``assume_a`` reads."""
    _check("inv", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), overwrite_a=overwrite_a)
    structure = _inverse_structure(assume_a)
    x = np.asarray(ans)
    return -(x @ _project(_f(t), structure, lower, False) @ x)


def scipy_inv_adjoint(g, a, ans, overwrite_a=False, assume_a=None, lower=False):
    """Adjoint of ``scipy.linalg.inv``: ``P^T(-X^T g X^T)``."""
    _check("inv", np.shape(a), np.iscomplexobj(a), overwrite_a=overwrite_a)
    structure = _inverse_structure(assume_a)
    x = _swap(np.asarray(ans))
    return _project(-(x @ _f(g) @ x), structure, lower, True)


def scipy_det_tangent(t, a, ans, overwrite_a=False):
    """Tangent of ``scipy.linalg.det``: ``det(a) tr(a^-1 da)``."""
    _check("det", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), overwrite_a=overwrite_a)
    return np.sum(_f(t) * det_adjoint(np.ones_like(ans), a, ans), axis=(-2, -1))


def scipy_det_adjoint(g, a, ans, overwrite_a=False):
    """Adjoint of ``scipy.linalg.det``: ``g det(a) a^-T``."""
    _check("det", np.shape(a), np.iscomplexobj(a), overwrite_a=overwrite_a)
    return det_adjoint(g, a, ans)


# -- cholesky, cho_factor, cho_solve -----------------------------------------------------------------------------

def scipy_cholesky_tangent(t, a, ans, lower=False, overwrite_a=False):
    """Tangent of ``scipy.linalg.cholesky``: that of ``np.linalg.cholesky`` on the triangle read (the upper one
    by default, ``lower=True`` the lower one)."""
    _check("cholesky", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), overwrite_a=overwrite_a)
    return cholesky_tangent(t, a, ans, upper=not lower)


def scipy_cholesky_adjoint(g, a, ans, lower=False, overwrite_a=False):
    """Adjoint of ``scipy.linalg.cholesky``, onto the triangle read."""
    _check("cholesky", np.shape(a), np.iscomplexobj(a), overwrite_a=overwrite_a)
    return cholesky_adjoint(g, a, ans, upper=not lower)


def _factor_parts(c, lower):
    """``(factor, unused)``: the triangle of ``cho_factor``'s matrix that holds the factor (with the diagonal),
    and the mask of the other, strict, triangle."""
    c = _f(c)
    n = c.shape[-1]
    unused = np.triu(np.ones((n, n), dtype=bool), 1) if lower else np.tril(np.ones((n, n), dtype=bool), -1)
    return np.where(unused, 0.0, c), unused


def _copies_input(a, c, unused) -> bool:
    """Whether the unused triangle of ``cho_factor``'s matrix holds ``a``'s entries, as LAPACK leaves them."""
    return bool(np.array_equal(np.where(unused, _f(a), 0.0), np.where(unused, c, 0.0)))


def cho_factor_tangent(t, a, ans, lower=False, overwrite_a=False):
    """Tangent of ``scipy.linalg.cho_factor``: the Cholesky tangent in the triangle of the factor; in the other
    triangle, which holds ``a``'s entries as LAPACK leaves them, ``da`` (NaN where it holds anything else)."""
    _check("cho_factor", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), overwrite_a=overwrite_a)
    factor, unused = _factor_parts(ans[0], lower)
    t = _f(t)
    out = cholesky_tangent(t, a, factor, upper=not lower)
    rest = t if _copies_input(a, ans[0], unused) else np.full(t.shape, np.nan)
    return as_tuple_adjoint([np.where(unused, rest, out), None])


def cho_factor_adjoint(g, a, ans, lower=False, overwrite_a=False):
    """Adjoint of ``scipy.linalg.cho_factor``: the Cholesky adjoint of the factor's triangle, onto the triangle
    of ``a`` it reads, plus the adjoint of the other triangle, which holds ``a``'s entries (refused if it holds
    anything else and gets a nonzero adjoint)."""
    _check("cho_factor", np.shape(a), np.iscomplexobj(a), overwrite_a=overwrite_a)
    c = ans[0]
    factor, unused = _factor_parts(c, lower)
    gc = _part(g, 0, c)
    out = cholesky_adjoint(np.where(unused, 0.0, gc), a, factor, upper=not lower)
    rest = np.where(unused, gc, 0.0)
    if np.any(rest != 0) and not _copies_input(a, c, unused):
        _refuse("the result depends on the unused triangle of scipy.linalg.cho_factor's matrix, which does not "
                "hold the input's entries here", "read only the factor's triangle (np.triu(c) or np.tril(c)), or "
                "pass (c, lower) to scipy.linalg.cho_solve")
    return out + rest


def _cho_matrix(c_and_lower):
    """``(A, factor, lower)``: the matrix ``cho_solve`` solves with, ``L L^T`` or ``U^T U`` from the triangle of
    ``c`` that holds the factor."""
    c, lower = c_and_lower
    factor, _ = _factor_parts(c, lower)
    a = factor @ _swap(factor) if lower else _swap(factor) @ factor
    return a, factor, bool(lower)


def _factor_tangent(tc, factor, lower):
    """``dA`` of ``A = L L^T`` (``U^T U``) from the tangent of ``c``, read on the factor's triangle."""
    d = np.tril(_f(tc)) if lower else np.triu(_f(tc))
    return d @ _swap(factor) + factor @ _swap(d) if lower else _swap(d) @ factor + _swap(factor) @ d


def _factor_adjoint(ga, factor, lower):
    """Adjoint of the factor's triangle from the adjoint ``ga`` of ``A = L L^T`` (``U^T U``)."""
    s = ga + _swap(ga)
    return np.tril(s @ factor) if lower else np.triu(factor @ s)


def _cho_check(pair: bool, shape, *complex_operands: bool, overwrite_b=False):
    """Refuses a first argument that is not a pair (c, lower) (``pair``), then as :func:`_check` (``shape`` is that of
    ``c``; the caller passes ``np.iscomplexobj`` of ``c``, ``b`` and a tangent: flags, without derivative)."""
    if not pair:
        _refuse("scipy.linalg.cho_solve's first argument is not a pair (c, lower)", "pass what cho_factor returns")
    _check("cho_solve", shape, *complex_operands, overwrite_b=overwrite_b)


def cho_solve_tangent_b(t, c_and_lower, b, ans, overwrite_b=False):
    """Tangent of ``scipy.linalg.cho_solve`` in ``b``: ``A^-1 db``."""
    _cho_check(isinstance(c_and_lower, (tuple, list)) and len(c_and_lower) == 2, np.shape(c_and_lower[0]),
               np.iscomplexobj(c_and_lower[0]), np.iscomplexobj(b), np.iscomplexobj(t), overwrite_b=overwrite_b)
    return _solve(_cho_matrix(c_and_lower)[0], t)


def cho_solve_tangent_c(t, c_and_lower, b, ans, overwrite_b=False):
    """Tangent of ``scipy.linalg.cho_solve`` in the factor: ``-A^-1 dA x``, ``dA = dL L^T + L dL^T`` from the
    factor's triangle of ``dc`` (the other triangle is never read)."""
    tc = None if t is None else t[0]
    _cho_check(isinstance(c_and_lower, (tuple, list)) and len(c_and_lower) == 2, np.shape(c_and_lower[0]),
               np.iscomplexobj(c_and_lower[0]), np.iscomplexobj(b), np.iscomplexobj(tc), overwrite_b=overwrite_b)
    a, factor, lower = _cho_matrix(c_and_lower)
    if tc is None:
        return np.zeros(np.shape(ans))
    return _solve_tangent_matrix(a, _factor_tangent(tc, factor, lower), ans, b)


def cho_solve_adjoint_b(g, c_and_lower, b, ans, overwrite_b=False):
    """Adjoint of ``scipy.linalg.cho_solve`` in ``b``: ``A^-1 g``."""
    _cho_check(isinstance(c_and_lower, (tuple, list)) and len(c_and_lower) == 2, np.shape(c_and_lower[0]),
               np.iscomplexobj(c_and_lower[0]), np.iscomplexobj(b), overwrite_b=overwrite_b)
    return _like(b, _solve_adjoints(g, _cho_matrix(c_and_lower)[0], b, ans)[1])


def cho_solve_adjoint_c(g, c_and_lower, b, ans, overwrite_b=False):
    """Adjoint of ``scipy.linalg.cho_solve`` in ``(c, lower)``: ``((G + G^T) L`` on the factor's triangle, 0)
    with ``G = -A^-1 g x^T``; the unused triangle of ``c`` gets zero."""
    _cho_check(isinstance(c_and_lower, (tuple, list)) and len(c_and_lower) == 2, np.shape(c_and_lower[0]),
               np.iscomplexobj(c_and_lower[0]), np.iscomplexobj(b), overwrite_b=overwrite_b)
    a, factor, lower = _cho_matrix(c_and_lower)
    ga = _solve_adjoints(g, a, b, ans)[0]
    gc = _sum_to_shape(_factor_adjoint(ga, factor, lower), np.shape(c_and_lower[0]))
    return _tuple_like(c_and_lower, gc)


# -- lu_factor, lu_solve --------------------------------------------------------------------------------------------

def _swapped(pivots):
    """The row order that LAPACK's ``pivots`` (a list: row ``i`` swapped with row ``pivots[i]``, in turn) give."""
    order = list(range(len(pivots)))
    for i, j in enumerate(pivots):
        order[i], order[j] = order[j], order[i]
    return order


def _permutation(pivots):
    """``perm`` with ``a[..., perm, :] = L U`` from LAPACK's pivots, given as nested lists (``piv.tolist()``: the
    caller's integers carry no derivative)."""
    shape = np.shape(pivots)
    rows = np.reshape(pivots, (-1, shape[-1])).tolist()
    return np.reshape(np.array([_swapped(row) for row in rows], dtype=np.int64), shape)


def _rows(x, perm):
    """``x[..., perm, :]`` (``P^T x``), batched."""
    return np.take_along_axis(x, perm[..., :, None], axis=-2)


def _unrows(x, perm):
    """The inverse of :func:`_rows` (``P x``)."""
    return _rows(x, np.argsort(perm, axis=-1))


def _lu_parts(lu):
    lu = _f(lu)
    n = lu.shape[-1]
    return np.tril(lu, -1) + np.eye(n), np.triu(lu)


def _lu_check(name, shape, *complex_operands, **overwrite):
    _check(name, shape, *complex_operands, **overwrite)


def lu_factor_tangent(t, a, ans, overwrite_a=False):
    """Tangent of ``scipy.linalg.lu_factor`` (``P^T a = L U``, pivots held fixed): with
    ``F = L^-1 P^T da U^-1``, ``dL = L tril(F, -1)``, ``dU = triu(F) U``, packed as ``lu`` is; pivots get none."""
    _lu_check("lu_factor", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), overwrite_a=overwrite_a)
    low, up = _lu_parts(ans[0])
    perm = _permutation(np.asarray(ans[1]).tolist())
    f = np.linalg.solve(low, _rows(_f(t), perm))
    f = _swap(np.linalg.solve(_swap(up), _swap(f)))  # L^-1 P^T da U^-1
    return as_tuple_adjoint([np.tril(low @ np.tril(f, -1), -1) + np.triu(np.triu(f) @ up), None])


def lu_factor_adjoint(g, a, ans, overwrite_a=False):
    """Adjoint of ``scipy.linalg.lu_factor``: ``P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T``."""
    _lu_check("lu_factor", np.shape(a), np.iscomplexobj(a), overwrite_a=overwrite_a)
    low, up = _lu_parts(ans[0])
    perm = _permutation(np.asarray(ans[1]).tolist())
    glu = _part(g, 0, ans[0])
    gf = np.tril(_swap(low) @ np.tril(glu, -1), -1) + np.triu(np.triu(glu) @ _swap(up))
    inner = np.linalg.solve(_swap(low), gf)
    inner = _swap(np.linalg.solve(up, _swap(inner)))  # L^-T gF U^-T
    return _unrows(inner, perm)


def _lu_system(lu, perm, trans):
    """``(op(A), L, U, transposed)`` for ``lu_solve``: ``A = P L U`` from the packed factors and the row order
    ``perm`` (:func:`_permutation`, which the caller computes: a helper's result is taken as differentiated)."""
    low, up = _lu_parts(lu)
    transposed = _transposed(trans)
    return _op(_unrows(low @ up, perm), transposed), low, up, transposed


def _lu_solve_check(pair: bool, shape, *complex_operands: bool, overwrite_b=False):
    """Refuses a first argument that is not a pair (lu, piv) (``pair``), then as :func:`_check` (``shape`` is that of
    ``lu``; the caller passes ``np.iscomplexobj`` of ``lu``, ``b`` and a tangent: flags, without derivative)."""
    if not pair:
        _refuse("scipy.linalg.lu_solve's first argument is not a pair (lu, piv)", "pass what lu_factor returns")
    _check("lu_solve", shape, *complex_operands, overwrite_b=overwrite_b)


def lu_solve_tangent_b(t, lu_and_piv, b, ans, trans=0, overwrite_b=False):
    """Tangent of ``scipy.linalg.lu_solve`` in ``b``: ``op(A)^-1 db``."""
    _lu_solve_check(isinstance(lu_and_piv, (tuple, list)) and len(lu_and_piv) == 2, np.shape(lu_and_piv[0]),
                    np.iscomplexobj(lu_and_piv[0]), np.iscomplexobj(b), np.iscomplexobj(t), overwrite_b=overwrite_b)
    perm = _permutation(np.asarray(lu_and_piv[1]).tolist())
    return _solve(_lu_system(lu_and_piv[0], perm, trans)[0], t)


def lu_solve_tangent_lu(t, lu_and_piv, b, ans, trans=0, overwrite_b=False):
    """Tangent of ``scipy.linalg.lu_solve`` in the packed factors: ``-op(A)^-1 op(dA) x`` with
    ``dA = P (tril(dlu, -1) U + L triu(dlu))``; the pivots get none."""
    tlu = None if t is None else t[0]
    _lu_solve_check(isinstance(lu_and_piv, (tuple, list)) and len(lu_and_piv) == 2, np.shape(lu_and_piv[0]),
                    np.iscomplexobj(lu_and_piv[0]), np.iscomplexobj(b), np.iscomplexobj(tlu), overwrite_b=overwrite_b)
    if tlu is None:
        return np.zeros(np.shape(ans))
    perm = _permutation(np.asarray(lu_and_piv[1]).tolist())
    m, low, up, transposed = _lu_system(lu_and_piv[0], perm, trans)
    tlu = _f(tlu)
    da = _unrows(np.tril(tlu, -1) @ up + low @ np.triu(tlu), perm)
    return _solve_tangent_matrix(m, _op(da, transposed), ans, b)


def lu_solve_adjoint_b(g, lu_and_piv, b, ans, trans=0, overwrite_b=False):
    """Adjoint of ``scipy.linalg.lu_solve`` in ``b``: ``op(A)^-T g``."""
    _lu_solve_check(isinstance(lu_and_piv, (tuple, list)) and len(lu_and_piv) == 2, np.shape(lu_and_piv[0]),
                    np.iscomplexobj(lu_and_piv[0]), np.iscomplexobj(b), overwrite_b=overwrite_b)
    perm = _permutation(np.asarray(lu_and_piv[1]).tolist())
    return _like(b, _solve_adjoints(g, _lu_system(lu_and_piv[0], perm, trans)[0], b, ans)[1])


def lu_solve_adjoint_lu(g, lu_and_piv, b, ans, trans=0, overwrite_b=False):
    """Adjoint of ``scipy.linalg.lu_solve`` in ``(lu, piv)``: with ``G`` the adjoint of ``A``,
    ``(tril(P^T G U^T, -1) + triu(L^T P^T G), zeros)``."""
    _lu_solve_check(isinstance(lu_and_piv, (tuple, list)) and len(lu_and_piv) == 2, np.shape(lu_and_piv[0]),
                    np.iscomplexobj(lu_and_piv[0]), np.iscomplexobj(b), overwrite_b=overwrite_b)
    perm = _permutation(np.asarray(lu_and_piv[1]).tolist())
    m, low, up, transposed = _lu_system(lu_and_piv[0], perm, trans)
    ga = _rows(_op(_solve_adjoints(g, m, b, ans)[0], transposed), perm)  # P^T G
    glu = np.tril(ga @ _swap(up), -1) + np.triu(_swap(low) @ ga)
    return _tuple_like(lu_and_piv, _sum_to_shape(glu, np.shape(lu_and_piv[0])))


# -- expm, sqrtm ---------------------------------------------------------------------------------------------------

def _frechet(a, e):
    """The Fréchet derivative of the matrix exponential at ``a`` in the direction ``e``: the upper right block
    of ``expm([[a, e], [0, a]])`` (batched)."""
    a, e = np.broadcast_arrays(_f(a), _f(e))
    n = a.shape[-1]
    top = np.concatenate([a, e], axis=-1)
    bottom = np.concatenate([np.zeros(a.shape), a], axis=-1)
    return scipy_linalg.expm(np.concatenate([top, bottom], axis=-2))[..., :n, n:]


def expm_tangent(t, A):
    """Tangent of ``scipy.linalg.expm``: the Fréchet derivative ``L(A, dA)``."""
    _check("expm", np.shape(A), np.iscomplexobj(A), np.iscomplexobj(t))
    return _frechet(A, t)


def expm_adjoint(g, A):
    """Adjoint of ``scipy.linalg.expm``: ``L(A^T, g)``, the Fréchet derivative at the transpose."""
    _check("expm", np.shape(A), np.iscomplexobj(A), np.iscomplexobj(g))
    return _frechet(_swap(_f(A)), g)


def _sqrtm_check(shape, complex_input: bool, complex_other: bool, complex_result: bool, disp):
    """As :func:`_check`, and refuses ``disp=False`` and a complex result (flags, without derivative)."""
    _check("sqrtm", shape, complex_input, complex_other)
    if disp is False or complex_result:
        _refuse("scipy.linalg.sqrtm with disp=False (a tuple result) or with a complex result (a matrix with "
                "negative real eigenvalues) has no derivative rule",
                "call it with the default disp on a matrix whose square root is real")


def sylvester(x, y, c):
    """``z`` with ``x z + z y = c`` (``scipy.linalg.solve_sylvester``), matrix by matrix over the batch axes."""
    _check("solve_sylvester", np.shape(x), np.iscomplexobj(x), np.iscomplexobj(y), np.iscomplexobj(c))
    batch = np.broadcast_shapes(np.shape(x)[:-2], np.shape(y)[:-2], np.shape(c)[:-2])
    x = np.reshape(np.broadcast_to(_f(x), batch + np.shape(x)[-2:]), (-1,) + np.shape(x)[-2:])
    y = np.reshape(np.broadcast_to(_f(y), batch + np.shape(y)[-2:]), (-1,) + np.shape(y)[-2:])
    shape = batch + np.shape(c)[-2:]
    c = np.reshape(np.broadcast_to(_f(c), shape), (-1,) + np.shape(c)[-2:])
    solved = [scipy_linalg.solve_sylvester(x[i], y[i], c[i]) for i in range(c.shape[0])]
    return np.reshape(np.stack(solved), shape) if solved else np.zeros(shape)


def sqrtm_tangent(t, A, ans, disp=True):
    """Tangent of ``scipy.linalg.sqrtm``: ``dX`` with ``X dX + dX X = dA`` (a Sylvester equation)."""
    _sqrtm_check(np.shape(A), np.iscomplexobj(A), np.iscomplexobj(t), np.iscomplexobj(ans), disp)
    return sylvester(ans, ans, t)


def sqrtm_adjoint(g, A, ans, disp=True):
    """Adjoint of ``scipy.linalg.sqrtm``: ``Z`` with ``X^T Z + Z X^T = g``."""
    _sqrtm_check(np.shape(A), np.iscomplexobj(A), np.iscomplexobj(g), np.iscomplexobj(ans), disp)
    x = _swap(np.asarray(ans))
    return sylvester(x, x, g)


# -- block_diag ----------------------------------------------------------------------------------------------------

def _block_diag_of(blocks):
    """``scipy.linalg.block_diag`` of float arrays (a 0-d or 1-D one is one row, the batch axes broadcast),
    by concatenation."""
    blocks = [np.atleast_2d(x) for x in blocks]
    batch = ()
    for x in blocks:
        batch = np.broadcast_shapes(batch, np.shape(x)[:-2])
    widths = [np.shape(x)[-1] for x in blocks]
    lefts = [sum(widths[:i]) for i in range(len(widths))]
    rows = [np.concatenate([np.zeros(batch + (np.shape(x)[-2], left)), np.broadcast_to(x, batch + np.shape(x)[-2:]),
                            np.zeros(batch + (np.shape(x)[-2], sum(widths) - left - np.shape(x)[-1]))], axis=-1)
            for x, left in zip(blocks, lefts)]
    return np.concatenate(rows, axis=-2) if rows else np.zeros((1, 0))


def block_diag_tangent(t, arrs):
    """Tangent of ``scipy.linalg.block_diag``: the block matrix of the tangents (a missing one is zero)."""
    _check("block_diag", (), any([np.iscomplexobj(x) for x in arrs]), square=False)
    return _block_diag_of([np.zeros(np.shape(x)) if d is None else _f(d) for d, x in zip(t, arrs)])


def _diagonal_block(g, x, r, c):
    """The block of ``g`` from row ``r`` and column ``c`` that ``x`` fills, summed to ``x``'s shape."""
    shape = np.shape(x)
    core = np.atleast_2d(np.zeros(shape)).shape  # a 0-d or 1-D array is one row
    block = g[..., r:r + core[-2], c:c + core[-1]]
    return _like(x, _sum_to_shape(block, core if len(shape) <= 2 else shape).reshape(shape))


def block_diag_adjoint(g, arrs):
    """Adjoint of ``scipy.linalg.block_diag(*arrs)``: the diagonal block of ``g`` of each argument, summed over
    the batch axes it was broadcast along."""
    _check("block_diag", (), any([np.iscomplexobj(x) for x in arrs]), square=False)
    g = _f(g)
    shapes = [np.atleast_2d(np.zeros(np.shape(x))).shape[-2:] for x in arrs]
    starts = [sum(shape[0] for shape in shapes[:i]) for i in range(len(shapes))]
    lefts = [sum(shape[1] for shape in shapes[:i]) for i in range(len(shapes))]
    out = [_diagonal_block(g, x, r, c) for x, r, c in zip(arrs, starts, lefts)]
    return tuple(out) if isinstance(arrs, tuple) else out


# -- eigh, svd, qr -------------------------------------------------------------------------------------------------

def _eigh_check(shape, complex_a: bool, complex_other: bool, generalized: bool, subset: bool, overwrite_a,
                overwrite_b):
    """As :func:`_check`, and refuses the generalized problem and a subset of the eigenpairs (flags, without
    derivative: ``generalized`` is ``b is not None``, ``subset`` whether a subset is asked for)."""
    _check("eigh", shape, complex_a, complex_other, overwrite_a=overwrite_a, overwrite_b=overwrite_b)
    if generalized:
        _refuse("scipy.linalg.eigh(a, b) (the generalized eigenproblem) has no derivative rule",
                "solve the standard problem: with L = cholesky(b, lower=True), eigh(inv(L) a inv(L).T)")
    if subset:
        _refuse("scipy.linalg.eigh with subset_by_index or subset_by_value has no derivative rule (the "
                "eigenvectors' derivatives need every eigenpair, and a value window jumps)",
                "compute every eigenpair and select them with indexing")


def scipy_eigh_tangent(t, a, ans, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
                       subset_by_index=None, subset_by_value=None):
    """Tangent of ``scipy.linalg.eigh`` (and ``eigvalsh``): that of ``np.linalg.eigh``/``eigvalsh`` on the
    triangle read (the lower one by default)."""
    _eigh_check(np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), b is not None,
                subset_by_index is not None or subset_by_value is not None, overwrite_a, overwrite_b)
    uplo = "L" if lower else "U"
    return eigvalsh_tangent(t, a, uplo) if eigvals_only else eigh_tangent(t, a, ans, uplo)


def scipy_eigh_adjoint(g, a, ans, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
                       subset_by_index=None, subset_by_value=None):
    """Adjoint of ``scipy.linalg.eigh`` (and ``eigvalsh``), onto the triangle read."""
    _eigh_check(np.shape(a), np.iscomplexobj(a), False, b is not None,
                subset_by_index is not None or subset_by_value is not None, overwrite_a, overwrite_b)
    uplo = "L" if lower else "U"
    return eigvalsh_adjoint(g, a, uplo) if eigvals_only else eigh_adjoint(g, a, ans, uplo)


def scipy_svd_tangent(t, a, ans, full_matrices=True, compute_uv=True, overwrite_a=False):
    """Tangent of ``scipy.linalg.svd`` (and ``svdvals``): that of ``np.linalg.svd``."""
    _check("svd", np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), square=False, overwrite_a=overwrite_a)
    return svd_tangent(t, a, ans, full_matrices, compute_uv)


def scipy_svd_adjoint(g, a, ans, full_matrices=True, compute_uv=True, overwrite_a=False):
    """Adjoint of ``scipy.linalg.svd`` (and ``svdvals``): that of ``np.linalg.svd``."""
    _check("svd", np.shape(a), np.iscomplexobj(a), square=False, overwrite_a=overwrite_a)
    return svd_adjoint(g, a, ans, full_matrices, compute_uv)


def _qr_check(shape, complex_a: bool, complex_other: bool, mode, pivoting, overwrite_a):
    """As :func:`_check` (flags, without derivative), and refuses pivoting and the modes without a rule."""
    _check("qr", shape, complex_a, complex_other, square=False, overwrite_a=overwrite_a)
    if pivoting or mode not in ("full", "economic", "r"):
        _refuse(f"scipy.linalg.qr(a, mode={mode!r}, pivoting={pivoting!r}) has no derivative rule",
                "use mode='full' (the default), 'economic' or 'r', without pivoting")


def _qr_factors(a, ans, mode, k):
    """``(q, r)``, the reduced factors (``k = min(m, n)`` columns of Q)."""
    if mode == "r":
        return scipy_linalg.qr(a, mode="economic")
    return np.asarray(ans[0])[..., :, :k], np.asarray(ans[1])[..., :k, :]


def _qr_reduced_tangent(q, r, a, t):
    m, n = np.shape(a)[-2:]
    if m >= n:
        return _qr_square_tangent(q, r, t)
    dq, dr1 = _qr_square_tangent(q, r[..., :, :m], t[..., :, :m])
    return dq, np.concatenate([dr1, _swap(dq) @ _f(a)[..., :, m:] + _swap(q) @ t[..., :, m:]], axis=-1)


def scipy_qr_tangent(t, a, ans, overwrite_a=False, mode="full", pivoting=False):
    """Tangent of ``scipy.linalg.qr``: that of the reduced factorization; for ``mode='full'`` of a tall matrix
    the extra columns of Q are any basis of the complement: their tangents are NaN (undefined), and R's extra
    rows are zero."""
    _qr_check(np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), mode, pivoting, overwrite_a)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    q, r = _qr_factors(a, ans, mode, k)
    dq, dr = _qr_reduced_tangent(q, r, a, _f(t))
    if mode == "full" and m > n:  # ans holds the complete Q
        dq = np.concatenate([dq, np.full(dq.shape[:-1] + (m - k,), np.nan)], axis=-1)
        dr = np.concatenate([dr, np.zeros(dr.shape[:-2] + (m - k, dr.shape[-1]))], axis=-2)
    if mode == "r":  # R has the shape of a: zero rows below the first min(m, n), which never change
        return as_tuple_adjoint([np.concatenate([dr, np.zeros(dr.shape[:-2] + (np.shape(a)[-2] - k, dr.shape[-1]))],
                                                axis=-2)])
    return as_tuple_adjoint([dq, dr])


def scipy_qr_adjoint(g, a, ans, overwrite_a=False, mode="full", pivoting=False):
    """Adjoint of ``scipy.linalg.qr``, the transpose of the reduced tangent. With ``mode='full'`` of a tall
    matrix, the extra columns of Q must get no adjoint (refused otherwise); the zero rows of R never change."""
    _qr_check(np.shape(a), np.iscomplexobj(a), False, mode, pivoting, overwrite_a)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    q, r = _qr_factors(a, ans, mode, k)
    full = mode == "full" and m > n  # ans holds the complete Q
    if mode == "r":
        gq, gr = np.zeros(q.shape), _part(g, 0, ans[0])[..., :k, :]
    else:
        gq, gr = _part(g, 0, ans[0]), _part(g, 1, ans[1])[..., :k, :]
        if full and np.any(gq[..., :, k:] != 0):
            _refuse("scipy.linalg.qr(a) of a tall matrix (mode='full'): the result depends on the extra columns of Q, "
                    "which are any basis of the complement and have no derivative", "pass mode='economic'")
        gq = gq[..., :, :k]
    if m >= n:
        return _qr_square_adjoint(q, r, gq, gr)
    rest, gr2 = _f(a)[..., :, m:], gr[..., :, m:]
    first = _qr_square_adjoint(q, r[..., :, :m], gq + rest @ _swap(gr2), gr[..., :, :m])
    return np.concatenate([first, q @ gr2], axis=-1)


# -- pinv, lstsq ---------------------------------------------------------------------------------------------------

def _pinv_check(shape, complex_a: bool, complex_other: bool, return_rank):
    """As :func:`_check` (flags, without derivative), and refuses ``return_rank=True``."""
    _check("pinv", shape, complex_a, complex_other, square=False)
    if return_rank:
        _refuse("scipy.linalg.pinv(..., return_rank=True) has no derivative rule", "compute the rank separately")


def _pinv_cut(s, shape, atol, rtol):
    """SciPy's cutoff ``atol + rtol * max(s)`` for the singular values ``s`` of a matrix of ``shape``."""
    return (0.0 if atol is None else atol) + s[..., :1] * (max(shape[-2:]) * np.finfo(np.float64).eps
                                                           if rtol is None else rtol)


def _refuse_rank_deficient(deficient: bool):
    """pinv's refusal of a rank-deficient matrix: ``deficient`` is a flag, the caller's comparison of the singular
    values with :func:`_pinv_cut`."""
    if deficient:
        _refuse("scipy.linalg.pinv of a rank-deficient matrix has no derivative rule (it jumps where the rank "
                "changes)", "regularize the matrix, or solve a full-rank problem")


def scipy_pinv_tangent(t, a, ans, atol=None, rtol=None, return_rank=False):
    """Tangent of ``scipy.linalg.pinv`` of a full-rank matrix (that of ``np.linalg.pinv``)."""
    _pinv_check(np.shape(a), np.iscomplexobj(a), np.iscomplexobj(t), return_rank)
    s = np.linalg.svd(_f(a), compute_uv=False)
    _refuse_rank_deficient(s.shape[-1] > 0 and np.any(s[..., -1:] <= _pinv_cut(s, np.shape(a), atol, rtol)))
    return _pinv_tangent(_f(t), _f(a), np.asarray(ans))


def scipy_pinv_adjoint(g, a, ans, atol=None, rtol=None, return_rank=False):
    """Adjoint of ``scipy.linalg.pinv`` of a full-rank matrix."""
    _pinv_check(np.shape(a), np.iscomplexobj(a), False, return_rank)
    s = np.linalg.svd(_f(a), compute_uv=False)
    _refuse_rank_deficient(s.shape[-1] > 0 and np.any(s[..., -1:] <= _pinv_cut(s, np.shape(a), atol, rtol)))
    return _pinv_adjoint(_f(g), _f(a), np.asarray(ans))


def _lstsq_check(shape, complex_a: bool, complex_b: bool, complex_other: bool, deficient: bool, overwrite_a,
                 overwrite_b):
    """As :func:`_check` (flags, without derivative), and refuses a rank-deficient matrix (``deficient``: SciPy's
    rank below ``min(shape)``), as ``np.linalg.lstsq``."""
    _check("lstsq", shape, complex_a, complex_b, complex_other, square=False, batched=False,
           overwrite_a=overwrite_a, overwrite_b=overwrite_b)
    if deficient:
        _refuse("scipy.linalg.lstsq of a rank-deficient matrix has no derivative rule (the minimum-norm solution "
                "jumps where the rank changes)", "regularize the problem, or solve a full-rank one")


def _lstsq_parts(a, b, ans):
    """``(a, b, pinv(a), x, residual or None)``."""
    a = _f(a)
    x = np.asarray(ans[0])
    res = _f(b) - a @ x if np.size(ans[1]) else None
    return a, _f(b), np.linalg.pinv(a), x, res


def _lstsq_singular_parts(a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return u, vh


def scipy_lstsq_tangent_a(t, a, b, ans, cond=None, overwrite_a=False, overwrite_b=False):
    """Tangent of ``scipy.linalg.lstsq`` in ``a`` (full rank): the solution ``d pinv(a) b``, the residues
    ``-2 r . (da x)`` (when SciPy returns them), the singular values ``diag(U^T da V)`` (None with 'gelsy');
    the rank has none."""
    _lstsq_check(np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), np.iscomplexobj(t),
                 ans[2] < min(np.shape(a)), overwrite_a, overwrite_b)
    a, bb, p, x, res = _lstsq_parts(a, b, ans)
    t = _f(t)
    dres = np.zeros(np.shape(ans[1])) if res is None else np.sum(-2.0 * res * (t @ x), axis=0)
    ds = None
    if ans[3] is not None:
        u, vh = _lstsq_singular_parts(a)
        ds = np.diagonal(u.T @ t @ vh.T).copy()
    return as_tuple_adjoint([_pinv_tangent(t, a, p) @ bb, dres, None, ds])


def scipy_lstsq_tangent_b(t, a, b, ans, cond=None, overwrite_a=False, overwrite_b=False):
    """Tangent of ``scipy.linalg.lstsq`` in ``b``: ``pinv(a) db``, residues ``2 r . db``."""
    _lstsq_check(np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), np.iscomplexobj(t),
                 ans[2] < min(np.shape(a)), overwrite_a, overwrite_b)
    a, bb, p, x, res = _lstsq_parts(a, b, ans)
    t = _f(t)
    dres = np.zeros(np.shape(ans[1])) if res is None else np.sum(2.0 * res * t, axis=0)
    return as_tuple_adjoint([p @ t, dres, None, None if ans[3] is None else np.zeros(np.shape(ans[3]))])


def scipy_lstsq_adjoint_a(g, a, b, ans, cond=None, overwrite_a=False, overwrite_b=False):
    """Adjoint of ``scipy.linalg.lstsq`` in ``a``, the transpose of :func:`scipy_lstsq_tangent_a`."""
    _lstsq_check(np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), False, ans[2] < min(np.shape(a)),
                 overwrite_a, overwrite_b)
    a, bb, p, x, res = _lstsq_parts(a, b, ans)
    gx = _part(g, 0, x)
    out = _pinv_adjoint(np.outer(gx, bb) if bb.ndim == 1 else gx @ bb.T, a, p)
    if res is not None:
        gres = _part(g, 1, ans[1])
        out = out - 2.0 * (np.outer(res * gres, x) if bb.ndim == 1 else (res * gres) @ x.T)
    if ans[3] is not None:
        u, vh = _lstsq_singular_parts(a)
        out = out + (u * _part(g, 3, ans[3])) @ vh
    return out


def scipy_lstsq_adjoint_b(g, a, b, ans, cond=None, overwrite_a=False, overwrite_b=False):
    """Adjoint of ``scipy.linalg.lstsq`` in ``b``: ``pinv(a)^T gx + 2 r gres``."""
    _lstsq_check(np.shape(a), np.iscomplexobj(a), np.iscomplexobj(b), False, ans[2] < min(np.shape(a)),
                 overwrite_a, overwrite_b)
    a, bb, p, x, res = _lstsq_parts(a, b, ans)
    out = p.T @ _part(g, 0, x)
    if res is not None:
        out = out + 2.0 * res * _part(g, 1, ans[1])
    return _like(b, out)
