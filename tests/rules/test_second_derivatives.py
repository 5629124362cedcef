"""Second derivatives of every rule: its templates' generated code, differentiated again.

For each rule of the library with samples, ``s(x) = sum(w * f(..., x, ...))`` in its first differentiable array or
float argument, and three Hessian-vector products, each checked against central differences of ``grad(s)``:
forward over reverse (``jvp(grad(s))``), reverse over reverse (``jacrev(grad(s))``) and reverse over forward
(``jacrev(jacfwd(s))``). The runtime helpers the templates call (``sd.<name>``) are differentiated by their
own rules, or through their source; one that cannot be is refused with a ``SourcediffError``, which is counted.
"""
import importlib.util
import itertools
import linecache
import pathlib
import warnings

import numpy as np
import pytest

import sourcediff
from sourcediff.errors import SourcediffError
from sourcediff.rules.registry import RuntimeFunction

from .second_order import WAYS, fd_hvp, hvp


def _samples():
    path = pathlib.Path(__file__).with_name("rule_samples.py")
    spec = importlib.util.spec_from_file_location("second_rule_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLES = _samples()
_numbering = itertools.count()


def _cases():
    found = []
    for table, key, rule in SAMPLES.library_rules():
        if table != "function" or isinstance(key, RuntimeFunction) or not callable(key):
            continue
        drawn = SAMPLES.SAMPLES.get(SAMPLES.rule_key(table, key))
        if drawn:
            found.append(pytest.param(key, rule, drawn[0], id=getattr(key, "__qualname__", str(key))))
    return found


def _scalar(primal, args, kwargs, position, weights):
    """``s(x)``: the primal with ``x`` at ``position``, the other arguments constants, reduced with ``weights``."""
    names = {"np": np, "PRIMAL": primal, "W": weights}
    call = []
    for i, a in enumerate(args):
        if i == position:
            call.append("x")
        else:
            names[f"C{i}"] = a
            call.append(f"C{i}")
    for k, v in kwargs.items():
        names[f"K_{k}"] = v
        call.append(f"{k}=K_{k}")
    source = f"def scalar(x):\n    return np.sum(W * PRIMAL({', '.join(call)}))\n"
    filename = f"<second derivative {next(_numbering)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), names)
    return names["scalar"]


@pytest.mark.parametrize("primal,rule,sample", _cases())
def test_second_derivatives_of_the_rule(primal, rule, sample):
    rng = np.random.default_rng(7)
    args, kwargs = sample(rng)
    position = next((i for i, a in enumerate(args) if (type(a) is float or (
        type(a) is np.ndarray and a.dtype.kind == "f" and 0 < a.size <= 24))), None)
    if position is None:
        pytest.skip("no float argument")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            out = primal(*args, **kwargs)
        except Exception as exc:
            pytest.skip(f"the sample does not run: {exc}")
    if not isinstance(out, (float, np.ndarray, np.floating)) or np.iscomplexobj(out):
        pytest.skip("not a real float or array output")
    x = args[position]
    weights = rng.standard_normal(np.shape(out))
    scalar = _scalar(primal, args, kwargs, position, weights)
    try:
        gradient = sourcediff.grad(scalar)
        gradient(x)
    except SourcediffError as exc:
        pytest.skip(f"first derivative refused: {str(exc).splitlines()[0]}")
    v = float(rng.standard_normal()) if type(x) is float else rng.standard_normal(x.shape)
    expected = fd_hvp(gradient, x, v)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    refused = []
    for way in WAYS:
        try:
            got = np.asarray(hvp(way, scalar, x, v), dtype=float)
        except SourcediffError as exc:  # loud: counted, not wrong
            refused.append(f"{way}: {str(exc).splitlines()[0]}")
            continue
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=way)
    if len(refused) == len(WAYS):
        pytest.skip("; ".join(refused))
