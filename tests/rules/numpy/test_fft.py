"""np.fft end to end: ``sourcediff.grad`` of real functions whose complex intermediates come from the
transforms, against finite differences and ``jax.grad`` of the same function on ``jax.numpy``."""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads


def with_jax(f):
    """``f`` with its global ``np`` replaced by ``jax.numpy``."""
    return types.FunctionType(f.__code__, {**f.__globals__, "np": jnp}, f.__name__, f.__defaults__)


def check(f, args, argnums=0):
    check_grads(f, args, argnums)
    ours = sourcediff.grad(f, argnums=argnums)(*args)
    theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-8, atol=1e-10)


def power_spectrum(x):
    return np.sum(np.abs(np.fft.fft(x)) ** 2)


def filtered(x, w):
    return np.sum(np.fft.irfft(np.fft.rfft(x) * w, n=x.shape[0]) ** 2)


def phases(x):
    y = np.fft.rfft(x)
    return np.sum(np.angle(y[1:3])) + np.sum(np.real(y * np.conj(y)))


def round_trip(x):
    z = np.exp(1j * x)
    return np.sum(np.real(np.fft.ifft(z * x)) ** 2) + np.sum(np.fft.irfft(np.fft.rfft(x) * 2j) ** 2)


def in_a_loop(x):
    z = np.fft.fft(x)
    s = 0.0
    for i in range(3):
        s = s + np.abs(z[i]) * np.real(z[i] * z[i + 1])
    return s


@pytest.mark.parametrize("f", [power_spectrum, phases, round_trip, in_a_loop])
@pytest.mark.parametrize("n", [5, 6])
def test_real_through_complex(f, n, rng):
    check(f, (rng.standard_normal(n),))


@pytest.mark.parametrize("n", [6, 7])
def test_filter_in_both_arguments(n, rng):
    x, w = rng.standard_normal(n), rng.standard_normal(n // 2 + 1)
    check_grads(filtered, (x, w), (0, 1))
    for o, t in (zip(sourcediff.grad(filtered, argnums=(0, 1))(x, w),
                                   jax.grad(with_jax(filtered), argnums=(0, 1))(x, w))):
        np.testing.assert_allclose(o, np.asarray(t), rtol=1e-8, atol=1e-10)


def lengths_and_norms(x, n, norm):
    return np.sum(np.abs(np.fft.fft(x, n=n, norm=norm)) ** 3) + np.sum(np.fft.irfft(np.fft.rfft(x, n=n), n=n + 1,
                                                                                      norm=norm) ** 2)


@pytest.mark.parametrize("n", [3, 6, 9])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_cut_padded_and_normalized(n, norm, rng):
    x = rng.standard_normal(6)
    check_grads(lengths_and_norms, (x, n, norm), 0)
    np.testing.assert_allclose(sourcediff.grad(lengths_and_norms)(x, n, norm),
                               np.asarray(jax.grad(with_jax(lengths_and_norms))(x, n, norm)), rtol=1e-8, atol=1e-10)


def two_dimensional(x):
    z = np.fft.fft2(x)
    w = np.fft.irfft2(np.fft.rfft2(x) * 1j, s=x.shape)
    return np.sum(np.abs(np.fft.fftshift(z)) ** 2) + np.sum(w ** 3) + np.sum(np.fft.ifftn(z).real ** 2)


def along_axes(x):
    z = np.fft.fftn(x, s=(4, 3), axes=(0, 2))
    w = np.fft.irfftn(np.fft.rfftn(x, axes=(1, 2)), s=(3, 4), axes=(1, 2))
    return np.sum(np.abs(np.fft.ifftshift(z, axes=(0,))) ** 2) + np.sum(np.sin(w))


@pytest.mark.parametrize("f, shape", [(two_dimensional, (3, 4)), (two_dimensional, (4, 5)),
                                      (along_axes, (2, 3, 4))])
def test_n_dimensional(f, shape, rng):
    check(f, (rng.standard_normal(shape),))


def spectral_derivative(u, length):
    """The derivative of a periodic signal by the FFT, a solver's building block."""
    k = 2 * np.pi * np.fft.fftfreq(u.shape[0], d=length / u.shape[0])
    du = np.real(np.fft.ifft(1j * k * np.fft.fft(u)))
    return np.sum(du ** 2)


def test_spectral_derivative(rng):
    check(spectral_derivative, (rng.standard_normal(8), 2.0))


def test_complex_output_is_refused(rng):
    def f(x):
        return np.sum(np.fft.fft(x))
    with pytest.raises(sourcediff.SourcediffError, match="output may be complex"):
        sourcediff.grad(f)(rng.standard_normal(4))


def hermitian(x, norm):
    return np.sum(np.fft.hfft(np.fft.ihfft(x, norm=norm) * (1 + 0.5j), norm=norm) ** 2)


@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
@pytest.mark.parametrize("n", [6, 7])
def test_hermitian_transforms(n, norm, rng):
    x = rng.standard_normal(n)
    check_grads(hermitian, (x, norm), 0)
    np.testing.assert_allclose(sourcediff.grad(hermitian)(x, norm),
                               np.asarray(jax.grad(with_jax(hermitian))(x, norm)), rtol=1e-8, atol=1e-10)
