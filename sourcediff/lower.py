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

What each statement does to memory (names that share an array, views, writes
into an array) is followed by an ``InPlace`` (``inplace.py``) that the lowering
holds: it lowers the writes, and reads again, checks or refuses a stale view.
"""
from __future__ import annotations

import copy
import threading
import weakref
from dataclasses import dataclass

import gast

from . import strings
from .errors import SourcediffError, UnsupportedSyntaxError
from .inplace import InPlace, is_ufunc_at, written_names
from .ir import loop_level, number_statements, walk_local
from .naming import RUNTIME, Namer, assign, constant, name
from .parse import ParsedFunction, is_resolved, is_user_function

BINARY_OPERATORS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow, gast.MatMult,
                    gast.FloorDiv, gast.Mod, gast.BitAnd, gast.BitOr, gast.BitXor, gast.LShift, gast.RShift)

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
    gast.JoinedStr: ("an f-string", "the name str is not the builtin here: f-strings are lowered to str.format; "
                     "rename the variable called str"),
    gast.Set: ("a set literal", "use a tuple or a list"),
    gast.Starred: ("a starred expression (*args)", "pass the arguments one by one"),
}


class Lowering:
    """Lowers one function body; ``numbers`` and ``arrays`` name the parameters known to hold Python
    numbers (immutable) and ndarrays. With ``hold_arguments``, a parameter the body rebinds is first
    copied to a name of its own, so that its object is still known by a name at the end. ``inplace`` follows
    the memory; it calls back ``emit``, ``atom``, ``index``, ``bind`` and ``refuse``."""

    def __init__(self, parsed: ParsedFunction, numbers: frozenset[str] = frozenset(),
                 arrays: frozenset[str] = frozenset(), hold_arguments: bool = False):
        self.parsed = parsed
        self.numbers, self.arrays, self.hold_arguments = numbers, arrays, hold_arguments
        self.namer = Namer.for_tree(parsed.node)
        self.namer.taken |= set(parsed.globals) | set(parsed.closure)  # a temporary must not resolve to them
        self.body: list[gast.stmt] = []
        self.results: list[str] = []          # where the return value goes when there are several returns
        self.returned: str | None = None      # the flag set by an early return
        self.early_returns: set[int] = set()  # ids of returns that jump past later statements
        self.local_functions: dict[str, gast.FunctionDef | gast.Lambda] = {}  # nested defs and lambdas
        a = parsed.node.args
        self.parameters = {p.id for p in a.posonlyargs + a.args + a.kwonlyargs}
        self.inplace = InPlace(self, self.parameters, numbers, arrays, returned_object)  # the memory, its changes
        self.inlining: set[int] = set()
        self.current: gast.stmt = parsed.node  # the statement being lowered, for messages
        self.string_names: frozenset[str] | None = None  # names holding only strings, found on first need

    # -- errors --------------------------------------------------------------------------------
    def refuse(self, node: gast.AST, what: str, hint: str) -> UnsupportedSyntaxError:
        return self.parsed.error(UnsupportedSyntaxError, f"sourcediff cannot differentiate {what} yet", node, hint)

    # -- expressions -----------------------------------------------------------------------------
    def atom(self, expr: gast.expr) -> gast.expr:
        """Lower ``expr`` and return an atom (a name or a constant) holding its value."""
        if isinstance(expr, gast.Constant):
            return expr
        if isinstance(expr, gast.Name):
            again = self.inplace.read(expr, self.current)
            if again is not None:  # a view whose array changed since it was made
                return again
            if expr.id in self.local_functions:
                raise self.refuse(expr, f"the nested function {expr.id} used as a value",
                                  "call it directly, or define it at module level and pass what it needs "
                                  "as arguments")
            return name(expr.id)
        if _negative_number(expr):
            return constant(-expr.operand.value)
        rhs = self.rhs(expr)
        if isinstance(rhs, gast.Name):
            return rhs  # the temporary of a conditional expression, and/or or a comprehension
        if isinstance(rhs, gast.Attribute) and is_resolved(self.parsed.resolve(rhs)):
            return rhs  # a constant of a module, like np.pi
        target = self.namer.temporary()
        self.inplace.note_alias(target, rhs)
        self.emit(assign(target, rhs, expr))
        return name(target)

    def rhs(self, expr: gast.expr) -> gast.expr:
        """Lower ``expr`` to a right-hand side of the core language."""
        kind = type(expr)
        text = self.string_operation(expr) if kind is gast.JoinedStr or kind is gast.BinOp else None
        if text is not None:
            return self.call(text)
        if kind in _EXPR_LATER:
            raise self.refuse(expr, *_EXPR_LATER[kind])
        if isinstance(expr, (gast.Constant, gast.Name)):
            return self.atom(expr)
        if isinstance(expr, gast.BinOp):
            if not isinstance(expr.op, BINARY_OPERATORS):
                raise self.refuse(expr, f"the operator {type(expr.op).__name__}", "use the numpy function instead")
            return self.copy(gast.BinOp(left=self.atom(expr.left), op=expr.op, right=self.atom(expr.right)), expr)
        if isinstance(expr, gast.UnaryOp):
            if _negative_number(expr):
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
        body, orelse = self.inplace.either(lambda: self.nested(lambda: self.bind_value(result, expr.body, expr)),
                                           lambda: self.nested(lambda: self.bind_value(result, expr.orelse, expr)))
        self.emit(self.copy(gast.If(test=test, body=body, orelse=orelse), expr))
        return name(result)

    def bind_value(self, target: str, expr: gast.expr, like: gast.AST) -> None:
        """``target = expr`` for a temporary, remembering whether it may share an array."""
        rhs = self.rhs(expr)
        self.inplace.note_alias(target, rhs)
        self.emit(assign(target, rhs, like))

    def boolean(self, expr: gast.BoolOp) -> gast.Name:
        """``a and b`` / ``a or b`` with short-circuiting: later operands run only when needed."""
        result = self.namer.temporary()
        self.bind_value(result, expr.values[0], expr)
        for operand in expr.values[1:]:
            test = name(result) if isinstance(expr.op, gast.And) else gast.UnaryOp(op=gast.Not(), operand=name(result))
            _, body = self.inplace.either(lambda: None,  # the operand may run or not
                                          lambda: self.nested(lambda: self.bind_value(result, operand, expr)))
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
        text = self.string_operation(expr)
        if text is not None:
            return self.call(text)
        if not expr.args and expr.keywords and all(k.arg for k in expr.keywords) \
                and self.parsed.resolve(func) is dict:  # dict(w=..., b=...) is a dict literal
            keys = [constant(k.arg) for k in expr.keywords]
            return self.rhs(self.copy(gast.Dict(keys=keys, values=[k.value for k in expr.keywords]), expr))
        if isinstance(func, gast.Attribute) and not is_resolved(self.parsed.resolve(func)):
            if func.attr in ("values", "items") and not expr.args and not expr.keywords:
                # d.values() / d.items() as lists (sd.dict_values): their rules need a list, not a view
                runtime = gast.Attribute(value=name(RUNTIME), attr=f"dict_{func.attr}", ctx=gast.Load())
                return self.copy(gast.Call(func=runtime, args=[self.atom(func.value)], keywords=[]), expr)
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

    def string_operation(self, expr: gast.expr) -> gast.Call | None:
        """An f-string, ``"%.2f" % x`` or a string's method as a call of ``str``'s method, which has no
        gradient (``strings.py``); None for anything else."""
        if isinstance(expr, gast.JoinedStr):
            template, values = strings.format_call(expr)
            method, args, keywords = "format", [constant(template)] + values, []
        elif isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Mod) and self.is_string(expr.left):
            method, args, keywords = "__mod__", [expr.left, expr.right], []
        elif isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute) \
                and expr.func.attr in strings.STRING_METHODS and not is_resolved(self.parsed.resolve(expr.func)) \
                and self.is_string(expr.func.value):
            method, args, keywords = expr.func.attr, [expr.func.value] + expr.args, expr.keywords
        else:
            return None
        if not strings.str_is_the_builtin(self.parsed):
            return None  # an f-string is refused; the others keep their rules
        func = gast.Attribute(value=name("str"), attr=method, ctx=gast.Load())
        return self.copy(gast.Call(func=func, args=args, keywords=keywords), expr)

    def is_string(self, expr: gast.expr) -> bool:
        if self.string_names is None:
            self.string_names = strings.string_names(self.parsed)
        return strings.is_string(expr, self.string_names, self.parsed)

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
        if isinstance(stmt, gast.Delete):
            if all(isinstance(target, gast.Name) for target in stmt.targets):
                return  # del x only lets the memory go: the derivative keeps what it reads
            raise self.refuse(stmt, "a del statement of an element or an attribute",
                              "build a new list or dict without it (a comprehension), or keep the element")
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
            if is_ufunc_at(callee) and len(stmt.value.args) == 3 and not stmt.value.keywords:
                self.inplace.accumulate_at(stmt, callee)
                return
            popped = isinstance(func, gast.Attribute) and func.attr == "pop" and isinstance(func.value, gast.Name)
            lowered = self.call(stmt.value)
            if isinstance(func, gast.Attribute) and func.attr in ("append", "insert", "extend") \
                    and isinstance(func.value, gast.Name):
                self.inplace.note_contained(lowered.args[-1:], func.value.id)
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

            def lower_loop():
                flags = self.loop_flags(stmt)
                (self.for_loop if isinstance(stmt, gast.For) else self.while_loop)(stmt, flags)
            self.inplace.loop(stmt, lower_loop)
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
            if not isinstance(stmt.op, BINARY_OPERATORS):
                raise self.refuse(stmt, f"the operator {type(stmt.op).__name__}=", "use the numpy function instead")
            self.inplace.augmented(stmt)
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
        body, orelse = self.inplace.either(lambda: self.nested(lambda: self.block(stmt.body, loop)),
                                           lambda: self.nested(lambda: self.block(stmt.orelse, loop)))
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
            length, element = self.view(iterable, written_names(stmt.body))
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
        items = self.inplace.hold_iterable(iterable, self.atom(iterable), written)
        length = self.atom(gast.Call(func=name("len"), args=[items], keywords=[]))
        return length, lambda k: gast.Subscript(value=items, slice=k, ctx=gast.Load())

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
            self.inplace.note_alias(target.id, rhs)
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
            self.inplace.assign_into(target, value, stmt)
            return
        if isinstance(target, gast.Attribute):
            raise self.refuse(stmt, "assignment to an attribute (obj.attr = ...)",
                              "return the new value instead of storing it on an object")
        raise self.refuse(stmt, f"assignment to {type(target).__name__}", "assign to a plain name")

    def run(self) -> gast.FunctionDef:
        node = self.parsed.node
        if isinstance(node, gast.AsyncFunctionDef):
            raise self.refuse(node, *_LATER[gast.AsyncFunctionDef])
        for sub in gast.walk(node):
            if isinstance(sub, (gast.Yield, gast.YieldFrom)):
                raise self.refuse(sub, *_EXPR_LATER[type(sub)])
        self.inplace.check_appends(node)
        if self.hold_arguments:
            self.inplace.hold_rebound_arguments(node, self.arrays)
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
        start = len(self.inplace.holders)
        self.body[start:start] = [assign(n, constant(None)) for n in sorted(self.inplace.maybe_unbound)]
        lowered = gast.FunctionDef(name=node.name, args=node.args, body=self.body, decorator_list=[],
                                   returns=None, type_comment=None, type_params=[])
        lowered.argument_holders = dict(self.inplace.holders)  # not a field: printing and gast ignore it
        return gast.copy_location(lowered, node)

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


_INDEX_BUILDERS = {id(__import__("numpy").r_): "concatenate_rows", id(__import__("numpy").c_): "concatenate_columns"}
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
        found = lowering.inplace.returned(lowering.body[-1])
    except SourcediffError:  # refused, or no source to read: assume the worst
        found = ("other", frozenset())
    finally:
        busy.discard(function)
    _RETURNED[function] = found
    return found


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


def _negative_number(expr: gast.expr) -> bool:
    """``-3``, ``-0.5`` or ``-2j``: a constant, not an operation."""
    return isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub) \
        and isinstance(expr.operand, gast.Constant) and type(expr.operand.value) in (int, float, complex)
