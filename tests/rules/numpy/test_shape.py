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


# -- cumulative, repeating and rearranging functions ----------------------------------------------

def f_cumsum(x, w, axis):
    return np.sum(w * np.cumsum(x, axis=axis) ** 2)


@pytest.mark.parametrize("shape, axis", [((5,), None), ((2, 3), None), ((2, 3), 0), ((2, 3), 1), ((2, 3, 2), -2)])
def test_cumsum(shape, axis, rng):
    x = rng.standard_normal(shape)
    check(f_cumsum, (x, weight_for(rng, np.cumsum(x, axis=axis)), axis))


def f_cumprod(x, w, axis):
    return np.sum(w * np.cumprod(x, axis=axis))


@pytest.mark.parametrize("shape, axis", [((5,), None), ((2, 3), 1), ((3, 2), 0), ((2, 3), None)])
def test_cumprod(shape, axis, rng):
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    check(f_cumprod, (x, weight_for(rng, np.cumprod(x, axis=axis)), axis))


@pytest.mark.parametrize("zeros", [[2], [0], [4], [1, 3]])
def test_cumprod_is_exact_at_zeros(zeros, rng):
    """cumprod is multilinear, so central differences are exact there; no division by x."""
    x = rng.uniform(0.5, 1.5, 5)
    x[zeros] = 0.0
    w = rng.standard_normal(5)
    check(f_cumprod, (x, w, None))


def f_diff(x, w, n, axis):
    return np.sum(w * np.diff(x, n, axis) ** 2)


@pytest.mark.parametrize("shape, n, axis", [((6,), 1, -1), ((6,), 3, -1), ((3, 4), 1, 0), ((3, 4), 2, 1)])
def test_diff(shape, n, axis, rng):
    x = rng.standard_normal(shape)
    check(f_diff, (x, weight_for(rng, np.diff(x, n, axis)), n, axis))


def f_repeat(x, w, repeats, axis):
    return np.sum(w * np.repeat(x, repeats, axis) ** 2)


@pytest.mark.parametrize("shape, repeats, axis", [((3,), 2, None), ((2, 3), 2, None), ((2, 3), 3, 1),
                                                  ((2, 3), np.array([2, 0, 1]), 1), ((2, 3), np.array([1, 3]), 0)])
def test_repeat(shape, repeats, axis, rng):
    x = rng.standard_normal(shape)
    check(f_repeat, (x, weight_for(rng, np.repeat(x, repeats, axis)), repeats, axis))


def f_tile(x, w, reps):
    return np.sum(w * np.tile(x, reps) ** 2)


@pytest.mark.parametrize("shape, reps", [((3,), 2), ((2, 3), (2, 1)), ((3,), (2, 2)), ((2, 1, 3), (2,))])
def test_tile(shape, reps, rng):
    x = rng.standard_normal(shape)
    check(f_tile, (x, weight_for(rng, np.tile(x, reps)), reps))


def f_kron(a, b, w):
    return np.sum(w * np.kron(a, b) ** 2)


