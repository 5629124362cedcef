"""Shape rules: transpose, reshape, ravel, squeeze, expand_dims, concatenate,
stack, hstack, vstack, broadcast_to, copy, array/asarray and the constructors.

Each function is weighted by a fixed random ``w`` so that a wrong permutation
of the adjoint cannot hide behind a symmetric cotangent.
"""
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


def check(f, args, argnums=0, jax_too=True):
    """Finite differences, then (where JAX has the function) ``jax.grad``."""
    check_grads(f, args, argnums)
    if jax_too:
        ours = sourcediff.grad(f, argnums=argnums)(*args)
        theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
        if isinstance(argnums, int):
            ours, theirs = (ours,), (theirs,)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o, np.asarray(t), rtol=1e-8, atol=1e-10)


def weight_for(rng, value):
    return rng.standard_normal(np.shape(value))


def f_transpose(x, w, axes):
    return np.sum(w * np.transpose(x, axes))


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1), (0, 2, 1)])
def test_transpose(axes, rng):
    x = rng.standard_normal((2, 3, 4))
    check(f_transpose, (x, weight_for(rng, np.transpose(x, axes)), axes))


def f_transpose_default(x, w):
    return np.sum(w * np.transpose(x) * x.T)


def test_transpose_default_2d(rng):
    x = rng.standard_normal((3, 4))
    check(f_transpose_default, (x, rng.standard_normal((4, 3))))


def f_reshape(x, w, shape, order):
    return np.sum(w * np.reshape(x, shape, order=order) ** 2)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(4, 6), (-1,), (2, 3, 4), (24, 1), (3, -1, 2)])
def test_reshape(shape, order, rng):
    x = rng.standard_normal((6, 4))
    check(f_reshape, (x, weight_for(rng, np.reshape(x, shape, order=order)), shape, order))


def f_ravel(x, w, order):
    return np.sum(w * np.ravel(x, order))


@pytest.mark.parametrize("order", ["C", "F"])
def test_ravel(order, rng):
    x = rng.standard_normal((3, 4))
    check(f_ravel, (x, rng.standard_normal(12), order))


def f_squeeze(x, w, axis):
    return np.sum(w * np.squeeze(x, axis=axis))


@pytest.mark.parametrize("axis", [None, 0, 2, (0, 2), -1])
def test_squeeze(axis, rng):
    x = rng.standard_normal((1, 3, 1))
    check(f_squeeze, (x, weight_for(rng, np.squeeze(x, axis=axis)), axis))


def f_expand_dims(x, w, axis):
    return np.sum(w * np.expand_dims(x, axis))


@pytest.mark.parametrize("axis", [0, 1, -1, (0, 2)])
def test_expand_dims(axis, rng):
    x = rng.standard_normal((3, 4))
    check(f_expand_dims, (x, weight_for(rng, np.expand_dims(x, axis)), axis))


def f_concatenate(a, b, w, axis):
    return np.sum(w * np.concatenate([a, b], axis=axis))


def f_concatenate_three(a, b, w):
    c = np.concatenate((b, a, b), axis=-1)
    return np.sum(w * c * c)


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_concatenate(axis, rng):
    a = rng.standard_normal((2, 3))
    b = rng.standard_normal({0: (4, 3), 1: (2, 5), -1: (2, 5), None: (5,)}[axis])
    w = weight_for(rng, np.concatenate([a, b], axis=axis))
    check(f_concatenate, (a, b, w, axis), argnums=(0, 1))


