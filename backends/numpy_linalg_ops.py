"""NumPy runtime helpers of the ``np.linalg`` decompositions and their kin.

One adjoint (reverse) and one tangent (forward) helper per function: cholesky,
eigh, eigvalsh, svd, qr, slogdet, pinv, lstsq, matrix_power, multi_dot, tensorsolve,
tensorinv and cond; and the vector products vecdot, matvec, vecmat and vector_norm.
Operands are real matrices, batched over the leading axes where NumPy batches
them. The conventions (which triangle is read, degenerate spectra, the gauge
of eigenvectors and singular vectors) are described in the docstring of
``rules/numpy/linalg.py``; where a derivative does not exist the reverse
helpers raise :class:`sourcediff.errors.SourcediffError` and the forward ones
give NaN in the affected columns (or raise, for ``svd(..., full_matrices=True)``).
"""
from __future__ import annotations

import operator

import numpy as np

from .numpy_adjoints import as_tuple_adjoint, zeros_like
from .numpy_array_ops import (_axes, _container, _expand, _like, _matrix_norm_adjoint, _sum_to_shape, _swap,
                              _vector_norm_adjoint)

__all__ = [
    "cholesky_adjoint", "cholesky_tangent", "eigh_adjoint", "eigh_tangent", "eigvalsh_adjoint",
    "eigvalsh_tangent", "svd_adjoint", "svd_tangent", "qr_adjoint", "qr_tangent", "slogdet_adjoint",
    "slogdet_tangent", "pinv_adjoint", "pinv_tangent", "lstsq_adjoint_a", "lstsq_adjoint_b", "lstsq_tangent_a",
    "lstsq_tangent_b", "matrix_power_adjoint", "matrix_power_tangent", "multi_dot_adjoint", "multi_dot_tangent",
    "tensorsolve_adjoint_a", "tensorsolve_adjoint_b", "tensorsolve_tangent_a", "tensorsolve_tangent_b",
]

DEGENERATE_RTOL = 1e-9
"""Two eigenvalues (singular values) closer than this times the largest magnitude count as equal; a singular
value below it counts as zero."""


def _refuse(message: str, hint: str) -> None:
    from sourcediff.errors import SourcediffError

    raise SourcediffError(message, hint=hint)


def _real(name: str, *complex_operands: bool) -> None:
    """Refuses complex operands. The caller passes ``np.iscomplexobj`` of each, which carries no derivative: the
    call, kept for its effect, then reads nothing differentiated, and the helper can be differentiated through
    its source."""
    if any(complex_operands):
        _refuse(f"np.linalg.{name} of complex matrices has no derivative rule yet", "differentiate real matrices")


def _zeros(x):
    return zeros_like(x)


def _part(g, i, like):
    """Entry ``i`` of the adjoint ``g`` of a tuple result, zeros of ``like``'s shape when absent."""
    value = None if g is None else g[i]
    return np.zeros(np.shape(like)) if value is None else np.asarray(value, dtype=np.float64)


def _diag(v):
    """Diagonal matrices from the last axis of ``v`` (batched)."""
    v = np.asarray(v)
    return v[..., :, None] * np.eye(v.shape[-1])


def _diagonal(x):
    return np.diagonal(x, axis1=-2, axis2=-1)


def _right_solve(x, r):
    """``x @ inv(r)`` (batched)."""
    return _swap(np.linalg.solve(_swap(r), _swap(x)))


def _right_solve_transposed(x, r):
    """``x @ inv(r).T`` (batched)."""
    return _swap(np.linalg.solve(r, _swap(x)))


# -- the triangle that cholesky and eigh read ------------------------------------------------------------------

def _symmetric_from(t, lower):
    """The symmetric matrix that a factorization reading one triangle of ``t`` sees."""
    if lower:
        return np.tril(t) + _swap(np.tril(t, -1))
    return np.triu(t) + _swap(np.triu(t, 1))


def _onto_triangle(x, lower):
    """Transpose of :func:`_symmetric_from`: the adjoint of the read triangle, zero elsewhere."""
    if lower:
        return np.tril(x) + np.tril(_swap(x), -1)
    return np.triu(x) + np.triu(_swap(x), 1)


def _phi(x):
    """Lower triangle with half the diagonal."""
    return np.tril(x) - 0.5 * _diag(_diagonal(x))


def cholesky_tangent(t, a, ans, upper=False):
    """Tangent of ``np.linalg.cholesky``: ``dL = L phi(L^-1 dS L^-T)``, ``dS`` the symmetric tangent read."""
    _real("cholesky", np.iscomplexobj(a), np.iscomplexobj(t))
    ds = _symmetric_from(np.asarray(t, dtype=np.float64), not upper)
    low = _swap(ans) if upper else np.asarray(ans)
    inner = np.linalg.solve(low, _swap(np.linalg.solve(low, ds)))  # L^-1 dS L^-T (dS symmetric)
    out = low @ _phi(inner)
    return _swap(out) if upper else out


