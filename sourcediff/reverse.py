"""Transform stage, reverse mode: write the adjoint of a function in the core language.

The derivative has a forward pass (the primal statements, plus saving values
that get overwritten and are needed later) followed by a backward pass that
walks the statements in reverse and inlines each primitive's adjoint template.
Adjoints are named ``x_bar``. The first contribution to an adjoint assigns it,
later ones add to it, so adjoints that are never touched cost nothing.

Invariant of the backward pass: when the adjoint of a statement runs, every
primal name holds the value it had right after that statement ran forward.
Values overwritten later in the forward pass are pushed on ``tape`` before the
overwrite and popped back after the adjoint of the overwriting statement.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import gast

from sourcediff.rules import registry

from .analyze import Facts, Spec, container_names
from .complex_values import ComplexValues
from .binding import RuleBinder, dotted, is_runtime_call, runtime_aliases
from .dataflow import SCALAR_SHAPE, Activity, ArrayFacts
from .errors import MissingRuleError, SourcediffError, UnsupportedSyntaxError
from .ir import (appended, comment, index_value, list_change, reads, sid, stored, target_of, unshare, update,
                 walk_statements)
from .naming import Namer, assign, call, constant, constant_tuple, name
from .parse import ParsedFunction
from .passes import Passes, definitely_assigned
from .tape import SavePlanner

@dataclass
class Contribution:
    """``operand`` receives ``expr`` (a gast expression reading ``g``) as adjoint."""

    operand: str
    expr: gast.expr
    index: gast.expr | None = None  # for the read of an element or slice ``x[index]``: the index as written


@dataclass
class ReverseFunction:
    """The generated derivative and what the API needs to call it."""

    node: gast.FunctionDef
    mode: str
    wrt: tuple[str, ...]
    runtime_names: dict[str, str]
    seed: str | None = None
    backward_node: gast.FunctionDef | None = None   # mode "split": the backward half
    late_bound: dict[str, Any] = field(default_factory=dict)  # names of other derivatives, bound as cells
    mutated: tuple[str, ...] = ()  # mode "split": arguments the function changes in place


class ReverseTransform:
    """Writes the adjoint of one lowered function from the Facts the analysis found about it."""

    def __init__(self, parsed: ParsedFunction, lowered: gast.FunctionDef, spec: Spec,
                 namespaces: dict[str, Any] | None = None):
        self.parsed = parsed
        self.lowered = lowered
        self.namespaces = namespaces or {}  # what np, math and sd are bound to in the generated code
        self.wrt = spec.wrt
        self.mode = spec.mode
        self.has_aux = spec.has_aux
        self.namer = Namer.for_tree(lowered)
        self.namer.reserve_derivative_names(parsed.name)
        self.runtime = runtime_aliases(self.namer, parsed, self.namespaces)
        self.binder = RuleBinder(parsed, self.runtime)
        self.adjoint_names: dict[str, str] = {}
        self.present: set[str] = set()
        self.owned: set[str] = set()  # primal names whose adjoint is a private buffer (safe to update in place)
        self.scalars: frozenset[str] = frozenset()  # the Python numbers before the statement being derived
        self.numbers: Mapping[int, frozenset[str]] = {}
        self.arrays = ArrayFacts()
        self.complex = ComplexValues({}, frozenset())  # where names may hold complex values (set by run)
        self.facts: Facts | None = None  # set by run
        self.lowered_containers: frozenset[str] | None = None  # the containers the analysis asks about first

    # -- names -----------------------------------------------------------------------------------

    def bar(self, primal: str) -> str:
        if primal not in self.adjoint_names:
            self.adjoint_names[primal] = self.namer.fresh(f"{primal}_bar")
        return self.adjoint_names[primal]

    # -- rules -----------------------------------------------------------------------------------
    def instantiate(self, rule: registry.ReverseRule, param: str, binding: dict[str, gast.expr],
                    g: gast.expr, ans: gast.expr) -> gast.expr:
        """The adjoint template of ``param`` with names substituted by this call site's atoms."""
        expr = self.binder.fill(rule.template(param), binding, g=g, ans=ans)
        elementwise = rule.form in ("partials", "bilinear")  # the result has the broadcast shape of the operands
        if rule.unbroadcast and not (elementwise and self.same_shape_as_result(param, binding)):
            atom = binding[param]
            if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Mult) and isinstance(atom, gast.Name) \
                    and atom.id in self.scalars:  # a number's adjoint: the sum of a product, in one pass
                return gast.Call(func=gast.Attribute(value=name(self.runtime["sd"]), attr="sum_product",
                                                     ctx=gast.Load()), args=[expr.left, expr.right], keywords=[])
            expr = gast.Call(func=gast.Attribute(value=name(self.runtime["sd"]), attr="unbroadcast", ctx=gast.Load()),
                             args=[expr, copy.deepcopy(binding[param])], keywords=[])
        return expr

    def same_shape_as_result(self, param: str, binding: dict[str, gast.expr]) -> bool:
        """Whether broadcasting leaves ``param``'s shape unchanged: every other operand is a scalar or has its shape."""
        mine = binding[param]
        key = None
        if any(isinstance(atom, gast.Name) and atom.id in self.containers() for atom in binding.values()):
            return False  # a list or tuple: + and * join and repeat it; sd.unbroadcast refuses a length that moved
        if isinstance(mine, gast.Name):
            key = SCALAR_SHAPE if mine.id in self.scalars else self.arrays.shapes.get(mine.id)

        def fits(atom: gast.expr) -> bool:
            if isinstance(atom, gast.Constant):
                return isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool)
            if not isinstance(atom, gast.Name):
                return False
            return atom.id in self.scalars or (key is not None and self.arrays.shapes.get(atom.id) == key)

        return all(fits(atom) for other, atom in binding.items()
                   if other != param and not (isinstance(atom, gast.Constant) and atom.value is None))

    def containers(self) -> frozenset[str]:
        """The names that may hold a tuple, list or dict (asked by the analysis too, before ``run``)."""
        if self.facts is not None:
            return self.facts.containers
        if self.lowered_containers is None:
            self.lowered_containers = frozenset(container_names(self.lowered.body) - self.arrays.arrays)
        return self.lowered_containers

    def contributions(self, stmt: gast.Assign, act: Activity) -> list[Contribution]:
        """The adjoint contributions ``stmt`` makes to its active operands."""
        target = stmt.targets[0].id
        rhs = stmt.value
        g = name(self.bar(target))
        self.scalars = self.numbers.get(sid(stmt), frozenset())

        def active(atom: gast.expr) -> bool:
            return isinstance(atom, gast.Name) and act.operand_active(stmt, atom.id)

        if isinstance(rhs, gast.Name):
            return [Contribution(rhs.id, g)] if active(rhs) else []
        if isinstance(rhs, gast.Subscript):
            if not active(rhs.value):
                return []
            index = index_value(rhs.slice)
            adjoint = call(f"{self.runtime['sd']}.index_adjoint", g, name(rhs.value.id), index)
            basic = self.arrays.index_ndim(rhs.value.id, rhs.slice, self.scalars) is not None \
                and self.arrays.ndims[rhs.value.id] >= 1
            return [Contribution(rhs.value.id, adjoint, copy.deepcopy(rhs.slice) if basic else None)]
        if isinstance(rhs, gast.Attribute) and rhs.attr not in registry.ATTRIBUTE_RULES:
            # a field of a dataclass, namedtuple or plain object: the adjoint is an object of the same kind
            if not active(rhs.value):
                return []
            return [Contribution(rhs.value.id, call(f"{self.runtime['sd']}.attribute_adjoint", g, name(rhs.value.id),
                                                    constant(rhs.attr)))]
        if isinstance(rhs, (gast.Tuple, gast.List)):
            return [Contribution(e.id, gast.Subscript(value=g, slice=constant(i), ctx=gast.Load()))
                    for i, e in enumerate(rhs.elts) if active(e)]
        if isinstance(rhs, gast.Dict):
            return [Contribution(v.id, gast.Subscript(value=g, slice=copy.deepcopy(k), ctx=gast.Load()))
                    for k, v in zip(rhs.keys, rhs.values) if active(v)]
        rule, binding, what = self.binder.find(stmt, self.complex.at(stmt))
        if rule is None:
            raise self.missing_rule(stmt, what)
        result = []
        for pname, atom in binding.items():
            if isinstance(atom, gast.Tuple):  # *operands: the template gives one adjoint per operand
                members = [(i, e) for i, e in enumerate(atom.elts) if active(e)]
                if not members or pname in rule.cut:
                    continue
                if pname not in rule.adjoints:
                    raise self.not_differentiable(stmt, what, pname)
                whole = self.instantiate(rule, pname, binding, g, name(target))
                for i, e in members:
                    result.append(Contribution(e.id, gast.Subscript(value=copy.deepcopy(whole), slice=constant(i),
                                                                    ctx=gast.Load())))
                continue
            if not active(atom) or pname in rule.cut:
                continue
            if pname not in rule.adjoints:
                raise self.not_differentiable(stmt, what, pname)
            result.append(Contribution(atom.id, self.instantiate(rule, pname, binding, g, name(target))))
        return result

    def real_part(self, contribution: Contribution, complex_names: frozenset[str]) -> Contribution:
        """A real operand's share of a complex result's adjoint is its real part (JAX's convention)."""
        if contribution.operand in complex_names:
            return contribution
        return Contribution(contribution.operand, call(f"{self.runtime['np']}.real", contribution.expr))

    def missing_rule(self, stmt: gast.Assign, what: str) -> MissingRuleError:
        return self.binder.missing_rule(
            stmt, what, "register one with sourcediff.rules.registry.defrule(function, 'x', x='g * ...'), "
            "or rewrite the call with functions that have rules (see docs/rules.md)")

    def not_differentiable(self, stmt: gast.Assign, what: str, param: str) -> SourcediffError:
        return self.parsed.error(
            MissingRuleError, f"{what} is not differentiable with respect to its argument '{param}'", stmt,
            "make that argument a constant, or register a rule that covers it")

    # -- the passes ------------------------------------------------------------------------------
    def accumulate(self, contribution: Contribution) -> gast.stmt:
        operand = contribution.operand
        adjoint = self.bar(operand)
        expr = contribution.expr
        if operand in self.facts.lists and not is_runtime_call(expr, self.runtime["sd"], ("index_adjoint", "zeros_like")):
            # a list that grows or shrinks: its adjoint pops and unpops too, even if np.sum(lst) made it an array
            expr = call(f"{self.runtime['sd']}.list_adjoint", expr, name(operand))
        if operand not in self.present:
            self.present.add(operand)
            if is_runtime_call(expr, self.runtime["sd"], ("index_adjoint", "zeros_like", "own")):
                self.owned.add(operand)  # a fresh buffer: later reads may add into it in place
            else:
                self.owned.discard(operand)
            return assign(adjoint, expr)
        if operand in self.owned and is_runtime_call(expr, self.runtime["sd"], ("index_adjoint",)):
            # x_bar[i] += g in place, instead of a new array the size of x for every element read
            if contribution.index is not None:  # an array read with integers and slices: no repeated elements
                return update(adjoint, contribution.index, expr.args[0], gast.Add())
            return assign(adjoint, call(f"{self.runtime['sd']}.add_at", name(adjoint), *expr.args[2:3], expr.args[0]))
        if contribution.index is not None and is_runtime_call(expr, self.runtime["sd"], ("index_adjoint",)):
            # a private copy, then x_bar[i] += g: no array of zeros the size of x to scatter into and add
            self.owned.add(operand)
            private = call(f"{self.runtime['sd']}.own", name(adjoint))
            return assign(adjoint, call(f"{self.runtime['sd']}.add_at", private, *expr.args[2:3], expr.args[0]))
        if operand in self.facts.containers:
            value = call(f"{self.runtime['sd']}.add", name(adjoint), expr)
        else:
            value = gast.BinOp(left=name(adjoint), op=gast.Add(), right=expr)
        self.owned.add(operand)  # a sum is a new object
        return assign(adjoint, value)

    def zero(self, primal: str, adjoint_bound: bool) -> gast.stmt:
        """``x_bar = sd.zeros_like(...)``: a zero adjoint, shaped like ``x_bar`` if it exists, else like ``x``."""
        like = self.bar(primal) if adjoint_bound else primal
        self.owned.add(primal)
        return assign(self.bar(primal), call(f"{self.runtime['sd']}.zeros_like", name(like)))

    # -- adjoint code, statement by statement, walking the blocks backwards ----------------------
    def adjoint_block(self, stmt: gast.stmt, act: Activity) -> list[gast.stmt]:
        """The adjoint code of one simple statement; updates which adjoints are present."""
        item = appended(stmt)
        if item is not None:
            lst, value = item
            if lst not in self.present:
                return []
            popped = gast.Call(func=gast.Attribute(value=name(self.bar(lst)), attr="pop", ctx=gast.Load()),
                               args=[], keywords=[])
            if isinstance(value, gast.Name) and act.operand_active(stmt, value.id):
                return [self.accumulate(Contribution(value.id, popped))]
            return [gast.Expr(value=popped)]
        if list_change(stmt) is not None:
            return self.list_change_adjoint(stmt, act)
        if isinstance(stmt, gast.Expr):
            self.check_discarded_call(stmt, act)
            return []
        if stored(stmt) is not None:
            return self.store_adjoint(stmt, act)
        target = target_of(stmt)
        if target is None:
            return []
        if sid(stmt) in self.facts.unpack_reads:
            return []  # its adjoint goes straight into the call's output tuple (see user_call_adjoint)
        changed = self.facts.calls.user_calls[sid(stmt)].changed if sid(stmt) in self.facts.calls.user_calls else ()
        if changed:  # its backward half puts back the arrays it wrote into, whether or not adjoints flow
            return self.user_call_adjoint(stmt, act)
        changed = tuple(changed) + tuple(self.facts.unpacked.get(sid(stmt), ()))
        if not act.is_active(stmt) or (target not in self.present and not set(changed) & self.present):
            self.present.discard(target)
            self.owned.discard(target)
            return []
        if sid(stmt) in self.facts.calls.user_calls:
            return self.user_call_adjoint(stmt, act)
        contributions = self.contributions(stmt, act)
        if target in self.complex.anywhere:  # its adjoint may be complex: a real operand takes the real part
            contributions = [self.real_part(c, self.complex.at(stmt)) for c in contributions]
        # contributions to the statement's own target go last: they overwrite the adjoint they read
        contributions.sort(key=lambda c: c.operand == target)
        self.present.discard(target)
        self.owned.discard(target)
        code = [self.accumulate(c) for c in contributions]
        return [c for c in code if not (isinstance(c, gast.Assign) and isinstance(c.value, gast.Name)
                                        and c.value.id == c.targets[0].id)]

    def list_change_adjoint(self, stmt: gast.stmt, act: Activity) -> list[gast.stmt]:
        """``v = lst.pop(i)``, ``lst.extend(xs)``, ``lst.insert(i, v)``: the list's adjoint changes the same way back."""
        method, lst, args = list_change(stmt)
        sd = self.runtime["sd"]
        code: list[gast.stmt] = []
        if method == "pop":
            target = target_of(stmt)
            index = copy.deepcopy(args[0]) if args else constant(None)
            if target not in self.present and lst not in self.present:
                return []
            g = name(self.bar(target)) if target in self.present else call(f"{sd}.zeros_like", name(target))
            base = name(self.bar(lst)) if lst in self.present else call(f"{sd}.zeros_like", name(lst))
            if lst in self.present and lst not in self.owned:
                base = call(f"{sd}.own", base)
            self.present.discard(target)
            self.owned.discard(target)
            self.present.add(lst)
            self.owned.add(lst)
            return [assign(self.bar(lst), call(f"{sd}.unpop", base, index, g))]
        if lst not in self.present:
            return []
        if lst not in self.owned:
            code.append(assign(self.bar(lst), call(f"{sd}.own", name(self.bar(lst)))))
            self.owned.add(lst)
        value = args[-1]
        if method == "extend":
            part = call(f"{sd}.unextend", name(self.bar(lst)), call("len", copy.deepcopy(value)))
            if isinstance(value, gast.Name) and act.operand_active(stmt, value.id):
                taken = self.namer.fresh(f"{value.id}_part")  # a statement of its own, which can be spelled out
                code.append(assign(taken, part))
                code.append(self.accumulate(Contribution(value.id, call(f"{sd}.sequence_adjoint", name(taken),
                                                                        name(value.id)))))
            else:
                code.append(gast.Expr(value=part))
        else:  # insert
            part = call(f"{sd}.uninsert", name(self.bar(lst)), copy.deepcopy(args[0]))
            if isinstance(value, gast.Name) and act.operand_active(stmt, value.id):
                code.append(self.accumulate(Contribution(value.id, part)))
            else:
                code.append(gast.Expr(value=part))
        return code

    def store_adjoint(self, stmt: gast.Assign, act: Activity) -> list[gast.stmt]:
        """``x[i] = v``: v receives the written part of x_bar, which is then cut (the old values are gone)."""
        array, index, value = stored(stmt)
        if not act.is_active(stmt) or array not in self.present:
            return []
        code: list[gast.stmt] = []
        if array not in self.owned:
            code.append(assign(self.bar(array), call(f"{self.runtime['sd']}.own", name(self.bar(array)))))
            self.owned.add(array)
        where = index_value(index)
        increment = self.facts.increments.get(sid(stmt))
        if increment is not None:  # x[i] = x[i] + d: x_bar passes through, d gets its written part
            other, negate = increment.delta, increment.negate
            if not act.operand_active(increment.source, other):
                return code
            part = call(f"{self.runtime['sd']}.increment_adjoint", name(self.bar(array)), where, name(array))
            if negate:  # x[i] = x[i] - d
                part.keywords.append(gast.keyword(arg="negate", value=constant(True)))
            scalars = self.numbers.get(sid(stmt), frozenset())
            key = SCALAR_SHAPE if other in scalars else self.arrays.shapes.get(other)
            if key is None or key != self.arrays.index_key(array, index, scalars):
                part = call(f"{self.runtime['sd']}.unbroadcast", part, name(other))
            code.append(self.accumulate(self.stored_part(stmt, array, Contribution(other, part))))
            return code
        if isinstance(value, gast.Name) and act.operand_active(stmt, value.id):
            scalars = self.numbers.get(sid(stmt), frozenset())
            key = SCALAR_SHAPE if value.id in scalars else self.arrays.shapes.get(value.id)
            fits = key is not None and key == self.arrays.index_key(array, index, scalars)  # nothing to unbroadcast
            part = call(f"{self.runtime['sd']}.store_adjoint", name(self.bar(array)), where,
                        constant(None) if fits else name(value.id), name(array))
            code.append(self.accumulate(self.stored_part(stmt, array, Contribution(value.id, part))))
        else:
            code.append(gast.Expr(value=call(f"{self.runtime['sd']}.clear_at", name(self.bar(array)), where)))
        return code

    def stored_part(self, stmt: gast.stmt, array: str, contribution: Contribution) -> Contribution:
        """A real value written into an array that may be complex takes the real part of its adjoint."""
        if array in self.complex.anywhere:
            return self.real_part(contribution, self.complex.at(stmt))
        return contribution

    def check_discarded_call(self, stmt: gast.Expr, act: Activity) -> None:
        """A call kept only for its effect may mutate an active argument: refuse unless it is known harmless."""
        call_node = stmt.value
        varied = act.varied_before[sid(stmt)]
        if not any(n in varied for n in reads(call_node)):
            return
        if self.parsed.resolve(call_node.func) is print:
            return
        raise self.parsed.error(
            UnsupportedSyntaxError, f"sourcediff cannot differentiate the call {dotted(call_node.func)}(...) whose "
            "result is discarded: it may change an argument in place", stmt,
            "use an operator or a function that returns a new array (y = f(x)); writing through an index "
            "(x[i] = v, x[1:] += v) is differentiated")

    def generate(self, stmts: list[gast.stmt], act: Activity) -> None:
        """Fill ``self.code`` (adjoint code per simple statement) and the materializations of control flow."""
        for stmt in reversed(stmts):
            if isinstance(stmt, gast.If):
                entry, owned = set(self.present), set(self.owned)
                self.generate(stmt.body, act)
                after_body, self.present = self.present, set(entry)
                owned_body, self.owned = self.owned, set(owned)
                self.generate(stmt.orelse, act)
                after_else = self.present
                owned_else = self.owned
                self.tails[sid(stmt)] = (
                    [self.zero(n, n in entry) for n in sorted(after_else - after_body)],
                    [self.zero(n, n in entry) for n in sorted(after_body - after_else)])
                self.present = after_body | after_else
                self.owned = (owned_body | (after_else - after_body)) & (owned_else | (after_body - after_else))
            elif isinstance(stmt, (gast.For, gast.While)):
                entry = set(self.present)
                owned_entry = set(self.owned)
                before: list[str] = []
                copies: list[str] = []
                written = {stored(s)[0] for s in walk_statements(stmt.body) if stored(s) is not None}
                while True:
                    # adjoints updated in place inside the loop get a private copy once, before it
                    for n in sorted((written & entry) - owned_entry - set(copies)):
                        copies.append(n)
                        owned_entry.add(n)
                    self.present, self.owned = set(entry), set(owned_entry)
                    self.generate(stmt.body, act)
                    new = self.present - entry
                    if not new and owned_entry <= self.owned:
                        break
                    before.extend(sorted(new))  # contributions start inside the loop: start them at zero
                    entry |= new
                    owned_entry = (owned_entry & self.owned) | new
                gone = sorted(entry - self.present)  # consumed by an iteration: earlier iterations start at zero
                self.heads[sid(stmt)] = [self.zero(n, False) for n in before] + [
                    assign(self.bar(n), call(f"{self.runtime['sd']}.own", name(self.bar(n)))) for n in copies]
                self.tails[sid(stmt)] = ([self.zero(n, True) for n in gone], [])
                self.present = entry
                self.owned = owned_entry
            else:
                self.code[sid(stmt)] = self.adjoint_block(stmt, act)

    # -- calls to the user's own functions -------------------------------------------------------
    def user_call_adjoint(self, stmt: gast.Assign, act: Activity) -> list[gast.stmt]:
        info = self.facts.calls.user_calls[sid(stmt)]
        rhs = stmt.value
        g = name(self.bar(target_of(stmt)))
        unpacked = self.facts.unpacked.get(sid(stmt), [])
        if set(unpacked) & self.present:  # a, b = f(...): the output's adjoint is the tuple (a_bar, b_bar)
            g = gast.Tuple(elts=[name(self.bar(e)) if e in self.present else
                                 call(f"{self.runtime['sd']}.zeros_like", name(e)) for e in unpacked],
                           ctx=gast.Load())
            self.present.add(target_of(stmt))
        if info.forward is None:
            grads = call(f"{self.runtime['sd']}.call_backward", name(info.residual), g)
            operands = [rhs.args[i] for i in info.dynamic[0]] + \
                [k.value for k in rhs.keywords if k.arg in info.dynamic[1]]
        else:
            seeds = [g if target_of(stmt) in self.present else
                     call(f"{self.runtime['sd']}.zeros_like", name(target_of(stmt)))]
            # the adjoints of the arrays' new contents; for u = step(u, dt) the name u holds the result, whose
            # adjoint is passed above: the written object is that result, or no name holds it any more
            seeds += [name(self.bar(a)) if a in self.present and a != target_of(stmt) else
                      call(f"{self.runtime['sd']}.zeros_like", name(a)) for a in info.changed]
            grads = gast.Call(func=name(info.backward), args=[name(info.residual)] + seeds, keywords=[])
            operands = [self.facts.calls.argument_of(rhs, param) for param in info.active]
        # (atom, path into the gradients): a parameter's gradient, or one entry of the *args tuple
        pairs = []
        for i, operand in enumerate(operands):
            for atom, extra in (operand if isinstance(operand, list) else [(operand, None)]):
                if isinstance(atom, gast.Name) and act.operand_active(stmt, atom.id):
                    pairs.append((atom, [i] if extra is None else [i, extra]))
        consumed = {target_of(stmt)} | set(info.changed) | set(unpacked)  # their values end here, going backwards
        if not pairs:
            code = [gast.Expr(value=grads)] if info.changed else []  # it restores the arrays it changed
            self.present -= consumed
            self.owned -= consumed
            return code
        # the target's adjoint is read by the call above; contributions to the same name (y = f(y))
        # start a fresh adjoint, for the value y had before the call
        if len(operands) == 1 and len(pairs) == 1 and len(pairs[0][1]) == 1:
            self.present -= consumed
            self.owned -= consumed
            return [self.accumulate(Contribution(pairs[0][0].id, grads))]
        temporary = self.namer.fresh(f"{target_of(stmt)}_grads")
        code: list[gast.stmt] = [assign(temporary, grads)]
        self.present -= consumed
        self.owned -= consumed
        for atom, path in pairs:
            expr: gast.expr = name(temporary)
            for step in (path[1:] if len(operands) == 1 else path):
                expr = gast.Subscript(value=expr, slice=constant(step), ctx=gast.Load())
            code.append(self.accumulate(Contribution(atom.id, expr)))
        return code

    # -- saving overwritten values ---------------------------------------------------------------
    def derivative_reads(self, stmt: gast.Assign, act: Activity, numbers: Mapping[int, frozenset[str]],
                         arrays: ArrayFacts) -> set[str]:
        """The primal names the adjoint code of ``stmt`` reads (asked by the analysis, before ``run``)."""
        self.numbers, self.arrays = numbers, arrays
        return {n for c in self.contributions(stmt, act) for n in reads(c.expr)}

    def run(self, facts: Facts) -> ReverseFunction:
        """The derivative, from what the analysis found."""
        self.facts = facts
        self.numbers, self.arrays, self.complex = facts.numbers, facts.arrays, facts.complex_values
        body = copy.deepcopy(list(facts.body))  # the save plan inserts statements; the facts stay as they are
        act = facts.activity
        differentiated, core, returned = facts.output.differentiated, facts.output.core, facts.output.returned
        params = self.parameter_names()
        final_varied = act.varied_at_end

        # seed the adjoints of the outputs (and of the arguments a backward half receives as changed)
        seed_stmts: list[gast.stmt] = []
        seed_param = None
        if self.mode == "split":
            self.present.update(self.facts.changed_outputs)
        if self.mode in ("vjp", "split"):
            if isinstance(core, gast.Tuple):
                seed_param = self.namer.fresh("out_bar")
                for i, atom in enumerate(differentiated):
                    if isinstance(atom, gast.Name) and atom.id in final_varied:
                        element = gast.Subscript(value=name(seed_param), slice=constant(i), ctx=gast.Load())
                        seed_stmts.append(self.accumulate(Contribution(atom.id, element)))
            elif isinstance(core, gast.Name) and core.id in final_varied:
                if self.mode == "split" and (core.id in params or core.id in self.facts.changed_outputs):
                    seed_param = self.namer.fresh("out_bar")
                    seed_stmts.append(self.accumulate(Contribution(core.id, name(seed_param))))
                else:
                    seed_param = self.bar(core.id)
                    self.present.add(core.id)
            else:
                seed_param = self.namer.fresh("out_bar")
        else:
            atom = differentiated[0]
            if isinstance(atom, gast.Name) and atom.id in final_varied:
                seed_stmts.append(assign(self.bar(atom.id), call(f"{self.runtime['sd']}.scalar_seed", name(atom.id))))
                self.present.add(atom.id)
            else:
                seed_stmts.append(gast.Expr(value=call(f"{self.runtime['sd']}.scalar_seed", copy.deepcopy(atom))))

        self.code: dict[int, list[gast.stmt]] = {}
        self.heads: dict[int, list[gast.stmt]] = {}
        self.tails: dict[int, tuple[list[gast.stmt], list[gast.stmt]]] = {}
        self.generate(body, act)
        passes = Passes(self.parsed, facts, self.runtime, self.namer, self.code, self.heads, self.tails,
                        self.adjoint_names)
        self.plan = passes.plan

        # which primal values the backward pass reads, and so which overwrites must be saved
        appends = {sid(s): (appended(s) or list_change(s)[1:])[0] for s in walk_statements(body)
                   if appended(s) is not None or list_change(s) is not None}
        backward, needed = SavePlanner(passes).run(body, params, appends)

        if self.mode == "split":  # everything the backward half reads is handed over, even if unassigned
            passes.initialize |= needed - params - definitely_assigned(body, passes)
        forward_code = passes.forward(body, set(params))
        self.tape = passes.tape
        uses_tape = any(isinstance(n, gast.Name) and n.id == self.tape for s in backward for n in gast.walk(s))
        forward: list[gast.stmt] = [comment("forward pass")]
        if uses_tape:
            forward.append(assign(self.tape, gast.List(elts=[], ctx=gast.Load())))
        forward.extend(assign(n, constant(None)) for n in sorted(passes.initialize))
        forward.extend(self.shared_argument_check(body, params))
        forward.extend(forward_code)
        backward = [comment("backward pass")] + backward

        if self.mode == "split":
            return self.split_result(forward, seed_stmts, backward, seed_param, returned, needed)

        restored = {n for (_, n) in self.plan.saves}
        result_stmts: list[gast.stmt] = []
        returned_later = self.mode == "value_and_grad" or self.has_aux  # read after the backward pass
        restoring = any((stored(s) is not None or self.facts.is_buffer_write(s)) and sid(s) not in self.plan.unsaved
                        for s in walk_statements(body))
        if returned_later and restoring and reads(returned):
            # the backward pass puts overwritten elements back: keep copies of the arrays returned
            keep = self.namer.fresh("out")
            result_stmts.append(assign(keep, call(f"{self.runtime['sd']}.keep_value", copy.deepcopy(returned))))
            returned = name(keep)
        elif returned_later and (set(reads(returned)) & (restored | {lst for lst in appends.values()})):
            keep = self.namer.fresh("out")
            result_stmts.append(assign(keep, copy.deepcopy(returned)))
            returned = name(keep)
        grads_expr = self.gradients()
        if self.mode == "vjp":
            result = grads_expr
        elif self.mode == "grad":
            if self.has_aux:
                result = gast.Tuple(elts=[grads_expr, copy.deepcopy(returned.elts[1]) if isinstance(
                    returned, gast.Tuple) else gast.Subscript(value=returned, slice=constant(1), ctx=gast.Load())],
                    ctx=gast.Load())
            else:
                result = grads_expr
        else:
            result = gast.Tuple(elts=[copy.deepcopy(returned), grads_expr], ctx=gast.Load())

        body_out = forward + result_stmts + seed_stmts + backward + [gast.Return(value=result)]
        args = self.parameters_without_defaults()
        if seed_param is not None:  # keyword-only: the user's defaults stay with their own parameters
            args.kwonlyargs.append(name(seed_param, gast.Param))
            args.kw_defaults.append(None)
        fname = f"{self.parsed.name}_{self.mode}"
        node = gast.FunctionDef(name=fname, args=args, body=body_out, decorator_list=[], returns=None,
                                type_comment=None, type_params=[])
        unshare(node)
        return ReverseFunction(node, self.mode, self.wrt, self.runtime, seed_param,
                               late_bound=dict(self.facts.calls.late_bound), mutated=self.facts.mutated)

    def shared_argument_check(self, body: list[gast.stmt], params: set[str]) -> list[gast.stmt]:
        """Refuse at run time when an argument that is written into shares memory with another argument."""
        mutated = sorted(self.facts.mutated)
        if not mutated or len(params) < 2:
            return []
        ordered = [p.id for p in self.lowered.args.posonlyargs + self.lowered.args.args + self.lowered.args.kwonlyargs]
        arguments = gast.Dict(keys=[constant(p) for p in ordered], values=[name(p) for p in ordered])
        check = call(f"{self.runtime['sd']}.refuse_shared_arguments", constant(self.parsed.name),
                     constant_tuple(mutated), arguments)
        return [gast.Expr(value=check)]

    def gradients(self) -> gast.expr:
        grads = []
        for param in self.wrt:
            if param in self.present and param in self.complex.anywhere:  # the name holds complex values later
                grads.append(call(f"{self.runtime['np']}.real", name(self.bar(param))))
            elif param in self.present:
                grads.append(name(self.bar(param)))
            else:
                grads.append(call(f"{self.runtime['sd']}.zeros_like", name(param)))
        return grads[0] if len(grads) == 1 else gast.Tuple(elts=grads, ctx=gast.Load())

    def split_result(self, forward, seed_stmts, backward, seed_param, returned, needed) -> ReverseFunction:
        """Two functions: ``f_fwd(args) -> (out, saved)`` and ``f_bwd(saved, out_bar) -> grads``."""
        needed = needed | {p for p in self.wrt if p not in self.present}
        saved = sorted(needed | ({self.tape} if any(isinstance(n, gast.Name) and n.id == self.tape
                                                    for s in backward for n in gast.walk(s)) else set()))
        out_name = self.namer.fresh("out")
        forward_body = forward + [assign(out_name, copy.deepcopy(returned)),
                                  gast.Return(value=gast.Tuple(elts=[name(out_name), gast.Tuple(
                                      elts=[name(n) for n in saved], ctx=gast.Load())], ctx=gast.Load()))]
        fwd = gast.FunctionDef(name=f"{self.parsed.name}_fwd", args=self.parameters_without_defaults(),
                               body=forward_body, decorator_list=[], returns=None, type_comment=None, type_params=[])
        saved_name = self.namer.fresh("saved")
        unpack = gast.Assign(targets=[gast.Tuple(elts=[name(n, gast.Store) for n in saved], ctx=gast.Store())],
                             value=name(saved_name), type_comment=None) if saved else None
        bwd_body = ([unpack] if unpack else []) + seed_stmts + backward + [gast.Return(value=self.gradients())]
        bwd_params = [name(saved_name, gast.Param), name(seed_param, gast.Param)]
        bwd_params += [name(self.bar(n), gast.Param) for n in self.facts.changed_outputs]  # of the changed arguments
        bwd_args = gast.arguments(args=bwd_params, posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                  kwarg=None, defaults=[])
        bwd = gast.FunctionDef(name=f"{self.parsed.name}_bwd", args=bwd_args, body=bwd_body, decorator_list=[],
                               returns=None, type_comment=None, type_params=[])
        unshare(fwd)
        unshare(bwd)
        return ReverseFunction(fwd, self.mode, self.wrt, self.runtime, seed_param, backward_node=bwd,
                               late_bound=dict(self.facts.calls.late_bound), mutated=self.facts.mutated)

    def parameters_without_defaults(self) -> gast.arguments:
        """The user's parameters for a generated function; the defaults are set on it from the user's
        function object when it is compiled (their expressions may name the user's globals)."""
        args = copy.deepcopy(self.lowered.args)
        args.defaults = []
        args.kw_defaults = [None] * len(args.kwonlyargs)
        return args

    def parameter_names(self) -> set[str]:
        a = self.lowered.args
        names = {p.id for p in a.posonlyargs + a.args + a.kwonlyargs}
        for extra in (a.vararg, a.kwarg):
            if extra is not None:
                names.add(extra.id)
        return names

