"""Rule binding, shared by every mode: the rule of the primitive a statement applies, its parameters
bound to the call site's atoms, and its templates filled in with them."""
from __future__ import annotations

import copy
import inspect
import operator
import types
from typing import Any

import gast

from sourcediff.rules import registry

from .errors import MissingRuleError, SourcediffError, UnsupportedSyntaxError
from .naming import constant, name
from .parse import ParsedFunction, is_resolved, runtime_name_of

BINARY_PRIMITIVES = {
    gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul, gast.Div: operator.truediv,
    gast.Pow: operator.pow, gast.MatMult: operator.matmul, gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod, gast.BitAnd: operator.and_, gast.BitOr: operator.or_, gast.BitXor: operator.xor,
    gast.LShift: operator.lshift, gast.RShift: operator.rshift,
}
UNARY_PRIMITIVES = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Invert: operator.invert}
OPERATOR_SYMBOLS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
                    gast.MatMult: "@", gast.FloorDiv: "//", gast.Mod: "%", gast.BitAnd: "&", gast.BitOr: "|",
                    gast.BitXor: "^", gast.LShift: "<<", gast.RShift: ">>"}


class RuleBinder:
    """Finds and binds rules for one function; ``runtime`` maps np, math and sd to the generated code's names."""

    def __init__(self, parsed: ParsedFunction, runtime: dict[str, str]):
        self.parsed = parsed
        self.runtime = runtime

    def find(self, stmt: gast.Assign, complex_names: frozenset[str] = frozenset()
             ) -> tuple[registry.ReverseRule | None, dict[str, gast.expr], str]:
        """The rule of the primitive on the right of ``stmt`` and its argument binding; where an argument is
        in ``complex_names`` (may be complex), the rule for complex arguments (``registry.complex_rule``)."""
        key, rule, args, keywords, what = self.primitive(stmt)
        if rule is None:
            return None, {}, what
        binding = self.bind(rule, args, keywords, stmt.value, what)
        if complex_names and self.reads_complex(binding, complex_names):
            rule = registry.complex_rule(key)
            if rule is None:
                return None, {}, what
            binding = self.bind(rule, args, keywords, stmt.value, what)
        return rule, binding, what

    def missing_rule(self, stmt: gast.Assign, what: str, hint: str) -> MissingRuleError:
        """The refusal of a primitive without a rule, saying what can be differentiated instead."""
        rhs = stmt.value
        func = rhs.func if isinstance(rhs, gast.Call) else None
        callee = self.parsed.resolve(func) if func is not None else None
        if getattr(callee, "__module__", None) == "sourcediff.api":  # vjp, linearize, ...
            return self.parsed.error(
                MissingRuleError, f"sourcediff cannot differentiate a call of sourcediff.{callee.__name__} inside a "
                "differentiated function yet", stmt, "call grad(f), jvp, jacfwd, jacrev or hessian there: those "
                "are differentiated through their generated code")
        return self.parsed.error(MissingRuleError, f"no derivative rule for {what}", stmt, hint)

    @staticmethod
    def reads_complex(binding: dict[str, gast.expr], complex_names: frozenset[str]) -> bool:
        return any(isinstance(n, gast.Name) and n.id in complex_names
                   for atom in binding.values() for n in gast.walk(atom))

    def primitive(self, stmt: gast.Assign) -> tuple[Any, registry.ReverseRule | None, list, list, str]:
        """The registry key of the primitive on the right of ``stmt``, its rule, arguments and description."""
        rhs = stmt.value
        if isinstance(rhs, gast.BinOp):
            primitive = BINARY_PRIMITIVES[type(rhs.op)]
            what = f"the operator {OPERATOR_SYMBOLS.get(type(rhs.op), type(rhs.op).__name__)}"
            return primitive, registry.lookup(primitive), [rhs.left, rhs.right], [], what
        if isinstance(rhs, gast.UnaryOp):
            primitive = UNARY_PRIMITIVES.get(type(rhs.op))
            what = f"the unary operator {type(rhs.op).__name__}"
            return primitive, registry.lookup(primitive) if primitive else None, [rhs.operand], [], what
        if isinstance(rhs, gast.Attribute):
            return (registry.attribute(rhs.attr), registry.ATTRIBUTE_RULES.get(rhs.attr), [rhs.value], [],
                    f"the attribute .{rhs.attr}")
        if isinstance(rhs, gast.Call):
            func = rhs.func
            target = self.parsed.resolve(func)
            if is_runtime_call(rhs, self.runtime["sd"], (func.attr,) if isinstance(func, gast.Attribute) else ()):
                target = registry.runtime(func.attr)
            elif runtime_name_of(target) is not None:  # a runtime helper called by name, inside the runtime
                target = registry.runtime(runtime_name_of(target))
            bound_to_array = type(getattr(target, "__self__", None)).__name__ == "ndarray"
            if is_resolved(target) and not (bound_to_array and isinstance(func, gast.Attribute)):
                rule = registry.lookup(target) or registry.constructor_rule(target)
                if target is types.SimpleNamespace and not rhs.args:
                    rule = registry.namespace_rule(tuple(k.arg for k in rhs.keywords))
                return target, rule, rhs.args, rhs.keywords, dotted(func)
            if isinstance(func, gast.Attribute):  # a method, of a local or a module's array (W.dot(x))
                return (registry.method(func.attr), registry.METHOD_RULES.get(func.attr), [func.value] + rhs.args,
                        rhs.keywords, f"the method .{func.attr}()")
            raise self.parsed.error(UnsupportedSyntaxError, f"cannot tell which function {dotted(func)} is",
                                    rhs, "call functions defined at module level or imported")
        raise AssertionError(f"no rule lookup for {type(rhs).__name__}")

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

    def fill(self, template: gast.expr, binding: dict[str, gast.expr], **names: gast.expr) -> gast.expr:
        """``template`` with its parameters replaced by the bound atoms, ``names`` (``g``, ``ans``, ``t`` ...)
        by the given expressions, and np, math and sd by the generated code's names for them."""
        replacements = dict(binding)
        replacements.update(names)
        for short, alias in self.runtime.items():
            if alias != short:
                replacements[short] = name(alias)
        return substitute(copy.deepcopy(template), replacements)


