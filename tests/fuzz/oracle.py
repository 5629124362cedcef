"""The referee: runs one program through sourcediff and classifies what happened.

Every program gets exactly one outcome (:data:`OUTCOMES`): ``passed``,
``refused`` (a ``SourcediffError``), ``crashed`` (any other exception, or a
timeout), ``wrong_gradient``, ``wrong_value``, ``changed_arguments``,
``wrong_structure``, or ``invalid`` (the program itself is unusable: its
primal raises, is not a finite scalar, or has a kink where finite differences
with two step sizes disagree). The checks run in order and the first failure
decides:

1. the primal on copies of the arguments, and central finite differences of
   every float leaf of the differentiated arguments, with two step sizes;
2. ``grad(f, argnums)``: arguments unchanged, gradient structure, agreement
   with finite differences; then the same derivative called again with the
   arguments as NumPy scalars and strided arrays (and the last, if not
   differentiated, by keyword): the same gradient, arguments unchanged;
3. ``value_and_grad``: arguments unchanged, value equals the primal, gradient
   equals ``grad``'s;
4. ``vjp`` and ``pullback(1.0)``: arguments unchanged after both, value,
   cotangents of the ``argnums`` equal ``grad``'s;
5. for mutation-free programs, ``jax.grad`` of the same source with ``np`` and
   ``math`` bound to ``jax.numpy``, compared tightly, counted only where JAX
   itself agrees with finite differences.

Forward mode has outcomes of its own (``Outcome.forward``, ``Outcome.hessian``,
``Outcome.composition``; ``forward.py``): on every valid program ``jvp`` is
checked whatever reverse mode did, and on a share of them ``hessian`` and one
other composition of transformations that gives the second derivative.

The derivative functions are injected (:class:`Derivatives`) so that tests can
plant bugs and see the referee catch them.
"""
from __future__ import annotations

import math
import re
import signal
import threading
import traceback
import types
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from . import trees
from .program import Loaded, Program, load

OUTCOMES = ("passed", "refused", "crashed", "wrong_gradient", "wrong_value", "changed_arguments",
            "wrong_structure", "invalid")
FAILURES = ("crashed", "wrong_gradient", "wrong_value", "changed_arguments", "wrong_structure")
FORWARD_OUTCOMES = ("passed", "refused", "mode-mismatch", "wrong", "changed_arguments", "crashed")
HESSIAN_OUTCOMES = ("passed", "refused", "skipped", "wrong", "changed_arguments", "crashed")
FORWARD_FAILURES = ("mode-mismatch", "wrong", "changed_arguments", "crashed")
""":data:`FORWARD_OUTCOMES` and :data:`HESSIAN_OUTCOMES` that are failures (a refusal in one mode only,
``mode-mismatch``, is one: the two modes promise the same refusals)."""

FD_STEPS = (1e-4, 1e-6)      # relative central-difference steps; they must agree, or the program has a kink
FD_RTOL, FD_ATOL = 1e-4, 1e-6  # sourcediff against finite differences (atol relative to the problem's scale)
TIGHT_RTOL, TIGHT_ATOL = 1e-7, 1e-9  # sourcediff against JAX, and against itself (grad, value_and_grad, vjp)
VALUE_RTOL = 1e-12
KINK_RTOL = 1e-2  # one-sided slopes further apart than this (times the scale): a kink, not curvature
FD_LARGEST = 1e8  # values and derivatives beyond this are not judged by finite differences


