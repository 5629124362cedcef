"""Rules for NumPy reductions: sum, mean, prod, max/min, var, std (functions and methods).

``axis`` may be None, an int (negative too) or a tuple; ``keepdims`` and
``ddof`` are honoured. Conventions: the adjoint of ``max``/``min`` is shared
evenly among tied extrema (as JAX does); ``prod`` is exact at zeros (no
division by ``x``); ``std`` has slope 0 where an element equals the mean and
the spread is 0 (one element, or ``x - x``: the std is constant there).
The ``where=``/``initial=`` keywords are not in the signatures, so calls using
them are refused rather than differentiated wrongly.
"""
import numpy as np

from ..registry import defmethod, defnondiff, defnondiff_method, defrule

_SUM = "a, axis=None, dtype=None, out=None, keepdims=False"
_EXT = "a, axis=None, out=None, keepdims=False"
_VAR = "a, axis=None, dtype=None, out=None, ddof=0, keepdims=False"

defrule(np.sum, _SUM, a="sd.sum_adjoint(g, a, axis, keepdims)")
defrule(np.mean, _SUM, a="sd.mean_adjoint(g, a, axis, keepdims)")
defrule(np.prod, _SUM, a="sd.prod_adjoint(g, a, axis, keepdims)")
for _f in {np.max, np.amax, np.min, np.amin}:
    defrule(_f, _EXT, a="sd.extremum_adjoint(g, a, ans, axis, keepdims)")
defrule(np.var, _VAR, a="sd.var_adjoint(g, a, axis, ddof, keepdims)")
defrule(np.std, _VAR, a="sd.std_adjoint(g, a, ans, axis, ddof, keepdims)")

# ndarray methods: the receiver is ``self``.
_MSUM = "self, axis=None, dtype=None, out=None, keepdims=False"
_MEXT = "self, axis=None, out=None, keepdims=False"
_MVAR = "self, axis=None, dtype=None, out=None, ddof=0, keepdims=False"
defmethod("sum", _MSUM, self="sd.sum_adjoint(g, self, axis, keepdims)")
defmethod("mean", _MSUM, self="sd.mean_adjoint(g, self, axis, keepdims)")
defmethod("prod", _MSUM, self="sd.prod_adjoint(g, self, axis, keepdims)")
defmethod("max", _MEXT, self="sd.extremum_adjoint(g, self, ans, axis, keepdims)")
defmethod("min", _MEXT, self="sd.extremum_adjoint(g, self, ans, axis, keepdims)")
defmethod("var", _MVAR, self="sd.var_adjoint(g, self, axis, ddof, keepdims)")
defmethod("std", _MVAR, self="sd.std_adjoint(g, self, ans, axis, ddof, keepdims)")

# Integer-valued results: positions and counts carry no gradient.
for _f in (np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero):
    defnondiff(_f, f"np.{_f.__name__} returns indices or counts, which are piecewise constant")
for _m in ("argmax", "argmin", "argsort", "nonzero"):
    defnondiff_method(_m, f"x.{_m}() returns indices, which are piecewise constant")
