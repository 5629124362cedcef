"""Calls to any rule of sourcediff's registry, with arguments shaped and bounded like the rule's samples.

The rule samples (``tests/rules/rule_samples.py``: per rule, argument shapes,
keyword options and domains) are read once, by drawing each sample a few
times, and every leaf of a sample's arguments gets a way to be written:

* ``interval`` (a float, or a vector of independent entries, at a parameter
  the rule differentiates): a program value squashed into the range the draws
  cover, ``mid + half * tanh(2 v - 2)``; where the draws are standard normal
  any value will do, and the program value is sometimes passed as it is;
* ``perturbed`` (matrices, vectors with fixed entries, anything with
  structure): the program's own draw of it plus a small smooth perturbation by
  a program value, ``C + r * tanh(v)``; where the draws are standard normal, a
  program matrix of the shape is sometimes passed as it is;
* anything else (integers, options, index arrays, parameters the rule does not
  differentiate) is the program's own draw of it, as a constant.

A sample whose differentiable arguments are all constant gets one of them
perturbed. Each sample is then called with arguments mapped from random
program values; if that fails it is tried with every argument perturbed, and
dropped if that fails too. The same calls tell what the call returns (a float,
an array, a tuple of them), so that the result can be reduced to a float.
Trailing positional arguments that the function also takes by keyword
(checked by calling it) are sometimes passed by keyword.
Rules without samples are skipped and counted (:func:`skipped`).
"""
from __future__ import annotations

import builtins
import importlib
import importlib.util
import inspect
import math
import operator
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from .context import Context
    from .expressions import Exprs

DRAWS = 12    # draws of each sample to learn its arguments' kinds and ranges
TRIALS = 6    # calls with mapped arguments that a sample must survive
LARGEST = 1e6  # results must stay below this (finite differences cannot resolve much larger values)
BINARY_SYNTAX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
                 operator.floordiv: "//", operator.mod: "%", operator.pow: "**", operator.matmul: "@"}
UNARY_SYNTAX = {operator.neg: "-", operator.pos: "+"}


@dataclass(frozen=True)
class Slot:
    """How one float leaf of a sample's arguments is written: ``interval`` (``low``..``high``, ``real`` when
    any number will do) or ``perturbed`` (the drawn value plus at most ``radius``)."""

    how: str
    low: float = 0.0
    high: float = 0.0
    radius: float = 0.0
    real: bool = False


@dataclass(frozen=True)
class Sample:
    """A rule sample: its draw function, the mapped leaves (by path), and what the call returns."""

    draw: Callable
    slots: tuple[tuple[tuple, Slot], ...]
    result: tuple
    stable: bool  # the result's structure (and shapes) did not change with the arguments' values
    keywords: tuple[tuple[int, str], ...] = ()  # trailing positional arguments that may be passed by keyword


@dataclass(frozen=True)
class RuleCall:
    """How to write a call to one rule: ``form`` is ``function``, ``binary``, ``unary``, ``method`` or
    ``attribute``; ``callee`` the function's name in the program (or the operator, method or attribute)."""

    name: str
    form: str
    callee: str
    imports: tuple[str, ...]
    samples: tuple[Sample, ...]


class Unwritable(Exception):
    """A value that cannot be written as a Python literal."""


# -- the table ---------------------------------------------------------------------------------------

READS_ONE_TRIANGLE = frozenset({"np.linalg.cholesky", "np.linalg.eigh", "np.linalg.eigvalsh"})
"""Rules whose primal reads one triangle of a matrix, where JAX's version reads the symmetrized matrix."""
JAX_HOLDS_CONSTANT = frozenset({"np.arange"})
"""Rules whose JAX version takes its arguments as constants: ``jnp.arange(start, ...)`` gives no derivative in
``start``, where the values ``start + k * step`` have one (seed 1300502036)."""


