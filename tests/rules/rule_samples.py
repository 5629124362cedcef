"""Sample arguments for every rule of the library, for ``sourcediff.testing.check_rule``.

``SAMPLES`` maps a rule's key (a function, ``registry.runtime(name)``,
``registry.method(name)`` or ``registry.attribute(name)``) to a list of
samples; a sample draws ``(args, kwargs)`` from a random generator. Arguments
respect domains (log > 0, arcsin in (-1, 1), well-conditioned matrices) and
cover several shapes, broadcasting ones for rules that unbroadcast. Values are
drawn apart (no ties, no kinks within finite-difference reach) except where a
sample says otherwise.
"""
from __future__ import annotations

import builtins
import math
import operator
from typing import Any, Callable

import numpy as np

from sourcediff.rules import registry
from sourcediff.rules.registry import attribute, method, runtime
from sourcediff.rules.scalar_templates import TEMPLATES

Sample = Callable[[np.random.Generator], tuple[list, dict]]


def N(*shape: int) -> Callable:
    """Standard normal values of ``shape`` (a Python float for no shape)."""
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


def U(low: float, high: float, *shape: int) -> Callable:
    """Uniform values in ``[low, high]`` of ``shape`` (a Python float for no shape)."""
    return lambda rng: rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def M(n: int, *batch: int) -> Callable:
    """Well-conditioned ``n x n`` matrices (a stack of them with ``batch``)."""
    return lambda rng: rng.standard_normal((*batch, n, n)) * 0.3 + np.eye(n) * 2.0


def draw(x: Any, rng: np.random.Generator) -> Any:
    if callable(x) and not isinstance(x, type):
        return x(rng)
    if isinstance(x, list):
        return [draw(v, rng) for v in x]
    if isinstance(x, dict):
        return {k: draw(v, rng) for k, v in x.items()}
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(draw(v, rng) for v in x)
    return x


def S(*args: Any, **kwargs: Any) -> Sample:
    """A sample: ``args``/``kwargs`` with every generator (``N``, ``U``, ``M``) drawn, inside lists and tuples too."""
    return lambda rng: ([draw(a, rng) for a in args], {k: draw(v, rng) for k, v in kwargs.items()})


def with_zero(shape: tuple[int, ...]) -> Callable:
    """Normal values with one exact zero (``prod`` must be exact there)."""
    def make(rng):
        x = rng.standard_normal(shape)
        x.flat[1] = 0.0
        return x
    return make


UNARY_SHAPES = [(), (3,), (2, 3)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), ((2, 3), ())]


def _interval(entry: dict, param: str) -> tuple[float, float]:
    return entry["sample"][param]


def _table_samples(entry: dict, flavour: str) -> list[Sample]:
    params = [p.strip() for p in entry["params"].split(",")]
    if flavour == "math":
        return [S(*[U(*_interval(entry, p)) for p in params])]
    if len(params) == 1:
        return [S(U(*_interval(entry, params[0]), *shape)) for shape in UNARY_SHAPES]
    return [S(*[U(*_interval(entry, p), *shape) for p, shape in zip(params, shapes)]) for shapes in BINARY_SHAPES]


def _binary(make: Callable[[tuple], Any], make2: Callable[[tuple], Any] | None = None) -> list[Sample]:
    make2 = make2 or make
    return [S(make(a), make2(b)) for a, b in BINARY_SHAPES]


SAMPLES: dict[Any, list[Sample]] = {}

for _entry in TEMPLATES.values():
    if _entry["numpy"] is not None:
        SAMPLES[getattr(np, _entry["numpy"])] = _table_samples(_entry, "numpy")
    if _entry["math"] is not None:
        SAMPLES[getattr(math, _entry["math"])] = _table_samples(_entry, "math")

_normal = lambda shape: N(*shape)  # noqa: E731
_positive = lambda shape: U(0.3, 2.0, *shape)  # noqa: E731
_away = lambda shape: U(0.7, 2.0, *shape)  # noqa: E731
_exponent = lambda shape: U(-2.0, 2.0, *shape)  # noqa: E731

MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((1, 2, 3), (5, 3, 4)), ((6, 1, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)),
                 ((5, 2, 3), (3,))]

