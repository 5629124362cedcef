"""Sample arguments of the rearranging, gathering and sliding rules (roll, flip, rot90, pad, split, triu/tril,
cross, tensordot, take, take_along_axis, choose, compress, meshgrid, polyval, interp, convolve, correlate), for
``check_rule``.

np.interp is sampled away from its knots (finite differences do not see a slope across a kink); index
arrays repeat indices, so that accumulation is checked.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from sourcediff.rules.registry import method


# The generators of rule_samples.py, copied (rule_samples.py loads this file: importing it back would be a cycle).
def N(*shape: int) -> Callable:
    """Standard normal values of ``shape`` (a Python float for no shape)."""
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


def _draw(x: Any, rng: np.random.Generator) -> Any:
    if callable(x) and not isinstance(x, type):
        return x(rng)
    if isinstance(x, (list, tuple)):
        return type(x)(_draw(v, rng) for v in x)
    return x


def S(*args: Any, **kwargs: Any) -> Callable:
    """A sample: ``args``/``kwargs`` with every generator drawn, inside lists and tuples too."""
    return lambda rng: ([_draw(a, rng) for a in args], {k: _draw(v, rng) for k, v in kwargs.items()})


def away_from(knots, low: float, high: float, n: int) -> Callable:
    """``n`` uniform points in ``[low, high]``, none within 0.05 of a knot."""
    def make(rng):
        x = rng.uniform(low, high, n)
        near = np.min(np.abs(x[:, None] - np.asarray(knots)[None, :]), axis=1) < 0.05
        return np.where(near, x + 0.1, x)
    return make


KNOTS = np.array([0.0, 1.0, 2.5, 4.0])
REPEATED = np.array([0, 2, 2, -1])

SHAPE_SAMPLES = {
    np.roll: [S(N(5), 2), S(N(3, 4), -1, 1), S(N(3, 4), (1, 2), (0, 1)), S(N(3, 4), 5), S(N(2, 3), shift=1, axis=-1)],
    np.flip: [S(N(4)), S(N(3, 4), 0), S(N(3, 4), axis=(0, 1)), S(N(2, 3, 4), -1)],
    np.fliplr: [S(N(3, 4)), S(N(2, 3, 2))],
    np.flipud: [S(N(4)), S(N(3, 4))],
    np.rot90: [S(N(3, 4)), S(N(3, 4), 2), S(N(3, 4), -1), S(N(2, 3, 4), 3, (1, 2)), S(N(2, 3, 4), axes=(2, 0))],
    np.pad: [S(N(3), 2), S(N(2, 3), ((1, 2), (0, 1))), S(N(3), 1, constant_values=1.5),
             S(N(2, 3), ((1, 2), (2, 1)), "edge"), S(N(4), (3, 2), "reflect"), S(N(2, 3), 2, mode="reflect"),
             S(N(2, 3), ((1, 0), (2, 4)), "wrap"), S(N(3, 2), 1, "symmetric")],
    np.split: [S(N(6), 3), S(N(4, 3), [1, 3]), S(N(2, 6), 2, 1), S(N(5), [2])],
    np.array_split: [S(N(7), 3), S(N(3, 5), 2, axis=1), S(N(4), [1, 1, 3])],
    np.hsplit: [S(N(2, 4), 2), S(N(6), 3), S(N(2, 5, 2), [1, 4])],
    np.vsplit: [S(N(4, 2), 2), S(N(5, 3), [2, 3])],
    np.triu: [S(N(3, 4)), S(N(3, 3), 1), S(N(2, 3, 3), -1)],  # of a vector (JAX refuses it): test_shape.py
    np.tril: [S(N(3, 4)), S(N(4, 3), -1), S(N(2, 3, 3), 1)],
    np.cross: [S(N(3), N(3)), S(N(4, 3), N(3)), S(N(2), N(2)), S(N(2), N(3)), S(N(4, 2), N(4, 3)),
               S(N(3, 4), N(4, 3), axisa=0), S(N(3, 2), N(3, 2), axis=0), S(N(2, 3), N(2, 3), axisc=0),
               S(N(5, 3), N(3, 5), -1, 0, 0)],
    np.tensordot: [S(N(2, 3, 4), N(3, 4, 5)), S(N(2, 3), N(3, 2), 1), S(N(2, 3, 4), N(4, 2, 3), ([1, 2], [2, 0])),
                   S(N(2, 3), N(4), 0), S(N(3, 2), N(3, 4), ([0], [0])), S(N(3, 4), N(4, 3), axes=(1, 0))],
    np.take: [S(N(5), REPEATED), S(N(3, 4), np.array([[1, 1], [0, 3]]), 1), S(N(3, 4), 2, 0),
              S(N(3, 4), np.array([0, 13, -2]), mode="wrap"), S(N(4, 2), np.array([5, -1, 2]), 0, mode="clip"),
              S(N(5), np.array([4, 4, 0]))],
    np.take_along_axis: [S(N(3, 4), np.array([[0, 2, 2], [1, 1, 0], [3, 0, 3]]), 1),
                         S(N(3, 4), np.array([[2, 2, 0, 1]]), 0), S(N(6), np.array([5, 0, 5]), None),
                         S(N(2, 3), np.argsort(np.array([[3.0, 1.0, 2.0], [0.5, 0.25, 0.0]]), axis=-1))],
    np.choose: [S(np.array([0, 1, 2, 1]), [N(4), N(4), N(4)]), S(np.array([[0, 1, 1], [1, 0, 0]]), N(2, 2, 3)),
                S(np.array([0, 1, 0]), (N(3), N(1))), S(np.array([0, 3, -1, 2]), [N(4), N(4)], mode="wrap"),
                S(np.array([[0], [1]]), [N(3), N(2, 3)], mode="clip")],
    np.compress: [S(np.array([True, False, True]), N(3)), S(np.array([1, 0, 1]), N(3, 2), 0),
                  S(np.array([False, True]), N(3, 2), 1), S(np.array([True, False, True, True]), N(2, 3)),
                  S(np.array([False, True]), N(2, 2), axis=-1)],
    np.meshgrid: [S(N(3), N(4)), S(N(2), N(3), N(4), indexing="ij"), S(N(3), N(2), sparse=True),
                  S(N(3)), S(N(2), N(3), N(2)), S(N(2, 2), N(3))],
    # a list of coefficients (JAX refuses it): test_shape.py
    np.polyval: [S(N(4), N(3)), S(N(3, 2), N(2)), S(N(3), N()), S(N(1), N(3))],
    np.interp: [S(away_from(KNOTS, 0.0, 4.0, 6), KNOTS, N(4)),
                S(np.array([-0.5, 0.25, 1.75, 3.0, 4.5]), KNOTS, N(4)),
                S(np.array([-0.5, 0.25, 4.5]), KNOTS, N(4), 2.0, -1.0),
                S(np.array([-0.5, 3.5, 4.5]), KNOTS, N(4), right=0.5),
                S(1.5, KNOTS, N(4)), S(np.array([[0.5, 2.0], [3.25, 5.0]]), np.array([-1.0, 2.5]), N(2))],
    np.convolve: [S(N(5), N(3)), S(N(3), N(5)), S(N(5), N(3), "same"), S(N(2), N(6), "same"),
                  S(N(4), N(4), "same"), S(N(6), N(3), "valid"), S(N(3), N(6), mode="valid"), S(N(1), N(4))],
    np.correlate: [S(N(5), N(3)), S(N(3), N(5)), S(N(5), N(3), "full"), S(N(3), N(5), "full"),
                   S(N(5), N(2), "same"), S(N(2), N(7), "same"), S(N(3), N(6), mode="same"), S(N(4), N(4), "same")],
    method("take"): [S(N(4), np.array([1, 1, 3])), S(N(3, 2), np.array([1, 0, 1]), 0)],
    method("choose"): [S(np.array([0, 1, 0]), [N(3), N(3)]), S(np.array([1, 2]), N(3, 2), mode="clip")],
    method("compress"): [S(N(3, 2), [True, False, True], 0), S(N(2, 3), [0, 1, 1])],
}
