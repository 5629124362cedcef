"""Rules for NumPy's statistics: nansum, nanmean, nanmax/nanmin, nanvar, nanstd, nanprod, nancumsum,
nancumprod, average, ptp, median, quantile, percentile (and their NaN-aware kin), cov and corrcoef.

``axis`` may be None, an int (negative too) or a tuple, and ``keepdims`` is
honoured. The helpers are in ``backends/numpy_statistics_ops.py``. Conventions:

* NaN entries get a zero adjoint in ``nansum``, ``nanmean``, ``nanmax`` and
  ``nanmin`` (they do not reach the result).
* ``nanmax``/``nanmin``, like ``max``/``min``, share the adjoint evenly among
  tied extrema (as JAX does); ``ptp`` is ``max - min``, each shared so, and a
  constant slice gets 0 everywhere.
* ``quantile``, ``percentile`` and ``median`` go through sorting, with the
  default ``method='linear'`` only (another method is refused when the
  derivative runs): a quantile is ``(1 - f) s[k] + f s[k + 1]`` of the sorted
  values ``s``, ``k + f = q (n - 1)``, and those two order statistics get the
  adjoint with those weights (half and half for the median of an even count).
  An order statistic's adjoint goes to the entry a stable sort puts at its
  position, as for ``np.sort`` and as JAX does: of tied entries only that one
  gets it (the median of ``[1, 1, 1]`` has gradient ``[0, 1, 0]``), not a share
  of it each. ``q`` carries no gradient; ``overwrite_input=`` and ``out=`` are
  not in the signatures.
* ``average`` is differentiable in ``a`` and ``weights`` (weights of ``a``'s
  shape, or 1-D along an int ``axis``); ``returned=`` is not in its signature.
* ``cov(m, y=None, rowvar=True, bias=False, ddof=None)`` and
  ``corrcoef(x, y=None, rowvar=True)`` are differentiable in ``m``/``x`` and
  ``y`` (no ``fweights``/``aweights``/``dtype``). The diagonal of a correlation
  matrix is 1 whatever the data, so it passes no adjoint.

* ``nanvar``, ``nanstd``, ``nanprod``, ``nanmedian``, ``nanquantile``,
  ``nanpercentile``, ``nancumsum`` and ``nancumprod`` are their plain
  counterparts over the entries that are not NaN (``nancumsum`` reads a NaN as
  0, ``nanprod`` and ``nancumprod`` as 1), with the same conventions; NaN
  entries get 0, and so does a slice of NaNs only (its result is NaN).
  ``nanstd`` has slope 0 where the spread is 0, as ``std``.

NumPy 2 has no ``x.ptp()`` method; the NaN functions, ``median`` and the
quantiles have no method either, so no method rule is declared here.
"""
import numpy as np

from ..registry import defrule, rename

_NAN_SUM = "a, axis=None, dtype=None, out=None, keepdims=False"
_NAN_EXT = "a, axis=None, out=None, keepdims=False"


def _reduction(primal, spec: str, adjoint: str) -> None:
    """A reduction that is not linear: its forward template sums ``t`` times its partials (the adjoint at
    ``g = 1``) over the reduced axes; each result element depends only on its own slice."""
    partial = rename(adjoint, {"g": "np.ones_like(ans)"})
    defrule(primal, spec, a=adjoint, jvp={"a": f"np.sum(t * {partial}, axis=axis, keepdims=keepdims)"},
            returns="new")


# nansum is linear in the entries that are not NaN.
defrule(np.nansum, _NAN_SUM, a="sd.nan_sum_adjoint(g, a, axis, keepdims)",
        jvp={"a": "np.sum(np.where(np.isnan(a), 0.0, t), axis=axis, dtype=dtype, keepdims=keepdims)"},
        returns="new")
_reduction(np.nanmean, _NAN_SUM, "sd.nan_mean_adjoint(g, a, axis, keepdims)")
for _f in (np.nanmax, np.nanmin):
    _reduction(_f, _NAN_EXT, "sd.nan_extremum_adjoint(g, a, ans, axis, keepdims)")
_reduction(np.ptp, _NAN_EXT, "sd.ptp_adjoint(g, a, axis, keepdims)")

# average(a, axis, weights) = sum(w a) / sum(w): linear in a; in w, d average = sum(dw (a - average)) / sum(w).
defrule(np.average, "a, axis=None, weights=None, *, keepdims=False",
        a="sd.average_adjoint_a(g, a, axis, weights, keepdims)",
        weights="sd.average_adjoint_weights(g, a, axis, weights, ans, keepdims)",
        jvp={"a": "np.average(t, axis=axis, weights=weights, keepdims=keepdims)",
             "weights": "sd.average_tangent_weights(t, a, axis, weights, ans, keepdims)"},
        returns="new")

