"""Second derivatives through the runtime helpers of ``scipy.linalg`` (``backends/scipy_linalg_ops.py``), three
ways against central differences of the gradient: each case reaches the helpers named in its docstring, the
``_adjoint`` ones by forward over reverse and reverse over reverse, the ``_tangent`` ones by reverse over
forward."""
import numpy as np
import pytest

linalg = pytest.importorskip("scipy.linalg")

from .second_order import WAYS, check_second_derivatives  # noqa: E402

RNG = np.random.default_rng(11)


def _well_conditioned(n, *batch):
    return RNG.standard_normal((*batch, n, n)) * 0.3 + 2.0 * np.eye(n)


W3 = RNG.standard_normal((3, 3))
W23 = RNG.standard_normal((2, 3, 3))
B2 = _well_conditioned(2)
Q32 = RNG.standard_normal((3, 2))


def sqrtm_of(x):
    """sqrtm_adjoint, sqrtm_tangent."""
    return np.sum(W3 * linalg.sqrtm(x))


def sqrtm_batched(x):
    """sqrtm_adjoint, sqrtm_tangent on a stack of matrices."""
    return np.sum(W23 * linalg.sqrtm(x) ** 2)


def sylvester_all(x):
    """The rule of solve_sylvester, in each argument."""
    return np.sum(Q32 * linalg.solve_sylvester(x, B2 + x[:2, :2] ** 2, Q32 + x[:, :2]) ** 2)


def expm_of(x):
    """expm_adjoint, expm_tangent."""
    return np.sum(W3 * linalg.expm(x))


def expm_batched(x):
    """expm_adjoint, expm_tangent on a stack of matrices."""
    return np.sum(W23 * linalg.expm(x) ** 2)


LU = linalg.lu_factor(RNG.standard_normal((4, 4)) + np.eye(4))
W4 = RNG.standard_normal((4, 4))
B4 = RNG.standard_normal(4)


def lu_factor_of(x):
    """lu_factor_adjoint, lu_factor_tangent (rows pivoted)."""
    return np.sum(W4 * linalg.lu_factor(x)[0] ** 2)


def lu_solve_in_factors(x):
    """lu_solve_adjoint_lu, lu_solve_tangent_lu (the pair as lu_factor returns it, a tuple)."""
    return np.sum(B4 * linalg.lu_solve((x, LU[1]), B4 * x[0], trans=1) ** 2)


def lu_solve_in_factors_list(x):
    """lu_solve_adjoint_lu with a list (lu, piv): a list adjoint."""
    return np.sum(linalg.lu_solve([x, LU[1]], np.outer(B4, B4[:2])) ** 2)


SPD3 = RNG.standard_normal((3, 3)) @ RNG.standard_normal((3, 3)).T + 3.0 * np.eye(3)
B3 = RNG.standard_normal(3)


def cho_factor_of(x):
    """cho_factor_tangent (and cho_factor_adjoint): the factor's triangle and the unused one."""
    c, lower = linalg.cho_factor(0.2 * (x + x.T) + SPD3, lower=True)
    return np.sum(W3 * np.tril(c) ** 2) + np.sum(W3 * np.triu(c, 1))


def cho_solve_in_factor(x):
    """cho_solve_adjoint_c, with the pair as a tuple and as a list."""
    upper = np.triu(x) + 2.0 * np.eye(3)
    lower = upper.T
    return np.sum(B3 * linalg.cho_solve((upper, False), B3) ** 2) + np.sum(B3 * linalg.cho_solve([lower, True], B3))


def svd_of(x):
    """scipy_svd_tangent (and scipy_svd_adjoint)."""
    u, s, vh = linalg.svd(x, full_matrices=False)
    return np.sum(s * B3) + np.sum(np.abs(u[:, 0]) * W3[0]) + np.sum(vh[1] ** 2 * W3[1])


C23 = RNG.standard_normal((2, 3))
D222 = RNG.standard_normal((2, 2, 2))
W57 = RNG.standard_normal((5, 7))
W235 = RNG.standard_normal((2, 3, 5))


def block_diag_of(x):
    """block_diag_adjoint, block_diag_tangent: a matrix, a constant and a 1-D block."""
    return np.sum(W57 * linalg.block_diag(x * x, C23, np.sin(x[0])) ** 2)


def block_diag_batched(x):
    """block_diag_adjoint, block_diag_tangent: a 1-D block broadcast along a stack of matrices."""
    return np.sum(W235 * linalg.block_diag(x ** 3, D222) ** 2)


def _full_rank(m, n):
    k = min(m, n)
    u = np.linalg.qr(RNG.standard_normal((m, k)))[0]
    v = np.linalg.qr(RNG.standard_normal((n, k)))[0]
    return (u * (1.5 * np.arange(1.0, k + 1))) @ v.T


