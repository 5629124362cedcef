"""The arguments of a derivative and what it returns: argnums, specialization kinds, checks and gradient structure."""
from __future__ import annotations

import inspect
import linecache
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from . import pytrees
from .errors import ArgnumsError, NonDifferentiableArgumentError, SourceNotFoundError, SourcediffError

if TYPE_CHECKING:
    from .pipeline import Compiled


def positional_parameters(f: Callable) -> list[str]:
    code = getattr(f, "__code__", None)
    if code is None:
        raise SourceNotFoundError(
            f"cannot differentiate {f!r}: it is not a Python function with source code",
            hint="wrap it in a Python function, or register a rule for it with "
                 "sourcediff.rules.registry.defrule")
    return list(code.co_varnames[: code.co_argcount])


def varargs_parameter(f: Callable) -> str | None:
    """The name of ``f``'s ``*args`` parameter, or None."""
    code = f.__code__
    if code.co_flags & inspect.CO_VARARGS:
        return code.co_varnames[code.co_argcount + code.co_kwonlyargcount]
    return None


def normalize_argnums(f: Callable, argnums: int | Sequence[int]) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative positions; with ``*args``, a position past the named parameters
    is one inside ``*args``."""
    params = positional_parameters(f)
    single = isinstance(argnums, (int, np.integer))
    numbers = (int(argnums),) if single else tuple(int(a) for a in argnums)
    if not numbers:
        raise ArgnumsError("argnums is empty: name at least one argument to differentiate")
    varargs = varargs_parameter(f)
    out = []
    for a in numbers:
        if varargs is not None and a < 0:
            raise ArgnumsError(
                f"argnums={argnums!r}: {f.__qualname__} takes *{varargs}, so a position counted from the end "
                "depends on each call", filename=f.__code__.co_filename, lineno=f.__code__.co_firstlineno,
                hint="count positions from the start (0 is the first argument)")
        if varargs is None and not -len(params) <= a < len(params):
            raise ArgnumsError(
                f"argnums={argnums!r} is out of range: {f.__qualname__} takes {len(params)} positional "
                f"argument(s) ({', '.join(params) or 'none'})",
                filename=f.__code__.co_filename, lineno=f.__code__.co_firstlineno,
                hint=f"use indices from 0 to {len(params) - 1}")
        out.append(a if varargs is not None else a % len(params))
    if len(set(out)) != len(out):
        raise ArgnumsError(f"argnums={argnums!r} names an argument twice")
    return tuple(out)


def differentiated(f: Callable, argnums: tuple[int, ...]) -> tuple[tuple[str, ...], tuple[tuple[int, int | None], ...]]:
    """The parameters to differentiate (``*args`` once, whichever of its positions are asked for), and for
    each of ``argnums`` where its gradient is: (index among those parameters, position inside ``*args`` or None)."""
    params = positional_parameters(f)
    wrt: list[str] = []
    picks = []
    for a in argnums:
        param, inside = (params[a], None) if a < len(params) else (varargs_parameter(f), a - len(params))
        if param not in wrt:
            wrt.append(param)
        picks.append((wrt.index(param), inside))
    return tuple(wrt), tuple(picks)


def picked(grads: Any, picks: tuple[tuple[int, int | None], ...], count: int) -> list:
    """Per argnum its gradient, out of what the derivative returned for its ``count`` parameters (the gradient
    itself for one, else a tuple); a position inside ``*args`` reads that element of ``*args``'s gradient."""
    out = []
    for index, inside in picks:
        g = grads if count == 1 else grads[index]
        out.append(g if inside is None else g[inside])
    return out


def check_call_length(f: Callable, argnums: tuple[int, ...], args: tuple) -> None:
    """Refuse a call that passes fewer positional arguments than ``argnums`` names (possible with ``*args``)."""
    if max(argnums) >= len(args):
        raise ArgnumsError(f"argnums names argument {max(argnums)}, but this call of {f.__qualname__} passes "
                           f"{len(args)} positional argument(s)", hint="pass the argument, or change argnums")


_PYTHON_NUMBERS = frozenset((float, int))
_OTHER, _NUMBER = 0, 1  # an ndarray's kind is (ndim, position of the first argument of the same shape)


def kinds(args: tuple) -> tuple:
    """What a specialization knows of each argument: a Python number, an ndarray (its ndim, and which
    earlier array argument has the same shape), or neither."""
    kinds = []
    first_of_shape: dict[tuple, int] = {}
    for i, x in enumerate(args):
        kind = type(x)
        if kind is np.ndarray:
            shape = x.shape
            kinds.append((len(shape), first_of_shape.setdefault(shape, i)))
        else:
            kinds.append(_NUMBER if kind is float or kind is int else _OTHER)
    return tuple(kinds)


