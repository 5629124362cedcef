"""Second derivatives through the runtime helpers of the ``scipy.special``, ``scipy.stats`` and ``np.i0`` rules.

The cases of ``test_second_derivatives.py`` differentiate a rule in its first float argument, which for
``betainc(a, b, x)``, ``boxcox(x, lmbda)`` or ``poisson.logpmf(k, mu)`` does not reach the helper these tests are
about. Each case here is ``s(v) = sum(W * f(v))`` for the argument that does, checked against central differences
of ``grad(s)`` three ways (forward over reverse, reverse over reverse, reverse over forward).
"""
import warnings

import numpy as np
import pytest
import scipy.special as special
import scipy.stats as stats

import sourcediff
from sourcediff.errors import SourcediffError

from .second_order import WAYS, fd_hvp, hvp

W4 = np.array([0.7, -1.3, 0.4, 1.1])
W3 = np.array([0.9, -0.6, 1.4])
A4 = np.array([0.8, 1.5, 2.5, 3.0])
B4 = np.array([2.0, 0.9, 1.7, 3.5])
POSITIVE4 = np.array([0.4, 1.3, 2.2, 3.9])
COUNTS4 = np.array([0.0, 1.0, 3.0, 5.0])


def betainc_x(x):
    return np.sum(W4 * special.betainc(A4, B4, x))


def gammainc_x(x):
    return np.sum(W4 * special.gammainc(A4, x))


def gammaincc_x(x):
    return np.sum(W4 * special.gammaincc(A4, x))


def rgamma_x(x):
    return np.sum(W4 * special.rgamma(x))


def spence_z(z):
    return np.sum(W4 * special.spence(z))


def zeta_x(x):
    return np.sum(W4 * special.zeta(x))


def hurwitz_zeta_x(x):
    return np.sum(W4 * special.zeta(x, B4))


def boxcox_lmbda(lmbda):
    return np.sum(W4 * special.boxcox(POSITIVE4, lmbda))


def boxcox1p_lmbda(lmbda):
    return np.sum(W4 * special.boxcox1p(POSITIVE4, lmbda))


def i0_x(x):
    return np.sum(W4 * np.i0(x))


def norm_logcdf_x(x):
    return np.sum(W4 * stats.norm.logcdf(x, 0.2, 1.3))


def norm_cdf_x(x):
    return np.sum(W4 * stats.norm.cdf(x, 0.2, 1.3))


def t_logsf_x(x):
    return np.sum(W4 * stats.t.logsf(x, 3.5, 0.1, 1.2))


def gamma_logpdf_x(x):
    return np.sum(W4 * stats.gamma.logpdf(x, 2.5, 0.0, 1.3))


def gamma_logpdf_a(a):
    return np.sum(W4 * stats.gamma.logpdf(POSITIVE4, a, 0.0, 1.3))


def gamma_logpdf_scale(scale):
    return np.sum(W4 * stats.gamma.logpdf(POSITIVE4, 2.5, 0.1, scale))


def gamma_logcdf_x(x):
    return np.sum(W4 * stats.gamma.logcdf(x, 2.5, 0.0, 1.3))


def beta_logpdf_x(x):
    return np.sum(W4 * stats.beta.logpdf(x, 2.5, 1.7))


def beta_logpdf_b(b):
    return np.sum(W4 * stats.beta.logpdf(np.array([0.1, 0.3, 0.6, 0.85]), 2.5, b))


def beta_logpdf_scale(scale):
    return np.sum(W4 * stats.beta.logpdf(np.array([0.1, 0.3, 0.6, 0.85]), 2.5, 1.7, -0.05, scale))


def beta_logsf_x(x):
    return np.sum(W4 * stats.beta.logsf(x, 2.5, 1.7))


def poisson_logpmf_mu(mu):
    return np.sum(W4 * stats.poisson.logpmf(COUNTS4, mu))


def poisson_logcdf_mu(mu):
    return np.sum(W3 * stats.poisson.logcdf(np.array([2.5, 0.0, 6.7]), mu))


def boxcox_both(p):
    return np.sum(W4 * special.boxcox(p[:4], p[4:]))


def zeta_both(p):
    return np.sum(W3 * special.zeta(p[:3], p[3:]))


def gamma_logpdf_all(p):
    return np.sum(W4 * stats.gamma.logpdf(p[:4], p[4], p[5], p[6]))


def beta_logpdf_all(p):
    return np.sum(W4 * stats.beta.logpdf(p[:4], p[4], p[5], p[6], p[7]))


def t_logcdf_all(p):
    return np.sum(W4 * stats.t.logcdf(p[:4], 3.5, p[4], p[5]))


def beta_cdf_all(p):
    return np.sum(W4 * stats.beta.cdf(p[:4], 2.5, 1.7, p[4], p[5]))


def i0_scalar(x):
    return np.i0(x) * 1.7


def rgamma_scalar(x):
    return special.rgamma(x) * 1.7


def spence_scalar(z):
    return special.spence(z) * 1.7


def zeta_scalar(x):
    return special.zeta(x) * 1.7


def hurwitz_zeta_scalar(p):
    return special.zeta(p[0], p[1]) * 1.7


