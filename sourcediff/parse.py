"""Parse stage: read a function's source and namespace, and resolve the names it calls.

The result is a :class:`ParsedFunction`: the gast ``FunctionDef`` (a lambda is
turned into one), where it came from (file and first line, for error messages),
and the namespace the body runs in: closure cells, module globals and builtins.
"""
from __future__ import annotations

import builtins
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import gast

from sourcediff.backends.base import RuntimeNamespace
from sourcediff.rules import registry
from sourcediff.rules.runtime import SPELLED_OUT

from .errors import SourceNotFoundError, SourcediffError
from .naming import Namer, assign

_UNRESOLVED = object()


@dataclass
class ParsedFunction:
    """A user function's syntax tree together with its namespace."""

    function: Callable
    node: gast.FunctionDef
    filename: str
    line_offset: int
    closure: dict[str, types.CellType] = field(default_factory=dict)
    local_names: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def globals(self) -> dict[str, Any]:
        return self.function.__globals__

    def lineno(self, node: Any) -> int | None:
        line = getattr(node, "lineno", None)
        return None if line is None else line + self.line_offset

    def error(self, cls: type[SourcediffError], message: str, node: Any = None,
              hint: str | None = None) -> SourcediffError:
        """An exception of ``cls`` that points at ``node`` in the user's file."""
        lineno = self.lineno(node) if node is not None else self.lineno(self.node)
        source_line = linecache.getline(self.filename, lineno) if lineno else None
        return cls(message, filename=self.filename, lineno=lineno, source_line=source_line, hint=hint)

    def lookup_name(self, name: str) -> Any:
        """The object a non-local name refers to now, or ``_UNRESOLVED``."""
        if name in self.local_names:
            return _UNRESOLVED
        if name in self.closure:
            try:
                return self.closure[name].cell_contents
            except ValueError:
                return _UNRESOLVED
        if name in self.globals:
            return self.globals[name]
        return getattr(builtins, name, _UNRESOLVED)

    def resolve(self, expr: Any) -> Any:
        """Resolve a ``Name`` or dotted ``Attribute`` chain to an object, or ``_UNRESOLVED``."""
        if isinstance(expr, gast.Name):
            return self.lookup_name(expr.id)
        if isinstance(expr, gast.Attribute):
            base = self.resolve(expr.value)
            if base is _UNRESOLVED:
                return _UNRESOLVED
            if isinstance(base, RuntimeNamespace):  # generated code read again: sd.name is a runtime function
                return registry.runtime(expr.attr) if hasattr(base, expr.attr) else _UNRESOLVED
            return getattr(base, expr.attr, _UNRESOLVED)
        return _UNRESOLVED


def is_resolved(value: Any) -> bool:
    return value is not _UNRESOLVED


_LIBRARY_MODULES = ("numpy", "math", "builtins", "scipy", "jax", "sourcediff", "autograd", "torch")


def is_user_function(obj: Any) -> bool:
    """A plain Python function of the user's (not of NumPy, math, ... which need rules)."""
    if not isinstance(obj, types.FunctionType):
        return False
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] not in _LIBRARY_MODULES


def is_runtime_helper(obj: Any) -> bool:
    """A plain Python function of the NumPy runtime (``sourcediff.backends``): forward mode, which needs no
    transpose, differentiates one without a rule through its source, as a user's function."""
    return isinstance(obj, types.FunctionType) and (getattr(obj, "__module__", None) or "").startswith(
        "sourcediff.backends.")


def runtime_name_of(target: Any) -> str | None:
    """The contract name of a function of the NumPy runtime (``sd.<name>``), else None."""
    name_ = getattr(target, "__name__", None)
    if name_ is None or not is_runtime_helper(target):
        return None
    from sourcediff.backends import NUMPY

    return name_ if getattr(NUMPY.runtime, name_, None) is target else None


def as_rule_key(target: Any) -> Any:
    """``target``, or the key ``runtime(name)`` of a runtime helper called by name inside the runtime."""
    name_ = runtime_name_of(target)
    return target if name_ is None else registry.runtime(name_)


