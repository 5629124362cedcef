"""Transform stage, forward mode: write the tangent of a function in the core language.

Each statement is followed by the statement that computes its tangent, named
``x_dot``, from the rules' forward templates. Nothing is saved, so there is no
tape: loops, branches and early exits stay as they are. A tangent has the
structure of its primal, and its memory is shared the way the primal's is:
``v = u[1:]`` gives ``v_dot = u_dot[1:]``, ``y = x`` gives ``y_dot = x_dot``,
and a write ``u[i] = v`` is followed by ``u_dot[i] = v_dot``, so writes
through any name reach every tangent that must see them.

The derivative ``f_jvp(x_dot, ..., x, ...)`` takes the tangents of the
differentiated parameters first, then ``f``'s own parameters, and returns
``(output, output tangent)`` (with ``has_aux``: ``(output, output tangent, aux)``).
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Any, Mapping

import gast
import numpy

from sourcediff.rules import registry

from .analyze import Facts, Spec
from .binding import RuleBinder, dotted, is_runtime_call, runtime_aliases
from .dataflow import SCALAR_SHAPE, Activity, ArrayFacts, differentiable_reads
from .errors import MissingRuleError, UnsupportedSyntaxError
from .inplace import makes_new_object
from .ir import appended, comment, list_change, reads, sid, stored, target_of, unshare, update, walk_statements
from .naming import Namer, assign, call, constant, constant_tuple, name
from .parse import ParsedFunction


_RESULT = "__result__"  # stands for a rule's ``ans`` while asking which operands a tangent reads


@dataclass
class ForwardFunction:
    """The generated forward derivative and what the pipeline needs to compile it."""

    node: gast.FunctionDef
    wrt: tuple[str, ...]
    runtime_names: dict[str, str]
    late_bound: dict[str, Any] = field(default_factory=dict)
    mutated: tuple[str, ...] = ()
    tangent_names: frozenset[str] = frozenset()


class ForwardTransform:
    """Writes the tangent code of one lowered function from the Facts the analysis found about it."""

    def __init__(self, parsed: ParsedFunction, lowered: gast.FunctionDef, spec: Spec,
                 namespaces: dict[str, Any] | None = None):
        self.parsed = parsed
        self.lowered = lowered
        self.wrt = spec.wrt
        self.has_aux = spec.has_aux
        self.namer = Namer.for_tree(lowered)
        self.namer.reserve_derivative_names(parsed.name)
        self.runtime = runtime_aliases(self.namer, parsed, namespaces or {})
        self.binder = RuleBinder(parsed, self.runtime)
        self.tangent_names: dict[str, str] = {}
        self.tangents: set[str] = set()  # names that have a tangent (all through the function)
        self.written: set[str] = set()  # names whose objects are written into, and the names sharing them
        self.numbers: Mapping[int, frozenset[str]] = {}
        self.arrays = ArrayFacts()
        self.varied: frozenset[str] = frozenset()
        self.facts: Facts | None = None  # set by run
        self.call_results: set[str] = set()  # names bound to what a library call returned
        self.spec = spec
        self.floats: set[str] = set()  # names that hold float (or complex) arrays wherever they are bound

    @property
    def sd(self) -> str:
        return self.runtime["sd"]

    def dot(self, primal: str) -> str:
        if primal not in self.tangent_names:
            self.tangent_names[primal] = self.namer.fresh(f"{primal}_dot")
        return self.tangent_names[primal]

    # -- what the analysis asks before the transform runs -----------------------------------------
    def derivative_reads(self, stmt: gast.Assign, act: Activity, numbers: Mapping[int, frozenset[str]],
                         arrays: ArrayFacts) -> set[str]:
        """The primal names the tangent code of ``stmt`` reads; it runs after ``stmt``, so ``x = op(x)`` is
        split where the tangent reads the old ``x``."""
        self.numbers, self.arrays = numbers, arrays
        self.varied = act.varied_before[sid(stmt)]
        if not self.is_varied(stmt) or not isinstance(stmt.value, (gast.BinOp, gast.UnaryOp, gast.Call,
                                                                       gast.Attribute)):
            return set()
        self.tangents = set(self.varied) | {target_of(stmt)}
        try:
            expr = self.rule_tangent(stmt, None, ans=_RESULT)
        except MissingRuleError:
            return set()
        own = set(self.tangent_names.values())
        return {n for n in reads(expr) if n not in own and n != _RESULT}

    # -- activity -------------------------------------------------------------------------------
    def is_varied(self, stmt: gast.stmt) -> bool:
        """Whether the value ``stmt`` computes or writes depends on the differentiated parameters."""
        return any(n in self.varied for n in differentiable_reads(stmt, self.parsed))

    def find_tangent_names(self, body: list[gast.stmt], act: Activity) -> set[str]:
        """Every name that gets a tangent: the differentiated parameters and whatever varied values reach."""
        found = set(self.wrt)
        for stmt in walk_statements(body):
            varied = act.varied_before[sid(stmt)]
            if not any(n in varied for n in self.flowing_reads(stmt)):
                continue
            if appended(stmt) is not None:
                found.add(appended(stmt)[0])
            elif list_change(stmt) is not None:
                method, lst, _ = list_change(stmt)
                found.add(lst)
                if method == "pop":
                    found.add(target_of(stmt))
            elif stored(stmt) is not None:
                found.add(stored(stmt)[0])
            elif target_of(stmt) is not None:
                found.add(target_of(stmt))
                found.update(self.facts.changed.get(sid(stmt), ()))
        changed = True
        while changed:  # another name for, or a view of, an object with a tangent: it sees the writes to it
            changed = False
            for stmt in walk_statements(body):
                target = target_of(stmt)
                if target is not None and target not in found and self.aliased(stmt) in found:
                    found.add(target)
                    changed = True
        return found

    @staticmethod
    def aliased(stmt: gast.Assign) -> str | None:
        """The name whose object ``stmt`` binds again, or a view or field of: ``y = x``, ``v = x[1:]``, ``p.a``."""
        rhs = stmt.value
        if isinstance(rhs, gast.Name):
            return rhs.id
        if isinstance(rhs, (gast.Subscript, gast.Attribute)) and isinstance(rhs.value, gast.Name) \
                and not (isinstance(rhs, gast.Attribute) and rhs.attr in registry.NONDIFFERENTIABLE_ATTRIBUTES):
            return rhs.value.id
        return None

    def flowing_reads(self, stmt: gast.stmt) -> list[str]:
        """Names whose tangents flow into what ``stmt`` binds or writes."""
        if appended(stmt) is not None:
            return reads(appended(stmt)[1])
        change = list_change(stmt)
        if change is not None:
            return [change[1]] if change[0] == "pop" else reads(change[2][-1])
        if stored(stmt) is not None:
            return reads(stored(stmt)[2])
        return differentiable_reads(stmt, self.parsed)

    def find_float_arrays(self, body: list[gast.stmt], act: Activity) -> set[str]:
        """Names whose every binding gives a float or complex array: a parameter the call passes one in,
        np.zeros/ones/empty without a dtype, a varied value, and views, copies and other names of those."""
        bindings: dict[str, list[gast.stmt]] = {}
        for stmt in walk_statements(body):
            if target_of(stmt) is not None:
                bindings.setdefault(target_of(stmt), []).append(stmt)
        floats = set(self.spec.float_arrays) - set(bindings)
        changed = True
        while changed:
            changed = False
            for n, stmts in bindings.items():
                if n not in floats and all(self.gives_float(s, act, floats) for s in stmts):
                    floats.add(n)
                    changed = True
        return floats

    def gives_float(self, stmt: gast.Assign, act: Activity, floats: set[str]) -> bool:
        rhs = stmt.value
        if sid(stmt) in self.facts.calls.user_calls:
            return False
        self.varied = act.varied_before[sid(stmt)]
        if self.is_varied(stmt) and isinstance(rhs, (gast.BinOp, gast.UnaryOp)):
            return True
        if isinstance(rhs, gast.Name):
            return rhs.id in floats
        if isinstance(rhs, gast.Subscript):
            return isinstance(rhs.value, gast.Name) and rhs.value.id in floats
        if isinstance(rhs, gast.Call):
            func = rhs.func
            if isinstance(func, gast.Attribute) and func.attr == "copy" and not rhs.args and \
                    isinstance(func.value, gast.Name):
                return func.value.id in floats
            callee = self.parsed.resolve(func)
            dtype = [k.value for k in rhs.keywords if k.arg == "dtype"]
            float_dtype = not dtype or (isinstance(dtype[0], gast.Name) and self.parsed.resolve(dtype[0]) in (
                float, complex)) or (isinstance(dtype[0], gast.Constant) and dtype[0].value in ("float64", "float"))
            if callee in (numpy.zeros, numpy.ones, numpy.empty) and float_dtype:
                return True
            if callee is numpy.copy and rhs.args and isinstance(rhs.args[0], gast.Name) and not dtype:
                return rhs.args[0].id in floats
        return False

    def find_written(self, body: list[gast.stmt]) -> set[str]:
        """Names whose objects are written into, and every name that may share such an object."""
        written: set[str] = set()
        for stmt in walk_statements(body):
            if stored(stmt) is not None:
                written.add(stored(stmt)[0])
            elif self.facts.is_buffer_write(stmt):
                written.add(target_of(stmt))
            elif appended(stmt) is not None or list_change(stmt) is not None:
                written.add((appended(stmt) or list_change(stmt)[1:])[0])
            written.update(self.facts.changed.get(sid(stmt), ()))
        changed = True
        while changed:
            changed = False
            for stmt in walk_statements(body):
                target = target_of(stmt)
                if target is None or makes_new_object(self.parsed, stmt.value):
                    continue
                group = {target} | set(reads(stmt.value))
                if group & written and not group <= written:
                    written |= group
                    changed = True
        return written

    # -- tangents of expressions ----------------------------------------------------------------
    def tangent_of(self, atom: gast.expr) -> gast.expr | None:
        """The tangent of an atom, or None where it is zero."""
        if isinstance(atom, gast.Name) and atom.id in self.tangents and atom.id in self.varied:
            return name(self.dot(atom.id))
        return None

    def tangent_object(self, atom: gast.expr) -> gast.expr:
        """The tangent of an atom as the object that holds it, where its memory matters (zero where it has none)."""
        if isinstance(atom, gast.Name) and atom.id in self.tangents:
            return name(self.dot(atom.id))
        return self.tangent_or_zero(atom)

    def tangent_or_zero(self, atom: gast.expr) -> gast.expr:
        found = self.tangent_of(atom)
        if found is not None:
            return found
        if isinstance(atom, gast.Constant) and isinstance(atom.value, (int, float)) and not isinstance(
                atom.value, bool):
            return constant(0.0)
        return call(f"{self.sd}.zero_tangent", copy.deepcopy(atom))

    def expression_tangent(self, stmt: gast.Assign) -> gast.expr:
        """The tangent of the value of a varied assignment ``target = value``."""
        rhs = stmt.value
        if isinstance(rhs, gast.Name):
            return self.tangent_object(rhs)
        if isinstance(rhs, gast.Subscript):
            return gast.Subscript(value=name(self.dot(rhs.value.id)), slice=copy.deepcopy(rhs.slice),
                                  ctx=gast.Load())
        if isinstance(rhs, gast.Attribute) and rhs.attr not in registry.ATTRIBUTE_RULES:
            if rhs.value.id in self.call_results:  # a library's named tuple, whose rule may give a plain tuple
                return call(f"{self.sd}.field_of_tangent", name(self.dot(rhs.value.id)), name(rhs.value.id),
                            constant(rhs.attr))
            return gast.Attribute(value=name(self.dot(rhs.value.id)), attr=rhs.attr, ctx=gast.Load())
        if isinstance(rhs, (gast.Tuple, gast.List)):
            return type(rhs)(elts=[self.tangent_or_zero(e) for e in rhs.elts], ctx=gast.Load())
        if isinstance(rhs, gast.Dict):
            return gast.Dict(keys=[copy.deepcopy(k) for k in rhs.keys], values=[self.tangent_or_zero(v)
                                                                             for v in rhs.values])
        if is_runtime_call(rhs, self.sd, ("view_again",)):  # a view read again: the same view of the tangents
            view, base, index = rhs.args
            return call(f"{self.sd}.view_again", self.tangent_object(view), self.tangent_object(base),
                        copy.deepcopy(index))
        if _is_copy_method(rhs):  # an array's, list's or dict's copy: the tangent's copy, as shallow
            return gast.Call(func=gast.Attribute(value=name(self.dot(rhs.func.value.id)), attr="copy",
                                                 ctx=gast.Load()), args=[], keywords=[])
        return self.rule_tangent(stmt, self.facts.complex_values.at(stmt))

    def rule_tangent(self, stmt: gast.Assign, complex_names: frozenset[str] | None, ans: str | None = None
                     ) -> gast.expr:
        """The sum of the forward templates of the primitive's active parameters (``ans``: the name that
        stands for the result, by default the statement's target)."""
        rule, binding, what = self.binder.find(stmt, complex_names or frozenset())
        if rule is None:
            raise self.binder.missing_rule(
                stmt, what, "register one with sourcediff.rules.registry.defrule(function, 'x', x='g * ...', "
                "jvp={'x': 't * ...'}), or rewrite the call with functions that have rules (see docs/rules.md)")
        target = target_of(stmt)
        if rule.form == "structural":  # a record's constructor: the tangent is a record of the field tangents
            fields = [gast.keyword(arg=p, value=self.tangent_or_zero(atom)) for p, atom in binding.items()]
            return gast.Call(func=copy.deepcopy(stmt.value.func), args=[], keywords=fields)
        terms: list[gast.expr] = []
        exact = False  # a term has the result's shape (an operand of that shape is active)
        scalars = self.numbers.get(sid(stmt), frozenset())
        for pname, atom in binding.items():
            if pname in rule.cut:
                continue
            if isinstance(atom, gast.Tuple):  # *operands: the template reads a tuple of tangents
                if not any(self.tangent_of(e) is not None for e in atom.elts):
                    continue
                t: gast.expr = gast.Tuple(elts=[self.tangent_or_zero(e) for e in atom.elts], ctx=gast.Load())
            else:
                t = self.tangent_of(atom)
                if t is None:
                    continue
                exact = exact or self.same_shape(atom.id, target, scalars)
                if rule.form in ("partials", "bilinear") and self.facts is not None \
                        and atom.id in self.facts.containers and atom.id not in self.arrays.arrays:
                    t = call(f"{self.runtime['np']}.asarray", t)  # a list or tuple used as an array operand
            if pname not in rule.jvps:
                raise self.parsed.error(
                    MissingRuleError, f"{what} has no forward-mode rule for its argument '{pname}'"
                    if rule.form == "reverse-only" or not rule.jvps else
                    f"{what} is not differentiable with respect to its argument '{pname}'", stmt,
                    "make that argument a constant, or register a rule with jvp= templates for it")
            filled = self.binder.fill(rule.jvp_template(pname), binding, t=t, ans=name(ans or target))
            terms.append(_without_defaults(filled, rule))
        if not terms:
            return call(f"{self.sd}.zero_tangent", name(target))
        expr = terms[0]
        for term in terms[1:]:
            container = self.facts is not None and target in self.facts.containers
            if container or isinstance(stmt.value, gast.Call) and is_runtime_call(stmt.value, self.sd, (
                    stmt.value.func.attr,) if isinstance(stmt.value.func, gast.Attribute) else ()):
                expr = call(f"{self.sd}.add", expr, term)  # a container, or the runtime's (adjoints of containers)
            elif isinstance(term, gast.UnaryOp) and isinstance(term.op, gast.USub):
                expr = gast.BinOp(left=expr, op=gast.Sub(), right=term.operand)
            else:
                expr = gast.BinOp(left=expr, op=gast.Add(), right=term)
        broadcasts = rule.unbroadcast or rule.form in ("partials", "bilinear")
        numbers = all(isinstance(a, gast.Constant) or isinstance(a, gast.Name) and a.id in scalars
                      for a in binding.values() if not (isinstance(a, gast.Constant) and a.value is None))
        if broadcasts and not exact and not numbers:
            expr = call(f"{self.sd}.fit_tangent", expr, name(target))
        return expr

    def same_shape(self, operand: str, target: str, scalars: frozenset[str]) -> bool:
        if operand in scalars and target in scalars:
            return True
        key = self.arrays.shapes.get(operand)
        return key is not None and key == self.arrays.shapes.get(target) and key != SCALAR_SHAPE or (
            key == SCALAR_SHAPE and self.arrays.shapes.get(target) == SCALAR_SHAPE)

    # -- statements -----------------------------------------------------------------------------
    def statements(self, stmts: list[gast.stmt], act: Activity) -> list[gast.stmt]:
        out: list[gast.stmt] = []
        for stmt in stmts:
            self.varied = act.varied_before[sid(stmt)]
            out.extend(self.checks(stmt))
            if isinstance(stmt, gast.If):
                node = gast.If(test=stmt.test, body=self.statements(stmt.body, act) or [gast.Pass()],
                               orelse=self.statements(stmt.orelse, act))
                out.append(gast.copy_location(node, stmt))
            elif isinstance(stmt, gast.For):
                node = gast.For(target=stmt.target, iter=stmt.iter, body=self.statements(stmt.body, act), orelse=[],
                                type_comment=None)
                out.append(gast.copy_location(node, stmt))
            elif isinstance(stmt, gast.While):
                node = gast.While(test=stmt.test, body=self.statements(stmt.body, act), orelse=[])
                out.append(gast.copy_location(node, stmt))
            else:
                out.extend(self.simple(stmt))
        return out

    def simple(self, stmt: gast.stmt) -> list[gast.stmt]:
        """A simple statement followed by its tangent code."""
        if appended(stmt) is not None:
            lst, value = appended(stmt)
            if lst not in self.tangents:
                return [stmt]
            pushed = gast.Call(func=gast.Attribute(value=name(self.dot(lst)), attr="append", ctx=gast.Load()),
                               args=[self.tangent_or_zero(value)], keywords=[])
            return [stmt, gast.Expr(value=pushed)]
        change = list_change(stmt)
        if change is not None:
            return self.list_change(stmt, change)
        if stored(stmt) is not None:
            array, index, value = stored(stmt)
            if array not in self.tangents:
                return [stmt]
            written = self.tangent_of(value)
            if written is None:
                written = constant(0.0) if array in self.arrays.arrays else self.tangent_or_zero(value)
                return [stmt, update(self.dot(array), copy.deepcopy(index), written, like=stmt)]
            if array in self.arrays.arrays and array not in self.floats:  # an integer array keeps integers
                written = call(f"{self.sd}.tangent_stored_in", name(array), written)
            return [stmt, update(self.dot(array), copy.deepcopy(index), written, like=stmt)]
        if isinstance(stmt, gast.Expr):
            self.check_discarded_call(stmt)
            return [stmt]
        target = target_of(stmt)
        if target is None:
            return [stmt]
        if sid(stmt) in self.facts.calls.user_calls:
            return [self.user_call(stmt)]
        if sid(stmt) in self.facts.calls.inactive_writes:
            return [stmt] + ([assign(self.dot(target), call(f"{self.sd}.zero_tangent", name(target)))]
                             if target in self.tangents else [])
        if target not in self.tangents:
            return [stmt]
        if self.facts.is_buffer_write(stmt):  # y op= v into an array others share: the tangent is written alike
            buffer, value = stmt.value.args
            # the buffer's tangent object even while it is zero: other names share it (fuzz seed 1302700325)
            into = call(f"{self.sd}.{stmt.value.func.attr}", self.tangent_object(buffer), self.tangent_or_zero(value))
            return [stmt, assign(self.dot(target), into)]
        if not self.is_varied(stmt):
            if self.aliased(stmt) in self.tangents and not isinstance(stmt.value, gast.Attribute):
                # another name for, or a view of, an object with a tangent: its tangent is that tangent's (zero
                # now, but the writes to the object will reach it)
                return [stmt, assign(self.dot(target), self.expression_tangent(stmt))]
            return [stmt, assign(self.dot(target), call(f"{self.sd}.zero_tangent", name(target)))]
        expr = self.expression_tangent(stmt)
        if self.needs_own(stmt, expr):
            expr = call(f"{self.sd}.own_tangent", expr)
        return [stmt, gast.copy_location(assign(self.dot(target), expr), stmt)]

    def needs_own(self, stmt: gast.Assign, expr: gast.expr) -> bool:
        """A new primal object whose tangent expression may be another name's tangent object, where writes
        into one of them would show in the other."""
        if isinstance(expr, gast.Call) and is_runtime_call(expr, self.sd, ("fit_tangent",)):
            expr = expr.args[0]
        if isinstance(expr, (gast.BinOp, gast.UnaryOp, gast.Tuple, gast.List, gast.Dict)) or _is_copy_method(expr):
            return False
        if not makes_new_object(self.parsed, stmt.value):
            return False
        if isinstance(stmt.value, gast.Call):
            key, rule, _, _, _ = self.binder.primitive(stmt)
            if rule is not None and rule.form in ("linear", "partials", "bilinear") and registry.returns(key) == "new":
                return False  # the template applies the same kind of function to the tangent: a new object too
        involved = {target_of(stmt)} | set(reads(stmt.value))
        return bool(involved & self.written)

    def list_change(self, stmt: gast.stmt, change: tuple[str, str, list[gast.expr]]) -> list[gast.stmt]:
        method, lst, args = change
        if lst not in self.tangents:
            if method == "pop" and target_of(stmt) in self.tangents:
                return [stmt, assign(self.dot(target_of(stmt)), call(f"{self.sd}.zero_tangent",
                                                                      name(target_of(stmt))))]
            return [stmt]
        receiver = gast.Attribute(value=name(self.dot(lst)), attr=method, ctx=gast.Load())
        if method == "pop":
            popped = gast.Call(func=receiver, args=[copy.deepcopy(a) for a in args], keywords=[])
            target = target_of(stmt)
            return [stmt, assign(self.dot(target), popped) if target in self.tangents else gast.Expr(value=popped)]
        value = args[-1]
        tangent = self.tangent_of(value)
        if tangent is None:
            tangent = call(f"{self.sd}.zero_tangent", copy.deepcopy(value))
        new_args = [copy.deepcopy(a) for a in args[:-1]] + [tangent]
        return [stmt, gast.Expr(value=gast.Call(func=receiver, args=new_args, keywords=[]))]

    def user_call(self, stmt: gast.Assign) -> gast.stmt:
        """``y, y_dot = f_jvp(tangents, args)``: the forward derivative of a call to a user function."""
        info = self.facts.calls.user_calls[sid(stmt)]
        rhs = stmt.value
        target = target_of(stmt)
        if info.forward is None:
            positions, keywords = info.dynamic
            atoms = [rhs.args[i] for i in positions] + [k.value for k in rhs.keywords if k.arg in keywords]
            tangents = gast.Tuple(elts=[self.tangent_or_zero(a) for a in atoms], ctx=gast.Load())
            value = gast.Call(func=gast.Attribute(value=name(self.sd), attr="call_jvp", ctx=gast.Load()),
                              args=[copy.deepcopy(rhs.func), constant_tuple(positions), constant_tuple(keywords),
                                    tangents] + list(rhs.args), keywords=list(rhs.keywords))
        else:
            tangents_args = []
            for param in info.active:
                atom = self.facts.calls.argument_of(rhs, param)
                if isinstance(atom, list):  # *args: a tuple of tangents
                    tangents_args.append(gast.Tuple(elts=[self.tangent_or_zero(a) for a, _ in atom],
                                                    ctx=gast.Load()))
                elif atom is None:
                    raise self.parsed.error(UnsupportedSyntaxError, f"sourcediff cannot differentiate this call: "
                                            f"{dotted(rhs.func)} leaves {param!r} to its default", stmt,
                                            f"pass {param} explicitly")
                else:
                    tangents_args.append(self.tangent_object(atom))  # the callee may write into it
            value = gast.Call(func=name(info.forward), args=tangents_args + list(rhs.args),
                              keywords=list(rhs.keywords))
        self.tangents.add(target)
        targets = gast.Tuple(elts=[name(target, gast.Store), name(self.dot(target), gast.Store)], ctx=gast.Store())
        return gast.copy_location(gast.Assign(targets=[targets], value=value, type_comment=None), stmt)

    def check_discarded_call(self, stmt: gast.Expr) -> None:
        """A call kept only for its effect may change a varied argument: refuse unless it is known harmless."""
        call_node = stmt.value
        if not any(n in self.varied for n in reads(call_node)) or self.parsed.resolve(call_node.func) is print:
            return
        raise self.parsed.error(
            UnsupportedSyntaxError, f"sourcediff cannot differentiate the call {dotted(call_node.func)}(...) whose "
            "result is discarded: it may change an argument in place", stmt,
            "use an operator or a function that returns a new array (y = f(x)); writing through an index "
            "(x[i] = v, x[1:] += v) is differentiated")

    def checks(self, stmt: gast.stmt) -> list[gast.stmt]:
        """The run-time checks the analysis asks for before ``stmt`` (the same as in reverse mode)."""
        out: list[gast.stmt] = []
        where = (constant(self.parsed.filename), constant(self.parsed.lineno(stmt)))
        for checked, message, hint in self.facts.calls.immutable_checks.get(sid(stmt), ()):
            out.append(gast.Expr(value=call(f"{self.sd}.immutable_value", name(checked), constant(message),
                                            constant(hint), *where)))
        if sid(stmt) in self.facts.varied_indices:
            names = gast.Tuple(elts=[name(n) for n in self.facts.varied_indices[sid(stmt)]], ctx=gast.Load())
            out.append(gast.Expr(value=call(f"{self.sd}.check_index", names, *where)))
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Attribute) \
                and isinstance(stmt.value.value, gast.Name):
            attr, owner = stmt.value.attr, stmt.value.value.id
            known = attr in registry.NONDIFFERENTIABLE_ATTRIBUTES or attr in registry.ATTRIBUTE_RULES
            if known and owner in self.varied and owner not in self.arrays.arrays:
                out.append(gast.Expr(value=call(f"{self.sd}.check_array_attribute", name(owner), constant(attr))))
        return out

    # -- the function ---------------------------------------------------------------------------
    def run(self, facts: Facts) -> ForwardFunction:
        """The forward derivative, from what the analysis found."""
        self.facts = facts
        self.numbers, self.arrays = facts.numbers, facts.arrays
        act = facts.activity
        body = list(facts.body)
        self.tangents = self.find_tangent_names(body, act)
        self.floats = self.find_float_arrays(body, act)
        self.call_results = {target_of(s) for s in walk_statements(body) if target_of(s) is not None
                             and isinstance(s.value, gast.Call) and sid(s) not in facts.calls.user_calls}
        self.written = self.find_written(body)
        params = self.parameter_names()
        code: list[gast.stmt] = [comment("tangents of the parameters not differentiated are zero")] if \
            (self.tangents & params) - set(self.wrt) else []
        for p in sorted((self.tangents & params) - set(self.wrt)):
            code.append(assign(self.dot(p), call(f"{self.sd}.zero_tangent", name(p))))
        code.extend(self.shared_argument_check(params))
        code.extend(self.statements(body, act))
        self.varied = act.varied_at_end
        output = facts.output
        core_tangent = gast.Tuple(elts=[self.tangent_or_zero(a) for a in output.differentiated], ctx=gast.Load()) \
            if isinstance(output.core, gast.Tuple) else self.tangent_or_zero(output.core)
        returned = output.returned
        if self.has_aux:
            aux = returned.elts[1]
            result = gast.Tuple(elts=[copy.deepcopy(output.core), core_tangent, copy.deepcopy(aux)], ctx=gast.Load())
        else:
            result = gast.Tuple(elts=[copy.deepcopy(returned), core_tangent], ctx=gast.Load())
        code.append(gast.Return(value=result))
        args = copy.deepcopy(self.lowered.args)
        args.defaults = []
        args.kw_defaults = [None] * len(args.kwonlyargs)
        args.args = [name(self.dot(p), gast.Param) for p in self.wrt] + args.posonlyargs + args.args
        args.posonlyargs = []
        node = gast.FunctionDef(name=f"{self.parsed.name}_jvp", args=args, body=code, decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        unshare(node)
        return ForwardFunction(node, self.wrt, self.runtime, late_bound=dict(facts.calls.late_bound),
                               mutated=facts.mutated, tangent_names=frozenset(self.tangent_names.values()))

    def shared_argument_check(self, params: set[str]) -> list[gast.stmt]:
        """Refuse at run time when an argument that is written into shares memory with another argument."""
        mutated = sorted(self.facts.mutated)
        if not mutated or len(params) < 2:
            return []
        a = self.lowered.args
        ordered = [p.id for p in a.posonlyargs + a.args + a.kwonlyargs]
        arguments = gast.Dict(keys=[constant(p) for p in ordered], values=[name(p) for p in ordered])
        return [gast.Expr(value=call(f"{self.sd}.refuse_shared_arguments", constant(self.parsed.name),
                                     constant_tuple(mutated), arguments))]

    def parameter_names(self) -> set[str]:
        a = self.lowered.args
        names = {p.id for p in a.posonlyargs + a.args + a.kwonlyargs}
        names.update(extra.id for extra in (a.vararg, a.kwarg) if extra is not None)
        return names


def _is_copy_method(expr: gast.expr) -> bool:
    """``x.copy()`` on a name."""
    return isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute) and expr.func.attr == "copy" \
        and isinstance(expr.func.value, gast.Name) and not expr.args and not expr.keywords


