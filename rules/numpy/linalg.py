"""Rules for NumPy products and ``np.linalg``: dot, matmul, outer, inner, einsum,
vecdot, vdot, matvec, vecmat, trace, solve, inv, det, norm, matrix_norm,
vector_norm, cond, tensorinv, svdvals and the decompositions.

Each adjoint is a helper in ``backends/numpy_array_ops.py`` that handles 1-D,
2-D and batched operands. ``einsum`` takes a subscripts string (with or
without ``->``, with ``...``); the adjoint of its ``*operands`` is a tuple with
one entry per operand. ``norm`` supports every vector ord (None, 0, 1, 2, +-inf
and any real p; below 1, a zero entry is refused at run time, where the norm
has no derivative) and the matrix ords None, 'fro', 'nuc', +-1, +-2, +-inf;
where the largest (``ord=2``) or smallest (``-2``) singular value is repeated,
or a row or column sum ties (``+-1``, ``+-inf``), the tied ones share the
adjoint equally, the mean of the one-sided derivatives' directions.

The decompositions and their kin (cholesky, eigh, eigvalsh, svd, qr, slogdet,
pinv, lstsq, matrix_power, multi_dot, tensorsolve) have their helpers in
``backends/numpy_linalg_ops.py``, batched wherever NumPy batches them. Their
conventions:

* Real matrices only; complex ones are refused at run time.
* A result that is a tuple (eigh, svd, qr, slogdet, lstsq) has an adjoint with
  one entry per field, None or zeros for fields that get none, and a tangent
  that is the tuple of the fields' tangents.
* One triangle: cholesky reads the lower triangle of its argument (the upper
  one with ``upper=True``), eigh and eigvalsh the one ``UPLO`` names. The
  derivative is that of NumPy's function: the gradient lies in that triangle,
  zero in the other, and a tangent of the other triangle changes nothing. JAX
  symmetrizes the input instead; the two agree where the matrix is built
  symmetric (``a + a.T``, ``a @ a.T``).
* Gauge: the derivative is that of the vectors NumPy returns (eigenvectors,
  singular vectors, the factors of QR), along the smooth branch through them:
  ``V^T dV`` is antisymmetric, ``u_i`` and ``v_i`` keep their joint sign, the
  diagonal of R keeps its signs. NumPy (LAPACK) may change its choice of signs
  abruptly where the spectrum is degenerate, even for the vector of a simple
  eigenvalue; finite differences across such a flip disagree with any
  derivative, sign-invariant quantities (``v**2``, ``u * s @ vh``) do not.
* Repeated eigenvalues (closer than ``DEGENERATE_RTOL = 1e-9`` times the
  largest magnitude): the eigenvalues get ``diag(V^T dS V)`` with NumPy's
  ``V``, as in JAX. That is the gradient of every function symmetric in a
  repeated cluster (its sum, sum of squares, a trace of a matrix function);
  single repeated eigenvalues are only directionally differentiable there.
  The eigenvectors of a repeated eigenvalue have no derivative: the reverse
  helper raises ``SourcediffError`` when one of them has a nonzero adjoint
  (vectors of simple eigenvalues are fine), and the forward one gives NaN in
  those columns of the tangent.
* svd: likewise for singular vectors of repeated or zero singular values
  (relative to the largest). Singular values always get ``U diag(g) Vh``, at a
  zero singular value one subgradient. With ``full_matrices=True`` and a
  non-square matrix the extra columns of U (rows of Vh) are any basis of the
  complement: the reverse helper accepts the call when they get no adjoint
  and refuses it otherwise, the forward one refuses it; both say to pass
  ``full_matrices=False``. ``hermitian=True`` is refused.
* qr: ``mode='reduced'`` (``'complete'`` where it is the same, ``m <= n``) and
  ``'r'``, for full-rank matrices; with ``m < n`` the leading square block is
  factored and ``R2 = Q^T A2``. ``'raw'`` is refused.
* slogdet: the sign is piecewise constant (zero tangent, its adjoint ignored);
  ``logabsdet`` has gradient ``inv(a).T``.
* pinv and lstsq: full-rank matrices only; a singular value that NumPy's
  cutoff drops (pinv) or a rank below ``min(m, n)`` (lstsq) is refused, as the
  result jumps there. lstsq differentiates the solution, the residuals (when
  NumPy returns them) and the singular values; the rank is an integer.
* matrix_power: integer ``n``, negative through ``inv(a)``; multi_dot: the
  first and last operands may be 1-D; tensorsolve: ``solve`` on NumPy's matrix
  form of ``a`` (after moving ``axes``).
"""
import numpy as np

