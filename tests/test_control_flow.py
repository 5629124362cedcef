"""Reverse mode through if/elif/else, conditional expressions, and/or, for, while, break, continue and return.

Every derivative is checked against central finite differences and against
jax.grad on the same code (jax.numpy swapped in), and the generated source is
checked to keep loops as loops.
"""
import math

import numpy as np
import pytest

import sourcediff
import sourcediff.testing
from sourcediff.testing import check_derivative, check_grads


def grad_source(f, *args, argnums=0):
    g = sourcediff.grad(f, argnums=argnums)
    g(*args)
    return g.source


def check(f, args, argnums, jax_grad, rtol=1e-6):
    """Finite differences and jax.grad agree with sourcediff, and loops stay loops."""
    check_derivative(f, args, argnums, jax_grad(f, argnums), rtol=rtol)


def assert_loops_kept(source, loops=1):
    """The loop is still a loop in the generated code: one forward and one backward loop each."""
    count = sum(line.lstrip().startswith(("for ", "while ")) for line in source.splitlines())
    assert count == 2 * loops, source


# -- branches ------------------------------------------------------------------------------------

def piecewise(x):
    if x > 1.0:
        y = x * x
    elif x > -1.0:
        y = math.sin(x)
    else:
        y = -x ** 3
    return y * 2.0


def conditional_expression(x, y):
    z = x * y if x > y else x + y
    return z * z


def short_circuit(x):
    ok = x > 0 and math.log(x) > 0.5      # log is never called for x <= 0
    big = x > 10.0 or math.sqrt(abs(x)) < 2.0
    if ok and not big:
        return x ** 2
    return x * 3.0


def value_of_or(x, y):
    z = (x if x > 0 else 0.0) or y     # `or` returns one of its operands
    return z * x


def array_branch(x, threshold):
    if np.sum(x) > threshold:
        return np.sum(np.tanh(x) * x)
    return np.sum(x ** 2) * threshold


@pytest.mark.parametrize("x", [2.0, 0.3, -0.4, -3.0])
def test_if_elif_else(x, jax_grad):
    check(piecewise, (x,), 0, jax_grad)


@pytest.mark.parametrize("x, y", [(2.0, 0.5), (0.2, 1.5)])
def test_conditional_expression(x, y, jax_grad):
    check(conditional_expression, (x, y), (0, 1), jax_grad)


@pytest.mark.parametrize("x", [-2.0, 1.0, 3.0, 20.0])
def test_and_or_not_keep_short_circuiting(x, jax_grad):
    check(short_circuit, (x,), 0, jax_grad)


@pytest.mark.parametrize("x, y", [(1.5, 2.0), (-1.5, 2.0)])
def test_or_returns_an_operand(x, y):
    check_grads(value_of_or, (x, y))


@pytest.mark.parametrize("t", [-1.0, 10.0])
def test_branch_on_an_array_reduction(t, jax_grad):
    x = np.array([0.5, -0.2, 1.3])
    check(array_branch, (x, t), (0, 1), jax_grad)


# -- for loops -----------------------------------------------------------------------------------

def sine_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x * i)
    return s


def range_with_start_and_step(x, n):
    s = x
    for i in range(2, n, 3):
        s = s * x + i
    return s


def over_rows(X, w):
    total = 0.0
    for row in X:
        total = total + np.tanh(row @ w)
    return total


def over_list_and_tuple(a, b):
    s = 0.0
    for v in [a, b, a * b]:
        s = s + v * v
    for v in (a, 2.0):
        s = s * v
    return s


def enumerate_zip_reversed(xs, ys):
    s = 0.0
    for i, (x, y) in enumerate(zip(xs, ys), start=1):
        s = s + i * x * y
    for x in reversed(xs):
        s = s * 0.5 + x
    return s


