"""Runtime helpers of the ``scipy.stats`` rules (``rules/scipy/stats.py``).

``import sourcediff`` imports this module but must not import SciPy: the
helpers read ``scipy.stats`` and ``scipy.special`` through ``LazyModule`` objects,
which import them on first use, which only happens in the derivative of code that called ``scipy.stats``. The
score helpers (``*_score``) give the slope of a log density in one parameter,
0 outside the support, where the log density is the constant ``-inf``.
"""
from __future__ import annotations

import numpy as np

from .base import LazyModule
from .numpy_array_ops import _like, _sum_to_shape
from .numpy_linalg_ops import _onto_triangle, _symmetric_from

__all__ = [
    "distribution_logpdf", "density_ratio", "t_score_df", "gamma_score", "beta_score", "poisson_score",
    "poisson_floor_logpmf", "mvn_logpdf_adjoint", "mvn_logpdf_tangent", "dirichlet_logpdf_adjoint",
    "dirichlet_logpdf_tangent",
]

scipy_special = LazyModule("scipy.special")  # SciPy loads on first use
scipy_stats = LazyModule("scipy.stats")  # SciPy loads on first use


def _refuse(message: str, hint: str) -> None:
    from sourcediff.errors import SourcediffError

    raise SourcediffError(message, hint=hint)


def _out(x):
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


def distribution_logpdf(name, x, first, second, third=None, fourth=None):
    """``scipy.stats.<name>.logpdf(x, first, second, ...)`` for the families whose cdf has a rule (``norm``, ``t``,
    ``gamma``, ``beta``): the log density, whose exponential is the slope of the cdf."""
    if name == "norm":
        return scipy_stats.norm.logpdf(x, first, second)
    if name == "t":
        return scipy_stats.t.logpdf(x, first, second, third)
    if name == "gamma":
        return scipy_stats.gamma.logpdf(x, first, second, third)
    return scipy_stats.beta.logpdf(x, first, second, third, fourth)


def density_ratio(log_density, log_value):
    """``exp(log_density - log_value)`` (the slope of a log cdf or log sf: density over cdf), 0 where the density
    is 0, also where the cdf is 0 too (outside the support the log cdf is the constant ``-inf``)."""
    log_density, log_value = np.broadcast_arrays(np.asarray(log_density, dtype=np.float64),
                                                 np.asarray(log_value, dtype=np.float64))
    zero = log_density == -np.inf
    out = np.where(zero, 0.0, np.exp(np.where(zero, 0.0, log_density) - log_value))
    return _out(out)


def t_score_df(x, df, loc=0.0, scale=1.0):
    """Slope of ``t.logpdf`` in ``df``: ``(psi((df+1)/2) - psi(df/2) - 1/df - log(1 + z^2/df)) / 2
    + (df+1) z^2 / (2 df (df + z^2))`` with ``z = (x - loc) / scale``."""
    z2 = ((np.asarray(x, dtype=np.float64) - loc) / scale) ** 2
    df = np.asarray(df, dtype=np.float64)
    return _out((scipy_special.digamma((df + 1) / 2) - scipy_special.digamma(df / 2) - 1 / df - np.log1p(z2 / df)) / 2
                + (df + 1) * z2 / (2 * df * (df + z2)))


def _standard(x, loc, scale):
    return (np.asarray(x, dtype=np.float64) - loc) / scale


def gamma_score(x, a, loc, scale, wrt):
    """Slope of ``gamma.logpdf(x, a, loc, scale)`` in ``wrt``: with ``z = (x - loc) / scale``, in ``x``
    ``((a - 1) / z - 1) / scale`` (``loc``: the opposite), in ``scale`` ``(z - a) / scale``, in ``a``
    ``log z - psi(a)``; 0 where ``z <= 0``."""
    z = _standard(x, loc, scale)
    inside = z > 0
    z = np.where(inside, z, 1.0)
    a = np.asarray(a, dtype=np.float64)
    if wrt == "x":
        slope = ((a - 1) / z - 1) / scale
    elif wrt == "loc":
        slope = -((a - 1) / z - 1) / scale
    elif wrt == "scale":
        slope = (z - a) / scale
    else:
        slope = np.log(z) - scipy_special.digamma(a)
    return _out(np.where(inside, slope, 0.0))


def beta_score(x, a, b, loc, scale, wrt):
    """Slope of ``beta.logpdf(x, a, b, loc, scale)`` in ``wrt``: with ``z = (x - loc) / scale``, in ``x``
    ``((a - 1) / z - (b - 1) / (1 - z)) / scale`` (``loc``: the opposite), in ``scale`` ``-z`` times that
    ``- 1 / scale``, in ``a`` ``log z - psi(a) + psi(a + b)``, in ``b`` ``log(1 - z) - psi(b) + psi(a + b)``;
    0 where ``z`` is outside ``(0, 1)``."""
    z = _standard(x, loc, scale)
    inside = np.logical_and(z > 0, z < 1)
    z = np.where(inside, z, 0.5)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if wrt == "a":
        slope = np.log(z) - scipy_special.digamma(a) + scipy_special.digamma(a + b)
    elif wrt == "b":
        slope = np.log1p(-z) - scipy_special.digamma(b) + scipy_special.digamma(a + b)
    else:
        in_x = ((a - 1) / z - (b - 1) / (1 - z)) / scale
        if wrt == "x":
            slope = in_x
        elif wrt == "loc":
            slope = -in_x
        else:
            slope = -in_x * z - 1 / scale
    return _out(np.where(inside, slope, 0.0))


