"""Products and np.linalg: dot, matmul, outer, inner, einsum, trace, solve,
inv, det, norm, and the decompositions (cholesky, eigh, eigvalsh, svd, qr,
slogdet, pinv, lstsq, matrix_power, multi_dot); 1-D, 2-D and batched operands.
"""
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sourcediff
from sourcediff.errors import SourcediffError
from sourcediff.testing import check_grads


def with_jax(f):
    """``f`` with its global ``np`` replaced by ``jax.numpy``."""
    return types.FunctionType(f.__code__, {**f.__globals__, "np": jnp}, f.__name__, f.__defaults__)


def check(f, args, argnums=0, jax_too=True):
    """Finite differences, then ``jax.grad`` of the same function on ``jax.numpy``."""
    check_grads(f, args, argnums)
    if jax_too:
        ours = sourcediff.grad(f, argnums=argnums)(*args)
        theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
        if isinstance(argnums, int):
            ours, theirs = (ours,), (theirs,)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o, np.asarray(t), rtol=1e-7, atol=1e-9)


def well_conditioned(rng, shape):
    """Random square matrices (possibly batched) with a dominant diagonal."""
    n = shape[-1]
    return rng.standard_normal(shape) + n * np.eye(n)


def f_dot(a, b, w):
    return np.sum(w * np.dot(a, b))


def f_matmul(a, b, w):
    return np.sum(w * np.matmul(a, b))


def f_outer(a, b, w):
    return np.sum(w * np.outer(a, b))


def f_inner(a, b, w):
    return np.sum(w * np.inner(a, b))


DOT_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
              ((2, 3), (4, 3, 2)), ((), (3, 4)), ((2, 3), ())]
MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((5, 1, 2, 3), (4, 3, 2)), ((3,), (4, 3, 2)), ((4, 2, 3), (4, 3, 1))]
INNER_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (4, 3)), ((2, 3), (4, 3)), ((5, 2, 3), (4, 3)), ((), (4, 3))]


@pytest.mark.parametrize("f,primal,shapes",
                         [(f_dot, np.dot, s) for s in DOT_SHAPES]
                         + [(f_matmul, np.matmul, s) for s in MATMUL_SHAPES]
                         + [(f_inner, np.inner, s) for s in INNER_SHAPES]
                         + [(f_outer, np.outer, s) for s in [((3,), (4,)), ((2, 3), (4,)), ((), (3,))]])
def test_products(f, primal, shapes, rng):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    w = rng.standard_normal(np.shape(primal(a, b)))
    check(f, (a, b, w), argnums=(0, 1))


def f_dot_method(a, b):
    return np.sum(a.dot(b) * a.dot(b.T))


def f_products_chain(a, x):
    y = np.dot(a, x)
    return np.dot(y, np.matmul(a, np.matmul(a.T, y))) + np.sum(np.outer(x, y)) * np.inner(x, x)


def test_dot_method_and_chain(rng):
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    check(f_dot_method, (a, b), argnums=(0, 1))
    check(f_products_chain, (rng.standard_normal((4, 3)), rng.standard_normal(3)), argnums=(0, 1))


def f_einsum1(a, w, subscripts):
    return np.sum(w * np.einsum(subscripts, a))


def f_einsum2(a, b, w, subscripts):
    return np.sum(w * np.einsum(subscripts, a, b))


