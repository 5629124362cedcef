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
from typing import Any

import gast

from sourcediff.rules import registry

from .analyze import (SCALAR_SHAPE, Activity, ArrayFacts, activity, array_facts, describe, differentiable_reads,
                      scalar_names, written_arguments)
from .binding import RuleBinder, dotted, is_runtime_call
from .callsites import CallSites
from .errors import MissingRuleError, NonScalarOutputError, SourcediffError, UnsupportedSyntaxError
from .ir import (all_blocks, appended, blocks, comment, index_value, is_break_check, list_change, load_counts,
                 loop_level, reads, stored, target_of, unshare, walk_statements)
from .naming import RUNTIME, Namer, assign, constant, name
from .parse import ParsedFunction
from .tape import SavePlan, SavePlanner

RUNTIME_NAMES = ("np", "math", "sd")

MODES = ("grad", "value_and_grad", "vjp", "split")


def call(func: str, *args: gast.expr) -> gast.Call:
    parts = func.split(".")
    node: gast.expr = name(parts[0])
    for part in parts[1:]:
        node = gast.Attribute(value=node, attr=part, ctx=gast.Load())
    return gast.Call(func=node, args=list(args), keywords=[])


def method_call(receiver: str, method: str, *args: gast.expr) -> gast.Expr:
    return gast.Expr(value=gast.Call(func=gast.Attribute(value=name(receiver), attr=method, ctx=gast.Load()),
                                     args=list(args), keywords=[]))


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
    analysis: str = ""  # what the analysis found, for sourcediff.stages


