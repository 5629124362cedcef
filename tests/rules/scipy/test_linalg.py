"""scipy.linalg end to end: ``sourcediff.grad`` of functions that call it, against finite differences and
``jax.grad`` of the same function on ``jax.scipy.linalg`` (where JAX has the function and reads its arguments
the same way); the refusals; and the lazy loading of ``rules/scipy/linalg.py``.

The forward templates are checked against finite differences for every sample in ``test_registry.py``
(``samples_scipy_linalg.py``) and against ``jax.jvp`` at the end of this file.
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

linalg = pytest.importorskip("scipy.linalg")

ROOT = pathlib.Path(__file__).resolve().parents[3]


def with_jax(f):
    """``f`` with its globals ``np`` and ``linalg`` replaced by ``jax.numpy`` and ``jax.scipy.linalg``."""
    jax = pytest.importorskip("jax")
    import jax.scipy.linalg

    return types.FunctionType(f.__code__, {**f.__globals__, "np": jax.numpy, "linalg": jax.scipy.linalg},
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
    return np.random.default_rng(5)


def matrix(rng, n=3, *batch):
    return rng.standard_normal((*batch, n, n)) * 0.3 + 2.0 * np.eye(n)


# -- triangular and structured solves -------------------------------------------------------------------------------

def f_triangular(a, b):
    return np.sum(linalg.solve_triangular(a, b) ** 2) + np.sum(linalg.solve_triangular(a, b, lower=True) * b)


def f_triangular_options(a, b):
    x = linalg.solve_triangular(a, b, trans=1, lower=True, unit_diagonal=True)
    y = linalg.solve_triangular(a, b, "T")
    return np.sum(x * y) + np.sum(linalg.solve_triangular(a, x, trans="N", unit_diagonal=True))


def test_solve_triangular(rng):
    check(f_triangular, (matrix(rng), rng.standard_normal(3)), argnums=(0, 1))
    check(f_triangular, (matrix(rng), rng.standard_normal((3, 2))), argnums=(0, 1))


def test_solve_triangular_options(rng):
    check(f_triangular_options, (matrix(rng), rng.standard_normal((3, 2))), argnums=(0, 1))


def test_solve_triangular_reads_one_triangle(rng):
    a, b = matrix(rng), rng.standard_normal(3)
    ga = sourcediff.grad(f_triangular_options)(a, b)
    x = sourcediff.grad(lambda a, b: np.sum(linalg.solve_triangular(a, b, unit_diagonal=True)))(a, b)
    assert np.all(np.tril(x) == 0)  # upper triangle read, diagonal assumed 1
    assert np.all(ga == ga)  # no NaN


def f_solve(a, b):
    return np.sum(linalg.solve(a, b) ** 2) + np.sum(linalg.solve(a.T, b) * b)


def f_batched_solve(a, b):
    return np.sum(linalg.solve(a, b) ** 2)


def f_solve_transposed(a, b):
    return np.sum(linalg.solve(a, b, transposed=True) ** 2) + np.sum(linalg.solve(a, b, assume_a="gen") * b)


def f_solve_structured(a, b):
    out = 0.0
    for structure in ("sym", "pos", "diagonal", "tridiagonal", "upper triangular", "lower triangular"):
        out = out + np.sum(linalg.solve(a, b, assume_a=structure) ** 2)
    return out + np.sum(linalg.solve(a, b, lower=True, assume_a="her"))


def test_solve(rng):
    check(f_solve, (matrix(rng), rng.standard_normal(3)), argnums=(0, 1))
    check(f_batched_solve, (matrix(rng, 3, 2), rng.standard_normal((2, 3, 2))), argnums=(0, 1), jax_too=False)
    check(f_batched_solve, (matrix(rng, 3, 2), rng.standard_normal(3)), argnums=(0, 1), jax_too=False)
    check(f_solve_transposed, (matrix(rng), rng.standard_normal((3, 2))), argnums=(0, 1), jax_too=False)


def test_solve_with_a_structure_reads_only_it(rng):
    check(f_solve_structured, (matrix(rng, 4), rng.standard_normal(4)), argnums=(0, 1), jax_too=False)


def test_solve_sym_matches_jax_on_a_symmetric_matrix(rng):
    def f(x, b):
        a = x @ x.T + 3.0 * np.eye(3)
        return np.sum(linalg.solve(a, b, assume_a="pos") ** 2) + np.sum(linalg.solve(a, b, assume_a="sym"))

    check(f, (rng.standard_normal((3, 3)), rng.standard_normal(3)), argnums=(0, 1))


def f_inv_det(a):
    return np.sum(linalg.inv(a) ** 2) + linalg.det(a) + np.sum(linalg.inv(a, assume_a="upper triangular"))


def test_inv_and_det(rng):
    check(f_inv_det, (matrix(rng),), jax_too=False)  # JAX's inv has no assume_a

    def g(a):
        return np.sum(linalg.inv(a) ** 2) + linalg.det(a)

    check(g, (matrix(rng),))


# -- Cholesky --------------------------------------------------------------------------------------------------------

def spd(rng, n=3):
    x = rng.standard_normal((n, n))
    return x @ x.T / n + np.eye(n)


def f_cholesky(a):
    return np.sum(linalg.cholesky(a) ** 2 * np.arange(9.0).reshape(3, 3)) + np.sum(linalg.cholesky(a.T, lower=True))


def test_cholesky_reads_the_upper_triangle_by_default(rng):
    a = spd(rng) + np.tril(rng.standard_normal((3, 3)), -1)  # junk below the diagonal: never read
    check(f_cholesky, (a,), jax_too=False)
    g = sourcediff.grad(lambda a: np.sum(linalg.cholesky(a) ** 2 * np.arange(9.0).reshape(3, 3)))(a)
    assert np.all(np.tril(g, -1) == 0)


def test_cholesky_of_a_symmetric_matrix_matches_jax(rng):
    def f(x):
        a = x @ x.T + np.eye(3)
        return np.sum(linalg.cholesky(a) ** 2 * np.arange(9.0).reshape(3, 3)) + np.sum(linalg.cholesky(a, lower=True))

    check(f, (rng.standard_normal((3, 3)),))


def f_cho(a, b):
    factor = linalg.cho_factor(a)
    return np.sum(linalg.cho_solve(factor, b) ** 2)


def f_cho_lower_unpacked(a, b):
    c, low = linalg.cho_factor(a, lower=True)
    x = linalg.cho_solve((c, low), b)
    return np.sum(x * b) + np.sum(linalg.cho_solve((c, low), x))


def f_cho_reads_the_whole_matrix(a):
    c, low = linalg.cho_factor(a)
    return np.sum(c * np.arange(9.0).reshape(3, 3))


def test_cho_factor_and_cho_solve(rng):
    a = spd(rng) + np.tril(rng.standard_normal((3, 3)), -1)  # cho_factor reads the upper triangle
    check(f_cho, (a, rng.standard_normal(3)), argnums=(0, 1), jax_too=False)
    a = spd(rng) + np.triu(rng.standard_normal((3, 3)), 1)
    check(f_cho_lower_unpacked, (a, rng.standard_normal((3, 2))), argnums=(0, 1), jax_too=False)


def test_cho_solve_of_cho_factor_is_the_positive_definite_solve(rng):
    a, b = spd(rng) + np.tril(rng.standard_normal((3, 3)), -1), rng.standard_normal(3)
    ours = sourcediff.grad(f_cho, argnums=(0, 1))(a, b)
    theirs = sourcediff.grad(lambda a, b: np.sum(linalg.solve(a, b, assume_a="pos") ** 2), argnums=(0, 1))(a, b)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-9, atol=1e-12)


def test_cho_factor_and_cho_solve_match_jax_on_a_symmetric_matrix(rng):
    def f(x, b):
        a = x @ x.T + np.eye(3)
        c, low = linalg.cho_factor(a, lower=True)
        return np.sum(linalg.cho_solve(linalg.cho_factor(a), b) ** 2) + np.sum(linalg.cho_solve((c, low), b) * b)

    check(f, (rng.standard_normal((3, 3)), rng.standard_normal(3)), argnums=(0, 1))


def test_the_unused_triangle_of_cho_factor_holds_the_input(rng):
    """LAPACK leaves the input's entries in the triangle that does not hold the factor: its derivative is the
    identity there, which finite differences confirm."""
    check(f_cho_reads_the_whole_matrix, (spd(rng),), jax_too=False)


def test_cho_factor_refuses_an_unused_triangle_that_does_not_hold_the_input(rng):
    """Should LAPACK leave anything else than the input in the unused triangle, its derivative is unknown: a
    nonzero adjoint there is refused, its tangent is NaN; the factor's triangle is still differentiated."""
    from sourcediff.backends import numpy_backend as sd

    a = spd(rng)
    c, lower = linalg.cho_factor(a)
    cleaned = (np.triu(c), lower)  # as if the unused (lower) triangle held zeros
    g = np.triu(rng.standard_normal((3, 3)))
    assert np.all(np.isfinite(sd.cho_factor_adjoint((g, 0.0), a, cleaned)))
    with pytest.raises(sourcediff.SourcediffError, match="unused triangle"):
        sd.cho_factor_adjoint((g + np.tril(np.ones((3, 3)), -1), 0.0), a, cleaned)
    t = sd.cho_factor_tangent(rng.standard_normal((3, 3)), a, cleaned)[0]
    assert np.all(np.isnan(np.tril(t, -1)[np.tril_indices(3, -1)])) and np.all(np.isfinite(np.triu(t)))


