"""``custom_vjp``, ``custom_jvp`` and ``stop_gradient`` in reverse mode, on the classic examples of JAX's docs,
against hand derivatives and finite differences."""
import functools
import warnings

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import numerical_grad


# -- log1pexp: a stable derivative where naive reverse mode gives nan ---------------------------------

@sourcediff.custom_jvp
def log1pexp(x):
    return np.log(1.0 + np.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    ans = log1pexp(x)
    ans_dot = (1.0 - 1.0 / (1.0 + np.exp(x))) * x_dot
    return ans, ans_dot


def naive_log1pexp(x):
    return np.log(1.0 + np.exp(x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_calling_a_custom_function_calls_it():
    assert log1pexp(0.5) == pytest.approx(np.log1p(np.exp(0.5)))
    assert log1pexp.fun(0.5) == log1pexp(0.5)
    assert log1pexp.jvp is log1pexp_jvp and log1pexp.nondiff_argnums == ()
    assert log1pexp.__name__ == "log1pexp"


def test_custom_jvp_gives_the_stable_derivative_where_naive_gives_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(sourcediff.grad(naive_log1pexp)(1000.0))
        got = sourcediff.grad(log1pexp)(1000.0)
    assert got == 1.0
    for x in (-3.0, 0.0, 2.5):
        assert sourcediff.grad(log1pexp)(x) == pytest.approx(sigmoid(x), rel=1e-14)


def log1pexp_loss(x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(log1pexp(x * (i + 1)) ** 2)
    return s


def test_custom_jvp_inside_a_loop_in_reverse_mode():
    x = np.array([0.5, -1.0, 2.0])
    expected = sum(2.0 * np.log1p(np.exp(x * k)) * sigmoid(x * k) * k for k in (1, 2, 3))
    np.testing.assert_allclose(sourcediff.grad(log1pexp_loss)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(sourcediff.grad(log1pexp_loss)(x), numerical_grad(log1pexp_loss, [x], 0), rtol=1e-7)
    sourcediff.check_grads(log1pexp_loss, (x,), order=1, modes=("rev",))


def test_custom_jvp_through_vjp_and_jacrev():
    x = np.array([0.2, -0.4])
    out, vjp_fn = sourcediff.vjp(log1pexp, x)
    np.testing.assert_allclose(out, np.log1p(np.exp(x)))
    (g,) = vjp_fn(np.array([1.0, 3.0]))
    np.testing.assert_allclose(g, sigmoid(x) * [1.0, 3.0])
    np.testing.assert_allclose(sourcediff.jacrev(log1pexp)(x), np.diag(sigmoid(x)))


# -- clip_gradient: a custom_vjp whose backward pass clips the cotangent -----------------------------

@sourcediff.custom_vjp
def clip_gradient(lo, hi, x):
    return x  # identity on the forward pass


def clip_gradient_fwd(lo, hi, x):
    return x, (lo, hi)  # save the bounds for the backward pass


def clip_gradient_bwd(res, g):
    lo, hi = res
    return (None, None, np.clip(g, lo, hi))  # None: no cotangent for lo and hi


clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)


def scaled_sine(x):
    return np.sum(clip_gradient(-0.75, 0.75, 3.0 * np.sin(x)) * 2.0)


def test_custom_vjp_clips_the_gradient():
    x = np.array([0.3, 1.2, -2.0])
    # d/dx: the cotangent reaching clip_gradient is 2.0, clipped to 0.75, then times 3 cos(x)
    np.testing.assert_allclose(sourcediff.grad(scaled_sine)(x), 0.75 * 3.0 * np.cos(x))
    assert sourcediff.grad(clip_gradient, argnums=2)(-0.5, 0.5, 3.0) == 0.5
    assert clip_gradient.fwd is clip_gradient_fwd and clip_gradient.bwd is clip_gradient_bwd


def helper(x, y):
    return clip_gradient(-1.0, 1.0, x * y)


def through_a_helper(x, y):
    total = 0.0
    for _ in range(2):
        total = total + np.sum(helper(x, y) ** 2)
    return total


def test_custom_vjp_in_a_helper_in_a_loop():
    x, y = np.array([0.2, 0.5]), np.array([1.5, -0.5])
    gx, gy = sourcediff.grad(through_a_helper, argnums=(0, 1))(x, y)
    bar = 2 * np.clip(2.0 * x * y, -1.0, 1.0)  # each of the 2 calls clips its own cotangent 2 x y
    np.testing.assert_allclose(gx, bar * y)
    np.testing.assert_allclose(gy, bar * x)


# -- a custom_vjp with a real rule, checked against finite differences ---------------------------------

@sourcediff.custom_vjp
def norm(x):
    return np.sqrt(np.sum(x * x))


def norm_fwd(x):
    n = np.sqrt(np.sum(x * x))
    return n, (x, n)


def norm_bwd(res, g):
    x, n = res
    return (g * x / n,)


norm.defvjp(norm_fwd, norm_bwd)


def normalized_energy(x, w):
    return norm(x * w) ** 2 + np.sum(w)


def test_custom_vjp_against_finite_differences():
    x, w = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, 2.0])
    gx, gw = sourcediff.grad(normalized_energy, argnums=(0, 1))(x, w)
    np.testing.assert_allclose(gx, numerical_grad(normalized_energy, [x, w], 0), rtol=1e-7)
    np.testing.assert_allclose(gw, numerical_grad(normalized_energy, [x, w], 1), rtol=1e-7)
    sourcediff.check_grads(normalized_energy, (x, w), order=1, modes=("rev",))


def test_value_and_grad_of_a_custom_function():
    value, g = sourcediff.value_and_grad(norm)(np.array([3.0, 4.0]))
    assert value == 5.0
    np.testing.assert_allclose(g, [0.6, 0.8])


def test_a_custom_function_passed_as_a_value():
    def apply(fn, x):
        return fn(x) * 2.0

    def loss(x):
        return apply(norm, x)

    np.testing.assert_allclose(sourcediff.grad(loss)(np.array([3.0, 4.0])), [1.2, 1.6])


def test_called_with_keywords():
    def loss(a, b):
        return clip_gradient(lo=-0.1, hi=0.1, x=a * b)

    assert sourcediff.grad(loss)(2.0, 3.0) == pytest.approx(0.1 * 3.0)


# -- nondiff_argnums --------------------------------------------------------------------------------

@functools.partial(sourcediff.custom_vjp, nondiff_argnums=(0,))
def apply_twice(f, x):
    return f(f(x))


def apply_twice_fwd(f, x):
    y = f(x)
    return f(y), (x, y)


def apply_twice_bwd(f, res, g):
    x, y = res
    return (g * 2.0 * y * 2.0 * x,)  # for f(v) = v ** 2: d f(f(x)) = 2 f(x) * 2 x


apply_twice.defvjp(apply_twice_fwd, apply_twice_bwd)


def square(v):
    return v ** 2


def test_custom_vjp_with_nondiff_argnums():
    def loss(x):
        return apply_twice(square, x) * 3.0

    assert apply_twice.nondiff_argnums == (0,)
    assert sourcediff.grad(loss)(1.5) == pytest.approx(3.0 * 4.0 * 1.5 ** 3)


@functools.partial(sourcediff.custom_jvp, nondiff_argnums=(1,))
def power(x, k):
    return x ** k


@power.defjvp
def power_jvp(k, primals, tangents):
    x, = primals
    x_dot, = tangents
    return power(x, k), k * x ** (k - 1) * x_dot


def test_custom_jvp_with_nondiff_argnums():
    def loss(x):
        return np.sum(power(x, 3) + power(x * 2.0, 2))

    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(sourcediff.grad(loss)(x), 3 * x ** 2 + 2 * (2 * x) * 2, rtol=1e-12)


def test_an_active_nondiff_argument_is_refused():
    def loss(x):
        return power(2.0, x)

    with pytest.raises(sourcediff.SourcediffError, match="nondiff_argnums") as info:
        sourcediff.grad(loss)(3.0)
    assert "test_custom_rules.py" in str(info.value)


# -- rules missing or malformed ---------------------------------------------------------------------

def test_a_custom_function_without_a_rule_is_refused():
    @sourcediff.custom_vjp
    def bare(x):
        return x * 2.0

    def loss(x):
        return bare(x) ** 2

    with pytest.raises(sourcediff.SourcediffError, match="defvjp"):
        sourcediff.grad(loss)(1.0)


def test_a_bwd_returning_the_wrong_number_of_cotangents_is_refused():
    @sourcediff.custom_vjp
    def product(x, y):
        return x * y

    product.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1],))

    with pytest.raises(sourcediff.SourcediffError, match="2 differentiable argument"):
        sourcediff.grad(product)(2.0, 3.0)


