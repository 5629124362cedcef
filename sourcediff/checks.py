"""``check_grads``: derivatives checked against central finite differences, as ``jax.test_util.check_grads``.

Each check works in one random direction, so it costs a few calls of ``f``
whatever the sizes: ``jvp`` against the difference quotient along a random
tangent, and ``vjp`` through ``<vjp(u), v> == <u, jvp(v)>`` with a random
cotangent ``u`` and the difference quotient along ``v``. Higher orders check
the derived functions the same way: ``(primals, tangents) -> jvp(f, primals,
tangents)`` for ``"fwd"``, and the pull-back of a fixed random cotangent for ``"rev"``.
"""
from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from . import api, arguments, custom, jacobians, pipeline, pytrees
from .errors import SourcediffError

EPS = 1e-4
TOLERANCE = 1e-5  # atol and rtol for float64, as JAX's default


def check_grads(f: Callable, args: Sequence[Any], order: int = 2, modes: Sequence[str] = ("fwd", "rev"),
                atol: float | None = None, rtol: float | None = None, eps: float | None = None) -> None:
    """Check ``f``'s derivatives at ``args`` against finite differences, up to ``order``; raise if they disagree.

    ``modes`` holds ``"fwd"`` (``sourcediff.jvp``) and/or ``"rev"``
    (``sourcediff.vjp``). Arguments and outputs may be pytrees; their float
    leaves are perturbed. Order 2 checks the derivatives of the derived
    functions, so it needs sourcediff to differentiate its own generated code.
    Raises ``AssertionError`` naming the check that failed (``"VJP of JVP"``).
    """
    unknown = set(modes) - {"fwd", "rev"}
    if unknown or not modes:
        raise ValueError(f"modes must hold 'fwd' and/or 'rev', got {tuple(modes)!r}")
    tolerances = dict(atol=TOLERANCE if atol is None else atol, rtol=TOLERANCE if rtol is None else rtol,
                      eps=EPS if eps is None else eps)
    _check_grads(f, tuple(args), order, tuple(modes), tolerances, "")


def _check_grads(f: Callable, args: tuple, order: int, modes: tuple, tolerances: dict, what: str) -> None:
    if "fwd" in modes:
        label = f"JVP of {what}" if what else "JVP"
        check_jvp(f, _jvp_of(f), args, **tolerances, err_msg=label)
        if order > 1:
            _check_grads(_jvp_function(f, len(args)), (args, args), order - 1, modes, tolerances, label)
    if "rev" in modes:
        label = f"VJP of {what}" if what else "VJP"
        check_vjp(f, lambda *primals: api.vjp(f, *primals), args, **tolerances, err_msg=label)
        if order > 1:
            cotangent = _random_like(_call(f, args), np.random.default_rng(1))
            _check_grads(_pullback_function(f, args, cotangent), args, order - 1, modes, tolerances, label)


def check_jvp(f: Callable, f_jvp: Callable, args: Sequence[Any], atol: float = TOLERANCE,
              rtol: float = TOLERANCE, eps: float = EPS, err_msg: str = "JVP") -> None:
    """Check ``f_jvp(primals, tangents) -> (out, tangent_out)`` against the difference quotient of ``f``."""
    args = tuple(args)
    tangents = _random_like(args, np.random.default_rng(0))
    out, tangent_out = f_jvp(args, tangents)
    _assert_close(out, _call(f, args), atol, rtol, f"{err_msg}: primal output")
    _assert_close(tangent_out, _numerical_jvp(f, args, tangents, eps), atol, rtol, f"{err_msg}: tangent")


def check_vjp(f: Callable, f_vjp: Callable, args: Sequence[Any], atol: float = TOLERANCE,
              rtol: float = TOLERANCE, eps: float = EPS, err_msg: str = "VJP") -> None:
    """Check ``f_vjp(*args) -> (out, vjp_fn)`` through ``<vjp_fn(u), v> == <u, jvp(v)>``, the JVP by differences."""
    args = tuple(args)
    out, vjp_fn = f_vjp(*args)
    _assert_close(out, _call(f, args), atol, rtol, f"{err_msg}: primal output")
    rng = np.random.default_rng(0)
    tangents = _random_like(args, rng)
    cotangent = _random_like(out, rng)
    pulled = vjp_fn(cotangent)
    left = _inner(pulled, tangents)
    right = _inner(cotangent, _numerical_jvp(f, args, tangents, eps))
    _assert_close(left, right, atol, rtol, f"{err_msg}: <vjp(u), v> against <u, jvp(v)> by differences")


# -- the derived functions the higher orders check -----------------------------------------------

def _jvp_of(f: Callable) -> Callable:
    jvp = getattr(api, "jvp", None)
    if jvp is None:
        raise SourcediffError("check_grads cannot check mode 'fwd': this sourcediff has no sourcediff.jvp",
                              hint="check modes=('rev',)")
    return lambda primals, tangents: jvp(f, tuple(primals), tuple(tangents))


