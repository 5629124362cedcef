"""sourcediff's own functions that differentiated code may call.

``stop_gradient(x)`` is ``x`` as a value, through which no derivative flows, in
either mode (``jax.lax.stop_gradient``). It lives here, beside its declaration,
because rules import nothing of the compiler; ``sourcediff.stop_gradient`` is
this function.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .registry import defnondiff


def stop_gradient(x: Any) -> Any:
    """``x`` as a value, but a constant to every derivative: its derivative is zero.

    Works on numbers, arrays and pytrees (dicts, lists, tuples of them); arrays
    are copied, so that writing into the result leaves ``x`` as it was.
    """
    if type(x) is np.ndarray:
        return x.copy()
    if type(x) in (list, tuple):
        return type(x)(stop_gradient(v) for v in x)
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return type(x)._make(stop_gradient(v) for v in x)
    if type(x) is dict:
        return {k: stop_gradient(v) for k, v in x.items()}
    return x


stop_gradient.__module__ = "sourcediff"  # its public name: sourcediff.stop_gradient
defnondiff(stop_gradient, "sourcediff.stop_gradient: its value is a constant to every derivative")
