"""Reductions: np.sum, mean, prod, max/min (amax/amin), var, std.

Every rule is checked against central finite differences and against
``jax.grad`` of the same function with ``np`` bound to ``jax.numpy``. The
weight ``w`` makes the output cotangent differ from element to element.
"""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def f_sum(x, w, axis, keepdims):
    y = np.sum(x, axis=axis, keepdims=keepdims)
    return np.sum(w * y * y)


def f_mean(x, w, axis, keepdims):
    y = np.mean(x, axis=axis, keepdims=keepdims)
    return np.sum(w * y * y)


def f_prod(x, w, axis, keepdims):
    y = np.prod(x, axis=axis, keepdims=keepdims)
    return np.sum(w * y)


def f_max(x, w, axis, keepdims):
    y = np.max(x, axis=axis, keepdims=keepdims)
    return np.sum(w * y * y)


def f_min(x, w, axis, keepdims):
    y = np.min(x, axis=axis, keepdims=keepdims)
    return np.sum(w * y * y)


def f_amax(x, w, axis, keepdims):
    y = np.amax(x, axis=axis, keepdims=keepdims)
    return np.sum(w * y)


def f_amin(x, w, axis, keepdims):
    y = np.amin(x, axis=axis, keepdims=keepdims)
    return np.sum(w * y)


REDUCTIONS = {"sum": (f_sum, np.sum), "mean": (f_mean, np.mean), "prod": (f_prod, np.prod),
              "max": (f_max, np.max), "min": (f_min, np.min), "amax": (f_amax, np.amax),
              "amin": (f_amin, np.amin)}
AXES = [None, 0, 1, -1, (0, 2), (2, 0), (-1, -3), (0, 1, 2)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_axis_keepdims(name, axis, keepdims, rng):
    f, primal = REDUCTIONS[name]
    x = rng.uniform(0.5, 1.5, (2, 3, 4)) * rng.choice([-1.0, 1.0], (2, 3, 4))
    w = rng.standard_normal(np.shape(primal(x, axis=axis, keepdims=keepdims)))
    check(f, (x, w, axis, keepdims))


def f_var(x, w, axis, ddof, keepdims):
    y = np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return np.sum(w * y * y)


def f_std(x, w, axis, ddof, keepdims):
    y = np.std(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return np.sum(w * y)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("f,primal", [(f_var, np.var), (f_std, np.std)], ids=["var", "std"])
def test_var_std(f, primal, axis, ddof, keepdims, rng):
    x = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal(np.shape(primal(x, axis=axis, ddof=ddof, keepdims=keepdims)))
    check(f, (x, w, axis, ddof, keepdims))


def test_var_squared_ddof1_from_the_brief(rng):
    def f(x):
        return np.sum(np.var(x, axis=1, ddof=1) ** 2)

    check(f, (rng.standard_normal((3, 5)),))


# Literal and positional arguments, as users write them.
def lit_sum_positional(x):
    y = np.sum(x, 1)
    return np.sum(y * y)


def lit_mean_tuple_keepdims(x):
    y = np.mean(x, axis=(0, 2), keepdims=True)
    return np.sum(y * y * x)


def lit_var_positional_ddof(x):
    return np.sum(np.var(x, 0, None, None, 1) * np.arange(12.0).reshape(3, 4))


def lit_max_negative_axis(x):
    y = np.max(x, axis=-2)
    return np.sum(y * y)


def lit_chain(x):
    m = np.mean(x, axis=0)
    s = np.std(x, axis=0, ddof=1)
    return np.sum(np.prod((x - m) / s, axis=1))


def lit_scalar_output(x):
    return np.sum(x) * np.mean(x) + np.max(x) - np.min(x) * np.var(x) + np.std(x)


@pytest.mark.parametrize("f", [lit_sum_positional, lit_mean_tuple_keepdims, lit_var_positional_ddof,
                               lit_max_negative_axis, lit_chain, lit_scalar_output])
def test_literal_calls(f, rng):
    check(f, (rng.standard_normal((2, 3, 4)),))


def f_prod_all(x):
    return np.prod(x)


def f_prod_axis(x, w):
    return np.sum(w * np.prod(x, axis=1))


@pytest.mark.parametrize("zeros", [[(1, 2)], [(0, 0), (2, 3)], [(1, 0), (1, 3)], [(0, 1), (1, 1), (2, 1)]])
def test_prod_with_zeros(zeros, rng):
    x = rng.uniform(0.5, 2.0, (3, 4))
    for i in zeros:
        x[i] = 0.0
    check(f_prod_all, (x,))
    check(f_prod_axis, (x, rng.standard_normal(3)), argnums=0)
    # the adjoint is finite: the rule never divides by x
    assert np.all(np.isfinite(sourcediff.grad(f_prod_all)(x)))


def test_prod_single_zero_gets_product_of_others():
    x = np.array([2.0, 0.0, 3.0])
    got = sourcediff.grad(f_prod_all)(x)
    np.testing.assert_allclose(got, [0.0, 6.0, 0.0])


def f_max_all(x):
    return np.max(x)


def f_min_axis(x, w):
    return np.sum(w * np.min(x, axis=0))


def test_max_ties_split_evenly_like_jax():
    # A two-way tie: central differences also see half the slope at each tied entry.
    x = np.array([1.0, 3.0, 3.0, 2.0])
    check(f_max_all, (x,))
    np.testing.assert_allclose(sourcediff.grad(f_max_all)(x), jax.grad(jnp.max)(x))
    # a three-way tie shares the adjoint in thirds, as JAX does
    y = np.array([[0.5, 0.5], [0.5, 0.7], [0.5, 0.1]])
    w = np.array([1.5, -2.0])
    ours = sourcediff.grad(f_min_axis)(y, w)
    theirs = jax.grad(with_jax(f_min_axis))(y, w)
    np.testing.assert_allclose(ours, theirs)
    assert np.isclose(ours[:, 0].sum(), w[0])


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data())
def test_hypothesis_shapes_and_axes(shape, data):
    ndim = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                               st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(tuple)))
    keepdims = data.draw(st.booleans())
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    for f, primal in [(f_sum, np.sum), (f_mean, np.mean), (f_prod, np.prod), (f_max, np.max)]:
        w = rng.standard_normal(np.shape(primal(x, axis=axis, keepdims=keepdims)))
        check(f, (x, w, axis, keepdims))


