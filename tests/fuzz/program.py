"""A generated program: its module source, its arguments, and how it is loaded so sourcediff can read it.

sourcediff reads a function's source with ``inspect.getsource``. A program is
compiled under a unique fake file name that is registered in ``linecache``
(with no modification time, so ``linecache.checkcache`` keeps it), which is
all ``inspect`` needs; nothing is written to disk. :meth:`Loaded.close`
forgets the entries again, so that a long run does not grow ``linecache``.
"""
from __future__ import annotations

import ast
import itertools
import linecache
import types
from dataclasses import dataclass, field
from typing import Any, Callable

ARGS_MARKER = "# --- fuzz arguments ---"
_loads = itertools.count()


@dataclass(frozen=True)
class Program:
    """Module source with an entry ``f``, the arguments (as source), and the arguments to differentiate.

    ``args_source`` is a Python expression for the argument tuple, evaluated
    in the module's namespace (so it may use ``np`` and the module's
    namedtuple and dataclass types). ``jax_compatible`` says the program has
    no in-place updates or aliasing, so the same source with ``np`` bound to
    ``jax.numpy`` computes the same function.
    """

    source: str
    args_source: str
    argnums: int | tuple[int, ...]
    seed: int = 0
    features: frozenset[str] = field(default_factory=frozenset)
    jax_compatible: bool = False

    @property
    def argnums_tuple(self) -> tuple[int, ...]:
        return (self.argnums,) if isinstance(self.argnums, int) else tuple(self.argnums)

    def replace(self, **changes: Any) -> "Program":
        values = {f: getattr(self, f) for f in self.__dataclass_fields__}
        values.update(changes)
        return Program(**values)


@dataclass
class Loaded:
    """A program's module, its entry function and a fresh copy of its arguments."""

    module: types.ModuleType
    filename: str
    function: Callable
    args: tuple

    def close(self) -> None:
        """Forget the program's source and the derivatives' generated sources in ``linecache``."""
        linecache.cache.pop(self.filename, None)
        marker = f" of {self.module.__name__}."
        for key in [k for k in list(linecache.cache) if marker in k]:
            linecache.cache.pop(key, None)


def load(program: Program) -> Loaded:
    """Compile the program's module under a fake file name sourcediff can read, and build its arguments.

    Raises whatever compiling, running the module or building the arguments raises.
    """
    name = f"fuzz_program_{program.seed}_{next(_loads)}"
    filename = f"<{name}>"
    source = program.source
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    try:
        code = compile(source, filename, "exec", dont_inherit=True)  # no `from __future__` of this module
        exec(code, module.__dict__)  # noqa: S102 - generated test programs
        args = eval(program.args_source, module.__dict__)  # noqa: S307
    except BaseException:
        linecache.cache.pop(filename, None)
        raise
    return Loaded(module, filename, module.__dict__["f"], tuple(args))


def reproducer(program: Program, header: str = "") -> str:
    """A self-contained file for a failure: a comment header, the module, then ``ARGS`` and ``ARGNUMS``."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return (f"{comment}{program.source.rstrip()}\n\n\n{ARGS_MARKER}\n"
            f"ARGS = {program.args_source}\n"
            f"ARGNUMS = {program.argnums!r}\n"
            f"SEED = {program.seed!r}\n"
            f"FEATURES = {sorted(program.features)!r}\n"
            f"JAX_COMPATIBLE = {program.jax_compatible!r}\n")


def parse_reproducer(text: str) -> Program:
    """The program saved by :func:`reproducer` (the header comments stay in the source)."""
    source, _, tail = text.partition(ARGS_MARKER)
    tree = ast.parse(tail)
    values: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            values[stmt.targets[0].id] = ast.get_source_segment(tail, stmt.value)
    argnums = ast.literal_eval(values["ARGNUMS"])
    features = frozenset(ast.literal_eval(values.get("FEATURES", "[]")))
    return Program(source=source.rstrip() + "\n", args_source=values["ARGS"], argnums=argnums,
                   seed=ast.literal_eval(values.get("SEED", "0")), features=features,
                   jax_compatible=ast.literal_eval(values.get("JAX_COMPATIBLE", "False")))
