"""The core language's shared vocabulary: helpers on gast trees that every stage may use.

It imports no stage.
"""
from __future__ import annotations

import copy

import gast


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
