"""Emit stage: turn a generated gast function into Python source and a live function.

The source text is deterministic (``ast.unparse``, fixed names, comment lines
restored) and registered in ``linecache`` under a stable file name, so
tracebacks, ``inspect.getsource`` and pdb show the generated code. The function
runs in the user's module globals (read live, so changed globals are seen) and
closes over the user's own closure cells; the runtime modules it needs (numpy,
math, the backend) are bound as closure variables of a small factory.
"""
from __future__ import annotations

import ast
import linecache
import math
import re
import textwrap
import types
from typing import Any, Callable

import gast

from .ir import COMMENT, as_python

_COMMENT_LINE = re.compile(r"^(\s*)(?:'|\"\"\")" + re.escape(COMMENT) + r"(.*?)(?:'|\"\"\")$", re.M)
FACTORY = "make_derivative"


def to_source(node: gast.FunctionDef) -> str:
    """Readable, deterministic Python source for a gast function (the NumPy printer: writes in place)."""
    tree = gast.gast_to_ast(gast.Module(body=[as_python(node)], type_ignores=[]))
    tree = _NegativeConstants().visit(tree)
    ast.fix_missing_locations(tree)
    text = ast.unparse(tree)
    return _COMMENT_LINE.sub(lambda m: f"{m.group(1)}# {m.group(2)}", text) + "\n"


