"""Rules for NumPy's elementwise functions (ufuncs and ``where``/``clip``).

The smooth ufuncs come from the SymPy table (``scalar_templates.py``, ``numpy``
flavour). Binary ones unbroadcast each adjoint to the shape of its argument.
The piecewise ones (``maximum``, ``abs``, ``clip`` ...) are written by hand.

Convention at a kink or tie: ``abs`` has slope 0 at 0; ``maximum`` and
``minimum`` split the adjoint half and half between equal arguments (as JAX
does), so the gradient of ``maximum(x, x)`` is 1; ``clip`` gives the adjoint
to ``a`` where ``a`` lies inside ``[a_min, a_max]`` boundaries included.

The others with a kink, a jump or a pole, each as JAX has it:

* ``remainder`` (``mod``) and ``fmod``: partials 1 and ``-floor_divide(x1, x2)``
  (``-trunc(x1 / x2)`` for ``fmod``), the slopes of the piece ``x1`` lies on;
  where ``x1 / x2`` is a whole number the result jumps, and the slope is that of
  the piece starting there.
* ``copysign(x1, x2)``: slope 1 in ``x1`` where the sign of ``x1`` agrees with
  the sign bit of ``x2``, -1 where they differ; ``x1 == 0`` (``-0.0`` too)
  counts as positive, so the slope there is +1 or -1, never 0, as in JAX.
  Slope 0 in ``x2``, which only gives a sign.
* ``heaviside(x1, x2)``: slope 0 in ``x1`` (it is constant on each side of 0,
  and jumps at 0); in ``x2``, 1 where ``x1 == 0`` (the value there is ``x2``),
  0 elsewhere.
* ``nan_to_num(x)``: slope 1 where ``x`` is finite, 0 where a NaN or an
  infinity was replaced; the replacement values are constants (no rule for them;
  ``copy=`` is not in the signature: ``copy=False`` would write into ``x``).
* ``sinc`` (``sin(pi x) / (pi x)``): slope 0 at ``x == 0``, its true value.
* ``cbrt`` (from the table): its slope ``1 / (3 cbrt(x)**2)`` is infinite at 0,
  and the rule gives ``inf`` there (``nan`` where the adjoint is 0 too).
* ``fabs``: as ``abs``, slope 0 at 0. ``float_power``: ``power``'s partials.
* ``modf(x) = (fractional part, integral part)``: the fractional part has slope
  1 (also where it jumps, at whole numbers, as in JAX), the integral part slope
  0 (it is piecewise constant). ``divmod(x1, x2) = (floor_divide, remainder)``:
  the quotient has slope 0, the remainder ``remainder``'s slopes.
* ``ldexp(x1, x2) = x1 * 2**x2``: slope ``2**x2`` in ``x1``; ``x2`` is an
  integer (no rule: refused if it depends on the inputs).
* ``nextafter(x1, x2)``, ``x1`` moved by one unit in the last place: slope 1 in
  ``x1`` (JAX has no derivative for it); ``x2`` only gives a direction (no rule).
* ``i0``: slope ``I1(x)``, computed by ``sd.bessel_i1`` (NumPy has no ``i1``).
* ``x.clip(min, max)`` is ``clip``'s rule.
* ``around`` (as ``round``) and ``spacing`` are piecewise constant, and the
  bitwise functions, ``gcd``, ``lcm`` and the ``is*`` tests give integers or
  booleans: non-differentiable.
"""
from __future__ import annotations

import numpy as np

from ..registry import defbilinear, defnondiff, defpartials, defrule, method
from ..scalar_templates import TEMPLATES


def _register_table() -> None:
    for entry in TEMPLATES.values():
        if entry["numpy"] is None:
            continue
        partials = entry["partials"]["numpy"]
        defpartials(getattr(np, entry["numpy"]), entry["params"], unbroadcast=len(partials) > 1,
                    adjoints=entry["adjoints"]["numpy"], **partials)


_register_table()

