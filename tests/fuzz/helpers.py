"""Fragments that define and call functions: module-level helpers, closures, solvers that take a function.

Helpers are written while the entry function is being written: a module-level
``def`` goes to ``ctx.module`` (its scope holds only its parameters), a nested
``def`` is written in place and also sees the enclosing function's names.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from .context import Context, Writer
from .expressions import Exprs
from .fragments import (array_length, loop_header, new_array, new_float, note_write, publish, simple, small,
                        writable_array)
from .scope import FLOAT, Kind, Scope, vec


@contextmanager
def function_def(c: Context, name: str, params: list[tuple[str, Kind]], defaults: dict[str, str] | None = None,
                 nested: bool = False) -> Iterator[None]:
    """Write ``def name(params):``; inside the block, the body is written in the function's own scope."""
    defaults = defaults or {}
    signature = ", ".join(p + (f"={defaults[p]}" if p in defaults else "") for p, _ in params)
    saved = (c.scope, c.writer, c.outputs, c.depth, c.in_helper, c.loop_count, c.loop_value)
    if nested:
        c.feature("closure")
        scope = c.scope.child()
    else:
        c.feature("helper")
        scope = Scope(taken=c.scope.taken, counter=c.scope.counter)
        c.writer = Writer()
        c.loop_count, c.loop_value = "3", 3
    for p, kind in params:
        scope.add(p, kind, origin="arg")
    c.scope, c.outputs, c.depth, c.in_helper = scope, [], 0, True
    c.line(f"def {name}({signature}):")
    try:
        with c.indent():
            yield
    finally:
        writer = c.writer
        c.scope, c.writer, c.outputs, c.depth, c.in_helper, c.loop_count, c.loop_value = saved
        if not nested:
            c.module.append(writer.text())


def helper_scalar(c: Context, e: Exprs) -> None:
    """``def h(u, k=...): ...; return <float>`` called as ``t = h(x, a)``, maybe with a keyword."""
    n = array_length(c)
    name = c.scope.fresh("energy")
    defaults = {}
    if c.chance(0.4):
        defaults["k"] = c.choice(["0.5", "-1.0", "-0.25", "K_SCALE"])
        c.feature("helper_default")
        if defaults["k"].startswith("-"):
            c.feature("negative_default")
        if defaults["k"] == "K_SCALE":
            c.feature("module_constant")
    with function_def(c, name, [("u", vec(n)), ("k", FLOAT)], defaults):
        if c.chance(0.4):
            simple(c, e)
        c.line(f"return {e.scalar()}")
    u = _array_argument(c, e, n)
    if "k" in defaults and c.chance(0.5):
        call = f"{name}({u})"
    elif c.chance(0.3):
        call = f"{name}({u}, k={e.scalar(1)})"
    else:
        call = f"{name}({u}, {e.scalar(1)})"
    publish(c, new_float(c, e, "t", call))


def helper_tuple(c: Context, e: Exprs) -> None:
    """A helper returning a tuple ``(float, array)``, unpacked at the call."""
    c.feature("helper_tuple", "tuple_unpack")
    n = array_length(c)
    name = c.scope.fresh("split")
    with function_def(c, name, [("u", vec(n)), ("a", FLOAT)]):
        c.line(f"return {e.scalar()}, {e.vector(n)}")
    s, v = c.scope.fresh("s"), c.scope.fresh("v")
    c.line(f"{s}, {v} = {name}({_array_argument(c, e, n)}, {e.scalar(1)})")
    c.scope.add(s, FLOAT)
    c.scope.add(v, vec(n))
    publish(c, f"{s} * np.sum({v})")


def helper_np_array(c: Context, e: Exprs) -> None:
    """A helper building ``np.array([...])`` from floats."""
    c.feature("helper_np_array")
    m = c.rng.randint(2, 4)
    name = c.scope.fresh("pack")
    with function_def(c, name, [("a", FLOAT), ("b", FLOAT)]):
        c.line("return np.array([" + ", ".join(e.scalar(1) for _ in range(m)) + "])")
    v = c.scope.fresh("v")
    c.line(f"{v} = {name}({e.scalar(1)}, {e.scalar(1)})")
    c.scope.add(v, vec(m))
    publish(c, f"np.sum({v} ** 2)")