class ReverseTransform:
    def __init__(self, parsed: ParsedFunction, lowered: gast.FunctionDef, wrt: tuple[str, ...],
                 mode: str, has_aux: bool = False, scalar_params: frozenset[str] = frozenset(),
                 array_params: frozenset[tuple[str, int, str]] = frozenset(), namespaces: dict[str, Any] = {},
                 explain: bool = False):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.parsed = parsed
        self.lowered = lowered
        self.namespaces = namespaces  # what np, math and sd are bound to in the generated code
        self.explain = explain  # describe what the analysis found (for sourcediff.stages)
        self.analysis = ""
        self.wrt = wrt
        self.mode = mode
        self.has_aux = has_aux
        self.namer = Namer.for_tree(lowered)
        self.runtime = self.runtime_aliases()
        self.binder = RuleBinder(parsed, self.runtime)
        self.adjoint_names: dict[str, str] = {}
        self.present: set[str] = set()
        self.containers: set[str] = set()
        self.scalar_params = set(scalar_params)
        self.array_params = {p: (ndim, twin) for p, ndim, twin in array_params}  # ndim, first param of its shape
        self.sites = CallSites(parsed, self.namer, self.array_params)
        self.facts = ArrayFacts()
        self.scalars: frozenset[str] = frozenset()
        self.scalars_before: dict[int, frozenset[str]] = {}
        self.owned: set[str] = set()  # primal names whose adjoint is a private buffer (safe to update in place)
        self.mutated: tuple[str, ...] = ()
        self.lists: set[str] = set()  # names of lists changed with append, extend, insert or pop
        self.index_checks: dict[int, list[str]] = {}  # subscripts whose index reads differentiated names
        self.changed: dict[int, list[str]] = {}
        self.increments: dict[int, tuple[str, bool]] = {}  # x[i] = x[i] + d: (d, whether it is subtracted)
        self.increment_sources: dict[int, gast.stmt] = {}
        self.unpacked: dict[int, list[str]] = {}  # t = f(...): the names t[0], t[1], ... are unpacked into
        self.unpack_reads: set[int] = set()
        self.plan = SavePlan()  # what the forward pass keeps for the backward pass

    # -- names -----------------------------------------------------------------------------------
    def runtime_aliases(self) -> dict[str, str]:
        """Names the generated code uses for numpy, math and the runtime, avoiding the user's names."""
        objects = self.namespaces
        aliases = {}
        for short in RUNTIME_NAMES:
            candidate = short
            while candidate in self.namer.taken and self.parsed.lookup_name(candidate) is not objects.get(short):
                candidate += "_"
            self.namer.taken.add(candidate)
            aliases[short] = candidate
        return aliases

    def bar(self, primal: str) -> str:
        if primal not in self.adjoint_names:
            self.adjoint_names[primal] = self.namer.fresh(f"{primal}_bar")
        return self.adjoint_names[primal]

    # -- rules -----------------------------------------------------------------------------------
    def instantiate(self, rule: registry.ReverseRule, param: str, binding: dict[str, gast.expr],
                    g: gast.expr, ans: gast.expr) -> gast.expr:
        """The adjoint template of ``param`` with names substituted by this call site's atoms."""
        expr = self.binder.fill(rule.template(param), binding, g=g, ans=ans)
        if rule.unbroadcast and not self.same_shape_as_result(param, binding):
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
        if isinstance(mine, gast.Name):
            key = SCALAR_SHAPE if mine.id in self.scalars else self.facts.shapes.get(mine.id)

        def fits(atom: gast.expr) -> bool:
            if isinstance(atom, gast.Constant):
                return isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool)
            if not isinstance(atom, gast.Name):
                return False
            return atom.id in self.scalars or (key is not None and self.facts.shapes.get(atom.id) == key)

        return all(fits(atom) for other, atom in binding.items()
                   if other != param and not (isinstance(atom, gast.Constant) and atom.value is None))

    def contributions(self, stmt: gast.Assign, act: Activity) -> list[Contribution]:
        """The adjoint contributions ``stmt`` makes to its active operands."""
        target = stmt.targets[0].id
        rhs = stmt.value
        g = name(self.bar(target))
        self.scalars = self.scalars_before.get(id(stmt), frozenset())

        def active(atom: gast.expr) -> bool:
            return isinstance(atom, gast.Name) and act.operand_active(stmt, atom.id)

        if isinstance(rhs, gast.Name):
            return [Contribution(rhs.id, g)] if active(rhs) else []
        if isinstance(rhs, gast.Subscript):
            if not active(rhs.value):
                return []
            index = index_value(rhs.slice)
            adjoint = call(f"{self.runtime['sd']}.index_adjoint", g, name(rhs.value.id), index)
            basic = self.facts.index_ndim(rhs.value.id, rhs.slice, self.scalars) is not None \
                and self.facts.ndims[rhs.value.id] >= 1
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
        rule, binding, what = self.binder.find(stmt)
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

    def find_varied_indices(self, body: list[gast.stmt], act: Activity) -> dict[int, list[str]]:
        """Subscripts whose index reads a differentiated name: per statement, those names.

        The index carries no gradient. That is right for integers and keys (piecewise
        constant), so the forward pass checks that the index holds no floats. An object
        that builds a value from its index, like ``np.r_[x, y]``, is refused here.
        """
        found: dict[int, list[str]] = {}
        for stmt in walk_statements(body):
            if stored(stmt) is not None:
                base, index = name(stored(stmt)[0]), stored(stmt)[1]
            elif isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Subscript):
                base, index = stmt.value.value, stmt.value.slice
            else:
                continue
            varied = [n for n in dict.fromkeys(reads(index)) if n in act.varied_before[id(stmt)]]
            if not varied:
                continue
            if not isinstance(base, gast.Name):
                what = dotted(base)
                instead = {"np.r_": "np.concatenate([...])", "np.c_": "np.column_stack([...])"}.get(
                    what, "a function that has a derivative rule")
                raise self.parsed.error(MissingRuleError, f"no derivative rule for {what}[...], which builds its "
                                        "value from the differentiated values in its index", stmt, f"use {instead}")
            found[id(stmt)] = varied
        return found

    def refuse_complex_constants(self, body: list[gast.stmt], act: Activity) -> None:
        """A complex value (``1j``, or a name holding one) meeting differentiated values: not differentiated yet."""
        def is_complex(stmt: gast.stmt, names: set[str]) -> bool:
            return any(isinstance(n, gast.Constant) and isinstance(n.value, complex) for n in gast.walk(stmt)) or \
                any(n in names for n in reads(stmt))
        holding: set[str] = set()
        while True:
            before = len(holding)
            for stmt in walk_statements(body):
                if isinstance(stmt, gast.Assign) and is_complex(stmt, holding):
                    target = stored(stmt)
                    holding.add(target[0] if target else target_of(stmt) or "")
            if len(holding) == before:
                break
        for stmt in walk_statements(body):
            if act.is_active(stmt) and not isinstance(stmt, (gast.If, gast.For, gast.While)) and \
                    is_complex(stmt, holding):
                raise self.parsed.error(UnsupportedSyntaxError, "sourcediff cannot differentiate complex numbers "
                                        "yet: this complex value meets differentiated values", stmt,
                                        "write the real and imaginary parts as separate real values")

    def missing_rule(self, stmt: gast.Assign, what: str) -> MissingRuleError:
        return self.parsed.error(
            MissingRuleError, f"no derivative rule for {what}", stmt,
            "register one with sourcediff.rules.registry.defrule(function, 'x', x='g * ...'), "
            "or rewrite the call with functions that have rules (see docs/rules.md)")

    def not_differentiable(self, stmt: gast.Assign, what: str, param: str) -> SourcediffError:
        return self.parsed.error(
            MissingRuleError, f"{what} is not differentiable with respect to its argument '{param}'", stmt,
            "make that argument a constant, or register a rule that covers it")

    # -- the passes ------------------------------------------------------------------------------
    def outputs(self, ret: gast.Return) -> tuple[list[gast.expr], gast.expr, gast.expr]:
        """The differentiated atoms, the differentiated output and the whole returned expression."""
        value = ret.value
        core = value
        if self.has_aux:
            if not isinstance(value, gast.Tuple) or len(value.elts) != 2:
                raise self.parsed.error(
                    SourcediffError, "with has_aux=True the function must return a pair (output, auxiliary data)",
                    ret, "return output, aux")
            core = value.elts[0]
        if self.mode in ("vjp", "split"):
            return (list(core.elts) if isinstance(core, gast.Tuple) else [core]), core, value
        if isinstance(core, gast.Tuple):
            raise self.parsed.error(
                NonScalarOutputError, f"grad needs a scalar output, but {self.parsed.name} returns a tuple", ret,
                "return a single scalar, pass has_aux=True to return (output, aux), or use sourcediff.vjp")
        return [core], core, value

    def split_self_updates(self, body: list[gast.stmt], act: Activity) -> list[gast.stmt]:
        """Rewrite ``x = op(x, ...)`` as ``t = op(x, ...); x = t`` where the adjoint reads ``x``."""
        result = []
        for stmt in body:
            for block in blocks(stmt):
                block[:] = self.split_self_updates(block, act)
            target = target_of(stmt)
            if target is not None and act.is_active(stmt) and target in reads(stmt.value) \
                    and id(stmt) not in self.sites.user_calls:
                operands = differentiable_reads(stmt, self.parsed)
                needs_split = operands.count(target) > 1 or any(
                    target in reads(c.expr) for c in self.contributions(stmt, act))
                if needs_split:
                    temporary = self.namer.temporary()
                    result.append(assign(temporary, stmt.value, stmt))
                    result.append(assign(target, name(temporary), stmt))
                    continue
            result.append(stmt)
        return result

    def accumulate(self, contribution: Contribution) -> gast.stmt:
        operand = contribution.operand
        adjoint = self.bar(operand)
        expr = contribution.expr
        if operand in self.lists and not is_runtime_call(expr, self.runtime["sd"], ("index_adjoint", "zeros_like")):
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
                target = gast.Subscript(value=name(adjoint), slice=contribution.index, ctx=gast.Store())
                return gast.AugAssign(target=target, op=gast.Add(), value=expr.args[0])
            return assign(adjoint, call(f"{self.runtime['sd']}.add_at", name(adjoint), *expr.args[2:3], expr.args[0]))
        if contribution.index is not None and is_runtime_call(expr, self.runtime["sd"], ("index_adjoint",)):
            # a private copy, then x_bar[i] += g: no array of zeros the size of x to scatter into and add
            self.owned.add(operand)
            private = call(f"{self.runtime['sd']}.own", name(adjoint))
            return assign(adjoint, call(f"{self.runtime['sd']}.add_at", private, *expr.args[2:3], expr.args[0]))
        if operand in self.containers:
            value = call(f"{self.runtime['sd']}.add", name(adjoint), expr)
        else:
            value = gast.BinOp(left=name(adjoint), op=gast.Add(), right=expr)
        self.owned.add(operand)  # a sum is a new object
        return assign(adjoint, value)

    def zeroed_primals(self, stmt: gast.stmt) -> set[str]:
        """The primal names whose values shape the zero adjoints around a branch or loop."""
        code = self.heads.get(id(stmt), []) + [s for part in self.tails.get(id(stmt), ()) for s in part]
        adjoints = set(self.adjoint_names.values())
        return {node.args[0].id for s in code for node in gast.walk(s)
                if is_runtime_call(node, self.runtime["sd"], ("zeros_like",))
                and isinstance(node.args[0], gast.Name) and node.args[0].id not in adjoints}

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
        if id(stmt) in self.unpack_reads:
            return []  # its adjoint goes straight into the call's output tuple (see user_call_adjoint)
        changed = self.sites.user_calls[id(stmt)].changed if id(stmt) in self.sites.user_calls else ()
        if changed:  # its backward half puts back the arrays it wrote into, whether or not adjoints flow
            return self.user_call_adjoint(stmt, act)
        changed = tuple(changed) + tuple(self.unpacked.get(id(stmt), ()))
        if not act.is_active(stmt) or (target not in self.present and not set(changed) & self.present):
            self.present.discard(target)
            self.owned.discard(target)
            return []
        if id(stmt) in self.sites.user_calls:
            return self.user_call_adjoint(stmt, act)
        contributions = self.contributions(stmt, act)
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
                code.append(self.accumulate(Contribution(value.id, call(f"{sd}.sequence_adjoint", part,
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
        if id(stmt) in self.increments:  # x[i] = x[i] + d: x_bar passes through, d gets its written part
            other, negate = self.increments[id(stmt)]
            if not act.operand_active(self.increment_sources[id(stmt)], other):
                return code
            part = call(f"{self.runtime['sd']}.increment_adjoint", name(self.bar(array)), where, name(array))
            if negate:  # x[i] = x[i] - d
                part.keywords.append(gast.keyword(arg="negate", value=constant(True)))
            scalars = self.scalars_before.get(id(stmt), frozenset())
            key = SCALAR_SHAPE if other in scalars else self.facts.shapes.get(other)
            if key is None or key != self.facts.index_key(array, index, scalars):
                part = call(f"{self.runtime['sd']}.unbroadcast", part, name(other))
            code.append(self.accumulate(Contribution(other, part)))
            return code
        if isinstance(value, gast.Name) and act.operand_active(stmt, value.id):
            scalars = self.scalars_before.get(id(stmt), frozenset())
            key = SCALAR_SHAPE if value.id in scalars else self.facts.shapes.get(value.id)
            fits = key is not None and key == self.facts.index_key(array, index, scalars)  # nothing to unbroadcast
            part = call(f"{self.runtime['sd']}.store_adjoint", name(self.bar(array)), where,
                        constant(None) if fits else name(value.id), name(array))
            code.append(self.accumulate(Contribution(value.id, part)))
        else:
            code.append(gast.Expr(value=call(f"{self.runtime['sd']}.clear_at", name(self.bar(array)), where)))
        return code

    def check_discarded_call(self, stmt: gast.Expr, act: Activity) -> None:
        """A call kept only for its effect may mutate an active argument: refuse unless it is known harmless."""
        call_node = stmt.value
        varied = act.varied_before[id(stmt)]
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
                self.tails[id(stmt)] = (
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
                self.heads[id(stmt)] = [self.zero(n, False) for n in before] + [
                    assign(self.bar(n), call(f"{self.runtime['sd']}.own", name(self.bar(n)))) for n in copies]
                self.tails[id(stmt)] = ([self.zero(n, True) for n in gone], [])
                self.present = entry
                self.owned = owned_entry
            else:
                self.code[id(stmt)] = self.adjoint_block(stmt, act)

    # -- calls to the user's own functions -------------------------------------------------------
    def user_call_adjoint(self, stmt: gast.Assign, act: Activity) -> list[gast.stmt]:
        info = self.sites.user_calls[id(stmt)]
        rhs = stmt.value
        g = name(self.bar(target_of(stmt)))
        unpacked = self.unpacked.get(id(stmt), [])
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
            operands = [self.sites.argument_of(rhs, param) for param in info.active]
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

    def forward_call(self, stmt: gast.Assign) -> gast.stmt:
        """``y, y_saved = f_fwd(args)``: the forward half of a call to a user function."""
        info = self.sites.user_calls[id(stmt)]
        rhs = stmt.value
        if info.forward is None:
            func = call(f"{self.runtime['sd']}.call_forward", copy.deepcopy(rhs.func),
                        _constant_tuple(info.dynamic[0]), _constant_tuple(info.dynamic[1]))
            value = gast.Call(func=func.func, args=func.args + list(rhs.args), keywords=list(rhs.keywords))
        else:
            value = gast.Call(func=name(info.forward), args=list(rhs.args), keywords=list(rhs.keywords))
        targets = gast.Tuple(elts=[name(target_of(stmt), gast.Store), name(info.residual, gast.Store)],
                             ctx=gast.Store())
        return gast.copy_location(gast.Assign(targets=[targets], value=value, type_comment=None), stmt)

    # -- saving overwritten values ---------------------------------------------------------------
    def definitions(self, body: list[gast.stmt]) -> tuple[dict[str, int], set[int]]:
        """How often each name is assigned, and the ids of statements inside a loop."""
        counts: dict[str, int] = {}
        in_loop: set[int] = set()

        def visit(stmts, looped):
            for stmt in stmts:
                if looped:
                    in_loop.add(id(stmt))
                for n in self.targets(stmt):
                    counts[n] = counts.get(n, 0) + 1
                for block in blocks(stmt):
                    visit(block, looped or isinstance(stmt, (gast.For, gast.While)))
        visit(body, False)
        return counts, in_loop

    def targets(self, stmt: gast.stmt) -> list[str]:
        """Names a statement (re)binds in the forward pass."""
        if isinstance(stmt, gast.For):
            return [stmt.target.id]
        target = target_of(stmt)
        if target is None or self.is_buffer_write(stmt):
            return []
        if id(stmt) in self.sites.user_calls:
            return [target, self.sites.user_calls[id(stmt)].residual]
        return [target]

    def reads_array_attribute_of_varied(self, stmt: gast.stmt) -> bool:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Attribute)
                and isinstance(stmt.value.value, gast.Name)):
            return False
        attr = stmt.value.attr
        known = attr in registry.NONDIFFERENTIABLE_ATTRIBUTES or attr in registry.ATTRIBUTE_RULES
        owner = stmt.value.value.id
        return known and owner in self.act.varied_before.get(id(stmt), ()) and owner not in self.facts.arrays

    def is_buffer_write(self, stmt: gast.stmt) -> bool:
        """``y = sd.assign_into(y, t)``: ``y op= v`` written into an array that other names share."""
        return isinstance(stmt, gast.Assign) and is_runtime_call(stmt.value, self.runtime["sd"], ("assign_into",))

    def in_place_updates(self, body: list[gast.stmt]) -> list[gast.stmt]:
        """``y op= v`` becomes ``t = y op v; y = sd.assign_into(y, t)`` (still in place when y is an array)."""
        out = []
        for stmt in body:
            for block in blocks(stmt):
                block[:] = self.in_place_updates(block)
            if isinstance(stmt, gast.AugAssign):
                y = stmt.target.id
                temporary = self.namer.temporary()
                out.append(assign(temporary, gast.BinOp(left=name(y), op=stmt.op, right=stmt.value), stmt))
                out.append(assign(y, call(f"{self.runtime['sd']}.assign_into", name(y), name(temporary)), stmt))
                continue
            out.append(stmt)
        return out

    def has_content(self, stmt: gast.stmt) -> bool:
        """Whether a compound statement needs anything in the backward pass."""
        for sub in walk_statements(blocks(stmt)[0] + (blocks(stmt)[1] if len(blocks(stmt)) > 1 else [])):
            if self.code.get(id(sub)) or any((id(sub), n) in self.plan.saves for n in self.targets(sub)):
                return True
            if id(sub) in self.plan.mutations or stored(sub) is not None or self.is_buffer_write(sub) \
                    or id(sub) in self.sites.inactive_writes:
                return True
            if any(self.tails.get(id(sub), ([], []))) or self.heads.get(id(sub)):
                return True  # a nested loop or branch that zeroes or copies adjoints
            if any(n in self.plan.needed for n in self.plan.iteration_locals.get(id(sub), [])):
                return True
        if any(self.tails.get(id(stmt), ([], []))) or self.heads.get(id(stmt)):
            return True
        if any(n in self.plan.needed for n in self.plan.iteration_locals.get(id(stmt), [])):
            return True
        return any((id(stmt), n) in self.plan.saves for n in self.targets(stmt))

    def pop(self) -> gast.Call:
        return gast.Call(func=gast.Attribute(value=name(self.tape), attr="pop", ctx=gast.Load()), args=[], keywords=[])

    def push(self, value: gast.expr) -> gast.stmt:
        return method_call(self.tape, "append", value)

    def forward(self, stmts: list[gast.stmt], defined: set[str]) -> list[gast.stmt]:
        out: list[gast.stmt] = []
        for stmt in stmts:
            for checked, message, hint in self.sites.immutable_checks.get(id(stmt), ()):
                out.append(gast.Expr(value=call(f"{self.runtime['sd']}.immutable_value", name(checked),
                                                constant(message), constant(hint), constant(self.parsed.filename),
                                                constant(self.parsed.lineno(stmt)))))
            if id(stmt) in self.index_checks:  # an index computed from differentiated values: no floats in it
                names = self.index_checks[id(stmt)]
                out.append(gast.Expr(value=call(f"{self.runtime['sd']}.check_index",
                                                gast.Tuple(elts=[name(n) for n in names], ctx=gast.Load()),
                                                constant(self.parsed.filename),
                                                constant(self.parsed.lineno(stmt)))))
            for n in self.targets(stmt):
                if (id(stmt), n) in self.plan.saves:
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
                    inside = {t for s in walk_statements(stmt.body + stmt.orelse) for t in self.targets(s)}
                    if isinstance(stmt.test, gast.Name) and not test_names & inside:
                        record_after = self.push(name(stmt.test.id))
                    else:
                        body.append(self.push(constant(True)))
                        orelse.append(self.push(constant(False)))
                node = gast.If(test=stmt.test, body=body or [gast.Pass()], orelse=orelse)
                out.append(gast.copy_location(node, stmt))
                if record_after is not None:
                    out.append(record_after)
                defined |= _definitely_assigned(stmt.body, self) & _definitely_assigned(stmt.orelse, self)
            elif isinstance(stmt, (gast.For, gast.While)):
                counter = None
                if self.has_content(stmt) and (isinstance(stmt, gast.While) or _breaks(stmt)):
                    counter = self.namer.fresh("trips")
                    out.append(assign(counter, constant(0)))
                inner = set(defined)
                if isinstance(stmt, gast.For):
                    inner.add(stmt.target.id)
                body = self.forward(stmt.body, inner)
                batch = [n for n in self.plan.iteration_locals.get(id(stmt), []) if n in self.plan.needed]
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
            elif id(stmt) in self.sites.user_calls:
                out.append(self.forward_call(stmt))
            elif id(stmt) in self.sites.inactive_writes:  # step(u, 0.5): keep what the helper overwrites
                out.extend(self.push(call(f"{self.runtime['sd']}.snapshot_contents", name(n)))
                           for n in self.sites.inactive_writes[id(stmt)])
                out.append(stmt)
            elif self.reads_array_attribute_of_varied(stmt):
                # x.shape / x.T mean the array attribute; a dataclass field of that name would be differentiated
                # wrongly, so check at run time that x is not an object with such a field
                rhs = stmt.value
                out.append(gast.Expr(value=call(f"{self.runtime['sd']}.check_array_attribute",
                                                name(rhs.value.id), constant(rhs.attr))))
                out.append(stmt)
            elif id(stmt) in self.plan.unsaved:  # nothing in the backward pass reads what it overwrites
                out.append(stmt)
            elif stored(stmt) is not None:  # save the elements this write overwrites, and only them
                array, index, _ = stored(stmt)
                if array in self.facts.arrays:
                    old = gast.Subscript(value=name(array), slice=copy.deepcopy(index), ctx=gast.Load())
                    out.append(self.push(call(f"{self.runtime['sd']}.snapshot", old)))
                else:  # a dict may not have the key yet
                    out.append(self.push(call(f"{self.runtime['sd']}.snapshot_item", name(array),
                                              index_value(index))))
                out.append(stmt)
            elif self.is_buffer_write(stmt):
                out.append(self.push(call(f"{self.runtime['sd']}.snapshot", name(target_of(stmt)))))
                out.append(stmt)
            else:
                out.append(stmt)
            defined.update(self.targets(stmt))
        return out

    def backward(self, stmts: list[gast.stmt]) -> list[gast.stmt]:
        out: list[gast.stmt] = []
        for stmt in reversed(stmts):
            if isinstance(stmt, gast.If):
                if self.has_content(stmt):
                    to_body, to_else = self.tails[id(stmt)]
                    body = self.backward(stmt.body) + to_body
                    orelse = self.backward(stmt.orelse) + to_else
                    node = gast.If(test=self.pop(), body=body or [gast.Pass()], orelse=orelse)
                    out.append(node)
            elif isinstance(stmt, (gast.For, gast.While)):
                if self.has_content(stmt):
                    out.extend(self.heads[id(stmt)])
                    body = self.backward(stmt.body) + self.tails[id(stmt)][0]
                    batch = [n for n in self.plan.iteration_locals.get(id(stmt), []) if n in self.plan.needed]
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
                out.extend(self.code.get(id(stmt), []))
                for n in reversed(self.sites.inactive_writes.get(id(stmt), ())):
                    out.append(assign(n, call(f"{self.runtime['sd']}.restore", name(n), self.pop())))
                if id(stmt) in self.plan.mutations:
                    out.append(self.undo_list_change(stmt))
                if id(stmt) in self.plan.unsaved:
                    if self.plan.restore_markers is not None:  # where the restore would go
                        marker = gast.Pass()
                        self.plan.restore_markers[id(marker)] = id(stmt)
                        out.append(marker)
                elif stored(stmt) is not None:  # put the overwritten elements back
                    array, index, _ = stored(stmt)
                    if array in self.facts.arrays:
                        target = gast.Subscript(value=name(array), slice=copy.deepcopy(index), ctx=gast.Store())
                        out.append(gast.Assign(targets=[target], value=self.pop(), type_comment=None))
                    else:
                        out.append(gast.Expr(value=call(f"{self.runtime['sd']}.restore_item", name(array),
                                                        index_value(index), self.pop())))
                elif self.is_buffer_write(stmt):
                    y = target_of(stmt)
                    out.append(assign(y, call(f"{self.runtime['sd']}.restore", name(y), self.pop())))
            for n in reversed(self.targets(stmt)):
                if (id(stmt), n) in self.plan.saves:
                    out.append(assign(n, self.pop()))
        return out

    def run(self) -> ReverseFunction:
        for node in gast.walk(self.lowered):  # the lowering's name for the runtime is ours to choose
            if isinstance(node, gast.Name) and node.id == RUNTIME:
                node.id = self.runtime["sd"]
        body = self.in_place_updates(list(self.lowered.body))
        ret = body.pop()
        assert isinstance(ret, gast.Return)
        differentiated, core, returned = self.outputs(ret)
        output_names = {a.id for a in differentiated if isinstance(a, gast.Name)}
        wrt = set(self.wrt)
        params = self.parameter_names()
        changed: dict[int, list[str]] = {}  # per call: the arguments the callee changes in place
        inactive: dict[int, list[str]] = {}  # the same for calls that need no adjoint
        while True:
            self.sites.inactive_writes = inactive
            self.mutated = self.mutated_parameters(body, changed)
            outputs = output_names | (set(self.changed_outputs()) if self.mode == "split" else set())
            act = activity(body, wrt, outputs, self.parsed, changed)
            self.scalars_before = scalar_names(body, self.scalar_params, self.parsed)
            self.facts = self.array_facts(body)
            self.sites.classify(body, act, self.facts, self.scalars_before)
            now = {i: list(c.changed) for i, c in self.sites.user_calls.items() if c.changed}
            if now == changed and self.sites.inactive_writes == inactive:
                break
            changed, inactive = now, self.sites.inactive_writes
        self.changed = changed
        body = self.split_self_updates(body, act)
        act = self.act = activity(body, wrt, outputs, self.parsed, changed)
        self.scalars_before = scalar_names(body, self.scalar_params, self.parsed)
        self.facts = self.array_facts(body)
        final_varied = act.varied_at_end
        self.containers = _container_names(body) - self.facts.arrays
        self.index_checks = self.find_varied_indices(body, act)
        self.refuse_complex_constants(body, act)
        if self.explain:
            self.analysis = describe(body, act, self.facts, self.scalars_before, self.wrt)
        self.lists = {(appended(s) or list_change(s)[1:])[0] for s in walk_statements(body)
                      if appended(s) is not None or list_change(s) is not None}

        # seed the adjoints of the outputs (and of the arguments a backward half receives as changed)
        seed_stmts: list[gast.stmt] = []
        seed_param = None
        if self.mode == "split":
            self.present.update(self.changed_outputs())
        if self.mode in ("vjp", "split"):
            if isinstance(core, gast.Tuple):
                seed_param = self.namer.fresh("out_bar")
                for i, atom in enumerate(differentiated):
                    if isinstance(atom, gast.Name) and atom.id in final_varied:
                        element = gast.Subscript(value=name(seed_param), slice=constant(i), ctx=gast.Load())
                        seed_stmts.append(self.accumulate(Contribution(atom.id, element)))
            elif isinstance(core, gast.Name) and core.id in final_varied:
                if self.mode == "split" and (core.id in params or core.id in self.changed_outputs()):
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
        self.find_increments(body, act)
        self.find_unpacked(body)
        self.generate(body, act)
        self.tape = self.namer.fresh("tape")

        # which primal values the backward pass reads, and so which overwrites must be saved
        appends = {id(s): (appended(s) or list_change(s)[1:])[0] for s in walk_statements(body)
                   if appended(s) is not None or list_change(s) is not None}
        backward, needed = SavePlanner(self).run(body, params, appends)

        self.initialize: set[str] = set()
        if self.mode == "split":  # everything the backward half reads is handed over, even if unassigned
            self.initialize |= needed - params - _definitely_assigned(body, self)
        forward_code = self.forward(body, set(params))
        uses_tape = any(isinstance(n, gast.Name) and n.id == self.tape for s in backward for n in gast.walk(s))
        forward: list[gast.stmt] = [comment("forward pass")]
        if uses_tape:
            forward.append(assign(self.tape, gast.List(elts=[], ctx=gast.Load())))
        forward.extend(assign(n, constant(None)) for n in sorted(self.initialize))
        forward.extend(self.shared_argument_check(body, params))
        forward.extend(forward_code)
        backward = [comment("backward pass")] + backward

        if self.mode == "split":
            return self.split_result(forward, seed_stmts, backward, seed_param, returned, needed)

        restored = {n for (_, n) in self.plan.saves}
        result_stmts: list[gast.stmt] = []
        returned_later = self.mode == "value_and_grad" or self.has_aux  # read after the backward pass
        restoring = any((stored(s) is not None or self.is_buffer_write(s)) and id(s) not in self.plan.unsaved
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
        return ReverseFunction(node, self.mode, self.wrt, self.runtime, seed_param, analysis=self.analysis,
                               late_bound=dict(self.sites.late_bound),
                               mutated=tuple(self.mutated))

    def find_unpacked(self, body: list[gast.stmt]) -> None:
        """``t = f(...); a = t[0]; b = t[1]`` (tuple unpacking of a helper's output), read nowhere else.

        The adjoint of ``t`` is then the tuple ``(a_bar, b_bar)``, built where the call's
        backward half is called, instead of a tuple adjoint filled one element at a time.
        """
        self.unpacked: dict[int, list[str]] = {}
        self.unpack_reads: set[int] = set()
        counts, _ = self.definitions(body)
        loads = load_counts(body)
        for block in all_blocks(body):
            for k, stmt in enumerate(block):
                target = target_of(stmt)
                if id(stmt) not in self.sites.user_calls or counts.get(target) != 1 or not loads.get(target):
                    continue
                elements: list[str] = []
                for later in block[k + 1:k + 1 + loads[target]]:
                    rhs = later.value if target_of(later) else None
                    if not (isinstance(rhs, gast.Subscript) and isinstance(rhs.value, gast.Name)
                            and rhs.value.id == target and isinstance(rhs.slice, gast.Constant)
                            and rhs.slice.value == len(elements)):
                        break
                    element = target_of(later)
                    scalars = self.scalars_before.get(id(later), frozenset())
                    number = f"{target}[{len(elements)}]" in scalars  # the helper returns a number there
                    if element in elements or element == target or not (number or element in self.facts.shapes):
                        break
                    elements.append(element)
                if elements and len(elements) == loads[target]:
                    self.unpacked[id(stmt)] = elements
                    self.unpack_reads |= {id(s) for s in block[k + 1:k + 1 + len(elements)]}

    def array_facts(self, body: list[gast.stmt]) -> ArrayFacts:
        arguments = self.lowered.args
        positional = [p.id for p in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
        return array_facts(body, positional, {p: k for p, k in self.array_params.items() if p in positional},
                           self.parsed, self.scalars_before, self.runtime["sd"])

    def find_increments(self, body: list[gast.stmt], act: Activity) -> None:
        """Find ``a = x[i]; ...; v = a + d; x[i] = v`` (or ``a - d``) with x an array: an increment of x[i] by d.

        Its adjoint leaves x_bar as it is and gives d the written part of x_bar,
        instead of cutting that part out and adding it back for the read of ``a``.
        """
        self.increments: dict[int, tuple[str, bool]] = {}
        self.increment_sources: dict[int, gast.stmt] = {}
        counts, _ = self.definitions(body)
        loads = load_counts(body)
        for block in all_blocks(body):
            where = {target_of(s): k for k, s in enumerate(block) if target_of(s)}
            for k, store in enumerate(block):
                if stored(store) is None or not act.is_active(store):
                    continue
                array, index, value = stored(store)
                if array not in self.facts.arrays or not isinstance(value, gast.Name):
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
                    if all(isinstance(s, gast.Assign) and target_of(s) and id(s) not in self.sites.user_calls
                           and list_change(s) is None and not self.is_buffer_write(s)
                           and target_of(s) not in fixed for s in between):
                        self.increments[id(store)] = (other.id, negate)
                        self.increment_sources[id(store)] = combine
                        break

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
        return True

    def mutated_parameters(self, body: list[gast.stmt], changed: dict[int, list[str]]) -> tuple[str, ...]:
        """The parameters whose objects this function writes into (directly, by another name, or in a callee)."""
        ordered = self.ordered_parameters()

        def writes(stmt: gast.stmt) -> list[str]:
            if stored(stmt) is not None:
                return [stored(stmt)[0]]
            if self.is_buffer_write(stmt):
                return [target_of(stmt)]
            return list(changed.get(id(stmt), ())) + list(self.sites.inactive_writes.get(id(stmt), ()))
        written = written_arguments(body, ordered, self.parsed, writes)
        return tuple(p for p in ordered if p in written)

    def changed_outputs(self) -> list[str]:
        """Per parameter written into, the name that holds its object at the end (a split's extra outputs)."""
        holders = getattr(self.lowered, "argument_holders", {})
        return [holders.get(p, p) for p in self.mutated]

    def ordered_parameters(self) -> list[str]:
        a = self.lowered.args
        return [p.id for p in a.posonlyargs + a.args + a.kwonlyargs] + \
            [extra.id for extra in (a.vararg, a.kwarg) if extra is not None]

    def shared_argument_check(self, body: list[gast.stmt], params: set[str]) -> list[gast.stmt]:
        """Refuse at run time when an argument that is written into shares memory with another argument."""
        mutated = sorted(self.mutated)
        if not mutated or len(params) < 2:
            return []
        ordered = [p.id for p in self.lowered.args.posonlyargs + self.lowered.args.args + self.lowered.args.kwonlyargs]
        arguments = gast.Dict(keys=[constant(p) for p in ordered], values=[name(p) for p in ordered])
        check = call(f"{self.runtime['sd']}.refuse_shared_arguments", constant(self.parsed.name),
                     _constant_tuple(mutated), arguments)
        return [gast.Expr(value=check)]

    def gradients(self) -> gast.expr:
        grads = []
        for param in self.wrt:
            if param in self.present:
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
        bwd_params += [name(self.bar(n), gast.Param) for n in self.changed_outputs()]  # of the changed arguments
        bwd_args = gast.arguments(args=bwd_params, posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                  kwarg=None, defaults=[])
        bwd = gast.FunctionDef(name=f"{self.parsed.name}_bwd", args=bwd_args, body=bwd_body, decorator_list=[],
                               returns=None, type_comment=None, type_params=[])
        return ReverseFunction(fwd, self.mode, self.wrt, self.runtime, seed_param, backward_node=bwd,
                               analysis=self.analysis,
                               late_bound=dict(self.sites.late_bound), mutated=tuple(self.mutated))

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


def _constant_tuple(values) -> gast.Tuple:
    return gast.Tuple(elts=[constant(v) for v in values], ctx=gast.Load())


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


def _definitely_assigned(stmts: list[gast.stmt], transform: "ReverseTransform") -> set[str]:
    names: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, gast.If):
            names |= _definitely_assigned(stmt.body, transform) & _definitely_assigned(stmt.orelse, transform)
        elif not isinstance(stmt, (gast.For, gast.While)):
            names.update(transform.targets(stmt))
    return names


def _container_names(body: list[gast.stmt]) -> set[str]:
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


def reverse(parsed: ParsedFunction, lowered: gast.FunctionDef, wrt: tuple[str, ...], mode: str,
            has_aux: bool = False, scalar_params: frozenset[str] = frozenset(),
            array_params: frozenset[tuple[str, int, str]] = frozenset(),
            namespaces: dict[str, Any] = {}, explain: bool = False) -> ReverseFunction:
    """Build the reverse-mode derivative of ``lowered`` with respect to the parameters ``wrt``.

    ``scalar_params`` names parameters known to be Python numbers in this
    specialization; ``array_params`` holds (parameter, ndim, first parameter of
    the same shape) for the NumPy arrays. ``namespaces`` holds what the generated code's
    ``np``, ``math`` and ``sd`` are bound to (a user's name bound to the same object is kept). With
    ``explain``, the result's ``analysis`` describes what the analysis found.
    """
    result = ReverseTransform(parsed, lowered, wrt, mode, has_aux, scalar_params, array_params, namespaces,
                              explain).run()
    unshare(result.node)
    if result.backward_node is not None:
        unshare(result.backward_node)
    return result