# -- LU -----------------------------------------------------------------------------------------------------------

def f_lu(a, b):
    factors = linalg.lu_factor(a)
    x = linalg.lu_solve(factors, b)
    y = linalg.lu_solve(factors, b, trans=1)
    return np.sum(x ** 2) + np.sum(x * y)


def f_lu_packed(a):
    lu, piv = linalg.lu_factor(a)
    return np.sum(lu ** 2 * np.arange(16.0).reshape(4, 4))


def test_lu_factor_and_lu_solve(rng):
    a = rng.standard_normal((4, 4)) + np.eye(4)  # rows get pivoted
    check(f_lu, (a, rng.standard_normal(4)), argnums=(0, 1))
    check(f_lu, (a, rng.standard_normal((4, 2))), argnums=(0, 1))


def test_lu_factor_packed_factors(rng):
    check(f_lu_packed, (rng.standard_normal((4, 4)) + np.eye(4),))


# -- matrix functions and block_diag ------------------------------------------------------------------------------

def f_expm(a):
    return np.sum(linalg.expm(a) * np.arange(9.0).reshape(3, 3))


def f_sqrtm(a):
    x = linalg.sqrtm(a)
    return np.sum(x * np.arange(9.0).reshape(3, 3)) + np.sum(x @ x.T)