def cholesky_adjoint(g, a, ans, upper=False):
    """Adjoint of ``np.linalg.cholesky``: ``L^-T phi(L^T g) L^-1`` onto the triangle read."""
    _real("cholesky", np.iscomplexobj(a), np.iscomplexobj(g))
    low = _swap(ans) if upper else np.asarray(ans)
    g = _swap(np.asarray(g)) if upper else np.asarray(g)
    p = _phi(_swap(low) @ g)
    x = np.linalg.solve(_swap(low), _swap(np.linalg.solve(_swap(low), _swap(p))))  # L^-T P L^-1
    return _onto_triangle(x, not upper)


# -- symmetric eigenproblems -----------------------------------------------------------------------------------

def _close_pairs(values):
    """Mask (..., n, n) of the pairs i != j of ``values`` (..., n) equal within DEGENERATE_RTOL."""
    scale = np.max(np.abs(values), axis=-1, keepdims=True)[..., None]
    gap = np.abs(values[..., :, None] - values[..., None, :])
    close = gap <= DEGENERATE_RTOL * scale
    return np.logical_and(close, np.logical_not(np.eye(values.shape[-1], dtype=bool)))


def _gap_inverse(close, gaps):
    """``1 / gaps`` off the diagonal, 0 on it and at close pairs."""
    safe = np.where(np.logical_or(close, np.eye(gaps.shape[-1], dtype=bool)), 1.0, gaps)
    return np.where(np.logical_or(close, np.eye(gaps.shape[-1], dtype=bool)), 0.0, 1.0 / safe)


def _refuse_degenerate(name, degenerate, what):
    """Refuses where ``degenerate``: a vector of a repeated subspace (``bad_columns``) has a nonzero adjoint,
    ``np.any(np.logical_and(vectors_adjoint != 0, bad_columns[..., None, :]))``."""
    if degenerate:
        _refuse(f"the derivative of the {what} returned by np.linalg.{name} is undefined: the matrix has "
                f"repeated {'eigenvalues' if name == 'eigh' else 'or zero singular values'} and the result "
                f"depends on the {what} of that subspace",
                f"differentiate only the {'eigenvalues' if name == 'eigh' else 'singular values'} there, or compute "
                "the quantity another way that does not go through a basis of the repeated subspace")


def eigh_tangent(t, a, ans, UPLO="L"):
    """Tangent of ``np.linalg.eigh``: ``dw = diag(V^T dS V)``, ``dV = V (F * V^T dS V)``, ``F_ij = 1/(w_j - w_i)``.

    Columns of ``dV`` whose eigenvalue is repeated are NaN (undefined).
    """
    _real("eigh", np.iscomplexobj(a), np.iscomplexobj(t))
    w, v = np.asarray(ans[0]), np.asarray(ans[1])
    q = _swap(v) @ _symmetric_from(np.asarray(t, dtype=np.float64), UPLO == "L") @ v
    close = _close_pairs(w)
    f = _gap_inverse(close, w[..., None, :] - w[..., :, None])
    dv = v @ (f * q)
    dv = np.where(np.any(close, axis=-2)[..., None, :], np.nan, dv)
    return as_tuple_adjoint([_diagonal(q).copy(), dv])


def eigh_adjoint(g, a, ans, UPLO="L"):
    """Adjoint of ``np.linalg.eigh``: ``V (diag(gw) + F * V^T gV) V^T`` onto the triangle read.

    Refuses when an eigenvector of a repeated eigenvalue has a nonzero adjoint.
    """
    w, v = np.asarray(ans[0]), np.asarray(ans[1])
    gw, gv = _part(g, 0, w), _part(g, 1, v)
    _real("eigh", np.iscomplexobj(a), np.iscomplexobj(gw), np.iscomplexobj(gv))
    inner = _diag(gw)
    if np.any(gv != 0):
        close = _close_pairs(w)
        _refuse_degenerate("eigh", np.any(np.logical_and(gv != 0, np.any(close, axis=-2)[..., None, :])),
                           "eigenvectors")
        inner = inner + _gap_inverse(close, w[..., None, :] - w[..., :, None]) * (_swap(v) @ gv)
    return _onto_triangle(v @ inner @ _swap(v), UPLO == "L")


def eigvalsh_tangent(t, a, UPLO="L"):
    """Tangent of ``np.linalg.eigvalsh``: ``diag(V^T dS V)`` (well defined at repeated eigenvalues)."""
    _real("eigvalsh", np.iscomplexobj(a), np.iscomplexobj(t))
    v = np.linalg.eigh(a, UPLO)[1]
    return _diagonal(_swap(v) @ _symmetric_from(np.asarray(t, dtype=np.float64), UPLO == "L") @ v).copy()


def eigvalsh_adjoint(g, a, UPLO="L"):
    """Adjoint of ``np.linalg.eigvalsh``: ``V diag(g) V^T`` onto the triangle read."""
    _real("eigvalsh", np.iscomplexobj(a), np.iscomplexobj(g))
    v = np.linalg.eigh(a, UPLO)[1]
    return _onto_triangle(v @ _diag(np.asarray(g, dtype=np.float64)) @ _swap(v), UPLO == "L")


# -- singular value decomposition ------------------------------------------------------------------------------

