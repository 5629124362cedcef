"""scipy.special end to end: ``sourcediff.grad`` of functions that call it, against finite differences and
``jax.grad`` of the same function on ``jax.scipy.special``; the refusals; and the lazy loading of the SciPy
rules (``import sourcediff`` imports no SciPy; the first lookup of a scipy.special function loads its rules).
"""
import pathlib
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads

special = pytest.importorskip("scipy.special")

ROOT = pathlib.Path(__file__).resolve().parents[3]


def with_jax(f):
    """``f`` with its globals ``np`` and ``special`` replaced by ``jax.numpy`` and ``jax.scipy.special``."""
    jax = pytest.importorskip("jax")
    import jax.scipy.special

    return types.FunctionType(f.__code__, {**f.__globals__, "np": jax.numpy, "special": jax.scipy.special},
                              f.__name__, f.__defaults__)


def check(f, args, argnums=0, jax_too=True):
    """Finite differences, then (where JAX has the functions) ``jax.grad`` of the same function."""
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
    return np.random.default_rng(11)


# -- log-sum-exp and softmax ------------------------------------------------------------------------------

def f_logsumexp(x, w):
    return np.sum(special.logsumexp(x * w, axis=1))


def f_logsumexp_weighted(a, b):
    return special.logsumexp(a, b=b) + np.sum(special.logsumexp(a, axis=0, b=b, keepdims=True) ** 2)


def f_softmax(x, w):
    return np.sum(w * special.softmax(x, axis=1)) + np.sum(w * special.softmax(x, axis=None))


def test_logsumexp(rng):
    check(f_logsumexp, (rng.standard_normal((3, 4)), rng.standard_normal(4)), argnums=(0, 1))


def test_logsumexp_with_weights_that_broadcast(rng):
    check(f_logsumexp_weighted, (rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, 4)), argnums=(0, 1))


def test_softmax(rng):
    check(f_softmax, (rng.standard_normal((3, 4)), rng.standard_normal((3, 4))))


def test_logsumexp_return_sign_is_refused(rng):
    def f(x):
        value, sign = special.logsumexp(x, return_sign=True)
        return value * sign

    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(f)(rng.standard_normal(3))


# -- losses -----------------------------------------------------------------------------------------------

def logistic_loss(w, X, y):
    p = special.expit(X @ w)
    return -np.mean(special.xlogy(y, p) + special.xlog1py(1 - y, -p))


def softmax_cross_entropy(W, X, onehot):
    return -np.sum(onehot * special.log_softmax(X @ W, axis=1)) / X.shape[0]


def test_logistic_regression_loss(rng):
    X = rng.standard_normal((6, 3))
    y = (rng.uniform(size=6) > 0.5).astype(float)
    check(logistic_loss, (rng.standard_normal(3), X, y))


def test_softmax_cross_entropy(rng):
    X = rng.standard_normal((5, 3))
    onehot = np.eye(4)[rng.integers(0, 4, 5)]
    check(softmax_cross_entropy, (rng.standard_normal((3, 4)), X, onehot))


# -- gamma, beta, error functions -------------------------------------------------------------------------

def f_gammaln(x):
    return special.gammaln(x).sum()


def f_gamma_family(a, b):
    return np.sum(special.betaln(a, b) + special.digamma(a) * b + special.gamma(b / 2) + special.beta(a, b)
                  + special.polygamma(1, a))


def f_errors(x):
    return np.sum(special.erf(x) * special.erfc(x / 2) + special.erfinv(x / 4) + special.expit(x)
                  + special.logit(special.expit(x) / 2))


def f_entropies(p, q):
    return np.sum(special.entr(p)) + np.sum(special.rel_entr(p, q))


def test_gammaln(rng):
    check(f_gammaln, (rng.uniform(0.3, 5.0, 4),))


def test_gamma_and_beta(rng):
    check(f_gamma_family, (rng.uniform(0.5, 3.0, 4), rng.uniform(0.5, 3.0, (2, 4))), argnums=(0, 1))