def test_concatenate_tuple_with_repeats(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    check(f_concatenate_three, (a, b, rng.standard_normal((2, 7))), argnums=(0, 1))


def f_stack(a, b, w, axis):
    return np.sum(w * np.stack([a, b, a], axis=axis))


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_stack(axis, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    w = weight_for(rng, np.stack([a, b, a], axis=axis))
    check(f_stack, (a, b, w, axis), argnums=(0, 1))


def f_stack_scalars(s, t, w):
    v = np.stack([s * t, s, t * t])
    return np.sum(w * v)


def test_stack_of_scalars(rng):
    check(f_stack_scalars, (0.7, -1.3, rng.standard_normal(3)), argnums=(0, 1))


def f_hstack(a, b, w):
    return np.sum(w * np.hstack([a, b]))


def f_vstack(a, b, w):
    return np.sum(w * np.vstack([a, b]))


@pytest.mark.parametrize("shapes", [((3,), (2,)), ((2, 3), (2, 1))])
def test_hstack(shapes, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check(f_hstack, (a, b, weight_for(rng, np.hstack([a, b]))), argnums=(0, 1))


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((1, 3), (4, 3))])
def test_vstack(shapes, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check(f_vstack, (a, b, weight_for(rng, np.vstack([a, b]))), argnums=(0, 1))


def f_broadcast_to(x, w, shape):
    return np.sum(w * np.broadcast_to(x, shape) ** 2)


@pytest.mark.parametrize("xshape,shape", [((3,), (4, 3)), ((4, 1), (4, 3)), ((1, 3), (2, 4, 3)), ((), (2, 2))])
def test_broadcast_to(xshape, shape, rng):
    x = rng.standard_normal(xshape)
    check(f_broadcast_to, (x, rng.standard_normal(shape), shape))


def f_copy(x, w):
    y = np.copy(x)
    return np.sum(w * y * x)


def f_array(x, w):
    return np.sum(w * np.array(x) * np.asarray(x))


def f_array_of_list(s, t, w):
    v = np.array([s, t * s, 2.0])
    return np.sum(w * v * v)


def f_array_nested(s, t, w):
    m = np.array([[s, t], [t * t, 1.0]])
    return np.sum(w * m)


def test_copy_and_array(rng):
    x = rng.standard_normal((3, 2))
    w = rng.standard_normal((3, 2))
    check(f_copy, (x, w))
    check(f_array, (x, w))


def test_array_of_list_literal(rng):
    check(f_array_of_list, (0.4, -1.1, rng.standard_normal(3)), argnums=(0, 1))
    check(f_array_nested, (0.4, -1.1, rng.standard_normal((2, 2))), argnums=(0, 1))


def f_array_int_dtype(x):
    return np.sum(np.array(x, dtype=int) * x)


def test_array_with_integer_dtype_truncates(rng):
    # np.array(x, dtype=int) is piecewise constant: only the second factor carries a gradient
    x = rng.uniform(0.2, 3.8, 5)
    check(f_array_int_dtype, (x,), jax_too=False)
    np.testing.assert_allclose(sourcediff.grad(f_array_int_dtype)(x), np.trunc(x))


# Constructors: the ones that depend only on shapes are non-differentiable.
def f_constructors(x):
    z = np.zeros(x.shape) + np.ones_like(x) * x + np.zeros_like(x)
    e = np.zeros(np.shape(np.empty(x.shape))) + 2.0
    n = np.size(x) + np.ndim(x)
    return np.sum(z * z * e) / n + np.sum(np.ones((3, 4)) * x)


def test_nondifferentiable_constructors(rng):
    check(f_constructors, (rng.standard_normal((3, 4)),), jax_too=False)


def f_full(s, w):
    return np.sum(w * np.full((2, 3), s) ** 2)


def f_full_row(r, w):
    return np.sum(w * np.full((2, 3), r))


def f_linspace(a, b, w):
    return np.sum(w * np.linspace(a, b, 5) ** 2)


def f_linspace_open(a, b, w):
    return np.sum(w * np.linspace(a, b, 4, endpoint=False))


def f_linspace_arrays(a, b, w):
    return np.sum(w * np.linspace(a, b, 4, axis=-1))


def f_arange(s, w):
    return np.sum(w * np.arange(5.0) * s)


def f_arange_start_step(start, step, w):
    return np.sum(w * np.arange(start, 4.0, step) ** 2)


def test_full(rng):
    check(f_full, (0.3, rng.standard_normal((2, 3))))
    check(f_full_row, (rng.standard_normal(3), rng.standard_normal((2, 3))))


def test_linspace(rng):
    check(f_linspace, (-0.5, 1.5, rng.standard_normal(5)), argnums=(0, 1))
    check(f_linspace_open, (-0.5, 1.5, rng.standard_normal(4)), argnums=(0, 1))
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    check(f_linspace_arrays, (a, b, rng.standard_normal((2, 3, 4))), argnums=(0, 1))


def test_arange(rng):
    check(f_arange, (0.7, rng.standard_normal(5)))
    # 0.25 + 0.5 i for i < 8 (the length stays 8 under small perturbations)
    check(f_arange_start_step, (0.2, 0.5, rng.standard_normal(8)), argnums=(0, 1), jax_too=False)


def f_nonscalar_transpose(x):
    return np.transpose(x, (2, 0, 1))


def f_nonscalar_concat(a, b):
    return np.concatenate([a, b * b], axis=1)


def test_nonscalar_outputs_through_vjp(rng):
    check_grads(f_nonscalar_transpose, (rng.standard_normal((2, 3, 4)),))
    check_grads(f_nonscalar_concat, (rng.standard_normal((2, 3)), rng.standard_normal((2, 2))))


def tridiagonal(a, b, c):
    return np.sum(np.sin(np.diag(b) + np.diag(a, -1) + np.diag(c, 1)))


def diagonals(m):
    return np.sum(np.diag(m) ** 2) + np.sum(np.diag(m, 1) * np.diag(m, -2)[:1])


def test_diag_builds_and_reads_diagonals(jax_grad):
    from sourcediff.testing import check_derivative

    args = (np.array([0.3, -0.2]), np.array([1.0, 0.5, -0.7]), np.array([0.2, 0.9]))
    check_derivative(tridiagonal, args, (0, 1, 2), jax_grad(tridiagonal, (0, 1, 2)))
    m = np.arange(12.0).reshape(3, 4) / 7.0
    check_derivative(diagonals, (m,), 0, jax_grad(diagonals, 0))
