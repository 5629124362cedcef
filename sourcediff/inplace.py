"""Inplace: every change of memory made explicit, while a function is lowered.

The lowering holds an :class:`InPlace` and tells it what each statement binds; the
``InPlace`` keeps the :class:`Memory` (which names may share an array, which are views
of one, which views went stale) and writes out what a change of memory needs. A write
into an array (``x[i] = v``, ``y += v``, ``np.add.at``) is emitted as a write, and every
other name that may hold the same object takes its new value; a view read after its
array changed is read again, checked at run time or refused; a write that could not be
followed (into a view, a module's array, an object a call may share) is refused.
"""
from __future__ import annotations

import copy
import re
import types
from typing import Callable, Protocol

import gast

from sourcediff.rules import registry

from .errors import UnsupportedSyntaxError
from .ir import index_value, update, walk_local
from .naming import RUNTIME, Namer, assign, constant, name
from .parse import ParsedFunction, is_resolved, is_user_function

_TEMPORARY_NAME = re.compile(r"^t\d+$")


class Host(Protocol):
    """What an :class:`InPlace` needs of the lowering that holds it."""

    parsed: ParsedFunction
    namer: Namer

    def emit(self, stmt: gast.stmt) -> None: ...
    def atom(self, expr: gast.expr) -> gast.expr: ...  # lower an expression to a name or a constant
    def index(self, index: gast.expr) -> gast.expr: ...  # lower a subscript's index
    def bind(self, target: gast.expr, value: gast.expr, stmt: gast.stmt) -> None: ...  # lower target = value
    def refuse(self, node: gast.AST, what: str, hint: str) -> UnsupportedSyntaxError: ...


