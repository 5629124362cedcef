"""The worked examples in examples/: their gradients against finite differences and against JAX.

Each example is a script that updates arrays in place (slice updates in a time
loop, forces accumulated into a buffer, element-by-element stores in the
Thomas algorithm). Here each one is checked three ways:

- against central finite differences (``sourcediff.testing.check_grads``);
- against ``jax.grad`` of the same computation rewritten by hand WITHOUT
  mutation (``.at[...].set/.add``, ``jnp.concatenate``), written out below;
- the generated derivative keeps the example's loops as loops.

examples/ is not a package, so each script is imported by path. The sizes are
small, so that the whole file runs in a few seconds.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import assert_loops_kept, check_grads

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    """Import examples/<name>.py as a module named ``sourcediff_example_<name>``."""
    module_name = f"sourcediff_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module   # inspect.getsource looks modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


@pytest.fixture(scope="module")
def heat():
    return load_example("heat_equation")


@pytest.fixture(scope="module")
def spring():
    return load_example("mass_spring")


@pytest.fixture(scope="module")
def thomas():
    return load_example("thomas_solver")


@pytest.fixture(scope="module")
def jax_modules():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


def _copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


# --- the JAX rewrites, without mutation ------------------------------------------------------

def heat_final_energy_jax(jnp, u0, kappa, n_steps, dt, dx, t_left, t_right):
    u = u0.at[0].set(t_left).at[-1].set(t_right)
    r = kappa * dt / dx**2
    for _ in range(n_steps):
        u = u.at[1:-1].add(r * (u[2:] - 2 * u[1:-1] + u[:-2]))
    return 0.5 * jnp.sum(u**2) * dx


def last_mass_position_jax(jnp, k, x0, v0, m, rest, dt, n_steps):
    x, v = x0, v0
    zero = jnp.zeros(1)
    for _ in range(n_steps):
        tension = k * (x[1:] - x[:-1] - rest)
        f = jnp.concatenate([tension, zero]) - jnp.concatenate([zero, tension])
        v = v + dt * f / m
        x = x + dt * v
    return x[-1]


def thomas_loss_jax(jnp, a, b, c, d, w):
    n = d.shape[0]
    c_prime = jnp.zeros(n - 1).at[0].set(c[0] / b[0])
    d_prime = jnp.zeros(n).at[0].set(d[0] / b[0])
    for i in range(1, n):
        denom = b[i] - a[i - 1] * c_prime[i - 1]
        if i < n - 1:
            c_prime = c_prime.at[i].set(c[i] / denom)
        d_prime = d_prime.at[i].set((d[i] - a[i - 1] * d_prime[i - 1]) / denom)
    x = jnp.zeros(n).at[n - 1].set(d_prime[n - 1])
    for i in range(n - 2, -1, -1):
        x = x.at[i].set(d_prime[i] - c_prime[i] * x[i + 1])
    return w @ x + 0.5 * jnp.sum(x**2)


def _jax_grad(jax, jnp, fn, args, argnums):
    """jax.grad of ``fn(jnp, *args)`` at ``args``, float arrays as jnp float64 arrays."""
    jargs = [jnp.asarray(a, dtype=jnp.float64) if isinstance(a, np.ndarray) else a for a in args]
    grads = jax.grad(lambda *a: fn(jnp, *a), argnums=argnums)(*jargs)
    return tuple(np.asarray(g) for g in grads)


def _assert_all_close(got, expected, rtol=1e-9, atol=1e-12):
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected)):
        assert np.shape(g) == np.shape(e), f"gradient {k}: shape {np.shape(g)} != {np.shape(e)}"
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"gradient {k}")


# --- heat equation ---------------------------------------------------------------------------

def heat_args(heat):
    return heat.setup(n_cells=12, n_steps=25)


def test_heat_equation_matches_finite_differences(heat):
    check_grads(heat.final_energy, heat_args(heat), argnums=(0, 1), rtol=1e-6, atol=1e-9)


def test_heat_equation_matches_jax_without_mutation(heat, jax_modules):
    args = heat_args(heat)
    got = sourcediff.grad(heat.final_energy, argnums=(0, 1))(*_copies(args))
    expected = _jax_grad(*jax_modules, heat_final_energy_jax, args, (0, 1))
    _assert_all_close(got, expected)
    assert got[0][0] == 0.0 and got[0][-1] == 0.0   # the boundary values overwrite u0's ends


def test_heat_equation_keeps_the_time_loop_and_the_callers_array(heat):
    args = heat_args(heat)
    u0 = args[0]
    before = u0.copy()
    df = sourcediff.grad(heat.final_energy, argnums=(0, 1))
    df(*args)
    assert_loops_kept(heat.final_energy, df.source)
    np.testing.assert_array_equal(u0, before)


# --- mass-spring chain -----------------------------------------------------------------------

def spring_args(spring):
    return spring.setup(n_masses=5, n_steps=40)


def test_mass_spring_matches_finite_differences(spring):
    check_grads(spring.last_mass_position, spring_args(spring), argnums=(0, 1), rtol=1e-6, atol=1e-9)


def test_mass_spring_matches_jax_without_mutation(spring, jax_modules):
    args = spring_args(spring)
    got = sourcediff.grad(spring.last_mass_position, argnums=(0, 1, 2))(*_copies(args))
    expected = _jax_grad(*jax_modules, last_mass_position_jax, args, (0, 1, 2))
    _assert_all_close(got, expected)
    # a rigid shift of the whole chain shifts the last mass by as much
    assert np.sum(got[1]) == pytest.approx(1.0, rel=1e-12)


def test_mass_spring_keeps_the_time_loop_and_the_callers_arrays(spring):
    args = spring_args(spring)
    x0, v0 = args[1], args[2]
    before = (x0.copy(), v0.copy())
    df = sourcediff.grad(spring.last_mass_position, argnums=(0, 1))
    df(*args)
    assert_loops_kept(spring.last_mass_position, df.source)
    np.testing.assert_array_equal(x0, before[0])
    np.testing.assert_array_equal(v0, before[1])


def test_mass_spring_tape_keeps_no_state_the_backward_pass_does_not_read(spring):
    """x and v are rebound every step, but the backward pass reads them only for the last step's x."""
    df = sourcediff.grad(spring.last_mass_position, argnums=(0, 1))
    df(*spring_args(spring))
    assert "tape.append(x)" not in df.source and "tape.append(v)" not in df.source, df.source
    assert "x = tape.pop()" not in df.source and "v = tape.pop()" not in df.source, df.source
    assert "_shape" not in df.source and "unbroadcast" not in df.source, df.source  # x0 and v0 share a shape