@lru_cache(maxsize=1)
def _rule_samples():
    """``tests/rules/rule_samples.py``, loaded by path (``tests`` is not a package)."""
    path = Path(__file__).resolve().parents[1] / "rules" / "rule_samples.py"
    spec = importlib.util.spec_from_file_location("fuzz_rule_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def _build() -> tuple[tuple[RuleCall, ...], dict[str, list[str]]]:
    from sourcediff.rules.registry import RuntimeFunction

    samples = _rule_samples()
    calls, skipped = [], {"no samples": [], "runtime": [], "no name": [], "no usable sample": []}
    for table, key, rule in samples.library_rules():
        label = f"{table}:{getattr(key, '__name__', key)}"
        if isinstance(key, RuntimeFunction):
            skipped["runtime"].append(label)
            continue
        drawn = samples.SAMPLES.get(samples.rule_key(table, key))
        if not drawn:
            skipped["no samples"].append(label)
            continue
        if table == "method":
            form, callee, imports, function = "method", key, (), lambda x, *a, _n=key, **k: getattr(x, _n)(*a, **k)
        elif table == "attribute":
            form, callee, imports, function = "attribute", key, (), lambda x, _n=key: getattr(x, _n)
        elif key in BINARY_SYNTAX or key in UNARY_SYNTAX:
            form = "binary" if key in BINARY_SYNTAX else "unary"
            callee, imports, function = BINARY_SYNTAX.get(key) or UNARY_SYNTAX[key], (), key
        else:
            found = _name_of(key)
            if found is None:
                skipped["no name"].append(label)
                continue
            form, (callee, imports), function = "function", found, key
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            usable = [s for s in (_learn(d, rule, function) for d in drawn) if s is not None]
        if not usable:
            skipped["no usable sample"].append(label)
            continue
        name = {"method": f".{callee}()", "attribute": f".{callee}",
                "binary": f"operator.{getattr(key, '__name__', '')}",
                "unary": f"operator.{getattr(key, '__name__', '')}"}.get(form, callee)
        if table == "complex":  # the variant for complex arguments (registry.defcomplex)
            name += " [complex]"
        calls.append(RuleCall(name, form, callee, imports, tuple(usable)))
    return tuple(sorted(calls, key=lambda call: call.name)), skipped  # by name: the same whatever loaded first


def calls() -> tuple[RuleCall, ...]:
    """Every rule the generator can call (those with a usable sample), by name."""
    return _build()[0]


def skipped() -> dict[str, list[str]]:
    """The rules the generator cannot call, by why: no samples, a runtime function, no name, no usable sample."""
    return _build()[1]


def _namespaces() -> list[tuple[str, Any, tuple[str, ...]]]:
    spaces = [("np", np, ()), ("np.linalg", np.linalg, ()), ("np.fft", np.fft, ()), ("math", math, ()),
              ("", builtins, ())]
    if importlib.util.find_spec("scipy") is not None:
        import scipy.linalg
        import scipy.signal
        import scipy.special

        spaces.append(("special", scipy.special, ("from scipy import special",)))
        spaces.append(("scipy.linalg", scipy.linalg, ("import scipy.linalg",)))
        spaces.append(("scipy.signal", scipy.signal, ("import scipy.signal",)))
    spaces.append(("operator", operator, ("import operator",)))
    return spaces


def _name_of(primal: Any) -> tuple[str, tuple[str, ...]] | None:
    """The text a program calls ``primal`` by, and the imports it needs (the function's own module last)."""
    spaces = _namespaces()
    module = getattr(primal, "__module__", None)
    if module:
        try:
            spaces.append((module, importlib.import_module(module), (f"import {module}",)))
        except ImportError:
            pass
    names = [getattr(primal, "__name__", "")]
    owner = getattr(primal, "__self__", None)
    if owner is not None and type(owner).__module__.startswith("scipy.stats"):  # stats.norm.logpdf
        from scipy import stats

        for k, v in vars(stats).items():
            if v is owner and not k.startswith("_"):
                return f"stats.{k}.{names[0]}", ("from scipy import stats",)
    for prefix, space, imports in spaces:
        candidates = names + [k for k, v in vars(space).items() if v is primal and not k.startswith("_")]
        for attr in candidates:
            if attr and vars(space).get(attr) is primal:
                return (f"{prefix}.{attr}" if prefix else attr), imports
    return None


# -- learning a sample -------------------------------------------------------------------------------

def _leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """The leaves of an argument (lists and tuples are walked into) with their paths."""
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, path + (i,))]
    return [(path, value)]


def _arguments_leaves(args: list, kwargs: dict) -> list[tuple[tuple, Any]]:
    out = []
    for i, a in enumerate(args):
        out += _leaves(a, ("args", i))
    for k, v in kwargs.items():
        out += _leaves(v, ("kwargs", k))
    return out