def _svd_check(a, full_matrices, hermitian):
    if hermitian:
        _refuse("np.linalg.svd(..., hermitian=True) has no derivative rule",
                "call np.linalg.svd without hermitian=True (the same decomposition, up to signs)")
    m, n = np.shape(a)[-2:]
    return full_matrices and m != n


def _svd_bad_columns(s):
    """Columns whose singular vectors have no derivative: repeated or zero singular values."""
    scale = np.max(s, axis=-1, keepdims=True)
    return np.logical_or(np.any(_close_pairs(s), axis=-2), s <= DEGENERATE_RTOL * scale)


def _svd_parts(s):
    bad = _svd_bad_columns(s)
    close = _close_pairs(s)
    f = _gap_inverse(close, s[..., None, :] ** 2 - s[..., :, None] ** 2)
    sinv = np.where(bad, 0.0, 1.0 / np.where(bad, 1.0, s))
    return bad, f, sinv


def svd_tangent(t, a, ans, full_matrices=True, compute_uv=True, hermitian=False):
    """Tangent of ``np.linalg.svd`` (reduced factors; ``P = U^T dA V``, ``F_ij = 1/(s_j^2 - s_i^2)``):
    ``ds = diag(P)``, ``dU = U (F * (P S + S P^T)) + (I - U U^T) dA V S^-1`` and its mirror for ``V``.

    Columns of ``dU`` and ``dV`` for repeated or zero singular values are NaN (undefined), and so are the
    extra columns of ``full_matrices=True`` for a non-square matrix.
    """
    _real("svd", np.iscomplexobj(a), np.iscomplexobj(t))
    extra = _svd_check(a, full_matrices, hermitian)
    t = np.asarray(t, dtype=np.float64)
    if not compute_uv:
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        return _diagonal(_swap(u) @ t @ _swap(vh)).copy()
    u, s, vh = (np.asarray(x) for x in ans)
    k = s.shape[-1]
    if extra:  # the extra singular vectors are any basis of the complement: their tangents are NaN (undefined)
        du, ds, dvh = svd_tangent(t, a, np.linalg.svd(a, full_matrices=False), False)
        du = np.concatenate([du, np.full(u.shape[:-1] + (u.shape[-1] - k,), np.nan)], axis=-1)
        dvh = np.concatenate([dvh, np.full(vh.shape[:-2] + (vh.shape[-2] - k, vh.shape[-1]), np.nan)], axis=-2)
        return as_tuple_adjoint([du, ds, dvh])
    v = _swap(vh)
    bad, f, sinv = _svd_parts(s)
    p = _swap(u) @ t @ v
    du = u @ (f * (p * s[..., None, :] + s[..., :, None] * _swap(p))) + (t @ v - u @ p) * sinv[..., None, :]
    dv = v @ (f * (s[..., :, None] * p + _swap(p) * s[..., None, :])) + (_swap(t) @ u - v @ _swap(p)) \
        * sinv[..., None, :]
    du = np.where(bad[..., None, :], np.nan, du)
    dv = np.where(bad[..., None, :], np.nan, dv)
    return as_tuple_adjoint([du, _diagonal(p).copy(), _swap(dv)])


def svd_adjoint(g, a, ans, full_matrices=True, compute_uv=True, hermitian=False):
    """Adjoint of ``np.linalg.svd``, the transpose of :func:`svd_tangent`.

    Refuses when a singular vector of a repeated or zero singular value has a nonzero adjoint, and, with
    ``full_matrices=True`` and a non-square matrix, when one of the extra vectors has.
    """
    _real("svd", np.iscomplexobj(a))
    extra = _svd_check(a, full_matrices, hermitian)
    if not compute_uv:
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        return u @ _diag(np.asarray(g, dtype=np.float64)) @ vh
    u, s, vh = (np.asarray(x) for x in ans)
    gu, gs, gvh = _part(g, 0, u), _part(g, 1, s), _part(g, 2, vh)
    k = s.shape[-1]
    if extra:
        if np.any(gu[..., :, k:] != 0) or np.any(gvh[..., k:, :] != 0):
            _refuse("np.linalg.svd(a, full_matrices=True) of a non-square matrix: the result depends on the extra "
                    "singular vectors, which are any basis of the complement and have no derivative",
                    "pass full_matrices=False")
        u, gu, vh, gvh = u[..., :, :k], gu[..., :, :k], vh[..., :k, :], gvh[..., :k, :]
    v, gv = _swap(vh), _swap(gvh)
    inner = _diag(gs)
    if np.any(gu != 0) or np.any(gv != 0):
        bad, f, sinv = _svd_parts(s)
        _refuse_degenerate("svd", np.any(np.logical_and(gu != 0, bad[..., None, :])), "singular vectors")
        _refuse_degenerate("svd", np.any(np.logical_and(gv != 0, bad[..., None, :])), "singular vectors")
        j = f * (_swap(u) @ gu)
        kk = f * (_swap(v) @ gv)
        inner = inner + (j + _swap(j)) * s[..., None, :] + s[..., :, None] * (kk + _swap(kk))
        out = u @ inner @ vh
        out = out + ((gu - u @ (_swap(u) @ gu)) * sinv[..., None, :]) @ vh
        out = out + u @ (sinv[..., :, None] * (_swap(gv) - (_swap(gv) @ v) @ vh))
        return out
    return u @ inner @ vh


