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
import inspect
from dataclasses import dataclass, field
from typing import Any

import gast

from sourcediff.rules import registry

from .analyze import Activity, activity, differentiable_reads, reads, scalar_names, target_of
from .errors import MissingRuleError, NonScalarOutputError, SourcediffError, UnsupportedSyntaxError
from .naming import Namer, assign, constant, name
from .parse import ParsedFunction, is_resolved

import operator

BINARY_PRIMITIVES = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul, gast.Div: operator.truediv,
    gast.Pow: operator.pow, gast.MatMult: operator.matmul, gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod,
}
UNARY_PRIMITIVES = {gast.USub: operator.neg, gast.UAdd: operator.pos}
RUNTIME_NAMES = ("np", "math", "sd")
COMMENT = "#sourcediff: "

MODES = ("grad", "value_and_grad", "vjp")


def comment(text: str) -> gast.Expr:
    """A statement that emit turns into a ``# text`` comment line."""
    return gast.Expr(value=constant(COMMENT + text))


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


@dataclass
class ReverseFunction:
    """The generated derivative and what the API needs to call it."""

    node: gast.FunctionDef
    mode: str
    wrt: tuple[str, ...]
    runtime_names: dict[str, str]
    seed: str | None = None


class ReverseTransform:
    def __init__(self, parsed: ParsedFunction, lowered: gast.FunctionDef, wrt: tuple[str, ...],
                 mode: str, has_aux: bool = False, scalar_params: frozenset[str] = frozenset()):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.parsed = parsed
        self.lowered = lowered
        self.wrt = wrt
        self.mode = mode
        self.has_aux = has_aux
        self.namer = Namer.for_tree(lowered)
        self.runtime = self.runtime_aliases()
        self.adjoint_names: dict[str, str] = {}
        self.present: set[str] = set()
        self.containers: set[str] = set()
        self.scalar_params = set(scalar_params)
        self.scalars: frozenset[str] = frozenset()
        self.scalars_before: dict[int, frozenset[str]] = {}

    # -- names -----------------------------------------------------------------------------------
    def runtime_aliases(self) -> dict[str, str]:
        """Names the generated code uses for numpy, math and the runtime, avoiding the user's names."""
        import math

        import numpy

        from sourcediff.backends import numpy_backend

        objects = {"np": numpy, "math": math, "sd": numpy_backend}
        aliases = {}
        for short in RUNTIME_NAMES:
            candidate = short
            while candidate in self.namer.taken and self.parsed.lookup_name(candidate) is not objects[short]:
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
        template = copy.deepcopy(rule.template(param))
        replacements = dict(binding)
        replacements["g"] = g
        replacements["ans"] = ans
        for short, alias in self.runtime.items():
            if alias != short:
                replacements[short] = name(alias)
        expr = _substitute(template, replacements)
        if rule.unbroadcast and not self.same_shape_as_result(param, binding):
            expr = gast.Call(func=gast.Attribute(value=name(self.runtime["sd"]), attr="unbroadcast", ctx=gast.Load()),
                             args=[expr, copy.deepcopy(binding[param])], keywords=[])
        return expr

    def same_shape_as_result(self, param: str, binding: dict[str, gast.expr]) -> bool:
        """Whether broadcasting leaves ``param``'s shape unchanged: every other operand is a scalar."""
        def scalar(atom: gast.expr) -> bool:
            if isinstance(atom, gast.Constant):
                return isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool)
            return isinstance(atom, gast.Name) and atom.id in self.scalars

        return all(scalar(atom) for other, atom in binding.items()
                   if other != param and not (isinstance(atom, gast.Constant) and atom.value is None))

    def bind(self, rule: registry.ReverseRule, args: list[gast.expr], keywords: list[gast.keyword],
             node: gast.AST, what: str) -> dict[str, gast.expr]:
        keys = [f"_{i}" for i in range(len(args))]
        by_key = dict(zip(keys, args))
        try:
            bound = rule.signature.bind(*keys, **{k.arg: f"={k.arg}" for k in keywords})
        except TypeError as exc:
            raise self.parsed.error(SourcediffError, f"the call to {what} does not match its rule's signature "
                                    f"({rule.signature}): {exc}", node) from None
        for k in keywords:
            by_key[f"={k.arg}"] = k.value
        binding: dict[str, gast.expr] = {}
        for pname, param in rule.signature.parameters.items():
            if pname in bound.arguments:
                value = bound.arguments[pname]
                if param.kind is inspect.Parameter.VAR_POSITIONAL:
                    binding[pname] = gast.Tuple(elts=[copy.deepcopy(by_key[v]) for v in value], ctx=gast.Load())
                elif param.kind is inspect.Parameter.VAR_KEYWORD:
                    continue
                else:
                    binding[pname] = copy.deepcopy(by_key[value])
            elif param.default is not inspect.Parameter.empty:
                binding[pname] = constant(param.default)
            elif param.kind is inspect.Parameter.VAR_POSITIONAL:
                binding[pname] = gast.Tuple(elts=[], ctx=gast.Load())
        return binding

    def find_rule(self, stmt: gast.Assign) -> tuple[registry.ReverseRule | None, dict[str, gast.expr], str]:
        """The rule of the primitive on the right of ``stmt`` and its argument binding."""
        rhs = stmt.value
        if isinstance(rhs, gast.BinOp):
            primitive = BINARY_PRIMITIVES[type(rhs.op)]
            what = f"the operator {_OPERATOR_SYMBOLS.get(type(rhs.op), type(rhs.op).__name__)}"
            rule = registry.lookup(primitive)
            return rule, self.bind(rule, [rhs.left, rhs.right], [], rhs, what) if rule else {}, what
        if isinstance(rhs, gast.UnaryOp):
            primitive = UNARY_PRIMITIVES.get(type(rhs.op))
            what = f"the unary operator {type(rhs.op).__name__}"
            rule = registry.lookup(primitive) if primitive else None
            return rule, self.bind(rule, [rhs.operand], [], rhs, what) if rule else {}, what
        if isinstance(rhs, gast.Attribute):
            what = f"the attribute .{rhs.attr}"
            rule = registry.ATTRIBUTE_RULES.get(rhs.attr)
            return rule, {"x": rhs.value} if rule else {}, what
        if isinstance(rhs, gast.Call):
            func = rhs.func
            target = self.parsed.resolve(func)
            if is_resolved(target):
                what = _dotted(func)
                rule = registry.lookup(target)
                return rule, self.bind(rule, rhs.args, rhs.keywords, rhs, what) if rule else {}, what
            if isinstance(func, gast.Attribute):
                what = f"the method .{func.attr}()"
                rule = registry.METHOD_RULES.get(func.attr)
                return rule, self.bind(rule, [func.value] + rhs.args, rhs.keywords, rhs, what) if rule else {}, what
            raise self.parsed.error(UnsupportedSyntaxError, f"cannot tell which function {_dotted(func)} is",
                                    rhs, "call functions defined at module level or imported")
        raise AssertionError(f"no rule lookup for {type(rhs).__name__}")

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
            index = _index_value(rhs.slice)
            return [Contribution(rhs.value.id, call(f"{self.runtime['sd']}.index_adjoint", g, name(rhs.value.id), index))]
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
        rule, binding, what = self.find_rule(stmt)
        if rule is None:
            raise self.missing_rule(stmt, what)
        result = []
        for pname, atom in binding.items():
            if isinstance(atom, gast.Tuple):  # *operands: the template gives one adjoint per operand
                members = [(i, e) for i, e in enumerate(atom.elts) if active(e)]
                if not members:
                    continue
                if pname not in rule.adjoints:
                    raise self.not_differentiable(stmt, what, pname)
                whole = self.instantiate(rule, pname, binding, g, name(target))
                for i, e in members:
                    result.append(Contribution(e.id, gast.Subscript(value=copy.deepcopy(whole), slice=constant(i),
                                                                    ctx=gast.Load())))
                continue
            if not active(atom):
                continue
            if pname not in rule.adjoints:
                raise self.not_differentiable(stmt, what, pname)
            result.append(Contribution(atom.id, self.instantiate(rule, pname, binding, g, name(target))))
        return result

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
        if self.mode == "vjp":
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
            target = target_of(stmt)
            if target is not None and act.is_active(stmt) and target in reads(stmt.value):
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
        if operand not in self.present:
            self.present.add(operand)
            return assign(adjoint, contribution.expr)
        if operand in self.containers:
            value = call(f"{self.runtime['sd']}.add", name(adjoint), contribution.expr)
        else:
            value = gast.BinOp(left=name(adjoint), op=gast.Add(), right=contribution.expr)
        return assign(adjoint, value)

    def adjoint_block(self, stmt: gast.stmt, act: Activity) -> list[gast.stmt]:
        target = target_of(stmt)
        if target is None:
            return []
        if not act.is_active(stmt) or target not in self.present:
            self.present.discard(target)
            return []
        contributions = self.contributions(stmt, act)
        # contributions to the statement's own target go last: they overwrite the adjoint they read
        contributions.sort(key=lambda c: c.operand == target)
        self.present.discard(target)
        return [self.accumulate(c) for c in contributions]

    def run(self) -> ReverseFunction:
        body = list(self.lowered.body)
        ret = body.pop()
        assert isinstance(ret, gast.Return)
        differentiated, core, returned = self.outputs(ret)
        output_names = {a.id for a in differentiated if isinstance(a, gast.Name)}
        wrt = set(self.wrt)
        act = activity(body, wrt, output_names, self.parsed)
        self.scalars_before = scalar_names(body, self.scalar_params, self.parsed)
        body = self.split_self_updates(body, act)
        act = activity(body, wrt, output_names, self.parsed)
        self.scalars_before = scalar_names(body, self.scalar_params, self.parsed)
        final_varied = _varied_after(body, act, wrt, self.parsed)
        self.containers = _container_names(body)

        # seed the adjoints of the outputs
        params = self.parameter_names()
        seed_stmts: list[gast.stmt] = []
        seed_param = None
        if self.mode == "vjp":
            if isinstance(core, gast.Tuple):
                seed_param = self.namer.fresh("out_bar")
                for i, atom in enumerate(differentiated):
                    if isinstance(atom, gast.Name) and atom.id in final_varied:
                        element = gast.Subscript(value=name(seed_param), slice=constant(i), ctx=gast.Load())
                        seed_stmts.append(self.accumulate(Contribution(atom.id, element)))
            elif isinstance(core, gast.Name):
                seed_param = self.bar(core.id)
                if core.id in final_varied:
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

        blocks = [self.adjoint_block(stmt, act) for stmt in reversed(body)]
        blocks.reverse()
        saved = _overwritten_and_needed(body, blocks, params, self.adjoint_names)

        tape = self.namer.fresh("tape") if saved else None
        forward: list[gast.stmt] = [comment("forward pass")]
        if tape:
            forward.append(assign(tape, gast.List(elts=[], ctx=gast.Load())))
        for i, stmt in enumerate(body):
            if i in saved:
                forward.append(method_call(tape, "append", name(target_of(stmt))))
            forward.append(stmt)
        backward: list[gast.stmt] = [comment("backward pass")]
        for i in reversed(range(len(body))):
            backward.extend(blocks[i])
            if i in saved:
                target = target_of(body[i])
                backward.append(assign(target, gast.Call(
                    func=gast.Attribute(value=name(tape), attr="pop", ctx=gast.Load()), args=[], keywords=[])))

        restored = {target_of(body[i]) for i in saved}
        result_stmts: list[gast.stmt] = []
        if self.mode != "vjp" and (set(reads(returned)) & restored):
            keep = self.namer.fresh("out")
            result_stmts.append(assign(keep, copy.deepcopy(returned)))
            returned = name(keep)
        grads = []
        for param in self.wrt:
            if param in self.present:
                grads.append(name(self.bar(param)))
            else:
                grads.append(call(f"{self.runtime['sd']}.zeros_like", name(param)))
        grads_expr = grads[0] if len(grads) == 1 else gast.Tuple(elts=grads, ctx=gast.Load())
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
        args = copy.deepcopy(self.lowered.args)
        if seed_param is not None:
            args.args.append(name(seed_param, gast.Param))
        suffix = {"grad": "grad", "value_and_grad": "value_and_grad", "vjp": "vjp"}[self.mode]
        fname = f"{self.parsed.name}_{suffix}"
        node = gast.FunctionDef(name=fname, args=args, body=body_out, decorator_list=[], returns=None,
                                type_comment=None, type_params=[])
        return ReverseFunction(node, self.mode, self.wrt, self.runtime, seed_param)

    def parameter_names(self) -> set[str]:
        a = self.lowered.args
        return {p.id for p in a.posonlyargs + a.args + a.kwonlyargs}