def test_error_functions(rng):
    check(f_errors, (rng.uniform(-1.5, 1.5, 5),))


def test_entropies(rng):
    check(f_entropies, (rng.uniform(0.2, 1.0, 4), rng.uniform(0.2, 1.0, 4)), argnums=(0, 1))


def test_erfcinv(rng):
    def f(x):
        return np.sum(special.erfcinv(x) ** 2)

    check(f, (rng.uniform(0.2, 1.8, 4),), jax_too=False)  # JAX has no erfcinv


def test_xlogy_at_zero():
    """xlogy(0, y) is 0 for every y: its slope in y is 0 there, at y == 0 too."""
    def f(x, y):
        return np.sum(special.xlogy(x, y))

    with np.errstate(divide="ignore"):  # log(0) in the slope in x
        gx, gy = sourcediff.grad(f, argnums=(0, 1))(np.array([0.0, 2.0]), np.array([0.0, 4.0]))
    assert gy[0] == 0.0 and gy[1] == pytest.approx(0.5)
    assert gx[0] == -np.inf and gx[1] == pytest.approx(np.log(4.0))


# -- Bessel functions and zeta ----------------------------------------------------------------------------

def f_bessel_jax_has(x):
    return np.sum(special.i0(x) + special.i1(x) * special.i0e(x) - special.i1e(x))


def f_bessel(x, v):
    return np.sum(special.iv(v, x) + special.ive(v, x) * special.jv(v, x) + special.yv(v, x) / special.kv(v, x))


def f_zeta(x, q):
    return np.sum(special.zeta(x, q)) + np.sum(special.zeta(x))


def test_bessel_functions_jax_has(rng):
    check(f_bessel_jax_has, (rng.uniform(0.2, 3.0, 4) * rng.choice([-1.0, 1.0], 4),))


def test_bessel_functions_of_any_order(rng):
    check(f_bessel, (rng.uniform(0.5, 4.0, 4), np.array([0.5, 1.0, 1.5, 3.0])), jax_too=False)


def test_the_order_of_a_bessel_function_is_not_differentiable(rng):
    with pytest.raises(sourcediff.MissingRuleError, match="'v'"):
        sourcediff.grad(f_bessel, argnums=1)(rng.uniform(0.5, 4.0, 4), np.array([0.5, 1.0, 1.5, 3.0]))


def test_zeta(rng):
    check(f_zeta, (rng.uniform(1.5, 4.0, 3), rng.uniform(0.5, 3.0, 3)), argnums=(0, 1), jax_too=False)


def test_zeta_against_jax(rng):
    def hurwitz(x, q):
        return np.sum(special.zeta(x, q))

    check(hurwitz, (rng.uniform(1.5, 4.0, 3), rng.uniform(0.5, 3.0, 3)), argnums=(0, 1))


# -- incomplete gamma and beta, Bessel functions, and the cheap common ones -----------------------------------

def f_incomplete(x):
    return np.sum(special.betainc(2.0, 3.0, x) + special.gammainc(2.5, 3 * x) * special.gammaincc(1.5, x))


def test_incomplete_gamma_and_beta_in_x(rng):
    check(f_incomplete, (rng.uniform(0.1, 0.9, 4),))


def betainc_in_a(a, x):
    return np.sum(special.betainc(a, 2.0, x))


def gammainc_in_a(a, x):
    return np.sum(special.gammainc(a, x))


def gammaincc_in_a(a, x):
    return np.sum(special.gammaincc(a, x))


@pytest.mark.parametrize("f", [betainc_in_a, gammainc_in_a, gammaincc_in_a])
def test_the_parameters_of_the_incomplete_functions_are_refused(f):
    with pytest.raises(sourcediff.MissingRuleError, match="'a'"):
        sourcediff.grad(f)(1.5, np.array([0.3, 0.6]))


def test_gammasgn_is_not_differentiable(rng):
    def f(x):
        return np.sum(special.gammasgn(x) * x ** 2)

    x = rng.uniform(-2.9, 2.9, 5)
    check(f, (x,))