# -- QR --------------------------------------------------------------------------------------------------------

def _qr_mode(shape, mode):
    """Refuses the modes of np.linalg.qr without a rule; takes the shape, not the matrix, so that a call kept
    for its effect reads nothing differentiated."""
    m, n = shape[-2:]
    if mode in ("reduced", "r") or (mode == "complete" and m <= n):
        return
    _refuse(f"np.linalg.qr(a, mode={mode!r}) has no derivative rule for this shape",
            "use mode='reduced' (the default), or mode='r'")


def _qr_square_tangent(q, r, t):
    """(dQ, dR) of ``A = QR`` with ``m >= n``: ``C = Q^T dA R^-1``, ``dQ = Q W + (I - QQ^T) dA R^-1``,
    ``dR = (C - W) R`` with ``W = tril(C, -1) - tril(C, -1)^T``."""
    x = _right_solve(t, r)
    c = _swap(q) @ x
    low = np.tril(c, -1)
    w = low - _swap(low)
    return q @ w + x - q @ c, (c - w) @ r


def _qr_square_adjoint(q, r, gq, gr):
    m = _swap(q) @ gq - gr @ _swap(r)
    n = gr @ _swap(r) + np.tril(m - _swap(m), -1)
    return _right_solve_transposed(q @ n + gq - q @ (_swap(q) @ gq), r)


def qr_tangent(t, a, ans, mode="reduced"):
    """Tangent of ``np.linalg.qr`` (reduced); ``m < n`` factors the leading square block, ``R2 = Q^T A2``."""
    _real("qr", np.iscomplexobj(a), np.iscomplexobj(t))
    _qr_mode(np.shape(a), mode)
    t = np.asarray(t, dtype=np.float64)
    q, r = np.linalg.qr(a) if mode == "r" else (np.asarray(ans[0]), np.asarray(ans[1]))
    m, n = np.shape(a)[-2:]
    if m >= n:
        dq, dr = _qr_square_tangent(q, r, t)
    else:
        dq, dr1 = _qr_square_tangent(q, r[..., :, :m], t[..., :, :m])
        dr = np.concatenate([dr1, _swap(dq) @ np.asarray(a)[..., :, m:] + _swap(q) @ t[..., :, m:]], axis=-1)
    return dr if mode == "r" else as_tuple_adjoint([dq, dr])


def qr_adjoint(g, a, ans, mode="reduced"):
    """Adjoint of ``np.linalg.qr`` (reduced), the transpose of :func:`qr_tangent`."""
    _real("qr", np.iscomplexobj(a))
    _qr_mode(np.shape(a), mode)
    if mode == "r":
        q, r = np.linalg.qr(a)
        gq, gr = np.zeros(q.shape), np.asarray(g, dtype=np.float64)
    else:
        q, r = np.asarray(ans[0]), np.asarray(ans[1])
        gq, gr = _part(g, 0, q), _part(g, 1, r)
    m, n = np.shape(a)[-2:]
    if m >= n:
        return _qr_square_adjoint(q, r, gq, gr)
    rest, gr2 = np.asarray(a)[..., :, m:], gr[..., :, m:]
    first = _qr_square_adjoint(q, r[..., :, :m], gq + rest @ _swap(gr2), gr[..., :, :m])
    return np.concatenate([first, q @ gr2], axis=-1)


# -- slogdet, pinv, lstsq --------------------------------------------------------------------------------------

def slogdet_tangent(t, a, ans):
    """Tangent of ``np.linalg.slogdet``: the sign is piecewise constant; ``d logabsdet = tr(A^-1 dA)``."""
    _real("slogdet", np.iscomplexobj(a), np.iscomplexobj(t))
    return as_tuple_adjoint([_zeros(ans[0]), np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)])


def slogdet_adjoint(g, a, ans):
    """Adjoint of ``np.linalg.slogdet``: ``g_logabsdet A^-T`` (the sign's adjoint is ignored)."""
    _real("slogdet", np.iscomplexobj(a))
    gl = _part(g, 1, ans[1])
    return gl[..., None, None] * _swap(np.linalg.inv(a))


def _rank_deficient(a, rcond=None, rtol=None, default=1e-15):
    """Per matrix of ``a``, whether NumPy's cutoff (``rtol``, else ``rcond``, else ``default``) makes it
    rank-deficient."""
    s = np.linalg.svd(a, compute_uv=False)
    if s.shape[-1] == 0:
        return np.zeros(s.shape[:-1], dtype=bool)
    cut = rtol if rtol is not None else rcond if rcond is not None else default
    return s[..., -1] <= np.asarray(cut) * s[..., 0]


def _full_rank(name, deficient):
    """Refuses where ``deficient``: the caller passes ``np.any(_rank_deficient(a, ...))``, which carries no
    derivative."""
    if deficient:
        _refuse(f"np.linalg.{name} of a rank-deficient matrix has no derivative rule (it jumps where the rank "
                "changes)", "regularize the matrix, or solve a full-rank problem")


