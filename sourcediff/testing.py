"""Checks of derivatives against central finite differences (like ``jax.test_util.check_grads``)."""
from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import numpy as np

from . import pytrees


def numerical_grad(f: Callable, args: Sequence[Any], argnum: int, eps: float = 1e-6) -> Any:
    """Central finite-difference gradient of scalar ``f`` with respect to ``args[argnum]``.

    ``args[argnum]`` may be a pytree (dict, list, tuple, namedtuple, dataclass,
    plain object): every float, int or array leaf is perturbed in turn, and the
    gradient has the argument's structure, with ``None`` at ``None`` leaves.
    """
    args = list(args)
    x = args[argnum]
    if pytrees.children(x) is not None:
        return _tree_numerical_grad(f, args, argnum, eps)
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        def at(v):
            trial = list(args)
            trial[argnum] = v
            return float(f(*trial))
        return (at(x + eps) - at(x - eps)) / (2 * eps)
    x = np.array(x, dtype=np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        trial_plus, trial_minus = list(args), list(args)
        trial_plus[argnum], trial_minus[argnum] = plus, minus
        out[i] = (float(f(*trial_plus)) - float(f(*trial_minus))) / (2 * eps)
    return out


def _tree_numerical_grad(f: Callable, args: list, argnum: int, eps: float) -> Any:
    tree = args[argnum]

    def with_leaf(k: int, value: Any) -> list:
        position = itertools.count()
        trial = list(args)
        trial[argnum] = pytrees.map_leaves(lambda leaf: value if next(position) == k else leaf, tree)
        return trial

    def leaf_grad(k: int, leaf: Any) -> Any:
        if leaf is None:
            return None
        return numerical_grad(lambda v: f(*with_leaf(k, v)), [leaf], 0, eps)

    grads = iter([leaf_grad(k, leaf) for k, (_, leaf) in enumerate(pytrees.leaves_with_paths(tree))])
    return pytrees.map_leaves(lambda leaf: next(grads), tree)


def assert_trees_close(got: Any, expected: Any, rtol: float = 1e-7, atol: float = 0.0, path: str = "") -> None:
    """Assert two pytrees have the same container types, keys and fields, and leaves that are close.

    ``None`` leaves must match ``None``. The leaves of ``expected`` may be any
    array-likes (for example JAX arrays).
    """
    got_parts, expected_parts = pytrees.children(got), pytrees.children(expected)
    where = path or "the whole tree"
    if got_parts is None or expected_parts is None:
        if got_parts is not None or expected_parts is not None:
            raise AssertionError(f"at {where}: got a {type(got).__name__}, expected a {type(expected).__name__}")
        if got is None or expected is None:
            if got is not expected:
                raise AssertionError(f"at {where}: got {got!r}, expected {expected!r}")
            return
        if np.shape(got) != np.shape(expected):
            raise AssertionError(f"at {where}: got shape {np.shape(got)}, expected {np.shape(expected)}")
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=rtol, atol=atol,
                                   err_msg=f"at {where}")
        return
    if type(got) is not type(expected):
        raise AssertionError(f"at {where}: got a {type(got).__name__}, expected a {type(expected).__name__}")
    got_steps = [step for step, _ in got_parts]
    expected_steps = [step for step, _ in expected_parts]
    if sorted(got_steps) != sorted(expected_steps):
        raise AssertionError(f"at {where}: got parts {got_steps}, expected {expected_steps}")
    expected_children = dict(expected_parts)
    for step, child in got_parts:
        assert_trees_close(child, expected_children[step], rtol, atol, path + step)