def _source_of(function: Callable) -> tuple[str, str, int]:
    code = getattr(function, "__code__", None)
    filename = code.co_filename if code is not None else "<unknown>"
    firstline = code.co_firstlineno if code is not None else None
    hint = ("define the function in a file (a module or a notebook cell) so that its source can be read, "
            "or register a rule for it with sourcediff.rules.registry.defrule")
    if code is None:
        raise SourceNotFoundError(
            f"cannot differentiate {function!r}: it is not a Python function with source code", hint=hint)
    try:
        lines, start = inspect.getsourcelines(function)
    except (OSError, TypeError) as exc:
        raise SourceNotFoundError(
            f"cannot read the source of {getattr(function, '__qualname__', function)!r} ({exc})",
            filename=filename, lineno=firstline, hint=hint) from None
    return filename, "".join(lines), start


def _lambda_node(tree: gast.AST, function: Callable, filename: str, start: int) -> gast.FunctionDef:
    code = function.__code__
    params = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    candidates = [n for n in gast.walk(tree) if isinstance(n, gast.Lambda)
                  and [a.id for a in n.args.args + n.args.kwonlyargs] == params]
    if len(candidates) != 1:
        raise SourceNotFoundError(
            f"cannot tell which lambda on line {start} is being differentiated "
            f"({len(candidates)} lambdas there take {', '.join(params) or 'no arguments'})",
            filename=filename, lineno=start, source_line=linecache.getline(filename, start),
            hint="give the function a name with def")
    node = candidates[0]
    body = gast.Return(value=node.body)
    gast.copy_location(body, node.body)
    fdef = gast.FunctionDef(name="lambda_", args=node.args, body=[body], decorator_list=[],
                            returns=None, type_comment=None, type_params=[])
    return gast.copy_location(fdef, node)


def _parse_lambda_source(source: str) -> gast.AST:
    """Parse the lines holding a lambda, trimming a trailing fragment of a larger statement."""
    text = textwrap.dedent(source).strip()
    while text:
        try:
            return gast.parse(text)
        except SyntaxError:
            pass
        try:
            return gast.parse("(" + text + ")")
        except SyntaxError:
            text = text[:-1]
    raise SyntaxError("no parsable text")


def parse_function(function: Callable) -> ParsedFunction:
    """Read and parse ``function`` (a ``def`` or a lambda)."""
    if isinstance(function, types.MethodType):
        raise SourcediffError(
            f"{function.__qualname__} is a bound method",
            hint="differentiate the plain function (type(obj).method) and pass the object explicitly")
    filename, source, start = _source_of(function)
    if function.__name__ == "<lambda>":
        try:
            tree = _parse_lambda_source(source)
        except SyntaxError:
            raise SourceNotFoundError("cannot parse the source around this lambda", filename=filename,
                                      lineno=start, hint="give the function a name with def") from None
        node = _lambda_node(tree, function, filename, start)
        # the lambda's lines were dedented and possibly wrapped: keep line numbers relative to ``start``
    else:
        tree = gast.parse(textwrap.dedent(source))
        defs = [n for n in tree.body if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef))]
        if not defs:
            raise SourceNotFoundError(f"no function definition found in the source of {function.__qualname__}",
                                      filename=filename, lineno=start)
        node = defs[0]
        node.decorator_list = []
    closure = {}
    if function.__closure__:
        closure = dict(zip(function.__code__.co_freevars, function.__closure__))
    parsed = ParsedFunction(function, node, filename, start - 1, closure)
    if is_generated(function):
        runtime = [n for n, cell in closure.items() if isinstance(_contents(cell), RuntimeNamespace)]
        spell_out_writes(parsed, runtime[0] if runtime else None)
    parsed.local_names = _local_names(node)
    return parsed


