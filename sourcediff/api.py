"""The public API: ``grad``, ``value_and_grad``, ``vjp`` and ``jacrev``, with JAX's names and conventions."""
from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from sourcediff.backends.numpy_adjoints import zeros_like
from sourcediff.backends.numpy_backend import refuse_shared_arguments

from . import arguments, custom, jacobians, pipeline, pytrees, residuals
from .errors import ArgnumsError, NonScalarOutputError, SourcediffError
from .pipeline import Compiled, build


class Derivative:
    """A derived function. Call it like the original; ``.source`` is its generated code."""

    def __init__(self, f: Callable, mode: str, argnums: int | Sequence[int], has_aux: bool):
        if not callable(f):
            raise SourcediffError(f"expected a function, got {type(f).__name__}")
        self.fun = f
        self.mode = mode
        self.has_aux = has_aux
        self.argnums = arguments.normalize_argnums(f, argnums)
        self.single = isinstance(argnums, (int, np.integer))
        params = arguments.positional_parameters(f)
        self.wrt, self.picks = arguments.differentiated(f, self.argnums)
        self.params = tuple(params)
        self.last_argnum = max(self.argnums)
        takes_varargs = bool(f.__code__.co_flags & inspect.CO_VARARGS)
        self.max_positional = float("inf") if takes_varargs else len(params)
        self.compiled = build(f, mode, self.wrt, has_aux)
        self.variants: dict[tuple, Compiled] = {}
        self.__name__ = self.compiled.function.__name__
        self.__doc__ = f"{mode} of {f.__qualname__} with respect to {', '.join(self.wrt)}"

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
            compiled = self.variants[kinds] = build(self.fun, self.mode, self.wrt, self.has_aux, scalars, arrays)
        self.compiled = compiled
        return compiled

    def _args(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The positional arguments (defaults filled in), and the keyword-only ones."""
        if kwargs or not self.last_argnum < len(args) <= self.max_positional:
            try:
                bound = inspect.signature(self.fun).bind(*args, **kwargs)
            except TypeError as exc:
                raise SourcediffError(f"cannot call {self.fun.__qualname__}: {exc}") from None
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
        arguments.check_call_length(self.fun, self.argnums, args)
        for i in self.argnums:
            x = args[i]
            if type(x) not in arguments.PLAIN_ARGUMENTS or (type(x) is np.ndarray and x.dtype.kind not in "fiu"):
                arguments.check_argument(self.fun, x, i)
        arguments.refuse_complex(self.fun, args)
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
    return Derivative(custom.differentiable(f), "grad", argnums, has_aux)


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Derivative:
    """Like :func:`grad`, but returns ``(value, gradient)``; with ``has_aux``, ``((value, aux), gradient)``."""
    return Derivative(custom.differentiable(f), "value_and_grad", argnums, has_aux)


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangent)`` returns one cotangent per primal.

    Primals and the output may be pytrees (see :func:`grad`); the cotangent must
    have the structure and shapes of the output (a dict output takes a dict
    cotangent with the same keys), and each returned cotangent has the
    structure of its primal. With ``has_aux=True``, returns ``(out, vjp_fn, aux)``.

    The forward pass runs once, here; each call of ``vjp_fn`` runs only the
    backward pass, on what the forward pass saved (``vjp_fn.source`` shows both
    halves). ``vjp_fn`` reads copies of the array primals, so changing them
    afterwards does not change its results.
    """
    if not primals:
        raise ArgnumsError("vjp needs at least one primal argument")
    out, vjp_fn, aux = _vjp(custom.differentiable(f), primals, tuple(range(len(primals))), has_aux)
    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def _vjp(f: Callable, primals: tuple, argnums: tuple[int, ...], has_aux: bool,
         keywords: dict[str, Any] | None = None) -> tuple[Any, Callable, Any]:
    """``(out, vjp_fn, aux)``, where ``vjp_fn`` gives the cotangents of the primals at ``argnums``."""
    argnums = arguments.normalize_argnums(f, argnums)
    params = arguments.positional_parameters(f)
    wrt, picks = arguments.differentiated(f, argnums)
    arguments.check_call_length(f, argnums, primals)
    for i in argnums:
        arguments.check_argument(f, primals[i], i)
    arguments.refuse_complex(f, primals)
    scalars, arrays = arguments.specialization(params, arguments.kinds(primals))
    split = pipeline.build_vjp(f, wrt, has_aux, scalars, arrays)
    names = params + [arguments.varargs_parameter(f)] * (len(primals) - len(params))  # *args takes the rest
    written = set(split.mutated)
    if written:
        refuse_shared_arguments(f.__name__, split.mutated, arguments.bound_parameters(f, params, primals))
    # the forward pass runs on copies: of the arguments f writes into, and of the arrays it only reads
    # (so that vjp_fn keeps differentiating at these primals if the caller changes them later)
    args = [copy.deepcopy(x) if p in written else arguments.copy_arrays(x) for p, x in zip(names, primals)]
    result, saved = split.forward(*args, **(keywords or {}))
    constant = frozenset(id(residuals.root(leaf)) for p, x in zip(names, args) if p not in written
                         for _, leaf in pytrees.leaves_with_paths(x) if type(leaf) is np.ndarray)
    saved = residuals.Residuals(saved, constant)
    bound = arguments.bound_parameters(f, params, args)
    changed_zeros = [zeros_like(bound[m]) for m in split.mutated]  # f's changes to its arguments are not outputs
    # the output is the caller's: it must not share memory or lists with what the backward pass consumes
    shared = saved.roots | constant
    result = pytrees.map_leaves(lambda v: v.copy() if type(v) is np.ndarray and id(residuals.root(v)) in shared
                                else v, result)
    out, aux = result if has_aux else (result, None)

    def vjp_fn(cotangent: Any) -> tuple:
        arguments.check_cotangent(cotangent, out)
        with saved.lock:
            try:
                grads = split.backward(saved.take(), cotangent, *copy.deepcopy(changed_zeros))
            except ZeroDivisionError as exc:
                raise arguments.undefined_derivative(exc) from None
        grads = arguments.picked(grads, picks, len(wrt))
        return arguments.distinct(tuple(arguments.match(g, primals[i]) for g, i in zip(grads, argnums)), cotangent)

    vjp_fn.source = split.source  # type: ignore[attr-defined]
    return out, vjp_fn, aux


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The Jacobian of ``f`` with respect to the arguments ``argnums``, by reverse mode, like ``jax.jacrev``.

    One forward pass, then one backward pass per element of the output. For an
    array output and an array argument the Jacobian has shape
    ``out.shape + x.shape``; a tuple ``argnums`` gives a tuple, one per
    argument; pytree outputs and arguments nest as in JAX: output structure
    outside, argument structure inside. With ``has_aux=True``, ``f`` returns
    ``(output, aux)`` and the Jacobian function returns ``(jacobian, aux)``.
    """
    f = custom.differentiable(f)
    positions = arguments.normalize_argnums(f, argnums)
    single = isinstance(argnums, (int, np.integer))

    def jacobian_of(*args: Any, **kwargs: Any) -> Any:
        out, vjp_fn, aux = _vjp(f, args, positions, has_aux, kwargs)
        jac = jacobians.reverse(out, vjp_fn, [args[i] for i in positions], single)
        return (jac, aux) if has_aux else jac

    jacobian_of.__name__ = f"jacrev_of_{getattr(f, '__name__', 'function')}"
    jacobian_of.__doc__ = f"Jacobian of {getattr(f, '__qualname__', f)!r} with respect to argnums={argnums!r}"
    return jacobian_of


jacobian = jacrev


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
