"""Second derivatives through the runtime's adjoints of ``np.imag``, ``np.angle`` and the ``np.fft`` transforms.

The shared test (``test_second_derivatives.py``) skips those rules: their outputs are complex. Here each helper is
reached from a real scalar function of a real array, nonlinear in the transform's result, so that the helper's
cotangent depends on the input. Three Hessian-vector products, each checked against central differences of
``grad(f)``, as there: forward over reverse, reverse over reverse and reverse over forward. A way refused for a
reason named in ``REFUSED`` (a helper outside these rules) is accepted; every case checks at least one way.
"""
import numpy as np
import pytest

import sourcediff
from sourcediff.errors import SourcediffError

from .second_order import WAYS, fd_hvp, hvp

W = np.random.default_rng(11).standard_normal(64)


def fft_cut(x):
    z = np.fft.fft(x, 4, norm="ortho")
    return np.sum(np.real(z) ** 3 * W[:4]) + np.sum(np.imag(z) ** 2 * W[4:8])


def fft_padded(x):
    z = np.fft.fft(x, 9)
    return np.sum(np.real(z) ** 3 * W[:9]) + np.sum(np.imag(z) ** 2 * W[9:18])


def ifft_axis0(x):
    z = np.fft.ifft(x, axis=0, norm="forward")
    return np.sum(np.real(z) ** 3 * W[:12].reshape(3, 4)) + np.sum(np.imag(z) ** 2 * W[12:24].reshape(3, 4))


def fft_of_complex(x):
    z = np.fft.fft(np.fft.ifft(x), 7)
    return np.sum(np.real(z) ** 3 * W[:7]) + np.sum(np.imag(z) ** 2 * W[7:14])


def fftn_sized(x):
    z = np.fft.fftn(x, s=(4, 3), axes=(0, 1), norm="ortho")
    return np.sum(np.real(z) ** 3 * W[:12].reshape(4, 3)) + np.sum(np.imag(z) ** 2 * W[12:24].reshape(4, 3))


def ifftn_all(x):
    z = np.fft.ifftn(x)
    return np.sum(np.real(z) ** 3 * W[:12].reshape(3, 4)) + np.sum(np.imag(z) ** 2 * W[12:24].reshape(3, 4))


def fft2_of(x):
    z = np.fft.fft2(x, norm="forward")
    return np.sum(np.real(z) ** 3 * W[:12].reshape(3, 4)) + np.sum(np.imag(z) ** 2 * W[12:24].reshape(3, 4))


def ifft2_of(x):
    z = np.fft.ifft2(x, s=(2, 5))
    return np.sum(np.real(z) ** 3 * W[:10].reshape(2, 5)) + np.sum(np.imag(z) ** 2 * W[10:20].reshape(2, 5))


def rfft_padded(x):
    z = np.fft.rfft(x, 9)
    return np.sum(np.real(z) ** 3 * W[:5]) + np.sum(np.imag(z) ** 2 * W[5:10])


def rfft_axis0(x):
    z = np.fft.rfft(x, axis=0, norm="ortho")
    return np.sum(np.real(z) ** 3 * W[:8].reshape(2, 4)) + np.sum(np.imag(z) ** 2 * W[8:16].reshape(2, 4))


def rfftn_all(x):
    z = np.fft.rfftn(x)
    return np.sum(np.real(z) ** 3 * W[:9].reshape(3, 3)) + np.sum(np.imag(z) ** 2 * W[9:18].reshape(3, 3))


def rfft2_sized(x):
    z = np.fft.rfft2(x, s=(4, 6), norm="forward")
    return np.sum(np.real(z) ** 3 * W[:16].reshape(4, 4)) + np.sum(np.imag(z) ** 2 * W[16:32].reshape(4, 4))


def irfft_of(x):
    y = np.fft.irfft(np.fft.rfft(x))
    return np.sum(y ** 3 * W[:6])


def irfft_odd(x):
    y = np.fft.irfft(np.fft.rfft(x), 7, norm="ortho")
    return np.sum(y ** 3 * W[:7])


def irfft_axis0(x):
    y = np.fft.irfft(np.fft.fft(x, axis=0), 5, axis=0, norm="forward")
    return np.sum(y ** 3 * W[:20].reshape(5, 4))


def irfftn_of(x):
    y = np.fft.irfftn(np.fft.rfftn(x), s=(3, 5), axes=(0, 1))
    return np.sum(y ** 3 * W[:15].reshape(3, 5))


def irfft2_of(x):
    y = np.fft.irfft2(np.fft.fft2(x), norm="ortho")
    return np.sum(y ** 3 * W[:18].reshape(3, 6))


def hfft_of(x):
    y = np.fft.hfft(np.fft.ihfft(x), 6)
    return np.sum(y ** 3 * W[:6])


