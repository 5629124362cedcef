"""Rules for ``scipy.stats``: the densities and distribution functions of ``norm``, ``t``, ``gamma``, ``beta``,
``multivariate_normal``, ``poisson`` and ``dirichlet``.

Imported by the registry the first time it looks up a function of ``scipy.stats``
(``registry.load_rules_for``), never by ``import sourcediff``. The helpers are in
``backends/scipy_stats_ops.py``.

``scipy.stats.norm`` is an instance of a distribution class, and
``scipy.stats.norm.logpdf`` a method bound to it: each read of the attribute
makes a new bound method, but bound methods of the same function and instance
are equal and hash alike, so the rules are keyed by ``stats.norm.logpdf`` itself.
The parse stage resolves ``stats.norm.logpdf(x, loc=m, scale=s)`` (or
``scipy.stats.norm.logpdf``, or ``norm.logpdf`` after ``from scipy.stats import
norm``) to that bound method; its ``__module__``
(``scipy.stats._distn_infrastructure``) sends the lookup here. Each rule spells
the distribution's own parameters (``x, df, loc=0, scale=1`` for ``t``), so
positional and keyword calls bind as in SciPy; a frozen distribution
(``stats.norm(m, s).logpdf(x)``) has no rule and is refused.

Derivatives, with ``z = (x - loc) / scale`` for the location-scale families:

* ``logpdf``: the score of each family (``norm``: ``-z / scale`` in ``x``);
  ``loc`` has the opposite slope of ``x``, ``scale`` ``-z`` times it minus
  ``1 / scale``. Shape parameters: ``t`` in ``df`` (digammas), ``gamma`` in
  ``a`` (``log z - psi(a)``), ``beta`` in ``a`` and ``b``. ``pdf``: ``pdf`` times
  the score. Outside the support (``gamma`` below ``loc``, ``beta`` outside
  ``(loc, loc + scale)``) the log density is the constant ``-inf`` and every slope is 0.
* ``cdf``, ``sf`` (``1 - cdf``), ``logcdf``, ``logsf``: in ``x``, ``loc`` and
  ``scale`` through the density (``cdf' = pdf``, ``logcdf' = pdf / cdf``, 0 where
  both vanish). Not in the shape parameters: the ``t`` cdf in ``df``, the
  ``gamma`` cdf in ``a`` and the ``beta`` cdf in ``a`` and ``b`` have no closed
  form (a derivative of the regularized incomplete gamma or beta function in
  its parameter), so those parameters have no template and a call that
  differentiates one is refused.
* ``multivariate_normal.logpdf``/``pdf(x, mean=None, cov=1, allow_singular)``:
  with ``s = cov^-1 (x - mean)``, ``-s`` in ``x``, ``s`` summed over the points in
  ``mean``, ``(s s^T - cov^-1) / 2`` summed in ``cov``. SciPy reads the lower
  triangle of a 2-D ``cov`` (``eigh(cov, lower=True)``), so that is where its
  adjoint lies (the lower part of a symmetric gradient counted twice); a scalar
  or 1-D ``cov`` (``cov * I``, ``diag(cov)``) gets the trace or the diagonal. A
  singular covariance and ``Covariance`` objects are refused.
* ``poisson.logpmf``/``pmf(k, mu, loc=0)``: in ``mu`` only (``k`` and ``loc``
  are counts), ``k / mu - 1``. ``cdf``/``sf``/``logcdf``/``logsf`` in ``mu``:
  ``d cdf / d mu = -pmf(floor(k - loc), mu)``.
* ``dirichlet.logpdf``/``pdf(x, alpha)``: ``x`` holds the components along its
  first axis, all ``K`` or the first ``K - 1`` (the last is then ``1 - sum``).
  In ``alpha``, ``log x_i - psi(alpha_i) + psi(sum alpha)``. In ``x``,
  ``(alpha_i - 1) / x_i``; with ``K - 1`` components the implied last one
  contributes ``-(alpha_K - 1) / x_K``. With all ``K`` components SciPy refuses
  any ``x`` off the simplex, so only the derivative along it is observable:
  the slope given is the formula's (JAX's), whose projection on the simplex is right.

Not covered (refused as functions without a rule): the other distributions and
methods (``ppf``, ``isf``, ``entropy``, ``rvs`` ...), frozen distributions.
"""
from __future__ import annotations

import scipy.stats as stats

from ..registry import defpartials, defrule, rename

# -- location-scale families ----------------------------------------------------------------------------------


