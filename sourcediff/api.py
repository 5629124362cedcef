"""The public API: ``grad``, ``value_and_grad`` and ``vjp``, with JAX's names and conventions."""
from __future__ import annotations

import inspect
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gast
import numpy as np

from . import emit, lower, optimize, parse, reverse
from .errors import (ArgnumsError, NonDifferentiableArgumentError, NonScalarOutputError, SourceNotFoundError,
                     SourcediffError)


@dataclass(frozen=True)
class Compiled:
    """A generated derivative: the callable and its source text."""

    function: Callable
    source: str
    wrt: tuple[str, ...]
    filename: str
    output_location: tuple[str, int | None]


_cache: "weakref.WeakKeyDictionary[Callable, dict[tuple, Compiled]]" = weakref.WeakKeyDictionary()
_cache_lock = threading.RLock()


def _positional_parameters(f: Callable) -> list[str]:
    code = getattr(f, "__code__", None)
    if code is None:
        raise SourceNotFoundError(
            f"cannot differentiate {f!r}: it is not a Python function with source code",
            hint="wrap it in a Python function, or register a rule for it with "
                 "sourcediff.rules.registry.defrule")
    return list(code.co_varnames[: code.co_argcount])


def _normalize_argnums(f: Callable, argnums: int | Sequence[int]) -> tuple[int, ...]:
    params = _positional_parameters(f)
    single = isinstance(argnums, (int, np.integer))
    numbers = (int(argnums),) if single else tuple(int(a) for a in argnums)
    if not numbers:
        raise ArgnumsError("argnums is empty: name at least one argument to differentiate")
    out = []
    for a in numbers:
        if not -len(params) <= a < len(params):
            raise ArgnumsError(
                f"argnums={argnums!r} is out of range: {f.__qualname__} takes {len(params)} positional "
                f"argument(s) ({', '.join(params) or 'none'})",
                filename=f.__code__.co_filename, lineno=f.__code__.co_firstlineno,
                hint=f"use indices from 0 to {len(params) - 1}")
        out.append(a % len(params))
    if len(set(out)) != len(out):
        raise ArgnumsError(f"argnums={argnums!r} names an argument twice")
    return tuple(out)


def build(f: Callable, mode: str, wrt: tuple[str, ...], has_aux: bool,
          scalar_params: frozenset[str] = frozenset()) -> Compiled:
    """Run the pipeline (parse, lower, transform, optimize, emit) and cache the result.

    ``scalar_params`` names the parameters that are Python numbers in this specialization.
    """
    key = (mode, wrt, has_aux, scalar_params)
    with _cache_lock:
        entry = _cache.get(f, {}).get(key)
        if entry is not None:
            return entry
        parsed = parse.parse_function(f)
        lowered = lower.lower(parsed)
        result = reverse.reverse(parsed, lowered, wrt, mode, has_aux, scalar_params)
        node = result.node
        node.body = _optimized(node.body, result)
        emit.renumber_temporaries(node, {n.id for n in gast.walk(parsed.node) if isinstance(n, gast.Name)})
        source = emit.to_source(node)
        runtime = _runtime_objects(result.runtime_names)
        filename = emit.registered_name(f, mode, wrt, scalar_params)
        function = emit.compile_function(source, node.name, filename, f, runtime)
        if f.__defaults__:
            defaults = tuple(f.__defaults__)
            function.__defaults__ = defaults
        returns = [n for n in gast.walk(parsed.node) if isinstance(n, gast.Return)]
        location = (parsed.filename, parsed.lineno(returns[-1]) if returns else parsed.lineno(parsed.node))
        compiled = Compiled(function, source, wrt, filename, location)
        _cache.setdefault(f, {})[key] = compiled
        return compiled


def _optimized(body: list, result: reverse.ReverseFunction) -> list:
    marker = next(i for i, s in enumerate(body) if _is_comment(s, "backward pass"))
    pure = set(result.runtime_names.values()) | {"slice"}
    adjoints = {n.id for s in body[marker:] for n in _stores(s)}
    return body[:marker] + optimize.optimize_backward(body[marker:], adjoints, pure)