def poisson_pmf_scalar(mu):
    return stats.poisson.pmf(3, mu) * 1.7


CASES = [
    (boxcox_both, np.array([0.4, 1.3, 2.2, 3.9, -0.8, 0.05, 0.6, 1.9])),
    (zeta_both, np.array([1.5, 2.2, 3.0, 0.7, 1.4, 2.6])),
    (gamma_logpdf_all, np.array([0.9, 1.2, 2.0, 3.7, 2.5, 0.1, 1.3])),
    (beta_logpdf_all, np.array([0.1, 0.3, 0.6, 0.85, 2.5, 1.7, -0.05, 1.1])),
    (t_logcdf_all, np.array([-2.0, -0.3, 0.4, 2.5, 0.1, 1.2])),
    (beta_cdf_all, np.array([0.1, 0.3, 0.6, 0.85, -0.05, 1.1])),
    (i0_scalar, 2.5),
    (i0_scalar, -43.0),
    (rgamma_scalar, -3.0),
    (rgamma_scalar, 1.3),
    (spence_scalar, 1.0),
    (zeta_scalar, 2.5),  # reverse over reverse once crashed here, in sd.add_at on a NumPy scalar adjoint
    (hurwitz_zeta_scalar, np.array([2.5, 0.7])),
    (poisson_pmf_scalar, 2.2),
    (betainc_x, np.array([0.15, 0.4, 0.6, 0.85])),
    (gammainc_x, np.array([0.3, 1.2, 2.0, 3.7])),
    (gammaincc_x, np.array([0.3, 1.2, 2.0, 3.7])),
    (rgamma_x, np.array([-2.7, -0.4, 0.6, 3.2])),
    (rgamma_x, np.array([0.0, -1.0, -2.0, -3.0])),  # the poles of Gamma, where rgamma_slope takes its limit
    (spence_z, np.array([0.3, 0.9, 1.6, 2.8])),
    (spence_z, np.array([0.5, 1.0, 1.0, 2.0])),  # z = 1, where the slope takes its limit
    (zeta_x, np.array([1.5, 2.2, 3.0, 4.5])),
    (zeta_x, np.array([-0.8, 0.2, 0.5, 0.9])),
    (hurwitz_zeta_x, np.array([1.5, 2.2, 3.0, 4.5])),
    (boxcox_lmbda, np.array([-0.8, 0.05, 0.6, 1.9])),
    (boxcox_lmbda, np.array([0.0, 1e-9, -0.1, 0.1])),  # the series near lmbda log x = 0
    (boxcox1p_lmbda, np.array([-0.8, 0.05, 0.6, 1.9])),
    (i0_x, np.array([-3.0, 0.5, 12.0, 39.0])),
    (i0_x, np.array([-45.0, 41.0, 50.0, 0.0])),  # beyond |x| = 40, Hankel's expansion
    (norm_logcdf_x, np.array([-2.0, -0.3, 0.4, 2.5])),
    (norm_cdf_x, np.array([-2.0, -0.3, 0.4, 2.5])),
    (t_logsf_x, np.array([-2.0, -0.3, 0.4, 2.5])),
    (gamma_logpdf_x, np.array([0.3, 1.2, 2.0, 3.7])),
    (gamma_logpdf_a, np.array([0.8, 1.5, 2.5, 3.0])),
    (gamma_logpdf_scale, np.array([0.9, 1.1, 1.3, 2.0])),
    (gamma_logcdf_x, np.array([0.3, 1.2, 2.0, 3.7])),
    (beta_logpdf_x, np.array([0.15, 0.4, 0.6, 0.85])),
    (beta_logpdf_b, np.array([0.9, 1.5, 2.2, 3.0])),
    (beta_logpdf_scale, np.array([0.95, 1.1, 1.3, 2.0])),
    (beta_logsf_x, np.array([0.15, 0.4, 0.6, 0.85])),
    (poisson_logpmf_mu, np.array([0.5, 1.4, 2.6, 3.9])),
    (poisson_logcdf_mu, np.array([0.7, 1.9, 3.1])),
]


def _ids():
    seen = {}
    out = []
    for f, _ in CASES:
        seen[f.__name__] = seen.get(f.__name__, 0) + 1
        out.append(f"{f.__name__}-{seen[f.__name__]}")
    return out


@pytest.mark.parametrize("scalar,x", CASES, ids=_ids())
def test_second_derivative_through_the_helper(scalar, x):
    rng = np.random.default_rng(11)
    v = float(rng.standard_normal()) if type(x) is float else rng.standard_normal(x.shape)
    gradient = sourcediff.grad(scalar)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fd_hvp(gradient, x, v)
    assert np.all(np.isfinite(expected))
    scale = max(1.0, float(np.max(np.abs(expected))))
    checked, refused = [], []
    for way in WAYS:
        try:
            got = np.asarray(hvp(way, scalar, x, v), dtype=float)
        except SourcediffError as exc:
            refused.append(f"{way}: {str(exc).splitlines()[0]}")
            continue
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=way)
        checked.append(way)
    assert checked, "; ".join(refused)
    assert not refused, "; ".join(refused)