def _pinv_tangent(t, a, p):
    """``dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+`` (full rank)."""
    tt = _swap(t)
    out = -(p @ t @ p)
    out = out + p @ (_swap(p) @ (tt - (tt @ a) @ p))
    out = out + (tt - p @ (a @ tt)) @ (_swap(p) @ p)
    return out


def _pinv_adjoint(g, a, p):
    gt = _swap(g)
    out = -(_swap(p) @ g @ _swap(p))
    out = out + (gt - a @ (p @ gt)) @ (p @ _swap(p))
    out = out + (_swap(p) @ p) @ (gt - (gt @ p) @ a)
    return out


def pinv_tangent(t, a, ans, rcond=None, hermitian=False, rtol=None):
    """Tangent of ``np.linalg.pinv`` of a full-rank matrix."""
    _real("pinv", np.iscomplexobj(a), np.iscomplexobj(t))
    _full_rank("pinv", np.any(_rank_deficient(a, rcond, rtol)))
    return _pinv_tangent(np.asarray(t, dtype=np.float64), np.asarray(a), np.asarray(ans))


def pinv_adjoint(g, a, ans, rcond=None, hermitian=False, rtol=None):
    """Adjoint of ``np.linalg.pinv`` of a full-rank matrix."""
    _real("pinv", np.iscomplexobj(a), np.iscomplexobj(g))
    _full_rank("pinv", np.any(_rank_deficient(a, rcond, rtol)))
    return _pinv_adjoint(np.asarray(g, dtype=np.float64), np.asarray(a), np.asarray(ans))


def _lstsq_parts(a, b, ans):
    _real("lstsq", np.iscomplexobj(a), np.iscomplexobj(b))
    a = np.asarray(a, dtype=np.float64)
    if ans[2] < min(a.shape):
        _refuse("np.linalg.lstsq of a rank-deficient matrix has no derivative rule (the minimum-norm solution "
                "jumps where the rank changes)", "regularize the problem, or solve a full-rank one")
    p = np.linalg.pinv(a)
    x = np.asarray(ans[0])
    res = np.asarray(b) - a @ x if np.size(ans[1]) else None
    return a, p, x, res


def lstsq_tangent_a(t, a, b, ans, rcond=None):
    """Tangent of ``np.linalg.lstsq`` in ``a`` (full rank): the solution ``pinv(a) b``, the residuals
    ``-2 r . (dA x)`` (``A^T r = 0``), the singular values ``diag(U^T dA V)``; the rank has none."""
    a, p, x, res = _lstsq_parts(a, b, ans)
    t = np.asarray(t, dtype=np.float64)
    bb = np.asarray(b, dtype=np.float64)
    dx = _pinv_tangent(t, a, p) @ bb
    dres = _zeros(ans[1]) if res is None else np.atleast_1d(-2.0 * np.sum(res * (t @ x), axis=0))
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return as_tuple_adjoint([dx, dres, _zeros(ans[2]), _diagonal(_swap(u) @ t @ _swap(vh)).copy()])


def lstsq_tangent_b(t, a, b, ans, rcond=None):
    """Tangent of ``np.linalg.lstsq`` in ``b`` (full rank): ``pinv(a) db``, residuals ``2 r . db``."""
    a, p, x, res = _lstsq_parts(a, b, ans)
    t = np.asarray(t, dtype=np.float64)
    dres = _zeros(ans[1]) if res is None else np.atleast_1d(2.0 * np.sum(res * t, axis=0))
    return as_tuple_adjoint([p @ t, dres, _zeros(ans[2]), _zeros(ans[3])])


def lstsq_adjoint_a(g, a, b, ans, rcond=None):
    """Adjoint of ``np.linalg.lstsq`` in ``a``, the transpose of :func:`lstsq_tangent_a`."""
    a, p, x, res = _lstsq_parts(a, b, ans)
    gx, gs = _part(g, 0, x), _part(g, 3, ans[3])
    bb = np.asarray(b, dtype=np.float64)
    out = _pinv_adjoint(np.outer(gx, bb) if bb.ndim == 1 else gx @ bb.T, a, p)
    if res is not None:
        gres = _part(g, 1, ans[1])
        out = out - 2.0 * (np.outer(res * gres[0], x) if bb.ndim == 1 else (res * gres) @ x.T)
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return out + u @ _diag(gs) @ vh


def lstsq_adjoint_b(g, a, b, ans, rcond=None):
    """Adjoint of ``np.linalg.lstsq`` in ``b``: ``pinv(a)^T gx + 2 r gres``."""
    a, p, x, res = _lstsq_parts(a, b, ans)
    out = p.T @ _part(g, 0, x)
    if res is not None:
        gres = _part(g, 1, ans[1])
        out = out + 2.0 * res * (gres[0] if np.ndim(b) == 1 else gres)
    return out


# -- matrix_power, multi_dot -----------------------------------------------------------------------------------

def _power_base(a, n):
    """The matrix raised to ``abs(n)``: ``a``, or ``inv(a)`` for a negative ``n``."""
    a = np.asarray(a, dtype=np.float64)
    return np.linalg.inv(a) if n < 0 else a


def _powers(base, count):
    """``[I, B, B^2, ..., B^(count-1)]`` of ``B = base`` (a matrix or a stack)."""
    powers = [np.broadcast_to(np.eye(base.shape[-1]), base.shape)]
    for _ in range(count - 1):
        powers.append(powers[-1] @ base)
    return powers


