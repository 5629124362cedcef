"""Statement fragments for numerics and control flow: ODE steps, stencils, fills, branches, loops.

A fragment writes a few lines into the function body at the current
indentation, binds the names it makes in the scope, and hands a float that
should reach the output to :func:`publish`. Fragments nest: loop bodies and
branches are filled by :func:`body`, which picks simple statements and,
while the nesting is shallow, other fragments.
"""
from __future__ import annotations

from typing import Callable

from .context import Context
from .expressions import Exprs
from .scope import FLOAT, Var, vec

Fragment = Callable[[Context, Exprs], None]


# -- shared pieces --------------------------------------------------------------------------------

def publish(c: Context, expr: str) -> None:
    """Make ``expr`` (a float) reach the output: a term of the final return, or added to an accumulator."""
    if c.depth == 0:
        c.outputs.append(expr)
        return
    targets = [v for v in c.scope.floats(writable=True) if v.origin == "local"]
    if targets:
        c.line(f"{c.choice(targets).name} += {expr}")
        c.feature("accumulate")


def small(c: Context, e: Exprs) -> str:
    """A small coefficient (0.05 to 0.25 in size), possibly depending on the data."""
    leaf = e.scalar_leaf()
    return c.choice([c.number(0.05, 0.25), f"{c.number(0.05, 0.2)} * {e.atom(leaf)}",
                     f"0.1 * np.tanh({leaf})"])


def new_float(c: Context, e: Exprs, prefix: str = "s", value: str | None = None) -> str:
    name = c.scope.fresh(prefix)
    c.line(f"{name} = {value if value is not None else e.scalar()}")
    c.scope.add(name, FLOAT)
    return name


def array_length(c: Context) -> int:
    lengths = c.scope.lengths()
    return c.choice(lengths) if lengths and c.chance(0.85) else c.rng.randint(3, 5)


def new_array(c: Context, e: Exprs, n: int, prefix: str = "u") -> str:
    """A fresh local array of length ``n`` that may be written into."""
    name = c.scope.fresh(prefix)
    sources = [v for v in c.scope.arrays((n,))]
    if sources and c.chance(0.7):
        src = c.choice(sources).name
        text = c.choice([f"{src}.copy()", f"np.array({src})", f"np.copy({src})", f"{src} + 0.0", f"1.0 * {src}"])
    else:
        text = e.vector(n, 1)  # may be a view (a slice of an argument): copy it before writing into it
        text = f"np.array({text})" if c.chance(0.6) else f"{e.atom(text)}.copy()"
    c.line(f"{name} = {text}")
    c.scope.add(name, vec(n))
    return name


def writable_array(c: Context, e: Exprs, n: int | None = None, allow_argument: float = 0.3) -> Var:
    """An array of length ``n`` to write into: a local one, sometimes the caller's array itself."""
    n = n or array_length(c)
    candidates = [v for v in c.scope.arrays((n,), writable=True) if v.origin != "arg" or c.chance(allow_argument)]
    if candidates and c.chance(0.6):
        return c.choice(candidates)
    return c.scope.get(new_array(c, e, n))


def note_write(c: Context, var: Var) -> None:
    c.mutates = True
    if var.origin == "arg":
        c.feature("writes_argument")


def loop_header(c: Context, start: str = "") -> str:
    """``for i in range(n):`` with a fresh counter; returns the counter's name."""
    i = c.scope.fresh("i")
    c.line(f"for {i} in range({start}{c.loop_count}):")
    return i


# -- simple statements ----------------------------------------------------------------------------

def assign_float(c: Context, e: Exprs) -> None:
    name = new_float(c, e, "t")
    publish(c, name)


