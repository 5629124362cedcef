"""Rules of NumPy's elementwise functions against finite differences and JAX."""
import types

import numpy as np
import pytest

from sourcediff import grad, vjp
from sourcediff.rules import registry
from sourcediff.rules.scalar_templates import TEMPLATES
from sourcediff.testing import check_grads, numerical_grad

jax = pytest.importorskip("jax")
jnp = jax.numpy

NUMPY_ENTRIES = {entry["numpy"]: entry for entry in TEMPLATES.values() if entry["numpy"]}
UNARY = sorted(name for name, entry in NUMPY_ENTRIES.items() if len(entry["sample"]) == 1)
BINARY = sorted(name for name, entry in NUMPY_ENTRIES.items() if len(entry["sample"]) == 2)
REQUIRED = ("sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh exp expm1 log log1p log2 log10 "
            "sqrt square reciprocal power hypot negative maximum minimum where clip abs absolute").split()
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


def _unary(fn):
    def f(x):
        return fn(x)
    return f


def _binary(fn):
    def f(x, y):
        return fn(x, y)
    return f


def _summed(fn):
    def f(x, y):
        return np.sum(fn(x, y))
    return f


def _assert_matches_jax(f, f_jax, args, rng):
    """Compare pullbacks of ``f`` (ours) and ``f_jax`` (JAX) under a random cotangent."""
    out, pullback = vjp(f, *args)
    cotangent = rng.standard_normal(np.shape(out))
    ours = pullback(cotangent if np.ndim(out) else float(cotangent))
    _, jax_pullback = jax.vjp(f_jax, *(jnp.asarray(a) for a in args))
    theirs = jax_pullback(jnp.asarray(cotangent))
    for got, expected, arg in zip(ours, theirs, args):
        assert np.shape(got) == np.shape(arg)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", REQUIRED)
def test_required_functions_have_rules(name):
    assert registry.lookup(getattr(np, name)) is not None


@pytest.mark.parametrize("name", BINARY + ["maximum", "minimum", "where", "clip"])
def test_binary_rules_unbroadcast(name):
    assert registry.lookup(getattr(np, name)).unbroadcast


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "isnan", "greater"])
def test_nondifferentiable(name):
    assert registry.is_nondifferentiable(getattr(np, name))


