"""The analyses the analyze stage runs on the core language: activity, numbers, arrays, written arguments.

A value is *active* when it depends differentiably on an input we differentiate
with respect to (it is *varied*) and it can reach the output (it is *useful*).
Only active statements get adjoint code. Comparisons, non-differentiable
functions (``np.floor``, ``len`` ...) and attributes such as ``x.shape`` stop
the flow of variation.
"""
from __future__ import annotations

import ast
import threading
import types
from dataclasses import dataclass, field
from typing import Callable, Mapping

import gast

from .calls import scalar_parameters
from .inplace import makes_new_object
from .ir import Update, appended, as_python, blocks, list_change, reads, sid, stored, target_of, walk_statements
from .parse import ParsedFunction, as_rule_key, is_resolved, is_user_function
from sourcediff.rules import registry

ARRAY_RESULTS = ("new", "view")  # what functions that give back an ndarray declare (see registry.RESULTS)


def differentiable_reads(stmt: gast.stmt, parsed: ParsedFunction) -> list[str]:
    """Names whose variation flows into the value ``stmt`` computes."""
    if isinstance(stmt, Update):
        return reads(stmt.value)
    if not isinstance(stmt, gast.Assign):
        return []
    rhs = stmt.value
    if isinstance(rhs, (gast.Compare, gast.BoolOp)):
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
            if registry.is_nondifferentiable(as_rule_key(target)):
                return []
            if is_user_function(target) and registry.lookup(target) is None and returns_a_flag(target):
                return []  # a helper that gives back a bool (or a number made of bools only)
        elif isinstance(func, gast.Attribute) and func.attr in registry.NONDIFFERENTIABLE_METHODS:
            return []
        return reads(rhs)
    return reads(rhs)


_FLAGS: dict = {}


def returns_a_flag(func) -> bool:
    """Whether the user's function ``func`` gives back a value no differentiable value flows into (a bool, as
    ``return bool(np.all(u > a))``) and writes into nothing: its calls carry no derivative. Only plain
    statements qualify (assignments, branches, the return); a loop, a write or a call of another of the user's
    functions makes the answer no."""
    if func not in _FLAGS:
        _FLAGS[func] = False  # recursion: no
        _FLAGS[func] = _flag_only(func)
    return _FLAGS[func]


def _flag_only(func) -> bool:
    from .errors import SourcediffError
    from .lower import lower
    from .parse import parse_function

    try:
        parsed = parse_function(func)
        body = lower(parsed, frozenset()).body
    except SourcediffError:
        return False
    stmts = list(walk_statements(body))
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While, Update)) or stored(stmt) is not None:
            return False
        if appended(stmt) is not None or list_change(stmt) is not None:
            return False
        if isinstance(stmt, gast.Assign) and not isinstance(stmt.targets[0], gast.Name):
            return False
        for call in (n for n in gast.walk(stmt) if isinstance(n, gast.Call)):
            callee = parsed.resolve(call.func)
            if not is_resolved(callee) or (is_user_function(callee) and registry.lookup(callee) is None):
                return False  # a method, or a helper: it may write into its arguments
    params = {a.id for a in parsed.node.args.args + parsed.node.args.kwonlyargs}
    flags: set[str] = set()
    assigned = [s for s in stmts if isinstance(s, gast.Assign)]
    while True:  # the names every binding of which reads only flags (or nothing differentiable)
        found = {target_of(s) for s in assigned if target_of(s) not in params}
        found = {n for n in found if all(set(differentiable_reads(s, parsed)) <= flags
                                         for s in assigned if target_of(s) == n)}
        if found == flags:
            break
        flags = found
    ret = body[-1]
    if not isinstance(ret, gast.Return) or ret.value is None:
        return False
    value = ret.value
    if isinstance(value, gast.Constant):
        return isinstance(value.value, bool)
    return isinstance(value, gast.Name) and value.id in flags


def _grows(stmt: gast.stmt) -> tuple[str, None, gast.expr] | None:
    """``(list, None, value)`` for ``lst.extend(value)`` / ``lst.insert(i, value)``: value flows into lst."""
    change = list_change(stmt)
    if change is None or change[0] == "pop":
        return None
    return change[1], None, change[2][-1]