SAMPLES.update({
    # python.py
    operator.add: _binary(_normal), operator.sub: _binary(_normal), operator.mul: _binary(_normal),
    operator.truediv: _binary(_normal, _away),
    operator.mod: _binary(_away),
    operator.pow: _binary(_positive, _exponent),
    operator.matmul: [S(N(*a), N(*b)) for a, b in MATMUL_SHAPES],
    operator.neg: [S(N()), S(N(2, 3))], operator.pos: [S(N()), S(N(2, 3))],
    builtins.abs: [S(N()), S(N(3))],
    builtins.max: [S(N(), N(), N()), S([N(), N(), N()]), S(N(4)), S((N(), N()))],
    builtins.min: [S(N(), N(), N()), S([N(), N(), N()]), S(N(4))],
    builtins.float: [S(N()), S(np.float64(0.7))],
    builtins.sum: [S([N(3), N(3)]), S([N(), N()], N()), S(N(4, 3)), S((N(2), N(2)), N(2))],
    builtins.list: [S([N(), N()]), S((N(3), N(3))), S(N(3, 2))],
    builtins.tuple: [S([N(), N()]), S(N(3, 2))],
    # python.py: dicts (the key present, the key absent with a default, both with a default)
    method("get"): [S({"a": N(), "b": N(3)}, "b"), S({"a": N(2)}, "c", N(2)), S({"a": N()}, "a", N())],
    runtime("dict_values"): [S({"a": N(), "b": N(3)}), S({})],
    runtime("dict_items"): [S({"a": N(), "b": N(3)}), S({"k": N(2, 2)})],
    # math_module.py
    math.log: [S(U(0.3, 3.0)), S(U(0.3, 3.0), U(1.5, 4.0))],
    math.hypot: [S(N(), N())], math.pow: [S(U(0.3, 2.0), U(-2.0, 2.0))], math.fabs: [S(N())],
    math.ldexp: [S(N(), 3), S(N(), -2)], math.remainder: [S(U(0.1, 5.0), U(0.7, 1.3)), S(U(-5.0, -0.1), U(0.7, 1.3))],
    math.nextafter: [S(N(), 10.0), S(N(), -10.0)], math.frexp: [S(U(0.3, 5.0)), S(U(-5.0, -0.3))],
    math.modf: [S(U(0.1, 0.9)), S(U(-3.9, -3.1))],
    # numpy/elementwise.py
    np.hypot: _binary(_normal), np.power: _binary(_positive, _exponent),
    np.add: _binary(_normal), np.subtract: _binary(_normal), np.multiply: _binary(_normal),
    np.divide: _binary(_normal, _away), np.positive: [S(N(3))], np.abs: [S(N()), S(N(2, 3))],
    np.maximum: _binary(_normal), np.minimum: _binary(_normal), np.fmax: _binary(_normal),
    np.fmin: _binary(_normal),
    np.where: [S(lambda rng: rng.random((2, 3)) > 0.5, N(2, 3), N(3)),
               S(lambda rng: rng.random(3) > 0.5, N(), N(2, 3))],
    np.clip: [S(N(2, 3), -0.5, 0.5), S(N(2, 3), U(-0.8, -0.2), U(0.2, 0.8, 3)),
              S(N(4), U(-0.8, -0.2, 4), None), S(N(4), None, U(0.0, 0.5, 4))],
})

_AXES = [{}, {"axis": 0}, {"axis": 1}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)}]
for _f in (np.sum, np.mean, np.max, np.amax, np.min, np.amin):
    SAMPLES[_f] = [S(N(3, 4), **kw) for kw in _AXES] + [S(N(5))]
SAMPLES[np.prod] = [S(U(0.5, 1.5, 3, 4), **kw) for kw in _AXES] + [S(with_zero((3, 4)), axis=1),
                                                                    S(with_zero((3, 4)))]
for _f in (np.var, np.std):
    SAMPLES[_f] = [S(N(3, 4), **kw) for kw in _AXES] + [S(N(3, 4), axis=1, ddof=1), S(N(5), ddof=1)]
