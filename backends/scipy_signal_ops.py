"""Runtime helpers of the ``scipy.signal`` rules (``rules/scipy/signal.py``).

``import sourcediff`` imports this module but must not import SciPy: each
helper reads it through ``scipy_signal`` (a ``LazyModule``), which imports it on
first use, which only happens in the
derivative of code that called ``scipy.signal``.

Every mode of a convolution is a crop of the full one: ``full`` has
``n1 + n2 - 1`` entries along each convolved axis, ``same`` the ``n1`` entries
starting at ``(n2 - 1) // 2``, ``valid`` the ``|n1 - n2| + 1`` entries starting
at ``min(n1, n2) - 1`` (so the roles of the two inputs are symmetric in
``valid`` and not in ``same``). A correlation is the convolution with the
second input flipped, cropped the same way. The adjoint of an input is the
adjoint ``g`` placed into zeros of the full shape at the crop, correlated
(``valid``) with the other input.
"""
from __future__ import annotations

import operator

import numpy as np

from .base import LazyModule
from .numpy_array_ops import _like, _sum_to_shape

__all__ = [
    "signal_convolve", "signal_correlate", "signal_fftconvolve", "signal_oaconvolve", "signal_convolve2d",
    "signal_convolve_adjoint", "signal_convolve2d_adjoint", "signal_correlate_adjoint",
]

scipy_signal = LazyModule("scipy.signal")  # SciPy loads on first use


def _refuse(message: str, hint: str) -> None:
    from sourcediff.errors import SourcediffError

    raise SourcediffError(message, hint=hint)


def _real(name, *complex_operands):
    """Refuses complex operands; the caller passes ``np.iscomplexobj`` of each (see ``numpy_linalg_ops._real``)."""
    if any(complex_operands):
        _refuse(f"scipy.signal.{name} of complex arrays has no derivative rule yet", "differentiate real arrays")


def signal_convolve(in1, in2, mode="full", method="auto"):
    """``scipy.signal.convolve``, called by the forward templates."""
    return scipy_signal.convolve(in1, in2, mode=mode, method=method)


def signal_correlate(in1, in2, mode="full", method="auto"):
    """``scipy.signal.correlate``, called by the forward templates."""
    return scipy_signal.correlate(in1, in2, mode=mode, method=method)


def signal_fftconvolve(in1, in2, mode="full", axes=None):
    """``scipy.signal.fftconvolve``, called by the forward templates."""
    return scipy_signal.fftconvolve(in1, in2, mode=mode, axes=axes)


def signal_oaconvolve(in1, in2, mode="full", axes=None):
    """``scipy.signal.oaconvolve``, called by the forward templates."""
    return scipy_signal.oaconvolve(in1, in2, mode=mode, axes=axes)


def _fill(boundary, fillvalue):
    if boundary not in ("fill",) or fillvalue != 0:
        _refuse(f"scipy.signal.convolve2d(..., boundary={boundary!r}, fillvalue={fillvalue!r}) has no derivative "
                "rule", "use boundary='fill' with fillvalue=0 (the defaults), or pad the input with np.pad first")


def signal_convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """``scipy.signal.convolve2d`` (``boundary='fill'``, ``fillvalue=0`` only), called by the forward templates."""
    _fill(boundary, fillvalue)
    return scipy_signal.convolve2d(in1, in2, mode=mode, boundary=boundary, fillvalue=fillvalue)


def _convolved_axes(ndim, axes):
    if axes is None:
        return tuple(range(ndim))
    items = axes if isinstance(axes, (tuple, list, np.ndarray)) else (axes,)
    return tuple(sorted({operator.index(a) % ndim for a in items})) if ndim else ()


def _crop(full_shape, s1, s2, mode, axes):
    """The slices of the full convolution that ``mode`` keeps."""
    out = []
    for i, nf in enumerate(full_shape):
        if i not in axes or mode == "full":
            out.append(slice(0, nf))
        elif mode == "same":
            start = (nf - s1[i]) // 2
            out.append(slice(start, start + s1[i]))
        elif mode == "valid":
            start = min(s1[i], s2[i]) - 1
            out.append(slice(start, start + abs(s1[i] - s2[i]) + 1))
        else:
            _refuse(f"mode={mode!r} is not 'full', 'same' or 'valid'", "pass one of them")
    return tuple(out)


def _adjoint(g, in1, in2, mode, axes, wrt, method="auto"):
    """Adjoint of ``convolve(in1, in2, mode)`` (convolving along ``axes``; the others broadcast) for ``wrt``."""
    a, b = np.asarray(in1, dtype=np.float64), np.asarray(in2, dtype=np.float64)
    if a.ndim != b.ndim:
        _refuse("scipy.signal convolutions of arrays of different dimensions have no derivative rule",
                "give both inputs the same number of dimensions")
    axes = _convolved_axes(a.ndim, axes)
    full_shape = tuple(a.shape[i] + b.shape[i] - 1 if i in axes else max(a.shape[i], b.shape[i])
                       for i in range(a.ndim))
    g_full = np.zeros(full_shape)
    g_full[_crop(full_shape, a.shape, b.shape, mode, axes)] = g
    other = b if wrt == "in1" else a
    if len(axes) == a.ndim:
        out = scipy_signal.correlate(g_full, other, mode="valid", method=method)
    else:
        out = scipy_signal.fftconvolve(g_full, np.flip(other, axis=axes), mode="valid", axes=axes)
    target = a if wrt == "in1" else b
    return _like(in1 if wrt == "in1" else in2, _sum_to_shape(out, target.shape))


def signal_convolve_adjoint(g, in1, in2, mode, axes, wrt, method="auto"):
    """Adjoint of ``scipy.signal.convolve`` (also ``fftconvolve``, ``oaconvolve`` with their ``axes``, and
    ``convolve2d``) for ``wrt`` (``'in1'`` or ``'in2'``): the crop's transpose, then a ``valid`` correlation
    with the other input, summed over the axes that broadcast."""
    _real("convolve", np.iscomplexobj(in1), np.iscomplexobj(in2), np.iscomplexobj(g))
    return _adjoint(g, in1, in2, mode, axes, wrt, method)


def signal_convolve2d_adjoint(g, in1, in2, mode, boundary, fillvalue, wrt):
    """Adjoint of ``scipy.signal.convolve2d`` with zero fill: that of ``convolve``."""
    _fill(boundary, fillvalue)
    return signal_convolve_adjoint(g, in1, in2, mode, None, wrt)


def signal_correlate_adjoint(g, in1, in2, mode, wrt, method="auto"):
    """Adjoint of ``scipy.signal.correlate(in1, in2, mode)``, the convolution of ``in1`` with ``in2`` flipped:
    the convolution's adjoint, flipped back for ``in2``."""
    _real("correlate", np.iscomplexobj(in1), np.iscomplexobj(in2), np.iscomplexobj(g))
    flipped = np.flip(np.asarray(in2, dtype=np.float64))
    out = _adjoint(g, in1, flipped, mode, None, wrt, method)
    return out if wrt == "in1" else _like(in2, np.flip(np.asarray(out)))
