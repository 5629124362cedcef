"""NumPy runtime helpers of the rules for complex values (abs, angle, imag) and of ``np.fft``.

Complex adjoints follow JAX's convention (``registry.defcomplex``): the adjoint
``c`` of a complex ``z`` stands for ``dz -> Re(c * dz)``. A real argument's
adjoint is real: where a helper's argument turns out real, it returns the real
part.
"""
from __future__ import annotations

import operator

import numpy as np

__all__ = ["eigvals_adjoint", "eigvals_tangent", "complex_abs_adjoint", "complex_abs_tangent", "angle_adjoint", "angle_tangent", "imag_adjoint",
           "fft_adjoint", "rfft_adjoint", "irfft_adjoint", "hfft_adjoint", "ihfft_adjoint", "fftn_adjoint", "rfftn_adjoint", "irfftn_adjoint"]


def _real_if(x, out):
    """``out``, or its real part where the primal ``x`` is real."""
    return out if np.iscomplexobj(x) else np.real(out)


def complex_abs_adjoint(g, x, ans):
    """Adjoint of ``|x|`` for complex ``x``: ``g * conj(x) / |x|``, 0 where ``x == 0`` (as for real ``x``)."""
    return _real_if(x, np.where(ans == 0, 0.0, g * np.conj(x) / np.where(ans == 0, 1.0, ans)))


def complex_abs_tangent(t, x, ans):
    """Tangent of ``|x|``: ``Re(conj(x) t) / |x|``, 0 where ``x == 0``."""
    return np.where(ans == 0, 0.0, np.real(np.conj(x) * t) / np.where(ans == 0, 1.0, ans))


def _angle_scale(deg):
    return 180.0 / np.pi if deg else 1.0


def angle_adjoint(g, z, deg=False):
    """Adjoint of ``np.angle(z)``: ``-1j g conj(z) / |z|**2``; 0 for real ``z`` (piecewise constant) and at 0."""
    if not np.iscomplexobj(z):
        return _zero_like(z)
    size = np.real(z * np.conj(z))
    return np.where(size == 0, 0.0, -1j * g * _angle_scale(deg) * np.conj(z) / np.where(size == 0, 1.0, size))


def angle_tangent(t, z, deg=False):
    """Tangent of ``np.angle(z)``: ``Im(conj(z) t) / |z|**2``, 0 at 0."""
    size = np.real(z * np.conj(z))
    return np.where(size == 0, 0.0, _angle_scale(deg) * np.imag(np.conj(z) * t) / np.where(size == 0, 1.0, size))


def imag_adjoint(g, val):
    """Adjoint of ``np.imag(val)`` (and ``val.imag``): ``-1j * g``, or 0 for a real ``val``."""
    if np.iscomplexobj(val):
        return -1j * np.asarray(g)
    return _zero_like(val)


def _zero_like(x):
    """The zero adjoint of a real ``x`` (a function of it that is piecewise constant)."""
    return np.zeros(np.shape(x)) if np.ndim(x) else 0.0


# -- eigenvalues of a general matrix ---------------------------------------------------------------

def _eigenvectors(a, what):
    """The eigenvectors of ``a`` and their inverse; refuses a matrix that is not diagonalizable, where the
    eigenvalues have no derivative."""
    _, vectors = np.linalg.eig(a)
    if np.any(np.linalg.cond(vectors) > 1e10):
        from sourcediff.errors import SourcediffError

        raise SourcediffError(f"the {what} of np.linalg.eigvals at a matrix that is not diagonalizable (repeated "
                              "eigenvalues sharing an eigenvector): the eigenvalues have no derivative there",
                              hint="differentiate at a nearby matrix, or use np.linalg.eigvalsh for a symmetric one")
    return vectors, np.linalg.inv(vectors)


def eigvals_adjoint(g, a):
    """Adjoint of ``np.linalg.eigvals(a)``: ``V^-T diag(g) V^T`` (``dw = diag(V^-1 da V)``), real for a real ``a``."""
    vectors, inverse = _eigenvectors(a, "adjoint")
    out = np.swapaxes(inverse, -1, -2) @ (np.asarray(g)[..., :, None] * np.swapaxes(vectors, -1, -2))
    return _real_if(a, out)


def eigvals_tangent(t, a):
    """Tangent of ``np.linalg.eigvals(a)``: the diagonal of ``V^-1 t V``."""
    vectors, inverse = _eigenvectors(a, "tangent")
    return np.einsum("...ij,...jk,...ki->...i", inverse, t, vectors)


# -- np.fft ------------------------------------------------------------------------------------------

def _fit(x, length, axis):
    """``x`` cut or padded with zeros to ``length`` along ``axis`` (what the transforms do to their input)."""
    have = x.shape[axis]
    if have == length:
        return x
    if have > length:
        return np.take(x, np.arange(length), axis=axis)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, length - have)
    return np.pad(x, pad)


def _axis(x, axis):
    return operator.index(axis) % np.ndim(x)