def matrix_power_tangent(t, a, n):
    """Tangent of ``np.linalg.matrix_power``: ``sum_k B^k dB B^(m-1-k)``, ``B = a`` (``m = n``) or
    ``B = inv(a)``, ``dB = -B dA B`` (``m = -n``)."""
    _real("matrix_power", np.iscomplexobj(a), np.iscomplexobj(t))
    n = operator.index(n)
    if n == 0:
        return np.zeros(np.shape(a))
    base = _power_base(a, n)
    powers = _powers(base, abs(n))
    t = np.asarray(t, dtype=np.float64)
    db = -(base @ t @ base) if n < 0 else t
    return sum(powers[k] @ db @ powers[abs(n) - 1 - k] for k in range(abs(n)))


def matrix_power_adjoint(g, a, n):
    """Adjoint of ``np.linalg.matrix_power``, the transpose of :func:`matrix_power_tangent`."""
    _real("matrix_power", np.iscomplexobj(a), np.iscomplexobj(g))
    n = operator.index(n)
    if n == 0:
        return np.zeros(np.shape(a))
    base = _power_base(a, n)
    powers = _powers(base, abs(n))
    g = np.asarray(g, dtype=np.float64)
    out = sum(_swap(powers[k]) @ g @ _swap(powers[abs(n) - 1 - k]) for k in range(abs(n)))
    return -(_swap(base) @ out @ _swap(base)) if n < 0 else out


def _chain(arrays):
    """The operands of ``multi_dot`` as 2-D matrices (a 1-D first is a row, a 1-D last a column)."""
    mats = [np.asarray(x, dtype=np.float64) for x in arrays]
    first = mats[0][None, :] if mats[0].ndim == 1 else mats[0]
    last = mats[-1][:, None] if mats[-1].ndim == 1 else mats[-1]
    out = [first]
    out.extend(mats[1:-1])
    out.append(last)
    return out


def _prefixes(mats):
    """The products of the matrices before and after each one (identities at the ends)."""
    return _products_before(mats), _products_after(mats)


def _products_before(mats):
    left = [np.eye(mats[0].shape[0])]
    for x in mats[:-1]:
        left.append(left[-1] @ x)
    return left


def _products_after(mats):
    right = [np.eye(mats[-1].shape[1])]
    for x in reversed(mats[1:]):
        right.append(x @ right[-1])
    return right[::-1]


def multi_dot_tangent(t, arrays):
    """Tangent of ``np.linalg.multi_dot``: the sum over operands of the chain with that operand's tangent
    (``t`` holds one tangent per operand; None: inactive)."""
    _real("multi_dot", any([np.iscomplexobj(x) for x in arrays]))
    mats = _chain(arrays)
    left, right = _prefixes(mats)
    out = 0.0
    for k, tk in enumerate(t):
        if tk is not None:
            tk = np.asarray(tk, dtype=np.float64).reshape(mats[k].shape)
            out = out + left[k] @ tk @ right[k]
    shape = np.shape(np.linalg.multi_dot([np.zeros(np.shape(x)) for x in arrays]))
    return np.reshape(out, shape)


def multi_dot_adjoint(g, arrays):
    """Adjoints of ``np.linalg.multi_dot(arrays)``: ``left_k^T g right_k^T`` for operand ``k``."""
    _real("multi_dot", any([np.iscomplexobj(x) for x in arrays]))
    mats = _chain(arrays)
    left, right = _prefixes(mats)
    g = np.asarray(g, dtype=np.float64).reshape(mats[0].shape[0], mats[-1].shape[1])
    blocks = [(left[k].T @ g @ right[k].T).reshape(np.shape(x)) for k, x in enumerate(arrays)]
    return _container(arrays, blocks)


# -- tensorsolve -----------------------------------------------------------------------------------------------

def _tensorsolve_forms(a_shape, b_ndim, axes):
    """NumPy's tensorsolve on shapes: the permutation of the axes of ``a`` (each of ``axes`` moved to the end in
    turn), ``a``'s shape so permuted, and the shape of the solution."""
    if axes is None:
        order = [k for k in range(len(a_shape))]
    else:  # an axis named twice ends where it was last moved
        order = [k for k in range(len(a_shape)) if k not in axes] + \
            [k for i, k in enumerate(axes) if k not in axes[i + 1:]]
    moved_shape = tuple(a_shape[k] for k in order)
    return order, moved_shape, moved_shape[b_ndim:]


def _tensorsolve_matrix(a, order, shape):
    """``a`` as NumPy's tensorsolve sees it: its axes put in ``order`` and reshaped to a square matrix with
    the size of a solution of ``shape``."""
    size = int(np.prod(shape))
    return np.transpose(np.asarray(a, dtype=np.float64), order).reshape(size, size)


