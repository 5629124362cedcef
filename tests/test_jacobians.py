"""``jacrev`` and ``jacobian``: JAX's layout (``out.shape + in.shape``, output structure outside), checked against
``jax.jacrev`` of the same code and against finite differences."""
import math

import numpy
import pytest

import sourcediff
from sourcediff.testing import assert_trees_close, numerical_grad

np = numpy


def functions(np):
    """The same functions, written once, for a NumPy-like module ``np`` (NumPy or jax.numpy)."""
    def vector(x):
        return np.sin(x) * np.sum(x ** 2)

    def matrix_in(w, x):
        return np.tanh(w @ x)

    def two_outputs(x, y):
        return np.sum(x) * np.sum(y), np.outer(x, y)

    def dict_out(x, y):
        return {"a": np.sin(x) * y[0], "b": np.sum(x ** 2) * y}

    def dict_in(p):
        return p["w"] * np.exp(p["b"])

    def scalar(x):
        return x ** 3 / (1.0 + x)

    def looped(x, n):
        u = x * 1.0
        for _ in range(n):
            u = u + 0.1 * np.cos(u) * np.sum(u)
        return u

    return dict(vector=vector, matrix_in=matrix_in, two_outputs=two_outputs, dict_out=dict_out, dict_in=dict_in,
                scalar=scalar, looped=looped)


OURS = functions(numpy)
rng = numpy.random.default_rng(3)
CASES = [
    ("vector", (rng.standard_normal(3),), 0),
    ("matrix_in", (rng.standard_normal((2, 3)), rng.standard_normal(3)), (0, 1)),
    ("matrix_in", (rng.standard_normal((2, 3)), rng.standard_normal(3)), 0),
    ("two_outputs", (rng.standard_normal(3), rng.standard_normal(2)), (0, 1)),
    ("dict_out", (rng.standard_normal(3), rng.standard_normal(2)), (0, 1)),
    ("dict_in", ({"w": rng.standard_normal(2), "b": 0.3},), 0),
    ("scalar", (0.7,), 0),
    ("looped", (rng.standard_normal(4), 3), 0),
]


