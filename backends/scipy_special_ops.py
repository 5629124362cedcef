"""Runtime helpers of the ``scipy.special`` rules (``rules/scipy/special.py``).

``import sourcediff`` imports this module but must not import SciPy: each
helper reads it through ``scipy_special`` (a ``LazyModule``), which imports it
on first use, which only happens in the
derivative of code that called a ``scipy.special`` function (so SciPy is
already loaded). Every helper works on Python numbers and on arrays.
"""
from __future__ import annotations

import numpy as np

from .base import LazyModule
from .numpy_array_ops import _axes, _expand, _float, _like

__all__ = [
    "polygamma", "bessel_iv", "bessel_ive", "bessel_jv", "bessel_yv", "bessel_kv", "hurwitz_zeta", "zeta_slope",
    "xdivy", "logsumexp_adjoint", "logsumexp_tangent",
    "bessel_kve", "expit", "betainc_slope", "gammainc_slope", "multigammaln_slope", "rgamma_slope",
    "boxcox_lmbda_slope", "spence_slope",
]

scipy_special = LazyModule("scipy.special")  # SciPy loads on first use


def polygamma(n, x):
    """The ``n``-th derivative of the digamma function (``n = 0``: digamma itself), ``inf``/nan at its poles."""
    return scipy_special.polygamma(n, x)


def bessel_iv(v, x):
    """The modified Bessel function of the first kind, ``I_v(x)``."""
    return scipy_special.iv(v, x)


def bessel_ive(v, x):
    """``I_v(x) * exp(-|x|)``."""
    return scipy_special.ive(v, x)


def bessel_jv(v, x):
    """The Bessel function of the first kind, ``J_v(x)``."""
    return scipy_special.jv(v, x)


def bessel_yv(v, x):
    """The Bessel function of the second kind, ``Y_v(x)``."""
    return scipy_special.yv(v, x)


def bessel_kv(v, x):
    """The modified Bessel function of the second kind, ``K_v(x)``."""
    return scipy_special.kv(v, x)


def hurwitz_zeta(x, q):
    """``zeta(x, q) = sum_k (k + q)**-x``."""
    return scipy_special.zeta(x, q)


# B_2j / (2j)! for j = 1..8, the Euler-Maclaurin coefficients.
_EM_COEFFICIENTS = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160, -691 / 1307674368000,
                    1 / 74724249600, -3617 / 10670622842880000)
_EM_TERMS = 20


def zeta_slope(x, q=None):
    """``d zeta(x, q) / dx = -sum_k log(k + q) (k + q)**-x`` (``q = None``: 1, Riemann's zeta).

    By Euler-Maclaurin, differentiated term by term in ``x``: the first 20
    terms of the sum directly, then with ``w = 20 + q`` the tail
    ``w**(1-x) / (x-1) + w**-x / 2 + sum_j B_2j / (2j)! x (x+1) ... (x+2j-2) w**(1-x-2j)``.
    That is the analytic continuation too, so it holds for ``x < 1`` (where
    ``q = None``); ``-inf`` at the pole ``x == 1``; nan where ``q < 0`` (a power of a negative base has no
    real slope in its exponent), ``inf`` at ``q == 0``.
    """
    x = np.asarray(x, dtype=float)
    q = np.ones_like(x) if q is None else np.asarray(q, dtype=float)
    x, q = np.broadcast_arrays(x, q)
    k = np.expand_dims(q, -1) + np.arange(_EM_TERMS)
    out = -np.sum(np.log(k) * k ** -np.expand_dims(x, -1), axis=-1)
    w = q + _EM_TERMS
    log_w = np.log(w)
    out = out - log_w * w ** (1 - x) / (x - 1) - w ** (1 - x) / (x - 1) ** 2 - log_w * w ** -x / 2
    rising, rising_slope = np.ones_like(x), np.zeros_like(x)  # x (x+1) ... (x+2j-2) and its slope in x
    for j, c in enumerate(_EM_COEFFICIENTS, start=1):
        for i in ((0,) if j == 1 else (2 * j - 3, 2 * j - 2)):
            rising_slope = rising_slope * (x + i) + rising
            rising = rising * (x + i)
        power = w ** (1 - x - 2 * j)
        out = out + c * power * (rising_slope - log_w * rising)
    return out[()] if out.ndim == 0 else out


