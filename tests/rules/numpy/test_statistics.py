"""Statistics (rules/numpy/statistics.py): nansum, nanmean, nanmax/nanmin, average, ptp, median, quantile,
percentile, cov, corrcoef.

Each function is differentiated end to end by ``sourcediff.grad`` and checked
against central finite differences and against ``jax.grad`` of the same
function with ``np`` bound to ``jax.numpy``; then the conventions at ties and
NaNs, against JAX where it has one and against the definition otherwise.
"""
import types

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads

jax = pytest.importorskip("jax")
jnp = jax.numpy


def with_jax(f):
    """``f`` with its global ``np`` replaced by ``jax.numpy``."""
    return types.FunctionType(f.__code__, {**f.__globals__, "np": jnp}, f.__name__, f.__defaults__)


def check(f, args, argnums=0, jax_too=True):
    """Finite differences, then ``jax.grad`` of the same code on jax.numpy."""
    check_grads(f, args, argnums)
    if jax_too:
        ours = sourcediff.grad(f, argnums=argnums)(*args)
        theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
        if isinstance(argnums, int):
            ours, theirs = (ours,), (theirs,)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o, np.asarray(t), rtol=1e-8, atol=1e-10)


def _with_nans(rng, shape):
    x = rng.standard_normal(shape)
    x.flat[2] = np.nan
    x.flat[-1] = np.nan
    return x


# -- NaN-aware reductions -------------------------------------------------------------------------------------

def f_nansum(x, w):
    return np.sum(w * np.nansum(x, axis=1) ** 2)


def f_nanmean(x, w):
    return np.sum(w * np.nanmean(x, axis=0, keepdims=True) ** 2)


def f_nanmax(x, w):
    return np.sum(w * np.nanmax(x, axis=1) ** 2)


def f_nanmin(x, w):
    return np.nanmin(x) * 3.0 + np.sum(w * np.nanmin(x, axis=0))


@pytest.mark.parametrize("f, w_shape", [(f_nansum, (3,)), (f_nanmean, (1, 4)), (f_nanmax, (3,)),
                                        (f_nanmin, (4,))], ids=lambda v: getattr(v, "__name__", ""))
def test_nan_reductions(f, w_shape, rng):
    x = _with_nans(rng, (3, 4))
    w = rng.uniform(0.5, 1.5, w_shape)
    check(f, [x, w])
    dx = sourcediff.grad(f)(x, w)
    assert np.all(dx[np.isnan(x)] == 0.0)  # NaNs do not reach the result
    assert np.all(np.isfinite(dx))


def nanmax_sum(x):
    return np.nanmax(x) * 2.0