@dataclass(frozen=True)
class GeneratedCall:
    """A call of a derived function (``grad(f)``), as the generated code that computes it.

    ``function(*args, **kwargs)`` gives the raw output, specialized on these arguments; ``finish(raw)`` gives
    what the derived function returns (the gradient in the structure of its argument). ``finish`` is linear in
    ``raw``, so it also gives the public tangent of a raw tangent; ``unfinish(cotangent, raw)`` is its transpose,
    the cotangent of ``raw`` for one of the public output. Both modes differentiate ``function``.
    ``user_function`` is the user's function underneath, whose closure carries no derivative.
    """

    function: Callable
    args: tuple
    kwargs: dict
    finish: Callable[[Any], Any]
    unfinish: Callable[[Any, Any], Any]
    user_function: Callable | None = None


_derived_calls: dict[Callable, Callable[[tuple, dict], GeneratedCall]] = {}


def declare_derived_call(function: Callable, how: Callable[[tuple, dict], GeneratedCall]) -> None:
    """Calls of ``function`` (``sourcediff.jvp``) are differentiated through the code ``how(args, kwargs)`` gives."""
    _derived_calls[function] = how


def generated_call(callee: Any, args: tuple, kwargs: dict) -> GeneratedCall | None:
    """How to differentiate ``callee(*args, **kwargs)`` when ``callee`` is a derived function (it has a
    ``generated_call`` method: ``sourcediff.Derivative``) or a declared derived call; None for anything else."""
    method = getattr(type(callee), "generated_call", None)
    if method is not None:
        return method(callee, args, kwargs)
    how = _derived_calls.get(callee) if isinstance(callee, types.FunctionType) else None
    return None if how is None else how(args, kwargs)


def is_derived(callee: Any) -> bool:
    """Whether ``callee`` is a derived function, differentiated through :func:`generated_call`."""
    return getattr(type(callee), "generated_call", None) is not None or (
        isinstance(callee, types.FunctionType) and callee in _derived_calls)


def is_generated(function: Callable) -> bool:
    """Whether ``function`` is code that sourcediff wrote (a derivative, or a half of one)."""
    code = getattr(function, "__code__", None)
    return code is not None and code.co_filename.startswith("<sourcediff ")


def _contents(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return None


def _local_names(node: gast.FunctionDef) -> set[str]:
    names = {a.id for a in node.args.args + node.args.posonlyargs + node.args.kwonlyargs}
    for extra in (node.args.vararg, node.args.kwarg):
        if extra is not None:
            names.add(extra.id)
    for sub in gast.walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, (gast.Store, gast.Del)):
            names.add(sub.id)
    return names


# -- generated code read again ---------------------------------------------------------------------------------

_STORES = ("store_adjoint", "store_adjoint_to")
_CHECKS = ("check_index", "check_array_attribute", "refuse_shared_arguments")  # run for their refusals only


def spell_out_writes(parsed: ParsedFunction, sd: str | None) -> None:
    """Spell out the runtime calls of generated code that write into an adjoint (``SPELLED_OUT`` in
    ``rules/runtime.py``) as a pure call and a visible write, so that differentiating the code again follows
    every change of memory, as it follows the user's own writes. ``sd`` is the code's name for the runtime (None:
    the code calls none)."""
    taken = {n.id for n in gast.walk(parsed.node) if isinstance(n, gast.Name)}
    fresh = _Fresh(taken)
    fresh.stacks = _stacks(parsed.node)
    parsed.node.body = _spelled(parsed, parsed.node.body, sd, fresh)
    _lists_made_here(parsed.node, sd, fresh)
    leftover = [n for n in gast.walk(parsed.node) if _runtime_call(n, sd, tuple(SPELLED_OUT))]
    if leftover:
        raise parsed.error(SourcediffError, f"cannot differentiate this generated code again: a call of "
                           f"{sd}.{leftover[0].func.attr} where sourcediff cannot spell out its writes",
                           leftover[0], "please report this with the function you differentiated")


class _Fresh(Namer):
    """Fresh names for spelled-out code, called as ``fresh(base)``; ``stacks`` are the lists used as stacks."""

    def __init__(self, taken: set[str]):
        super().__init__(taken)
        self.stacks: set[str] = set()

    def __call__(self, base: str) -> str:
        return self.fresh(base)