# Order statistics, linear interpolation (the default method).
defrule(np.quantile, "a, q, axis=None, *, method='linear', keepdims=False",
        a="sd.quantile_adjoint(g, a, q, axis, method, keepdims)",
        jvp={"a": "sd.quantile_tangent(t, a, q, axis, method, keepdims)"}, returns="new")
defrule(np.percentile, "a, q, axis=None, *, method='linear', keepdims=False",
        a="sd.quantile_adjoint(g, a, np.asarray(q) / 100, axis, method, keepdims)",
        jvp={"a": "sd.quantile_tangent(t, a, np.asarray(q) / 100, axis, method, keepdims)"}, returns="new")
defrule(np.median, "a, axis=None, *, keepdims=False",
        a="sd.quantile_adjoint(g, a, 0.5, axis, 'linear', keepdims)",
        jvp={"a": "sd.quantile_tangent(t, a, 0.5, axis, 'linear', keepdims)"}, returns="new")

# Covariance and correlation of the rows (columns with rowvar=False) of m, with y's stacked below.
defrule(np.cov, "m, y=None, rowvar=True, bias=False, ddof=None",
        m="sd.cov_adjoint(g, m, y, rowvar, bias, ddof, 'm')",
        y="sd.cov_adjoint(g, m, y, rowvar, bias, ddof, 'y')",
        jvp={"m": "sd.cov_tangent(t, m, y, rowvar, bias, ddof, 'm')",
             "y": "sd.cov_tangent(t, m, y, rowvar, bias, ddof, 'y')"}, returns="new")
defrule(np.corrcoef, "x, y=None, rowvar=True",
        x="sd.corrcoef_adjoint(g, x, y, rowvar, 'x')", y="sd.corrcoef_adjoint(g, x, y, rowvar, 'y')",
        jvp={"x": "sd.corrcoef_tangent(t, x, y, rowvar, 'x')", "y": "sd.corrcoef_tangent(t, x, y, rowvar, 'y')"},
        returns="new")

# NaN-aware variance, standard deviation, product, order statistics and cumulative functions: those of the
# entries that are not NaN (NaNs read as 0 in nancumsum, as 1 in nanprod and nancumprod), NaNs get 0.
_NAN_VAR = "a, axis=None, dtype=None, *, ddof=0, keepdims=False"  # no out=: it would write into another array
_reduction(np.nanvar, _NAN_VAR, "sd.nan_var_adjoint(g, a, axis, ddof, keepdims)")
_reduction(np.nanstd, _NAN_VAR, "sd.nan_std_adjoint(g, a, ans, axis, ddof, keepdims)")
_reduction(np.nanprod, "a, axis=None, dtype=None, *, keepdims=False", "sd.nan_prod_adjoint(g, a, axis, keepdims)")
defrule(np.nanquantile, "a, q, axis=None, *, method='linear', keepdims=False",
        a="sd.nan_quantile_adjoint(g, a, q, axis, method, keepdims)",
        jvp={"a": "sd.nan_quantile_tangent(t, a, q, axis, method, keepdims)"}, returns="new")
defrule(np.nanpercentile, "a, q, axis=None, *, method='linear', keepdims=False",
        a="sd.nan_quantile_adjoint(g, a, np.asarray(q) / 100, axis, method, keepdims)",
        jvp={"a": "sd.nan_quantile_tangent(t, a, np.asarray(q) / 100, axis, method, keepdims)"}, returns="new")
defrule(np.nanmedian, "a, axis=None, *, keepdims=False",
        a="sd.nan_quantile_adjoint(g, a, 0.5, axis, 'linear', keepdims)",
        jvp={"a": "sd.nan_quantile_tangent(t, a, 0.5, axis, 'linear', keepdims)"}, returns="new")
defrule(np.nancumsum, "a, axis=None, dtype=None", a="sd.nan_cumsum_adjoint(g, a, axis)",
        jvp={"a": "np.cumsum(np.where(np.isnan(a), 0.0, t), axis=axis)"}, returns="new")
defrule(np.nancumprod, "a, axis=None, dtype=None", a="sd.nan_cumprod_adjoint(g, a, axis)",
        jvp={"a": "sd.nan_cumprod_tangent(t, a, axis)"}, returns="new")
