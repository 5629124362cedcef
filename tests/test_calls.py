"""Calls inside differentiated code: user functions (recursion, defaults, keywords), closures,
globals, nested def and lambda, functions passed as values, and builtins.

Each derivative is checked against central finite differences, and against jax.grad where JAX
runs the same code.
"""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_derivative, check_grads


def check(f, args, argnums, jax_grad=None):
    check_derivative(f, args, argnums, jax_grad(f, argnums) if jax_grad else None)


# -- user functions ------------------------------------------------------------------------------

def inner(a, b):
    return a * math.sin(b) + b


def middle(a, b):
    return inner(a, b) * inner(b, a)


def outer(x, y):
    s = 0.0
    for i in range(3):
        s = s + middle(x, y * i + 1.0)
    return s


def power(x, n):
    return 1.0 if n == 0 else x * power(x, n - 1)


def fib_like(x, n):
    if n <= 1:
        return x
    return fib_like(x, n - 1) + 0.5 * fib_like(x * x, n - 2)


def scaled(x, scale=2.0, *, shift=0.0):
    return scale * x + shift


def keywords(x, s):
    return scaled(x, shift=s) * scaled(x, scale=s) + scaled(shift=x, x=s)


def total(*values):
    s = 0.0
    for v in values:
        s = s + v * v
    return s


def calls_varargs(x, y):
    return total(x, y, 2.0)


def two_outputs(x):
    return x * x, math.exp(x)


def unpacks(x):
    a, b = two_outputs(x)
    return a * b


def array_helper(w, x):
    return np.tanh(x @ w)


def uses_array_helper(w, x):
    return np.sum(array_helper(w, x) ** 2)


def test_helpers_calling_helpers(jax_grad):
    check(outer, (0.4, 0.9), (0, 1), jax_grad)


@pytest.mark.parametrize("n", [0, 1, 5])
def test_recursion(n, jax_grad):
    check(power, (1.3, n), 0, jax_grad)
    assert abs(sourcediff.grad(power)(1.3, n) - n * 1.3 ** (n - 1)) < 1e-12


def test_double_recursion(jax_grad):
    check(fib_like, (0.9, 5), 0, jax_grad)


def test_defaults_keywords_and_keyword_only(jax_grad):
    check(keywords, (0.4, 1.3), (0, 1), jax_grad)


def test_star_args_of_a_callee(jax_grad):
    check(calls_varargs, (0.4, -1.3), (0, 1), jax_grad)


def test_helper_returning_a_tuple(jax_grad):
    check(unpacks, (0.7,), 0, jax_grad)


def test_helper_on_arrays(rng, jax_grad):
    check(uses_array_helper, (rng.standard_normal((3, 2)), rng.standard_normal((4, 3))), (0, 1), jax_grad)


def test_a_helper_is_transformed_once_per_set_of_active_arguments():
    from sourcediff import calls

    sourcediff.grad(outer, argnums=(0, 1))(0.4, 0.9)
    pairs = dict(calls._pairs[middle])
    assert {key[0] for key in pairs} == {("a", "b")}  # one per kind of argument (numbers, arrays)
    sourcediff.grad(outer, argnums=(0, 1))(0.5, 1.9)
    assert all(calls._pairs[middle][key] is pair for key, pair in pairs.items())
    assert len(calls._pairs[middle]) == len(pairs)


def test_the_callers_code_calls_the_helpers_halves():
    source = sourcediff.grad(outer, argnums=(0, 1)).source
    assert "middle_fwd(" in source and "middle_bwd(" in source


# -- closures, globals, nested functions ---------------------------------------------------------

WEIGHTS = np.array([0.5, -1.0, 2.0])
RATE = 0.3


def uses_globals(x):
    return np.sum(WEIGHTS * np.sin(x)) * RATE


def make_model(scale):
    offset = np.array([1.0, 2.0, 3.0])

    def model(x):
        return np.sum((x * scale - offset) ** 2)
    return model


def nested_def(x, y):
    def g(a, b=2.0):
        c = a * b
        if c > 1.0:
            return c * y          # reads y from the enclosing function
        return math.sin(c) + y
    return g(x) + g(y, b=x)


def lambdas(x, k):
    f = lambda v: k * v * v  # noqa: E731
    s = 0.0
    for i in range(3):
        s = s + f(x + i)
    return s


def rhs(t, y, k):
    return -k * y + math.sin(t)


def euler(f, y0, k, n):
    y, t = y0, 0.0
    for _ in range(n):
        y = y + 0.1 * f(t, y, k)
        t = t + 0.1
    return y


def solve(y0, k):
    return euler(rhs, y0, k, 10)


def test_module_globals_are_constants(jax_grad):
    check(uses_globals, (np.array([0.1, 0.2, 0.3]),), 0, jax_grad)


def test_closure_over_outer_variables():
    model = make_model(1.5)
    check(model, (np.array([0.1, 0.2, 0.3]),), 0)


