"""Reverse mode: the two passes, written from the adjoint code of each statement and the save plan.

The forward pass is the primal statements, plus what the plan keeps: a value is
pushed on the tape before a statement overwrites it, the branch taken and the
trip count of a loop are recorded. The backward pass walks the statements in
reverse, runs each one's adjoint code, and pops back what the forward pass kept,
so that every primal name holds the value it had right after the statement.
"""
from __future__ import annotations

import copy

import gast

from sourcediff.rules import registry

from .analyze import Facts
from .binding import is_runtime_call
from .ir import (appended, blocks, index_value, is_break_check, list_change, loop_level, number_statements, reads,
                 sid, stored, target_of, update, walk_statements)
from .naming import Namer, assign, call, constant, constant_tuple, method_call, name
from .parse import ParsedFunction
from .tape import SavePlan


class Passes:
    """Writes the forward and the backward pass; ``code``, ``heads`` and ``tails`` hold the adjoint code
    per statement (and the zeroing or copying of adjoints around loops and branches), by statement id."""

    def __init__(self, parsed: ParsedFunction, facts: Facts, runtime: dict[str, str], namer: Namer,
                 code: dict[int, list[gast.stmt]], heads: dict[int, list[gast.stmt]],
                 tails: dict[int, tuple[list[gast.stmt], list[gast.stmt]]], adjoint_names: dict[str, str]):
        self.parsed, self.facts, self.arrays, self.runtime, self.namer = parsed, facts, facts.arrays, runtime, namer
        self.code, self.heads, self.tails, self.adjoint_names = code, heads, tails, adjoint_names
        self.plan = SavePlan()  # what the forward pass keeps for the backward pass
        self.tape = namer.fresh("tape")
        self.initialize: set[str] = set()  # names the forward pass binds to None first

    def pop(self) -> gast.Call:
        return gast.Call(func=gast.Attribute(value=name(self.tape), attr="pop", ctx=gast.Load()), args=[], keywords=[])

    def push(self, value: gast.expr) -> gast.stmt:
        return method_call(self.tape, "append", value)

    def forward(self, stmts: list[gast.stmt], defined: set[str]) -> list[gast.stmt]:
        out: list[gast.stmt] = []
        for stmt in stmts:
            for checked, message, hint in self.facts.calls.immutable_checks.get(sid(stmt), ()):
                out.append(gast.Expr(value=call(f"{self.runtime['sd']}.immutable_value", name(checked),
                                                constant(message), constant(hint), constant(self.parsed.filename),
                                                constant(self.parsed.lineno(stmt)))))
            if sid(stmt) in self.facts.varied_indices:  # an index computed from differentiated values: no floats in it
                names = self.facts.varied_indices[sid(stmt)]
                out.append(gast.Expr(value=call(f"{self.runtime['sd']}.check_index",
                                                gast.Tuple(elts=[name(n) for n in names], ctx=gast.Load()),
                                                constant(self.parsed.filename),
                                                constant(self.parsed.lineno(stmt)))))
            for n in self.facts.binds(stmt):
                if (sid(stmt), n) in self.plan.saves:
                    if n not in defined:
                        self.initialize.add(n)
                    out.append(self.push(name(n)))
            # a zero adjoint shaped like a name that may be unbound there (bound in one branch only):
            # the name starts as None, whose zero is None, never read on the paths where it is unbound
            self.initialize |= self.zeroed_primals(stmt) - defined
            if isinstance(stmt, gast.If):
                body = self.forward(stmt.body, set(defined))
                orelse = self.forward(stmt.orelse, set(defined))
                record_after = None
                if self.has_content(stmt):
                    test_names = set(reads(stmt.test))
                    inside = {t for s in walk_statements(stmt.body + stmt.orelse) for t in self.facts.binds(s)}
                    if isinstance(stmt.test, gast.Name) and not test_names & inside:
                        record_after = self.push(name(stmt.test.id))
                    else:
                        body.append(self.push(constant(True)))
                        orelse.append(self.push(constant(False)))
                node = gast.If(test=stmt.test, body=body or [gast.Pass()], orelse=orelse)
                out.append(gast.copy_location(node, stmt))
                if record_after is not None:
                    out.append(record_after)
                defined |= definitely_assigned(stmt.body, self) & definitely_assigned(stmt.orelse, self)
            elif isinstance(stmt, (gast.For, gast.While)):
                counter = None
                if self.has_content(stmt) and (isinstance(stmt, gast.While) or _breaks(stmt)):
                    counter = self.namer.fresh("trips")
                    out.append(assign(counter, constant(0)))
                inner = set(defined)
                if isinstance(stmt, gast.For):
                    inner.add(stmt.target.id)
                body = self.forward(stmt.body, inner)
                batch = [n for n in self.plan.iteration_locals.get(sid(stmt), [])
                         if n in self.plan.needed and n not in self.plan.rebuilt]
                if batch:
                    at = len(body) - 1 if body and is_break_check(body[-1]) else len(body)
                    if isinstance(stmt, gast.While) and at == len(body):  # before the condition is recomputed
                        at = next((k for k, s in enumerate(body) if is_break_check(s)), len(body))
                    body.insert(at, self.push(_names_value(batch)))
                if counter is not None:
                    body.insert(0, assign(counter, gast.BinOp(left=name(counter), op=gast.Add(), right=constant(1))))
                if isinstance(stmt, gast.For):
                    node = gast.For(target=stmt.target, iter=stmt.iter, body=body, orelse=[], type_comment=None)
                else:
                    node = gast.While(test=stmt.test, body=body, orelse=[])
                out.append(gast.copy_location(node, stmt))
                if counter is not None:
                    out.append(self.push(name(counter)))
            elif sid(stmt) in self.facts.calls.user_calls:
                out.append(self.forward_call(stmt))
            elif sid(stmt) in self.facts.calls.inactive_writes:  # step(u, 0.5): keep what the helper overwrites
                out.extend(self.push(call(f"{self.runtime['sd']}.snapshot_contents", name(n)))
                           for n in self.facts.calls.inactive_writes[sid(stmt)])
                out.append(stmt)
            elif self.reads_array_attribute_of_varied(stmt):
                # x.shape / x.T mean the array attribute; a dataclass field of that name would be differentiated
                # wrongly, so check at run time that x is not an object with such a field
                rhs = stmt.value
                out.append(gast.Expr(value=call(f"{self.runtime['sd']}.check_array_attribute",
                                                name(rhs.value.id), constant(rhs.attr))))
                out.append(stmt)
            elif sid(stmt) in self.plan.unsaved:  # nothing in the backward pass reads what it overwrites
                out.append(stmt)
            elif stored(stmt) is not None:  # save the elements this write overwrites, and only them
                array, index, _ = stored(stmt)
                if array in self.arrays.arrays:
                    old = gast.Subscript(value=name(array), slice=copy.deepcopy(index), ctx=gast.Load())
                    out.append(self.push(call(f"{self.runtime['sd']}.snapshot", old)))
                else:  # a dict may not have the key yet
                    out.append(self.push(call(f"{self.runtime['sd']}.snapshot_item", name(array),
                                              index_value(index))))
                out.append(stmt)
            elif self.facts.is_buffer_write(stmt):  # restore may write into a dict: snapshot its contents
                how = "snapshot" if stmt.value.func.attr == "assign_into" else "snapshot_contents"
                out.append(self.push(call(f"{self.runtime['sd']}.{how}", name(target_of(stmt)))))
                out.append(stmt)
            else:
                out.append(stmt)
            defined.update(self.facts.binds(stmt))
        return out

    def forward_call(self, stmt: gast.Assign) -> gast.stmt:
        """``y, y_saved = f_fwd(args)``: the forward half of a call to a user function."""
        info = self.facts.calls.user_calls[sid(stmt)]
        rhs = stmt.value
        if info.forward is None:
            func = call(f"{self.runtime['sd']}.call_forward", copy.deepcopy(rhs.func),
                        constant_tuple(info.dynamic[0]), constant_tuple(info.dynamic[1]))
            value = gast.Call(func=func.func, args=func.args + list(rhs.args), keywords=list(rhs.keywords))
        else:
            value = gast.Call(func=name(info.forward), args=list(rhs.args), keywords=list(rhs.keywords))
        targets = gast.Tuple(elts=[name(target_of(stmt), gast.Store), name(info.residual, gast.Store)],
                             ctx=gast.Store())
        return gast.copy_location(gast.Assign(targets=[targets], value=value, type_comment=None), stmt)

    def reads_array_attribute_of_varied(self, stmt: gast.stmt) -> bool:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Attribute)
                and isinstance(stmt.value.value, gast.Name)):
            return False
        attr = stmt.value.attr
        known = attr in registry.NONDIFFERENTIABLE_ATTRIBUTES or attr in registry.ATTRIBUTE_RULES
        owner = stmt.value.value.id
        return known and owner in self.facts.activity.varied_before.get(sid(stmt), ()) and owner not in self.arrays.arrays

    def has_content(self, stmt: gast.stmt) -> bool:
        """Whether a compound statement needs anything in the backward pass."""
        for sub in walk_statements(blocks(stmt)[0] + (blocks(stmt)[1] if len(blocks(stmt)) > 1 else [])):
            if self.code.get(sid(sub)) or any((sid(sub), n) in self.plan.saves for n in self.facts.binds(sub)):
                return True
            if sid(sub) in self.plan.mutations or stored(sub) is not None or self.facts.is_buffer_write(sub) \
                    or sid(sub) in self.facts.calls.inactive_writes:
                return True
            if any(self.tails.get(sid(sub), ([], []))) or self.heads.get(sid(sub)):
                return True  # a nested loop or branch that zeroes or copies adjoints
            if any(n in self.plan.needed for n in self.plan.iteration_locals.get(sid(sub), [])):
                return True
        if any(self.tails.get(sid(stmt), ([], []))) or self.heads.get(sid(stmt)):
            return True
        if any(n in self.plan.needed for n in self.plan.iteration_locals.get(sid(stmt), [])):
            return True
        return any((sid(stmt), n) in self.plan.saves for n in self.facts.binds(stmt))

    def backward(self, stmts: list[gast.stmt]) -> list[gast.stmt]:
        out: list[gast.stmt] = []
        for stmt in reversed(stmts):
            if isinstance(stmt, gast.If):
                if self.has_content(stmt):
                    to_body, to_else = self.tails[sid(stmt)]
                    body = self.backward(stmt.body) + to_body
                    orelse = self.backward(stmt.orelse) + to_else
                    node = gast.If(test=self.pop(), body=body or [gast.Pass()], orelse=orelse)
                    out.append(node)
            elif isinstance(stmt, (gast.For, gast.While)):
                if self.has_content(stmt):
                    out.extend(self.heads[sid(stmt)])
                    body = self.backward(stmt.body) + self.tails[sid(stmt)][0]
                    batch = [n for n in self.plan.iteration_locals.get(sid(stmt), []) if n in self.plan.needed]
                    for n in reversed([n for n in batch if n in self.plan.rebuilt]):  # views: sliced again
                        body.insert(0, assign(n, copy.deepcopy(self.plan.rebuilt[n])))
                    batch = [n for n in batch if n not in self.plan.rebuilt]
                    if batch:
                        target = name(batch[0], gast.Store) if len(batch) == 1 else gast.Tuple(
                            elts=[name(n, gast.Store) for n in batch], ctx=gast.Store())
                        body.insert(0, gast.Assign(targets=[target], value=self.pop(), type_comment=None))
                    if isinstance(stmt, gast.For):
                        sequence: gast.expr = copy.deepcopy(stmt.iter)
                        if _breaks(stmt):
                            sequence = gast.Subscript(value=sequence, slice=gast.Slice(lower=None, upper=self.pop(),
                                                                                      step=None), ctx=gast.Load())
                        iterator = gast.Call(func=name("reversed"), args=[sequence], keywords=[])
                        out.append(gast.For(target=name(stmt.target.id, gast.Store), iter=iterator,
                                            body=body or [gast.Pass()], orelse=[], type_comment=None))
                    else:
                        trips = gast.Call(func=name("range"), args=[self.pop()], keywords=[])
                        out.append(gast.For(target=name("_", gast.Store), iter=trips, body=body or [gast.Pass()],
                                            orelse=[], type_comment=None))
            else:
                out.extend(self.code.get(sid(stmt), []))
                for n in reversed(self.facts.calls.inactive_writes.get(sid(stmt), ())):
                    out.append(self.restore(n))
                if sid(stmt) in self.plan.mutations:
                    out.append(self.undo_list_change(stmt))
                if sid(stmt) in self.plan.unsaved:
                    if self.plan.restore_markers is not None:  # where the restore would go
                        marker = gast.Pass()
                        self.plan.restore_markers[id(marker)] = sid(stmt)
                        out.append(marker)
                elif stored(stmt) is not None:  # put the overwritten elements back
                    array, index, _ = stored(stmt)
                    if array in self.arrays.arrays:
                        out.append(update(array, copy.deepcopy(index), self.pop()))
                    else:
                        out.append(gast.Expr(value=call(f"{self.runtime['sd']}.restore_item", name(array),
                                                        index_value(index), self.pop())))
                elif self.facts.is_buffer_write(stmt):
                    out.append(self.restore(target_of(stmt), buffer=stmt.value.func.attr))
            for n in reversed(self.facts.binds(stmt)):
                if (sid(stmt), n) in self.plan.saves:
                    out.append(assign(n, self.pop()))
        return out

    def restore(self, n: str, buffer: str | None = None) -> gast.stmt:
        """Put back the snapshot of ``n`` that a write overwrote, into the same object (its other names see it):
        as the buffer write did (``buffer``: ``assign_into`` or ``restore``); else with ``sd.assign_into`` for an
        array or a number (which may be a NumPy scalar, not writable in place), ``sd.restore`` for what a helper
        wrote into an object not known to be either (a list or a dict). Both are differentiated again."""
        how = buffer or ("assign_into" if n in self.arrays.arrays else "restore")
        return assign(n, call(f"{self.runtime['sd']}.{how}", name(n), self.pop()))

    def undo_list_change(self, stmt: gast.stmt) -> gast.stmt:
        """Put the primal list back as it was before ``stmt`` (the backward pass reads it)."""
        sd = self.runtime["sd"]
        if appended(stmt) is not None:
            return method_call(appended(stmt)[0], "pop")
        method, lst, args = list_change(stmt)
        if method == "pop":
            index = copy.deepcopy(args[0]) if args else constant(None)
            return gast.Expr(value=call(f"{sd}.unpop", name(lst), index, name(target_of(stmt))))
        if method == "extend":
            return gast.Expr(value=call(f"{sd}.unextend", name(lst), call("len", copy.deepcopy(args[0]))))
        return gast.Expr(value=call(f"{sd}.uninsert", name(lst), copy.deepcopy(args[0])))

    def zeroed_primals(self, stmt: gast.stmt) -> set[str]:
        """The primal names whose values shape the zero adjoints around a branch or loop."""
        code = self.heads.get(sid(stmt), []) + [s for part in self.tails.get(sid(stmt), ()) for s in part]
        adjoints = set(self.adjoint_names.values())
        return {node.args[0].id for s in code for node in gast.walk(s)
                if is_runtime_call(node, self.runtime["sd"], ("zeros_like",))
                and isinstance(node.args[0], gast.Name) and node.args[0].id not in adjoints}

    def keep_only_shapes(self, body: list[gast.stmt], backward: list[gast.stmt], candidates: set[str]) -> bool:
        """Save ``np.shape(t)`` instead of ``t`` where the backward pass reads ``t`` only for its shape.

        ``sd.unbroadcast(g, t)`` needs nothing of ``t`` but its shape; keeping the
        whole array alive until the backward pass would cost its memory for nothing.
        """
        loads: dict[str, int] = {}
        shape_loads: dict[str, int] = {}
        for node in (n for stmt in backward for n in gast.walk(stmt)):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                loads[node.id] = loads.get(node.id, 0) + 1
            shaped = _shape_argument(node, self.runtime["sd"])
            if shaped is not None and isinstance(node.args[shaped], gast.Name):
                shape_loads[node.args[shaped].id] = shape_loads.get(node.args[shaped].id, 0) + 1
        only = {n for n in candidates if loads.get(n) and loads[n] == shape_loads.get(n)}
        if not only:
            return False
        shapes = {n: self.namer.fresh(f"{n}_shape") for n in sorted(only)}
        blocks_out = list(self.code.values()) + list(self.heads.values()) + \
            [b for pair in self.tails.values() for b in pair]
        for node in (n for block in blocks_out for stmt in block for n in gast.walk(stmt)):
            shaped = _shape_argument(node, self.runtime["sd"])
            if shaped is not None and isinstance(node.args[shaped], gast.Name) and node.args[shaped].id in shapes:
                node.func.attr += "_to"
                node.args[shaped] = name(shapes[node.args[shaped].id])
        _insert_shapes(body, shapes, self.runtime["np"])
        number_statements(body)
        return True


