"""More fragments: 2-D updates, comprehensions, list methods, lambdas, linear algebra, array methods,
writes into containers, and loops that run backwards or with a step."""
from __future__ import annotations

from .context import Context
from .expressions import Exprs
from .fragments import array_length, new_float, note_write, publish, update_float, writable_array
from .helpers import function_def
from .scope import FLOAT, Kind, array, vec


def matrix_update(c: Context, e: Exprs) -> None:
    """In-place updates of a matrix: an element, a row, a column, or a 2-D five-point stencil."""
    if c.pure:
        return update_float(c, e)
    matrices = [m for m in c.scope.arrays(ndim=2)]
    a = c.scope.fresh("A")
    if matrices and c.chance(0.7):
        m = c.choice(matrices)
        rows, cols = m.kind.shape
        c.line(f"{a} = {c.choice([f'{m.name}.copy()', f'np.array({m.name})', f'{m.name} * 1.0'])}")
    else:
        rows, cols = c.rng.randint(3, 4), c.rng.randint(3, 4)
        c.line(f"{a} = np.outer({e.vector(rows, 1)}, {e.vector(cols, 1)})")
    c.scope.add(a, array(rows, cols))
    c.feature("inplace_2d")
    c.mutates = True
    form = c.choice(["element", "row", "column", "stencil" if rows >= 3 and cols >= 3 else "row"])
    if form == "element":
        c.line(f"{a}[{c.rng.randrange(rows)}, {c.rng.randrange(-cols, cols)}] {c.choice(['+=', '-=', '*='])} "
               f"{e.atom(e.scalar(1))}")
    elif form == "row":
        c.line(f"{a}[{c.rng.randrange(rows)}] += {e.atom(e.vector(cols, 1))}")
    elif form == "column":
        c.line(f"{a}[:, {c.rng.randrange(cols)}] *= 1.0 + 0.1 * np.tanh({e.vector(rows, 1)})")
    else:
        c.feature("stencil_2d")
        k = c.number(0.05, 0.2)
        c.line(f"for {c.scope.fresh('i')} in range({c.loop_count}):")
        with c.indent():
            c.line(f"{a}[1:-1, 1:-1] += {k} * ({a}[2:, 1:-1] + {a}[:-2, 1:-1] + {a}[1:-1, 2:] + {a}[1:-1, :-2]"
                   f" - 4.0 * {a}[1:-1, 1:-1])")
    publish(c, f"np.sum({a} * {a})" if c.chance(0.5) else e.matrix_reduce())


def comprehension(c: Context, e: Exprs) -> None:
    """A list comprehension or generator expression over an array or a range."""
    c.feature("comprehension")
    n = array_length(c)
    sources = c.scope.readers(vec(n))
    x = c.choice(sources) if sources else f"np.linspace(0.5, 1.5, {n})"
    item = c.scope.fresh("xi")
    with c.scope.block():
        c.scope.add(item, FLOAT, frozen=True)
        term = e.scalar(1)
    form = c.choice(["list", "array", "generator", "indexed"])
    if form == "list":
        vals = c.scope.fresh("vals")
        c.line(f"{vals} = [{term} for {item} in {x}]")
        publish(c, c.choice([f"np.sum({vals})", f"sum({vals})", f"{vals}[0] * {vals}[-1]"]))
    elif form == "array":
        arr = c.scope.fresh("arr")
        c.line(f"{arr} = np.array([{term} for {item} in {x}])")
        c.scope.add(arr, vec(n))
        publish(c, f"np.sum({arr} ** 2)")
    elif form == "generator":
        c.feature("generator_expression")
        publish(c, new_float(c, e, "s", f"sum({term} for {item} in {x})"))
    else:
        i = c.scope.fresh("i")
        if not sources:
            return
        arr = c.scope.fresh("arr")
        c.line(f"{arr} = np.array([{x}[{i}] * {x}[({i} + 1) % {n}] for {i} in range({n})])")
        c.scope.add(arr, vec(n))
        publish(c, f"np.sum({arr})")