def specialization(params: tuple, kinds: tuple) -> tuple[frozenset, frozenset]:
    """The parameters that are Python numbers, and (parameter, ndim, first parameter of its shape) of the arrays."""
    return (frozenset(p for p, k in zip(params, kinds) if k == _NUMBER),
            frozenset((p, k[0], params[k[1]]) for p, k in zip(params, kinds) if type(k) is tuple))
PLAIN_ARGUMENTS = frozenset((float, np.ndarray))


def match(g: Any, x: Any) -> Any:
    """Give gradient ``g`` the structure and dtypes of the argument ``x`` (a float, an array or a pytree)."""
    kind = type(x)
    if _is_complex(g):
        raise _complex_gradient()
    if kind is float or kind is int:
        return float(g)
    if kind is np.ndarray:
        dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
        g = np.asarray(g, dtype=dtype)
        if g.shape != x.shape:
            g = np.broadcast_to(g, x.shape).copy()
        return g
    if isinstance(x, np.generic):
        dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.dtype(np.float64)
        return dtype.type(g)
    return _match_tree(g, x, "")


def distinct(grads: tuple, given: Any = None) -> tuple:
    """The gradients, with an array that is also another argument's gradient (z = x + y gives both), or
    is the array ``given`` (a cotangent passed in), copied."""
    seen: set[int] = {id(given)} if type(given) is np.ndarray else set()
    out = []
    for g in grads:
        if type(g) is np.ndarray:
            if id(g) in seen:
                g = g.copy()
            seen.add(id(g))
        out.append(g)
    return tuple(out)


_ZERO = object()  # the gradient of a part that received none


def _match_tree(g: Any, x: Any, path: str) -> Any:
    """``match`` for pytrees: ``g`` may be sparse (absent keys and fields are zero)."""
    if x is None:
        return None
    parts = pytrees.children(x)
    if parts is None:
        if g is _ZERO or g is None:
            g = 0.0
        elif pytrees.children(g) is not None:
            raise _structure_error(g, x, path)
        if isinstance(x, (float, int)) and not isinstance(x, bool):
            if _is_complex(g):
                raise _complex_gradient()
            return float(g)
        return match(g, x)
    if g is _ZERO or g is None:
        values = [_match_tree(_ZERO, child, path + step) for step, child in parts]
    elif isinstance(x, dict):
        if not isinstance(g, dict):
            raise _structure_error(g, x, path)
        values = [_match_tree(dict.get(g, k, _ZERO), v, path + step) for (step, v), k in zip(parts, x)]
    elif isinstance(x, (tuple, list)):
        if type(g) is np.ndarray and g.ndim and len(g) == len(x):
            g = list(g)  # the list was used as an array operand: its gradient came back as an array
        if not isinstance(g, (tuple, list)) or len(g) != len(x):
            raise _structure_error(g, x, path)
        values = [_match_tree(gi, child, path + step) for gi, (step, child) in zip(g, parts)]
    else:
        if isinstance(g, dict):
            fields = g
        elif type(g) is type(x):
            fields = {name: getattr(g, name, _ZERO) for name in pytrees.record_fields(g)}
        else:
            raise _structure_error(g, x, path)
        values = [_match_tree(fields.get(step[1:], _ZERO), child, path + step) for step, child in parts]
    return pytrees.rebuild(x, values)


def _complex_gradient() -> SourcediffError:
    """The gradient of a real argument came out complex: a complex value sourcediff did not see coming met the
    differentiated values (a constant from a function returning complex numbers, a float power of a negative
    number), so its real part may be wrong too."""
    return SourcediffError(
        "the gradient of a real argument came out complex: a complex value that sourcediff could not see in the "
        "source (returned by a function without a rule, or a negative number raised to a fractional power) met "
        "the differentiated values, and the derivative would be wrong",
        hint="make the complex values visible (np.fft, 1j, dtype=complex), or compute with real and imaginary "
             "parts as separate real arrays")


def _structure_error(g: Any, x: Any, path: str) -> SourcediffError:
    def describe(v: Any) -> str:
        length = f" of length {len(v)}" if isinstance(v, (tuple, list)) else ""
        return f"a {type(v).__name__}{length}"

    return SourcediffError(
        f"internal error: the gradient of the argument{path and ' part ' + path} is {describe(g)}, "
        f"but the argument{path and ' part'} is {describe(x)}; refusing to return a gradient of the wrong "
        "structure",
        hint="please report this with your function. If a field of a dataclass or object is named like an "
             "ndarray attribute (T, shape, size, ndim, dtype), renaming it avoids the problem")