def _jvp_function(f: Callable, count: int) -> Callable:
    """``(primals, tangents) -> jvp(f, primals, tangents)``, as a function sourcediff can read and differentiate."""
    _jvp_of(f)  # refuses early when there is no forward mode
    source = "def jvp_of(primals, tangents):\n    return jvp(f, primals, tangents)\n"
    return custom.define(source, "jvp_of", {"jvp": api.jvp, "f": f}, _module_of(f), "check_grads")


def _pullback_function(f: Callable, args: tuple, cotangent: Any) -> Callable:
    """``(*args) -> vjp_fn(cotangent)`` as the generated vjp code of ``f``, called by a function whose source
    sourcediff can read: differentiating it differentiates sourcediff's own output (reverse over reverse)."""
    f = custom.differentiable(f)
    params = arguments.positional_parameters(f)
    if len(params) != len(args) or arguments.varargs_parameter(f) is not None:
        raise SourcediffError(f"check_grads checks order 2 in reverse mode for functions with one named parameter "
                              f"per argument; {getattr(f, '__qualname__', f)} takes {len(params)} and gets "
                              f"{len(args)}", hint="check order=1, or wrap f in a def with one parameter per argument")
    scalars, arrays = arguments.specialization(tuple(params), arguments.kinds(args))
    compiled = pipeline.build(f, "vjp", tuple(params), False, scalars, arrays)
    listed = ", ".join(params)
    source = (f"def pullback_of_{f.__name__}({listed}):\n"
              f"    return {compiled.function.__name__}({listed}, {compiled.seed}=cotangent)\n")
    return custom.define(source, f"pullback_of_{f.__name__}",
                         {compiled.function.__name__: compiled.function, "cotangent": cotangent},
                         _module_of(f), "check_grads")


def _module_of(f: Callable) -> str | None:
    module = inspect.getmodule(f)
    return None if module is None else module.__name__


# -- directions, differences, inner products ------------------------------------------------------

def _is_float_leaf(leaf: Any) -> bool:
    if isinstance(leaf, np.ndarray):
        return leaf.dtype.kind == "f"
    return isinstance(leaf, (float, np.floating))


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    """A random direction shaped like ``tree``: normal draws at float leaves, zeros at int leaves."""
    def draw(leaf):
        if _is_float_leaf(leaf):
            return rng.standard_normal(leaf.shape) if isinstance(leaf, np.ndarray) else float(rng.standard_normal())
        return jacobians.zero(leaf)
    return pytrees.map_leaves(draw, tree)


def _moved(args: tuple, direction: tuple, step: float) -> tuple:
    def move(leaf, d):
        return leaf + step * d if _is_float_leaf(leaf) else copy.deepcopy(leaf)
    return jacobians.unflatten(args, [move(a, d) for a, d in zip(jacobians.leaves(args), jacobians.leaves(direction))])


def _call(f: Callable, args: tuple) -> Any:
    return f(*copy.deepcopy(args))  # f may write into its arguments


def _numerical_jvp(f: Callable, args: tuple, tangents: tuple, eps: float) -> Any:
    plus, minus = _call(f, _moved(args, tangents, eps)), _call(f, _moved(args, tangents, -eps))
    quotients = [(np.asarray(p, dtype=float) - np.asarray(m, dtype=float)) / (2 * eps)
                 if jacobians.numeric(p) else None for p, m in zip(jacobians.leaves(plus), jacobians.leaves(minus))]
    return jacobians.unflatten(plus, quotients)


def _inner(a: Any, b: Any) -> float:
    return float(sum(np.sum(np.asarray(x, dtype=float) * np.asarray(y, dtype=float))
                     for x, y in zip(jacobians.leaves(a), jacobians.leaves(b))
                     if x is not None and y is not None and jacobians.numeric(x) and jacobians.numeric(y)))


def _assert_close(got: Any, expected: Any, atol: float, rtol: float, what: str) -> None:
    got_leaves, expected_leaves = jacobians.leaves(got), jacobians.leaves(expected)
    if len(got_leaves) != len(expected_leaves):
        raise AssertionError(f"{what}: got {len(got_leaves)} leaves, expected {len(expected_leaves)}")
    for k, (g, e) in enumerate(zip(got_leaves, expected_leaves)):
        if e is None or not jacobians.numeric(e):
            continue
        if g is None:
            raise AssertionError(f"{what}: leaf {k} is None, expected {e!r}")
        if np.shape(g) != np.shape(e):
            raise AssertionError(f"{what}: leaf {k} has shape {np.shape(g)}, expected {np.shape(e)}")
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float), atol=atol, rtol=rtol,
                                   err_msg=f"{what} (leaf {k})")
