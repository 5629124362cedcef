"""Hessian-vector products of a scalar function three ways, against central differences of its gradient."""
import numpy as np

import sourcediff
from sourcediff.errors import SourcediffError

WAYS = ("forward over reverse", "reverse over reverse", "reverse over forward")


def fd_hvp(gradient, x, v, eps=1e-5):
    """Central differences of the (first-order checked) gradient along ``v``."""
    return (np.asarray(gradient(x + eps * v)) - np.asarray(gradient(x - eps * v))) / (2 * eps)


def hvp(way: str, scalar, x, v):
    if way == "forward over reverse":
        return sourcediff.jvp(sourcediff.grad(scalar), (x,), (v,))[1]
    inner = sourcediff.grad(scalar) if way == "reverse over reverse" else sourcediff.jacfwd(scalar)
    return np.tensordot(sourcediff.jacrev(inner)(x), v, np.ndim(x))


def check_second_derivatives(scalar, x, *, seed=0, rtol=1e-5, refusable=()):
    """Checks the three ways on ``scalar`` at ``x`` along a random direction; returns the ways checked. A way in
    ``refusable`` may raise a ``SourcediffError`` instead (it is then not counted)."""
    rng = np.random.default_rng(seed)
    v = float(rng.standard_normal()) if isinstance(x, float) else rng.standard_normal(np.shape(x))
    expected = fd_hvp(sourcediff.grad(scalar), x, v)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    checked = []
    for way in WAYS:
        try:
            got = np.asarray(hvp(way, scalar, x, v), dtype=float)
        except SourcediffError:
            if way not in refusable:
                raise
            continue
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=way)
        checked.append(way)
    assert checked, "no way was checked"
    return checked