@dataclass
class Outcome:
    """What happened to one program: ``kind`` (one of :data:`OUTCOMES`), the ``check`` that decided it,
    a normalized ``reason`` (for grouping), the full ``detail`` and the ``traceback`` if one was raised.

    That is reverse mode's outcome; ``forward`` (``jvp``) and ``hessian`` hold those of the forward-mode
    checks (``mode`` "forward" or "hessian", kinds :data:`FORWARD_OUTCOMES`, :data:`HESSIAN_OUTCOMES`),
    or ``None`` where they did not run."""

    kind: str
    check: str = ""
    reason: str = ""
    detail: str = ""
    traceback: str = ""
    jax: str = ""  # "compared", "skipped: ...", or "" when not tried
    mode: str = "reverse"
    forward: Outcome | None = None
    hessian: Outcome | None = None
    composition: Outcome | None = None

    @property
    def label(self) -> str:
        """The kind, prefixed with the mode outside reverse mode: ``forward-wrong``, ``hessian-refused``."""
        return self.kind if self.mode == "reverse" else f"{self.mode}-{self.kind}"

    @property
    def signature(self) -> str:
        """Failures with the same signature are probably the same bug."""
        return " | ".join(part for part in (self.label, self.check, self.reason) if part)

    @property
    def is_failure(self) -> bool:
        return self.kind in (FAILURES if self.mode == "reverse" else FORWARD_FAILURES)

    def parts(self) -> list[Outcome]:
        """This outcome and the forward-mode ones that ran."""
        return [self] + [part for part in (self.forward, self.hessian, self.composition) if part is not None]

    def part(self, mode: str) -> Outcome | None:
        return next((p for p in self.parts() if p.mode == mode), None)

    def failures(self) -> list[Outcome]:
        return [part for part in self.parts() if part.is_failure]


@dataclass
class Derivatives:
    """The functions under test; replace them to test the oracle itself."""

    grad: Callable
    value_and_grad: Callable
    vjp: Callable
    refusal: type[BaseException]
    jvp: Callable = None  # jvp(f, args, argnums, tangents) -> (out, out tangent): differentiates argnums only
    hessian: Callable = None  # hessian(f, argnums) -> function of the arguments
    compose: Callable = None  # compose(name, f, argnums) -> function of the arguments (forward.COMPOSITIONS)

    @classmethod
    def sourcediff(cls) -> "Derivatives":
        import sourcediff

        return cls(sourcediff.grad, sourcediff.value_and_grad, sourcediff.vjp, sourcediff.SourcediffError,
                   _sourcediff_jvp, sourcediff.hessian, _sourcediff_compose)


def _sourcediff_compose(name: str, f: Callable, argnums: int) -> Callable:
    """A second derivative by the composition ``name`` (``"jacrev(grad)"``: the outer transformation first)."""
    import sourcediff

    outer, inner = name.rstrip(")").split("(")
    return getattr(sourcediff, outer)(getattr(sourcediff, inner)(f, argnums), argnums)


def _sourcediff_jvp(f: Callable, args: tuple, argnums: tuple[int, ...], tangents: tuple) -> tuple:
    """``sourcediff.jvp`` where every argument is differentiated, else its helper that takes ``argnums``."""
    import sourcediff
    from sourcediff.composed import run_jvp

    if tuple(argnums) == tuple(range(len(args))):
        return sourcediff.jvp(f, args, tangents)
    out, out_dot, _ = run_jvp(f, args, {}, tuple(argnums), tangents, False)
    return out, out_dot


@dataclass
class Evidence:
    """What the reverse-mode checks established, for the forward-mode checks that follow them."""

    snapshot: tuple  # the arguments as generated
    names: set[str]
    value: float | None = None
    scale: float = 1.0
    fd: list | None = None
    fd_error: np.ndarray | None = None
    cotangents: tuple | None = None  # vjp's cotangents of the argnums (trusted if reverse mode passed)


class Timeout(BaseException):
    """Raised in the main thread when one program runs too long (a ``BaseException``, like ``KeyboardInterrupt``,
    so that ``except Exception`` in the code under test does not swallow it)."""