def helper_identity(c: Context, e: Exprs) -> None:
    """``def ident(v): return v`` (or a swap of two), then maybe a write through one of the names."""
    c.feature("helper_identity")
    n = array_length(c)
    u = writable_array(c, e, n, allow_argument=0.1) if not c.pure else c.scope.get(new_array(c, e, n))
    if c.chance(0.5):
        name = c.scope.fresh("ident")
        with function_def(c, name, [("v", vec(n))]):
            c.line("return v")
        w = c.scope.fresh("w")
        c.line(f"{w} = {name}({u.name})")
    else:
        c.feature("helper_tuple")
        name = c.scope.fresh("swap")
        with function_def(c, name, [("v", vec(n)), ("z", vec(n))]):
            c.line("return z, v")
        w, other = c.scope.fresh("w"), c.scope.fresh("o")
        c.line(f"{w}, {other} = {name}({e.vector(n, 1)}, {u.name})")
        c.scope.add(other, vec(n), frozen=True)
    c.scope.add(w, vec(n), origin=u.origin, frozen=True)
    if c.chance(0.6) and not c.pure:
        c.feature("alias_ident_helper")
        note_write(c, u)
        target = c.choice([u.name, w])
        c.line(f"{target} *= {c.number(0.7, 1.3)}")
    publish(c, f"np.sum({w} * {e.atom(e.vector(n, 1))})")


def helper_aug_param(c: Context, e: Exprs) -> None:
    """Helpers that augment a float parameter (``a += a``) or rebind an array parameter and write into it."""
    n = array_length(c)
    name = c.scope.fresh("bump")
    if c.chance(0.5) or c.pure:
        c.feature("helper_aug_float_param")
        with function_def(c, name, [("a", FLOAT), ("u", vec(n))]):
            c.line(c.choice(["a += a", "a *= 1.5", "a -= 0.25"]))
            c.line(f"return a * {e.atom(e.scalar())}")
        a = c.choice(c.scope.readers(FLOAT) or ["0.75"])
        call = f"{name}({a}, {_array_argument(c, e, n)})"
    else:
        c.feature("helper_rebind_write")
        c.mutates = True
        with function_def(c, name, [("u", vec(n)), ("c", FLOAT)]):
            c.line(c.choice(["u = u * c", "u = c * u + 0.0", "u = np.copy(u) * c"]))
            c.line(f"u[{c.rng.randrange(n)}] += {e.scalar(1)}")
            c.line(f"return {e.scalar()}")
        call = f"{name}({_array_argument(c, e, n)}, {e.scalar(1)})"
    publish(c, new_float(c, e, "t", call))


def stencil_helper(c: Context, e: Exprs) -> None:
    """``def step(u, c): u[1:-1] += c * (...)`` that writes into its argument, called in a loop."""
    c.feature("helper_writes_arg", "stencil", "inplace_slice")
    n = max(array_length(c), 3)
    name = c.scope.fresh("step")
    returns = c.chance(0.3)
    with function_def(c, name, [("u", vec(n)), ("c", FLOAT)]):
        c.line(c.choice(["u[1:-1] += c * (u[2:] - 2.0 * u[1:-1] + u[:-2])",
                         "u[1:] -= c * (u[1:] - u[:-1])",
                         "u *= 1.0 + c * np.tanh(u)"]))
        if returns:
            c.feature("helper_returns_arg")
            c.line("return u")
    u = writable_array(c, e, n)
    note_write(c, u)
    k = small(c, e)
    loop_header(c)
    with c.nested():
        if returns:
            c.line(f"{u.name} = {name}({u.name}, {k})")
        else:
            c.line(f"{name}({u.name}, {k})")
    publish(c, f"np.sum({u.name} ** 2)")


def rk4(c: Context, e: Exprs) -> None:
    """Runge-Kutta 4 on a float with a module-level ``rhs(y, k)``."""
    c.feature("ode_loop", "rk4", "helper")
    name = c.scope.fresh("rhs")
    with function_def(c, name, [("y", FLOAT), ("k", FLOAT)]):
        c.line(f"return -k * y + {c.choice(['np.sin(y)', 'math.cos(y)', 'np.tanh(y)'])} * {e.atom(e.scalar(1))}")
    y = new_float(c, e, "y", e.scalar_leaf())
    k = new_float(c, e, "kr", small(c, e))
    h = float(c.number(0.05, 0.2))
    k1, k2, k3, k4 = (c.scope.fresh("k") for _ in range(4))
    loop_header(c)
    with c.nested():
        c.line(f"{k1} = {name}({y}, {k})")
        c.line(f"{k2} = {name}({y} + {h / 2} * {k1}, {k})")
        c.line(f"{k3} = {name}({y} + {h / 2} * {k2}, {k})")
        c.line(f"{k4} = {name}({y} + {h} * {k3}, {k})")
        c.line(f"{y} = {y} + {h} / 6.0 * ({k1} + 2.0 * {k2} + 2.0 * {k3} + {k4})")
    publish(c, y)