@pytest.mark.parametrize("x, y", [(0.3, 0.4), (2.0, 1.5)])
def test_nested_def(x, y, jax_grad):
    check(nested_def, (x, y), (0, 1), jax_grad)


def test_lambda(jax_grad):
    check(lambdas, (0.4, 1.5), (0, 1), jax_grad)
    assert "lambda v" not in sourcediff.grad(lambdas).source  # written out where it is called


def test_function_passed_as_an_argument(jax_grad):
    check(solve, (1.0, 0.5), (0, 1), jax_grad)


def test_nested_function_that_escapes_is_refused():
    def escapes(x):
        f = lambda v: v * x  # noqa: E731
        return sum(map(f, [1.0, 2.0]))
    with pytest.raises(sourcediff.UnsupportedSyntaxError, match="used as a value") as info:
        sourcediff.grad(escapes)
    assert info.value.lineno is not None


def test_a_builtin_passed_as_a_function_is_refused():
    with pytest.raises(sourcediff.SourcediffError, match="passed in as a value"):
        sourcediff.grad(euler, argnums=1)(np.sin, 1.0, 0.5, 3)


# -- builtins ------------------------------------------------------------------------------------

def builtins_mix(x, y, n):
    values = [x, y, x * y]
    s = sum(values) + abs(x - y) + max(x, y) * min(x, 2.0)
    k = int(n)                    # int() is not differentiable: n only counts
    s = s * float(len(values)) + k
    if isinstance(x, float):
        s = s + x
    for i in range(k):
        s = s + i * y
    return s


def test_builtins(jax_grad):
    check(builtins_mix, (0.7, -0.4, 3.0), (0, 1))


def test_int_is_not_differentiable():
    g = sourcediff.grad(lambda x: int(x) * 1.0 + x)
    assert g(2.5) == 1.0


# -- re-entrancy and threads ---------------------------------------------------------------------

def inner_objective(c):
    return c ** 3


GRAD_INNER = sourcediff.grad(inner_objective)


def uses_a_derivative(x, c):
    k = GRAD_INNER(c)           # a derivative called while a derivative runs
    return x * k + math.sin(x)


def test_a_derivative_calls_a_derivative():
    gx = sourcediff.grad(uses_a_derivative)(0.3, 2.0)
    assert abs(gx - (3 * 2.0 ** 2 + math.cos(0.3))) < 1e-12


def test_eight_threads_at_once_get_their_own_answers():
    from concurrent.futures import ThreadPoolExecutor

    g = sourcediff.grad(outer, argnums=(0, 1))
    inputs = [(0.1 * k + 0.03, 0.3 + 0.05 * k) for k in range(8)]  # away from the kink at 2x == 1
    expected = [g(*a) for a in inputs]

    def run(a):
        return [g(*a) for _ in range(50)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, inputs * 4))
    for a, got in zip(inputs * 4, results):
        want = expected[inputs.index(a)]
        assert all(r == want for r in got)
    fresh = sourcediff.grad(nested_def, argnums=(0, 1))  # built concurrently, too
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda a: fresh(*a), inputs))
    for a, got in zip(inputs, results):
        check_grads(nested_def, a)
        np.testing.assert_allclose(got, sourcediff.grad(nested_def, argnums=(0, 1))(*a))


def test_a_call_that_rebinds_its_own_argument(jax_grad):
    def rebinds(x, y):
        for _ in range(3):
            x = middle(x, y)        # the adjoint of the new x must not flow into the old one twice
            y = inner(y, x)
        return x + y
    check_grads(rebinds, (0.3, 0.2))


def extrema(x, y, z):
    return max(x, y, z) * min([x, y]) + max((z, 2.0)) - min(x, y)


@pytest.mark.parametrize("args", [(0.3, -0.2, 0.9), (1.5, 0.7, -0.4)])
def test_min_and_max_of_several_values_and_of_an_iterable(args, jax_grad):
    check(extrema, args, (0, 1, 2), jax_grad)


def test_min_max_tie_shares_the_gradient():
    gx, gy = sourcediff.grad(lambda x, y: max(x, y), argnums=(0, 1))(1.0, 1.0)
    assert gx == gy == 0.5


# -- helpers that change their arguments in place ------------------------------------------------

def heat_step(u, dt):
    u[1:-1] += dt * (u[2:] - 2 * u[1:-1] + u[:-2])


def heat_solve(u0, dt):
    u = u0.copy()
    for _ in range(5):
        heat_step(u, dt)
    return np.sum(u ** 2)


def fill_scaled(out, x, k):
    out[:] = x * k
    return k


def uses_fill(x, k):
    buf = np.zeros(3)
    c = fill_scaled(buf, x, k)
    return np.sum(buf * buf) * c


def heat_solve_without_mutation(u0, dt):
    u = u0
    for _ in range(5):
        u = np.concatenate([u[:1], u[1:-1] + dt * (u[2:] - 2 * u[1:-1] + u[:-2]), u[-1:]])
    return np.sum(u ** 2)


