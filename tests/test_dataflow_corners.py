"""Corners of the tape logic: values overwritten in branches and loops, names reused across
loops, loop variables read after the loop, values read both before and after an update.

Each case is checked against finite differences and jax.grad on the same code.
"""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import assert_loops_kept, check_grads


def assigned_in_one_branch(x):
    y = x
    if x > 0:
        y = x * x
    return y * x


def read_before_and_after_update(x):
    a = x
    b = 1.0
    c = 0.0
    for i in range(4):
        c = a * b
        a = math.sin(a) + c
        b = b * a
    return a + b + c


def name_reused_by_two_loops(x):
    s = 0.0
    for i in range(3):
        t = x * i
        s = s + t * t
    for i in range(2):
        t = s * (i + 1)
        s = s + math.sin(t)
    return s * t


def loop_variable_after_the_loop(x, n):
    s = 1.0
    i = 0
    for i in range(n):
        s = s * x + i
    return s * i


def inner_value_read_by_the_outer_loop(x):
    s = 0.0
    for i in range(3):
        for j in range(2):
            u = x * (i + j) + s
        s = s + math.cos(u) * u
    return s


def overwritten_in_branches_of_a_loop(x):
    y = x
    z = 0.0
    for i in range(6):
        if i % 2 == 0:
            y = y * x
            z = z + y
        else:
            z = math.sin(z) * y
    return y + z


def arrays_overwritten(x):
    y = x * 2.0
    for k in range(3):
        if np.sum(y) > 0:
            y = np.tanh(y) * x
        else:
            y = y * y
    return np.sum(y * x)


def break_then_read(x):
    s = x
    last = 0.0
    for i in range(10):
        last = s * 0.5
        if last > 2.0:
            break
        s = s * 1.7 + last
    return s + last


def while_with_return(x):
    k = 0
    while k < 8:
        x = x * 1.3 - 0.1
        if x > 4.0:
            return x * k
        k = k + 1
    return x


def same_name_params_and_temps(x, t1):
    t2 = x * t1
    t1 = t2 + x
    for t3 in range(2):
        t1 = t1 * t2
    return t1


def value_needed_by_an_earlier_loop(x):
    s = 0.0
    for i in range(3):
        s = s + x * i
    x = s * s             # x is rebound after the loop that read it
    return x + s


CASES = [
    (assigned_in_one_branch, [(0.7,), (-0.7,)], 0),
    (read_before_and_after_update, [(0.3,)], 0),
    (name_reused_by_two_loops, [(0.4,)], 0),
    (loop_variable_after_the_loop, [(0.8, 4), (0.8, 0)], 0),
    (inner_value_read_by_the_outer_loop, [(0.6,)], 0),
    (overwritten_in_branches_of_a_loop, [(0.9,)], 0),
    (arrays_overwritten, [(np.array([0.3, -0.2]),), (np.array([-0.3, -0.2]),)], 0),
    (break_then_read, [(0.5,), (3.0,)], 0),
    (while_with_return, [(0.5,), (2.0,)], 0),
    (same_name_params_and_temps, [(0.5, 0.3)], (0, 1)),
    (value_needed_by_an_earlier_loop, [(0.5,)], 0),
]


@pytest.mark.parametrize("f, args, argnums",
                         [(f, a, n) for f, many, n in CASES for a in many],
                         ids=[f"{f.__name__}-{k}" for f, many, n in CASES for k in range(len(many))])
def test_against_finite_differences_and_jax(f, args, argnums, jax_grad):
    check_grads(f, args, argnums=argnums, rtol=1e-6, atol=1e-8)
    g = sourcediff.grad(f, argnums=argnums)
    ours = g(*args)
    assert_loops_kept(f, g.source)
    theirs = jax_grad(f, argnums)(*args)
    if not isinstance(argnums, tuple):
        ours, theirs = (ours,), (theirs,)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, np.asarray(reference), rtol=1e-9, atol=1e-12)