# -- stop_gradient ----------------------------------------------------------------------------------

def stopped_product(x):
    return np.sum(x * sourcediff.stop_gradient(x))


def test_stop_gradient_is_the_identity_on_values():
    x = np.array([1.0, 2.0])
    y = sourcediff.stop_gradient(x)
    np.testing.assert_array_equal(y, x)
    assert y is not x
    assert sourcediff.stop_gradient(2.5) == 2.5
    tree = sourcediff.stop_gradient({"a": x, "b": [1.0, (2.0, x)]})
    assert tree["b"][0] == 1.0 and np.array_equal(tree["b"][1][1], x)


def test_no_gradient_flows_through_stop_gradient():
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(sourcediff.grad(stopped_product)(x), x)  # not 2 x
    assert sourcediff.grad(lambda_free_stop)(3.0) == 1.0


def lambda_free_stop(x):
    return x + sourcediff.stop_gradient(x) ** 2


def test_stop_gradient_of_a_pytree():
    def loss(p):
        frozen = sourcediff.stop_gradient(p)
        return p["w"] * frozen["w"] + frozen["b"] * p["b"]

    g = sourcediff.grad(loss)({"w": 2.0, "b": 3.0})
    assert g == {"w": 2.0, "b": 3.0}


# -- outputs that are tuples, arguments that are pytrees ---------------------------------------------