@pytest.mark.parametrize("sa, sb", [((2,), (3,)), ((2, 2), (3, 2)), ((2,), (3, 2)), ((2, 3, 2), (2, 2))])
def test_kron(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check(f_kron, (a, b, weight_for(rng, np.kron(a, b))), argnums=(0, 1))


def f_rearranged(x, w):
    y = np.swapaxes(x, 0, 2) * 1.5
    z = np.moveaxis(x, (0, 1), (2, 0))
    d = np.diagonal(x, 1, 0, 2)
    return np.sum(w * y) + np.sum(z[0] ** 2) + np.sum(np.atleast_3d(d) ** 3) + np.sum(np.atleast_2d(x[0, 0]))


def test_swapaxes_moveaxis_diagonal_atleast(rng):
    x = rng.standard_normal((3, 2, 4))
    check(f_rearranged, (x, rng.standard_normal((4, 2, 3))))


def f_methods(x, w):
    return np.sum(w * x.cumsum(axis=1)) + np.sum(x.cumprod(0) ** 2) + np.sum(x.repeat(2, 0) ** 2) \
        + np.sum(x.swapaxes(0, 1)[0] ** 3) + np.sum(x[:, :2].diagonal() ** 2)


def test_the_methods_share_the_functions_rules(rng):
    x = rng.standard_normal((2, 3))
    check(f_methods, (x, rng.standard_normal((2, 3))))


# -- what a function gives back: a view of its argument, or a new array (registry.returns) ----------

def diag_of_changed_matrix(a):
    a = a.copy()
    d = np.diag(a)  # a view of a's diagonal: it shows the write below
    a[0, 0] = 3.0 * a[0, 0]
    return np.sum(d * d)


def swapped_then_changed(a):
    a = a.copy()
    s = np.swapaxes(a, 0, 1)
    a[1] = a[1] * 2.0
    return np.sum(s ** 2)


def diagonal_then_changed(a):
    a = a.copy()
    d = np.diagonal(a)
    a[:, 0] = 0.5 * a[:, 0]
    return np.sum(d)


@pytest.mark.parametrize("f", [diag_of_changed_matrix, swapped_then_changed, diagonal_then_changed])
def test_a_view_read_after_its_array_changed_is_refused_not_wrong(f, rng):
    """np.diag of a matrix, np.swapaxes and np.diagonal give views: a write into the array shows in them,
    which the derivative cannot follow yet, so it is refused (np.diag was once taken for a new array, and
    the gradient missed the write)."""
    a = rng.standard_normal((2, 2))
    with pytest.raises(sourcediff.SourcediffError, match="view"):
        sourcediff.grad(f)(a)


def diag_of_vector_then_written(v):
    m = np.diag(v).copy()
    m[0, 1] = v[1] * v[0]
    return np.sum(m ** 2)


def test_a_copy_of_a_view_is_written_freely(rng):
    check(diag_of_vector_then_written, (rng.standard_normal(3),), jax_too=False)  # jax arrays are immutable


def test_every_view_function_is_declared():
    """The functions and methods NumPy documents as returning views are declared so in the rules."""
    from sourcediff.rules import registry

    for f in (np.reshape, np.ravel, np.transpose, np.squeeze, np.expand_dims, np.swapaxes, np.moveaxis,
              np.atleast_1d, np.atleast_2d, np.atleast_3d, np.broadcast_to, np.diagonal, np.diag, np.flip,
              np.fliplr, np.flipud, np.rot90, np.split, np.array_split, np.hsplit, np.vsplit):
        assert registry.returns(f) == "view", f
    for name in ("reshape", "transpose", "ravel", "view", "squeeze", "swapaxes", "diagonal"):
        assert registry.returns(registry.method(name)) == "view", name
    for f in (np.cumsum, np.cumprod, np.diff, np.repeat, np.tile, np.kron, np.concatenate, np.copy):
        assert registry.returns(f) == "new", f
        x = np.arange(4.0).reshape(2, 2)
        assert not np.shares_memory(f([x, x]) if f is np.concatenate else
                                    f(x, 2) if f in (np.repeat, np.tile) else f(x, x) if f is np.kron else f(x), x)


# -- rearranging, padding, splitting, products along axes, gathers and sliding windows -------------------

def f_roll_flip_rot(x, w):
    y = np.roll(x, 1, axis=0) * w + np.flip(x, 1) ** 2 - np.rot90(np.rot90(x), -1) * x
    return np.sum(y * np.fliplr(w)) + np.sum(np.flipud(x)[0] ** 3) + np.sum(np.roll(x, (1, -2), (0, 1)) * w)


def test_roll_flip_rot90(rng):
    check(f_roll_flip_rot, (rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), argnums=(0, 1))


def f_pad(x, w, mode):
    return np.sum(w * np.pad(x, ((1, 2), (2, 1)), mode) ** 2) + np.sum(np.pad(x[0], (2, 1), mode) * w[0, :7] ** 2)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap", "symmetric"])
def test_pad(mode, rng):
    x = rng.standard_normal((3, 4))
    check(f_pad, (x, rng.standard_normal((6, 7)), mode))


def f_pad_unsupported(x):
    return np.sum(np.pad(x, 1, "linear_ramp"))


def test_pad_other_modes_are_refused(rng):
    with pytest.raises(sourcediff.SourcediffError, match="linear_ramp"):
        sourcediff.grad(f_pad_unsupported)(rng.standard_normal(3))


def f_split(x, w):
    a, b, c = np.split(x, 3, axis=1)
    parts = np.array_split(x[0], [1, 4])
    top, bottom = np.vsplit(x, [1])
    left, right = np.hsplit(x, 2)
    return np.sum(a * w[:, :2] + b ** 2 * c) + np.sum(parts[1] ** 3) + np.sum(bottom * np.sin(left[1:, :1])) \
        + np.sum(np.concatenate([right, left], axis=1) * w)


def test_split_family_gives_lists_of_parts(rng):
    check(f_split, (rng.standard_normal((3, 6)), rng.standard_normal((3, 6))), argnums=(0, 1))


def f_triangles(x, v):
    return np.sum(np.triu(x) ** 2 * np.tril(x, -1).T) + np.sum(np.triu(x, 1) * x) + np.sum(np.tril(v, 1) * x[:, :3])


def test_triu_tril(rng):
    check(f_triangles, (rng.standard_normal((3, 3)), rng.standard_normal(3)), argnums=(0, 1), jax_too=False)
    check(lambda x: f_triangles(x, x[0]), (rng.standard_normal((3, 3)),), jax_too=False)  # of a vector too


def f_triu_matrix(x, w):
    return np.sum(w * np.triu(x, 1) + np.tril(x) ** 2)


def test_triu_tril_against_jax(rng):
    check(f_triu_matrix, (rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3))), argnums=(0, 1))


