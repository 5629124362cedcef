"""Rules of the ``math`` module against finite differences and ``jax.grad``."""
import math
import warnings

import numpy as np
import pytest

from sourcediff import grad
from sourcediff.rules import registry
from sourcediff.rules.scalar_templates import TEMPLATES
from sourcediff.testing import check_grads

jax = pytest.importorskip("jax")
jnp = jax.numpy
jsp = pytest.importorskip("jax.scipy.special")

MATH_ENTRIES = {entry["math"]: entry for entry in TEMPLATES.values() if entry["math"]}
REQUIRED = ("sin cos tan asin acos atan atan2 sinh cosh tanh exp expm1 log log1p log10 log2 "
            "sqrt pow hypot erf erfc").split()


def _jax_function(name):
    entry = MATH_ENTRIES[name]
    return getattr(jsp, name) if entry["numpy"] is None else getattr(jnp, entry["numpy"])


def _user_function(fn, arity):
    """A small user function calling ``fn``; scaled so the incoming adjoint is not 1."""
    if arity == 1:
        def f(x):
            return 1.5 * fn(x)
    else:
        def f(x, y):
            return 1.5 * fn(x, y)
    return f


def _sample(rng, entry):
    return [float(rng.uniform(*interval)) for interval in entry["sample"].values()]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_functions_have_rules(name):
    rule = registry.lookup(getattr(math, name))
    assert rule is not None and rule.adjoints
    assert not rule.unbroadcast  # Python floats only


@pytest.mark.parametrize("name", sorted(MATH_ENTRIES))
def test_matches_finite_differences(name, rng):
    entry = MATH_ENTRIES[name]
    f = _user_function(getattr(math, name), len(entry["sample"]))
    for _ in range(3):
        check_grads(f, _sample(rng, entry))


@pytest.mark.parametrize("name", sorted(MATH_ENTRIES))
def test_matches_jax(name, rng):
    entry = MATH_ENTRIES[name]
    arity = len(entry["sample"])
    f = _user_function(getattr(math, name), arity)
    f_jax = _user_function(_jax_function(name), arity)
    args = _sample(rng, entry)
    argnums = tuple(range(arity))
    ours = grad(f, argnums=argnums)(*args)
    theirs = jax.grad(f_jax, argnums=argnums)(*args)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    assert all(isinstance(v, float) for v in ours)


def log_natural(x):
    return math.log(x)


def log_base(x, b):
    return math.log(x, b)


def log_base_two(x):
    return math.log(x, 2.0)


def test_log_without_base(rng):
    x = float(rng.uniform(0.3, 3.0))
    check_grads(log_natural, [x])
    assert grad(log_natural)(x) == pytest.approx(1 / x, rel=1e-14)


def test_log_with_base(rng):
    x, b = float(rng.uniform(0.3, 3.0)), float(rng.uniform(1.5, 4.0))
    check_grads(log_base, [x, b])
    check_grads(log_base_two, [x])
    theirs = jax.grad(lambda x, b: jnp.log(x) / jnp.log(b), argnums=(0, 1))(x, b)
    np.testing.assert_allclose(grad(log_base, argnums=(0, 1))(x, b), theirs, rtol=1e-12)


def log_base_ten(x):
    return math.log(x, 10.0)


def test_log_with_literal_base_compiles_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert grad(log_base_ten)(2.0) == pytest.approx(1 / (2.0 * math.log(10.0)), rel=1e-14)


def power(x, y):
    return math.pow(x, y)


@pytest.mark.parametrize("x, y", [(0.0, 2.0), (0.0, 3.5), (0.0, 1.0)])
def test_pow_at_zero_base(x, y):
    # d/dx x**y = y * x**(y - 1) and d/dy x**y = x**y * log(x) -> 0 as x -> 0+ for y > 0
    dx, dy = grad(power, argnums=(0, 1))(x, y)
    assert dx == pytest.approx(y * x ** (y - 1))
    assert dy == 0.0


def test_pow_with_zero_exponent_at_zero_base():
    # x ** 0 is the constant 1, so its slope is 0 even at x == 0
    assert grad(power)(0.0, 0.0) == 0.0


def test_pow_integer_exponent_of_negative_base(rng):
    check_grads(power, [-float(rng.uniform(0.5, 2.0)), 3.0], argnums=0)


def fabs_times(x):
    return 2.0 * math.fabs(x)


def test_fabs(rng):
    for x in (-1.3, 0.7):
        check_grads(fabs_times, [x])
    assert grad(fabs_times)(0.0) == 0.0


def floor_times(x):
    return x * math.floor(x)


def test_floor_is_nondifferentiable():
    assert registry.is_nondifferentiable(math.floor)
    check_grads(floor_times, [2.3])


def hypot_three(x, y, z):
    return math.hypot(x, y, z)


def test_hypot_with_three_arguments_is_refused():
    from sourcediff.errors import SourcediffError

    with pytest.raises(SourcediffError, match="hypot"):
        grad(hypot_three)(1.0, 2.0, 3.0)
