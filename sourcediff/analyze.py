"""Analyze stage: what the transforms need to know about a core-language function, as :class:`Facts`.

``analyze`` makes the in-place updates ``y op= v`` explicit, then runs the
analyses of ``dataflow`` (activity, Python numbers, array shapes, which
arguments are written into) together with the classification of calls to the
user's own functions, until they agree: a helper that writes into an argument
changes what is active, and what is active decides which helpers are
differentiated. It then finds the patterns the transforms read (increments
``x[i] = x[i] + d``, unpacked tuples, indices computed from differentiated
values). Facts are keyed by the stable statement ids of ``ir.sid`` and are
printed by :meth:`Facts.describe` for ``sourcediff.stages``.
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Callable, Mapping

import gast

from .binding import dotted, is_runtime_call
from .callsites import CallSites
from .complex_values import ComplexValues, complex_values
from .dataflow import (Activity, ArrayFacts, activity, array_facts, describe, differentiable_reads, scalar_names,
                       written_arguments)
from .errors import MissingRuleError, NonScalarOutputError, SourcediffError, UnsupportedSyntaxError
from .ir import (Update, all_blocks, appended, blocks, list_change, load_counts, number_statements, reads, sid, stored,
                 target_of, walk_statements)
from .naming import RUNTIME
from .naming import Namer, assign, name
from .parse import ParsedFunction

MODES = ("grad", "value_and_grad", "vjp", "split", "jvp")


@dataclass(frozen=True)
class Spec:
    """The specialization being derived: mode, differentiated parameters, and what the arguments are."""

    wrt: tuple[str, ...]
    mode: str
    has_aux: bool = False
    scalar_params: frozenset[str] = frozenset()
    array_params: frozenset[tuple[str, int, str]] = frozenset()  # (parameter, ndim, first of its shape)
    float_arrays: frozenset[str] = frozenset()  # parameters that are float (or complex) arrays (forward mode)


@dataclass(frozen=True)
class Increment:
    """``a = x[i]; v = a + d; x[i] = v`` (or ``a - d``): x[i] grows by ``delta``, computed by ``source``."""

    delta: str
    negate: bool
    source: gast.stmt


@dataclass(frozen=True)
class Output:
    """What the function returns: the differentiated atoms, the differentiated output, the whole value."""

    differentiated: tuple[gast.expr, ...]
    core: gast.expr
    returned: gast.expr


@dataclass(frozen=True)
class Facts:
    """Everything the analysis found; the tables are keyed by ``ir.sid`` of the statements of ``body``."""

    body: tuple[gast.stmt, ...]            # the core statements, in-place updates explicit, without the return
    output: Output
    activity: Activity
    numbers: Mapping[int, frozenset[str]]  # per statement: the names holding Python numbers before it
    arrays: ArrayFacts
    calls: CallSites                       # calls to the user's functions, and what they write into
    changed: Mapping[int, tuple[str, ...]]  # per call: the arguments the callee writes into
    mutated: tuple[str, ...]               # parameters whose objects the function writes into
    changed_outputs: tuple[str, ...]       # per mutated parameter, the name holding its object at the end
    containers: frozenset[str]             # names whose adjoint may be a tuple, list or dict
    lists: frozenset[str]                  # lists changed with append, extend, insert or pop
    varied_indices: Mapping[int, tuple[str, ...]]  # subscripts whose index reads differentiated names
    increments: Mapping[int, Increment]
    unpacked: Mapping[int, tuple[str, ...]]  # t = f(...): the names t[0], t[1], ... are unpacked into
    unpack_reads: frozenset[int]           # the statements ``a = t[0]`` of those unpackings
    runtime: str                           # the generated code's name for the runtime (sd)
    complex_values: ComplexValues = ComplexValues({}, frozenset())  # where names may hold complex values

    def binds(self, stmt: gast.stmt) -> list[str]:
        """Names a statement (re)binds in the forward pass (a helper's call binds its residual too)."""
        return _binds(stmt, self.calls, self.runtime)

    def is_buffer_write(self, stmt: gast.stmt) -> bool:
        """``y = sd.assign_into(y, t)``: ``y op= v`` written into an array that other names share; or
        ``y = sd.restore(y, saved)`` in generated code read again: its contents put back in the same object."""
        return _is_buffer_write(stmt, self.runtime)

    def describe(self, wrt: tuple[str, ...]) -> str:
        """What the analysis found, as text (``sourcediff.stages(f, ...)["analyze"]``)."""
        return describe(list(self.body), self.activity, self.arrays, self.numbers, wrt)


# ``adjoint_reads(stmt, activity, numbers, arrays)``: the names the transform's derivative code of ``stmt`` reads
DerivativeReads = Callable[[gast.Assign, Activity, Mapping[int, frozenset[str]], ArrayFacts], set[str]]


def analyze(parsed: ParsedFunction, lowered: gast.FunctionDef, spec: Spec, namer: Namer, runtime: str,
            derivative_reads: DerivativeReads) -> Facts:
    """The facts about ``lowered`` for ``spec``; ``namer`` gives fresh names, ``runtime`` is the name of ``sd``.

    ``derivative_reads`` is the transform's answer to what the derivative code of a
    statement reads: ``x = op(x, ...)`` is split into ``t = op(x, ...); x = t``
    where that code reads ``x``, which ``x = ...`` would have overwritten.
    """
    if spec.mode not in MODES:
        raise ValueError(f"unknown mode {spec.mode!r}")
    for node in gast.walk(lowered):  # the lowering's name for the runtime is ours to choose
        if isinstance(node, gast.Name) and node.id == RUNTIME:
            node.id = runtime
    body = _in_place_updates(list(lowered.body), namer, runtime)
    ret = body.pop()
    assert isinstance(ret, gast.Return)
    number_statements(body)
    output = _outputs(parsed, ret, spec)
    finder = _Finder(parsed, lowered, spec, namer, runtime)
    body = finder.run(body, output, derivative_reads)
    return finder.facts(body, output, ret)


class _Finder:
    """Runs the analyses to their fixpoint, then finds the patterns."""

    def __init__(self, parsed: ParsedFunction, lowered: gast.FunctionDef, spec: Spec, namer: Namer, runtime: str):
        self.parsed, self.lowered, self.spec, self.namer, self.runtime = parsed, lowered, spec, namer, runtime
        a = lowered.args
        self.positional = [p.id for p in a.posonlyargs + a.args + a.kwonlyargs]
        self.ordered = self.positional + [extra.id for extra in (a.vararg, a.kwarg) if extra is not None]
        self.array_params = {p: (ndim, twin) for p, ndim, twin in spec.array_params}
        self.calls = CallSites(parsed, namer, self.array_params, forward_mode=spec.mode == "jvp")
        self.changed: dict[int, list[str]] = {}
        self.mutated: tuple[str, ...] = ()

    def run(self, body: list[gast.stmt], output: Output, derivative_reads: DerivativeReads) -> list[gast.stmt]:
        output_names = {a.id for a in output.differentiated if isinstance(a, gast.Name)}
        wrt = set(self.spec.wrt)
        changed: dict[int, list[str]] = {}  # per call: the arguments the callee changes in place
        inactive: dict[int, list[str]] = {}  # the same for calls that need no adjoint
        while True:
            self.calls.inactive_writes = inactive
            numbers = scalar_names(body, self.spec.scalar_params, self.parsed)
            self.mutated = self.mutated_parameters(body, changed, numbers)
            outputs = output_names | (set(self.changed_outputs()) if self.spec.mode in ("split", "jvp") else set())
            act = activity(body, wrt, outputs, self.parsed, changed)
            arrays = self.array_facts(body, numbers)
            self.calls.classify(body, act, arrays, numbers)
            now = {i: list(c.changed) for i, c in self.calls.user_calls.items() if c.changed}
            if now == changed and self.calls.inactive_writes == inactive:
                break
            changed, inactive = now, self.calls.inactive_writes
        self.changed = changed
        body = self.split_self_updates(body, act, numbers, arrays, derivative_reads)
        number_statements(body)
        self.activity = activity(body, wrt, outputs, self.parsed, changed)
        self.numbers = scalar_names(body, self.spec.scalar_params, self.parsed)
        self.arrays = self.array_facts(body, self.numbers)
        return body

    def facts(self, body: list[gast.stmt], output: Output, ret: gast.Return) -> Facts:
        act, arrays = self.activity, self.arrays
        counts, _ = definitions(body, lambda stmt: _binds(stmt, self.calls, self.runtime))
        varied_indices = self.varied_indices(body, act)
        complex_found = complex_values(self.parsed, body, self.ordered, act, self.calls, self.runtime,
                                       output.differentiated, ret)
        lists = {(appended(s) or list_change(s)[1:])[0] for s in walk_statements(body)
                 if appended(s) is not None or list_change(s) is not None}
        increments = self.increments(body, act, arrays, counts)
        unpacked, unpack_reads = self.unpacked(body, counts)
        frozen = types.MappingProxyType
        return Facts(
            body=tuple(body), output=output, activity=act, numbers=frozen(self.numbers), arrays=arrays,
            calls=self.calls, changed=frozen({k: tuple(v) for k, v in self.changed.items()}), mutated=self.mutated,
            changed_outputs=tuple(self.changed_outputs()),
            containers=frozenset(container_names(body) - arrays.arrays), lists=frozenset(lists),
            varied_indices=frozen(varied_indices), increments=frozen(increments), unpacked=frozen(unpacked),
            unpack_reads=frozenset(unpack_reads), runtime=self.runtime, complex_values=complex_found)

    # -- the parameters written into -------------------------------------------------------------
    def mutated_parameters(self, body: list[gast.stmt], changed: dict[int, list[str]],
                           numbers: dict[int, frozenset[str]]) -> tuple[str, ...]:
        """The parameters whose objects this function writes into (directly, by another name, or in a callee).
        ``a -= 0.25`` on a Python number rebinds ``a``: no write (``numbers``: the names known to be numbers)."""
        def writes(stmt: gast.stmt) -> list[str]:
            if stored(stmt) is not None:
                return [stored(stmt)[0]]
            if _is_buffer_write(stmt, self.runtime):
                return [] if target_of(stmt) in numbers.get(sid(stmt), ()) else [target_of(stmt)]
            return list(changed.get(sid(stmt), ())) + list(self.calls.inactive_writes.get(sid(stmt), ()))
        written = written_arguments(body, self.ordered, self.parsed, writes)
        return tuple(p for p in self.ordered if p in written)

    def changed_outputs(self) -> list[str]:
        """Per parameter written into, the name that holds its object at the end (a split's extra outputs)."""
        holders = getattr(self.lowered, "argument_holders", {})
        return [holders.get(p, p) for p in self.mutated]

    def array_facts(self, body: list[gast.stmt], numbers: dict[int, frozenset[str]]) -> ArrayFacts:
        params = {p: k for p, k in self.array_params.items() if p in self.positional}
        return array_facts(body, self.positional, params, self.parsed, numbers, self.runtime)

    # -- rewrites ------------------------------------------------------------------------------
    def split_self_updates(self, body: list[gast.stmt], act: Activity, numbers, arrays,
                           derivative_reads: DerivativeReads) -> list[gast.stmt]:
        """Rewrite ``x = op(x, ...)`` as ``t = op(x, ...); x = t`` where the derivative code reads ``x``."""
        result = []
        for stmt in body:
            for block in blocks(stmt):
                block[:] = self.split_self_updates(block, act, numbers, arrays, derivative_reads)
            target = target_of(stmt)
            if target is not None and act.is_active(stmt) and target in reads(stmt.value) \
                    and sid(stmt) not in self.calls.user_calls:
                operands = differentiable_reads(stmt, self.parsed)
                if operands.count(target) > 1 or target in derivative_reads(stmt, act, numbers, arrays):
                    temporary = self.namer.temporary()
                    result.append(assign(temporary, stmt.value, stmt))
                    result.append(assign(target, name(temporary), stmt))
                    continue
            result.append(stmt)
        return result

    # -- patterns ------------------------------------------------------------------------------
    def varied_indices(self, body: list[gast.stmt], act: Activity) -> dict[int, tuple[str, ...]]:
        """Subscripts whose index reads a differentiated name: per statement, those names.

        The index carries no gradient. That is right for integers and keys (piecewise
        constant), so the forward pass checks that the index holds no floats. An object
        that builds a value from its index, like ``np.r_[x, y]``, is refused here.
        """
        found: dict[int, tuple[str, ...]] = {}
        for stmt in walk_statements(body):
            if stored(stmt) is not None:
                base, index = name(stored(stmt)[0]), stored(stmt)[1]
            elif isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Subscript):
                base, index = stmt.value.value, stmt.value.slice
            else:
                continue
            varied = tuple(n for n in dict.fromkeys(reads(index)) if n in act.varied_before[sid(stmt)])
            if not varied:
                continue
            if not isinstance(base, gast.Name):
                what = dotted(base)
                instead = {"np.r_": "np.concatenate([...])", "np.c_": "np.column_stack([...])"}.get(
                    what, "a function that has a derivative rule")
                raise self.parsed.error(MissingRuleError, f"no derivative rule for {what}[...], which builds its "
                                        "value from the differentiated values in its index", stmt, f"use {instead}")
            found[sid(stmt)] = varied
        return found

    def unpacked(self, body: list[gast.stmt], counts: dict[str, int]) -> tuple[dict[int, tuple[str, ...]], set[int]]:
        """``t = f(...); a = t[0]; b = t[1]`` (tuple unpacking of a helper's output), read nowhere else.

        The adjoint of ``t`` is then the tuple ``(a_bar, b_bar)``, built where the call's
        backward half is called, instead of a tuple adjoint filled one element at a time.
        """
        unpacked: dict[int, tuple[str, ...]] = {}
        unpack_reads: set[int] = set()
        loads = load_counts(body)
        for block in all_blocks(body):
            for k, stmt in enumerate(block):
                target = target_of(stmt)
                if sid(stmt) not in self.calls.user_calls or counts.get(target) != 1 or not loads.get(target):
                    continue
                elements: list[str] = []
                for later in block[k + 1:k + 1 + loads[target]]:
                    rhs = later.value if target_of(later) else None
                    if not (isinstance(rhs, gast.Subscript) and isinstance(rhs.value, gast.Name)
                            and rhs.value.id == target and isinstance(rhs.slice, gast.Constant)
                            and rhs.slice.value == len(elements)):
                        break
                    element = target_of(later)
                    numbers = self.numbers.get(sid(later), frozenset())
                    number = f"{target}[{len(elements)}]" in numbers  # the helper returns a number there
                    if element in elements or element == target or not (number or element in self.arrays.shapes):
                        break
                    elements.append(element)
                if elements and len(elements) == loads[target]:
                    unpacked[sid(stmt)] = tuple(elements)
                    unpack_reads.update(sid(s) for s in block[k + 1:k + 1 + len(elements)])
        return unpacked, unpack_reads

    def increments(self, body: list[gast.stmt], act: Activity, arrays: ArrayFacts,
                   counts: dict[str, int]) -> dict[int, Increment]:
        """Find ``a = x[i]; ...; v = a + d; x[i] = v`` (or ``a - d``) with x an array: an increment of x[i] by d.

        Its adjoint leaves x_bar as it is and gives d the written part of x_bar,
        instead of cutting that part out and adding it back for the read of ``a``.
        """
        found: dict[int, Increment] = {}
        loads = load_counts(body)
        for block in all_blocks(body):
            where = {target_of(s): k for k, s in enumerate(block) if target_of(s)}
            for k, store in enumerate(block):
                if stored(store) is None or not act.is_active(store):
                    continue
                array, index, value = stored(store)
                if array not in arrays.arrays or not isinstance(value, gast.Name):
                    continue
                c = where.get(value.id)
                combine = block[c] if c is not None and c < k else None
                if combine is None or not isinstance(combine.value, gast.BinOp) \
                        or not isinstance(combine.value.op, (gast.Add, gast.Sub)):
                    continue
                left, right = combine.value.left, combine.value.right
                pairs = [(left, right, isinstance(combine.value.op, gast.Sub))]
                if isinstance(combine.value.op, gast.Add):
                    pairs.append((right, left, False))
                for old, other, negate in pairs:
                    if not (isinstance(old, gast.Name) and isinstance(other, gast.Name)) or old.id == other.id:
                        continue
                    r = where.get(old.id)
                    read = block[r] if r is not None and r < c else None
                    if read is None or not isinstance(read.value, gast.Subscript) \
                            or not isinstance(read.value.value, gast.Name) or read.value.value.id != array \
                            or gast.dump(read.value.slice) != gast.dump(index):
                        continue
                    if any(counts.get(n) != 1 or loads.get(n) != 1 for n in (old.id, value.id)):
                        continue
                    if not act.operand_active(combine, old.id):
                        continue
                    fixed = set(reads(index)) | {array}
                    between = block[r + 1:k]
                    if all(isinstance(s, gast.Assign) and target_of(s) and sid(s) not in self.calls.user_calls
                           and list_change(s) is None and not _is_buffer_write(s, self.runtime)
                           and target_of(s) not in fixed for s in between):
                        found[sid(store)] = Increment(other.id, negate, combine)
                        break
        return found


