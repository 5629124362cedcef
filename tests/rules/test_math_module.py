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


# fsum, prod, dist, lgamma, gamma, fmod, copysign -----------------------------------------------------------------

def fsum_three(x, y, z):
    return 1.5 * math.fsum([x, y * y, z])


def prod_three(x, y, z):
    return math.prod((x, y, z), start=2.0)


def prod_start(x, s):
    return math.prod([x, x + 1.0], start=s)


def dist_points(x, y, z):
    return math.dist([x, y], (z, 0.5))


def test_fsum_prod_dist(rng):
    args = [float(v) for v in rng.uniform(0.3, 2.0, 3)]
    for f, jax_f in [(fsum_three, lambda x, y, z: 1.5 * (x + y * y + z)),
                     (prod_three, lambda x, y, z: jnp.prod(jnp.array([2.0, x, y, z]))),
                     (dist_points, lambda x, y, z: jnp.linalg.norm(jnp.array([x - z, y - 0.5])))]:
        check_grads(f, args)
        ours = grad(f, argnums=(0, 1, 2))(*args)
        np.testing.assert_allclose(ours, jax.grad(jax_f, argnums=(0, 1, 2))(*args), rtol=1e-12)
    check_grads(prod_start, args[:2], argnums=(0, 1))


def test_prod_is_exact_at_zero():
    # the slope of x * y * z in y at y == 0 is x * z, without dividing by y (here with start=2)
    assert grad(prod_three, argnums=(0, 1, 2))(3.0, 0.0, 5.0) == (0.0, 30.0, 0.0)


def test_dist_at_coinciding_points_is_zero():
    assert grad(dist_points, argnums=(0, 1, 2))(0.5, 0.5, 0.5) == (0.0, 0.0, 0.0)


def gamma_fn(x):
    return 2.0 * math.gamma(x)


def lgamma_fn(x):
    return 2.0 * math.lgamma(x)


@pytest.mark.parametrize("x", [0.3, 1.0, 2.5, 7.2, 15.0, -0.6, -2.3])
def test_gamma_and_lgamma(x):
    check_grads(gamma_fn, [x])
    check_grads(lgamma_fn, [x])
    np.testing.assert_allclose(grad(gamma_fn)(x), jax.grad(lambda v: 2.0 * jsp.gamma(v))(x), rtol=1e-12)
    # jax.scipy.special.gammaln is log|Gamma| for negative x too, as math.lgamma
    np.testing.assert_allclose(grad(lgamma_fn)(x), jax.grad(lambda v: 2.0 * jsp.gammaln(v))(x), rtol=1e-12)


def test_digamma_against_known_values():
    from sourcediff.backends import numpy_backend as sd

    euler_gamma = 0.5772156649015329
    assert sd.digamma(1.0) == pytest.approx(-euler_gamma, rel=1e-15)
    assert sd.digamma(0.5) == pytest.approx(-euler_gamma - 2 * math.log(2.0), rel=1e-15)
    assert sd.digamma(2.0) == pytest.approx(1 - euler_gamma, rel=1e-15)
    assert math.isnan(sd.digamma(-2.0))


def fmod_fn(x, y):
    return 1.5 * math.fmod(x, y)


def copysign_fn(x, y):
    return 1.5 * math.copysign(x, y)


def test_fmod_and_copysign(rng):
    for x, y in [(2.5, 1.02), (-2.3, 1.04), (0.7, -1.6), (-1.3, -0.4)]:
        check_grads(fmod_fn, [x, y])
        check_grads(copysign_fn, [x, y])
        for f, jax_f in [(fmod_fn, lambda a, b: 1.5 * jnp.fmod(a, b)),
                         (copysign_fn, lambda a, b: 1.5 * jnp.copysign(a, b))]:
            np.testing.assert_allclose(grad(f, argnums=(0, 1))(x, y), jax.grad(jax_f, argnums=(0, 1))(x, y),
                                       rtol=1e-12)
    # fmod(x, y) = x - trunc(x / y) y; copysign at 0 has slope +-1 from the sign of y (see math_module.py)
    assert grad(fmod_fn, argnums=(0, 1))(-5.3, 2.0) == (1.5, 3.0)
    assert grad(copysign_fn, argnums=(0, 1))(0.0, -1.0) == (-1.5, 0.0)
    assert grad(copysign_fn, argnums=(0, 1))(0.0, 1.0) == (1.5, 0.0)


def uses_the_less_common_functions(x, y):
    m, e = math.frexp(x * 3.0)
    fraction, whole = math.modf(y)
    return (math.ldexp(x, 3) * m + math.remainder(x * 7.0, y) * fraction + whole * x
            + math.nextafter(y, 10.0) * e + math.cbrt(x) + math.exp2(y))


@pytest.mark.parametrize("x, y", [(0.7, 1.3), (-1.6, -0.45), (2.2, 0.8)])
def test_frexp_modf_ldexp_remainder_nextafter_cbrt_exp2(x, y):
    check_grads(uses_the_less_common_functions, (x, y))


def ldexp_and_cbrt(x):
    return math.ldexp(x, 3) * math.cbrt(x) + math.exp2(x)


def test_ldexp_cbrt_exp2_against_jax(jax_grad):
    ours = grad(ldexp_and_cbrt)(0.7)
    theirs = jax.grad(lambda v: jnp.ldexp(v, 3) * jnp.cbrt(v) + jnp.exp2(v))(0.7)
    assert ours == pytest.approx(float(theirs), rel=1e-12)


@pytest.mark.parametrize("name", ["lcm", "isqrt", "ulp"])
def test_integer_and_step_functions_are_non_differentiable(name):
    assert registry.is_nondifferentiable(getattr(math, name))
