"""The core language's shared vocabulary: helpers on gast trees that every stage may use.

It imports no stage.
"""
from __future__ import annotations

import copy

import gast

COMMENT = "#sourcediff: "  # a string statement starting so is printed as a comment line


def comment(text: str) -> gast.Expr:
    """A statement that emit prints as a ``# text`` comment line."""
    return gast.Expr(value=gast.Constant(value=COMMENT + text, kind=None))


class _Unshare(gast.NodeTransformer):
    def __init__(self):
        self.seen: set[int] = set()

    def visit(self, node):
        if id(node) in self.seen:
            return copy.deepcopy(node)
        self.seen.add(id(node))
        return self.generic_visit(node)


def unshare(tree: gast.AST) -> gast.AST:
    """Make ``tree`` a tree: a node reached twice is replaced by a copy at its second place.

    Passes that rename or rewrite nodes in place (optimize, renumbering) would
    otherwise change both places at once.
    """
    return _Unshare().visit(tree)


def index_value(index: gast.expr) -> gast.expr:
    """The value of a subscript's index as an expression: ``1:-1`` becomes ``slice(1, -1, None)``."""
    if isinstance(index, gast.Slice):
        parts = [gast.Constant(value=None, kind=None) if p is None else copy.deepcopy(p)
                 for p in (index.lower, index.upper, index.step)]
        return gast.Call(func=gast.Name(id="slice", ctx=gast.Load(), annotation=None, type_comment=None),
                         args=parts, keywords=[])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[index_value(e) for e in index.elts], ctx=gast.Load())
    return copy.deepcopy(index)


def loop_level(stmts: list[gast.stmt]):
    """The nodes of ``stmts``, not descending into nested loops' bodies."""
    stack = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (gast.For, gast.While, gast.FunctionDef, gast.Lambda)):
            continue
        stack.extend(gast.iter_child_nodes(node))


def walk_local(node: gast.AST):
    """The nodes of ``node``, not descending into nested functions and lambdas."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and isinstance(current, (gast.FunctionDef, gast.Lambda)):
            continue
        stack.extend(gast.iter_child_nodes(current))
