"""NumPy runtime helpers used by the elementwise and operator rules (``pow``, ``hypot``, ``i0``, ``modf``,
``divmod``).

Each works on Python scalars and on arrays, and keeps a fast path for scalars.
"""
from __future__ import annotations

import math

import numpy as np

from .numpy_array_ops import _like, _sum_to_shape

__all__ = ["power_rule", "xlogy", "norm_slope"]

_SCALARS = (int, float)


def power_rule(a, b):
    """``d(a ** b)/da = b * a ** (b - 1)``, taken as 0 where ``b == 0``.

    ``a ** 0`` is constant, so its derivative is 0 even at ``a == 0``, where
    the plain formula would divide by zero.
    """
    if isinstance(b, _SCALARS):
        return 0.0 if b == 0 else b * a ** (b - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, b * np.power(a, b - 1.0))


def norm_slope(x, norm):
    """``x / norm``, taken as 0 where ``norm == 0``: the slope of ``hypot`` (a 2-norm), 0 at the origin.

    There the norm has no derivative; 0 is a subgradient, and it is the right
    derivative of ``hypot(u, u)`` where ``u`` is constant 0.
    """
    if isinstance(norm, _SCALARS) and isinstance(x, _SCALARS):
        return x / norm if norm != 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm == 0, 0.0, np.divide(x, norm))


def xlogy(x, y):
    """``x * log(y)``, taken as 0 where ``x == 0``.

    The exponent's partial in ``a ** b`` is ``ans * log(a)``; where ``a == 0``
    and ``b > 0`` the result ``ans`` is 0 and so is the derivative. A negative
    ``y`` gives nan, as ``np.log`` does, rather than raising.
    """
    if isinstance(x, _SCALARS) and isinstance(y, _SCALARS):
        if x == 0:
            return 0.0
        if y > 0:
            return x * math.log(y)
        return x * -math.inf if y == 0 else math.nan
    x = np.asarray(x)
    zero = x == 0
    with np.errstate(divide="ignore"):
        return np.where(zero, 0.0, x * np.log(np.where(zero, 1.0, y)))


# -- numpy breadth: i0's slope, modf, divmod (rules/numpy/elementwise.py) -------------------------------------

__all__ += ["bessel_i1", "modf_adjoint", "modf_tangent", "divmod_adjoint", "divmod_tangent"]


def _i1_series(x):
    """``I1(x) = (x / 2) sum_k (x^2 / 4)^k / (k! (k + 1)!)``: every term positive (no cancellation), summed
    until the terms no longer change the sum."""
    term = x / 2.0
    total = term
    quarter = x * x / 4.0
    k = 0
    while True:
        k += 1
        term = term * quarter / (k * (k + 1))
        total = total + term
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            return total


def _i1_asymptotic(x):
    """Hankel's expansion for large ``|x|``: ``I1(x) ~ e^|x| / sqrt(2 pi |x|) sum_k (-1)^k a_k / |x|^k``,
    ``a_k = prod_{j <= k} (4 - (2j - 1)^2) / (k! 8^k)``, odd in ``x``; 30 terms reach double precision for
    ``|x| >= 40``."""
    ax = np.abs(x)
    term = np.ones_like(ax)
    total = term
    for k in range(1, 30):
        term = -term * (4.0 - (2 * k - 1) ** 2) / (k * 8.0 * ax)
        total = total + term
    return np.sign(x) * np.exp(ax) / np.sqrt(2.0 * np.pi * ax) * total


def bessel_i1(x):
    """The modified Bessel function ``I1(x)``, the slope of ``np.i0`` (NumPy has no ``i1``): its power series
    up to ``|x| = 40``, Hankel's asymptotic expansion beyond."""
    xa = np.asarray(x, dtype=np.float64)
    large = np.abs(xa) > 40.0
    out = _i1_series(np.where(large, 0.0, xa))
    if np.any(large):
        out = np.where(large, _i1_asymptotic(np.where(large, xa, 40.0)), out)
    return float(out) if np.ndim(x) == 0 and not isinstance(x, np.ndarray) else out


def modf_adjoint(g, x):
    """Adjoint of ``np.modf(x) = (fractional part, integral part)``: the fractional part has slope 1, the
    integral part 0 (it is piecewise constant), so ``x`` gets the first entry of ``g`` (None: 0)."""
    part = None if g is None else g[0]
    if part is None:
        return 0.0 if np.ndim(x) == 0 and not isinstance(x, np.ndarray) else np.zeros(np.shape(x))
    return part


def modf_tangent(t, x):
    """Tangent of ``np.modf(x)``: ``(t, 0)``."""
    t = np.asarray(t, dtype=np.float64)
    return (t, np.zeros(np.shape(t)))


def divmod_adjoint(g, x1, x2, which="x1"):
    """Adjoint of ``np.divmod(x1, x2) = (floor_divide, remainder)`` in ``x1`` or ``x2``: the quotient is
    piecewise constant, the remainder has slopes 1 and ``-floor_divide(x1, x2)`` (as ``np.remainder``)."""
    primal = x1 if which == "x1" else x2
    part = None if g is None else g[1]
    if part is None:
        return _like(primal, np.zeros(np.shape(primal)))
    slope = 1.0 if which == "x1" else -np.floor_divide(x1, x2)
    return _like(primal, _sum_to_shape(np.asarray(part, dtype=np.float64) * slope, np.shape(primal)))


def divmod_tangent(t, x1, x2, which="x1"):
    """Tangent of ``np.divmod(x1, x2)`` in ``x1`` or ``x2``: ``(0, t * slope of the remainder)``."""
    slope = 1.0 if which == "x1" else -np.floor_divide(x1, x2)
    remainder = np.asarray(t, dtype=np.float64) * slope
    shape = np.broadcast_shapes(np.shape(x1), np.shape(x2))
    return (np.zeros(shape), np.array(np.broadcast_to(remainder, shape)))
