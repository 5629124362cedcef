"""scipy.stats end to end: ``sourcediff.grad`` of functions that call distribution methods, against finite
differences and ``jax.grad`` of the same function on ``jax.scipy.stats`` (where JAX has the method); how such a
call resolves (a bound method, in every spelling); the refused parameters; and the forward templates against
``jax.jvp``.
"""
import pathlib
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import sourcediff
from sourcediff.rules import registry
from sourcediff.testing import check_grads

stats = pytest.importorskip("scipy.stats")
import scipy  # noqa: E402
from scipy.stats import norm  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]


def with_jax(f):
    """``f`` with its globals ``np``, ``stats`` and ``norm`` replaced by JAX's."""
    jax = pytest.importorskip("jax")
    import jax.scipy.stats

    return types.FunctionType(f.__code__, {**f.__globals__, "np": jax.numpy, "stats": jax.scipy.stats,
                                           "norm": jax.scipy.stats.norm}, f.__name__, f.__defaults__)


def check(f, args, argnums=0, jax_too=True):
    check_grads(f, args, argnums)
    if jax_too:
        jax = pytest.importorskip("jax")
        ours = sourcediff.grad(f, argnums=argnums)(*args)
        theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
        if isinstance(argnums, int):
            ours, theirs = (ours,), (theirs,)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o, np.asarray(t), rtol=1e-7, atol=1e-9)


@pytest.fixture
def rng():
    return np.random.default_rng(8)


# -- how a call resolves -----------------------------------------------------------------------------------------

def test_a_distribution_method_is_a_bound_method_and_equal_ones_find_the_rule():
    first, second = stats.norm.logpdf, stats.norm.logpdf
    assert first is not second and first == second and hash(first) == hash(second)
    assert first.__self__ is stats.norm and first.__module__.startswith("scipy.stats")
    assert registry.lookup(second) is registry.lookup(first) is not None
    assert registry.lookup(stats.t.logpdf) is not registry.lookup(first)  # the same function, another instance


def f_keywords(x, m, s):
    return np.sum(stats.norm.logpdf(x, loc=m, scale=s))


def f_positional(x, m, s):
    return np.sum(stats.norm.logpdf(x, m, s) + stats.norm.cdf(x, m) * s)


def f_imported(x, m, s):
    return np.sum(norm.pdf(x, scale=s, loc=m)) + np.sum(scipy.stats.norm.logcdf(x, m, s))


@pytest.mark.parametrize("f", [f_keywords, f_positional, f_imported])
def test_norm_in_every_spelling(f, rng):
    check(f, (rng.standard_normal(4), 0.3, 1.4), argnums=(0, 1, 2), jax_too=f is not f_imported)
    check(f, (rng.standard_normal(4), rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)), argnums=(0, 1, 2),
          jax_too=f is not f_imported)


def test_the_generated_code_calls_the_method_as_written(rng):
    source = sourcediff.grad(f_keywords, argnums=(0, 1, 2)).source
    assert "stats.norm.logpdf(x, loc=m, scale=s)" in source


def test_norm_distribution_functions(rng):
    def f(x, m, s):
        return np.sum(stats.norm.cdf(x, m, s) + stats.norm.sf(x, m, s) ** 2 + stats.norm.logcdf(x, m, s)
                      + stats.norm.logsf(x, m, s))

    check(f, (rng.standard_normal(5) * 3, 0.2, 1.3), argnums=(0, 1, 2))


def test_norm_logcdf_far_in_the_tail():
    """The slope of logcdf is the density over the cdf: finite where both underflow."""
    g = sourcediff.grad(lambda x: np.sum(stats.norm.logcdf(x)))(np.array([-40.0, -5.0, 0.0]))
    np.testing.assert_allclose(g, [40.02497, 5.186503, 0.7978846], rtol=1e-5)


# -- t, gamma, beta --------------------------------------------------------------------------------------------------

def f_t(x, df, m, s):
    return np.sum(stats.t.logpdf(x, df, m, s) + stats.t.pdf(x, df, loc=m, scale=s))


def test_t(rng):
    check(f_t, (rng.standard_normal(4) * 2, 3.5, 0.2, 1.3), argnums=(0, 1, 2, 3))


def test_t_cdf_in_x(rng):
    def f(x, m, s):
        return np.sum(stats.t.cdf(x, 4.0, m, s) + stats.t.logsf(x, 4.0, m, s))

    check(f, (rng.standard_normal(4) * 2, 0.2, 1.3), argnums=(0, 1, 2), jax_too=False)  # JAX's t has no cdf


def f_gamma(x, a, s):
    return np.sum(stats.gamma.logpdf(x, a, scale=s) + stats.gamma.pdf(x, a, 0.1, s) + stats.gamma.cdf(x, a, scale=s)
                  + stats.gamma.logsf(x, a, scale=s))