@pytest.mark.parametrize("shape", [None, (3, 4)], ids=["float", "array"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_finite_differences(name, shape, rng):
    check_grads(_unary(getattr(np, name)), [_draw(rng, NUMPY_ENTRIES[name]["sample"]["x"], shape)])


@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_jax(name, rng):
    x = _draw(rng, NUMPY_ENTRIES[name]["sample"]["x"], (3, 4))
    _assert_matches_jax(_unary(getattr(np, name)), getattr(jnp, name), [x], rng)


@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", BINARY)
def test_binary_matches_finite_differences(name, shapes, rng):
    intervals = list(NUMPY_ENTRIES[name]["sample"].values())
    args = [_draw(rng, interval, shape) for interval, shape in zip(intervals, shapes)]
    check_grads(_binary(getattr(np, name)), args)
    check_grads(_summed(getattr(np, name)), args)


@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", BINARY)
def test_binary_matches_jax(name, shapes, rng):
    intervals = list(NUMPY_ENTRIES[name]["sample"].values())
    args = [_draw(rng, interval, shape) for interval, shape in zip(intervals, shapes)]
    _assert_matches_jax(_binary(getattr(np, name)), getattr(jnp, name), args, rng)


def power_fn(x, y):
    return np.power(x, y)


@pytest.mark.parametrize("x, y", [
    (np.array([0.0, 0.0, 2.0]), np.array([2.0, 3.5, 1.5])),
    (np.zeros(3), 2.0),
])
def test_power_at_zero_base(x, y):
    # d/dx x**y = y * x**(y - 1); d/dy x**y = x**y * log(x), which tends to 0 as x -> 0+ for y > 0
    dx, dy = vjp(power_fn, x, y)[1](np.ones(3))
    np.testing.assert_allclose(dx, y * np.power(x, np.subtract(y, 1.0)))
    dy_elementwise = np.power(x, y) * np.log(np.where(x == 0, 1.0, x))
    np.testing.assert_allclose(dy, dy_elementwise if np.ndim(y) else np.sum(dy_elementwise))


def test_power_zero_exponent_at_zero_base():
    # x ** 0 is constant: slope 0 even at x == 0
    dx, _ = vjp(power_fn, np.zeros(3), np.zeros(3))[1](np.ones(3))
    np.testing.assert_array_equal(dx, np.zeros(3))


# hand-written rules --------------------------------------------------------------------

PIECEWISE = {"maximum": np.maximum, "minimum": np.minimum, "fmax": np.fmax, "fmin": np.fmin}


@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", PIECEWISE)
def test_maximum_minimum(name, shapes, rng):
    args = [_draw(rng, (-2.0, 2.0), shape) for shape in shapes]
    check_grads(_binary(PIECEWISE[name]), args)
    _assert_matches_jax(_binary(PIECEWISE[name]), getattr(jnp, name), args, rng)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_split_ties_like_jax(name, rng):
    # documented convention: half the adjoint to each of two equal arguments (as JAX)
    x = np.array([0.5, -1.0, 2.0])
    y = np.array([0.5, 1.0, 2.0])
    _assert_matches_jax(_binary(PIECEWISE[name]), getattr(jnp, name), [x, y], rng)
    dx, dy = vjp(_binary(PIECEWISE[name]), x, y)[1](np.ones(3))
    np.testing.assert_array_equal(dx[[0, 2]], [0.5, 0.5])
    np.testing.assert_array_equal(dy[[0, 2]], [0.5, 0.5])


def absolute(x):
    return np.abs(x) * 1.5


def absolute_alias(x):
    return np.absolute(x)


@pytest.mark.parametrize("shape", [None, (3, 4)], ids=["float", "array"])
@pytest.mark.parametrize("f", [absolute, absolute_alias])
def test_abs(f, shape, rng):
    x = _draw(rng, (0.2, 2.0), shape) * np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    check_grads(f, [float(x) if shape is None else x])


def test_abs_at_zero_is_zero():
    (dx,) = vjp(absolute, np.array([0.0, -2.0]))[1](np.ones(2))
    np.testing.assert_array_equal(dx, [0.0, -1.5])


def sign_times(x):
    return np.sign(x) * x


def test_sign_is_a_constant(rng):
    check_grads(sign_times, [rng.uniform(0.2, 2.0, size=5) * np.array([1, -1, 1, -1, 1])])


def negative_fn(x, y):
    return np.negative(x) * y


def test_negative_in_a_product(rng):
    check_grads(negative_fn, [rng.standard_normal((3, 1)), rng.standard_normal((1, 4))])


def where_fn(x, y):
    return np.where(x > 0.0, x * 2.0, y)


def where_scalar_branch(x, y):
    return np.where(x > 0.0, y, x)


WHERE_SHAPES = {"same": ((3, 4), (3, 4)), "outer": ((3, 1), (1, 4)), "array-float": ((3, 4), None)}


@pytest.mark.parametrize("shapes", WHERE_SHAPES.values(), ids=WHERE_SHAPES.keys())
@pytest.mark.parametrize("f", [where_fn, where_scalar_branch])
def test_where(f, shapes, rng):
    args = [_draw(rng, (-2.0, 2.0), shape) for shape in shapes]
    check_grads(f, args)
    jax_f = {where_fn: lambda x, y: jnp.where(x > 0.0, x * 2.0, y),
             where_scalar_branch: lambda x, y: jnp.where(x > 0.0, y, x)}[f]
    _assert_matches_jax(f, jax_f, args, rng)


def clip_fn(x, lo, hi):
    return np.clip(x, lo, hi)


def clip_lower(x, lo):
    return np.clip(x, lo, None)


def clip_upper(x, hi):
    return np.clip(x, None, hi)


CLIP_SHAPES = {"floats": ((3, 4), None, None), "arrays": ((3, 4), (3, 1), (1, 4)), "scalar-x": (None, None, None)}


@pytest.mark.parametrize("shapes", CLIP_SHAPES.values(), ids=CLIP_SHAPES.keys())
def test_clip(shapes, rng):
    x = _draw(rng, (-2.0, 2.0), shapes[0])
    lo = _draw(rng, (-1.0, -0.2), shapes[1])
    hi = _draw(rng, (0.2, 1.0), shapes[2])
    check_grads(clip_fn, [x, lo, hi])
    _assert_matches_jax(clip_fn, jnp.clip, [x, lo, hi], rng)


def test_clip_with_one_bound(rng):
    x = rng.uniform(-2.0, 2.0, size=(3, 4))
    check_grads(clip_lower, [x, -0.3])
    check_grads(clip_upper, [x, 0.4])


def test_clip_boundary_goes_to_a():
    # documented convention: a point exactly on a bound keeps its adjoint
    dx, dlo, dhi = vjp(clip_fn, np.array([-1.0, 0.0, 1.0]), -1.0, 1.0)[1](np.ones(3))
    np.testing.assert_array_equal(dx, [1.0, 1.0, 1.0])
    assert dlo == 0.0 and dhi == 0.0


def test_clip_with_crossed_bounds_gives_a_max(rng):
    # np.clip applies a_max last: with a_min > a_max every element is a_max
    dx, dlo, dhi = vjp(clip_fn, rng.uniform(-2, 2, size=4), 0.5, -0.5)[1](np.ones(4))
    np.testing.assert_array_equal(dx, np.zeros(4))
    assert dlo == 0.0 and dhi == 4.0


ARITHMETIC = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide}


@pytest.mark.parametrize("shapes", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("name", ARITHMETIC)
def test_arithmetic_ufuncs(name, shapes, rng):
    x = _draw(rng, (-2.0, 2.0), shapes[0])
    y = _draw(rng, (0.5, 2.0), shapes[1])
    check_grads(_binary(ARITHMETIC[name]), [x, y])
    _assert_matches_jax(_binary(ARITHMETIC[name]), getattr(jnp, name), [x, y], rng)


def sin_into(x):
    return np.sin(x, out=x)


def test_ufunc_keyword_outside_the_rule_is_refused():
    from sourcediff.errors import SourcediffError

    with pytest.raises(SourcediffError, match="out"):
        grad(sin_into)(np.ones(3))


def _pairs_of_lists(fn):
    def f(a, b, c, d):
        return np.sum(fn([a, b], [c, d]) * np.array([1.0, 10.0]))
    return f


@pytest.mark.parametrize("fn", [np.maximum, np.minimum, np.fmax, np.fmin], ids=lambda f: f.__name__)
def test_piecewise_functions_of_lists_compare_element_by_element(fn):
    # regression: the templates compared the lists themselves (a list's > is lexicographic), so at
    # (1, 5, 2, 3) the gradient of maximum went to the wrong elements
    f = _pairs_of_lists(fn)
    for args in [(1.0, 5.0, 2.0, 3.0), (4.0, 0.5, 2.0, 3.0)]:
        got = grad(f, argnums=(0, 1, 2, 3))(*args)
        expected = [numerical_grad(f, args, i) for i in range(4)]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_fmax_and_fmin_give_the_slope_to_the_argument_that_is_not_nan():
    def f(x, y):
        return np.sum(np.fmax(x, y) + 2.0 * np.fmin(y, x))

    x, y = np.array([1.0, np.nan, 3.0]), np.array([np.nan, 2.0, 1.0])
    gx, gy = grad(f, argnums=(0, 1))(x, y)
    # where one argument is NaN, fmax/fmin return the other: its slope is 1 there (JAX agrees)
    jx, jy = jax.grad(lambda a, b: jnp.sum(jnp.fmax(a, b) + 2.0 * jnp.fmin(b, a)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, [3.0, 0.0, 1.0])
    np.testing.assert_allclose(gy, [0.0, 3.0, 2.0])
    np.testing.assert_allclose(gx, jx)
    np.testing.assert_allclose(gy, jy)


# remainder, fmod, copysign, heaviside, nan_to_num, sinc ----------------------------------------------------------

def _away_from_whole_ratios(rng, shape):
    """``(x1, x2)`` with ``x1 / x2`` in ``(-2.8, -2.09)`` or ``(2.09, 2.8)``: the quotient is not 0 and finite
    differences stay on one piece."""
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return sign * rng.uniform(2.2, 2.8, shape), rng.uniform(1.0, 1.05, shape)


PIECES = {"remainder": np.remainder, "mod": np.mod, "fmod": np.fmod}


@pytest.mark.parametrize("name", PIECES)
def test_remainder_and_fmod(name, rng):
    x1, x2 = _away_from_whole_ratios(rng, (3, 4))
    check_grads(_summed(PIECES[name]), [x1, x2])
    check_grads(_summed(PIECES[name]), [x1, x2[0]])  # x2 broadcast along the rows
    _assert_matches_jax(_binary(PIECES[name]), getattr(jnp, name), [x1, x2], rng)


def test_remainder_and_fmod_slopes_in_the_divisor():
    # x1 = q x2 + r with q = floor(x1 / x2) (remainder) or trunc(x1 / x2) (fmod): r has slope -q in x2
    x1, x2 = np.array([-5.3, 5.3]), np.array([2.0, 2.0])
    _, d_rem = vjp(_binary(np.remainder), x1, x2)[1](np.ones(2))
    _, d_fmod = vjp(_binary(np.fmod), x1, x2)[1](np.ones(2))
    np.testing.assert_array_equal(d_rem, [3.0, -2.0])
    np.testing.assert_array_equal(d_fmod, [2.0, -2.0])


def test_copysign(rng):
    shape = (3, 4)
    x1 = np.where(rng.random(shape) < 0.5, -1.0, 1.0) * rng.uniform(0.3, 2.0, shape)
    x2 = np.where(rng.random(4) < 0.5, -1.0, 1.0) * rng.uniform(0.3, 2.0, 4)
    check_grads(_summed(np.copysign), [x1, x2])
    _assert_matches_jax(_binary(np.copysign), jnp.copysign, [x1, x2], rng)


def test_copysign_slope_is_the_agreement_of_the_signs():
    # +1 where the sign of x1 agrees with the sign bit of x2, -1 where they differ; 0 and -0.0 count as
    # positive, so x1 == 0 has slope +-1, never 0; nothing to x2 (JAX agrees)
    x1 = np.array([0.0, 0.0, -0.0, -0.0, 2.0, -2.0])
    x2 = np.array([1.0, -1.0, 1.0, -0.0, -3.0, -3.0])
    d1, d2 = vjp(_binary(np.copysign), x1, x2)[1](np.ones(6))
    np.testing.assert_array_equal(d1, [1.0, -1.0, 1.0, -1.0, -1.0, 1.0])
    np.testing.assert_array_equal(d2, np.zeros(6))
    j1, j2 = jax.vjp(jnp.copysign, x1, x2)[1](jnp.ones(6))
    np.testing.assert_array_equal(d1, j1)
    np.testing.assert_array_equal(d2, j2)


def test_heaviside_slopes():
    # a step in x1 (slope 0 on either side); x2 is the value where x1 == 0, so its slope is 1 there only
    x1, x2 = np.array([-1.5, 0.0, 2.0, 0.0]), np.array([0.3, 0.7, 0.1, 0.2])
    d1, d2 = vjp(_binary(np.heaviside), x1, x2)[1](np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(d1, np.zeros(4))
    np.testing.assert_array_equal(d2, [0.0, 2.0, 0.0, 4.0])
    _assert_matches_jax(_binary(np.heaviside), jnp.heaviside, [x1, x2], np.random.default_rng(0))
    # x2 broadcast: the adjoint sums over the zeros of x1
    assert grad(_summed(np.heaviside), argnums=1)(np.array([0.0, 1.0, 0.0]), 0.5) == 2.0


def nan_to_num_fn(x):
    return np.sum(np.nan_to_num(x, nan=1.0, posinf=5.0, neginf=-5.0) * np.arange(1.0, 6.0))


def test_nan_to_num():
    # slope 1 where x is finite, 0 where it was replaced
    x = np.array([0.5, np.nan, np.inf, -np.inf, -2.0])
    np.testing.assert_array_equal(grad(nan_to_num_fn)(x), [1.0, 0.0, 0.0, 0.0, 5.0])
    theirs = jax.grad(lambda v: jnp.sum(jnp.nan_to_num(v, nan=1.0, posinf=5.0, neginf=-5.0)
                                        * jnp.arange(1.0, 6.0)))(x)
    np.testing.assert_array_equal(grad(nan_to_num_fn)(x), theirs)
    check_grads(nan_to_num_fn, [np.array([0.5, -1.0, 2.0, 0.3, -2.0])])


def nan_to_num_in_place(x):
    return np.sum(np.nan_to_num(x, copy=False))


def test_nan_to_num_without_a_copy_is_refused():
    from sourcediff.errors import SourcediffError

    with pytest.raises(SourcediffError):
        grad(nan_to_num_in_place)(np.ones(3))


def test_sinc(rng):
    x = np.array([0.0, -0.004, 0.0099, 0.0101, -0.5, 1.0, 2.3])
    check_grads(_unary(np.sinc), [rng.uniform(-2.0, 2.0, (3, 4))])
    check_grads(_unary(np.sinc), [float(rng.uniform(0.1, 2.0))])
    _assert_matches_jax(_unary(np.sinc), jnp.sinc, [x], rng)
    # exactly 0 at 0; near 0 the slope is -pi^2 x / 3 + pi^4 x^3 / 30 - ..., where (cos(pi x) - sinc(x)) / x
    # cancels (JAX's slope at 1e-9 is off by a factor 50)
    tiny = np.array([0.0, 1e-9, -3e-5])
    (dx,) = vjp(_unary(np.sinc), tiny)[1](np.ones(3))
    np.testing.assert_allclose(dx, -np.pi**2 * tiny / 3 + np.pi**4 * tiny**3 / 30, rtol=1e-14, atol=0)
    assert dx[0] == 0.0


def test_cbrt_slope_is_infinite_at_zero():
    # documented: the slope 1 / (3 cbrt(x)^2) is inf at 0, as JAX has it
    with np.errstate(divide="ignore"):
        (dx,) = vjp(_unary(np.cbrt), np.array([0.0, 8.0]))[1](np.ones(2))
    assert dx[0] == np.inf and dx[1] == pytest.approx(1 / 12)
    assert jax.grad(jnp.cbrt)(0.0) == np.inf


# fabs, float_power, ldexp, i0, nextafter, modf, divmod, x.clip (NumPy's breadth) ---------------------------------

@pytest.mark.parametrize("name, make", [
    ("fabs", lambda rng: [rng.standard_normal((3, 4))]),
    ("float_power", lambda rng: [rng.uniform(0.3, 2.0, (3, 4)), rng.uniform(-2.0, 2.0, 4)]),
    ("i0", lambda rng: [rng.uniform(-6.0, 6.0, (3, 4))]),
])
def test_more_smooth_functions(name, make, rng):
    args = make(rng)
    f = _unary(getattr(np, name)) if len(args) == 1 else _binary(getattr(np, name))
    summed = (lambda x: np.sum(f(x) ** 2)) if len(args) == 1 else (lambda x, y: np.sum(f(x, y) ** 2))
    check_grads(summed, args)
    _assert_matches_jax(f, getattr(jnp, name), args, rng)


def test_i0_slope_is_i1_over_the_whole_range():
    scipy_special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-50.0, 50.0, 1001), [0.0, 39.999, 40.001, 300.0, 700.0]])
    (dx,) = vjp(_unary(np.i0), x)[1](np.ones(x.shape))
    np.testing.assert_allclose(dx, scipy_special.i1(x), rtol=1e-13)


def ldexp_fn(x, n):
    return np.sum(np.ldexp(x, n) ** 2)


def test_ldexp_in_its_mantissa(rng):
    x, n = rng.standard_normal((2, 3)), np.array([1, -2, 3])
    check_grads(ldexp_fn, [x, n], argnums=0)
    np.testing.assert_allclose(grad(ldexp_fn)(x, n), jax.grad(lambda a: jnp.sum(jnp.ldexp(a, n) ** 2))(x))


def nextafter_fn(x):
    return np.sum(np.nextafter(x, np.inf) * x)


def test_nextafter_moves_its_first_argument_by_one_ulp():
    # JAX has no derivative for it; the result is x1 moved by one unit in the last place: slope 1
    x = np.array([0.5, -1.5, 3.0])
    np.testing.assert_allclose(grad(nextafter_fn)(x), 2 * x, rtol=1e-15)
    check_grads(nextafter_fn, [x])


def modf_fn(x):
    fractional, integral = np.modf(x)
    return np.sum(fractional ** 2 * integral + fractional)


def divmod_fn(x, y):
    q, r = np.divmod(x, y)
    return np.sum(q * r ** 2 + r)


def test_modf_and_divmod(rng):
    x = rng.integers(-3, 3, (3, 4)) + rng.uniform(0.1, 0.9, (3, 4))
    check_grads(modf_fn, [x])
    theirs = jax.grad(lambda v: jnp.sum(jnp.modf(v)[0] ** 2 * jnp.modf(v)[1] + jnp.modf(v)[0]))(x)
    np.testing.assert_allclose(grad(modf_fn)(x), theirs, rtol=1e-12)
    x1, x2 = _away_from_whole_ratios(rng, (3, 4))
    check_grads(divmod_fn, [x1, x2[0]])
    theirs = jax.grad(lambda a, b: jnp.sum(jnp.divmod(a, b)[0] * jnp.divmod(a, b)[1] ** 2 + jnp.divmod(a, b)[1]),
                      argnums=(0, 1))(x1, x2)
    for ours, other in zip(grad(divmod_fn, argnums=(0, 1))(x1, x2), theirs):
        np.testing.assert_allclose(ours, other, rtol=1e-12)


def test_modf_integral_part_has_slope_zero():
    # the integral part is piecewise constant; the fractional part x - trunc(x) has slope 1, also where it jumps
    def integral_only(x):
        return np.sum(np.modf(x)[1] * x)

    x = np.array([1.5, -2.25, 3.0])
    np.testing.assert_array_equal(grad(integral_only)(x), np.trunc(x))


def clip_method(x, lo, hi):
    return np.sum(x.clip(lo, hi) ** 2) + np.sum(x.clip(min=lo) * x.clip(max=hi))


def test_clip_method(rng):
    x = np.array([-1.5, -0.2, 0.3, 0.9, 2.0])
    check_grads(clip_method, [x, -0.5, 1.0])


@pytest.mark.parametrize("fn", [np.around, np.spacing, np.isneginf, np.isposinf, np.isreal, np.iscomplex])
def test_more_piecewise_constant_functions_carry_no_gradient(fn):
    def f(x):
        return np.sum(fn(x) * x)

    x = np.array([0.25, -1.5, 2.75])
    np.testing.assert_array_equal(grad(f)(x), fn(x).astype(np.float64))


def bitwise_fn(x, n):
    return np.sum(x * np.bitwise_and(n, 3) + x * np.left_shift(n, 1) + x * np.gcd(n, 4) + x * np.invert(n))


def test_bitwise_and_integer_functions_are_constants(rng):
    x, n = rng.standard_normal(3), np.array([5, 6, 7])
    expected = np.bitwise_and(n, 3) + np.left_shift(n, 1) + np.gcd(n, 4) + np.invert(n)
    np.testing.assert_allclose(grad(bitwise_fn)(x, n), expected)


def unwrapped_phase(x):
    return np.sum(np.sin(np.unwrap(np.cumsum(x) * 3.0)) * np.arange(x.shape[0]))


def test_unwrap_has_slope_one_between_its_jumps(rng):
    x = rng.uniform(0.2, 1.2, 8)  # steps of 0.6 to 3.6: some wrap, none near the threshold pi
    x[np.abs(x * 3.0 - np.pi) < 0.2] += 0.4
    check_grads(unwrapped_phase, (x,))
    jax = pytest.importorskip("jax")
    theirs = jax.grad(types.FunctionType(unwrapped_phase.__code__, {**unwrapped_phase.__globals__,
                                                                    "np": jax.numpy}))(x)
    np.testing.assert_allclose(grad(unwrapped_phase)(x), np.asarray(theirs), rtol=1e-8, atol=1e-10)
