"""Optimize stage: simplify generated code without changing what it computes.

* constant folding: ``2 * 3`` becomes ``6``; ``e * 1``, ``e / 1``, ``e ** 1``
  and ``-(-e)`` become ``e``; ``a + -b`` becomes ``a - b``; the power rule
  ``sd.power_rule(x, k)`` with a constant ``k`` becomes ``k * x ** (k - 1)``;
* negation folding: ``a = -b`` read once, by ``c = a * k`` with a constant
  ``k``, becomes ``c = b * -k`` (one pass over an array instead of two);
* copy propagation: ``a_bar = b_bar`` followed by reads of ``a_bar`` reads
  ``b_bar`` directly, when ``a_bar`` is assigned once and ``b_bar`` is not
  reassigned before those reads;
* dead code: pure assignments whose target is never read again are removed
  (the zero-adjoint removal happens earlier: untouched adjoints never exist).

Each pass works on one straight-line list of statements.
"""
from __future__ import annotations

import copy

import operator

import gast

_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul, gast.Div: operator.truediv,
         gast.Pow: operator.pow}


def _is_number(node: gast.AST, value=None) -> bool:
    if not isinstance(node, gast.Constant) or isinstance(node.value, bool) \
            or not isinstance(node.value, (int, float)):
        return False
    return value is None or node.value == value


class _Fold(gast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        if _is_number(left) and _is_number(right) and type(node.op) in _FOLD:
            try:
                return gast.Constant(value=_FOLD[type(node.op)](left.value, right.value), kind=None)
            except (ArithmeticError, ValueError, OverflowError):
                return node
        if isinstance(node.op, (gast.Mult, gast.Div, gast.Pow)) and _is_number(right, 1):
            return left
        if isinstance(node.op, gast.Mult) and _is_number(left, 1):
            return right
        if isinstance(node.op, gast.Add) and isinstance(right, gast.UnaryOp) and isinstance(right.op, gast.USub):
            return gast.BinOp(left=left, op=gast.Sub(), right=right.operand)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, gast.Attribute) and func.attr == "power_rule" and len(node.args) == 2 \
                and _is_number(node.args[1]) and node.args[1].value != 0:
            # d(x ** k)/dx for a constant k: k * x ** (k - 1)
            base, k = node.args[0], node.args[1].value
            power = self.visit(gast.BinOp(left=base, op=gast.Pow(), right=gast.Constant(value=k - 1, kind=None)))
            return self.visit(gast.BinOp(left=gast.Constant(value=k, kind=None), op=gast.Mult(), right=power))
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.USub):
            inner = node.operand
            if isinstance(inner, gast.UnaryOp) and isinstance(inner.op, gast.USub):
                return inner.operand
            if _is_number(inner):
                return gast.Constant(value=-inner.value, kind=None)
        return node


def fold_constants(stmts: list[gast.stmt]) -> list[gast.stmt]:
    return [_Fold().visit(s) for s in stmts]


def _loads(node: gast.AST) -> list[str]:
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def _assigned(stmt: gast.stmt) -> str | None:
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def _rename_loads(node: gast.AST, old: str, new: str) -> None:
    for sub in gast.walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Load) and sub.id == old:
            sub.id = new


def _stores(node: gast.AST) -> list[str]:
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]


def _nested_blocks(stmt: gast.stmt) -> list[list[gast.stmt]]:
    if isinstance(stmt, gast.If):
        return [stmt.body, stmt.orelse] if stmt.orelse else [stmt.body]
    if isinstance(stmt, (gast.For, gast.While)):
        return [stmt.body]
    return []


def propagate_copies(stmts: list[gast.stmt], candidates: set[str]) -> list[gast.stmt]:
    """Replace reads of ``a`` by ``b`` after ``a = b`` for ``a`` in ``candidates``.

    Works inside branches and loop bodies too, when every read of ``a`` in the
    whole function follows the copy in the same block.
    """
    whole = gast.Module(body=stmts, type_ignores=[])
    store_counts: dict[str, int] = {}
    load_counts: dict[str, int] = {}
    for sub in gast.walk(whole):
        if isinstance(sub, gast.Name):
            counts = store_counts if isinstance(sub.ctx, gast.Store) else load_counts
            counts[sub.id] = counts.get(sub.id, 0) + 1
    return _propagate_block(list(stmts), candidates, store_counts, load_counts)


