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

from ..registry import defpartials, defrule

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