def f_einsum3(a, b, c, w, subscripts):
    return np.sum(w * np.einsum(subscripts, a, b, c))


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii->", [(3, 3)]), ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]), ("ij->i", [(2, 3)]), ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]), ("ij", [(2, 3)]),
    ("ji", [(2, 3)]), ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]), ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("i,i->", [(3,), (3,)]), ("i,i", [(3,), (3,)]), ("i,j->ij", [(3,), (4,)]), ("iij,jk->ik", [(3, 3, 2), (2, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ij,j->i", [(2, 3), (1,)]), ("...i,...i->...", [(2, 3), (1, 3)]),
    ("ba,b->a", [(3, 2), (3,)]), ("ij,ij->ij", [(2, 3), (2, 3)]), ("i j , j k -> i k", [(2, 3), (3, 4)]),
    ("ij,kl->", [(2, 3), (2, 2)]), ("ab,bc,ca->", [(2, 3), (3, 4), (4, 2)]),
]


@pytest.mark.parametrize("subscripts,shapes", EINSUMS, ids=[s for s, _ in EINSUMS])
def test_einsum(subscripts, shapes, rng):
    ops = [rng.standard_normal(s) for s in shapes]
    w = rng.standard_normal(np.shape(np.einsum(subscripts, *ops)))
    f = {1: f_einsum1, 2: f_einsum2, 3: f_einsum3}[len(ops)]
    check(f, (*ops, w, subscripts), argnums=tuple(range(len(ops))))


def f_einsum_literal(a, b):
    c = np.einsum("ij,jk->ik", a, b)
    return np.einsum("ij,ij->", c, c) + np.einsum("ii", c.T @ a)


def test_einsum_literal_subscripts(rng):
    check(f_einsum_literal, (rng.standard_normal((3, 4)), rng.standard_normal((4, 4))), argnums=(0, 1))


def f_trace(a, w, offset, axis1, axis2):
    return np.sum(w * np.trace(a, offset, axis1, axis2))


@pytest.mark.parametrize("offset,axis1,axis2", [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (0, 0, 2), (2, -1, 1),
                                                (0, 2, 0), (-2, 1, 2)])
def test_trace(offset, axis1, axis2, rng):
    a = rng.standard_normal((3, 4, 5))
    w = rng.standard_normal(np.shape(np.trace(a, offset, axis1, axis2)))
    check(f_trace, (a, w, offset, axis1, axis2))


def f_trace_2d(a):
    return np.trace(a) * np.trace(a, offset=1) + a.trace()


def test_trace_2d(rng):
    check(f_trace_2d, (rng.standard_normal((4, 4)),))


def f_solve(a, b, w):
    return np.sum(w * np.linalg.solve(a, b))


@pytest.mark.parametrize("ashape,bshape", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)),
                                           ((2, 3, 3), (3,)), ((2, 3, 3), (3, 2))])
def test_solve(ashape, bshape, rng):
    a, b = well_conditioned(rng, ashape), rng.standard_normal(bshape)
    w = rng.standard_normal(np.shape(np.linalg.solve(a, b)))
    check(f_solve, (a, b, w), argnums=(0, 1))


def f_inv(a, w):
    return np.sum(w * np.linalg.inv(a))


def f_det(a):
    return np.linalg.det(a)


def f_det_batched(a, w):
    return np.sum(w * np.linalg.det(a))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
def test_inv_det(shape, rng):
    a = well_conditioned(rng, shape)
    check(f_inv, (a, rng.standard_normal(shape)))
    if len(shape) == 2:
        check(f_det, (a,))
    else:
        check(f_det_batched, (a, rng.standard_normal(shape[:-2])))


def f_norm(x, w, ord, axis, keepdims):
    return np.sum(w * np.linalg.norm(x, ord, axis, keepdims))


NORMS = [((5,), None, None), ((5,), 2, None), ((5,), 1, None), ((5,), np.inf, None), ((5,), -np.inf, None),
         ((5,), 3, None), ((5,), 2, 0), ((3, 4), None, None), ((3, 4), "fro", None), ((3, 4), "nuc", None),
         ((3, 4), 2, None), ((3, 4), -2, None), ((3, 4), 1, None), ((3, 4), -1, None), ((3, 4), np.inf, None),
         ((3, 4), -np.inf, None), ((3, 4), None, 1), ((3, 4), 2, 0), ((3, 4), 1, -1), ((2, 3, 4), None, None),
         ((2, 3, 4), None, (1, 2)), ((2, 3, 4), "fro", (0, 2)), ((2, 3, 4), 2, (2, 1)), ((2, 3, 4), 1, (0, 1)),
         ((2, 3, 4), None, -1), ((2, 3, 4), np.inf, (1, 2))]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,ord,axis", NORMS, ids=[f"{s}-{o}-{a}" for s, o, a in NORMS])
def test_norm(shape, ord, axis, keepdims, rng):
    x = rng.standard_normal(shape)
    w = rng.standard_normal(np.shape(np.linalg.norm(x, ord, axis, keepdims)))
    check(f_norm, (x, w, ord, axis, keepdims))


def f_norm_plain(x):
    return np.linalg.norm(x) + np.linalg.norm(x, axis=0).sum()


def test_norm_plain_call(rng):
    check(f_norm_plain, (rng.standard_normal((3, 2)),))


