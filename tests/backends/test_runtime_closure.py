"""Every runtime helper differentiated through its source is differentiated correctly, in both modes.

A helper ``sd.<name>`` without a rule (the class "through source" of ``test_runtime_rules.py``) is differentiated
by reading its Python source, as a user's function, whenever generated code is differentiated again. Here each
such helper is called with arguments it really receives: the first-order derivatives (``vjp`` and ``jvp``) of the
rules' own samples (and of the user code in ``LOWERED``) run with the runtime namespace of generated code wrapped
by a recorder, which keeps the first distinct argument tuples of each helper (``PER_NAME``). Then
``s = sum(real(W * sd.<name>(...)))``, a probe compiled as generated code with every real float leaf of the
arguments a parameter (but those in ``HELD`` and ``NEVER_ACTIVE``), is differentiated in reverse (``grad``) and
forward (``jvp``) mode, and both directional derivatives are checked against central differences of ``s``. A call
with no real float argument is checked to contribute nothing.

A helper whose source is refused is a failure, unless ``KNOWN_REFUSED`` lists it with the refusal's reason; one
listed there that is differentiated now is a failure too, so that the list only shrinks. A helper that nothing
recorded reaches must be in ``UNSAMPLED``, with arguments written by hand; one listed there that is reached is a
failure too.
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
import itertools
import linecache
import pathlib
import re
import warnings

import numpy as np
import pytest

import sourcediff
from sourcediff import emit, pipeline
from sourcediff.errors import SourcediffError
from sourcediff.rules.registry import RuntimeFunction

from .test_runtime_rules import THROUGH_SOURCE

_numbering = itertools.count()
# distinct argument tuples kept per helper: each costs two derivatives built (1: the file takes about 45 s of one
# core; 2 about 65 s, and they pass)
PER_NAME = 1

# name -> the reason its source is refused (a piece of the SourcediffError's first line). A listed name must still
# be refused: remove it once its helper is differentiated.
KNOWN_REFUSED: dict[str, str] = {
    # None now. (An int unpacked with arrays from a helper's tuple, or from a conditional expression, is taken for
    # varied by the activity analysis, and refused as an axis or a shape: the helpers read such ints off shapes.)
}

# Helpers that no rule sample reaches with a real float argument: name -> a sample written by hand (none now:
# LOWERED reaches those of the lowering).
UNSAMPLED: dict[str, object] = {}

# name -> (parameters held constant, why): arguments tied to others (a primal's result compared with its
# operands), which a perturbation of their own would take where the helper is not defined. The derivatives in
# all arguments are still built and run (not checked).
HELD: dict[str, tuple[tuple[str, ...], str]] = {
    "builtin_extremum_adjoint": (("args", "ans"), "ans is one of args: ties are found by equality"),
    "builtin_extremum_tangent": (("args", "ans"), "ans is one of args: ties are found by equality"),
    "cho_factor_adjoint": (("a", "ans"), "the unused triangle of ans[0] holds a's entries (it is refused else)"),
    "cho_factor_tangent": (("a", "ans"), "the unused triangle of ans[0] holds a's entries (NaN else)"),
}

# name -> (parameters never differentiated, why): arguments that the primal's rule declares non-differentiable,
# so that they are never active where generated code calls the helper.
NEVER_ACTIVE: dict[str, tuple[tuple[str, ...], str]] = {
    "interp_tangent": (("xp",), "np.interp is not differentiable in xp (its source refuses it: np.interp's xp)"),
    "quantile_adjoint": (("q",), "np.quantile is not differentiable in q"),
    "quantile_tangent": (("q",), "np.quantile is not differentiable in q (its source refuses it: .reshape)"),
    "nan_quantile_adjoint": (("q",), "np.nanquantile is not differentiable in q"),
    "nan_quantile_tangent": (("q",), "np.nanquantile is not differentiable in q (its source refuses it: "
                                     "np.take_along_axis's indices)"),
}


def _rule_samples():
    path = pathlib.Path(__file__).resolve().parents[1] / "rules" / "rule_samples.py"
    spec = importlib.util.spec_from_file_location("closure_rule_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _is_real(a) -> bool:
    return (type(a) is float or isinstance(a, np.floating)
            or (type(a) is np.ndarray and a.dtype.kind == "f" and a.size > 0))


def _has_real(a) -> bool:
    if isinstance(a, dict):
        return any(_has_real(v) for v in a.values())
    if isinstance(a, (list, tuple)):
        return any(_has_real(v) for v in a)
    return _is_real(a)


def _shape_key(a):
    """What makes two argument tuples different specializations: types, shapes and the values of non-arrays."""
    if isinstance(a, (list, tuple)):
        return (type(a).__name__, tuple(_shape_key(v) for v in a))
    if isinstance(a, dict):
        return ("dict", tuple(sorted((k, _shape_key(v)) for k, v in a.items())))
    if isinstance(a, np.ndarray):
        return ("array", a.shape, a.dtype.str)
    if isinstance(a, (float, complex, np.floating, np.complexfloating)):
        return type(a).__name__
    return repr(a)


def _weighted_terms(out, names: dict, rng) -> str:
    """``np.sum(np.real(Wj * out[...]))`` over the float and complex leaves of ``out``, summed ("0.0" if none)."""
    terms = []

    def walk(o, path):
        if isinstance(o, (tuple, list)):
            for i, v in enumerate(o):
                walk(v, f"{path}[{i}]")
        elif isinstance(o, (float, complex, np.ndarray, np.floating, np.complexfloating)) \
                and np.asarray(o).dtype.kind in "fc" and np.size(o) > 0:
            weight = f"W{len(terms)}"
            names[weight] = rng.standard_normal(np.shape(o))
            terms.append(f"np.sum(np.real({weight} * out{path}))")

    walk(out, "")
    return " + ".join(terms) or "0.0"


class _Leaves:
    """An argument list rewritten as source: each real float leaf (inside lists and tuples too) a parameter,
    everything else a constant."""

    def __init__(self, args, kwargs, differentiable=lambda position: True):
        self.names: dict = {"np": np}
        self.params: list[str] = []
        self.values: list = []
        parts = [self._spell(a, f"a{i}", differentiable(i)) for i, a in enumerate(args)]
        parts += [f"{k}={self._spell(v, f'k_{k}', differentiable(k))}" for k, v in kwargs.items()]
        self.arguments = ", ".join(parts)

    def _spell(self, a, label: str, differentiable: bool) -> str:
        if differentiable and isinstance(a, (list, tuple)) and _has_real(a):
            items = [self._spell(v, f"{label}_{j}", True) for j, v in enumerate(a)]
            if isinstance(a, list):
                return f"[{', '.join(items)}]"
            if type(a) is tuple:
                return f"({', '.join(items)},)" if items else "()"
        if differentiable and _is_real(a):
            self.params.append(f"x_{label}")
            self.values.append(float(a) if isinstance(a, np.floating) else a)
            return f"x_{label}"
        self.names[f"C_{label}"] = a
        return f"C_{label}"


# -- recording the arguments that generated code passes to the helpers ----------------------------------------

def _scalar_of_rule(primal, rule, args, kwargs):
    """The scalar and its real leaves for one sample of a rule, differentiable parameters only; None if none."""
    params = list(rule.signature.parameters.values())

    def name_of(position):
        if isinstance(position, str):
            return position
        for j, p in enumerate(params):
            if p.kind == p.VAR_POSITIONAL:
                return p.name
            if j == position:
                return p.name
        return None

    differentiable = lambda position: name_of(position) in rule.adjoints  # noqa: E731
    leaves = _Leaves(args, kwargs, differentiable)
    if not leaves.params:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            out = primal(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        except Exception:
            return None
    names = dict(leaves.names, PRIMAL=primal)
    terms = _weighted_terms(out, names, np.random.default_rng(1))
    if terms == "0.0":
        return None
    source = f"def scalar({', '.join(leaves.params)}):\n    out = PRIMAL({leaves.arguments})\n    return {terms}\n"
    filename = f"<runtime closure sample {next(_numbering)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), names)
    return names["scalar"], leaves.values



def _tangent(value, rng):
    return float(rng.standard_normal()) if type(value) is float else rng.standard_normal(np.shape(value))


# User code that the lowering turns into runtime calls with rules but no samples (np.add.at, np.r_, np.c_): run
# as the rules' samples are, to record what their rules' templates pass.
_INDEX = np.array([0, 2, 0])
_WEIGHTS = np.random.default_rng(4).standard_normal(8)


def _added_at(y, v):
    z = y * 1.0
    np.add.at(z, _INDEX, v)
    return np.sum(_WEIGHTS[:4] * z)


def _rows(a, b):
    return np.sum(_WEIGHTS[:5] * np.r_[a, b])


def _columns(a, b):
    return np.sum(_WEIGHTS[:6].reshape(3, 2) * np.c_[a, b])


LOWERED = [(_added_at, (4, 3)), (_rows, (2, 3)), (_columns, (3, 3))]


def _record() -> dict[str, list[tuple[tuple, dict]]]:
    samples = _rule_samples()
    sd = pipeline._NAMESPACES["sd"]
    recorded: dict[str, list] = {}
    keys: dict[str, list] = {}
    originals = {name: getattr(sd, name) for name in THROUGH_SOURCE}

    without_floats: dict[str, list] = {}  # calls with no real float argument, kept in case there is no other

    def recorder(name, helper):
        def recording(*args, **kwargs):
            key = (_shape_key(args), _shape_key(kwargs))
            kept = recorded if _has_real((args, kwargs)) else without_floats
            if len(kept.get(name, ())) < PER_NAME and key not in keys.get(name, ()):
                keys.setdefault(name, []).append(key)
                kept.setdefault(name, []).append(copy.deepcopy((args, kwargs)))
            return helper(*args, **kwargs)
        return recording

    for name, helper in originals.items():
        setattr(sd, name, recorder(name, helper))
    try:
        for table, primal, rule in samples.library_rules():
            if table != "function" or isinstance(primal, RuntimeFunction) or not callable(primal):
                continue
            text = " ".join([*rule.adjoints.values(), *rule.jvps.values()])
            for sample in samples.SAMPLES.get(samples.rule_key(table, primal), []):
                wanted = [name for name in re.findall(r"\bsd\.(\w+)", text)
                          if name in originals and len(recorded.get(name, ())) < PER_NAME]
                if not wanted:
                    break  # a rule is run only while a helper its templates call lacks arguments
                rng = np.random.default_rng(0)
                made = _scalar_of_rule(primal, rule, *sample(rng))
                if made is None:
                    continue
                scalar, values = made
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    try:
                        sourcediff.vjp(scalar, *copy.deepcopy(values))[1](1.0)
                    except Exception:
                        pass  # a first derivative that does not run records what it reached
                    try:
                        sourcediff.jvp(scalar, copy.deepcopy(values), [_tangent(v, rng) for v in values])
                    except Exception:
                        pass
        for scalar, sizes in LOWERED:
            rng = np.random.default_rng(0)
            values = [rng.standard_normal(size) for size in sizes]
            sourcediff.vjp(scalar, *copy.deepcopy(values))[1](1.0)
            sourcediff.jvp(scalar, copy.deepcopy(values), [_tangent(v, rng) for v in values])
    finally:
        for name, helper in originals.items():
            setattr(sd, name, helper)
    return {**without_floats, **recorded}


@pytest.fixture(scope="module")
def recorded():
    return _record()


# -- differentiating a helper through its source ----------------------------------------------------------------

def _probe(name: str, leaves: _Leaves, out):
    """``s`` compiled as generated code (so that ``sd.<name>`` reads as a runtime call)."""
    runtime = dict(leaves.names, sd=pipeline._NAMESPACES["sd"])
    terms = _weighted_terms(out, runtime, np.random.default_rng(2))
    params = leaves.params or ["x_dummy"]
    body = f"    out = sd.{name}({leaves.arguments})\n"
    result = terms if leaves.params else f"x_dummy * ({terms})"
    source = f"def probe({', '.join(params)}):\n{body}    return {result}\n"

    def anchor():
        pass

    filename = f"<sourcediff closure test of {name} {abs(hash(source))}>"
    return emit.compile_function(source, "probe", filename, anchor, runtime)


def _dot(a, b) -> float:
    return float(sum(np.sum(np.asarray(x) * np.asarray(y)) for x, y in zip(a, b)))


def _check(name: str, args: tuple, kwargs: dict, refusals: list[str]) -> list[str]:
    """Checks both modes on one argument tuple; appends refusals; returns the modes checked numerically."""
    helper = getattr(pipeline._NAMESPACES["sd"], name)
    params = list(inspect.signature(helper).parameters)
    held = HELD.get(name, ((), ""))[0]
    never = NEVER_ACTIVE.get(name, ((), ""))[0]

    def parameter(position):
        return position if isinstance(position, str) else params[position] if position < len(params) else None

    leaves = _Leaves(copy.deepcopy(args), copy.deepcopy(kwargs), lambda p: parameter(p) not in (*held, *never))
    out = helper(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    probe = _probe(name, leaves, out)
    if not leaves.params:  # an index or shape helper: nothing to differentiate, and the derivative says so
        value = probe(1.0)
        np.testing.assert_allclose(sourcediff.grad(probe)(1.0), value, err_msg=f"sd.{name}: grad")
        np.testing.assert_allclose(sourcediff.jvp(probe, (1.0,), (1.0,))[1], value, err_msg=f"sd.{name}: jvp")
        return ["constant"]
    rng = np.random.default_rng(5)
    values = leaves.values
    tangents = [_structural(v, _tangent(v, rng)) for v in values]
    eps = 1e-6

    def at(step):
        return probe(*[v + step * t for v, t in zip(copy.deepcopy(values), tangents)])

    expected = (at(eps) - at(-eps)) / (2 * eps)
    scale = max(1.0, abs(expected))
    checked = []
    for mode in ("reverse", "forward"):
        try:
            if mode == "reverse":
                grads = sourcediff.grad(probe, argnums=tuple(range(len(values))))(*copy.deepcopy(values))
                got = _dot(grads, tangents)
            else:
                got = float(sourcediff.jvp(probe, copy.deepcopy(values), tangents)[1])
        except SourcediffError as exc:
            refusals.append(f"{mode}: {str(exc).splitlines()[0]}")
            continue
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=f"sd.{name} {mode} mode, arguments {_shape_key((args, kwargs))}")
        checked.append(mode)
    if held:  # held arguments are not checked numerically, but their derivatives must be built and run
        every = _Leaves(copy.deepcopy(args), copy.deepcopy(kwargs), lambda p: parameter(p) not in never)
        whole = _probe(name, every, out)
        for mode in ("reverse", "forward"):
            try:
                if mode == "reverse":
                    sourcediff.grad(whole, argnums=tuple(range(len(every.values))))(*copy.deepcopy(every.values))
                else:
                    sourcediff.jvp(whole, copy.deepcopy(every.values), [_tangent(v, rng) for v in every.values])
            except SourcediffError as exc:
                refusals.append(f"{mode}, held arguments too: {str(exc).splitlines()[0]}")
    return checked


def _structural(value, tangent):
    """``tangent``, zero where ``value`` is an exact zero (a triangle, a mask) or not finite."""
    keep = np.logical_and(np.asarray(value) != 0, np.isfinite(value))
    return float(tangent * keep) if type(value) is float else np.where(keep, tangent, 0.0)


def _arguments(name: str, recorded: dict) -> list[tuple[tuple, dict]]:
    if name in UNSAMPLED:
        return [UNSAMPLED[name](np.random.default_rng(11))]
    return recorded.get(name, [])


def test_every_helper_through_source_is_sampled_or_has_a_written_sample(recorded):
    assert set(UNSAMPLED) <= set(THROUGH_SOURCE) and set(KNOWN_REFUSED) <= set(THROUGH_SOURCE)
    for name, (held, why) in [*HELD.items(), *NEVER_ACTIVE.items()]:
        assert set(held) <= set(inspect.signature(getattr(pipeline._NAMESPACES["sd"], name)).parameters), name
    reached_now = sorted(set(UNSAMPLED) & set(recorded))
    assert not reached_now, f"the rule samples reach {reached_now} now: remove them from UNSAMPLED"
    missing = sorted(set(THROUGH_SOURCE) - set(recorded) - set(UNSAMPLED))
    assert not missing, f"no sample reaches {missing}: write one in UNSAMPLED"


@pytest.mark.parametrize("name", THROUGH_SOURCE)
def test_a_helper_is_differentiated_through_its_source(name, recorded):
    calls = _arguments(name, recorded)
    if not calls:
        pytest.fail(f"sd.{name}: no arguments (see the test above)")
    refusals: list[str] = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for args, kwargs in calls:
            _check(name, args, kwargs, refusals)
    if name in KNOWN_REFUSED:
        assert refusals, f"sd.{name} is differentiated through its source now: remove it from KNOWN_REFUSED"
        assert any(KNOWN_REFUSED[name] in why for why in refusals), refusals
    else:
        assert not refusals, f"sd.{name} is refused: {refusals}"
