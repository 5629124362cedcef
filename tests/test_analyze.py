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
