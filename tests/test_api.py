"""The public API: JAX names and conventions, structure and dtype of gradients, caching."""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import numerical_grad


def loss(w, b, x):
    return np.sum(np.tanh(x @ w + b) ** 2)


def scalar_fn(x, y=2.0):
    return math.sin(x) * y


def with_aux(x):
    y = np.sum(x ** 2)
    return y, np.mean(x)


def vector_fn(x, y):
    return np.sin(x) * y, x * 2.0


rng = np.random.default_rng(7)
W, B, X = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))


def test_argnums_int_gives_one_gradient_and_tuple_gives_a_tuple():
    g0 = sourcediff.grad(loss)(W, B, X)
    assert isinstance(g0, np.ndarray) and g0.shape == W.shape
    gs = sourcediff.grad(loss, argnums=(0, 1))(W, B, X)
    assert isinstance(gs, tuple) and len(gs) == 2
    single = sourcediff.grad(loss, argnums=(1,))(W, B, X)
    assert isinstance(single, tuple) and single[0].shape == B.shape
    np.testing.assert_allclose(gs[0], numerical_grad(loss, (W, B, X), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(single[0], numerical_grad(loss, (W, B, X), 1), rtol=1e-6, atol=1e-8)


def test_negative_argnums_count_from_the_end():
    np.testing.assert_allclose(sourcediff.grad(loss, argnums=-1)(W, B, X), numerical_grad(loss, (W, B, X), 2),
                               rtol=1e-6, atol=1e-8)


def test_python_float_gives_float_and_dtype_is_kept():
    g = sourcediff.grad(scalar_fn)(0.3)
    assert type(g) is float and g == pytest.approx(2.0 * math.cos(0.3))
    g32 = sourcediff.grad(loss)(W.astype(np.float32), B, X)
    assert g32.dtype == np.float32
    gint = sourcediff.grad(scalar_fn)(1)
    assert type(gint) is float


def test_keyword_and_default_arguments():
    assert sourcediff.grad(scalar_fn)(0.3, y=3.0) == pytest.approx(3.0 * math.cos(0.3))
    assert sourcediff.grad(scalar_fn, argnums=1)(0.3, 4.0) == pytest.approx(math.sin(0.3))


def test_value_and_grad():
    value, g = sourcediff.value_and_grad(loss, argnums=(0, 1))(W, B, X)
    assert value == pytest.approx(loss(W, B, X))
    np.testing.assert_allclose(g[1], numerical_grad(loss, (W, B, X), 1), rtol=1e-6, atol=1e-8)


def test_has_aux():
    x = np.array([1.0, 2.0, 3.0])
    g, aux = sourcediff.grad(with_aux, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert aux == pytest.approx(2.0)
    (value, aux2), g2 = sourcediff.value_and_grad(with_aux, has_aux=True)(x)
    assert value == pytest.approx(14.0) and aux2 == pytest.approx(2.0)
    np.testing.assert_allclose(g2, 2 * x)


def test_vjp_with_tuple_output():
    x, y = np.array([0.1, 0.2]), np.array([1.5, -1.0])
    out, pullback = sourcediff.vjp(vector_fn, x, y)
    np.testing.assert_allclose(out[0], np.sin(x) * y)
    ct = (np.array([1.0, 2.0]), np.array([0.5, -0.5]))
    gx, gy = pullback(ct)
    np.testing.assert_allclose(gx, np.cos(x) * y * ct[0] + 2.0 * ct[1])
    np.testing.assert_allclose(gy, np.sin(x) * ct[0])
    again = pullback(ct)  # a pullback can be called more than once
    np.testing.assert_allclose(again[0], gx)


def test_vjp_has_aux():
    x = np.array([1.0, 2.0])
    out, pullback, aux = sourcediff.vjp(with_aux, x, has_aux=True)
    assert out == pytest.approx(5.0) and aux == pytest.approx(1.5)
    np.testing.assert_allclose(pullback(2.0)[0], 4 * x)


def test_same_function_hits_the_cache():
    first = sourcediff.grad(loss, argnums=(0, 1))
    second = sourcediff.grad(loss, argnums=(0, 1))
    assert first.compiled is second.compiled


def test_derivative_exposes_readable_source():
    g = sourcediff.grad(loss)
    assert g.source.startswith("def loss_grad(w, b, x):")
    assert "w_bar" in g.source and "# backward pass" in g.source
    compile(g.source, "<check>", "exec")


def test_stages_can_be_printed_one_by_one():
    shown = sourcediff.stages(loss)
    assert list(shown) == ["parse", "lower", "analyze", "transform", "optimize"]
    assert "np.tanh(x @ w + b)" in shown["parse"]
    assert "t1 = x @ w" in shown["lower"]
    assert "w_bar" in shown["optimize"]


def test_stages_for_given_arguments_end_with_the_source_that_runs():
    w, b, x = np.ones(3) * 0.5, 0.1, np.arange(6.0).reshape(2, 3)
    shown = sourcediff.stages(loss, w, b, x, argnums=(0, 1))
    g = sourcediff.grad(loss, argnums=(0, 1))
    g(w, b, x)
    assert shown["optimize"] == g.source
    assert shown["optimize"] != sourcediff.stages(loss, argnums=(0, 1))["optimize"]  # specialized: fewer unbroadcasts
    assert "active  " in shown["analyze"] and "# NumPy arrays: " in shown["analyze"]
    assert "# Python numbers at the end (no unbroadcast needed): b" in shown["analyze"]


def rebinds_its_parameter(a, u):
    a -= 0.25
    return 1.0


def reads_an_argument_after_a_helper_updates_it(a):
    kept = a
    r = rebinds_its_parameter(a, 0.5)
    return np.sum(kept) + r


def test_a_refusal_of_the_code_for_any_arguments_waits_for_the_call():
    """grad(f) builds code that knows no argument kinds, where ``a -= 0.25`` in the helper may write into an
    array that ``kept`` shares. For a float it is a rebinding: the call's own code accepts it. An array is
    refused at the call, and ``.source`` before any call shows the first refusal."""
    gradient = sourcediff.grad(reads_an_argument_after_a_helper_updates_it)
    with pytest.raises(sourcediff.SourcediffError, match="writes into its argument 'a'"):
        gradient.source
    assert gradient(0.8) == 1.0
    assert "def reads_an_argument_after_a_helper_updates_it_grad" in gradient.source
    with pytest.raises(sourcediff.SourcediffError, match="writes into its argument 'a'"):
        gradient(np.array([0.8, 0.3]))
