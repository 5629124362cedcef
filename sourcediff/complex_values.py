"""Which names may hold complex numbers, and where such a value meets a construct not differentiated for it.

Complex values come from complex constants (``1j``), complex dtypes
(``dtype=complex``, ``complex(a, b)``) and the functions declared with
``registry.complex_results`` (``np.fft.fft``); they flow through every
operation except those declared with ``registry.real_results`` (``np.abs``,
``np.real``). The analysis follows the statements (``x = np.fft.fft(x)`` makes
``x`` complex from there on); branches and loops join what may be complex.

The reverse transform reads the result: a call with a complex argument uses
``registry.complex_rule``, and a real operand's adjoint is the real part of
what flows back from a complex result. Complex adjoints follow JAX's
convention (see ``registry.defcomplex``). A differentiated statement where a
complex value meets anything else (a store into an array, a list, a helper of
the user's, a function with no rule for complex arguments, the output) is
refused here, with its line.
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Mapping

import numpy as np

import gast

from sourcediff.rules import registry

from .binding import RuleBinder
from .callsites import CallSites
from .dataflow import Activity
from .errors import SourcediffError, UnsupportedSyntaxError
from .ir import Update, assigned_names, reads, sid, stored, target_of, walk_statements
from .parse import ParsedFunction, is_resolved

COMPLEX_DTYPE_NAMES = frozenset({"complex", "complex64", "complex128", "complex256", "c8", "c16", "c32",
                                 "cfloat", "cdouble", "csingle", "clongdouble"})
_REFUSAL_HINT = "compute with real values there (z.real, z.imag, np.abs(z)), or keep the complex values out of it"


@dataclass(frozen=True)
class ComplexValues:
    """Per statement (by ``ir.sid``), the names that may hold complex values before it."""

    before: Mapping[int, frozenset[str]]
    anywhere: frozenset[str]  # names that may hold a complex value somewhere

    def at(self, stmt: gast.stmt) -> frozenset[str]:
        """The names that may hold complex values before ``stmt``."""
        return self.before.get(sid(stmt), frozenset())


def complex_values(parsed: ParsedFunction, body: list[gast.stmt], params: tuple[str, ...], act: Activity,
                   calls: CallSites, runtime: str, outputs: tuple[gast.expr, ...], ret: gast.Return
                   ) -> ComplexValues:
    """Where names may hold complex values; refuses a differentiated statement where one meets a construct
    sourcediff does not differentiate for complex values."""
    finder = _ComplexFinder(parsed, body, params, calls, runtime)
    at_end = finder.flow(body, frozenset())
    if finder.sources:
        finder.refuse_undifferentiated(act)
        for atom in outputs:
            if any(n in at_end for n in reads(atom)):
                raise parsed.error(UnsupportedSyntaxError, "the differentiated output may be complex: sourcediff "
                                   "differentiates real outputs only", ret,
                                   "return a real value (np.abs(z) ** 2, z.real, z.imag)")
    frozen = types.MappingProxyType
    return ComplexValues(frozen(finder.before), frozenset(finder.anywhere))


class _ComplexFinder:
    def __init__(self, parsed: ParsedFunction, body: list[gast.stmt], params: tuple[str, ...], calls: CallSites,
                 runtime: str):
        self.parsed = parsed
        self.body = body
        self.calls = calls
        self.binder = RuleBinder(parsed, {"sd": runtime})
        self.local = assigned_names(body) | set(params)
        self.sources: set[int] = set()  # statements that make complex values from real ones
        self.before: dict[int, frozenset[str]] = {}
        self.anywhere: set[str] = set()

    def key(self, stmt: gast.stmt):
        """The registry key of the primitive on the right of an assignment, or None."""
        if not isinstance(stmt, gast.Assign) or not isinstance(stmt.value, (gast.BinOp, gast.UnaryOp, gast.Call,
                                                                            gast.Attribute)):
            return None
        if sid(stmt) in self.calls.user_calls:
            return None
        try:
            return self.binder.primitive(stmt)[0]
        except SourcediffError:
            return None

    def is_complex_type(self, node: gast.expr) -> bool:
        if isinstance(node, gast.Constant):
            return isinstance(node.value, complex) or (isinstance(node.value, str)
                                                       and node.value in COMPLEX_DTYPE_NAMES)
        if isinstance(node, (gast.Name, gast.Attribute)):
            root = node
            while isinstance(root, gast.Attribute):
                root = root.value
            if isinstance(root, gast.Name) and root.id in self.local:
                return False
            obj = self.parsed.resolve(node)
            return is_resolved(obj) and isinstance(obj, type) and issubclass(obj, (complex, np.complexfloating))
        return False

    def makes_complex(self, stmt: gast.stmt, key) -> bool:
        """Whether ``stmt`` makes a complex value out of real ones."""
        value = stmt.value if isinstance(stmt, (gast.Assign, Update)) else None
        if value is None:
            return False
        if _safe_in(key, registry.COMPLEX_RESULTS):
            return True
        if isinstance(value, gast.Call) and self.is_complex_type(value.func):
            return True
        return any(self.is_complex_type(n) for n in gast.walk(value)
                   if not (isinstance(value, gast.Call) and n is value.func))

    def flow(self, stmts: list[gast.stmt], state: frozenset[str]) -> frozenset[str]:
        """The names that may be complex after ``stmts``, given ``state`` before; records each statement's."""
        for stmt in stmts:
            if isinstance(stmt, gast.If):
                self.record(stmt, state, state)
                state = self.flow(stmt.body, state) | self.flow(stmt.orelse, state)
            elif isinstance(stmt, (gast.For, gast.While)):
                entry = state
                while True:  # the sets only grow: a fixed point
                    head = entry
                    if isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name):
                        iterated = any(n in entry for n in reads(stmt.iter))
                        head = entry | {stmt.target.id} if iterated else entry - {stmt.target.id}
                    self.record(stmt, entry, head)
                    grown = entry | self.flow(stmt.body, head)
                    if grown == entry:
                        break
                    entry = grown
                state = entry
            else:
                after = self.transfer(stmt, state)
                self.record(stmt, state, after)
                state = after
        return state

    def record(self, stmt: gast.stmt, before: frozenset[str], after: frozenset[str]) -> None:
        key = sid(stmt)
        self.before[key] = self.before.get(key, frozenset()) | before
        self.anywhere |= before | after

    def transfer(self, stmt: gast.stmt, state: frozenset[str]) -> frozenset[str]:
        target = _bound_name(stmt)
        if target is None:
            return state
        key = self.key(stmt)
        if self.makes_complex(stmt, key):
            self.sources.add(sid(stmt))
            return state | {target}
        if any(n in state for n in reads(stmt)) and not _real_result(stmt, key):
            return state | {target}
        if isinstance(stmt, Update):  # a write keeps the array's dtype
            return state
        return state - {target}

    def refuse_undifferentiated(self, act: Activity) -> None:
        for stmt in walk_statements(self.body):
            if not act.is_active(stmt) or isinstance(stmt, (gast.If, gast.For, gast.While)):
                continue
            names = self.before.get(sid(stmt), frozenset())
            if sid(stmt) not in self.sources and not any(n in names for n in reads(stmt)):
                continue
            problem = self.problem(stmt, names)
            if problem:
                raise self.parsed.error(UnsupportedSyntaxError, problem, stmt, _REFUSAL_HINT)

    def problem(self, stmt: gast.stmt, names: frozenset[str]) -> str | None:
        """Why differentiating ``stmt``, which involves complex values, is refused; None if it is not."""
        if stored(stmt) is not None:  # x[i] = v
            return None
        if not (isinstance(stmt, gast.Assign) and target_of(stmt)):
            return "sourcediff does not differentiate this statement with complex values yet"
        value = stmt.value
        if isinstance(value, (gast.Name, gast.Subscript)):
            return None
        if sid(stmt) in self.calls.user_calls:
            return "a function of yours called with complex values is not differentiated yet (write its " \
                   "body inline)"
        if not isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Call, gast.Attribute)):
            return "sourcediff does not differentiate complex values in this construct yet"
        try:
            key, rule, args, keywords, what = self.binder.primitive(stmt)
        except SourcediffError:
            return None  # the transform reports it
        if rule is None:
            return None  # no rule at all: the transform reports it
        binding = self.binder.bind(rule, args, keywords, value, what)
        if not self.binder.reads_complex(binding, names) and not _complex_constant(binding):
            return None
        if registry.complex_rule(key) is None:
            return f"{what} has no derivative rule for complex arguments"
        return None


def _bound_name(stmt: gast.stmt) -> str | None:
    if isinstance(stmt, Update):
        return stmt.array.id
    if isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name):
        return stmt.target.id
    return target_of(stmt)


def _real_result(stmt: gast.stmt, key) -> bool:
    """A statement whose value is real whatever its operands: a comparison, or a function declared so."""
    value = getattr(stmt, "value", None)
    return isinstance(value, (gast.Compare, gast.BoolOp)) or _safe_in(key, registry.REAL_RESULTS)


def _complex_constant(binding: dict[str, gast.expr]) -> bool:
    return any(isinstance(n, gast.Constant) and isinstance(n.value, complex)
               for atom in binding.values() for n in gast.walk(atom))


def _safe_in(key, table: set) -> bool:
    try:
        return key is not None and key in table
    except TypeError:  # unhashable
        return False
