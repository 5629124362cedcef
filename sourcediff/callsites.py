"""Calls to the user's own functions: which get a forward/backward pair, and which arguments they write into.

Part of the analysis: the transform reads what it finds (``user_calls``,
``inactive_writes``, ``immutable_checks``) and the names of the pairs' halves
(``late_bound``), which the emitted code reaches through closure cells.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import gast

from sourcediff.rules import registry

from . import calls
from .dataflow import SCALAR_SHAPE, Activity, ArrayFacts, differentiable_reads
from .binding import dotted, runtime_name_of
from .custom import CustomFunction
from .errors import SourcediffError, UnsupportedSyntaxError
from .inplace import makes_new_object
from .ir import appended, blocks, own_reads, reads, sid, stored, target_of, walk_statements
from .naming import Namer
from .parse import ParsedFunction, is_derived, is_resolved, is_runtime_helper, is_user_function


@dataclass
class UserCall:
    """A call to a user function: the names of its forward/backward halves and of what it saved."""

    forward: str | None
    backward: str | None
    residual: str
    active: tuple[str, ...]
    dynamic: tuple | None  # (active positions, active keywords) when the callee is only known at run time
    changed: tuple[str, ...] = ()  # the caller's names of the arrays the callee writes into


class CallSites:
    """What the calls of one function to the user's functions do; ``classify`` fills it in."""

    def __init__(self, parsed: ParsedFunction, namer: Namer, array_params: dict[str, tuple[int, str]],
                 forward_mode: bool = False):
        self.parsed = parsed
        self.forward_mode = forward_mode  # callees get a forward derivative instead of a forward/backward pair
        self.namer = namer
        self.array_params = array_params
        self.facts = ArrayFacts()
        self.scalars_before: dict[int, frozenset[str]] = {}
        self.user_calls: dict[int, UserCall] = {}
        self.inactive_writes: dict[int, list[str]] = {}  # calls without adjoint that write into these names
        self.immutable_checks: dict[int, list[tuple[str, str, str]]] = {}  # (name, message, hint) before calls
        self.residual_names: dict[int, str] = {}
        self.late_bound: dict[str, Any] = {}  # names of the pairs' halves, bound as closure cells

    def classify(self, body: list[gast.stmt], act: Activity, facts: ArrayFacts,
                 scalars_before: dict[int, frozenset[str]]) -> None:
        """Find active calls to Python functions without a rule; each gets a forward/backward pair."""
        self.facts, self.scalars_before = facts, scalars_before
        self.user_calls = {}
        self.inactive_writes = {}
        self.immutable_checks = {}
        for stmt in walk_statements(body):
            if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call) and target_of(stmt)):
                continue
            if not set(differentiable_reads(stmt, self.parsed)) & act.varied_before[sid(stmt)]:
                written = self.written_by_inactive_call(stmt)  # (a helper that gives back a bool: no reads)
                if written:
                    self.inactive_writes[sid(stmt)] = written
                continue
            rhs = stmt.value
            callee = self.parsed.resolve(rhs.func)
            custom = is_resolved(callee) and isinstance(callee, CustomFunction)  # the user's own rule
            derived = is_resolved(callee) and is_derived(callee)  # grad(f): called through its generated code
            if isinstance(callee, registry.RuntimeFunction) and not _has_rule(callee.name):
                callee = getattr(self.parsed.resolve(rhs.func.value), callee.name)  # through its source, below
                derived = is_derived(callee)  # sd.call_forward and its kin: through the code they chose (calls)
            if is_resolved(callee) and not custom and not derived:
                through_source = is_runtime_helper(callee) and (
                    runtime_name_of(callee) is None or not _has_rule(callee.__name__))
                if not through_source and (registry.lookup(callee) is not None or not is_user_function(callee)):
                    continue
            elif not derived and isinstance(rhs.func, gast.Attribute):
                continue  # a method: looked up in the method rules
            varied = act.varied_before[sid(stmt)]
            active_args = [i for i, a in enumerate(rhs.args) if isinstance(a, gast.Name) and a.id in varied]
            active_keywords = [k.arg for k in rhs.keywords if isinstance(k.value, gast.Name) and k.value.id in varied]
            if any(isinstance(a, gast.Starred) for a in rhs.args):
                raise self.parsed.error(UnsupportedSyntaxError, "sourcediff cannot differentiate a call with *args "
                                        "yet", stmt, "pass the arguments one by one")
            residual = self.residual_names.get(sid(stmt)) or self.namer.fresh(f"{target_of(stmt)}_saved")
            self.residual_names[sid(stmt)] = residual
            if custom and self.forward_mode:
                try:
                    rule = calls.custom_jvp_function(callee, calls.active_parameters(
                        callee.fun, len(rhs.args), active_args, active_keywords))
                except SourcediffError as exc:
                    raise self.parsed.error(type(exc), exc.message, stmt, exc.hint) from None
                forward = self.runtime_name(f"{callee.__name__}_jvp", rule.cell)
                self.user_calls[sid(stmt)] = UserCall(forward, None, residual, rule.active, None)
            elif custom:
                try:
                    pair = calls.custom_pair(callee, calls.active_parameters(callee.fun, len(rhs.args), active_args,
                                                                             active_keywords))
                except SourcediffError as exc:
                    raise self.parsed.error(type(exc), exc.message, stmt, exc.hint) from None
                forward = self.runtime_name(f"{callee.__name__}_fwd", pair.forward_cell)
                backward = self.runtime_name(f"{callee.__name__}_bwd", pair.backward_cell)
                self.user_calls[sid(stmt)] = UserCall(forward, backward, residual, pair.active, None)
            elif is_resolved(callee) and not derived:
                try:
                    active = calls.active_parameters(callee, len(rhs.args), active_args, active_keywords)
                    scalars = calls.scalar_parameters(callee, rhs, self.numbers_at(stmt))
                    arrays = calls.array_parameters(callee, rhs, self.facts)
                    if self.forward_mode:
                        made = calls.jvp_function(callee, active, scalars, arrays)
                        written = tuple(p for p in made.mutated if p not in active)
                        if written:  # the tangents of the arrays it writes into are written alongside
                            made = calls.jvp_function(callee, active + written, scalars, arrays)
                        cells = ((f"{callee.__name__}_jvp", made.cell),)
                    else:
                        made = calls.split_pair(callee, active, scalars, arrays)
                        cells = ((f"{callee.__name__}_fwd", made.forward_cell),
                                 (f"{callee.__name__}_bwd", made.backward_cell))
                except SourcediffError as exc:
                    raise self.parsed.error(type(exc), exc.message, stmt, exc.hint) from None
                halves = [self.runtime_name(base, cell) for base, cell in cells]
                forward, backward = halves[0], halves[1] if len(halves) > 1 else None
                changed = tuple(self.changed_argument(stmt, rhs, p, body) for p in made.mutated)
                self.user_calls[sid(stmt)] = UserCall(forward, backward, residual, made.active, None, changed)
            else:
                self.user_calls[sid(stmt)] = UserCall(None, None, residual, (), (tuple(active_args),
                                                                                  tuple(active_keywords)))

    def refuse_outer_write(self, stmt: gast.stmt, written: str, what: str) -> None:
        """A helper writing into an object of the module or an enclosing function: the derivative would change it."""
        if written not in self.parsed.local_names and is_resolved(self.parsed.lookup_name(written)):
            raise self.parsed.error(
                UnsupportedSyntaxError, f"sourcediff cannot differentiate this call: {what}, and {written} is an "
                "object of the module or of an enclosing function (the derivative would change it)", stmt,
                f"pass a copy: {written}.copy()")

    def written_by_inactive_call(self, stmt: gast.Assign) -> list[str]:
        """The caller's names of the arguments a call that needs no adjoint writes into (``step(u, 0.5)``).

        The forward pass saves them before the call, and the backward pass puts them
        back, so the arguments end as they began and the backward pass reads their old values.
        """
        rhs = stmt.value
        callee = self.parsed.resolve(rhs.func)
        if not is_resolved(callee) or registry.lookup(callee) is not None or not is_user_function(callee):
            return []
        certain = True
        try:
            derive = calls.jvp_function if self.forward_mode else calls.split_pair
            pair = derive(callee, (), calls.scalar_parameters(callee, rhs, self.numbers_at(stmt)),
                                    calls.array_parameters(callee, rhs, self.facts))
            atoms = [self.argument_of(rhs, p) for p in pair.mutated]
        except SourcediffError:  # a helper sourcediff cannot read: it may write into any of them
            atoms, certain = list(rhs.args) + [k.value for k in rhs.keywords], False
        names = set()
        for atom in atoms:
            for part in atom if isinstance(atom, list) else [atom]:  # *args: (atom, position) pairs
                part = part[0] if isinstance(part, tuple) else part
                if not isinstance(part, gast.Name):
                    continue
                if certain:
                    self.refuse_outer_write(stmt, part.id, f"{dotted(rhs.func)} writes into its arguments")
                elif part.id not in self.parsed.local_names and is_resolved(self.parsed.lookup_name(part.id)):
                    continue  # an object of the module: not rebound here, whatever the helper does
                names.add(part.id)
        return sorted(names)

    def numbers_at(self, stmt: gast.stmt) -> frozenset[str]:
        """Names holding numbers when ``stmt`` starts: Python numbers, and NumPy scalars (elements and reductions
        of arrays) unless an argument is a 0-d array (whose copies would be mutable 0-d arrays)."""
        numbers = self.scalars_before.get(sid(stmt), frozenset())
        if any(ndim == 0 for ndim, _ in self.array_params.values()):
            return numbers
        return numbers | {n for n, key in self.facts.shapes.items() if key == SCALAR_SHAPE}

    def changed_argument(self, stmt: gast.Assign, rhs: gast.Call, param: str, body: list[gast.stmt]) -> str:
        """The caller's name for an argument the callee writes into; refuses views and shared names."""
        atom = self.argument_of(rhs, param)
        what = f"{dotted(rhs.func)} writes into its argument {param!r}"
        if atom is None:
            raise self.parsed.error(UnsupportedSyntaxError, f"sourcediff cannot differentiate this call: {what}, "
                                    "which this call leaves to its default value", stmt,
                                    f"pass {param} explicitly (a default array is shared by every call)")
        if not isinstance(atom, gast.Name):
            raise self.parsed.error(UnsupportedSyntaxError, f"sourcediff cannot differentiate this call: {what}, "
                                    "which is not a named array here", stmt, "pass a named array")
        self.refuse_outer_write(stmt, atom.id, what)
        for other in walk_statements(body):  # other names of the array are checked by check_views_across
            if other is stmt:
                continue  # u = step(u, dt): the name takes the result, which is u's object or a new one
            if target_of(other) == atom.id and not makes_new_object(self.parsed, other.value):
                # a view, an element or a call's result: fine if it is a number (the callee rebinds it),
                # refused when the derivative runs if it is an array whose memory another name may see
                what_else = (f"this call: {what}, and {atom.id} may be a view of, or another name for, an array "
                             "used elsewhere")
                hint = f"pass an array that only the name {atom.id} refers to (for example {atom.id}.copy())"
                self.immutable_checks.setdefault(sid(stmt), []).append((atom.id, what_else, hint))
                break
        self.check_views_across(stmt, atom.id, body, what)
        return atom.id

    def check_views_across(self, call_stmt: gast.stmt, array: str, body: list[gast.stmt], what: str) -> None:
        """Refuse a view (or a container) of an array a callee writes into, made before the call and read after.

        Such a view would show the callee's writes; the lowering checks this for
        writes it can see, but not for writes inside a callee.
        """
        order = {sid(s): k for k, s in enumerate(walk_statements(body))}
        loops = []  # (first, last) program positions of the loops around the call

        def find(stmts, around):
            for s in stmts:
                if s is call_stmt:
                    loops.extend(around)
                for block in blocks(s):
                    span = [order[sid(x)] for x in walk_statements(block)] or [order[sid(s)]]
                    find(block, around + ([(min(span), max(span))] if isinstance(s, (gast.For, gast.While)) else []))
        find(body, [])
        at = order[sid(call_stmt)]
        holders = {array}
        changed = True
        while changed:
            changed = False
            for s in walk_statements(body):
                target = target_of(s)
                rhs = s.value if target else None
                holds = False
                if isinstance(rhs, (gast.List, gast.Tuple, gast.Dict)) or (isinstance(rhs, gast.Name)):
                    holds = bool(set(reads(rhs)) & holders)
                elif isinstance(rhs, gast.Subscript) and isinstance(rhs.value, gast.Name) and rhs.value.id in holders:
                    holds = self.facts.shapes.get(target) != SCALAR_SHAPE  # a view, unless a single number
                elif isinstance(rhs, (gast.Attribute, gast.Call)) and not makes_new_object(self.parsed, rhs):
                    holds = bool(set(reads(rhs)) & holders)
                if appended(s) is not None and isinstance(appended(s)[1], gast.Name) and appended(s)[1].id in holders:
                    target, holds = appended(s)[0], True
                if stored(s) is not None and isinstance(stored(s)[2], gast.Name) and stored(s)[2].id in holders \
                        and stored(s)[0] not in self.facts.arrays:  # d['b'] = u: a list or dict holds u itself
                    target, holds = stored(s)[0], True
                if holds and target not in holders:
                    holders.add(target)
                    changed = True
        holders.discard(array)
        for s in walk_statements(body):
            name_ = target_of(s) or (appended(s) or stored(s) or (None,))[0]  # made, or filled
            if name_ not in holders:
                continue
            made = order[sid(s)]
            for r in walk_statements(body):
                if name_ not in own_reads(r):
                    continue
                read = order[sid(r)]
                carried = any(lo <= made <= hi and lo <= read <= hi for lo, hi in loops) and read <= made
                across = made < at < read or (carried and (made < at or at < read))  # the call in between
                if across and r is not call_stmt:
                    refusal = self.parsed.error(
                        UnsupportedSyntaxError, f"sourcediff cannot differentiate this call yet: {what}, and "
                        f"{name_}, a view of {array} or a container holding it, is read after the call", r,
                        f"index {array} itself after the call, or make {name_} a copy ({name_} = ....copy())")
                    refusal.depends_on_argument_kinds = True  # a float's a -= 1 in the callee writes nothing
                    raise refusal

    def runtime_name(self, base: str, cell) -> str:
        for existing, value in self.late_bound.items():
            if value is cell:
                return existing
        alias = self.namer.fresh(base)
        self.late_bound[alias] = cell
        return alias

    def argument_of(self, rhs: gast.Call, param: str) -> gast.expr:
        """The atom bound to parameter ``param`` of the callee at this call site."""
        callee = self.parsed.resolve(rhs.func)
        if isinstance(callee, registry.RuntimeFunction):  # a runtime function forward mode reads the source of
            callee = getattr(self.parsed.resolve(rhs.func.value), callee.name)
        code = (callee.fun if isinstance(callee, CustomFunction) else callee).__code__
        positional = list(code.co_varnames[: code.co_argcount])
        if param in positional and positional.index(param) < len(rhs.args):
            return rhs.args[positional.index(param)]
        if code.co_flags & inspect.CO_VARARGS and param == code.co_varnames[code.co_argcount + code.co_kwonlyargcount]:
            return [(atom, k) for k, atom in enumerate(rhs.args[code.co_argcount:])]
        for k in rhs.keywords:
            if k.arg == param:
                return k.value
        return None  # left out: the callee uses its default


def _has_rule(name: str) -> bool:
    """Whether the runtime function ``sd.<name>`` has a rule or is declared non-differentiable; forward mode
    differentiates the others through their source (they are plain NumPy code), as a user's functions."""
    key = registry.runtime(name)
    return registry.lookup(key) is not None or registry.is_nondifferentiable(key)