def test_gamma(rng):
    def g(x, a, s):
        return np.sum(stats.gamma.logpdf(x, a, scale=s) + stats.gamma.pdf(x, a, 0.1, s))

    check(g, (rng.uniform(0.5, 4.0, 4), 2.5, 1.2), argnums=(0, 1, 2))
    check(f_gamma, (rng.uniform(0.5, 4.0, 4), 2.5, 1.2), argnums=(0, 2))


def test_gamma_outside_its_support(rng):
    """Below ``loc`` the density is 0 and its log ``-inf``, constants: every slope is 0, as in JAX."""
    def f(x, a):
        return np.sum(stats.gamma.pdf(x, a) + stats.gamma.cdf(x, a) * 2)

    x = np.array([-1.0, 0.5, 2.0])
    g = sourcediff.grad(f)(x, 2.5)
    assert g[0] == 0.0
    check(f, (x, 2.5), argnums=0)


def f_beta(x, a, b):
    return np.sum(stats.beta.logpdf(x, a, b) + stats.beta.pdf(x, a, b, scale=1.1) + stats.beta.cdf(x, a, b))


def test_beta(rng):
    check(f_beta, (rng.uniform(0.1, 0.9, 4), 2.5, 1.5), argnums=0)

    def g(x, a, b):
        return np.sum(stats.beta.logpdf(x, a, b) + stats.beta.pdf(x, a, b, scale=1.1))

    check(g, (rng.uniform(0.1, 0.9, 4), 2.5, 1.5), argnums=(0, 1, 2))


@pytest.mark.parametrize("f, args, param", [
    (lambda x, df: np.sum(stats.t.cdf(x, df)), (np.array([0.5, 1.0]), 3.0), "'df'"),
    (lambda x, a: np.sum(stats.gamma.cdf(x, a)), (np.array([0.5, 1.0]), 3.0), "'a'"),
    (lambda x, a: np.sum(stats.beta.logcdf(x, a, 2.0)), (np.array([0.5, 0.7]), 3.0), "'a'"),
    (lambda k, mu: np.sum(stats.poisson.logpmf(k, mu)), (np.array([1.0, 2.0]), 3.0), "'k'"),
], ids=["t.cdf in df", "gamma.cdf in a", "beta.logcdf in a", "poisson.logpmf in k"])
def test_a_parameter_without_an_accurate_derivative_is_refused(f, args, param):
    with pytest.raises(sourcediff.MissingRuleError, match=param):
        sourcediff.grad(f, argnums=1 if param != "'k'" else 0)(*args)


def test_a_frozen_distribution_is_refused(rng):
    def f(x, m):
        return np.sum(stats.norm(m, 1.0).logpdf(x))

    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(f, argnums=(0, 1))(rng.standard_normal(3), 0.5)


# -- multivariate normal, Poisson, Dirichlet ---------------------------------------------------------------------

def f_mvn(x, mean, factor):
    cov = factor @ factor.T + np.eye(3)
    return np.sum(stats.multivariate_normal.logpdf(x, mean, cov)) + stats.multivariate_normal.pdf(x[0], mean, cov)


def test_multivariate_normal(rng):
    check(f_mvn, (rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((3, 3)) * 0.5),
          argnums=(0, 1, 2))


def test_multivariate_normal_reads_the_lower_triangle_of_cov(rng):
    def f(x, cov):
        return np.sum(stats.multivariate_normal.logpdf(x, cov=cov))

    x = rng.standard_normal((4, 3))
    cov = np.eye(3) * 1.5 + np.tril(rng.standard_normal((3, 3)) * 0.2, -1) + np.triu(rng.standard_normal((3, 3)), 1)
    check(f, (x, cov), argnums=(0, 1), jax_too=False)
    assert np.all(np.triu(sourcediff.grad(f, argnums=1)(x, cov), 1) == 0)


def test_multivariate_normal_with_a_diagonal_or_scalar_cov(rng):
    def f(x, mean, d, s):
        return np.sum(stats.multivariate_normal.logpdf(x, mean, d)) + np.sum(stats.multivariate_normal.pdf(x, mean, s))

    check(f, (rng.standard_normal((4, 3)), rng.standard_normal(3), rng.uniform(0.5, 2.0, 3), 1.3),
          argnums=(0, 1, 2, 3), jax_too=False)


def test_a_singular_covariance_is_refused(rng):
    def f(x, cov):
        return np.sum(stats.multivariate_normal.logpdf(x, cov=cov, allow_singular=True))

    with pytest.raises(sourcediff.SourcediffError, match="singular"):
        sourcediff.grad(f, argnums=1)(rng.standard_normal(3), np.diag([1.0, 1.0, 0.0]))


def f_poisson(mu):
    k = np.array([0, 1, 3, 6])
    return np.sum(stats.poisson.logpmf(k, mu) + stats.poisson.pmf(k, mu) + stats.poisson.cdf(k, mu))