def _propagate_block(stmts: list[gast.stmt], candidates: set[str], store_counts: dict[str, int],
                     load_counts: dict[str, int]) -> list[gast.stmt]:
    for stmt in stmts:
        for block in _nested_blocks(stmt):
            block[:] = _propagate_block(block, candidates, store_counts, load_counts) or [gast.Pass()]
    i = 0
    while i < len(stmts):
        stmt = stmts[i]
        target = _assigned(stmt)
        if target in candidates and store_counts.get(target) == 1 and isinstance(stmt.value, gast.Name):
            source = stmt.value.id
            uses = [j for j in range(i + 1, len(stmts)) if target in _loads(stmts[j])]
            last = uses[-1] if uses else i
            local_loads = sum(_loads(stmts[j]).count(target) for j in uses)
            # the source keeps its value until the last read of the copy; a read in the simple
            # statement that reassigns the source is still fine (its rhs is evaluated first)
            changed = any(source in _stores(stmts[j]) for j in range(i + 1, last))
            changed |= last > i and source in _stores(stmts[last]) and _assigned(stmts[last]) is None
            if local_loads == load_counts.get(target, 0) and not changed:
                for j in uses:
                    _rename_loads(stmts[j], target, source)
                load_counts[source] = load_counts.get(source, 0) + local_loads - 1
                store_counts[target] = 0
                del stmts[i]
                continue
        i += 1
    return stmts


def fold_negations(stmts: list[gast.stmt], candidates: set[str]) -> list[gast.stmt]:
    """``a = -b; c = a * k`` (k a number, ``a`` in ``candidates`` and read only there) becomes ``c = b * -k``."""
    whole = gast.Module(body=stmts, type_ignores=[])
    stores = _stores(whole)
    loads = _loads(whole)
    return _fold_negations_block(list(stmts), candidates, stores, loads)


def _fold_negations_block(stmts: list[gast.stmt], candidates: set[str], stores: list[str],
                          loads: list[str]) -> list[gast.stmt]:
    for stmt in stmts:
        for block in _nested_blocks(stmt):
            block[:] = _fold_negations_block(block, candidates, stores, loads)
    i = 0
    while i < len(stmts):
        stmt = stmts[i]
        target = _assigned(stmt)
        value = stmt.value if target is not None else None
        if target in candidates and stores.count(target) == 1 and loads.count(target) == 1 \
                and isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub) \
                and isinstance(value.operand, gast.Name):
            source = value.operand.id
            use = next((j for j in range(i + 1, len(stmts)) if target in _loads(stmts[j])), None)
            product = stmts[use].value if use is not None and _assigned(stmts[use]) is not None else None
            if isinstance(product, gast.BinOp) and isinstance(product.op, gast.Mult) \
                    and not any(source in _stores(stmts[j]) for j in range(i + 1, use)):
                factor = product.right if _is_name(product.left, target) else \
                    product.left if _is_name(product.right, target) else None
                if factor is not None and _is_number(factor):
                    stmts[use].value = gast.BinOp(left=gast.Name(id=source, ctx=gast.Load(), annotation=None,
                                                                 type_comment=None),
                                                  op=gast.Mult(), right=gast.Constant(value=-factor.value, kind=None))
                    del stmts[i]
                    continue
        i += 1
    return stmts


def _is_name(node: gast.AST, identifier: str) -> bool:
    return isinstance(node, gast.Name) and node.id == identifier


def _pure(node: gast.AST, pure_roots: set[str]) -> bool:
    for sub in gast.walk(node):
        if isinstance(sub, gast.Call):
            func = sub.func
            while isinstance(func, gast.Attribute):
                func = func.value
            if not (isinstance(func, gast.Name) and func.id in pure_roots):
                return False
    return True


def remove_dead_code(stmts: list[gast.stmt], pure_roots: set[str], keep: set[str] = frozenset()) -> list[gast.stmt]:
    """Drop pure assignments (and no-op copies ``a = a``) whose target is not read later.

    In a branch or loop body an assignment goes only when nothing in the function reads its target.
    """
    stmts = list(stmts)
    changed = True
    while changed:
        changed = False
        loaded = set(_loads(gast.Module(body=stmts, type_ignores=[]))) | set(keep)
        for stmt in stmts:
            for block in _nested_blocks(stmt):
                kept = [s for s in block if not _removable(s, loaded, pure_roots)] or [gast.Pass()]
                if len(kept) != len(block) or type(kept[0]) is not type(block[0]):
                    block[:] = kept
                    changed = True
            if isinstance(stmt, gast.If) and len(stmt.orelse) == 1 and isinstance(stmt.orelse[0], gast.Pass):
                stmt.orelse = []
        live = set(keep)
        kept: list[gast.stmt] = []
        for stmt in reversed(stmts):
            target = _assigned(stmt)
            if target is not None and isinstance(stmt.value, gast.Name) and stmt.value.id == target:
                changed = True
                continue
            if target is not None and target not in live and _pure(stmt.value, pure_roots):
                changed = True
                continue
            if target is not None:
                live.discard(target)
            live.update(_loads(stmt))
            kept.append(stmt)
        stmts = list(reversed(kept))
    return stmts


