"""Rules for Python's operators and builtins.

``a + b`` is looked up as ``operator.add`` and so on. Operators also act on
NumPy arrays, so the binary ones unbroadcast each adjoint to its argument.
``min``/``max`` take several numbers or one iterable; at a tie they share the
adjoint evenly, like ``np.maximum`` (see ``numpy/elementwise.py``).
"""
from __future__ import annotations

import builtins
import operator

from .registry import defbilinear, deflinear, defnondiff, defnondiff_method, defpartials, defrule, method, runtime

defpartials(operator.add, "a, b", unbroadcast=True, a="1", b="1")
defpartials(operator.sub, "a, b", unbroadcast=True, a="1", b="-1")
defbilinear(operator.mul, "a, b", unbroadcast=True, apply="a * b", a="g * b", b="g * a")
defpartials(operator.truediv, "a, b", unbroadcast=True, a="1 / b", b="-ans / b")
# a % b == a - floor(a / b) * b, and floor is locally constant.
defpartials(operator.mod, "a, b", unbroadcast=True, a="1", b="-(a // b)")
# a ** b: b * a ** (b - 1) and ans * log(a), safe where a == 0 or b == 0 (backends/numpy_elementwise_ops.py).
defpartials(operator.pow, "a, b", unbroadcast=True, a="sd.power_rule(a, b)", b="sd.xlogy(ans, a)")
# a @ b with 1-D, 2-D or stacked operands; the helpers (those of np.matmul) sum stacked axes back to each operand.
defbilinear(operator.matmul, "a, b", apply="a @ b",
            a="sd.matmul_adjoint_a(g, a, b)", b="sd.matmul_adjoint_b(g, a, b)")
defpartials(operator.neg, "a", a="-1")
defpartials(operator.pos, "a", a="1")

for _op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
    defnondiff(_op, "comparison")
defnondiff(operator.not_, "boolean result")
defnondiff(operator.floordiv, "piecewise constant")
# Bitwise operators take booleans and integers only (NumPy refuses floats): their results carry no derivative.
for _op in (operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift, operator.invert):
    defnondiff(_op, "bitwise: booleans and integers only")

# abs has slope sign(x); 0 at x == 0, like np.abs.
defpartials(builtins.abs, "x", x="np.sign(x)")
# max(a, b, ...) and max(iterable): the extremum receives g, shared evenly between ties.
# Forward: the mean of the tied arguments' tangents (t holds one tangent per argument, or per element).
for _f in (builtins.max, builtins.min):
    defrule(_f, "*args", args="sd.builtin_extremum_adjoint(g, args, ans)",
            jvp={"args": "sd.builtin_extremum_tangent(t, args, ans)"})
defpartials(builtins.float, "x", x="1")  # a conversion: the identity for gradients

defnondiff(builtins.int, "truncates to an integer")
defnondiff(builtins.round, "piecewise constant")
defnondiff(builtins.len, "integer result")
defnondiff(builtins.bool, "boolean result")
defnondiff(builtins.any, "boolean result")
defnondiff(builtins.all, "boolean result")

# sum(iterable, start): every element receives g (summed back to its own shape).
deflinear(builtins.sum, "iterable, /, start=0", apply="sum(iterable, start)",
          iterable="sd.builtin_sum_adjoint(g, iterable)", start="g")
# list(x) / tuple(x) copy the elements; from a dict they take its keys, which carry no gradient.
deflinear(builtins.list, "iterable=(), /", apply="list(iterable)", iterable="sd.sequence_adjoint(g, iterable)")
deflinear(builtins.tuple, "iterable=(), /", apply="tuple(iterable)", iterable="sd.sequence_adjoint(g, iterable)")

defnondiff(builtins.range, "integer sequence")
defnondiff(builtins.isinstance, "boolean result")
defnondiff(builtins.type, "a type, not a value")

# Dicts. d.get(key, default): the result's adjoint goes to d[key] when d has the key, else to default.
# d.values() / d.items() outside a for loop are lowered to sd.dict_values(d) / sd.dict_items(d), lists
# in the dict's order: element i's adjoint goes to the i-th key. Keys carry no gradient. The helpers refuse
# a receiver that is not a dict (method rules are found by name).
defrule(method("get"), "self, key, default=None",
        self="sd.dict_get_adjoint(g, self, key)", default="sd.dict_get_default_adjoint(g, self, key, default)",
        jvp={"self": "sd.dict_get_tangent(t, self, key, ans)",
             "default": "sd.dict_get_default_tangent(t, self, key, ans)"})
defrule(runtime("dict_values"), "d", d="sd.dict_values_adjoint(g, d)", jvp={"d": "sd.dict_values_tangent(t, d)"})
defrule(runtime("dict_items"), "d", d="sd.dict_items_adjoint(g, d)", jvp={"d": "sd.dict_items_tangent(t, d)"})
defnondiff_method("keys", "dict keys carry no gradient")

# Strings carry no gradient. The lowering writes f-strings, "%" of a string and the methods of a string as
# calls of str's own methods (sourcediff/strings.py); each is declared here, by identity.
for _name in [n for n in dir(str) if not n.startswith("_") and n != "maketrans"] + ["__mod__"]:
    defnondiff(getattr(str, _name), "a string")
for _f in (builtins.str, builtins.repr, builtins.format, builtins.ascii, builtins.chr, builtins.ord):
    defnondiff(_f, "a string, or a character's code")
