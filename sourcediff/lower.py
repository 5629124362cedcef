"""Lower stage: rewrite a function into the small core language the transformer reads.

The core language is A-normal form. Every statement is one of

* ``name = rhs`` where ``rhs`` is an atom, one operator on atoms, a call whose
  arguments are atoms, ``atom.attr``, ``atom[index]`` or a tuple/list literal
  of atoms;
* ``return atom`` or ``return (atom, ...)``, once, at the end;
* a bare call ``f(atoms)`` kept for its side effect, or ``assert atom``;
* ``if atom: ... else: ...``;
* ``for name in atom: ...`` where the atom holds a ``range``; a loop over a
  list, tuple, array, ``enumerate``, ``zip`` or ``reversed`` becomes a loop over
  indices that reads the elements by subscript;
* ``while name: ...`` whose condition is recomputed at the end of the body;
* ``if flag: break``, only as the last statement of a loop body.

An atom is a name or a constant. Augmented assignment becomes rebinding, tuple
unpacking becomes one assignment per element, and nested expressions get
temporaries ``t1, t2, ...``. ``and``/``or`` and ``a if c else b`` become
``if`` statements, so short-circuiting is kept. ``break``, ``continue`` and
early ``return`` become flags that guard the rest of the block
(``if not skip: ...``), so every block is entered at the top and left at the
bottom, which is what the reverse transform needs. Anything else is refused
with a clear error.
"""
from __future__ import annotations

import copy
import threading
import types
import weakref
from dataclasses import dataclass

import gast

from .errors import SourcediffError, UnsupportedSyntaxError
from .ir import index_value, loop_level, number_statements, walk_local
from .naming import Namer, assign, constant, name
from .parse import ParsedFunction, is_resolved, is_user_function

BINARY_OPERATORS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow, gast.MatMult,
                    gast.FloorDiv, gast.Mod)
VIEW_METHODS = {"reshape", "transpose", "ravel", "view", "squeeze", "swapaxes"}

_LATER = {
    gast.Try: ("a try statement", "move the try/except outside the function being differentiated"),
    gast.With: ("a with statement", "move the with block outside the function being differentiated"),
    gast.AsyncWith: ("an async with statement", "differentiate a synchronous function"),
    gast.AsyncFor: ("an async for loop", "differentiate a synchronous function"),
    gast.Raise: ("a raise statement", "validate inputs before calling the derivative"),
    gast.Global: ("a global declaration", "pass the value in as an argument and return the new value"),
    gast.Nonlocal: ("a nonlocal declaration", "pass the value in as an argument and return the new value"),
    gast.ClassDef: ("a class definition inside the function", "define the class at module level"),
    gast.AsyncFunctionDef: ("an async function definition", "differentiate a synchronous function"),
    gast.Import: ("an import inside the function", "import at module level"),
    gast.ImportFrom: ("an import inside the function", "import at module level"),
    gast.Delete: ("a del statement", "let the variable go out of scope instead"),
}
_EXPR_LATER = {
    gast.Lambda: ("a lambda used as a value", "assign it to a name and call it (f = lambda v: ...; f(x)), "
                  "or define the function at module level and pass what it needs as arguments"),
    gast.SetComp: ("a set comprehension", "use array operations"),
    gast.DictComp: ("a dict comprehension", "build the dict with a literal"),
    gast.Await: ("await", "differentiate a synchronous function"),
    gast.Yield: ("yield", "return the values instead of yielding them"),
    gast.YieldFrom: ("yield from", "return the values instead of yielding them"),
    gast.NamedExpr: ("an assignment expression (:=)", "assign on a separate line"),
    gast.JoinedStr: ("an f-string", "format strings outside the function being differentiated"),
    gast.Set: ("a set literal", "use a tuple or a list"),
    gast.Starred: ("a starred expression (*args)", "pass the arguments one by one"),
}