def poisson_score(k, mu, loc=0):
    """Slope of ``poisson.logpmf(k, mu, loc)`` in ``mu``: ``(k - loc) / mu - 1``, 0 where ``k - loc`` is not a
    count (the log pmf is the constant ``-inf`` there)."""
    m = np.asarray(k, dtype=np.float64) - loc
    # computed here: a mask returned in a pair with m would be taken to carry m's slope
    valid = np.logical_and(m >= 0, m == np.floor(m))
    mu = np.asarray(mu, dtype=np.float64)
    slope = np.where(m == 0, 0.0, m / np.where(m == 0, 1.0, mu)) - 1
    return _out(np.where(valid, slope, 0.0))


def poisson_floor_logpmf(k, mu, loc=0):
    """``log pmf(floor(k - loc), mu)``: the slope of ``poisson.cdf`` in ``mu`` is ``-pmf(floor(k - loc), mu)``
    (a sum of pmfs whose slopes telescope), of ``sf`` its opposite; ``-inf`` where ``k - loc < 0``."""
    m = np.floor(np.asarray(k, dtype=np.float64) - loc)
    return _out(np.where(m >= 0, scipy_stats.poisson.logpmf(np.maximum(m, 0), mu), -np.inf))


# -- multivariate normal -------------------------------------------------------------------------------------------

def _mvn_parts(x, mean, cov, allow_singular):
    """What ``multivariate_normal.logpdf`` works with: the points ``(..., d)``, the mean ``(d,)``, the covariance
    read from the lower triangle (``eigh(cov, lower=True)``), its inverse applied to the deviations, and ``dim``."""
    if isinstance(cov, scipy_stats.Covariance):
        _refuse("scipy.stats.multivariate_normal with a Covariance object has no derivative rule",
                "pass the covariance matrix as an array")
    cov_in = np.asarray(cov, dtype=np.float64)
    if mean is None:
        dim = 1 if cov_in.ndim < 2 else cov_in.shape[0]
        mean_vec = np.zeros(dim)
    else:
        mean_vec = np.asarray(mean, dtype=np.float64).reshape(-1)
        dim = mean_vec.size
    if dim == 1:
        full = cov_in.reshape(1, 1)
    elif cov_in.ndim == 0:
        full = cov_in * np.eye(dim)
    elif cov_in.ndim == 1:
        full = np.diag(cov_in)
    else:
        full = _symmetric_from(cov_in, True)
    points = np.asarray(x, dtype=np.float64)
    if points.ndim == 0:
        points = points[None]
    elif points.ndim == 1:
        points = points[:, None] if dim == 1 else points[None, :]
    spectrum = np.linalg.eigvalsh(full)
    eps = 1e6 * np.finfo(np.float64).eps * np.max(np.abs(spectrum))
    if np.min(spectrum) <= eps:
        _refuse("scipy.stats.multivariate_normal with a singular covariance has no derivative rule (its density "
                "lives on a subspace, and jumps where the rank changes)",
                "use a positive definite covariance (add a small multiple of the identity)")
    solved = np.linalg.solve(full, (points - mean_vec)[..., None])[..., 0]
    return points, mean_vec, full, solved, dim


def _cov_tangent(t, cov, dim):
    """The tangent of the full covariance matrix that ``multivariate_normal`` builds from ``cov``."""
    t = np.asarray(t, dtype=np.float64)
    if dim == 1:
        return t.reshape(1, 1)
    if np.ndim(cov) == 0:
        return t * np.eye(dim)
    if np.ndim(cov) == 1:
        return np.diag(t)
    return _symmetric_from(t, True)


def _cov_adjoint(g, cov, dim):
    """The transpose of :func:`_cov_tangent`: the adjoint of the full matrix back onto ``cov``."""
    if dim == 1:
        return g.reshape(np.shape(cov))
    if np.ndim(cov) == 0:
        return np.trace(g)
    if np.ndim(cov) == 1:
        return np.diagonal(g).copy()
    return _onto_triangle(g, True)


def mvn_logpdf_tangent(t, x, mean, cov, allow_singular, wrt):
    """Tangent of ``multivariate_normal.logpdf`` from the tangent ``t`` of ``wrt`` (``'x'``, ``'mean'``, ``'cov'``):
    with ``s = cov^-1 (x - mean)``, ``-s . dx``, ``s . dmean``, ``(s^T dcov s - tr(cov^-1 dcov)) / 2``."""
    points, mean_vec, full, solved, dim = _mvn_parts(x, mean, cov, allow_singular)
    if wrt == "x":
        dx = np.asarray(t, dtype=np.float64).reshape(points.shape)
        out = -np.sum(solved * dx, axis=-1)
    elif wrt == "mean":
        out = np.sum(solved * np.asarray(t, dtype=np.float64).reshape(-1), axis=-1)
    else:
        dcov = _cov_tangent(t, cov, dim)
        out = 0.5 * np.einsum("...i,ij,...j->...", solved, dcov, solved) \
            - 0.5 * np.trace(np.linalg.solve(full, dcov))
    return _out(out.squeeze())


