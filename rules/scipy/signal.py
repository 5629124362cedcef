"""Rules for ``scipy.signal``: ``convolve``, ``correlate``, ``fftconvolve``, ``oaconvolve`` and ``convolve2d``.

Imported by the registry the first time it looks up a ``scipy.signal`` function
(``registry.load_rules_for``), never by ``import sourcediff``. The helpers are in
``backends/scipy_signal_ops.py``.

Each is bilinear in its two inputs (real arrays of the same number of
dimensions, any number): the forward templates are the function itself with
one input replaced by its tangent. Every mode is a crop of the full
convolution (``same``: the ``n1`` central entries, from ``(n2 - 1) // 2``;
``valid``: the ``|n1 - n2| + 1`` entries from ``min(n1, n2) - 1``, whichever
input is longer), and ``correlate(in1, in2)`` is the convolution of ``in1``
with ``in2`` flipped, cropped alike. So the adjoint of an input is ``g`` put
back in place in zeros of the full shape, correlated (``valid``) with the
other input (flipped back for ``correlate``'s ``in2``). ``method`` ('auto',
'direct', 'fft') picks an algorithm, not the result, and is accepted; the
adjoint uses the same one. ``fftconvolve`` and ``oaconvolve`` take ``axes``
(the other axes broadcast; their adjoints are summed back over them).
``convolve2d`` is covered with ``boundary='fill'`` and ``fillvalue=0`` (its
defaults); other boundaries are refused when the derivative runs.
``correlate2d`` has no rule: its ``same`` mode centres even-sized kernels
differently from ``correlate``'s.
"""
from __future__ import annotations

import scipy.signal as signal

from ..registry import defbilinear

for _primal, _spec, _apply, _adjoint in (
    (signal.convolve, "in1, in2, mode='full', method='auto'", "sd.signal_convolve(in1, in2, mode, method)",
     "sd.signal_convolve_adjoint(g, in1, in2, mode, None, {wrt!r}, method)"),
    (signal.correlate, "in1, in2, mode='full', method='auto'", "sd.signal_correlate(in1, in2, mode, method)",
     "sd.signal_correlate_adjoint(g, in1, in2, mode, {wrt!r}, method)"),
    (signal.fftconvolve, "in1, in2, mode='full', axes=None", "sd.signal_fftconvolve(in1, in2, mode, axes)",
     "sd.signal_convolve_adjoint(g, in1, in2, mode, axes, {wrt!r})"),
    (signal.oaconvolve, "in1, in2, mode='full', axes=None", "sd.signal_oaconvolve(in1, in2, mode, axes)",
     "sd.signal_convolve_adjoint(g, in1, in2, mode, axes, {wrt!r})"),
    (signal.convolve2d, "in1, in2, mode='full', boundary='fill', fillvalue=0",
     "sd.signal_convolve2d(in1, in2, mode, boundary, fillvalue)",
     "sd.signal_convolve2d_adjoint(g, in1, in2, mode, boundary, fillvalue, {wrt!r})"),
):
    defbilinear(_primal, _spec, apply=_apply, returns="new", in1=_adjoint.format(wrt="in1"),
                in2=_adjoint.format(wrt="in2"))