def definitions(body: list[gast.stmt], binds: Callable[[gast.stmt], list[str]]) -> tuple[dict[str, int], set[int]]:
    """How often each name is bound in ``body`` (``binds(stmt)``: the names a statement binds), and the ids of
    the statements inside a loop. The save plan calls it on the body it plans, which may have statements the
    analysis did not see (``t_shape = np.shape(t)``)."""
    counts: dict[str, int] = {}
    in_loop: set[int] = set()

    def visit(stmts, looped):
        for stmt in stmts:
            if looped:
                in_loop.add(sid(stmt))
            for n in binds(stmt):
                counts[n] = counts.get(n, 0) + 1
            for block in blocks(stmt):
                visit(block, looped or isinstance(stmt, (gast.For, gast.While)))
    visit(body, False)
    return counts, in_loop


def _outputs(parsed: ParsedFunction, ret: gast.Return, spec: Spec) -> Output:
    """The differentiated atoms, the differentiated output and the whole returned expression."""
    value = ret.value
    core = value
    if spec.has_aux:
        if not isinstance(value, gast.Tuple) or len(value.elts) != 2:
            raise parsed.error(
                SourcediffError, "with has_aux=True the function must return a pair (output, auxiliary data)",
                ret, "return output, aux")
        core = value.elts[0]
    if spec.mode in ("vjp", "split", "jvp"):
        return Output(tuple(core.elts) if isinstance(core, gast.Tuple) else (core,), core, value)
    if isinstance(core, gast.Tuple):
        raise parsed.error(
            NonScalarOutputError, f"grad needs a scalar output, but {parsed.name} returns a tuple", ret,
            "return a single scalar, pass has_aux=True to return (output, aux), or use sourcediff.vjp")
    return Output((core,), core, value)