def check_grads(
    f: Callable,
    args: Sequence[Any],
    argnums: int | Sequence[int] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    eps: float = 1e-6,
) -> None:
    """Assert ``sourcediff.grad`` of ``f`` matches central finite differences.

    A function with a non-scalar output is checked through a random linear
    projection of its output, which exercises ``vjp`` with a full cotangent.
    Arguments and outputs may be pytrees; the cotangent of a pytree output is
    a pytree of the same structure.
    """
    from sourcediff import grad, vjp

    args = list(args)
    if argnums is None:
        argnums = tuple(range(len(args)))
    elif isinstance(argnums, int):
        argnums = (argnums,)
    out = f(*args)
    if pytrees.children(out) is None and np.ndim(out) == 0:
        scalar_f = f
        grads = grad(f, argnums=tuple(argnums))(*args)
    else:
        rng = np.random.default_rng(0)
        if pytrees.children(out) is None:
            cotangent = rng.standard_normal(np.shape(out))

            def scalar_f(*a):
                return np.sum(np.asarray(f(*a)) * cotangent)
        else:
            cotangent = pytrees.map_leaves(
                lambda leaf: None if leaf is None else
                float(rng.standard_normal()) if np.ndim(leaf) == 0 else rng.standard_normal(np.shape(leaf)), out)
            weights = [w for _, w in pytrees.leaves_with_paths(cotangent)]

            def scalar_f(*a):
                values = [v for _, v in pytrees.leaves_with_paths(f(*a))]
                return sum(np.sum(np.asarray(v) * w) for v, w in zip(values, weights) if w is not None)

        _, pullback = vjp(f, *args)
        all_grads = pullback(cotangent)
        grads = tuple(all_grads[i] for i in argnums)
    for k, i in enumerate(argnums):
        expected = numerical_grad(scalar_f, args, i, eps)
        got = grads[k]
        if pytrees.children(args[i]) is not None:
            assert_trees_close(got, expected, rtol, atol, f"argument {i}")
            continue
        if np.shape(got) != np.shape(args[i]):
            raise AssertionError(
                f"gradient for argument {i} has shape {np.shape(got)}, argument has {np.shape(args[i])}"
            )
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient for argument {i} disagrees with finite differences")
    check_forward(f, args, argnums, grads, None if scalar_f is f else cotangent, rtol, atol)


