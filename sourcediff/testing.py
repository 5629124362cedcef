"""Checks of derivatives against central finite differences (like ``jax.test_util.check_grads``)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np


def numerical_grad(f: Callable, args: Sequence[Any], argnum: int, eps: float = 1e-6) -> Any:
    """Central finite-difference gradient of scalar ``f`` with respect to ``args[argnum]``."""
    args = list(args)
    x = args[argnum]
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        def at(v):
            trial = list(args)
            trial[argnum] = v
            return float(f(*trial))
        return (at(x + eps) - at(x - eps)) / (2 * eps)
    x = np.array(x, dtype=np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        trial_plus, trial_minus = list(args), list(args)
        trial_plus[argnum], trial_minus[argnum] = plus, minus
        out[i] = (float(f(*trial_plus)) - float(f(*trial_minus))) / (2 * eps)
    return out


def check_grads(
    f: Callable,
    args: Sequence[Any],
    argnums: int | Sequence[int] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    eps: float = 1e-6,
) -> None:
    """Assert ``sourcediff.grad`` of ``f`` matches central finite differences.

    A function with a non-scalar output is checked through a random linear
    projection of its output, which exercises ``vjp`` with a full cotangent.
    """
    from sourcediff import grad, vjp

    args = list(args)
    if argnums is None:
        argnums = tuple(range(len(args)))
    elif isinstance(argnums, int):
        argnums = (argnums,)
    out = f(*args)
    if np.ndim(out) == 0:
        scalar_f = f
        grads = grad(f, argnums=tuple(argnums))(*args)
    else:
        rng = np.random.default_rng(0)
        cotangent = rng.standard_normal(np.shape(out))

        def scalar_f(*a):
            return np.sum(np.asarray(f(*a)) * cotangent)

        _, pullback = vjp(f, *args)
        all_grads = pullback(cotangent)
        grads = tuple(all_grads[i] for i in argnums)
    for k, i in enumerate(argnums):
        expected = numerical_grad(scalar_f, args, i, eps)
        got = grads[k]
        if np.shape(got) != np.shape(args[i]):
            raise AssertionError(
                f"gradient for argument {i} has shape {np.shape(got)}, argument has {np.shape(args[i])}"
            )
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient for argument {i} disagrees with finite differences")