W42 = RNG.standard_normal((4, 2))
W24 = RNG.standard_normal((2, 4))


def pinv_of(x):
    """scipy_pinv_tangent (and scipy_pinv_adjoint) of a tall matrix."""
    return np.sum(W24 * linalg.pinv(x) ** 2)


def pinv_wide(x):
    """scipy_pinv_tangent with the tolerances given."""
    return np.sum(W42 * linalg.pinv(x, atol=1e-12, rtol=1e-9))


def lstsq_in_matrix(x):
    """scipy_lstsq_tangent_a (and scipy_lstsq_adjoint_a): the solution, the residues and the singular values."""
    solution, residues, rank, sv = linalg.lstsq(x, B4)
    return np.sum(solution ** 2 * B4[:2]) + np.sum(residues) + np.sum(sv ** 2 * B4[2:])


def lstsq_in_rhs(x):
    """scipy_lstsq_tangent_b (and scipy_lstsq_adjoint_b), with a right-hand side of several columns."""
    solution, residues, rank, sv = linalg.lstsq(A42, np.outer(x * x, B4[:3]))
    return np.sum(solution ** 2) + np.sum(residues * B4[:3])


A42 = _full_rank(4, 2)


def qr_economic(x):
    """scipy_qr_tangent (and scipy_qr_adjoint), mode='economic' of a tall matrix."""
    q, r = linalg.qr(x, mode="economic")
    return np.sum(W42 * q) + np.sum(W24[:, :2] * r ** 2)


def qr_r_only(x):
    """scipy_qr_tangent with mode='r' of a wide matrix."""
    (r,) = linalg.qr(x, mode="r")
    return np.sum(W24 * r ** 2)


SEP3 = RNG.standard_normal((3, 3))
SEP3 = np.linalg.qr(SEP3)[0] @ np.diag([1.5, 3.0, 4.5]) @ np.linalg.qr(SEP3)[0].T


def eigh_of(x):
    """scipy_eigh_tangent (and scipy_eigh_adjoint), with a driver that keeps the eigenvectors' signs."""
    w, v = linalg.eigh(SEP3 + 0.1 * (x + x.T), driver="evd")
    return np.sum(w ** 2 * B3) + np.sum(v[:, 1] ** 2 * B3)


def eigvalsh_upper(x):
    """scipy_eigh_tangent with eigvals_only, reading the upper triangle."""
    return np.sum(linalg.eigvalsh(SEP3 + 0.1 * x, lower=False) ** 2 * B3)


CASES = {
    "block_diag_of": (block_diag_of, RNG.standard_normal((2, 2))),
    "block_diag_batched": (block_diag_batched, RNG.standard_normal(3)),
    "pinv_of": (pinv_of, _full_rank(4, 2)),
    "pinv_wide": (pinv_wide, _full_rank(2, 4)),
    "lstsq_in_matrix": (lstsq_in_matrix, _full_rank(4, 2)),
    "lstsq_in_rhs": (lstsq_in_rhs, RNG.standard_normal(4)),
    "qr_economic": (qr_economic, RNG.standard_normal((4, 2))),
    "qr_r_only": (qr_r_only, RNG.standard_normal((2, 4))),
    "eigh_of": (eigh_of, RNG.standard_normal((3, 3))),
    "eigvalsh_upper": (eigvalsh_upper, RNG.standard_normal((3, 3))),
    "expm_of": (expm_of, RNG.standard_normal((3, 3))),
    "expm_batched": (expm_batched, RNG.standard_normal((2, 3, 3)) * 0.5),
    "lu_factor_of": (lu_factor_of, RNG.standard_normal((4, 4)) + np.eye(4)),
    "lu_solve_in_factors": (lu_solve_in_factors, LU[0]),
    "lu_solve_in_factors_list": (lu_solve_in_factors_list, LU[0]),
    "cho_factor_of": (cho_factor_of, RNG.standard_normal((3, 3))),
    "cho_solve_in_factor": (cho_solve_in_factor, RNG.standard_normal((3, 3)) * 0.3),
    "svd_of": (svd_of, RNG.standard_normal((3, 3)) + np.diag([3.0, 1.5, 0.0])),
    "sqrtm_of": (sqrtm_of, _well_conditioned(3)),
    "sqrtm_batched": (sqrtm_batched, _well_conditioned(3, 2)),
    "sylvester_all": (sylvester_all, _well_conditioned(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_through_scipy_linalg_helpers(name):
    scalar, x = CASES[name]
    assert check_second_derivatives(scalar, x) == list(WAYS)