def _in_place_updates(body: list[gast.stmt], namer: Namer, runtime: str) -> list[gast.stmt]:
    """``y op= v`` becomes ``t = y op v; y = sd.assign_into(y, t)`` (still in place when y is an array)."""
    out = []
    for stmt in body:
        for block in blocks(stmt):
            block[:] = _in_place_updates(block, namer, runtime)
        if isinstance(stmt, gast.AugAssign):
            y = stmt.target.id
            temporary = namer.temporary()
            out.append(assign(temporary, gast.BinOp(left=name(y), op=stmt.op, right=stmt.value), stmt))
            into = gast.Call(func=gast.Attribute(value=name(runtime), attr="assign_into", ctx=gast.Load()),
                             args=[name(y), name(temporary)], keywords=[])
            out.append(assign(y, into, stmt))
            continue
        out.append(stmt)
    return out


def _is_buffer_write(stmt: gast.stmt, runtime: str) -> bool:
    return isinstance(stmt, gast.Assign) and is_runtime_call(stmt.value, runtime, ("assign_into", "restore"))


def _binds(stmt: gast.stmt, calls: CallSites, runtime: str) -> list[str]:
    if isinstance(stmt, gast.For):
        return [stmt.target.id]
    target = target_of(stmt)
    if target is None or _is_buffer_write(stmt, runtime):
        return []
    if sid(stmt) in calls.user_calls:
        return [target, calls.user_calls[sid(stmt)].residual]
    return [target]


def container_names(body: list[gast.stmt]) -> set[str]:
    """Names whose adjoint may be a tuple, list or dict: they accumulate with ``sd.add``."""
    names = set()
    for stmt in walk_statements(body):
        item = appended(stmt) or (list_change(stmt) or (None, None))[1:]
        if item and item[0] is not None:
            names.add(item[0])
        if not isinstance(stmt, gast.Assign):
            continue
        rhs = stmt.value
        if isinstance(rhs, (gast.Tuple, gast.List, gast.Dict)):
            names.add(stmt.targets[0].id)
        if isinstance(rhs, (gast.Subscript, gast.Attribute)) and isinstance(rhs.value, gast.Name):
            names.add(rhs.value.id)
    return names
