"""Reverse-mode transform: overwrites, self-updates, tape use and multiple uses of a value."""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads


def overwrite_needed(x):
    y = np.exp(x)
    z = y * 2.0
    y = np.sin(z)          # the old y is read by the adjoint of z = y * 2.0? no: by exp's rule (ans)
    return np.sum(y * z)


def self_update(x):
    x = np.sin(x)
    x = x * x
    x = x + x
    return np.sum(x)


def linear_self_update(s, u):
    s = s + u
    s = s * 3.0
    return s


def reuse(x):
    a = x * x
    b = a * x + a
    return math.exp(b) - a


def swap(a, b):
    a, b = b, a * b
    return a * math.sin(b)


def unused_argument(x, y):
    return np.sum(x * 2.0)


@pytest.mark.parametrize("f, args", [
    (overwrite_needed, (np.array([0.1, -0.4, 0.3]),)),
    (self_update, (np.array([0.5, 1.5]),)),
    (linear_self_update, (1.5, -0.5)),
    (reuse, (0.4,)),
    (swap, (0.7, -1.2)),
])
def test_against_finite_differences(f, args):
    check_grads(f, args)


def test_values_overwritten_and_needed_go_on_the_tape():
    source = sourcediff.grad(overwrite_needed).source
    assert "tape.append(y)" in source
    assert "y = tape.pop()" in source


def test_linear_updates_need_no_tape():
    g = sourcediff.grad(linear_self_update, argnums=(0, 1))
    assert g(1.5, -0.5) == (3.0, 3.0)
    assert "tape" not in g.source


def test_argument_without_influence_gets_zeros_of_its_shape():
    gx, gy = sourcediff.grad(unused_argument, argnums=(0, 1))(np.ones(3), np.ones((2, 2)))
    np.testing.assert_array_equal(gx, 2.0 * np.ones(3))
    assert gy.shape == (2, 2) and not gy.any()


def test_scalar_arguments_get_no_unbroadcast():
    g = sourcediff.grad(reuse)
    g(0.4)
    assert "unbroadcast" not in g.source
    g(np.array(0.4))
    assert "unbroadcast" in g.source or "a_bar" in g.source


def shrinking_in_a_writing_loop(x):
    y = x.copy()
    s = 0.0
    for i in range(3):
        a = y[i:] * 1.5  # a different shape every iteration; the backward pass reads only its shape
        b = a + y[i]
        y[i] = y[i] * 0.5  # a write into an array in the loop: the save plan keeps shapes, not arrays
        s = s + np.sum(b * b)
    return s


def growing_in_a_writing_loop(x, n):
    out = np.zeros(n)
    s = 0.0
    for k in range(1, n):
        w = x[:k] * x[k]
        out[k] = np.sum(w) + 0.5
        s = s + np.sum((w + out[k - 1]) ** 2)
    return s


@pytest.mark.parametrize("f, args", [(shrinking_in_a_writing_loop, (np.array([0.3, -1.2, 0.8, 2.0, 0.5]),)),
                                     (growing_in_a_writing_loop, (np.array([0.4, -0.7, 1.1, 0.2, 0.9]), 5))])
def test_shapes_kept_for_the_backward_pass_are_kept_per_iteration(f, args):
    """The save plan keeps ``np.shape(a)`` instead of ``a`` where the backward pass reads only a's shape; the
    shape statements it adds must be saved per iteration like any other value (they once were not: the
    backward pass read the last iteration's shape)."""
    check_grads(f, args, argnums=0)
    assert "_shape = np.shape(" in sourcediff.grad(f).source


def filled(n, v):
    return np.full(n, v) * 1.0


def sums_a_filled_vector(v):
    return np.sum(filled(3, v) ** 2)


def test_a_rule_that_broadcasts_a_number_sums_its_adjoint_back():
    """Skipping the unbroadcast when every other argument is a number holds for elementwise rules only: a
    general rule such as ``filled(3, v)`` makes a vector out of the number ``v``."""
    from sourcediff.rules import registry

    registry.defrule(filled, "n, v", v="g", jvp={"v": "t * np.ones(n)"}, unbroadcast=True)
    try:
        g = sourcediff.grad(sums_a_filled_vector)(1.5)
        assert isinstance(g, float) and g == pytest.approx(3 * 2 * 1.5)
    finally:
        del registry.REVERSE_RULES[filled]
