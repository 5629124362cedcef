"""The save plan: what the forward pass keeps so that the backward pass can read it.

A value the backward pass reads is saved on the tape before the forward pass
overwrites it, and put back when the backward pass reaches the overwrite. The
planner finds that set by a fixpoint: it generates the backward pass, reads off
what it needs, chooses the saves, and repeats until nothing changes. This is the
place where another policy (recomputing, checkpointing) would plug in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import gast

from sourcediff.rules import registry

from .analyze import Facts, definitions
from .binding import is_runtime_call
from .dataflow import SCALAR_SHAPE, ArrayFacts
from .inplace import makes_new_object
from .ir import (appended, assigned_names, free_reads, is_break_check, list_change, own_reads, reads, sid, stored,
                 target_of, walk_statements)
from .parse import ParsedFunction, is_resolved


@dataclass
class SavePlan:
    """What the forward pass keeps, as the transform reads it while it writes both passes."""

    saves: set[tuple[int, str]] = field(default_factory=set)  # (statement, name): saved before it overwrites
    mutations: set[int] = field(default_factory=set)  # list changes the backward pass undoes
    needed: set[str] = field(default_factory=set)  # primal names the backward pass reads
    unsaved: set[int] = field(default_factory=set)  # writes whose overwritten values it never needs
    iteration_locals: dict[int, list[str]] = field(default_factory=dict)  # per loop: saved once per iteration
    rebuilt: dict[str, gast.expr] = field(default_factory=dict)  # iteration locals sliced again, not saved
    restore_markers: dict[int, int] | None = None  # while planning: which restore undoes which write


class Transform(Protocol):
    """What the planner needs of the transform's writer of the passes (``passes.Passes`` in reverse mode):
    it writes the backward pass that the plan is made for."""

    plan: SavePlan
    facts: Facts
    arrays: ArrayFacts
    parsed: ParsedFunction
    runtime: dict[str, str]

    def backward(self, stmts: list[gast.stmt]) -> list[gast.stmt]: ...
    def keep_only_shapes(self, body: list[gast.stmt], backward: list[gast.stmt], candidates: set[str]) -> bool: ...
    def pop(self) -> gast.Call: ...


class SavePlanner:
    """The default policy: save everything the backward pass reads that the forward pass overwrites."""

    def __init__(self, transform: Transform):
        self.transform = transform
        self.plan = transform.plan

    def run(self, body: list[gast.stmt], params: set[str], appends: dict[int, str]) -> tuple[list[gast.stmt], set[str]]:
        """Fill in the plan; return the backward pass written with it, and the primal names it reads."""
        primal = assigned_names(body) | params | {c.residual for c in self.transform.facts.calls.user_calls.values()}
        for keep_shapes in (False, True):
            self.plan.iteration_locals = self.find_iteration_locals(body)
            self.plan.rebuilt = self.find_views_to_slice_again(body, params)
            while True:
                self.plan.unsaved = self.unneeded_snapshots(body, params)
                backward = self.transform.backward(body)
                needed = free_reads(backward) & primal
                saves = self.choose_saves(body, needed, params)
                kept, self.plan.saves = self.plan.saves, saves
                trial = self.transform.backward(body)  # with every save in place: where each name is set back
                self.plan.saves = kept
                saves = {(i, n) for i, n in saves if n not in self.restores_unread(trial)}
                mutations = {i for i, lst in appends.items() if lst in needed}
                if saves == self.plan.saves and mutations == self.plan.mutations and needed == self.plan.needed:
                    break
                self.plan.saves, self.plan.mutations, self.plan.needed = saves, mutations, needed
            # in loops that write into arrays, values saved on the tape only for their shapes are big arrays
            writing = {sid(loop) for loop in walk_statements(body) if isinstance(loop, (gast.For, gast.While))
                       and any(stored(s) is not None or self.transform.facts.is_buffer_write(s)
                               for s in walk_statements(loop.body))}
            inside = {n for loop in walk_statements(body) if sid(loop) in writing
                      for s in walk_statements(loop.body) for n in self.transform.facts.binds(s)}
            on_tape = {n for (_, n) in self.plan.saves} | {n for names in self.plan.iteration_locals.values()
                                                           for n in names}
            on_tape &= inside
            if keep_shapes or not self.transform.keep_only_shapes(body, backward, (needed & on_tape) - params):
                break
            primal = assigned_names(body) | params | {c.residual for c in self.transform.facts.calls.user_calls.values()}
        return backward, needed

    def choose_saves(self, body: list[gast.stmt], needed: set[str], params: set[str]) -> set[tuple[int, str]]:
        """The (statement, name) pairs whose old value must go on the tape before the statement runs.

        A value is saved when the backward pass reads the name and an earlier value
        can reach this assignment: it is a parameter, was assigned before, or the
        assignment is inside a loop.
        """
        _, in_loop = definitions(body, self.transform.facts.binds)
        local = {n for names in self.plan.iteration_locals.values() for n in names}
        seen = set(params)
        saves = set()
        for stmt in walk_statements(body):
            for n in self.transform.facts.binds(stmt):
                if n in needed and n not in local and (n in seen or sid(stmt) in in_loop):
                    saves.add((sid(stmt), n))
                seen.add(n)
        return saves

    def find_iteration_locals(self, body: list[gast.stmt]) -> dict[int, list[str]]:
        """Per loop, the names assigned once, directly in its body, and read only after that in the body.

        Their values for one iteration go on the tape together, as one tuple at the
        end of the iteration, instead of one push per assignment.
        """
        counts, _ = definitions(body, self.transform.facts.binds)
        order = {sid(s): k for k, s in enumerate(walk_statements(body))}
        read_at: dict[str, list[int]] = {}
        for stmt in walk_statements(body):
            for n in own_reads(stmt):
                read_at.setdefault(n, []).append(order[sid(stmt)])
        found: dict[int, list[str]] = {}
        for loop in walk_statements(body):
            if not isinstance(loop, (gast.For, gast.While)) or not loop.body:
                continue
            span = [order[sid(s)] for s in walk_statements(loop.body)]
            end = max(span)
            names = []
            for stmt in loop.body:
                if is_break_check(stmt):
                    break
                for n in self.transform.facts.binds(stmt):
                    at = order[sid(stmt)]
                    if counts.get(n) == 1 and all(at < r <= end for r in read_at.get(n, [])):
                        names.append(n)
            if names:
                found[sid(loop)] = names
        return found

    def find_views_to_slice_again(self, body: list[gast.stmt], params: set[str]) -> dict[str, gast.expr]:
        """Iteration locals ``v = x[index]`` that are views of an array the loop writes into: name -> the slice.

        The backward pass takes the view again from ``x`` instead of popping it. Popped, it
        would show the writes' values until the backward pass puts them back; a derivative
        of the derivative reads the tape as values fixed when pushed, and would be wrong.
        The index must be basic slicing (an element, or an integer array, gives a copy
        that would be read too late), the array must keep its binding in the loop, and the
        index read only constants, the loop's target and names bound once before any loop.
        """
        counts, in_loop = definitions(body, self.transform.facts.binds)
        fixed = {n for s in walk_statements(body) if sid(s) not in in_loop for n in self.transform.facts.binds(s)
                 if counts.get(n) == 1 and not isinstance(s, gast.For)}
        arrays = self.transform.arrays
        found: dict[str, gast.expr] = {}
        for loop in walk_statements(body):
            names = self.plan.iteration_locals.get(sid(loop), [])
            if not names:
                continue
            written = {stored(s)[0] if stored(s) is not None else target_of(s) for s in walk_statements(loop.body)
                       if stored(s) is not None or self.transform.facts.is_buffer_write(s)}
            steady = fixed | ({loop.target.id} if isinstance(loop, gast.For) else set())
            bound_here = {n for s in walk_statements(loop.body) for n in self.transform.facts.binds(s)}
            for stmt in loop.body:
                rhs = stmt.value if isinstance(stmt, gast.Assign) else None
                target = target_of(stmt)
                if target not in names or not isinstance(rhs, gast.Subscript) or not isinstance(rhs.value, gast.Name):
                    continue
                base = rhs.value.id
                if base not in written or base not in arrays.arrays or not _is_a_view(rhs.slice):
                    continue
                if base in bound_here:  # bound elsewhere, the backward pass sets it back before this loop's
                    continue            # (it reads it here): only a binding inside the loop would differ
                if all(n in steady or counts.get(n, 0) == 0 and n in params
                       for n in reads(rhs.slice)):
                    found[target] = rhs
        return found

    # -- assembling the forward and backward passes ----------------------------------------------

    def unneeded_snapshots(self, body: list[gast.stmt], params: set[str]) -> set[int]:
        """The writes into new arrays whose old contents the backward pass never reads.

        The forward pass saves what ``x[i] = v`` (or ``y op= v`` in place) overwrites,
        and the backward pass puts it back, so that code reading the array going
        backwards sees the values it had. For an array made inside the function,
        shared with no argument, and read by the backward pass only before the
        first of those restores would run, saving and restoring is wasted work.
        """
        writes = {sid(s): stored(s)[0] if stored(s) is not None else target_of(s)
                  for s in walk_statements(body) if stored(s) is not None or self.transform.facts.is_buffer_write(s)}
        if not writes:
            return set()
        self.plan.unsaved, self.plan.restore_markers = set(writes), {}
        try:
            trial = self.transform.backward(body)
            markers = self.plan.restore_markers
        finally:
            self.plan.restore_markers = None
        found: set[int] = set()
        groups = {base: self.memory_of(base, body, params) for base in sorted(set(writes.values()))}
        shared = {base for base, group in groups.items() if group is None} | set(params)
        for base, group in groups.items():
            if group is None or group & shared:  # it may hold an argument's memory: y = x; y[1] = ...
                continue
            ids = {i for i, b in writes.items() if b in group}
            first = next((k for k, stmt in enumerate(trial)
                          if any(markers.get(id(n)) in ids for n in gast.walk(stmt))), len(trial))
            if all(k < first for k, stmt in enumerate(trial) if self.reads_contents(stmt, group)):
                found |= ids
        return found

    def memory_of(self, base: str, body: list[gast.stmt], params: set[str]) -> set[str] | None:
        """The names that may hold ``base``'s memory (views, aliases, containers); None if it may be an argument's."""
        import numpy as np

        if base in params:
            return None
        for stmt in walk_statements(body):
            if base in self.transform.facts.binds(stmt) and not (isinstance(stmt, gast.Assign)
                                                   and makes_new_object(self.transform.parsed, stmt.value)):
                return None
        arrays = self.transform.arrays.arrays

        def new_memory(rhs: gast.expr, group: set[str]) -> bool:
            inside = [n for n in reads(rhs) if n in group]
            if isinstance(rhs, (gast.BinOp, gast.UnaryOp, gast.Compare)):
                return all(n in arrays for n in inside)
            if isinstance(rhs, gast.Attribute):
                return rhs.attr in registry.NONDIFFERENTIABLE_ATTRIBUTES
            if isinstance(rhs, gast.Call):
                func = self.transform.parsed.resolve(rhs.func)
                if func in (len, range, int, float, bool, round, isinstance, type):
                    return True
                if not is_resolved(func):  # x.copy() of a list copies the list, not its elements
                    return makes_new_object(self.transform.parsed, rhs) and isinstance(rhs.func.value, gast.Name) \
                        and rhs.func.value.id in arrays
                return func is not np.diag and makes_new_object(self.transform.parsed, rhs)  # diag: a read-only view
            return False

        group = {base}
        while True:
            size = len(group)
            for stmt in walk_statements(body):
                if isinstance(stmt, (gast.If, gast.For, gast.While, gast.Return)):
                    continue
                if not set(reads(stmt)) & group:
                    continue
                if sid(stmt) in self.transform.facts.calls.user_calls:
                    return None
                if stored(stmt) is not None:
                    array, _, value = stored(stmt)
                    if isinstance(value, gast.Name) and value.id in group and array not in arrays:
                        group.add(array)  # an element of a list or dict holds it now
                    continue
                if appended(stmt) is not None or list_change(stmt) is not None:
                    lst = appended(stmt)[0] if appended(stmt) is not None else list_change(stmt)[1]
                    group.add(lst)
                    if target_of(stmt):
                        group.add(target_of(stmt))
                    continue
                target = target_of(stmt)
                if target is None:
                    return None  # a call kept for its effect
                element = isinstance(stmt.value, gast.Subscript) and self.transform.arrays.shapes.get(target) == SCALAR_SHAPE
                if not element and not new_memory(stmt.value, group):  # an element is a copy; a slice a view
                    group.add(target)
            if len(group) == size:
                return group

    def reads_contents(self, stmt: gast.stmt, group: set[str]) -> bool:
        """Whether backward code reads the contents of an array in ``group`` (not only its shape or dtype)."""
        sd = self.transform.runtime["sd"]
        shape_only: set[int] = set()
        for node in gast.walk(stmt):
            if is_runtime_call(node, sd, ("zeros_like",)):
                shape_only.add(id(node.args[0]))
            elif is_runtime_call(node, sd, ("unbroadcast", "index_adjoint", "accumulate_at_adjoint")) \
                    and len(node.args) > 1:
                shape_only.add(id(node.args[1]))
            elif is_runtime_call(node, sd, ("store_adjoint", "store_adjoint_to", "increment_adjoint")):
                shape_only.update(id(a) for a in node.args[2:])
        return any(isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id in group
                   and not (id(n) in shape_only and n.id in self.transform.arrays.arrays) for n in gast.walk(stmt))

    def restores_unread(self, backward: list[gast.stmt]) -> set[str]:
        """Names the backward pass sets back from the tape (``x = tape.pop()``) but reads only before that."""
        first: dict[str, int] = {}
        popped = gast.dump(self.transform.pop())
        for k, stmt in enumerate(backward):
            for node in gast.walk(stmt):
                if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) \
                        and isinstance(node.value, gast.Call) and gast.dump(node.value) == popped:
                    first.setdefault(node.targets[0].id, k)
        unread = set()
        for n, at in first.items():
            if not any(isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id == n
                       for stmt in backward[at:] for node in gast.walk(stmt)):
                unread.add(n)
        return unread


def _is_a_view(index: gast.expr) -> bool:
    """Whether ``x[index]`` of an array is certainly a view: slices, with integer constants beside them."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return any(isinstance(p, gast.Slice) for p in parts) and all(
        isinstance(p, gast.Slice) or (isinstance(p, gast.Constant) and type(p.value) is int) for p in parts)
