"""Second derivatives through the NumPy helpers that are differentiated through their source (cumulative
products, NaN-aware variance, quantiles, trapezoid, interp, polyval, block, einsum, math.prod, math.dist).

Each case is a scalar function whose derivative code calls the helper named, with a nonlinear function around
the primal so that the helper's output depends on ``x`` (a linear primal alone has a zero Hessian). Its
Hessian-vector product is checked three ways against central differences of ``sourcediff.grad``, as in
``test_second_derivatives.py``.
"""
import itertools
import linecache
import math

import numpy as np
import pytest

import sourcediff

from .second_order import WAYS, fd_hvp, hvp

_numbering = itertools.count()
RNG = np.random.default_rng(20261130)
X34 = RNG.standard_normal((3, 4))
W34 = RNG.standard_normal((3, 4))
W35 = RNG.standard_normal((3, 5))
WITH_ZERO = X34.copy()
WITH_ZERO[1, 2] = 0.0
WITH_NAN = X34.copy()
WITH_NAN[1, 1] = np.nan
KNOTS = np.array([-1.0, 0.0, 0.5, 2.0])
AWAY = np.array([-2.0, -0.5, 0.3, 1.0, 3.0])  # off the knots: finite differences see no kink
Q = np.array([0.1, 0.75])
B23 = RNG.standard_normal((2, 3))
C15 = RNG.standard_normal((1, 5))
NAMES = {"np": np, "math": math, "W34": W34, "W35": W35, "KNOTS": KNOTS, "AWAY": AWAY, "Q": Q, "B23": B23, "C15": C15,
         "X4": np.array([0.0, 0.3, 1.0, 1.1])}

# (helpers reached, body of s(x) = np.sum(body), x)
CASES = [
    (("cumprod_adjoint", "cumprod_tangent"), "W34 * np.cumprod(x, axis=1)", X34),
    (("cumprod_adjoint", "cumprod_tangent"), "np.sin(W34.ravel() * np.cumprod(x))", WITH_ZERO),
    (("cumulative_prod_adjoint", "cumulative_prod_tangent"), "np.sin(W34 * np.cumulative_prod(x, axis=-1))", X34),
    (("cumulative_prod_adjoint", "cumulative_prod_tangent"),
     "W35 * np.cumulative_prod(x, axis=1, include_initial=True)", X34),
    (("cumulative_prod_adjoint", "cumulative_prod_tangent"), "np.sin(np.cumulative_prod(x, include_initial=True))",
     X34[0]),
    (("nan_cumprod_adjoint", "nan_cumprod_tangent"), "W34 * np.nancumprod(x, axis=1)", WITH_NAN),
    (("nan_var_adjoint",), "np.sin(np.nanvar(x, axis=0))", WITH_NAN),  # NaN next to finite entries
    (("nan_std_adjoint",), "np.sin(np.nanstd(x, axis=1, ddof=1, keepdims=True))", WITH_NAN),  # calls nan_var_adjoint
    (("quantile_adjoint", "quantile_tangent"), "np.sin(B23 * np.quantile(x * x, Q, axis=1))", X34),
    (("quantile_adjoint", "quantile_tangent"), "np.cos(np.median(x * x, axis=0))", X34),
    (("quantile_adjoint", "quantile_tangent"), "np.sin(np.percentile(x * x, 30.0, axis=1, keepdims=True))", X34),
    (("nan_quantile_adjoint", "nan_quantile_tangent"), "np.cos(B23 * np.nanquantile(x, Q, axis=1))", WITH_NAN),
    (("nan_quantile_adjoint", "nan_quantile_tangent"), "np.sin(np.nanmedian(x, axis=0))", WITH_NAN),
    (("trapezoid_adjoint",), "np.sin(np.trapezoid(x, axis=1))", X34),
    (("trapezoid_adjoint",), "np.sin(np.trapezoid(x[:, :4], x[0, 4:], axis=1))", RNG.standard_normal((3, 8))),
    (("trapezoid_adjoint",), "np.sin(np.trapezoid(W34 * x, dx=x, axis=0))", 0.7),
    (("trapezoid_adjoint",), "np.sin(np.trapezoid(x, X4[:3], axis=0))", X34),
    (("interp_adjoint",), "np.sin(np.interp(AWAY, KNOTS, x))", RNG.standard_normal(4)),
    (("interp_adjoint",), "np.sin(np.interp(x[4:], KNOTS, x[:4], left=1.0, right=-0.5))",
     np.concatenate([RNG.standard_normal(4), AWAY])),
    (("interp_adjoint",), "np.sin(np.interp(AWAY, KNOTS[:1], x, right=2.0))", np.array([0.7])),  # one knot
    (("polyval_adjoint",), "np.sin(np.polyval(x, AWAY))", RNG.standard_normal(4)),
    (("polyval_adjoint",), "np.sin(np.polyval(x[:3], x[3:]))", RNG.standard_normal(7)),
    (("polyval_adjoint",), "np.sin(np.polyval(x, AWAY[:2]))", RNG.standard_normal((3, 2))),
    (("block_adjoint",), "np.sin(W35 * np.block([[x, B23], [C15]]))", RNG.standard_normal((2, 2))),
    (("block_adjoint",), "np.sin(np.block([[[x]], [[2.0 * x]]]))", RNG.standard_normal((2, 2))),
    (("einsum_adjoint", "einsum_tangent"), "np.sin(np.einsum('ij,jk,k->i', x, B23, x[0] @ B23))",
     RNG.standard_normal((2, 2))),
    (("einsum_adjoint", "einsum_tangent"), "np.sin(np.einsum('ii,i->i', x, x[0]))", RNG.standard_normal((3, 3))),
    (("einsum_adjoint", "einsum_tangent"), "np.sin(np.einsum('ik,k->ik', x[:1], x[1]))", RNG.standard_normal((2, 3))),
    (("einsum_adjoint", "einsum_tangent"), "np.sin(np.einsum('...j,jk', x, B23))", RNG.standard_normal((3, 2))),
    (("einsum_adjoint", "einsum_tangent"), "np.sin(np.einsum('i,i,i,i,i,i,i,i,i->i', x, x, x, x, x, x, x, x, x))",
     0.5 * RNG.standard_normal(3)),  # 9 operands: past the ones passed one by one
    (("sequence_prod_adjoint",), "np.sin(math.prod(x))", np.array([0.5, -1.2, 0.8, 1.1])),
    (("sequence_prod_adjoint",), "np.sin(math.prod(x))", np.array([0.5, 0.0, 0.8, 1.1])),  # exact at a zero
    (("sequence_prod_adjoint",), "np.sin(math.prod([x[0], x[1], x[2]], start=x[3]))", np.array([0.5, -1.2, 0.8, 1.1])),
    (("sequence_prod_adjoint",), "np.sin(math.prod((x[0], 2.0, x[2])))", np.array([0.5, -1.2, 0.8])),
    (("dist_adjoint",), "np.sin(math.dist(x[:3], x[3:]))", np.array([0.5, -1.2, 0.8, 0.1, 0.2, 0.3])),
    (("dist_adjoint",), "np.sin(math.dist([x[0], x[1]], (x[2], 1.0)))", np.array([0.5, -1.2, 0.8])),
]


