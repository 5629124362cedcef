"""Forward mode: jvp, linearize and jacfwd against JAX and finite differences, on the language reverse mode covers.

The reverse-mode corpora run in forward mode too: ``sourcediff.testing.check_grads``
checks ``<u, jvp(v)> = <vjp(u), v>`` on every function it is given.
"""
import dataclasses
import math

import numpy as np
import pytest

import sourcediff
from sourcediff import SourcediffError
from sourcediff.testing import numerical_grad

from .conftest import _jax_version

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def directional(f, primals, tangents, eps=1e-6):
    """Central finite difference of ``f`` at ``primals`` in the direction ``tangents`` (arrays and floats)."""
    up = [p + eps * t for p, t in zip(primals, tangents)]
    down = [p - eps * t for p, t in zip(primals, tangents)]
    return (np.asarray(f(*up)) - np.asarray(f(*down))) / (2 * eps)


def mlp(w, b, x):
    return np.tanh(x @ w + b)


def loop_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x * i) / (i + 1)
    return s


def branchy(x):
    if np.sum(x) > 0:
        y = x * 2.0
    else:
        y = np.exp(x)
    return y * np.cos(x)


@pytest.mark.parametrize("f, args", [
    (mlp, (np.linspace(-1, 1, 6).reshape(3, 2), np.array([0.1, -0.2]), np.linspace(0, 1, 12).reshape(4, 3))),
    (branchy, (np.array([0.5, -0.2, 1.1]),)),
    (branchy, (np.array([-0.5, -0.2, -1.1]),)),
])
def test_jvp_matches_jax(f, args):
    rng = np.random.default_rng(0)
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
    out, out_dot = sourcediff.jvp(f, args, tangents)
    their_out, their_dot = jax.jvp(_jax_version(f, jnp), tuple(map(jnp.asarray, args)),
                                   tuple(map(jnp.asarray, tangents)))
    np.testing.assert_allclose(out, their_out, rtol=1e-12)
    np.testing.assert_allclose(out_dot, their_dot, rtol=1e-10, atol=1e-12)


def test_jvp_of_a_loop_with_an_integer_argument():
    out, out_dot = sourcediff.jvp(loop_sum, (0.7, 5), (1.0, 0))
    assert out == pytest.approx(loop_sum(0.7, 5))
    assert out_dot == pytest.approx(directional(lambda x: loop_sum(x, 5), [0.7], [1.0]), rel=1e-7)


def rk4_lorenz(sigma, rho, beta, steps):
    x, y, z = 1.0, 1.0, 1.0
    dt = 0.01
    for _ in range(steps):
        k1 = lorenz_rhs(x, y, z, sigma, rho, beta)
        k2 = lorenz_rhs(x + dt / 2 * k1[0], y + dt / 2 * k1[1], z + dt / 2 * k1[2], sigma, rho, beta)
        x, y, z = x + dt * k2[0], y + dt * k2[1], z + dt * k2[2]
    return x + y + z


def lorenz_rhs(x, y, z, sigma, rho, beta):
    return sigma * (y - x), x * (rho - z) - y, x * y - beta * z


def test_jvp_through_helpers_and_tuples():
    args = (10.0, 28.0, 8.0 / 3.0)
    for k in range(3):
        tangents = [0.0, 0.0, 0.0]
        tangents[k] = 1.0
        _, out_dot = sourcediff.jvp(rk4_lorenz, args + (50,), tuple(tangents) + (0,))
        expected = directional(lambda *a: rk4_lorenz(*a, 50), list(args), tangents)
        assert out_dot == pytest.approx(expected, rel=1e-6)


def heat(u0, k, steps=5):
    u = u0.copy()
    for _ in range(steps):
        u[1:-1] += k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u


