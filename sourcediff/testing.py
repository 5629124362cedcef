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