for _name, _f in (("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("max", np.max), ("min", np.min),
                  ("var", np.var), ("std", np.std)):
    SAMPLES[method(_name)] = SAMPLES[_f][:3]

SAMPLES.update({
    # numpy/shape.py
    np.transpose: [S(N(2, 3)), S(N(2, 3, 4), (1, 0, 2)), S(N(2, 3, 4), axes=(2, 0, 1))],
    np.reshape: [S(N(2, 3), (3, 2)), S(N(2, 3), (6,)), S(N(2, 3), (3, 2), order="F"), S(N(6), shape=(2, -1))],
    np.ravel: [S(N(2, 3)), S(N(2, 3), order="F")],
    np.squeeze: [S(N(1, 3, 1)), S(N(1, 3, 1), axis=0)],
    np.expand_dims: [S(N(2, 3), 1), S(N(3), axis=0)],
    np.concatenate: [S([N(2, 3), N(1, 3)]), S((N(2, 3), N(2, 1)), axis=1)],
    np.stack: [S([N(2), N(2)]), S([N(2, 3), N(2, 3)], axis=1)],
    np.hstack: [S((N(2, 1), N(2, 2))), S([N(3), N(2)])],
    np.vstack: [S((N(1, 3), N(2, 3))), S([N(3), N(3)])],
    np.append: [S(N(3), N(2)), S(N(2, 3), N(1, 3), axis=0)],
    runtime("concatenate_rows"): [S(N(2), N(3)), S(N(2), N())],
    runtime("concatenate_columns"): [S(N(3), N(3)), S(N(3, 2), N(3))],
    np.broadcast_to: [S(N(3), (2, 3)), S(N(), (2,)), S(N(2, 1), (2, 3))],
    np.copy: [S(N(2, 3)), S(N())],
    np.array: [S([N(), N()]), S([[N(), N()], [N(), N()]]), S(N(2, 3)), S(N(3), dtype=int),
               S(N(3), ndmin=2), S([N(2), N(2)])],
    np.asarray: [S([N(), N()]), S(N(2, 3)), S(N(3), dtype=np.int64)],
    np.full: [S((2, 3), N()), S((2, 3), N(3))],
    np.full_like: [S(N(2, 3), N()), S(N(2, 3), N(3))],
    np.linspace: [S(N(), N(), 5), S(N(), N(), 4, endpoint=False), S(N(2), N(2), 3), S(N(2), N(), 3, axis=1)],
    np.arange: [S(U(0.1, 0.5), 3.0, U(0.3, 0.4)), S(U(3.1, 3.4))],
    np.diag: [S(N(3)), S(N(3), 1), S(N(3, 3)), S(N(3, 4), k=-1)],
    method("ravel"): [S(N(2, 3)), S(N(2, 3), "F")],
    method("squeeze"): [S(N(1, 3)), S(N(1, 3, 1), axis=2)],
    method("copy"): [S(N(2, 3)), S({"a": N(2), "b": N()}), S([N(), N(3)])],
    method("reshape"): [S(N(2, 3), 3, 2), S(N(2, 3), (6,)), S(N(2, 3), 3, 2, order="F")],
    method("transpose"): [S(N(2, 3)), S(N(2, 3, 4), 1, 0, 2), S(N(2, 3, 4), (2, 0, 1))],
    method("flatten"): [S(N(2, 3)), S(N(2, 3), "F")],
    attribute("T"): [S(N(2, 3)), S(N(2, 3, 4))],
    np.swapaxes: [S(N(2, 3), 0, 1), S(N(2, 3, 4), -1, 0)],
    np.moveaxis: [S(N(2, 3, 4), 0, -1), S(N(2, 3, 4), (0, 1), (2, 0))],
    np.atleast_1d: [S(N()), S(N(3))], np.atleast_2d: [S(N()), S(N(3)), S(N(2, 3))],
    np.atleast_3d: [S(N()), S(N(3)), S(N(2, 3)), S(N(2, 3, 4))],
    np.diagonal: [S(N(3, 3)), S(N(3, 4), 1), S(N(4, 3), -1), S(N(2, 3, 3), 0, 1, 2), S(N(3, 2, 3), 1, 0, 2)],
    np.cumsum: [S(N(4)), S(N(2, 3)), S(N(2, 3), 0), S(N(2, 3), axis=-1), S(N())],
    np.cumprod: [S(N(4)), S(N(2, 3), 1), S(N(3, 2), axis=0), S(with_zero((4,))), S(with_zero((2, 3)), 1)],
    np.diff: [S(N(5)), S(N(5), 2), S(N(3, 4), 1, 0), S(N(3, 4), axis=-1)],
    np.repeat: [S(N(3), 2), S(N(2, 3), 2), S(N(2, 3), 3, 1), S(N(2, 3), np.array([1, 0, 2]), axis=1), S(N(), 3)],
    np.tile: [S(N(3), 2), S(N(2, 3), (2, 1)), S(N(3), (2, 2)), S(N(2, 1, 3), (2,))],
    np.kron: [S(N(2), N(3)), S(N(2, 2), N(3, 2)), S(N(2), N(3, 2)), S(N(2, 3, 2), N(2, 2))],
    method("swapaxes"): [S(N(2, 3), 0, 1)],
    method("diagonal"): [S(N(3, 3)), S(N(3, 4), 1)],
    method("cumsum"): [S(N(2, 3)), S(N(2, 3), 1)],
    method("cumprod"): [S(N(2, 3)), S(with_zero((2, 3)), 0)],
    method("repeat"): [S(N(2, 3), 2), S(N(2, 3), 2, 0)],
    # numpy/indexing.py: runtime functions, checked like any rule. assign_into writes into its target (the
    # check copies arguments before each call); not_a_view and immutable_value are checks that return their
    # value, so on fresh arrays and numbers they are the identity they claim to be; view_again is sampled here
    # where the view is a copy (finite differences cannot follow aliasing), and where it is a view of the base
    # in test_registry.py::test_view_again_of_a_view.
    runtime("assign_into"): [S(N(2, 3), N(3)), S(N(2, 3), N(2, 3)), S(N(), N())],
    runtime("restore"): [S(N(2, 3), N(2, 3)), S([N(), N()], [N(), N()]), S({"a": N(), "b": N(2)}, {"a": N(), "b": N(2)}),
                         S(N(), N())],
    runtime("not_a_view"): [S(N(3), "a view"), S(N(), "a number")],
    runtime("list_adjoint"): [S(N(3), [1.0, 2.0, 3.0]), S([N(), N()], [1.0, 2.0])],
    runtime("view_again"): [S(N(2), N(4), slice(0, 2)), S([N(), N()], [N(), N(), N()], slice(0, 2))],
    runtime("immutable_value"): [S(N(), "y += v", "a hint")],
    runtime("iterable"): [S([N(), N()]), S(N(3, 2)), S({"a": 1.0})],
    runtime("accumulate_at"): [S(N(5), np.array([0, 2, 2]), N(3)), S(N(5), slice(1, 3), N(2)),
                               S(N(5), np.array([4, 4]), N(), True), S(N(3, 2), (np.array([0, 0]),), N(2))],
    np.sort: [S(N(5)), S(N(3, 4), 0), S(N(3, 4), axis=None)],
    # numpy/linalg.py
    np.dot: [S(N(3), N(3)), S(N(2, 3), N(3)), S(N(2, 3), N(3, 4)), S(N(2, 3, 4), N(4)),
             S(N(2, 3, 4), N(5, 4, 2)), S(N(), N(3))],
    np.matmul: [S(N(*a), N(*b)) for a, b in MATMUL_SHAPES],
    np.outer: [S(N(3), N(4)), S(N(2, 2), N(3))],
    np.inner: [S(N(3), N(3)), S(N(2, 3), N(4, 3)), S(N(), N(3))],
    np.einsum: [S("ij,jk->ik", N(2, 3), N(3, 4)), S("i,i", N(3), N(3)), S("ii->i", N(3, 3)),
                S("...ij,...jk", N(5, 2, 3), N(5, 3, 4)), S("ij,jk,kl->il", N(2, 3), N(3, 4), N(4, 2)),
                S("ij->", N(2, 3)), S("ij,j->i", N(2, 3), N(1))],
    np.trace: [S(N(3, 3)), S(N(3, 4), 1), S(N(2, 3, 3), 0, 1, 2)],
    np.linalg.solve: [S(M(3), N(3)), S(M(3), N(3, 2)), S(M(3, 2), N(2, 3, 2)), S(M(3, 2), N(3))],
    np.linalg.inv: [S(M(3)), S(M(2, 4))],
    np.linalg.det: [S(M(3)), S(M(2, 4))],
    np.linalg.norm: [S(N(4)), S(N(4), 1), S(N(4), 2), S(N(4), np.inf), S(N(4), -np.inf), S(N(4), 3),
                     S(U(0.5, 1.5, 4), 0.5), S(U(0.5, 1.5, 4), -1), S(N(4), 0), S(N(3, 3), -2),
                     S(N(3, 4)), S(N(3, 4), "fro"), S(N(3, 4), "nuc"), S(N(3, 4), 1), S(N(3, 4), 2),
                     S(N(3, 4), np.inf), S(N(3, 4), -2), S(N(3, 4), axis=1), S(N(3, 4), 2, 0, True)],
    method("dot"): [S(N(2, 3), N(3)), S(N(2, 3), N(3, 2))],
    method("trace"): [S(N(3, 3)), S(N(3, 4), 1)],
})


def rule_key(table: str, key: Any) -> Any:
    """The key of ``SAMPLES`` for a rule registered in ``table`` under ``key``."""
    if table == "complex":
        return ("complex", key)
    return {"method": method, "attribute": attribute}.get(table, lambda k: k)(key)


def library_rules() -> list[tuple[str, Any, registry.ReverseRule]]:
    """Every rule declared by the rule library (``rules/``), as ``(table, key, rule)``; the SciPy rules, which
    load on first use, are loaded first (where SciPy is installed)."""
    import pathlib

    registry.load_lazy_rules()
    folder = str(pathlib.Path(registry.__file__).resolve().parent)
    found = []
    for table, rules in (("function", registry.REVERSE_RULES), ("method", registry.METHOD_RULES),
                         ("attribute", registry.ATTRIBUTE_RULES), ("complex", registry.COMPLEX_RULES)):
        for key, rule in rules.items():
            if str(pathlib.Path(rule.origin.rsplit(":", 1)[0]).resolve()).startswith(folder):
                found.append((table, key, rule))
    return found


def _sibling(name: str) -> Any:
    """The module ``name``.py next to this one, loaded by path (importlib mode puts no test folder on sys.path)."""
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location(name, pathlib.Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STATISTICS_SAMPLES = _sibling("samples_statistics").STATISTICS_SAMPLES
SAMPLES.update(STATISTICS_SAMPLES)


LINALG_SAMPLES = _sibling("samples_linalg").LINALG_SAMPLES
SAMPLES.update(LINALG_SAMPLES)


SHAPE_SAMPLES = _sibling("samples_shape").SHAPE_SAMPLES
SAMPLES.update(SHAPE_SAMPLES)


COMPLEX_SAMPLES = _sibling("samples_complex").COMPLEX_SAMPLES
SAMPLES.update(COMPLEX_SAMPLES)


NUMPY_MORE_SAMPLES = _sibling("samples_numpy_more").NUMPY_MORE_SAMPLES
SAMPLES.update(NUMPY_MORE_SAMPLES)


RUNTIME_SAMPLES = _sibling("samples_runtime").RUNTIME_SAMPLES
SAMPLES.update(RUNTIME_SAMPLES)


def _scipy_samples() -> dict:
    """The samples of the SciPy rules (``scipy.special``, ``scipy.linalg``, ``scipy.stats``, ``scipy.signal``),
    when SciPy is installed (loading them loads the lazy SciPy rules)."""
    import importlib.util

    if not importlib.util.find_spec("scipy"):
        return {}
    found = dict(_sibling("samples_scipy").SCIPY_SAMPLES)
    found.update(_sibling("samples_scipy_linalg").SCIPY_LINALG_SAMPLES)
    found.update(_sibling("samples_scipy_stats").SCIPY_STATS_SAMPLES)
    found.update(_sibling("samples_scipy_signal").SCIPY_SIGNAL_SAMPLES)
    return found


SCIPY_SAMPLES = _scipy_samples()
SAMPLES.update(SCIPY_SAMPLES)