def test_in_place_updates_write_the_tangent_alongside():
    u0, k = np.sin(np.linspace(0, 3, 9)), 0.2
    du, dk = np.cos(np.linspace(0, 1, 9)), 0.5
    before = (u0.copy(), du.copy())
    out, out_dot = sourcediff.jvp(heat, (u0, k), (du, dk))
    np.testing.assert_allclose(out, heat(u0, k))
    np.testing.assert_allclose(out_dot, directional(heat, [u0, k], [du, dk]), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(u0, before[0])  # the caller's primal and tangent are left as they were
    np.testing.assert_array_equal(du, before[1])
    source = sourcediff.stages(heat, u0, k, argnums=(0, 1), mode="jvp")["optimize"]
    assert "u_dot[1:-1] = " in source and "u_dot = u0_dot.copy()" in source and "tape" not in source
    assert source.count("for ") == 1  # the loop stays a loop


def writes_into_argument(u, x):
    u[0] = x * 2.0
    u[1:] += x ** 2
    return np.sum(u ** 3)


def fills_an_integer_array(x, d):
    y = np.zeros(4, dtype=int)
    y[1] = y[1] + d * x
    z = np.zeros(3)
    z[0] = d * x
    return np.sum(y * x) + np.sum(z)


def test_integer_arrays_keep_zero_tangents():
    _, out_dot = sourcediff.jvp(fills_an_integer_array, (0.5, 3.3), (1.0, 0.0))
    assert out_dot == pytest.approx(1.0 + 3.3)  # y holds 1 (an integer), whose derivative is 0; z[0] = 3.3 x
    source = sourcediff.stages(fills_an_integer_array, 0.5, 3.3, mode="jvp")["optimize"]
    assert "y_dot[1] = sd.tangent_stored_in(y, " in source and "z_dot[0] = " in source


def test_a_function_writing_into_its_argument_leaves_the_caller_s_arrays():
    u, du = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    kept = (u.copy(), du.copy())
    out, out_dot = sourcediff.jvp(writes_into_argument, (u, 0.3), (du, 1.5))
    np.testing.assert_array_equal(u, kept[0])
    np.testing.assert_array_equal(du, kept[1])
    expected = directional(lambda a, b: writes_into_argument(a.copy(), b), [u, 0.3], [du, 1.5])
    assert out_dot == pytest.approx(expected, rel=1e-6)


def shares_a_buffer(x):
    y = x * 1.0
    z = y
    z += np.sin(x)
    v = y[1:]
    y[0] = 3.0 * x[0]
    return np.sum(v * y[:-1]) + np.sum(z)


def test_names_sharing_memory_share_their_tangents():
    x, dx = np.array([0.2, 0.4, -0.3]), np.array([1.0, -2.0, 0.5])
    _, out_dot = sourcediff.jvp(shares_a_buffer, (x,), (dx,))
    assert out_dot == pytest.approx(directional(shares_a_buffer, [x], [dx]), rel=1e-6)


def solver(rhs, y0, t1, n=20):
    y = y0
    h = t1 / n
    for _ in range(n):
        y = y + h * rhs(y)
    return y


def decay(y):
    return -0.5 * y + np.sin(y)


def square(y):
    return y * y


def uses_solver(y0, t1):
    return solver(decay, y0, t1) + solver(square, y0 * 0.1, t1)


def factorial_like(x, n):
    if n == 0:
        return 1.0
    return x * factorial_like(x, n - 1)


def test_functions_passed_as_values_and_recursion():
    out, out_dot = sourcediff.jvp(uses_solver, (0.3, 1.2), (1.0, 0.5))
    assert out_dot == pytest.approx(directional(uses_solver, [0.3, 1.2], [1.0, 0.5]), rel=1e-6)
    _, out_dot = sourcediff.jvp(factorial_like, (1.3, 4), (1.0, 0))
    assert out_dot == pytest.approx(4 * 1.3 ** 3)


def early_return_while(x):
    k = 0
    while x < 10.0:
        x = x * 1.5 + 0.1
        k += 1
        if k > 3:
            return x * 2.0
    return x


def lists_and_dicts(params, x):
    terms = []
    for key in ("a", "b"):
        terms.append(params[key] * x)
    last = terms.pop()
    terms.extend([last, last * 2.0])
    return {"total": sum(terms), "first": terms[0]}


@dataclasses.dataclass
class Particle:
    pos: float
    vel: float


def move(p, dt):
    for _ in range(3):
        p = Particle(p.pos + dt * p.vel, p.vel - dt * math.sin(p.pos))
    return p.pos * p.vel


def test_control_flow_lists_dicts_and_records():
    _, out_dot = sourcediff.jvp(early_return_while, (1.1,), (1.0,))
    assert out_dot == pytest.approx(directional(early_return_while, [1.1], [1.0]), rel=1e-6)
    params, dparams = {"a": 0.5, "b": -1.5}, {"a": 1.0, "b": 0.25}
    out, out_dot = sourcediff.jvp(lists_and_dicts, (params, 2.0), (dparams, 0.5))
    assert set(out_dot) == {"total", "first"}
    assert out_dot["total"] == pytest.approx((1.0 + 3 * 0.25) * 2.0 + (0.5 + 3 * -1.5) * 0.5)
    assert out_dot["first"] == pytest.approx(1.0 * 2.0 + 0.5 * 0.5)
    p, dp = Particle(0.3, 1.0), Particle(1.0, 0.0)
    _, out_dot = sourcediff.jvp(move, (p, 0.1), (dp, 0.0))
    expected = (move(Particle(0.3 + 1e-6, 1.0), 0.1) - move(Particle(0.3 - 1e-6, 1.0), 0.1)) / 2e-6
    assert out_dot == pytest.approx(expected, rel=1e-6)


def test_jacfwd_layout_matches_jax():
    w, b = np.linspace(-1, 1, 6).reshape(3, 2), np.array([0.1, -0.2])
    x = np.linspace(0, 1, 12).reshape(4, 3)
    ours = sourcediff.jacfwd(mlp)(w, b, x)
    theirs = jax.jacfwd(_jax_version(mlp, jnp))(w, b, x)
    assert ours.shape == theirs.shape == (4, 2, 3, 2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    ours = sourcediff.jacfwd(mlp, argnums=(0, 1))(w, b, x)
    theirs = jax.jacfwd(_jax_version(mlp, jnp), argnums=(0, 1))(w, b, x)
    assert isinstance(ours, tuple) and len(ours) == 2
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine, other, rtol=1e-10, atol=1e-12)


def dict_in_tuple_out(p):
    return p["w"] * 2.0, np.sum(p["v"] ** 2)


def test_jacfwd_of_pytrees_and_scalars():
    p = {"w": 1.5, "v": np.array([1.0, -2.0])}
    ours = sourcediff.jacfwd(dict_in_tuple_out)(p)
    theirs = jax.jacfwd(lambda q: (q["w"] * 2.0, jnp.sum(q["v"] ** 2)))(p)
    assert isinstance(ours, tuple) and set(ours[0]) == {"w", "v"}
    for mine, other in zip(ours, theirs):
        for key in ("w", "v"):
            assert np.shape(mine[key]) == np.shape(other[key])
            np.testing.assert_allclose(mine[key], other[key], rtol=1e-12)
    assert sourcediff.jacfwd(lambda x: x ** 3)(2.0) == pytest.approx(12.0)


def with_aux(x):
    y = np.sin(x)
    return np.sum(y), {"y": y}


def test_has_aux_and_linearize():
    x = np.array([0.1, 0.7])
    out, out_dot, aux = sourcediff.jvp(with_aux, (x,), (np.ones(2),), has_aux=True)
    assert out_dot == pytest.approx(np.sum(np.cos(x)))
    np.testing.assert_allclose(aux["y"], np.sin(x))
    jac, aux = sourcediff.jacfwd(with_aux, has_aux=True)(x)
    np.testing.assert_allclose(jac, np.cos(x))
    out, f_jvp = sourcediff.linearize(mlp, np.ones((3, 2)), np.zeros(2), np.eye(3))
    np.testing.assert_allclose(out, mlp(np.ones((3, 2)), np.zeros(2), np.eye(3)))
    dw = np.arange(6.0).reshape(3, 2)
    expected = directional(mlp, [np.ones((3, 2)), np.zeros(2), np.eye(3)], [dw, np.zeros(2), np.zeros((3, 3))])
    np.testing.assert_allclose(f_jvp(dw, np.zeros(2), np.zeros((3, 3))), expected, rtol=1e-6, atol=1e-9)


def view_write(u, x):
    v = u[1:]
    v[0] = x
    return np.sum(u)


def sorts(x):
    lst = [x, 2.0 * x]
    lst.sort()
    return lst[0]


@pytest.mark.parametrize("f, args", [(view_write, (np.ones(3), 0.5)), (sorts, (0.3, 0.0))])
def test_refusals_are_those_of_reverse_mode(f, args):
    with pytest.raises(SourcediffError) as reverse:
        sourcediff.grad(f, argnums=1 if f is view_write else 0)(*args[:2 if f is view_write else 1])
    with pytest.raises(SourcediffError) as forward:
        if f is view_write:
            sourcediff.jvp(f, args, (np.zeros(3), 1.0))
        else:
            sourcediff.jvp(f, args[:1], (1.0,))
    assert str(forward.value).splitlines()[0] == str(reverse.value).splitlines()[0]


def test_tangents_must_have_the_primals_structure():
    with pytest.raises(SourcediffError, match="tangent"):
        sourcediff.jvp(mlp, (np.ones((3, 2)), np.zeros(2), np.eye(3)), (np.ones(3), np.zeros(2), np.eye(3)))
    with pytest.raises(SourcediffError, match="one tangent per primal"):
        sourcediff.jvp(mlp, (np.ones((3, 2)), np.zeros(2), np.eye(3)), (np.ones((3, 2)),))


def test_generated_code_is_deterministic_and_readable():
    a = sourcediff.stages(loop_sum, 0.5, 3, mode="jvp")["optimize"]
    b = sourcediff.stages(loop_sum, 0.5, 3, mode="jvp")["optimize"]
    assert a == b
    assert "def loop_sum_jvp(x_dot, x, n):" in a
    assert "x_dot * " in a and "tape" not in a


def test_numerical_helper_agrees():  # the finite differences used above against the library's own helper
    f = lambda x: np.sum(np.sin(x))  # noqa: E731
    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(directional(f, [x], [np.array([1.0, 0.0])]), numerical_grad(f, [x], 0)[0],
                               rtol=1e-8)


@sourcediff.custom_jvp
def log1pexp(x):
    return np.log1p(np.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + np.exp(x)))


