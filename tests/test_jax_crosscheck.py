"""Gradients agree with jax.grad on the same functions, with jax.numpy swapped in for NumPy."""
import math
import types

import numpy as np
import pytest

import sourcediff

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")


def as_jax(f):
    """The same code object, run with ``np`` and ``math`` bound to jax.numpy."""
    namespace = dict(f.__globals__, np=jnp, math=jnp)
    return types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)


def mlp(w1, b1, w2, x, y):
    h = np.tanh(x @ w1 + b1)
    return np.mean((h @ w2 - y) ** 2)


def softmax_cross_entropy(logits, labels):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(labels * logp, axis=1))


def scalar_mix(a, b):
    c = math.sin(a) * math.exp(b) + a ** 3 / b
    d = math.hypot(c, a) - math.atan2(b, a)
    return math.tanh(d) * math.sqrt(b)


def gaussian_logpdf(x, mu, log_sigma):
    sigma = np.exp(log_sigma)
    z = (x - mu) / sigma
    return np.sum(-0.5 * z ** 2 - log_sigma - 0.5 * np.log(2 * np.pi))


def slicing(x):
    a, b = x[1:, ::2], x[:-1, 1::2]
    return np.sum(a * b) + x[0, -1] ** 2 + np.sum(x[x > 0.1])


def linear_algebra(a, b):
    s = np.linalg.solve(a, b)
    return np.sum(s ** 2) + np.linalg.det(a) + np.trace(a @ a.T) + np.linalg.norm(b)


def reductions(x):
    return np.sum(np.var(x, axis=0)) + np.prod(x[0]) + np.sum(np.std(x, axis=1, keepdims=True)) \
        + np.max(x) * np.min(x, axis=0).sum()


def shapes(x, y):
    z = np.concatenate([x, y], axis=0).reshape(-1)
    w = np.stack([x, y]).transpose(1, 0, 2)
    return np.sum(z * z) + np.sum(np.outer(z, z[:3])) + np.einsum("ijk,ijk->", w, w)


def tuples(x, y):
    p = (x * y, x + y)
    u, v = p
    u, v = v, u
    return np.sum(u * np.sin(v))


rng = np.random.default_rng(2024)
SPD = rng.standard_normal((3, 3))
SPD = SPD @ SPD.T + 3 * np.eye(3)

CASES = [
    (mlp, (rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal((5, 2)),
           rng.standard_normal((6, 4)), rng.standard_normal((6, 2))), (0, 1, 2)),
    (softmax_cross_entropy, (rng.standard_normal((4, 3)), np.eye(3)[[0, 2, 1, 1]]), (0,)),
    (scalar_mix, (0.7, 1.3), (0, 1)),
    (gaussian_logpdf, (rng.standard_normal(5), 0.3, -0.2), (0, 1, 2)),
    (slicing, (rng.standard_normal((4, 6)),), (0,)),
    (linear_algebra, (SPD, rng.standard_normal(3)), (0, 1)),
    (reductions, (rng.standard_normal((3, 4)),), (0,)),
    (shapes, (rng.standard_normal((2, 3)), rng.standard_normal((2, 3))), (0, 1)),
    (tuples, (rng.standard_normal(3), rng.standard_normal(3)), (0, 1)),
]


@pytest.mark.parametrize("f, args, argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_agree_with_jax(f, args, argnums):
    ours = sourcediff.grad(f, argnums=argnums)(*args)
    theirs = jax.grad(as_jax(f), argnums=argnums)(*args)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, np.asarray(reference), rtol=1e-9, atol=1e-12)
