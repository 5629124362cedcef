"""Rules for ``scipy.special``: log-sum-exp and softmax, the logistic functions, gamma and beta, the error
functions, entropies, Bessel functions and zeta.

Imported by the registry the first time it looks up a ``scipy.special`` function
(``registry.load_rules_for``), never by ``import sourcediff``; SciPy is loaded
by then. The helpers are in ``backends/scipy_special_ops.py``.

Derivatives, from the recurrences and series of each family:

* ``logsumexp(a, axis, b, keepdims)``: slope ``b exp(a - ans)`` in ``a`` and
  ``exp(a - ans)`` in ``b`` (``b`` broadcasts against ``a``). ``return_sign=``
  is not in the signature, so such a call is refused. ``softmax`` and
  ``log_softmax`` over ``axis`` (None: every entry), by their Jacobians
  ``diag(s) - s s^T`` and ``I - 1 s^T``.
* ``expit`` ``ans (1 - ans)``; ``logit`` ``1 / (x (1 - x))``.
* ``gammaln`` (``log|Gamma|``) ``digamma``; ``gamma`` ``ans digamma``;
  ``digamma`` (``psi``) ``polygamma(1, x)``; ``polygamma(n, x)``
  ``polygamma(n + 1, x)``, not differentiable in the integer ``n``; ``beta``
  and ``betaln`` by ``digamma(a) - digamma(a + b)``. At the poles
  (``x = 0, -1, -2 ...``) these give ``inf`` or nan, as the functions do.
* ``erf``/``erfc`` ``+-2 exp(-x**2) / sqrt(pi)``; ``erfinv`` and ``erfcinv``
  ``+-sqrt(pi) exp(ans**2) / 2`` (``inf`` at ``+-1``, and at 0 and 2).
* ``xlogy(x, y)`` ``log(y)`` in ``x`` and ``x / y`` in ``y``; ``xlog1py``
  ``log1p(y)`` and ``x / (1 + y)``. Where ``x == 0`` the function is 0 for
  every ``y``, so the slope in ``y`` is 0 there (``sd.xdivy``), even at
  ``y == 0``; the slope in ``x`` there is ``log(y)`` (``-inf`` at ``y == 0``).
* ``entr(x) = -x log x``: ``-(1 + log x)``, ``+inf`` at 0 (the one-sided
  slope), nan below 0. ``rel_entr(x, y) = x log(x / y)``: ``1 + log(x / y)`` in
  ``x`` (``-inf`` at ``x == 0``) and ``-x / y`` in ``y`` (0 where ``x == 0``).
* Bessel functions, in ``x`` only: the order ``v`` has no template, so a
  ``v`` that depends on the inputs is refused. ``I_v' = (I_{v-1} + I_{v+1}) / 2``,
  ``J_v' = (J_{v-1} - J_{v+1}) / 2`` (``Y_v`` alike), ``K_v' = -(K_{v-1} + K_{v+1}) / 2``;
  ``i0' = i1``, ``i1' = (i0 + I_2) / 2``. The scaled ones, ``ive = iv exp(-|x|)``,
  add ``-sign(x) ive``: at ``x == 0``, where ``|x|`` has a kink, they take
  ``sign(0) = 0``, the mean of the two one-sided slopes.
* ``zeta(x, q=None)`` (Hurwitz; ``q = None`` is Riemann's): in ``q``
  ``-x zeta(x + 1, q)``; in ``x`` ``-sum_k log(k + q) (k + q)**-x``, by
  Euler-Maclaurin (``sd.zeta_slope``); ``-inf`` at the pole ``x == 1``.
"""
from __future__ import annotations

import scipy.special as special

from ..registry import defnondiff, defpartials, defrule

# -- log-sum-exp and softmax ------------------------------------------------------------------------------

defrule(special.logsumexp, "a, axis=None, b=None, keepdims=False",
        a="sd.logsumexp_adjoint(g, a, b, ans, axis, keepdims, 'a')",
        b="sd.logsumexp_adjoint(g, a, b, ans, axis, keepdims, 'b')",
        jvp={"a": "sd.logsumexp_tangent(t, a, b, ans, axis, keepdims, 'a')",
             "b": "sd.logsumexp_tangent(t, a, b, ans, axis, keepdims, 'b')"},
        returns="new")
defrule(special.softmax, "x, axis=None",
        x="ans * (g - np.sum(g * ans, axis=axis, keepdims=True))",
        jvp={"x": "ans * (t - np.sum(t * ans, axis=axis, keepdims=True))"}, returns="new")
defrule(special.log_softmax, "x, axis=None",
        x="g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)",
        jvp={"x": "t - np.sum(np.exp(ans) * t, axis=axis, keepdims=True)"}, returns="new")