def test_nanmax_shares_the_adjoint_evenly_among_ties_like_jax():
    x = np.array([1.0, 3.0, np.nan, 3.0, -2.0])
    dx = sourcediff.grad(nanmax_sum)(x)
    np.testing.assert_array_equal(dx, [0.0, 1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(dx, np.asarray(jax.grad(with_jax(nanmax_sum))(x)))


def nanmin_rows(x):
    return np.sum(np.nanmin(x, axis=1) * np.array([1.0, 10.0]))


def test_nanmin_ties_per_row():
    x = np.array([[0.5, 0.5, 0.5, np.nan], [2.0, np.nan, -1.0, -1.0]])
    np.testing.assert_allclose(sourcediff.grad(nanmin_rows)(x), [[1 / 3, 1 / 3, 1 / 3, 0.0], [0.0, 0.0, 5.0, 5.0]])


# -- ptp, average ---------------------------------------------------------------------------------------------

def f_ptp(x, w):
    return np.sum(w * np.ptp(x, axis=0) ** 2) + np.ptp(x)


def test_ptp(rng):
    check(f_ptp, [rng.standard_normal((3, 4)), rng.uniform(0.5, 1.5, 4)])


def ptp_all(x):
    return np.ptp(x)


def test_ptp_of_a_constant_slice_is_flat():
    # the max and the min are the same tied entries, each shared evenly: the adjoints cancel
    np.testing.assert_array_equal(sourcediff.grad(ptp_all)(np.full(4, 0.5)), np.zeros(4))
    x = np.array([1.0, 3.0, 1.0, 3.0])
    np.testing.assert_array_equal(sourcediff.grad(ptp_all)(x), np.asarray(jax.grad(with_jax(ptp_all))(x)))


def average_weighted(x, w):
    return np.sum(np.average(x, axis=1, weights=w) ** 2)


def average_full(x, w):
    return np.average(x, weights=w) ** 2


def average_plain(x):
    return np.sum(np.average(x, axis=0, keepdims=True) ** 3)


def test_average_in_both_arguments(rng):
    x = rng.standard_normal((3, 4))
    check(average_weighted, [x, rng.uniform(0.5, 1.5, 4)], argnums=(0, 1))
    check(average_full, [x, rng.uniform(0.5, 1.5, (3, 4))], argnums=(0, 1))
    check(average_plain, [x])


def average_returned(x):
    return np.average(x, returned=True)[0]


def test_average_returned_is_refused():
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(average_returned)(np.ones(3))


# -- order statistics -----------------------------------------------------------------------------------------

def median_all(x):
    return np.median(x) * 2.0


def median_rows(x, w):
    return np.sum(w * np.median(x, axis=1) ** 2)


def median_keep(x):
    return np.sum(np.median(x, axis=0, keepdims=True) ** 2)


def quantile_one(x):
    return np.quantile(x, 0.3) * 1.5


def quantile_many(x, w):
    return np.sum(w * np.quantile(x, np.array([0.1, 0.5, 0.85]), axis=0))


def percentile_list(x):
    return np.sum(np.percentile(x, [20.0, 90.0], axis=-1) ** 2)


@pytest.mark.parametrize("n", [5, 6])
def test_median(n, rng):
    check(median_all, [rng.standard_normal(n)])
    check(median_rows, [rng.standard_normal((3, n)), rng.uniform(0.5, 1.5, 3)])
    check(median_keep, [rng.standard_normal((n, 2))])


def test_quantile_and_percentile(rng):
    x = rng.standard_normal((7, 3))
    check(quantile_one, [rng.standard_normal(9)])
    check(quantile_many, [x, rng.uniform(0.5, 1.5, (3, 3))])
    check_grads(percentile_list, [x])  # jnp.percentile refuses a list q
    theirs = jax.grad(lambda v: jnp.sum(jnp.percentile(v, jnp.array([20.0, 90.0]), axis=-1) ** 2))(x)
    np.testing.assert_allclose(sourcediff.grad(percentile_list)(x), np.asarray(theirs), rtol=1e-10)


def test_quantile_weights_are_the_linear_interpolation_weights():
    # sorted [0, 1, 2, 3, 4]: q = 0.3 sits at position 1.2, so 0.8 s[1] + 0.2 s[2]
    x = np.array([4.0, 0.0, 2.0, 1.0, 3.0])
    np.testing.assert_allclose(sourcediff.grad(quantile_one)(x), 1.5 * np.array([0.0, 0.0, 0.2, 0.8, 0.0]))


def test_median_ties_go_to_the_stably_sorted_entry_like_jax():
    # the documented convention: the order statistic's adjoint goes to the entry a stable sort puts there
    for x, expected in [([1.0, 1.0, 1.0], [0.0, 2.0, 0.0]),  # the middle of three tied entries
                        ([2.0, 1.0, 1.0, 3.0], [1.0, 0.0, 1.0, 0.0]),  # sorted 1 (index 1), 1 (index 2), 2, 3
                        ([1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0])]:
        x = np.array(x)
        dx = sourcediff.grad(median_all)(x)
        np.testing.assert_array_equal(dx, expected)
        np.testing.assert_array_equal(dx, np.asarray(jax.grad(with_jax(median_all))(x)))


def quantile_nearest(x):
    return np.quantile(x, 0.3, method="nearest")


def test_quantile_other_methods_are_refused():
    with pytest.raises(sourcediff.SourcediffError, match="linear"):
        sourcediff.grad(quantile_nearest)(np.array([0.5, 1.0, 2.0]))


# -- covariance and correlation -------------------------------------------------------------------------------

def cov_rows(x, w):
    return np.sum(w * np.cov(x))


def cov_columns_biased(x, w):
    return np.sum(w * np.cov(x, rowvar=False, bias=True))


def cov_two(x, y):
    return np.sum(np.cov(x, y) ** 2)


def cov_ddof(x):
    return np.cov(x, ddof=0)


def corr_rows(x, w):
    return np.sum(w * np.corrcoef(x))


def corr_two(x, y):
    return np.corrcoef(x, y)[0, 1] * 2.0


def corr_columns(x, w):
    return np.sum(w * np.corrcoef(x, rowvar=False))


def test_cov(rng):
    w = rng.uniform(0.5, 1.5, (3, 3))
    check(cov_rows, [rng.standard_normal((3, 6)), w])
    check(cov_columns_biased, [rng.standard_normal((6, 3)), w])
    check(cov_two, [rng.standard_normal((2, 5)), rng.standard_normal(5)], argnums=(0, 1))
    check(cov_ddof, [rng.standard_normal(5)])


def test_corrcoef(rng):
    w = rng.uniform(0.5, 1.5, (3, 3))
    check(corr_rows, [rng.standard_normal((3, 6)), w])
    check(corr_columns, [rng.standard_normal((6, 3)), w])
    check(corr_two, [rng.standard_normal(6), rng.standard_normal(6)], argnums=(0, 1))


def test_correlation_is_invariant_to_shift_and_scale(rng):
    # corr(a x + b, y) == corr(x, y) for a > 0: the gradient in x is orthogonal to x and to the ones vector
    x, y = rng.standard_normal(6), rng.standard_normal(6)
    dx, _ = sourcediff.grad(corr_two, argnums=(0, 1))(x, y)
    assert abs(np.dot(dx, x)) < 1e-12 and abs(np.sum(dx)) < 1e-12


# -- NaN-aware var, std, prod, order statistics and cumulative functions (NumPy's breadth) --------------------

def f_nanvar(x, w):
    return np.sum(w * np.nanvar(x, axis=1, ddof=1) ** 2) + np.nanvar(x)


def f_nanstd(x, w):
    return np.sum(w * np.nanstd(x, axis=0, keepdims=True)) + np.nanstd(x) ** 2


def f_nanprod(x, w):
    return np.sum(w * np.nanprod(x, axis=1)) + np.nanprod(x[0])


def f_nanmedian(x, w):
    return np.sum(w * np.nanmedian(x, axis=1) ** 2) + np.nanmedian(x)


def f_nanquantile(x, w):
    return np.sum(w * np.nanquantile(x, 0.3, axis=1)) + np.sum(np.nanpercentile(x, np.array([20.0, 90.0]), axis=0) ** 2)


def f_nancumulative(x, w):
    return np.sum(w * np.nancumsum(x, axis=1) ** 2) + np.sum(np.nancumprod(x, axis=0))


@pytest.mark.parametrize("f, w_shape", [(f_nanvar, (3,)), (f_nanstd, (1, 4)), (f_nanprod, (3,)),
                                        (f_nanmedian, (3,)), (f_nanquantile, (3,)), (f_nancumulative, (3, 4))],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_more_nan_functions(f, w_shape, rng):
    x = _with_nans(rng, (3, 4))
    w = rng.uniform(0.5, 1.5, w_shape)
    check(f, [x, w])
    dx = sourcediff.grad(f)(x, w)
    assert np.all(dx[np.isnan(x)] == 0.0)
    assert np.all(np.isfinite(dx))


def nanmedian_all_nan_row(x):
    return np.nansum(np.nanmedian(x, axis=1))


def test_a_slice_of_nans_gets_no_gradient():
    import warnings

    x = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns about the slice of NaNs
        dx = sourcediff.grad(nanmedian_all_nan_row)(x)
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 0.0], [0.5, 0.0, 0.5]])


def nanstd_constant(x):
    return np.nanstd(x)


def test_nanstd_of_a_constant_has_slope_zero():
    np.testing.assert_array_equal(sourcediff.grad(nanstd_constant)(np.array([0.5, np.nan, 0.5])), np.zeros(3))