def f_cross(a, b, w):
    return np.sum(w * np.cross(a, b)) + np.sum(np.cross(a.T, b[0], axisa=0) ** 2) \
        + np.sum(np.cross(b, a, axis=1) * np.cross(a, a[::-1]))


def test_cross(rng):
    check(f_cross, (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))),
          argnums=(0, 1))


def f_tensordot(a, b, c):
    contracted = np.tensordot(a, c, axes=([0, 2], [2, 0]))
    return np.sum(np.tensordot(a, b) ** 2) + np.sum(contracted * np.tensordot(b, b.T, 1)[0, 0, 0, 0])


def test_tensordot(rng):
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 2)), rng.standard_normal((4, 5, 2)))
    check(f_tensordot, args, argnums=(0, 1, 2))


def f_take(x, w):
    i = np.array([0, 2, 2, -1])  # repeated indices: their adjoints add up
    return np.sum(w * np.take(x, i, axis=1)) + np.sum(np.take(x, i) ** 2) + np.sum(x.take(np.array([1, 1]), 0) ** 3)


def test_take_accumulates_repeated_indices(rng):
    x = rng.standard_normal((3, 4))
    check(f_take, (x, rng.standard_normal((3, 4))), argnums=(0, 1))


def f_take_along_axis(x):
    order = np.argsort(x, axis=1)
    top = np.take_along_axis(x, order[:, -2:], axis=1)
    again = np.take_along_axis(x, np.array([[0, 0], [1, 1], [2, 0]]), 1)
    return np.sum(top ** 2 * np.arange(1.0, 3.0)) + np.sum(again ** 3)


def test_take_along_axis(rng):
    check(f_take_along_axis, (rng.standard_normal((3, 4)),))


def f_choose(x, y, z):
    pick = np.array([[0, 2, 1], [2, 2, 0]])
    return np.sum(np.choose(pick, [x, y, z]) ** 2) + np.sum(np.choose(pick[0], np.stack([x[0], y[1], z[0]])) * x[1]) \
        + np.sum(pick[1].choose([x[0], y[0], z[1]]) ** 3)


def test_choose_is_differentiable_in_the_choices(rng):
    args = tuple(rng.standard_normal((2, 3)) for _ in range(3))
    check(f_choose, args, argnums=(0, 1, 2))


def f_compress(x, w):
    keep = np.array([True, False, True])
    return np.sum(w[:, :2] * np.compress(keep, x, axis=1) ** 2) + np.sum(np.compress(keep, x)) \
        + np.sum(x.compress(np.array([False, True]), axis=0) ** 3)


def test_compress(rng):
    check(f_compress, (rng.standard_normal((2, 3)), rng.standard_normal((2, 3))), argnums=(0, 1))


def f_meshgrid(x, y, z, indexing):
    gx, gy = np.meshgrid(x, y, indexing=indexing)
    a, b, c = np.meshgrid(x, y, z, indexing=indexing, sparse=True)
    return np.sum(np.sin(gx) * gy ** 2) + np.sum(a * b ** 2 * c)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
def test_meshgrid(indexing, rng):
    args = (rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal(2))
    check(f_meshgrid, args + (indexing,), argnums=(0, 1, 2))


def f_meshgrid_copy_false(x, y):
    gx, gy = np.meshgrid(x, y, copy=False)
    return np.sum(gx * gy)


def test_meshgrid_without_a_copy_is_refused(rng):
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(f_meshgrid_copy_false)(rng.standard_normal(2), rng.standard_normal(3))


def f_polyval(p, x):
    return np.sum(np.polyval(p, x) ** 2) + np.polyval(p[:2], x[0]) * np.polyval([p[0], 2.0, p[2]], 0.5)


def test_polyval_in_coefficients_and_points(rng):
    check(f_polyval, (rng.standard_normal(4), rng.standard_normal(5)), argnums=(0, 1), jax_too=False)


def f_polyval_arrays(p, x):
    return np.sum(np.polyval(p, x) ** 2)


def test_polyval_against_jax(rng):
    check(f_polyval_arrays, (rng.standard_normal(4), rng.standard_normal(5)), argnums=(0, 1))


def f_interp(x, fp):
    xp = np.array([0.0, 1.0, 2.5, 4.0])
    return np.sum(np.interp(x, xp, fp) ** 2) + np.sum(np.interp(x, xp, fp, left=-1.0, right=2.0) * fp[1])