def tensorsolve_tangent_a(t, a, b, ans, axes=None):
    """Tangent of ``np.linalg.tensorsolve`` in ``a``: ``dx = -solve(A, dA x)`` on the matrix forms."""
    _real("tensorsolve", np.iscomplexobj(a), np.iscomplexobj(t))
    order, _, shape = _tensorsolve_forms(np.shape(a), np.ndim(b), axes)
    matrix = _tensorsolve_matrix(a, order, shape)
    dmatrix = _tensorsolve_matrix(t, order, shape)
    return -np.linalg.solve(matrix, dmatrix @ np.ravel(ans)).reshape(shape)


def tensorsolve_tangent_b(t, a, b, ans, axes=None):
    """Tangent of ``np.linalg.tensorsolve`` in ``b``: ``solve(A, db)`` on the matrix forms."""
    _real("tensorsolve", np.iscomplexobj(a), np.iscomplexobj(t))
    order, _, shape = _tensorsolve_forms(np.shape(a), np.ndim(b), axes)
    return np.linalg.solve(_tensorsolve_matrix(a, order, shape), np.ravel(t)).reshape(shape)


def tensorsolve_adjoint_b(g, a, b, ans, axes=None):
    """Adjoint of ``np.linalg.tensorsolve`` in ``b``: ``solve(A^T, g)`` in the shape of ``b``."""
    _real("tensorsolve", np.iscomplexobj(a), np.iscomplexobj(g))
    order, _, shape = _tensorsolve_forms(np.shape(a), np.ndim(b), axes)
    return np.linalg.solve(_tensorsolve_matrix(a, order, shape).T, np.ravel(g)).reshape(np.shape(b))


def tensorsolve_adjoint_a(g, a, b, ans, axes=None):
    """Adjoint of ``np.linalg.tensorsolve`` in ``a``: ``-outer(solve(A^T, g), x)``, axes moved back."""
    _real("tensorsolve", np.iscomplexobj(a), np.iscomplexobj(g))
    order, moved_shape, shape = _tensorsolve_forms(np.shape(a), np.ndim(b), axes)
    matrix = _tensorsolve_matrix(a, order, shape)
    out = -np.outer(np.linalg.solve(matrix.T, np.ravel(g)), np.ravel(ans)).reshape(moved_shape)
    return np.transpose(out, np.argsort(order))


# -- numpy breadth: vecdot, matvec, vecmat, vector_norm, cond, tensorinv (rules/numpy/linalg.py) ---------------

__all__ += ["vecdot_adjoint", "matvec_adjoint", "vecmat_adjoint", "vector_norm_adjoint", "cond_adjoint",
            "cond_tangent", "tensorinv_adjoint", "tensorinv_tangent"]


def _back_to(g, x):
    """``g`` summed back to the shape of the operand ``x`` (batch axes broadcast), a float for a number."""
    return _like(x, _sum_to_shape(g, np.shape(x)))


def vecdot_adjoint(g, x1, x2, axis=-1, which="x1"):
    """Adjoint of ``np.vecdot(x1, x2, axis=axis)`` (real vectors along ``axis`` of each operand, the other axes
    broadcast) in ``x1`` or ``x2``: ``g`` times the other operand, summed back to the operand's shape."""
    _real("vecdot", np.iscomplexobj(x1), np.iscomplexobj(x2))
    a, b = (np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1) for x in (x1, x2))
    other = b if which == "x1" else a
    mine = x1 if which == "x1" else x2
    moved = np.moveaxis(np.asarray(mine, dtype=np.float64), axis, -1)
    out = _back_to(np.asarray(g, dtype=np.float64)[..., None] * other, moved)
    return np.moveaxis(np.asarray(out), -1, axis)


def matvec_adjoint(g, x1, x2, which="x1"):
    """Adjoint of ``np.matvec(x1, x2)``, ``x1 (..., m, n) @ x2 (..., n)``, in ``x1`` or ``x2``."""
    _real("matvec", np.iscomplexobj(x1), np.iscomplexobj(x2))
    g = np.asarray(g, dtype=np.float64)
    if which == "x1":
        return _back_to(g[..., :, None] * np.asarray(x2)[..., None, :], x1)
    return _back_to(np.sum(np.asarray(x1) * g[..., :, None], axis=-2), x2)


def vecmat_adjoint(g, x1, x2, which="x1"):
    """Adjoint of ``np.vecmat(x1, x2)``, ``x1 (..., n) @ x2 (..., n, m)``, in ``x1`` or ``x2``."""
    _real("vecmat", np.iscomplexobj(x1), np.iscomplexobj(x2))
    g = np.asarray(g, dtype=np.float64)
    if which == "x1":
        return _back_to(np.sum(np.asarray(x2) * g[..., None, :], axis=-1), x1)
    return _back_to(np.asarray(x1)[..., :, None] * g[..., None, :], x2)


def vector_norm_adjoint(g, x, ans, axis=None, keepdims=False, ord=2):
    """Adjoint of ``np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)``: the vector norm over the
    axes named (all of them for None), with ``np.linalg.norm``'s vector conventions (0 at a zero 2-norm,
    ``sign(x)`` for ord 1, ties of max/min norms shared evenly, a zero entry refused below ord 1)."""
    xa = np.asarray(x, dtype=np.float64)
    axes = _axes(axis, xa.ndim)
    kept = [k for k in range(xa.ndim) if k not in axes]
    moved = np.transpose(xa, kept + list(axes)).reshape([xa.shape[k] for k in kept] + [-1])
    gg = np.reshape(_expand(g, xa.ndim, axes, keepdims), moved.shape[:-1] + (1,))
    aa = np.reshape(_expand(ans, xa.ndim, axes, keepdims), moved.shape[:-1] + (1,))
    out = _vector_norm_adjoint(gg, moved, aa, ord, -1)
    out = np.reshape(out, [xa.shape[k] for k in kept] + [xa.shape[k] for k in axes])
    return np.transpose(out, np.argsort(kept + list(axes)))