@dataclass(frozen=True)
class Activity:
    """Per statement (by ``ir.sid``): the varied names before it and the useful names after it."""

    varied_before: Mapping[int, frozenset[str]]
    useful_after: Mapping[int, frozenset[str]]
    active: frozenset[int]
    varied_at_end: frozenset[str]

    def is_active(self, stmt: gast.stmt) -> bool:
        return sid(stmt) in self.active

    def operand_active(self, stmt: gast.stmt, operand: str) -> bool:
        return operand in self.varied_before[sid(stmt)]


class _Activity:
    """Dataflow over nested blocks; loops iterate to a fixed point (the sets only grow)."""

    def __init__(self, parsed: ParsedFunction, changed: dict[int, list[str]]):
        self.parsed = parsed
        self.changed = changed  # per call statement: arguments the callee changes in place
        self.varied_before: dict[int, frozenset[str]] = {}
        self.useful_after: dict[int, frozenset[str]] = {}
        self.active: set[int] = set()

    def forward(self, stmts: list[gast.stmt], varied: set[str]) -> set[str]:
        varied = set(varied)
        for stmt in stmts:
            self.varied_before[sid(stmt)] = frozenset(varied)
            if isinstance(stmt, gast.If):
                varied = self.forward(stmt.body, varied) | self.forward(stmt.orelse, varied)
            elif isinstance(stmt, (gast.For, gast.While)):
                if isinstance(stmt, gast.For):
                    varied.discard(stmt.target.id)  # loops run over ranges: the index is never varied
                entry = set(varied)
                while True:
                    out = self.forward(stmt.body, entry)
                    if out <= entry:
                        break
                    entry |= out
                varied = entry
            elif appended(stmt) is not None or stored(stmt) is not None or _grows(stmt):
                lst, value = appended(stmt) or (stored(stmt) or _grows(stmt))[::2]
                if set(reads(value)) & varied:
                    varied.add(lst)
            else:
                target = target_of(stmt)
                if target is None:
                    continue
                if any(n in varied for n in differentiable_reads(stmt, self.parsed)):
                    varied.add(target)
                    varied.update(self.changed.get(sid(stmt), ()))
                else:
                    varied.discard(target)
        return varied

    def backward(self, stmts: list[gast.stmt], useful: set[str]) -> set[str]:
        useful = set(useful)
        for stmt in reversed(stmts):
            self.useful_after[sid(stmt)] = frozenset(useful)
            if isinstance(stmt, gast.If):
                useful = self.backward(stmt.body, useful) | self.backward(stmt.orelse, useful)
            elif isinstance(stmt, (gast.For, gast.While)):
                exit_ = set(useful)
                while True:
                    entry = self.backward(stmt.body, exit_)
                    if entry <= exit_:
                        break
                    exit_ |= entry
                useful = exit_
            elif appended(stmt) is not None or stored(stmt) is not None or _grows(stmt):
                lst, value = appended(stmt) or (stored(stmt) or _grows(stmt))[::2]
                if lst in useful:
                    useful.update(reads(value))
            else:
                target = target_of(stmt)
                changed = set(self.changed.get(sid(stmt), ())) & useful
                if target is None or (target not in useful and not changed):
                    continue
                useful.discard(target)
                useful.update(differentiable_reads(stmt, self.parsed))
        return useful

    def mark(self, stmts: list[gast.stmt]) -> None:
        for stmt in walk_statements(stmts):
            if appended(stmt) is not None:
                lst, value = appended(stmt)
                if lst in self.useful_after[sid(stmt)] and \
                        set(reads(value)) & self.varied_before[sid(stmt)]:
                    self.active.add(sid(stmt))
                continue
            if _grows(stmt):
                lst, _, value = _grows(stmt)
                if lst in self.useful_after[sid(stmt)] and \
                        set(reads(value)) & self.varied_before[sid(stmt)]:
                    self.active.add(sid(stmt))
                continue
            if stored(stmt) is not None:  # active also when only the array varies: its adjoint is cut there
                array, _, value = stored(stmt)
                if array in self.useful_after[sid(stmt)] and \
                        (set(reads(value)) | {array}) & self.varied_before[sid(stmt)]:
                    self.active.add(sid(stmt))
                continue
            target = target_of(stmt)
            if target is None:
                continue
            varied = any(n in self.varied_before[sid(stmt)] for n in differentiable_reads(stmt, self.parsed))
            outputs = {target} | set(self.changed.get(sid(stmt), ()))
            if varied and outputs & self.useful_after[sid(stmt)]:
                self.active.add(sid(stmt))