def test_interp_in_points_and_values(rng):
    x = np.array([-0.5, 0.3, 1.7, 2.2, 3.9, 4.5])  # off the knots, and outside them on both sides
    check(f_interp, (x, rng.standard_normal(4)), argnums=(0, 1))


def test_interp_at_the_knots_takes_the_slope_on_the_right():
    """At an interior knot, the slope of the segment to its right; at the first and last knots, that of the
    first and last segments (one-sided, from inside); outside the knots, 0."""
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
    slope = sourcediff.grad(lambda x: np.sum(np.interp(x, xp, fp)))(np.array([0.0, 1.0, 3.0, 3.5, -1.0]))
    np.testing.assert_array_equal(slope, [2.0, 0.5, 0.5, 0.0, 0.0])


def f_convolve(a, v, mode):
    return np.sum(np.convolve(a, v, mode) ** 2) + np.sum(np.correlate(a, v, mode) * np.correlate(v, a, mode)[::-1])


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("lengths", [(6, 3), (4, 4), (2, 5)])
def test_convolve_and_correlate(mode, lengths, rng):
    a, v = rng.standard_normal(lengths[0]), rng.standard_normal(lengths[1])
    check(f_convolve, (a, v, mode), argnums=(0, 1))


# Views again: each of these functions gives back a view (of a list of them), so a write into the array
# after taking it shows in the view, which the derivative refuses rather than getting wrong.

def flip_then_changed(a):
    a = a.copy()
    f = np.flip(a, 0)
    a[0] = a[0] * 2.0
    return np.sum(f * f)


def fliplr_then_changed(a):
    a = a.copy()
    f = np.fliplr(a)
    a[1, 1] = 0.5 * a[0, 1]
    return np.sum(f[0] ** 2)


def flipud_then_changed(a):
    a = a.copy()
    f = np.flipud(a)
    a[:, 0] = a[:, 1]
    return np.sum(f)


def rot90_then_changed(a):
    a = a.copy()
    r = np.rot90(a)
    a[0, :] = a[0, :] ** 2
    return np.sum(r * r)


def split_then_changed(a):
    a = a.copy()
    top, bottom = np.split(a, 2)
    a[0, 0] = 4.0 * a[1, 1]
    return np.sum(top * bottom)


def array_split_then_changed(a):
    a = a.copy()
    parts = np.array_split(a, 2, axis=1)
    a[1] = 2.0 * a[1]
    return np.sum(parts[0] ** 2)


def hsplit_then_changed(a):
    a = a.copy()
    left, right = np.hsplit(a, 2)
    a *= 3.0
    return np.sum(left - right)


def vsplit_then_changed(a):
    a = a.copy()
    top, bottom = np.vsplit(a, [1])
    a[1, 0] = a[0, 0]
    return np.sum(bottom ** 2)


@pytest.mark.parametrize("f", [flip_then_changed, fliplr_then_changed, flipud_then_changed, rot90_then_changed,
                               split_then_changed, array_split_then_changed, hsplit_then_changed,
                               vsplit_then_changed])
def test_a_rearranging_view_read_after_its_array_changed_is_refused(f, rng):
    with pytest.raises(sourcediff.SourcediffError, match="view"):
        sourcediff.grad(f)(rng.standard_normal((2, 2)))