class Verdict(Exception):
    """Carries an outcome out of the middle of the checks."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.kind)
        self.outcome = outcome


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`Timeout` after ``seconds`` (only in the main thread on Unix; elsewhere no limit)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise Timeout(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Oracle:
    """Checks programs against finite differences, JAX and sourcediff's own promises.

    ``checks`` limits the work to what a check needs (the minimizer passes the
    failing check's name); ``use_jax`` turns the JAX cross-check on or off, ``forward`` the forward-mode
    checks (``jvp``, ``hessian``).
    """

    def __init__(self, derivatives: Derivatives | None = None, use_jax: bool = True, timeout: float = 30.0,
                 checks: str | None = None, forward: bool = True) -> None:
        self.derivatives = derivatives or Derivatives.sourcediff()
        self.use_jax = use_jax
        self.forward = forward
        self.timeout = timeout
        self.checks = checks
        self._jax = None

    # -- the sequence of checks -----------------------------------------------------------------

    def run(self, program: Program) -> Outcome:
        """The outcome of ``program`` (never raises, except ``KeyboardInterrupt``)."""
        try:
            loaded = load(program)
        except Exception as exc:  # a generator or minimizer bug: the module itself does not run
            return Outcome("invalid", "module", f"{type(exc).__name__}", _first_line(exc), traceback.format_exc())
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                return self._checks(program, loaded)
        except Verdict as verdict:
            return verdict.outcome
        except Exception as exc:  # the referee itself failed (or met a result it cannot read): never hide it
            return Outcome("crashed", "oracle", f"{type(exc).__name__} in the oracle", _first_line(exc),
                           traceback.format_exc())
        finally:
            loaded.close()

    def _checks(self, program: Program, loaded: Loaded) -> Outcome:
        """Reverse mode's checks, then (on a valid program) forward mode's, whatever reverse mode's outcome."""
        from .forward import check_hessian, check_jvp, composition_of, hessian_argnum

        evidence = Evidence(trees.copy(loaded.args), _program_names(program.source))
        try:
            outcome = self._reverse(program, loaded, evidence)
        except Verdict as verdict:
            outcome = verdict.outcome
        if outcome.kind == "invalid" or evidence.value is None or not self.forward:
            return outcome
        if _wants(self.checks, "jvp"):
            outcome.forward = check_jvp(self, program, loaded, evidence, outcome)
        if _wants(self.checks, "hessian") and outcome.kind == "passed":
            argnum = hessian_argnum(program, evidence.snapshot)
            if argnum is not None:
                composition = composition_of(program) if self.derivatives.compose is not None else None
                outcome.hessian, outcome.composition = check_hessian(self, loaded, evidence, argnum, composition)
        return outcome

    def _reverse(self, program: Program, loaded: Loaded, evidence: Evidence) -> Outcome:
        f, args, argnums = loaded.function, loaded.args, program.argnums_tuple
        snapshot = trees.copy(args)
        value = self._primal(f, args)
        scale = max(1.0, abs(value))
        evidence.value, evidence.scale = value, scale
        wanted = self.checks
        forward_only = wanted is not None and wanted.startswith(("jvp", "hessian"))
        fd, fd_error = None, None
        if wanted in (None, "grad vs finite differences", "grad vs jax", "jvp vs finite differences"):
            fd, fd_error = self._finite_differences(f, args, argnums)
            scale = max(scale, float(np.max(np.abs(trees.numbers(fd)), initial=0.0)))
            evidence.fd, evidence.fd_error, evidence.scale = fd, fd_error, scale
        names = evidence.names
        derivative = self._call("grad", names, lambda: self.derivatives.grad(f, argnums=program.argnums))
        grads = self._call("grad", names, lambda: derivative(*args))
        self._unchanged(args, snapshot, "grad")
        grads = grads if isinstance(program.argnums, tuple) else (grads,)
        self._structure(grads, args, argnums, "grad")
        if fd is not None:
            self._compare_fd(grads, fd, fd_error, scale, argnums)
        if wanted is None or wanted.startswith("grad again"):
            self._second_call(program, loaded, derivative, grads, scale, names)
        if wanted is None or wanted.startswith("value_and_grad"):
            self._value_and_grad(program, f, args, snapshot, value, grads, scale, names)
        if wanted is None or wanted.startswith("vjp") or forward_only:
            evidence.cotangents = self._vjp(f, args, snapshot, argnums, value, grads, scale, names)
        jax_note = ""
        if wanted in (None, "grad vs jax") and self.use_jax and program.jax_compatible:
            jax_note = self._compare_jax(program, loaded, argnums, grads, fd, fd_error, scale)
        return Outcome("passed", jax=jax_note)

    def _primal(self, f: Callable, args: tuple) -> float:
        try:
            with time_limit(self.timeout):
                value = f(*trees.copy(args))
        except Exception as exc:
            raise Verdict(Outcome("invalid", "primal", f"raised {type(exc).__name__}", _first_line(exc),
                                  traceback.format_exc())) from None
        except Timeout:
            raise Verdict(Outcome("invalid", "primal", "timeout")) from None
        if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0 or not np.isrealobj(value) \
                or not isinstance(np.asarray(value).item(), (int, float)):
            raise Verdict(Outcome("invalid", "primal", "not a scalar", repr(value)[:200]))
        value = float(value)
        if not math.isfinite(value):
            raise Verdict(Outcome("invalid", "primal", "not finite", repr(value)))
        if abs(value) > FD_LARGEST:  # a step of 1e-6 is lost in its rounding: finite differences see nothing
            raise Verdict(Outcome("invalid", "primal", "too large",
                                  f"a value of size {abs(value):.3g}: finite differences cannot resolve it"))
        return value

    def _finite_differences(self, f: Callable, args: tuple, argnums: tuple[int, ...]) -> tuple[list, np.ndarray]:
        """Central differences with the finer step, and how far the two steps' estimates are apart."""
        estimates = []
        try:
            with time_limit(self.timeout):
                asymmetry: list[float] = []  # |forward - backward| one-sided estimates, with the fine step
                for step in FD_STEPS:
                    estimates.append([_fd_tree(f, args, i, step, asymmetry if step == FD_STEPS[-1] else None)
                                      for i in argnums])
        except Timeout:
            raise Verdict(Outcome("invalid", "finite differences", "timeout")) from None
        except Exception as exc:  # the primal fails a step away (math.acos just past 1): at a domain's edge
            raise Verdict(Outcome("invalid", "finite differences", f"raised {type(exc).__name__}", _first_line(exc),
                                  traceback.format_exc())) from None
        coarse, fine = (trees.numbers(e) for e in estimates)
        if not (np.all(np.isfinite(coarse)) and np.all(np.isfinite(fine))):
            raise Verdict(Outcome("invalid", "finite differences", "not finite"))
        scale = max(1.0, float(np.max(np.abs(fine), initial=0.0)))
        if scale > FD_LARGEST:  # a term like cos(a) with a ~ 1e12 changes far within one step: unseen
            raise Verdict(Outcome("invalid", "finite differences", "too large",
                                  f"derivatives of size {scale:.3g}: finite differences cannot resolve them"))
        if not np.all(np.abs(coarse - fine) <= FD_ATOL * scale + FD_RTOL * np.abs(fine)):
            raise Verdict(Outcome("invalid", "finite differences", "kink",
                                  f"steps {FD_STEPS} disagree: {coarse} vs {fine}"))
        # a kink central differences cannot see (they average the two slopes): a tie in np.sort, |x| at 0
        if asymmetry and max(asymmetry) > KINK_RTOL * scale:
            raise Verdict(Outcome("invalid", "finite differences", "kink",
                                  f"one-sided slopes differ by {max(asymmetry):.3g} at the point"))
        return estimates[1], np.abs(coarse - fine)

    def _call(self, check: str, names: set[str], thunk: Callable[[], Any]) -> Any:
        """Run a derivative: a refusal, a crash or a timeout becomes the outcome."""
        try:
            with time_limit(self.timeout):
                return thunk()
        except self.derivatives.refusal as exc:
            raise Verdict(Outcome("refused", check, normalize(_message(exc), names), str(exc),
                                  traceback.format_exc())) from None
        except Timeout:
            raise Verdict(Outcome("crashed", check, "timeout", f"no result after {self.timeout} s",
                                  traceback.format_exc())) from None
        except Exception as exc:
            reason = f"{type(exc).__name__}: {normalize(_first_line(exc), names)}"
            raise Verdict(Outcome("crashed", check, reason, f"{type(exc).__name__}: {exc}",
                                  traceback.format_exc())) from None

    def _unchanged(self, args: tuple, snapshot: tuple, after: str) -> None:
        problem = trees.differences(args, snapshot, "args")
        if problem:
            raise Verdict(Outcome("changed_arguments", f"{after} arguments", "", problem))

    def _structure(self, grads: Any, args: tuple, argnums: tuple[int, ...], check: str) -> None:
        if not isinstance(grads, tuple) or len(grads) != len(argnums):
            raise Verdict(Outcome("wrong_structure", check, "not one gradient per argnum",
                                  f"got {type(grads).__name__} {grads!r}"[:500]))
        for g, i in zip(grads, argnums):
            problem = trees.structure_problem(g, args[i], f"gradient of argument {i}")
            if problem:
                raise Verdict(Outcome("wrong_structure", check, _shape_free(problem), problem))

    def _compare_fd(self, grads: tuple, fd: list, fd_error: np.ndarray, scale: float,
                    argnums: tuple[int, ...]) -> None:
        got, expected = trees.numbers(list(grads)), trees.numbers(fd)
        spread = fd_error
        bound = FD_ATOL * scale + FD_RTOL * np.abs(expected) + 10.0 * spread
        bad = ~(np.abs(got - expected) <= bound)
        if np.any(bad):
            where = _first_bad_leaf(grads, fd, argnums, bad)
            raise Verdict(Outcome("wrong_gradient", "grad vs finite differences",
                                  "non-finite" if not np.all(np.isfinite(got)) else "",
                                  f"{where}\nsourcediff: {got.tolist()}\nfinite differences: {expected.tolist()}"))

    def _second_call(self, program: Program, loaded: Loaded, derivative: Callable, grads: tuple, scale: float,
                     names: set[str]) -> None:
        """The same derivative called again, with the arguments in other clothes: NumPy scalars for Python
        numbers, non-contiguous arrays, and the last argument by keyword if it is not differentiated; it must
        give the same gradient and leave them unchanged too."""
        other = tuple(trees.map_leaves(_other_clothes, a) for a in loaded.args)
        kept = trees.copy(other)
        keywords = {}
        last = len(other) - 1
        if last > max(program.argnums_tuple):
            keywords = {loaded.function.__code__.co_varnames[last]: other[last]}
        positional = other[:last] if keywords else other
        again = self._call("grad again", names, lambda: derivative(*positional, **keywords))
        self._unchanged(other, kept, "grad again")
        again = again if isinstance(program.argnums, tuple) else (again,)
        self._structure(again, loaded.args, program.argnums_tuple, "grad again")
        if not self._close(list(again), list(grads), scale):
            raise Verdict(Outcome("wrong_gradient", "grad again", "",
                                  f"second call (NumPy scalars, strided arrays): {again!r}\nfirst call: {grads!r}"))

    def _close(self, got: Any, expected: Any, scale: float) -> bool:
        a, b = trees.numbers(got), trees.numbers(expected)
        return a.shape == b.shape and bool(np.all(np.abs(a - b) <= TIGHT_ATOL * scale + TIGHT_RTOL * np.abs(b)))

    def _value_and_grad(self, program: Program, f: Callable, args: tuple, snapshot: tuple, value: float,
                        grads: tuple, scale: float, names: set[str]) -> None:
        derivative = self.derivatives.value_and_grad
        out = self._call("value_and_grad", names, lambda: derivative(f, argnums=program.argnums)(*args))
        self._unchanged(args, snapshot, "value_and_grad")
        got_value, got_grads = out
        if not _same_value(got_value, value, scale):
            raise Verdict(Outcome("wrong_value", "value_and_grad value", "", f"{got_value!r}, primal {value!r}"))
        got_grads = got_grads if isinstance(program.argnums, tuple) else (got_grads,)
        self._structure(got_grads, args, program.argnums_tuple, "value_and_grad")
        if not self._close(list(got_grads), list(grads), scale):
            raise Verdict(Outcome("wrong_gradient", "value_and_grad gradient", "",
                                  f"value_and_grad: {got_grads!r}\ngrad: {grads!r}"))

    def _vjp(self, f: Callable, args: tuple, snapshot: tuple, argnums: tuple[int, ...], value: float,
             grads: tuple, scale: float, names: set[str]) -> tuple:
        """Check ``vjp`` and its pullback; returns the cotangents of the argnums."""
        out, pullback = self._call("vjp", names, lambda: self.derivatives.vjp(f, *args))
        self._unchanged(args, snapshot, "vjp")
        if not _same_value(out, value, scale):
            raise Verdict(Outcome("wrong_value", "vjp value", "", f"{out!r}, primal {value!r}"))
        cotangents = self._call("vjp pullback", names, lambda: pullback(1.0))
        self._unchanged(args, snapshot, "vjp pullback")
        if not isinstance(cotangents, tuple) or len(cotangents) != len(args):
            raise Verdict(Outcome("wrong_structure", "vjp pullback", "not one cotangent per argument",
                                  repr(cotangents)[:500]))
        chosen = tuple(cotangents[i] for i in argnums)
        self._structure(chosen, args, argnums, "vjp pullback")
        if not self._close(list(chosen), list(grads), scale):
            raise Verdict(Outcome("wrong_gradient", "vjp pullback gradient", "",
                                  f"vjp: {chosen!r}\ngrad: {grads!r}"))
        return chosen

    def _compare_jax(self, program: Program, loaded: Loaded, argnums: tuple[int, ...], grads: tuple,
                     fd: list | None, fd_error: np.ndarray | None, scale: float) -> str:
        jax = self._jax_module()
        if jax is None:
            return "skipped: no jax"
        try:
            with time_limit(self.timeout):
                clone = _with_namespace(loaded.function, _jax_namespaces(jax))
                theirs = jax.grad(clone, argnums=argnums)(*trees.copy(loaded.args))
                theirs = [trees.map_leaves(lambda v: np.asarray(v, dtype=np.float64), t) for t in theirs]
        except Exception as exc:
            return f"skipped: jax raised {type(exc).__name__}"
        except Timeout:
            return "skipped: jax timeout"
        if fd is not None:
            expected, spread = trees.numbers(fd), fd_error
            a = trees.numbers(theirs)
            if a.shape != expected.shape or not np.all(
                    np.abs(a - expected) <= FD_ATOL * scale + FD_RTOL * np.abs(expected) + 10.0 * spread):
                return "skipped: jax disagrees with finite differences"
        if not self._close(list(grads), theirs, scale):
            raise Verdict(Outcome("wrong_gradient", "grad vs jax", "",
                                  f"sourcediff: {trees.numbers(list(grads)).tolist()}\n"
                                  f"jax.grad: {trees.numbers(theirs).tolist()}"))
        return "compared"

    def _jax_module(self):
        if self._jax is None:
            try:
                import jax
                import jax.scipy.special  # noqa: F401  (math.erf in the JAX version of a program)

                jax.config.update("jax_enable_x64", True)
                self._jax = jax
            except Exception:
                self._jax = False
        return self._jax or None


# -- helpers ---------------------------------------------------------------------------------------

def _wants(checks: str | None, prefix: str) -> bool:
    """Whether an oracle limited to ``checks`` runs the checks whose names start with ``prefix``."""
    return checks is None or checks.startswith(prefix)


def _fd_tree(f: Callable, args: tuple, argnum: int, step: float, asymmetry: list | None = None) -> Any:
    """Central differences of ``f`` with respect to every float in ``args[argnum]``, in its structure;
    ``asymmetry`` receives, per float, how far the forward and the backward one-sided estimates are apart."""
    def evaluate(replacement: Any) -> float:
        trial = list(trees.copy(args))
        trial[argnum] = replacement
        return float(f(*trial))

    tree = args[argnum]
    flat = trees.leaves(tree)
    at_point = float(f(*trees.copy(args))) if asymmetry is not None else 0.0  # f may write into its arguments
    grads = []

    def central(up: float, down: float, h: float) -> float:
        if asymmetry is not None:
            asymmetry.append(abs(up + down - 2.0 * at_point) / h)
        return (up - down) / (2 * h)

    for k, (_, leaf) in enumerate(flat):
        def with_leaf(v, k=k):
            position = iter(range(len(flat)))
            return trees.map_leaves(lambda old: v if next(position) == k else old, tree)

        if isinstance(leaf, np.ndarray):
            g = np.zeros(leaf.shape)
            for index in np.ndindex(leaf.shape):
                h = step * max(1.0, abs(float(leaf[index])))
                plus, minus = leaf.astype(np.float64), leaf.astype(np.float64)
                plus[index] += h
                minus[index] -= h
                g[index] = central(evaluate(with_leaf(plus)), evaluate(with_leaf(minus)), h)
            grads.append(g)
        else:
            h = step * max(1.0, abs(float(leaf)))
            grads.append(central(evaluate(with_leaf(float(leaf) + h)), evaluate(with_leaf(float(leaf) - h)), h))
    position = iter(grads)
    return trees.map_leaves(lambda old: next(position), tree)


def _other_clothes(leaf: Any) -> Any:
    """The same value as another type or layout: a NumPy scalar for a Python number, a strided view of a
    larger array for an array (and the reverse)."""
    if isinstance(leaf, np.ndarray):
        return np.repeat(leaf, 2, axis=-1)[..., ::2] if leaf.ndim else leaf.copy()
    if isinstance(leaf, (np.floating, np.integer)):
        return leaf.item()
    if isinstance(leaf, bool):
        return leaf
    if isinstance(leaf, float):
        return np.float64(leaf)
    if isinstance(leaf, int):
        return np.int64(leaf)
    return leaf


def _same_value(got: Any, value: float, scale: float) -> bool:
    try:
        got = float(got)
    except (TypeError, ValueError):
        return False
    return abs(got - value) <= VALUE_RTOL * scale


def _first_bad_leaf(grads: tuple, fd: list, argnums: tuple[int, ...], bad: np.ndarray) -> str:
    offset = 0
    for g, e, i in zip(grads, fd, argnums):
        for (path, leaf), (_, expected) in zip(trees.leaves(g), trees.leaves(e)):
            size = np.size(expected)
            if np.any(bad[offset:offset + size]):
                return f"first difference in argument {i}{path}: sourcediff {leaf!r}, finite differences {expected!r}"
            offset += size
    return "difference"


def _with_namespace(f: Callable, replacements: dict[str, Any]) -> Callable:
    """``f`` and every function of its module, running in a copy of its globals with ``replacements``."""
    namespace = dict(f.__globals__, **replacements)
    for key, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is f.__globals__:
            namespace[key] = types.FunctionType(value.__code__, namespace, value.__name__, value.__defaults__,
                                                value.__closure__)
    return namespace[f.__name__]


class _Namespace:
    """``module``'s attributes, some of them replaced."""

    def __init__(self, module: Any, overrides: dict[str, Any]) -> None:
        self._module, self._overrides = module, overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides[name] if name in self._overrides else getattr(self._module, name)


def _jax_namespaces(jax) -> dict[str, Any]:
    """``np``, ``math`` and ``special`` for the JAX version of a program: jax.numpy, where reductions also take
    Python lists (as NumPy's do), ``math.erf``/``erfc`` and ``special`` (``scipy.special``) from
    ``jax.scipy.special``."""
    jnp = jax.numpy

    def on_arrays(function):
        return lambda x, *args, **kwargs: function(jnp.asarray(x), *args, **kwargs)

    numpy_like = _Namespace(jnp, {name: on_arrays(getattr(jnp, name))
                                  for name in ("sum", "mean", "max", "min", "prod", "std", "var")})
    special = jax.scipy.special
    return {"np": numpy_like, "math": _Namespace(jnp, {"erf": special.erf, "erfc": special.erfc}), "special": special}


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_KEYWORDS = {"np", "math", "f", "sd"}


def _program_names(source: str) -> set[str]:
    """The identifiers a program defines (parameters, locals, helpers), to strip from messages."""
    import ast
    import builtins

    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return {n for n in names
            if not hasattr(builtins, n) and n not in ("np", "math", "special", "a", "an", "is", "in", "it")}


def normalize(message: str, names: set[str] = frozenset()) -> str:
    """The first line of a message with the program's own names and all numbers replaced, so that the
    same problem in different programs reads the same (library names such as 'pop' are kept)."""
    text = message.strip().splitlines()[0] if message.strip() else ""
    text = re.sub(r"<?fuzz_program_\d+_\d+>?", "<program>", text)
    if names:
        text = re.sub(r"'([A-Za-z_]\w*)'", lambda m: "'<name>'" if m.group(1) in names or m.group(1) == "a"
                      else m.group(0), text)
        pattern = r"(?<![\w.])(?<!type\()(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) \
            + r")(?!\w)"  # not the s of Python's "unsupported operand type(s)"
        text = re.sub(pattern, "<name>", text)
    text = re.sub(r"(?<![\w.])t\d+(?!\w)", "<temporary>", text)  # sourcediff's own temporaries
    # the names of derivative code (in the refusals of hessian, which differentiates generated code)
    text = re.sub(r"(?<![\w.])\w+_(bar|dot|saved|shape)(?!\w)", "<derived>", text)
    text = re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?", "N", text)
    return text[:160]


def _shape_free(text: str) -> str:
    return re.sub(r"\d+", "N", re.sub(r"argument \d+(\S*)", "argument", text))
