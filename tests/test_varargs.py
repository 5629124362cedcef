"""Differentiating a function that takes ``*args`` (argnums count into them) or ``**kwargs`` (settings)."""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import assert_trees_close, check_grads


def product_chain(a, *xs):
    total = a
    for v in xs:
        total = total * v
    return total + xs[0] ** 2


def only_varargs(*xs):
    return xs[0] * math.sin(xs[1]) + sum(xs)


def stacked(*ws):
    return np.sum(np.tanh(np.stack(ws)) ** 2) + np.sum(ws[0] * ws[-1])


def with_settings(x, *layers, **options):
    for w in layers:
        x = np.tanh(x @ w) * options["gain"]
    return np.sum(x ** 2) + options.get("offset", 0.0)


@pytest.mark.parametrize("argnums", [0, 1, 2, (0, 2), (2, 1), (0, 1, 2, 3)])
def test_argnums_inside_varargs(argnums, jax_grad):
    args = (1.5, 2.0, -0.7, 0.4)
    check_grads(product_chain, args, argnums=argnums)
    ours = sourcediff.grad(product_chain, argnums=argnums)(*args)
    theirs = jax_grad(product_chain, argnums)(*args)
    assert_trees_close(ours, tuple(theirs) if isinstance(theirs, tuple) else theirs, rtol=1e-12)


def test_a_function_of_varargs_only(jax_grad):
    args = (0.3, -1.2, 2.0)
    ours = sourcediff.grad(only_varargs, argnums=(0, 1, 2))(*args)
    assert_trees_close(ours, tuple(jax_grad(only_varargs, (0, 1, 2))(*args)), rtol=1e-12)
    check_grads(only_varargs, args)
    assert sourcediff.grad(only_varargs)(*args) == pytest.approx(math.sin(-1.2) + 1.0)


def test_arrays_through_varargs(rng, jax_grad):
    ws = (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    check_grads(stacked, ws, argnums=(0, 2))
    ours = sourcediff.grad(stacked, argnums=(2, 0))(*ws)
    assert_trees_close(ours, tuple(np.asarray(t) for t in jax_grad(stacked, (2, 0))(*ws)), rtol=1e-10)


def test_keyword_settings_next_to_varargs(rng, jax_grad):
    x = rng.standard_normal((4, 3))
    layers = (rng.standard_normal((3, 3)) * 0.5, rng.standard_normal((3, 2)) * 0.5)

    def f(x, w1, w2):  # a call with *args is not lowered yet: pass them one by one
        return with_settings(x, w1, w2, gain=1.5, offset=0.25)

    check_grads(f, (x,) + layers, argnums=(0, 2))
    ours = sourcediff.grad(with_settings, argnums=(0, 2))(x, *layers, gain=1.5, offset=0.25)
    theirs = jax_grad(with_settings, (0, 2))(x, *layers, gain=1.5, offset=0.25)
    assert_trees_close(ours, tuple(np.asarray(t) for t in theirs), rtol=1e-10)


def test_vjp_of_a_varargs_function():
    out, vjp_fn = sourcediff.vjp(product_chain, 1.5, 2.0, -0.7)
    assert out == product_chain(1.5, 2.0, -0.7)
    assert_trees_close(vjp_fn(2.0), (2 * 2.0 * -0.7, 2 * (1.5 * -0.7 + 2 * 2.0), 2 * 1.5 * 2.0), rtol=1e-12)


def test_an_argnum_past_the_arguments_of_the_call_is_refused():
    with pytest.raises(sourcediff.ArgnumsError, match="names argument 3, but this call"):
        sourcediff.grad(only_varargs, argnums=3)(1.0, 2.0)


def test_a_negative_argnum_with_varargs_is_refused():
    with pytest.raises(sourcediff.ArgnumsError, match=r"takes \*xs"):
        sourcediff.grad(only_varargs, argnums=-1)


def test_without_varargs_an_argnum_out_of_range_is_still_refused_when_grad_is_built():
    def two(x, y):
        return x * y

    with pytest.raises(sourcediff.ArgnumsError, match="out of range"):
        sourcediff.grad(two, argnums=2)