def test_every_rearranging_function_declares_what_it_gives_back():
    """np.flip, fliplr, flipud and rot90 give views, np.split and its kin lists of views; the others new
    arrays, which share no memory with their argument."""
    from sourcediff.rules import registry

    x = np.arange(12.0).reshape(3, 4)
    for f, result in ((np.flip, np.flip(x)), (np.fliplr, np.fliplr(x)), (np.flipud, np.flipud(x)),
                      (np.rot90, np.rot90(x)), (np.split, np.split(x, 2, 1)[1]),
                      (np.array_split, np.array_split(x, 2)[1]), (np.hsplit, np.hsplit(x, 2)[0]),
                      (np.vsplit, np.vsplit(x, 3)[2])):
        assert registry.returns(f) == "view" and np.shares_memory(result, x), f
    i = np.array([0, 2])
    for f, result in ((np.roll, np.roll(x, 1)), (np.pad, np.pad(x, 1)), (np.triu, np.triu(x)),
                      (np.tril, np.tril(x)), (np.cross, np.cross(x[:, :3], x[:, 1:])),
                      (np.tensordot, np.tensordot(x, x.T, 1)), (np.take, np.take(x, i)),
                      (np.take_along_axis, np.take_along_axis(x, i[None], 1)),
                      (np.choose, np.choose(i // 2, [x[0, :2], x[1, :2]])), (np.compress, np.compress([1, 0, 1], x, 0)),
                      (np.meshgrid, np.meshgrid(x[0], x[1])[0]), (np.polyval, np.polyval(x[0], x[1])),
                      (np.interp, np.interp(x[0], x[1], x[2])), (np.convolve, np.convolve(x[0], x[1])),
                      (np.correlate, np.correlate(x[0], x[1]))):
        assert registry.returns(f) == "new" and not np.shares_memory(result, x), f
    for name in ("take", "choose", "compress"):
        assert registry.returns(registry.method(name)) == "new", name


def write_into_a_split_part(x):
    y = x * 1.0
    a, b = np.split(y, 2)
    a[0] = 5.0 * b[1]  # changes y too
    return np.sum(y ** 2)


def write_into_a_flip(x):
    y = x * 1.0
    f = np.flip(y)
    f[0] = f[0] * 3.0
    return np.sum(y ** 2)


@pytest.mark.parametrize("f", [write_into_a_split_part, write_into_a_flip])
def test_a_write_into_a_rearranging_view_is_refused(f):
    with pytest.raises(sourcediff.SourcediffError, match="view"):
        sourcediff.grad(f)(np.arange(1.0, 5.0))


# -- moving, stacking, inserting, deleting, resizing, cumulating (NumPy's breadth) -----------------------------

def f_rollaxis(x, w):
    return np.sum(w * np.rollaxis(x, 2, 0) ** 2) + np.sum(np.rollaxis(x, 0, 3)[0, 1] * x[1, 0, :2])


def f_dsplit(x, w):
    a, b = np.dsplit(x, [1])
    return np.sum(w[..., :1] * a ** 2) + np.sum(b * np.sin(a))


def f_column_stack(a, b, w):
    return np.sum(w * np.column_stack((a, b, a)) ** 2)


def f_dstack(a, b, w):
    return np.sum(w * np.dstack([a, b]) ** 2)


def f_block(a, b, c, w):
    return np.sum(w * np.block([[a, b], [c, c]]) ** 2)


def f_block_of_numbers(s, t, w):
    return np.sum(w * np.block([[s, t * s], [1.0, t]]))


def f_broadcast_arrays(a, b, w):
    p, q = np.broadcast_arrays(a, b)
    return np.sum(w * p * q) + np.sum(p ** 2)


def f_delete(x, w):
    return np.sum(w * np.delete(x, np.array([0, 2]), axis=1) ** 2) + np.sum(np.delete(x, 3) * x.ravel()[:11])


def f_insert(x, v, w):
    return np.sum(w * np.insert(x, np.array([1, 1, 3]), v, axis=1) ** 2)


def f_insert_broadcast(x, s, w):
    return np.sum(w * np.insert(x, 1, s, axis=0) ** 2)


def f_insert_list(x, s, t):
    return np.sum(np.insert(x, 2, [s, t * s]) ** 3)


def f_diagflat_ediff1d(x, w):
    return np.sum(w * np.diagflat(x, 1)[:3, :3]) + np.sum(np.ediff1d(x, x[:2], x[0]) ** 2)


def f_resize_unstack(x, w):
    a, b = np.unstack(x, axis=1)
    return np.sum(w * np.resize(x, (3, 5)) ** 2) + np.sum(a * b ** 2)


def f_matrix_transpose(x, w):
    return np.sum(w * np.matrix_transpose(x) ** 2)


def f_cumulative(x, w):
    return np.sum(w * np.cumulative_sum(x, axis=1, include_initial=True) ** 2) \
        + np.sum(np.cumulative_prod(x, axis=0, include_initial=True))


def f_extract(x, w):
    return np.sum(w * np.extract(x > 0.0, x) ** 2)


def f_trim_zeros(x, w):
    return np.sum(w * np.trim_zeros(x) ** 2)


def f_bincount(x, w):
    return np.sum(w * np.bincount(np.array([2, 0, 2, 3]), x, minlength=5) ** 2)


def test_moving_and_stacking(rng):
    x = rng.standard_normal((2, 3, 4))
    check(f_rollaxis, (x, rng.standard_normal((4, 2, 3))))
    check(f_dsplit, (x, rng.standard_normal((2, 3, 1))))
    a, b = rng.standard_normal(3), rng.standard_normal((3, 2))
    check(f_column_stack, (a, b, rng.standard_normal((3, 4))), argnums=(0, 1))
    check(f_dstack, (rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 3))),
          argnums=(0, 1))
    check(f_block, (rng.standard_normal((2, 2)), rng.standard_normal((2, 2)), rng.standard_normal((1, 2)),
                    rng.standard_normal((3, 4))), argnums=(0, 1, 2))
    check(f_block_of_numbers, (0.3, -1.2, rng.standard_normal((2, 2))), argnums=(0, 1))
    check(f_broadcast_arrays, (rng.standard_normal((2, 1)), rng.standard_normal(3), rng.standard_normal((2, 3))),
          argnums=(0, 1))
    check(f_matrix_transpose, (rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 3, 2))))


