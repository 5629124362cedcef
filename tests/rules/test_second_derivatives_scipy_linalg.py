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
    c, lower = linalg.cho_factor(x + x.T + SPD3, lower=True)
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


CASES = {
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
