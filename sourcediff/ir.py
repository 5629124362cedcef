"""The core language's shared vocabulary: helpers on gast trees that every stage may use.

It imports no stage.
"""
from __future__ import annotations

import copy

import gast

COMMENT = "#sourcediff: "  # a string statement starting so is printed as a comment line


def comment(text: str) -> gast.Expr:
    """A statement that emit prints as a ``# text`` comment line."""
    return gast.Expr(value=gast.Constant(value=COMMENT + text, kind=None))


class _Unshare(gast.NodeTransformer):
    def __init__(self):
        self.seen: set[int] = set()

    def visit(self, node):
        if id(node) in self.seen:
            return copy.deepcopy(node)
        self.seen.add(id(node))
        return self.generic_visit(node)


def unshare(tree: gast.AST) -> gast.AST:
    """Make ``tree`` a tree: a node reached twice is replaced by a copy at its second place.

    Passes that rename or rewrite nodes in place (optimize, renumbering) would
    otherwise change both places at once.
    """
    return _Unshare().visit(tree)


class Update(gast.stmt):
    """A write into an object through an index, the one node kind for changing memory in the core language:
    ``array[index] = value`` when ``op`` is None, else ``array[index] op= value``.

    ``array`` is a Name (read: the object written into stays bound to it). A
    printer chooses the spelling: the NumPy printer writes Python's own
    ``x[i] = v`` / ``x_bar[i] += g`` (:func:`as_python`); a functional printer
    can write ``x = x.at[i].set(v)``.
    """

    _fields = ("array", "index", "op", "value")


def update(array: str, index: gast.expr, value: gast.expr, op: gast.operator | None = None,
           like: gast.AST | None = None) -> Update:
    """``array[index] = value`` (or ``op=``), at the source location of ``like``."""
    node = Update(array=gast.Name(id=array, ctx=gast.Load(), annotation=None, type_comment=None), index=index,
                  op=op, value=value)
    return gast.copy_location(node, like) if like is not None else node


class _AsPython(gast.NodeTransformer):
    def visit_Update(self, node: Update) -> gast.stmt:
        target = gast.Subscript(value=node.array, slice=node.index, ctx=gast.Store())
        if node.op is None:
            written = gast.Assign(targets=[target], value=node.value, type_comment=None)
        else:
            written = gast.AugAssign(target=target, op=node.op, value=node.value)
        return gast.copy_location(written, node)


def as_python(tree: gast.AST) -> gast.AST:
    """A copy of ``tree`` with every Update written as Python's in-place assignment (``x[i] = v``)."""
    return _AsPython().visit(copy.deepcopy(tree))


def number_statements(stmts: list[gast.stmt]) -> None:
    """Give every statement of ``stmts`` (nested ones too) that has none a stable id, in program order.

    Facts about statements are keyed by these ids. A statement keeps its id
    when the body around it is rewritten; new statements get the next ones.
    """
    found = list(walk_statements(stmts))
    start = max((getattr(s, "sid", -1) for s in found), default=-1) + 1
    for stmt in found:
        if getattr(stmt, "sid", None) is None:
            stmt.sid = start
            start += 1


def sid(stmt: gast.stmt) -> int:
    """The stable id of a core-language statement (see :func:`number_statements`)."""
    return stmt.sid


def index_value(index: gast.expr) -> gast.expr:
    """The value of a subscript's index as an expression: ``1:-1`` becomes ``slice(1, -1, None)``."""
    if isinstance(index, gast.Slice):
        parts = [gast.Constant(value=None, kind=None) if p is None else copy.deepcopy(p)
                 for p in (index.lower, index.upper, index.step)]
        return gast.Call(func=gast.Name(id="slice", ctx=gast.Load(), annotation=None, type_comment=None),
                         args=parts, keywords=[])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[index_value(e) for e in index.elts], ctx=gast.Load())
    return copy.deepcopy(index)


def loop_level(stmts: list[gast.stmt]):
    """The nodes of ``stmts``, not descending into nested loops' bodies."""
    stack = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (gast.For, gast.While, gast.FunctionDef, gast.Lambda)):
            continue
        stack.extend(gast.iter_child_nodes(node))