def _is_float(x: Any) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind == "f"
    return isinstance(x, (float, np.floating))


def _is_complex(x: Any) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind == "c"
    return isinstance(x, (complex, np.complexfloating))


def _differentiated_paths(rule: Any, args: list, kwargs: dict) -> set[tuple]:
    """The top-level paths (``("args", i)``, ``("kwargs", k)``) bound to parameters the rule differentiates."""
    markers = [("args", i) for i in range(len(args))]
    try:
        bound = rule.signature.bind(*markers, **{k: ("kwargs", k) for k in kwargs})
    except TypeError:
        return set()
    active = set(rule.adjoints) - set(rule.cut)
    out = set()
    for param, value in bound.arguments.items():
        if param not in active:
            continue
        kind = rule.signature.parameters[param].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            out.update(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value.values())
        else:
            out.add(value)
    return out


def _slot(values: list[Any]) -> Slot | None:
    """How a float leaf drawn as ``values`` is mapped; ``None`` for a constant."""
    stack = np.asarray(values, dtype=float)
    if all(np.array_equal(stack[0], v, equal_nan=True) for v in stack[1:]):
        return None
    finite = np.isfinite(stack).all()
    spread = np.nanstd(stack, axis=0)
    if stack.ndim <= 2 and finite and np.all(spread > 0):  # floats and vectors of independent entries
        low, high = float(stack.min()), float(stack.max())
        mean, std = float(stack.mean()), float(stack.std())
        real = low < -1.0 < 1.0 < high and abs(mean) < 0.3 * std and 0.6 < std < 1.6
        return Slot("interval", low, high, real=real)
    radius = 0.1 * float(np.median(spread[np.isfinite(spread)])) if np.isfinite(spread).any() else 0.0
    return Slot("perturbed", radius=radius or _small(stack[0]), real=finite and _standard_normal(stack))


def _standard_normal(stack: np.ndarray) -> bool:
    """Whether draws look like independent standard normal entries (then any array of the shape will do)."""
    mean, spread = np.mean(stack, axis=0), np.std(stack, axis=0)
    return bool(abs(stack.mean()) < 0.3 and 0.6 < stack.std() < 1.6 and np.all(np.abs(mean) < 1.0)
                and np.all((0.4 < spread) & (spread < 1.8)))


def _small(value: Any) -> float:
    finite = np.asarray(value, dtype=float)[np.isfinite(value)]
    return 0.01 * max(1.0, float(np.max(np.abs(finite), initial=0.0)))


def _learn(draw: Callable, rule: Any, function: Callable) -> Sample | None:
    """What the leaves of ``draw``'s arguments are and what the call returns, or ``None`` if unusable."""
    try:
        drawn = [draw(np.random.default_rng(k)) for k in range(DRAWS)]
        for args, kwargs in drawn:
            for _, leaf in _arguments_leaves(args, kwargs):
                literal(leaf)
    except Exception:
        return None
    args, kwargs = drawn[0]
    paths = [p for p, _ in _arguments_leaves(args, kwargs)]
    if any([p for p, _ in _arguments_leaves(a, k)] != paths for a, k in drawn):
        return None
    active = _differentiated_paths(rule, args, kwargs)
    slots, constants = {}, []
    for index, path in enumerate(paths):
        values = [_arguments_leaves(a, k)[index][1] for a, k in drawn]
        if path[:2] in active and all(_is_complex(v) for v in values):  # perturbed by real program values
            slots[path] = Slot("perturbed", radius=_small(np.abs(values[0])))
            continue
        if path[:2] not in active or not all(_is_float(v) for v in values):
            continue
        if len({np.shape(v) for v in values}) != 1:
            return None
        slot = _slot(values)
        if slot is None:
            constants.append((path, Slot("perturbed", radius=_small(values[0]))))
        else:
            slots[path] = slot
    if not slots and constants:
        slots = dict(constants[:1])
    for attempt in (slots, {p: Slot("perturbed", radius=_radius(s)) for p, s in slots.items()}):
        results = _try(draw, function, attempt)
        if results is not None:
            stable = all(r == results[0] for r in results)
            return Sample(draw, tuple(attempt.items()), results[0], stable, _keywords(draw, rule, function))
    return None


