"""Second derivatives of the structured SciPy solves and of the Dirichlet density, on every sample of their rules.

``test_second_derivatives.py`` takes the first sample of each rule in its first float argument, which reaches
neither the structures of ``scipy.linalg.solve``/``inv`` (``assume_a``: symmetric, positive definite,
triangular, diagonal, tridiagonal), nor ``solve_triangular``'s lower, unit-diagonal and transposed solves, nor the
Dirichlet density in ``alpha``. Here each sample is differentiated twice in each of its float arguments, three
ways, against central differences of the gradient (``second_order.check_second_derivatives``).
"""
import linecache
import warnings

import numpy as np
import pytest
import scipy.linalg as linalg
import scipy.stats as stats

import sourcediff

from .second_order import WAYS, check_second_derivatives
from .test_second_derivatives import SAMPLES, _scalar

PRIMALS = {"solve": linalg.solve, "inv": linalg.inv, "solve_triangular": linalg.solve_triangular,
           "dirichlet.logpdf": stats.dirichlet.logpdf, "dirichlet.pdf": stats.dirichlet.pdf}


def _cases():
    found = []
    for name, primal in PRIMALS.items():
        samples = SAMPLES.SAMPLES[SAMPLES.rule_key("function", primal)]
        for i, sample in enumerate(samples):
            args, kwargs = sample(np.random.default_rng(3))
            for position, a in enumerate(args):
                if type(a) is np.ndarray and a.dtype.kind == "f" and 0 < a.size <= 24:
                    found.append(pytest.param(primal, sample, position, id=f"{name}-{i}-arg{position}"))
    return found


def test_every_structure_is_reached():
    cases = _cases()
    solve_structures = {s(np.random.default_rng(0))[1].get("assume_a")
                        for s in SAMPLES.SAMPLES[SAMPLES.rule_key("function", linalg.solve)]}
    assert {"sym", "pos", "her", "diagonal", "tridiagonal", "upper triangular", "lower triangular"} <= solve_structures
    assert any("dirichlet.logpdf" in c.id and c.id.endswith("arg1") for c in cases)  # alpha


@pytest.mark.parametrize("primal,sample,position", _cases())
def test_second_derivatives_of_every_sample(primal, sample, position):
    rng = np.random.default_rng(11)
    args, kwargs = sample(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = primal(*args, **kwargs)
    weights = rng.standard_normal(np.shape(out))
    scalar = _scalar(primal, args, kwargs, position, weights)
    checked = check_second_derivatives(scalar, args[position], seed=position, rtol=1e-4)
    assert checked == list(WAYS)


_SIMPLEX_SOURCE = '''
def on_simplex(y):
    x = np.concatenate([y, 1.0 - np.sum(y, keepdims=True)])
    return stats.dirichlet.logpdf(x, ALPHA) + 0.5 * stats.dirichlet.pdf(x, ALPHA)
'''


def test_dirichlet_with_all_components():
    """All ``K`` components passed (none implied): the slope in ``x`` along the simplex."""
    names = {"np": np, "stats": stats, "ALPHA": np.array([1.5, 1.0, 2.5, 0.8])}
    filename = "<dirichlet on the simplex>"
    linecache.cache[filename] = (len(_SIMPLEX_SOURCE), None, _SIMPLEX_SOURCE.splitlines(keepends=True), filename)
    exec(compile(_SIMPLEX_SOURCE, filename, "exec"), names)
    on_simplex = names["on_simplex"]
    y = np.array([0.2, 0.3, 0.15])
    h = 1e-6
    numeric = np.array([(on_simplex(y + h * e) - on_simplex(y - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(sourcediff.grad(on_simplex)(y), numeric, rtol=1e-6)
    assert check_second_derivatives(on_simplex, y, rtol=1e-4) == list(WAYS)
