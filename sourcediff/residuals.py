"""What a forward half saved, kept so that ``vjp_fn`` can run the backward half many times.

The backward half consumes what it is given: it pops the tape, and it puts the
array elements the forward pass overwrote back in place. :class:`Residuals`
records the contents of every list, dict and writable array the saved values
reach, once, and writes them back in place before each run after the first.
Writing back in place keeps every alias and view the forward pass made.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from . import pytrees

_ATOMS = (float, int, complex, bool, str, type(None), range, slice, np.generic)


def root(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory of ``array`` (itself, or the base of the view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class Residuals:
    """The saved values of one forward run; :meth:`take` gives them as the forward half left them.

    ``constant_roots`` holds the ids of arrays that nothing writes into (copies of
    arguments the function does not change): they are not recorded.
    """

    def __init__(self, saved: Any, constant_roots: frozenset[int] = frozenset()):
        self.saved = saved
        self.lock = threading.Lock()  # one backward run at a time: they share the saved objects
        self.roots: set[int] = set()  # ids of the memory owners of every saved array
        self._lists: list[tuple[list, list]] = []
        self._dicts: list[tuple[dict, dict]] = []
        self._arrays: list[tuple[np.ndarray, np.ndarray]] = []
        self._constant_roots = constant_roots
        self._taken = False
        self._record(saved, set())

    @property
    def recorded_bytes(self) -> int:
        """The memory of the recorded array contents (the price of running the backward half again)."""
        return sum(contents.nbytes for _, contents in self._arrays)

    def _record(self, x: Any, seen: set[int]) -> None:
        if isinstance(x, _ATOMS) or id(x) in seen:
            return
        seen.add(id(x))
        if isinstance(x, np.ndarray):
            owner = id(root(x))
            self.roots.add(owner)
            if owner not in self._constant_roots and x.flags.writeable:
                self._arrays.append((x, x.copy()))
            if x.dtype.kind != "O":
                return
            items = list(x.flat)
        elif isinstance(x, list):
            self._lists.append((x, list(x)))
            items = x
        elif isinstance(x, dict):
            self._dicts.append((x, dict(x)))
            items = list(x.values())
        elif isinstance(x, tuple):
            items = list(x)
        else:
            parts = pytrees.children(x)
            items = [child for _, child in parts] if parts is not None else []
        for item in items:
            self._record(item, seen)

    def take(self) -> Any:
        """The saved values as the forward half returned them; call it holding :attr:`lock`."""
        if self._taken:
            for items, contents in self._lists:
                items[:] = contents
            for mapping, contents in self._dicts:
                mapping.clear()
                mapping.update(contents)
            for array, contents in self._arrays:
                array[...] = contents
        self._taken = True
        return self.saved