def _stacks(node: gast.FunctionDef) -> set[str]:
    """The names of the lists that the code appends to or pops from."""
    return {n.func.value.id for n in gast.walk(node) if isinstance(n, gast.Call)
            and isinstance(n.func, gast.Attribute) and n.func.attr in ("append", "pop", "insert", "extend")
            and isinstance(n.func.value, gast.Name)}


def _lists_made_here(node: gast.FunctionDef, sd: str, fresh: _Fresh) -> None:
    """Every list that the code appends to or pops from (a tape, the adjoint of one) made as a new list here, known
    by one name, as the in-place analysis requires of a list that changes: one bound to anything but ``[]`` (a
    runtime call, a value popped from a tape, an element of a backward half's saved tuple) is spelled
    ``items = value; R = []; R.extend(items)``, and one put into a tuple (a forward half's saved values) is put
    there as a copy, ``list(R)``. Each list is used once by generated code, so the copies change nothing."""
    stacks = _stacks(node)

    def new_list(target: str, items: str, like: gast.stmt) -> list:
        made = gast.Assign(targets=[gast.Name(id=target, ctx=gast.Store(), annotation=None, type_comment=None)],
                           value=gast.List(elts=[], ctx=gast.Load()), type_comment=None)
        grow = gast.Expr(value=gast.Call(func=gast.Attribute(value=_load(target), attr="extend", ctx=gast.Load()),
                                         args=[_load(items)], keywords=[]))
        return [gast.copy_location(s, like) for s in (made, grow)]

    def spelled(body: list) -> list:
        out = []
        for stmt in body:
            for field_name in ("body", "orelse"):
                if isinstance(getattr(stmt, field_name, None), list):
                    setattr(stmt, field_name, spelled(getattr(stmt, field_name)))
            for container in [n for n in gast.walk(stmt) if isinstance(n, (gast.Tuple, gast.List))
                              and isinstance(n.ctx, gast.Load)]:
                container.elts = [gast.Call(func=_load("list"), args=[e], keywords=[])
                                  if isinstance(e, gast.Name) and e.id in stacks else e for e in container.elts]
            target = stmt.targets[0] if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 else None
            if isinstance(target, gast.Name) and target.id in stacks and not isinstance(stmt.value, gast.List):
                items = fresh("items")
                stmt.targets = [gast.Name(id=items, ctx=gast.Store(), annotation=None, type_comment=None)]
                out.append(stmt)
                out.extend(new_list(target.id, items, stmt))
                continue
            if isinstance(target, (gast.Tuple, gast.List)):
                given = {}
                for k, e in enumerate(target.elts):
                    if isinstance(e, gast.Name) and e.id in stacks:
                        given[e.id] = fresh(f"{e.id}_given")
                        target.elts[k] = gast.Name(id=given[e.id], ctx=gast.Store(), annotation=None,
                                                   type_comment=None)
                out.append(stmt)
                for name, items in given.items():
                    out.extend(new_list(name, items, stmt))
                continue
            out.append(stmt)
        return out

    node.body = spelled(node.body)


def _runtime_call(node: Any, sd: str, names: tuple[str, ...]) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and node.func.attr in names \
        and isinstance(node.func.value, gast.Name) and node.func.value.id == sd


def _load(identifier: str) -> gast.Name:
    return gast.Name(id=identifier, ctx=gast.Load(), annotation=None, type_comment=None)


def _store(target: gast.expr) -> gast.expr:
    import copy

    target = copy.deepcopy(target)
    target.ctx = gast.Store()
    return target


def _sd_call(sd: str, attr: str, *args: gast.expr) -> gast.Call:
    return gast.Call(func=gast.Attribute(value=_load(sd), attr=attr, ctx=gast.Load()), args=list(args), keywords=[])


def _spelled(parsed: ParsedFunction, body: list, sd: str, fresh: _Fresh) -> list:
    out = []
    for stmt in body:
        for field_name in ("body", "orelse"):
            if isinstance(getattr(stmt, field_name, None), list):
                setattr(stmt, field_name, _spelled(parsed, getattr(stmt, field_name), sd, fresh))
        if isinstance(stmt, (gast.Assign, gast.Expr)):
            out.extend(gast.copy_location(s, stmt) for s in _spelled_statement(parsed, stmt, sd, fresh))
        else:
            out.append(stmt)
    return out