def test_norm_zero_vector_has_zero_subgradient():
    g = sourcediff.grad(f_norm_plain)(np.zeros((3, 2)))
    assert np.array_equal(g, np.zeros((3, 2)))


@pytest.mark.parametrize("shape,ord,axis", [((2, 4), 3, None), ((2, 4), "fro", 1), ((4,), "nuc", None)])
def test_norm_refuses_unsupported_ord(shape, ord, axis, rng):
    x = rng.standard_normal(shape)
    with pytest.raises((SourcediffError, ValueError), match=f"ord={ord!r}|Invalid norm order"):
        sourcediff.grad(f_norm)(x, 1.0, ord, axis, False)


def f_einsum_interleaved(a, b):
    return np.sum(np.einsum(a, [0, 1], b, [1, 2]))


def test_einsum_refuses_interleaved_form(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    with pytest.raises(SourcediffError):  # the transformer refuses the active first operand
        sourcediff.grad(f_einsum_interleaved, argnums=(0, 1))(a, b)
    with pytest.raises(SourcediffError, match="interleaved"):  # the rule refuses the form itself
        sourcediff.grad(f_einsum_interleaved, argnums=1)(a, b)


def f_least_squares(a, b):
    # normal equations: a realistic composition of the rules
    x = np.linalg.solve(a.T @ a, a.T @ b)
    r = a @ x - b
    return np.dot(r, r) + np.linalg.det(a.T @ a) * 1e-3


def test_least_squares_composition(rng):
    a = rng.standard_normal((6, 3)) + np.vstack([np.eye(3), np.eye(3)])
    check(f_least_squares, (a, rng.standard_normal(6)), argnums=(0, 1))


def f_matrix_nonscalar(a, b):
    return np.einsum("ij,jk->ki", a, np.linalg.inv(b))


def test_nonscalar_output_through_vjp(rng):
    check_grads(f_matrix_nonscalar, (rng.standard_normal((2, 3)), well_conditioned(rng, (3, 3))))


# -- the decompositions: finite differences, and jax.grad where JAX computes the same function --------------
# JAX and NumPy may pick other signs for eigenvectors, singular vectors and QR factors: the functions compared with
# JAX use them through sign-invariant quantities (squares, products u s vh); sign-dependent ones are checked
# against finite differences of NumPy's own vectors, which are continuous where the derivative exists.

def f_cholesky(a, w):
    return np.sum(w * np.linalg.cholesky(a @ a.T + 3 * np.eye(a.shape[-1])))


def f_cholesky_batched(a, w):
    return np.sum(w * np.linalg.cholesky(np.einsum("bij,bkj->bik", a, a) + 3 * np.eye(3)))


def f_cholesky_upper(a, w):
    return np.sum(w * np.linalg.cholesky(a, upper=True))


def test_cholesky(rng):
    check(f_cholesky, (rng.standard_normal((3, 3)), rng.standard_normal((3, 3))))
    check(f_cholesky_batched, (rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 3))))
    spd = rng.standard_normal((3, 3))
    spd = spd @ spd.T + 3 * np.eye(3)
    # NumPy reads one triangle: the gradient lies in it (the upper one with upper=True), which JAX does not do
    check(f_cholesky_upper, (spd + np.tril(rng.standard_normal((3, 3)), -1), rng.standard_normal((3, 3))),
          jax_too=False)
    got = sourcediff.grad(f_cholesky_upper)(spd, rng.standard_normal((3, 3)))
    assert np.all(np.tril(got, -1) == 0) and np.any(np.triu(got, 1) != 0)


def f_slogdet(a):
    return np.linalg.slogdet(a)[1]


def f_slogdet_batched(a, w):
    sign, logdet = np.linalg.slogdet(a)
    return np.sum(w * logdet * sign)


def test_slogdet(rng):
    a = well_conditioned(rng, (3, 3))
    check(f_slogdet, (a,))
    check(f_slogdet, (-a,))
    np.testing.assert_allclose(sourcediff.grad(f_slogdet)(a), np.linalg.inv(a).T, rtol=1e-12)
    check(f_slogdet_batched, (well_conditioned(rng, (2, 3, 3)) * np.array([1.0, -1.0])[:, None, None],
                              rng.standard_normal(2)))


def f_eigh(a, c):
    w, v = np.linalg.eigh(a + a.T)
    return w @ c + np.sum(v[:, 0] ** 2 * c)


