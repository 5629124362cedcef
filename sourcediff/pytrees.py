"""Pytrees: the nested containers that arguments, outputs and gradients may be.

A pytree is a leaf or a container of pytrees. The containers are dicts (and
their subclasses), lists, tuples, namedtuples, dataclass instances and plain
objects with instance attributes (``types.SimpleNamespace`` or an instance of
an ordinary class). Everything else is a leaf. A gradient has the structure of
the argument it belongs to: the same container types, keys and fields.

This module only describes structure; what a leaf means (a number, an array,
something that cannot carry a gradient) is up to the caller.
"""
from __future__ import annotations

import dataclasses
import functools
import types
from typing import Any, Callable, Iterator

_NOT_RECORDS = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                functools.partial)
_DATACLASS_FIELDS: dict[type, tuple[str, ...]] = {}


def is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def record_fields(x: Any) -> tuple[str, ...] | None:
    """The field names of a dataclass instance or plain object, or ``None`` if ``x`` is neither.

    A dataclass's fields are its ``dataclasses.fields``; a plain object's are
    its instance attributes (``vars(x)``), in the order they were set.
    """
    cls = type(x)
    if getattr(cls, "__pytree_leaf__", False):  # an object of sourcediff's own that travels whole (calls.SplitPair)
        return None
    names = _DATACLASS_FIELDS.get(cls)
    if names is not None:
        return names
    if dataclasses.is_dataclass(cls):
        names = _DATACLASS_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
        return names
    if hasattr(x, "__dict__") and not isinstance(x, _NOT_RECORDS) and not hasattr(x, "__array__") \
            and not isinstance(x, (tuple, list, dict)):
        return tuple(vars(x))
    return None


def children(x: Any) -> list[tuple[str, Any]] | None:
    """``(path step, child)`` pairs of a container, ``None`` for a leaf.

    A path step reads like Python: ``['W']`` and ``[0]`` for items, ``.bias`` for fields.
    """
    if isinstance(x, dict):
        return [(f"[{k!r}]", v) for k, v in x.items()]
    if is_namedtuple(x):
        return [(f".{name}", v) for name, v in zip(type(x)._fields, x)]
    if isinstance(x, (tuple, list)):
        return [(f"[{i}]", v) for i, v in enumerate(x)]
    fields = record_fields(x)
    if fields is not None:
        return [(f".{name}", getattr(x, name)) for name in fields]
    return None


def rebuild(x: Any, values: list) -> Any:
    """A container of the same kind, keys and fields as ``x``, holding ``values`` in ``children`` order.

    Dataclasses and plain objects are made without calling ``__init__`` or
    ``__post_init__``: those may check or transform values (``abs``, clipping,
    derived fields), which would corrupt a gradient. Frozen dataclasses work too.
    """
    if isinstance(x, dict):
        if type(x) is dict:
            return dict(zip(x, values))
        out = x.copy()  # keeps the subclass and, e.g., a defaultdict's default_factory
        out.clear()
        out.update(zip(x, values))
        return out
    if is_namedtuple(x):
        return type(x)._make(values)
    if isinstance(x, tuple):
        return tuple(values)
    if isinstance(x, list):
        return list(values)
    fields = record_fields(x)
    if fields is None:
        raise TypeError(f"{type(x).__name__} is not a container")
    return new_record(type(x), zip(fields, values))


def new_record(cls: type, items: Any) -> Any:
    """An instance of ``cls`` with the attributes ``items``, made without running ``__init__``."""
    out = object.__new__(cls) if cls.__new__ is object.__new__ else cls.__new__(cls)
    for name, value in items:
        object.__setattr__(out, name, value)
    return out


def leaves_with_paths(x: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of ``x`` with its path, depth first in ``children`` order."""
    parts = children(x)
    if parts is None:
        yield path, x
        return
    for step, child in parts:
        yield from leaves_with_paths(child, path + step)


def map_leaves(function: Callable[[Any], Any], x: Any) -> Any:
    """``x`` with every leaf replaced by ``function(leaf)``."""
    parts = children(x)
    if parts is None:
        return function(x)
    return rebuild(x, [map_leaves(function, child) for _, child in parts])
