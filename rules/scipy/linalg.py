"""Rules for ``scipy.linalg``: triangular and structured solves, the Cholesky and LU factor-and-solve pairs,
``expm``, ``sqrtm``, ``solve_sylvester``, ``block_diag``, and the twins of the ``np.linalg`` functions.

Imported by the registry the first time it looks up a ``scipy.linalg`` function
(``registry.load_rules_for``: every function here has a ``__module__`` under
``scipy.linalg``), never by ``import sourcediff``. The helpers are in
``backends/scipy_linalg_ops.py``. Real matrices only. Every ``overwrite_a=True``
or ``overwrite_b=True`` is refused when the derivative runs: SciPy may then
destroy an input that the derivative reads again.

* ``solve_triangular(a, b, trans, lower, unit_diagonal)``: ``x = op(M)^-1 b``
  with ``M`` the triangle of ``a`` that is read (with ``unit_diagonal``, its
  strict part plus the identity). The adjoint of ``a`` lies in that triangle;
  the other entries (and an assumed unit diagonal) get zero.
* ``solve(a, b, lower, assume_a, transposed)``: ``assume_a=None`` (SciPy then
  picks a solver from the structure it detects, but the solution is always
  ``a^-1 b``) and ``'gen'`` differentiate the general solve; ``'sym'``,
  ``'her'`` and ``'pos'`` read one triangle (``lower``), so the derivative is
  that of the symmetric matrix built from it and the adjoint lies in that
  triangle; ``'diagonal'``, ``'tridiagonal'``, ``'upper triangular'`` and
  ``'lower triangular'`` read those entries only. ``'banded'`` is refused.
  ``inv(a, assume_a, lower)`` alike (``'diagonal'`` and ``'tridiagonal'``
  refused: SciPy 1.17 keeps the off-diagonal entries in the result of the
  former and has no latter). ``det`` is ``np.linalg.det``'s.
* ``cholesky(a, lower=False)``: note SciPy's default, the **upper** factor,
  reading the upper triangle; the derivative is ``np.linalg.cholesky``'s on the
  triangle read.
* ``cho_factor(a, lower=False)`` returns ``(c, lower)``: ``c`` holds the factor
  in one triangle and, in the other, whatever LAPACK left there (SciPy
  documents it as arbitrary). Its tangent is the Cholesky tangent in the
  factor's triangle; in the other triangle, which holds ``a``'s own entries as
  LAPACK leaves them (checked when the derivative runs), it is ``da``. Where
  that triangle holds anything else, its adjoint must be zero (refused
  otherwise) and its tangent is NaN. ``cho_solve((c, lower), b)`` reads the
  factor's triangle only: ``A = L L^T`` (``U^T U``), ``x = A^-1 b``, and the
  adjoint of ``(c, lower)`` is ``((G + G^T) L`` on that triangle and zero on the
  other, 0 for the flag) with ``G = -A^-1 g x^T``. So ``cho_solve(cho_factor(a), b)``
  has the derivative of ``solve(a, b, assume_a='pos')``.
* ``lu_factor(a)`` returns ``(lu, piv)``: ``P^T a = L U`` packed in ``lu``
  (``L`` unit lower, below the diagonal; ``U`` on and above it). Every entry is
  used. With the pivots held fixed (they are integers, piecewise constant),
  ``F = L^-1 P^T da U^-1``, ``dL = L tril(F, -1)``, ``dU = triu(F) U``. Square
  matrices only. ``lu_solve((lu, piv), b, trans)`` solves ``op(P L U) x = b``;
  the adjoint of ``(lu, piv)`` is ``(tril(P^T G U^T, -1) + triu(L^T P^T G), zeros)``.
* ``expm(A)``: the Fréchet derivative ``L(A, E)``, the upper right block of
  ``expm([[A, E], [0, A]])``; its adjoint is ``L(A^T, g)``.
* ``sqrtm(A)``: ``dX`` solves the Sylvester equation ``X dX + dX X = dA``
  (``scipy.linalg.solve_sylvester``), the adjoint ``X^T Z + Z X^T = g``. A
  complex square root (negative real eigenvalues) and ``disp=False`` (a tuple
  result) are refused; ``blocksize`` is accepted (it does not change the math).
* ``solve_sylvester(a, b, q)``: ``x`` with ``a x + x b = q``; its derivatives solve
  Sylvester equations with the same matrices (the adjoint with ``a^T`` and ``b^T``).
* ``block_diag(*arrs)``: linear; each argument's adjoint is its block of ``g``.
* ``eigh``/``eigvalsh`` (``lower=True`` reads the lower triangle, as NumPy's
  default), ``svd``/``svdvals``, ``pinv`` (full rank, SciPy's cutoff
  ``atol + rtol * max(s)``), ``lstsq`` (full rank; residues when SciPy returns
  them; singular values, None with ``lapack_driver='gelsy'``): the helpers and
  conventions of ``rules/numpy/linalg.py``. Refused: ``eigh(a, b)`` (the
  generalized problem), ``subset_by_index``/``subset_by_value``, ``pinv(...,
  return_rank=True)``, ``qr(..., pivoting=True)`` and ``mode='raw'``. ``qr``'s
  default ``mode='full'`` of a tall matrix returns a complete Q whose extra
  columns are any basis of the complement: its reverse derivative refuses a
  nonzero adjoint of them, its forward one the call (pass ``mode='economic'``);
  ``mode='r'`` returns the tuple ``(R,)``.
  SciPy's default ``eigh`` driver (``'evr'``) may flip the sign of an
  eigenvector under an arbitrarily small change of the matrix (NumPy's keeps
  them here): the derivative is that of the smooth branch through the vectors
  returned, which finite differences see only for sign-invariant quantities
  (``v**2``, ``v @ diag(w) @ v.T``) or with the drivers ``'ev'``, ``'evd'``, ``'evx'``.
* ``norm``: ``np.linalg.norm``'s rule (the same ords and conventions).

Not covered (calls are refused as functions without a rule): ``lu``, ``eig``,
``logm``, ``funm``, ``schur``, ``polar``, the banded solvers, ``expm_frechet``
and the rest of ``scipy.linalg``.
"""
from __future__ import annotations