def check_forward(f: Callable, args: Sequence[Any], argnums: Sequence[int], grads: Sequence[Any],
                  cotangent: Any = None, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Assert forward mode agrees with checked gradients: ``<u, jvp(v)> = <vjp(u), v>`` for a random ``v``
    (``u`` is ``cotangent``, or 1 for a scalar output)."""
    from sourcediff.composed import run_jvp

    rng = np.random.default_rng(1)
    tangents = tuple(_random_like(args[i], rng) for i in argnums)
    tangents = tuple(pytrees.map_leaves(lambda v: v if _is_float_leaf(v) else 0.0 if isinstance(
        v, (int, np.integer)) and not isinstance(v, bool) else v, t) for t in tangents)
    out, out_dot, _ = run_jvp(f, tuple(args), {}, tuple(argnums), tangents, False)
    expected = sum(_inner(_flat(g, args[i]), _flat(t, args[i])) for g, i, t in zip(grads, argnums, tangents))
    if cotangent is None:
        got = float(np.real(out_dot))
    else:
        got = _inner(_flat(cotangent, out), _flat(out_dot, out))
    scale = max(1.0, abs(expected))
    if not abs(got - expected) <= atol + rtol * scale * 10:
        raise AssertionError(f"forward mode disagrees with reverse mode: <u, jvp(v)> = {got}, "
                             f"<vjp(u), v> = {expected}")


def assert_loops_kept(f: Callable, derivative_source: str) -> None:
    """Assert the generated code keeps ``f``'s loops as loops: one forward and one backward loop each.

    A loop whose body has nothing to differentiate may have no backward loop, so
    this checks at least one forward loop per loop of ``f`` and at least one backward loop.
    """
    import inspect
    import textwrap

    import gast

    tree = gast.parse(textwrap.dedent(inspect.getsource(f)))
    loops = sum(isinstance(n, (gast.For, gast.While, gast.comprehension)) for n in gast.walk(tree))
    lines = [line.strip() for line in derivative_source.splitlines()]
    forward = sum(line.startswith(("for ", "while ")) and "reversed(" not in line
                  and "range(tape.pop())" not in line for line in lines)
    backward = sum(line.startswith("for ") and ("reversed(" in line or "range(tape.pop())" in line) for line in lines)
    if loops and (forward < loops or backward < 1):
        raise AssertionError(f"{f.__name__} has {loops} loop(s); the derivative has {forward} forward and "
                             f"{backward} backward loop(s):\n{derivative_source}")


def check_derivative(f: Callable, args: Sequence[Any], argnums: int | Sequence[int],
                     reference: Callable | None = None, rtol: float = 1e-6) -> None:
    """``check_grads``, plus: the generated code keeps ``f``'s loops, and it agrees with ``reference``.

    ``reference(*args)`` gives the gradients another way (for example ``jax.grad``
    of the same code); they must agree to 1e-9.
    """
    from sourcediff import grad

    check_grads(f, args, argnums=argnums, rtol=rtol, atol=1e-8)
    derivative = grad(f, argnums=argnums)
    ours = derivative(*args)
    assert_loops_kept(f, derivative.source)
    if reference is None:
        return
    theirs = reference(*args)
    if not isinstance(argnums, tuple):
        ours, theirs = (ours,), (theirs,)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine, np.asarray(other), rtol=1e-9, atol=1e-12)


# -- one rule's templates, checked directly ------------------------------------------------------------

def _is_float_leaf(x: Any) -> bool:
    """A leaf that carries a tangent: a Python float or complex, a NumPy float, a float or complex array."""
    if isinstance(x, bool):
        return False
    if isinstance(x, (float, complex, np.inexact)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "fc"


def _carries_tangent(x: Any) -> bool:
    return any(_is_float_leaf(leaf) for _, leaf in pytrees.leaves_with_paths(x))


def _random_like(x: Any, rng: np.random.Generator) -> Any:
    """Random normal values in the structure of ``x`` (zeros where a leaf carries no tangent)."""
    def leaf(v):
        if not _is_float_leaf(v):
            return v
        if np.iscomplexobj(v):  # a complex tangent or adjoint
            return rng.standard_normal(np.shape(v)) + 1j * rng.standard_normal(np.shape(v))
        if isinstance(v, np.ndarray):
            return rng.standard_normal(v.shape)
        return float(rng.standard_normal())
    return pytrees.map_leaves(leaf, x)


def _moved(x: Any, v: Any, step: float) -> Any:
    """``x + step * v``, leaf by leaf, in the structure of ``x``."""
    steps = iter([leaf for _, leaf in pytrees.leaves_with_paths(v)])

    def leaf(a):
        d = next(steps)
        if not _is_float_leaf(a):
            return a
        moved = a + step * d
        return float(moved) if isinstance(a, float) else moved
    return pytrees.map_leaves(leaf, x)


def _flat(x: Any, like: Any) -> list[np.ndarray]:
    """The float leaves of ``x`` read in the structure of ``like`` (a primal value), each broadcast to the
    shape of ``like``'s leaf; an absent or ``None`` part of ``x`` is zero (tangents and adjoints of records are
    dicts holding only some fields)."""
    parts = pytrees.children(like)
    if parts is None:
        if not _is_float_leaf(like):
            return []
        shape = np.shape(like)
        if x is None:
            return [np.zeros(shape)]
        return [np.broadcast_to(np.asarray(x), shape)]
    out = []
    for i, (step, child) in enumerate(parts):
        key = list(like)[i] if isinstance(like, dict) else step[1:] if step.startswith(".") else i
        if x is None:
            sub = None
        elif isinstance(x, dict):
            sub = x.get(key)
        elif isinstance(x, (tuple, list, np.ndarray)):
            sub = x[i]
        else:
            sub = getattr(x, key, None)
        out.extend(_flat(sub, child))
    return out


def _inner(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """``Re(sum(a * b))``: how an adjoint acts on a tangent, complex ones included (JAX's convention)."""
    return float(sum(np.sum(np.real(x * y)) for x, y in zip(a, b)))


def _primal_of(rule: Any, sd: Any) -> Callable:
    """The function a rule differentiates, called with the rule's parameters (a method: receiver first)."""
    from sourcediff.rules import registry

    primal = rule.primal
    if isinstance(primal, registry.RuntimeFunction):
        return getattr(sd, primal.name)
    if isinstance(primal, str):
        if primal in registry.ATTRIBUTE_RULES and primal not in registry.METHOD_RULES:
            return lambda x: getattr(x, primal)
        return lambda receiver, *args, **kwargs: getattr(receiver, primal)(*args, **kwargs)
    return primal


def check_rule(rule: Any, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None, *,
               rng: np.random.Generator | None = None, eps: float = 1e-6, rtol: float = 1e-5,
               atol: float = 1e-6) -> list[str]:
    """Check a rule's templates at one point; return the parameters checked.

    The templates are evaluated directly, with ``np``, ``math`` and ``sd`` bound
    to NumPy, math and the NumPy runtime, the parameters to ``args``/``kwargs``
    (defaults filled in) and ``ans`` to the primal's result. For each
    differentiable parameter whose argument holds floats, with random ``v`` (its
    tangent) and ``u`` (the result's adjoint):

    * the forward template at ``t = v`` agrees with central finite differences
      of the primal in the direction ``v``;
    * ``<vjp(u), v> == <u, jvp(v)>``, the reverse template at ``g = u``
      (unbroadcast when the rule says so) against the forward one.

    Arguments are copied before each call, so primals that write into them
    (``sd.assign_into``) see the same values every time.
    """
    import copy
    import inspect

    from sourcediff.backends import NUMPY

    def unbound(*_args, **_kwargs):
        raise AssertionError("a rule template called a function passed in as a value")

    namespaces = NUMPY.namespaces({"call_forward": unbound, "call_backward": unbound, "call_jvp": unbound})
    sd = namespaces["sd"]
    rng = np.random.default_rng(0) if rng is None else rng
    primal = _primal_of(rule, sd)
    given = rule.signature.bind(*args, **(kwargs or {}))

    def call(arguments: dict[str, Any]) -> Any:
        bound = inspect.BoundArguments(rule.signature, copy.deepcopy(dict(arguments)))
        return primal(*bound.args, **bound.kwargs)

    ans = call(given.arguments)
    full = rule.signature.bind(*args, **(kwargs or {}))
    full.apply_defaults()
    env = dict(full.arguments)

    def evaluate(template: str, **names: Any) -> Any:
        scope = dict(namespaces, **copy.deepcopy(env), ans=copy.deepcopy(ans), **names)
        return eval(compile(template, f"<{rule.origin}>", "eval"), {"__builtins__": __builtins__}, scope)

    checked = []
    for param in rule.adjoints:
        value = env.get(param)
        if param in rule.cut or not _carries_tangent(value):
            continue
        where = f"rule of {rule.primal!r} ({rule.origin}), parameter {param!r}"
        v = _random_like(value, rng)
        plus, minus = dict(given.arguments), dict(given.arguments)
        plus[param], minus[param] = _moved(value, v, eps), _moved(value, v, -eps)
        fd = [(p - m) / (2 * eps) for p, m in zip(_flat(call(plus), ans), _flat(call(minus), ans))]
        jvp = _flat(evaluate(rule.jvps[param], t=copy.deepcopy(v)), ans)
        for got, expected in zip(jvp, fd):
            bad = ~(np.abs(got - expected) <= atol + rtol * np.abs(expected))  # nan is a disagreement too
            assert not np.any(bad), (f"{where}: the forward template {rule.jvps[param]!r} disagrees with finite "
                                     f"differences:\n{got}\nexpected\n{expected}")
        u = _random_like(ans, rng)
        vjp = evaluate(rule.adjoints[param], g=copy.deepcopy(u))
        if rule.unbroadcast:
            vjp = sd.unbroadcast(vjp, value)
        left = _inner(_flat(vjp, value), _flat(v, value))
        right = _inner(_flat(u, ans), jvp)
        assert abs(left - right) <= atol + rtol * max(abs(left), abs(right)), \
            f"{where}: <vjp(u), v> = {left} but <u, jvp(v)> = {right}"
        checked.append(param)
    return checked
