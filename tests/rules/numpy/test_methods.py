"""ndarray methods and attributes: x.sum() ... x.squeeze(), x.T, and the
non-differentiable x.shape, x.size, x.ndim, x.dtype.
"""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads


def with_jax(f):
    """``f`` with its global ``np`` replaced by ``jax.numpy`` (jax arrays have the same methods)."""
    return types.FunctionType(f.__code__, {**f.__globals__, "np": jnp}, f.__name__, f.__defaults__)


def check(f, args, argnums=0, jax_too=True):
    """Finite differences, then ``jax.grad`` of the same function."""
    check_grads(f, args, argnums)
    if jax_too:
        ours = sourcediff.grad(f, argnums=argnums)(*args)
        theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
        if isinstance(argnums, int):
            ours, theirs = (ours,), (theirs,)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o, np.asarray(t), rtol=1e-8, atol=1e-10)


# Reductions as methods; w is shaped like the reduction's result.
def m_sum(x, w, axis, keepdims):
    return np.sum(w * x.sum(axis=axis, keepdims=keepdims) ** 2)


def m_mean(x, w, axis, keepdims):
    return np.sum(w * x.mean(axis=axis, keepdims=keepdims) ** 2)


def m_prod(x, w, axis, keepdims):
    return np.sum(w * x.prod(axis=axis, keepdims=keepdims))


def m_max(x, w, axis, keepdims):
    return np.sum(w * x.max(axis=axis, keepdims=keepdims))


def m_min(x, w, axis, keepdims):
    return np.sum(w * x.min(axis=axis, keepdims=keepdims))


METHODS = {"sum": m_sum, "mean": m_mean, "prod": m_prod, "max": m_max, "min": m_min}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("name", sorted(METHODS))
def test_reduction_methods(name, axis, keepdims, rng):
    x = rng.uniform(0.5, 1.5, (2, 3, 4)) * rng.choice([-1.0, 1.0], (2, 3, 4))
    w = rng.standard_normal(np.shape(getattr(x, name)(axis=axis, keepdims=keepdims)))
    check(METHODS[name], (x, w, axis, keepdims))


def m_var(x, w, axis, ddof, keepdims):
    return np.sum(w * x.var(axis=axis, ddof=ddof, keepdims=keepdims) ** 2)


def m_std(x, w, axis, ddof, keepdims):
    return np.sum(w * x.std(axis=axis, ddof=ddof, keepdims=keepdims))


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("axis", [None, 1, (0, -1)])
@pytest.mark.parametrize("f,name", [(m_var, "var"), (m_std, "std")])
def test_var_std_methods(f, name, axis, ddof, keepdims, rng):
    x = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal(np.shape(getattr(x, name)(axis=axis, ddof=ddof, keepdims=keepdims)))
    check(f, (x, w, axis, ddof, keepdims))


def m_positional(x):
    return x.sum(0).prod() + x.mean(1).max() - x.min(-1).sum() + x.var(0, None, None, 1).sum() + x.std()


def m_plain(x):
    return x.sum() * x.mean() + x.prod() - x.max() * x.min() + x.var() + x.std()


@pytest.mark.parametrize("f", [m_positional, m_plain])
def test_plain_and_positional_calls(f, rng):
    check(f, (rng.standard_normal((3, 4)),))