def test_inserting_deleting_resizing(rng):
    x = rng.standard_normal((3, 4))
    check(f_delete, (x, rng.standard_normal((3, 2))))
    check(f_insert, (x, rng.standard_normal((3, 3)), rng.standard_normal((3, 7))), argnums=(0, 1))
    check(f_insert_broadcast, (x, 0.7, rng.standard_normal((4, 4))), argnums=(0, 1))
    check(f_insert_list, (rng.standard_normal(4), 0.7, -0.4), argnums=(0, 1, 2), jax_too=False)  # a list: JAX no
    check(f_diagflat_ediff1d, (rng.standard_normal(4), rng.standard_normal((3, 3))))
    check(f_resize_unstack, (rng.standard_normal((2, 2)), rng.standard_normal((3, 5))))
    check(f_extract, (np.array([0.5, -1.0, 2.0, -0.3, 1.1]), rng.standard_normal(3)))
    check(f_bincount, (rng.standard_normal(4), rng.standard_normal(5)))


def test_cumulative_sum_and_prod(rng):
    check(f_cumulative, (rng.standard_normal((2, 3)), rng.standard_normal((2, 4))))


def test_trim_zeros_gives_the_trimmed_zeros_no_gradient(rng):
    x = np.array([0.0, 0.0, 1.5, 0.0, -2.0, 0.0])
    w = rng.standard_normal(3)
    dx = sourcediff.grad(f_trim_zeros)(x, w)
    np.testing.assert_allclose(dx, np.concatenate([[0.0, 0.0], 2 * w * x[2:5], [0.0]]))
    np.testing.assert_allclose(dx, jax.grad(with_jax(f_trim_zeros))(x, w))
    check(f_trim_zeros, (rng.standard_normal(4), rng.standard_normal(4)))


def f_trim_zeros_2d(x):
    return np.sum(np.trim_zeros(x, axis=1) ** 2) + np.sum(np.trim_zeros(x, "b") ** 3)


def test_trim_zeros_in_two_dimensions():
    x = np.array([[0.0, 1.5, 0.0, 0.0], [0.0, -0.5, 2.0, 0.0]])
    expected = 2 * x + 3 * x ** 2 * (np.arange(4) < 3)
    np.testing.assert_allclose(sourcediff.grad(f_trim_zeros_2d)(x), expected)


def f_lists_and_numbers(p, s, t):
    q = np.polyadd(np.polymul(np.polyadd(s, [s, t]), np.polysub([t, s, t], p)), np.polymul(t, p))
    return np.sum(q ** 2) + np.sum(np.polyint(p, 2, [s, t]) ** 2) + np.sum(np.bincount([1, 1, 0], [s, t, s]) ** 2)


def test_lists_and_numbers_as_arguments(rng):
    check(f_lists_and_numbers, (rng.standard_normal(3), 0.7, -0.4), argnums=(0, 1, 2), jax_too=False)


# -- finite differences, integration, polynomials, spaced samples, partition, select ---------------------------

def f_gradient(f, w):
    return np.sum(w * np.gradient(f) ** 2)


def f_gradient_2d(f, w, dx, dy):
    gx, gy = np.gradient(f, dx, dy)
    return np.sum(w * gx * gy) + np.sum(np.gradient(f, axis=1) ** 2)


def f_gradient_coordinates(f, w, x):
    return np.sum(w * np.gradient(f, x, axis=0) ** 2)


def f_gradient_second_order(f, w, x):
    return np.sum(w * np.gradient(f, x, axis=0, edge_order=2) ** 2) + np.sum(np.gradient(f[:, 0], edge_order=2))


def test_gradient(rng):
    check(f_gradient, (rng.standard_normal(6), rng.standard_normal(6)))
    f = rng.standard_normal((4, 5))
    check(f_gradient_2d, (f, rng.standard_normal((4, 5)), 0.5, 2.0))
    x = np.cumsum(rng.uniform(0.3, 1.0, 4))
    check(f_gradient_coordinates, (f, rng.standard_normal((4, 5)), x))


@pytest.mark.parametrize("spacing", ["uniform", "coordinates"])
def test_gradient_second_order_edges(spacing, rng):
    """jnp.gradient has no edge_order: against finite differences only."""
    f = rng.standard_normal((5, 3))
    x = 0.4 if spacing == "uniform" else np.cumsum(rng.uniform(0.3, 1.0, 5))
    check(f_gradient_second_order, (f, rng.standard_normal((5, 3)), x), jax_too=False)


