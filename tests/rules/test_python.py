"""Rules of Python's operators and builtins against finite differences and JAX."""
import operator

import numpy as np
import pytest

from sourcediff import grad, vjp
from sourcediff.rules import registry
from sourcediff.testing import check_grads

jax = pytest.importorskip("jax")
jnp = jax.numpy


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def truediv(a, b):
    return a / b


def power(a, b):
    return a ** b


def mod(a, b):
    return a % b


def matmul(a, b):
    return a @ b


def neg(a):
    return -a * 1.5


def pos(a):
    return +a * 1.5


# operator -> (user function, sample interval of a, of b)
BINARY = {
    "add": (add, (-2.0, 2.0), (-2.0, 2.0)),
    "sub": (sub, (-2.0, 2.0), (-2.0, 2.0)),
    "mul": (mul, (-2.0, 2.0), (-2.0, 2.0)),
    "truediv": (truediv, (-2.0, 2.0), (0.5, 2.0)),
    "pow": (power, (0.3, 2.0), (-2.0, 2.0)),
    "mod": (mod, (0.1, 5.0), (0.7, 1.3)),
}
SHAPES = {
    "floats": (None, None),
    "same": ((3, 4), (3, 4)),
    "outer": ((3, 1), (1, 4)),
    "float-array": (None, (3, 4)),
    "array-float": ((3, 4), None),
    "row": ((4,), (3, 4)),
}


def _draw(rng, interval, shape):
    return float(rng.uniform(*interval)) if shape is None else rng.uniform(*interval, size=shape)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "truediv", "pow", "matmul", "neg", "pos"])
def test_operators_have_rules(name):
    assert registry.lookup(getattr(operator, name)) is not None


@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_comparisons_are_nondifferentiable(name):
    assert registry.is_nondifferentiable(getattr(operator, name))


@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", BINARY)
def test_binary_operator_matches_finite_differences(name, shapes, rng):
    f, a_interval, b_interval = BINARY[name]
    a, b = _draw(rng, a_interval, shapes[0]), _draw(rng, b_interval, shapes[1])
    check_grads(f, [a, b])


@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", BINARY)
def test_binary_operator_matches_jax(name, shapes, rng):
    f, a_interval, b_interval = BINARY[name]
    a, b = _draw(rng, a_interval, shapes[0]), _draw(rng, b_interval, shapes[1])
    out, pullback = vjp(f, a, b)
    cotangent = rng.standard_normal(np.shape(out))
    ours = pullback(cotangent if np.ndim(out) else float(cotangent))
    _, jax_pullback = jax.vjp(f, jnp.asarray(a), jnp.asarray(b))
    theirs = jax_pullback(jnp.asarray(cotangent))
    for got, expected, arg in zip(ours, theirs, (a, b)):
        assert np.shape(got) == np.shape(arg)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f", [neg, pos])
@pytest.mark.parametrize("shape", [None, (3, 4)])
def test_unary_operators(f, shape, rng):
    check_grads(f, [_draw(rng, (-2.0, 2.0), shape)])


