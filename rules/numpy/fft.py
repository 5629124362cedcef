"""Rules for ``np.fft``: the transforms of real inputs, whose complex results return to real values.

Every transform is linear. Adjoints follow JAX's convention for complex values
(``registry.defcomplex``): the DFT matrix is symmetric, so the transpose of
``fft`` is ``fft`` of the adjoint (``ifft`` alike), with the input cut or
padded back to its length where ``n`` changed it. ``rfft`` keeps half the
spectrum: its transpose pads the adjoint with zeros before the ``fft``.
``irfft`` reads each frequency but the zero and (for even ``n``) the Nyquist
one twice, through its conjugate: its adjoint weighs the ``ifft`` of ``g`` by
2 there, by 1 at those two, whose imaginary parts it ignores. The
n-dimensional transforms go one axis at a time. A real argument's adjoint is
the real part. ``hfft`` is ``irfft`` of the conjugate, ``ihfft`` the conjugate
of ``rfft``, each with the norm swapped. ``fftfreq`` and ``rfftfreq`` are
constants.

The runtime's adjoints of the transforms (``sd.fft_adjoint`` ...) have rules
here too, for second derivatives: each is linear in its cotangent, ``a``
gives only a shape and a dtype, and its transpose is the transform itself.
``irfft`` reads only the real part of what it transforms back, so the
transposes of the adjoints of ``irfft`` and ``hfft`` are written in two real
halves, ``T(g) + 1j * T(-1j * g)``, which hold for a complex cotangent too.
"""
from __future__ import annotations

import numpy as np

from ..registry import (TANGENT, complex_results, deflinear, defnondiff, defrule, real_results, rename, runtime,
                        valid_for_complex)

_ONE_AXIS = ("a, n=None, axis=-1, norm=None", "a, n, axis, norm")  # (signature, the call's arguments)
_AXES = ("a, s=None, axes=None, norm=None", "a, s, axes, norm")
_LAST_TWO_AXES = ("a, s=None, axes=(-2, -1), norm=None", "a, s, axes, norm")
for _name, (_spec, _args), _adjoint in [
    ("fft", _ONE_AXIS, "sd.fft_adjoint(g, a, axis, norm, 'fft')"),
    ("ifft", _ONE_AXIS, "sd.fft_adjoint(g, a, axis, norm, 'ifft')"),
    ("fftn", _AXES, "sd.fftn_adjoint(g, a, s, axes, norm, 'fft')"),
    ("ifftn", _AXES, "sd.fftn_adjoint(g, a, s, axes, norm, 'ifft')"),
    ("fft2", _LAST_TWO_AXES, "sd.fftn_adjoint(g, a, s, axes, norm, 'fft')"),
    ("ifft2", _LAST_TWO_AXES, "sd.fftn_adjoint(g, a, s, axes, norm, 'ifft')"),
    ("rfft", _ONE_AXIS, "sd.rfft_adjoint(g, a, n, axis, norm)"),
    ("rfftn", _AXES, "sd.rfftn_adjoint(g, a, s, axes, norm)"),
    ("rfft2", _LAST_TWO_AXES, "sd.rfftn_adjoint(g, a, s, axes, norm)"),
    ("irfft", _ONE_AXIS, "sd.irfft_adjoint(g, a, n, axis, norm)"),
    ("irfftn", _AXES, "sd.irfftn_adjoint(g, a, s, axes, norm)"),
    ("irfft2", _LAST_TWO_AXES, "sd.irfftn_adjoint(g, a, s, axes, norm)"),
    ("hfft", _ONE_AXIS, "sd.hfft_adjoint(g, a, n, axis, norm)"),
    ("ihfft", _ONE_AXIS, "sd.ihfft_adjoint(g, a, n, axis, norm)"),
]:
    deflinear(getattr(np.fft, _name), _spec, apply=f"np.fft.{_name}({_args})", a=_adjoint, returns="new")
deflinear(np.fft.fftshift, "x, axes=None", apply="np.fft.fftshift(x, axes)", x="np.fft.ifftshift(g, axes)",
          returns="new")
