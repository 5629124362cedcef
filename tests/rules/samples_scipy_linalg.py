"""Samples of the ``scipy.linalg`` rules (``rules/scipy/linalg.py``) for ``check_rule``; ``rule_samples.py`` adds
them to ``SAMPLES`` when SciPy is installed (``_scipy_samples``).

Matrices are drawn where the derivatives exist and finite differences see them: well-conditioned ones for the
solves, symmetric positive definite ones for the Cholesky family, symmetric ones with separated eigenvalues for
eigh, separated nonzero singular values for svd, pinv and lstsq. A function that reads one triangle gets noise in
the other (the derivative must ignore it): SciPy's cholesky and cho_factor read the upper one by default, eigh the
lower one.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.linalg as linalg

from sourcediff.rules import registry

registry.load_lazy_rules()


# The generators of samples_linalg.py, copied (rule_samples.py loads each samples file by path).
def N(*shape: int) -> Callable:
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


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
    return lambda rng: ([_draw(a, rng) for a in args], {k: _draw(v, rng) for k, v in kwargs.items()})


def SPD(n: int, *batch: int, noise: str | None = "upper") -> Callable:
    """Symmetric positive definite matrices with noise in one strict triangle (``noise``: ``"upper"``,
    ``"lower"`` or None), which the factorization must not read."""
    def make(rng):
        x = rng.standard_normal((*batch, n, n))
        spd = x @ np.swapaxes(x, -1, -2) / n + np.eye(n)
        junk = rng.standard_normal((*batch, n, n))
        if noise is None:
            return spd
        return spd + (np.triu(junk, 1) if noise == "upper" else np.tril(junk, -1))
    return make


def SEP(n: int, *batch: int, noise: str = "upper") -> Callable:
    """Matrices whose symmetric part has eigenvalues ``1.5, 3, ..., 1.5 n``, noise in one strict triangle."""
    def make(rng):
        q = np.linalg.qr(rng.standard_normal((*batch, n, n)))[0]
        sym = q @ (1.5 * np.arange(1.0, n + 1)[:, None] * np.swapaxes(q, -1, -2))
        junk = rng.standard_normal((*batch, n, n)) * 0.1
        return sym + (np.triu(junk, 1) if noise == "upper" else np.tril(junk, -1))
    return make


def SV(m: int, n: int, *batch: int) -> Callable:
    """``m x n`` matrices with singular values ``1.5, 3, ..., 1.5 min(m, n)`` in random bases."""
    def make(rng):
        k = min(m, n)
        u = np.linalg.qr(rng.standard_normal((*batch, m, k)))[0]
        v = np.linalg.qr(rng.standard_normal((*batch, n, k)))[0]
        return (u * (1.5 * np.arange(1.0, k + 1))) @ np.swapaxes(v, -1, -2)
    return make


def cho(n: int, lower: bool = False) -> Callable:
    """``cho_factor`` of a symmetric positive definite matrix: ``(c, lower)``, ``c`` with junk in its unused
    triangle."""
    return lambda rng: linalg.cho_factor(SPD(n, noise="lower" if not lower else "upper")(rng), lower=lower)


def lu(n: int) -> Callable:
    """``lu_factor`` of a general matrix (rows get pivoted): ``(lu, piv)``."""
    return lambda rng: linalg.lu_factor(rng.standard_normal((n, n)) + np.eye(n))


SCIPY_LINALG_SAMPLES: dict[Any, list] = {
    linalg.solve_triangular: [
        S(M(3), N(3)), S(M(3), N(3, 2), lower=True), S(M(3), N(3), trans=1), S(M(3), N(3, 2), "T", True),
        S(M(3), N(3), unit_diagonal=True), S(M(3), N(3), trans="C", lower=True, unit_diagonal=True),
        S(M(3), N(3), 2), S(M(3, 2), N(3)), S(M(3, 2), N(2, 3, 2), lower=True),
    ],
    linalg.solve: [
        S(M(3), N(3)), S(M(3), N(3, 2)), S(M(3), N(3), assume_a="sym"), S(M(3), N(3), True, assume_a="pos"),
        S(M(3), N(3, 2), lower=True, assume_a="her"), S(M(3), N(3), assume_a="gen", transposed=True),
        S(M(3), N(3), assume_a="diagonal"), S(M(4), N(4), assume_a="tridiagonal"),
        S(M(3), N(3, 2), assume_a="upper triangular"), S(M(3), N(3), assume_a="lower triangular", transposed=True),
        S(M(3), N(3), assume_a="sym", transposed=True), S(M(3, 2), N(3)), S(M(3, 2), N(2, 3, 2)),
        S(M(3), N(2, 3, 2)),
    ],
    linalg.inv: [S(M(3)), S(M(3, 2)), S(M(3), assume_a="sym"), S(M(3), assume_a="pos", lower=True),
                 S(M(3), assume_a="upper triangular"), S(M(3), assume_a="lower triangular")],
    linalg.det: [S(M(3)), S(M(3, 2)), S(lambda rng: -M(3)(rng))],
    linalg.cholesky: [S(SPD(3, noise="lower")), S(SPD(3), lower=True), S(SPD(3), True),
                      S(SPD(3, 2, noise="lower"))],
    linalg.cho_factor: [S(SPD(3, noise="lower")), S(SPD(3), lower=True), S(SPD(3, 2), True),
                        S(SPD(4, noise="lower"), False)],
    linalg.cho_solve: [S(cho(3), N(3)), S(cho(3, lower=True), N(3, 2)), S(cho(4), N(4, 1)),
                       S(lambda rng: list(cho(3, lower=True)(rng)), N(3))],
    linalg.lu_factor: [S(lambda rng: rng.standard_normal((4, 4)) + np.eye(4)), S(M(3)), S(M(3, 2))],
    linalg.lu_solve: [S(lu(4), N(4)), S(lu(4), N(4, 2), trans=1), S(lu(3), N(3), 2), S(lu(3), N(3), trans=0)],
    linalg.expm: [S(N(3, 3)), S(lambda rng: rng.standard_normal((2, 3, 3)) * 0.5), S(N(1, 1)),
                  S(lambda rng: np.triu(rng.standard_normal((3, 3))))],
    linalg.sqrtm: [S(M(3)), S(SPD(3, noise=None)), S(M(3, 2))],  # blocksize (deprecated): test_linalg.py
    linalg.solve_sylvester: [S(M(3), M(2), N(3, 2)), S(M(2), M(2), N(2, 2)), S(M(1), M(3), N(1, 3))],
    linalg.block_diag: [S(N(2, 2), N(3)), S(N(2, 3), N(), N(1, 2)), S(N(2, 2, 2), N(2, 2)), S(N(3, 1))],
    # SciPy's default driver, 'evr', may flip the sign of an eigenvector under an arbitrarily small change of the
    # matrix (about one draw in three here), which finite differences cannot follow: the samples that check
    # eigenvectors use the drivers that keep their signs ('ev', 'evd', 'evx'), the default one checks eigenvalues.
    linalg.eigh: [S(SEP(3), driver="evd"), S(SEP(3, noise="lower"), lower=False, driver="ev"),
                  S(SEP(3), eigvals_only=True), S(SEP(3, 2), driver="evd"), S(SEP(3), driver="evx"),
                  S(SEP(4), eigvals_only=True, driver="evr")],
    linalg.eigvalsh: [S(SEP(3)), S(SEP(3, noise="lower"), lower=False), S(SEP(3, 2))],
    linalg.svd: [S(SV(3, 3)), S(SV(4, 2), full_matrices=False), S(SV(2, 4), False), S(SV(3, 2), compute_uv=False),
                 S(SV(4, 3, 2), full_matrices=False), S(SV(3, 3), lapack_driver="gesvd")],
    linalg.svdvals: [S(SV(3, 3)), S(SV(4, 2)), S(SV(2, 4, 2))],
    linalg.qr: [S(N(3, 3)), S(N(2, 4)), S(N(4, 2), mode="economic"), S(N(4, 3), mode="r"), S(N(2, 4), mode="r"),
                S(N(2, 4, 3), mode="economic"), S(N(3, 3), lwork=None, mode="full", check_finite=False)],
    linalg.pinv: [S(SV(3, 3)), S(SV(4, 2)), S(SV(2, 4)), S(SV(3, 3), atol=1e-10), S(SV(4, 3, 2), rtol=1e-8)],
    linalg.lstsq: [S(SV(4, 2), N(4)), S(SV(4, 2), N(4, 3)), S(SV(2, 4), N(2)), S(SV(3, 3), N(3, 2)),
                   S(SV(4, 3), N(4), lapack_driver="gelsy"), S(SV(4, 3), N(4, 2), lapack_driver="gelss"),
                   S(SV(4, 3), N(4), None)],
    linalg.norm: [S(N(4)), S(N(3, 4)), S(N(3, 4), "fro"), S(N(3, 4), 2), S(N(3, 4), axis=1), S(N(4), 1),
                  S(N(3, 4), "nuc"), S(N(3, 4), np.inf, keepdims=True)],
}
