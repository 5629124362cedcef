"""Rules for NumPy reductions: sum, mean, prod, max/min, var, std (functions and methods).

``axis`` may be None, an int (negative too) or a tuple; ``keepdims`` and
``ddof`` are honoured. Conventions: the adjoint of ``max``/``min`` is shared
evenly among tied extrema (as JAX does); ``prod`` is exact at zeros (no
division by ``x``); ``std`` has slope 0 where an element equals the mean and
the spread is 0 (one element, or ``x - x``: the std is constant there).
The ``where=``/``initial=`` keywords are not in the signatures, so calls using
them are refused rather than differentiated wrongly. The functions that return
booleans or positions (``all``, ``any``, ``argpartition``, ``searchsorted`` ...)
are non-differentiable.
"""
import numpy as np

from ..registry import defnondiff, defnondiff_method, deflinear, defrule, rename, share_method

_SUM = "a, axis=None, dtype=None, out=None, keepdims=False"
_EXT = "a, axis=None, out=None, keepdims=False"
_VAR = "a, axis=None, dtype=None, out=None, ddof=0, keepdims=False"


def _reduction(primal, spec: str, adjoint: str, returns: str | None = None) -> None:
    """A reduction that is not linear: its forward template sums ``t`` times its partials (the adjoint at
    ``g = 1``) over the reduced axes. Each result element depends only on its own slice, so this is exact,
    with the adjoint's conventions at ties and zeros."""
    partial = rename(adjoint, {"g": "np.ones_like(ans)"})
    defrule(primal, spec, a=adjoint, jvp={"a": f"np.sum(t * {partial}, axis=axis, keepdims=keepdims)"},
            returns=returns)


deflinear(np.sum, _SUM, apply="np.sum(a, axis=axis, dtype=dtype, keepdims=keepdims)",
          a="sd.sum_adjoint(g, a, axis, keepdims)", returns="new")
deflinear(np.mean, _SUM, apply="np.mean(a, axis=axis, dtype=dtype, keepdims=keepdims)",
          a="sd.mean_adjoint(g, a, axis, keepdims)", returns="new")
_reduction(np.prod, _SUM, "sd.prod_adjoint(g, a, axis, keepdims)", returns="new")
for _f in (np.max, np.amax, np.min, np.amin):
    _reduction(_f, _EXT, "sd.extremum_adjoint(g, a, ans, axis, keepdims)")
_reduction(np.var, _VAR, "sd.var_adjoint(g, a, axis, ddof, keepdims)")
_reduction(np.std, _VAR, "sd.std_adjoint(g, a, ans, axis, ddof, keepdims)")

# ndarray methods: the same primitives, the receiver is ``self``.
for _name, _f in (("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("max", np.max), ("min", np.min),
                  ("var", np.var), ("std", np.std)):
    share_method(_name, _f)

# Integer-valued results: positions and counts carry no gradient.
for _f in (np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero):
    defnondiff(_f, f"np.{_f.__name__} returns indices or counts, which are piecewise constant")
for _m in ("argmax", "argmin", "argsort", "nonzero"):
    defnondiff_method(_m, f"x.{_m}() returns indices, which are piecewise constant")

# Booleans, and more positions and indices: no gradient.
for _f in (np.all, np.any, np.array_equal, np.array_equiv, np.isin):
    defnondiff(_f, f"np.{_f.__name__} returns booleans")
for _f in (np.nanargmax, np.nanargmin, np.argpartition, np.argwhere, np.flatnonzero, np.searchsorted, np.digitize,
           np.lexsort):
    defnondiff(_f, f"np.{_f.__name__} returns indices, which are piecewise constant")
for _m in ("all", "any"):
    defnondiff_method(_m, f"x.{_m}() returns booleans")
for _m in ("argpartition", "searchsorted"):
    defnondiff_method(_m, f"x.{_m}() returns indices, which are piecewise constant")
defnondiff_method("round", "x.round() is piecewise constant")