def _keywords(draw: Callable, rule: Any, function: Callable) -> tuple[tuple[int, str], ...]:
    """The trailing positional arguments (index, parameter) that the function also takes by keyword, with the
    same result."""
    args, kwargs = draw(np.random.default_rng(0))
    try:
        bound = rule.signature.bind(*range(len(args)), **{k: None for k in kwargs})
        expected = _numbers(function(*args, **kwargs))
    except Exception:
        return ()
    by_keyword = {}
    for param, value in bound.arguments.items():
        if rule.signature.parameters[param].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and param != "self" \
                and isinstance(value, int):
            by_keyword[value] = param
    out: list[tuple[int, str]] = []
    for i in reversed(range(len(args))):
        if i not in by_keyword:
            break
        moved = {by_keyword[j]: args[j] for j in range(i, len(args))}
        try:
            same = np.array_equal(_numbers(function(*args[:i], **moved, **kwargs)), expected, equal_nan=True)
        except Exception:
            break
        if not same:
            break
        out.insert(0, (i, by_keyword[i]))
    return tuple(out)


def _numbers(result: Any) -> np.ndarray:
    """Every number in ``result``, flat."""
    if isinstance(result, (list, tuple)):
        parts = [_numbers(r) for r in result]
        return np.concatenate(parts) if parts else np.zeros(0)
    try:
        return np.ravel(np.asarray(result, dtype=float))
    except (TypeError, ValueError):
        return np.zeros(0)


def _radius(slot: Slot) -> float:
    return slot.radius if slot.how == "perturbed" else 0.05 * (slot.high - slot.low)


def _try(draw: Callable, function: Callable, slots: dict[tuple, Slot]) -> list[tuple] | None:
    """The structures of the results of ``TRIALS`` calls with mapped arguments, or ``None`` if one fails."""
    results = []
    for trial in range(TRIALS):
        rng = np.random.default_rng(1000 + trial)
        args, kwargs = draw(rng)
        replacements = {}
        for path, leaf in _arguments_leaves(args, kwargs):
            slot = slots.get(path)
            if slot is None:
                continue
            if slot.how == "interval":
                v = np.tanh(2.0 * rng.uniform(-0.5, 2.5, np.shape(leaf)) - 2.0)
                value = (slot.low + slot.high) / 2 + 0.98 * (slot.high - slot.low) / 2 * v
            else:
                value = leaf + slot.radius * np.tanh(rng.uniform(-3.0, 3.0, np.shape(leaf)))
            replacements[path] = float(value) if isinstance(leaf, float) else value
        args, kwargs = _replaced(args, kwargs, replacements)
        try:
            result = function(*args, **kwargs)
        except Exception:
            return None
        if not _finite(result):
            return None
        results.append(structure(result))
    return results


def _replaced(args: list, kwargs: dict, replacements: dict[tuple, Any]) -> tuple[list, dict]:
    def walk(value, path):
        if path in replacements:
            return replacements[path]
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(walk(v, path + (i,)) for i, v in enumerate(value))
        return value
    return ([walk(a, ("args", i)) for i, a in enumerate(args)],
            {k: walk(v, ("kwargs", k)) for k, v in kwargs.items()})


def _finite(result: Any) -> bool:
    """Whether every number in ``result`` is finite and below ``LARGEST`` (and none is complex)."""
    if isinstance(result, (list, tuple)):
        return all(_finite(r) for r in result)
    if _is_float(result) or (isinstance(result, np.ndarray) and result.dtype.kind in "iub"):
        return bool(np.all(np.abs(result) < LARGEST))
    if _is_complex(result):
        return bool(np.all(np.abs(result) < LARGEST))
    return True


def structure(result: Any) -> tuple:
    """What a call returned: ``("float",)``, ``("array", shape)``, ``("ints", shape)``, ``("seq", parts)`` or
    ``("other",)``."""
    if isinstance(result, (bool, np.bool_)):
        return ("other",)
    if isinstance(result, (list, tuple)):
        return ("seq", tuple(structure(r) for r in result))
    if _is_float(result):
        return ("array", result.shape) if isinstance(result, np.ndarray) and result.ndim else ("float",)
    if isinstance(result, np.ndarray) and result.dtype.kind in "iu":
        return ("ints", result.shape)
    if _is_complex(result):
        return ("complex", np.shape(result))
    return ("other",)


# -- writing values ----------------------------------------------------------------------------------

def _number(v: float) -> str:
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(float(v))