_DIFFERENTIABLE_LEAVES = (float, int, np.ndarray, np.generic)


def _refusal(x: Any, path: str, nested: bool = False) -> str | None:
    """Why the leaf at ``path`` (or one below it) cannot carry a gradient; ``None`` if every leaf can."""
    if isinstance(x, bool) or isinstance(x, np.bool_):
        return f"{path} is a bool"
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray:  # np.matrix: * is a matrix product
        return f"{path} is a {type(x).__name__} (a subclass of ndarray; pass np.asarray(...))"
    if _is_complex(x):
        return f"{path} is complex (complex numbers are not differentiated yet)"
    if isinstance(x, _DIFFERENTIABLE_LEAVES):
        if isinstance(x, (np.ndarray, np.generic)) and not np.issubdtype(x.dtype, np.number):
            return f"{path} has dtype {x.dtype}"
        return None
    parts = pytrees.children(x)
    if parts is None:
        return None if x is None and nested else f"{path} is a {type(x).__name__}"
    for step, child in parts:
        problem = _refusal(child, path + step, True)
        if problem is not None:
            return problem
    return None


def _is_complex(x: Any) -> bool:
    return isinstance(x, complex) or (isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind == "c")


def _complex_part(x: Any, path: str) -> str | None:
    """The path of a complex leaf in ``x``, or None."""
    kind = type(x)
    if kind is float or kind is int or (kind is np.ndarray and x.dtype.kind != "c"):
        return None
    if _is_complex(x):
        return path
    for step, child in pytrees.children(x) or ():
        found = _complex_part(child, path + step)
        if found is not None:
            return found
    return None


def refuse_complex(f: Callable, args: tuple) -> None:
    """Complex values are not differentiated yet: one meeting the differentiated values would give a wrong
    derivative, so an argument holding one is refused, differentiated or not."""
    for i, x in enumerate(args):
        found = _complex_part(x, f"argument {i}")
        if found is not None:
            raise NonDifferentiableArgumentError(
                f"{found} is complex: sourcediff does not differentiate complex numbers yet (differentiating "
                f"{f.__qualname__})", hint="split it into real and imaginary parts (x.real, x.imag) and pass "
                                          "those as real arrays")


def check_argument(f: Callable, x: Any, index: int) -> None:
    """Refuse an argument that cannot carry a gradient, naming the leaf: ``argument 0['W'] is a str``.

    Arguments are pytrees (see :func:`grad`): every leaf must be a float, an int
    or a numeric ndarray. ``None`` inside a container is an empty part whose
    gradient is ``None``, as in JAX; strings, bools and other objects are refused.
    """
    problem = _refusal(x, f"argument {index}")
    if problem is None:
        return
    if pytrees.children(x) is None:
        hint = "pass a float or an ndarray, or leave this argument out of argnums"
    else:
        hint = ("make every leaf a float, an int or a numeric ndarray; pass strings, flags and other settings "
                "in an argument that is not in argnums")
    raise NonDifferentiableArgumentError(f"{problem}, which cannot carry a gradient (differentiating "
                                         f"{f.__qualname__})", hint=hint)


