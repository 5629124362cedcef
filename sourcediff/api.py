"""The public API: ``grad``, ``value_and_grad`` and ``vjp``, with JAX's names and conventions."""
from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from . import arguments, parse, pipeline, pytrees
from .errors import ArgnumsError, NonDifferentiableArgumentError, NonScalarOutputError, SourcediffError
from .pipeline import Compiled, build


class Derivative:
    """A derived function. Call it like the original; ``.source`` is its generated code."""

    def __init__(self, f: Callable, mode: str, argnums: int | Sequence[int], has_aux: bool):
        if not callable(f):
            raise SourcediffError(f"expected a function, got {type(f).__name__}")
        self.fun = f
        self.derived = parse.is_derived(f)  # f is itself a derived function: its generated code is differentiated
        user = f.user_function if self.derived else f
        self.user_function = user
        self.mode = mode
        self.has_aux = has_aux
        self.argnums = arguments.normalize_argnums(user, argnums)
        self.single = isinstance(argnums, (int, np.integer))
        params = arguments.positional_parameters(user)
        self.wrt, self.picks = arguments.differentiated(user, self.argnums)
        self.params = tuple(params)
        self.last_argnum = max(self.argnums)
        takes_varargs = bool(user.__code__.co_flags & inspect.CO_VARARGS)
        self.max_positional = float("inf") if takes_varargs else len(params)
        self.compiled = build(f.compiled.function if self.derived else f, mode, self.wrt, has_aux)
        self.variants: dict[tuple, Compiled] = {}
        self.__name__ = self.compiled.function.__name__
        self.__qualname__ = self.__name__
        self.__doc__ = f"{mode} of {user.__qualname__} with respect to {', '.join(self.wrt)}"

    @property
    def source(self) -> str:
        """The generated code used by the last call (before any call: the general code).

        The code is specialized on which arguments are Python numbers and which are
        NumPy arrays of which ndim: where shapes are known to match, the adjoints
        need no ``sd.unbroadcast``, and known copies need not be saved.
        """
        return self.compiled.source

    def variant(self, args: tuple) -> Compiled:
        kinds = arguments.kinds(args)
        compiled = self.variants.get(kinds)
        if compiled is None:
            scalars, arrays = arguments.specialization(self.params, kinds)
            target = self.fun.generated_call(args, {}).function if self.derived else self.fun
            compiled = self.variants[kinds] = build(target, self.mode, self.wrt, self.has_aux, scalars, arrays)
        self.compiled = compiled
        return compiled

    def _args(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The positional arguments (defaults filled in), and the keyword-only ones."""
        if kwargs or not self.last_argnum < len(args) <= self.max_positional:
            try:
                bound = inspect.signature(self.user_function).bind(*args, **kwargs)
            except TypeError as exc:
                raise SourcediffError(f"cannot call {self.user_function.__qualname__}: {exc}") from None
            bound.apply_defaults()
            return tuple(bound.args), bound.kwargs
        return args, {}

    def _grads(self, grads: Any, args: tuple) -> Any:
        parts = arguments.picked(grads, self.picks, len(self.wrt))
        if self.single:
            return arguments.match(parts[0], args[self.argnums[0]])
        if len(self.argnums) == 1:
            return (arguments.match(parts[0], args[self.argnums[0]]),)
        return arguments.distinct(tuple(arguments.match(g, args[i]) for g, i in zip(parts, self.argnums)))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args, keywords = self._args(args, kwargs)
        arguments.check_call_length(self.user_function, self.argnums, args)
        for i in self.argnums:
            x = args[i]
            if type(x) not in arguments.PLAIN_ARGUMENTS or (type(x) is np.ndarray and x.dtype.kind not in "fiu"):
                arguments.check_argument(self.user_function, x, i)
        arguments.refuse_complex(self.user_function, args)
        compiled = self.variant(args)
        kept = arguments.keep_written_arguments(compiled, self.params, args) if compiled.mutated else None
        try:
            out = compiled.function(*args, **keywords)
        except BaseException as exc:
            for x, contents in kept or ():
                x[...] = contents  # the backward pass did not run to put them back
            if isinstance(exc, NonScalarOutputError):
                raise arguments.located(exc, compiled) from None
            if isinstance(exc, ZeroDivisionError):
                raise arguments.undefined_derivative(exc) from None
            raise
        if self.mode == "value_and_grad" and self.derived:  # the value is the derived function's raw output
            value, grads = out
            out = self.fun.generated_call(args, keywords).finish(value), grads
        return self._finish(out, args)

    def _finish(self, out: Any, args: tuple) -> Any:
        """What the derivative returns, from what its generated code returned (linear in ``out``)."""
        if self.mode == "grad":
            if self.has_aux:
                grads, aux = out
                return self._grads(grads, args), aux
            return self._grads(out, args)
        value, grads = out
        return value, self._grads(grads, args)

    def _unfinish(self, cotangent: Any, raw: Any, args: tuple, keywords: dict) -> Any:
        """The transpose of :meth:`_finish`: a cotangent of what the derivative returns, as one of ``raw``."""
        from sourcediff.backends.numpy_backend import unbroadcast

        def grads(c, raw_grads):
            parts = [c] if self.single else list(c)
            if len(self.wrt) == 1:
                return unbroadcast(parts[0], raw_grads)
            out = [None] * len(self.wrt)
            for (index, _), part in zip(self.picks, parts):
                out[index] = unbroadcast(part, raw_grads[index])
            return tuple(out)

        if self.mode == "grad":
            if self.has_aux:
                return grads(cotangent[0], raw[0]), cotangent[1]
            return grads(cotangent, raw)
        value = cotangent[0]
        if self.derived:
            value = self.fun.generated_call(args, keywords).unfinish(value, raw[0])
        return value, grads(cotangent[1], raw[1])

    def generated_call(self, args: tuple, kwargs: dict) -> parse.GeneratedCall:
        """This derivative called with these arguments, as generated code to differentiate again (higher order:
        ``grad(grad(f))``, or ``grad(f)`` called inside a differentiated function); see ``parse.GeneratedCall``."""
        if self.mode not in ("grad", "value_and_grad"):
            raise SourcediffError(f"sourcediff cannot differentiate {self!r} again yet (a {self.mode} derivative)")
        args, keywords = self._args(tuple(args), dict(kwargs))
        arguments.check_call_length(self.user_function, self.argnums, args)
        for i in self.argnums:
            if type(args[i]) not in (float, int, np.ndarray):
                raise NonDifferentiableArgumentError(
                    f"sourcediff cannot differentiate {self!r} again with respect to its argument {i}, a "
                    f"{type(args[i]).__name__}: only floats and arrays yet",
                    hint="pass the differentiated arguments as floats or arrays")
        if any(inside is not None for _, inside in self.picks):
            raise ArgnumsError(f"sourcediff cannot differentiate {self!r} again: its argnums point inside *args",
                               hint="give the differentiated arguments their own parameters")
        compiled = self.variant(args)
        return parse.GeneratedCall(compiled.function, args, keywords, lambda raw: self._finish(raw, args),
                                   lambda cotangent, raw: self._unfinish(cotangent, raw, args, keywords))

    def __repr__(self) -> str:
        return f"<sourcediff {self.mode} of {self.fun.__qualname__} wrt {', '.join(self.wrt)}>"


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Derivative:
    """The gradient of scalar-valued ``f`` with respect to the arguments ``argnums``.

    Like ``jax.grad``: an int ``argnums`` gives one gradient, a tuple gives a
    tuple; with ``has_aux=True``, ``f`` returns ``(output, aux)`` and the
    derivative returns ``(gradient, aux)``.

    ``argnums`` count the call's positional arguments, those that ``*args``
    gathers too: for ``def f(a, *xs)``, ``argnums=2`` is ``xs[1]`` (counted from
    the start only). Keyword arguments, ``**kwargs`` included, are passed
    through and never differentiated.

    Arguments may be pytrees: dicts, lists, tuples, namedtuples, dataclasses
    and plain objects (``types.SimpleNamespace``), nested, whose leaves are
    floats, ints or numeric ndarrays. The gradient has the structure of the
    argument, as in ``jax.grad``: a dict gives a dict with every key, a
    namedtuple or dataclass an instance of the same type (made without running
    ``__init__``/``__post_init__``), and parts the output does not depend on
    are zeros. Int leaves count as numbers: their gradient is a float. ``None``
    inside a container is an empty part and stays ``None``. Strings, bools and
    other objects cannot carry a gradient: an argument in ``argnums`` holding
    one is refused with :class:`NonDifferentiableArgumentError`, which names
    the leaf (``argument 0['name'] is a str``); pass such settings in an
    argument outside ``argnums``.
    """
    return Derivative(f, "grad", argnums, has_aux)


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Derivative:
    """Like :func:`grad`, but returns ``(value, gradient)``; with ``has_aux``, ``((value, aux), gradient)``."""
    return Derivative(f, "value_and_grad", argnums, has_aux)


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one cotangent per primal.

    Primals and the output may be pytrees (see :func:`grad`); the cotangent must
    have the structure and shapes of the output (a dict output takes a dict
    cotangent with the same keys), and each returned cotangent has the
    structure of its primal. With ``has_aux=True``, returns ``(out, vjp_fn, aux)``.
    """
    if not primals:
        raise ArgnumsError("vjp needs at least one primal argument")
    argnums = arguments.normalize_argnums(f, tuple(range(len(primals))))
    params = arguments.positional_parameters(f)
    wrt, picks = arguments.differentiated(f, argnums)
    scalars, arrays = arguments.specialization(params, arguments.kinds(primals))
    compiled = build(f, "vjp", wrt, has_aux, scalars, arrays)
    for i, x in enumerate(primals):
        arguments.check_argument(f, x, i)
    arguments.refuse_complex(f, primals)
    # f may write into its arguments (arrays, lists, dicts): run it on copies of those
    written = set(compiled.mutated)
    names = params + [arguments.varargs_parameter(f)] * (len(primals) - len(params))  # *args takes the rest
    result = f(*[copy.deepcopy(x) if p in written else x for p, x in zip(names, primals)])
    arrays = [x for x in primals if type(x) is np.ndarray]
    if arrays:  # the output must not change when the caller changes an argument later
        result = pytrees.map_leaves(lambda v: v.copy() if type(v) is np.ndarray and any(
            np.may_share_memory(v, x) for x in arrays) else v, result)
    out, aux = result if has_aux else (result, None)

    def vjp_fn(cotangent: Any) -> tuple:
        arguments.check_cotangent(cotangent, out)
        try:
            grads = compiled.function(*primals, **{compiled.seed: cotangent})
        except ZeroDivisionError as exc:
            raise arguments.undefined_derivative(exc) from None
        grads = arguments.picked(grads, picks, len(wrt))
        return arguments.distinct(tuple(arguments.match(g, x) for g, x in zip(grads, primals)), cotangent)

    vjp_fn.source = compiled.source  # type: ignore[attr-defined]
    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def stages(f: Callable, *args: Any, argnums: int | Sequence[int] = 0, mode: str = "grad",
           has_aux: bool = False) -> dict[str, str]:
    """The text after each pipeline stage: ``parse``, ``lower``, ``analyze``, ``transform``, ``optimize``.

    For teaching and for debugging the transformer: print them one by one. Given
    the arguments of a call, the stages are those of the derivative specialized
    for them, and ``optimize`` is exactly what ``grad(f)(*args)`` runs and
    ``.source`` prints; without arguments, those of the general derivative.
    """
    params = arguments.positional_parameters(f)
    wrt, _ = arguments.differentiated(f, arguments.normalize_argnums(f, argnums))
    scalars, arrays = arguments.specialization(tuple(params), arguments.kinds(args)) if args else (frozenset(),
                                                                                                 frozenset())
    return pipeline.stages(f, wrt, mode, has_aux, scalars, arrays)


def _declare_derived_functions() -> None:
    """``grad(f)`` inside a differentiated function makes a function, which carries no gradient itself; a call
    of it is differentiated through its generated code (``calls.call_forward``)."""
    from sourcediff.rules import registry

    for make in (grad, value_and_grad):
        registry.defnondiff(make, f"sourcediff.{make.__name__} makes a function: calls of it are differentiated "
                                  "through its generated code")


_declare_derived_functions()
