"""Calls to the user's own functions: each callee gets a forward half and a backward half.

``f_fwd(*args)`` runs ``f`` and returns ``(output, saved)``; ``f_bwd(saved, out_bar)``
returns the adjoints of the active parameters. A pair is built once per function and
per set of active parameters, and cached. The generated code reaches a pair through
closure cells that are filled when the pair is compiled, so a recursive call finds
the pair that is still being built.
"""
from __future__ import annotations

import threading
import types
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import SourcediffError
from .parse import is_user_function


@dataclass
class SplitPair:
    """The forward and backward halves of one function, for one set of active parameters."""

    function: Callable
    active: tuple[str, ...]
    forward_cell: types.CellType = field(default_factory=types.CellType)
    backward_cell: types.CellType = field(default_factory=types.CellType)
    forward_source: str = ""
    backward_source: str = ""
    mutated: tuple[str, ...] = ()  # parameters whose arrays the function writes into
    building: bool = True  # still being transformed: a call met now is a recursive one
    recursive: bool = False


_pairs: "weakref.WeakKeyDictionary[Callable, dict[tuple[str, ...], SplitPair]]" = weakref.WeakKeyDictionary()
_lock = threading.RLock()
_builder: list[Callable] = []  # the pipeline's build_split and build_jvp, set when the pipeline is imported


@dataclass
class JvpFunction:
    """The forward-mode derivative of one function for one set of active parameters, for calls from generated
    code: ``f_jvp(*tangents of the active parameters, *args) -> (out, out_tangent)``."""

    function: Callable
    active: tuple[str, ...]
    cell: types.CellType = field(default_factory=types.CellType)
    source: str = ""
    mutated: tuple[str, ...] = ()
    building: bool = True
    recursive: bool = False


_jvps: "weakref.WeakKeyDictionary[Callable, dict[tuple, JvpFunction]]" = weakref.WeakKeyDictionary()


def use_builder(build_split: Callable, build_jvp: Callable | None = None) -> None:
    """Build the halves of pairs with ``build_split``, forward derivatives with ``build_jvp`` (the pipeline's;
    this module imports no stage)."""
    _builder[:] = [build_split, build_jvp]


def forget() -> None:
    """Drop every cached pair and forward derivative (a rule was registered)."""
    with _lock:
        _pairs.clear()
        _jvps.clear()


def jvp_function(function: Callable, active: tuple[str, ...], scalars: frozenset[str] = frozenset(),
                 arrays: frozenset[tuple[str, int, str]] = frozenset()) -> JvpFunction:
    """The cached forward derivative of ``function`` for the active parameters ``active`` (see :func:`split_pair`
    for ``scalars`` and ``arrays``); a recursive call finds the one still being built through its cell."""
    key = (active, scalars, arrays)
    with _lock:
        by_active = _jvps.setdefault(function, {})
        found = by_active.get(key)
        if found is not None:
            found.recursive |= found.building
            return found
        found = by_active[key] = JvpFunction(function, active)
        try:
            compiled, source, mutated = _builder[1](function, active, scalars, arrays)
            if mutated and found.recursive:
                raise SourcediffError(
                    f"sourcediff cannot differentiate {getattr(function, '__qualname__', function)!r} yet: it calls "
                    f"itself and writes into its argument {mutated[0]!r}",
                    hint="write the recursion as a loop, or return a new array instead of writing into the argument")
        except BaseException:
            del by_active[key]
            raise
        found.cell.cell_contents, found.source, found.mutated, found.building = compiled, source, mutated, False
        return found


def call_jvp(function: Callable, positions: tuple, keywords: tuple, tangents: tuple, *args: Any, **kwargs: Any):
    """Run the forward derivative of a function known only at run time (``rhs`` passed to a solver):
    ``tangents`` holds those of the arguments at ``positions``, then of the keywords ``keywords``."""
    if not is_user_function(function):
        raise SourcediffError(
            f"sourcediff cannot differentiate a call to {getattr(function, '__qualname__', function)!r} "
            "passed in as a value: only Python functions with source code can be passed around",
            hint="wrap it in a def (def rhs(t, y): return np.sin(y)) and pass that")
    derived = jvp_function(function, active_parameters(function, len(args), positions, keywords))
    if derived.mutated:
        raise SourcediffError(
            f"{function.__qualname__}, passed in as a value, writes into its argument(s) "
            f"{', '.join(derived.mutated)}: the caller cannot follow that",
            hint=f"call {function.__qualname__} by its name, or make it return the new array")
    return derived.cell.cell_contents(*tangents, *args, **kwargs)