def f_eigh_signs(a, c):
    w, v = np.linalg.eigh(a + a.T)
    return np.sum(v[:, 1] * c) * w[0]


def f_eigh_fields(a, c):
    result = np.linalg.eigh(a @ a.T, UPLO="U")
    return np.sum(result.eigenvalues * c) + np.sum(result.eigenvectors[:, -1] ** 2 * c)


def f_eigh_batched(a, c):
    w, v = np.linalg.eigh(a + np.transpose(a, (0, 2, 1)))
    return np.sum(w * c) + np.sum(v[..., 0] ** 2 * c)


def f_eigh_lower(a, c):
    w, v = np.linalg.eigh(a)
    return np.sum(w * c) + np.sum(v[:, 0] * c)


def f_eigvalsh(a, c):
    return np.sum(np.linalg.eigvalsh(a + a.T) ** 2 * c)


def test_eigh(rng):
    a, c = rng.standard_normal((3, 3)), rng.standard_normal(3)
    check(f_eigh, (a, c))
    check(f_eigh_signs, (a, c), jax_too=False)
    check(f_eigh_fields, (a, c))
    check(f_eigh_batched, (rng.standard_normal((2, 3, 3)), rng.standard_normal(3)))
    check(f_eigvalsh, (a, c))
    # NumPy reads the lower triangle only: the gradient is zero above the diagonal
    check(f_eigh_lower, (a, c), jax_too=False)
    assert np.all(np.triu(sourcediff.grad(f_eigh_lower)(a, c), 1) == 0)


def f_eigenvalue_squares(a):
    return np.sum(np.linalg.eigh(a + a.T)[0] ** 2)


def f_eigenvalue_squares_only(a):
    return np.sum(np.linalg.eigvalsh(a + a.T) ** 2)


def test_eigh_repeated_eigenvalues(rng):
    q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    a = q @ np.diag([1.0, 1.0, 2.0]) @ q.T  # a + a.T has eigenvalues 2, 2, 4 (in a generic basis, where
    # NumPy's choice of signs is continuous)
    # sum(w**2) is the squared Frobenius norm of s = a + a.T: its gradient 4 s exists at repeated eigenvalues
    for f in (f_eigenvalue_squares, f_eigenvalue_squares_only):
        np.testing.assert_allclose(sourcediff.grad(f)(a), 4 * (a + a.T), atol=1e-12)
    # an eigenvector of a repeated eigenvalue has no derivative: refused, not guessed
    with pytest.raises(SourcediffError, match="repeated"):
        sourcediff.grad(f_eigh)(a, np.ones(3))
    # the eigenvector of the simple eigenvalue 4 is differentiable (its squares: NumPy may flip its sign at
    # the repeated eigenvalues, which finite differences would see)
    check_grads(f_eigh_simple_vector, (a, np.arange(1.0, 4.0)))


def f_eigh_simple_vector(a, c):
    w, v = np.linalg.eigh(a + a.T)
    return np.sum(v[:, 2] ** 2 * c) * w[2]


def test_eigh_forward_helper_at_repeated_eigenvalues():
    from sourcediff.backends import numpy_backend as sd

    s = np.diag([2.0, 2.0, 4.0])
    dw, dv = sd.eigh_tangent(np.ones((3, 3)), s, np.linalg.eigh(s))
    np.testing.assert_allclose(dw, [1.0, 1.0, 1.0])
    assert np.all(np.isnan(dv[:, :2])) and np.all(np.isfinite(dv[:, 2]))


def f_singular_values(a, c):
    return np.sum(np.linalg.svd(a, compute_uv=False) * c)


def f_svd_reduced(a, w):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(w * ((u * s[..., None, :] ** 2) @ vh)) + np.sum(u[..., 0] ** 2 * s[..., :1])


def f_svd_signs(a, c):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(u[:, 0] * c[: u.shape[0]]) + np.sum(vh[1] * c[: vh.shape[1]]) * s[1]


def f_svd_last_vector(a, c):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(vh[-1] * c)


def f_svd_full_values(a, c):
    u, s, vh = np.linalg.svd(a)
    return np.sum(s * c)


def f_svd_full_vectors(a, c):
    u, s, vh = np.linalg.svd(a)
    return np.sum(u[:, -1] * c[0]) + np.sum(s * c)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 4, 3)])
