"""Compositions of the transformations, to third order: each level differentiates the generated code of the one
below (Jacobians and calls of ``jvp`` through their glue), checked against the same composition in JAX."""
import linecache

import numpy as np
import pytest

import sourcediff
from sourcediff.errors import SourcediffError

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def mixing(x):
    y = x * 1.0
    for _ in range(2):
        y = np.sin(y) * x[0] + y[::-1]
    return y


def mixing_jax(x):
    y = x * 1.0
    for _ in range(2):
        y = jnp.sin(y) * x[0] + y[::-1]
    return y


def energy(x):
    return np.sum(mixing(x) ** 2)


def energy_jax(x):
    return jnp.sum(mixing_jax(x) ** 2)


X = np.array([0.3, 0.5, 0.7])
V = np.array([1.0, -0.3, 0.2])
THIRD = {"jacfwd": sourcediff.jacfwd, "jacrev": sourcediff.jacrev}


@pytest.mark.parametrize("outer,middle,inner", [(a, b, c) for a in THIRD for b in THIRD for c in THIRD])
def test_third_order_jacobians_of_a_loop_match_jax(outer, middle, inner):
    ours = THIRD[outer](THIRD[middle](THIRD[inner](mixing)))(X)
    expected = jax.jacfwd(jax.jacfwd(jax.jacfwd(mixing_jax)))(X)
    np.testing.assert_allclose(ours, np.asarray(expected), rtol=1e-10, atol=1e-12)


def test_third_derivative_of_a_hessian():
    ours = sourcediff.jacfwd(sourcediff.hessian(energy))(X)
    np.testing.assert_allclose(ours, np.asarray(jax.jacfwd(jax.hessian(energy_jax))(X)), rtol=1e-10, atol=1e-12)


def test_reverse_mode_of_forward_code_that_writes_in_place_is_refused():
    """A Hessian is forward mode over the gradient, whose code writes in place (its tape, its adjoints). Reverse
    mode over such forward code gave NaN and wrong third derivatives on fuzz programs with in-place updates (seeds
    1300902340, 1300904230): it is refused, with the ways that work."""
    with pytest.raises(SourcediffError, match="reverse mode .* of forward-mode code that writes") as refused:
        sourcediff.jacrev(sourcediff.hessian(energy))(X)
    assert "jacfwd(jacfwd(f))" in refused.value.hint


def test_hessian_of_a_jacobian_by_both_modes():
    ours = sourcediff.jacrev(sourcediff.grad(energy))(X)
    np.testing.assert_allclose(ours, np.asarray(jax.hessian(energy_jax)(X)), rtol=1e-10, atol=1e-12)


def directional(y):
    return np.sum(sourcediff.jvp(mixing, (y,), (V,))[1] ** 2)


def directional_jax(y):
    return jnp.sum(jax.jvp(mixing_jax, (y,), (V,))[1] ** 2)


@pytest.mark.parametrize("transform", ["grad", "jacfwd", "jacrev"])
def test_derivative_of_a_function_that_calls_jvp(transform):
    ours = getattr(sourcediff, transform)(directional)(X)
    np.testing.assert_allclose(ours, np.asarray(jax.grad(directional_jax)(X)), rtol=1e-10, atol=1e-12)


def test_jvp_of_a_function_that_calls_jvp():
    _, ours = sourcediff.jvp(directional, (X,), (V,))
    _, expected = jax.jvp(directional_jax, (X,), (V,))
    assert ours == pytest.approx(float(expected), rel=1e-10)


def squared_jacobian(y):
    return np.sum(sourcediff.jacfwd(mixing)(y) ** 2)


def squared_jacobian_jax(y):
    return jnp.sum(jax.jacfwd(mixing_jax)(y) ** 2)


def sine_of_jacobian(y):
    return np.sum(np.sin(sourcediff.jacrev(mixing)(y)))


def sine_of_jacobian_jax(y):
    return jnp.sum(jnp.sin(jax.jacrev(mixing_jax)(y)))


@pytest.mark.parametrize("f,f_jax", [(squared_jacobian, squared_jacobian_jax), (sine_of_jacobian, sine_of_jacobian_jax)],
                         ids=["jacfwd", "jacrev"])
def test_derivatives_of_a_function_that_calls_a_jacobian(f, f_jax):
    expected = np.asarray(jax.grad(f_jax)(X))
    np.testing.assert_allclose(sourcediff.grad(f)(X), expected, rtol=1e-10, atol=1e-12)
    _, along = sourcediff.jvp(f, (X,), (V,))
    assert along == pytest.approx(float(expected @ V), rel=1e-10)


def two_arguments(a, b):
    return np.array([a * np.sin(b[0]), b[1] ** 2 * a, np.sum(b) * a ** 2])


def two_arguments_jax(a, b):
    return jnp.array([a * jnp.sin(b[0]), b[1] ** 2 * a, jnp.sum(b) * a ** 2])


def test_second_jacobian_with_respect_to_two_arguments_nests_like_jax():
    b = np.array([0.4, -1.2])
    ours = sourcediff.jacfwd(sourcediff.jacrev(two_arguments, argnums=(0, 1)), argnums=1)(0.7, b)
    expected = jax.jacfwd(jax.jacrev(two_arguments_jax, argnums=(0, 1)), argnums=1)(0.7, b)
    assert len(ours) == 2
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-10, atol=1e-12)


def test_a_jacobian_shows_its_glue_and_the_derivative_it_calls():
    jacobian = sourcediff.jacfwd(mixing)
    assert jacobian.source == ""  # its code is written for the arguments of a call
    jacobian(X)
    assert "def mixing_jacobian(x):" in jacobian.source
    assert "def mixing_jvp(x_dot, x):" in jacobian.source