def nested_loops(X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(i, X.shape[1]):
            s = s + X[i, j] * X[j % X.shape[0], i] / (1.0 + i + j)
    return s


def data_dependent_length(x):
    n = int(abs(x) * 3) + 1
    y = x
    for _ in range(n):
        y = math.sin(y) + 0.1 * x
    return y


@pytest.mark.parametrize("n", [0, 1, 7])
def test_for_over_range(n, jax_grad):
    check(sine_sum, (0.3, n), 0, jax_grad)
    assert_loops_kept(grad_source(sine_sum, 0.3, n))


def test_for_over_range_with_start_and_step(jax_grad):
    check(range_with_start_and_step, (0.7, 12), 0, jax_grad)


def test_for_over_the_rows_of_an_array(rng, jax_grad):
    check(over_rows, (rng.standard_normal((4, 3)), rng.standard_normal(3)), (0, 1), jax_grad)
    assert_loops_kept(grad_source(over_rows, np.ones((4, 3)), np.ones(3), argnums=(0, 1)))


def test_for_over_list_and_tuple_literals(jax_grad):
    check(over_list_and_tuple, (0.7, -1.3), (0, 1), jax_grad)


def test_enumerate_zip_and_reversed(rng, jax_grad):
    args = (rng.standard_normal(5), rng.standard_normal(4))
    check(enumerate_zip_reversed, args, (0, 1), jax_grad)
    assert_loops_kept(grad_source(enumerate_zip_reversed, *args, argnums=(0, 1)), loops=2)


def test_nested_loops(rng, jax_grad):
    check(nested_loops, (rng.standard_normal((3, 4)),), 0, jax_grad)
    assert_loops_kept(grad_source(nested_loops, np.ones((3, 4))), loops=2)


@pytest.mark.parametrize("x", [0.2, 1.1, -2.3])
def test_loop_length_depends_on_the_data(x, jax_grad):
    check(data_dependent_length, (x,), 0, jax_grad)


# -- while loops ---------------------------------------------------------------------------------

def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-13 * a:
        x = x - (x * x - a) / (2.0 * x)
    return x


def projectile_range(v0, angle, drag):
    x, y = 0.0, 0.0
    vx, vy = v0 * math.cos(angle), v0 * math.sin(angle)
    dt = 0.01
    while y >= 0.0:
        speed = math.sqrt(vx * vx + vy * vy)
        vx = vx - drag * speed * vx * dt
        vy = vy - (9.81 + drag * speed * vy) * dt
        x = x + vx * dt
        y = y + vy * dt
    return x


@pytest.mark.parametrize("a", [0.5, 2.0, 9.0])
def test_newton_iteration_to_a_tolerance(a, jax_grad):
    check(newton_sqrt, (a,), 0, jax_grad)
    assert abs(sourcediff.grad(newton_sqrt)(a) - 0.5 / math.sqrt(a)) < 1e-10
    assert_loops_kept(grad_source(newton_sqrt, a))


def test_projectile_stepped_until_it_lands(jax_grad):
    # finite differences would straddle the discrete landing step: compare with jax only
    args = (12.0, 0.8, 0.05)
    ours = sourcediff.grad(projectile_range, argnums=(0, 1, 2))(*args)
    theirs = jax_grad(projectile_range, (0, 1, 2))(*args)
    np.testing.assert_allclose(ours, [float(t) for t in theirs], rtol=1e-9)
    assert_loops_kept(grad_source(projectile_range, *args, argnums=(0, 1, 2)))


# -- break, continue, return ---------------------------------------------------------------------

def with_break(xs, limit):
    s = 0.0
    for x in xs:
        if s > limit:
            break
        s = s + x * x
    return s


def with_continue(xs):
    s = 0.0
    for i in range(len(xs)):
        if xs[i] < 0:
            continue
        s = s + xs[i] ** 3 * i
    return s


def return_inside_loop(x):
    for i in range(20):
        x = x * 1.5 + 0.1
        if x > 5.0:
            return x - i
    return -x


def return_inside_nested_loops(X):
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] > 1.0:
                return X[i, j] * i + X[0, 0]
    return np.sum(X)


def several_returns(x, y):
    if x < 0:
        return y * x
    if y < 0:
        return x * x
    z = x * y
    if z > 1.0:
        return math.sqrt(z)
    return z


def break_in_while(x):
    y = x
    k = 0
    while True:
        y = y * 0.9 + math.sin(y)
        k = k + 1
        if k >= 5 or y > 3.0:
            break
    return y