def _atom(value: gast.expr, base: str, before: list, fresh: _Fresh) -> gast.expr:
    """``value`` itself if it is a name or a constant, else a fresh name assigned to it in ``before``."""
    if isinstance(value, (gast.Name, gast.Constant)):
        return value
    temporary = fresh(base)
    before.append(gast.Assign(targets=[gast.Name(id=temporary, ctx=gast.Store(), annotation=None,
                                                 type_comment=None)], value=value, type_comment=None))
    return _load(temporary)


def _taken_back(call: gast.Call, target: gast.Name | None, sd: str, fresh: _Fresh) -> list:
    """``sd.uninsert(items, i)`` as ``items.pop(sd.uninsert_position(items, i))``; ``sd.unextend(items, n)`` as a
    loop of ``n`` pops whose values are put back in order into a new list (``sd.as_list_adjoint`` of it)."""
    items = call.args[0]

    def pop(*args: gast.expr) -> gast.Call:
        return gast.Call(func=gast.Attribute(value=_load(items.id), attr="pop", ctx=gast.Load()), args=list(args),
                         keywords=[])

    if call.func.attr == "uninsert":
        taken = pop(_sd_call(sd, "uninsert_position", _load(items.id), call.args[1]))
        return [assign(target.id, taken) if target is not None else gast.Expr(value=taken)]
    value, part = fresh("taken"), fresh("taken_items")
    put_back = gast.Call(func=gast.Attribute(value=_load(part), attr="insert", ctx=gast.Load()),
                         args=[gast.Constant(value=0, kind=None), _load(value)], keywords=[])
    loop = gast.For(target=gast.Name(id=fresh("_"), ctx=gast.Store(), annotation=None, type_comment=None),
                    iter=gast.Call(func=_load("range"), args=[call.args[1]], keywords=[]),
                    body=[assign(value, pop()), gast.Expr(value=put_back)], orelse=[], type_comment=None)
    out = [assign(part, gast.List(elts=[], ctx=gast.Load())), loop]
    if target is not None:
        out.append(assign(target.id, _sd_call(sd, "as_list_adjoint", _load(part))))
    return out


