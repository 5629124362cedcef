"""NumPy runtime helpers used by the elementwise and operator rules (``pow``, ``@``).

Each works on Python scalars and on arrays, and keeps a fast path for scalars.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["power_rule", "xlogy", "norm_slope", "matmul_lhs_adjoint", "matmul_rhs_adjoint"]

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


def _sum_to_shape(x, shape):
    """Sum the broadcast (stacked) leading axes of ``x`` away, down to ``shape``."""
    extra = np.ndim(x) - len(shape)
    if extra > 0:
        x = np.sum(x, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(x)[i] != 1)
    if axes:
        x = np.sum(x, axis=axes, keepdims=True)
    return x


def matmul_lhs_adjoint(g, a, b):
    """Adjoint of ``a`` in ``a @ b``, where either operand may be 1-D or stacked."""
    a_ndim, b_ndim = np.ndim(a), np.ndim(b)
    if a_ndim == 1 and b_ndim == 1:  # inner product: g is a scalar
        return g * b
    if b_ndim == 1:  # (..., k, n) @ (n,) -> (..., k)
        out = np.multiply.outer(g, b)
    elif a_ndim == 1:  # (n,) @ (..., n, m) -> (..., m)
        out = np.matmul(b, np.expand_dims(g, -1))[..., 0]
    else:
        out = np.matmul(g, np.swapaxes(b, -1, -2))
    return _sum_to_shape(out, np.shape(a))


def matmul_rhs_adjoint(g, a, b):
    """Adjoint of ``b`` in ``a @ b``, where either operand may be 1-D or stacked."""
    a_ndim, b_ndim = np.ndim(a), np.ndim(b)
    if a_ndim == 1 and b_ndim == 1:
        return g * a
    if a_ndim == 1:  # (n,) @ (..., n, m) -> (..., m)
        out = np.multiply.outer(a, g) if np.ndim(g) == 1 else a[:, None] * np.expand_dims(g, -2)
    elif b_ndim == 1:  # (..., k, n) @ (n,) -> (..., k)
        out = np.matmul(np.swapaxes(a, -1, -2), np.expand_dims(g, -1))[..., 0]
    else:
        out = np.matmul(np.swapaxes(a, -1, -2), g)
    return _sum_to_shape(out, np.shape(b))
