"""NumPy runtime helpers used by the elementwise and operator rules (``pow``, ``hypot``).

Each works on Python scalars and on arrays, and keeps a fast path for scalars.
"""
from __future__ import annotations

import math

import numpy as np

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
