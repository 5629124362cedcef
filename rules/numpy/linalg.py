"""Rules for NumPy products and ``np.linalg``: dot, matmul, outer, inner, einsum,
trace, solve, inv, det and norm.

Each adjoint is a helper in ``backends/numpy_array_ops.py`` that handles 1-D,
2-D and batched operands. ``einsum`` takes a subscripts string (with or
without ``->``, with ``...``); the adjoint of its ``*operands`` is a tuple with
one entry per operand. ``norm`` supports the vector ords None, 1, 2, +-inf and
p > 1 and the matrix ords None, 'fro', 'nuc', +-1, +-2, +-inf; any other ord
is refused at run time with an error naming it.
"""
import numpy as np

from ..registry import defbilinear, deflinear, defrule, rename, share_method

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

share_method("dot", np.dot)
share_method("trace", np.trace)
