"""The state shared by the expression builders and the statement fragments while one program is written."""
from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from .scope import Scope


class Writer:
    """Lines of Python source at a current indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0

    def line(self, text: str) -> None:
        self.lines.append("    " * self.level + text)

    @contextmanager
    def indent(self) -> Iterator[None]:
        self.level += 1
        start = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == start:
                self.line("pass")
            self.level -= 1

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@dataclass
class Context:
    """Where the generator is: the random stream, the scope, the body being written, and what was used.

    ``features`` names the constructs the program uses (for coverage);
    ``mutates`` is set by anything JAX cannot run (in-place writes, aliasing
    that NumPy and JAX treat differently), which skips the JAX cross-check;
    with ``pure`` set, fragments write none.
    ``outputs`` are float expressions the final ``return`` may add up.
    ``module`` holds the module-level definitions (helpers, classes, constants).
    """

    rng: random.Random
    scope: Scope = field(default_factory=Scope)
    writer: Writer = field(default_factory=Writer)
    features: set[str] = field(default_factory=set)
    mutates: bool = False
    pure: bool = False        # write no in-place updates at all (a program JAX can run too)
    outputs: list[str] = field(default_factory=list)
    module: list[str] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)  # import statements the module needs besides math and numpy
    loop_names: list[str] = field(default_factory=list)   # enclosing loops' int counters, innermost last
    in_helper: bool = False
    depth: int = 0            # how deeply fragments are nested (loops and branches)
    budget: int = 0           # how many more fragments the entry function may use
    loop_count: str = "3"     # the expression for "a few iterations" (the int argument n, or a literal)
    loop_value: int = 3       # its value

    def feature(self, *names: str) -> None:
        self.features.update(names)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def choice(self, items):
        return items[self.rng.randrange(len(items))]

    def weighted(self, table: list[tuple[float, object]]):
        """One item of ``[(weight, item), ...]``."""
        total = sum(w for w, _ in table)
        r = self.rng.random() * total
        for w, item in table:
            r -= w
            if r < 0:
                return item
        return table[-1][1]

    def line(self, text: str) -> None:
        self.writer.line(text)

    def indent(self):
        return self.writer.indent()

    def number(self, low: float = 0.5, high: float = 1.5) -> str:
        """A float literal with a few digits (readable reproducers)."""
        return repr(round(self.rng.uniform(low, high), 2))

    @contextmanager
    def nested(self) -> Iterator[None]:
        """A block (loop body or branch): indented, with names first bound in it forgotten afterwards."""
        self.depth += 1
        try:
            with self.scope.block(), self.indent():
                yield
        finally:
            self.depth -= 1