def _nested(items: Any) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(_nested(i) for i in items) + "]"
    if isinstance(items, float):
        return _number(items)
    return repr(items)


def literal(x: Any) -> str:
    """Python source for the constant ``x`` (numbers, strings, arrays, dtypes, lists and tuples of them)."""
    if x is None or isinstance(x, (bool, str)):
        return repr(x)
    if isinstance(x, np.bool_):
        return f"np.bool_({bool(x)})"
    if isinstance(x, int):
        return repr(x)
    if isinstance(x, float):
        return _number(x)
    if isinstance(x, (complex, np.complexfloating)):
        return f"({_number(x.real)} + {_number(x.imag)}j)"
    if isinstance(x, (np.integer, np.floating)):
        return f"np.{type(x).__name__}({_nested(x.item())})"
    if isinstance(x, np.ndarray):
        if x.dtype == np.complex128 and x.size:
            return f"({literal(x.real.copy())} + 1j * {literal(x.imag.copy())})"
        defaults = {"f": np.float64, "i": np.int64, "b": np.bool_}
        if x.size == 0 or x.dtype.kind not in defaults:
            raise Unwritable(repr(x))
        dtype = "" if x.dtype == defaults[x.dtype.kind] else f", dtype=np.{x.dtype.name}"
        return f"np.array({_nested(x.tolist())}{dtype})"
    if isinstance(x, type):
        if getattr(builtins, x.__name__, None) is x:
            return x.__name__
        if getattr(np, x.__name__, None) is x:
            return f"np.{x.__name__}"
        raise Unwritable(repr(x))
    if isinstance(x, list):
        return "[" + ", ".join(literal(v) for v in x) + "]"
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return "(" + ", ".join(literal(v) for v in x) + ("," if len(x) == 1 else "") + ")"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in x.items()) + "}"
    raise Unwritable(repr(x))


def _short(v: float) -> str:
    return repr(float(f"{v:.6g}"))


# -- writing calls -----------------------------------------------------------------------------------

def call_text(c: "Context", e: "Exprs", call: RuleCall, sample: Sample, depth: int) -> str:
    """A call to ``call``'s rule with ``sample``'s arguments, its float ones made from program values."""
    c.feature("registry_call", "rule:" + call.name)
    if call.name in READS_ONE_TRIANGLE | JAX_HOLDS_CONSTANT:  # JAX differentiates these otherwise: no comparison
        c.mutates = True
    c.imports.update(call.imports)
    args, kwargs = sample.draw(np.random.default_rng(c.rng.randrange(2 ** 31)))
    slots = dict(sample.slots)
    mapped = {path: _mapped(c, e, slot, leaf, depth) for path, leaf in _arguments_leaves(args, kwargs)
              if (slot := slots.get(path)) is not None}

    def write(value, path):
        if path in mapped:
            return mapped[path]
        if isinstance(value, list):
            return "[" + ", ".join(write(v, path + (i,)) for i, v in enumerate(value)) + "]"
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            parts = [write(v, path + (i,)) for i, v in enumerate(value)]
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        return literal(value)

    parts = [write(a, ("args", i)) for i, a in enumerate(args)]
    if sample.keywords and call.form not in ("attribute", "binary", "unary") and c.chance(0.25):
        # some positional arguments by keyword instead
        c.feature("registry_keywords")
        start = c.rng.randrange(len(sample.keywords))
        for i, param in sample.keywords[start:]:
            parts[i] = f"{param}={parts[i]}"
    parts += [f"{k}={write(v, ('kwargs', k))}" for k, v in kwargs.items()]
    if call.form == "binary":
        return f"({e.atom(parts[0])} {call.callee} {e.atom(parts[1])})"
    if call.form == "unary":
        return f"({call.callee}{e.atom(parts[0])})"
    if call.form == "attribute":
        return f"{e.atom(parts[0])}.{call.callee}"
    if call.form == "method":
        return f"{e.atom(parts[0])}.{call.callee}({', '.join(parts[1:])})"
    return f"{call.callee}({', '.join(parts)})"