def _without_defaults(expr: gast.expr, rule: registry.Rule) -> gast.expr:
    """``expr`` without the keyword arguments that only repeat the rule's defaults (``axis=None``), for
    readable code; a keyword is dropped only where its name is a parameter of the rule with that default."""
    defaults = {p: param.default for p, param in rule.signature.parameters.items()
                if param.default is not inspect.Parameter.empty}
    for node in gast.walk(expr):
        if isinstance(node, gast.Call):
            node.keywords = [k for k in node.keywords if not (
                k.arg in defaults and isinstance(k.value, gast.Constant) and type(k.value.value) is type(
                    defaults[k.arg]) and k.value.value == defaults[k.arg])]
    return expr


class NotInDirections(Exception):
    """The forward derivative mixes primal and tangent values in one statement (a helper's ``f_jvp`` call):
    it cannot be written for several directions at once."""


def in_directions(result: ForwardFunction, count: int) -> ForwardFunction:
    """The forward derivative for ``count`` directions at once: the primal statements run once, each tangent
    statement once per direction (``x_dot`` becomes ``x_dot_1``, ``x_dot_2`` ...). The tangent parameters
    take tuples with one tangent per direction, and the output tangent is such a tuple."""
    node = copy.deepcopy(result.node)
    tangents = set(result.tangent_names)
    taken = {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}
    renamed = {}
    for t in sorted(tangents):
        names = []
        for k in range(1, count + 1):
            candidate = f"{t}_{k}"
            while candidate in taken:
                candidate += "_"
            taken.add(candidate)
            names.append(candidate)
        renamed[t] = names
    params = [a.id for a in node.args.args if a.id in tangents]
    unpack = [gast.Assign(targets=[gast.Tuple(elts=[name(n, gast.Store) for n in renamed[p]], ctx=gast.Store())],
                          value=name(p), type_comment=None) for p in params]
    node.body = unpack + _replicated(node.body, tangents, renamed, count)
    return ForwardFunction(node, result.wrt, result.runtime_names, result.late_bound, result.mutated,
                           frozenset(n for names in renamed.values() for n in names))


