"""Second derivatives through the runtime's adjoint and tangent of ``|z|`` for complex ``z``, angle's tangent, and
the adjoint and tangent of ``np.linalg.eigvals`` (complex eigenvalues of real matrices).

Each function is real, of a real array, and nonlinear in the complex values, so that the helpers' arguments depend
on the input. Three Hessian-vector products (``second_order.check_second_derivatives``), each against central
differences of ``grad(f)``; none may be refused.
"""
import numpy as np
import pytest

import sourcediff

from .second_order import WAYS, check_second_derivatives

_RNG = np.random.default_rng(17)
W = _RNG.standard_normal(64)
A = _RNG.standard_normal((4, 4))
B = _RNG.standard_normal((4, 4))
Y = _RNG.standard_normal((2, 5))
TURN = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])  # eigenvalues 1j, -1j and 2


def abs_affine(x):
    return np.sum(np.abs(x * (1 + 2j) + 0.5j) ** 3)


def abs_of_fft(x):
    return np.sum(np.abs(np.fft.fft(x)) ** 2)


def abs_of_rfft_weighted(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 3 * W[:4])


def builtin_abs(x):
    return np.sum(abs(x * 1j + x ** 2) ** 3 * W[:5])


def abs_broadcast(x):
    return np.sum(np.abs(x + 1j * Y) ** 3)


def abs_of_complex_scalar(x):
    z = x[0] + 1j * x[1]
    return abs(z * z + 0.3) ** 3 + x[2] * abs(z)


def angle_of_parabola(x):
    return np.sum(np.angle(x + 1j * x ** 2) * W[:5])


def angle_in_degrees_squared(x):
    return np.sum(np.angle(np.fft.fft(x), deg=True) ** 2 * W[:6])


def eigvals_on_a_line(x):
    return np.sum(np.real(np.linalg.eigvals(A + x[0] * B)) * W[:4])


def eigvals_weighted(x):
    w = np.linalg.eigvals(x)
    return np.sum(np.real(w) ** 3 * W[:4]) + np.sum(np.imag(w) ** 2 * W[4:8])


def eigvals_moduli(x):
    return np.sum(np.abs(np.linalg.eigvals(x + A)) ** 3 * W[:4])


def eigvals_stacked(x):
    w = np.linalg.eigvals(x)
    return np.sum(np.real(w * w) * W[:6].reshape(2, 3)) + np.sum(np.imag(w) ** 2)


def eigvals_real_parts_cubed(x):  # a real cotangent reaches eigvals_adjoint
    return np.sum(np.real(np.linalg.eigvals(TURN + 0.3 * x)) ** 3 * W[:3])


def eigvals_squared(x):  # eigvals_tangent's result is complex, though its arguments are real
    w = np.linalg.eigvals(TURN + 0.3 * x)
    return np.sum(np.real(w * w) * W[:3])


def abs_with_real_tangent(x):  # x + 0.5j is complex, its tangent real
    return np.sum(np.abs(x + 0.5j) ** 3 * W[:5])


def angle_with_real_tangent(x):
    return np.sum(np.angle(x + 1j) ** 2 * W[:5])


CASES = {  # function, shape of x, the helpers that the gradient's code calls, those that the jvp's code calls
    abs_affine: ((5,), "complex_abs_adjoint unbroadcast", "complex_abs_tangent"),
    abs_of_fft: ((6,), "complex_abs_adjoint fft_adjoint", "complex_abs_tangent"),
    abs_of_rfft_weighted: ((6,), "complex_abs_adjoint rfft_adjoint", "complex_abs_tangent"),
    builtin_abs: ((5,), "complex_abs_adjoint", "complex_abs_tangent"),
    abs_broadcast: ((5,), "complex_abs_adjoint unbroadcast", "complex_abs_tangent"),
    abs_of_complex_scalar: ((3,), "complex_abs_adjoint", "complex_abs_tangent"),
    angle_of_parabola: ((5,), "angle_adjoint unbroadcast", "angle_tangent"),
    angle_in_degrees_squared: ((6,), "angle_adjoint fft_adjoint", "angle_tangent"),
    eigvals_on_a_line: ((3,), "eigvals_adjoint", "eigvals_tangent"),
    eigvals_weighted: ((4, 4), "eigvals_adjoint", "eigvals_tangent"),
    eigvals_moduli: ((4, 4), "eigvals_adjoint complex_abs_adjoint", "eigvals_tangent complex_abs_tangent"),
    eigvals_stacked: ((2, 3, 3), "eigvals_adjoint", "eigvals_tangent"),
    eigvals_real_parts_cubed: ((3, 3), "eigvals_adjoint", "eigvals_tangent"),
    eigvals_squared: ((3, 3), "eigvals_adjoint", "eigvals_tangent"),
    abs_with_real_tangent: ((5,), "complex_abs_adjoint", "complex_abs_tangent"),
    angle_with_real_tangent: ((5,), "angle_adjoint", "angle_tangent"),
}


@pytest.mark.parametrize("f", list(CASES), ids=lambda f: f.__name__)
def test_second_derivatives_through_the_helpers(f):
    shape, adjoints, tangents = CASES[f]
    x = np.random.default_rng(3).standard_normal(shape)
    gradient, forward = sourcediff.grad(f), sourcediff.jacfwd(f)
    gradient(x), forward(x)
    assert all(f"sd.{name}(" in gradient.source for name in adjoints.split()), gradient.source
    assert all(f"sd.{name}(" in forward.source for name in tangents.split()), forward.source
    assert check_second_derivatives(f, x, rtol=1e-4) == list(WAYS)


@pytest.mark.parametrize("f", [abs_of_fft, angle_in_degrees_squared, eigvals_weighted], ids=lambda f: f.__name__)
def test_the_hessian_is_symmetric_and_real(f):
    shape = CASES[f][0]
    x = np.random.default_rng(4).standard_normal(shape)
    hessian = np.asarray(sourcediff.hessian(f)(x)).reshape(x.size, x.size)
    assert np.isrealobj(hessian)
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-6, atol=1e-8 * max(1.0, np.max(np.abs(hessian))))