def _mapped(c: "Context", e: "Exprs", slot: Slot, leaf: Any, depth: int) -> str:
    """A program value, of ``leaf``'s shape, mapped as ``slot`` says."""
    shape = np.shape(leaf)
    if slot.how == "interval":
        value = e.scalar(depth) if not shape else e.vector(shape[0], depth)
        if slot.real and c.chance(0.3):
            return value
        mid, half = (slot.low + slot.high) / 2, 0.98 * (slot.high - slot.low) / 2
        tanh = "math.tanh" if not shape else "np.tanh"
        return f"({_short(mid)} + {_short(half)} * {tanh}(2.0 * {e.atom(value)} - 2.0))"
    if isinstance(leaf, np.ndarray):
        center = np.round(leaf, 3)
    elif isinstance(leaf, complex):
        center = complex(round(leaf.real, 3), round(leaf.imag, 3))
    else:
        center = type(leaf)(round(float(leaf), 3))
    exact = [m.name for m in c.scope.arrays(shape)] if len(shape) >= 2 else []
    if slot.real and exact and c.chance(0.4):  # the program's own matrix: the call may return a view of it
        return c.choice(exact)
    if not shape or c.chance(0.3):
        perturbation = f"math.tanh({e.scalar(depth)})"
    elif exact and c.chance(0.5):
        perturbation = f"np.tanh({c.choice(exact)})"
    else:
        perturbation = f"np.tanh({e.vector(shape[-1], depth)})"
    return f"({literal(center)} + {_short(slot.radius)} * {perturbation})"


def reduction(c: "Context", text: str, result: tuple, stable: bool) -> str | None:
    """A float made from the value of ``text``, whose structure is ``result`` (``None``: nothing to use)."""
    kind = result[0]
    if kind == "float":
        return text
    if kind == "ints":
        return f"0.1 * np.sum({text})"
    if kind == "array":
        shape = result[1]
        size = int(np.prod(shape))
        forms = [f"np.sum(np.sin({text}))", f"np.sum(np.tanh({text}))"]
        if stable and size > 1:
            forms.append(f"np.sum({text} * np.linspace(0.5, 1.5, {size}).reshape({shape!r}))")
        return c.choice(forms)
    if kind == "complex":  # back to a real value (the function's output is real)
        return c.choice([f"np.sum(np.abs({text}) ** 2)", f"np.sum(np.real({text}) * np.imag({text}))"])
    if kind == "seq":
        usable = [(i, part) for i, part in enumerate(result[1]) if part[0] in ("float", "array", "seq", "complex")]
        if not usable:
            return None
        i, part = c.choice(usable)
        return reduction(c, f"{text}[{i}]", part, stable)
    return None


def draw_call(c: "Context") -> tuple[RuleCall, Sample]:
    """A rule (each with the same chance) and one of its samples."""
    call = c.choice(calls())
    return call, c.choice(call.samples)


def inline(c: "Context", e: "Exprs", depth: int) -> str | None:
    """A float expression around a call to a random rule (``None`` if its result cannot make one)."""
    call, sample = draw_call(c)
    text = call_text(c, e, call, sample, depth)
    out = reduction(c, text, sample.result, sample.stable)
    return e.atom(out) if out is not None else None


def registry_call(c: "Context", e: "Exprs", chosen: tuple[RuleCall, Sample] | None = None) -> None:
    """``r = <a call to a random rule>`` (or to the ``chosen`` one); its value reaches the output, and a float
    or an array of a fixed shape stays in scope for later fragments (never written into: it may be a view)."""
    from .fragments import publish
    from .scope import FLOAT, array

    call, sample = chosen or draw_call(c)
    name = c.scope.fresh("r")
    c.line(f"{name} = {call_text(c, e, call, sample, 1)}")
    out = reduction(c, name, sample.result, sample.stable)
    if out is not None:
        publish(c, out)
    kind = sample.result
    if sample.stable and kind[0] == "float":
        c.scope.add(name, FLOAT, frozen=True)
    elif sample.stable and kind[0] == "array" and len(kind[1]) in (1, 2) and 0 not in kind[1]:
        c.scope.add(name, array(*kind[1]), origin="view", frozen=True)


def coverage_note() -> str:
    """A line for the fuzz summary: how many rules the generator calls, and which it cannot."""
    lines = [f"registry calls: {len(calls())} rules drawn from, {len(skipped()['no samples'])} without samples"]
    for why, labels in skipped().items():
        if labels:
            shown = ", ".join(labels[:12]) + (" ..." if len(labels) > 12 else "")
            lines.append(f"  {len(labels)} rules skipped ({why}): {shown}")
    return "\n".join(lines)