def update_float(c: Context, e: Exprs) -> None:
    """``s += ...``, ``s -= ...``, ``s *= ...`` or ``s = s * k + ...`` on a float in scope."""
    floats = c.scope.floats(writable=True)
    if not floats:
        return assign_float(c, e)
    s = c.choice(floats).name
    form = c.weighted([(3, "+="), (1, "-="), (1, "*="), (0.6, "/="), (2, "reassign")])
    if form == "reassign":
        c.feature("reassign")
        c.line(f"{s} = {s} * {c.number(0.5, 1.1)} + {e.atom(e.scalar())}")
    elif form == "*=":
        c.feature("inplace_name")
        c.line(f"{s} *= 1.0 + {small(c, e)}")
    elif form == "/=":
        c.feature("inplace_name")
        c.line(f"{s} /= 1.5 + np.sin({e.scalar(1)})")
    else:
        c.feature("inplace_name", "accumulate")
        c.line(f"{s} {form} {e.scalar()}")


def update_array(c: Context, e: Exprs) -> None:
    """An in-place update of an array: the whole array, an element, a slice, a mask or an integer array."""
    if c.pure:
        return update_float(c, e)
    u = writable_array(c, e)
    n = u.kind.shape[0]
    note_write(c, u)
    op = c.weighted([(3, "+="), (2, "-="), (1.5, "*="), (1, "/="), (1, "=")])
    where = c.weighted([(2, "whole"), (2, "element"), (2.5, "slice"), (1.5, "mask"), (1.5, "intarray"),
                        (1.2, "add_at")])
    if op == "*=":
        value_of = lambda k: f"(1.0 + 0.1 * np.tanh({e.vector(k, 1) if k else e.scalar(1)}))"  # noqa: E731
    elif op == "/=":
        value_of = lambda k: f"(1.5 + np.sin({e.vector(k, 1) if k else e.scalar(1)}))"  # noqa: E731
    else:
        value_of = lambda k: e.atom(e.vector(k) if k else e.scalar())  # noqa: E731
    if where == "whole":
        c.feature("inplace_name")
        if op == "=":
            c.line(f"{u.name}[:] = {value_of(n)}")
        else:
            c.line(f"{u.name} {op} {value_of(n if c.chance(0.6) else 0)}")
    elif where == "element":
        c.feature("inplace_index")
        c.line(f"{u.name}[{c.rng.randrange(-n, n)}] {op} {value_of(0)}")
    elif where == "slice":
        c.feature("inplace_slice")
        start = c.rng.randrange(0, n - 1)
        stop = c.rng.randint(start + 1, n)
        step = 2 if c.chance(0.15) else 1
        length = len(range(start, stop, step))
        end = "" if stop == n else stop - n if c.chance(0.5) else stop
        index = f"{start or ''}:{end}" + (":2" if step == 2 else "")
        c.line(f"{u.name}[{index}] {op} {value_of(length if c.chance(0.7) else 0)}")
    elif where == "mask":
        c.feature("inplace_mask")
        mask_op = "*=" if op in ("=", "/=") else op
        c.line(f"{u.name}[{u.name} > {c.number(0.8, 1.3)}] {mask_op} {c.number(0.5, 1.5)}")
    elif where == "intarray":
        c.feature("inplace_int_array")
        picks = sorted({c.rng.randrange(n) for _ in range(c.rng.randint(1, 3))})
        if c.chance(0.3):
            picks.append(picks[0])
            c.feature("repeated_index")
        index = f"np.array({picks})" if c.chance(0.5) else str(picks)
        c.line(f"{u.name}[{index}] {op} {value_of(len(picks) if c.chance(0.5) else 0)}")
    else:
        c.feature("add_at")
        picks = [c.rng.randrange(n) for _ in range(c.rng.randint(2, 4))]
        function = c.choice(["np.add.at", "np.add.at", "np.subtract.at"])
        value = e.vector(len(picks), 1) if c.chance(0.5) else e.scalar(1)
        c.line(f"{function}({u.name}, {picks}, {value})")
    if c.depth == 0:
        publish(c, f"np.sum({u.name} * {u.name})" if c.chance(0.5) else f"{u.name}[{c.rng.randrange(n)}]")