def activity(body: list[gast.stmt], wrt: set[str], outputs: set[str], parsed: ParsedFunction,
             changed: dict[int, list[str]] | None = None) -> Activity:
    """Activity of ``body`` (nested blocks included): which statements need adjoints.

    ``changed`` lists, per call statement, the arguments the callee changes in place.
    """
    flow = _Activity(parsed, changed or {})
    varied_at_end = frozenset(flow.forward(body, set(wrt)))
    flow.backward(body, set(outputs))
    flow.mark(body)
    return Activity(types.MappingProxyType(flow.varied_before), types.MappingProxyType(flow.useful_after),
                    frozenset(flow.active), varied_at_end)


# whole reductions that give one number for any input (np.trace and np.linalg.det give arrays for stacks)
_SCALAR_REDUCTIONS = {"sum", "mean", "prod", "max", "min", "var", "std", "amax", "amin"}


def scalar_names(body: list[gast.stmt], scalar_params: set[str], parsed: ParsedFunction) -> dict[int, frozenset[str]]:
    """Per statement, the names known to hold a value of shape ``()`` when it starts.

    Used to leave out ``unbroadcast`` where no broadcasting can happen. At the
    end of a branch or loop only what holds on every path stays known.
    """
    before: dict[int, frozenset[str]] = {}
    _scalars(body, set(scalar_params), parsed, before)
    return before


def _scalars(stmts: list[gast.stmt], known: set[str], parsed: ParsedFunction,
             before: dict[int, frozenset[str]]) -> set[str]:
    import math

    import numpy as np

    known = set(known)

    def is_scalar(atom: gast.expr) -> bool:
        if isinstance(atom, gast.Constant):
            return isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool)
        return isinstance(atom, gast.Name) and atom.id in known

    for stmt in stmts:
        before[sid(stmt)] = frozenset(known)
        if isinstance(stmt, gast.If):
            known = _scalars(stmt.body, known, parsed, before) & _scalars(stmt.orelse, known, parsed, before)
            continue
        if isinstance(stmt, (gast.For, gast.While)):
            entry = set(known)
            if isinstance(stmt, gast.For):
                entry.add(stmt.target.id)  # an int from a range
            while True:
                out = _scalars(stmt.body, entry, parsed, before)
                if entry <= out:
                    break
                entry &= out
            known = entry
            continue
        target = target_of(stmt)
        if target is None:
            continue
        rhs = stmt.value
        scalar = False
        elements: set[str] = set()  # "t[0]": element 0 of the tuple t is a number
        if isinstance(rhs, (gast.Name, gast.Constant)):
            scalar = is_scalar(rhs)
        elif isinstance(rhs, gast.BinOp):
            scalar = is_scalar(rhs.left) and is_scalar(rhs.right)
        elif isinstance(rhs, gast.UnaryOp):
            scalar = not isinstance(rhs.op, gast.Not) and is_scalar(rhs.operand)  # not x is a bool
        elif isinstance(rhs, gast.Subscript) and isinstance(rhs.value, gast.Name) \
                and isinstance(rhs.slice, gast.Constant) and type(rhs.slice.value) is int:
            scalar = f"{rhs.value.id}[{rhs.slice.value}]" in known  # an element of a helper's tuple of numbers
        elif isinstance(rhs, gast.Call):
            func = parsed.resolve(rhs.func)
            args_scalar = all(is_scalar(a) for a in rhs.args) and all(is_scalar(k.value) for k in rhs.keywords)
            outputs = _helper_outputs(func, rhs, known)
            if outputs is not None:
                scalar = outputs is True
                if isinstance(outputs, tuple):
                    elements = {f"{target}[{i}]" for i, number in enumerate(outputs) if number}
            elif is_resolved(func):
                from_math = getattr(func, "__module__", None) == "math" or \
                    func is getattr(math, getattr(func, "__name__", ""), None)
                if from_math and getattr(func, "__name__", "") not in ("prod", "sumprod"):  # of arrays: arrays
                    scalar = True
                elif (isinstance(func, np.ufunc) and func.signature is None) or func in (float, abs, min, max):
                    scalar = args_scalar
                elif getattr(func, "__name__", "") in _SCALAR_REDUCTIONS and len(rhs.args) == 1 and not rhs.keywords \
                        and func is getattr(np, func.__name__, None):  # np.sum(x), not the builtin sum(list)
                    scalar = True
            elif isinstance(rhs.func, gast.Attribute) and rhs.func.attr in _SCALAR_REDUCTIONS \
                    and not rhs.args and not rhs.keywords:
                scalar = True
        if scalar:
            known.add(target)
        else:
            known.discard(target)
        known -= {n for n in known if n.startswith(f"{target}[")}
        known |= elements
    return known