def substitute(tree: gast.AST, replacements: dict[str, gast.expr]) -> gast.AST:
    class Substitute(gast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, gast.Load) and node.id in replacements:
                return copy.deepcopy(replacements[node.id])
            return node

    if isinstance(tree, gast.Name) and tree.id in replacements:
        return copy.deepcopy(replacements[tree.id])
    return Substitute().visit(tree)


def dotted(expr: gast.expr) -> str:
    if isinstance(expr, gast.Name):
        return expr.id
    if isinstance(expr, gast.Attribute):
        return f"{dotted(expr.value)}.{expr.attr}"
    return type(expr).__name__


def is_runtime_call(expr: gast.expr, runtime: str, names: tuple[str, ...]) -> bool:
    """Whether ``expr`` is ``sd.<one of names>(...)``."""
    return isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute) and expr.func.attr in names \
        and isinstance(expr.func.value, gast.Name) and expr.func.value.id == runtime


RUNTIME_NAMES = ("np", "math", "sd")


def runtime_aliases(namer, parsed: ParsedFunction, objects: dict[str, Any]) -> dict[str, str]:
    """Names the generated code uses for numpy, math and the runtime (``objects``), avoiding the user's names."""
    aliases = {}
    for short in RUNTIME_NAMES:
        candidate = short
        while candidate in namer.taken and parsed.lookup_name(candidate) is not objects.get(short):
            candidate += "_"
        namer.taken.add(candidate)
        aliases[short] = candidate
    return aliases