def test_svd(shape, rng):
    a, c = rng.standard_normal(shape), rng.standard_normal(min(shape[-2:]))
    check(f_singular_values, (a, c))
    check(f_svd_reduced, (a, rng.standard_normal(shape)))
    if len(shape) == 2:
        check(f_svd_signs, (a, rng.standard_normal(4)), jax_too=False)
        # JAX has no derivative of the full decomposition; the singular values alone are those of compute_uv=False
        check(f_svd_full_values, (a, c), jax_too=False)
        np.testing.assert_allclose(sourcediff.grad(f_svd_full_values)(a, c),
                                   sourcediff.grad(f_singular_values)(a, c), rtol=1e-12)


def test_svd_refusals(rng):
    with pytest.raises(SourcediffError, match="full_matrices=False"):
        sourcediff.grad(f_svd_full_vectors)(rng.standard_normal((4, 2)), rng.standard_normal(2))
    check(f_svd_full_vectors, (rng.standard_normal((3, 3)), rng.standard_normal(3)), jax_too=False)  # square: fine
    with pytest.raises(SourcediffError, match="repeated or zero singular values"):
        sourcediff.grad(f_svd_signs)(np.eye(3)[:, :2] * 2.0, rng.standard_normal(4))
    with pytest.raises(SourcediffError, match="repeated or zero singular values"):
        sourcediff.grad(f_svd_last_vector)(np.diag([3.0, 0.0, 0.0])[:, :2], rng.standard_normal(2))
    # the singular values themselves: the gradient of their sum (the nuclear norm) at repeated ones is u vh
    np.testing.assert_allclose(sourcediff.grad(f_singular_values)(2 * np.eye(3), np.ones(3)), np.eye(3),
                               atol=1e-12)


def test_svd_forward_helper_leaves_the_extra_vectors_undefined(rng):
    from sourcediff.backends import numpy_backend as sd

    a, t = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    du, ds, dvh = sd.svd_tangent(t, a, np.linalg.svd(a))
    reduced = sd.svd_tangent(t, a, np.linalg.svd(a, full_matrices=False), False)
    assert np.isnan(du[:, 2:]).all() and du.shape == (4, 4)
    np.testing.assert_allclose(du[:, :2], reduced[0])
    np.testing.assert_allclose(ds, reduced[1])
    np.testing.assert_allclose(dvh, reduced[2])


def f_qr(a, w1, w2):
    q, r = np.linalg.qr(a)
    return np.sum(w1 * q) + np.sum(w2 * r)


def f_qr_r(a, w2):
    return np.sum(w2 * np.linalg.qr(a, mode="r"))


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 3)])
def test_qr(shape, rng):
    a = rng.standard_normal(shape)
    q, r = np.linalg.qr(a)
    check(f_qr, (a, rng.standard_normal(q.shape), rng.standard_normal(r.shape)))
    check(f_qr_r, (a, rng.standard_normal(r.shape)), jax_too=False)


def f_qr_complete(a, w1):
    q, r = np.linalg.qr(a, mode="complete")
    return np.sum(w1 * q)


def test_qr_complete_of_a_tall_matrix_is_refused(rng):
    # the extra columns of q are any basis of the complement of a's columns
    with pytest.raises(SourcediffError, match="mode='complete'"):
        sourcediff.grad(f_qr_complete)(rng.standard_normal((4, 2)), rng.standard_normal((4, 4)))
    check(f_qr_complete, (rng.standard_normal((2, 4)), rng.standard_normal((2, 2))), jax_too=False)


def f_pinv(a, w):
    return np.sum(w * np.linalg.pinv(a))


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 3)])
def test_pinv(shape, rng):
    a = rng.standard_normal(shape)
    check(f_pinv, (a, rng.standard_normal(np.swapaxes(a, -1, -2).shape)))


def test_pinv_refuses_rank_deficient(rng):
    a = np.outer(rng.standard_normal(3), rng.standard_normal(4))
    with pytest.raises(SourcediffError, match="rank-deficient"):
        sourcediff.grad(f_pinv)(a, rng.standard_normal((4, 3)))


def f_lstsq(a, b, w):
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    return np.sum(w * x)


def f_lstsq_all(a, b, c):
    x, residuals, rank, s = np.linalg.lstsq(a, b)
    return np.sum(x ** 2) + np.sum(residuals) * rank + np.sum(s * c)