def f_gamma_relatives(a):
    return np.sum(special.multigammaln(a, 3) + special.rgamma(a) + special.poch(a, 1.5) + special.binom(a + 2, 1.3))


def test_multigammaln_rgamma_poch_binom(rng):
    check(f_gamma_relatives, (rng.uniform(1.5, 4.0, 4),), jax_too=False)  # JAX has no rgamma, binom

    def g(a, m):
        return np.sum(special.multigammaln(a, 3)) + np.sum(special.poch(a, m))

    check(g, (rng.uniform(1.5, 4.0, 4), rng.uniform(-0.5, 2.0, 4)), argnums=(0, 1))


def test_rgamma_at_the_poles_of_gamma():
    """1/Gamma is 0 at 0, -1, -2, ... and has slope (-1)**n n! there."""
    g = sourcediff.grad(lambda x: np.sum(special.rgamma(x)))(np.array([0.0, -1.0, -2.0, -3.0, 2.0]))
    np.testing.assert_allclose(g[:4], [1.0, -1.0, 2.0, -6.0])
    check_grads(lambda x: np.sum(special.rgamma(x)), (np.array([0.0, -1.0, -2.5]),))


def f_exponentials(x):
    return np.sum(special.expm1(x) * special.log1p(x) + special.exp2(x) + special.exp10(x / 2) + special.cbrt(x + 3)
                  + special.softplus(2 * x) - special.log_expit(x))


def test_exponentials_logarithms_and_roots(rng):
    check(f_exponentials, (rng.uniform(-0.5, 1.5, 5),), jax_too=False)  # JAX has none of them in scipy.special


def f_normal(x):
    return np.sum(special.ndtr(x) * special.log_ndtr(x - 1) + special.ndtri(special.ndtr(x) / 2)
                  + special.erfcx(x) + special.dawsn(x))


def test_normal_distribution_and_error_functions(rng):
    check(f_normal, (rng.uniform(-2.0, 2.0, 5),))
    check(lambda x: np.sum(special.erfi(x) ** 2), (rng.uniform(-1.5, 1.5, 4),), jax_too=False)


def f_more_bessel(x):
    return np.sum(special.j0(x) + special.j1(x) * special.y0(x) + special.y1(x) + special.yn(2, x)
                  + special.k0(x) * special.k1(x) + special.k0e(x) - special.k1e(x) + special.kve(1.5, x)
                  + special.jve(0.5, x) * special.yve(2.5, x))


def test_more_bessel_functions(rng):
    check(f_more_bessel, (rng.uniform(0.5, 5.0, 5),), jax_too=False)  # JAX has none of them


def test_the_order_of_yn_is_not_differentiable():
    with pytest.raises(sourcediff.MissingRuleError, match="'n'"):
        sourcediff.grad(lambda n, x: np.sum(special.yn(n, x)))(2.0, np.array([1.0, 2.0]))


def f_boxcox(x, lmbda):
    return np.sum(special.boxcox(x, lmbda) + special.boxcox1p(x, lmbda / 2))


def test_boxcox(rng):
    check(f_boxcox, (rng.uniform(0.3, 3.0, 4), rng.uniform(-1.0, 2.0, 4)), argnums=(0, 1))


def test_boxcox_at_lmbda_zero():
    """At lmbda == 0 boxcox is log(x); its slope in lmbda is log(x)**2 / 2 (JAX says 0 there)."""
    x = np.array([0.5, 2.0, 3.0])
    g = sourcediff.grad(lambda x, lmbda: np.sum(special.boxcox(x, lmbda)), argnums=1)(x, 0.0)
    assert g == pytest.approx(np.sum(np.log(x) ** 2 / 2))
    check(f_boxcox, (x, 0.0), argnums=(0, 1), jax_too=False)


def f_losses(delta, r):
    return np.sum(special.huber(delta, r) + special.pseudo_huber(delta, r))


def test_huber_losses(rng):
    check(f_losses, (1.2, rng.uniform(-3.0, 3.0, 6)), argnums=(0, 1), jax_too=False)  # JAX has neither