class InPlace:
    """The memory of one function being lowered, and the statements its changes need.

    ``parameters`` hold the caller's objects (``numbers`` hold immutable ones), ``arrays``
    hold ndarrays. ``returned_object(f)`` gives :meth:`returned` for the user's function
    ``f`` lowered on its own, which a call of ``f`` needs.
    """

    def __init__(self, lowering: Host, parameters: set[str], numbers: frozenset[str], arrays: frozenset[str],
                 returned_object: Callable[[object], tuple[str, frozenset[str]]]):
        self.lowering, self.parsed, self.namer = lowering, lowering.parsed, lowering.namer
        self.parameters, self.returned_object = parameters, returned_object
        self.memory = Memory()  # which names share an array, which are views, which views went stale
        self.memory.arguments = parameters - numbers  # the caller's objects, until rebound
        a = self.parsed.node.args
        self.memory.bound = {p.id for p in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if p}
        self.memory.arrays = set(arrays)
        self.sequences_made_here = _sequences_made_here(self.parsed.node)
        self.held_as: dict[str, str] = {}  # a for loop's hold of the object it iterates over -> its name
        self.maybe_unbound: set[str] = set()  # names an alias check reads where they may not be bound yet
        self.holders: dict[str, str] = {}  # parameter -> the name that keeps its object

    # -- paths -----------------------------------------------------------------------------------
    def either(self, first: Callable, second: Callable) -> tuple:
        """Run ``first()`` and ``second()``, each from the memory as it is now (two branches); afterwards
        the memory holds what may hold after either. Gives back what they gave."""
        before = self.memory.copy()
        one = first()
        after_first, self.memory = self.memory, before
        other = second()
        self.memory.merge(after_first)
        return one, other

    def loop(self, loop: gast.For | gast.While, lower: Callable[[], None]) -> None:
        """Lower ``loop`` with ``lower()``: a view that a later iteration's write may change is read again,
        and one that the body reads after changing its array is refused."""
        written = written_names(loop.body)
        for view, (base, _) in self.memory.view_sources.items():  # changed by a later iteration: read again
            if self.memory.members(base) & written:
                self.memory.stale.add(view)
        before = self.memory.copy()
        lower()
        self.check_stale_views_in_loop(loop, before)
        self.memory.merge(before)

    def check_stale_views_in_loop(self, loop: gast.stmt, before: "Memory") -> None:
        """A view read in a loop whose base changes later in the loop body reads changed values next time."""
        stale = self.memory.stale - before.stale
        body = gast.Module(body=loop.body, type_ignores=[])
        read = {n.id for n in gast.walk(body) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        written = {n.id for n in gast.walk(body) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        if isinstance(loop, gast.For):  # bound again at the top of every iteration
            written |= {n.id for n in gast.walk(loop.target) if isinstance(n, gast.Name)}
        for view in sorted(stale & read - written):
            raise self.lowering.refuse(loop, f"a loop that reads {self.describe_view(view)}, "
                                       "after changing that array in place", f"take a copy ({view} = ....copy()) or "
                                       "index the array itself inside the loop")

    # -- reads -----------------------------------------------------------------------------------
    def read(self, expr: gast.Name, current: gast.stmt) -> gast.Name | None:
        """How to read a view whose array changed since it was made: a name holding it read again or checked
        at run time; None for a name that is not such a view. Refuses one that cannot be read."""
        memory = self.memory
        if expr.id not in memory.stale:
            return None
        temporary = self.is_temporary(expr.id)
        elements = expr.id in memory.elements or (expr.id in memory.held and expr.id not in memory.held_directly)
        if elements or (temporary and expr.id not in memory.held_directly):
            # an element read before its array changed: fine if it was a copy (x[i] gives a number),
            # refused at run time if it was a view (x[1:3], or a row x[i] of a matrix)
            checked = self.namer.temporary()
            what = f"reading {self.describe_view(expr.id)}," if not temporary else "reading a slice of an array"
            message = constant(f"{what} after that array was changed in place")
            where = [constant(self.parsed.filename), constant(self.parsed.lineno(current))]
            # a container may hold the written array itself (an element of a tuple a helper gave back)
            written = sorted(n for n in memory.stale_by.get(expr.id, ()) if n in memory.bound)
            changed = [gast.keyword(arg="changed", value=gast.Tuple(elts=[name(n) for n in written],
                                                                    ctx=gast.Load()))] if written else []
            check = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="not_a_view", ctx=gast.Load()),
                              args=[name(expr.id), message] + where, keywords=changed)
            self.lowering.emit(assign(checked, check, expr))
            self.memory.join(checked, expr.id)  # the check gives back the object itself: a write into it is one
            return name(checked)                # into expr.id's object too (fuzz seed 1302200763)
        if expr.id in memory.view_sources:
            # u[1:] shows u's changes: read it again from u (a copy, as of a list, is kept as it is)
            base, index = memory.view_sources[expr.id]
            fresh = self.namer.temporary()
            again = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="view_again", ctx=gast.Load()),
                              args=[name(expr.id), name(base), index_value(index)], keywords=[])
            self.lowering.emit(assign(fresh, again, expr))
            self.memory.views[fresh] = memory.views.get(base, base)  # a view of base again: a list holding it
            self.memory.view_sources[fresh] = (base, index)         # holds base (mod4-style seed 1302300810)
            return name(fresh)
        hint = "put a copy in it (.append(x.copy())), or read the array itself after the update" \
            if expr.id in memory.held else \
            f"take a copy when you make it ({expr.id} = ....copy()), or index the array again after the update"
        raise self.lowering.refuse(expr, f"reading {self.describe_view(expr.id)}, after that array was changed in "
                                   "place", hint)

    def is_temporary(self, identifier: str) -> bool:
        """A temporary the lowering made (not a name of the user's that looks like one)."""
        return bool(_TEMPORARY_NAME.match(identifier)) and identifier not in self.parsed.local_names

    def hold_iterable(self, iterable: gast.expr, items: gast.expr, written: set[str]) -> gast.expr:
        """What a for loop over ``items`` (the atom of ``iterable``) reads its elements from."""
        if isinstance(iterable, gast.Name) and (iterable.id in self.parameters or iterable.id in written
                                                or iterable.id not in self.sequences_made_here):
            # Python iterates over the object bound when the loop starts (the body may rebind the name), and
            # reads each element when it gets there (the body may change the object): hold the object under a
            # name of its own, known to share it. An argument, or a name bound by a call, may be a dict: loop
            # over its keys, as Python would (sd.iterable; it also makes an iterator a list).
            held = self.namer.temporary()
            if iterable.id not in self.sequences_made_here:
                items = _iterable(items)
            self.lowering.emit(assign(held, items, iterable))
            self.memory.rebind(held)
            self.held_as[held] = iterable.id
            if iterable.id in written or iterable.id not in self.parameters:  # sd.iterable gives arrays as they are
                self.memory.join(held, iterable.id)
            items = name(held)
        elif not isinstance(iterable, gast.Name):  # a call's result: a dict, an iterator (np.ndindex, map ...)
            held = self.namer.temporary()
            self.lowering.emit(assign(held, _iterable(items), iterable))
            self.memory.rebind(held)
            items = name(held)
        return items

    # -- writes ----------------------------------------------------------------------------------
    def augmented(self, stmt: gast.AugAssign) -> None:
        """``x[i] += v`` or ``y += v``: a write into the array, or a rebinding where nobody else sees it."""
        target = stmt.target
        lowering = self.lowering
        if isinstance(target, gast.Subscript):  # x[i] += v is x[i] = x[i] + v, the index evaluated once
            base = self.mutable_base(target, stmt)
            index = lowering.index(target.slice)
            current = lowering.atom(gast.copy_location(gast.Subscript(value=name(base), slice=index,
                                                                      ctx=gast.Load()), stmt))
            value = lowering.atom(gast.copy_location(gast.BinOp(left=current, op=stmt.op, right=stmt.value), stmt))
            self.store(base, copy.deepcopy(index), value, stmt)
            return
        if not isinstance(target, gast.Name):
            raise lowering.refuse(stmt, f"an in-place update of {type(target).__name__}", "update a plain name")
        hazard = self.in_place_hazard(target.id) or self.contained_hazard(target.id)
        if hazard is not None:
            # a view, an object a container holds, or one a call gave back: an array there cannot be followed,
            # but a number (or another immutable value) is simply rebound: check which when it runs
            what, hint = hazard
            checked = self.namer.temporary()
            where = [constant(self.parsed.filename), constant(self.parsed.lineno(stmt))]
            check = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="immutable_value", ctx=gast.Load()),
                              args=[name(target.id), constant(what), constant(hint)] + where, keywords=[])
            lowering.emit(assign(checked, check, stmt))
            lowering.bind(target, gast.copy_location(gast.BinOp(left=name(checked), op=stmt.op, right=stmt.value),
                                                     stmt), stmt)
            return
        if not self.memory.shared(target.id) and target.id not in self.memory.arguments \
                and not self.viewed(target.id):
            value = gast.copy_location(gast.BinOp(left=name(target.id), op=stmt.op, right=stmt.value), stmt)
            lowering.bind(target, value, stmt)  # nobody else sees this object: rebinding is the same
            return
        # y += v where another name (or the caller) may hold the same array: update it in place
        value = lowering.atom(stmt.value)
        lowering.emit(gast.copy_location(gast.AugAssign(target=name(target.id, gast.Store), op=stmt.op, value=value),
                                         stmt))
        self.refresh_others(target.id, stmt)

    def assign_into(self, target: gast.Subscript, value: gast.expr, stmt: gast.stmt) -> None:
        """``x[i] = value``."""
        base = self.mutable_base(target, stmt)
        index = self.lowering.index(target.slice)
        self.store(base, index, self.lowering.atom(value), stmt)

    def accumulate_at(self, stmt: gast.Expr, callee) -> None:
        """``np.add.at(y, i, v)`` becomes ``t = sd.accumulate_at(y, i, v); y[i] = t``.

        ``t`` holds what ``y[i]`` is after the call: every element plus all the values
        aimed at it, so the write gives each repeated element the same, accumulated value.
        """
        import numpy as np

        array, index, value = stmt.value.args
        target = gast.Subscript(value=array, slice=index, ctx=gast.Store())
        base = self.mutable_base(target, stmt)
        where = self.lowering.index(index)
        total = self.namer.temporary()
        negate = [gast.keyword(arg="negate", value=constant(True))] if callee == np.subtract.at else []
        accumulated = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="accumulate_at", ctx=gast.Load()),
                                args=[name(base), copy.deepcopy(where), self.lowering.atom(value)], keywords=negate)
        self.lowering.emit(assign(total, accumulated, stmt))
        self.store(base, where, name(total), stmt)

    def mutable_base(self, target: gast.Subscript, stmt: gast.stmt) -> str:
        """The name whose array ``target`` writes into; refuses what cannot be followed."""
        base = target.value
        if not isinstance(base, gast.Name):
            raise self.lowering.refuse(stmt, "assignment into an element of an element (a[i][j] = ...)",
                                       "index once (a[i, j] = ...), or give the inner object a name of its own")
        if base.id not in self.parsed.local_names:
            raise self.lowering.refuse(stmt, f"an in-place update of {base.id}, which is not a local variable",
                                       "pass the array in as an argument, or copy it first")
        hazard = self.in_place_hazard(base.id)
        if hazard is not None:
            raise self.lowering.refuse(stmt, *hazard)
        return base.id

    def store(self, base: str, index: gast.expr, value: gast.expr, stmt: gast.stmt) -> None:
        """``base[index] = value``, then every other name of the same array sees the new contents."""
        # a list or dict holds the object itself (an array copies it): it goes stale when that object changes
        self.note_contained([value], None if base in self.memory.arrays else base)
        self.lowering.emit(update(base, index, value, like=stmt))
        self.refresh_others(base, stmt)

    def refresh_others(self, changed: str, stmt: gast.stmt) -> None:
        """Names that may hold the object just changed in place take its new value, if they really hold it."""
        for other in sorted(self.memory.members(changed) - {changed}):
            if self.is_outer(other) or not other.isidentifier():
                continue  # never rebound here (in_place_hazard refuses writes into its object), or no name
            if other not in self.memory.bound:
                self.maybe_unbound.add(other)  # bound on some paths only: it starts as None (see Lowering.run)
            same = self.namer.temporary()  # a float's += made a new object; another path may have bound a copy
            self.lowering.emit(assign(same, gast.Compare(left=name(other), ops=[gast.Is()],
                                                         comparators=[name(changed)]), stmt))
            self.lowering.emit(gast.copy_location(gast.If(test=name(same), body=[assign(other, name(changed), stmt)],
                                                          orelse=[]), stmt))
        self.memory.changed(changed)

    # -- hazards ---------------------------------------------------------------------------------
    def viewed(self, identifier: str) -> bool:
        """Whether a view of your own may show the object of ``identifier`` later (``u = v[1:]``): then
        ``v += d`` must write in place, as Python does. (Views the lowering made are read at once.)"""
        bases = self.memory.members(identifier)
        return any(base in bases and not self.is_temporary(view) for view, base in self.memory.views.items())

    def may_change_later(self, identifier: str) -> bool:
        """Whether the object of ``identifier`` may be changed in place later: not so for a temporary holding
        a fresh value (``t = a * b``), which nothing else sees."""
        memory = self.memory
        return not self.is_temporary(identifier) or identifier in memory.views or identifier in memory.unknown \
            or identifier in memory.arguments or memory.shared(identifier) or identifier in memory.held

    def describe_view(self, identifier: str) -> str:
        """``u, a view of x`` or ``held, which holds x`` (for messages)."""
        verb = "which holds" if identifier in self.memory.held else "a view of"
        return f"{identifier}, {verb} {self.memory.viewed_array(identifier)}"

    def is_outer(self, identifier: str) -> bool:
        """A name of the module or of an enclosing function (not a local of the function lowered)."""
        return identifier not in self.parsed.local_names and is_resolved(self.parsed.lookup_name(identifier))

    def in_place_hazard(self, identifier: str) -> tuple[str, str] | None:
        """Why a write into the object of ``identifier`` could not be followed, with what to do; or None."""
        outer = sorted(n for n in self.memory.members(identifier) if self.is_outer(n))
        if outer:
            return (f"an in-place update of {identifier}, which may be {outer[0]}, an object of the module or of an "
                    "enclosing function (the derivative would change it)",
                    f"write into a copy: {identifier} = {outer[0]}.copy()")
        if identifier in self.memory.views:
            base = self.memory.views[identifier]
            base = self.held_as.get(base, base)  # the loop's own name for what it iterates over
            base = "an array expression" if _TEMPORARY_NAME.match(base) else base
            return (f"an in-place update of {identifier}, which may be a view of {base}",
                    f"update {base} itself through an index (for example {base}[1:-1] += ...), "
                    f"or take a copy with .copy()")
        if identifier in self.memory.unknown:
            return (f"an in-place update of {identifier}, which may be an array that another name also holds "
                    "(it comes from a call that may return one of its arguments)",
                    f"write into a copy: {identifier} = ....copy()")
        return None

    def contained_hazard(self, identifier: str) -> tuple[str, str] | None:
        """``y += v`` where a list, tuple or dict also holds y: fine for a number (rebound), not for an array."""
        if self.memory.members(identifier) & self.memory.contained:
            return (f"an in-place update of {identifier}, which a list, tuple or dict also holds (the container "
                    "would see the change)", f"put a copy in the container ({identifier}.copy()), or update "
                    f"{identifier} before putting it in")
        return None

    # -- bindings --------------------------------------------------------------------------------
    def note_alias(self, target: str, rhs: gast.expr) -> None:
        """Remember which names share an array (``y = x``) and which may be views (``y = x[1:]``)."""
        self.memory.rebind(target)
        if self.gives_an_array(rhs):
            self.memory.arrays.add(target)  # y[i] = v copies v into it (a list or dict would hold v)
        if isinstance(rhs, gast.Name):
            self.memory.join(target, rhs.id)
            return
        if isinstance(rhs, (gast.List, gast.Tuple, gast.Dict)):
            elements = rhs.values if isinstance(rhs, gast.Dict) else rhs.elts
            self.note_contained(elements, target)
            if any(isinstance(e, gast.Name) and e.id in self.memory.arguments for e in elements):
                self.memory.arguments.add(target)  # holds an object the caller passed in
        base = None
        if isinstance(rhs, gast.Subscript) or (isinstance(rhs, gast.Attribute)
                                               and registry.returns(registry.attribute(rhs.attr)) == "view"):
            base = rhs.value
        elif isinstance(rhs, gast.Call) and isinstance(rhs.func, gast.Attribute) \
                and registry.returns(registry.method(rhs.func.attr)) == "view" \
                and not is_resolved(self.parsed.resolve(rhs.func)):
            base = rhs.func.value
        elif isinstance(rhs, gast.Call) and rhs.args and registry.returns(self.parsed.resolve(rhs.func)) == "view":
            base = rhs.args[0]
        if isinstance(base, gast.Name):
            if base.id in self.memory.unknown:  # u, w = pair(v, c): u may be v itself
                self.memory.join(target, base.id)
            self.memory.views[target] = self.memory.views.get(base.id, base.id)
            if isinstance(rhs, gast.Subscript) and not any(isinstance(n, gast.Slice) for n in gast.walk(rhs.slice)):
                self.memory.elements.add(target)  # x[i], x[i, j]: a number for the right ndim, a view otherwise
            elif isinstance(rhs, gast.Subscript) and base.id not in self.memory.views and all(
                    isinstance(n, gast.Constant) for n in gast.walk(rhs.slice) if isinstance(n, gast.expr)
                    and not isinstance(n, (gast.Slice, gast.Tuple))):
                self.memory.view_sources[target] = (base.id, rhs.slice)  # u[1:]: can be read again from u
        elif not makes_new_object(self.parsed, rhs):
            callee = self.parsed.resolve(rhs.func) if isinstance(rhs, gast.Call) else None
            if not (is_resolved(callee) and is_user_function(callee) and self.returned_object(callee)[0] == "argument"):
                self.memory.unknown.add(target)  # may be an array some other name holds, or a part of one
            for other in self.may_return(rhs):  # y = ident(x): x changed in place later changes y too
                source = f"the earlier {target}" if other == target else other  # u = step(u): the same object
                if source != other and source not in self.memory.classes:
                    continue  # nothing else held the earlier object
                self.memory.join(target, source)

    def gives_an_array(self, rhs: gast.expr) -> bool:
        """Whether ``rhs`` certainly gives an ndarray (or a NumPy value): a NumPy call, arithmetic, a copy,
        a subscript or a copy of a known array."""
        def array(atom):
            return isinstance(atom, gast.Name) and atom.id in self.memory.arrays
        if isinstance(rhs, gast.Name):
            return array(rhs)
        if isinstance(rhs, gast.BinOp):
            return array(rhs.left) or array(rhs.right)
        if isinstance(rhs, gast.UnaryOp):
            return array(rhs.operand)
        if isinstance(rhs, (gast.Subscript, gast.Attribute)):
            return array(rhs.value)
        if isinstance(rhs, gast.Call):
            callee = self.parsed.resolve(rhs.func)
            if is_resolved(callee):
                return (getattr(callee, "__module__", None) or "").split(".")[0] == "numpy" \
                    or type(callee).__name__ == "ufunc"
            return isinstance(rhs.func, gast.Attribute) and array(rhs.func.value)  # x.copy(), x.reshape(...)
        return False

    def may_return(self, rhs: gast.expr) -> list[str]:
        """The names whose objects a call (or attribute) may give back: ``ident(x)``, ``np.asarray(x)``."""
        if not isinstance(rhs, gast.Call):
            return []
        callee = self.parsed.resolve(rhs.func)
        if is_resolved(callee) and is_user_function(callee):
            kind, parameters = self.returned_object(callee)
            if kind == "new":
                return []
            if kind == "argument":  # only the arguments bound to the parameters it may return
                code = callee.__code__
                positional = code.co_varnames[:code.co_argcount]
                bound = list(zip(positional, rhs.args)) + [(k.arg, k.value) for k in rhs.keywords]
                return [a.id for p, a in bound if p in parameters and isinstance(a, gast.Name)]
        atoms = list(rhs.args) + [k.value for k in rhs.keywords]
        if isinstance(rhs.func, gast.Attribute) and not is_resolved(callee) and not _is_runtime(rhs.func):
            atoms.append(rhs.func.value)  # a method may give back its object or a part of it
        return [a.id for a in atoms if isinstance(a, gast.Name)]

    def note_contained(self, atoms: list, container: str | None = None) -> None:
        """These objects are held by a container now: writing into them later would change it too. A view
        put into ``container`` makes the container show the viewed array's later changes."""
        for atom in atoms:
            if isinstance(atom, gast.Name):
                self.memory.contained |= self.memory.members(atom.id)
                if container is not None and self.may_change_later(atom.id):
                    self.memory.hold(container, atom.id)

    def returned(self, ret: gast.Return) -> tuple[str, frozenset[str]]:
        """What the final ``return`` gives back, as far as a caller's memory goes: ``"new"`` (objects no caller's
        name holds), ``"argument"`` with the parameters it may be, or ``"other"`` (a view or part of one, a
        container holding one, or it cannot be told)."""
        memory = self.memory
        atoms = [a for a in (ret.value.elts if isinstance(ret.value, gast.Tuple) else [ret.value])
                 if isinstance(a, gast.Name)]
        parts = [a.id for a in atoms if a.id in memory.views or a.id in memory.unknown or a.id in memory.held]
        arguments = [a.id for a in atoms if a.id in memory.arguments]
        if parts or (arguments and isinstance(ret.value, gast.Tuple)):
            return ("other", frozenset())
        if arguments:
            return ("argument", frozenset(n for a in arguments for n in memory.members(a) | {a}
                                          if n in self.parameters))
        return ("new", frozenset())

    # -- the whole function ----------------------------------------------------------------------
    def hold_rebound_arguments(self, node: gast.FunctionDef, arrays: frozenset[str]) -> None:
        """``v_argument = v`` first, for each parameter ``v`` the body may rebind (``v = 0.5``, or ``v += 1``
        when v may be a number): a write into the caller's object before the rebinding stays visible
        through that name, which is what a caller needs from a helper that writes into its arguments."""
        augmented = {id(sub.target) for sub in walk_local(node)
                     if isinstance(sub, gast.AugAssign) and isinstance(sub.target, gast.Name)}
        rebound = set()
        for sub in walk_local(node):
            if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Store):
                if id(sub) in augmented and sub.id in arrays:
                    continue  # x += v writes into the array x holds: x keeps its object
                rebound.add(sub.id)
        for p in sorted(self.memory.arguments & rebound):
            holder = self.holders[p] = self.namer.fresh(f"{p}_argument")
            self.lowering.emit(assign(holder, name(p), node))
            self.memory.join(holder, p)
            self.memory.bound.add(holder)

    def check_appends(self, node: gast.FunctionDef) -> None:
        """``lst.append(v)`` (pop, extend, insert) is differentiated only for a list made here, known by one name.

        Otherwise another name could see the appended value without the transform
        knowing, and the derivative would be silently wrong.
        """
        refuse = self.lowering.refuse
        params = {a.id for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs}
        nodes = list(walk_local(node))
        appends = [n for n in nodes if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
                   and n.func.attr in ("append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear")
                   and isinstance(n.func.value, gast.Name)
                   and not is_resolved(self.parsed.resolve(n.func))]  # np.sort, np.append: functions
        for call_node in appends:
            receiver = call_node.func.value.id
            if call_node.func.attr not in ("append", "pop", "extend", "insert") or call_node.keywords:
                raise refuse(call_node, f"the list method .{call_node.func.attr}(), which changes the list "
                             "in place", "build a new list (for example with a comprehension or slicing); "
                             "append, pop, extend, insert and lst[i] = v are differentiated")
            why = None
            if receiver in params:
                why = f"{receiver} is an argument: appending to it changes the caller's list"
            for sub in nodes:
                if isinstance(sub, gast.Assign) and any(isinstance(t, gast.Name) and t.id == receiver
                                                        for t in sub.targets):
                    if not isinstance(sub.value, (gast.List, gast.ListComp)):
                        why = f"{receiver} is not always a new list made here ([] or a comprehension)"
                elif isinstance(sub, gast.Assign) and isinstance(sub.value, gast.Name) and sub.value.id == receiver:
                    why = f"{receiver} is also known by another name"
                elif isinstance(sub, (gast.Tuple, gast.List, gast.Dict, gast.Set)) and any(
                        isinstance(e, gast.Name) and e.id == receiver
                        for e in getattr(sub, "elts", None) or getattr(sub, "values", [])):
                    why = f"{receiver} is stored inside another container"
            if why is not None:
                raise refuse(call_node, f"a change to this list by .{call_node.func.attr}() ({why})",
                             "build the list in this function with [] and append to it only under one name; "
                             "in-place updates of shared lists arrive in a later release")


