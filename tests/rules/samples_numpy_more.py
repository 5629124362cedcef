"""Sample arguments of the rules added for NumPy's breadth (``rules/numpy/*.py``: gradient, trapezoid, partition,
insert/delete, block, the polynomial functions, the NaN-aware statistics, np.linalg's array-API functions ...),
for ``sourcediff.testing.check_rule``; ``rule_samples.py`` adds them to ``SAMPLES``.

Values keep away from the kinks and ties the rules have (whole numbers for ``modf`` and ``divmod``, equal values
for ``partition`` and the order statistics, zeros that ``trim_zeros`` would trim: those are Python ints here,
which carry no tangent), so that finite differences do not cross them. They are also what
``test_forward_against_jax.py`` gives JAX: lists of numbers, polynomials given as numbers and ``logspace``'s
base arrays, which JAX does not take, are checked end to end against finite differences in
``tests/rules/numpy/test_shape.py`` instead.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from sourcediff.rules.registry import method


# The generators of rule_samples.py, copied (rule_samples.py loads this file: importing it back would be a cycle).
def N(*shape: int) -> Callable:
    """Standard normal values of ``shape`` (a Python float for no shape)."""
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


def U(low: float, high: float, *shape: int) -> Callable:
    """Uniform values in ``[low, high]`` of ``shape`` (a Python float for no shape)."""
    return lambda rng: rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def M(n: int, *batch: int) -> Callable:
    """Well-conditioned ``n x n`` matrices (a stack of them with ``batch``)."""
    return lambda rng: rng.standard_normal((*batch, n, n)) * 0.3 + np.eye(n) * 2.0


def SV(m: int, n: int, *batch: int) -> Callable:
    """``m x n`` matrices with singular values ``1, 2, ..., min(m, n)`` (times 1.5) in random bases."""
    def make(rng):
        k = min(m, n)
        u = np.linalg.qr(rng.standard_normal((*batch, m, k)))[0]
        v = np.linalg.qr(rng.standard_normal((*batch, n, k)))[0]
        return (u * (1.5 * np.arange(1.0, k + 1))) @ np.swapaxes(v, -1, -2)
    return make


def _draw(x: Any, rng: np.random.Generator) -> Any:
    if callable(x) and not isinstance(x, type):
        return x(rng)
    if isinstance(x, (list, tuple)):
        return type(x)(_draw(v, rng) for v in x)
    return x


def S(*args: Any, **kwargs: Any) -> Callable:
    """A sample: ``args``/``kwargs`` with every generator drawn, inside lists and tuples too."""
    return lambda rng: ([_draw(a, rng) for a in args], {k: _draw(v, rng) for k, v in kwargs.items()})


def mask(*shape: int) -> Callable:
    return lambda rng: rng.random(shape) > 0.5


def with_nans(*shape: int) -> Callable:
    """Normal values with NaNs at two places (never a whole row or column of a 2-D sample)."""
    def make(rng):
        x = rng.standard_normal(shape)
        x.flat[1] = np.nan
        x.flat[-1] = np.nan
        return x
    return make


def with_zero(*shape: int) -> Callable:
    """Normal values with one exact zero (products must be exact there)."""
    def make(rng):
        x = rng.standard_normal(shape)
        x.flat[1] = 0.0
        return x
    return make


def apart(*shape: int) -> Callable:
    """Values at least 0.1 apart (no ties within finite-difference reach), in random order."""
    def make(rng):
        size = int(np.prod(shape))
        return rng.permutation(np.arange(size) * 0.3 + rng.uniform(0.0, 0.1, size)).reshape(shape) - size * 0.15
    return make


def fractional(*shape: int) -> Callable:
    """Values of either sign whose fractional parts keep 0.1 away from whole numbers."""
    def make(rng):
        x = rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.9, shape)
        return x if shape else float(x)
    return make


def coordinates(n: int) -> Callable:
    """Increasing, unevenly spaced sample points."""
    return lambda rng: np.cumsum(rng.uniform(0.3, 1.0, n))


_DIVIDEND = lambda *shape: (lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(2.2, 2.8, shape))  # noqa: E731
_DIVISOR = lambda *shape: U(1.0, 1.05, *shape)  # noqa: E731
_NAN_AXES = [{}, {"axis": 0}, {"axis": 1}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)}]
_LINSPACED = [S(N(), N(), 5), S(N(2), N(), 4, endpoint=False), S(N(2), N(2), 3, axis=1), S(N(), N(3), 4, axis=-1)]

NUMPY_MORE_SAMPLES: dict = {
    np.unwrap: [S(N(6)), S(U(-2.0, 2.0, 3, 5), axis=0), S(U(0.5, 1.0, 7), period=2.0)],
    # numpy/shape.py: moving, stacking, inserting, deleting, resizing, cumulating
    np.rollaxis: [S(N(2, 3, 4), 2), S(N(2, 3, 4), 0, 2), S(N(2, 3, 4), -1, 1), S(N(2, 3, 4), 1, start=3),
                  S(N(2, 3, 4), 2, -3)],
    np.dsplit: [S(N(2, 2, 4), 2), S(N(1, 2, 5), [1, 3])],
    np.column_stack: [S((N(3), N(3, 2))), S([N(3), N(3)]), S([N(2, 2), N(2)])],
    np.dstack: [S((N(2, 3), N(2, 3, 2))), S([N(3), N(3)]), S([N(2, 1, 1), N(2, 1)])],
    np.block: [S([[N(2, 2), N(2, 1)], [N(1, 3)]]), S([N(2), N(3)]), S([[N(), N()], [N(), N()]]),
               S([[[N(1, 2, 2)], [N(1, 1, 2)]], [[N(1, 3, 2)]]])],
    np.broadcast_arrays: [S(N(3), N(2, 1)), S(N(2, 3), N()), S(N(1, 3), N(2, 1), N(3))],
    np.delete: [S(N(5), 1), S(N(3, 4), np.array([0, 2]), 1), S(N(3, 4), slice(1, 3), 0), S(N(3, 4), 5),
                S(N(4), np.array([True, False, True, False])), S(N(2, 3), -1, axis=-1)],
    np.insert: [S(N(4), 1, N()), S(N(4), np.array([1, 3, 3]), N(3)), S(N(2, 3), 1, N(3), axis=0),
                S(N(2, 3), np.array([0, 2]), N(2, 2), axis=1), S(N(2, 3), 2, N()), S(N(3), slice(0, 2), N(2)),
                S(N(2, 3), 1, N(2, 1), 1), S(N(2, 3), np.array([1]), N(2, 1), axis=1)],
    np.diagflat: [S(N(3)), S(N(2, 2), 1), S(N(3), k=-1), S(N())],
    np.ediff1d: [S(N(5)), S(N(2, 3)), S(N(4), N(2), N()), S(N(4), to_begin=N(3)), S(N(4), to_end=N()),
                 S(N(1), N(1), N(1))],
    np.resize: [S(N(3), (2, 4)), S(N(2, 3), 4), S(N(2, 3), (3, 3)), S(N(), (2,))],
    np.unstack: [S(N(3, 2)), S(N(2, 3, 4), axis=1), S(N(2, 3), axis=-1)],
    np.matrix_transpose: [S(N(2, 3)), S(N(4, 2, 3))],
    np.cumulative_sum: [S(N(4)), S(N(2, 3), axis=1), S(N(2, 3), axis=0, include_initial=True),
                        S(N(4), include_initial=True), S(N(2, 3), axis=-1)],
    np.cumulative_prod: [S(N(4)), S(with_zero(2, 3), axis=1), S(N(2, 3), axis=0, include_initial=True),
                         S(with_zero(4), include_initial=True)],
    np.extract: [S(np.array([True, False, True, True]), N(4)), S(np.array([[1, 0, 1], [0, 1, 1]]), N(2, 3)),
                 S(np.array([0, 1]), N(2, 2))],
    # the zeros are ints (no tangent: they stay zeros, so the trimming does not change)
    np.trim_zeros: [S([0, 0, N(), N(), 0]), S(N(3)), S([0, N(), 0, N()], "f"), S([N(), 0, N(), 0], trim="b"),
                    S(N(2, 3), axis=0)],
    np.bincount: [S(np.array([0, 2, 2, 1]), N(4)), S(np.array([3, 0]), N(2), 6)],
    # numpy/shape.py: finite differences, integration, polynomials, spaced samples, partition, select
    np.gradient: [S(N(5)), S(N(5), 0.5), S(N(6), 0.3, edge_order=2), S(N(3, 4)), S(N(3, 4), 0.5, 2.0),
                  S(N(3, 4), axis=1), S(N(4, 5), coordinates(4), axis=0, edge_order=2), S(N(5), coordinates(5)),
                  S(N(3, 4), coordinates(3), 0.7), S(N(3), edge_order=2), S(N(2, 3, 4), axis=(2, 0)),
                  S(N(7), coordinates(7), edge_order=2)],
    np.trapezoid: [S(N(5)), S(N(5), coordinates(5)), S(N(3, 4), dx=N()), S(N(3, 4), N(4)), S(N(3, 4), N(3), axis=0),
                   S(N(3, 4), N(3, 4), axis=1), S(N(4), None, N()), S(N(2, 4), N(4), N()), S(N(2, 3, 4), N(3), axis=1),
                   S(N(3, 4), N(3, 1), axis=0)],
    np.vander: [S(N(4)), S(N(3), 5), S(N(3), 4, True), S(np.array([0.0, 1.5, -0.5])), S(N(3), N=1)],
    np.polyadd: [S(N(3), N(5)), S(N(4), N(2)), S(N(3), N(3))],
    np.polysub: [S(N(3), N(5)), S(N(4), N(2)), S(N(3), N(3))],
    np.polymul: [S(N(3), N(4)), S(N(2), N(2)), S(N(1), N(3))],
    np.polyder: [S(N(5)), S(N(5), 2), S(N(3), 3), S(N(4), m=0), S(N(2))],
    np.polyint: [S(N(3)), S(N(3), 2), S(N(3), 2, N(2)), S(N(3), 1, N()), S(N(2), k=N()), S(N(3), 3, N())],
    np.polyfit: [S(coordinates(6), N(6), 2), S(coordinates(5), N(5, 2), 1),
                 S(coordinates(6), N(6), 3, w=U(0.5, 1.5, 6)),
                 S(coordinates(4), N(4), 3)],
    np.logspace: _LINSPACED + [S(U(0.2, 1.0), U(1.0, 2.0), 3, base=2.0)],  # base arrays: test_shape.py
    np.geomspace: [S(U(0.5, 1.0), U(2.0, 3.0), 5), S(U(0.5, 1.0, 2), U(2.0, 3.0), 4, endpoint=False),
                   S(U(-1.0, -0.5), U(-3.0, -2.0), 4), S(U(0.5, 1.0, 2), U(2.0, 3.0, 2), 3, axis=1),
                   S(U(0.5, 1.0), U(2.0, 3.0, 2, 1), 3, axis=-1)],
    np.partition: [S(apart(6), 2), S(apart(3, 5), 1, axis=1), S(apart(3, 5), [0, 2], 0), S(apart(2, 3), 2, None),
                   S(apart(5), -1)],
    np.select: [S([mask(4), mask(4)], [N(4), N(4)]), S([mask(2, 3), mask(3)], [N(2, 3), N(3)], N()),
                S([mask(4)], [N()], N(4)), S((mask(2, 1), mask(1, 3)), (N(2, 3), N(1)), N(3))],
    # numpy/elementwise.py
    np.fabs: [S(N()), S(N(2, 3))],
    np.float_power: [S(U(0.3, 2.0, *a), U(-2.0, 2.0, *b))
                     for a, b in [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3))]],
    np.ldexp: [S(N(3), np.array([1, -2, 3])), S(N(2, 3), np.array([0, 1, 2])), S(N(), 3), S(N(3), 2),
               S(N(1), np.array([[1], [2]]))],
    np.i0: [S(N(4)), S(U(-5.0, 5.0, 2, 3)), S(U(30.0, 45.0, 3)), S(N())],
    np.nextafter: [S(N(3), np.inf), S(N(2, 3), N(3)), S(N(), -np.inf)],
    np.modf: [S(fractional()), S(fractional(2, 3))],
    np.divmod: [S(_DIVIDEND(*a), _DIVISOR(*b)) for a, b in [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((), (2, 3))]],
    method("clip"): [S(N(2, 3), -0.5, 0.5), S(N(4), min=U(-0.8, -0.2, 4)), S(N(4), None, U(0.0, 0.5, 4)),
                     S(N(2, 3), U(-0.8, -0.2, 3), max=0.3)],
    # conversions
    np.asanyarray: [S(N(2, 3)), S([N(), N()]), S(N(3), np.int64)],
    np.asarray_chkfinite: [S(N(2, 3)), S([N(), N()])],
    np.ascontiguousarray: [S(N(2, 3)), S(N(3), dtype=np.float64)],
    np.asfortranarray: [S(N(2, 3)), S(N(3), np.int64)],
    np.require: [S(N(2, 3)), S(N(3), np.float64, "C"), S([N(), N()], requirements=["F", "W"])],
    np.astype: [S(N(2, 3), np.float64), S(N(3), np.int64)],
    method("astype"): [S(N(2, 3), np.float64), S(N(3), np.int64), S(N(3), "float64", copy=False)],
    # numpy/statistics.py
    np.nanvar: [S(with_nans(3, 4), **kw) for kw in _NAN_AXES] + [S(with_nans(3, 4), axis=1, ddof=1), S(N(5), ddof=1)],
    np.nanstd: [S(with_nans(3, 4), **kw) for kw in _NAN_AXES] + [S(with_nans(3, 4), axis=1, ddof=1)],
    np.nanprod: [S(with_nans(3, 4), **kw) for kw in _NAN_AXES] + [S(with_zero(3, 4), axis=1)],
    np.nanquantile: [S(with_nans(7), 0.3), S(with_nans(3, 5), np.array([0.25, 0.9]), axis=1),
                     S(with_nans(3, 4), 0.6, axis=0, keepdims=True),
                     S(with_nans(3, 4), np.array([0.1, 0.7]), axis=(0, 1)),
                     S(N(6), 0.4, method="linear")],
    np.nanpercentile: [S(with_nans(6), 30.0), S(with_nans(3, 4), np.array([10.0, 75.0]), axis=0),
                       S(with_nans(3, 5), 55.0, axis=-1, keepdims=True)],
    np.nanmedian: [S(with_nans(5)), S(with_nans(6)), S(with_nans(3, 4), axis=0),
                   S(with_nans(3, 5), axis=1, keepdims=True),
                   S(with_nans(2, 3, 4), axis=(0, 2))],
    np.nancumsum: [S(with_nans(5)), S(with_nans(3, 4), 1), S(with_nans(3, 4), axis=0), S(N(2, 3))],
    np.nancumprod: [S(with_nans(5)), S(with_nans(3, 4), 1), S(with_nans(3, 4), axis=0), S(with_zero(2, 3), 1)],
    # numpy/linalg.py
    np.vecdot: [S(N(3), N(3)), S(N(2, 3), N(3)), S(N(3, 2), N(3, 2), axis=0), S(N(4, 1, 3), N(2, 3)),
                S(N(3), N(2, 3), axis=-1)],
    np.linalg.vecdot: [S(N(3), N(3)), S(N(2, 3), N(3)), S(N(3, 2), N(3, 2), axis=0)],
    np.matvec: [S(N(2, 3), N(3)), S(N(4, 2, 3), N(3)), S(N(2, 3), N(5, 3))],
    np.vecmat: [S(N(3), N(3, 2)), S(N(5, 3), N(3, 2)), S(N(3), N(4, 3, 2))],
    np.vdot: [S(N(3), N(3)), S(N(2, 3), N(6)), S(N(2, 2), N(2, 2))],
    np.linalg.matmul: [S(N(2, 3), N(3, 4)), S(N(3), N(3, 4)), S(N(5, 2, 3), N(3)), S(N(1, 2, 3), N(5, 3, 4))],
    np.linalg.outer: [S(N(3), N(4))],
    np.linalg.cross: [S(N(3), N(3)), S(N(4, 3), N(3)), S(N(3, 4), N(3, 4), axis=0)],
    np.linalg.tensordot: [S(N(2, 3, 4), N(3, 4, 5)), S(N(2, 3), N(3, 2), axes=1), S(N(2, 3), N(2, 4), axes=([0], [0]))],
    np.linalg.trace: [S(N(3, 3)), S(N(2, 3, 4), offset=1), S(N(2, 4, 3), offset=-1)],
    np.linalg.diagonal: [S(N(3, 3)), S(N(2, 3, 4), offset=-1), S(N(3, 4), offset=2)],
    np.linalg.matrix_transpose: [S(N(2, 3)), S(N(4, 2, 3))],
    np.linalg.matrix_norm: [S(N(3, 4)), S(N(2, 3, 4), ord=2), S(N(3, 3), ord="nuc", keepdims=True),
                            S(N(3, 4), ord=np.inf), S(N(3, 4), ord=1), S(N(2, 3, 3), ord=-2)],
    np.linalg.vector_norm: [S(N(4)), S(N(3, 4)), S(N(3, 4), axis=1, ord=1), S(N(2, 3, 4), axis=(0, 2), keepdims=True),
                            S(N(5), ord=np.inf), S(N(5), ord=3), S(N(3, 4), axis=0, ord=-np.inf)],
    np.linalg.svdvals: [S(SV(3, 3)), S(SV(4, 2, 2)), S(SV(2, 4))],
    np.linalg.cond: [S(M(3)), S(M(3), 2), S(M(3), -2), S(M(3), "fro"), S(M(3), "nuc"), S(M(3), 1), S(M(3), -np.inf),
                     S(SV(4, 3)), S(M(3, 2)), S(M(3, 2), np.inf), S(M(3), p=-1)],
    np.linalg.tensorinv: [S(lambda rng: M(6)(rng).reshape(2, 3, 6)), S(lambda rng: M(6)(rng).reshape(6, 2, 3), 1),
                          S(lambda rng: M(4)(rng).reshape(2, 2, 2, 2))],
}