def f_block_diag(a, b, c):
    return np.sum(linalg.block_diag(a, b, c) * np.arange(42.0).reshape(6, 7) ** 0.5)


def test_expm(rng):
    check(f_expm, (rng.standard_normal((3, 3)),))


def test_sqrtm(rng):
    check(f_sqrtm, (matrix(rng),), jax_too=False)  # JAX's sqrtm returns complex matrices


def test_sqrtm_matches_the_derivative_of_its_inverse(rng):
    """``sqrtm(a) @ sqrtm(a) == a``: the gradient of ``sum(w * sqrtm(a @ a))`` is that of ``sum(w * a)`` where
    ``a`` has positive eigenvalues."""
    a = matrix(rng)
    w = rng.standard_normal((3, 3))
    g = sourcediff.grad(lambda a: np.sum(w * linalg.sqrtm(a @ a)))(a)
    np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-10)


def test_block_diag(rng):
    check(f_block_diag, (rng.standard_normal((2, 2)), rng.standard_normal(3), rng.standard_normal((3, 2))),
          argnums=(0, 1, 2))


# -- the twins of np.linalg ---------------------------------------------------------------------------------------

def symmetric_with_separated_eigenvalues(rng, n=3):
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return q @ np.diag(1.5 * np.arange(1.0, n + 1)) @ q.T


