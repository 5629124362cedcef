"""Products and np.linalg: dot, matmul, outer, inner, einsum, trace, solve,
inv, det, norm; 1-D, 2-D and batched operands.
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


@pytest.mark.parametrize("shape,ord,axis", [((4,), 0.5, None), ((4,), 0, None), ((2, 4), -3, 1)])
def test_norm_refuses_unsupported_ord(shape, ord, axis, rng):
    x = rng.standard_normal(shape)
    w = rng.standard_normal(np.shape(np.linalg.norm(x, ord, axis)))
    with pytest.raises(SourcediffError, match=f"ord={ord!r}"):
        sourcediff.grad(f_norm)(x, w, ord, axis, False)


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
