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

from .errors import SourceNotFoundError, SourcediffError

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
    parsed.local_names = _local_names(node)
    return parsed


def _local_names(node: gast.FunctionDef) -> set[str]:
    names = {a.id for a in node.args.args + node.args.posonlyargs + node.args.kwonlyargs}
    for extra in (node.args.vararg, node.args.kwarg):
        if extra is not None:
            names.add(extra.id)
    for sub in gast.walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, (gast.Store, gast.Del)):
            names.add(sub.id)
    return names