def test_poisson_in_mu(rng):
    check(f_poisson, (rng.uniform(0.5, 4.0, 4),))

    def g(mu):
        k = np.array([0.0, 1.5, 3.0, 6.0])
        return np.sum(stats.poisson.logcdf(k, mu) + stats.poisson.sf(k, mu) + stats.poisson.logsf(k, mu))

    check(g, (rng.uniform(0.5, 4.0, 4),), jax_too=False)  # JAX's poisson has no sf


def f_dirichlet(z, alpha):
    x = np.exp(z) / np.sum(np.exp(z))  # on the simplex: all K components
    return stats.dirichlet.logpdf(x, alpha) + stats.dirichlet.pdf(x, alpha)


def test_dirichlet(rng):
    check(f_dirichlet, (rng.standard_normal(3) * 0.3, rng.uniform(0.5, 3.0, 3)), argnums=(0, 1))


def test_dirichlet_with_the_last_component_implied(rng):
    def f(x, alpha):
        return np.sum(stats.dirichlet.logpdf(x, alpha) * 2.0) + np.sum(stats.dirichlet.pdf(x, alpha))

    w = rng.uniform(0.5, 1.5, (4, 5))
    check(f, ((w / w.sum(0))[:-1], rng.uniform(0.5, 3.0, 4)), argnums=(0, 1), jax_too=False)


# -- lazy loading -----------------------------------------------------------------------------------------------

def _library_keys(origin):
    registry.load_lazy_rules()
    return [key for key, rule in registry.REVERSE_RULES.items() if rule.origin.rsplit(":", 1)[0].endswith(origin)]


STATS_KEYS = _library_keys("scipy/stats.py")
_DISTRIBUTIONS = {stats.norm: "norm", stats.t: "t", stats.gamma: "gamma", stats.beta: "beta",
                  stats.multivariate_normal: "multivariate_normal", stats.poisson: "poisson",
                  stats.dirichlet: "dirichlet"}


def _name(key):
    return f"{_DISTRIBUTIONS[key.__self__]}.{key.__name__}"


def test_the_rules_cover_the_brief():
    names = {_name(key) for key in STATS_KEYS}
    for distribution in ("norm", "t", "gamma", "beta"):
        assert {f"{distribution}.{m}" for m in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")} <= names
    assert {"multivariate_normal.logpdf", "multivariate_normal.pdf", "poisson.logpmf", "poisson.pmf",
            "dirichlet.logpdf", "dirichlet.pdf"} <= names


@pytest.mark.parametrize("key", STATS_KEYS, ids=_name)
def test_each_method_maps_to_the_stats_rules(key):
    assert registry._lazy_module_of(key) == "scipy.stats"


def test_the_stats_rules_load_on_first_lookup():
    done = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        from scipy import stats
        from sourcediff.rules import registry
        assert "sourcediff.rules.scipy.stats" not in sys.modules
        print(registry.lookup(stats.norm.logpdf).form, "sourcediff.rules.scipy.stats" in sys.modules)
    """)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["partials", "True"]


# -- the forward templates against jax.jvp ------------------------------------------------------------------------

def _forward():
    import importlib.util

    spec = importlib.util.spec_from_file_location("forward_against_jax",
                                                  pathlib.Path(__file__).with_name("forward_against_jax.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _counterpart(key):
    jax_stats = pytest.importorskip("jax.scipy.stats")
    return getattr(getattr(jax_stats, _DISTRIBUTIONS[key.__self__]), key.__name__, None)


def _adapt(key):
    """JAX's multivariate normal takes a 2-D cov and a mean (no allow_singular)."""
    def adapt(args, kwargs):
        if _DISTRIBUTIONS[key.__self__] != "multivariate_normal":
            return args, kwargs
        bound = registry.lookup(key).signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if bound.arguments["mean"] is None or np.ndim(bound.arguments["cov"]) != 2 \
                or np.size(bound.arguments["mean"]) == 1:
            return None
        cov = bound.arguments["cov"]  # the matrix SciPy reads, from the lower triangle (JAX symmetrizes)
        return [bound.arguments["x"], bound.arguments["mean"], np.tril(cov) + np.tril(cov, -1).T], {}
    return adapt


def _symmetric_cov(param, value, rng):
    """A symmetric tangent for a 2-D cov: SciPy reads its lower triangle, JAX symmetrizes (they agree there)."""
    if param == "cov" and np.ndim(value) == 2:
        t = rng.standard_normal(np.shape(value))
        return t + t.T
    return None


FORWARD_CASES = [pytest.param(key, id=_name(key)) for key in STATS_KEYS]


@pytest.mark.parametrize("key", FORWARD_CASES)
def test_forward_templates_match_jax(key):
    pytest.importorskip("jax")
    counterpart = _counterpart(key)
    if counterpart is None:
        pytest.skip(f"JAX has no {_name(key)}")
    assert _forward().compare(key, counterpart, _adapt(key), _symmetric_cov, rtol=1e-6, atol=1e-8)
