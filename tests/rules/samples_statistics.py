"""Samples of the statistics rules (``rules/numpy/statistics.py``) and of the elementwise and ``math`` rules
added with them, for ``sourcediff.testing.check_rule``; ``rule_samples.py`` adds them to ``SAMPLES``.

A sample draws ``(args, kwargs)`` from a random generator. Values keep away
from the kinks and ties the rules have (``remainder`` where ``x1 / x2`` is a
whole number, ``copysign`` at 0, equal values in an order statistic), so that
finite differences do not cross them, except where a sample says otherwise.
"""
from __future__ import annotations

import math

import numpy as np


def _normal(rng, *shape):
    return rng.standard_normal(shape) if shape else float(rng.standard_normal())


def _uniform(rng, low, high, *shape):
    return rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def _signed(rng, low, high, *shape):
    """Values whose magnitudes lie in ``[low, high]``, of either sign."""
    sign = rng.choice([-1.0, 1.0], size=shape) if shape else float(rng.choice([-1.0, 1.0]))
    return sign * _uniform(rng, low, high, *shape)


def _with_nans(rng, *shape):
    """Normal values with NaNs at two places (never a whole row or column of a 2-D sample)."""
    x = rng.standard_normal(shape)
    x.flat[1] = np.nan
    x.flat[-1] = np.nan
    return x


def _pairs(make1, make2):
    """A binary rule's samples: scalars, the same shapes, and broadcasting shapes."""
    shapes = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3))]
    return [lambda rng, a=a, b=b: ([make1(rng, *a), make2(rng, *b)], {}) for a, b in shapes]


# x1 / x2 stays in (-2.8, -2.09) or (2.09, 2.8): away from whole numbers, and the quotient is not 0.
_DIVIDEND = lambda rng, *shape: _signed(rng, 2.2, 2.8, *shape)  # noqa: E731
_DIVISOR = lambda rng, *shape: _uniform(rng, 1.0, 1.05, *shape)  # noqa: E731
_AWAY = lambda rng, *shape: _signed(rng, 0.3, 2.0, *shape)  # noqa: E731
_AXES = [{}, {"axis": 0}, {"axis": 1}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)}]


def _reductions(make):
    return [lambda rng, kw=kw: ([make(rng, 3, 4)], dict(kw)) for kw in _AXES] + \
        [lambda rng: ([make(rng, 5)], {})]