deflinear(np.fft.ifftshift, "x, axes=None", apply="np.fft.ifftshift(x, axes)", x="np.fft.fftshift(g, axes)",
          returns="new")
for _constant in (np.fft.fftfreq, np.fft.rfftfreq):
    defnondiff(_constant, "the sample frequencies depend on the length and spacing only", returns="new")

_COMPLEX = (np.fft.fft, np.fft.ifft, np.fft.fftn, np.fft.ifftn, np.fft.fft2, np.fft.ifft2)
complex_results(*_COMPLEX, np.fft.rfft, np.fft.rfftn, np.fft.rfft2, np.fft.ihfft)
real_results(np.fft.irfft, np.fft.irfftn, np.fft.irfft2, np.fft.hfft)
valid_for_complex(*_COMPLEX, np.fft.irfft, np.fft.irfftn, np.fft.irfft2, np.fft.hfft, np.fft.fftshift,
                  np.fft.ifftshift)


# -- the runtime's adjoints of the transforms, differentiated again ---------------------------------------------

def _adjoint_rule(name: str, spec: str, transpose: str) -> None:
    """``sd.<name>(cotangent, a, ...)``: linear in the cotangent, whose transpose is ``transpose`` (a template in
    ``g``); ``a`` gives only a shape and a dtype. The transpose is complex; a real cotangent takes its real part
    (the adjoint of a real value is real, also where the result is real and no real part is taken after)."""
    params = ", ".join(p.split("=")[0].strip() for p in spec.split(","))
    apply = rename(f"sd.{name}({params})", {"cotangent": TANGENT})
    defrule(runtime(name), spec, jvp={"cotangent": apply}, cut=("a",), returns="new",
            cotangent=f"np.real({transpose}) if np.isrealobj(cotangent) else {transpose}")


# the axes the n-dimensional adjoints transform: as NumPy chooses them, or default_axes where axes and s are None
_N_AXES = "axes if axes is not None or s is not None else default_axes"
_adjoint_rule("fft_adjoint", "cotangent, a, axis, norm, kind",
              "np.fft.fft(g, np.shape(cotangent)[axis], axis, norm) if kind == 'fft' else "
              "np.fft.ifft(g, np.shape(cotangent)[axis], axis, norm)")
_adjoint_rule("fftn_adjoint", "cotangent, a, s, axes, norm, kind, default_axes=None",
              f"np.fft.fftn(g, s, {_N_AXES}, norm) if kind == 'fft' else np.fft.ifftn(g, s, {_N_AXES}, norm)")
_adjoint_rule("rfft_adjoint", "cotangent, a, n, axis, norm", "np.fft.rfft(g, n, axis, norm)")
_adjoint_rule("rfftn_adjoint", "cotangent, a, s, axes, norm, default_axes=None", f"np.fft.rfftn(g, s, {_N_AXES}, norm)")
_adjoint_rule("irfft_adjoint", "cotangent, a, n, axis, norm",
              "np.fft.irfft(g, n, axis, norm) + 1j * np.fft.irfft(-1j * g, n, axis, norm)")
_adjoint_rule("irfftn_adjoint", "cotangent, a, s, axes, norm, default_axes=None",
              f"np.fft.irfftn(g, s, {_N_AXES}, norm) + 1j * np.fft.irfftn(-1j * g, s, {_N_AXES}, norm)")
# hfft's adjoint is the conjugate of irfft's: its transpose reads the conjugate of g
_adjoint_rule("hfft_adjoint", "cotangent, a, n, axis, norm",
              "np.fft.hfft(g, n, axis, norm) + 1j * np.fft.hfft(1j * g, n, axis, norm)")
_adjoint_rule("ihfft_adjoint", "cotangent, a, n, axis, norm", "np.fft.ihfft(g, n, axis, norm)")
_ADJOINTS = ("fft_adjoint", "fftn_adjoint", "rfft_adjoint", "rfftn_adjoint", "irfft_adjoint", "irfftn_adjoint",
             "hfft_adjoint", "ihfft_adjoint")
valid_for_complex(*(runtime(name) for name in _ADJOINTS))
real_results(runtime("rfft_adjoint"), runtime("rfftn_adjoint"), runtime("ihfft_adjoint"))
