"""Lower stage: rewrite a function into the small core language the transformer reads.

The core language is A-normal form. Every statement is one of

* ``name = rhs`` where ``rhs`` is an atom, one operator on atoms, a call whose
  arguments are atoms, ``atom.attr``, ``atom[index]`` or a tuple/list literal
  of atoms;
* ``return atom`` or ``return (atom, ...)``, once, at the end;
* a bare call ``f(atoms)`` kept for its side effect, or ``assert atom``.

An atom is a name or a constant. Augmented assignment becomes rebinding, tuple
unpacking becomes one assignment per element, and nested expressions get
temporaries ``t1, t2, ...``. Anything else is refused with a clear error.
"""
from __future__ import annotations

import copy

import gast

from .errors import UnsupportedSyntaxError
from .naming import Namer, assign, constant, name
from .parse import ParsedFunction, is_resolved

BINARY_OPERATORS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow, gast.MatMult,
                    gast.FloorDiv, gast.Mod)
VIEW_METHODS = {"reshape", "transpose", "ravel", "view", "squeeze", "swapaxes"}

_LATER = {
    gast.If: ("an if statement", "control flow arrives in a later release; compute both branches with np.where"),
    gast.For: ("a for loop", "control flow arrives in a later release"),
    gast.While: ("a while loop", "control flow arrives in a later release"),
    gast.Break: ("break", "control flow arrives in a later release"),
    gast.Continue: ("continue", "control flow arrives in a later release"),
    gast.Try: ("a try statement", "move the try/except outside the function being differentiated"),
    gast.With: ("a with statement", "move the with block outside the function being differentiated"),
    gast.AsyncWith: ("an async with statement", "differentiate a synchronous function"),
    gast.AsyncFor: ("an async for loop", "differentiate a synchronous function"),
    gast.Raise: ("a raise statement", "validate inputs before calling the derivative"),
    gast.Global: ("a global declaration", "pass the value in as an argument and return the new value"),
    gast.Nonlocal: ("a nonlocal declaration", "pass the value in as an argument and return the new value"),
    gast.ClassDef: ("a class definition inside the function", "define the class at module level"),
    gast.FunctionDef: ("a nested function definition", "define the helper at module level"),
    gast.AsyncFunctionDef: ("an async function definition", "differentiate a synchronous function"),
    gast.Import: ("an import inside the function", "import at module level"),
    gast.ImportFrom: ("an import inside the function", "import at module level"),
    gast.Delete: ("a del statement", "let the variable go out of scope instead"),
}
_EXPR_LATER = {
    gast.IfExp: ("a conditional expression (a if c else b)", "use np.where(c, a, b)"),
    gast.BoolOp: ("and/or", "use np.logical_and / np.logical_or on the non-differentiable condition"),
    gast.Lambda: ("a lambda inside the function", "define the helper at module level"),
    gast.ListComp: ("a list comprehension", "use array operations"),
    gast.SetComp: ("a set comprehension", "use array operations"),
    gast.DictComp: ("a dict comprehension", "build the dict with a literal"),
    gast.GeneratorExp: ("a generator expression", "use array operations"),
    gast.Await: ("await", "differentiate a synchronous function"),
    gast.Yield: ("yield", "return the values instead of yielding them"),
    gast.YieldFrom: ("yield from", "return the values instead of yielding them"),
    gast.NamedExpr: ("an assignment expression (:=)", "assign on a separate line"),
    gast.JoinedStr: ("an f-string", "format strings outside the function being differentiated"),
    gast.Set: ("a set literal", "use a tuple or a list"),
    gast.Starred: ("a starred expression (*args)", "pass the arguments one by one"),
}


