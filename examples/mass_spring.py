"""How the end of a chain of masses and springs responds to the spring constant.

N equal masses sit on a line, each joined to the next by a spring of stiffness
k and rest length ``rest``. The chain starts stretched (or compressed) and at
rest, and is integrated with semi-implicit (symplectic) Euler:

    v += dt * f / m
    x += dt * v

The spring forces are accumulated in place into a force array, one spring at a
time for the whole chain: spring j pulls mass j forward and mass j+1 back by
the same amount,

    f = np.zeros_like(x)
    f[:-1] += k * (x[1:] - x[:-1] - rest)
    f[1:] -= k * (x[1:] - x[:-1] - rest)

The loss is the final position of the last mass. ``sourcediff.grad`` gives its
derivative with respect to k and to every initial position at once, which is
what a fit of k to a measured trajectory, or a sensitivity study, needs.

    python examples/mass_spring.py
"""
import sys

import numpy as np

import sourcediff
from sourcediff.testing import numerical_grad


def last_mass_position(k, x0, v0, m, rest, dt, n_steps):
    """Position of the last mass after n_steps of semi-implicit Euler."""
    x = x0.copy()                  # work on copies: the caller's arrays stay as they are
    v = v0.copy()
    for _ in range(n_steps):
        f = np.zeros_like(x)
        f[:-1] += k * (x[1:] - x[:-1] - rest)
        f[1:] -= k * (x[1:] - x[:-1] - rest)
        v += dt * f / m
        x += dt * v
    return x[-1]


def setup(n_masses=6, n_steps=200):
    """A chain of 6 unit masses, springs of rest length 1, stretched unevenly."""
    rng = np.random.default_rng(0)
    x0 = np.arange(n_masses, dtype=float) * 1.2 + 0.1 * rng.standard_normal(n_masses)
    v0 = np.zeros(n_masses)
    k, m, rest, dt = 3.0, 1.0, 1.0, 0.01
    return k, x0, v0, m, rest, dt, n_steps


def main():
    args = setup()
    grad_end = sourcediff.grad(last_mass_position, argnums=(0, 1))
    dk, dx0 = grad_end(*args)

    print("x_last(T)     =", last_mass_position(*args))
    print("d x_last/d k  =", dk)
    print("d x_last/d x0 =", np.array2string(dx0, precision=6))
    print(f"(a rigid shift of the chain moves the end by as much: sum(d/d x0) = {np.sum(dx0):.12f})")

    fd_k = numerical_grad(last_mass_position, args, 0)
    fd_x0 = numerical_grad(last_mass_position, args, 1)
    print(f"finite differences: d/dk = {fd_k:.10g}  (rel. error {abs(dk - fd_k) / abs(fd_k):.1e})")
    print(f"finite differences: max |d/dx0 - fd| = {np.max(np.abs(dx0 - fd_x0)):.1e}")
    assert np.isclose(dk, fd_k, rtol=1e-6)
    assert np.allclose(dx0, fd_x0, rtol=1e-6, atol=1e-9)
    print("gradient matches finite differences")

    if "--source" in sys.argv:
        print(grad_end.source)


if __name__ == "__main__":
    main()