def _spelled_statement(parsed: ParsedFunction, stmt: gast.stmt, sd: str, fresh: _Fresh) -> list:
    call = stmt.value
    target = stmt.targets[0] if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 else None
    before: list = []
    if _runtime_call(call, sd, ("clear_at",)) and isinstance(stmt, gast.Expr):
        adjoint, index = call.args[0], _atom(call.args[1], "index", before, fresh)
        write = gast.Subscript(value=adjoint, slice=index, ctx=gast.Store())
        return before + [gast.Assign(targets=[_store(write)], value=_sd_call(sd, "cleared", adjoint, index),
                                     type_comment=None)]
    if isinstance(stmt, gast.Expr) and isinstance(call, gast.Call) and _runtime_call(call, sd, _CHECKS):
        return [gast.Assign(targets=[gast.Name(id=fresh("checked"), ctx=gast.Store(), annotation=None,
                                               type_comment=None)], value=call, type_comment=None)]
    if isinstance(stmt, gast.Expr) and _runtime_call(call, sd, ("restore_item",)):
        container, key = call.args[0], _atom(call.args[1], "key", before, fresh)
        write = gast.Subscript(value=container, slice=key, ctx=gast.Store())
        return before + [gast.Assign(targets=[_store(write)], value=_sd_call(sd, "restored_value", call.args[2]),
                                     type_comment=None)]
    if _runtime_call(call, sd, ("uninsert", "unextend")) and isinstance(call.args[0], gast.Name) and (
            target is None or isinstance(target, gast.Name)):
        spelled = _taken_back(call, target, sd, fresh)
        for node in (n for s in spelled for n in gast.walk(s) if isinstance(n, gast.stmt)):
            gast.copy_location(node, stmt)  # the loop's body too: every line is the call's
        return before + spelled
    if _runtime_call(call, sd, ("add_at", "unpop")) and (target is None or isinstance(target, gast.Name)):
        adjoint = _atom(call.args[0], "adjoint", before, fresh)
        if call.func.attr == "add_at":
            if isinstance(adjoint, gast.Name) and adjoint.id not in fresh.stacks:
                # a private copy, which can be written into (a tuple's adjoint becomes a list); a list that the
                # code appends to is made as a new list already (_lists_made_here)
                before.append(gast.Assign(targets=[_store(adjoint)], value=_sd_call(sd, "as_mutable", adjoint),
                                          type_comment=None))
            index = _atom(call.args[1], "index", before, fresh)
            write = gast.Subscript(value=adjoint, slice=index, ctx=gast.Store())
            before.append(gast.Assign(targets=[_store(write)], value=_sd_call(
                sd, "added_at", adjoint, index, call.args[2]), type_comment=None))
        else:
            position, value = call.args[1], call.args[2]
            if isinstance(position, gast.Constant) and position.value is None:
                grow = gast.Call(func=gast.Attribute(value=adjoint, attr="append", ctx=gast.Load()), args=[value],
                                 keywords=[])
            else:
                grow = gast.Call(func=gast.Attribute(value=adjoint, attr="insert", ctx=gast.Load()),
                                 args=[_sd_call(sd, "unpop_position", adjoint, position), value], keywords=[])
            before.append(gast.Expr(value=grow))
        if target is not None and not (isinstance(adjoint, gast.Name) and adjoint.id == target.id):
            before.append(gast.Assign(targets=[target], value=adjoint, type_comment=None))
        return before

    if _runtime_call(call, sd, ("assign_into", "restore")) and isinstance(target, gast.Name) \
            and isinstance(call.args[0], gast.Name) and call.args[0].id != target.id:
        # t = sd.assign_into(y, v) writes into y's object: bound back to y as well, so the analysis sees a write
        # into y, as it does for the user's y op= v (and y's tangent or adjoint follows it)
        return [gast.Assign(targets=[_store(call.args[0])], value=call, type_comment=None),
                assign(target.id, _load(call.args[0].id))]

    class Hoist(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if _runtime_call(node, sd, ("increment_adjoint",)):
                node.func.attr = "increment_part"
                return node
            if not _runtime_call(node, sd, _STORES) or not isinstance(node.args[0], gast.Name):
                return node
            args = list(node.args) + [k.value for k in node.keywords]
            adjoint = args[0]
            index = _atom(args[1], "index", before, fresh)
            array = args[3] if len(args) > 3 else gast.Constant(value=None, kind=None)
            part = fresh("written")
            before.append(gast.Assign(targets=[gast.Name(id=part, ctx=gast.Store(), annotation=None,
                                                         type_comment=None)],
                                      value=_sd_call(sd, "written_part", adjoint, index, array), type_comment=None))
            write = gast.Subscript(value=adjoint, slice=index, ctx=gast.Store())
            before.append(gast.Assign(targets=[_store(write)], value=_sd_call(sd, "cleared", adjoint, index),
                                      type_comment=None))
            if node.func.attr == "store_adjoint_to":
                return _sd_call(sd, "unbroadcast_to", _load(part), args[2])
            if isinstance(args[2], gast.Constant) and args[2].value is None:
                return _load(part)
            return _sd_call(sd, "unbroadcast", _load(part), args[2])

    stores = [n.args[0].id for n in gast.walk(call) if _runtime_call(n, sd, _STORES) and n.args
              and isinstance(n.args[0], gast.Name)]
    stmt = Hoist().visit(stmt)
    read_elsewhere = {n.id for n in gast.walk(stmt) if isinstance(n, gast.Name)} & set(stores)
    if read_elsewhere:  # the statement reads the adjoint besides the call: its order would change
        raise parsed.error(SourcediffError, "cannot differentiate this generated code again: it reads "
                           f"{sorted(read_elsewhere)[0]} in the statement that clears part of it", stmt,
                           "please report this with the function you differentiated")
    return before + [stmt]
