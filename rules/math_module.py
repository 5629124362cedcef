"""Rules for the ``math`` module: Python floats in, Python floats out.

The templates come from the SymPy table (``scalar_templates.py``, ``math``
flavour). No rule unbroadcasts: every argument is a scalar.
"""
from __future__ import annotations

import math

from .registry import defnondiff, defrule
from .scalar_templates import TEMPLATES


def _register_table() -> None:
    for entry in TEMPLATES.values():
        if entry["math"] is None:
            continue
        defrule(getattr(math, entry["math"]), entry["params"], **entry["adjoints"]["math"])


_register_table()

# math.log(x[, base]): the table's natural log when base is left out (the
# transformer substitutes the default None), its log_base entry otherwise.
# `base == None`, not `is`: a literal base would make `2.0 is None` a SyntaxWarning.
_LOG = TEMPLATES["log"]["adjoints"]["math"]
_LOG_BASE = TEMPLATES["log_base"]["adjoints"]["math"]
defrule(math.log, "x, base=None",
        x=f"{_LOG['x']} if base == None else {_LOG_BASE['x']}",
        base=_LOG_BASE["base"])

# math.hypot(x1, x2): x / ans, taken as 0 at the origin (no ZeroDivisionError there).
defrule(math.hypot, "x1, x2", x1="g * sd.norm_slope(x1, ans)", x2="g * sd.norm_slope(x2, ans)")

# math.pow(x1, x2): the table's partials, made safe at x1 == 0 (see backends/numpy_elementwise_ops.py).
defrule(math.pow, "x1, x2", x1="g * sd.power_rule(x1, x2)", x2="g * sd.xlogy(ans, x1)")

# |x| has slope sign(x); at x == 0 we take 0, as np.abs and the builtin abs do.
defrule(math.fabs, "x", x="g * np.sign(x)")  # x may be a NumPy scalar: no arithmetic on booleans

for _fn, _why in [
    (math.floor, "piecewise constant"), (math.ceil, "piecewise constant"),
    (math.trunc, "piecewise constant"), (math.isnan, "boolean result"),
    (math.isinf, "boolean result"), (math.isfinite, "boolean result"),
    (math.isclose, "boolean result"), (math.factorial, "integer argument"),
    (math.comb, "integer arguments"), (math.perm, "integer arguments"),
    (math.gcd, "integer arguments"),
]:
    defnondiff(_fn, _why)