def mvn_logpdf_adjoint(g, x, mean, cov, allow_singular, wrt):
    """Adjoint of ``multivariate_normal.logpdf`` in ``wrt``, the transpose of :func:`mvn_logpdf_tangent`; the
    adjoint of a 2-D ``cov`` lies in its lower triangle, the one SciPy reads."""
    points, mean_vec, full, solved, _ = _mvn_parts(x, mean, cov, allow_singular)
    dim = full.shape[0]  # read off an array: an int unpacked with arrays would be taken for varied
    g = np.asarray(g, dtype=np.float64).reshape(points.shape[:-1])
    if wrt == "x":
        return _like(x, (-g[..., None] * solved).reshape(np.shape(x)))
    if wrt == "mean":
        return _like(mean, np.sum(g[..., None] * solved, axis=tuple(range(solved.ndim - 1))).reshape(np.shape(mean)))
    flat = solved.reshape(-1, dim)
    outer = (g.reshape(-1, 1) * flat).T @ flat
    full_adjoint = 0.5 * outer - 0.5 * np.sum(g) * np.linalg.inv(full)
    return _like(cov, _cov_adjoint(full_adjoint, cov, dim))


# -- Dirichlet -----------------------------------------------------------------------------------------------------

def _dirichlet_parts(x, alpha):
    """``(full x, alpha, whether the last component was implied)``: ``x`` holds the components along its first
    axis, all ``K`` or the first ``K - 1`` (the last is then ``1 - sum``)."""
    alpha = np.asarray(alpha, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    implied = x.shape[0] != alpha.shape[0]
    if implied:
        x = np.concatenate([x, (1 - np.sum(x, 0))[None]], axis=0)
    return x, alpha, implied


def _dirichlet_x_slope(full, alpha):
    """``(alpha_i - 1) / x_i`` along the first axis, 0 where ``alpha_i == 1`` (``xlogy(0, x)`` is 0 for every x);
    at ``x_i == 0`` the infinity of that quotient, signed as the division would sign it (no warning)."""
    a1 = (alpha - 1).reshape((-1,) + (1,) * (full.ndim - 1))
    fixed = a1 == 0
    zero = full == 0
    same_sign = np.signbit(a1) == np.signbit(full)  # a1 / 0.0 (or -0.0) is +inf where the signs agree
    at_zero = np.where(np.isnan(a1), np.nan, np.where(same_sign, np.inf, -np.inf))
    return np.where(fixed, 0.0, np.where(zero, at_zero, np.where(fixed, 0.0, a1) / np.where(zero, 1.0, full)))


def _dirichlet_alpha_slope(full, alpha):
    shape = (-1,) + (1,) * (full.ndim - 1)
    zero = full == 0
    log_full = np.where(zero, -np.inf, np.log(np.where(zero, 1.0, full)))
    return log_full - scipy_special.digamma(alpha).reshape(shape) + scipy_special.digamma(np.sum(alpha))


def dirichlet_logpdf_tangent(t, x, alpha, wrt):
    """Tangent of ``dirichlet.logpdf`` from the tangent ``t`` of ``wrt`` (``'x'`` or ``'alpha'``): the sums over
    the components of ``(alpha_i - 1) / x_i dx_i`` (the implied last component moves by ``-sum dx``), or of
    ``(log x_i - psi(alpha_i) + psi(sum alpha)) dalpha_i``."""
    full, alpha, implied = _dirichlet_parts(x, alpha)
    t = np.asarray(t, dtype=np.float64)
    if wrt == "x":
        if implied:
            t = np.concatenate([t, -np.sum(t, 0)[None]], axis=0)
        out = np.sum(_dirichlet_x_slope(full, alpha) * t, axis=0)
    else:
        out = np.sum(_dirichlet_alpha_slope(full, alpha) * t.reshape((-1,) + (1,) * (full.ndim - 1)), axis=0)
    return _out(np.asarray(out).squeeze())


def dirichlet_logpdf_adjoint(g, x, alpha, wrt):
    """Adjoint of ``dirichlet.logpdf`` in ``wrt``, the transpose of :func:`dirichlet_logpdf_tangent`."""
    full, alpha, implied = _dirichlet_parts(x, alpha)
    g = np.asarray(g, dtype=np.float64).reshape(full.shape[1:])
    if wrt == "x":
        out = g * _dirichlet_x_slope(full, alpha)
        if implied:
            out = out[:-1] - out[-1:]
        return _like(x, out.reshape(np.shape(x)))
    out = _sum_to_shape(g * _dirichlet_alpha_slope(full, alpha), full.shape[:1] + (1,) * (full.ndim - 1))
    return _like(alpha, out.reshape(np.shape(alpha)))