SIMPLE: list[tuple[float, Fragment]] = [(2, assign_float), (3, update_float), (2.5, update_array)]


def simple(c: Context, e: Exprs) -> None:
    c.weighted(SIMPLE)(c, e)


def body(c: Context, e: Exprs, count: int | None = None) -> None:
    """A few statements for a loop body or a branch."""
    count = count if count is not None else c.rng.randint(1, 3)
    for _ in range(count):
        if c.depth < 3 and c.chance(0.25):
            compound(c, e)
        else:
            simple(c, e)


# -- numerics ------------------------------------------------------------------------------------

def ode_scalar(c: Context, e: Exprs) -> None:
    """Explicit Euler on a float: ``y = y + dt * (rhs)``, or Heun's two-stage update."""
    c.feature("ode_loop")
    y = new_float(c, e, "y", e.scalar_leaf())
    dt = new_float(c, e, "dt", c.number(0.05, 0.2)) if c.chance(0.5) else c.number(0.05, 0.2)
    loop_header(c)
    with c.nested():
        rhs = _rhs_expression(c, e, y)
        if c.chance(0.3):
            k1 = c.scope.fresh("k")
            c.line(f"{k1} = {rhs}")
            rhs2 = _rhs_expression(c, e, f"({y} + {dt} * {k1})")
            c.line(f"{y} = {y} + 0.5 * {dt} * ({k1} + {rhs2})")
        else:
            c.line(f"{y} = {y} + {dt} * ({rhs})")
        if c.chance(0.2):
            body(c, e, 1)
    publish(c, y)


def _rhs_expression(c: Context, e: Exprs, y: str) -> str:
    """A right-hand side in ``y``: a smooth, bounded function plus a data-dependent forcing."""
    k = small(c, e)
    f = c.choice(["np.sin({y})", "math.cos({y})", "np.tanh({y})", "-{y}", "1.0 / (1.0 + {y} * {y})"])
    return f"-{k} * {y} + " + f.format(y=y) + f" * {e.atom(e.scalar(1))}"


def stencil(c: Context, e: Exprs) -> None:
    """A diffusion or advection stencil on slices, updated in place in a loop."""
    n = max(array_length(c), 3)
    u = writable_array(c, e, n)
    note_write(c, u)
    c.feature("stencil", "inplace_slice")
    k = small(c, e)
    if c.chance(0.4):
        kname = new_float(c, e, "kappa", k)
        k = kname
    loop_header(c)
    with c.nested():
        form = c.weighted([(4, "diffuse"), (1.5, "assign"), (1.5, "advect"), (1, "scale")])
        if form == "diffuse":
            c.line(f"{u.name}[1:-1] += {k} * ({u.name}[2:] - 2.0 * {u.name}[1:-1] + {u.name}[:-2])")
        elif form == "assign":
            c.line(f"{u.name}[1:-1] = {u.name}[1:-1] + {k} * ({u.name}[2:] - 2.0 * {u.name}[1:-1] + {u.name}[:-2])")
        elif form == "advect":
            c.line(f"{u.name}[1:] -= {k} * ({u.name}[1:] - {u.name}[:-1])")
        else:
            c.line(f"{u.name}[1:] *= 1.0 + 0.1 * np.tanh({u.name}[:-1])")
        if c.chance(0.2):
            body(c, e, 1)
    publish(c, f"np.sum({u.name} ** 2)" if c.chance(0.6) else f"{u.name}[{c.rng.randrange(n)}]")