def m_dot(a, b, w):
    return np.sum(w * a.dot(b))


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4))])
def test_dot_method(shapes, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check(m_dot, (a, b, rng.standard_normal(np.shape(a.dot(b)))), argnums=(0, 1))


# Shape methods.
def m_reshape_ints(x, w):
    return np.sum(w * x.reshape(2, 6))


def m_reshape_tuple(x, w):
    return np.sum(w * x.reshape((6, 2)))


def m_reshape_minus_one(x, w):
    return np.sum(w * x.reshape(-1) ** 2)


def m_reshape_order_f(x, w):
    return np.sum(w * x.reshape((2, 6), order="F"))


def m_reshape_from_shape(x, w):
    return np.sum(w * x.reshape(x.shape[1], -1))


def m_copy(x, w):
    return np.sum(w * x.copy() * x)


def m_transpose(x, w):
    return np.sum(w * x.transpose())


def m_ravel(x, w):
    return np.sum(w * x.ravel())


def m_flatten(x, w):
    return np.sum(w * x.flatten())


def m_flatten_f(x, w):
    return np.sum(w * x.flatten("F"))


def m_T(x, w):
    return np.sum(w * x.T)


SHAPE_METHODS = [(m_reshape_ints, (2, 6)), (m_reshape_tuple, (6, 2)), (m_reshape_minus_one, (12,)),
                 (m_reshape_order_f, (2, 6)), (m_reshape_from_shape, (4, 3)), (m_copy, (3, 4)),
                 (m_transpose, (4, 3)), (m_ravel, (12,)), (m_flatten, (12,)), (m_flatten_f, (12,)),
                 (m_T, (4, 3))]


@pytest.mark.parametrize("f,wshape", SHAPE_METHODS, ids=[f.__name__ for f, _ in SHAPE_METHODS])
def test_shape_methods(f, wshape, rng):
    check(f, (rng.standard_normal((3, 4)), rng.standard_normal(wshape)))


def m_transpose_axes_ints(x, w):
    return np.sum(w * x.transpose(2, 0, 1))


def m_transpose_axes_tuple(x, w):
    return np.sum(w * x.transpose((1, 2, 0)))


def m_T_3d(x, w):
    return np.sum(w * x.T)


@pytest.mark.parametrize("f,wshape", [(m_transpose_axes_ints, (4, 2, 3)), (m_transpose_axes_tuple, (3, 4, 2)),
                                      (m_T_3d, (4, 3, 2))])
def test_transpose_methods_3d(f, wshape, rng):
    check(f, (rng.standard_normal((2, 3, 4)), rng.standard_normal(wshape)))


def m_squeeze(x, w):
    return np.sum(w * x.squeeze())


def m_squeeze_axis(x, w):
    return np.sum(w * x.squeeze(axis=0))


def test_squeeze_methods(rng):
    x = rng.standard_normal((1, 3, 1))
    check(m_squeeze, (x, rng.standard_normal(3)))
    check(m_squeeze_axis, (x, rng.standard_normal((3, 1))))


def m_attributes(x):
    n = x.size + x.ndim
    rows = x.shape[0]
    z = np.zeros(x.shape, dtype=x.dtype)
    return np.sum((x + z) ** 2) * rows / n


def test_nondifferentiable_attributes(rng):
    check(m_attributes, (rng.standard_normal((3, 4)),))


def m_nonscalar(x):
    return x.T.reshape(2, 6).squeeze()


def test_nonscalar_method_chain_through_vjp(rng):
    check_grads(m_nonscalar, (rng.standard_normal((3, 4)),))


# -- x.clip, x.astype, and the methods with integer or boolean results (NumPy's breadth) --------------------------

def m_clip_astype(x, w):
    return np.sum(w * x.clip(-0.5, 0.5) ** 2) + np.sum(x.astype(np.float64) * x.clip(min=0.0))


def m_integer_results(x):
    k = x.argpartition(1)[0] + x.searchsorted(0.0) + x.any() + x.all()
    return np.sum(x.round() * x) * k


def test_clip_and_astype_methods(rng):
    x = np.array([-1.2, -0.3, 0.2, 0.7, 1.5])
    check(m_clip_astype, (x, rng.standard_normal(5)))


def test_methods_with_integer_or_boolean_results_carry_no_gradient():
    x = np.array([-1.2, -0.3, 0.2, 0.7, 1.5])
    k = x.argpartition(1)[0] + x.searchsorted(0.0) + x.any() + x.all()
    np.testing.assert_allclose(sourcediff.grad(m_integer_results)(x), x.round() * k)


def m_partition_in_place(x):
    y = x * 1.0
    y.partition(1)
    return y[0]


def test_partition_in_place_is_refused():
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(m_partition_in_place)(np.array([3.0, 1.0, 2.0]))
