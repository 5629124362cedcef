"""Statement fragments for data: lists, dicts, containers, iteration over arrays, aliasing and views."""
from __future__ import annotations

from .context import Context
from .expressions import Exprs
from .fragments import array_length, new_array, new_float, note_write, publish, writable_array
from .scope import FLOAT, array, vec


def list_append(c: Context, e: Exprs) -> None:
    """``lst = []`` filled with ``append`` in a loop, then reduced or turned into an array."""
    c.feature("list_append")
    lst = c.scope.fresh("vals")
    c.line(f"{lst} = []")
    n = array_length(c)
    sources = c.scope.arrays((n,))
    item = c.scope.fresh("xi")
    if sources and c.chance(0.6):
        c.feature("for_over_array")
        c.line(f"for {item} in {c.choice(sources).name}:")
        count = n
    else:
        c.line(f"for {item} in range({c.loop_count}):")
        count = c.loop_value
        item = None
    rows = c.chance(0.25)
    with c.nested():
        if item:
            c.scope.add(item, FLOAT, frozen=True)
        c.line(f"{lst}.append({e.vector(n, 1) if rows else e.scalar()})")
    if rows:
        c.feature("list_of_arrays")
        publish(c, c.choice([f"np.sum(np.array({lst}) ** 2)", f"np.sum(sum({lst}))", f"np.sum({lst}[0])"]))
        return
    how = c.choice(["np_sum_list", "sum_list", "np_array_list"])
    c.feature(how)
    if how == "np_sum_list":
        publish(c, f"np.sum({lst})")
    elif how == "sum_list":
        publish(c, f"sum({lst})")
    else:
        arr = c.scope.fresh("arr")
        c.line(f"{arr} = np.array({lst})")
        c.scope.add(arr, vec(count))
        publish(c, f"np.sum({arr} * {arr})")


def iterate_array(c: Context, e: Exprs) -> None:
    """``for xi in x``, ``for i, xi in enumerate(x)`` or ``for xi, yi in zip(x, y)``."""
    n = array_length(c)
    sources = c.scope.readers(vec(n)) or [new_array(c, e, n, "v")]
    x = c.choice(sources)
    s = new_float(c, e, "s", "0.0")
    xi, yi, i = c.scope.fresh("xi"), c.scope.fresh("yi"), c.scope.fresh("i")
    form = c.choice(["for", "enumerate", "zip"])
    c.feature({"for": "for_over_array", "enumerate": "enumerate", "zip": "zip"}[form])
    if form == "for":
        c.line(f"for {xi} in {x}:")
    elif form == "enumerate":
        c.line(f"for {i}, {xi} in enumerate({x}):")
    else:
        c.line(f"for {xi}, {yi} in zip({x}, {c.choice(sources) if c.chance(0.3) else e.vector(n, 1)}):")
    with c.nested():
        c.scope.add(xi, FLOAT, frozen=True)
        if form == "zip":
            c.scope.add(yi, FLOAT, frozen=True)
        term = e.scalar()
        if form == "enumerate":
            term = f"({i} + 1) * {e.atom(term)}"
        c.line(f"{s} = {s} + {term}")
    publish(c, s)


def loop_over_changing_array(c: Context, e: Exprs) -> None:
    """``for xi in u: u += xi`` (the loop reads the array it updates) or ``for b in u: u = u * 2.0``."""
    n = array_length(c)
    u = writable_array(c, e, n) if not c.pure else c.scope.get(new_array(c, e, n))
    item = c.scope.fresh("b")
    c.line(f"for {item} in {u.name}:")
    with c.nested():
        c.scope.add(item, FLOAT, frozen=True)
        if c.chance(0.5) and not c.pure:
            c.feature("loop_over_mutated_array")
            note_write(c, u)
            c.line(f"{u.name} {c.choice(['+=', '-='])} {c.number(0.05, 0.3)} * {item}")
        else:
            c.feature("loop_rebinds_iterated")
            c.line(f"{u.name} = {u.name} * {c.number(0.5, 1.2)} + {c.number(0.05, 0.3)} * {item}")
    publish(c, f"np.sum({u.name} ** 2)")