def list_methods(c: Context, e: Exprs) -> None:
    """A list of floats changed with ``lst[i] = v``, ``append``, ``extend``, ``insert`` and ``pop`` (and, rarely,
    joined with ``+`` or repeated with ``* 2``)."""
    c.feature("list_methods")
    lst = c.scope.fresh("lst")
    size = c.rng.randint(2, 3)
    c.line(f"{lst} = [{', '.join(e.scalar(1) for _ in range(size))}]")
    last = None
    for _ in range(c.rng.randint(1, 3)):
        if c.chance(0.08):  # joined or repeated: refused in both modes (the rules are elementwise)
            c.feature("list join")
            if c.chance(0.5):
                c.line(f"{lst} = {lst} + [{e.scalar(1)}]")
                size += 1
            else:
                c.line(f"{lst} = {lst} * 2")
                size *= 2
            continue
        op = c.choice(["setitem", "append", "extend", "insert", "pop"])
        if op == "setitem":
            c.line(f"{lst}[{c.rng.randrange(size)}] = {e.scalar(1)}")
        elif op == "append":
            c.line(f"{lst}.append({e.scalar(1)})")
            size += 1
        elif op == "extend":
            c.line(f"{lst}.extend([{e.scalar(1)}, {e.scalar(1)}])")
            size += 2
        elif op == "insert":
            c.line(f"{lst}.insert({c.rng.randrange(size)}, {e.scalar(1)})")
            size += 1
        elif size > 1 and last is None:
            last = c.scope.fresh("last")
            c.line(f"{last} = {lst}.pop()")
            c.scope.add(last, FLOAT)
            size -= 1
    c.scope.add(lst, Kind("floatlist", (size,)))
    publish(c, f"sum({lst})" + (f" + {last}" if last else ""))


def lambda_call(c: Context, e: Exprs) -> None:
    """``g = lambda v: ...`` capturing the outer names, called twice."""
    c.feature("lambda")
    g = c.scope.fresh("g")
    with c.scope.block():
        v = c.scope.fresh("v")
        c.scope.add(v, FLOAT, frozen=True)
        body_text = e.scalar(1)
        if v not in body_text:
            body_text = f"{v} * {e.atom(body_text)}"
    c.line(f"{g} = lambda {v}: {body_text}")
    publish(c, new_float(c, e, "s", f"{g}({e.scalar_leaf()}) + {g}({e.scalar(1)})"))


def linear_algebra(c: Context, e: Exprs) -> None:
    """``np.linalg.solve``, ``inv`` or ``det`` of a well-conditioned matrix ``B + 3 I``."""
    c.feature("linalg")
    squares = [m for m in c.scope.arrays(ndim=2) if m.kind.shape[0] == m.kind.shape[1]]
    if squares and c.chance(0.6):
        chosen = c.choice(squares)
        k, base = chosen.kind.shape[0], chosen.name
    else:
        k = c.rng.randint(2, 4)
        base = f"np.outer({e.vector(k, 1)}, {e.vector(k, 1)})"
    a = c.scope.fresh("A")
    c.line(f"{a} = 0.2 * {e.atom(base)} + 3.0 * np.eye({k})")
    c.scope.add(a, array(k, k), frozen=True)
    form = c.choice(["solve", "inv", "det"])
    if form == "solve":
        publish(c, f"np.sum(np.linalg.solve({a}, {e.vector(k, 1)}))")
    elif form == "inv":
        publish(c, f"np.sum(np.linalg.inv({a}) @ {e.atom(e.vector(k, 1))})")
    else:
        publish(c, f"np.linalg.det({a})")


def array_methods(c: Context, e: Exprs) -> None:
    """Array methods and attributes: ``.sum()``, ``.mean()``, ``.dot()``, ``.T``, ``.reshape``, ``.ravel()``."""
    c.feature("array_methods")
    n = array_length(c)
    v = e.atom(e.vector(n, 1))
    w = e.atom(e.vector(n, 1))
    form = c.choice(["sum", "mean", "max", "dot", "reshape", "ravel", "T"])
    text = {"sum": f"{v}.sum()", "mean": f"{v}.mean()", "max": f"{v}.max()", "dot": f"{v}.dot({w})",
            "reshape": f"np.sum({v}.reshape(-1, 1) * {w})", "ravel": f"np.sum(np.outer({v}, {w}).ravel())",
            "T": f"np.sum(np.outer({v}, {w}).T @ {v})"}[form]
    publish(c, new_float(c, e, "s", text))


