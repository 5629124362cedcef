"""Rules for the ``math`` module: Python floats in, Python floats out.

The templates come from the SymPy table (``scalar_templates.py``, ``math``
flavour). No rule unbroadcasts: every argument is a scalar.

Conventions at kinks and poles (as for their NumPy counterparts, see
``numpy/elementwise.py``): ``fabs`` has slope 0 at 0; ``fmod(x1, x2)`` has
partials 1 and ``-trunc(x1 / x2)``, those of the piece ``x1`` lies on;
``copysign(x1, x2)`` has slope +1 in ``x1`` where the sign of ``x1`` (0 and
-0.0 count as positive) agrees with the sign bit of ``x2``, -1 where they
differ (``copysign(0.0, -1.0)`` has slope -1), and 0 in ``x2``; ``dist`` and ``hypot`` have slope 0 where the
points coincide; ``cbrt`` has an infinite slope at 0 (``inf``, as JAX);
``gamma`` and ``lgamma`` use the digamma function (``sd.digamma``), NaN at the
poles (0, -1, -2 ...), where ``math`` itself raises. ``prod`` is exact at
zeros (no division by an element). ``fsum``, ``prod`` and ``dist`` take
sequences: their adjoints are lists (tuples) of the same length.
"""
from __future__ import annotations

import math

from .registry import deflinear, defnondiff, defpartials, defrule, scaled
from .scalar_templates import TEMPLATES


def _register_table() -> None:
    for entry in TEMPLATES.values():
        if entry["math"] is None:
            continue
        defpartials(getattr(math, entry["math"]), entry["params"], adjoints=entry["adjoints"]["math"],
                    **entry["partials"]["math"])


_register_table()

# math.log(x[, base]): the table's natural log when base is left out (the
# transformer substitutes the default None), its log_base entry otherwise.
# `base == None`, not `is`: a literal base would make `2.0 is None` a SyntaxWarning.
_LOG = TEMPLATES["log"]["adjoints"]["math"]
_LOG_BASE = TEMPLATES["log_base"]["adjoints"]["math"]
_D_LOG = TEMPLATES["log"]["partials"]["math"]
_D_LOG_BASE = TEMPLATES["log_base"]["partials"]["math"]
defrule(math.log, "x, base=None",
        x=f"{_LOG['x']} if base == None else {_LOG_BASE['x']}",
        base=_LOG_BASE["base"],
        jvp={"x": f"{scaled('t', _D_LOG['x'])} if base == None else {scaled('t', _D_LOG_BASE['x'])}",
             "base": scaled("t", _D_LOG_BASE["base"])})

# math.hypot(x1, x2): x / ans, taken as 0 at the origin (no ZeroDivisionError there).
defpartials(math.hypot, "x1, x2", x1="sd.norm_slope(x1, ans)", x2="sd.norm_slope(x2, ans)")

# math.pow(x1, x2): the table's partials, made safe at x1 == 0 (see backends/numpy_elementwise_ops.py).
defpartials(math.pow, "x1, x2", x1="sd.power_rule(x1, x2)", x2="sd.xlogy(ans, x1)")

# |x| has slope sign(x); at x == 0 we take 0, as np.abs and the builtin abs do.
defpartials(math.fabs, "x", x="np.sign(x)")  # x may be a NumPy scalar: no arithmetic on booleans

# fsum(seq): every element receives g, as for the builtin sum.
deflinear(math.fsum, "seq, /", apply="math.fsum(seq)", seq="sd.builtin_sum_adjoint(g, seq)")

# prod(iterable, start=1): each factor's slope is the product of the others (and start's, the product of all).
defrule(math.prod, "iterable, /, *, start=1",
        iterable="sd.sequence_prod_adjoint(g, iterable, start)", start="g * math.prod(iterable)",
        jvp={"iterable": "sd.sequence_prod_tangent(t, iterable, start)", "start": "t * math.prod(iterable)"})

# dist(p, q) = |p - q|: slope (p - q) / dist, 0 where p == q.
defrule(math.dist, "p, q, /",
        p="sd.dist_adjoint(g, p, q, ans, 1.0)", q="sd.dist_adjoint(g, p, q, ans, -1.0)",
        jvp={"p": "sd.dist_tangent(t, p, q, ans, 1.0)", "q": "sd.dist_tangent(t, p, q, ans, -1.0)"})

# d log|Gamma(x)| / dx = digamma(x); d Gamma(x) / dx = Gamma(x) digamma(x).
defpartials(math.lgamma, "x, /", x="sd.digamma(x)")
defpartials(math.gamma, "x, /", x="ans * sd.digamma(x)")

# fmod(x1, x2) = x1 - trunc(x1 / x2) x2 and copysign(x1, x2) = +-|x1|: see the module's docstring.
defpartials(math.fmod, "x1, x2, /", x1="1", x2="-math.trunc(x1 / x2)")
defpartials(math.copysign, "x1, x2, /", x1="1.0 if (x1 < 0) == (math.copysign(1.0, x2) < 0) else -1.0",
            x2="0.0")

# ldexp(x, i) = x * 2 ** i (i an integer); remainder(x, y) = x - n y with n the integer nearest x / y, which
# (x - ans) / y gives exactly; nextafter(x, y) is x moved by one ulp, a constant step where x is.
defpartials(math.ldexp, "x, i, /", x="math.ldexp(1.0, i)")
defpartials(math.remainder, "x, y, /", x="1", y="-float(round((x - ans) / y))")
defpartials(math.nextafter, "x, y, /, *, steps=None", x="1.0")  # y: only the direction
# frexp(x) = (m, e) with x = m 2 ** e and modf(x) = (fraction, integral part): the integer parts are piecewise
# constant, so only the first element of the result carries x's derivative.
defrule(math.frexp, "x, /", x="sd.field_adjoint(g, 0, ans[0]) * 2.0 ** -ans[1]",
        jvp={"x": "sd.field_tangent(t * 2.0 ** -ans[1], 0, ans)"})
defrule(math.modf, "x, /", x="sd.field_adjoint(g, 0, ans[0])", jvp={"x": "sd.field_tangent(t, 0, ans)"})

for _fn, _why in [
    (math.floor, "piecewise constant"), (math.ceil, "piecewise constant"),
    (math.trunc, "piecewise constant"), (math.isnan, "boolean result"),
    (math.isinf, "boolean result"), (math.isfinite, "boolean result"),
    (math.isclose, "boolean result"), (math.factorial, "integer argument"),
    (math.comb, "integer arguments"), (math.perm, "integer arguments"),
    (math.gcd, "integer arguments"), (math.lcm, "integer arguments"), (math.isqrt, "integer argument"),
    (math.ulp, "piecewise constant"),
]:
    defnondiff(_fn, _why)