_OUTPUTS: dict[tuple, bool | tuple[bool, ...] | None] = {}
_IN_PROGRESS = threading.local()


def _helper_outputs(func, call: gast.Call, known: set[str]) -> bool | tuple[bool, ...] | None:
    """For a call to one of the user's functions: whether it returns a number (or which elements of a tuple are).

    None when ``func`` is not such a function, or when that cannot be told.
    """
    if not is_user_function(func) or registry.lookup(func) is not None:
        return None
    key = (func, scalar_parameters(func, call, frozenset(known)))
    if key in _OUTPUTS:
        return _OUTPUTS[key]
    busy = getattr(_IN_PROGRESS, "functions", None)
    if busy is None:
        busy = _IN_PROGRESS.functions = set()
    if func in busy:
        return None  # recursion: unknown
    busy.add(func)
    try:
        _OUTPUTS[key] = _numeric_outputs(func, key[1])
    finally:
        busy.discard(func)
    return _OUTPUTS[key]


def _numeric_outputs(func, scalar_params: frozenset[str]) -> bool | tuple[bool, ...] | None:
    from .errors import SourcediffError
    from .lower import lower
    from .parse import parse_function

    try:
        parsed = parse_function(func)
        body = lower(parsed, scalar_params).body
    except SourcediffError:
        return None  # refused later, with the error, when the call is transformed
    ret = body[-1]
    if not isinstance(ret, gast.Return) or ret.value is None:
        return None
    known = _scalars(body[:-1], set(scalar_params), parsed, {})

    def number(atom):
        if isinstance(atom, gast.Constant):
            return type(atom.value) in (int, float)
        return isinstance(atom, gast.Name) and atom.id in known

    if isinstance(ret.value, gast.Tuple):
        return tuple(number(e) for e in ret.value.elts)
    return number(ret.value)


# -- arrays and equal shapes ---------------------------------------------------------------------

SCALAR_SHAPE: tuple = ()  # the shape key of 0-d values: Python numbers and single array elements


@dataclass
class ArrayFacts:
    """Names certainly holding NumPy arrays (or NumPy scalars), their ndim, and which share a shape.

    ``shapes`` maps a name to a key; two names with equal keys have equal shapes
    whenever both are bound. Only names bound once in the function get a key.
    """

    arrays: set[str] = field(default_factory=set)
    shapes: dict[str, tuple] = field(default_factory=dict)
    ndims: dict[str, int] = field(default_factory=dict)
    ints: set[str] = field(default_factory=set)  # sizes read from shapes: x.shape[0], len(x), x.size

    def index_key(self, base: str, index: gast.expr, scalars: frozenset[str] = frozenset()) -> tuple | None:
        """The shape key of ``base[index]`` for slices and integers, else None."""
        items = _index_items(index, scalars | self.ints)
        if items is None:
            return None
        if self.index_ndim(base, index, scalars) == 0:
            return SCALAR_SHAPE
        if base not in self.shapes or any(item == ("slice", None) for item in items):
            return None
        return ("index", self.shapes[base], tuple(items))

    def index_ndim(self, base: str, index: gast.expr, scalars: frozenset[str] = frozenset()) -> int | None:
        """The ndim of ``base[index]`` for slices and integers, if ``base``'s is known."""
        items = _index_items(index, scalars | self.ints)
        ndim = self.ndims.get(base)
        if items is None or ndim is None or len(items) > ndim:
            return None
        return ndim - sum(1 for item in items if item == ("int",))