# np.hypot: the table's partials x / ans, taken as 0 at the origin, where the norm has no derivative.
defpartials(np.hypot, "x1, x2", unbroadcast=True, x1="sd.norm_slope(x1, ans)", x2="sd.norm_slope(x2, ans)")

# np.power: the table's partials, made safe at x1 == 0 (see backends/numpy_elementwise_ops.py).
defpartials(np.power, "x1, x2", unbroadcast=True, x1="sd.power_rule(x1, x2)", x2="sd.xlogy(ans, x1)")

defpartials(np.add, "x1, x2", unbroadcast=True, x1="1", x2="1")
defpartials(np.subtract, "x1, x2", unbroadcast=True, x1="1", x2="-1")
defbilinear(np.multiply, "x1, x2", unbroadcast=True, apply="x1 * x2", x1="g * x2", x2="g * x1")
defpartials(np.divide, "x1, x2", unbroadcast=True, x1="1 / x2", x2="-ans / x2")  # also np.true_divide
defpartials(np.positive, "x", x="1")

defpartials(np.abs, "x", x="np.sign(x)")  # np.absolute is np.abs

# np.greater and np.equal, not > and ==: they compare lists element by element (a list's > compares the lists).
_MAX = "np.greater(x1, x2) + 0.5 * np.equal(x1, x2)", "np.greater(x2, x1) + 0.5 * np.equal(x1, x2)"
_MIN = "np.less(x1, x2) + 0.5 * np.equal(x1, x2)", "np.less(x2, x1) + 0.5 * np.equal(x1, x2)"
# fmax and fmin take the other argument where one is NaN: it gets the whole slope there.
_NAN = " + (np.isnan(x2) & ~np.isnan(x1))", " + (np.isnan(x1) & ~np.isnan(x2))"
for _f, (_d1, _d2) in ((np.maximum, _MAX), (np.minimum, _MIN)):
    defpartials(_f, "x1, x2", unbroadcast=True, x1=_d1, x2=_d2)
for _f, (_d1, _d2) in ((np.fmax, _MAX), (np.fmin, _MIN)):
    defpartials(_f, "x1, x2", unbroadcast=True, x1=_d1 + _NAN[0], x2=_d2 + _NAN[1])

# where(condition) with one argument returns indices; only x and y carry gradients.
# The condition is read as booleans: no derivative flows through it, even from a float array (``cut``).
defrule(np.where, "condition, x=None, y=None", unbroadcast=True, cut=("condition",),
        x="np.where(condition, g, 0.0)", y="np.where(condition, 0.0, g)",
        jvp={"x": "np.where(condition, t, 0.0)", "y": "np.where(condition, 0.0, t)"}, returns='new')

# clip: a keeps the adjoint where it was not clipped (ans == a, boundaries
# included); otherwise it goes to the bound that produced ans, a_max first,
# because NumPy applies a_max last (so also when a_min > a_max).
defpartials(np.clip, "a, a_min=None, a_max=None", unbroadcast=True,
            a="(ans == a)", a_min="(ans != a) * (ans != a_max)", a_max="(ans != a) * (ans == a_max)", returns='new')

# x1 == q x2 + r: r moves with x1 at slope 1 and with x2 at slope -q on each piece (q constant on it).
defpartials(np.remainder, "x1, x2", unbroadcast=True, x1="1", x2="-np.floor_divide(x1, x2)")  # also np.mod
defpartials(np.fmod, "x1, x2", unbroadcast=True, x1="1", x2="-np.trunc(x1 / x2)")
defpartials(np.copysign, "x1, x2", unbroadcast=True, x1="np.where(np.less(x1, 0) == np.signbit(x2), 1.0, -1.0)",
            x2="0.0")
defpartials(np.heaviside, "x1, x2", unbroadcast=True, x1="0.0", x2="np.equal(x1, 0)")
defpartials(np.nan_to_num, "x, *, nan=0.0, posinf=None, neginf=None", x="np.isfinite(x)", returns="new")
defpartials(np.sinc, "x", x="sd.sinc_slope(x, ans)")