@sourcediff.custom_vjp
def polar(r, t):
    return r * np.cos(t), r * np.sin(t)


def polar_fwd(r, t):
    return polar(r, t), (r, t)


def polar_bwd(res, g):
    r, t = res
    gx, gy = g
    return (gx * np.cos(t) + gy * np.sin(t), -gx * r * np.sin(t) + gy * r * np.cos(t))


polar.defvjp(polar_fwd, polar_bwd)


def polar_loss(r, t):
    x, y = polar(r, t)
    return x * 2.0 + y ** 2


def only_y(r, t):
    x, y = polar(r, t)
    return y


def test_a_tuple_output_unpacked_by_the_caller():
    r, t = 2.0, 0.3
    dr, dt = sourcediff.grad(polar_loss, argnums=(0, 1))(r, t)
    assert dr == pytest.approx(2 * np.cos(t) + 2 * r * np.sin(t) ** 2)
    assert dt == pytest.approx(-2 * r * np.sin(t) + 2 * r * np.sin(t) * r * np.cos(t))
    assert sourcediff.grad(only_y, argnums=(0, 1))(r, t) == pytest.approx((np.sin(t), r * np.cos(t)))
    (dx_dr, dx_dt), (dy_dr, dy_dt) = sourcediff.jacrev(polar, argnums=(0, 1))(r, t)
    assert (dx_dr, dx_dt, dy_dr, dy_dt) == pytest.approx((np.cos(t), -r * np.sin(t), np.sin(t), r * np.cos(t)))


