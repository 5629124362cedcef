"""What a backend is: the objects that the free names of generated code are bound to."""
from __future__ import annotations

import importlib
import types
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .contract import BOUND_BY_PIPELINE, RUNTIME


class RuntimeNamespace(types.SimpleNamespace):
    """What ``sd`` is bound to in generated code: exactly the contract. Its own type, so that code reading
    generated code again (``grad(grad(f))``) knows a call of ``sd.<name>`` for a runtime call."""


class LazyModule:
    """A module imported when one of its attributes is first read. Helpers call ``scipy_special.digamma(x)``
    through one: ``import sourcediff`` does not import SciPy, and the call still names the function, so that a
    helper calling it can be differentiated through its source."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # introspection (copy, inspect, pickle) imports nothing
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on use>"


@dataclass(frozen=True)
class Backend:
    """An array library (``np``), its scalar functions (``math``) and a runtime implementing the contract (``sd``)."""

    name: str
    np: types.ModuleType
    math: types.ModuleType
    runtime: types.ModuleType

    def namespaces(self, bound: Mapping[str, Callable]) -> dict[str, Any]:
        """``np``, ``math`` and ``sd``; ``sd`` holds exactly the contract, with ``bound`` for the pipeline's calls."""
        missing = set(BOUND_BY_PIPELINE) - set(bound)
        if missing:
            raise TypeError(f"the pipeline must bind {sorted(missing)}")
        sd = {name: bound[name] if name in BOUND_BY_PIPELINE else getattr(self.runtime, name) for name in RUNTIME}
        return {"np": self.np, "math": self.math, "sd": RuntimeNamespace(**sd)}