@pytest.mark.parametrize("ashape, bshape", [((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 3), (3,)), ((2, 4), (2,))])
def test_lstsq(ashape, bshape, rng):
    a, b = rng.standard_normal(ashape), rng.standard_normal(bshape)
    w = rng.standard_normal((ashape[1], *bshape[1:]))
    check(f_lstsq, (a, b, w), argnums=(0, 1))
    check(f_lstsq_all, (a, b, rng.standard_normal(min(ashape))), argnums=(0, 1), jax_too=False)
    # the residuals: the squared norm of b - a x at the solution
    if ashape[0] > ashape[1]:
        def residual(a, b):
            return np.sum(np.linalg.lstsq(a, b)[1])

        def direct(a, b):
            r = b - a @ np.linalg.lstsq(a, b)[0]
            return np.sum(r * r)

        for ours, theirs in zip(sourcediff.grad(residual, argnums=(0, 1))(a, b),
                                sourcediff.grad(direct, argnums=(0, 1))(a, b)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


def f_matrix_power(a, w, n):
    return np.sum(w * np.linalg.matrix_power(a, n))


@pytest.mark.parametrize("n", [3, -2, 1, 0, -1])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_matrix_power(n, shape, rng):
    a = well_conditioned(rng, shape) / 3
    check(f_matrix_power, (a, rng.standard_normal(shape), n))


def f_multi_dot(a, b, c, d):
    return np.sum(np.linalg.multi_dot([a, b, c]) * d)


def f_multi_dot_vectors(x, b, y):
    return np.linalg.multi_dot([x, b, b.T, y])


def test_multi_dot(rng):
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    check(f_multi_dot, (a, b, c, rng.standard_normal((2, 5))), argnums=(0, 1, 2))
    check(f_multi_dot_vectors, (rng.standard_normal(3), b, rng.standard_normal(3)), argnums=(0, 1, 2))


def f_tensorsolve(a, b, w):
    return np.sum(w * np.linalg.tensorsolve(a, b))


def f_tensorsolve_axes(a, b, w):
    return np.sum(w * np.linalg.tensorsolve(a, b, axes=(0, 2)))


def test_tensorsolve(rng):
    a = well_conditioned(rng, (6, 6))
    check(f_tensorsolve, (a.reshape(2, 3, 6), rng.standard_normal((2, 3)), rng.standard_normal(6)), argnums=(0, 1))
    check(f_tensorsolve, (a.reshape(6, 2, 3), rng.standard_normal(6), rng.standard_normal((2, 3))), argnums=(0, 1))
    check(f_tensorsolve_axes, (a.reshape(3, 2, 2, 3), rng.standard_normal((2, 3)), rng.standard_normal((3, 2))),
          argnums=(0, 1))


def norm_squared(x, ord, axis):
    return np.sum(np.linalg.norm(x, ord=ord, axis=axis) ** 2)


@pytest.mark.parametrize("ord", [0, 0.5, -1, -2, 3])
def test_vector_norms_of_every_ord(ord, rng):
    x = rng.uniform(0.5, 1.5, 5) * rng.choice([-1.0, 1.0], 5)
    check_grads(norm_squared, (x, ord, None), 0)
    np.testing.assert_allclose(sourcediff.grad(norm_squared)(x, ord, None),
                               np.asarray(jax.grad(with_jax(norm_squared))(x, ord, None)), rtol=1e-8, atol=1e-10)


def test_a_vector_norm_below_one_at_a_zero_entry_is_refused():
    with pytest.raises(sourcediff.SourcediffError, match="zero entry"):
        sourcediff.grad(norm_squared)(np.array([1.0, 0.0, 2.0]), 0.5, None)


@pytest.mark.parametrize("ord", [2, -2])
def test_matrix_two_norms_share_the_adjoint_among_tied_singular_values(ord, rng):
    q = np.linalg.qr(rng.standard_normal((3, 3)))[0]  # orthogonal: its three singular values are all 1
    x = q * 2.0
    np.testing.assert_allclose(sourcediff.grad(norm_squared)(x, ord, None), 2 * 2.0 * q / 3, atol=1e-12)
    # the mean of the one-sided directional derivatives: along +x the norm grows, along -x it shrinks
    eps = 1e-7
    direction = rng.standard_normal((3, 3))
    one_sided = [(norm_squared(x + eps * s * direction, ord, None) - norm_squared(x, ord, None)) / eps
                 for s in (1.0, -1.0)]
    assert min(one_sided[0], -one_sided[1]) - 1e-5 <= np.sum(direction * sourcediff.grad(norm_squared)(
        x, ord, None)) <= max(one_sided[0], -one_sided[1]) + 1e-5


# -- vector products, and np.linalg's array-API functions (NumPy's breadth) --------------------------------------

def f_vector_products(a, b, w):
    return np.sum(w * np.vecdot(a, b)) + np.vdot(a[0], b[1]) + np.sum(np.vecdot(a, a, axis=0) ** 2)


def f_matvec_vecmat(m, v, w):
    return np.sum(w * np.matvec(m, v)) + np.sum(np.vecmat(v, np.swapaxes(m, -1, -2)) ** 2)


def test_vecdot_vdot_matvec_vecmat(rng):
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((2, 1, 3))
    check(f_vector_products, (a, b, rng.standard_normal((2, 3))), argnums=(0, 1))
    m, v = rng.standard_normal((4, 2, 3)), rng.standard_normal(3)
    check(f_matvec_vecmat, (m, v, rng.standard_normal((4, 2))), argnums=(0, 1))


def f_linalg_aliases(a, b, w):
    return (np.sum(w * np.linalg.matmul(a, b)) + np.sum(np.linalg.outer(a[0], b[:, 0]) ** 2)
            + np.sum(np.linalg.cross(a, b.T[:3, :3]) * w[:, :3]) + np.sum(np.linalg.tensordot(a, b, axes=1) * w)
            + np.sum(np.linalg.trace(b.T @ b, offset=1) * np.linalg.diagonal(a @ b)[:2])
            + np.sum(np.linalg.matrix_transpose(a) ** 2) + np.sum(np.linalg.vecdot(a, a, axis=0)))


def test_linalg_aliases_of_the_top_level_functions(rng):
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 4))
    check(f_linalg_aliases, (a, b, rng.standard_normal((3, 4))), argnums=(0, 1))