def _replicated(stmts: list[gast.stmt], tangents: set[str], renamed: dict[str, list[str]], count: int
                ) -> list[gast.stmt]:
    out: list[gast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, gast.If):
            stmt.body = _replicated(stmt.body, tangents, renamed, count) or [gast.Pass()]
            stmt.orelse = _replicated(stmt.orelse, tangents, renamed, count)
            out.append(stmt)
            continue
        if isinstance(stmt, (gast.For, gast.While)):
            stmt.body = _replicated(stmt.body, tangents, renamed, count) or [gast.Pass()]
            out.append(stmt)
            continue
        if isinstance(stmt, gast.Return):  # (out, out_dot) or (out, out_dot, aux): a tuple of output tangents
            parts = stmt.value.elts
            parts[1] = gast.Tuple(elts=[_in_direction(parts[1], renamed, k) for k in range(count)], ctx=gast.Load())
            out.append(stmt)
            continue
        names = [n for n in gast.walk(stmt) if isinstance(n, gast.Name)]
        if not any(n.id in tangents for n in names):
            out.append(stmt)
            continue
        if any(isinstance(n.ctx, gast.Store) and n.id not in tangents for n in names):
            raise NotInDirections()
        out.extend(_in_direction(stmt, renamed, k) for k in range(count))
    return out


def _in_direction(tree: gast.AST, renamed: dict[str, list[str]], k: int) -> gast.AST:
    tree = copy.deepcopy(tree)
    for n in gast.walk(tree):
        if isinstance(n, gast.Name) and n.id in renamed:
            n.id = renamed[n.id][k]
    return tree
