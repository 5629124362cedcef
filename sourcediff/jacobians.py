"""Jacobians assembled from one derivative per basis vector, in JAX's layout.

For an output leaf ``y`` and an argument leaf ``x`` the block is an array of
shape ``y.shape + x.shape`` (a float when both are numbers). The whole
Jacobian nests the output's structure outside and the arguments' inside: one
argument's structure for an int ``argnums``, a tuple of them for a tuple.
:func:`reverse` fills the blocks row by row from a ``vjp_fn``; :func:`forward`
fills them column by column from a function giving ``jvp`` tangents.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import pytrees


def numeric(leaf: Any) -> bool:
    """A leaf that carries a derivative: a float, an int or a numeric array (not a bool)."""
    if isinstance(leaf, (bool, np.bool_)):
        return False
    if isinstance(leaf, (float, int, np.number)):
        return True
    return isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fiuc"


def leaves(tree: Any) -> list:
    return [leaf for _, leaf in pytrees.leaves_with_paths(tree)]


def unflatten(tree: Any, values: Sequence) -> Any:
    """``tree`` with its leaves replaced, in order, by ``values``."""
    found = iter(values)
    return pytrees.map_leaves(lambda _: next(found), tree)


def zero(leaf: Any) -> Any:
    """A zero of the leaf's shape: ``0.0`` for a number, float zeros for an array; other leaves are kept."""
    if not numeric(leaf):
        return leaf
    return np.zeros(np.shape(leaf)) if isinstance(leaf, np.ndarray) else 0.0


def basis(tree: Any) -> Iterator[tuple[int, tuple, Any]]:
    """``(leaf number, index in the leaf, tree)`` for each unit vector shaped like ``tree``: one element is 1.0,
    the other numeric leaves are zero (fresh each time), the other leaves are kept."""
    parts = leaves(tree)
    for k, leaf in enumerate(parts):
        if not numeric(leaf):
            continue
        for index in np.ndindex(np.shape(leaf)):
            values = [zero(v) for v in parts]
            if isinstance(leaf, np.ndarray):
                values[k][index] = 1.0
            else:
                values[k] = 1.0
            yield k, index, unflatten(tree, values)


def _blocks(out: Any, args: Sequence[Any]) -> list[list[list[np.ndarray | None]]]:
    """Per output leaf, per argument, per argument leaf: a zero block, or None where either cannot carry one."""
    return [[[np.zeros(np.shape(y) + np.shape(x)) if numeric(y) and numeric(x) else None for x in leaves(arg)]
             for arg in args] for y in leaves(out)]


def _assembled(out: Any, args: Sequence[Any], blocks: list, single: bool) -> Any:
    def finish(block):
        return block if block is None or block.ndim else float(block)

    per_output = []
    for per_argument in blocks:
        trees = tuple(unflatten(arg, [finish(b) for b in parts]) for arg, parts in zip(args, per_argument))
        per_output.append(trees[0] if single else trees)
    return unflatten(out, per_output)


def columns_of(cotangent: Any, out: Any, args: Sequence[Any], single: bool) -> list:
    """The transpose of :func:`forward_many`'s assembly: for a cotangent of the Jacobian, the cotangent of each
    column (an output tangent, shaped like ``out``), in the order of the directions."""
    per_output = _parts_like(cotangent, out)
    outputs = leaves(out)
    columns = []
    for a, arg in enumerate(args):
        for k, index, _ in basis(arg):
            values = []
            for y, per_argument in zip(outputs, per_output):
                part = per_argument if single else per_argument[a]
                block = None if part is None else leaves(part)[k]
                if not numeric(y):
                    values.append(y)
                elif block is None:
                    values.append(zero(y))
                else:
                    value = np.asarray(block, dtype=float)[(Ellipsis,) + index]
                    values.append(value.copy() if isinstance(y, np.ndarray) else float(value))
            columns.append(unflatten(out, values))
    return columns


def _parts_like(tree: Any, template: Any) -> list:
    """The subtrees of ``tree`` at the places of ``template``'s leaves."""
    parts = pytrees.children(template)
    if parts is None:
        return [tree]
    found = pytrees.children(tree) or []
    return [p for (_, t), (_, sub) in zip(parts, found) for p in _parts_like(sub, t)]


def reverse(out: Any, vjp_fn: Callable[[Any], tuple], args: Sequence[Any], single: bool) -> Any:
    """The Jacobian of ``out`` with respect to ``args`` from ``vjp_fn`` (one cotangent per argument), a row at a time."""
    blocks = _blocks(out, args)
    for k, index, cotangent in basis(out):
        for a, grad in enumerate(vjp_fn(cotangent)):
            for block, g in zip(blocks[k][a], leaves(grad)):
                if block is not None and g is not None:
                    block[index] = g
    return _assembled(out, args, blocks, single)


def forward(out: Any, jvp_fn: Callable[[list], Any], args: Sequence[Any], single: bool) -> Any:
    """The Jacobian from ``jvp_fn(tangents)``, the output tangent for one tangent per argument, a column at a time."""
    return forward_many(lambda directions: (out, [jvp_fn(t) for t in directions]), args, single)[1]


def forward_many(jvp_many: Callable[[list[list]], tuple[Any, list]], args: Sequence[Any], single: bool
                 ) -> tuple[Any, Any]:
    """``(out, Jacobian)`` from ``jvp_many(directions)``, which gives the output and its tangents for a list of
    tangent lists (one tangent per argument), all the columns at once."""
    columns = []
    for a, arg in enumerate(args):
        for k, index, tangent in basis(arg):
            tangents = [unflatten(other, [zero(v) for v in leaves(other)]) for other in args]
            tangents[a] = tangent
            columns.append((a, k, index, tangents))
    if not columns:  # nothing to differentiate: the output, through a zero direction
        columns_out, _ = jvp_many([[unflatten(arg, [zero(v) for v in leaves(arg)]) for arg in args]])
        return columns_out, _assembled(columns_out, args, _blocks(columns_out, args), single)
    out, pushed = jvp_many([c[3] for c in columns])
    blocks = _blocks(out, args)
    for (a, k, index, _), result in zip(columns, pushed):
        for per_argument, t in zip(blocks, leaves(result)):
            block = per_argument[a][k]
            if block is not None and t is not None:
                block[(Ellipsis,) + index] = t
    return out, _assembled(out, args, blocks, single)