def _index_items(index: gast.expr, scalars: frozenset[str]) -> list[tuple] | None:
    """Per index element: ``("slice", lengths)`` or ``("int",)``; None for anything else (masks, arrays, None)."""
    items = []
    for part in index.elts if isinstance(index, gast.Tuple) else [index]:
        if isinstance(part, gast.Slice):
            items.append(("slice", _slice_signature(part)))
        elif _int_constant(part) is not None or (isinstance(part, gast.Name) and part.id in scalars):
            items.append(("int",))
        else:
            return None
    return items


_SIGNATURE_BOUND = 64  # slice bounds up to this size and steps up to 8: lengths for n < 256 decide equality


def _int_constant(node: gast.expr | None) -> int | None:
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and isinstance(node.operand, gast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _slice_signature(part: gast.Slice) -> tuple[int, ...] | None:
    """The slice's length along an axis of every length n < 256: equal signatures mean equal lengths for all n.

    With constant bounds of at most 64 and steps from 1 to 8, both lengths are
    settled, periodic functions of n past n = 128, so agreeing up to 256 they
    agree everywhere.
    """
    bounds = []
    for node in (part.lower, part.upper, part.step):
        if node is None or (isinstance(node, gast.Constant) and node.value is None):
            bounds.append(None)
            continue
        value = _int_constant(node)
        if value is None or abs(value) > _SIGNATURE_BOUND:
            return None
        bounds.append(value)
    if bounds[2] is not None and not 1 <= bounds[2] <= 8:
        return None
    return _lengths(*bounds)


def _lengths(lower: int | None, upper: int | None, step: int | None) -> tuple[int, ...]:
    key = (lower, upper, step)
    if key not in _LENGTHS:
        s = slice(lower, upper, step)
        _LENGTHS[key] = tuple(len(range(*s.indices(n))) for n in range(4 * _SIGNATURE_BOUND))
    return _LENGTHS[key]


_LENGTHS: dict[tuple, tuple[int, ...]] = {}
_ELEMENTWISE_OPERATORS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow, gast.FloorDiv, gast.Mod)


def array_facts(body: list[gast.stmt], params: list[str], array_params: dict[str, tuple[int, str]],
                parsed: ParsedFunction, scalars_before: dict[int, frozenset[str]], runtime: str = "sd") -> ArrayFacts:
    """Which names hold arrays, of which ndim, and which share a shape (see :class:`ArrayFacts`).

    ``array_params`` maps the parameters known to be ndarrays to their ndim and
    to the first parameter of the same shape (``"x0"`` for ``v0`` when
    ``v0.shape == x0.shape``). ``runtime`` is the generated code's name for the backend.
    """
    return _ArrayFactsFinder(body, params, array_params, parsed, scalars_before, runtime).run()


_NUMBER = (False, SCALAR_SHAPE, 0)  # a Python or NumPy number: no memory of its own to share, shape ()
_UNKNOWN = (False, None, None)