class Lowering:
    """Lowers one function body; ``numbers`` and ``arrays`` name the parameters known to hold Python
    numbers (immutable) and ndarrays. With ``hold_arguments``, a parameter the body rebinds is first
    copied to a name of its own, so that its object is still known by a name at the end."""

    def __init__(self, parsed: ParsedFunction, numbers: frozenset[str] = frozenset(),
                 arrays: frozenset[str] = frozenset(), hold_arguments: bool = False):
        self.parsed = parsed
        self.numbers, self.arrays, self.hold_arguments = numbers, arrays, hold_arguments
        self.namer = Namer.for_tree(parsed.node)
        self.body: list[gast.stmt] = []
        self.memory = Memory()  # which names share an array, which are views, which views went stale
        self.results: list[str] = []          # where the return value goes when there are several returns
        self.returned: str | None = None      # the flag set by an early return
        self.early_returns: set[int] = set()  # ids of returns that jump past later statements
        self.local_functions: dict[str, gast.FunctionDef | gast.Lambda] = {}  # nested defs and lambdas
        a = parsed.node.args
        self.parameters = {p.id for p in a.posonlyargs + a.args + a.kwonlyargs}
        self.memory.arguments = self.parameters - numbers  # the caller's objects, until rebound
        self.memory.bound = {p.id for p in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if p}
        self.memory.arrays = set(arrays)
        self.maybe_unbound: set[str] = set()  # names an alias check reads where they may not be bound yet
        self.holders: dict[str, str] = {}  # parameter -> the name that keeps its object
        self.inlining: set[int] = set()
        self.current: gast.stmt = parsed.node  # the statement being lowered, for messages

    # -- errors --------------------------------------------------------------------------------
    def refuse(self, node: gast.AST, what: str, hint: str) -> UnsupportedSyntaxError:
        return self.parsed.error(UnsupportedSyntaxError, f"sourcediff cannot differentiate {what} yet", node, hint)

    # -- expressions -----------------------------------------------------------------------------
    def atom(self, expr: gast.expr) -> gast.expr:
        """Lower ``expr`` and return an atom (a name or a constant) holding its value."""
        if isinstance(expr, gast.Constant):
            return expr
        if isinstance(expr, gast.Name):
            temporary = _TEMPORARY_NAME.match(expr.id) and expr.id not in self.parsed.local_names
            elements = expr.id in self.memory.elements or (expr.id in self.memory.held
                                                          and expr.id not in self.memory.held_directly)
            if expr.id in self.memory.stale and (elements or (temporary and expr.id not in self.memory.held_directly)):
                # an element read before its array changed: fine if it was a copy (x[i] gives a number),
                # refused at run time if it was a view (x[1:3], or a row x[i] of a matrix)
                checked = self.namer.temporary()
                what = f"reading {self.describe_view(expr.id)}," if not temporary else "reading a slice of an array"
                message = constant(f"{what} after that array was changed in place")
                where = [constant(self.parsed.filename), constant(self.parsed.lineno(self.current))]
                # a container may hold the written array itself (an element of a tuple a helper gave back)
                written = sorted(n for n in self.memory.stale_by.get(expr.id, ()) if n in self.memory.bound)
                changed = [gast.keyword(arg="changed", value=gast.Tuple(elts=[name(n) for n in written],
                                                                        ctx=gast.Load()))] if written else []
                check = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="not_a_view", ctx=gast.Load()),
                                  args=[name(expr.id), message] + where, keywords=changed)
                self.emit(assign(checked, check, expr))
                return name(checked)
            if expr.id in self.memory.stale and expr.id in self.memory.view_sources:
                # u[1:] shows u's changes: read it again from u (a copy, as of a list, is kept as it is)
                base, index = self.memory.view_sources[expr.id]
                fresh = self.namer.temporary()
                again = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="view_again", ctx=gast.Load()),
                                  args=[name(expr.id), name(base), index_value(index)], keywords=[])
                self.emit(assign(fresh, again, expr))
                return name(fresh)
            if expr.id in self.memory.stale:
                hint = "put a copy in it (.append(x.copy())), or read the array itself after the update" \
                    if expr.id in self.memory.held else \
                    f"take a copy when you make it ({expr.id} = ....copy()), or index the array again after the update"
                raise self.refuse(expr, f"reading {self.describe_view(expr.id)}, after that array was changed in "
                                  "place", hint)
            if expr.id in self.local_functions:
                raise self.refuse(expr, f"the nested function {expr.id} used as a value",
                                  "call it directly, or define it at module level and pass what it needs "
                                  "as arguments")
            return name(expr.id)
        if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub) and isinstance(expr.operand, gast.Constant) \
                and isinstance(expr.operand.value, (int, float)):
            return constant(-expr.operand.value)
        rhs = self.rhs(expr)
        if isinstance(rhs, gast.Name):
            return rhs  # the temporary of a conditional expression, and/or or a comprehension
        if isinstance(rhs, gast.Attribute) and is_resolved(self.parsed.resolve(rhs)):
            return rhs  # a constant of a module, like np.pi
        target = self.namer.temporary()
        self.note_alias(target, rhs)
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
        if isinstance(expr, gast.IfExp):
            return self.conditional(expr)
        if isinstance(expr, gast.BoolOp):
            return self.boolean(expr)
        if isinstance(expr, (gast.ListComp, gast.GeneratorExp)):
            return self.comprehension(expr)
        if isinstance(expr, gast.Attribute):
            if is_resolved(self.parsed.resolve(expr)):
                return expr
            return self.copy(gast.Attribute(value=self.atom(expr.value), attr=expr.attr, ctx=gast.Load()), expr)
        if isinstance(expr, gast.Subscript):
            builder = _INDEX_BUILDERS.get(id(self.parsed.resolve(expr.value)))
            items = expr.slice.elts if isinstance(expr.slice, gast.Tuple) else [expr.slice]
            if builder is not None and not any(isinstance(n, gast.Slice) or (
                    isinstance(n, gast.Constant) and isinstance(n.value, str)) for n in items):
                # np.r_[a, 0.0, b] / np.c_[a, b] of values (no slices, no directives): a call of the runtime
                func = gast.Attribute(value=name(RUNTIME), attr=builder, ctx=gast.Load())
                return self.copy(gast.Call(func=func, args=[self.atom(e) for e in items], keywords=[]), expr)
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

    def conditional(self, expr: gast.IfExp) -> gast.Name:
        """``a if c else b`` as an if statement that assigns a fresh temporary."""
        result = self.namer.temporary()
        test = self.atom(expr.test)
        before = self.memory.copy()
        body = self.nested(lambda: self.bind_value(result, expr.body, expr))
        after_body, self.memory = self.memory, before
        orelse = self.nested(lambda: self.bind_value(result, expr.orelse, expr))
        self.memory.merge(after_body)
        self.emit(self.copy(gast.If(test=test, body=body, orelse=orelse), expr))
        return name(result)

    def bind_value(self, target: str, expr: gast.expr, like: gast.AST) -> None:
        """``target = expr`` for a temporary, remembering whether it may share an array."""
        rhs = self.rhs(expr)
        self.note_alias(target, rhs)
        self.emit(assign(target, rhs, like))

    def boolean(self, expr: gast.BoolOp) -> gast.Name:
        """``a and b`` / ``a or b`` with short-circuiting: later operands run only when needed."""
        result = self.namer.temporary()
        self.bind_value(result, expr.values[0], expr)
        for operand in expr.values[1:]:
            test = name(result) if isinstance(expr.op, gast.And) else gast.UnaryOp(op=gast.Not(), operand=name(result))
            before = self.memory.copy()
            body = self.nested(lambda: self.bind_value(result, operand, expr))
            self.memory.merge(before)
            self.emit(self.copy(gast.If(test=test, body=body, orelse=[]), expr))
        return name(result)

    def comprehension(self, expr: gast.ListComp | gast.GeneratorExp) -> gast.Name:
        """``[e for v in xs if c]`` as a loop that appends to a fresh list."""
        result = self.namer.fresh("items")
        self.emit(assign(result, gast.List(elts=[], ctx=gast.Load()), expr))
        renames: dict[str, str] = {}
        for generator in expr.generators:
            if generator.is_async:
                raise self.refuse(expr, "an async comprehension", "use a for loop")
            for n in gast.walk(generator.target):
                if isinstance(n, gast.Name) and n.id not in renames:
                    renames[n.id] = self.namer.fresh(n.id)
        renamed = _Rename(renames)
        element = renamed.visit(copy.deepcopy(expr.elt))
        append = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=name(result), attr="append", ctx=gast.Load()), args=[element], keywords=[]))
        inner: list[gast.stmt] = [self.copy(append, expr)]
        for generator in reversed(expr.generators):
            for condition in reversed(generator.ifs):
                inner = [self.copy(gast.If(test=renamed.visit(copy.deepcopy(condition)), body=inner, orelse=[]), expr)]
            loop = gast.For(target=renamed.visit(copy.deepcopy(generator.target)), iter=generator.iter if
                            generator is expr.generators[0] else renamed.visit(copy.deepcopy(generator.iter)),
                            body=inner, orelse=[], type_comment=None)
            inner = [self.copy(loop, expr)]
        self.statement(inner[0], loop=None)
        return name(result)

    def nested(self, emit_all) -> list[gast.stmt]:
        """The statements that ``emit_all()`` emits, collected into a separate block."""
        outer, self.body = self.body, []
        try:
            emit_all()
            return self.body
        finally:
            self.body = outer

    def index(self, index: gast.expr) -> gast.expr:
        if isinstance(index, gast.Slice):
            parts = [None if p is None else self.atom(p) for p in (index.lower, index.upper, index.step)]
            return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
        if isinstance(index, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in index.elts], ctx=gast.Load())
        return self.atom(index)

    def call(self, expr: gast.Call) -> gast.expr:
        func = expr.func
        if isinstance(func, gast.Name) and func.id in self.local_functions:
            return self.inline(expr, self.local_functions[func.id])
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
            library = is_resolved(self.parsed.resolve(expr.func)) and not is_user_function(
                self.parsed.resolve(expr.func))
            if kw.arg == "out" and library and not (isinstance(kw.value, gast.Constant) and kw.value.value is None):
                raise self.refuse(expr, "a call that writes its result into an existing array (out=...)",
                                  "assign the result instead: y = f(...), or y[...] = f(...)")
        args = [self.atom(a) for a in expr.args]
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in expr.keywords]
        return self.copy(gast.Call(func=func, args=args, keywords=keywords), expr)

    @staticmethod
    def copy(new: gast.AST, old: gast.AST) -> gast.AST:
        return gast.copy_location(new, old)

    # -- statements ------------------------------------------------------------------------------
    def emit(self, stmt: gast.stmt) -> None:
        self.body.append(stmt)

    def block(self, stmts: list[gast.stmt], loop: "LoopFlags | None") -> None:
        """Lower a block; after a statement that may jump, the rest runs under ``if not flag:``."""
        for i, stmt in enumerate(stmts):
            self.statement(stmt, loop)
            rest = stmts[i + 1:]
            if not rest:
                return
            flag = self.jump_flag(stmt, loop)
            if flag is not None:
                guarded = self.nested(lambda: self.block(rest, loop))
                if guarded:
                    test = gast.UnaryOp(op=gast.Not(), operand=name(flag))
                    self.emit(self.copy(gast.If(test=test, body=guarded, orelse=[]), rest[0]))
                return

    def jump_flag(self, stmt: gast.stmt, loop: "LoopFlags | None") -> str | None:
        """The flag that tells whether ``stmt`` jumped past the rest of its block, or None."""
        if loop is not None:
            if _jumps(stmt) or any(id(r) in self.early_returns for r in _returns(stmt, True)):
                return loop.guard
            if any(id(r) in self.early_returns for r in _returns(stmt, False)):
                return loop.guard  # a return inside a nested loop (the loop statement set our flags)
            return None
        if any(id(r) in self.early_returns for r in _returns(stmt, False)):
            return self.returned
        return None

    def statement(self, stmt: gast.stmt, loop: "LoopFlags | None" = None) -> None:
        self.current = stmt
        kind = type(stmt)
        if kind in _LATER:
            raise self.refuse(stmt, *_LATER[kind])
        if isinstance(stmt, gast.Pass):
            return
        if isinstance(stmt, gast.FunctionDef):
            self.define_local(stmt.name, stmt, stmt)
            return
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
                and isinstance(stmt.value, gast.Lambda):
            self.define_local(stmt.targets[0].id, stmt.value, stmt)
            return
        if isinstance(stmt, gast.Expr):
            if isinstance(stmt.value, gast.Constant):
                return  # docstring or a bare constant
            if not isinstance(stmt.value, gast.Call):
                raise self.refuse(stmt, "an expression statement that is not a call", "assign it or delete it")
            func = stmt.value.func
            callee = self.parsed.resolve(func)
            if _is_ufunc_at(callee) and len(stmt.value.args) == 3 and not stmt.value.keywords:
                self.accumulate_at(stmt, callee)
                return
            popped = isinstance(func, gast.Attribute) and func.attr == "pop" and isinstance(func.value, gast.Name)
            lowered = self.call(stmt.value)
            if isinstance(func, gast.Attribute) and func.attr in ("append", "insert", "extend") \
                    and isinstance(func.value, gast.Name):
                self.note_contained(lowered.args[-1:], func.value.id)
            if popped or is_user_function(callee) or (isinstance(func, gast.Name) and not is_resolved(callee)):
                # step(u, dt): a call of the user's kept for its effect; its result gets a name like any call
                self.emit(assign(self.namer.temporary(), lowered, stmt))
            else:
                self.emit(gast.copy_location(gast.Expr(value=lowered), stmt))
            return
        if isinstance(stmt, gast.Assert):
            self.emit(gast.copy_location(gast.Assert(test=self.atom(stmt.test), msg=None), stmt))
            return
        if isinstance(stmt, gast.Return):
            self.return_statement(stmt, loop)
            return
        if isinstance(stmt, (gast.Break, gast.Continue)):
            if loop is None:
                raise self.refuse(stmt, f"{kind.__name__.lower()} outside a loop", "remove it")
            if isinstance(stmt, gast.Break):
                self.emit(assign(loop.stop, constant(True), stmt))
            if loop.guard != loop.stop:
                self.emit(assign(loop.guard, constant(True), stmt))
            return
        if isinstance(stmt, gast.If):
            self.if_statement(stmt, loop)
            return
        if isinstance(stmt, (gast.For, gast.While)):
            if stmt.orelse:
                raise self.refuse(stmt, "a loop with an else clause", "set a flag before break and test it after the loop")
            written = _written_names(stmt.body)
            for view, (base, _) in self.memory.view_sources.items():  # changed by a later iteration: read again
                if self.memory.members(base) & written:
                    self.memory.stale.add(view)
            before = self.memory.copy()
            flags = self.loop_flags(stmt)
            if isinstance(stmt, gast.For):
                self.for_loop(stmt, flags)
            else:
                self.while_loop(stmt, flags)
            self.check_stale_views_in_loop(stmt, before)
            self.memory.merge(before)
            if loop is not None and any(id(r) in self.early_returns for r in _returns(stmt, False)):
                # a return inside this loop leaves the enclosing loop too
                propagate = [assign(loop.stop, constant(True), stmt)]
                if loop.guard != loop.stop:
                    propagate.append(assign(loop.guard, constant(True), stmt))
                self.emit(self.copy(gast.If(test=name(self.returned), body=propagate, orelse=[]), stmt))
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

    def return_statement(self, stmt: gast.Return, loop: "LoopFlags | None") -> None:
        value = stmt.value if stmt.value is not None else constant(None)
        if not self.results:  # the one return, at the end of the function
            if isinstance(value, gast.Tuple):
                result = gast.Tuple(elts=[self.atom(e) for e in value.elts], ctx=gast.Load())
            else:
                result = self.atom(value)
            self.emit(gast.copy_location(gast.Return(value=result), stmt))
            return
        if len(self.results) > 1:
            for target, element in zip(self.results, value.elts):
                self.bind_value(target, element, stmt)
        else:
            self.bind_value(self.results[0], value, stmt)
        if id(stmt) in self.early_returns:
            self.emit(assign(self.returned, constant(True), stmt))
            if loop is not None:
                self.emit(assign(loop.stop, constant(True), stmt))
                if loop.guard != loop.stop:
                    self.emit(assign(loop.guard, constant(True), stmt))

    def if_statement(self, stmt: gast.If, loop: "LoopFlags | None") -> None:
        test = self.atom(stmt.test)
        before = self.memory.copy()
        body = self.nested(lambda: self.block(stmt.body, loop))
        after_body, self.memory = self.memory, before.copy()
        orelse = self.nested(lambda: self.block(stmt.orelse, loop))
        self.memory.merge(after_body)
        if isinstance(test, gast.Constant):  # if True: / if 0: ...
            self.body.extend(body if test.value else orelse)
            return
        if body or orelse:
            self.emit(self.copy(gast.If(test=test, body=body or [gast.Pass()], orelse=orelse), stmt))

    def loop_flags(self, stmt: gast.For | gast.While) -> "LoopFlags":
        """Flags for the jumps out of this loop's body; emits their initial values."""
        breaks = any(isinstance(n, gast.Break) for n in loop_level(stmt.body))
        continues = any(isinstance(n, gast.Continue) for n in loop_level(stmt.body))
        returns = any(id(r) in self.early_returns for r in _returns(stmt, False))
        stop = self.namer.fresh("stop") if breaks or returns else None
        guard = self.namer.fresh("skip") if continues else stop
        if stop is not None:
            self.emit(assign(stop, constant(False), stmt))
        return LoopFlags(stop=stop, guard=guard, continues=continues)

    def loop_body(self, stmts: list[gast.stmt], flags: "LoopFlags", prefix: list[gast.stmt],
                  suffix=lambda: None) -> list[gast.stmt]:
        def emit_all():
            self.body.extend(prefix)
            if flags.continues:
                self.emit(assign(flags.guard, constant(False)))
            self.block(stmts, flags)
            if flags.stop is not None:
                self.emit(gast.If(test=name(flags.stop), body=[gast.Break()], orelse=[]))
            suffix()
        return self.nested(emit_all)

    def for_loop(self, stmt: gast.For, flags: "LoopFlags") -> None:
        iterable = stmt.iter
        assigned = {n.id for n in gast.walk(gast.Module(body=stmt.body, type_ignores=[]))
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        if self.is_call_to(iterable, range) and not iterable.keywords:
            sequence = self.atom(iterable)
            target = stmt.target
            if isinstance(target, gast.Name) and target.id not in assigned:
                variable, prefix = target.id, []
            else:  # the body rebinds the loop variable: iterate over a fresh name
                variable = self.namer.fresh("i")
                prefix = self.nested(lambda: self.bind(target, name(variable), stmt))
        else:
            length, element = self.view(iterable, _written_names(stmt.body))
            sequence = self.atom(gast.Call(func=name("range"), args=[length], keywords=[]))
            variable = self.namer.fresh("k")
            prefix = self.nested(lambda: self.bind(stmt.target, element(name(variable)), stmt))
        body = self.loop_body(stmt.body, flags, prefix) or [gast.Pass()]
        loop = gast.For(target=name(variable, gast.Store), iter=sequence, body=body, orelse=[], type_comment=None)
        self.emit(self.copy(loop, stmt))

    def while_loop(self, stmt: gast.While, flags: "LoopFlags") -> None:
        condition = self.namer.fresh("more")
        self.emit(assign(condition, self.rhs(stmt.test), stmt))
        body = self.loop_body(stmt.body, flags, [],
                              suffix=lambda: self.emit(assign(condition, self.rhs(stmt.test), stmt)))
        self.emit(self.copy(gast.While(test=name(condition), body=body, orelse=[]), stmt))

    def is_call_to(self, expr: gast.expr, function) -> bool:
        return isinstance(expr, gast.Call) and self.parsed.resolve(expr.func) is function \
            and not any(isinstance(a, gast.Starred) for a in expr.args)

    def view(self, iterable: gast.expr, written: set[str]):
        """``(length atom, element(k) -> expression)`` of what a for loop iterates over.

        ``written`` holds the names the loop body binds or writes into.
        """
        if self.is_call_to(iterable, enumerate):
            start = iterable.args[1] if len(iterable.args) > 1 else next(
                (k.value for k in iterable.keywords if k.arg == "start"), None)
            length, element = self.view(iterable.args[0], written)
            start_atom = None if start is None else self.atom(start)

            def enumerated(k):
                index = k if start_atom is None else gast.BinOp(left=k, op=gast.Add(), right=start_atom)
                return gast.Tuple(elts=[index, element(k)], ctx=gast.Load())
            return length, enumerated
        if self.is_call_to(iterable, zip) and not iterable.keywords:
            views = [self.view(a, written) for a in iterable.args]
            if len(views) == 1:
                length = views[0][0]
            else:
                length = self.atom(gast.Call(func=name("min"), args=[v[0] for v in views], keywords=[]))
            return length, lambda k: gast.Tuple(elts=[v[1](k) for v in views], ctx=gast.Load())
        if self.is_call_to(iterable, reversed):
            length, element = self.view(iterable.args[0], written)
            last = self.atom(gast.BinOp(left=length, op=gast.Sub(), right=constant(1)))
            return length, lambda k: element(gast.BinOp(left=last, op=gast.Sub(), right=k))
        if isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Attribute) \
                and iterable.func.attr in ("items", "values", "keys") and not iterable.args \
                and not is_resolved(self.parsed.resolve(iterable.func)):
            mapping = self.atom(iterable.func.value)
            keys = self.atom(gast.Call(func=name("list"), args=[mapping], keywords=[]))
            length = self.atom(gast.Call(func=name("len"), args=[keys], keywords=[]))
            key = lambda k: gast.Subscript(value=keys, slice=k, ctx=gast.Load())  # noqa: E731
            value = lambda k: gast.Subscript(value=mapping, slice=key(k), ctx=gast.Load())  # noqa: E731
            kind = iterable.func.attr
            if kind == "keys":
                return length, key
            if kind == "values":
                return length, value
            return length, lambda k: gast.Tuple(elts=[key(k), value(k)], ctx=gast.Load())
        items = self.atom(iterable)
        if isinstance(iterable, gast.Name) and (iterable.id in self.parameters or iterable.id in written):
            # Python iterates over the object bound when the loop starts (the body may rebind the name), and
            # reads each element when it gets there (the body may change the object): hold the object under a
            # name of its own, known to share it. An argument may be a dict: loop over its keys, as Python would.
            held = self.namer.temporary()
            if iterable.id in self.parameters:
                items = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="iterable", ctx=gast.Load()),
                                  args=[items], keywords=[])
            self.emit(assign(held, items, iterable))
            self.memory.rebind(held)
            if iterable.id in written:
                self.memory.join(held, iterable.id)
            items = name(held)
        length = self.atom(gast.Call(func=name("len"), args=[items], keywords=[]))
        return length, lambda k: gast.Subscript(value=items, slice=k, ctx=gast.Load())

    def augmented(self, stmt: gast.AugAssign) -> None:
        target = stmt.target
        if not isinstance(stmt.op, BINARY_OPERATORS):
            raise self.refuse(stmt, f"the operator {type(stmt.op).__name__}=", "use the numpy function instead")
        if isinstance(target, gast.Subscript):  # x[i] += v is x[i] = x[i] + v, the index evaluated once
            base = self.mutable_base(target, stmt)
            index = self.index(target.slice)
            current = self.atom(self.copy(gast.Subscript(value=name(base), slice=index, ctx=gast.Load()), stmt))
            value = self.atom(self.copy(gast.BinOp(left=current, op=stmt.op, right=stmt.value), stmt))
            self.store(base, copy.deepcopy(index), value, stmt)
            return
        if not isinstance(target, gast.Name):
            raise self.refuse(stmt, f"an in-place update of {type(target).__name__}", "update a plain name")
        hazard = self.in_place_hazard(target.id) or self.contained_hazard(target.id)
        if hazard is not None:
            # a view, an object a container holds, or one a call gave back: an array there cannot be followed,
            # but a number (or another immutable value) is simply rebound: check which when it runs
            what, hint = hazard
            checked = self.namer.temporary()
            where = [constant(self.parsed.filename), constant(self.parsed.lineno(stmt))]
            check = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="immutable_value", ctx=gast.Load()),
                              args=[name(target.id), constant(what), constant(hint)] + where, keywords=[])
            self.emit(assign(checked, check, stmt))
            self.bind(target, self.copy(gast.BinOp(left=name(checked), op=stmt.op, right=stmt.value), stmt), stmt)
            return
        if not self.memory.shared(target.id) and target.id not in self.memory.arguments \
                and not self.viewed(target.id):
            value = self.copy(gast.BinOp(left=name(target.id), op=stmt.op, right=stmt.value), stmt)
            self.bind(target, value, stmt)  # nobody else sees this object: rebinding is the same
            return
        # y += v where another name (or the caller) may hold the same array: update it in place
        value = self.atom(stmt.value)
        self.emit(self.copy(gast.AugAssign(target=name(target.id, gast.Store), op=stmt.op, value=value), stmt))
        self.refresh_others(target.id, stmt)

    def viewed(self, identifier: str) -> bool:
        """Whether a view of your own may show the object of ``identifier`` later (``u = v[1:]``): then
        ``v += d`` must write in place, as Python does. (Views the lowering made are read at once.)"""
        bases = self.memory.members(identifier)
        return any(base in bases and not (_TEMPORARY_NAME.match(view) and view not in self.parsed.local_names)
                   for view, base in self.memory.views.items())

    def mutable_base(self, target: gast.Subscript, stmt: gast.stmt) -> str:
        """The name whose array ``target`` writes into; refuses what cannot be followed."""
        base = target.value
        if not isinstance(base, gast.Name):
            raise self.refuse(stmt, "assignment into an element of an element (a[i][j] = ...)",
                              "index once (a[i, j] = ...), or give the inner object a name of its own")
        if base.id not in self.parsed.local_names:
            raise self.refuse(stmt, f"an in-place update of {base.id}, which is not a local variable",
                              "pass the array in as an argument, or copy it first")
        hazard = self.in_place_hazard(base.id)
        if hazard is not None:
            raise self.refuse(stmt, *hazard)
        return base.id

    def may_change_later(self, identifier: str) -> bool:
        """Whether the object of ``identifier`` may be changed in place later: not so for a temporary holding
        a fresh value (``t = a * b``), which nothing else sees."""
        fresh = _TEMPORARY_NAME.match(identifier) and identifier not in self.parsed.local_names
        memory = self.memory
        return not fresh or identifier in memory.views or identifier in memory.unknown \
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

    def accumulate_at(self, stmt: gast.Expr, callee) -> None:
        """``np.add.at(y, i, v)`` becomes ``t = sd.accumulate_at(y, i, v); y[i] = t``.

        ``t`` holds what ``y[i]`` is after the call: every element plus all the values
        aimed at it, so the write gives each repeated element the same, accumulated value.
        """
        import numpy as np

        array, index, value = stmt.value.args
        target = gast.Subscript(value=array, slice=index, ctx=gast.Store())
        base = self.mutable_base(target, stmt)
        where = self.index(index)
        total = self.namer.temporary()
        negate = [gast.keyword(arg="negate", value=constant(True))] if callee == np.subtract.at else []
        accumulated = gast.Call(func=gast.Attribute(value=name(RUNTIME), attr="accumulate_at", ctx=gast.Load()),
                                args=[name(base), copy.deepcopy(where), self.atom(value)], keywords=negate)
        self.emit(assign(total, accumulated, stmt))
        self.store(base, where, name(total), stmt)

    def store(self, base: str, index: gast.expr, value: gast.expr, stmt: gast.stmt) -> None:
        """``base[index] = value``, then every other name of the same array sees the new contents."""
        # a list or dict holds the object itself (an array copies it): it goes stale when that object changes
        self.note_contained([value], None if base in self.memory.arrays else base)
        target = gast.Subscript(value=name(base), slice=index, ctx=gast.Store())
        self.emit(self.copy(gast.Assign(targets=[target], value=value, type_comment=None), stmt))
        self.refresh_others(base, stmt)

    def refresh_others(self, changed: str, stmt: gast.stmt) -> None:
        """Names that may hold the object just changed in place take its new value, if they really hold it."""
        for other in sorted(self.memory.members(changed) - {changed}):
            if self.is_outer(other) or not other.isidentifier():
                continue  # never rebound here (in_place_hazard refuses writes into its object), or no name
            if other not in self.memory.bound:
                self.maybe_unbound.add(other)  # bound on some paths only: it starts as None (see run)
            same = self.namer.temporary()  # a float's += made a new object; another path may have bound a copy
            self.emit(assign(same, gast.Compare(left=name(other), ops=[gast.Is()], comparators=[name(changed)]),
                             stmt))
            self.emit(self.copy(gast.If(test=name(same), body=[assign(other, name(changed), stmt)], orelse=[]),
                                stmt))
        self.memory.changed(changed)

    def check_stale_views_in_loop(self, loop: gast.stmt, before: "Memory") -> None:
        """A view read in a loop whose base changes later in the loop body reads changed values next time."""
        stale = self.memory.stale - before.stale
        body = gast.Module(body=loop.body, type_ignores=[])
        read = {n.id for n in gast.walk(body) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
        written = {n.id for n in gast.walk(body) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        if isinstance(loop, gast.For):  # bound again at the top of every iteration
            written |= {n.id for n in gast.walk(loop.target) if isinstance(n, gast.Name)}
        for view in sorted(stale & read - written):
            raise self.refuse(loop, f"a loop that reads {self.describe_view(view)}, "
                              "after changing that array in place", f"take a copy ({view} = ....copy()) or "
                              "index the array itself inside the loop")

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
            base = self.mutable_base(target, stmt)
            index = self.index(target.slice)
            self.store(base, index, self.atom(value), stmt)
            return
        if isinstance(target, gast.Attribute):
            raise self.refuse(stmt, "assignment to an attribute (obj.attr = ...)",
                              "return the new value instead of storing it on an object")
        raise self.refuse(stmt, f"assignment to {type(target).__name__}", "assign to a plain name")

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
        if isinstance(rhs, gast.Subscript) or (isinstance(rhs, gast.Attribute) and rhs.attr in {"T", "real", "flat"}):
            base = rhs.value
        elif isinstance(rhs, gast.Call) and isinstance(rhs.func, gast.Attribute) and rhs.func.attr in VIEW_METHODS \
                and not is_resolved(self.parsed.resolve(rhs.func)):
            base = rhs.func.value
        elif isinstance(rhs, gast.Call) and rhs.args and self.parsed.resolve(rhs.func) in _VIEW_FUNCTIONS:
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
            if not (is_resolved(callee) and is_user_function(callee) and returned_object(callee)[0] == "argument"):
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
            kind, parameters = returned_object(callee)
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

    def run(self) -> gast.FunctionDef:
        node = self.parsed.node
        if isinstance(node, gast.AsyncFunctionDef):
            raise self.refuse(node, *_LATER[gast.AsyncFunctionDef])
        for sub in gast.walk(node):
            if isinstance(sub, (gast.Yield, gast.YieldFrom)):
                raise self.refuse(sub, *_EXPR_LATER[type(sub)])
        self.check_appends(node)
        if self.hold_arguments:
            self.hold_rebound_arguments(node)
        statements = _restructure(copy.deepcopy(node.body))
        returns = [n for s in statements for n in _returns(s, False)]
        if len(returns) == 1 and statements[-1] is returns[0]:
            self.block(statements, None)  # one return, at the end: it stays a return
        else:
            self.function_body(statements, returns, results=None)
            if self.results:
                values = [name(r) for r in self.results]
                value = values[0] if len(values) == 1 else gast.Tuple(elts=values, ctx=gast.Load())
                self.emit(gast.Return(value=value))
        if not self.body or not isinstance(self.body[-1], gast.Return):
            self.emit(gast.Return(value=constant(None)))
        start = len(self.holders)
        self.body[start:start] = [assign(n, constant(None)) for n in sorted(self.maybe_unbound)]
        lowered = gast.FunctionDef(name=node.name, args=node.args, body=self.body, decorator_list=[],
                                   returns=None, type_comment=None, type_params=[])
        lowered.argument_holders = dict(self.holders)  # not a field: printing and gast ignore it
        return gast.copy_location(lowered, node)

    def hold_rebound_arguments(self, node: gast.FunctionDef) -> None:
        """``v_argument = v`` first, for each parameter ``v`` the body may rebind (``v = 0.5``, or ``v += 1``
        when v may be a number): a write into the caller's object before the rebinding stays visible
        through that name, which is what a caller needs from a helper that writes into its arguments."""
        augmented = {id(sub.target) for sub in walk_local(node)
                     if isinstance(sub, gast.AugAssign) and isinstance(sub.target, gast.Name)}
        rebound = set()
        for sub in walk_local(node):
            if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Store):
                if id(sub) in augmented and sub.id in self.arrays:
                    continue  # x += v writes into the array x holds: x keeps its object
                rebound.add(sub.id)
        for p in sorted(self.memory.arguments & rebound):
            holder = self.holders[p] = self.namer.fresh(f"{p}_argument")
            self.emit(assign(holder, name(p), node))
            self.memory.join(holder, p)
            self.memory.bound.add(holder)

    def check_appends(self, node: gast.FunctionDef) -> None:
        """``lst.append(v)`` (pop, extend, insert) is differentiated only for a list made here, known by one name.

        Otherwise another name could see the appended value without the transform
        knowing, and the derivative would be silently wrong.
        """
        params = {a.id for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs}
        nodes = list(walk_local(node))
        appends = [n for n in nodes if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
                   and n.func.attr in ("append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear")
                   and isinstance(n.func.value, gast.Name)
                   and not is_resolved(self.parsed.resolve(n.func))]  # np.sort, np.append: functions
        for call_node in appends:
            receiver = call_node.func.value.id
            if call_node.func.attr not in ("append", "pop", "extend", "insert") or call_node.keywords:
                raise self.refuse(call_node, f"the list method .{call_node.func.attr}(), which changes the list "
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
                raise self.refuse(call_node, f"a change to this list by .{call_node.func.attr}() ({why})",
                                  "build the list in this function with [] and append to it only under one name; "
                                  "in-place updates of shared lists arrive in a later release")

    def function_body(self, statements: list[gast.stmt], returns: list[gast.Return], results: list[str] | None):
        """Lower a function body whose returns assign ``self.results`` (flags for the early ones)."""
        tail: set[int] = set()
        _tail_returns(statements, tail)
        self.early_returns = {id(r) for r in returns if id(r) not in tail}
        if results is None:
            width = {len(r.value.elts) if isinstance(r.value, gast.Tuple) else 0 for r in returns}
            count = width.pop() if len(width) == 1 else 0
            results = [self.namer.fresh("result") for _ in range(max(count, 1))] if returns else []
        self.results = results
        if results and not _always_returns(statements):
            for result in results:
                self.emit(assign(result, constant(None)))
        if self.early_returns:
            self.returned = self.namer.fresh("returned")
            self.emit(assign(self.returned, constant(False)))
        self.block(statements, None)

    # -- nested functions and lambdas: inlined where they are called -----------------------------
    def define_local(self, identifier: str, node: gast.FunctionDef | gast.Lambda, stmt: gast.stmt) -> None:
        args = node.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            raise self.refuse(stmt, "a nested function with *args, **kwargs or keyword-only parameters",
                              "define it at module level")
        if any(not _is_literal(d) for d in args.defaults):
            raise self.refuse(stmt, "a nested function whose defaults are not constants (numbers, strings, tuples)",
                              "pass the value as an argument")
        if isinstance(node, gast.FunctionDef) and node.decorator_list:
            raise self.refuse(stmt, "a decorated nested function", "define it at module level")
        for sub in gast.walk(node):
            if isinstance(sub, (gast.Nonlocal, gast.Global)):
                raise self.refuse(sub, *_LATER[type(sub)])
        self.local_functions[identifier] = node

    def inline(self, expr: gast.Call, node: gast.FunctionDef | gast.Lambda) -> gast.Name:
        """A call to a nested function or lambda, written out in place (closures read the current values)."""
        if id(node) in self.inlining:
            raise self.refuse(expr, "a recursive nested function", "define the function at module level")
        params = [a.id for a in node.args.args]
        if any(isinstance(a, gast.Starred) for a in expr.args) or any(k.arg is None for k in expr.keywords):
            raise self.refuse(expr, *_EXPR_LATER[gast.Starred])
        if len(expr.args) > len(params):
            raise self.refuse(expr, f"a call with {len(expr.args)} arguments to a function of {len(params)}",
                              "check the call")
        values: dict[str, gast.expr] = dict(zip(params, expr.args))
        for k in expr.keywords:
            if k.arg not in params or k.arg in values:
                raise self.refuse(expr, f"the keyword argument {k.arg}", "check the call")
            values[k.arg] = k.value
        defaults = dict(zip(params[len(params) - len(node.args.defaults):], node.args.defaults))
        for p in params:
            if p not in values:
                if p not in defaults:
                    raise self.refuse(expr, f"a call that leaves out the argument {p}", "check the call")
                values[p] = defaults[p]
        body = node.body if isinstance(node, gast.FunctionDef) else [
            gast.copy_location(gast.Return(value=node.body), node.body)]
        local = set(params) | {n.id for s in body for n in gast.walk(s)
                               if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        renamed = _Rename({n: self.namer.fresh(n) for n in sorted(local)})
        for p in params:
            self.bind_value(renamed.renames[p], values[p], expr)
        statements = _restructure([renamed.visit(copy.deepcopy(s)) for s in body])
        returns = [n for s in statements for n in _returns(s, False)]
        result = self.namer.temporary()
        saved = (self.results, self.returned, self.early_returns)
        self.returned = None
        self.inlining.add(id(node))
        try:
            self.function_body(statements, returns, results=[result])
        finally:
            self.inlining.discard(id(node))
            self.results, self.returned, self.early_returns = saved
        if not returns:
            self.emit(assign(result, constant(None), expr))
        return name(result)


def _is_literal(node: gast.expr) -> bool:
    """A constant, a signed number (``-1.0``) or a tuple of those: a default the same at every call."""
    if isinstance(node, gast.Constant):
        return True
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        return isinstance(node.operand, gast.Constant) and type(node.operand.value) in (int, float, complex)
    return isinstance(node, gast.Tuple) and all(_is_literal(e) for e in node.elts)


def _written_names(stmts: list[gast.stmt]) -> set[str]:
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


def _view_functions():
    import numpy as np

    return {np.reshape, np.ravel, np.transpose, np.squeeze, np.expand_dims, np.swapaxes,
            np.moveaxis, np.atleast_1d, np.atleast_2d, np.broadcast_to, np.diagonal}


_VIEW_FUNCTIONS = _view_functions()
_NEW_FROM_RUNTIME = frozenset(("concatenate_rows", "concatenate_columns", "accumulate_at"))


def _is_runtime(func: gast.expr) -> bool:
    """``__sourcediff_runtime__.name``: a call of the runtime that the lowering wrote."""
    return isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id == RUNTIME
_INDEX_BUILDERS = {id(__import__("numpy").r_): "concatenate_rows", id(__import__("numpy").c_): "concatenate_columns"}
_TEMPORARY_NAME = __import__("re").compile(r"^t\d+$")
RUNTIME = "__sourcediff_runtime__"  # the lowered code's name for the backend (``sd`` in generated code)


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
    return isinstance(func, np.ufunc) or func in _NEW_ARRAY_FUNCTIONS


_GIVES_NEW_VALUES = frozenset((len, range, int, float, bool, round, abs, str, repr, isinstance, type, hash, id,
                                any, all, sum, print))
_RETURNED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOWERING = threading.local()


def returned_object(function) -> tuple[str, frozenset[str]]:
    """What the user's ``function`` returns, as far as its caller's memory goes: ``"new"`` (objects no caller's
    name holds), ``"argument"`` with the parameters it may be (one of them itself: ``return u`` after
    ``u[1:] += ...``), or ``"other"`` (a view or part of one, a container holding one, or it cannot be told)."""
    if function in _RETURNED:
        return _RETURNED[function]
    busy = getattr(_LOWERING, "functions", None)
    if busy is None:
        busy = _LOWERING.functions = set()
    if function in busy:
        return ("other", frozenset())  # recursion
    busy.add(function)
    try:
        from .parse import parse_function

        lowering = Lowering(parse_function(function))
        lowering.run()
        ret, memory = lowering.body[-1], lowering.memory
        atoms = [a for a in (ret.value.elts if isinstance(ret.value, gast.Tuple) else [ret.value])
                 if isinstance(a, gast.Name)]
        parts = [a.id for a in atoms if a.id in memory.views or a.id in memory.unknown or a.id in memory.held]
        arguments = [a.id for a in atoms if a.id in memory.arguments]
        if parts or (arguments and isinstance(ret.value, gast.Tuple)):
            found = ("other", frozenset())
        elif arguments:
            names = frozenset(n for a in arguments for n in memory.members(a) | {a} if n in lowering.parameters)
            found = ("argument", names)
        else:
            found = ("new", frozenset())
    except SourcediffError:  # refused, or no source to read: assume the worst
        found = ("other", frozenset())
    finally:
        busy.discard(function)
    _RETURNED[function] = found
    return found


def _is_ufunc_at(callee) -> bool:
    """Whether ``callee`` is ``np.add.at`` or ``np.subtract.at`` (unbuffered in-place accumulation)."""
    import numpy as np

    return is_resolved(callee) and type(callee) is type(np.add.at) and (callee == np.add.at or callee == np.subtract.at)


def _new_array_functions():
    import numpy as np

    return {np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like, np.empty_like, np.full_like,
            np.copy, np.linspace, np.arange, np.eye, np.identity, np.concatenate, np.stack, np.hstack, np.vstack,
            np.outer, np.dot, np.matmul, np.cumsum, np.cumprod, np.diff, np.sum, np.mean, np.prod,
            np.where, np.clip, np.tile, np.repeat, np.linalg.solve, np.linalg.inv, np.diag, np.kron, np.sort,
            np.maximum, np.minimum}


_NEW_ARRAY_FUNCTIONS = _new_array_functions()


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


@dataclass
class LoopFlags:
    """Names of a loop's flags: ``stop`` ends the loop, ``guard`` skips the rest of an iteration."""

    stop: str | None
    guard: str | None
    continues: bool


class _Rename(gast.NodeTransformer):
    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            return gast.copy_location(gast.Name(id=self.renames[node.id], ctx=node.ctx, annotation=None,
                                                type_comment=None), node)
        return node


def _returns(stmt: gast.stmt, at_loop_level: bool) -> list[gast.Return]:
    if isinstance(stmt, gast.FunctionDef):
        return []
    nodes = loop_level([stmt]) if at_loop_level else walk_local(stmt)
    if at_loop_level and isinstance(stmt, (gast.For, gast.While)):
        return []
    return [n for n in nodes if isinstance(n, gast.Return)]


def _jumps(stmt: gast.stmt) -> bool:
    """Whether ``stmt`` holds a break or continue of the loop it is in."""
    if isinstance(stmt, (gast.For, gast.While)):
        return False
    return any(isinstance(n, (gast.Break, gast.Continue)) for n in loop_level([stmt]))


def _always_jumps(stmts: list[gast.stmt]) -> bool:
    """Whether every path through ``stmts`` ends in return, break or continue."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Return, gast.Break, gast.Continue)):
        return True
    return isinstance(last, gast.If) and _always_jumps(last.body) and _always_jumps(last.orelse)


def _always_returns(stmts: list[gast.stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, gast.Return):
        return True
    return isinstance(last, gast.If) and _always_returns(last.body) and _always_returns(last.orelse)


def _restructure(stmts: list[gast.stmt]) -> list[gast.stmt]:
    """Move the statements after ``if c: ... return`` into the else branch, so fewer flags are needed."""
    out: list[gast.stmt] = []
    for i, stmt in enumerate(stmts):
        rest = stmts[i + 1:]
        if isinstance(stmt, gast.If):
            body_jumps, else_jumps = _always_jumps(stmt.body), _always_jumps(stmt.orelse)
            if rest and body_jumps and not else_jumps:
                stmt.orelse = stmt.orelse + rest
                rest = []
            elif rest and else_jumps and not body_jumps:
                stmt.body = stmt.body + rest
                rest = []
            elif body_jumps and else_jumps:
                rest = []
            stmt.body = _restructure(stmt.body)
            stmt.orelse = _restructure(stmt.orelse)
            out.append(stmt)
            if not rest:
                return out
            continue
        if isinstance(stmt, (gast.For, gast.While)):
            stmt.body = _restructure(stmt.body)
        out.append(stmt)
        if isinstance(stmt, (gast.Return, gast.Break, gast.Continue)):
            return out
    return out


def _tail_returns(stmts: list[gast.stmt], found: set[int]) -> None:
    if not stmts:
        return
    last = stmts[-1]
    if isinstance(last, gast.Return):
        found.add(id(last))
    elif isinstance(last, gast.If):
        _tail_returns(last.body, found)
        _tail_returns(last.orelse, found)


def _symbol(op: gast.operator) -> str:
    return {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.Pow: "**",
            gast.MatMult: "@"}.get(type(op), "op")


def lower(parsed: ParsedFunction, numbers: frozenset[str] = frozenset(), arrays: frozenset[str] = frozenset(),
          hold_arguments: bool = False) -> gast.FunctionDef:
    """Lower ``parsed`` to A-normal form; returns a new ``FunctionDef``.

    ``numbers`` and ``arrays`` name the parameters known to hold Python numbers and
    ndarrays. With ``hold_arguments`` (the halves of a helper), a parameter the body
    rebinds keeps its object under a name of its own, listed in the result's
    ``argument_holders`` (parameter -> name).
    """
    lowered = Lowering(parsed, numbers, arrays, hold_arguments).run()
    number_statements(lowered.body)
    return lowered