def f_eigh(x):
    a = x + x.T
    w, v = linalg.eigh(a)  # v ** 2 does not see the signs that SciPy's default driver may flip
    return np.sum(w ** 2) + np.sum(v ** 2 * np.arange(9.0).reshape(3, 3)) + np.sum(linalg.eigh(a, lower=False)[0] ** 3)


def test_eigh(rng):
    check(f_eigh, (symmetric_with_separated_eigenvalues(rng) / 2,))

    def g(x):
        return np.sum(linalg.eigvalsh(x + x.T) ** 3) + np.sum(linalg.eigh(x + x.T, eigvals_only=True, driver="ev"))

    check(g, (symmetric_with_separated_eigenvalues(rng) / 2,), jax_too=False)  # JAX has no eigvalsh, no driver


def test_eigh_reads_the_lower_triangle(rng):
    a = symmetric_with_separated_eigenvalues(rng) + np.triu(rng.standard_normal((3, 3)) * 0.1, 1)

    def f(a):
        return np.sum(linalg.eigh(a, eigvals_only=True) ** 3)

    check_grads(f, (a,))
    assert np.all(np.triu(sourcediff.grad(f)(a), 1) == 0)


def f_svd(a):
    u, s, vh = linalg.svd(a, full_matrices=False)
    return np.sum(s ** 2) + np.sum((u * s) @ vh * np.arange(12.0).reshape(4, 3)) + np.sum(linalg.svdvals(a))


def singular(rng, m, n):
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((m, k)))[0]
    v = np.linalg.qr(rng.standard_normal((n, k)))[0]
    return (u * (1.5 * np.arange(1.0, k + 1))) @ v.T


def test_svd(rng):
    check(f_svd, (singular(rng, 4, 3),), jax_too=False)  # JAX has no svdvals

    def g(a):
        u, s, vh = linalg.svd(a, full_matrices=False)
        return np.sum(s ** 2) + np.sum((u * s) @ vh * np.arange(12.0).reshape(4, 3))

    check(g, (singular(rng, 4, 3),))


def f_qr(a):
    q, r = linalg.qr(a, mode="economic")
    return np.sum(q * np.arange(12.0).reshape(4, 3)) + np.sum(r ** 2)


def f_qr_default_of_a_tall_matrix(a):
    q, r = linalg.qr(a)  # mode='full': Q is 4 x 4, its last column any basis of the complement
    return np.sum(q[:, :3] * np.arange(12.0).reshape(4, 3)) + np.sum(r ** 2)


def test_qr(rng):
    check(f_qr, (rng.standard_normal((4, 3)),))


def test_qr_full_of_a_tall_matrix_is_fine_when_the_extra_columns_are_not_used(rng):
    check(f_qr_default_of_a_tall_matrix, (rng.standard_normal((4, 3)),), jax_too=False)


def test_qr_r_and_wide(rng):
    def f(a):
        (r,) = linalg.qr(a, mode="r")
        q, r2 = linalg.qr(a.T)
        return np.sum(r ** 2 * np.arange(12.0).reshape(4, 3)) + np.sum(q * r2[:, :3])

    check(f, (rng.standard_normal((4, 3)),), jax_too=False)