class _ArrayFactsFinder:
    """Finds :class:`ArrayFacts`; a name bound several times gets facts only if every binding gives the same."""

    def __init__(self, body, params, array_params, parsed, scalars_before, runtime):
        self.body, self.params, self.parsed = body, params, parsed
        self.array_params, self.scalars_before, self.runtime = array_params, scalars_before, runtime
        self.definitions: dict[str, list[tuple[gast.stmt | None, gast.expr | None]]] = {p: [(None, None)]
                                                                                          for p in params}
        for stmt in walk_statements(body):
            if isinstance(stmt, gast.For):
                over_range = isinstance(stmt.iter, gast.Call) and parsed.resolve(stmt.iter.func) is range
                self.definitions.setdefault(stmt.target.id, []).append(
                    (stmt, gast.Constant(value=0, kind=None) if over_range else None))
            elif target_of(stmt):
                self.definitions.setdefault(target_of(stmt), []).append((stmt, stmt.value))

    def run(self) -> ArrayFacts:
        several = {n for n, defs in self.definitions.items() if len(defs) > 1}
        facts = self.sweep({})
        assumed = {}
        for n in sorted(several):  # optimistic start: what the first binding gives (for x = x0.copy(); ...)
            value = self.value(*self.definitions[n][0], facts)
            if value != _UNKNOWN:
                assumed[n] = value
        while True:  # drop the assumptions some binding breaks, until every binding agrees
            facts = self.sweep(assumed)
            kept = {n: v for n, v in assumed.items()
                    if all(self.value(stmt, rhs, facts, n) == v for stmt, rhs in self.definitions[n])}
            if kept == assumed:
                return facts
            assumed = kept

    def sweep(self, assumed: dict[str, tuple]) -> ArrayFacts:
        """Facts of the names bound once, given ``assumed`` values for the names bound several times."""
        facts = ArrayFacts()
        self.shape_tuples: dict[str, int | None] = {}  # t = x.shape (or a tuple of sizes): its length
        for n, value in assumed.items():
            _record(facts, n, value)
        for p in self.params:
            if len(self.definitions[p]) == 1:
                _record(facts, p, self.value(None, None, facts, p))
        for stmt in walk_statements(self.body):
            target = target_of(stmt)
            if target is None or len(self.definitions[target]) > 1:
                continue
            rhs = stmt.value
            scalars = self.scalars_before.get(sid(stmt), frozenset())
            if _reads_a_size(rhs, self.shape_tuples, self.parsed):
                facts.ints.add(target)
                _record(facts, target, _NUMBER)
                continue
            if isinstance(rhs, gast.Attribute) and rhs.attr == "shape" \
                    and isinstance(rhs.value, gast.Name) and rhs.value.id in facts.arrays:
                self.shape_tuples[target] = facts.ndims.get(rhs.value.id)
                continue
            if isinstance(rhs, gast.Tuple) and all(_is_number(e, scalars, facts) for e in rhs.elts):
                self.shape_tuples[target] = len(rhs.elts)  # (n, 2): a shape for np.zeros
                continue
            _record(facts, target, self.value(stmt, rhs, facts))
        return facts

    def value(self, stmt: gast.stmt | None, rhs: gast.expr | None, facts: ArrayFacts,
              param: str | None = None) -> tuple:
        """(is an array, shape key, ndim) of what ``rhs`` gives; ``stmt`` None: the parameter's own value."""
        import numpy as np

        if stmt is None:
            if param in self.array_params:
                ndim, twin = self.array_params[param]
                return _NUMBER if ndim == 0 else (True, ("param", twin), ndim)
            return _UNKNOWN
        if rhs is None:
            return _UNKNOWN
        scalars = self.scalars_before.get(sid(stmt), frozenset())

        def known(atom):
            if _is_number(atom, scalars, facts):
                return _NUMBER
            if isinstance(atom, gast.Name) and atom.id in facts.arrays:
                return True, facts.shapes.get(atom.id), facts.ndims.get(atom.id)
            return _UNKNOWN

        def elementwise(operands):
            values = [known(a) for a in operands]
            if any(v == _UNKNOWN for v in values):
                return _UNKNOWN
            arrays = [v for v in values if v != _NUMBER]
            if not arrays:
                return _NUMBER
            keys = {v[1] for v in arrays}
            ndims = [v[2] for v in arrays]
            return _normal(True, keys.pop() if len(keys) == 1 and None not in keys else None,
                           max(ndims) if None not in ndims else None)

        if isinstance(rhs, gast.Constant):
            return _NUMBER if type(rhs.value) in (int, float) else _UNKNOWN
        if isinstance(rhs, gast.Name):
            return known(rhs)
        if isinstance(rhs, gast.Subscript) and isinstance(rhs.value, gast.Name) and rhs.value.id in facts.arrays:
            return _normal(True, facts.index_key(rhs.value.id, rhs.slice, scalars),
                           facts.index_ndim(rhs.value.id, rhs.slice, scalars))
        if isinstance(rhs, gast.BinOp) and isinstance(rhs.op, _ELEMENTWISE_OPERATORS):
            return elementwise([rhs.left, rhs.right])
        if isinstance(rhs, gast.UnaryOp) and isinstance(rhs.op, (gast.USub, gast.UAdd)):
            return elementwise([rhs.operand])
        if not isinstance(rhs, gast.Call):
            return _UNKNOWN
        func = self.parsed.resolve(rhs.func)
        only_dtype = all(k.arg == "dtype" for k in rhs.keywords)
        if isinstance(rhs.func, gast.Attribute) and isinstance(rhs.func.value, gast.Name) \
                and rhs.func.value.id == self.runtime:
            if rhs.func.attr in ("assign_into", "restore") and known(rhs.args[0])[0]:
                return known(rhs.args[0])  # written into the same array
            if rhs.func.attr == "accumulate_at" and isinstance(rhs.args[0], gast.Name) \
                    and rhs.args[0].id in facts.arrays:
                return _normal(True, facts.index_key(rhs.args[0].id, rhs.args[1], scalars),
                               facts.index_ndim(rhs.args[0].id, rhs.args[1], scalars))
            return _UNKNOWN
        if isinstance(func, np.ufunc) and func.signature is None and func.nout == 1 and len(rhs.args) == func.nin \
                and not rhs.keywords:  # not np.matmul, a generalized ufunc
            return elementwise(rhs.args)
        if func in (np.copy, np.zeros_like, np.ones_like, np.empty_like) and len(rhs.args) == 1 and only_dtype:
            value = known(rhs.args[0])
            return value if value[0] else (True, None, None)
        if func in (np.zeros, np.ones, np.empty, np.full) and rhs.args and only_dtype \
                and len(rhs.args) == (2 if func is np.full else 1):
            return _normal(True, None, _ndim_of_shape(rhs.args[0], scalars, facts, self.shape_tuples))
        if not is_resolved(func) and isinstance(rhs.func, gast.Attribute) and rhs.func.attr == "copy" \
                and not rhs.args and not rhs.keywords and known(rhs.func.value)[0]:
            return known(rhs.func.value)
        if is_resolved(func) and (registry.returns(func) in ARRAY_RESULTS or func in (np.array, np.einsum)):
            return True, None, None  # a new array, or a view of one
        return _UNKNOWN


