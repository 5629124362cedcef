"""Reverse over reverse: ``grad(grad(f))`` and ``grad(grad(grad(f)))`` differentiate generated code.

Each level is generated source (its ``.source`` shows its own code); the values are checked against JAX on the
same math written for ``jax.numpy`` and against central finite differences of our own derivative one order
lower. A function calling a derived function (``grad(f)(x)``) is differentiated through its generated code.
"""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.errors import SourcediffError
from sourcediff.testing import numerical_grad

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def loop(x):
    s = 0.0
    for i in range(4):
        s = s + np.sin(x * i) * x
    return s


def loop_jax(x):
    s = 0.0
    for i in range(4):
        s = s + jnp.sin(x * i) * x
    return s


def while_loop(x):
    y = x
    n = 0
    while y < 10.0 and n < 20:
        y = y * 1.5 + 0.1 * np.sin(y)
        n += 1
    return y


def while_loop_jax(x):
    y = x
    n = 0
    while y < 10.0 and n < 20:
        y = y * 1.5 + 0.1 * jnp.sin(y)
        n += 1
    return y


def branch(x):
    if x > 0.5:
        return x ** 3
    else:
        y = np.cos(x)
    return y * x


def branch_jax(x):
    if x > 0.5:
        return x ** 3
    return jnp.cos(x) * x


def helper(y):
    return np.exp(0.3 * y) * y


def with_helper(x):
    return helper(x) + helper(x * x)


def with_helper_jax(x):
    def helper_jax(y):
        return jnp.exp(0.3 * y) * y
    return helper_jax(x) + helper_jax(x * x)


def early_return(x):
    s = x
    for i in range(5):
        s = s * np.sin(s) + x
        if s > 3.0:
            return s * 2.0
    return s


def early_return_jax(x):
    s = x
    for i in range(5):
        s = s * jnp.sin(s) + x
        if s > 3.0:
            return s * 2.0
    return s


def with_list(x):
    xs = []
    for i in range(3):
        xs.append(x ** (i + 1))
    v = xs.pop()
    return v + xs[0] * xs[1] * np.exp(-x)


def with_list_jax(x):
    xs = []
    for i in range(3):
        xs.append(x ** (i + 1))
    v = xs.pop()
    return v + xs[0] * xs[1] * jnp.exp(-x)


def in_place(x):
    u = np.zeros(3)
    u[0] = x
    u[1:] += x ** 2
    return np.sum(u ** 3)


def in_place_jax(x):
    u = jnp.zeros(3).at[0].set(x)
    u = u.at[1:].add(x ** 2)
    return jnp.sum(u ** 3)


def in_place_loop(x):
    u = np.zeros(4)
    for i in range(4):
        u[i] = np.sin(x * (i + 1))
    u[1:-1] = u[1:-1] + 0.5 * (u[2:] - u[:-2])
    return np.sum(u * u) * x


def in_place_loop_jax(x):
    u = jnp.zeros(4)
    for i in range(4):
        u = u.at[i].set(jnp.sin(x * (i + 1)))
    u = u.at[1:-1].set(u[1:-1] + 0.5 * (u[2:] - u[:-2]))
    return jnp.sum(u * u) * x