def test_kl_div_spence(rng):
    def f(x, y):
        return np.sum(special.kl_div(x, y)) + np.sum(special.spence(y))

    # JAX's slope of spence is nan above 1: compared below 1, checked against finite differences above it
    check(f, (rng.uniform(0.3, 2.0, 4), rng.uniform(0.3, 0.95, 4)), argnums=(0, 1))
    check(f, (rng.uniform(0.3, 2.0, 4), rng.uniform(1.05, 3.0, 4)), argnums=(0, 1), jax_too=False)


def test_kl_div_where_x_is_zero():
    """kl_div(0, y) = y: slope 1 in y."""
    g = sourcediff.grad(lambda x, y: np.sum(special.kl_div(x, y)), argnums=1)(np.array([0.0, 1.0]),
                                                                              np.array([2.0, 2.0]))
    np.testing.assert_allclose(g, [1.0, 0.5])


def test_spence_at_one():
    g = sourcediff.grad(lambda z: np.sum(special.spence(z)))(np.array([1.0]))
    assert g[0] == -1.0


# -- lazy loading -----------------------------------------------------------------------------------------

def _run(code: str, cwd: pathlib.Path = ROOT) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_each_function_maps_to_the_special_rules():
    """``registry._lazy_module_of`` sends every function of rules/scipy/special.py there: ufuncs (no
    ``__module__``) by identity, Python functions (logsumexp, softmax, softplus, multigammaln ...) by module."""
    from sourcediff.rules import registry

    registry.load_lazy_rules()
    keys = [key for key, rule in registry.REVERSE_RULES.items() if rule.origin.rsplit(":", 1)[0].endswith(
        "scipy/special.py")] + [key for key in registry.NONDIFFERENTIABLE if key is special.gammasgn]
    assert len(keys) >= 65
    for key in keys:
        assert registry._lazy_module_of(key) == "scipy.special", key
        assert getattr(special, key.__name__) is key


def test_import_sourcediff_imports_no_scipy():
    out = _run("""
        import sys
        import sourcediff
        print([m for m in sys.modules if m.startswith(("scipy", "sympy", "jax")) or ".rules.scipy." in m])
    """)
    assert out.strip() == "[]"


def test_the_scipy_rules_load_on_first_lookup():
    out = _run("""
        import sys
        import scipy.special
        from sourcediff.rules import registry
        assert "sourcediff.rules.scipy.special" not in sys.modules
        print(registry.returns(scipy.special.logsumexp), registry.lookup(scipy.special.erf).form)
        assert "sourcediff.rules.scipy.special" in sys.modules
    """)
    assert out.split() == ["new", "partials"]


def test_a_rule_declared_before_the_scipy_rules_load_is_kept():
    out = _run("""
        import scipy.special
        from sourcediff.rules import registry
        mine = registry.defpartials(scipy.special.erf, "x", x="2 * x")
        registry.defnondiff(scipy.special.expit, "mine")
        assert registry.lookup(scipy.special.gammaln) is not None  # loads the library's rules
        assert registry.lookup(scipy.special.erf) is mine
        print(registry.lookup(scipy.special.expit), registry.is_nondifferentiable(scipy.special.expit))
    """)
    assert out.split() == ["None", "True"]


def test_a_function_calling_erf_is_differentiated_in_a_fresh_interpreter(tmp_path):
    (tmp_path / "uses_erf.py").write_text(textwrap.dedent("""
        import numpy as np
        import scipy.special


        def f(x):
            return np.sum(scipy.special.erf(x) ** 2)
    """))
    out = _run(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(1, {str(tmp_path)!r})
        import numpy as np
        import sourcediff
        from uses_erf import f
        print(float(sourcediff.grad(f)(np.array([0.5]))[0]))
    """)
    x = 0.5
    expected = 2 * special.erf(x) * 2 / np.sqrt(np.pi) * np.exp(-x * x)
    assert float(out) == pytest.approx(expected)