def walk_local(node: gast.AST):
    """The nodes of ``node``, not descending into nested functions and lambdas."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and isinstance(current, (gast.FunctionDef, gast.Lambda)):
            continue
        stack.extend(gast.iter_child_nodes(current))


def reads(node: gast.AST | None) -> list[str]:
    """Names read by an expression of the core language, in order."""
    if node is None:
        return []
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def target_of(stmt: gast.stmt) -> str | None:
    """The name an assignment binds (None for a store into an element, ``x[i] = v``)."""
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def stored(stmt: gast.stmt) -> tuple[str, gast.expr, gast.expr] | None:
    """``(array name, index, value)`` for the write ``x[index] = value``, else None."""
    if isinstance(stmt, Update) and stmt.op is None:
        return stmt.array.id, stmt.index, stmt.value
    return None


def appended(stmt: gast.stmt) -> tuple[str, gast.expr] | None:
    """``(list name, value)`` for ``lst.append(value)``, else None."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        func = stmt.value.func
        if isinstance(func, gast.Attribute) and func.attr == "append" and isinstance(func.value, gast.Name) \
                and len(stmt.value.args) == 1 and not stmt.value.keywords:
            return func.value.id, stmt.value.args[0]
    return None


def list_change(stmt: gast.stmt) -> tuple[str, str, list[gast.expr]] | None:
    """``(method, list name, arguments)`` for ``lst.extend(xs)``, ``lst.insert(i, v)`` and ``v = lst.pop(i)``."""
    call = stmt.value if isinstance(stmt, (gast.Expr, gast.Assign)) else None
    if not isinstance(call, gast.Call) or not isinstance(call.func, gast.Attribute) \
            or not isinstance(call.func.value, gast.Name) or call.keywords:
        return None
    method, args = call.func.attr, call.args
    if (method == "extend" and len(args) == 1 and isinstance(stmt, gast.Expr)) or \
            (method == "insert" and len(args) == 2 and isinstance(stmt, gast.Expr)) or \
            (method == "pop" and len(args) <= 1 and isinstance(stmt, gast.Assign) and target_of(stmt)):
        return method, call.func.value.id, list(args)
    return None


def blocks(stmt: gast.stmt) -> list[list[gast.stmt]]:
    """The nested statement lists of a compound statement."""
    if isinstance(stmt, gast.If):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, (gast.For, gast.While)):
        return [stmt.body]
    return []


def walk_statements(stmts: list[gast.stmt]):
    """Every statement of ``stmts`` and of the blocks nested in them, in program order."""
    for stmt in stmts:
        yield stmt
        for block in blocks(stmt):
            yield from walk_statements(block)


def assigned_names(stmts: list[gast.stmt]) -> set[str]:
    names = set()
    for stmt in walk_statements(stmts):
        target = target_of(stmt)
        if target is not None:
            names.add(target)
        if isinstance(stmt, gast.For):
            names.add(stmt.target.id)
    return names


def all_blocks(body: list[gast.stmt]) -> list[list[gast.stmt]]:
    """The function body and every statement list nested in it."""
    return [body] + [b for s in walk_statements(body) for b in blocks(s)]


def free_reads(stmts: list[gast.stmt]) -> set[str]:
    """Names the backward code reads, leaving out reads of a loop index inside its own loop."""
    found: set[str] = set()

    def visit(node, bound):
        if isinstance(node, gast.For):
            visit(node.iter, bound)
            inner = bound | {node.target.id}
            for s in node.body:
                visit(s, inner)
            return
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id not in bound:
            found.add(node.id)
        for child in gast.iter_child_nodes(node):
            visit(child, bound)
    for s in stmts:
        visit(s, frozenset())
    return found


def load_counts(body: list[gast.stmt]) -> dict[str, int]:
    """How often each name is read in the function."""
    loads: dict[str, int] = {}
    for stmt in walk_statements(body):
        for n in own_reads(stmt):
            loads[n] = loads.get(n, 0) + 1
    return loads


def own_reads(stmt: gast.stmt) -> list[str]:
    """The names a statement reads itself (a compound statement: its test or iterable, not its body)."""
    if isinstance(stmt, (gast.If, gast.While)):
        return reads(stmt.test)
    return reads(stmt.iter) if isinstance(stmt, gast.For) else reads(stmt)


def is_break_check(stmt: gast.stmt) -> bool:
    """``if flag: break``, the last statement of a loop body that has break or an early return."""
    return isinstance(stmt, gast.If) and len(stmt.body) == 1 and isinstance(stmt.body[0], gast.Break)