def softplus_loss(x):
    s = 0.0
    for k in range(3):
        s = s + log1pexp(x * (k + 1))
    return s


@sourcediff.custom_vjp
def clipped(x):
    return x


clipped.defvjp(lambda x: (x, None), lambda _, g: (np.clip(g, -1.0, 1.0),))


def test_custom_jvp_rules_are_used_in_forward_mode():
    with np.errstate(over="ignore"):  # naive differentiation gives nan here
        out, out_dot = sourcediff.jvp(log1pexp, (1000.0,), (2.0,))
    assert out_dot == pytest.approx(2.0)
    _, out_dot = sourcediff.jvp(softplus_loss, (0.3,), (1.0,))
    assert out_dot == pytest.approx(sum((k + 1) / (1 + np.exp(-0.3 * (k + 1))) for k in range(3)))
    assert sourcediff.jacfwd(softplus_loss)(0.3) == pytest.approx(sourcediff.grad(softplus_loss)(0.3))


def test_custom_vjp_functions_are_refused_in_forward_mode_as_in_jax():
    with pytest.raises(SourcediffError, match="custom_vjp .* forward mode"):
        sourcediff.jvp(lambda_free_clipped_use, (0.5,), (1.0,))


def lambda_free_clipped_use(x):
    return clipped(x) * 2.0


def test_jacfwd_pushes_many_directions_at_once_and_falls_back_for_helpers():
    x = np.linspace(-1.0, 1.5, 20)  # 20 directions: a group of 16, then one of 4
    ours = sourcediff.jacfwd(branchy)(x)
    np.testing.assert_allclose(ours, jax.jacfwd(_jax_version(branchy, jnp))(x), rtol=1e-10, atol=1e-12)
    source = sourcediff.stages(loop_sum, 0.5, 3, mode="jvp*3")["optimize"]
    assert "x_dot_1, x_dot_2, x_dot_3 = x_dot" in source and source.count("for ") == 1
    args = (10.0, 28.0, 8.0 / 3.0, 30)  # a helper call in the loop: one run per direction
    ours = sourcediff.jacfwd(rk4_lorenz, argnums=(0, 1, 2))(*args)
    np.testing.assert_allclose(ours, sourcediff.grad(rk4_lorenz, argnums=(0, 1, 2))(*args), rtol=1e-10)