def _fft_transpose(g, length, axis, norm, kind):
    """The transpose of ``np.fft.<kind>(a, n, axis, norm)`` (fft, ifft, rfft or irfft) applied to ``g``, for
    an input of ``length`` along ``axis``; no real part taken."""
    g = np.asarray(g)
    if kind in ("fft", "ifft"):  # symmetric matrices: the transpose is the transform itself
        transform = np.fft.fft if kind == "fft" else np.fft.ifft
        return _fit(transform(g, axis=axis, norm=norm), length, axis)
    raise ValueError(kind)


def _rfft_transpose(g, length, n, axis, norm):
    """rfft keeps the first n // 2 + 1 rows of the fft of its input cut or padded to ``n``."""
    full = _fit(np.asarray(g), n, axis)  # the rows rfft drops, as zeros
    return _fit(np.fft.fft(full, axis=axis, norm=norm), length, axis)


def _irfft_transpose(g, length, n, axis, norm):
    kept = n // 2 + 1
    spectrum = _fit(np.fft.ifft(np.asarray(g), axis=axis, norm=norm), kept, axis)
    weights = np.full(kept, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    shape = [1] * spectrum.ndim
    shape[axis] = kept
    return _fit(spectrum * weights.reshape(shape), length, axis)


def fft_adjoint(g, a, axis, norm, kind):
    """Adjoint of ``np.fft.fft`` or ``np.fft.ifft`` (``kind``) of ``a`` along ``axis`` (``g`` has the length
    ``n`` gave the transform)."""
    ax = _axis(a, axis)
    return _real_if(a, _fft_transpose(g, np.shape(a)[ax], ax, norm, kind))


def rfft_adjoint(g, a, n, axis, norm):
    """Adjoint of ``np.fft.rfft(a, n, axis, norm)``: the dropped half of the spectrum as zeros, then the
    transpose of the fft; real, as ``a`` is."""
    ax = _axis(a, axis)
    length = np.shape(a)[ax]
    return np.real(_rfft_transpose(g, length, length if n is None else n, ax, norm))


def irfft_adjoint(g, a, n, axis, norm):
    """Adjoint of ``np.fft.irfft(a, n, axis, norm)``: the ifft of ``g``, weighted 1 at the zero and (``n``
    even) the Nyquist frequency, whose imaginary parts irfft ignores, and 2 elsewhere."""
    ax = _axis(a, axis)
    length = np.shape(a)[ax]
    return _real_if(a, _irfft_transpose(g, length, 2 * (length - 1) if n is None else n, ax, norm))


_SWAPPED_NORM = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def hfft_adjoint(g, a, n, axis, norm):
    """Adjoint of ``np.fft.hfft(a, n, axis, norm)``, which is ``irfft(conj(a))`` with the norm swapped."""
    return np.conj(irfft_adjoint(g, a, n, axis, _SWAPPED_NORM[norm]))


def ihfft_adjoint(g, a, n, axis, norm):
    """Adjoint of ``np.fft.ihfft(a, n, axis, norm)``, which is ``conj(rfft(a))`` with the norm swapped."""
    return rfft_adjoint(np.conj(g), a, n, axis, _SWAPPED_NORM[norm])


def _sizes(a, s, axes, default_axes):
    """The axes and per-axis lengths of an n-dimensional transform, as NumPy chooses them."""
    ndim = np.ndim(a)
    if axes is None:
        axes = range(ndim) if s is None and default_axes is None else \
            (default_axes if s is None else range(ndim - len(s), ndim))
    axes = [operator.index(ax) % ndim for ax in axes]
    s = [np.shape(a)[ax] for ax in axes] if s is None else list(s)
    return axes, s


def fftn_adjoint(g, a, s, axes, norm, kind, default_axes=None):
    """Adjoint of ``np.fft.fftn``/``ifftn`` (``fft2``/``ifft2`` with ``default_axes=(-2, -1)``): one 1-d
    transpose per axis."""
    axes, _ = _sizes(a, s, axes, default_axes)
    out = np.asarray(g)
    for ax in axes:
        out = _fft_transpose(out, np.shape(a)[ax], ax, norm, kind)
    return _real_if(a, out)


def rfftn_adjoint(g, a, s, axes, norm, default_axes=None):
    """Adjoint of ``np.fft.rfftn``/``rfft2``: the fft transposes on all but the last axis, then rfft's."""
    axes, s = _sizes(a, s, axes, default_axes)
    out = np.asarray(g)
    for ax, n in zip(axes[:-1], s[:-1]):
        out = _fft_transpose(out, np.shape(a)[ax], ax, norm, "fft")
    return np.real(_rfft_transpose(out, np.shape(a)[axes[-1]], s[-1], axes[-1], norm))


def irfftn_adjoint(g, a, s, axes, norm, default_axes=None):
    """Adjoint of ``np.fft.irfftn``/``irfft2``: irfft's transpose on the last axis, then the ifft ones."""
    axes, sizes = _sizes(a, s, axes, default_axes)
    last = axes[-1]
    n = 2 * (np.shape(a)[last] - 1) if s is None else sizes[-1]
    out = _irfft_transpose(g, np.shape(a)[last], n, last, norm)
    for ax in axes[:-1]:
        out = _fft_transpose(out, np.shape(a)[ax], ax, norm, "ifft")
    return _real_if(a, out)