class Memory:
    """What the lowering knows about shared arrays: names of one object, views, and stale views."""

    def __init__(self):
        self.classes: dict[str, frozenset[str]] = {}  # name -> the names that may hold the same object
        self.views: dict[str, str] = {}               # name -> the name of the array it may view
        self.stale: set[str] = set()                  # views whose array changed after they were made
        self.unknown: set[str] = set()                # may hold an array another name holds (from a call)
        self.contained: set[str] = set()              # names whose object was put into a list, tuple or dict
        self.elements: set[str] = set()               # views read with integers only: maybe numbers (copies)
        self.arguments: set[str] = set()              # may hold an object the caller passed in
        self.bound: set[str] = set()                  # certainly bound here, on every path
        self.arrays: set[str] = set()                 # certainly ndarrays (or NumPy values) on every path
        self.view_sources: dict[str, tuple[str, gast.expr]] = {}  # u[1:]: (u, index), while u holds that object
        self.held: dict[str, frozenset[str]] = {}     # container -> names whose objects (or views) it holds
        self.held_directly: set[str] = set()          # containers holding an object or a slice, not only elements
        self.stale_by: dict[str, frozenset[str]] = {}  # stale container -> the names written that made it stale

    def copy(self) -> "Memory":
        other = Memory()
        other.classes, other.views, other.stale = dict(self.classes), dict(self.views), set(self.stale)
        other.unknown = set(self.unknown)
        other.contained = set(self.contained)
        other.elements = set(self.elements)
        other.arguments = set(self.arguments)
        other.bound = set(self.bound)
        other.arrays = set(self.arrays)
        other.view_sources = dict(self.view_sources)
        other.held = dict(self.held)
        other.held_directly = set(self.held_directly)
        other.stale_by = dict(self.stale_by)
        return other

    def merge(self, other: "Memory") -> None:
        """Join two paths: anything that may hold on one path may hold after them."""
        for n in set(self.classes) | set(other.classes):
            members = self.classes.get(n, frozenset({n})) | other.classes.get(n, frozenset({n}))
            self.classes[n] = members
        mine = set(self.views)
        self.views.update({k: v for k, v in other.views.items() if k not in self.views})
        self.stale |= other.stale
        self.unknown |= other.unknown
        self.contained |= other.contained
        self.arguments |= other.arguments
        self.bound &= other.bound
        self.arrays &= other.arrays
        for c, held in other.held.items():
            self.held[c] = self.held.get(c, frozenset()) | held
        self.view_sources = {v: source for v, source in self.view_sources.items()  # the same on both paths
                             if v in other.view_sources and other.view_sources[v][0] == source[0]
                             and gast.dump(other.view_sources[v][1]) == gast.dump(source[1])}
        self.held_directly |= other.held_directly
        for c, names in other.stale_by.items():
            self.stale_by[c] = self.stale_by.get(c, frozenset()) | names
        self.elements = {n for n in self.elements | other.elements  # an element on every path that views it
                         if (n in self.elements or n not in mine) and (n in other.elements or n not in other.views)}

    def members(self, identifier: str) -> frozenset[str]:
        return self.classes.get(identifier, frozenset({identifier}))

    def shared(self, identifier: str) -> bool:
        return len(self.members(identifier)) > 1

    def rebind(self, identifier: str) -> None:
        """``identifier`` is bound to a new object. Its old object keeps a name of its own, ``the earlier x``
        (no Python name), so that views of it and other names of it still go stale together."""
        earlier = f"the earlier {identifier}"
        others = self.members(identifier) - {identifier}
        for other in others:
            self.classes[other] = self.members(other) - {identifier} | {earlier}
        if others:
            self.classes[earlier] = self.members(earlier) | others
        self.views = {v: earlier if base == identifier else base for v, base in self.views.items()}
        self.held = {c: names - {identifier} | {earlier} if identifier in names else names
                     for c, names in self.held.items()}
        self.classes.pop(identifier, None)
        self.views.pop(identifier, None)
        self.stale.discard(identifier)
        self.unknown.discard(identifier)
        self.contained.discard(identifier)
        self.elements.discard(identifier)
        self.arguments.discard(identifier)
        self.held.pop(identifier, None)
        self.held_directly.discard(identifier)
        self.stale_by = {c: names - {identifier} for c, names in self.stale_by.items() if c != identifier}
        self.arrays.discard(identifier)
        self.view_sources = {v: source for v, source in self.view_sources.items()
                             if v != identifier and source[0] != identifier}  # its views show another object
        self.bound.add(identifier)

    def join(self, identifier: str, source: str) -> None:
        """``identifier`` may hold the object of ``source`` (so it may be what ``source`` may be). Not an
        equivalence: ``t = f(a, b)`` may be a or b, which need not be each other."""
        linked = self.members(source) | self.members(identifier)
        self.classes[identifier] = linked
        for m in linked - {identifier}:
            self.classes[m] = self.members(m) | {identifier}
        if source in self.views:
            self.views[identifier] = self.views[source]
        if source in self.stale:
            self.stale.add(identifier)
        if source in self.unknown:
            self.unknown.add(identifier)
        if source in self.contained:
            self.contained.add(identifier)
        if source in self.elements:
            self.elements.add(identifier)
        if source in self.arguments:
            self.arguments.add(identifier)
        if source in self.held:
            self.held[identifier] = self.held.get(identifier, frozenset()) | self.held[source]
        if source in self.held_directly:
            self.held_directly.add(identifier)
        if source in self.stale_by:
            self.stale_by[identifier] = self.stale_by.get(identifier, frozenset()) | self.stale_by[source]

    def changed(self, identifier: str) -> None:
        """The array of ``identifier`` changed in place: views of it made earlier are now stale, and so are
        containers holding such views."""
        bases = self.members(identifier)
        self.stale |= {v for v, base in self.views.items() if base in bases}
        for c, held in self.held.items():
            if held & bases:
                self.stale.add(c)
                self.stale_by[c] = self.stale_by.get(c, frozenset()) | {identifier}

    def hold(self, container: str, atom: str) -> None:
        """``container`` holds the object of ``atom`` (``lst.append(x)``, ``d = {'w': x[1:]}``): it is stale once
        that object, or the array a view of it shows, changes in place. (Replacing its entries stays fine.)"""
        names = self.members(atom) | self.held.get(atom, frozenset())
        if atom in self.views:
            names |= {self.views[atom]}
        names -= self.members(container)  # x[0:2] = x[2:4]: an array (views are of arrays) copies its own parts
        if not names:
            return
        for c in [container] + [c for c, held in self.held.items() if container in held]:
            self.held[c] = self.held.get(c, frozenset()) | names | ({container} if c != container else frozenset())
        if atom not in self.elements:  # the object itself or a slice: reading it later is refused, not checked
            self.held_directly.add(container)

    def viewed_array(self, identifier: str) -> str:
        """The array ``identifier`` views, or the objects it holds (for messages)."""
        if identifier in self.views:
            return self.views[identifier]
        return ", ".join(sorted(n for n in self.held.get(identifier, ()) if not _TEMPORARY_NAME.match(n))) \
            or "an array"