def _normal(is_array: bool, key: tuple | None, ndim: int | None) -> tuple:
    """A 0-d result is a number, whatever made it."""
    return _NUMBER if ndim == 0 or key == SCALAR_SHAPE else (is_array, key, ndim)


def _record(facts: ArrayFacts, n: str, value: tuple) -> None:
    is_array, key, ndim = value
    if is_array:
        facts.arrays.add(n)
    if key is not None:
        facts.shapes[n] = key
    if ndim is not None:
        facts.ndims[n] = ndim


def _is_number(atom: gast.expr, scalars: frozenset[str], facts: ArrayFacts) -> bool:
    """A Python number, or a name known to hold a number (Python or NumPy) wherever it is bound."""
    if isinstance(atom, gast.Constant):
        return type(atom.value) in (int, float)
    return isinstance(atom, gast.Name) and (atom.id in scalars or atom.id in facts.ints
                                            or facts.shapes.get(atom.id) == SCALAR_SHAPE)


def _ndim_of_shape(shape: gast.expr, scalars: frozenset[str], facts: ArrayFacts,
                   shape_tuples: dict[str, int | None]) -> int | None:
    """The ndim of ``np.zeros(shape)``: 1 for a number, k for a tuple of k numbers or for a k-d array's shape."""
    if _is_number(shape, scalars, facts):
        return 1
    if isinstance(shape, gast.Tuple) and all(_is_number(e, scalars, facts) for e in shape.elts):
        return len(shape.elts)
    if isinstance(shape, gast.Name):
        return shape_tuples.get(shape.id)
    return None


def _reads_a_size(rhs: gast.expr, shape_tuples: dict[str, int | None], parsed: ParsedFunction) -> bool:
    """``t[k]`` of a shape tuple, ``len(x)``, ``x.size`` or ``x.ndim``: a Python int."""
    if isinstance(rhs, gast.Subscript) and isinstance(rhs.value, gast.Name) and rhs.value.id in shape_tuples:
        return _int_constant(rhs.slice) is not None
    if isinstance(rhs, gast.Attribute) and rhs.attr in ("size", "ndim"):
        return False  # x may be a list or an object with such a field: not known to be an int
    return isinstance(rhs, gast.Call) and parsed.resolve(rhs.func) is len


# -- which arguments' objects a function writes into -------------------------------------------------

