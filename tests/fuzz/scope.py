"""Kinds of values, and the scope of names a generated function may read and write.

The generator never evaluates the program it writes; it keeps the program
valid by tracking, for every name, what it holds: a float, an int, an array
of a known shape, or a container of such kinds. Shapes are concrete (the
arguments are generated together with the program), so every slice,
broadcast and matrix product the generator writes fits.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Iterator


@dataclass(frozen=True)
class Kind:
    """What a value is: ``float``, ``int``, ``array`` (with ``shape``), ``floatlist`` or a container.

    Containers (``dict``, ``list``, ``tuple``, ``namedtuple``, ``dataclass``)
    list their parts in ``fields`` as (key, kind); ``type_name`` names the
    class of a namedtuple or dataclass.
    """

    tag: str
    shape: tuple[int, ...] = ()
    fields: tuple[tuple[str, "Kind"], ...] = ()
    type_name: str = ""

    @property
    def is_array(self) -> bool:
        return self.tag == "array"

    @property
    def is_container(self) -> bool:
        return self.tag in ("dict", "list", "tuple", "namedtuple", "dataclass")

    def accessor(self, base: str, key: str) -> str:
        """The expression reading part ``key`` of a container held by ``base``."""
        if self.tag == "dict":
            return f"{base}[{key!r}]"
        if self.tag in ("list", "tuple"):
            return f"{base}[{key}]"
        return f"{base}.{key}"


FLOAT = Kind("float")
INT = Kind("int")


def array(*shape: int) -> Kind:
    return Kind("array", tuple(shape))


def vec(n: int) -> Kind:
    return Kind("array", (n,))


@dataclass
class Var:
    """A name in scope.

    ``origin`` is ``"arg"`` for an object the caller passed (writing into it
    changes the caller's data), ``"local"`` for one made here, ``"view"``
    for a view of ``base`` (read, never written). ``frozen`` names are
    never rebound or written (loop targets, views, aliases kept for reading).
    """

    name: str
    kind: Kind
    origin: str = "local"
    base: str | None = None
    frozen: bool = False


@dataclass
class Scope:
    """The names visible at the current point of a generated function body."""

    vars: dict[str, Var] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, name: str, kind: Kind, origin: str = "local", base: str | None = None,
            frozen: bool = False) -> Var:
        var = Var(name, kind, origin, base, frozen)
        self.vars[name] = var
        self.taken.add(name)
        return var

    def fresh(self, prefix: str) -> str:
        """A name not used anywhere in the program yet."""
        while True:
            name = f"{prefix}{next(self.counter)}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def child(self) -> "Scope":
        """A scope for a nested function: it sees the same names and shares the name counter."""
        return Scope({k: replace(v, frozen=True) for k, v in self.vars.items()}, self.taken, self.counter)

    def get(self, name: str) -> Var | None:
        return self.vars.get(name)

    def drop(self, name: str) -> None:
        self.vars.pop(name, None)

    def floats(self, writable: bool = False) -> list[Var]:
        return [v for v in self.vars.values() if v.kind.tag == "float" and not (writable and v.frozen)]

    def ints(self) -> list[Var]:
        return [v for v in self.vars.values() if v.kind.tag == "int"]

    def arrays(self, shape: tuple[int, ...] | None = None, writable: bool = False,
               ndim: int | None = None) -> list[Var]:
        """Arrays in scope, of ``shape`` or ``ndim`` if given; ``writable`` leaves out views and frozen names."""
        out = []
        for v in self.vars.values():
            if not v.kind.is_array or (shape is not None and v.kind.shape != shape):
                continue
            if ndim is not None and len(v.kind.shape) != ndim:
                continue
            if writable and (v.frozen or v.origin == "view"):
                continue
            out.append(v)
        return out

    def lengths(self) -> list[int]:
        """The lengths of the 1-d arrays in scope."""
        return sorted({v.kind.shape[0] for v in self.arrays(ndim=1)})

    def containers(self) -> list[Var]:
        return [v for v in self.vars.values() if v.kind.is_container]

    def readers(self, kind: Kind) -> list[str]:
        """Expressions that read a value of ``kind``: names, and parts of containers (``p['w']``, ``s.k``)."""
        out = [v.name for v in self.vars.values() if v.kind == kind]
        for v in self.containers():
            for key, part in v.kind.fields:
                if part == kind:
                    out.append(v.kind.accessor(v.name, key))
        return out

    @contextmanager
    def block(self) -> Iterator[None]:
        """Names first bound inside the block are forgotten after it (they may not be bound on every path)."""
        saved = dict(self.vars)
        try:
            yield
        finally:
            self.vars = saved