MATMUL_SHAPES = [
    ((3, 4), (4, 2)),
    ((4,), (4, 2)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES, ids=str)
def test_matmul(a_shape, b_shape, rng):
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    check_grads(matmul, [a, b])
    out, pullback = vjp(matmul, a, b)
    cotangent = rng.standard_normal(np.shape(out))
    ours = pullback(cotangent if np.ndim(out) else float(cotangent))
    theirs = jax.vjp(matmul, jnp.asarray(a), jnp.asarray(b))[1](jnp.asarray(cotangent))
    for got, expected in zip(ours, theirs):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def square_of_inner(x, y):
    z = x @ y
    return z * z


def test_matmul_vector_dot_vector_chain(rng):
    check_grads(square_of_inner, [rng.standard_normal(4), rng.standard_normal(4)])


def polynomial(x):
    return 2.0 * x ** 0 + 3.0 * x ** 1 + x ** 2


def test_power_with_zero_exponent_at_zero_base():
    # d/dx (2 + 3x + x**2) = 3 + 2x, which is 3 at x == 0
    assert grad(polynomial)(0.0) == 3.0
    (dx,) = vjp(polynomial, np.zeros(3))[1](np.ones(3))
    np.testing.assert_array_equal(dx, np.full(3, 3.0))


@pytest.mark.parametrize("a, b", [(0.0, 2.0), (0.0, 3.5), (np.zeros(3), np.array([1.0, 2.0, 3.0]))],
                         ids=["float-square", "float-fractional", "array"])
def test_power_at_zero_base_with_active_exponent(a, b):
    # d/db a**b = a**b * log(a) -> 0 as a -> 0+, for b > 0; d/da a**b = b * a**(b - 1)
    da, db = vjp(power, a, b)[1](np.ones(np.shape(a)) if np.ndim(a) else 1.0)
    np.testing.assert_array_equal(db, np.zeros(np.shape(b)))
    np.testing.assert_allclose(da, b * np.power(a, b - 1.0))


def integer_exponent(a):
    return a ** 3


def test_power_of_negative_base_with_integer_exponent(rng):
    check_grads(integer_exponent, [-float(rng.uniform(0.5, 2.0))])
    check_grads(integer_exponent, [-rng.uniform(0.5, 2.0, size=(3,))])


# builtins ---------------------------------------------------------------------------


def absolute(x):
    return 1.5 * abs(x)


def maximum(x, y):
    return 1.5 * max(x, y)


def minimum(x, y):
    return 1.5 * min(x, y)


def to_float(x):
    return float(x) * x


def times_int(x):
    return x * int(x)


def times_round(x):
    return x * round(x)


def times_bool(x):
    return x * bool(x)


def times_len(x, items):
    return x * len(items)


def gated(x):
    return x * (x > 0.5)


@pytest.mark.parametrize("x", [-1.3, 0.8])
def test_abs(x):
    check_grads(absolute, [x])


def test_abs_at_zero():
    assert grad(absolute)(0.0) == 0.0


@pytest.mark.parametrize("f", [maximum, minimum])
def test_min_max(f, rng):
    for _ in range(3):
        check_grads(f, [float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2))])


@pytest.mark.parametrize("f", [maximum, minimum])
def test_min_max_split_a_tie(f):
    # documented convention: half of the adjoint to each of two equal arguments
    assert grad(f, argnums=(0, 1))(0.7, 0.7) == (0.75, 0.75)


@pytest.mark.parametrize("f", [to_float, times_int, times_round, times_bool])
def test_conversions(f):
    check_grads(f, [2.3])


def test_float_is_identity_for_gradients():
    # d/dx float(x) * x = 2x
    assert grad(to_float)(1.25) == 2.5


def test_len_is_a_constant():
    check_grads(times_len, [0.3, [1, 2, 3]], argnums=0)


def test_comparison_result_is_a_constant():
    for x in (0.2, 0.9):
        check_grads(gated, [x])


@pytest.mark.parametrize("fn", [int, len, round, bool])
def test_builtins_declared_nondifferentiable(fn):
    assert registry.is_nondifferentiable(fn)


def max_of_an_index_and_an_element(x):
    s = 0.0
    for k in np.ndindex(2):
        s = s + x[k] * x[k] * max(k, x[0])  # a tuple against a number: NumPy broadcasts the comparison
    return s


def test_max_of_a_tuple_and_a_number_gives_a_number_adjoint():
    """Fuzz seed 1302000393 crashed: the adjoint of max compared the tuple k with the result the NumPy way,
    got a one-element array, and gave x[0] an adjoint of shape (1,)."""
    import sourcediff

    x = np.array([1.3314, 0.8503])
    expected = np.array([3 * x[0] ** 2 + x[1] ** 2, 2 * x[0] * x[1]])  # max(k, x[0]) is x[0] here
    np.testing.assert_allclose(sourcediff.grad(max_of_an_index_and_an_element)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(sourcediff.jvp(max_of_an_index_and_an_element, (x,), (np.array([1.0, 0.0]),))[1],
                               expected[0], rtol=1e-12)