def test_pinv_and_lstsq(rng):
    a, b = singular(rng, 4, 3), rng.standard_normal(4)

    def f(a, b):
        x, res, rank, s = linalg.lstsq(a, b)
        return np.sum(linalg.pinv(a) ** 2) + np.sum(x ** 2) + res + np.sum(s)

    check(f, (a, b), argnums=(0, 1), jax_too=False)  # JAX has no scipy.linalg.pinv and lstsq

    def g(a, b):
        x = linalg.lstsq(a, b, lapack_driver="gelsy")[0]
        return np.sum(x * np.arange(3.0))

    check(g, (a, rng.standard_normal(4)), argnums=(0, 1), jax_too=False)


def test_norm(rng):
    def f(a):
        return linalg.norm(a) + linalg.norm(a, 1) + np.sum(linalg.norm(a, axis=0))

    check(f, (rng.standard_normal((3, 4)),), jax_too=False)  # JAX has no scipy.linalg.norm


# -- refusals --------------------------------------------------------------------------------------------------------

def overwrite(a, b):
    return np.sum(linalg.solve(a, b, overwrite_a=True))


def banded(a, b):
    return np.sum(linalg.solve(a, b, assume_a="banded"))


def generalized(a, b):
    return np.sum(linalg.eigh(a, b)[0])


def subset(a):
    return np.sum(linalg.eigh(a, subset_by_index=[0, 1])[0])


def pivoted(a):
    return np.sum(linalg.qr(a, pivoting=True)[1])


def rank_too(a):
    return np.sum(linalg.pinv(a, return_rank=True)[0])


def extra_columns_of_q(a):
    q, r = linalg.qr(a)
    return np.sum(q * np.arange(16.0).reshape(4, 4))


def complex_root(a):
    return np.sum(np.real(linalg.sqrtm(a)))


def diagonal_inverse(a):
    return np.sum(linalg.inv(a, assume_a="diagonal"))


def rank_deficient(a):
    return np.sum(linalg.pinv(a))


def cho_overwrite(a, b):
    return np.sum(linalg.cho_solve(linalg.cho_factor(a, overwrite_a=True), b))


@pytest.mark.parametrize("f, args", [
    (overwrite, "ab"), (banded, "ab"), (generalized, "aa"), (subset, "a"), (pivoted, "a"), (rank_too, "a"),
    (extra_columns_of_q, "t"), (diagonal_inverse, "a"), (rank_deficient, "r"), (cho_overwrite, "ab"),
])
def test_what_has_no_correct_derivative_is_refused(f, args, rng):
    values = {"a": spd(rng, 4), "b": rng.standard_normal(4), "t": rng.standard_normal((4, 3)),
              "r": np.outer(np.arange(1.0, 5.0), np.arange(1.0, 4.0))}
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(f)(*[values[k] for k in args])


def test_a_complex_square_root_is_refused():
    a = np.array([[-1.0, 0.2], [0.1, 2.0]])  # a negative eigenvalue: sqrtm is complex
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(complex_root)(a)


def test_the_pivots_of_lu_factor_are_not_differentiable(rng):
    def f(a):
        return np.sum(linalg.lu_factor(a)[1] * 1.0)

    grads = sourcediff.grad(f)(rng.standard_normal((3, 3)) + np.eye(3))
    assert np.all(grads == 0)


def test_sqrtm_blocksize_is_accepted(rng):
    def f(a):
        return np.sum(linalg.sqrtm(a, blocksize=2) ** 2)

    with pytest.warns(DeprecationWarning):
        check_grads(f, (matrix(rng),))


# -- lazy loading ----------------------------------------------------------------------------------------------------

def _library_keys(origin):
    registry.load_lazy_rules()
    return [key for key, rule in registry.REVERSE_RULES.items() if rule.origin.rsplit(":", 1)[0].endswith(origin)]


LINALG_KEYS = _library_keys("scipy/linalg.py")