def _stores(stmt):
    return [n for n in gast.walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]


def _is_comment(stmt, text: str) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) \
        and stmt.value.value == reverse.COMMENT + text


def _runtime_objects(aliases: dict[str, str]) -> dict[str, Any]:
    import math

    from sourcediff.backends import numpy_backend

    objects = {"np": np, "math": math, "sd": numpy_backend}
    return {alias: objects[short] for short, alias in aliases.items()}


_PYTHON_NUMBERS = frozenset((float, int))
_PLAIN_ARGUMENTS = frozenset((float, np.ndarray))


def _match(g: Any, x: Any) -> Any:
    """Give gradient ``g`` the structure and dtype of the argument ``x``."""
    kind = type(x)
    if kind is float or kind is int:
        return float(g)
    if kind is np.ndarray:
        dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
        g = np.asarray(g, dtype=dtype)
        if g.shape != x.shape:
            g = np.broadcast_to(g, x.shape).copy()
        return g
    if isinstance(x, np.generic):
        dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
        return dtype.type(g)
    return g


def _check_argument(f: Callable, x: Any, index: int) -> None:
    if isinstance(x, bool) or not (isinstance(x, (float, int, np.ndarray, np.generic))):
        raise NonDifferentiableArgumentError(
            f"argument {index} of {f.__qualname__} is a {type(x).__name__}; sourcediff differentiates "
            "with respect to floats and NumPy arrays",
            hint="pass a float or an ndarray, or leave this argument out of argnums")
    if isinstance(x, (np.ndarray, np.generic)) and not np.issubdtype(x.dtype, np.number):
        raise NonDifferentiableArgumentError(
            f"argument {index} of {f.__qualname__} has dtype {x.dtype}, which cannot carry a gradient",
            hint="pass a floating-point array")


def _located(exc: SourcediffError, compiled: Compiled) -> SourcediffError:
    """The same error, pointing at the user's return statement."""
    import linecache

    filename, lineno = compiled.output_location
    source_line = linecache.getline(filename, lineno) if lineno else None
    return type(exc)(exc.message, filename=filename, lineno=lineno, source_line=source_line, hint=exc.hint)