import scipy.linalg as linalg

from ..registry import defrule, rename

# -- solves -------------------------------------------------------------------------------------------------------

_SOLVE_TRIANGULAR = "a, b, ans, trans, lower, unit_diagonal, overwrite_b"
defrule(linalg.solve_triangular, "a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, "
        "check_finite=True", returns="new",
        a=f"sd.solve_triangular_adjoint_a(g, {_SOLVE_TRIANGULAR})",
        b=f"sd.solve_triangular_adjoint_b(g, {_SOLVE_TRIANGULAR})",
        jvp={"a": f"sd.solve_triangular_tangent_a(t, {_SOLVE_TRIANGULAR})",
             "b": f"sd.solve_triangular_tangent_b(t, {_SOLVE_TRIANGULAR})"})

_SOLVE = "a, b, ans, lower, overwrite_a, overwrite_b, assume_a, transposed"
defrule(linalg.solve, "a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None, "
        "transposed=False", returns="new",
        a=f"sd.scipy_solve_adjoint_a(g, {_SOLVE})", b=f"sd.scipy_solve_adjoint_b(g, {_SOLVE})",
        jvp={"a": f"sd.scipy_solve_tangent_a(t, {_SOLVE})", "b": f"sd.scipy_solve_tangent_b(t, {_SOLVE})"})

defrule(linalg.inv, "a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False", returns="new",
        a="sd.scipy_inv_adjoint(g, a, ans, overwrite_a, assume_a, lower)",
        jvp={"a": "sd.scipy_inv_tangent(t, a, ans, overwrite_a, assume_a, lower)"})

defrule(linalg.det, "a, overwrite_a=False, check_finite=True", returns="new",
        a="sd.scipy_det_adjoint(g, a, ans, overwrite_a)", jvp={"a": "sd.scipy_det_tangent(t, a, ans, overwrite_a)"})

# -- Cholesky -----------------------------------------------------------------------------------------------------

defrule(linalg.cholesky, "a, lower=False, overwrite_a=False, check_finite=True", returns="new",
        a="sd.scipy_cholesky_adjoint(g, a, ans, lower, overwrite_a)",
        jvp={"a": "sd.scipy_cholesky_tangent(t, a, ans, lower, overwrite_a)"})
defrule(linalg.cho_factor, "a, lower=False, overwrite_a=False, check_finite=True", returns="new",
        a="sd.cho_factor_adjoint(g, a, ans, lower, overwrite_a)",
        jvp={"a": "sd.cho_factor_tangent(t, a, ans, lower, overwrite_a)"})
defrule(linalg.cho_solve, "c_and_lower, b, overwrite_b=False, check_finite=True", returns="new",
        c_and_lower="sd.cho_solve_adjoint_c(g, c_and_lower, b, ans, overwrite_b)",
        b="sd.cho_solve_adjoint_b(g, c_and_lower, b, ans, overwrite_b)",
        jvp={"c_and_lower": "sd.cho_solve_tangent_c(t, c_and_lower, b, ans, overwrite_b)",
             "b": "sd.cho_solve_tangent_b(t, c_and_lower, b, ans, overwrite_b)"})

# -- LU -----------------------------------------------------------------------------------------------------------

defrule(linalg.lu_factor, "a, overwrite_a=False, check_finite=True", returns="new",
        a="sd.lu_factor_adjoint(g, a, ans, overwrite_a)", jvp={"a": "sd.lu_factor_tangent(t, a, ans, overwrite_a)"})
defrule(linalg.lu_solve, "lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True", returns="new",
        lu_and_piv="sd.lu_solve_adjoint_lu(g, lu_and_piv, b, ans, trans, overwrite_b)",
        b="sd.lu_solve_adjoint_b(g, lu_and_piv, b, ans, trans, overwrite_b)",
        jvp={"lu_and_piv": "sd.lu_solve_tangent_lu(t, lu_and_piv, b, ans, trans, overwrite_b)",
             "b": "sd.lu_solve_tangent_b(t, lu_and_piv, b, ans, trans, overwrite_b)"})