def _cond_parts(x, p):
    """For ``np.linalg.cond(x, p)``: with ``p`` None, 2 or -2 the largest and smallest singular triples; with
    another norm, ``inv(x)`` and the two norms' gradients."""
    if p is None or p in (2, -2):
        u, s, vh = np.linalg.svd(x, full_matrices=False)
        return u, s, vh
    if p not in ("fro", "nuc", 1, -1, np.inf, -np.inf):
        _refuse(f"np.linalg.cond with p={p!r} has no derivative rule",
                "use p=None, 2, -2, 'fro', 'nuc', 1, -1, np.inf or -np.inf")
    inverse = np.linalg.inv(x)
    ones = np.ones(np.shape(x)[:-2] + (1, 1))
    norm_x = np.linalg.norm(x, p, axis=(-2, -1))[..., None, None]
    norm_inv = np.linalg.norm(inverse, p, axis=(-2, -1))[..., None, None]
    return inverse, norm_x, norm_inv, _matrix_norm_adjoint(ones, x, p), _matrix_norm_adjoint(ones, inverse, p)


def _extreme_direction(u, s, vh, k):
    """The gradient of the largest (``k`` 0) or smallest (``k`` -1) singular value: ``u_k v_k^T``, or where it
    is repeated the mean over the tied ones (as ``np.linalg.norm``'s ord 2 and -2)."""
    extreme = s[..., k:k + 1] if k == 0 else s[..., -1:]
    tied = np.abs(s - extreme) <= 1e-10 * np.maximum(np.abs(s[..., :1]), 1e-300)
    weights = tied / np.sum(tied, axis=-1, keepdims=True)
    return (u * weights[..., None, :]) @ vh


def cond_adjoint(g, x, ans, p=None):
    """Adjoint of ``np.linalg.cond(x, p)``. With ``p`` None, 2 or -2 it is ``s_max / s_min`` (or its inverse)
    of the singular values, each with gradient ``u_i v_i^T`` (tied extreme ones share it equally); with another
    norm it is ``norm(x) norm(inv(x))``, and ``d inv(x) = -inv(x) dx inv(x)``."""
    _real("cond", np.iscomplexobj(x))
    xa = np.asarray(x, dtype=np.float64)
    scale = (np.asarray(g, dtype=np.float64) * np.asarray(ans))[..., None, None]
    if p is None or p in (2, -2):
        u, s, vh = _cond_parts(xa, p)
        top = _extreme_direction(u, s, vh, 0) / s[..., :1, None]
        bottom = _extreme_direction(u, s, vh, -1) / s[..., -1:, None]
        return scale * (bottom - top if p == -2 else top - bottom)
    inverse, norm_x, norm_inv, slope_x, slope_inv = _cond_parts(xa, p)
    return np.asarray(g, dtype=np.float64)[..., None, None] * (
        norm_inv * slope_x - norm_x * (_swap(inverse) @ slope_inv @ _swap(inverse)))


def cond_tangent(t, x, ans, p=None):
    """Tangent of ``np.linalg.cond(x, p)``: the contraction of ``t`` with the gradient (see :func:`cond_adjoint`)."""
    _real("cond", np.iscomplexobj(x), np.iscomplexobj(t))
    return np.sum(np.asarray(t, dtype=np.float64) * cond_adjoint(np.ones(np.shape(ans)), x, ans, p), axis=(-2, -1))


def _tensorinv_rows(shape, ind):
    """The number of rows of the matrix form of an array of ``shape``: its first ``ind`` axes."""
    return int(np.prod(shape[:ind]))


def tensorinv_adjoint(g, a, ans, ind=2):
    """Adjoint of ``np.linalg.tensorinv(a, ind)``, ``inv`` of ``a`` as a matrix (its first ``ind`` axes as
    rows): ``inv``'s adjoint, ``-A^-T G A^-T``, on the matrix forms."""
    rows = _tensorinv_rows(np.shape(a), ind)
    inverse = np.reshape(ans, (-1, rows))
    gm = np.reshape(np.asarray(g, dtype=np.float64), inverse.shape)
    return np.reshape(-(inverse.T @ gm @ inverse.T), np.shape(a))


def tensorinv_tangent(t, a, ans, ind=2):
    """Tangent of ``np.linalg.tensorinv(a, ind)``: ``-A^-1 T A^-1`` on the matrix forms."""
    rows = _tensorinv_rows(np.shape(a), ind)
    inverse = np.reshape(ans, (-1, rows))
    tm = np.reshape(np.asarray(t, dtype=np.float64), (rows, -1))
    return np.reshape(-(inverse @ tm @ inverse), np.shape(ans))