def fill_loop(c: Context, e: Exprs) -> None:
    """``y = np.zeros(n)`` filled element by element, or a recurrence ``y[i] = a * y[i - 1] + ...``."""
    c.feature("fill_loop")
    c.mutates = True
    n = array_length(c)
    sources = c.scope.arrays((n,))
    src = c.choice(sources).name if sources else None
    y = c.scope.fresh("buf")
    c.line(f"{y} = " + c.choice([f"np.zeros({n})", f"np.empty({n})"] +
                                ([f"np.zeros_like({src})", f"np.zeros({src}.shape)", f"np.zeros(len({src}))"]
                                 if src else [])))
    i = c.scope.fresh("i")
    recurrence = c.chance(0.35)
    if recurrence:
        c.feature("recurrence_fill")
        c.line(f"{y}[0] = {e.scalar(1)}")
    start = "1, " if recurrence else ""
    bound = c.choice([str(n)] + ([f"len({src})", f"{src}.shape[0]"] if src else []))
    c.line(f"for {i} in range({start}{bound}):")
    with c.nested():
        if src:
            c.scope.add(f"{src}[{i}]", FLOAT, frozen=True)
        value = e.scalar()
        if recurrence:
            value = f"{c.number(0.3, 0.9)} * {y}[{i} - 1] + {e.atom(value)}"
        c.line(f"{y}[{i}] = {value}")
    c.scope.add(y, vec(n))
    publish(c, c.choice([f"np.sum({y} ** 2)", f"np.sum({y})", f"np.dot({y}, {src or y})"]))


def nested_loops(c: Context, e: Exprs) -> None:
    """Two nested loops over a matrix or an array, accumulating into a float."""
    c.feature("nested_loops")
    s = new_float(c, e, "acc", "0.0")
    matrices = c.scope.arrays(ndim=2)
    i, j = c.scope.fresh("i"), c.scope.fresh("j")
    if matrices and c.chance(0.6):
        m = c.choice(matrices)
        rows, cols = m.kind.shape
        c.line(f"for {i} in range({c.choice([str(rows), f'{m.name}.shape[0]'])}):")
        with c.nested():
            c.line(f"for {j} in range({c.choice([str(cols), f'{m.name}.shape[1]'])}):")
            with c.nested():
                c.scope.add(f"{m.name}[{i}, {j}]", FLOAT, frozen=True)
                c.line(f"{s} += {m.name}[{i}, {j}] * {e.atom(e.scalar(1))}")
    else:
        n = array_length(c)
        sources = c.scope.arrays((n,))
        x = c.choice(sources).name if sources else new_array(c, e, n, "v")
        c.line(f"for {i} in range(2):")
        with c.nested():
            c.line(f"for {j} in range(len({x})):")
            with c.nested():
                c.scope.add(f"{x}[{j}]", FLOAT, frozen=True)
                c.line(f"{s} = {s} + {x}[{j}] * {e.atom(e.scalar(1))} * ({i} + 1) / 4.0")
    publish(c, s)


# -- control flow --------------------------------------------------------------------------------

def if_chain(c: Context, e: Exprs) -> None:
    """``if``/``elif``/``else`` on the data, binding a float in every branch."""
    c.feature("if_elif_else")
    z = c.scope.fresh("z")
    branches = c.rng.randint(1, 3)
    for k in range(branches + 1):
        if k == 0:
            c.line(f"if {e.condition()}:")
        elif k < branches:
            c.line(f"elif {e.condition()}:")
        else:
            c.line("else:")
        with c.nested():
            if c.chance(0.4):
                body(c, e, 1)
            c.line(f"{z} = {e.scalar()}")
    c.scope.add(z, FLOAT)
    publish(c, z)


def one_branch_name(c: Context, e: Exprs) -> None:
    """A name bound in one branch only, read later under the same condition."""
    c.feature("branch_only_name")
    flag = c.scope.fresh("flag")
    c.line(f"{flag} = {e.condition()}")
    s = new_float(c, e, "s", e.scalar(1))
    t = c.scope.fresh("w")
    c.line(f"if {flag}:")
    with c.nested():
        c.line(f"{t} = {e.scalar()}")
        c.line(f"{s} = {s} + {t}")
    if c.chance(0.6):
        simple(c, e)
        c.line(f"if {flag}:")
        with c.nested():
            c.line(f"{s} = {s} + 2.0 * {t}")
    publish(c, s)