def _scalar(body):
    source = f"def scalar(x):\n    return np.sum({body})\n"
    filename = f"<numpy second derivative {next(_numbering)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    names = dict(NAMES)
    exec(compile(source, filename, "exec"), names)
    return names["scalar"]


@pytest.mark.parametrize("helpers,body,x", CASES, ids=[f"{c[0][0]}-{i}" for i, c in enumerate(CASES)])
def test_second_derivative_through_the_helper(helpers, body, x):
    scalar = _scalar(body)
    gradient = sourcediff.grad(scalar)
    gradient(x)
    stages = sourcediff.stages(scalar, x, mode="jvp")
    generated = gradient.source + stages["optimize"]
    for helper in helpers:
        assert f"sd.{helper}(" in generated, f"the case does not reach sd.{helper}"
    v = float(RNG.standard_normal()) if type(x) is float else RNG.standard_normal(np.shape(x))
    expected = fd_hvp(gradient, x, v)
    assert np.all(np.isfinite(expected))
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    for way in WAYS:
        got = np.asarray(hvp(way, scalar, x, v), dtype=float)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=way)


def _one_knot(fp, left, right):
    return np.sum(np.interp(np.array([-2.0, -1.0, 0.3]), np.array([-1.0]), fp, left=left, right=right))


def test_interp_with_one_knot_leaves_out_the_points_left_and_right_replace():
    """First order: with one knot, a point that ``left`` or ``right`` replaces has no derivative in ``fp``."""
    for left, right, expected in ((None, None, [3.0]), (None, 2.0, [2.0]), (2.0, None, [2.0]), (2.0, 2.0, [1.0])):
        got = sourcediff.grad(_one_knot)(np.array([0.7]), left, right)
        np.testing.assert_array_equal(got, expected)
