"""The forward templates of the NumPy rules against ``jax.jvp`` of the jax.numpy function of the same name.

``test_registry.py`` checks every rule against finite differences; this adds an
independent implementation where one exists. Each rule's samples come from
``rule_samples.py``; every differentiable argument that holds floats gets a
random tangent, and the sum of the forward templates' contributions must equal
JAX's output tangent.
"""
import copy
import importlib.util
import inspect
import pathlib

import numpy as np
import pytest

from sourcediff.backends import NUMPY
from sourcediff.testing import _carries_tangent, _random_like

jax = pytest.importorskip("jax")
jnp = jax.numpy

_spec = importlib.util.spec_from_file_location("rule_samples", pathlib.Path(__file__).with_name("rule_samples.py"))
SAMPLES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(SAMPLES)

# Rules whose JAX counterpart differentiates differently on purpose, and what checks ours instead.
NOT_LIKE_JAX = {
    "arange": "jnp.arange builds from concrete values: its tangent in start and step is zero; ours is "
              "start + step * k, checked against finite differences in test_registry.py",
    # np.linalg: NumPy's cholesky, eigh and eigvalsh read one triangle of the matrix where JAX symmetrizes it, so
    # their tangents differ for a non-symmetric tangent; the others return tuples. Each is checked against
    # finite differences in test_registry.py and against jax.grad in tests/rules/numpy/test_linalg.py.
    "cholesky": "NumPy reads the lower (upper=True: upper) triangle, JAX symmetrizes the input",
    "eigh": "a tuple result; NumPy reads one triangle (UPLO), JAX symmetrizes the input",
    "eigvalsh": "NumPy reads one triangle (UPLO), JAX symmetrizes the input",
    "svd": "a tuple result (one array with compute_uv=False)",
    "qr": "a tuple result (one array with mode='r')",
    "slogdet": "a tuple result (sign, logabsdet)",
    "lstsq": "a tuple result (solution, residuals, rank, singular values)",
    # list results: checked against finite differences in test_registry.py and against jax.grad in
    # tests/rules/numpy/test_shape.py
    "split": "a list result", "array_split": "a list result", "hsplit": "a list result",
    "vsplit": "a list result", "meshgrid": "a list result",
    # scipy.special, where JAX's slope is wrong at one point that the samples hold on purpose (finite differences
    # confirm ours in test_registry.py; tests/rules/scipy/test_special.py compares with jax.grad elsewhere)
    "boxcox": "at lmbda == 0 JAX's slope in lmbda is 0 (its branch log(x) does not depend on lmbda); the slope is "
              "log(x)**2 / 2",
    "boxcox1p": "at lmbda == 0 JAX's slope in lmbda is 0; the slope is log1p(x)**2 / 2",
    "spence": "JAX's slope is 0 at z == 1 (log(z) / (1 - z) tends to -1 there) and nan above 1",
    # tuple and list results, and functions JAX differentiates otherwise: checked against finite differences in
    # test_registry.py and against jax.grad (where it has a derivative) in tests/rules/numpy/test_*.py
    "dsplit": "a list result", "broadcast_arrays": "a tuple result", "unstack": "a tuple result",
    "modf": "a tuple result (fractional and integral parts)", "divmod": "a tuple result (quotient, remainder)",
    "gradient": "a tuple result for several axes, and jnp.gradient has no edge_order",
    "nextafter": "JAX has no derivative for nextafter; ours has slope 1 in x1 (the result is x1 moved by one ulp)",
    "vander": "JAX's slope at x == 0 in the column of power 0 is NaN (0 * x**-1); ours is 0",
    "partition": "jnp.partition arranges the elements on either side of the kth otherwise than np.partition "
                 "(both are valid): the tangents are the same, in another order",
    "trim_zeros": "the samples hold the trimmed zeros as Python ints in a list (no tangent), which JAX does not take",
}