# --- Thomas algorithm ------------------------------------------------------------------------

def thomas_args(thomas):
    return thomas.setup(n=6, seed=3)


def test_thomas_solver_solves_the_system(thomas):
    a, b, c, d, _ = thomas_args(thomas)
    x = thomas.thomas(a, b, c, d)
    np.testing.assert_allclose(thomas.tridiagonal_matrix(a, b, c) @ x, d, rtol=1e-12, atol=1e-12)


def test_thomas_solver_matches_finite_differences(thomas):
    check_grads(thomas.loss, thomas_args(thomas), argnums=(0, 1, 2, 3), rtol=1e-6, atol=1e-9)


def test_thomas_solver_matches_the_dense_solve(thomas):
    args = thomas_args(thomas)
    got = sourcediff.grad(thomas.loss, argnums=(0, 1, 2, 3))(*args)
    dense = sourcediff.grad(thomas.loss_dense, argnums=(0, 1, 2, 3))(*args)
    _assert_all_close(got, dense)


def test_thomas_solver_matches_jax_without_mutation(thomas, jax_modules):
    args = thomas_args(thomas)
    got = sourcediff.grad(thomas.loss, argnums=(0, 1, 2, 3, 4))(*args)
    expected = _jax_grad(*jax_modules, thomas_loss_jax, args, (0, 1, 2, 3, 4))
    _assert_all_close(got, expected)


def test_thomas_solver_keeps_its_loops(thomas):
    a, b, c, d, _ = thomas_args(thomas)
    x, pullback = sourcediff.vjp(thomas.thomas, a, b, c, d)
    assert_loops_kept(thomas.thomas, pullback.source)
    # the pullback of the solve: A^T lambda = x_bar, d_bar = lambda
    x_bar = np.linspace(-1.0, 1.0, d.shape[0])
    d_bar = pullback(x_bar)[3]
    A = thomas.tridiagonal_matrix(a, b, c)
    np.testing.assert_allclose(d_bar, np.linalg.solve(A.T, x_bar), rtol=1e-10, atol=1e-12)


# --- the scripts run as scripts ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["heat_equation", "mass_spring", "thomas_solver"])
def test_example_main_runs(name, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", [f"examples/{name}.py"])
    load_example(name).main()
    out = capsys.readouterr().out
    assert "finite differences" in out
    assert "gradient matches" in out