def alias_write(c: Context, e: Exprs) -> None:
    """``y = x; y += ...``: the update is seen through both names."""
    c.feature("alias_inplace")
    n = array_length(c)
    u = writable_array(c, e, n, allow_argument=0.3)
    note_write(c, u)
    y = c.scope.fresh("y")
    c.line(f"{y} = {u.name}")
    c.scope.add(y, vec(n), origin=u.origin)
    op = c.choice(["+=", "-=", "*="])
    value = f"(1.0 + 0.1 * np.sin({e.vector(n, 1)}))" if op == "*=" else e.atom(e.vector(n, 1))
    if c.chance(0.5):
        c.line(f"{y} {op} {value}")
    else:
        c.line(f"{y}[{c.rng.randrange(n)}] {op} {e.atom(e.scalar(1))}")
    publish(c, f"np.sum({u.name} * {c.choice([u.name, y])})")


def view_read(c: Context, e: Exprs) -> None:
    """A view ``v = u[1:]`` read (not written) right away."""
    c.feature("view_read")
    n = max(array_length(c), 3)
    sources = c.scope.readers(vec(n)) or [new_array(c, e, n)]
    u = c.choice(sources)
    v = c.scope.fresh("view")
    index, m = c.choice([("1:", n - 1), (":-1", n - 1), ("::2", (n + 1) // 2), ("1:-1", n - 2)])
    c.line(f"{v} = {u}[{index}]")
    c.scope.add(v, vec(m), origin="view", frozen=True)
    s = new_float(c, e, "s", f"np.sum({v} * {e.atom(e.vector(m, 1))})")
    c.scope.drop(v)
    publish(c, s)


def unpack_and_update_floats(c: Context, e: Exprs) -> None:
    """``pa, pb = pair; pb += 1.0`` or ``p = {'a': a}; a += 1.0`` (floats are values, not shared)."""
    if c.chance(0.5):
        c.feature("tuple_unpack", "float_aug_unpacked")
        pairs = [v for v in c.scope.containers() if v.kind.tag in ("tuple", "namedtuple")
                 and all(k == FLOAT for _, k in v.kind.fields) and len(v.kind.fields) == 2]
        pa, pb = c.scope.fresh("pa"), c.scope.fresh("pb")
        if pairs and c.chance(0.6):
            c.line(f"{pa}, {pb} = {c.choice(pairs).name}")
        else:
            pair = c.scope.fresh("pair")
            c.line(f"{pair} = ({e.scalar(1)}, {e.scalar(1)})")
            c.line(f"{pa}, {pb} = {pair}")
        c.scope.add(pa, FLOAT)
        c.scope.add(pb, FLOAT)
        c.line(f"{c.choice([pa, pb])} {c.choice(['+=', '-=', '*='])} {c.number(0.5, 1.5)}")
        publish(c, f"{pa} * {pb}")
        return
    c.feature("float_aug_dict")
    a = new_float(c, e, "a", e.scalar_leaf())
    d = c.scope.fresh("p")
    c.line(f"{d} = {{'a': {a}, 'b': {e.scalar(1)}}}")
    c.line(f"{a} += {c.number(0.5, 1.5)}")
    publish(c, f"{d}['a'] * {a} + {d}['b']")


def dict_key_change(c: Context, e: Exprs) -> None:
    """A dict whose entry is replaced, then a new key added: ``d['a'] = d['a'] * 2; d['b'] = x``."""
    c.feature("dict_key_change")
    n = array_length(c)
    d = c.scope.fresh("d")
    c.line(f"{d} = {{'a': {e.scalar(1)}, 'w': {e.vector(n, 1)}}}")
    c.line(f"{d}['a'] = {d}['a'] * {c.number(1.5, 2.5)}")
    new_value = c.choice(c.scope.readers(vec(n)) or ["np.ones(%d)" % n])
    c.line(f"{d}['b'] = {new_value}")
    if c.chance(0.3):
        c.line(f"{d}['w'] = {d}['w'] + {d}['b']")
    publish(c, f"{d}['a'] * np.sum({d}['w'] * {d}['b'])")


def unpack_container(c: Context, e: Exprs) -> None:
    """Unpack a tuple or namedtuple argument, or loop over a list argument."""
    options = [v for v in c.scope.containers() if v.kind.tag in ("tuple", "namedtuple", "list")]
    if not options:
        return tuple_assign(c, e)
    v = c.choice(options)
    names = [c.scope.fresh(key if key.isalpha() else "q") for key, _ in v.kind.fields]
    if v.kind.tag == "list" and len({k for _, k in v.kind.fields}) == 1 and c.chance(0.5):
        c.feature("for_over_list")
        s = new_float(c, e, "s", "0.0")
        item = c.scope.fresh("item")
        c.line(f"for {item} in {v.name}:")
        with c.nested():
            kind = v.kind.fields[0][1]
            c.scope.add(item, kind, frozen=True)
            c.line(f"{s} = {s} + {e.scalar() if kind == FLOAT else f'np.sum({item} ** 2)'}")
        publish(c, s)
        return
    c.feature("tuple_unpack")
    c.line(f"{', '.join(names)} = {v.name}")
    for name, (_, kind) in zip(names, v.kind.fields):
        c.scope.add(name, kind)
    floats = [n for n, (_, k) in zip(names, v.kind.fields) if k == FLOAT]
    arrays = [n for n, (_, k) in zip(names, v.kind.fields) if k.is_array]
    publish(c, f"{floats[0] if floats else '1.0'} * {f'np.sum({arrays[0]})' if arrays else e.scalar(1)}")


def tuple_assign(c: Context, e: Exprs) -> None:
    """``a, b = x, y`` and the swap ``a, b = b, a``."""
    c.feature("tuple_unpack")
    a, b = c.scope.fresh("a"), c.scope.fresh("b")
    c.line(f"{a}, {b} = {e.scalar(1)}, {e.scalar(1)}")
    c.scope.add(a, FLOAT)
    c.scope.add(b, FLOAT)
    if c.chance(0.5):
        c.feature("swap")
        c.line(f"{a}, {b} = {b}, {a} * {c.number(0.5, 1.5)}")
    publish(c, f"{a} - 0.5 * {b}")


def matrix_build(c: Context, e: Exprs) -> None:
    """A small matrix made with ``np.outer``, ``np.c_``, ``np.stack`` or a list of rows, then used."""
    n = array_length(c)
    m = c.scope.fresh("A")
    choice = c.choice(["outer", "c_", "stack", "rows"])
    if choice == "outer":
        c.line(f"{m} = np.outer({e.vector(n, 1)}, {e.vector(2, 1)})")
    elif choice == "c_":
        c.feature("c_")
        c.line(f"{m} = np.c_[{e.vector(n, 1)}, {e.vector(n, 1)}]")
    elif choice == "stack":
        c.line(f"{m} = np.stack([{e.vector(n, 1)}, {e.vector(n, 1)}], axis=1)")
    else:
        c.line(f"{m} = np.array([[{e.scalar(1)}, {e.scalar(1)}] for _ in range({n})])")
        c.feature("comprehension")
    c.scope.add(m, array(n, 2))
    publish(c, e.matrix_reduce() if c.chance(0.5) else f"np.sum({m} @ {e.atom(e.vector(2, 1))})")


def iterate_call_result(c: Context, e: Exprs) -> None:
    """A loop over what a call made: a dict (its keys), ``np.ndindex`` or ``map`` (iterators)."""
    n = array_length(c)
    x = c.choice(c.scope.readers(vec(n)) or [new_array(c, e, n, "v")])
    s = new_float(c, e, "s", "0.0")
    k = c.scope.fresh("k")
    form = c.choice(["dict", "fromkeys", "ndindex", "map"])
    c.feature("iterate " + form)
    d = c.scope.fresh("d")
    if form == "dict":
        c.line(f"{d} = dict(zip(range({n}), [{', '.join(str(1.0 + 0.5 * j) for j in range(n))}]))")
        c.line(f"for {k} in {d}:")
        term = f"{x}[{k}] * ({k} + 1.0) * {d}[{k}]"
    elif form == "fromkeys":
        c.line(f"{d} = dict.fromkeys(range({n}), 0.5)")
        c.line(f"for {k} in {d}:")
        term = f"{x}[{k}] * ({k} + 2.0) * {d}[{k}]"
    elif form == "ndindex":
        c.line(f"for {k} in np.ndindex({n}):")
        term = f"{x}[{k}] * {x}[{k}]"
    else:
        c.line(f"for {k} in map(int, range({n})):")
        term = f"{x}[{k}] * ({k} + 1.0)"
    with c.nested():
        c.scope.add(k, FLOAT, frozen=True)
        c.line(f"{s} = {s} + {term} * {e.atom(e.scalar(1))}")
    publish(c, s)


DATA = [
    (2.5, list_append), (2, iterate_array), (1.2, loop_over_changing_array), (1.5, alias_write),
    (1, view_read), (1.2, unpack_and_update_floats), (1, dict_key_change), (1.5, unpack_container),
    (0.8, tuple_assign), (0.8, matrix_build), (0.6, iterate_call_result),
]