def closure_system(c: Context, e: Exprs) -> None:
    """A nested ``def rhs(s)`` returning ``np.array([...])`` (or a tuple), capturing the outer names."""
    c.feature("ode_loop", "closure")
    m = c.rng.randint(2, 3)
    name = c.scope.fresh("rhs")
    as_tuple = c.chance(0.3)
    with function_def(c, name, [("s", vec(m))], nested=True):
        parts = [f"s[{(j + 1) % m}] * {e.atom(e.scalar(1))}" if c.chance(0.5) else
                 f"-{c.number(0.2, 1.0)} * s[{j}] + 0.1 * np.sin({e.scalar(1)})" for j in range(m)]
        c.line(f"return {', '.join(parts)}" if as_tuple else f"return np.array([{', '.join(parts)}])")
    state = c.scope.fresh("state")
    c.line(f"{state} = np.array([{', '.join(e.scalar(1) for _ in range(m))}])")
    c.scope.add(state, vec(m))
    loop_header(c)
    with c.nested():
        call = f"np.array({name}({state}))" if as_tuple else f"{name}({state})"
        if as_tuple:
            c.feature("helper_tuple")
        c.line(f"{state} = {state} + {c.number(0.05, 0.2)} * {call}")
    publish(c, c.choice([f"np.sum({state})", f"{state}[0]", f"np.sum({state} ** 2)"]))


def closure_default(c: Context, e: Exprs) -> None:
    """A nested ``def g(x, c=-1.0)`` with a negative literal default, called in a loop."""
    c.feature("nested_def_neg_default", "negative_default")
    name = c.scope.fresh("g")
    default = c.choice(["-1.0", "-0.5", "-2.0"])
    with function_def(c, name, [("v", FLOAT), ("c", FLOAT)], {"c": default}, nested=True):
        c.line(f"return c * v + {e.scalar(1)}")
    s = new_float(c, e, "s", e.scalar_leaf())
    loop_header(c)
    with c.nested():
        call = f"{name}({s})" if c.chance(0.5) else f"{name}({s}, {e.scalar(1)})"
        c.line(f"{s} = 0.5 * {s} + 0.1 * {call}")
    publish(c, s)


def solver_with_function(c: Context, e: Exprs) -> None:
    """A module-level Euler solver that takes the right-hand side as an argument."""
    c.feature("function_argument", "helper", "ode_loop")
    rhs = c.scope.fresh("decay")
    with function_def(c, rhs, [("y", FLOAT), ("k", FLOAT)]):
        c.line(f"return -k * y + 0.1 * {c.choice(['np.sin(y)', 'math.tanh(y)'])}")
    solver = c.scope.fresh("euler")
    with function_def(c, solver, [("f", Kind("function")), ("y", FLOAT), ("k", FLOAT)]):
        c.line("for _ in range(3):")
        with c.indent():
            c.line("y = y + 0.1 * f(y, k)")
        c.line("return y")
    publish(c, new_float(c, e, "y", f"{solver}({rhs}, {e.scalar(1)}, {small(c, e)})"))


def recursion(c: Context, e: Exprs) -> None:
    """A small recursive helper."""
    c.feature("recursion", "helper")
    name = c.scope.fresh("power")
    with function_def(c, name, [("v", FLOAT), ("m", Kind("int"))]):
        c.line("if m == 0:")
        with c.indent():
            c.line("return 1.0")
        c.line(f"return v * {name}(v, m - 1)")
    publish(c, new_float(c, e, "t", f"{name}({e.atom(e.scalar(1))} * 0.5, {c.rng.randint(1, 3)})"))


def _array_argument(c: Context, e: Exprs, n: int) -> str:
    arrays = c.scope.readers(vec(n))
    if arrays and c.chance(0.7):
        return c.choice(arrays)
    if c.chance(0.5):
        return new_array(c, e, n, "v")
    return e.vector(n, 1)


def helper_flag(c: Context, e: Exprs) -> None:
    """A helper returning a bool computed from varied values, used as a number (``(1.0 + flag(u, a)) * s``) or
    as a condition: a bool carries no derivative."""
    c.feature("helper_flag")
    n = array_length(c)
    name = c.scope.fresh("flag")
    test = c.choice(["bool(np.sum(u) > a)", "bool(np.all(u > a))", "np.ndim(u) == 1 and bool(u[0] > a)"])
    with function_def(c, name, [("u", vec(n)), ("a", FLOAT)]):
        c.line(f"return {test}")
    call = f"{name}({_array_argument(c, e, n)}, {e.scalar(1)})"
    if c.chance(0.5):
        s = new_float(c, e, "s", f"(1.0 + {call}) * {e.scalar(1)}")
    else:
        s = new_float(c, e, "s", f"{e.scalar(1)} if {call} else {e.scalar(1)}")
    publish(c, s)


HELPERS = [
    (2, helper_scalar), (0.6, helper_flag), (1.2, helper_tuple), (1, helper_np_array), (1.5, helper_identity),
    (1.2, helper_aug_param), (1.8, stencil_helper), (1.2, rk4), (1.5, closure_system), (1, closure_default),
    (0.6, solver_with_function), (0.4, recursion),
]
