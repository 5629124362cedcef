"""Sample arguments of the ``np.fft`` rules and of the rules for complex values (``rules/numpy/fft.py``,
``rules/numpy/complex.py``), for ``check_rule``; the variants for complex arguments are keyed
``("complex", key)``.

Transforms get real and complex inputs, ``n``/``s`` that cut and pad, every ``norm``,
odd and even lengths (``irfft``'s Nyquist frequency).
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from sourcediff.rules.registry import attribute, method


def N(*shape):
    """Standard normal values of ``shape`` (a Python float for no shape)."""
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


def C(*shape):
    """Complex standard normal values of ``shape`` (a Python complex for no shape)."""
    def make(rng):
        z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return complex(z) if not shape else z
    return make


def S(*args, **kwargs):
    def draw(x, rng):
        return x(rng) if callable(x) else x
    return lambda rng: ([draw(a, rng) for a in args], {k: draw(v, rng) for k, v in kwargs.items()})


_ONE_DIMENSIONAL = [S(N(6)), S(N(6), n=4), S(N(5), n=8, norm="ortho"), S(N(3, 4), axis=0, norm="forward"),
                    S(C(5)), S(C(2, 5), 7, -1, "backward")]
_N_DIMENSIONAL = [S(N(3, 4)), S(N(2, 3, 4), s=(3, 5), axes=(0, 2)), S(N(3, 4), norm="ortho"), S(C(3, 4)),
                  S(N(2, 3, 4), s=(2, 5), axes=(1, 2), norm="forward")]
_TWO_DIMENSIONAL = [S(N(3, 4)), S(N(2, 3, 4), s=(2, 5), axes=(-2, -1)), S(C(3, 4), norm="ortho"), S(N(4, 3), axes=(1, 0))]
_HALF_SPECTRUM = [S(C(4)), S(C(4), n=7), S(C(4), n=5, norm="ortho"), S(C(3, 4), axis=0, norm="forward"),
                  S(N(4)), S(C(5), n=4)]

COMPLEX_SAMPLES = {
    np.fft.fft: _ONE_DIMENSIONAL, np.fft.ifft: _ONE_DIMENSIONAL,
    np.fft.fftn: _N_DIMENSIONAL, np.fft.ifftn: _N_DIMENSIONAL,
    np.fft.fft2: _TWO_DIMENSIONAL, np.fft.ifft2: _TWO_DIMENSIONAL,
    np.fft.rfft: [S(N(6)), S(N(5)), S(N(6), n=9), S(N(6), n=4, norm="ortho"), S(N(3, 4), axis=0, norm="forward")],
    np.fft.rfftn: [S(N(3, 4)), S(N(3, 5), s=(4, 6), axes=(0, 1)), S(N(2, 3, 4), axes=(0, 2)), S(N(3, 4), norm="ortho")],
    np.fft.rfft2: [S(N(3, 4)), S(N(2, 3, 5), s=(4, 4)), S(N(3, 4), norm="forward")],
    np.fft.irfft: _HALF_SPECTRUM,
    np.fft.irfftn: [S(C(3, 4)), S(C(3, 4), s=(3, 5), axes=(0, 1)), S(C(2, 3, 4), axes=(0, 2)), S(C(3, 4), norm="ortho"),
                    S(N(3, 4))],
    np.fft.irfft2: [S(C(3, 4)), S(C(2, 3, 4), s=(4, 6)), S(C(3, 4), norm="forward")],
    np.fft.hfft: _HALF_SPECTRUM,
    np.fft.ihfft: [S(N(6)), S(N(5)), S(N(6), n=9), S(N(6), n=4, norm="ortho"), S(N(3, 4), axis=0, norm="forward")],
    np.fft.fftshift: [S(N(5)), S(N(3, 4), axes=0), S(C(4, 5))],
    np.fft.ifftshift: [S(N(5)), S(N(3, 4), axes=(1,)), S(C(4, 5))],
    np.real: [S(N(4)), S(C(4)), S(C(2, 3)), S(N())],
    attribute("real"): [S(N(4)), S(C(2, 3))],
    np.imag: [S(N(4)), S(C(4)), S(C(2, 3)), S(N())],
    attribute("imag"): [S(N(4)), S(C(2, 3))],
    np.conj: [S(N(4)), S(C(4)), S(C())],
    method("conj"): [S(C(4)), S(N(2, 3))],
    method("conjugate"): [S(C(4)), S(N(2, 3))],
    np.angle: [S(C(4)), S(C(2, 3), deg=True), S(C()), S(N(4))],
    np.real_if_close: [S(N(4)), S(C(4)), S(C(3), tol=1e9)],
    np.linalg.eigvals: [S(N(3, 3)), S(N(4, 4)), S(N(2, 3, 3)), S(C(3, 3))],
    ("complex", np.abs): [S(C(4)), S(C(2, 3)), S(C()), S(N(4))],
    ("complex", builtins.abs): [S(C()), S(C(3))],
    ("complex", operator.pow): [S(C(3), 2.0), S(C(3), C(3)), S(C(3), 3), S(C(), 0.5)],
}
