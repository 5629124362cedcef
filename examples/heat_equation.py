"""Sensitivity of a 1-D heat equation to its initial condition and its diffusivity.

The solver is the textbook explicit scheme (forward Euler in time, centred
differences in space) for

    du/dt = kappa * d2u/dx2       on 0 <= x <= L,  u(0) and u(L) held fixed,

written the way one writes it in NumPy: copy the initial condition into a
working array, then update the interior of that array in place, step after
step,

    u[1:-1] += kappa * dt / dx**2 * (u[2:] - 2 * u[1:-1] + u[:-2])

The quantity of interest is the thermal energy left at the final time,
E = 0.5 * sum(u**2) * dx. ``sourcediff.grad`` turns the solver into a function
returning dE/du0 (one number per cell) and dE/dkappa, in one backward sweep.
The generated code keeps the time loop as a loop; before each step overwrites
the interior, the forward pass saves the old values on a tape, and the
backward pass puts them back before it needs them (run with ``--source`` to
read the generated derivative).

    python examples/heat_equation.py
"""
import sys

import numpy as np

import sourcediff
from sourcediff.testing import numerical_grad


def final_energy(u0, kappa, n_steps, dt, dx, t_left, t_right):
    """Energy at time n_steps * dt of the explicit heat-equation solution starting from u0."""
    u = u0.copy()                  # never overwrite the caller's array
    u[0] = t_left                  # Dirichlet boundary values, held for all time
    u[-1] = t_right
    r = kappa * dt / dx**2         # the scheme is stable for r <= 1/2
    for _ in range(n_steps):
        u[1:-1] += r * (u[2:] - 2 * u[1:-1] + u[:-2])
    return 0.5 * np.sum(u**2) * dx


def setup(n_cells=41, n_steps=100):
    """A warm bump off-centre in a rod of length 1 whose ends are held at 0.2 and 0."""
    x = np.linspace(0.0, 1.0, n_cells)
    dx = x[1] - x[0]
    kappa = 0.5
    dt = 0.4 * dx**2 / kappa       # r = 0.4: stable
    u0 = np.exp(-((x - 0.35) / 0.1) ** 2) + 0.2 * (1.0 - x)
    return u0, kappa, n_steps, dt, dx, 0.2, 0.0


def main():
    args = setup()
    u0, kappa = args[0], args[1]
    grad_energy = sourcediff.grad(final_energy, argnums=(0, 1))
    du0, dkappa = grad_energy(*args)

    print("E           =", final_energy(*args))
    print("dE/dkappa   =", dkappa)
    print("dE/du0[::5] =", np.array2string(du0[::5], precision=5))
    print("(dE/du0 is 0 at both ends: the boundary values overwrite u0 there)")

    # Check against central finite differences.
    fd_kappa = numerical_grad(final_energy, args, 1)
    fd_u0 = numerical_grad(final_energy, args, 0)
    print(f"finite differences: dE/dkappa = {fd_kappa:.10g}  (rel. error {abs(dkappa - fd_kappa) / abs(fd_kappa):.1e})")
    print(f"finite differences: max |dE/du0 - fd| = {np.max(np.abs(du0 - fd_u0)):.1e}")
    assert np.isclose(dkappa, fd_kappa, rtol=1e-6)
    assert np.allclose(du0, fd_u0, rtol=1e-6, atol=1e-9)
    print("gradient matches finite differences")
    print(f"the caller's u0 is untouched: {np.array_equal(u0, setup()[0])}")

    # The generated derivative is ordinary Python; print it to see how the
    # backward pass restores each overwritten slice before using it.
    if "--source" in sys.argv:
        print(grad_energy.source)


if __name__ == "__main__":
    main()