def _scipy_special(key):
    """Whether ``key`` is a function of ``scipy.special`` (its ufuncs have no ``__module__``; it re-exports
    ``np.sinc``, which stays NumPy's)."""
    import sys

    special = sys.modules.get("scipy.special")
    return special is not None and not (getattr(key, "__module__", None) or "").startswith("numpy") \
        and getattr(special, getattr(key, "__name__", ""), None) is key


def _counterpart(key):
    """The jax.numpy (jax.numpy.linalg) function of the same name, or jax.scipy.special's for scipy.special."""
    if _scipy_special(key):
        import jax.scipy.special as jsp

        adapted = {  # where JAX's signature differs from SciPy's
            "softmax": lambda x, axis=None: jsp.softmax(x, axis=axis),  # axis is keyword-only in JAX
            "log_softmax": lambda x, axis=None: jsp.log_softmax(x, axis=axis),
            "zeta": lambda x, q=None: jsp.zeta(x, 1.0 if q is None else q),  # JAX has Hurwitz's zeta only
            "psi": jsp.digamma,  # scipy.special.digamma is the ufunc named psi
        }
        return adapted.get(key.__name__) or getattr(jsp, key.__name__, None)
    if not (isinstance(key, np.ufunc) or (getattr(key, "__module__", None) or "").startswith("numpy")):
        return None
    module = getattr(key, "__module__", None) or ""
    space = jnp.linalg if "linalg" in module else jnp.fft if "fft" in module else jnp
    found = getattr(space, key.__name__, None)
    return found if callable(found) else None


def _case_id(key):
    module = getattr(key, "__module__", None) or ""
    space = "scipy.special" if _scipy_special(key) else "np.fft" if "fft" in module else "np"
    return f"{space}.{key.__name__}"


CASES = [pytest.param(key, rule, _counterpart(key), id=_case_id(key))
         for table, key, rule in SAMPLES.library_rules()
         if table == "function" and _counterpart(key) is not None and key.__name__ not in NOT_LIKE_JAX]


def test_most_numpy_rules_are_compared():
    assert len(CASES) >= 70


def test_the_scipy_special_rules_are_compared():
    pytest.importorskip("scipy")
    assert len([case for case in CASES if case.id.startswith("scipy.special.")]) >= 20


@pytest.mark.parametrize("key, rule, counterpart", CASES)
def test_forward_templates_match_jax(key, rule, counterpart):
    namespaces = NUMPY.namespaces({"call_forward": print, "call_backward": print, "call_jvp": print})
    rng = np.random.default_rng(7)
    compared = 0
    for sample in SAMPLES.SAMPLES[key]:
        args, kwargs = sample(rng)
        given = rule.signature.bind(*args, **kwargs)
        full = rule.signature.bind(*args, **kwargs)
        full.apply_defaults()
        active = [p for p in rule.adjoints if _carries_tangent(full.arguments.get(p))]
        if not active:
            continue
        ans = key(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        tangents = {p: _random_like(full.arguments[p], rng) for p in active}
        ours = 0.0
        for p in active:
            scope = dict(namespaces, **copy.deepcopy(dict(full.arguments)), ans=ans, t=tangents[p])
            ours = ours + np.asarray(eval(rule.jvps[p], scope))

        def primal(*values):
            arguments = dict(given.arguments, **dict(zip(active, values)))
            bound = inspect.BoundArguments(rule.signature, arguments)
            return counterpart(*bound.args, **bound.kwargs)

        as_jax = lambda x: jax.tree_util.tree_map(jnp.asarray, x)  # noqa: E731
        _, theirs = jax.jvp(primal, tuple(as_jax(full.arguments[p]) for p in active),
                            tuple(as_jax(tangents[p]) for p in active))
        if theirs.dtype == jax.dtypes.float0:  # an integer result: no tangent
            theirs = np.zeros(np.shape(theirs))
        np.testing.assert_allclose(np.broadcast_to(ours, np.shape(theirs)), theirs, rtol=1e-6, atol=1e-9,
                                   err_msg=f"sample {args!r}, {kwargs!r}")
        compared += 1
    assert compared, "no sample had an argument with a tangent"