def f_norms(x, w):
    return (np.sum(w * np.linalg.vector_norm(x, axis=(0, 2))) + np.linalg.vector_norm(x, ord=1)
            + np.sum(np.linalg.matrix_norm(x, ord="nuc")) + np.sum(np.linalg.matrix_norm(x, keepdims=True) ** 2)
            + np.sum(np.linalg.vector_norm(x, axis=-1, ord=np.inf)))


def test_matrix_norm_and_vector_norm(rng):
    check(f_norms, (rng.standard_normal((2, 3, 4)), rng.standard_normal(3)))


def f_vector_norm_of_a_matrix(x):
    return np.linalg.vector_norm(x)


def test_vector_norm_of_a_matrix_flattens_it(rng):
    # axis=None: the 2-norm of all the entries, not the matrix 2-norm
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(sourcediff.grad(f_vector_norm_of_a_matrix)(x), x / np.sqrt(np.sum(x ** 2)))


def f_svdvals(x, w):
    return np.sum(w * np.linalg.svdvals(x) ** 2)


def f_cond(x, p):
    return np.linalg.cond(x, p) ** 2


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
def test_cond(p, rng):
    x = well_conditioned(rng, (3, 3))
    check(f_cond, (x, p))


def test_cond_of_a_rectangular_and_batched_matrix(rng):
    check(f_cond, (rng.standard_normal((4, 3)), None))
    check(f_svdvals, (rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 3))))


def f_cond_batched(x):
    return np.sum(np.linalg.cond(x, "fro"))


def test_cond_batched(rng):
    check(f_cond_batched, (well_conditioned(rng, (2, 3, 3)),))


def f_tensorinv(a, w):
    return np.sum(w * np.linalg.tensorinv(a, ind=2))


def test_tensorinv(rng):
    a = well_conditioned(rng, (6, 6)).reshape(2, 3, 6)
    check(f_tensorinv, (a, rng.standard_normal((6, 2, 3))))


def f_matrix_rank(x):
    return np.linalg.matrix_rank(x) * np.sum(x ** 2)


def test_matrix_rank_is_an_integer(rng):
    x = rng.standard_normal((3, 3))
    np.testing.assert_allclose(sourcediff.grad(f_matrix_rank)(x), 3 * 2 * x)