def xdivy(x, y):
    """``x / y``, taken as 0 where ``x == 0`` (``y == 0`` too): the slope in ``y`` of ``x * log(y)``, which is
    constant (0) along ``x == 0``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    zero = x == 0
    out = np.where(zero, 0.0, x / np.where(zero, 1.0, y))
    return out[()] if out.ndim == 0 else out


def _weights(a, b, ans, axis, keepdims):
    """``exp(a - ans)`` over the broadcast shape of ``a`` and ``b`` (``ans`` given back its reduced axes). The
    reduced axes are ``_axes(axis, ndim)`` of its ``ndim``: returned with it, they would count as varied."""
    a = _float(a)
    if b is not None:
        a = np.broadcast_to(a, np.broadcast_shapes(a.shape, np.shape(b)))
    return np.exp(a - _expand(ans, a.ndim, _axes(axis, a.ndim), keepdims))


def _sum_to(x, shape):
    """``x`` summed down to ``shape`` (the inverse of broadcasting it there)."""
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    x = np.sum(x, axis=tuple(range(lead))) if lead else x
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    return np.sum(x, axis=kept, keepdims=True) if kept else x


def logsumexp_adjoint(g, a, b, ans, axis, keepdims, wrt):
    """Adjoint of ``logsumexp(a, axis, b, keepdims)`` for ``wrt`` (``'a'`` or ``'b'``).

    ``ans = log sum(b exp(a))`` over the axes: the slope in ``a`` is ``b exp(a - ans)`` (the softmax weights),
    in ``b`` ``exp(a - ans)``; each summed back to its argument's shape where ``a`` and ``b`` broadcast.
    """
    ratio = _weights(a, b, ans, axis, keepdims)
    axes = _axes(axis, ratio.ndim)
    out = _expand(g, ratio.ndim, axes, keepdims) * ratio
    if wrt == "a":
        out = out if b is None else out * b
        return _like(a, _sum_to(out, np.shape(a)))
    return _like(b, _sum_to(out, np.shape(b)))


def logsumexp_tangent(t, a, b, ans, axis, keepdims, wrt):
    """Tangent of ``logsumexp`` from the tangent ``t`` of ``wrt`` (``'a'`` or ``'b'``): the sum over the axes
    of ``t`` times the slope of :func:`logsumexp_adjoint`."""
    ratio = _weights(a, b, ans, axis, keepdims)
    axes = _axes(axis, ratio.ndim)
    slope = ratio * b if wrt == "a" and b is not None else ratio
    return np.sum(slope * t, axis=axes, keepdims=keepdims)


# -- the functions added with scipy.linalg, scipy.stats and scipy.signal ------------------------------------------

def bessel_kve(v, x):
    """``K_v(x) * exp(x)``."""
    return scipy_special.kve(v, x)


def expit(x):
    """The logistic function ``1 / (1 + exp(-x))``, the slope of ``softplus`` (accurate in both tails)."""
    return scipy_special.expit(x)


def betainc_slope(a, b, x):
    """Slope in ``x`` of the regularized incomplete beta function: ``x**(a-1) (1-x)**(b-1) / B(a, b)`` on
    ``[0, 1]``, 0 outside (where ``betainc`` is nan)."""
    x = np.asarray(x, dtype=float)
    inside = np.logical_and(x >= 0, x <= 1)
    xs = np.where(inside, x, 0.5)
    log_slope = (scipy_special.xlogy(np.asarray(a) - 1, xs) + scipy_special.xlog1py(np.asarray(b) - 1, -xs)
                 - scipy_special.betaln(a, b))
    out = np.where(inside, np.exp(log_slope), 0.0)
    return out[()] if out.ndim == 0 else out


def gammainc_slope(a, x):
    """Slope in ``x`` of the regularized lower incomplete gamma function: ``x**(a-1) exp(-x) / Gamma(a)`` for
    ``x >= 0``, 0 below (where ``gammainc`` is nan)."""
    x = np.asarray(x, dtype=float)
    inside = x >= 0
    xs = np.where(inside, x, 1.0)
    out = np.where(inside, np.exp(scipy_special.xlogy(np.asarray(a) - 1, xs) - xs - scipy_special.gammaln(a)), 0.0)
    return out[()] if out.ndim == 0 else out


def multigammaln_slope(a, d):
    """Slope in ``a`` of ``multigammaln(a, d) = d (d-1) / 4 log(pi) + sum_j gammaln(a + (1 - j) / 2)``:
    ``sum_{j=1..d} digamma(a + (1 - j) / 2)``."""
    a = np.asarray(a, dtype=float)
    out = sum(scipy_special.digamma(a + (1 - j) / 2) for j in range(1, int(d) + 1))
    return np.asarray(out)[()] if np.ndim(out) == 0 else out


def rgamma_slope(x):
    """Slope of ``1 / Gamma(x)``: ``-digamma(x) / Gamma(x)``; at the poles of Gamma, ``x = -n``, where ``1/Gamma`` is
    0, the limit ``(-1)**n n!``, as the slope of the reflection ``sin(pi x) Gamma(1 - x) / pi``, which is smooth
    there (so that this slope has the right slope too)."""
    x = np.asarray(x, dtype=float)
    pole = np.logical_and(x <= 0, x == np.floor(x))
    finite_pole = np.logical_and(pole, x > -np.inf)
    xp = np.where(finite_pole, x, 0.0)
    n = -np.floor(xp)  # -xp at a pole, held constant: d = xp + n is 0 there and moves with xp
    d = xp + n
    sign = np.where(np.remainder(n, 2.0) == 0, 1.0, -1.0)  # (-1)**n
    limit = sign * scipy_special.gamma(1 - xp) * (np.cos(np.pi * d)
                                                   - np.sin(np.pi * d) * scipy_special.digamma(1 - xp) / np.pi)
    out = np.where(pole, np.where(finite_pole, limit, np.inf),
                   -scipy_special.rgamma(x) * scipy_special.digamma(np.where(pole, 1.0, x)))
    return out[()] if out.ndim == 0 else out


def boxcox_lmbda_slope(log_x, lmbda):
    """Slope in ``lmbda`` of ``boxcox = expm1(lmbda L) / lmbda`` with ``L = log(x)`` (``log1p(x)`` for
    ``boxcox1p``): ``L**2 h(lmbda L)``, ``h(u) = (u e^u - e^u + 1) / u**2``, by its series
    ``sum_k (k + 1) u**k / (k + 2)!`` where ``|u| < 0.5`` (``L**2 / 2`` at ``lmbda = 0``)."""
    log_x, lmbda = np.broadcast_arrays(np.asarray(log_x, dtype=float), np.asarray(lmbda, dtype=float))
    u = lmbda * log_x
    small = np.abs(u) < 0.5
    series, term, factorial = np.zeros(u.shape), np.ones(u.shape), 2.0
    for k in range(18):
        series = series + (k + 1) * term / factorial
        term = term * u
        factorial *= k + 3
    safe = np.where(small, 1.0, u)
    direct = (safe * np.exp(safe) - np.expm1(safe)) / safe ** 2
    out = log_x ** 2 * np.where(small, series, direct)
    return out[()] if out.ndim == 0 else out


_SPENCE_TERMS = 10


def spence_slope(z):
    """Slope of ``spence(z) = integral from 1 to z of log(t) / (1 - t)``: ``log(z) / (1 - z)``; near ``z = 1``
    (where it is used at ``z == 1`` only) the series ``-sum_k (1 - z)**k / (k + 1)``, -1 at ``z = 1``, whose
    slopes are those of the function there."""
    z = np.asarray(z, dtype=float)
    one = z == 1
    v = 1 - np.where(one, z, 1.0)  # 1 - z at z == 1 (0, and its slope), 0 elsewhere
    series = 1.0 / _SPENCE_TERMS
    for k in range(_SPENCE_TERMS - 1, 0, -1):
        series = 1.0 / k + v * series
    zs = np.where(one, 2.0, z)
    out = np.where(one, -series, np.log(zs) / (1 - zs))
    return out[()] if out.ndim == 0 else out
