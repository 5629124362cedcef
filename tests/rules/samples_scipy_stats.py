"""Samples of the ``scipy.stats`` rules (``rules/scipy/stats.py``) for ``check_rule``; ``rule_samples.py`` adds them
to ``SAMPLES`` when SciPy is installed (``_scipy_samples``). The keys are bound methods (``stats.norm.logpdf``).

Points lie inside each support, except in the samples of ``pdf``, ``cdf``, ``sf`` and ``logsf``, which also take
points below it (there the function is a constant, 0 or 1 or 0 in log, and its slope 0; a log density or log cdf
is ``-inf`` there, where finite differences give NaN). ``dirichlet`` takes its ``K - 1`` free components: with all
``K``, SciPy refuses any point off the simplex, which a finite difference in a random direction leaves
(``tests/rules/scipy/test_stats.py`` checks that form along the simplex).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.stats as stats

from sourcediff.rules import registry

registry.load_lazy_rules()


def _draw(x: Any, rng: np.random.Generator) -> Any:
    return x(rng) if callable(x) and not isinstance(x, type) else x


def S(*args: Any, **kwargs: Any) -> Callable:
    return lambda rng: ([_draw(a, rng) for a in args], {k: _draw(v, rng) for k, v in kwargs.items()})


def N(*shape: int) -> Callable:
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


def U(low: float, high: float, *shape: int) -> Callable:
    return lambda rng: rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def SPD(n: int) -> Callable:
    """A covariance: symmetric positive definite, with junk above the diagonal (SciPy reads the lower triangle)."""
    def make(rng):
        x = rng.standard_normal((n, n))
        return x @ x.T / n + np.eye(n) + np.triu(rng.standard_normal((n, n)), 1)
    return make


def simplex_head(k: int, *points: int) -> Callable:
    """The first ``k - 1`` components of points of the ``k``-simplex, along the first axis, away from its faces."""
    def make(rng):
        w = rng.uniform(0.5, 1.5, (k, *points))
        return (w / w.sum(axis=0))[:-1]
    return make


def _location_scale(x, *shape_params, outside=None):
    """Samples of a location-scale family: its own parameters drawn by ``shape_params``, points by ``x``."""
    found = [S(x(4), *[p() for p in shape_params]),
             S(x(4), *[p(4) for p in shape_params], U(-0.05, 0.05), U(0.9, 1.2)),
             S(x(2, 3), *[p(3) for p in shape_params], loc=U(-0.05, 0.05, 2, 1), scale=U(0.9, 1.2)),
             S(x(), *[p() for p in shape_params], scale=U(0.9, 1.2, 3))]
    if outside is not None:
        found.append(S(np.asarray(outside), *[p() for p in shape_params]))
    return found


_SHAPES = {
    "norm": (lambda *s: N(*s), ()),
    "t": (lambda *s: N(*s), (lambda *s: U(1.5, 6.0, *s),)),
    "gamma": (lambda *s: U(0.3, 4.0, *s), (lambda *s: U(0.8, 3.0, *s),)),
    "beta": (lambda *s: U(0.1, 0.85, *s), (lambda *s: U(0.8, 3.0, *s), lambda *s: U(0.8, 3.0, *s))),
}
_OUTSIDE = {"gamma": [-1.0, 0.5, 2.0], "beta": [-0.5, 0.3, 1.5]}

SCIPY_STATS_SAMPLES: dict[Any, list] = {}
for _name, (_x, _params) in _SHAPES.items():
    _distribution = getattr(stats, _name)
    for _method in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"):
        _outside = _OUTSIDE.get(_name) if _method in ("pdf", "cdf", "sf") else None
        if _method == "logsf" and _name in _OUTSIDE:  # below the support only: above it, sf is 0, logsf -inf
            _outside = [v for v in _OUTSIDE[_name] if v < 0]
        SCIPY_STATS_SAMPLES[getattr(_distribution, _method)] = _location_scale(_x, *_params, outside=_outside)

_MVN = [S(N(3), N(3), SPD(3)), S(N(5, 3), N(3), SPD(3)), S(N(4), N(), U(0.5, 2.0)), S(N(2, 3), N(3), U(0.5, 2.0, 3)),
        S(N(2, 3), N(3), 1.5), S(N(3), cov=SPD(3)), S(N(3), N(3), SPD(3), allow_singular=True),
        S(N(2, 2, 3), mean=N(3), cov=SPD(3)), S(N(), N(1), np.array([[1.5]]))]
SCIPY_STATS_SAMPLES[stats.multivariate_normal.logpdf] = _MVN
SCIPY_STATS_SAMPLES[stats.multivariate_normal.pdf] = _MVN

_DIRICHLET = [S(simplex_head(3), U(0.5, 3.0, 3)), S(simplex_head(4, 5), U(0.5, 3.0, 4)),
              S(simplex_head(3), np.array([1.0, 2.0, 0.7]))]
SCIPY_STATS_SAMPLES[stats.dirichlet.logpdf] = _DIRICHLET
SCIPY_STATS_SAMPLES[stats.dirichlet.pdf] = _DIRICHLET

_COUNTS = [S(np.array([0, 1, 3, 5]), U(0.5, 4.0)), S(np.array([[0, 2], [3, 7]]), U(0.5, 4.0, 2)), S(3, U(1.0, 4.0)),
           S(np.array([2, 3, 5]), U(1.0, 3.0), 1), S(np.array([2.0, 4.0]), U(1.0, 3.0, 2), loc=0)]
SCIPY_STATS_SAMPLES[stats.poisson.logpmf] = _COUNTS
# pmf is 0 at a k that is not a count (and logpmf -inf): a slope of 0
SCIPY_STATS_SAMPLES[stats.poisson.pmf] = _COUNTS + [S(np.array([0.5, 2.0, -1.0]), U(1.0, 3.0))]
for _method in ("cdf", "sf", "logcdf", "logsf"):
    SCIPY_STATS_SAMPLES[getattr(stats.poisson, _method)] = _COUNTS + [S(np.array([2.5, 0.0, 6.7]), U(1.0, 3.0))] + (
        [S(np.array([-1.0, 2.0]), U(1.0, 3.0))] if _method in ("cdf", "sf", "logsf") else [])
