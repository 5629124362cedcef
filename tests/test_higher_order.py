"""Higher order through forward mode: hessian (forward over reverse), jacfwd of gradients, jvp of jvp, third
order; against jax.hessian and finite differences of sourcediff's own checked first derivatives."""
import numpy as np
import pytest

import sourcediff

from .conftest import _jax_version

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def fd_jacobian(g, x, eps=1e-5):
    """Central differences of ``g`` (a first derivative, itself checked against finite differences elsewhere)."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        cols.append((np.asarray(g(x + e)) - np.asarray(g(x - e))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(g(x)) + x.shape)


def loop(x):
    s = 0.0
    for i in range(4):
        s = s + np.sum(np.sin(x * (i + 1))) / (i + 1)
    return s


def branches(x):
    if np.sum(x) > 0:
        y = np.exp(0.3 * x)
    else:
        y = x ** 3
    return np.sum(y * np.cos(x))


def early_return(x):
    total = 0.0
    for i in range(10):
        total = total + np.sum(x ** 2) * (i + 1)
        if total > 5.0:
            return total * np.prod(x)
    return total


def helper(v, k):
    return np.sum(np.tanh(k * v) ** 2)


def calls_helper(x):
    return helper(x, 2.0) + helper(x * x, 0.5)


def in_place(x):
    u = np.zeros(3)
    u[0] = x[0]
    u[1:] += x[1:] ** 2
    for i in range(2):
        u[1:] = u[1:] * np.sin(u[:-1])
    return np.sum(u ** 3)


def least_squares(theta):
    y = 0.1
    misfit = 0.0
    for k in range(20):
        y = y + 0.05 * (theta[0] + theta[1] * y + theta[2] * np.sin(y))
        misfit = misfit + (y - 0.02 * k) ** 2
    return misfit


X = np.array([0.3, -0.7, 0.5])


@pytest.mark.parametrize("f", [loop, branches, early_return, calls_helper, in_place, least_squares],
                         ids=lambda f: f.__name__)
def test_hessian_matches_finite_differences_of_the_gradient(f):
    ours = sourcediff.hessian(f)(X)
    expected = fd_jacobian(sourcediff.grad(f), X)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours, ours.T, rtol=1e-9, atol=1e-10)  # a Hessian is symmetric


@pytest.mark.parametrize("f", [loop, branches, calls_helper, least_squares], ids=lambda f: f.__name__)
def test_hessian_matches_jax(f):
    np.testing.assert_allclose(sourcediff.hessian(f)(X), jax.hessian(_jax_version(f, jnp))(X), rtol=1e-9,
                               atol=1e-11)


def test_hessian_vector_product_is_jvp_of_grad():
    v = np.array([1.0, -2.0, 0.5])
    _, hv = sourcediff.jvp(sourcediff.grad(in_place), (X,), (v,))
    np.testing.assert_allclose(hv, sourcediff.hessian(in_place)(X) @ v, rtol=1e-9)


def views_read_again(x):
    u = x * 1.0
    for i in range(2):
        u[1:] = u[1:] * np.sin(u[:-1])
    return np.sum(u ** 3)


def test_views_read_again_after_writes_keep_sharing_their_tangents():
    """The gradient saves views of u on its tape, read again after u changes (``sd.view_again``); their tangents
    stay views of u's tangent. A tangent summed from two parts was a new array, which the backward pass's
    restores of u's tangent no longer reached: the Hessian was wrong by 1e-3."""
    np.testing.assert_allclose(sourcediff.hessian(views_read_again)(X), fd_jacobian(sourcediff.grad(views_read_again), X),
                               rtol=1e-5, atol=1e-7)


def cube_sin(x):
    s = x
    for _ in range(2):
        s = np.sin(s) * x
    return s


def test_third_order_forward_over_reverse_over_reverse():
    x = 0.4
    expected = jax.grad(jax.grad(jax.grad(_jax_version(cube_sin, jnp))))(x)
    third = sourcediff.jacfwd(sourcediff.grad(sourcediff.grad(cube_sin)))
    assert third(x) == pytest.approx(float(expected), rel=1e-8)
    second = sourcediff.jacfwd(sourcediff.grad(cube_sin))
    assert second(x) == pytest.approx(float(jax.grad(jax.grad(_jax_version(cube_sin, jnp)))(x)), rel=1e-9)


def test_each_level_shows_its_own_generated_code():
    x = np.array([0.2, 0.4])
    gradient = sourcediff.grad(loop)
    gradient(x)
    assert "def loop_grad(" in gradient.source
    jvp_source = sourcediff.stages(gradient.variant((x,)).function, x, mode="jvp")["optimize"]
    assert "def loop_grad_jvp(x_dot, x):" in jvp_source and "tape_dot.pop()" in jvp_source
