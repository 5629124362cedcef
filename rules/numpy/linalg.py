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

from ..registry import defmethod, defrule

defrule(np.dot, "a, b, out=None", a="sd.dot_adjoint_a(g, a, b)", b="sd.dot_adjoint_b(g, a, b)")
defrule(np.matmul, "x1, x2, /, out=None",
        x1="sd.matmul_adjoint_a(g, x1, x2)", x2="sd.matmul_adjoint_b(g, x1, x2)")
defrule(np.outer, "a, b, out=None", a="sd.outer_adjoint_a(g, a, b)", b="sd.outer_adjoint_b(g, a, b)")
defrule(np.inner, "a, b, /", a="sd.inner_adjoint_a(g, a, b)", b="sd.inner_adjoint_b(g, a, b)")
defrule(np.einsum, "subscripts, *operands, out=None, optimize=False",
        operands="sd.einsum_adjoint(g, subscripts, operands)")
defrule(np.trace, "a, offset=0, axis1=0, axis2=1, dtype=None, out=None",
        a="sd.trace_adjoint(g, a, offset, axis1, axis2)")
defrule(np.linalg.solve, "a, b", a="sd.solve_adjoint_a(g, a, b, ans)", b="sd.solve_adjoint_b(g, a, b)")
defrule(np.linalg.inv, "a", a="sd.inv_adjoint(g, ans)")
defrule(np.linalg.det, "a", a="sd.det_adjoint(g, a, ans)")
defrule(np.linalg.norm, "x, ord=None, axis=None, keepdims=False",
        x="sd.norm_adjoint(g, x, ans, ord, axis, keepdims)")

defmethod("dot", "self, b, out=None",
          self="sd.dot_adjoint_a(g, self, b)", b="sd.dot_adjoint_b(g, self, b)")
defmethod("trace", "self, offset=0, axis1=0, axis2=1, dtype=None, out=None",
          self="sd.trace_adjoint(g, self, offset, axis1, axis2)")