# -- logistic ---------------------------------------------------------------------------------------------

defpartials(special.expit, "x", x="ans * (1 - ans)")
defpartials(special.logit, "x", x="1 / (x * (1 - x))")

# -- gamma, beta and their logarithms ---------------------------------------------------------------------

defpartials(special.gammaln, "x", x="sd.polygamma(0, x)")
defpartials(special.gamma, "x", x="ans * sd.polygamma(0, x)")
defpartials(special.digamma, "x", x="sd.polygamma(1, x)")  # special.psi is the same ufunc
defpartials(special.polygamma, "n, x", unbroadcast=True, x="sd.polygamma(n + 1, x)", returns="new")
defpartials(special.beta, "a, b", unbroadcast=True,
            a="ans * (sd.polygamma(0, a) - sd.polygamma(0, a + b))",
            b="ans * (sd.polygamma(0, b) - sd.polygamma(0, a + b))")
defpartials(special.betaln, "a, b", unbroadcast=True,
            a="sd.polygamma(0, a) - sd.polygamma(0, a + b)",
            b="sd.polygamma(0, b) - sd.polygamma(0, a + b)")

# -- error functions --------------------------------------------------------------------------------------

defpartials(special.erf, "x", x="2 / math.sqrt(math.pi) * np.exp(-x**2)")
defpartials(special.erfc, "x", x="-2 / math.sqrt(math.pi) * np.exp(-x**2)")
defpartials(special.erfinv, "x", x="math.sqrt(math.pi) / 2 * np.exp(ans**2)")
defpartials(special.erfcinv, "x", x="-math.sqrt(math.pi) / 2 * np.exp(ans**2)")

# -- x log y and the entropies ----------------------------------------------------------------------------

defpartials(special.xlogy, "x, y", unbroadcast=True, x="np.log(y)", y="sd.xdivy(x, y)")
defpartials(special.xlog1py, "x, y", unbroadcast=True, x="np.log1p(y)", y="sd.xdivy(x, 1 + y)")
defpartials(special.entr, "x", x="-1 - np.log(x)")
defpartials(special.rel_entr, "x, y", unbroadcast=True, x="1 + np.log(x / y)", y="-sd.xdivy(x, y)")

# -- Bessel functions, in x ---------------------------------------------------------------------------------

defpartials(special.i0, "x", x="sd.bessel_iv(1, x)")
defpartials(special.i1, "x", x="(sd.bessel_iv(0, x) + sd.bessel_iv(2, x)) / 2")
defpartials(special.i0e, "x", x="sd.bessel_ive(1, x) - np.sign(x) * ans")
defpartials(special.i1e, "x", x="(sd.bessel_ive(0, x) + sd.bessel_ive(2, x)) / 2 - np.sign(x) * ans")
defpartials(special.iv, "v, x", unbroadcast=True, x="(sd.bessel_iv(v - 1, x) + sd.bessel_iv(v + 1, x)) / 2")
defpartials(special.ive, "v, x", unbroadcast=True,
            x="(sd.bessel_ive(v - 1, x) + sd.bessel_ive(v + 1, x)) / 2 - np.sign(x) * ans")
defpartials(special.jv, "v, x", unbroadcast=True, x="(sd.bessel_jv(v - 1, x) - sd.bessel_jv(v + 1, x)) / 2")
defpartials(special.yv, "v, x", unbroadcast=True, x="(sd.bessel_yv(v - 1, x) - sd.bessel_yv(v + 1, x)) / 2")
defpartials(special.kv, "v, x", unbroadcast=True, x="-(sd.bessel_kv(v - 1, x) + sd.bessel_kv(v + 1, x)) / 2")

# -- zeta -------------------------------------------------------------------------------------------------

defpartials(special.zeta, "x, q=None", unbroadcast=True, x="sd.zeta_slope(x, q)",
            q="-x * sd.hurwitz_zeta(x + 1, q)", returns="new")

# -- incomplete gamma and beta, in x only -----------------------------------------------------------------------------
# Their slopes in the parameters a and b have no closed form: no template, so a call that differentiates one is refused.

defpartials(special.betainc, "a, b, x", unbroadcast=True, x="sd.betainc_slope(a, b, x)", returns="new")
defpartials(special.gammainc, "a, x", unbroadcast=True, x="sd.gammainc_slope(a, x)", returns="new")
defpartials(special.gammaincc, "a, x", unbroadcast=True, x="-sd.gammainc_slope(a, x)", returns="new")
defnondiff(special.gammasgn, "the sign of the gamma function: piecewise constant", returns="new")
defpartials(special.multigammaln, "a, d", a="sd.multigammaln_slope(a, d)", returns="new")
defpartials(special.rgamma, "x", x="sd.rgamma_slope(x)")