def _varied_after(body: list[gast.stmt], act: Activity, wrt: set[str], parsed: ParsedFunction) -> set[str]:
    varied = set(wrt)
    for stmt in body:
        target = target_of(stmt)
        if target is None:
            continue
        if any(n in varied for n in differentiable_reads(stmt, parsed)):
            varied.add(target)
        else:
            varied.discard(target)
    return varied


def _container_names(body: list[gast.stmt]) -> set[str]:
    """Names whose adjoint may be a tuple, list or dict: they accumulate with ``sd.add``."""
    names = set()
    for stmt in body:
        if not isinstance(stmt, gast.Assign):
            continue
        rhs = stmt.value
        if isinstance(rhs, (gast.Tuple, gast.List, gast.Dict)):
            names.add(stmt.targets[0].id)
        if isinstance(rhs, (gast.Subscript, gast.Attribute)) and isinstance(rhs.value, gast.Name):
            names.add(rhs.value.id)
    return names


def _overwritten_and_needed(body: list[gast.stmt], blocks: list[list[gast.stmt]], params: set[str],
                            adjoint_names: dict[str, str]) -> set[int]:
    """Indices of statements whose target's old value the backward pass still reads."""
    adjoints = set(adjoint_names.values())
    block_reads = [{n for s in block for n in reads(s) if n not in adjoints} for block in blocks]
    last_definition: dict[str, int] = {p: -1 for p in params}
    saved = set()
    for i, stmt in enumerate(body):
        target = target_of(stmt)
        if target is None:
            continue
        if target in last_definition:
            start = last_definition[target]
            if any(target in block_reads[j] for j in range(max(start, 0), i)):
                saved.add(i)
        last_definition[target] = i
    return saved