def container_write(c: Context, e: Exprs) -> None:
    """A write into an array held by a container (an argument's, or a dict made here)."""
    if c.pure:
        return update_float(c, e)
    c.feature("container_leaf_write")
    c.mutates = True
    held = [(v, key, kind) for v in c.scope.containers() for key, kind in v.kind.fields if kind.is_array]
    if held and c.chance(0.5):
        v, key, kind = c.choice(held)
        c.feature("writes_argument")
        target = v.kind.accessor(v.name, key)
    else:
        n = array_length(c)
        d = c.scope.fresh("d")
        c.line(f"{d} = {{'w': {e.atom(e.vector(n, 1))}.copy()}}")
        target, kind = f"{d}['w']", vec(n)
    c.line(f"{target}[{c.rng.randrange(kind.shape[0])}] {c.choice(['+=', '*='])} {c.number(0.5, 1.5)}")
    publish(c, f"np.sum({target} ** 2)")


def odd_loops(c: Context, e: Exprs) -> None:
    """Loops that run backwards, with a step, over ``reversed(x)``, or a ``while`` with a ``break``."""
    c.feature("odd_loops")
    n = array_length(c)
    sources = c.scope.readers(vec(n))
    x = c.choice(sources) if sources else None
    s = new_float(c, e, "s", "0.0")
    i = c.scope.fresh("i")
    form = c.choice(["backwards", "step", "reversed" if x else "step", "while_break"])
    if form == "while_break":
        c.line(f"{i} = 0")
        c.line("while True:")
        with c.nested():
            c.line(f"{s} = {s} + {e.scalar()}")
            c.line(f"{i} += 1")
            c.line(f"if {i} >= {c.loop_count} or {s} > {c.number(2.0, 5.0)}:")
            with c.indent():
                c.line("break")
        publish(c, s)
        return
    header = {"backwards": f"for {i} in range({n} - 1, -1, -1):", "step": f"for {i} in range(0, {n}, 2):",
              "reversed": f"for {i} in reversed(range({n})):"}[form]
    c.line(header)
    with c.nested():
        if x:
            c.scope.add(f"{x}[{i}]", FLOAT, frozen=True)
        c.line(f"{s} = {s} * {c.number(0.5, 0.9)} + {e.scalar()}")
    publish(c, s)


def helper_early_return(c: Context, e: Exprs) -> None:
    """A helper with an early ``return`` on its argument."""
    c.feature("helper", "helper_early_return")
    n = array_length(c)
    name = c.scope.fresh("clamp")
    with function_def(c, name, [("v", FLOAT), ("u", vec(n))]):
        c.line(f"if v > {c.number(0.8, 1.3)}:")
        with c.indent():
            c.line(f"return v * {e.atom(e.scalar(1))}")
        c.line(f"return {e.scalar()}")
    u = c.choice(c.scope.readers(vec(n)) or [f"np.ones({n})"])
    publish(c, new_float(c, e, "t", f"{name}({e.scalar(1)}, {u})"))


def argument_write(c: Context, e: Exprs) -> None:
    """A write straight into an array argument (the derivative must put it back), maybe before an early return."""
    if c.pure:
        return update_float(c, e)
    arrays = [v for v in c.scope.arrays(ndim=1, writable=True) if v.origin == "arg"]
    if not arrays:
        return update_float(c, e)
    u = c.choice(arrays)
    n = u.kind.shape[0]
    note_write(c, u)
    c.line(f"{u.name}[{c.rng.randrange(n)}:] {c.choice(['+=', '-=', '*='])} {c.number(0.1, 0.9)}")
    publish(c, f"np.sum({u.name} ** 2)")


def container_alias(c: Context, e: Exprs) -> None:
    """An array put in a list, dict or tuple, then written into through its own name, then read through the
    container (NumPy: the container sees the write; sourcediff must follow it or refuse)."""
    if c.pure:
        return update_float(c, e)
    c.feature("container_alias")
    n = array_length(c)
    u = writable_array(c, e, n)
    note_write(c, u)
    holder = c.scope.fresh("held")
    form = c.choice(["list", "dict", "tuple", "append"])
    read = {"list": f"{holder}[0]", "dict": f"{holder}['u']", "tuple": f"{holder}[1]", "append": f"{holder}[-1]"}
    if form == "list":
        c.line(f"{holder} = [{u.name}, {e.atom(e.vector(n, 1))}]")
    elif form == "dict":
        c.line(f"{holder} = {{'u': {u.name}, 's': {e.scalar(1)}}}")
    elif form == "tuple":
        c.line(f"{holder} = ({e.scalar(1)}, {u.name})")
    else:
        c.line(f"{holder} = []")
        c.line(f"{holder}.append({u.name})")
    c.line(f"{u.name}[{c.rng.randrange(n)}] {c.choice(['+=', '*=', '='])} {e.atom(e.scalar(1))}")
    publish(c, f"np.sum({read[form]} * {e.atom(e.vector(n, 1))})")


