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
from .parse import generated_call, is_derived, is_user_function


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
_builder: list[Callable] = []  # the pipeline's build_split, set when the pipeline is imported


def use_builder(build_split: Callable) -> None:
    """Build the halves of pairs with ``build_split`` (the pipeline's; this module imports no stage)."""
    _builder[:] = [build_split]


def forget() -> None:
    """Drop every cached pair (a rule was registered)."""
    with _lock:
        _pairs.clear()


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
    if is_derived(function):
        return _derived_forward(function, positions, keywords, args, kwargs)
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
    if type(residual) is _DerivedResidual:
        pair, saved, call, raw = residual
        return pair.backward_cell.cell_contents(saved, call.unfinish(out_bar, raw))
    pair, saved = residual
    return pair.backward_cell.cell_contents(saved, out_bar)


class _DerivedResidual(tuple):
    """What the backward half of a derived function's call needs: (pair, saved, generated call, raw output)."""

    __slots__ = ()


def _derived_forward(function: Callable, positions: tuple, keywords: tuple, args: tuple, kwargs: dict):
    """``call_forward`` of a derived function (``grad(f)`` called inside differentiated code): the forward half
    of its generated code, specialized on these arguments, and its output finished as the derived function's."""
    user = getattr(function, "user_function", None)
    if getattr(user, "__closure__", None):
        raise SourcediffError(
            f"sourcediff cannot differentiate a call of {function!r} inside a differentiated function: "
            f"{user.__qualname__} reads variables of an enclosing function, which would carry no gradient",
            hint=f"define {user.__qualname__} at module level and pass those values as arguments")
    call = generated_call(function, args, kwargs)
    pair = split_pair(call.function, active_parameters(call.function, len(call.args), positions, keywords))
    if pair.mutated:
        raise SourcediffError(
            f"{function!r} writes into its argument(s) {', '.join(pair.mutated)} (and puts them back): a call of it "
            "inside differentiated code cannot be followed", hint="differentiate a function that does not write "
                                                                 "into its arguments (copy them first)")
    raw, saved = pair.forward_cell.cell_contents(*call.args, **call.kwargs)
    return call.finish(raw), _DerivedResidual((pair, saved, call, raw))
