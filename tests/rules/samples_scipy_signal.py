"""Samples of the ``scipy.signal`` rules (``rules/scipy/signal.py``) for ``check_rule``; ``rule_samples.py`` adds
them to ``SAMPLES`` when SciPy is installed (``_scipy_samples``).

Every mode, in 1-D and 2-D, with the first input longer and shorter (``same`` keeps the first input's length,
centred differently when the second is longer; ``valid`` keeps ``|n1 - n2| + 1`` either way), odd and even
lengths, and each ``method``.
"""
from __future__ import annotations

from typing import Any, Callable

import scipy.signal as signal

from sourcediff.rules import registry

registry.load_lazy_rules()


def S(*args: Any, **kwargs: Any) -> Callable:
    draw = lambda x, rng: x(rng) if callable(x) else x  # noqa: E731
    return lambda rng: ([draw(a, rng) for a in args], {k: draw(v, rng) for k, v in kwargs.items()})


def N(*shape: int) -> Callable:
    return lambda rng: rng.standard_normal(shape)


_SHAPES = [((6,), (3,)), ((3,), (6,)), ((5,), (4,)), ((4,), (5,)), ((4,), (4,)), ((1,), (3,)),
           ((4, 5), (2, 3)), ((2, 3), (4, 5)), ((3, 4), (3, 2))]


def _all_modes(**options):
    return [S(N(*a), N(*b), mode, **options) for a, b in _SHAPES for mode in ("full", "same", "valid")]


SCIPY_SIGNAL_SAMPLES: dict[Any, list] = {
    signal.convolve: _all_modes() + [S(N(5), N(3), "same", "direct"), S(N(3), N(5), mode="valid", method="fft"),
                                     S(N(4, 3), N(2, 2), method="direct")],
    signal.correlate: _all_modes() + [S(N(5), N(3), "same", "direct"), S(N(3), N(6), mode="same", method="fft"),
                                      S(N(4, 3), N(2, 2), "valid", method="direct")],
    signal.fftconvolve: _all_modes() + [S(N(3, 5), N(1, 4), "same", axes=1), S(N(3, 5), N(3, 2), "valid", axes=-1),
                                        S(N(2, 5), N(2, 3), "full", [1]), S(N(4, 2), N(2, 1), "same", axes=0)],
    signal.oaconvolve: [S(N(8), N(3)), S(N(3), N(8), "same"), S(N(6, 5), N(2, 3), "valid"),
                        S(N(3, 5), N(1, 4), "same", axes=1)],
    signal.convolve2d: [S(N(4, 5), N(2, 3), mode) for mode in ("full", "same", "valid")]
    + [S(N(2, 3), N(4, 5), mode) for mode in ("full", "same", "valid")] + [S(N(3, 3), N(2, 2), "same", "fill", 0)],
}
