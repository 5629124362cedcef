"""Analyze stage: activity analysis on the core language.

A value is *active* when it depends differentiably on an input we differentiate
with respect to (it is *varied*) and it can reach the output (it is *useful*).
Only active statements get adjoint code. Comparisons, non-differentiable
functions (``np.floor``, ``len`` ...) and attributes such as ``x.shape`` stop
the flow of variation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import gast

from .parse import ParsedFunction, is_resolved
from sourcediff.rules import registry


def reads(node: gast.AST | None) -> list[str]:
    """Names read by an expression of the core language, in order."""
    if node is None:
        return []
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def target_of(stmt: gast.stmt) -> str | None:
    if isinstance(stmt, gast.Assign):
        return stmt.targets[0].id
    return None


def differentiable_reads(stmt: gast.stmt, parsed: ParsedFunction) -> list[str]:
    """Names whose variation flows into the value ``stmt`` computes."""
    if not isinstance(stmt, gast.Assign):
        return []
    rhs = stmt.value
    if isinstance(rhs, gast.Compare):
        return []
    if isinstance(rhs, gast.UnaryOp) and isinstance(rhs.op, gast.Not):
        return []
    if isinstance(rhs, gast.Attribute):
        if rhs.attr in registry.NONDIFFERENTIABLE_ATTRIBUTES:
            return []
        return reads(rhs.value)
    if isinstance(rhs, gast.Subscript):
        return reads(rhs.value)
    if isinstance(rhs, gast.Call):
        func = rhs.func
        target = parsed.resolve(func)
        if is_resolved(target):
            if registry.is_nondifferentiable(target):
                return []
        elif isinstance(func, gast.Attribute) and func.attr in registry.NONDIFFERENTIABLE_METHODS:
            return []
        return reads(rhs)
    return reads(rhs)


@dataclass
class Activity:
    """Per statement: the varied names before it and the useful names after it."""

    varied_before: dict[int, frozenset[str]] = field(default_factory=dict)
    useful_after: dict[int, frozenset[str]] = field(default_factory=dict)
    active: set[int] = field(default_factory=set)

    def is_active(self, stmt: gast.stmt) -> bool:
        return id(stmt) in self.active

    def operand_active(self, stmt: gast.stmt, operand: str) -> bool:
        return operand in self.varied_before[id(stmt)]


def activity(body: list[gast.stmt], wrt: set[str], outputs: set[str], parsed: ParsedFunction) -> Activity:
    """Activity of straight-line ``body``: which statements need adjoints."""
    result = Activity()
    varied = set(wrt)
    for stmt in body:
        result.varied_before[id(stmt)] = frozenset(varied)
        target = target_of(stmt)
        if target is None:
            continue
        if any(name in varied for name in differentiable_reads(stmt, parsed)):
            varied.add(target)
        else:
            varied.discard(target)
    useful = set(outputs)
    for stmt in reversed(body):
        result.useful_after[id(stmt)] = frozenset(useful)
        if isinstance(stmt, gast.Return):
            useful |= outputs
            continue
        target = target_of(stmt)
        if target is None or target not in useful:
            continue
        useful.discard(target)
        useful.update(differentiable_reads(stmt, parsed))
    for stmt in body:
        target = target_of(stmt)
        if target is None:
            continue
        varied_after = any(n in result.varied_before[id(stmt)] for n in differentiable_reads(stmt, parsed))
        if varied_after and target in result.useful_after[id(stmt)]:
            result.active.add(id(stmt))
    return result


_SCALAR_REDUCTIONS = {"sum", "mean", "prod", "max", "min", "var", "std", "amax", "amin", "trace", "det"}


def scalar_names(body: list[gast.stmt], scalar_params: set[str], parsed: ParsedFunction) -> dict[int, frozenset[str]]:
    """Per statement, the names known to hold a value of shape ``()`` when it starts.

    Used to leave out ``unbroadcast`` where no broadcasting can happen.
    """
    import math

    import numpy as np

    known = set(scalar_params)
    before: dict[int, frozenset[str]] = {}

    def is_scalar(atom: gast.expr) -> bool:
        if isinstance(atom, gast.Constant):
            return isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool)
        return isinstance(atom, gast.Name) and atom.id in known

    for stmt in body:
        before[id(stmt)] = frozenset(known)
        target = target_of(stmt)
        if target is None:
            continue
        rhs = stmt.value
        scalar = False
        if isinstance(rhs, (gast.Name, gast.Constant)):
            scalar = is_scalar(rhs)
        elif isinstance(rhs, gast.BinOp):
            scalar = is_scalar(rhs.left) and is_scalar(rhs.right)
        elif isinstance(rhs, gast.UnaryOp):
            scalar = is_scalar(rhs.operand)
        elif isinstance(rhs, gast.Call):
            func = parsed.resolve(rhs.func)
            args_scalar = all(is_scalar(a) for a in rhs.args) and all(is_scalar(k.value) for k in rhs.keywords)
            if is_resolved(func):
                if getattr(func, "__module__", None) == "math" or func is getattr(math, getattr(func, "__name__", ""), None):
                    scalar = True
                elif isinstance(func, np.ufunc) or func in (float, abs, min, max):
                    scalar = args_scalar
                elif getattr(func, "__name__", "") in _SCALAR_REDUCTIONS and len(rhs.args) == 1 and not rhs.keywords:
                    scalar = True
            elif isinstance(rhs.func, gast.Attribute) and rhs.func.attr in _SCALAR_REDUCTIONS \
                    and not rhs.args and not rhs.keywords:
                scalar = True
        if scalar:
            known.add(target)
        else:
            known.discard(target)
    return before
