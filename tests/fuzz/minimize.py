"""Shrink a failing program while it keeps failing the same way.

The minimizer works on the ``ast`` of the module and of the argument
expression, greedily: it tries a candidate edit, keeps it if the oracle still
reports the same failure (same outcome kind and check; for a crash, the same
exception type and normalized message), and repeats until no edit helps or
the time is up. Edits:
delete statements (whole helpers too), replace a compound statement by its
body, replace an expression by one of its parts or by a constant, shorten
loops, drop unused parameters, and shorten the argument arrays.
"""
from __future__ import annotations

import ast
import copy
import time
from typing import Callable, Iterator

from .oracle import Oracle, Outcome
from .program import Program


def same_failure(original: Outcome, candidate: Outcome) -> bool:
    """Whether ``candidate`` fails like ``original``: same kind and check, in the same mode (a forward-mode
    failure is looked for in ``candidate.forward``); a crash, refusal or mode mismatch, with the same
    exception type and normalized message (so that shrinking does not drift to another bug)."""
    candidate = candidate.part(original.mode)
    if candidate is None or candidate.kind != original.kind:
        return False
    if original.kind in ("crashed", "refused", "mode-mismatch"):
        return candidate.reason == original.reason  # the exception type and its normalized message
    return candidate.check == original.check


def minimize(program: Program, outcome: Outcome, oracle: Oracle | None = None, seconds: float = 60.0,
             use_jax: bool = True) -> tuple[Program, Outcome]:
    """The smallest program found (and its outcome) that still fails like ``outcome``.

    After an edit succeeds, the next round starts from the same candidate
    position (deleting statement 7 is likely followed by deleting statement 6),
    and programs already tried are not run again.
    """
    if outcome.kind in ("passed", "invalid", "skipped"):
        return program, outcome
    oracle = oracle or Oracle(use_jax=use_jax, checks=_oracle_checks(outcome), timeout=10.0)
    deadline = time.monotonic() + seconds
    again = oracle.run(program)
    if not same_failure(outcome, again):
        return program, again.part(outcome.mode) or again  # it does not fail like that (any more)
    best, best_outcome = _canonical(program, oracle, outcome)
    tried: set[tuple] = set()
    start = 0
    while time.monotonic() < deadline:
        improved = False
        for position, candidate in _rotated(best, start):
            key = (candidate.source, candidate.args_source, candidate.argnums)
            if key in tried or _size(candidate) >= _size(best):
                continue
            if time.monotonic() > deadline:
                break
            tried.add(key)
            result = oracle.run(candidate)
            if same_failure(outcome, result):
                best, best_outcome, improved, start = candidate, result, True, position
                break
        if not improved:
            break
    return best.replace(features=frozenset()), best_outcome.part(outcome.mode) or best_outcome


def _rotated(program: Program, start: int) -> Iterator[tuple[int, Program]]:
    """The candidates of ``program`` from position ``start`` on, then those before it."""
    for position, candidate in enumerate(_candidates(program)):
        if position >= start:
            yield position, candidate
    for position, candidate in enumerate(_candidates(program)):
        if position >= start:
            return
        yield position, candidate


def _oracle_checks(outcome: Outcome) -> str | None:
    """The oracle work a failure needs (``Oracle(checks=...)``): a crash in grad needs no finite differences;
    a forward-mode failure needs reverse mode only to call ``grad`` and ``vjp``, a mismatch all of it."""
    if outcome.kind in ("crashed", "refused") and outcome.check == "grad":
        return "grad"
    if outcome.mode == "forward" and outcome.check.startswith("jvp accepted"):
        return None  # reverse mode's refusal may come from any of its checks (grad again: other arguments)
    if outcome.mode in ("hessian", "composition"):
        return "hessian"  # the second-order checks run together, on the same finite differences
    return outcome.check or None


def _canonical(program: Program, oracle: Oracle, outcome: Outcome) -> tuple[Program, Outcome]:
    """The program re-printed by ``ast.unparse`` (comments dropped), if it still fails the same way."""
    text = ast.unparse(ast.parse(program.source)) + "\n"
    candidate = program.replace(source=text)
    result = oracle.run(candidate)
    return (candidate, result) if same_failure(outcome, result) else (program, outcome)