@pytest.mark.parametrize("limit", [0.1, 1.0, 100.0])
def test_break(limit, jax_grad):
    xs = np.array([0.3, -0.8, 0.5, 1.2, -0.4])
    check(with_break, (xs, limit), 0, jax_grad)
    assert_loops_kept(grad_source(with_break, xs, limit))


def test_continue(jax_grad):
    check(with_continue, (np.array([0.3, -0.8, 0.5, 1.2, -0.4]),), 0, jax_grad)


@pytest.mark.parametrize("x", [0.1, 1.0, -1.0])
def test_early_return_inside_a_loop(x, jax_grad):
    check(return_inside_loop, (x,), 0, jax_grad)
    assert_loops_kept(grad_source(return_inside_loop, x))


@pytest.mark.parametrize("scale", [0.1, 1.0])
def test_return_inside_nested_loops(scale, rng, jax_grad):
    X = scale * rng.standard_normal((3, 3))
    check(return_inside_nested_loops, (X,), 0, jax_grad)


@pytest.mark.parametrize("x, y", [(-1.0, 2.0), (2.0, -1.0), (2.0, 3.0), (0.5, 0.5)])
def test_several_returns(x, y, jax_grad):
    check(several_returns, (x, y), (0, 1), jax_grad)


@pytest.mark.parametrize("x", [0.1, 2.0])
def test_break_out_of_while_true(x, jax_grad):
    check(break_in_while, (x,), 0, jax_grad)


# -- what the generated code looks like ----------------------------------------------------------

def test_the_tape_holds_what_the_backward_pass_needs_only():
    source = grad_source(sine_sum, 0.3, 5)
    # sin(x * i) needs x * i in the backward pass; s = s + ... needs nothing
    assert source.count("tape.append(") == 1
    assert "for i in reversed(" in source


def test_branch_taken_is_recorded_once_per_if():
    source = grad_source(piecewise, 0.3)
    assert "if tape.pop():" in source


def test_an_n_step_scalar_loop_keeps_scalars_on_the_tape():
    """Memory: reverse mode through an n-step loop saves O(n) scalars, not copies of the arrays it reads."""
    import tracemalloc

    big = np.random.default_rng(0).standard_normal(100_000)

    def loop(x, n):
        s = 0.0
        for i in range(n):
            s = s + math.sin(x * i) * big[i]
        return s

    import gc

    g = sourcediff.grad(loop)
    g(0.1, 10)  # compile first
    peaks = []
    gc.collect()
    gc.disable()  # a collection of other tests' garbage would blur the peaks
    try:
        for n in (2_000, 8_000):
            tracemalloc.start()
            g(0.1, n)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    finally:
        gc.enable()
    per_step = (peaks[1] - peaks[0]) / 6_000
    assert per_step < 200, f"{per_step:.0f} bytes a step: more than a few scalars"  # an array copy is 800 kB


def loss_with_aux(x, n):
    s = 0.0
    count = 0
    for i in range(n):
        if x * i > 1.0:
            return s * x, {"stopped_at": i, "count": count}
        s = s + math.sin(x * i)
        count = count + 1
    return s, {"stopped_at": n, "count": count}


def vector_loop(x, n):
    y = x
    for _ in range(n):
        y = np.sin(y) * x
    return y


def test_has_aux_with_several_returns():
    g, aux = sourcediff.grad(loss_with_aux, has_aux=True)(0.4, 6)
    assert aux == {"stopped_at": 3, "count": 3}
    check_grads(lambda x: loss_with_aux(x, 6)[0], (0.4,))
    expected = sourcediff.testing.numerical_grad(lambda x: loss_with_aux(x, 6)[0], (0.4,), 0)
    assert abs(g - expected) < 1e-6


def test_value_and_grad_and_vjp_through_a_loop():
    x = np.array([0.3, -0.7, 1.1])
    value, g = sourcediff.value_and_grad(lambda v: np.sum(vector_loop(v, 4)))(x)
    np.testing.assert_allclose(value, np.sum(vector_loop(x, 4)))
    check_grads(vector_loop, (x, 4), argnums=0)  # vjp with a random cotangent
    out, pullback = sourcediff.vjp(lambda v: vector_loop(v, 4), x)
    (ones,) = pullback(np.ones(3))
    np.testing.assert_allclose(ones, g)