class Derivative:
    """A derived function. Call it like the original; ``.source`` is its generated code."""

    def __init__(self, f: Callable, mode: str, argnums: int | Sequence[int], has_aux: bool):
        if not callable(f):
            raise SourcediffError(f"expected a function, got {type(f).__name__}")
        self.fun = f
        self.mode = mode
        self.has_aux = has_aux
        self.argnums = _normalize_argnums(f, argnums)
        self.single = isinstance(argnums, (int, np.integer))
        params = _positional_parameters(f)
        self.wrt = tuple(params[i] for i in self.argnums)
        self.params = tuple(params)
        self.last_argnum = max(self.argnums)
        self.compiled = build(f, mode, self.wrt, has_aux)
        self.variants: dict[tuple[bool, ...], Compiled] = {}
        self.__name__ = self.compiled.function.__name__
        self.__doc__ = f"{mode} of {f.__qualname__} with respect to {', '.join(self.wrt)}"

    @property
    def source(self) -> str:
        """The generated code used by the last call (before any call: the code for arrays).

        The code is specialized on which arguments are Python numbers: for them no
        broadcasting can happen, so the adjoints need no ``sd.unbroadcast``.
        """
        return self.compiled.source

    def variant(self, args: tuple) -> Compiled:
        kinds = tuple([type(a) in _PYTHON_NUMBERS for a in args])
        compiled = self.variants.get(kinds)
        if compiled is None:
            scalars = frozenset(p for p, k in zip(self.params, kinds) if k)
            compiled = self.variants[kinds] = build(self.fun, self.mode, self.wrt, self.has_aux, scalars)
        self.compiled = compiled
        return compiled

    def _args(self, args: tuple, kwargs: dict) -> tuple:
        if kwargs or len(args) <= self.last_argnum:
            try:
                bound = inspect.signature(self.fun).bind(*args, **kwargs)
            except TypeError as exc:
                raise SourcediffError(f"cannot call {self.fun.__qualname__}: {exc}") from None
            bound.apply_defaults()
            return tuple(bound.args)
        return args

    def _grads(self, grads: Any, args: tuple) -> Any:
        if self.single:
            return _match(grads, args[self.argnums[0]])
        if len(self.argnums) == 1:
            return (_match(grads, args[self.argnums[0]]),)
        return tuple(_match(g, args[i]) for g, i in zip(grads, self.argnums))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = self._args(args, kwargs)
        for i in self.argnums:
            if type(args[i]) not in _PLAIN_ARGUMENTS:
                _check_argument(self.fun, args[i], i)
        compiled = self.variant(args)
        try:
            out = compiled.function(*args)
        except NonScalarOutputError as exc:
            raise _located(exc, compiled) from None
        if self.mode == "grad":
            if self.has_aux:
                grads, aux = out
                return self._grads(grads, args), aux
            return self._grads(out, args)
        value, grads = out
        return value, self._grads(grads, args)

    def __repr__(self) -> str:
        return f"<sourcediff {self.mode} of {self.fun.__qualname__} wrt {', '.join(self.wrt)}>"


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Derivative:
    """The gradient of scalar-valued ``f`` with respect to the arguments ``argnums``.

    Like ``jax.grad``: an int ``argnums`` gives one gradient, a tuple gives a
    tuple; with ``has_aux=True``, ``f`` returns ``(output, aux)`` and the
    derivative returns ``(gradient, aux)``.
    """
    return Derivative(f, "grad", argnums, has_aux)


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Derivative:
    """Like :func:`grad`, but returns ``(value, gradient)``; with ``has_aux``, ``((value, aux), gradient)``."""
    return Derivative(f, "value_and_grad", argnums, has_aux)


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one cotangent per primal.

    With ``has_aux=True``, returns ``(out, vjp_fn, aux)``.
    """
    if not primals:
        raise ArgnumsError("vjp needs at least one primal argument")
    argnums = tuple(range(len(primals)))
    _normalize_argnums(f, argnums)
    params = _positional_parameters(f)
    wrt = tuple(params[i] for i in argnums)
    scalars = frozenset(p for p, x in zip(params, primals) if type(x) is float or type(x) is int)
    compiled = build(f, "vjp", wrt, has_aux, scalars)
    for i, x in enumerate(primals):
        _check_argument(f, x, i)
    result = f(*primals)
    out, aux = result if has_aux else (result, None)

    def vjp_fn(cotangent: Any) -> tuple:
        if np.shape(cotangent) != np.shape(out) and not isinstance(out, tuple):
            raise SourcediffError(f"the cotangent has shape {np.shape(cotangent)}, but the output has shape "
                                  f"{np.shape(out)}")
        grads = compiled.function(*primals, cotangent)
        if len(primals) == 1:
            grads = (grads,)
        return tuple(_match(g, x) for g, x in zip(grads, primals))

    vjp_fn.source = compiled.source  # type: ignore[attr-defined]
    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def stages(f: Callable, argnums: int | Sequence[int] = 0, mode: str = "grad") -> dict[str, str]:
    """The source after each pipeline stage: ``parse``, ``lower``, ``transform``, ``optimize``.

    For teaching and for debugging the transformer: print them one by one.
    """
    params = _positional_parameters(f)
    wrt = tuple(params[i] for i in _normalize_argnums(f, argnums))
    parsed = parse.parse_function(f)
    shown = {"parse": emit.to_source(parsed.node)}
    lowered = lower.lower(parsed)
    shown["lower"] = emit.to_source(lowered)
    result = reverse.reverse(parsed, lowered, wrt, mode)
    shown["transform"] = emit.to_source(result.node)
    result.node.body = _optimized(result.node.body, result)
    emit.renumber_temporaries(result.node, {n.id for n in gast.walk(parsed.node) if isinstance(n, gast.Name)})
    shown["optimize"] = emit.to_source(result.node)
    return shown