def _size(program: Program) -> tuple[int, int, int]:
    """Node count (arguments' text included), then the loop counts and ints, then the text length."""
    module = ast.parse(program.source)
    args = ast.parse(program.args_source, mode="eval")
    counts = sum(n.value for tree in (module, args) for n in ast.walk(tree)
                 if isinstance(n, ast.Constant) and type(n.value) is int)
    return (sum(1 for _ in ast.walk(module)) + sum(1 for _ in ast.walk(args)), counts, len(program.source))


# -- candidate programs ----------------------------------------------------------------------------

def _candidates(program: Program) -> Iterator[Program]:
    """Smaller variants of ``program``, the most promising (largest cuts) first."""
    module = ast.parse(program.source)
    args = ast.parse(program.args_source, mode="eval")
    for make in (_drop_statements, _unwrap_compounds, _drop_parameters, _shorten_loops, _shrink_arrays,
                 _simplify_expressions, _drop_imports):
        for edited_module, edited_args, argnums in make(module, args, program.argnums):
            ast.fix_missing_locations(edited_module)
            yield program.replace(source=ast.unparse(edited_module) + "\n",
                                  args_source=ast.unparse(edited_args), argnums=argnums)


def _fresh(module: ast.Module, index: int) -> tuple[ast.Module, ast.AST]:
    """A deep copy of ``module`` and its ``index``-th node in ``ast.walk`` order."""
    clone = copy.deepcopy(module)
    return clone, list(ast.walk(clone))[index]


def _statement_lists(module: ast.Module) -> Iterator[tuple[int, str, list]]:
    for index, node in enumerate(ast.walk(module)):
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield index, name, block