class Lowering:
    def __init__(self, parsed: ParsedFunction):
        self.parsed = parsed
        self.namer = Namer.for_tree(parsed.node)
        self.body: list[gast.stmt] = []
        self.aliases: set[str] = set()

    # -- errors --------------------------------------------------------------------------------
    def refuse(self, node: gast.AST, what: str, hint: str) -> UnsupportedSyntaxError:
        return self.parsed.error(UnsupportedSyntaxError, f"sourcediff cannot differentiate {what} yet", node, hint)

    # -- expressions -----------------------------------------------------------------------------
    def atom(self, expr: gast.expr) -> gast.expr:
        """Lower ``expr`` and return an atom (a name or a constant) holding its value."""
        if isinstance(expr, gast.Constant):
            return expr
        if isinstance(expr, gast.Name):
            return name(expr.id)
        if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub) and isinstance(expr.operand, gast.Constant) \
                and isinstance(expr.operand.value, (int, float)):
            return constant(-expr.operand.value)
        rhs = self.rhs(expr)
        if isinstance(rhs, gast.Attribute) and is_resolved(self.parsed.resolve(rhs)):
            return rhs  # a constant of a module, like np.pi
        target = self.namer.temporary()
        self.emit(assign(target, rhs, expr))
        return name(target)

    def rhs(self, expr: gast.expr) -> gast.expr:
        """Lower ``expr`` to a right-hand side of the core language."""
        kind = type(expr)
        if kind in _EXPR_LATER:
            raise self.refuse(expr, *_EXPR_LATER[kind])
        if isinstance(expr, (gast.Constant, gast.Name)):
            return self.atom(expr)
        if isinstance(expr, gast.BinOp):
            if not isinstance(expr.op, BINARY_OPERATORS):
                raise self.refuse(expr, f"the operator {type(expr.op).__name__}", "use the numpy function instead")
            return self.copy(gast.BinOp(left=self.atom(expr.left), op=expr.op, right=self.atom(expr.right)), expr)
        if isinstance(expr, gast.UnaryOp):
            if isinstance(expr.op, gast.USub) and isinstance(expr.operand, gast.Constant):
                return self.atom(expr)
            return self.copy(gast.UnaryOp(op=expr.op, operand=self.atom(expr.operand)), expr)
        if isinstance(expr, gast.Compare):
            if len(expr.ops) != 1:
                raise self.refuse(expr, "a chained comparison", "split it into two comparisons")
            return self.copy(gast.Compare(left=self.atom(expr.left), ops=expr.ops,
                                          comparators=[self.atom(expr.comparators[0])]), expr)
        if isinstance(expr, gast.Call):
            return self.call(expr)
        if isinstance(expr, gast.Attribute):
            if is_resolved(self.parsed.resolve(expr)):
                return expr
            return self.copy(gast.Attribute(value=self.atom(expr.value), attr=expr.attr, ctx=gast.Load()), expr)
        if isinstance(expr, gast.Subscript):
            return self.copy(gast.Subscript(value=self.atom(expr.value), slice=self.index(expr.slice),
                                            ctx=gast.Load()), expr)
        if isinstance(expr, (gast.Tuple, gast.List)):
            return self.copy(type(expr)(elts=[self.atom(e) for e in expr.elts], ctx=gast.Load()), expr)
        if isinstance(expr, gast.Dict):
            if any(k is None for k in expr.keys):
                raise self.refuse(expr, "dict unpacking (**)", "write the keys out")
            return self.copy(gast.Dict(keys=[self.atom(k) for k in expr.keys],
                                       values=[self.atom(v) for v in expr.values]), expr)
        raise self.refuse(expr, f"the expression {type(expr).__name__}", "rewrite it with plain operators and calls")

    def index(self, index: gast.expr) -> gast.expr:
        if isinstance(index, gast.Slice):
            parts = [None if p is None else self.atom(p) for p in (index.lower, index.upper, index.step)]
            return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        if isinstance(index, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in index.elts], ctx=gast.Load())
        return self.atom(index)

    def call(self, expr: gast.Call) -> gast.Call:
        func = expr.func
        if isinstance(func, gast.Attribute) and not is_resolved(self.parsed.resolve(func)):
            func = gast.Attribute(value=self.atom(func.value), attr=func.attr, ctx=gast.Load())
        elif not isinstance(func, (gast.Name, gast.Attribute)):
            func = self.atom(func)
        for arg in expr.args:
            if isinstance(arg, gast.Starred):
                raise self.refuse(arg, *_EXPR_LATER[gast.Starred])
        for kw in expr.keywords:
            if kw.arg is None:
                raise self.refuse(expr, "keyword unpacking (**kwargs) in a call", "pass the keywords one by one")
        args = [self.atom(a) for a in expr.args]
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in expr.keywords]
        return self.copy(gast.Call(func=func, args=args, keywords=keywords), expr)

    @staticmethod
    def copy(new: gast.AST, old: gast.AST) -> gast.AST:
        return gast.copy_location(new, old)

    # -- statements ------------------------------------------------------------------------------
    def emit(self, stmt: gast.stmt) -> None:
        self.body.append(stmt)

    def statement(self, stmt: gast.stmt, is_last: bool) -> None:
        kind = type(stmt)
        if kind in _LATER:
            raise self.refuse(stmt, *_LATER[kind])
        if isinstance(stmt, gast.Pass):
            return
        if isinstance(stmt, gast.Expr):
            if isinstance(stmt.value, gast.Constant):
                return  # docstring or a bare constant
            if not isinstance(stmt.value, gast.Call):
                raise self.refuse(stmt, "an expression statement that is not a call", "assign it or delete it")
            self.emit(gast.copy_location(gast.Expr(value=self.call(stmt.value)), stmt))
            return
        if isinstance(stmt, gast.Assert):
            self.emit(gast.copy_location(gast.Assert(test=self.atom(stmt.test), msg=None), stmt))
            return
        if isinstance(stmt, gast.Return):
            if not is_last:
                raise self.refuse(stmt, "a return before the end of the function", "return once, at the end")
            value = stmt.value
            if value is None:
                result = constant(None)
            elif isinstance(value, gast.Tuple):
                result = gast.Tuple(elts=[self.atom(e) for e in value.elts], ctx=gast.Load())
            else:
                result = self.atom(value)
            self.emit(gast.copy_location(gast.Return(value=result), stmt))
            return
        if isinstance(stmt, gast.AnnAssign):
            if stmt.value is None:
                return
            stmt = gast.copy_location(gast.Assign(targets=[stmt.target], value=stmt.value, type_comment=None), stmt)
        if isinstance(stmt, gast.AugAssign):
            self.augmented(stmt)
            return
        if isinstance(stmt, gast.Assign):
            self.assignment(stmt)
            return
        raise self.refuse(stmt, f"the statement {kind.__name__}", "rewrite it with assignments and calls")

    def augmented(self, stmt: gast.AugAssign) -> None:
        target = stmt.target
        if not isinstance(target, gast.Name):
            raise self.refuse(stmt, "an in-place update of an element or slice (x[i] += ...)",
                              "in-place updates arrive in a later release; build a new array "
                              "(for example with np.concatenate or np.where)")
        if target.id in self.aliases:
            raise self.refuse(stmt, f"an in-place update of {target.id}, which may share memory with another array",
                              f"write {target.id} = {target.id} {_symbol(stmt.op)} ... to make a new array")
        if not isinstance(stmt.op, BINARY_OPERATORS):
            raise self.refuse(stmt, f"the operator {type(stmt.op).__name__}=", "use the numpy function instead")
        value = self.copy(gast.BinOp(left=name(target.id), op=stmt.op, right=stmt.value), stmt)
        self.bind(target, value, stmt)

    def assignment(self, stmt: gast.Assign) -> None:
        targets = stmt.targets
        first = targets[0]
        self.bind(first, stmt.value, stmt)
        for other in targets[1:]:
            source = first if isinstance(first, gast.Name) else None
            if source is None:
                raise self.refuse(stmt, "a chained assignment to several unpacking targets", "assign them one by one")
            self.bind(other, name(first.id), stmt)

    def bind(self, target: gast.expr, value: gast.expr, stmt: gast.stmt) -> None:
        """Lower ``target = value``."""
        if isinstance(target, gast.Name):
            rhs = self.rhs(value)
            if isinstance(rhs, gast.Name) and rhs.id == target.id:
                return
            self.note_alias(target.id, rhs)
            self.emit(assign(target.id, rhs, stmt))
            return
        if isinstance(target, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in target.elts):
                raise self.refuse(stmt, "starred unpacking (a, *rest = ...)", "index the elements explicitly")
            if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts):
                stored = {n.id for t in target.elts for n in gast.walk(t) if isinstance(n, gast.Name)}
                read = {n.id for e in value.elts for n in gast.walk(e) if isinstance(n, gast.Name)}
                if not stored & read:  # no element reads a name bound here: bind one by one
                    for sub, element in zip(target.elts, value.elts):
                        self.bind(sub, element, stmt)
                    return
                parts = [self.atom(e) for e in value.elts]  # all evaluated before any is bound
                rebound = {n.id for t in target.elts for n in gast.walk(t) if isinstance(n, gast.Name)}
                for k, part in enumerate(parts):
                    if isinstance(part, gast.Name) and part.id in rebound:  # a, b = b, a
                        temporary = self.namer.temporary()
                        self.emit(assign(temporary, part, stmt))
                        parts[k] = name(temporary)
                for sub, part in zip(target.elts, parts):
                    self.bind(sub, part, stmt)
                return
            whole = self.atom(value)
            for i, sub in enumerate(target.elts):
                element = gast.Subscript(value=copy.copy(whole), slice=constant(i), ctx=gast.Load())
                self.bind(sub, gast.copy_location(element, stmt), stmt)
            return
        if isinstance(target, gast.Subscript):
            raise self.refuse(stmt, "assignment to an element or slice (x[i] = ...)",
                              "in-place updates arrive in a later release; build a new array instead")
        if isinstance(target, gast.Attribute):
            raise self.refuse(stmt, "assignment to an attribute (obj.attr = ...)",
                              "return the new value instead of storing it on an object")
        raise self.refuse(stmt, f"assignment to {type(target).__name__}", "assign to a plain name")

    def note_alias(self, target: str, rhs: gast.expr) -> None:
        """Remember names that may share memory with another array (for augmented assignment)."""
        may_alias = isinstance(rhs, (gast.Name, gast.Subscript)) or (
            isinstance(rhs, gast.Attribute) and rhs.attr in {"T", "real", "flat"}) or (
            isinstance(rhs, gast.Call) and isinstance(rhs.func, gast.Attribute) and rhs.func.attr in VIEW_METHODS
            and not is_resolved(self.parsed.resolve(rhs.func)))
        if may_alias:
            self.aliases.add(target)
        else:
            self.aliases.discard(target)

    def run(self) -> gast.FunctionDef:
        node = self.parsed.node
        if isinstance(node, gast.AsyncFunctionDef):
            raise self.refuse(node, *_LATER[gast.AsyncFunctionDef])
        for sub in gast.walk(node):
            if isinstance(sub, (gast.Yield, gast.YieldFrom)):
                raise self.refuse(sub, *_EXPR_LATER[type(sub)])
        statements = node.body
        for i, stmt in enumerate(statements):
            self.statement(stmt, is_last=(i == len(statements) - 1))
        if not self.body or not isinstance(self.body[-1], gast.Return):
            self.emit(gast.Return(value=constant(None)))
        lowered = gast.FunctionDef(name=node.name, args=node.args, body=self.body, decorator_list=[],
                                   returns=None, type_comment=None, type_params=[])
        return gast.copy_location(lowered, node)


def _symbol(op: gast.operator) -> str:
    return {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
            gast.MatMult: "@"}.get(type(op), "op")


def lower(parsed: ParsedFunction) -> gast.FunctionDef:
    """Lower ``parsed`` to A-normal form; returns a new ``FunctionDef``."""
    return Lowering(parsed).run()