def active_parameters(function: Callable, positional_count: int, positions, keywords) -> tuple[str, ...]:
    """The names of the parameters bound to the active arguments of a call."""
    code = function.__code__
    positional = code.co_varnames[: code.co_argcount]
    names = []
    varargs = code.co_varnames[code.co_argcount + code.co_kwonlyargcount] if code.co_flags & 0x04 else None
    for i in positions:
        if i < len(positional):
            names.append(positional[i])
        elif varargs is None:
            raise SourcediffError(f"{function.__qualname__} takes {len(positional)} positional arguments",
                                  hint="check the call")
        elif varargs not in names:
            names.append(varargs)  # the adjoint of *args is a tuple, one entry per extra argument
    params = set(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    for k in keywords:
        if k not in params:
            raise SourcediffError(f"{function.__qualname__} has no parameter named {k!r} for an active argument",
                                  hint="pass the value to a named parameter (**kwargs cannot carry gradients)")
        names.append(k)
    return tuple(names)


def scalar_parameters(function: Callable, call_node, scalar_names: frozenset[str]) -> frozenset[str]:
    """The parameters that receive a Python number at this call site (their adjoints need no unbroadcast)."""
    import gast

    def is_scalar(atom) -> bool:
        if isinstance(atom, gast.Constant):
            return isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool)
        return isinstance(atom, gast.Name) and atom.id in scalar_names

    code = function.__code__
    positional = code.co_varnames[: code.co_argcount]
    found = {positional[i] for i, a in enumerate(call_node.args[: len(positional)]) if is_scalar(a)}
    found |= {k.arg for k in call_node.keywords if k.arg is not None and is_scalar(k.value)}
    bound = set(positional[: len(call_node.args)]) | {k.arg for k in call_node.keywords}
    defaults = dict(zip(positional[len(positional) - len(function.__defaults__ or ()):], function.__defaults__ or ()))
    defaults.update(function.__kwdefaults__ or {})
    found |= {p for p, value in defaults.items() if p not in bound and type(value) in (int, float)}  # left out
    return frozenset(found)


def array_parameters(function: Callable, call_node, facts) -> frozenset[tuple[str, int, str]]:
    """(parameter, ndim, first parameter of the same shape) for the parameters that receive known arrays."""
    import gast

    code = function.__code__
    positional = code.co_varnames[: code.co_argcount]
    bound = [(positional[i], a) for i, a in enumerate(call_node.args[: len(positional)])]
    bound += [(k.arg, k.value) for k in call_node.keywords if k.arg in positional]
    found = []
    first_of_key: dict[tuple, str] = {}
    for param, atom in bound:
        if isinstance(atom, gast.Name) and atom.id in facts.arrays and facts.ndims.get(atom.id) is not None:
            key = facts.shapes.get(atom.id)
            twin = param if key is None else first_of_key.setdefault(key, param)
            found.append((param, facts.ndims[atom.id], twin))
    return frozenset(found)


def split_pair(function: Callable, active: tuple[str, ...], scalars: frozenset[str] = frozenset(),
               arrays: frozenset[tuple[str, int, str]] = frozenset()) -> SplitPair:
    """The cached forward/backward pair of ``function`` for the active parameters ``active``.

    ``scalars`` names the parameters known to receive Python numbers at the call
    site, ``arrays`` those known to receive arrays (see :func:`array_parameters`).
    """
    key = (active, scalars, arrays)
    with _lock:
        by_active = _pairs.setdefault(function, {})
        pair = by_active.get(key)
        if pair is not None:
            if pair.building:
                pair.recursive = True  # its writes into arguments are not known yet at this call
            return pair
        pair = by_active[key] = SplitPair(function, active)
        try:
            forward, backward, forward_source, backward_source, mutated = _builder[0](function, active, scalars,
                                                                                      arrays)
            pair.mutated = mutated
            if mutated and pair.recursive:
                raise SourcediffError(
                    f"sourcediff cannot differentiate {getattr(function, '__qualname__', function)!r} yet: it calls "
                    f"itself and writes into its argument {mutated[0]!r}",
                    hint="write the recursion as a loop, or return a new array instead of writing into the argument")
        except BaseException:
            del by_active[key]
            raise
        pair.building = False
        pair.forward_cell.cell_contents = forward
        pair.backward_cell.cell_contents = backward
        pair.forward_source, pair.backward_source = forward_source, backward_source
        return pair


def call_forward(function: Callable, positions: tuple, keywords: tuple, *args: Any, **kwargs: Any):
    """Run the forward half of a function known only at run time (``rhs`` passed to a solver)."""
    if not is_user_function(function):
        raise SourcediffError(
            f"sourcediff cannot differentiate a call to {getattr(function, '__qualname__', function)!r} "
            "passed in as a value: only Python functions with source code can be passed around",
            hint="wrap it in a def (def rhs(t, y): return np.sin(y)) and pass that")
    pair = split_pair(function, active_parameters(function, len(args), positions, keywords))
    if pair.mutated:
        raise SourcediffError(
            f"{function.__qualname__}, passed in as a value, writes into its argument(s) "
            f"{', '.join(pair.mutated)}: the caller cannot follow that",
            hint=f"call {function.__qualname__} by its name, or make it return the new array")
    out, saved = pair.forward_cell.cell_contents(*args, **kwargs)
    return out, (pair, saved)


def call_backward(residual, out_bar):
    """Run the backward half that ``call_forward`` chose."""
    pair, saved = residual
    return pair.backward_cell.cell_contents(saved, out_bar)