def written_names(stmts: list[gast.stmt]) -> set[str]:
    """Names that ``stmts`` bind, or whose object they may change (``x[i] = v``, ``x += v``, ``f(x)``)."""
    found = set()
    for node in gast.walk(gast.Module(body=stmts, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            found.add(node.id)
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
            found.update(n.id for n in gast.walk(node.value) if isinstance(n, gast.Name))
        elif isinstance(node, gast.Call):
            found.update(n.id for a in node.args for n in gast.walk(a) if isinstance(n, gast.Name))
            if isinstance(node.func, gast.Attribute):
                found.update(n.id for n in gast.walk(node.func.value) if isinstance(n, gast.Name))
    return found


def makes_new_object(parsed: ParsedFunction, rhs: gast.expr) -> bool:
    """Whether ``rhs`` certainly gives a new object (an array no other name holds)."""
    if isinstance(rhs, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Constant, gast.List, gast.Tuple,
                        gast.Dict, gast.BoolOp)):
        return True
    if not isinstance(rhs, gast.Call):
        return False
    func = parsed.resolve(rhs.func)
    if is_resolved(func) and (func in _GIVES_NEW_VALUES or getattr(func, "__module__", None) == "math"):
        return True  # numbers and other new values: len(x), float(x), math.sin(x)
    if _is_runtime(rhs.func):
        return rhs.func.attr in _NEW_FROM_RUNTIME
    bound_method = is_resolved(func) and not isinstance(getattr(func, "__self__", None), (types.ModuleType, type(None)))
    if not is_resolved(func) or bound_method:  # a method (of a global too): x.copy(), x.astype(...) copy
        return isinstance(rhs.func, gast.Attribute) and (
            rhs.func.attr == "copy" or (rhs.func.attr == "astype" and not rhs.keywords))
    import numpy as np

    if func is np.array:
        return not any(k.arg == "copy" for k in rhs.keywords)
    return isinstance(func, np.ufunc) or registry.returns(func) == "new"


_GIVES_NEW_VALUES = frozenset((len, range, int, float, bool, round, abs, str, repr, isinstance, type, hash, id,
                                any, all, sum, print))


def is_ufunc_at(callee) -> bool:
    """Whether ``callee`` is ``np.add.at`` or ``np.subtract.at`` (unbuffered in-place accumulation)."""
    import numpy as np

    return is_resolved(callee) and type(callee) is type(np.add.at) and (callee == np.add.at or callee == np.subtract.at)


_NEW_FROM_RUNTIME = frozenset(("concatenate_rows", "concatenate_columns", "accumulate_at"))


def _is_runtime(func: gast.expr) -> bool:
    """``__sourcediff_runtime__.name``: a call of the runtime that the lowering wrote."""
    return isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id == RUNTIME


def _iterable(items: gast.expr) -> gast.Call:
    """``sd.iterable(items)``: what a for loop reads its elements from by position."""
    return gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="iterable", ctx=gast.Load()), args=[items],
                     keywords=[])


def _sequences_made_here(node: gast.FunctionDef) -> frozenset[str]:
    """The names that every assignment binds to a list or tuple display or a list comprehension (and nothing
    else binds): a for loop reads them by position as they are. Any other name may hold a dict or an iterator."""
    made, other, targets = set(), set(), set()
    for n in gast.walk(node):
        if isinstance(n, gast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name):
            kind = made if isinstance(n.value, (gast.List, gast.Tuple, gast.ListComp)) else other
            kind.add(n.targets[0].id)
            targets.add(id(n.targets[0]))
        elif isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store) and id(n) not in targets:
            other.add(n.id)  # a for target, an unpacking, a with or an augmented assignment
        elif isinstance(n, gast.arguments):
            other.update(a.id for a in n.posonlyargs + n.args + n.kwonlyargs + [n.vararg, n.kwarg] if a)
    return frozenset(made - other)