def _substitute(tree: gast.AST, replacements: dict[str, gast.expr]) -> gast.AST:
    class Substitute(gast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, gast.Load) and node.id in replacements:
                return copy.deepcopy(replacements[node.id])
            return node

    if isinstance(tree, gast.Name) and tree.id in replacements:
        return copy.deepcopy(replacements[tree.id])
    return Substitute().visit(tree)


def _index_value(index: gast.expr) -> gast.expr:
    """The value of a subscript's index as an expression: ``1:-1`` becomes ``slice(1, -1, None)``."""
    if isinstance(index, gast.Slice):
        parts = [constant(None) if p is None else copy.deepcopy(p) for p in (index.lower, index.upper, index.step)]
        return gast.Call(func=name("slice"), args=parts, keywords=[])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[_index_value(e) for e in index.elts], ctx=gast.Load())
    return copy.deepcopy(index)


def _dotted(expr: gast.expr) -> str:
    if isinstance(expr, gast.Name):
        return expr.id
    if isinstance(expr, gast.Attribute):
        return f"{_dotted(expr.value)}.{expr.attr}"
    return type(expr).__name__


_OPERATOR_SYMBOLS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
                     gast.MatMult: "@", gast.FloorDiv: "//", gast.Mod: "%"}


def reverse(parsed: ParsedFunction, lowered: gast.FunctionDef, wrt: tuple[str, ...], mode: str,
            has_aux: bool = False, scalar_params: frozenset[str] = frozenset()) -> ReverseFunction:
    """Build the reverse-mode derivative of ``lowered`` with respect to the parameters ``wrt``.

    ``scalar_params`` names parameters known to be Python numbers for this specialization.
    """
    return ReverseTransform(parsed, lowered, wrt, mode, has_aux, scalar_params).run()