@sourcediff.custom_vjp
def scaled(p):
    return p["w"] * p["s"]


scaled.defvjp(lambda p: (scaled(p), p), lambda p, g: ({"w": g * p["s"], "s": np.sum(g * p["w"])},))


def scaled_loss(p):
    return np.sum(scaled(p) ** 2)


def test_a_dict_argument_gets_a_dict_cotangent():
    p = {"w": np.array([1.0, 2.0]), "s": 3.0}
    g = sourcediff.grad(scaled_loss)(p)
    np.testing.assert_allclose(g["w"], 2 * p["w"] * p["s"] ** 2)
    assert g["s"] == pytest.approx(np.sum(2 * p["w"] ** 2 * p["s"]))
    sourcediff.check_grads(scaled_loss, (p,), order=1, modes=("rev",))


def test_a_rule_defined_again_replaces_the_old_one():
    @sourcediff.custom_jvp
    def double(x):
        return 2.0 * x

    double.defjvp(lambda_free_jvp_two)

    def loss(x):
        return double(x) * 1.0

    assert sourcediff.grad(loss)(1.0) == 2.0
    double.defjvp(lambda_free_jvp_five)
    assert sourcediff.grad(loss)(1.0) == 5.0


def lambda_free_jvp_two(primals, tangents):
    return 2.0 * primals[0], 2.0 * tangents[0]


def lambda_free_jvp_five(primals, tangents):
    return 2.0 * primals[0], 5.0 * tangents[0]


# -- higher order: the rule's own code is differentiated ----------------------------------------------

@sourcediff.custom_jvp
def smooth_relu(x):
    return np.log1p(np.exp(x))


@smooth_relu.defjvp
def smooth_relu_jvp(primals, tangents):
    x, = primals
    t, = tangents
    return smooth_relu(x), t / (1.0 + np.exp(-x))


@sourcediff.custom_vjp
def cubed(x):
    return x ** 3


def cubed_fwd(x):
    return x ** 3, x


def cubed_bwd(x, g):
    return (3.0 * x ** 2 * g,)


cubed.defvjp(cubed_fwd, cubed_bwd)


def weighted_relu(x):
    return np.sum(smooth_relu(x) * x)


def weighted_cube(x):
    return np.sum(cubed(x) * np.sin(x))


def scalar_relu(z):
    return smooth_relu(z) * z


def scalar_cube(z):
    return cubed(z) * np.sin(z)


jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

HIGHER = [(weighted_relu, lambda x: jnp.sum(jax.nn.softplus(x) * x), scalar_relu,
           lambda z: jax.nn.softplus(z) * z),
          (weighted_cube, lambda x: jnp.sum(x ** 3 * jnp.sin(x)), scalar_cube, lambda z: z ** 3 * jnp.sin(z))]


@pytest.mark.parametrize("f,f_jax,scalar,scalar_jax", HIGHER, ids=["custom_jvp", "custom_vjp"])
def test_custom_rules_at_higher_order_match_jax(f, f_jax, scalar, scalar_jax):
    x = np.array([0.3, -0.5, 0.8])
    expected = np.asarray(jax.hessian(f_jax)(x))
    np.testing.assert_allclose(sourcediff.jacrev(sourcediff.grad(f))(x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sourcediff.hessian(f)(x), expected, rtol=1e-10, atol=1e-12)
    if f is weighted_relu:  # a custom_vjp rule is reverse-only (forward mode refuses it), as in JAX
        np.testing.assert_allclose(sourcediff.jacfwd(sourcediff.jacfwd(f))(x), expected, rtol=1e-10, atol=1e-12)
    third = sourcediff.grad(sourcediff.grad(sourcediff.grad(scalar)))(0.4)
    assert third == pytest.approx(float(jax.grad(jax.grad(jax.grad(scalar_jax)))(0.4)), rel=1e-10)
