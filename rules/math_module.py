"""Rules for the ``math`` module: Python floats in, Python floats out.

The templates come from the SymPy table (``scalar_templates.py``, ``math``
flavour). No rule unbroadcasts: every argument is a scalar.
"""
from __future__ import annotations

import math

from .registry import defnondiff, defpartials, defrule, scaled
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

for _fn, _why in [
    (math.floor, "piecewise constant"), (math.ceil, "piecewise constant"),
    (math.trunc, "piecewise constant"), (math.isnan, "boolean result"),
    (math.isinf, "boolean result"), (math.isfinite, "boolean result"),
    (math.isclose, "boolean result"), (math.factorial, "integer argument"),
    (math.comb, "integer arguments"), (math.perm, "integer arguments"),
    (math.gcd, "integer arguments"),
]:
    defnondiff(_fn, _why)