STATISTICS_SAMPLES: dict = {
    # numpy/elementwise.py
    np.remainder: _pairs(_DIVIDEND, _DIVISOR),
    np.fmod: _pairs(_DIVIDEND, _DIVISOR),
    np.copysign: _pairs(_AWAY, _AWAY),
    # x1 away from 0 (both slopes 0), then x1 integer (no tangent) with zeros, where x2 is the value
    np.heaviside: [lambda rng: ([_AWAY(rng, 2, 3), _normal(rng, 3)], {}),
                   lambda rng: ([np.array([0, 1, -1, 0]), _normal(rng, 4)], {}),
                   lambda rng: ([np.array([[0], [2]]), _normal(rng, 1, 3)], {})],
    # the NaN and the infinities are replaced (slope 0), the rest passes through
    np.nan_to_num: [lambda rng: ([_normal(rng, 3)], {}),
                    lambda rng: ([np.array([0.5, np.nan, np.inf, -np.inf, -1.5])], {}),
                    lambda rng: ([np.array([0.5, np.nan, np.inf])], {"nan": 2.0, "posinf": 9.0})],
    # sinc: the ordinary range, then 0 (slope 0) and small values (the series)
    np.sinc: [lambda rng: ([_normal(rng)], {}), lambda rng: ([_uniform(rng, -2.0, 2.0, 2, 3)], {}),
              lambda rng: ([np.array([0.0, 0.005, -0.009, 0.011, 1.0])], {})],
    # numpy/statistics.py
    np.nansum: _reductions(_with_nans) + [lambda rng: ([_normal(rng, 3, 4)], {"axis": 1})],
    np.nanmean: _reductions(_with_nans),
    np.nanmax: _reductions(_with_nans),
    np.nanmin: _reductions(_with_nans),
    np.ptp: _reductions(_normal),
    np.average: [lambda rng: ([_normal(rng, 3, 4)], {}),
                 lambda rng: ([_normal(rng, 3, 4)], {"axis": 0}),
                 lambda rng: ([_normal(rng, 3, 4), 1, _uniform(rng, 0.5, 1.5, 3, 4)], {}),
                 lambda rng: ([_normal(rng, 3, 4)], {"axis": 1, "weights": _uniform(rng, 0.5, 1.5, 4)}),
                 lambda rng: ([_normal(rng, 3, 4)], {"axis": 0, "weights": _uniform(rng, 0.5, 1.5, 3),
                                                     "keepdims": True}),
                 lambda rng: ([_normal(rng, 3, 4)], {"weights": _uniform(rng, 0.5, 1.5, 3, 4)}),
                 lambda rng: ([_normal(rng, 2, 3, 4)], {"axis": (2, 0),
                                                        "weights": _uniform(rng, 0.5, 1.5, 4, 2)})],
    np.quantile: [lambda rng: ([_normal(rng, 7), 0.3], {}),
                  lambda rng: ([_normal(rng, 3, 4), np.array([0.25, 0.9])], {"axis": 1}),
                  lambda rng: ([_normal(rng, 3, 4), 0.6], {"axis": 0, "keepdims": True}),
                  lambda rng: ([_normal(rng, 3, 4), np.array([0.1, 0.7])], {"axis": (0, 1)}),
                  lambda rng: ([_normal(rng, 3, 4), 0.4], {"method": "linear"})],
    np.percentile: [lambda rng: ([_normal(rng, 6), 30.0], {}),
                    lambda rng: ([_normal(rng, 3, 4), np.array([10.0, 75.0])], {"axis": 0}),
                    lambda rng: ([_normal(rng, 3, 4), 55.0], {"axis": -1, "keepdims": True})],
    np.median: [lambda rng: ([_normal(rng, 5)], {}), lambda rng: ([_normal(rng, 4)], {}),
                lambda rng: ([_normal(rng, 3, 4)], {"axis": 0}),
                lambda rng: ([_normal(rng, 3, 4)], {"axis": 1, "keepdims": True}),
                lambda rng: ([_normal(rng, 2, 3, 4)], {"axis": (0, 2)})],
    np.cov: [lambda rng: ([_normal(rng, 3, 6)], {}), lambda rng: ([_normal(rng, 6)], {}),
             lambda rng: ([_normal(rng, 6, 3)], {"rowvar": False}),
             lambda rng: ([_normal(rng, 2, 6), _normal(rng, 6)], {}),
             lambda rng: ([_normal(rng, 5, 2), _normal(rng, 5, 2)], {"rowvar": False, "bias": True}),
             lambda rng: ([_normal(rng, 3, 6)], {"ddof": 2})],
    np.corrcoef: [lambda rng: ([_normal(rng, 3, 6)], {}), lambda rng: ([_normal(rng, 6), _normal(rng, 6)], {}),
                  lambda rng: ([_normal(rng, 6, 2)], {"rowvar": False}),
                  lambda rng: ([_normal(rng, 5, 2), _normal(rng, 5, 1)], {"rowvar": False})],
    # math_module.py
    math.fsum: [lambda rng: ([[_normal(rng), _normal(rng), _normal(rng)]], {}),
                lambda rng: ([(_normal(rng), _normal(rng))], {})],
    math.prod: [lambda rng: ([[_uniform(rng, 0.5, 1.5) for _ in range(3)]], {}),
                lambda rng: ([(_normal(rng), _normal(rng))], {"start": _normal(rng)}),
                lambda rng: ([[0.0, _normal(rng), _normal(rng)]], {})],  # a zero: exact, no division
    math.dist: [lambda rng: ([[_normal(rng), _normal(rng)], [_normal(rng), _normal(rng)]], {}),
                lambda rng: ([tuple(_normal(rng) for _ in range(3)), tuple(_normal(rng) for _ in range(3))], {})],
    math.lgamma: [lambda rng: ([_uniform(rng, 0.3, 6.0)], {}), lambda rng: ([_uniform(rng, -0.8, -0.2)], {}),
                  lambda rng: ([_uniform(rng, 12.0, 30.0)], {})],
    math.gamma: [lambda rng: ([_uniform(rng, 0.3, 4.0)], {}), lambda rng: ([_uniform(rng, -1.8, -1.2)], {})],
    math.fmod: [lambda rng: ([_DIVIDEND(rng), _DIVISOR(rng)], {})],
    math.copysign: [lambda rng: ([_AWAY(rng), _AWAY(rng)], {})],
}