def test_the_rules_cover_the_brief():
    names = {key.__name__ for key in LINALG_KEYS}
    assert {"solve_triangular", "cho_factor", "cho_solve", "lu_factor", "lu_solve", "expm", "sqrtm", "block_diag",
            "solve", "inv", "det", "cholesky", "eigh", "eigvalsh", "svd", "svdvals", "qr", "pinv", "lstsq",
            "norm"} <= names


@pytest.mark.parametrize("key", LINALG_KEYS, ids=lambda k: k.__name__)
def test_each_function_maps_to_the_linalg_rules(key):
    """``registry._lazy_module_of`` sends every function of these rules to ``rules/scipy/linalg.py``."""
    assert registry._lazy_module_of(key) == "scipy.linalg"
    assert getattr(linalg, key.__name__) is key


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_linalg_rules_load_on_first_lookup():
    out = _run("""
        import sys
        import scipy.linalg
        from sourcediff.rules import registry
        assert "sourcediff.rules.scipy.linalg" not in sys.modules
        print(registry.lookup(scipy.linalg.cho_solve).form, "sourcediff.rules.scipy.linalg" in sys.modules,
              "sourcediff.rules.scipy.stats" in sys.modules)
    """)
    assert out.split() == ["general", "True", "False"]


# -- the forward templates against jax.jvp ------------------------------------------------------------------------

# How JAX differs where the forward templates are not compared (each is checked against finite differences in
# test_registry.py, and end to end above).
NOT_LIKE_JAX = {
    "cholesky": "SciPy reads one triangle, JAX symmetrizes the input",
    "cho_factor": "JAX's factor has zeros in the unused triangle, SciPy's the input's entries",
    "eigh": "SciPy reads one triangle, JAX symmetrizes the input", "eigvalsh": "not in jax.scipy.linalg",
    "svdvals": "not in jax.scipy.linalg", "pinv": "not in jax.scipy.linalg", "lstsq": "not in jax.scipy.linalg",
    "norm": "not in jax.scipy.linalg",
    "sqrtm": "JAX's sqrtm returns complex matrices and has no derivative",
    "solve_sylvester": "JAX's solve_sylvester has no derivative (no rule for schur)",
}


def _forward():
    """``forward_against_jax.py`` of this folder, loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("forward_against_jax",
                                                  pathlib.Path(__file__).with_name("forward_against_jax.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jax_arguments(key, args, kwargs):
    """The arguments as JAX's function takes them, or None where it has no such option."""
    kwargs = dict(kwargs)
    if key.__name__ == "solve" and kwargs.get("assume_a") not in (None, "gen", "general"):
        return None
    if key.__name__ == "solve" and (kwargs.pop("transposed", False) or kwargs.pop("lower", False)):
        return None
    if key.__name__ in ("inv", "qr") and ({"assume_a", "lower", "lwork", "check_finite"} & set(kwargs)):
        return None
    if key.__name__ == "qr" and kwargs.get("mode", "full") == "full" \
            and np.shape(args[0])[-2] > np.shape(args[0])[-1]:
        return None
    if any(np.ndim(a) > 2 for a in args if isinstance(a, np.ndarray)) and key.__name__ in (
            "solve_triangular", "solve", "qr", "svd", "block_diag"):
        return None  # JAX batches these differently (or not at all)
    return args, kwargs


FORWARD_CASES = [pytest.param(key, id=key.__name__) for key in LINALG_KEYS if key.__name__ not in NOT_LIKE_JAX]


@pytest.mark.parametrize("key", FORWARD_CASES)
def test_forward_templates_match_jax(key):
    """The sum of the forward templates' contributions against ``jax.jvp`` of jax.scipy.linalg's function, for
    every sample JAX can take."""
    pytest.importorskip("jax")
    import jax.scipy.linalg

    assert _forward().compare(key, getattr(jax.scipy.linalg, key.__name__), lambda a, k: _jax_arguments(key, a, k))