def while_loop(c: Context, e: Exprs) -> None:
    """A ``while`` loop whose trip count depends on the data, bounded by a counter."""
    c.feature("while_data")
    z = new_float(c, e, "z", f"{e.atom(e.scalar_leaf())} * 0.5")
    k = c.scope.fresh("k")
    c.line(f"{k} = 0")
    limit = c.rng.randint(3, 8)
    if c.chance(0.3):
        c.line(f"while {k} < {c.loop_count}:")
    else:
        c.line(f"while {z} < {c.number(1.0, 3.0)} and {k} < {limit}:")
    with c.nested():
        c.line(f"{z} = {z} * {c.number(1.05, 1.4)} + {small(c, e)}")
        if c.chance(0.4):
            body(c, e, 1)
        c.line(f"{k} += 1")
    publish(c, z)


def early_return(c: Context, e: Exprs) -> None:
    """``if cond: return ...`` in the middle of the function."""
    if c.in_helper or not c.outputs:
        return assign_float(c, e)
    c.feature("early_return")
    c.line(f"if {e.condition()}:")
    with c.nested():
        c.line(f"return {' + '.join(c.outputs[-3:])}")


def loop_with_exits(c: Context, e: Exprs) -> None:
    """A loop with ``continue``, ``break`` or a ``return`` on the data."""
    n = array_length(c)
    sources = c.scope.arrays((n,))
    s = new_float(c, e, "s", c.choice(["0.0", e.scalar_leaf()]))
    i = c.scope.fresh("i")
    if sources:
        x = c.choice(sources).name
        c.line(f"for {i} in range(len({x})):")
    else:
        x = None
        c.line(f"for {i} in range({c.loop_count}):")
    with c.nested():
        if x:
            c.scope.add(f"{x}[{i}]", FLOAT, frozen=True)
        exits = c.rng.sample(["continue", "break", "return"], c.rng.randint(1, 2))
        if "continue" in exits:
            c.feature("continue")
            c.line(f"if {e.condition()}:")
            with c.nested():
                c.line("continue")
        c.line(f"{s} += {e.scalar()}")
        if "break" in exits:
            c.feature("break")
            c.line(f"if {s} > {c.number(1.5, 4.0)}:")
            with c.nested():
                c.line("break")
        if "return" in exits and not c.in_helper:
            c.feature("early_return")
            c.line(f"if {s} > {c.number(3.0, 6.0)}:")
            with c.nested():
                c.line(f"return {s} * 0.5")
    publish(c, s)


def pass_loop(c: Context, e: Exprs) -> None:
    c.feature("pass_loop")
    i = c.scope.fresh("i")
    c.line(f"for {i} in range({c.loop_count}):")
    with c.indent():
        c.line("pass")


def released_name(c: Context, e: Exprs) -> None:
    """A temporary let go with ``del`` once it is read (a del of a name only frees memory)."""
    c.feature("del")
    tmp = c.scope.fresh("tmp")
    c.line(f"{tmp} = {e.scalar()}")
    s = new_float(c, e, "s", f"{tmp} * np.tanh({tmp})")
    c.line(f"del {tmp}")
    publish(c, s)


def loop_block(c: Context, e: Exprs) -> None:
    """A plain counted loop around a few statements."""
    loop_header(c)
    with c.nested():
        body(c, e)


CORE: list[tuple[float, Fragment]] = [
    (3, ode_scalar), (2.5, stencil), (2.5, fill_loop), (1.2, nested_loops), (2.5, if_chain),
    (1, one_branch_name), (1.5, while_loop), (1, early_return), (1.5, loop_with_exits), (0.4, pass_loop),
    (2, loop_block), (2, update_float), (2, update_array), (0.5, released_name),
]


def compound(c: Context, e: Exprs) -> None:
    """Any fragment (the table is assembled in ``generator.py``)."""
    from .generator import fragment

    fragment(c, e)