def hfft_odd(x):
    y = np.fft.hfft(np.fft.fft(x), 9, norm="ortho")
    return np.sum(y ** 3 * W[:9])


def ihfft_padded(x):
    z = np.fft.ihfft(x, 9, norm="forward")
    return np.sum(np.real(z) ** 3 * W[:5]) + np.sum(np.imag(z) ** 2 * W[5:10])


def angle_of(x):
    z = np.fft.fft(x)
    return np.sum(np.angle(z) * W[:6]) + np.sum(np.angle(z, deg=True) ** 2 * W[6:12])


def imag_of(x):
    z = np.fft.ifft(x, 8)
    return np.sum(np.imag(z) ** 3 * W[:8]) + np.sum(z.imag * W[8:16])


_TANGENT = "a function of yours called with complex values"  # sd.angle_tangent, through its source
CASES = {  # function, shape of x, the helpers it reaches, the refusals accepted
    fft_cut: ((6,), "fft_adjoint", ()),
    fft_padded: ((6,), "fft_adjoint", ()),
    ifft_axis0: ((3, 4), "fft_adjoint", ()),
    fft_of_complex: ((6,), "fft_adjoint", ()),
    fftn_sized: ((3, 4), "fftn_adjoint", ()),
    ifftn_all: ((3, 4), "fftn_adjoint", ()),
    fft2_of: ((3, 4), "fftn_adjoint", ()),
    ifft2_of: ((3, 4), "fftn_adjoint", ()),
    rfft_padded: ((6,), "rfft_adjoint", ()),
    rfft_axis0: ((3, 4), "rfft_adjoint", ()),
    rfftn_all: ((3, 4), "rfftn_adjoint", ()),
    rfft2_sized: ((3, 5), "rfftn_adjoint", ()),
    irfft_of: ((6,), "irfft_adjoint rfft_adjoint", ()),
    irfft_odd: ((6,), "irfft_adjoint rfft_adjoint", ()),
    irfft_axis0: ((3, 4), "irfft_adjoint fft_adjoint", ()),
    irfftn_of: ((3, 4), "irfftn_adjoint rfftn_adjoint", ()),
    irfft2_of: ((3, 4), "irfftn_adjoint fftn_adjoint", ()),
    hfft_of: ((6,), "hfft_adjoint ihfft_adjoint", ()),
    hfft_odd: ((5,), "hfft_adjoint fft_adjoint", ()),
    ihfft_padded: ((6,), "ihfft_adjoint", ()),
    angle_of: ((6,), "angle_adjoint fft_adjoint", (_TANGENT,)),
    imag_of: ((6,), "imag_adjoint fft_adjoint", ()),
}


@pytest.mark.parametrize("f", list(CASES), ids=lambda f: f.__name__)
def test_second_derivatives_through_the_complex_helpers(f):
    shape, helpers, accepted = CASES[f]
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    v = rng.standard_normal(shape)
    gradient = sourcediff.grad(f)
    assert all(f"sd.{name}(" in gradient.source for name in helpers.split())
    expected = fd_hvp(gradient, x, v)
    scale = max(1.0, float(np.max(np.abs(expected))))
    checked = []
    for way in WAYS:
        try:
            got = np.asarray(hvp(way, f, x, v))
        except SourcediffError as exc:
            assert any(reason in str(exc) for reason in accepted), f"{way}: {exc}"
            continue
        assert np.isrealobj(got), way
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=way)
        checked.append(way)
    assert len(checked) >= len(WAYS) - len(accepted), checked


def rfft2_all_axes(x):
    z = np.fft.rfft2(x, axes=None)
    return np.sum(np.real(z) ** 3 * W[:18].reshape(2, 3, 3)) + np.sum(np.imag(z) ** 2 * W[18:36].reshape(2, 3, 3))


def irfft2_all_axes(x):
    y = np.fft.irfft2(np.fft.fftn(x), axes=None)
    return np.sum(y ** 3 * W[:36].reshape(2, 3, 6))


@pytest.mark.parametrize("f", [rfft2_all_axes, irfft2_all_axes], ids=lambda f: f.__name__)
def test_rfft2_and_irfft2_with_axes_none_transform_every_axis(f):
    """As NumPy does (the adjoints once transformed only the last two axes there); first and second derivatives."""
    rng = np.random.default_rng(5)
    x, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    gradient = sourcediff.grad(f)
    eps = 1e-6
    np.testing.assert_allclose(np.sum(gradient(x) * v), (f(x + eps * v) - f(x - eps * v)) / (2 * eps), rtol=1e-6)
    expected = fd_hvp(gradient, x, v)
    got = sourcediff.jvp(gradient, (x,), (v,))[1]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * max(1.0, float(np.max(np.abs(expected)))))
