"""Second derivatives through the runtime helpers of ``pinv``, ``matrix_power``, ``tensorsolve``, ``tensorinv``,
``rollaxis`` and ``scipy.special.logsumexp``, three ways against central differences of the gradient: each case
reaches the helpers named in its docstring, the ``_adjoint`` ones by forward over reverse and reverse over
reverse, the ``_tangent`` ones by reverse over forward."""
import numpy as np
import pytest

special = pytest.importorskip("scipy.special")

from .second_order import WAYS, check_second_derivatives  # noqa: E402

RNG = np.random.default_rng(5)


def _full_rank(m, n, *batch):
    k = min(m, n)
    u = np.linalg.qr(RNG.standard_normal((*batch, m, k)))[0]
    v = np.linalg.qr(RNG.standard_normal((*batch, n, k)))[0]
    return (u * (1.5 * np.arange(1.0, k + 1))) @ np.swapaxes(v, -1, -2)


def _well_conditioned(n, *batch):
    return RNG.standard_normal((*batch, n, n)) * 0.3 + 2.0 * np.eye(n)


W24 = RNG.standard_normal((2, 4))
W42 = RNG.standard_normal((4, 2))
W3 = RNG.standard_normal((3, 3))
W233 = RNG.standard_normal((2, 3, 3))
W223 = RNG.standard_normal((2, 2, 3))
W224 = RNG.standard_normal((2, 2, 4))
B23 = RNG.standard_normal((2, 3))
B4 = RNG.standard_normal(4)
B22 = RNG.standard_normal((2, 2))
W34 = RNG.standard_normal((3, 4))
A3223 = _well_conditioned(6).reshape(3, 2, 2, 3)
P34 = RNG.uniform(0.5, 2.0, (3, 4))


def pinv_tall(x):
    """pinv_adjoint, pinv_tangent of a tall matrix."""
    return np.sum(W24 * np.linalg.pinv(x) ** 2)


def pinv_wide(x):
    """pinv_adjoint, pinv_tangent of a wide matrix, with rcond given."""
    return np.sum(W42 * np.linalg.pinv(x, rcond=1e-12))


def pinv_stack(x):
    """pinv_adjoint, pinv_tangent of a stack of matrices, with rtol given."""
    return np.sum(np.linalg.pinv(x, rtol=1e-10) ** 2)


def matrix_power_cube(x):
    """matrix_power_adjoint, matrix_power_tangent (n = 3)."""
    return np.sum(W3 * np.linalg.matrix_power(x, 3))


def matrix_power_inverse_square(x):
    """matrix_power_adjoint, matrix_power_tangent (n = -2: powers of the inverse)."""
    return np.sum(W3 * np.linalg.matrix_power(x, -2) ** 2)


def matrix_power_first(x):
    """matrix_power_adjoint, matrix_power_tangent (n = 1) of a stack."""
    return np.sum(W233 * np.linalg.matrix_power(x, 1) ** 2)


def matrix_power_stack(x):
    """matrix_power_adjoint, matrix_power_tangent (n = 2) of a stack."""
    return np.sum(W233 * np.sin(np.linalg.matrix_power(x, 2)))


def tensorsolve_in_a(x):
    """tensorsolve_adjoint_a, tensorsolve_tangent_a."""
    return np.sum(B4[:2] * np.reshape(np.linalg.tensorsolve(x, B23), (3, 2)) ** 2)


def tensorsolve_in_b(x):
    """tensorsolve_adjoint_b, tensorsolve_tangent_b, with axes moved."""
    return np.sum(B23 * np.linalg.tensorsolve(A3223, x * x, axes=(0, 2)).T ** 2)


def tensorsolve_axes_in_a(x):
    """tensorsolve_adjoint_a, tensorsolve_tangent_a, with axes moved."""
    return np.sum(B23 * np.linalg.tensorsolve(x, B23, axes=(0, 2)).T ** 2)


def tensorinv_ind2(x):
    """tensorinv_adjoint, tensorinv_tangent (ind = 2)."""
    return np.sum(B22 * np.sum(np.linalg.tensorinv(x) ** 2, axis=(0, 1)))


def tensorinv_ind1(x):
    """tensorinv_adjoint, tensorinv_tangent (ind = 1)."""
    return np.sum(W224 * np.sin(np.linalg.tensorinv(x, 1)))


def rollaxis_forward(x):
    """rollaxis_adjoint, an axis rolled towards the end."""
    return np.sum(W223 * np.rollaxis(x, 0, 3) ** 3)


def rollaxis_backward(x):
    """rollaxis_adjoint, a negative axis rolled towards the front."""
    return np.sum(W223 * np.rollaxis(x, -1, 1) ** 3)


def logsumexp_axis(x):
    """logsumexp_adjoint, logsumexp_tangent over one axis."""
    return np.sum(B4[:3] * special.logsumexp(x, axis=1) ** 2)


def logsumexp_all_keepdims(x):
    """logsumexp_adjoint, logsumexp_tangent over all axes, keepdims."""
    return np.sum(special.logsumexp(x * x, keepdims=True) ** 2)


def logsumexp_weighted(x):
    """logsumexp_adjoint, logsumexp_tangent with weights b."""
    return np.sum(B4[:3] * special.logsumexp(x, axis=-1, b=P34) ** 2)


def logsumexp_in_b(x):
    """logsumexp_adjoint, logsumexp_tangent in the weights b."""
    return np.sum(special.logsumexp(W34, axis=0, b=x * x) ** 2)


CASES = {
    "pinv_tall": (pinv_tall, _full_rank(4, 2)),
    "pinv_wide": (pinv_wide, _full_rank(2, 4)),
    "pinv_stack": (pinv_stack, _full_rank(3, 2, 2)),
    "matrix_power_cube": (matrix_power_cube, _well_conditioned(3)),
    "matrix_power_inverse_square": (matrix_power_inverse_square, _well_conditioned(3)),
    "matrix_power_first": (matrix_power_first, _well_conditioned(3, 2)),
    "matrix_power_stack": (matrix_power_stack, _well_conditioned(3, 2) * 0.5),
    "tensorsolve_in_a": (tensorsolve_in_a, _well_conditioned(6).reshape(2, 3, 6)),
    "tensorsolve_in_b": (tensorsolve_in_b, RNG.standard_normal((2, 3))),
    "tensorsolve_axes_in_a": (tensorsolve_axes_in_a, A3223.copy()),
    "tensorinv_ind2": (tensorinv_ind2, _well_conditioned(4).reshape(2, 2, 2, 2)),
    "tensorinv_ind1": (tensorinv_ind1, _well_conditioned(4).reshape(4, 2, 2)),
    "rollaxis_forward": (rollaxis_forward, RNG.standard_normal((3, 2, 2))),
    "rollaxis_backward": (rollaxis_backward, RNG.standard_normal((2, 3, 2))),
    "logsumexp_axis": (logsumexp_axis, RNG.standard_normal((3, 4))),
    "logsumexp_all_keepdims": (logsumexp_all_keepdims, RNG.standard_normal((3, 4)) * 0.5),
    "logsumexp_weighted": (logsumexp_weighted, RNG.standard_normal((3, 4))),
    "logsumexp_in_b": (logsumexp_in_b, RNG.uniform(0.5, 1.5, (3, 4))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_through_linalg_helpers(name):
    scalar, x = CASES[name]
    assert check_second_derivatives(scalar, x) == list(WAYS)