@pytest.mark.parametrize("n, edge_order", [(2, 1), (3, 1), (7, 1), (3, 2), (4, 2), (7, 2)])
def test_gradient_adjoint_is_the_transpose_of_numpys_matrix(n, edge_order, rng):
    """Column j of np.gradient of the identity is the gradient of the unit vector e_j: the matrix D itself, edges
    included; the adjoint must be D^T g, for a uniform spacing and for coordinates."""
    from sourcediff.backends import numpy_backend as sd

    for spacing in (0.7, np.cumsum(rng.uniform(0.3, 1.0, n))):
        matrix = np.gradient(np.eye(n), spacing, axis=0, edge_order=edge_order)
        g = rng.standard_normal((3, n))
        np.testing.assert_allclose(sd.gradient_adjoint(g, np.zeros((3, n)), (spacing,), 1, edge_order), g @ matrix,
                                   rtol=1e-12, atol=1e-12)


def f_gradient_of_spacing(f, h):
    return np.sum(np.gradient(f, h) ** 2)


def test_gradient_with_a_differentiated_spacing_is_refused(rng):
    with pytest.raises(sourcediff.SourcediffError, match="varargs"):
        sourcediff.grad(f_gradient_of_spacing, argnums=1)(rng.standard_normal(5), 0.5)


def f_trapezoid(y, x, w):
    return np.sum(w * np.trapezoid(y, x, axis=0) ** 2) + np.trapezoid(y[0] ** 2, dx=x[1] - x[0])


def f_trapezoid_dx(y, dx):
    return np.sum(np.trapezoid(y, dx=dx) ** 2)


def test_trapezoid(rng):
    y, x = rng.standard_normal((4, 3)), np.cumsum(rng.uniform(0.3, 1.0, 4))
    check(f_trapezoid, (y, x, rng.standard_normal(3)), argnums=(0, 1))
    check(f_trapezoid_dx, (rng.standard_normal((2, 5)), 0.3), argnums=(0, 1))


def f_vander(x, w):
    return np.sum(w * np.vander(x, 4) ** 2) + np.sum(np.vander(x, increasing=True))


def f_polynomials(p, q, w):
    r = np.polymul(np.polyadd(p, q), np.polysub(q, p[1:]))
    return np.sum(w * r ** 2) + np.sum(np.polyder(r, 2) ** 2) + np.sum(np.polyint(p, 2, k=q[:2]) ** 2)


def f_polyfit(x, y, w):
    return np.sum(w * np.polyfit(x, y, 2) ** 2)


def test_vander_and_polynomials(rng):
    check(f_vander, (rng.standard_normal(3), rng.standard_normal((3, 4))))
    check(f_polynomials, (rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal(7)), argnums=(0, 1))
    x = np.cumsum(rng.uniform(0.3, 1.0, 7))
    check(f_polyfit, (x, rng.standard_normal(7), rng.standard_normal(3)), argnums=1)
    check(f_polyfit, (x, rng.standard_normal((7, 2)), rng.standard_normal((3, 2))), argnums=1)


def test_polyfit_in_its_points(rng):
    x = np.cumsum(rng.uniform(0.3, 1.0, 7))
    check(f_polyfit, (x, rng.standard_normal(7), rng.standard_normal(3)), argnums=(0, 1))
    check(f_polyfit, (x, rng.standard_normal((7, 2)), rng.standard_normal((3, 2))), argnums=(0, 1))


def f_polyfit_weighted(x, y, w):
    return np.sum(np.polyfit(x, y, 2, w=w) ** 2)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.RankWarning")
def test_polyfit_weighted_and_rank_deficient(rng):
    x = np.cumsum(rng.uniform(0.3, 1.0, 6))
    check(f_polyfit_weighted, (x, rng.standard_normal(6), rng.uniform(0.5, 1.5, 6)), argnums=(0, 1))
    with pytest.raises(sourcediff.SourcediffError, match="rank"):  # three points, four coefficients
        sourcediff.grad(f_polyfit_cubic, argnums=0)(x[:3], rng.standard_normal(3))
    with pytest.raises(sourcediff.SourcediffError, match="'w'"):
        sourcediff.grad(f_polyfit_weighted, argnums=2)(x, rng.standard_normal(6), rng.uniform(0.5, 1.5, 6))


def f_polyfit_cubic(x, y):
    return np.sum(np.polyfit(x, y, 3) ** 2)


def f_vander_at_zero(x):
    return np.sum(np.vander(x, 3))


def test_vander_slope_at_zero_is_the_derivative_of_each_power():
    # columns x**2, x, 1: slopes 2x, 1 and 0, also at x == 0 (JAX gives NaN for the constant column)
    np.testing.assert_allclose(sourcediff.grad(f_vander_at_zero)(np.array([0.0, 2.0])), [1.0, 5.0])