def in_place(x):
    u = x.copy()
    u[1:] += u[:-1] * x[0]
    return u


def test_a_jacobian_of_a_function_that_writes_into_its_argument_is_refused_when_differentiated_again():
    def writes(x):
        x[0] = x[0] * 2.0
        return x * 1.0

    np.testing.assert_allclose(sourcediff.jacfwd(in_place)(X), np.asarray(jax.jacfwd(
        lambda x: x.at[1:].add(x[:-1] * x[0]))(X)), rtol=1e-12)
    with pytest.raises(SourcediffError, match="writes into its argument"):
        sourcediff.jacfwd(sourcediff.jacfwd(writes))(X.copy())


def calls_vjp(y):
    return sourcediff.vjp(energy, y)[0]


def test_calls_of_vjp_inside_differentiated_code_are_refused_with_what_to_call_instead():
    with pytest.raises(SourcediffError, match="sourcediff.vjp inside a differentiated function") as refused:
        sourcediff.grad(calls_vjp)(X)
    assert "jacrev" in refused.value.hint


def test_a_third_level_through_calls_of_derived_functions_is_refused_loudly():
    """grad(f) or jvp called inside a function is differentiated once; differentiating that derivative again
    is refused, with the way that works."""
    with pytest.raises(SourcediffError, match="a derived function called inside a differentiated function") \
            as refused:
        sourcediff.hessian(directional)(X)
    assert "grad(grad(f))" in refused.value.hint


def _notebook_cell(factor):
    """``def f(x): return np.sin(x) * factor``, as a notebook cell defines it: each run has its own source."""
    source = f"def f(x):\n    return np.sin(x) * {factor}\n"
    filename = f"<notebook cell with factor {factor}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace = {"np": np, "__name__": "notebook"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


def test_functions_with_one_qualified_name_read_back_their_own_generated_code():
    """A cell run again defines a new f with the old one's name: the derivatives' generated code is registered
    under one file name, and the second derivative of the first f read the second f's code (-3 sin x)."""
    first, second = _notebook_cell(2.0), _notebook_cell(3.0)
    first_grad, second_grad = sourcediff.grad(first), sourcediff.grad(second)
    first_grad(0.3), second_grad(0.3)
    assert sourcediff.grad(first_grad)(0.3) == pytest.approx(-2.0 * np.sin(0.3), rel=1e-14)
    assert sourcediff.grad(second_grad)(0.3) == pytest.approx(-3.0 * np.sin(0.3), rel=1e-14)


# -- functions passed as values: the runtime's dispatch, differentiated through glue -------------------

def pendulum(y, theta):
    return np.array([y[1], -theta[0] * np.sin(y[0]) - theta[1] * y[1]])


def rk4(f, y, theta, dt, n):
    for _ in range(n):
        k1 = f(y, theta)
        k2 = f(y + 0.5 * dt * k1, theta)
        k3 = f(y + 0.5 * dt * k2, theta)
        k4 = f(y + dt * k3, theta)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def fit(theta):
    return np.sum(rk4(pendulum, np.array([1.0, 0.0]), theta, 0.1, 10) ** 2)


def fit_short(theta):
    """Three steps: the third derivatives below run forward mode over it in many directions."""
    return np.sum(rk4(pendulum, np.array([1.0, 0.0]), theta, 0.1, 3) ** 2)


def fit_jax(theta, steps=10):
    def pendulum_jax(y, theta):
        return jnp.array([y[1], -theta[0] * jnp.sin(y[0]) - theta[1] * y[1]])

    y, dt = jnp.array([1.0, 0.0]), 0.1
    for _ in range(steps):
        k1 = pendulum_jax(y, theta)
        k2 = pendulum_jax(y + 0.5 * dt * k1, theta)
        k3 = pendulum_jax(y + 0.5 * dt * k2, theta)
        k4 = pendulum_jax(y + dt * k3, theta)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return jnp.sum(y ** 2)


THETA = np.array([0.8, 0.1])
SECOND = {"hessian": lambda f: sourcediff.hessian(f),
          "jacrev(grad)": lambda f: sourcediff.jacrev(sourcediff.grad(f)),
          "jacfwd(jacfwd)": lambda f: sourcediff.jacfwd(sourcediff.jacfwd(f)),
          "jacrev(jacfwd)": lambda f: sourcediff.jacrev(sourcediff.jacfwd(f))}


@pytest.mark.parametrize("way", sorted(SECOND))
def test_second_derivatives_of_an_ode_solver_given_its_right_hand_side_as_a_value(way):
    """rk4 calls f, a function it was passed: the first derivative dispatches to f's halves when it runs
    (sd.call_forward, sd.call_jvp), and the second differentiates the glue that calls them."""
    np.testing.assert_allclose(SECOND[way](fit)(THETA), np.asarray(jax.hessian(fit_jax)(THETA)), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("way", ["jacfwd(jacfwd(jacfwd))", "jacrev(jacfwd(jacrev))"])
def test_third_derivatives_of_an_ode_solver_given_its_right_hand_side_as_a_value(way):
    outer, middle, inner = (getattr(sourcediff, name) for name in way.replace(")", "").split("("))
    expected = jax.jacfwd(jax.hessian(lambda theta: fit_jax(theta, 3)))(THETA)
    np.testing.assert_allclose(outer(middle(inner(fit_short)))(THETA), np.asarray(expected), rtol=1e-9, atol=1e-11)