def _removable(stmt: gast.stmt, loaded: set[str], pure_roots: set[str]) -> bool:
    target = _assigned(stmt)
    if target is None:
        return isinstance(stmt, gast.Pass)
    if isinstance(stmt.value, gast.Name) and stmt.value.id == target:
        return True
    return target not in loaded and _pure(stmt.value, pure_roots)


def optimize_backward(stmts: list[gast.stmt], adjoint_names: set[str], pure_roots: set[str],
                      keep: set[str] = frozenset()) -> list[gast.stmt]:
    """Run every pass over the backward pass (and the return that follows it)."""
    stmts = fold_constants(stmts)
    stmts = fold_negations(stmts, adjoint_names)
    stmts = propagate_copies(stmts, adjoint_names)
    return remove_dead_code(stmts, pure_roots, keep)


def inline_single_use(stmts: list[gast.stmt], candidates: set[str], pure_roots: set[str]) -> list[gast.stmt]:
    """``a = expr; ...; b = f(a)`` becomes ``b = f(expr)`` for ``a`` in ``candidates`` assigned once and read once
    in the function, in a later statement of the same block, when ``expr`` is pure and the statements in
    between are pure assignments to names ``expr`` does not read."""
    module = gast.Module(body=stmts, type_ignores=[])
    loads: dict[str, int] = {}
    for n in _loads(module):
        loads[n] = loads.get(n, 0) + 1
    stores: dict[str, int] = {}
    for n in _stores(module):
        stores[n] = stores.get(n, 0) + 1
    once = {n for n in candidates if loads.get(n) == 1 and stores.get(n) == 1}
    return _inline_block(stmts, once, pure_roots)


def _inline_block(stmts: list[gast.stmt], once: set[str], pure_roots: set[str]) -> list[gast.stmt]:
    for stmt in stmts:
        for block in _nested_blocks(stmt):
            block[:] = _inline_block(block, once, pure_roots) or [gast.Pass()]
    out = list(stmts)
    i = len(out) - 1
    while i >= 0:
        stmt = out[i]
        target = _assigned(stmt)
        if target in once and _pure(stmt.value, pure_roots):
            reads = set(_loads(stmt.value))
            for j in range(i + 1, len(out)):
                later = out[j]
                own = _own_loads(later)
                if target in own and not isinstance(later, gast.While):  # a loop's test runs again and again
                    _replace_load(later, target, stmt.value)
                    del out[i]
                    break
                later_target = _assigned(later)
                if later_target is None or later_target in reads or not _pure(later.value, pure_roots) \
                        or target in _loads(later):
                    break
        i -= 1
    return out


def _own_loads(stmt: gast.stmt) -> list[str]:
    """The names a statement reads itself (for a compound statement: its test or iterable)."""
    if isinstance(stmt, (gast.If, gast.While)):
        return _loads(stmt.test)
    if isinstance(stmt, gast.For):
        return _loads(stmt.iter)
    return _loads(stmt)


def _replace_load(stmt: gast.stmt, identifier: str, value: gast.expr) -> None:
    where = stmt.test if isinstance(stmt, (gast.If, gast.While)) else stmt.iter if isinstance(stmt, gast.For) \
        else stmt

    class Replace(gast.NodeTransformer):
        def visit_Name(self, node):
            if node.id == identifier and isinstance(node.ctx, gast.Load):
                return value
            return node

    replaced = Replace().visit(where)
    if isinstance(stmt, (gast.If, gast.While)):
        stmt.test = replaced
    elif isinstance(stmt, gast.For):
        stmt.iter = replaced


class _FoldPowerRules(gast.NodeTransformer):
    """Only ``sd.power_rule(x, k)`` for a number ``k``, as ``k * x ** (k - 1)`` folded: always a new value."""

    def visit_Call(self, node):
        self.generic_visit(node)
        folded = _Fold().visit_Call(copy.deepcopy(node))
        return folded if isinstance(folded, (gast.BinOp, gast.Constant)) else node


def _fold_keeping_objects(stmts: list[gast.stmt]) -> list[gast.stmt]:
    """The power rules of constant exponents folded; nothing else, since ``x * 1.0`` is a new array and ``x``
    is not (and ``sd.fit_tangent(x_dot, y)`` may give back ``x_dot``)."""
    return [_FoldPowerRules().visit(s) for s in stmts]


def optimize_forward(stmts: list[gast.stmt], temporaries: set[str], tangents: set[str],
                     pure_roots: set[str]) -> list[gast.stmt]:
    """Run the passes that suit forward-mode code: power rules of constant exponents folded, single-use
    temporaries inlined, tangents nothing reads dropped."""
    stmts = _fold_keeping_objects(stmts)
    stmts = inline_single_use(stmts, temporaries, pure_roots)
    primal = set(_stores(gast.Module(body=stmts, type_ignores=[]))) - set(tangents)
    return remove_dead_code(stmts, pure_roots, keep=primal)
