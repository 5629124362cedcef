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


CASES = {
    "sqrtm_of": (sqrtm_of, _well_conditioned(3)),
    "sqrtm_batched": (sqrtm_batched, _well_conditioned(3, 2)),
    "sylvester_all": (sylvester_all, _well_conditioned(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_through_scipy_linalg_helpers(name):
    scalar, x = CASES[name]
    assert check_second_derivatives(scalar, x) == list(WAYS)