def _distribution_functions(distribution, name: str, shape: str) -> None:
    """``cdf``, ``sf``, ``logcdf`` and ``logsf`` in ``x``, ``loc`` and ``scale``, through the density: the slope of
    ``cdf`` in ``x`` is the density, of ``logcdf`` the density over the cdf; ``loc`` has the opposite slope and
    ``scale`` ``-(x - loc) / scale`` times it. ``shape`` (the distribution's own parameters) gets none."""
    params = f"{shape}, " if shape else ""
    log_density = f"sd.distribution_logpdf({name!r}, x, {params}loc, scale)"
    for method, sign, slope in (("cdf", "", f"np.exp({log_density})"), ("sf", "-", f"np.exp({log_density})"),
                                ("logcdf", "", f"sd.density_ratio({log_density}, ans)"),
                                ("logsf", "-", f"sd.density_ratio({log_density}, ans)")):
        opposite = "" if sign else "-"
        defpartials(getattr(distribution, method), f"x, {params}loc=0, scale=1", unbroadcast=True, returns="new",
                    x=f"{sign}{slope}", loc=f"{opposite}{slope}", scale=f"{opposite}{slope} * (x - loc) / scale")


def _densities(distribution, shape: str, partials: dict[str, str]) -> None:
    """``logpdf`` by its partials, ``pdf`` by ``ans`` times them."""
    params = f"{shape}, " if shape else ""
    spec = f"x, {params}loc=0, scale=1"
    defpartials(distribution.logpdf, spec, unbroadcast=True, returns="new", **partials)
    defpartials(distribution.pdf, spec, unbroadcast=True, returns="new",
                **{p: f"ans * ({d})" for p, d in partials.items()})


_densities(stats.norm, "", {"x": "-(x - loc) / scale**2", "loc": "(x - loc) / scale**2",
                            "scale": "((x - loc)**2 / scale**2 - 1) / scale"})
_distribution_functions(stats.norm, "norm", "")

_T_X = "-(df + 1) * (x - loc) / (df * scale**2 + (x - loc)**2)"
_densities(stats.t, "df", {"x": _T_X, "loc": f"-{_T_X}",
                           "scale": "((df + 1) * (x - loc)**2 / (df * scale**2 + (x - loc)**2) - 1) / scale",
                           "df": "sd.t_score_df(x, df, loc, scale)"})
_distribution_functions(stats.t, "t", "df")

_densities(stats.gamma, "a", {p: f"sd.gamma_score(x, a, loc, scale, {p!r})" for p in ("x", "a", "loc", "scale")})
_distribution_functions(stats.gamma, "gamma", "a")

_densities(stats.beta, "a, b",
           {p: f"sd.beta_score(x, a, b, loc, scale, {p!r})" for p in ("x", "a", "b", "loc", "scale")})
_distribution_functions(stats.beta, "beta", "a, b")

# -- multivariate normal and Dirichlet ----------------------------------------------------------------------------

_MVN = {p: f"sd.mvn_logpdf_adjoint(g, x, mean, cov, allow_singular, {p!r})" for p in ("x", "mean", "cov")}
_MVN_T = {p: f"sd.mvn_logpdf_tangent(t, x, mean, cov, allow_singular, {p!r})" for p in ("x", "mean", "cov")}
defrule(stats.multivariate_normal.logpdf, "x, mean=None, cov=1, allow_singular=False", returns="new",
        jvp=_MVN_T, **_MVN)
defrule(stats.multivariate_normal.pdf, "x, mean=None, cov=1, allow_singular=False", returns="new",
        jvp={p: f"ans * {text}" for p, text in _MVN_T.items()},
        **{p: rename(text, {"g": "g * ans"}) for p, text in _MVN.items()})

_DIRICHLET = {p: f"sd.dirichlet_logpdf_adjoint(g, x, alpha, {p!r})" for p in ("x", "alpha")}
_DIRICHLET_T = {p: f"sd.dirichlet_logpdf_tangent(t, x, alpha, {p!r})" for p in ("x", "alpha")}
defrule(stats.dirichlet.logpdf, "x, alpha", returns="new", jvp=_DIRICHLET_T, **_DIRICHLET)
defrule(stats.dirichlet.pdf, "x, alpha", returns="new", jvp={p: f"ans * {text}" for p, text in _DIRICHLET_T.items()},
        **{p: rename(text, {"g": "g * ans"}) for p, text in _DIRICHLET.items()})

# -- Poisson, in mu -----------------------------------------------------------------------------------------------

defpartials(stats.poisson.logpmf, "k, mu, loc=0", unbroadcast=True, returns="new", mu="sd.poisson_score(k, mu, loc)")
defpartials(stats.poisson.pmf, "k, mu, loc=0", unbroadcast=True, returns="new",
            mu="ans * sd.poisson_score(k, mu, loc)")
_FLOOR = "sd.poisson_floor_logpmf(k, mu, loc)"
for _method, _slope in (("cdf", f"-np.exp({_FLOOR})"), ("sf", f"np.exp({_FLOOR})"),
                        ("logcdf", f"-sd.density_ratio({_FLOOR}, ans)"), ("logsf", f"sd.density_ratio({_FLOOR}, ans)")):
    defpartials(getattr(stats.poisson, _method), "k, mu, loc=0", unbroadcast=True, returns="new", mu=_slope)
