"""Rules for complex values inside a function: their parts, and the rules that hold for complex arguments.

Complex values may flow between the real inputs and the real output
(``np.abs(np.fft.fft(x)) ** 2``); arguments and outputs stay real. Adjoints
follow JAX's convention (``registry.defcomplex``): the adjoint ``c`` of ``z``
stands for ``dz -> Re(c * dz)``, so a holomorphic function's templates,
``g * f'(z)``, and a linear function's plain transpose hold unchanged; those
rules are listed here with ``valid_for_complex``. The others get a variant:

* ``np.real(z)``, ``z.real``: ``g``; ``np.imag(z)``, ``z.imag``: ``-1j g``
  (0 for a real argument); ``np.conj(z)``: ``conj(g)``.
* ``|z|``: ``g conj(z) / |z|``, 0 at ``z == 0`` (``np.abs``, ``abs``).
* ``np.angle(z)``: ``-1j g conj(z) / |z|**2``, 0 at 0 and for real ``z``
  (where it is piecewise constant). ``np.real_if_close``: ``g``.
* ``np.linalg.eigvals(a)``, complex for a real ``a``: ``V^-T diag(g) V^T``,
  from ``dw = diag(V^-1 da V)`` (eigenvectors ``V``); refused at a matrix
  that is not diagonalizable. ``np.linalg.eig`` (the eigenvectors, defined
  up to a complex factor each) has no rule.

Any other function meeting a complex value in a differentiated statement is
refused with its line (``sourcediff.complex_values``).

The runtime's ``sd.imag_adjoint`` and ``sd.angle_adjoint`` have rules here,
for second derivatives: both multiply the cotangent by a factor, ``-1j`` and
``-1j s / z`` (``s`` the degrees' scale), so each is its own transpose in the
cotangent; ``-1j s c / z`` is holomorphic in ``z``, with slope ``1j s c / z**2``.
So have ``sd.angle_tangent``, ``sd.complex_abs_adjoint`` and ``sd.complex_abs_tangent``,
and ``sd.eigvals_adjoint`` and ``sd.eigvals_tangent`` (through the derivative of
the eigenvectors); each pair transposes each other in the cotangent and tangent.
"""
from __future__ import annotations

import builtins
import operator

import numpy as np

from ..registry import (attribute, complex_results, defcomplex, deflinear, defrule, method, real_results, runtime,
                        share_method, valid_for_complex)

# -- the parts of a complex number -----------------------------------------------------------------
deflinear(np.real, "val", apply="np.real(val)", val="g", returns="view")
deflinear(attribute("real"), "x", apply="np.real(x)", x="g", returns="view")
defrule(np.imag, "val", val="sd.imag_adjoint(g, val)", jvp={"val": "np.imag(t)"}, returns="new")
defrule(attribute("imag"), "x", x="sd.imag_adjoint(g, x)", jvp={"x": "np.imag(t)"})
deflinear(np.conj, "x", apply="np.conj(x)", x="np.conj(g)", returns="new")  # np.conjugate is np.conj
share_method("conj", np.conj)
share_method("conjugate", np.conj)
defrule(np.angle, "z, deg=False", z="sd.angle_adjoint(g, z, deg)", jvp={"z": "sd.angle_tangent(t, z, deg)"},
        returns="new")
for _abs in (np.abs, builtins.abs):
    defcomplex(_abs, "x", x="sd.complex_abs_adjoint(g, x, ans)", jvp={"x": "sd.complex_abs_tangent(t, x, ans)"})
defcomplex(operator.pow, "a, b", unbroadcast=True, a="g * sd.power_rule(a, b)", b="g * ans * np.log(a)", jvp={
    "a": "t * sd.power_rule(a, b)", "b": "t * ans * np.log(a)"})

defrule(np.real_if_close, "a, tol=100", a="g", jvp={"a": "np.real(t) if np.isrealobj(ans) else t"}, returns="new")

# -- functions of real matrices with complex results -------------------------------------------------
defrule(np.linalg.eigvals, "a", a="sd.eigvals_adjoint(g, a)", jvp={"a": "sd.eigvals_tangent(t, a)"},
        returns="new")
complex_results(np.linalg.eigvals)

