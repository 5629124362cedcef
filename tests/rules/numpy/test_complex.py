"""Complex values inside a real function: their parts, holomorphic functions of them, and the refusals, end
to end against finite differences and ``jax.grad`` (JAX uses the same convention for complex adjoints)."""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads


def with_jax(f):
    return types.FunctionType(f.__code__, {**f.__globals__, "np": jnp}, f.__name__, f.__defaults__)


def check(f, args, argnums=0):
    check_grads(f, args, argnums)
    ours = sourcediff.grad(f, argnums=argnums)(*args)
    theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
    if isinstance(argnums, int):
        ours, theirs = (ours,), (theirs,)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, np.asarray(t), rtol=1e-8, atol=1e-10)


def parts(x):
    z = x * (1 + 2j)
    return np.sum(np.maximum(z.real, 0.1) * np.angle(z) + np.abs(z) ** 3 + (z ** 2).imag + np.conj(z).imag)


def polar(r, theta):
    z = r * np.exp(1j * theta)
    w = z * z + np.conj(z) / (z + 3.0)
    return np.sum(np.real(w) ** 2 + np.imag(w) + np.angle(w, deg=True) / 90.0)


def holomorphic_chain(x):
    z = x + 0.5j
    w = np.sin(z) * np.exp(z) / np.sqrt(z + 2.0) - np.log(z + 4.0) + np.tanh(z) ** 3
    return np.sum(np.abs(w))


def reductions_and_products(x):
    z = (x + 1j * x[::-1]).reshape(2, 3)
    m = z.T @ z + np.outer(z[0], z[1])
    return np.abs(np.sum(m)) + np.abs(np.mean(np.cumsum(z, axis=1))) + np.real(np.trace(m))


def scalar_complex(a, b):
    z = a + 1j * b
    w = z ** 3 + 2.0 / z
    return abs(w) + w.real * w.imag


@pytest.mark.parametrize("f", [parts, holomorphic_chain, reductions_and_products])
def test_complex_intermediates(f, rng):
    check(f, (rng.uniform(0.5, 1.5, 6),))


def test_polar_in_both_arguments(rng):
    check(polar, (rng.uniform(0.5, 1.5, 4), rng.uniform(0.1, 1.4, 4)), argnums=(0, 1))


def test_python_complex_scalars():
    check(scalar_complex, (0.7, -1.3), argnums=(0, 1))


def merged(x, c):
    y = x
    if c > 0:
        y = np.fft.fft(x)
    return np.sum(np.abs(y) ** 2)


@pytest.mark.parametrize("c", [1.0, -1.0])
def test_a_name_complex_on_one_branch_only(c, rng):
    x = rng.standard_normal(5)
    check_grads(merged, (x, c), 0)


def test_the_parameter_reassigned_to_complex_gets_a_real_gradient(rng):
    def f(x):
        x = np.fft.fft(x)
        return np.sum(np.abs(x)) + np.sum(np.real(x))
    x = rng.standard_normal(5)
    check_grads(f, (x,))
    assert sourcediff.grad(f)(x).dtype == np.float64


# -- refusals ----------------------------------------------------------------------------------------

def test_a_function_without_a_rule_for_complex_arguments_is_refused(rng):
    def f(x):
        z = x * 1j
        return np.sum(np.abs(np.maximum(z, 0.0)))
    with pytest.raises(sourcediff.UnsupportedSyntaxError, match="no derivative rule for complex arguments") as info:
        sourcediff.grad(f)(rng.standard_normal(3))
    assert "np.maximum" in str(info.value) and "test_complex.py" in str(info.value)


def stored_whole(x):
    z = np.zeros(3, dtype=complex)
    z[:] = x[:3] * 2
    return np.sum(np.abs(z))


def stored_in_a_loop(x):
    z = np.zeros(4, dtype=np.complex128)
    for k in range(4):
        z[k] = np.exp(1j * x[k]) * x[k]
    z[1] = z[1] + x[0] * 3j
    return np.sum(np.real(z * np.conj(z[::-1])))


def real_into_complex(x):
    psi = np.exp(1j * x)
    psi[2] = x[0]
    return np.sum(np.imag(psi) + np.abs(psi) ** 2)


@pytest.mark.parametrize("f", [stored_whole, stored_in_a_loop, real_into_complex])
def test_writes_into_complex_arrays(f, rng):
    check_grads(f, (rng.standard_normal(4),))


def test_a_list_of_complex_values_is_refused(rng):
    def f(x):
        values = []
        values.append(x[0] * 1j)
        return np.abs(values[0])
    with pytest.raises(sourcediff.UnsupportedSyntaxError, match="complex values"):
        sourcediff.grad(f)(rng.standard_normal(3))


def square_of(z):
    return z * z


def test_a_helper_called_with_complex_values_is_refused(rng):
    def f(x):
        return np.sum(np.abs(square_of(x * 1j)))
    with pytest.raises(sourcediff.UnsupportedSyntaxError, match="function of yours called with complex"):
        sourcediff.grad(f)(rng.standard_normal(3))


ROOTS_OF_MINUS_ONE = np.array([1.0, 0.0, 1.0])


def test_a_complex_value_the_source_does_not_show_is_caught_when_the_gradient_comes_out(rng):
    def f(x):
        c = np.roots(ROOTS_OF_MINUS_ONE)[0]  # +-1j, from a function without a rule: not visible in the source
        return np.sum(np.abs(x * c))
    with pytest.raises(sourcediff.SourcediffError, match="came out complex"):
        sourcediff.grad(f)(rng.standard_normal(3))


def test_a_complex_argument_is_still_refused():
    def f(z):
        return np.abs(z)
    with pytest.raises(sourcediff.SourcediffError, match="complex"):
        sourcediff.grad(f)(1.0 + 2.0j)


def spectral_abscissa(a):
    w = np.linalg.eigvals(a)
    return np.sum(np.real(w) ** 2) + np.sum(np.abs(w) ** 3)


def test_eigenvalues_of_a_general_matrix(rng):
    check(spectral_abscissa, (rng.standard_normal((4, 4)),))


def test_eigenvalues_at_a_defective_matrix_are_refused():
    jordan = np.array([[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(sourcediff.SourcediffError, match="not diagonalizable"):
        sourcediff.grad(spectral_abscissa)(jordan)
