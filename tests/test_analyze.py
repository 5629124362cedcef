"""Analyze stage: activity decides which statements get adjoint code."""
import numpy as np

import sourcediff
from sourcediff.testing import check_grads


def mixed(x, y):
    a = y * 2.0          # depends on y only: inactive when differentiating by x
    n = x.shape[0]       # shape is not differentiable
    big = x > 0.0        # comparisons carry no gradient
    unused = np.exp(x)   # never reaches the output
    return np.sum(x * a) * n + np.sum(big)


def test_inactive_values_get_no_adjoint():
    source = sourcediff.grad(mixed, argnums=0).source
    assert "a_bar" not in source
    assert "y_bar" not in source
    assert "n_bar" not in source
    assert "big_bar" not in source
    assert "unused_bar" not in source


def test_gradient_through_mixed_activity():
    rng = np.random.default_rng(0)
    check_grads(mixed, (rng.standard_normal(4), rng.standard_normal(4)), argnums=(0, 1))


def constant_output(x):
    return 3.0


def test_output_that_does_not_depend_on_the_input_has_zero_gradient():
    assert sourcediff.grad(constant_output)(2.0) == 0.0
    g = sourcediff.grad(constant_output)(np.ones(3))
    assert g.shape == (3,) and not g.any()


# -- arrays and equal shapes: which unbroadcasts can go ---------------------------------------------

def _facts(f, arrays=(("x", 1, "x"),), numbers=()):
    from sourcediff import dataflow as analyze, lower, parse

    parsed = parse.parse_function(f)
    body = lower.lower(parsed).body
    params = list(f.__code__.co_varnames[: f.__code__.co_argcount])
    scalars = analyze.scalar_names(body, set(numbers), parsed)
    return analyze.array_facts(body, params, {p: (ndim, twin) for p, ndim, twin in arrays}, parsed, scalars)


def stencil(x):
    u = x.copy()
    a = u[2:]
    b = u[1:-1]
    c = u[:-2]
    d = u[::2]
    e = u[1::2]
    lap = a - 2 * b + c
    lst = [a, b]
    return np.sum(lap) + np.sum(d) + np.sum(e) + len(lst)


def test_slices_of_one_array_with_equal_lengths_for_every_size_share_a_shape_key():
    facts = _facts(stencil)
    keys = facts.shapes
    assert keys["a"] == keys["b"] == keys["c"]  # n - 2 elements for every n (0 when n < 2)
    assert keys["d"] != keys["e"]  # ceil(n / 2) against floor(n / 2)
    assert "lap" in facts.arrays and keys["lap"] == keys["b"]
    assert "lst" not in facts.arrays
    for n in range(0, 9):  # what the keys claim, checked against NumPy
        u = np.arange(float(n))
        assert u[2:].shape == u[1:-1].shape == u[:-2].shape


def test_a_list_argument_or_a_name_bound_twice_gets_no_shape_key():
    facts = _facts(stencil, arrays=())
    assert not {"u", "a", "b", "c", "lap"} & set(facts.shapes)
    assert not {"u", "a", "b", "lap"} & facts.arrays  # x may be a list: its slices are lists

    def rebound(x):
        u = x[1:]
        u = np.concatenate([u, u])
        v = u * 2.0
        return np.sum(v)

    facts = _facts(rebound)
    assert "u" not in facts.arrays and "v" not in facts.shapes


def pick_from_slices(x):
    a = x[1:]
    b = x[:-1]
    return a[0] * b[2] + a[1] * a[1]


def test_the_same_function_on_a_list_and_on_an_array_gets_each_its_own_code():
    derivative = sourcediff.grad(pick_from_slices)
    x = np.array([0.5, 1.5, -2.0, 3.0])
    check_grads(pick_from_slices, (x,), argnums=0)
    g_array = derivative(x)
    g_list = derivative([0.5, 1.5, -2.0, 3.0])
    assert len(derivative.variants) == 2
    expected = [0.0, -2.0, 1.5 + 2 * -2.0, 0.0]  # d(x1 * x2 + x2 ** 2)
    assert np.allclose(g_array, expected) and np.allclose(np.asarray(g_list, dtype=float), expected)


def fill(x):
    n = x.shape[0]
    y = np.zeros(n)
    m = np.zeros((n, 2))
    s = 0.0
    for i in range(1, n):
        a = y[i - 1]
        r = m[i]
        e = m[i, 1]
        s = s + a + e + r[0]
    return s


def test_elements_read_with_integers_are_known_to_be_numbers():
    facts = _facts(fill)
    assert facts.ndims["y"] == 1 and facts.ndims["m"] == 2
    assert "n" in facts.ints
    assert facts.shapes["a"] == facts.shapes["e"] == analyze_scalar_shape()  # y[i - 1], m[i, 1]: numbers
    assert facts.ndims["r"] == 1 and facts.shapes.get("r") != analyze_scalar_shape()  # m[i]: a row (a view)
    assert facts.ndims["x"] == 1


def analyze_scalar_shape():
    from sourcediff.dataflow import SCALAR_SHAPE

    return SCALAR_SHAPE


def product_sum(x, y):
    return np.sum(x * y)


def test_arrays_of_one_shape_share_a_key_only_when_the_shapes_match():
    derivative = sourcediff.grad(product_sum, argnums=(0, 1))
    rng = np.random.default_rng(1)
    for x, y in [(rng.standard_normal(3), rng.standard_normal(3)),        # one shape: no unbroadcast
                 (rng.standard_normal(3), rng.standard_normal(1)),        # broadcast
                 (rng.standard_normal((2, 3)), rng.standard_normal(3)),   # broadcast over rows
                 (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))]:
        gx, gy = derivative(x, y)
        assert gx.shape == x.shape and gy.shape == y.shape
        check_grads(product_sum, (x, y), argnums=(0, 1))
        assert ("unbroadcast" in derivative.source) == (x.shape != y.shape), derivative.source
    assert len(derivative.variants) == 4


def euler(x0, v0, dt):
    x = x0.copy()
    v = v0.copy()
    for _ in range(3):
        v = v - dt * x
        x = x + dt * v
    return np.sum(x * x)


def grows(x):
    s = x[0:1]
    for _ in range(2):
        s = s + x  # (1,) the first time, then x's shape: no shape for s
    return np.sum(s * s)


def test_a_name_bound_several_times_keeps_a_shape_only_if_every_binding_gives_it():
    facts = _facts(euler, arrays=(("x0", 1, "x0"), ("v0", 1, "x0")), numbers=("dt",))
    assert facts.shapes["x"] == facts.shapes["v"] == ("param", "x0")
    facts = _facts(grows)
    assert "s" not in facts.shapes
    check_grads(grows, (np.array([0.5, -1.5, 2.0]),), argnums=0)
    check_grads(euler, (np.array([0.5, -1.5, 2.0]), np.array([0.1, 0.2, -0.3]), 0.1), argnums=(0, 1))
