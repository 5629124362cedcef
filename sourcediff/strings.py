"""Strings in differentiated code: they carry no gradient, so their operations are non-differentiable.

The lowering rewrites the string operations it can tell apart into calls of ``str``'s own methods, which
the rule library declares non-differentiable by identity (``rules/python.py``):

* an f-string ``f"w{i}:{x:.3f}"`` becomes ``str.format("w{}:{:.3f}", i, x)``;
* a method of a string, ``label.upper()`` or ``"_".join(parts)``, becomes ``str.upper(label)``;
* ``"%.2f" % x`` becomes ``str.__mod__("%.2f", x)``.

A receiver is a string when it is a string literal, an f-string, the result of ``str``/``repr``/
``format``/``ascii``/``chr``, of a string operation on a string, a parameter annotated ``str``, or a
local name that every assignment gives a string (:func:`string_names`). ``str.upper(x)`` raises if ``x``
is not a string after all, so a method of another type of the same name is never taken for a string's.
A method call on a receiver that cannot be told a string keeps the method table (refused if it would
carry a gradient).
"""
from __future__ import annotations

import builtins

import gast

from .parse import ParsedFunction

STRING_METHODS = frozenset(n for n in dir(str) if not n.startswith("_") and n != "maketrans")
"""The public methods of ``str`` (``maketrans`` is a static method); ``rules/python.py`` declares each
non-differentiable."""

_STRING_RESULTS = STRING_METHODS - {
    "count", "find", "rfind", "index", "rindex", "split", "rsplit", "splitlines", "partition", "rpartition",
    "encode", "startswith", "endswith"} - {n for n in STRING_METHODS if n.startswith("is")}
"""The methods whose result is a string again."""

_STRING_FUNCTIONS = (builtins.str, builtins.repr, builtins.format, builtins.ascii, builtins.chr)

_CONVERSIONS = {-1: "", ord("s"): "!s", ord("r"): "!r", ord("a"): "!a"}


def format_call(joined: gast.JoinedStr) -> tuple[str, list[gast.expr]]:
    """The template and the values of ``str.format`` that give the f-string ``joined``'s text."""
    values: list[gast.expr] = []

    def template(node: gast.JoinedStr) -> str:
        out = []
        for part in node.values:
            if isinstance(part, gast.Constant):
                out.append(str(part.value).replace("{", "{{").replace("}", "}}"))
                continue
            values.append(part.value)
            spec = "" if part.format_spec is None else ":" + template(part.format_spec)
            out.append("{" + _CONVERSIONS[part.conversion] + spec + "}")
        return "".join(out)

    return template(joined), values


def string_names(parsed: ParsedFunction) -> frozenset[str]:
    """The local names that hold only strings: parameters annotated ``str``, and names every assignment of
    which gives a string (also the targets of ``for name in ("a", "b")``)."""
    node = parsed.node
    args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
    annotated = {a.id for a in args if _is_str_annotation(a.annotation)}
    bindings: dict[str, list[gast.expr | None]] = {}  # None: a binding that may not be a string
    for sub in gast.walk(node):
        if isinstance(sub, gast.Assign):
            for target in sub.targets:
                _note(bindings, target, sub.value)
        elif isinstance(sub, gast.AnnAssign):
            _note(bindings, sub.target, sub.value)
        elif isinstance(sub, gast.AugAssign):
            if isinstance(sub.target, gast.Name):
                bindings.setdefault(sub.target.id, []).append(
                    gast.BinOp(left=sub.target, op=sub.op, right=sub.value))
        elif isinstance(sub, (gast.For, gast.comprehension)):
            literal = isinstance(sub.iter, (gast.List, gast.Tuple)) and sub.iter.elts and all(
                isinstance(e, gast.Constant) and isinstance(e.value, str) for e in sub.iter.elts)
            _note(bindings, sub.target, gast.Constant(value="", kind=None) if literal else None)
        elif isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Param):  # this function's or a nested one's
            bindings.setdefault(sub.id, []).append(gast.Constant(value="", kind=None) if any(
                sub is a for a in args) and sub.id in annotated else None)
        elif isinstance(sub, gast.Name) and isinstance(sub.ctx, (gast.Store, gast.Del)):
            bindings.setdefault(sub.id, [])
    known = {n for n, values in bindings.items() if values and all(v is not None for v in values)}
    while True:  # drop the names one of whose values is not known to be a string, until none changes
        kept = {n for n in known if all(is_string(v, known, parsed) for v in bindings[n])}
        if kept == known:
            return frozenset(known)
        known = kept


def _note(bindings: dict, target: gast.expr, value: gast.expr | None) -> None:
    if isinstance(target, gast.Name):
        bindings.setdefault(target.id, []).append(value)
    elif isinstance(target, (gast.Tuple, gast.List)):
        for element in target.elts:  # unpacking: not followed
            _note(bindings, element, None)


def _is_str_annotation(annotation: gast.expr | None) -> bool:
    return (isinstance(annotation, gast.Name) and annotation.id == "str") or (
        isinstance(annotation, gast.Constant) and annotation.value == "str")


def is_string(expr: gast.expr | None, names: frozenset[str] | set[str], parsed: ParsedFunction) -> bool:
    """Whether ``expr`` gives a string, as far as its syntax shows (``names``: local names holding strings)."""
    if isinstance(expr, gast.Constant):
        return isinstance(expr.value, str)
    if isinstance(expr, gast.JoinedStr):
        return True
    if isinstance(expr, gast.Name):
        return expr.id in names or isinstance(parsed.lookup_name(expr.id), str)  # a local, or a module's constant
    if isinstance(expr, gast.BinOp):
        if isinstance(expr.op, gast.Add):
            return is_string(expr.left, names, parsed) and is_string(expr.right, names, parsed)
        if isinstance(expr.op, (gast.Mod, gast.Mult)):
            return is_string(expr.left, names, parsed)
        return False
    if isinstance(expr, gast.IfExp):
        return is_string(expr.body, names, parsed) and is_string(expr.orelse, names, parsed)
    if isinstance(expr, gast.Call):
        func = expr.func
        if isinstance(func, gast.Name) and any(parsed.lookup_name(func.id) is f for f in _STRING_FUNCTIONS):
            return True
        return isinstance(func, gast.Attribute) and func.attr in _STRING_RESULTS \
            and is_string(func.value, names, parsed)
    return False


def str_is_the_builtin(parsed: ParsedFunction) -> bool:
    """Whether the name ``str`` means the builtin in ``parsed`` (the rewrites call ``str.<method>``)."""
    return parsed.lookup_name("str") is builtins.str