# -- exponentials, logarithms and roots -------------------------------------------------------------------------------

defpartials(special.expm1, "x", x="ans + 1")
defpartials(special.log1p, "x", x="1 / (1 + x)")
defpartials(special.exp2, "x", x="ans * math.log(2)")
defpartials(special.exp10, "x", x="ans * math.log(10)")
defpartials(special.cbrt, "x", x="1 / (3 * ans**2)")
defpartials(special.softplus, "x", x="sd.expit(x)", returns="new")
defpartials(special.log_expit, "x", x="sd.expit(-x)")

# -- error functions and the normal distribution ----------------------------------------------------------------------

defpartials(special.erfcx, "x", x="2 * x * ans - 2 / math.sqrt(math.pi)")
defpartials(special.erfi, "x", x="2 / math.sqrt(math.pi) * np.exp(x**2)")
defpartials(special.dawsn, "x", x="1 - 2 * x * ans")
defpartials(special.ndtr, "x", x="np.exp(-x**2 / 2) / math.sqrt(2 * math.pi)")
defpartials(special.ndtri, "x", x="math.sqrt(2 * math.pi) * np.exp(ans**2 / 2)")
defpartials(special.log_ndtr, "x", x="np.exp(-x**2 / 2 - ans) / math.sqrt(2 * math.pi)")

# -- more Bessel functions, in x --------------------------------------------------------------------------------------

defpartials(special.j0, "x", x="-sd.bessel_jv(1, x)")
defpartials(special.j1, "x", x="(sd.bessel_jv(0, x) - sd.bessel_jv(2, x)) / 2")
defpartials(special.y0, "x", x="-sd.bessel_yv(1, x)")
defpartials(special.y1, "x", x="(sd.bessel_yv(0, x) - sd.bessel_yv(2, x)) / 2")
defpartials(special.yn, "n, x", unbroadcast=True, x="(sd.bessel_yv(n - 1, x) - sd.bessel_yv(n + 1, x)) / 2")
defpartials(special.k0, "x", x="-sd.bessel_kv(1, x)")
defpartials(special.k1, "x", x="-(sd.bessel_kv(0, x) + sd.bessel_kv(2, x)) / 2")
defpartials(special.k0e, "x", x="ans - sd.bessel_kve(1, x)")
defpartials(special.k1e, "x", x="ans - (sd.bessel_kve(0, x) + sd.bessel_kve(2, x)) / 2")
defpartials(special.kve, "v, x", unbroadcast=True, x="ans - (sd.bessel_kve(v - 1, x) + sd.bessel_kve(v + 1, x)) / 2")
# For real x, jve and yve scale by exp(-|imag(x)|) = 1: the slopes of jv and yv.
defpartials(special.jve, "v, x", unbroadcast=True, x="(sd.bessel_jv(v - 1, x) - sd.bessel_jv(v + 1, x)) / 2")
defpartials(special.yve, "v, x", unbroadcast=True, x="(sd.bessel_yv(v - 1, x) - sd.bessel_yv(v + 1, x)) / 2")

# -- Box-Cox, Huber, divergences, dilogarithm, Pochhammer, binomial ---------------------------------------------------

defpartials(special.boxcox, "x, lmbda", unbroadcast=True, x="np.exp((lmbda - 1) * np.log(x))",
            lmbda="sd.boxcox_lmbda_slope(np.log(x), lmbda)")
defpartials(special.boxcox1p, "x, lmbda", unbroadcast=True, x="np.exp((lmbda - 1) * np.log1p(x))",
            lmbda="sd.boxcox_lmbda_slope(np.log1p(x), lmbda)")
defpartials(special.huber, "delta, r", unbroadcast=True, r="np.where(np.abs(r) <= delta, r, delta * np.sign(r))",
            delta="np.where(np.abs(r) <= delta, 0.0, np.abs(r) - delta)")
defpartials(special.pseudo_huber, "delta, r", unbroadcast=True, r="r / np.sqrt(1 + (r / delta)**2)",
            delta="2 * ans / delta - r**2 / (delta * np.sqrt(1 + (r / delta)**2))")
defpartials(special.kl_div, "x, y", unbroadcast=True, x="np.log(x / y)", y="1 - sd.xdivy(x, y)")
defpartials(special.spence, "z", z="sd.spence_slope(z)")
defpartials(special.poch, "z, m", unbroadcast=True, z="ans * (sd.polygamma(0, z + m) - sd.polygamma(0, z))",
            m="ans * sd.polygamma(0, z + m)")
defpartials(special.binom, "n, k", unbroadcast=True, n="ans * (sd.polygamma(0, n + 1) - sd.polygamma(0, n - k + 1))",
            k="ans * (sd.polygamma(0, n - k + 1) - sd.polygamma(0, k + 1))")