from ..registry import defbilinear, deflinear, defnondiff, defrule, rename, share_method

defbilinear(np.dot, "a, b, out=None", apply="np.dot(a, b)",
            a="sd.dot_adjoint_a(g, a, b)", b="sd.dot_adjoint_b(g, a, b)", returns='new')
defbilinear(np.matmul, "x1, x2, /, out=None", apply="np.matmul(x1, x2)",
            x1="sd.matmul_adjoint_a(g, x1, x2)", x2="sd.matmul_adjoint_b(g, x1, x2)", returns='new')
defbilinear(np.outer, "a, b, out=None", apply="np.outer(a, b)",
            a="sd.outer_adjoint_a(g, a, b)", b="sd.outer_adjoint_b(g, a, b)", returns='new')
defbilinear(np.inner, "a, b, /", apply="np.inner(a, b)",
            a="sd.inner_adjoint_a(g, a, b)", b="sd.inner_adjoint_b(g, a, b)")
# Multilinear in its operands: the tangent is the sum over operands of einsum with that operand's tangent.
defrule(np.einsum, "subscripts, *operands, out=None, optimize=False",
        operands="sd.einsum_adjoint(g, subscripts, operands)",
        jvp={"operands": "sd.einsum_tangent(t, subscripts, operands)"})
deflinear(np.trace, "a, offset=0, axis1=0, axis2=1, dtype=None, out=None",
          apply="np.trace(a, offset, axis1, axis2)", a="sd.trace_adjoint(g, a, offset, axis1, axis2)")
# x = solve(a, b): dx = solve(a, db - da @ x).
defrule(np.linalg.solve, "a, b", a="sd.solve_adjoint_a(g, a, b, ans)", b="sd.solve_adjoint_b(g, a, b)",
        jvp={"a": "-np.linalg.solve(a, np.matmul(t, ans[..., None]))[..., 0] if np.ndim(b) == 1 "
                  "else -np.linalg.solve(a, np.matmul(t, ans))",
             "b": "np.linalg.solve(a, t)"}, returns='new')
defrule(np.linalg.inv, "a", a="sd.inv_adjoint(g, ans)", jvp={"a": "-(ans @ t @ ans)"}, returns="new")
# det and norm map each matrix or vector to one number: the tangent is t times the partials (the adjoint
# at g = 1) summed over the matrix or vector, with the adjoint's conventions (norm at 0, repeated
# singular values).
_DET = "sd.det_adjoint(g, a, ans)"
defrule(np.linalg.det, "a", a=_DET,
        jvp={"a": f"np.sum(t * {rename(_DET, {'g': 'np.ones_like(ans)'})}, axis=(-2, -1))"})
_NORM = "sd.norm_adjoint(g, x, ans, ord, axis, keepdims)"
defrule(np.linalg.norm, "x, ord=None, axis=None, keepdims=False", x=_NORM,
        jvp={"x": f"np.sum(t * {rename(_NORM, {'g': 'np.ones_like(ans)'})}, axis=axis, keepdims=keepdims)"})

defnondiff(np.einsum_path, "np.einsum_path returns a contraction plan, not values")
share_method("dot", np.dot)
share_method("trace", np.trace)