def test_a_helper_that_updates_its_argument_in_place(rng, jax_grad):
    u0 = rng.standard_normal(7)
    before = u0.copy()
    check(heat_solve, (u0, 0.1), (0, 1))
    ours = sourcediff.grad(heat_solve, argnums=(0, 1))(u0, 0.1)
    theirs = jax_grad(heat_solve_without_mutation, (0, 1))(u0, 0.1)
    np.testing.assert_allclose(ours[0], np.asarray(theirs[0]), rtol=1e-9)
    np.testing.assert_allclose(ours[1], float(theirs[1]), rtol=1e-9)
    np.testing.assert_array_equal(u0, before)  # the caller's array is left as it was


def scaled_sum(a, b, k):
    return np.sum(a * b) * k


def calls_scaled_sum(x, y):
    return scaled_sum(x, y, 2.0) + scaled_sum(x, x[0], 3.0)


def test_a_helper_is_specialized_on_the_arrays_it_receives(rng):
    from sourcediff import calls

    x, y = rng.standard_normal(4), rng.standard_normal(4)
    check(calls_scaled_sum, (x, y), (0, 1))
    check(heat_solve, (rng.standard_normal(7), 0.1), (0, 1))
    sources = {key: pair.backward_source for key, pair in calls._pairs[scaled_sum].items()}
    same_shape = [src for key, src in sources.items() if ("a", 1, "a") in key[2] and ("b", 1, "a") in key[2]]
    assert same_shape and "unbroadcast" not in same_shape[0], sources  # a and b: one shape, no broadcasting
    step = [pair.backward_source for key, pair in calls._pairs[heat_step].items() if ("u", 1, "u") in key[2]]
    assert step and "increment_adjoint" in step[0] and "unbroadcast" not in step[0], step


def test_a_helper_that_fills_a_buffer_it_was_given(rng):
    check(uses_fill, (rng.standard_normal(3), 0.7), (0, 1))


def test_a_helper_writing_into_a_function_value_argument_is_refused():
    def apply(f, u, dt):
        f(u, dt)
        return np.sum(u)

    def run(u0, dt):
        u = u0.copy()
        return apply(heat_step, u, dt)

    with pytest.raises(sourcediff.SourcediffError, match="writes into its argument"):
        sourcediff.grad(run, argnums=1)(np.ones(4), 0.1)


def test_a_helper_writing_into_an_array_that_may_be_an_argument_is_refused():
    def run(u0, dt):
        u = np.asarray(u0)          # u0 itself: the helper would change it behind the caller's back
        heat_step(u, dt)
        return np.sum(u * u0)

    with pytest.raises(sourcediff.UnsupportedSyntaxError, match="writes into its argument"):
        sourcediff.grad(run, argnums=1)(np.ones(4), 0.1)


# -- what a helper returns: numbers known as numbers at the call site ---------------------------------

def oscillator_rhs(x, v, k):
    return v, -k * x


def oscillator(x0, v0, k):
    x = x0
    v = v0
    for _ in range(20):
        dx, dv = oscillator_rhs(x, v, k)
        x = x + 0.05 * dx
        v = v + 0.05 * dv
    return x * x + v


def mixed_rhs(x, w):
    return x * 2.0, w * x  # a number, and an array when w is one


def uses_mixed(x, w):
    a, b = mixed_rhs(x, w)
    return a * np.sum(b)


def test_a_helper_returning_numbers_makes_its_callers_values_numbers():
    from sourcediff import calls

    check(oscillator, (0.3, -0.2, 1.7), (0, 1, 2))
    pairs = calls._pairs[oscillator_rhs]
    numbers = [key for key in pairs if key[1] == frozenset({"x", "v", "k"})]
    assert numbers, list(pairs)  # x and v stay numbers through the loop: the all-number variant is used
    assert "unbroadcast" not in pairs[numbers[0]].backward_source


def test_a_helper_returning_an_array_next_to_a_number():
    from sourcediff import calls

    check(uses_mixed, (0.7, np.array([1.0, -2.0, 0.5])), (0, 1))
    keys = list(calls._pairs[mixed_rhs])
    assert all("w" not in key[1] for key in keys)  # w is an array, never taken for a number


def first_of_pair(x, v, k):
    a, _ = oscillator_rhs(x, v, k)  # the second output is unused: its adjoint is zero
    return np.sum(a * x)


def only_the_second(x, v, k):
    return np.sum(oscillator_rhs(x, v, k)[1] * v)  # not unpacked: one element read


def test_unpacked_helper_outputs_hand_their_adjoints_over_as_one_tuple():
    check(oscillator, (0.3, -0.2, 1.7), (0, 1, 2))
    derivative = sourcediff.grad(oscillator, argnums=(0, 1, 2))
    derivative(0.3, -0.2, 1.7)
    assert "oscillator_rhs_bwd(" in derivative.source and "index_adjoint" not in derivative.source, \
        derivative.source
    for f in (first_of_pair, only_the_second):
        check(f, (0.3, -0.2, 1.7), (0, 1, 2))
        check(f, (np.array([0.3, 0.1]), np.array([-0.2, 0.4]), 1.7), (0, 1, 2))