def written_arguments(body: list[gast.stmt], params: list[str], parsed: ParsedFunction,
                      writes: "Callable[[gast.stmt], list[str]]") -> set[str]:
    """The parameters whose objects ``body`` may write into, following the objects rather than the names.

    ``writes(stmt)`` gives the names whose objects ``stmt`` writes into. A name
    holds a parameter's object while it is bound to it, to a view or part of it,
    or to a container holding it; rebinding the name (``v = v * 2``) lets go.
    """
    found: set[str] = set()
    _ArgumentObjects(parsed, writes, found).block(body, {p: frozenset({p}) for p in params})
    return found


class _ArgumentObjects:
    """Per parameter, the names that may hold its object, carried forward through the statements."""

    def __init__(self, parsed: ParsedFunction, writes, found: set[str]):
        self.parsed, self.writes, self.found = parsed, writes, found

    def block(self, stmts: list[gast.stmt], holders: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        for stmt in stmts:
            if isinstance(stmt, gast.If):
                holders = _union(self.block(stmt.body, holders), self.block(stmt.orelse, holders))
            elif isinstance(stmt, (gast.For, gast.While)):
                entry = holders
                while True:
                    after = _union(entry, self.block(stmt.body, entry))
                    if after == entry:
                        break
                    entry = after
                holders = entry
            else:
                holders = self.statement(stmt, holders)
        return holders

    def statement(self, stmt: gast.stmt, holders: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        written = set(self.writes(stmt))
        self.found.update(p for p, names in holders.items() if names & written)
        grown = appended(stmt) or (stored(stmt) or _grows(stmt) or (None, None, None))[::2]
        if grown[0] is not None:  # lst.append(v), lst[i] = v: the container holds v's object now
            container, value = grown
            return {p: names | {container} if set(reads(value)) & names else names for p, names in holders.items()}
        target = target_of(stmt)
        if target is None:
            return holders
        rhs = stmt.value
        out = {}
        for p, names in holders.items():
            keeps = False
            if isinstance(rhs, gast.Name):
                keeps = rhs.id in names
            elif isinstance(rhs, (gast.List, gast.Tuple, gast.Dict)) or not makes_new_object(self.parsed, rhs):
                keeps = bool(set(reads(rhs)) & names)  # a part, a view, a container of it, or a call's result
            out[p] = names | {target} if keeps else names - {target}
        return out


def _union(a: dict[str, frozenset[str]], b: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    return {p: a[p] | b[p] for p in a}


def describe(body: list[gast.stmt], act: Activity, facts: ArrayFacts, numbers: dict[int, frozenset[str]],
             wrt: tuple[str, ...]) -> str:
    """What the analysis found, as text for ``sourcediff.stages``: activity, numbers and arrays."""
    def text(node: gast.AST) -> str:
        return ast.unparse(ast.fix_missing_locations(gast.gast_to_ast(as_python(node))))

    def line(stmt: gast.stmt) -> str:
        if isinstance(stmt, (gast.If, gast.While)):
            return f"{type(stmt).__name__.lower()} {text(stmt.test)}:"
        if isinstance(stmt, gast.For):
            return f"for {text(stmt.target)} in {text(stmt.iter)}:"
        return text(stmt).splitlines()[0]

    def show(stmts: list[gast.stmt], depth: int) -> list[str]:
        out = []
        for stmt in stmts:
            mark = "active  " if act.is_active(stmt) else "        "
            out.append(f"{mark}{'    ' * depth}{line(stmt)}")
            for block in blocks(stmt):
                out.extend(show(block, depth + 1))
        return out

    known = sorted(numbers.get(sid(body[-1]), ())) if body else []  # at the end of the function
    arrays = []
    for n in sorted(facts.arrays):
        twins = sorted(m for m in facts.shapes if m != n and facts.shapes[m] == facts.shapes.get(n))
        ndim = facts.ndims.get(n)
        detail = ", ".join(([f"ndim {ndim}"] if ndim is not None else []) +
                           ([f"shape of {twins[0]}"] if twins else []))
        arrays.append(f"{n} ({detail})" if detail else n)
    lines = [f"# active: depends on {', '.join(wrt)} and reaches the output; only active statements get adjoints"]
    lines += show(body, 0)
    lines.append(f"# Python numbers at the end (no unbroadcast needed): {', '.join(known) or 'none'}")
    lines.append(f"# NumPy arrays: {', '.join(arrays) or 'none'}")
    return "\n".join(lines) + "\n"
