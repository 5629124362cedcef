"""Sample arguments of the ``np.linalg`` decomposition rules (cholesky, eigh, svd, qr ...), for ``check_rule``.

Matrices are drawn where the derivatives exist and finite differences see them: symmetric positive definite
ones for cholesky, symmetric ones with well-separated eigenvalues for eigh, ones with well-separated nonzero
singular values for svd, pinv and lstsq, well-conditioned ones elsewhere.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np


# The generators of rule_samples.py, copied (rule_samples.py loads this file: importing it back would be a cycle).
def N(*shape: int) -> Callable:
    """Standard normal values of ``shape``."""
    return lambda rng: rng.standard_normal(shape)


def M(n: int, *batch: int) -> Callable:
    """Well-conditioned ``n x n`` matrices (a stack of them with ``batch``)."""
    return lambda rng: rng.standard_normal((*batch, n, n)) * 0.3 + np.eye(n) * 2.0


def _draw(x: Any, rng: np.random.Generator) -> Any:
    if callable(x) and not isinstance(x, type):
        return x(rng)
    if isinstance(x, (list, tuple)):
        return type(x)(_draw(v, rng) for v in x)
    return x


def S(*args: Any, **kwargs: Any) -> Callable:
    """A sample: ``args``/``kwargs`` with every generator drawn, inside lists and tuples too."""
    return lambda rng: ([_draw(a, rng) for a in args], {k: _draw(v, rng) for k, v in kwargs.items()})



def SPD(n: int, *batch: int) -> Callable:
    """Symmetric positive definite ``n x n`` matrices, the lower triangle perturbed (cholesky reads it only)."""
    def make(rng):
        x = rng.standard_normal((*batch, n, n))
        return x @ np.swapaxes(x, -1, -2) / n + np.eye(n) + np.triu(rng.standard_normal((*batch, n, n)), 1)
    return make


def SEP(n: int, *batch: int) -> Callable:
    """Matrices whose symmetric part has eigenvalues ``1, 2, ..., n`` (times 1.5) in a random basis."""
    def make(rng):
        q = np.linalg.qr(rng.standard_normal((*batch, n, n)))[0]
        sym = q @ (1.5 * np.arange(1.0, n + 1) [:, None] * np.swapaxes(q, -1, -2))
        return sym + np.triu(rng.standard_normal((*batch, n, n)) * 0.1, 1)  # eigh reads the lower triangle
    return make


def SV(m: int, n: int, *batch: int) -> Callable:
    """``m x n`` matrices with singular values ``1, 2, ..., min(m, n)`` (times 1.5) in random bases."""
    def make(rng):
        k = min(m, n)
        u = np.linalg.qr(rng.standard_normal((*batch, m, k)))[0]
        v = np.linalg.qr(rng.standard_normal((*batch, n, k)))[0]
        return (u * (1.5 * np.arange(1.0, k + 1))) @ np.swapaxes(v, -1, -2)
    return make


LINALG_SAMPLES: dict[Any, list] = {
    np.linalg.cholesky: [S(SPD(3)), S(SPD(2, 4)), S(np.eye(3) * 2.0), S(lambda rng: np.swapaxes(SPD(3)(rng), -1, -2), upper=True)],
    np.linalg.eigh: [S(SEP(3)), S(SEP(4, 2)), S(SEP(3), "U"), S(SEP(3), UPLO="U")],
    np.linalg.eigvalsh: [S(SEP(3)), S(SEP(3, 2), "U"), S(SEP(2), UPLO="L")],
    np.linalg.svd: [S(SV(3, 3)), S(SV(4, 2), full_matrices=False), S(SV(2, 4), False),
                    S(SV(4, 3, 2), full_matrices=False), S(SV(3, 2), compute_uv=False),
                    S(SV(2, 3, 2), compute_uv=False)],
    np.linalg.qr: [S(M(3)), S(N(4, 2)), S(N(2, 4)), S(N(2, 4, 3)), S(N(4, 3), "r"), S(N(3, 4), mode="complete")],
    np.linalg.slogdet: [S(M(3)), S(M(3, 2)), S(lambda rng: -M(3)(rng))],
    np.linalg.pinv: [S(SV(3, 3)), S(SV(4, 2)), S(SV(2, 4)), S(SV(4, 3, 2))],
    np.linalg.lstsq: [S(SV(4, 2), N(4)), S(SV(4, 2), N(4, 3)), S(SV(2, 4), N(2)), S(SV(3, 3), N(3, 2), None),
                      S(SV(4, 3), N(4), rcond=None)],
    np.linalg.matrix_power: [S(M(3), 3), S(M(3), -2), S(M(3), 1), S(M(3), 0), S(M(3, 2), 2), S(M(2), n=-1)],
    np.linalg.multi_dot: [S([N(2, 3), N(3, 4), N(4, 2)]), S([N(3), N(3, 4), N(4)]), S([N(3), N(3, 2)]),
                          S((N(2, 3), N(3, 3), N(3, 1), N(1, 2)))],
    np.linalg.tensorsolve: [S(lambda rng: M(6)(rng).reshape(2, 3, 6), N(2, 3)),
                            S(lambda rng: M(6)(rng).reshape(6, 2, 3), N(6)),
                            S(lambda rng: M(6)(rng).reshape(3, 2, 2, 3), N(2, 3), (0, 2))],
}
