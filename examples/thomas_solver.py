"""Differentiating through a tridiagonal solve written as loops (the Thomas algorithm).

Implicit time steppers, cubic splines and 1-D boundary-value problems all end
in a tridiagonal system A x = d, with A given by its three diagonals:

    a  (n-1)  the sub-diagonal,   A[i+1, i] = a[i]
    b  (n)    the main diagonal,  A[i, i]   = b[i]
    c  (n-1)  the super-diagonal, A[i, i+1] = c[i]

The Thomas algorithm solves it in O(n): a forward sweep that eliminates the
sub-diagonal, then back substitution. It is written here as it is in any
numerical-methods book, with element-by-element stores into work buffers made
with np.empty and np.zeros.

``sourcediff.grad`` differentiates the loops as written. The script checks
the gradient of a loss L = w @ x + 0.5 * sum(x**2) with respect to all three
diagonals and the right-hand side twice: against central finite differences,
and against sourcediff's gradient of the same loss computed through
np.linalg.solve on the dense n x n matrix. Both ways of solving must give the
same gradient to about 1e-9.

The dense matrix is assembled by storing the diagonals through fancy indices
(A[i, i] = b, ...), which sourcediff differentiates like any other in-place
store. ``np.diag(b) + np.diag(a, -1) + np.diag(c, 1)`` would read more
naturally, but sourcediff has no derivative rule for np.diag yet and refuses
it with a MissingRuleError.

    python examples/thomas_solver.py
"""
import sys

import numpy as np

import sourcediff
from sourcediff.testing import numerical_grad


def thomas(a, b, c, d):
    """Solve the tridiagonal system (a, b, c) x = d by the Thomas algorithm (no pivoting)."""
    n = d.shape[0]
    c_prime = np.empty(n - 1)
    d_prime = np.empty(n)
    c_prime[0] = c[0] / b[0]
    d_prime[0] = d[0] / b[0]
    for i in range(1, n):
        denom = b[i] - a[i - 1] * c_prime[i - 1]
        if i < n - 1:
            c_prime[i] = c[i] / denom
        d_prime[i] = (d[i] - a[i - 1] * d_prime[i - 1]) / denom
    x = np.zeros(n)
    x[n - 1] = d_prime[n - 1]
    for i in range(n - 2, -1, -1):
        x[i] = d_prime[i] - c_prime[i] * x[i + 1]
    return x


def loss(a, b, c, d, w):
    x = thomas(a, b, c, d)
    return w @ x + 0.5 * np.sum(x**2)


def tridiagonal_matrix(a, b, c):
    """The dense matrix with sub-diagonal a, diagonal b and super-diagonal c."""
    n = b.shape[0]
    A = np.zeros((n, n))
    i = np.arange(n)
    A[i, i] = b
    A[i[1:], i[:-1]] = a
    A[i[:-1], i[1:]] = c
    return A


def loss_dense(a, b, c, d, w):
    """The same loss, solving with the dense matrix and LAPACK instead."""
    x = np.linalg.solve(tridiagonal_matrix(a, b, c), d)
    return w @ x + 0.5 * np.sum(x**2)


def setup(n=8, seed=0):
    """A diagonally dominant system, for which the Thomas algorithm is stable."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1.0, 1.0, n - 1)
    c = rng.uniform(-1.0, 1.0, n - 1)
    b = 3.0 + rng.uniform(0.0, 1.0, n)
    d = rng.standard_normal(n)
    w = rng.standard_normal(n)
    return a, b, c, d, w


def main():
    args = setup()
    names = ("a", "b", "c", "d")
    grad_loss = sourcediff.grad(loss, argnums=(0, 1, 2, 3))
    grads = grad_loss(*args)
    grads_dense = sourcediff.grad(loss_dense, argnums=(0, 1, 2, 3))(*args)

    print("L (Thomas) =", loss(*args))
    print("L (dense)  =", loss_dense(*args))
    for name, g in zip(names, grads):
        print(f"dL/d{name} = {np.array2string(g, precision=6)}")

    for k, (name, g, g_dense) in enumerate(zip(names, grads, grads_dense)):
        fd = numerical_grad(loss, args, k)
        err_fd = np.max(np.abs(g - fd))
        err_dense = np.max(np.abs(g - g_dense))
        print(f"dL/d{name}: max |thomas - finite differences| = {err_fd:.1e}, "
              f"max |thomas - dense solve| = {err_dense:.1e}")
        assert np.allclose(g, fd, rtol=1e-6, atol=1e-8)
        assert np.allclose(g, g_dense, rtol=1e-9, atol=1e-12)
    print("gradient matches finite differences and the gradient through np.linalg.solve")

    if "--source" in sys.argv:
        print(grad_loss.source)


if __name__ == "__main__":
    main()