def _breaks(loop: gast.For | gast.While) -> bool:
    """Whether the loop body ends with ``if flag: break``."""
    return any(isinstance(n, gast.Break) for n in loop_level(loop.body))


def _shape_argument(node: gast.AST, runtime: str) -> int | None:
    """Which argument of ``sd.unbroadcast(g, x)`` / ``sd.store_adjoint(a, i, x)`` is read only for its shape."""
    if is_runtime_call(node, runtime, ("unbroadcast",)):
        return 1
    if is_runtime_call(node, runtime, ("store_adjoint",)):
        return 2
    return None


def _insert_shapes(stmts: list[gast.stmt], shapes: dict[str, str], numpy_name: str) -> None:
    """After each assignment of a name in ``shapes``, record its shape: ``t_shape = np.shape(t)``."""
    k = 0
    while k < len(stmts):
        stmt = stmts[k]
        for block in blocks(stmt):
            _insert_shapes(block, shapes, numpy_name)
        target = target_of(stmt)
        if target in shapes:
            shape = gast.Call(func=gast.Attribute(value=name(numpy_name), attr="shape", ctx=gast.Load()),
                              args=[name(target)], keywords=[])
            stmts.insert(k + 1, assign(shapes[target], shape, stmt))
            k += 1
        k += 1


def _names_value(names: list[str]) -> gast.expr:
    return name(names[0]) if len(names) == 1 else gast.Tuple(elts=[name(n) for n in names], ctx=gast.Load())


def definitely_assigned(stmts: list[gast.stmt], passes: Passes) -> set[str]:
    names: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, gast.If):
            names |= definitely_assigned(stmt.body, passes) & definitely_assigned(stmt.orelse, passes)
        elif not isinstance(stmt, (gast.For, gast.While)):
            names.update(passes.facts.binds(stmt))
    return names