# -- matrix functions and block_diag ------------------------------------------------------------------------------

defrule(linalg.expm, "A", returns="new", A="sd.expm_adjoint(g, A)", jvp={"A": "sd.expm_tangent(t, A)"})
# disp and blocksize are deprecated in SciPy 1.17 (their defaults are a sentinel): disp=False, which returns a
# tuple, is refused; blocksize does not change the result.
defrule(linalg.sqrtm, "A, disp=True, blocksize=64", returns="new", A="sd.sqrtm_adjoint(g, A, ans, disp)",
        jvp={"A": "sd.sqrtm_tangent(t, A, ans, disp)"})
# x = solve_sylvester(a, b, q) solves a x + x b = q: a dx + dx b = dq - da x - x db, and with z solving
# a^T z + z b^T = g, the adjoints are (-z x^T, -x^T z, z).
_SYLVESTER_ADJOINT = "sd.sylvester(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), g)"
defrule(linalg.solve_sylvester, "a, b, q", returns="new",
        a=f"-({_SYLVESTER_ADJOINT} @ np.swapaxes(ans, -1, -2))",
        b=f"-(np.swapaxes(ans, -1, -2) @ {_SYLVESTER_ADJOINT})", q=_SYLVESTER_ADJOINT,
        jvp={"a": "sd.sylvester(a, b, -(t @ ans))", "b": "sd.sylvester(a, b, -(ans @ t))",
             "q": "sd.sylvester(a, b, t)"})
defrule(linalg.block_diag, "*arrs", returns="new", arrs="sd.block_diag_adjoint(g, arrs)",
        jvp={"arrs": "sd.block_diag_tangent(t, arrs)"})

# -- the twins of np.linalg ---------------------------------------------------------------------------------------

_EIGH_OPTIONS = "b=None, *, lower=True, {eigvals_only}overwrite_a=False, overwrite_b=False, type=1, " \
                "check_finite=True, subset_by_index=None, subset_by_value=None, driver=None"
_EIGH = "a, ans, b, lower, {eigvals_only}, overwrite_a, overwrite_b, subset_by_index, subset_by_value"
for _primal, _only, _spec in ((linalg.eigh, "eigvals_only", "eigvals_only=False, "), (linalg.eigvalsh, "True", "")):
    _args = _EIGH.format(eigvals_only=_only)
    defrule(_primal, "a, " + _EIGH_OPTIONS.format(eigvals_only=_spec), returns="new",
            a=f"sd.scipy_eigh_adjoint(g, {_args})", jvp={"a": f"sd.scipy_eigh_tangent(t, {_args})"})

_SVD = "a, ans, full_matrices, compute_uv, overwrite_a"
defrule(linalg.svd, "a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True, "
        "lapack_driver='gesdd'", returns="new",
        a=f"sd.scipy_svd_adjoint(g, {_SVD})", jvp={"a": f"sd.scipy_svd_tangent(t, {_SVD})"})
_SVDVALS = rename(_SVD, {"full_matrices": "False", "compute_uv": "False"})
defrule(linalg.svdvals, "a, overwrite_a=False, check_finite=True", returns="new",
        a=f"sd.scipy_svd_adjoint(g, {_SVDVALS})", jvp={"a": f"sd.scipy_svd_tangent(t, {_SVDVALS})"})

defrule(linalg.qr, "a, overwrite_a=False, lwork=None, mode='full', pivoting=False, check_finite=True",
        returns="new", a="sd.scipy_qr_adjoint(g, a, ans, overwrite_a, mode, pivoting)",
        jvp={"a": "sd.scipy_qr_tangent(t, a, ans, overwrite_a, mode, pivoting)"})

defrule(linalg.pinv, "a, *, atol=None, rtol=None, return_rank=False, check_finite=True", returns="new",
        a="sd.scipy_pinv_adjoint(g, a, ans, atol, rtol, return_rank)",
        jvp={"a": "sd.scipy_pinv_tangent(t, a, ans, atol, rtol, return_rank)"})

_LSTSQ = "a, b, ans, cond, overwrite_a, overwrite_b"
defrule(linalg.lstsq, "a, b, cond=None, overwrite_a=False, overwrite_b=False, check_finite=True, "
        "lapack_driver=None", returns="new",
        a=f"sd.scipy_lstsq_adjoint_a(g, {_LSTSQ})", b=f"sd.scipy_lstsq_adjoint_b(g, {_LSTSQ})",
        jvp={"a": f"sd.scipy_lstsq_tangent_a(t, {_LSTSQ})", "b": f"sd.scipy_lstsq_tangent_b(t, {_LSTSQ})"})

_NORM = "sd.norm_adjoint(g, a, ans, ord, axis, keepdims)"
defrule(linalg.norm, "a, ord=None, axis=None, keepdims=False, check_finite=True", returns="new", a=_NORM,
        jvp={"a": f"np.sum(t * {rename(_NORM, {'g': 'np.ones_like(ans)'})}, axis=axis, keepdims=keepdims)"})