@pytest.mark.parametrize("name, args, argnums", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_jacrev_matches_jax(name, args, argnums):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    ours = sourcediff.jacrev(OURS[name], argnums=argnums)(*args)
    theirs = jax.jacrev(functions(jnp)[name], argnums=argnums)(*args)
    assert_trees_close(ours, jax.tree_util.tree_map(numpy.asarray, theirs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, args, argnums", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_jacrev_matches_finite_differences(name, args, argnums):
    f = OURS[name]
    jac = sourcediff.jacobian(f, argnums=argnums)(*args)
    positions = (argnums,) if isinstance(argnums, int) else argnums
    out = f(*args)
    outputs = out if isinstance(out, tuple) else (out,) if not isinstance(out, dict) else tuple(out.values())
    blocks = jac if isinstance(out, tuple) else (jac,) if not isinstance(out, dict) else tuple(jac.values())
    for k, (y, per_output) in enumerate(zip(outputs, blocks)):
        per_argument = (per_output,) if isinstance(argnums, int) else per_output
        for a, block in zip(positions, per_argument):
            x = args[a]
            leaves = block.values() if isinstance(x, dict) else [block]
            values = x.values() if isinstance(x, dict) else [x]
            for leaf_block, leaf in zip(leaves, values):
                assert numpy.shape(leaf_block) == numpy.shape(y) + numpy.shape(leaf)
            for index in numpy.ndindex(numpy.shape(y)):
                def element(*a, index=index, k=k):
                    result = f(*a)
                    parts = result if isinstance(result, tuple) else \
                        (result,) if not isinstance(result, dict) else tuple(result.values())
                    return numpy.asarray(parts[k])[index]
                expected = numerical_grad(element, list(args), a)
                got = {key: numpy.asarray(v)[index] for key, v in block.items()} if isinstance(x, dict) \
                    else numpy.asarray(block)[index]
                assert_trees_close(got, expected, rtol=1e-6, atol=1e-8, path=f"d out{index} / d arg {a}")


def test_jacobian_is_jacrev():
    assert sourcediff.jacobian is sourcediff.jacrev


def test_a_float_function_gives_a_float():
    jac = sourcediff.jacrev(OURS["scalar"])(0.7)
    assert isinstance(jac, float)
    assert jac == pytest.approx((3 * 0.7 ** 2 * 1.7 - 0.7 ** 3) / 1.7 ** 2)


def test_has_aux():
    def with_aux(x):
        y = np.sin(x)
        return y * 2.0, {"norm": np.sum(y ** 2)}

    x = numpy.array([0.1, 0.4])
    jac, aux = sourcediff.jacrev(with_aux, has_aux=True)(x)
    numpy.testing.assert_allclose(jac, numpy.diag(2.0 * numpy.cos(x)))
    assert aux["norm"] == pytest.approx(numpy.sum(numpy.sin(x) ** 2))


def test_one_forward_run_and_one_backward_run_per_output_element(vjp_runs):
    runs = vjp_runs
    sourcediff.jacrev(OURS["matrix_in"], argnums=(0, 1))(numpy.ones((2, 3)), numpy.ones(3))
    assert runs == {"forward": 1, "backward": 2}


def stencil(u, k):
    """In-place updates in a loop, on the caller's array."""
    for _ in range(3):
        u[1:-1] += k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u * 1.0


def test_jacobian_of_in_place_updates_leaves_the_argument_alone():
    u = numpy.array([0.0, 0.5, 1.0, 0.25, 0.0])
    jac_u, jac_k = sourcediff.jacrev(stencil, argnums=(0, 1))(u, 0.2)
    numpy.testing.assert_array_equal(u, [0.0, 0.5, 1.0, 0.25, 0.0])
    for i in range(5):
        expected_u = numerical_grad(lambda v, k: stencil(v.copy(), k)[i], [u, 0.2], 0)
        expected_k = numerical_grad(lambda v, k: stencil(v.copy(), k)[i], [u, 0.2], 1)
        numpy.testing.assert_allclose(jac_u[i], expected_u, rtol=1e-7, atol=1e-9)
        assert jac_k[i] == pytest.approx(expected_k, rel=1e-7, abs=1e-9)


def test_arguments_outside_argnums_may_be_anything():
    def labelled(x, label, n):
        return x * float(n) if label == "scale" else x

    jac = sourcediff.jacrev(labelled)(numpy.array([1.0, 2.0]), "scale", 3)
    numpy.testing.assert_allclose(jac, 3.0 * numpy.eye(2))


def test_math_functions_of_floats():
    def polar(r, theta):
        return r * math.cos(theta), r * math.sin(theta)

    (dx_dr, dx_dt), (dy_dr, dy_dt) = sourcediff.jacrev(polar, argnums=(0, 1))(2.0, 0.3)
    assert (dx_dr, dx_dt, dy_dr, dy_dt) == pytest.approx(
        (math.cos(0.3), -2.0 * math.sin(0.3), math.sin(0.3), 2.0 * math.cos(0.3)))


@pytest.mark.parametrize("name, args, argnums", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_the_forward_layout_matches_jax_jacfwd(name, args, argnums):
    """``jacobians.forward`` (for ``jacfwd``) fills the same layout column by column from tangents."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from sourcediff import jacobians

    f = OURS[name]
    positions = (argnums,) if isinstance(argnums, int) else argnums

    def jvp_by_differences(tangents):
        def at(step):
            moved = list(args)
            for a, t in zip(positions, tangents):
                moved[a] = jacobians.unflatten(args[a], [x + step * d for x, d in zip(
                    jacobians.leaves(args[a]), jacobians.leaves(t))])
            return f(*moved)
        plus, minus = at(1e-6), at(-1e-6)
        return jacobians.unflatten(plus, [(numpy.asarray(p) - numpy.asarray(m)) / 2e-6 for p, m in zip(
            jacobians.leaves(plus), jacobians.leaves(minus))])

    ours = jacobians.forward(f(*args), jvp_by_differences, [args[a] for a in positions], isinstance(argnums, int))
    theirs = jax.jacfwd(functions(jnp)[name], argnums=argnums)(*args)
    assert_trees_close(ours, jax.tree_util.tree_map(numpy.asarray, theirs), rtol=1e-6, atol=1e-8)
