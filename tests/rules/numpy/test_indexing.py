"""Reading elements: x[i] goes through operator.getitem in the transformer.

Integers, slices, steps, negative indices, tuple indices, boolean masks and
integer arrays with repeated indices (whose adjoints must accumulate).
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
    """Finite differences, then ``jax.grad`` of the same function."""
    check_grads(f, args, argnums)
    if jax_too:
        ours = sourcediff.grad(f, argnums=argnums)(*args)
        theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-8, atol=1e-10)


def i_int(x, w):
    return np.sum(w * x[1])


def i_int_2d(x, w):
    return np.sum(w * x[1, 2] * x[0])


def i_slice(x, w):
    return np.sum(w * x[1:3])


def i_step(x, w):
    return np.sum(w * x[::2] ** 2)


def i_reverse_step(x, w):
    return np.sum(w * x[::-2])


def i_negative(x, w):
    return np.sum(w * x[-1] * x[-3:-1])


def i_tuple(x, w):
    return np.sum(w * x[1:, 0])


def i_tuple_slices(x, w):
    return np.sum(w * x[:-1, 1::2])


def i_ellipsis(x, w):
    return np.sum(w * x[..., -1])


def i_newaxis(x, w):
    return np.sum(w * x[None, 1:])


def i_repeated(x, w):
    return np.sum(w * x[np.array([0, 2, 2])])


def i_repeated_list(x, w):
    return np.sum(w * x[[3, 0, 3, 3]] ** 2)


def i_repeated_columns(x, w):
    return np.sum(w * x[:, np.array([1, 1, 0])])


def i_twice(x, w):
    return np.sum(w * (x[0] + x[0] * x[1]))


INDEXES = [  # (function, shape of x, shape of the indexed value and of its weight)
    (i_int, (4, 3), (3,)), (i_int_2d, (4, 3), (3,)), (i_slice, (4, 3), (2, 3)), (i_step, (5, 3), (3, 3)),
    (i_reverse_step, (5, 3), (3, 3)), (i_negative, (5,), (2,)), (i_tuple, (4, 3), (3,)),
    (i_tuple_slices, (4, 5), (3, 2)), (i_ellipsis, (2, 3, 4), (2, 3)), (i_newaxis, (4, 3), (1, 3, 3)),
    (i_repeated, (4, 3), (3, 3)), (i_repeated_list, (5,), (4,)), (i_repeated_columns, (4, 3), (4, 3)),
    (i_twice, (4, 3), (3,)),
]


@pytest.mark.parametrize("f,shape,wshape", INDEXES, ids=[f.__name__ for f, _, _ in INDEXES])
def test_getitem(f, shape, wshape, rng):
    x = rng.standard_normal(shape)
    # JAX refuses indexing with a Python list; finite differences still check that case
    check(f, (x, rng.standard_normal(wshape)), jax_too=f is not i_repeated_list)


def i_mask(x, w):
    y = x[x > 0]
    return np.sum(y * y) + w * np.sum(x[x < w])


def test_boolean_mask(rng):
    x = rng.standard_normal((4, 3))
    check(i_mask, (x, 0.3))


def i_mask_rows(x, m):
    return np.sum(x[m] ** 3)


def test_boolean_mask_rows(rng):
    x = rng.standard_normal((4, 3))
    check(i_mask_rows, (x, np.array([True, False, True, True])))


def test_repeated_indices_accumulate(rng):
    # x[np.array([0, 2, 2])]: row 2 is read twice, so its adjoint is the sum of both weights
    x = rng.standard_normal((4, 3))
    w = rng.standard_normal((3, 3))
    got = sourcediff.grad(i_repeated)(x, w)
    np.testing.assert_allclose(got[0], w[0])
    np.testing.assert_allclose(got[2], w[1] + w[2])
    np.testing.assert_allclose(got[[1, 3]], 0.0)


def i_nonscalar(x):
    return x[1:, ::-1][np.array([0, 0, 2])]


def test_nonscalar_index_through_vjp(rng):
    check_grads(i_nonscalar, (rng.standard_normal((4, 3)),))


# -- index builders carry no gradient (NumPy's breadth) -------------------------------------------------------

def f_index_builders(x):
    rows, cols = np.triu_indices(3, 1)
    i, j = np.diag_indices_from(x)
    flat = np.ravel_multi_index((rows, cols), x.shape)
    r, c = np.unravel_index(flat, x.shape)
    grid = np.ix_(np.array([0, 2]), np.array([1, 2]))
    return np.sum(x[rows, cols] ** 2) + np.sum(x[i, j]) + np.sum(x[r, c]) + np.sum(x[grid]) \
        + np.sum(np.indices((3, 3))[0] * x) + np.sum(np.tri(3) * x)


def test_index_builders(rng):
    check_grads(f_index_builders, [rng.standard_normal((3, 3))])