for _fn, _why in [
    (np.sign, "piecewise constant"), (np.floor, "piecewise constant"),
    (np.ceil, "piecewise constant"), (np.trunc, "piecewise constant"),
    (np.rint, "piecewise constant"), (np.round, "piecewise constant"),
    (np.fix, "piecewise constant"), (np.floor_divide, "piecewise constant"),
    (np.isnan, "boolean result"), (np.isinf, "boolean result"),
    (np.isfinite, "boolean result"), (np.signbit, "boolean result"),
    (np.greater, "comparison"), (np.greater_equal, "comparison"), (np.less, "comparison"),
    (np.less_equal, "comparison"), (np.equal, "comparison"), (np.not_equal, "comparison"),
    (np.logical_and, "boolean result"), (np.logical_or, "boolean result"),
    (np.logical_not, "boolean result"), (np.logical_xor, "boolean result"),
    (np.isclose, "boolean result"), (np.allclose, "boolean result"),
]:
    defnondiff(_fn, _why)

# -- more elementwise functions (helpers: numpy_elementwise_ops.py); conventions in the module docstring --
defpartials(np.fabs, "x", x="np.sign(x)")
defpartials(np.float_power, "x1, x2", unbroadcast=True, x1="sd.power_rule(x1, x2)", x2="sd.xlogy(ans, x1)")
defpartials(np.ldexp, "x1, x2", unbroadcast=True, x1="np.ldexp(1.0, x2)")  # x1 * 2**x2, x2 an integer
defpartials(np.i0, "x", x="sd.bessel_i1(x)")
defpartials(np.nextafter, "x1, x2", unbroadcast=True, x1="1.0")  # x1 moved by one unit in the last place
defrule(np.modf, "x, /", x="sd.modf_adjoint(g, x)", jvp={"x": "sd.modf_tangent(t, x)"})
defrule(np.divmod, "x1, x2, /", x1="sd.divmod_adjoint(g, x1, x2, 'x1')", x2="sd.divmod_adjoint(g, x1, x2, 'x2')",
        jvp={"x1": "sd.divmod_tangent(t, x1, x2, 'x1')", "x2": "sd.divmod_tangent(t, x1, x2, 'x2')"})

# np.unwrap adds whole periods where consecutive values jump by more than discont: slope 1 everywhere else.
defrule(np.unwrap, "p, discont=None, axis=-1, *, period=6.283185307179586", p="g", jvp={"p": "t"}, returns="new")

# Results that are integers, booleans or bit patterns, and piecewise constant functions.
for _fn, _why in [
    (np.bartlett, "a window of M points: constants"), (np.blackman, "a window of M points: constants"),
    (np.hamming, "a window of M points: constants"), (np.hanning, "a window of M points: constants"),
    (np.around, "piecewise constant"), (np.spacing, "piecewise constant (the gap to the next float)"),
    (np.isneginf, "boolean result"), (np.isposinf, "boolean result"), (np.isreal, "boolean result"),
    (np.iscomplex, "boolean result"), (np.isnat, "boolean result"),
    (np.gcd, "integer arguments"), (np.lcm, "integer arguments"),
    (np.bitwise_and, "bitwise, on integers"), (np.bitwise_or, "bitwise, on integers"),
    (np.bitwise_xor, "bitwise, on integers"), (np.invert, "bitwise, on integers"),  # also bitwise_not, bitwise_invert
    (np.bitwise_count, "bitwise, on integers"), (np.left_shift, "bitwise, on integers"),
    (np.right_shift, "bitwise, on integers"), (np.packbits, "bitwise, on integers"),
    (np.unpackbits, "bitwise, on integers"),
]:
    defnondiff(_fn, _why)

# x.clip(min, max): np.clip's rule, under the method's parameter names.
defpartials(method("clip"), "self, min=None, max=None", unbroadcast=True, self="(ans == self)",
            min="(ans != self) * (ans != max)", max="(ans != self) * (ans == max)", returns="new")
