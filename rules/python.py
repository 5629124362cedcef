"""Rules for Python's operators and builtins.

``a + b`` is looked up as ``operator.add`` and so on. Operators also act on
NumPy arrays, so the binary ones unbroadcast each adjoint to its argument.
``min``/``max`` take several numbers or one iterable; at a tie they share the
adjoint evenly, like ``np.maximum`` (see ``numpy/elementwise.py``).
"""
from __future__ import annotations

import builtins
import operator

from .registry import defnondiff, defrule

defrule(operator.add, "a, b", unbroadcast=True, a="g", b="g")
defrule(operator.sub, "a, b", unbroadcast=True, a="g", b="-g")
defrule(operator.mul, "a, b", unbroadcast=True, a="g * b", b="g * a")
defrule(operator.truediv, "a, b", unbroadcast=True, a="g / b", b="-g * ans / b")
# a % b == a - floor(a / b) * b, and floor is locally constant.
defrule(operator.mod, "a, b", unbroadcast=True, a="g", b="-g * (a // b)")
# a ** b: b * a ** (b - 1) and ans * log(a), safe where a == 0 or b == 0 (backends/numpy_elementwise_ops.py).
defrule(operator.pow, "a, b", unbroadcast=True, a="g * sd.power_rule(a, b)", b="g * sd.xlogy(ans, a)")
# a @ b with 1-D, 2-D or stacked operands; the helpers sum stacked axes back to each operand.
defrule(operator.matmul, "a, b", a="sd.matmul_lhs_adjoint(g, a, b)", b="sd.matmul_rhs_adjoint(g, a, b)")
defrule(operator.neg, "a", a="-g")
defrule(operator.pos, "a", a="g")

for _op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
    defnondiff(_op, "comparison")
defnondiff(operator.not_, "boolean result")
defnondiff(operator.floordiv, "piecewise constant")

# abs has slope sign(x); 0 at x == 0, like np.abs.
defrule(builtins.abs, "x", x="g * np.sign(x)")
# max(a, b, ...) and max(iterable): the extremum receives g, shared evenly between ties.
defrule(builtins.max, "*args", args="sd.builtin_extremum_adjoint(g, args, ans)")
defrule(builtins.min, "*args", args="sd.builtin_extremum_adjoint(g, args, ans)")
defrule(builtins.float, "x", x="g")  # a conversion: the identity for gradients

defnondiff(builtins.int, "truncates to an integer")
defnondiff(builtins.round, "piecewise constant")
defnondiff(builtins.len, "integer result")
defnondiff(builtins.bool, "boolean result")

# sum(iterable, start): every element receives g (summed back to its own shape).
defrule(builtins.sum, "iterable, /, start=0", iterable="sd.builtin_sum_adjoint(g, iterable)", start="g")
# list(x) / tuple(x) copy the elements; from a dict they take its keys, which carry no gradient.
defrule(builtins.list, "iterable=(), /", iterable="sd.sequence_adjoint(g, iterable)")
defrule(builtins.tuple, "iterable=(), /", iterable="sd.sequence_adjoint(g, iterable)")

defnondiff(builtins.range, "integer sequence")
defnondiff(builtins.isinstance, "boolean result")
defnondiff(builtins.type, "a type, not a value")