def _drop_statements(module, args, argnums):
    """Delete a run of statements (halves first, then single ones), never ``def f`` itself."""
    for index, name, block in _statement_lists(module):
        size = len(block)
        spans = [(0, size // 2), (size // 2, size)] if size >= 4 else []
        spans += [(i, i + 1) for i in reversed(range(size))]
        for start, stop in spans:
            clone, node = _fresh(module, index)
            target = getattr(node, name)
            removed = target[start:stop]
            entry = any(isinstance(s, ast.FunctionDef) and s.name == "f" for s in removed)
            imports = all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in removed)
            if entry or (isinstance(node, ast.Module) and imports):
                continue
            del target[start:stop]
            if not target and not isinstance(node, ast.Module):
                target.append(ast.Pass())
            yield clone, args, argnums


def _unwrap_compounds(module, args, argnums):
    """Replace ``if``/``for``/``while`` by its body or its ``else`` branch."""
    for index, name, block in _statement_lists(module):
        for position, stmt in enumerate(block):
            if not isinstance(stmt, (ast.If, ast.For, ast.While)):
                continue
            for branch in ("body", "orelse"):
                if not getattr(stmt, branch):
                    continue
                clone, node = _fresh(module, index)
                target = getattr(node, name)
                replacement = getattr(target[position], branch)
                target[position:position + 1] = replacement
                yield clone, args, argnums


def _drop_parameters(module, args, argnums):
    """Remove a parameter of ``f`` that the body no longer reads, with its argument."""
    entry = _entry(module)
    if entry is None or not isinstance(args.body, ast.Tuple):
        return
    read = {n.id for n in ast.walk(entry) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    chosen = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i, param in enumerate(entry.args.args):
        if param.arg in read or (isinstance(argnums, int) and argnums == i) or chosen == (i,):
            continue
        clone = copy.deepcopy(module)
        clone_entry = _entry(clone)
        passed = len(entry.args.args) - len(entry.args.defaults)
        del clone_entry.args.args[i]
        if i >= passed:
            del clone_entry.args.defaults[i - passed]
        new_args = copy.deepcopy(args)
        if i < len(new_args.body.elts):
            del new_args.body.elts[i]
        if isinstance(argnums, int):
            new_argnums = argnums - (argnums > i)
        else:
            new_argnums = tuple(a - (a > i) for a in argnums if a != i)
        yield clone, new_args, new_argnums


def _shorten_loops(module, args, argnums):
    """``range(k)`` with a literal k > 1 becomes ``range(1)``; int arguments become 1."""
    for index, node in enumerate(ast.walk(module)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
            for j, arg in enumerate(node.args):
                if isinstance(arg, ast.Constant) and isinstance(arg.value, int) and arg.value > 1:
                    clone, call = _fresh(module, index)
                    call.args[j] = ast.Constant(1 if len(node.args) == 1 else arg.value - 1)
                    yield clone, args, argnums
    if isinstance(args.body, ast.Tuple):
        for j, element in enumerate(args.body.elts):
            if isinstance(element, ast.Constant) and type(element.value) is int and element.value > 1:
                new_args = copy.deepcopy(args)
                new_args.body.elts[j] = ast.Constant(element.value - 1)
                yield module, new_args, argnums


def _shrink_arrays(module, args, argnums):
    """Drop the last entry (or row) of an ``np.array([...])`` argument."""
    for index, node in enumerate(ast.walk(args)):
        if isinstance(node, ast.List) and len(node.elts) > 1:
            clone = copy.deepcopy(args)
            target = list(ast.walk(clone))[index]
            del target.elts[-1]
            yield module, clone, argnums


def _simplify_expressions(module, args, argnums):
    """Replace an expression by one of its sub-expressions, or a call by ``1.0``."""
    for index, node in enumerate(ast.walk(module)):
        if not isinstance(node, (ast.BinOp, ast.Call, ast.IfExp, ast.UnaryOp, ast.BoolOp, ast.Compare,
                                 ast.Subscript)) or isinstance(getattr(node, "ctx", None), ast.Store):
            continue
        options: list[Callable[[ast.AST], ast.AST]] = []
        if isinstance(node, ast.BinOp):
            options = [lambda n: n.left, lambda n: n.right]
        elif isinstance(node, ast.Call):
            options = [lambda n, k=k: n.args[k] for k in range(len(node.args))] + [lambda n: ast.Constant(1.0)]
        elif isinstance(node, ast.IfExp):
            options = [lambda n: n.body, lambda n: n.orelse]
        elif isinstance(node, ast.UnaryOp):
            options = [lambda n: n.operand]
        elif isinstance(node, ast.BoolOp):
            options = [lambda n, k=k: n.values[k] for k in range(len(node.values))]
        elif isinstance(node, ast.Compare):
            options = [lambda n: ast.Constant(True), lambda n: ast.Constant(False)]
        elif isinstance(node, ast.Subscript):
            options = [lambda n: ast.Constant(0.5)]
        for option in options:
            clone, target = _fresh(module, index)
            parent, field, position = _parent_slot(clone, target)
            if parent is None:
                continue
            replacement = option(target)
            if position is None:
                setattr(parent, field, replacement)
            else:
                getattr(parent, field)[position] = replacement
            yield clone, args, argnums


def _drop_imports(module, args, argnums):
    """Remove imports and module constants nothing reads any more."""
    text_names = {n.id for n in ast.walk(module) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    text_names |= {n.id for n in ast.walk(args) if isinstance(n, ast.Name)}
    for position, stmt in enumerate(module.body):
        bound = []
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound = [(a.asname or a.name).split(".")[0] for a in stmt.names]
        elif isinstance(stmt, ast.Assign):
            bound = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        if bound and not set(bound) & text_names:
            clone = copy.deepcopy(module)
            del clone.body[position]
            yield clone, args, argnums


def _entry(module: ast.Module) -> ast.FunctionDef | None:
    return next((s for s in module.body if isinstance(s, ast.FunctionDef) and s.name == "f"), None)


def _parent_slot(tree: ast.AST, child: ast.AST) -> tuple[ast.AST | None, str, int | None]:
    """The node holding ``child``, the field, and the position in a list field."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is child:
                return parent, field, None
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if item is child:
                        return parent, field, k
    return None, "", None