@pytest.mark.parametrize("reduction", [np.std, np.var], ids=["std", "var"])
def test_a_shift_of_large_values_does_not_change_std_or_var(reduction):
    # regression (fuzzer, seed 40403237): around 1e9 the centered values did not sum to zero, and the
    # derivative with respect to a common shift came out about 4e-7 instead of 0 (JAX gives 0)
    def f(a):
        return reduction(a + np.array([1e9 + 0.25, 1e9 + 0.75]))

    got = sourcediff.grad(f)(0.6241)
    assert abs(got) <= 1e-12, got
    jax_got = float(jax.grad(lambda a: jnp.std(a + jnp.array([1e9 + 0.25, 1e9 + 0.75])))(0.6241))
    assert abs(jax_got) <= 1e-12


# -- functions with boolean or integer results carry no gradient (NumPy's breadth) --------------------------------

def f_with_indices(x):
    k = np.nanargmax(x) + np.nanargmin(x) + np.argpartition(x, 1)[0] + np.flatnonzero(x > 0)[0] \
        + np.argwhere(x > 0)[0, 0] + np.searchsorted(np.sort(x), 0.0) + np.digitize(0.1, np.sort(x)) \
        + np.lexsort((x,))[0]
    b = np.all(x > -5.0) + np.any(x > 1.0) + np.array_equal(x, x) + np.array_equiv(x, x) + np.isin(x, x)[0]
    return np.sum(x ** 2) * (k + b)


def test_indices_and_booleans_are_constants():
    x = np.array([0.3, -1.2, 2.5, 0.8])
    factor = f_with_indices(x) / np.sum(x ** 2)  # the integers and booleans, as the primal adds them up
    np.testing.assert_allclose(sourcediff.grad(f_with_indices)(x), 2 * x * factor)