CASES = {
    "loop": (loop, loop_jax, 0.7),
    "while_loop": (while_loop, while_loop_jax, 0.7),
    "branch_taken": (branch, branch_jax, 0.7),
    "branch_else": (branch, branch_jax, 0.3),
    "helper_call": (with_helper, with_helper_jax, 0.7),
    "early_return": (early_return, early_return_jax, 0.7),
    "list": (with_list, with_list_jax, 0.7),
    "in_place": (in_place, in_place_jax, 0.7),
    "in_place_loop": (in_place_loop, in_place_loop_jax, 0.4),
}
THIRD_ORDER = ["loop", "while_loop", "branch_taken", "branch_else", "helper_call", "early_return", "in_place"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_second_derivative(case):
    f, f_jax, x = CASES[case]
    second = sourcediff.grad(sourcediff.grad(f))
    got = second(x)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, float(jax.grad(jax.grad(f_jax))(x)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, numerical_grad(sourcediff.grad(f), [x], 0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", THIRD_ORDER)
def test_third_derivative(case):
    f, f_jax, x = CASES[case]
    second = sourcediff.grad(sourcediff.grad(f))
    third = sourcediff.grad(second)
    got = third(x)
    np.testing.assert_allclose(got, float(jax.grad(jax.grad(jax.grad(f_jax)))(x)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, numerical_grad(second, [x], 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["list", "in_place_loop"])
def test_a_third_order_the_in_place_analysis_cannot_follow_is_refused_loudly(case):
    """The second derivative of these keeps adjoint lists and arrays that it changes in place on its tape; the
    in-place analysis cannot tell they are private, so the third derivative is refused (not computed wrongly)."""
    f, _, x = CASES[case]
    with pytest.raises(SourcediffError, match="cannot differentiate"):
        sourcediff.grad(sourcediff.grad(sourcediff.grad(f)))(x)


def test_each_level_shows_its_own_generated_code():
    first = sourcediff.grad(loop)
    second = sourcediff.grad(first)
    third = sourcediff.grad(second)
    third(0.7)
    assert "def loop_grad(" in first.source
    assert "def loop_grad_grad(" in second.source and "loop_grad(" not in second.source.replace("loop_grad_grad(", "")
    assert "def loop_grad_grad_grad(" in third.source
    assert "tape" in second.source and "for " in second.source  # loops stay loops, on a tape of their own


def test_the_in_place_helpers_are_spelled_out_as_visible_writes():
    """The second derivative of an in-place update reads the first one's adjoint writes as writes."""
    first = sourcediff.grad(in_place)
    first(0.7)
    assert "sd.store_adjoint(" in first.source
    stages = sourcediff.stages(first.compiled.function, 0.7)
    assert "sd.store_adjoint(" not in stages["parse"] and "sd.written_part(" in stages["parse"]
    assert "u_bar[0] = sd.cleared(u_bar, 0)" in stages["parse"]


def test_value_and_grad_of_a_gradient():
    value, slope = sourcediff.value_and_grad(sourcediff.grad(loop))(0.7)
    np.testing.assert_allclose(value, sourcediff.grad(loop)(0.7), rtol=1e-12)
    np.testing.assert_allclose(slope, float(jax.grad(jax.grad(loop_jax))(0.7)), rtol=1e-9)


def field(x):
    u = x.copy()
    u[1:] = u[1:] * np.sin(u[:-1])
    return np.sum(u ** 3) + np.sum(x[0] * x)


def field_jax(x):
    u = x.at[1:].set(x[1:] * jnp.sin(x[:-1]))
    return jnp.sum(u ** 3) + jnp.sum(x[0] * x)


def squared_gradient(x):
    return np.sum(sourcediff.grad(field)(x) ** 2)


GRADIENT_OF_FIELD = sourcediff.grad(field)


def squared_gradient_of_a_global(x):
    return np.sum(GRADIENT_OF_FIELD(x) ** 2)


@pytest.mark.parametrize("h", [squared_gradient, squared_gradient_of_a_global])
def test_grad_of_a_function_that_calls_a_derived_function(h):
    x = np.array([0.3, -0.5, 0.8, 1.1])
    got = sourcediff.grad(h)(x)
    expected = jax.grad(lambda v: jnp.sum(jax.grad(field_jax)(v) ** 2))(x)
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got, numerical_grad(h, [x], 0), rtol=1e-6, atol=1e-7)


def two_arguments(a, b):
    return np.sum(np.sin(a) * b ** 2)


def test_a_gradient_with_respect_to_two_arguments_inside_a_function():
    def h(a, b):
        ga, gb = sourcediff.grad(two_arguments, argnums=(0, 1))(a, b)
        return np.sum(ga * gb)

    a, b = np.array([0.2, 0.9]), np.array([1.5, -0.4])
    got = sourcediff.grad(h, argnums=(0, 1))(a, b)
    for k in range(2):
        np.testing.assert_allclose(got[k], numerical_grad(h, [a, b], k), rtol=1e-6, atol=1e-8)


def test_a_derived_function_of_a_closure_is_refused_inside_differentiated_code():
    scale = 2.0

    def scaled(x):
        return scale * np.sin(x)

    def h(x):
        return sourcediff.grad(scaled)(x) * x

    with pytest.raises(SourcediffError, match="reads variables of an enclosing function"):
        sourcediff.grad(h)(0.5)


def product(a):
    return np.prod(a)


def product_jax(a):
    return jnp.prod(a)


def test_a_helper_without_a_rule_is_differentiated_through_its_source():
    """np.prod's adjoint calls sd.prod_adjoint, which has no rule: its source is differentiated, as a user's."""
    m = np.array([0.5, 2.0, 3.0])
    ours = sourcediff.grad(lambda m: np.sum(sourcediff.grad(product)(m) ** 2))(m)
    expected = jax.grad(lambda m: jnp.sum(jax.grad(product_jax)(m) ** 2))(m)
    np.testing.assert_allclose(ours, np.asarray(expected), rtol=1e-12)


def cumulative(a):
    return np.sum(np.cumprod(a))


def cumulative_jax(a):
    return jnp.sum(jnp.cumprod(a))


def test_a_helper_rewritten_to_be_read_is_differentiated_through_its_source():
    """sd.cumprod_adjoint moved axes given by a computed position, and was refused; it takes the axis from
    np.ndim now, and its source is differentiated."""
    m = np.array([0.5, 2.0, 3.0])
    ours = sourcediff.grad(lambda m: np.sum(sourcediff.grad(cumulative)(m)))(m)
    expected = jax.grad(lambda m: jnp.sum(jax.grad(cumulative_jax)(m)))(m)
    np.testing.assert_allclose(ours, np.asarray(expected), rtol=1e-12)


def inverse_sum(a):
    return np.sum(np.linalg.inv(a) @ a.T)


def inverse_sum_jax(a):
    return jnp.sum(jnp.linalg.inv(a) @ a.T)


def test_grad_of_a_function_of_a_matrix_gradient():
    a = np.array([[2.0, 0.3], [-0.4, 1.5]])
    h = lambda m: np.sum(sourcediff.grad(inverse_sum)(m) ** 2)  # noqa: E731
    expected = jax.grad(lambda m: jnp.sum(jax.grad(inverse_sum_jax)(m) ** 2))(a)
    np.testing.assert_allclose(sourcediff.grad(h)(a), np.asarray(expected), rtol=1e-9, atol=1e-12)


def test_the_second_derivative_costs_a_few_times_the_first():
    """Not a benchmark: a guard against a second derivative that re-traces or copies whole arrays per step."""
    import timeit

    second = sourcediff.grad(sourcediff.grad(loop))
    second(0.7)
    primal = min(timeit.repeat(lambda: loop(0.7), number=200, repeat=3))
    derived = min(timeit.repeat(lambda: second(0.7), number=200, repeat=3))
    assert derived < 200 * primal, (derived, primal)


def test_math_functions_at_second_order():
    def f(x):
        return math.exp(math.sin(x)) * x

    second = sourcediff.grad(sourcediff.grad(f))
    expected = jax.grad(jax.grad(lambda x: jnp.exp(jnp.sin(x)) * x))(0.4)
    np.testing.assert_allclose(second(0.4), float(expected), rtol=1e-9)


def is_vector(b):
    return np.ndim(b) == 1


def as_columns(x, v):
    return x[..., None] if v else x


def columns_loss(b):
    return np.sum(as_columns(b * b, is_vector(b)) ** 2)


def test_reverse_over_reverse_of_a_helper_that_returns_a_bool():
    # found by helper session hclose: the bool was taken for a varied value, and reverse over reverse added its
    # two None adjoints; a helper that gives back only a bool is now called as it is, with no derivative
    b = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(sourcediff.jacrev(sourcediff.grad(columns_loss))(b), np.diag(12.0 * b ** 2))


def test_forward_over_reverse_of_a_helper_that_returns_a_bool():
    b = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(sourcediff.hessian(columns_loss)(b), np.diag(12.0 * b ** 2), rtol=1e-12)


def _stencil_on_the_argument(x):
    for _ in range(2):
        x[1:] *= 1.0 + 0.1 * np.tanh(x[:-1])
    return np.sum(x ** 2)


def test_reverse_over_reverse_of_an_in_place_stencil_on_the_argument():
    # fuzz seed 1301700960: the gradient pushed the view x[1:] on its tape; popped, it showed the values put back
    # by the backward pass, which the second derivative took for the values pushed. It is sliced again now.
    x = np.array([0.9824, 0.7776, 1.335, 0.8433, 1.489])
    gradient = sourcediff.grad(_stencil_on_the_argument)
    expected = np.array([(gradient(x + 1e-6 * e) - gradient(x - 1e-6 * e)) / 2e-6 for e in np.eye(5)])
    np.testing.assert_allclose(sourcediff.jacrev(sourcediff.grad(_stencil_on_the_argument))(x.copy()), expected,
                               rtol=1e-5, atol=1e-6)


def _element_written_in_a_loop(w, x):
    values = np.array([v for v in x])  # its shape is not known: x[-3] may be a row or a number
    for _ in range(3):
        values[-3] *= 1.0 + 0.1 * np.tanh(np.dot(values, w))
    return np.sum(values ** 2)


def test_an_element_read_before_its_array_changed_is_not_read_again():
    """Fuzz seed 1302100158: the save plan took values[-3] for a view and read it again in the backward pass,
    before the write was undone: a wrong gradient. Only slices (certainly views) are read again."""
    w, x = np.array([1.4851, 0.6287, 1.2194, 1.4809]), np.array([0.5503, 0.6715, 0.5181, 0.6133])
    gradient = sourcediff.grad(_element_written_in_a_loop)(w, x)
    expected = [(_element_written_in_a_loop(w + 1e-6 * e, x.copy()) - _element_written_in_a_loop(w - 1e-6 * e, x.copy()))
                / 2e-6 for e in np.eye(4)]
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-9)