# The decompositions: one adjoint and one tangent helper each, in backends/numpy_linalg_ops.py (conventions in
# the module docstring), named after the function (with _a, _b for two differentiable parameters) and called with
# the arguments listed. A tuple result's adjoint ``g`` holds one entry per field (None or zeros where a field
# gets none); the tangent helpers return the tuple of the fields' tangents.
_DECOMPOSITIONS = [
    (np.linalg.cholesky, "a, /, *, upper=False", "a, ans, upper", ("a",)),
    (np.linalg.eigh, "a, UPLO='L'", "a, ans, UPLO", ("a",)),
    (np.linalg.eigvalsh, "a, UPLO='L'", "a, UPLO", ("a",)),
    (np.linalg.svd, "a, full_matrices=True, compute_uv=True, hermitian=False",
     "a, ans, full_matrices, compute_uv, hermitian", ("a",)),
    (np.linalg.qr, "a, mode='reduced'", "a, ans, mode", ("a",)),
    (np.linalg.slogdet, "a", "a, ans", ("a",)),
    (np.linalg.pinv, "a, rcond=None, hermitian=False, *, rtol=None", "a, ans, rcond, hermitian, rtol", ("a",)),
    (np.linalg.lstsq, "a, b, rcond=None", "a, b, ans, rcond", ("a", "b")),
    (np.linalg.matrix_power, "a, n", "a, n", ("a",)),
    (np.linalg.tensorsolve, "a, b, axes=None", "a, b, ans, axes", ("a", "b")),
]
for _primal, _spec, _args, _params in _DECOMPOSITIONS:
    _suffix = {p: "" if len(_params) == 1 else f"_{p}" for p in _params}
    defrule(_primal, _spec, returns="new",
            jvp={p: f"sd.{_primal.__name__}_tangent{_suffix[p]}(t, {_args})" for p in _params},
            **{p: f"sd.{_primal.__name__}_adjoint{_suffix[p]}(g, {_args})" for p in _params})
defrule(np.linalg.multi_dot, "arrays, *, out=None", returns="new", arrays="sd.multi_dot_adjoint(g, arrays)",
        jvp={"arrays": "sd.multi_dot_tangent(t, arrays)"})

# -- vector products, and np.linalg's array-API functions (helpers: numpy_linalg_ops.py) --
# np.linalg.matmul, outer, cross, tensordot, trace, diagonal, matrix_transpose and vecdot are the top-level
# functions with positional-only operands and keyword-only options; they share the top-level helpers.
# matrix_norm and vector_norm have np.linalg.norm's conventions; vector_norm flattens the axes it reduces (all of
# them for axis=None, whatever the number of dimensions). cond(x, p): p None, 2 or -2 through the largest and
# smallest singular values (tied extreme ones share the adjoint equally, as in norm), 'fro', 'nuc', 1, -1, inf,
# -inf as norm(x, p) * norm(inv(x), p); any other p is refused.
# svdvals is svd(x, compute_uv=False); tensorinv is inv of the matrix form. matrix_rank is an integer.
defbilinear(np.vecdot, "x1, x2, /, *, axis=-1", apply="np.vecdot(x1, x2, axis=axis)",
            x1="sd.vecdot_adjoint(g, x1, x2, axis, 'x1')", x2="sd.vecdot_adjoint(g, x1, x2, axis, 'x2')", returns="new")
defbilinear(np.linalg.vecdot, "x1, x2, /, *, axis=-1", apply="np.linalg.vecdot(x1, x2, axis=axis)",
            x1="sd.vecdot_adjoint(g, x1, x2, axis, 'x1')", x2="sd.vecdot_adjoint(g, x1, x2, axis, 'x2')", returns="new")
defbilinear(np.matvec, "x1, x2, /", apply="np.matvec(x1, x2)", x1="sd.matvec_adjoint(g, x1, x2, 'x1')",
            x2="sd.matvec_adjoint(g, x1, x2, 'x2')", returns="new")