def f_logspace_geomspace(a, b, w):
    return np.sum(w * np.logspace(a, b, 5, base=2.0)) + np.sum(np.geomspace(a + 2.0, b ** 2 + 1.0, 4) ** 2)


def f_logspace_base_array(a, b):
    return np.sum(np.logspace(a, b, 3, base=np.array([1.5, 3.0]), axis=-1) ** 2)


def test_logspace_and_geomspace(rng):
    check(f_logspace_geomspace, (0.3, 1.2, rng.standard_normal(5)), argnums=(0, 1))
    check(f_logspace_base_array, (np.array([0.2, -0.4]), 0.5), argnums=(0, 1), jax_too=False)  # JAX: no broadcast


def f_partition(x, w):
    low = np.partition(x, 2)[:3]  # the three smallest, in an order np.partition and jnp.partition may differ on
    return np.sum(np.sort(low) * w) + np.sum(np.partition(x, 3)[3:] ** 2)


def f_partition_flat(x, w):
    return np.sum(np.partition(x, 2, axis=None)[:3] ** 2) + np.sum(np.partition(x, 1, axis=0) * w)


def test_partition(rng):
    check(f_partition, (rng.permutation(np.arange(7.0)) * 0.3 - 1.0, rng.standard_normal(3)))
    x = (rng.permutation(np.arange(6.0)) * 0.3 - 1.0).reshape(3, 2)
    check(f_partition_flat, (x, rng.standard_normal((3, 2))), jax_too=False)  # jnp.partition has no axis=None


def f_select(x, y, d, w):
    return np.sum(w * np.select([x > 0.5, x < -0.5], [x ** 2, y], d) ** 2)


def test_select_in_the_choices_and_the_default(rng):
    x = np.array([[1.0, -1.0, 0.1], [0.7, -0.2, -0.9]])
    check(f_select, (x, rng.standard_normal(3), 0.4, rng.standard_normal((2, 3))), argnums=(0, 1, 2))


def f_astype(x):
    return np.sum(np.astype(x, np.float64) ** 2 * np.asanyarray(x) + x.astype(np.int64) * x
                  + np.ascontiguousarray(x) * np.asfortranarray(x) + np.asarray_chkfinite(x) * np.require(x, None, "C"))


def test_conversions(rng):
    x = rng.uniform(-3.0, 3.0, 4)
    check(f_astype, (x,), jax_too=False)


def test_the_new_functions_declare_what_they_give_back():
    from sourcediff.rules import registry

    for f in (np.rollaxis, np.dsplit, np.unstack, np.matrix_transpose, np.trim_zeros):
        assert registry.returns(f) == "view", f
    x, v = np.arange(12.0).reshape(3, 4), np.arange(1.0, 5.0)
    for f, result in ((np.column_stack, np.column_stack([x])), (np.dstack, np.dstack([x])), (np.block, np.block([x])),
                      (np.delete, np.delete(x, [], 0)), (np.insert, np.insert(v, [], 1.0)),
                      (np.diagflat, np.diagflat(v)), (np.ediff1d, np.ediff1d(v)), (np.resize, np.resize(v, 4)),
                      (np.cumulative_sum, np.cumulative_sum(v)), (np.cumulative_prod, np.cumulative_prod(v)),
                      (np.extract, np.extract(v > 0, v)), (np.gradient, np.gradient(v)),
                      (np.vander, np.vander(v, 1)), (np.polyadd, np.polyadd(v, v)), (np.partition, np.partition(v, 1)),
                      (np.select, np.select([v > 0], [v])), (np.geomspace, np.geomspace(1.0, v))):
        assert registry.returns(f) == "new" and not np.shares_memory(result, x) and not np.shares_memory(result, v), f
    for f in (np.polyder, np.polyint):  # with m=0 they give back p itself
        assert registry.returns(f) is None and f(v, 0) is v
    # views of each of its arguments, where "view" would name the first only
    assert registry.returns(np.broadcast_arrays) is None and np.shares_memory(np.broadcast_arrays(x, v)[1], v)


def broadcast_then_changed(a, b):
    c = b * 1.0
    p, q = np.broadcast_arrays(a, c)
    c[0] = 5.0 * c[0]  # q, a view of c, changes too
    return np.sum(q * a)


def test_a_broadcast_view_of_the_second_argument_read_after_it_changed_is_refused():
    with pytest.raises(sourcediff.SourcediffError, match="view"):
        sourcediff.grad(broadcast_then_changed, argnums=(0, 1))(np.array([[1.0], [2.0]]), np.array([0.5, 1.5]))
