"""The program generator: ``generate(seed)`` writes one random program in the language sourcediff supports.

A program is a module with ``import numpy as np`` and ``import math``, maybe a
namedtuple or dataclass type and module constants, helper functions, and an
entry ``f(...)`` that returns a float. Its arguments are generated with it:
floats and arrays with entries in [0.5, 1.5], containers of those, and an int
``n`` for loop counts, which is never differentiated. The body is a sequence
of fragments (``fragments.py``, ``fragments_data.py``, ``helpers.py``) that
keep track of the names in scope, so the program runs without name or shape
errors; its value stays finite because every function is applied on a safe
domain (``expressions.py``).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from . import fragments, fragments_data, fragments_more, helpers, registry_leaves
from .context import Context
from .expressions import Exprs
from .program import Program
from .scope import FLOAT, INT, Kind, array, vec

FRAGMENTS = (fragments.CORE + fragments_data.DATA + helpers.HELPERS + fragments_more.MORE
             + [(3, registry_leaves.registry_call)])
"""Every fragment with its weight: what the body of the entry function is made of."""

_MUTATING = {fragments.stencil, fragments.fill_loop, helpers.stencil_helper, fragments_data.alias_write,
             fragments_more.matrix_update, fragments_more.container_write, fragments_more.argument_write,
             fragments_more.container_alias, fragments_more.stale_view}
PURE_FRAGMENTS = [(w, frag) for w, frag in FRAGMENTS if frag not in _MUTATING]
"""The fragments of a program without in-place updates (about a third of them), which JAX can check."""
PURE_SHARE = 0.3


def fragment(c: Context, e: Exprs) -> None:
    """Write one fragment, chosen by weight (from the mutation-free ones in a pure program)."""
    c.weighted(PURE_FRAGMENTS if c.pure else FRAGMENTS)(c, e)

NAMEDTUPLE = "Params"
DATACLASS = "State"


@dataclass
class Param:
    """A parameter of ``f``: its name, kind, the source of its value, and whether it may be differentiated."""

    name: str
    kind: Kind
    value: str
    differentiable: bool = True
    default: str | None = None


def generate(seed: int) -> Program:
    """The program for ``seed`` (the same seed gives the same program)."""
    rng = random.Random(seed)
    c = Context(rng, pure=rng.random() < PURE_SHARE)
    e = Exprs(c)
    params = _parameters(c)
    for p in params:
        c.scope.add(p.name, p.kind, origin="arg")
    constants = []
    if rng.random() < 0.2:
        c.feature("module_array")
        length = rng.choice(c.scope.lengths() or [3])
        constants.append(f"W0 = {_value(c, vec(length))}")
        c.scope.add("W0", vec(length), origin="module", frozen=True)
    if rng.random() < 0.1:
        c.feature("module_list")
        size = rng.randint(2, 4)
        constants.append(f"C0 = [{', '.join(_float_value(c) for _ in range(size))}]")
        c.scope.add("C0", Kind("floatlist", (size,)), origin="module", frozen=True)
    c.writer.level = 1
    c.budget = rng.choice([2, 3, 3, 4, 4, 5, 6])
    for _ in range(c.budget):
        fragment(c, e)
    outputs = c.outputs or [e.scalar()]
    if len(outputs) > 4:
        outputs = rng.sample(outputs[:-1], 3) + outputs[-1:]
    c.line("return " + " + ".join(outputs))
    body = c.writer.text()
    signature = ", ".join(p.name + (f"={p.default}" if p.default else "") for p in params)
    source = _header(c, params, constants) + "".join(h + "\n\n" for h in c.module) + f"def f({signature}):\n" + body
    compile(source, "<generated>", "exec", dont_inherit=True)  # a generator bug shows here, not as an invalid program
    passed = [p for p in params if p.default is None]
    args_source = "(" + "".join(p.value + ", " for p in passed).rstrip(" ") + ")"
    candidates = [i for i, p in enumerate(passed) if p.differentiable]
    chosen = sorted(rng.sample(candidates, rng.randint(1, len(candidates))))
    argnums: int | tuple[int, ...] = chosen[0] if len(chosen) == 1 and rng.random() < 0.4 else tuple(chosen)
    jax_compatible = not c.mutates and not any(p.kind.tag == "dataclass" for p in params)
    features = frozenset(c.features) | {"jax_compatible"} if jax_compatible else frozenset(c.features)
    return Program(source, args_source, argnums, seed, features, jax_compatible)


def _header(c: Context, params: list[Param], constants: list[str]) -> str:
    lines = ["import math", "", "import numpy as np"] + sorted(c.imports)
    tags = {p.kind.tag for p in params}
    if "namedtuple" in tags:
        lines.insert(1, "from collections import namedtuple")
    if "dataclass" in tags:
        lines.insert(1, "from dataclasses import dataclass")
    lines.append("")
    if "module_default" in c.features:
        lines.append(f"K = {c.loop_value}")
    if "module_constant" in c.features:
        lines.append("K_SCALE = 0.5")
    lines += constants
    for p in params:
        if p.kind.tag == "namedtuple":
            fields = ", ".join(repr(k) for k, _ in p.kind.fields)
            lines.append(f"{NAMEDTUPLE} = namedtuple({NAMEDTUPLE!r}, [{fields}])")
        if p.kind.tag == "dataclass":
            lines += ["", "", "@dataclass", f"class {DATACLASS}:"]
            lines += [f"    {k}: {'float' if kind == FLOAT else 'np.ndarray'}" for k, kind in p.kind.fields]
    return "\n".join(lines).rstrip() + "\n\n\n"


# -- arguments -----------------------------------------------------------------------------------

def _float_value(c: Context) -> str:
    return repr(round(c.rng.uniform(0.5, 1.5), 4))


def _value(c: Context, kind: Kind) -> str:
    if kind == FLOAT:
        return _float_value(c)
    if kind.is_array:
        values = np.round([c.rng.uniform(0.5, 1.5) for _ in range(int(np.prod(kind.shape)))], 4)
        return f"np.array({values.reshape(kind.shape).tolist()!r})"
    parts = [(k, _value(c, part)) for k, part in kind.fields]
    if kind.tag == "dict":
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in parts) + "}"
    if kind.tag == "list":
        return "[" + ", ".join(v for _, v in parts) + "]"
    if kind.tag == "tuple":
        return "(" + ", ".join(v for _, v in parts) + ")"
    return f"{kind.type_name}(" + ", ".join(f"{k}={v}" for k, v in parts) + ")"


def _container(c: Context, length: int) -> Kind:
    tag = c.weighted([(1.2, "dict"), (0.8, "list"), (0.8, "tuple"), (1, "namedtuple"), (1, "dataclass")])
    c.feature(f"{tag}_arg")
    if tag == "dict":
        fields = c.choice([(("a", FLOAT), ("w", vec(length))), (("k", FLOAT), ("b", vec(length)), ("c", FLOAT)),
                           (("w", vec(length)),)])
    elif tag == "list":
        fields = tuple((str(i), kind) for i, kind in enumerate(c.choice([[FLOAT, FLOAT], [vec(length)] * 2,
                                                                        [vec(length)] * 3])))
    elif tag == "tuple":
        fields = tuple((str(i), kind) for i, kind in enumerate(c.choice([[FLOAT, FLOAT], [FLOAT, vec(length)]])))
    elif tag == "namedtuple":
        fields = c.choice([(("k", FLOAT), ("w", vec(length))), (("k", FLOAT), ("g", FLOAT))])
    else:
        fields = (("u", vec(length)), ("c", FLOAT))
    name = {"namedtuple": NAMEDTUPLE, "dataclass": DATACLASS}.get(tag, "")
    return Kind(tag, fields=fields, type_name=name)


def _parameters(c: Context) -> list[Param]:
    """The parameters of ``f``: one to three that may be differentiated, then maybe ``n``."""
    rng = c.rng
    length, other = rng.randint(3, 5), rng.randint(2, 5)
    names = {"float": iter("abc"), "array": iter("xyz"), "matrix": iter(["M", "B"]),
             "container": iter(["p", "q", "r"])}
    params = []
    used_types: set[str] = set()
    for _ in range(c.weighted([(3, 1), (4, 2), (2, 3)])):
        what = c.weighted([(3, "float"), (4, "array"), (1, "array2"), (0.8, "matrix"), (2.5, "container")])
        if what == "float":
            params.append(Param(next(names["float"]), FLOAT, _float_value(c)))
        elif what in ("array", "array2"):
            kind = vec(length if what == "array" else other)
            params.append(Param(next(names["array"]), kind, _value(c, kind)))
        elif what == "matrix":
            kind = array(rng.choice([length, rng.randint(2, 4)]), rng.randint(2, 4))
            c.feature("matrix_arg")
            params.append(Param(next(names["matrix"], "C"), kind, _value(c, kind)))
        else:
            kind = _container(c, length)
            if kind.type_name and kind.type_name in used_types:
                kind = Kind("dict", fields=kind.fields if kind.tag != "dataclass" else (("w", vec(length)),))
            used_types.add(kind.type_name)
            params.append(Param(next(names["container"]), kind, _value(c, kind)))
    rng.shuffle(params)
    if rng.random() < 0.6:
        count = rng.randint(2, 4)
        c.loop_count, c.loop_value = "n", count
        if rng.random() < 0.15:
            c.feature("module_default")
            params.append(Param("n", INT, str(count), differentiable=False, default="K"))
        else:
            params.append(Param("n", INT, str(count), differentiable=False))
    else:
        c.loop_count = c.loop_value = rng.randint(2, 4)
        c.loop_count = str(c.loop_count)
    return params