# -- the runtime's adjoint and tangent of eigvals, differentiated again --------------------------------------
# With a = V diag(w) V^-1: eigvals_adjoint(c, a) = (V diag(c) V^-1)^T and eigvals_tangent(s, a) = diag(V^-1 s V),
# each the other's transpose in c and s. In a, dV = V C with C_ij = E_ij / (w_j - w_i) off the diagonal
# (E = V^-1 da V; C's diagonal, a scaling of the eigenvectors, changes neither helper), so that
#   d(V diag(c) V^-1) = V (E o Q) V^-1, Q_ij = (c_i - c_j) R_ij,
#   d diag(V^-1 s V)_k = sum_j R_kj (G_kj E_jk + E_kj G_jk), G = V^-1 s V,
# with R_ij = 1 / (w_i - w_j) off the diagonal and 0 on it; the adjoints are these maps transposed. A real a has
# real results (the real part) and a real adjoint, and so has a real cotangent; eigvals_tangent's result is complex
# for real arguments. The helpers refuse a matrix that is not diagonalizable.
_W, _V = "np.linalg.eig(a)[0]", "np.linalg.eig(a)[1]"
_V_INV = f"np.linalg.inv({_V})"
_DIAGONAL = "np.eye(np.shape(a)[-1], dtype=bool)"
_R = f"np.where({_DIAGONAL}, 0.0, 1.0 / np.where({_DIAGONAL}, 1.0, {_W}[..., :, None] - {_W}[..., None, :]))"


def _real_for_real(param: str, x: str) -> str:
    """``x``, or its real part where the argument ``param`` is real, for a template."""
    return f"(np.real({x}) if np.isrealobj({param}) else {x})"


def _swap(x: str) -> str:
    return f"np.swapaxes({x}, -1, -2)"


def _in_basis(x: str) -> str:
    """``V^-1 x V``, for a template."""
    return f"({_V_INV} @ {x} @ {_V})"


def _differences(v: str) -> str:
    """``v_i - v_j``, for a template."""
    return f"({v}[..., :, None] - {v}[..., None, :])"


defrule(runtime("eigvals_adjoint"), "cotangent, a", unbroadcast=True,
        cotangent=_real_for_real("cotangent", "sd.eigvals_tangent(g, a)"),
        a=_real_for_real("a", f"{_swap(_V_INV)} @ ({_swap(_in_basis('g'))} * {_differences('cotangent')} * {_R}) "
                           f"@ {_swap(_V)}"),
        jvp={"cotangent": "sd.eigvals_adjoint(t, a)",
             "a": _real_for_real("a", _swap(f"{_V} @ ({_in_basis('t')} * {_differences('cotangent')} * {_R}) "
                                         f"@ {_V_INV}"))}, returns="new")
defrule(runtime("eigvals_tangent"), "tangent, a", unbroadcast=True,
        tangent=_real_for_real("tangent", "sd.eigvals_adjoint(g, a)"),
        a=_real_for_real("a", f"{_swap(_V_INV)} @ ({_swap(_in_basis('tangent'))} * {_R} * {_differences('g')}) "
                           f"@ {_swap(_V)}"),
        jvp={"tangent": "sd.eigvals_tangent(t, a)",
             "a": f"np.sum({_R} * ({_in_basis('tangent')} * {_swap(_in_basis('t'))} + {_in_basis('t')} * "
                  f"{_swap(_in_basis('tangent'))}), axis=-1)"}, returns="new")
complex_results(runtime("eigvals_tangent"))

# -- the runtime's adjoints of imag and angle, differentiated again ----------------------------------
defrule(runtime("imag_adjoint"), "cotangent, val", cotangent="sd.imag_adjoint(g, val)",
        jvp={"cotangent": "sd.imag_adjoint(t, val)"}, cut=("val",), returns="new")
# angle_adjoint(c, z) = -1j s c conj(z) / |z|**2 = -1j s c / z, 0 where |z|**2 == 0 and for a real z
_ANGLE_SLOPE = ("np.where(np.real(z * np.conj(z)) == 0, 0.0, 1j * (180.0 / np.pi if deg else 1.0) * cotangent "
                "/ np.where(np.real(z * np.conj(z)) == 0, 1.0, z) ** 2)")
defrule(runtime("angle_adjoint"), "cotangent, z, deg=False", cotangent="sd.angle_adjoint(g, z, deg)",
        z=f"g * {_ANGLE_SLOPE} if np.iscomplexobj(z) else sd.zeros_like(z)",
        jvp={"cotangent": "sd.angle_adjoint(t, z, deg)",
             "z": f"t * {_ANGLE_SLOPE} if np.iscomplexobj(z) else sd.zeros_like(z)"}, returns="new")

# -- the runtime's adjoint and tangent of |z|, and angle's tangent, differentiated again ------------------------
# complex_abs_adjoint(c, x, r) = c conj(x) / r (its real part for a real x) and complex_abs_tangent(s, x, r) =
# Re(conj(x) s) / r, r = |x|, both 0 where r == 0. In c, s and r they are holomorphic (or real-linear: Re), in x
# antiholomorphic: d(c conj(x)) = c conj(dx), whose adjoint is conj(h c); d(1 / r) = -dr / r**2. A real argument's
# adjoint is the real part (a tangent may be real where x is complex: x = y + 1j).
_MODULUS = "np.where(modulus == 0, 1.0, modulus)"


