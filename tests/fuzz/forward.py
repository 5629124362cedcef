"""The referee's forward-mode checks: ``jvp`` on every valid program, ``hessian`` on a share of them.

``check_jvp`` pushes random tangents ``v`` (standard normal on the float
leaves of the ``argnums``, zeros on int leaves) through ``jvp`` and checks, in
this order (the first failure decides; kinds :data:`oracle.FORWARD_OUTCOMES`):

1. the call: a ``SourcediffError`` is ``refused``, or ``mode-mismatch`` where
   reverse mode accepted the program; any other exception is ``crashed``;
2. the caller's arguments and tangents unchanged (``changed_arguments``);
3. the output equal to the function's, the output tangent a float scalar
   like the output (``wrong``);
4. ``<u, jvp(v)> = <vjp(u), v>`` with reverse mode's cotangents (``u = 1``:
   the output is a scalar), tightly, where reverse mode passed; against
   finite differences where it did not (``wrong``);
5. for mutation-free programs, ``jax.jvp`` of the same source, tightly, where
   JAX agrees with finite differences (``wrong``);
6. forward mode accepted what reverse mode refused (on the same arguments, not
   ``grad again``'s, which reverse mode sees in other types and layouts): ``mode-mismatch``.

``check_hessian`` takes one float or small array argument (:func:`hessian_argnum`)
of 1 program in :data:`HESSIAN_SHARE` and compares ``hessian(f, argnums=k)``
with central differences of ``grad(f, k)``, which the reverse checks have
already judged; a refusal is counted, not a failure (kinds :data:`oracle.HESSIAN_OUTCOMES`).
On the same programs, against the same differences, it checks one other way to
the second derivative (mode ``composition``, :data:`COMPOSITIONS`, in turn):
reverse over reverse, reverse over forward or forward over forward, each
differentiating generated code again (the runtime's helpers included).
"""
from __future__ import annotations

import dataclasses
import traceback
from typing import Any, Callable

import numpy as np

from . import trees
from .oracle import (FD_ATOL, FD_RTOL, FD_STEPS, KINK_RTOL, TIGHT_ATOL, TIGHT_RTOL, Evidence, Oracle, Outcome,
                     Timeout, Verdict, _first_line, _jax_namespaces, _message, _same_value, _with_namespace,
                     normalize, time_limit)
from .program import Loaded, Program

HESSIAN_SHARE = 10       # the Hessian is checked on programs whose seed is a multiple of this
HESSIAN_LARGEST = 8      # ... with respect to a float or an array of at most this many entries
COMPOSITIONS = ("jacrev(grad)", "jacrev(jacfwd)", "jacfwd(jacfwd)")  # checked in turn, one per program


