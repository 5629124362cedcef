"""Argument trees (floats, arrays, and dicts, lists, tuples, namedtuples, dataclasses of them).

The oracle's own small pytree helpers: the referee does not use the library
it judges (``sourcediff.pytrees``) to flatten, compare or rebuild arguments.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def parts(x: Any) -> list[tuple[str, Any]] | None:
    """``(path step, child)`` pairs of a container, ``None`` for a leaf."""
    if isinstance(x, dict):
        return [(f"[{k!r}]", v) for k, v in x.items()]
    if is_namedtuple(x):
        return [(f".{k}", v) for k, v in zip(type(x)._fields, x)]
    if isinstance(x, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(x)]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return [(f".{f.name}", getattr(x, f.name)) for f in dataclasses.fields(x)]
    return None


def rebuild(x: Any, values: list) -> Any:
    """A container like ``x`` holding ``values``."""
    if isinstance(x, dict):
        return dict(zip(x, values))
    if is_namedtuple(x):
        return type(x)._make(values)
    if isinstance(x, tuple):
        return tuple(values)
    if isinstance(x, list):
        return list(values)
    return dataclasses.replace(x, **{f.name: v for f, v in zip(dataclasses.fields(x), values)})


def leaves(x: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every leaf with its path, depth first."""
    children = parts(x)
    if children is None:
        return [(path, x)]
    return [leaf for step, child in children for leaf in leaves(child, path + step)]


def map_leaves(function, x: Any) -> Any:
    children = parts(x)
    if children is None:
        return function(x)
    return rebuild(x, [map_leaves(function, child) for _, child in children])


def copy(x: Any) -> Any:
    """A deep copy of an argument tree (arrays copied, numbers shared)."""
    return map_leaves(lambda v: v.copy() if isinstance(v, np.ndarray) else v, x)


def is_float_leaf(x: Any) -> bool:
    return isinstance(x, (float, np.floating)) or (isinstance(x, np.ndarray) and x.dtype.kind == "f")


def differences(got: Any, expected: Any, path: str = "") -> str | None:
    """Where two argument trees differ (types, keys, shapes or any value, exactly), or ``None``."""
    got_parts, expected_parts = parts(got), parts(expected)
    where = path or "the argument"
    if (got_parts is None) != (expected_parts is None) or type(got) is not type(expected):
        return f"{where}: a {type(got).__name__} where a {type(expected).__name__} was"
    if got_parts is None:
        if isinstance(expected, np.ndarray):
            if got.shape != expected.shape or got.dtype != expected.dtype:
                return f"{where}: shape {got.shape} {got.dtype}, was {expected.shape} {expected.dtype}"
            if not np.array_equal(got, expected, equal_nan=True):
                changed = np.flatnonzero(~((got == expected) | (np.isnan(got) & np.isnan(expected))))
                return f"{where}: elements {changed.tolist()} changed: {got!r}, was {expected!r}"
            return None
        if got != expected and not (got != got and expected != expected):
            return f"{where}: {got!r}, was {expected!r}"
        return None
    got_steps = [s for s, _ in got_parts]
    expected_steps = [s for s, _ in expected_parts]
    if got_steps != expected_steps:
        return f"{where}: parts {got_steps}, were {expected_steps}"
    for (step, g), (_, e) in zip(got_parts, expected_parts):
        problem = differences(g, e, path + step)
        if problem:
            return problem
    return None


def structure_problem(gradient: Any, argument: Any, path: str = "") -> str | None:
    """Why ``gradient`` does not have the structure of ``argument`` (container types, keys, shapes, float leaves)."""
    where = path or "the gradient"
    arg_parts, grad_parts = parts(argument), parts(gradient)
    if arg_parts is None:
        if grad_parts is not None:
            return f"{where} is a {type(gradient).__name__} for a {type(argument).__name__} argument"
        if isinstance(argument, np.ndarray):
            if not isinstance(gradient, np.ndarray):
                return f"{where} is a {type(gradient).__name__} for an array argument"
            if gradient.shape != argument.shape or gradient.dtype.kind != "f":
                return f"{where} has shape {gradient.shape} and dtype {gradient.dtype} for an array of {argument.shape}"
            return None
        if isinstance(argument, (float, int, np.floating)) and not isinstance(gradient, (float, np.floating)):
            return f"{where} is a {type(gradient).__name__} for a float argument"
        return None
    if type(gradient) is not type(argument):
        return f"{where} is a {type(gradient).__name__} for a {type(argument).__name__} argument"
    if [s for s, _ in grad_parts] != [s for s, _ in arg_parts]:
        if sorted(s for s, _ in grad_parts) != sorted(s for s, _ in arg_parts):
            return f"{where} has parts {[s for s, _ in grad_parts]} for {[s for s, _ in arg_parts]}"
        grad_parts = sorted(grad_parts, key=lambda p: [s for s, _ in arg_parts].index(p[0]))
    for (step, g), (_, a) in zip(grad_parts, arg_parts):
        problem = structure_problem(g, a, path + step)
        if problem:
            return problem
    return None


def numbers(x: Any) -> np.ndarray:
    """Every number in a tree, flattened into one float64 vector (``None`` leaves skipped)."""
    values = [np.ravel(np.asarray(v, dtype=np.float64)) for _, v in leaves(x) if v is not None]
    return np.concatenate(values) if values else np.zeros(0)


def source(x: Any) -> str:
    """Python source that rebuilds ``x`` exactly (floats by repr; classes by their names)."""
    if isinstance(x, np.ndarray):
        return f"np.array({x.tolist()!r})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {source(v)}" for k, v in x.items()) + "}"
    if is_namedtuple(x) or (dataclasses.is_dataclass(x) and not isinstance(x, type)):
        return f"{type(x).__name__}(" + ", ".join(f"{s[1:]}={source(v)}" for s, v in parts(x)) + ")"
    if isinstance(x, tuple):
        return "(" + "".join(source(v) + ", " for v in x).rstrip(" ") + ")"
    if isinstance(x, list):
        return "[" + ", ".join(source(v) for v in x) + "]"
    return repr(x)
