"""Deterministic, readable names for temporaries and adjoints, and small builders of nodes that use them."""
from __future__ import annotations

import gast

RUNTIME = "__sourcediff_runtime__"  # the lowered code's name for the backend (``sd`` in generated code)


class Namer:
    """Hands out fresh names that collide with nothing the function uses."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)
        self.counter = 0

    @classmethod
    def for_tree(cls, tree: gast.AST) -> "Namer":
        taken = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}
        taken |= {n.name for n in gast.walk(tree) if isinstance(n, gast.FunctionDef)}
        return cls(taken)

    def reserve_derivative_names(self, function_name: str) -> None:
        """Keep the names of the derivatives of ``function_name`` (``f_grad``, ``f_fwd``, ...) for them: a callee's
        half named alike would be shadowed by the function being written."""
        self.taken |= {f"{function_name}_{suffix}" for suffix in ("grad", "value_and_grad", "fwd", "bwd", "jvp")}

    def temporary(self) -> str:
        while True:
            self.counter += 1
            name = f"t{self.counter}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}{k}"
        self.taken.add(name)
        return name


def name(identifier: str, ctx: type = gast.Load) -> gast.Name:
    return gast.Name(id=identifier, ctx=ctx(), annotation=None, type_comment=None)


def constant(value) -> gast.Constant:
    return gast.Constant(value=value, kind=None)


def assign(target: str, value: gast.AST, like: gast.AST | None = None) -> gast.Assign:
    node = gast.Assign(targets=[name(target, gast.Store)], value=value, type_comment=None)
    return gast.copy_location(node, like) if like is not None else node


def call(func: str, *args: gast.expr) -> gast.Call:
    parts = func.split(".")
    node: gast.expr = name(parts[0])
    for part in parts[1:]:
        node = gast.Attribute(value=node, attr=part, ctx=gast.Load())
    return gast.Call(func=node, args=list(args), keywords=[])


def method_call(receiver: str, method: str, *args: gast.expr) -> gast.Expr:
    return gast.Expr(value=gast.Call(func=gast.Attribute(value=name(receiver), attr=method, ctx=gast.Load()),
                                     args=list(args), keywords=[]))


def constant_tuple(values) -> gast.Tuple:
    return gast.Tuple(elts=[constant(v) for v in values], ctx=gast.Load())