def random_tangents(args: tuple, argnums: tuple[int, ...], rng: np.random.Generator) -> tuple:
    """One tangent per argnum, shaped like its argument: standard normal on float leaves, zeros on ints."""
    def leaf(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return rng.standard_normal(x.shape) if x.dtype.kind == "f" else np.zeros(x.shape)
        if isinstance(x, (bool, np.bool_)):
            return x
        if isinstance(x, (float, np.floating)):
            return float(rng.standard_normal())
        if isinstance(x, (int, np.integer)):
            return 0.0
        return x
    return tuple(trees.map_leaves(leaf, args[i]) for i in argnums)


def _inner(a: Any, b: Any) -> tuple[float, float]:
    """``<a, b>`` over all numbers of two trees of the same structure, and ``sum |a_i b_i|`` (its scale)."""
    x, y = trees.numbers(a), trees.numbers(b)
    return float(np.dot(x, y)), float(np.dot(np.abs(x), np.abs(y)))


def _verdict(kind: str, check: str, reason: str = "", detail: str = "", trace: str = "",
             mode: str = "forward") -> Verdict:
    return Verdict(Outcome(kind, check, reason, detail, trace, mode=mode))


def _run(oracle: Oracle, check: str, names: set[str], thunk: Callable[[], Any], mode: str) -> Any:
    """Run a forward derivative: a refusal raises :class:`Verdict` ``refused`` (the caller may turn it into
    a mismatch), a crash or a timeout ``crashed``."""
    try:
        with time_limit(oracle.timeout):
            return thunk()
    except oracle.derivatives.refusal as exc:
        raise _verdict("refused", check, normalize(_message(exc), names), str(exc), traceback.format_exc(),
                       mode) from None
    except Timeout:
        raise _verdict("crashed", check, "timeout", f"no result after {oracle.timeout} s", traceback.format_exc(),
                       mode) from None
    except Exception as exc:
        raise _verdict("crashed", check, f"{type(exc).__name__}: {normalize(_first_line(exc), names)}",
                       f"{type(exc).__name__}: {exc}", traceback.format_exc(), mode) from None


# -- jvp -------------------------------------------------------------------------------------------

def check_jvp(oracle: Oracle, program: Program, loaded: Loaded, evidence: Evidence, reverse: Outcome) -> Outcome:
    """The forward-mode outcome of a valid program (``reverse`` is reverse mode's outcome)."""
    try:
        note = _jvp_checks(oracle, program, loaded, evidence, reverse)
    except Verdict as verdict:
        return verdict.outcome
    if reverse.kind == "refused" and not reverse.check.startswith("grad again") \
            and not _refused_on_every_argument(oracle, program, loaded, evidence, reverse):
        return Outcome("mode-mismatch", "jvp accepted, reverse refused", reverse.reason,
                       f"reverse mode ({reverse.check}) refused:\n{reverse.detail}\nforward mode gave a correct "
                       "tangent", mode="forward", jax=note)
    return Outcome("passed", mode="forward", jax=note)


def _refused_on_every_argument(oracle: Oracle, program: Program, loaded: Loaded, evidence: Evidence,
                               reverse: Outcome) -> bool:
    """Whether reverse mode refused ``vjp``, which differentiates every argument, and ``jvp`` refuses that too (a
    write into an argument outside argnums is differentiated there: not a mismatch on the argnums)."""
    every = tuple(range(len(evidence.snapshot)))
    if not reverse.check.startswith("vjp") or program.argnums_tuple == every:
        return False
    args = trees.copy(evidence.snapshot)
    tangents = random_tangents(args, every, np.random.default_rng(program.seed))
    try:
        _run(oracle, "jvp", evidence.names, lambda: oracle.derivatives.jvp(loaded.function, args, every, tangents),
             "forward")
    except Verdict as verdict:
        return verdict.outcome.kind == "refused"
    return False


def _jvp_checks(oracle: Oracle, program: Program, loaded: Loaded, evidence: Evidence, reverse: Outcome) -> str:
    f, argnums = loaded.function, program.argnums_tuple
    args = trees.copy(evidence.snapshot)
    kept_args = trees.copy(args)
    tangents = random_tangents(args, argnums, np.random.default_rng(program.seed))
    kept_tangents = trees.copy(tangents)
    try:
        out, out_dot = _run(oracle, "jvp", evidence.names,
                            lambda: oracle.derivatives.jvp(f, args, argnums, tangents), "forward")
    except Verdict as verdict:
        refusal = verdict.outcome
        if refusal.kind == "refused" and reverse.kind not in ("refused", "crashed"):
            raise _verdict("mode-mismatch", "jvp refused, reverse accepted", refusal.reason,
                           f"reverse mode's outcome: {reverse.kind}\n{refusal.detail}", refusal.traceback) from None
        raise
    for tree, kept, what in ((args, kept_args, "args"), (tangents, kept_tangents, "tangents")):
        problem = trees.differences(tree, kept, what)
        if problem:
            raise _verdict("changed_arguments", f"jvp {what}", "", problem)
    if not _same_value(out, evidence.value, evidence.scale):
        raise _verdict("wrong", "jvp value", "", f"{out!r}, primal {evidence.value!r}")
    float_output = np.asarray(out).dtype.kind == "f"
    if np.ndim(out_dot) != 0 or isinstance(out_dot, (bool, np.bool_)) or not np.isrealobj(out_dot) \
            or np.asarray(out_dot).dtype.kind not in ("f" if float_output else "fiu"):
        raise _verdict("wrong", "jvp structure", "not a float scalar",
                       f"output tangent {out_dot!r} ({type(out_dot).__name__}) for the output {out!r}")
    got = float(out_dot)
    if reverse.kind == "passed" and evidence.cotangents is not None:
        expected, magnitude = _inner(list(evidence.cotangents), list(tangents))
        bound = TIGHT_ATOL * evidence.scale + TIGHT_RTOL * magnitude
        if not abs(got - expected) <= bound:
            raise _verdict("wrong", "jvp vs vjp", "non-finite" if not np.isfinite(got) else "",
                           f"<u, jvp(v)> = {got!r}, <vjp(u), v> = {expected!r} (u = 1.0)\n"
                           f"tangents v: {tangents!r}\nvjp(u): {evidence.cotangents!r}")
    elif evidence.fd is not None:
        expected, magnitude = _inner(evidence.fd, list(tangents))
        spread = float(np.dot(evidence.fd_error, np.abs(trees.numbers(list(tangents)))))
        bound = FD_ATOL * evidence.scale + FD_RTOL * magnitude + 10.0 * spread
        if not abs(got - expected) <= bound:
            raise _verdict("wrong", "jvp vs finite differences", "non-finite" if not np.isfinite(got) else "",
                           f"jvp(v) = {got!r}, finite differences <grad, v> = {expected!r}\n"
                           f"tangents v: {tangents!r}")
    else:
        expected = magnitude = None
    if oracle.use_jax and program.jax_compatible and oracle.checks in (None, "jvp vs jax"):
        return _compare_jax(oracle, loaded, evidence, argnums, tangents, got, magnitude)
    return ""


def _compare_jax(oracle: Oracle, loaded: Loaded, evidence: Evidence, argnums: tuple[int, ...], tangents: tuple,
                 got: float, magnitude: float | None) -> str:
    """``jax.jvp`` of the same source in the float leaves of the argnums; raises a ``wrong`` verdict."""
    jax = oracle._jax_module()
    if jax is None:
        return "skipped: no jax"
    args = trees.copy(evidence.snapshot)
    primals = [np.asarray(v, dtype=np.float64) for i in argnums for _, v in trees.leaves(args[i])
               if trees.is_float_leaf(v)]
    directions = [np.asarray(t, dtype=np.float64) for i, tree in zip(argnums, tangents)
                  for (_, v), (_, t) in zip(trees.leaves(args[i]), trees.leaves(tree)) if trees.is_float_leaf(v)]
    try:
        with time_limit(oracle.timeout):
            clone = _with_namespace(loaded.function, _jax_namespaces(jax))

            def on_floats(*floats: Any) -> Any:
                position = iter(floats)
                rebuilt = list(args)
                for i in argnums:
                    rebuilt[i] = trees.map_leaves(lambda v: next(position) if trees.is_float_leaf(v) else v, args[i])
                return clone(*rebuilt)

            _, theirs = jax.jvp(on_floats, tuple(primals), tuple(directions))
            theirs = float(np.asarray(theirs, dtype=np.float64))
    except Exception as exc:
        return f"skipped: jax raised {type(exc).__name__}"
    except Timeout:
        return "skipped: jax timeout"
    if evidence.fd is not None:
        expected, size = _inner(evidence.fd, list(tangents))
        spread = float(np.dot(evidence.fd_error, np.abs(trees.numbers(list(tangents)))))
        if not abs(theirs - expected) <= FD_ATOL * evidence.scale + FD_RTOL * size + 10.0 * spread:
            return "skipped: jax disagrees with finite differences"
    size = magnitude if magnitude is not None else abs(theirs)
    if not abs(got - theirs) <= TIGHT_ATOL * evidence.scale + TIGHT_RTOL * max(size, abs(theirs)):
        raise _verdict("wrong", "jvp vs jax", "", f"sourcediff jvp(v) = {got!r}\njax.jvp: {theirs!r}\n"
                                                  f"tangents v: {tangents!r}")
    return "compared"


# -- hessian ---------------------------------------------------------------------------------------

def hessian_argnum(program: Program, args: tuple) -> int | None:
    """The argument whose Hessian is checked: on 1 program in :data:`HESSIAN_SHARE`, one of the argnums
    that is a float or a float array of at most :data:`HESSIAN_LARGEST` entries (``None``: no check)."""
    if program.seed % HESSIAN_SHARE:
        return None
    candidates = [i for i in program.argnums_tuple
                  if isinstance(args[i], float) or (isinstance(args[i], np.ndarray) and args[i].dtype.kind == "f"
                                                    and 0 < args[i].size <= HESSIAN_LARGEST)]
    return candidates[(program.seed // HESSIAN_SHARE) % len(candidates)] if candidates else None


def composition_of(program: Program) -> str:
    """The composition checked beside ``hessian`` on this program (:data:`COMPOSITIONS`, in turn)."""
    return COMPOSITIONS[(program.seed // HESSIAN_SHARE) % len(COMPOSITIONS)]


def check_hessian(oracle: Oracle, loaded: Loaded, evidence: Evidence, argnum: int,
                  composition: str | None = None) -> tuple[Outcome, Outcome | None]:
    """The Hessian outcome, ``hessian(f, argnums=argnum)`` against central differences of ``grad``, and that of
    ``composition`` (a name in :data:`COMPOSITIONS`, or None) against the same differences."""
    try:
        expected, spread = _fd_hessian(oracle, loaded.function, trees.copy(evidence.snapshot), argnum)
    except Verdict as verdict:
        skipped = dataclasses.replace(verdict.outcome, mode="composition") if composition else None
        return verdict.outcome, skipped
    outcomes = []
    for mode, name in (("hessian", "hessian"), ("composition", composition)):
        if name is None:
            outcomes.append(None)
            continue
        try:
            _second_order_checks(oracle, loaded, evidence, argnum, mode, name, expected, spread)
            outcomes.append(Outcome("passed", name, mode=mode))
        except Verdict as verdict:
            outcomes.append(verdict.outcome)
    return outcomes[0], outcomes[1]


def _second_order_checks(oracle: Oracle, loaded: Loaded, evidence: Evidence, argnum: int, mode: str, name: str,
                         expected: np.ndarray, spread: np.ndarray) -> None:
    f = loaded.function
    args = trees.copy(evidence.snapshot)
    kept = trees.copy(args)
    derivative = oracle.derivatives.hessian if mode == "hessian" else \
        (lambda f, argnums: oracle.derivatives.compose(name, f, argnums))
    hessian = _run(oracle, name, evidence.names, lambda: derivative(f, argnums=argnum)(*args), mode)
    problem = trees.differences(args, kept, "args")
    if problem:
        raise _verdict("changed_arguments", f"{name} arguments", "", problem, mode=mode)
    shape = np.shape(args[argnum]) * 2
    if isinstance(hessian, (bool, np.bool_)) or np.shape(hessian) != shape \
            or np.asarray(hessian).dtype.kind != "f":
        raise _verdict("wrong", f"{name} structure", "not shaped like the argument twice",
                       f"got {type(hessian).__name__} {hessian!r} for an argument of shape {np.shape(args[argnum])}"
                       [:500], mode=mode)
    got = np.asarray(hessian, dtype=np.float64).reshape(expected.shape)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    bad = ~(np.abs(got - expected) <= FD_ATOL * scale + FD_RTOL * np.abs(expected) + 10.0 * spread)
    if np.any(bad):
        row, column = np.argwhere(bad)[0]
        raise _verdict("wrong", f"{name} vs finite differences", "non-finite" if not np.all(np.isfinite(got)) else "",
                       f"first difference at ({row}, {column}) of the flattened Hessian of argument {argnum}\n"
                       f"sourcediff: {got.tolist()}\nfinite differences of grad: {expected.tolist()}",
                       mode=mode)


def _fd_hessian(oracle: Oracle, f: Callable, args: tuple, argnum: int) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of ``grad(f, argnum)`` (``n x n`` for an argument of ``n`` numbers) with the finer
    step, and the two steps' spread; a ``skipped`` verdict where the gradient has a kink or fails."""
    x = args[argnum]
    size = int(np.size(x))

    def gradient(shift: np.ndarray) -> np.ndarray:
        trial = list(trees.copy(args))
        trial[argnum] = float(x + shift[0]) if isinstance(x, float) else x + shift.reshape(np.shape(x))
        return np.ravel(np.asarray(grad(*trial), dtype=np.float64))

    try:
        with time_limit(oracle.timeout):
            grad = oracle.derivatives.grad(f, argnums=argnum)
            at_point = gradient(np.zeros(size))
            estimates, asymmetry = [], 0.0
            for step in FD_STEPS:
                columns = []
                for j in range(size):
                    shift = np.zeros(size)
                    shift[j] = step * max(1.0, abs(float(np.ravel(x)[j])))
                    up, down = gradient(shift), gradient(-shift)
                    columns.append((up - down) / (2 * shift[j]))
                    if step == FD_STEPS[-1]:
                        asymmetry = max(asymmetry, float(np.max(np.abs(up + down - 2 * at_point))) / shift[j])
                estimates.append(np.stack(columns, axis=1))  # column j: the derivative in x_j
    except Timeout:
        raise _verdict("skipped", "hessian", "finite differences: timeout", mode="hessian") from None
    except Exception as exc:
        raise _verdict("skipped", "hessian", f"finite differences raised {type(exc).__name__}", _first_line(exc),
                       traceback.format_exc(), mode="hessian") from None
    coarse, fine = estimates
    if not (np.all(np.isfinite(coarse)) and np.all(np.isfinite(fine))):
        raise _verdict("skipped", "hessian", "finite differences: not finite", mode="hessian")
    scale = max(1.0, float(np.max(np.abs(fine), initial=0.0)))
    if not np.all(np.abs(coarse - fine) <= FD_ATOL * scale + FD_RTOL * np.abs(fine)) \
            or asymmetry > KINK_RTOL * scale:
        raise _verdict("skipped", "hessian", "kink in the gradient",
                       f"steps {FD_STEPS}: {coarse.tolist()} vs {fine.tolist()}", mode="hessian")
    return fine, np.abs(coarse - fine)