def stale_view(c: Context, e: Exprs) -> None:
    """A view read after its base array was written (NumPy: the view shows the new values)."""
    if c.pure:
        return update_float(c, e)
    c.feature("stale_view")
    n = max(array_length(c), 3)
    u = writable_array(c, e, n)
    note_write(c, u)
    v = c.scope.fresh("view")
    index, m = c.choice([("1:", n - 1), (":-1", n - 1), ("::2", (n + 1) // 2)])
    c.line(f"{v} = {u.name}[{index}]")
    c.line(f"{u.name}[{c.rng.randrange(n)}] {c.choice(['+=', '*='])} {e.atom(e.scalar(1))}")
    publish(c, f"np.sum({v} * {v})")


def nested_overwrite(c: Context, e: Exprs) -> None:
    """A float overwritten by a value that does not depend on the inputs, inside nested loops (issue 9, class 3)."""
    c.feature("nested_overwrite")
    k = new_float(c, e, "k", e.scalar())
    i, j = c.scope.fresh("i"), c.scope.fresh("j")
    c.line(f"for {i} in range({c.rng.randint(1, 3)}):")
    with c.nested():
        c.line(f"for {j} in range({c.rng.randint(1, 3)}):")
        with c.nested():
            if c.chance(0.5):
                c.line(f"if {j} == 0:")
                with c.indent():
                    c.line(f"{k} = {c.number(0.5, 1.5)}")
            else:
                c.line(f"{k} = {c.number(0.5, 1.5)}")
    publish(c, k)


def complex_value(c: Context, e: Exprs) -> None:
    """Complex values between real inputs and a real output: a complex constant, ``np.exp(1j * v)``, the FFTs,
    and back to real through ``abs``, ``.real``/``.imag``, ``np.angle``, ``irfft`` or a store into a complex
    array."""
    c.feature("complex")
    z = c.scope.fresh("z")
    form = c.choice(["scalar", "phase", "fft", "rfft", "store"])
    if form == "scalar":
        c.line(f"{z} = {e.scalar()} * {c.choice(['1j', '(0.5 + 0.5j)', '(0.3 - 1.1j)'])}")
        back = c.choice([f"abs({z})", f"{z}.real", f"({z} * {z}).imag", f"abs({z} ** 2 + 1.0)"])
        publish(c, back)
        return
    n = array_length(c)
    if form == "phase":
        c.line(f"{z} = np.exp(1j * {e.vector(n, 1)}) * {e.vector(n, 1)}")
    elif form == "fft":
        option = c.choice(["", f", n={n + 2}", ", norm='ortho'"])
        c.line(f"{z} = np.fft.fft({e.vector(n, 1)}{option})")
    elif form == "rfft":
        c.line(f"{z} = np.fft.rfft({e.vector(n, 1)}) * {c.choice(['1j', '(0.5 - 0.25j)', '2.0'])}")
        publish(c, f"np.sum(np.fft.irfft({z}, n={n}) ** 2)")
        return
    else:
        c.line(f"{z} = np.zeros({n}, dtype=complex)")
        c.line(f"{z}[:] = {e.vector(n, 1)}")
        c.line(f"{z}[0] = {z}[0] * (1 - 2j)")
    back = c.choice([f"np.sum(np.abs({z}) ** 2)", f"np.sum(np.real({z}) * np.imag({z}))",
                     f"np.sum(np.real(np.fft.ifft({z} * np.conj({z}))))", f"np.sum({z}.real ** 2)"])
    publish(c, back)


MORE = [
    (1.5, matrix_update), (1.5, comprehension), (1.2, list_methods), (1, lambda_call), (0.8, linear_algebra),
    (1.2, array_methods), (0.5, container_write), (1.2, odd_loops), (1, helper_early_return), (1, argument_write),
    (0.6, container_alias), (0.5, stale_view), (0.8, nested_overwrite), (0.6, complex_value),
]