def with_releases(source: str) -> str:
    """``source`` with each local let go after the top-level statement that reads it last: ``; del a, b`` ends
    that statement's line (or the next simple statement's, after a loop or a branch), so lines keep their numbers.

    What is compiled and registered in ``linecache``; ``.source`` shows the plain text. Arrays held to the end of
    a call cost page faults on every call under glibc's default malloc, which hands a freed heap top back to the
    system; let go as soon as they die, their memory is reused within the call.
    """
    function = ast.parse(source).body[0]
    arguments = function.args
    params = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
    params |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    nested = {n.id for sub in ast.walk(function) if isinstance(sub, (ast.Lambda, ast.FunctionDef)) and sub is not function
              for n in ast.walk(sub) if isinstance(n, ast.Name)}
    last: dict[str, int] = {}
    for k, stmt in enumerate(function.body):
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name):
                last[n.id] = k
    lines = source.split("\n")
    bound: set[str] = set()
    pending: list[str] = []
    for k, stmt in enumerate(function.body):
        if isinstance(stmt, ast.Assign):
            bound.update(n.id for target in stmt.targets for n in ast.walk(target)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        pending += sorted(n for n in bound - params - nested if last.get(n) == k)
        if pending and isinstance(stmt, (ast.Assign, ast.Expr)) and stmt.lineno == stmt.end_lineno:
            lines[stmt.end_lineno - 1] += f"; del {', '.join(pending)}"
            pending = []
    return "\n".join(lines)


class _NegativeConstants(ast.NodeTransformer):
    """A negative number as ``-(k)``, so that it prints with the parentheses it needs: ``(-0.5) ** 2``."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if type(value) in (int, float) and math.copysign(1, value) < 0:
            return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
        return node


def spell_library_calls(node: gast.FunctionDef, resolve: Callable[[gast.expr], Any],
                        spelling: Callable[[Any], str | None]) -> None:
    """Print each library call through the generated code's own names, whatever the user's spelling.

    ``resolve`` gives the object a non-local name or dotted chain refers to;
    ``spelling`` gives the dotted text to print for a module or function (None: keep
    the user's). ``numpy.cos(x)``, ``c(x)`` after ``from numpy import cos as c``
    and ``np.cos(x)`` all print as ``np.cos(x)``.
    """
    local = {a.id for a in node.args.args + node.args.posonlyargs + node.args.kwonlyargs}
    local |= {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load)}
    for call in [n for n in gast.walk(node) if isinstance(n, gast.Call)]:
        chain = [call.func]
        while isinstance(chain[-1], gast.Attribute):
            chain.append(chain[-1].value)
        if not isinstance(chain[-1], gast.Name) or chain[-1].id in local:
            continue
        for part in reversed(chain):  # the shortest prefix that is a module with a spelling, else the function
            text = spelling(resolve(part))
            if text is not None:
                dotted = gast.parse(text, mode="eval").body
                _replace(call, part, gast.copy_location(dotted, part) if hasattr(part, "lineno") else dotted)
                break


def _replace(call: gast.Call, part: gast.expr, new: gast.expr) -> None:
    if call.func is part:
        call.func = new
        return
    holder = call.func
    while holder.value is not part:
        holder = holder.value
    holder.value = new


def compile_function(source: str, name: str, filename: str, user_function: Callable,
                     runtime: dict[str, Any]) -> Callable:
    """Compile ``source`` (one ``def name``) into a function bound to the user's namespace."""
    code = user_function.__code__
    cells = dict(zip(code.co_freevars, user_function.__closure__ or ()))
    free = sorted(set(runtime) | set(cells))
    factory_source = (f"def {FACTORY}({', '.join(free)}):\n" + textwrap.indent(source, "    ")
                      + f"    return {name}\n")
    lines = factory_source.splitlines(keepends=True)
    filename = _unclaimed(filename, lines)
    linecache.cache[filename] = (len(factory_source), None, lines, filename)
    namespace: dict[str, Any] = {}
    exec(compile(factory_source, filename, "exec"), namespace)
    placeholder = namespace[FACTORY](*[runtime.get(n) for n in free])
    closure = []
    for var in placeholder.__code__.co_freevars:
        if var in cells:
            closure.append(cells[var])
        elif isinstance(runtime[var], types.CellType):  # another derivative, maybe still being built
            closure.append(runtime[var])
        else:
            closure.append(types.CellType(runtime[var]))
    function = types.FunctionType(placeholder.__code__, user_function.__globals__, name,
                                  placeholder.__defaults__, tuple(closure) or None)
    function.__kwdefaults__ = placeholder.__kwdefaults__
    function.__qualname__ = name
    return function


def _unclaimed(filename: str, lines: list[str]) -> str:
    """``filename``, or ``filename`` numbered where another text holds it: two functions with one qualified name
    (a notebook cell run again, a rule's glue named like the rule) must not read each other's code back."""
    candidate, k = filename, 1
    while candidate in linecache.cache and linecache.cache[candidate][2] != lines:
        k += 1
        candidate = f"{filename[:-1]} #{k}>"
    return candidate


def registered_name(user_function: Callable, mode: str, wrt: tuple[str, ...], scalars: frozenset[str],
                    arrays: frozenset[tuple[str, int, str]] = frozenset()) -> str:
    """A stable ``linecache`` name for a generated function."""
    module = getattr(user_function, "__module__", None) or "?"
    qualname = getattr(user_function, "__qualname__", user_function.__name__)
    kinds = f" scalars {','.join(sorted(scalars))}" if scalars else ""
    described = [f"{p}:{ndim}d" + (f"~{twin}" if twin != p else "") for p, ndim, twin in sorted(arrays)]
    kinds += f" arrays {','.join(described)}" if arrays else ""
    return f"<sourcediff {mode} of {module}.{qualname} wrt {','.join(wrt) or '-'}{kinds}>"


_TEMPORARY = re.compile(r"^t(\d+)$")
_TEMPORARY_ADJOINT = re.compile(r"^(t\d+)(_bar\d*|_dot\d*(?:_\d+)?|_shape\d*)$")


def is_temporary(identifier: str, user_names: set[str]) -> bool:
    """Whether ``identifier`` is a temporary of the lowering (``t3``) or its tangent (``t3_dot``), not a user's name."""
    match = _TEMPORARY.match(identifier) or _TEMPORARY_ADJOINT.match(identifier)
    return bool(match) and identifier not in user_names


def renumber_temporaries(node: gast.FunctionDef, user_names: set[str],
                         mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Rename temporaries ``t<k>`` (and their adjoints) to ``t1, t2, ...`` in order of appearance.

    Pass the mapping returned for one half of a forward/backward pair to the other
    half, so that a temporary keeps one name in both.
    """
    names = list({id(n): n for n in gast.walk(node) if isinstance(n, gast.Name)}.values())  # each node once
    if mapping is not None:
        for n in names:
            match = _TEMPORARY_ADJOINT.match(n.id)
            if n.id in mapping:
                n.id = mapping[n.id]
            elif match and match.group(1) in mapping:
                n.id = mapping[match.group(1)] + match.group(2)
        return mapping
    order: list[str] = []
    for stmt in [node.args] + node.body:
        for n in gast.walk(stmt):
            if isinstance(n, gast.Name) and _TEMPORARY.match(n.id) and n.id not in user_names and n.id not in order:
                order.append(n.id)
    mapping: dict[str, str] = {}
    k = 0
    for old in order:
        k += 1
        while f"t{k}" in user_names:
            k += 1
        mapping[old] = f"t{k}"
    for n in names:
        match = _TEMPORARY_ADJOINT.match(n.id)
        if match and match.group(1) not in mapping and match.group(1) not in user_names:
            k += 1  # an adjoint whose primal does not appear here (a backward half's seed)
            while f"t{k}" in user_names:
                k += 1
            mapping[match.group(1)] = f"t{k}"
        if match and match.group(1) in mapping:
            mapping[n.id] = mapping[match.group(1)] + match.group(2)
    if set(mapping.values()) & user_names:
        return {}
    for n in names:
        if n.id in mapping:
            n.id = mapping[n.id]
    return mapping