def check_cotangent(cotangent: Any, out: Any, path: str = "", what: str = "cotangent", of: str = "output"
                    ) -> None:
    """Refuse a cotangent that does not have the structure and shapes of the output ``out`` (``what``, ``of``:
    "tangent" and "primal" for a tangent)."""
    parts = None if type(out) in PLAIN_ARGUMENTS else pytrees.children(out)
    where = f" at {of}{path}" if path else ""
    if parts is None:
        numeric = isinstance(out, _DIFFERENTIABLE_LEAVES) and not isinstance(out, (bool, np.bool_)) and \
            np.issubdtype(np.asarray(out).dtype, np.number)
        if not numeric:
            return  # a leaf that carries no gradient: its cotangent is not read
        if cotangent is None or pytrees.children(cotangent) is not None:
            raise SourcediffError(f"the {what}{where} is a {type(cotangent).__name__}, but the {of} is a "
                                  f"{'number' if np.ndim(out) == 0 else 'array'} of shape {np.shape(out)}")
        if np.shape(cotangent) != np.shape(out):
            raise SourcediffError(f"the {what}{where} has shape {np.shape(cotangent)}, but the {of} has "
                                  f"shape {np.shape(out)}")
        return
    if isinstance(out, dict):
        if not isinstance(cotangent, dict) or set(cotangent) != set(out):
            got = f"a dict with keys {_keys(cotangent)}" if isinstance(cotangent, dict) \
                else f"a {type(cotangent).__name__}"
            raise SourcediffError(f"the {what}{where} is {got}, but the {of} is a dict with keys {_keys(out)}",
                                  hint=f"give the {what} the structure of the {of}")
        for key, child in out.items():
            check_cotangent(cotangent[key], child, f"{path}[{key!r}]", what, of)
        return
    if isinstance(out, (tuple, list)):
        if not isinstance(cotangent, (tuple, list)) or len(cotangent) != len(out):
            got = f" of length {len(cotangent)}" if isinstance(cotangent, (tuple, list)) else ""
            raise SourcediffError(f"the {what}{where} is a {type(cotangent).__name__}{got}, but the {of} is "
                                  f"a {type(out).__name__} of length {len(out)}",
                                  hint=f"give the {what} the structure of the {of}")
        for c, (step, child) in zip(cotangent, parts):
            check_cotangent(c, child, path + step, what, of)
        return
    if type(cotangent) is not type(out):
        raise SourcediffError(f"the {what}{where} is a {type(cotangent).__name__}, but the {of} is a "
                              f"{type(out).__name__}", hint=f"give the {what} the structure of the {of}")
    for step, child in parts:
        check_cotangent(getattr(cotangent, step[1:]), child, path + step, what, of)


def _keys(d: dict) -> str:
    return ", ".join(sorted(map(repr, d)))


def located(exc: SourcediffError, compiled: Compiled) -> SourcediffError:
    """The same error, pointing at the user's return statement."""
    filename, lineno = compiled.output_location
    source_line = linecache.getline(filename, lineno) if lineno else None
    return type(exc)(exc.message, filename=filename, lineno=lineno, source_line=source_line, hint=exc.hint)


def _generated_line(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost line of generated code that ``exc`` passed through."""
    filename = lineno = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<sourcediff"):
            filename, lineno = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return filename, lineno


def at_generated_line(exc: SourcediffError) -> SourcediffError:
    """A refusal the runtime raised while the derivative ran, pointing at the generated line that called it."""
    if exc.filename is not None:
        return exc
    filename, lineno = _generated_line(exc)
    if filename is None:
        return exc
    return type(exc)(exc.message, filename=filename, lineno=lineno,
                     source_line=linecache.getline(filename, lineno), hint=exc.hint)


def undefined_derivative(exc: ZeroDivisionError) -> SourcediffError:
    """Python floats raise where a derivative is infinite (math.sqrt at 0): say so, at the generated line."""
    filename, lineno = _generated_line(exc)
    return SourcediffError(
        "the derivative divides by zero at these arguments: a derivative it uses is infinite or undefined there "
        "(math.sqrt or math.log at 0, math.asin at 1, 0.0 ** -1 ...)", filename=filename, lineno=lineno,
        source_line=linecache.getline(filename, lineno) if filename else None,
        hint="evaluate the derivative away from that point, or use the NumPy function (np.sqrt ...), which gives "
             "inf or nan there")


def keep_written_arguments(compiled: Compiled, params: tuple[str, ...], args: tuple) -> list:
    """Copies of the array arguments the function writes into, to restore them if the derivative fails."""
    return [(x, x.copy()) for p, x in zip(params, args) if p in compiled.mutated and type(x) is np.ndarray]


def bound_parameters(f: Callable, params: list[str], args: Sequence[Any]) -> dict[str, Any]:
    """Parameter name -> value for a call ``f(*args)``: ``*args`` gets the tuple of the rest, a parameter
    left out its default."""
    bound = dict(zip(params, args))
    varargs = varargs_parameter(f)
    if varargs is not None:
        bound[varargs] = tuple(args[len(params):])
    defaults = f.__defaults__ or ()
    for p, value in zip(params[len(params) - len(defaults):], defaults):
        bound.setdefault(p, value)
    for p, value in (f.__kwdefaults__ or {}).items():
        bound.setdefault(p, value)
    return bound


def copy_arrays(x: Any) -> Any:
    """``x`` with each ndarray in it copied (containers rebuilt only when they hold an array)."""
    if type(x) is np.ndarray:
        return x.copy()
    if pytrees.children(x) is None or not any(type(v) is np.ndarray for _, v in pytrees.leaves_with_paths(x)):
        return x
    return pytrees.map_leaves(lambda v: v.copy() if type(v) is np.ndarray else v, x)