defbilinear(np.vecmat, "x1, x2, /", apply="np.vecmat(x1, x2)", x1="sd.vecmat_adjoint(g, x1, x2, 'x1')",
            x2="sd.vecmat_adjoint(g, x1, x2, 'x2')", returns="new")
# vdot flattens both operands (real ones: no conjugation).
defbilinear(np.vdot, "a, b, /", apply="np.vdot(a, b)", a="sd.unbroadcast(g * np.reshape(b, np.shape(a)), a)",
            b="sd.unbroadcast(g * np.reshape(a, np.shape(b)), b)", returns="new")
defbilinear(np.linalg.matmul, "x1, x2, /", apply="np.linalg.matmul(x1, x2)", x1="sd.matmul_adjoint_a(g, x1, x2)",
            x2="sd.matmul_adjoint_b(g, x1, x2)", returns="new")
defbilinear(np.linalg.outer, "x1, x2, /", apply="np.linalg.outer(x1, x2)", x1="sd.outer_adjoint_a(g, x1, x2)",
            x2="sd.outer_adjoint_b(g, x1, x2)", returns="new")
defbilinear(np.linalg.cross, "x1, x2, /, *, axis=-1", apply="np.linalg.cross(x1, x2, axis=axis)",
            x1="sd.cross_adjoint(g, x1, x2, -1, -1, -1, axis, 'a')",
            x2="sd.cross_adjoint(g, x1, x2, -1, -1, -1, axis, 'b')", returns="new")
defbilinear(np.linalg.tensordot, "x1, x2, /, *, axes=2", apply="np.linalg.tensordot(x1, x2, axes=axes)",
            x1="sd.tensordot_adjoint(g, x1, x2, axes, 'a')", x2="sd.tensordot_adjoint(g, x1, x2, axes, 'b')",
            returns="new")
deflinear(np.linalg.trace, "x, /, *, offset=0, dtype=None", apply="np.linalg.trace(x, offset=offset)",
          x="sd.trace_adjoint(g, x, offset, -2, -1)", returns="new")
deflinear(np.linalg.diagonal, "x, /, *, offset=0", apply="np.linalg.diagonal(x, offset=offset)",
          x="sd.diagonal_adjoint(g, x, offset, -2, -1)", returns="view")
deflinear(np.linalg.matrix_transpose, "x, /", apply="np.linalg.matrix_transpose(x)", x="np.matrix_transpose(g)",
          returns="view")
_MATRIX_NORM = "sd.norm_adjoint(g, x, ans, ord, (-2, -1), keepdims)"
defrule(np.linalg.matrix_norm, "x, /, *, keepdims=False, ord='fro'", x=_MATRIX_NORM,
        jvp={"x": f"np.sum(t * {rename(_MATRIX_NORM, {'g': 'np.ones_like(ans)'})}, axis=(-2, -1), keepdims=keepdims)"},
        returns="new")
_VECTOR_NORM = "sd.vector_norm_adjoint(g, x, ans, axis, keepdims, ord)"
defrule(np.linalg.vector_norm, "x, /, *, axis=None, keepdims=False, ord=2", x=_VECTOR_NORM,
        jvp={"x": f"np.sum(t * {rename(_VECTOR_NORM, {'g': 'np.ones_like(ans)'})}, axis=axis, keepdims=keepdims)"},
        returns="new")
defrule(np.linalg.svdvals, "x, /", x="sd.svd_adjoint(g, x, ans, False, False, False)",
        jvp={"x": "sd.svd_tangent(t, x, ans, False, False, False)"}, returns="new")
defrule(np.linalg.cond, "x, p=None", x="sd.cond_adjoint(g, x, ans, p)", jvp={"x": "sd.cond_tangent(t, x, ans, p)"},
        returns="new")
defrule(np.linalg.tensorinv, "a, ind=2", a="sd.tensorinv_adjoint(g, a, ans, ind)",
        jvp={"a": "sd.tensorinv_tangent(t, a, ans, ind)"}, returns="new")
defnondiff(np.linalg.matrix_rank, "an integer (the number of singular values above a tolerance)")