def _zero_at_0(x: str) -> str:
    return f"np.where(modulus == 0, 0.0, {x})"



defrule(runtime("complex_abs_adjoint"), "cotangent, x, modulus", unbroadcast=True,
        cotangent=_real_for_real("cotangent", "sd.complex_abs_adjoint(g, x, modulus)"),
        x=_real_for_real("x", _zero_at_0(f"np.conj(g * cotangent / {_MODULUS})")),
        modulus=_real_for_real("modulus", _zero_at_0(f"-g * cotangent * np.conj(x) / {_MODULUS} ** 2")),
        jvp={"cotangent": "sd.complex_abs_adjoint(t, x, modulus)",
             "x": _real_for_real("x", _zero_at_0(f"cotangent * np.conj(t) / {_MODULUS}")),
             "modulus": _real_for_real("x", _zero_at_0(f"-t * cotangent * np.conj(x) / {_MODULUS} ** 2"))},
        returns="new")
defrule(runtime("complex_abs_tangent"), "tangent, x, modulus", unbroadcast=True,
        tangent=_real_for_real("tangent", _zero_at_0(f"np.real(g / {_MODULUS}) * np.conj(x)")),
        x=_real_for_real("x", _zero_at_0(f"np.real(g / {_MODULUS}) * np.conj(tangent)")),
        modulus=_real_for_real("modulus", f"-g * sd.complex_abs_tangent(tangent, x, modulus) / {_MODULUS}"),
        jvp={"tangent": "sd.complex_abs_tangent(t, x, modulus)",
             "x": _zero_at_0(f"np.real(np.conj(t) * tangent) / {_MODULUS}"),
             "modulus": f"-t * sd.complex_abs_tangent(tangent, x, modulus) / {_MODULUS}"}, returns="new")
# angle_tangent(s, z) = Im(s / z) (times the degrees' scale), 0 where |z|**2 == 0: its transpose in s is
# angle_adjoint; in z, d Im(s / z) = Im(-s dz / z**2) = Re(dz * 1j s / z**2), whose adjoint is 1j s / z**2; 0 for
# a real z (and s).
_ANGLE_TANGENT_SLOPE = ("np.where(np.real(z * np.conj(z)) == 0, 0.0, 1j * (180.0 / np.pi if deg else 1.0) * tangent "
                        "/ np.where(np.real(z * np.conj(z)) == 0, 1.0, z) ** 2)")
defrule(runtime("angle_tangent"), "tangent, z, deg=False", unbroadcast=True,
        tangent=_real_for_real("tangent", "sd.angle_adjoint(g, z, deg)"),
        z=f"g * {_ANGLE_TANGENT_SLOPE} if np.iscomplexobj(z) else sd.zeros_like(z)",
        jvp={"tangent": "sd.angle_tangent(t, z, deg)",
             "z": f"np.real(t * {_ANGLE_TANGENT_SLOPE}) if np.iscomplexobj(z) else sd.zeros_like(z)"},
        returns="new")

real_results(np.real, attribute("real"), np.imag, attribute("imag"), np.angle, np.abs, builtins.abs,
             len, np.shape, np.size, np.ndim, attribute("shape"), attribute("size"), attribute("ndim"),
             runtime("complex_abs_tangent"), runtime("angle_tangent"))
valid_for_complex(np.real, attribute("real"), np.imag, attribute("imag"), np.conj, method("conj"),
                  method("conjugate"), np.angle, np.real_if_close, np.linalg.eigvals, runtime("imag_adjoint"),
                  runtime("angle_adjoint"), runtime("complex_abs_adjoint"), runtime("complex_abs_tangent"),
                  runtime("angle_tangent"), runtime("eigvals_adjoint"), runtime("eigvals_tangent"))

# -- holomorphic functions and linear maps: their ordinary templates hold ------------------------------
valid_for_complex(
    operator.add, operator.sub, operator.mul, operator.truediv, operator.neg, operator.pos,
    np.add, np.subtract, np.multiply, np.divide, np.negative, np.positive, np.reciprocal, np.square,
    np.exp, np.expm1, np.exp2, np.log, np.log1p, np.log2, np.log10, np.sqrt,
    np.sin, np.cos, np.tan, np.sinh, np.cosh, np.tanh,
    np.sum, np.mean, np.cumsum, np.diff, np.trace, np.dot, np.matmul, operator.matmul, np.outer, np.inner,
    np.einsum, np.reshape, np.ravel, np.transpose, np.expand_dims, np.squeeze, np.copy, np.concatenate,
    np.stack, np.hstack, np.vstack, np.roll, np.flip, np.tile, np.repeat,
    method("sum"), method("mean"), method("cumsum"), method("dot"), method("reshape"), method("ravel"),
    method("flatten"), method("transpose"), method("copy"), attribute("T"))
