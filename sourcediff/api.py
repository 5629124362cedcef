"""The public API: ``grad``, ``jvp``, ``vjp``, the Jacobians and the rest, with JAX's names and conventions."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from . import arguments, custom, parse, pipeline
from .composed import DerivedFunction, Jacobian, jvp_call, run_jvp, split_vjp, zero_tangent
from .errors import (ArgnumsError, NonDifferentiableArgumentError, NonScalarOutputError, SourcediffError,
                     UnsupportedSyntaxError)
from .pipeline import Compiled, build


class Derivative(DerivedFunction):
    """A derived function. Call it like the original; ``.source`` is its generated code."""

    def __init__(self, f: Callable, mode: str, argnums: int | Sequence[int], has_aux: bool):
        if not callable(f):
            raise SourcediffError(f"expected a function, got {type(f).__name__}")
        self.fun = f
        self.derived = isinstance(f, DerivedFunction)  # its generated code is differentiated (grad(grad(f)))
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
        general = f.compiled if self.derived and isinstance(f, Derivative) else None
        # a Jacobian's code exists only for given arguments: built at the first call
        self.compiled: Compiled | None = None
        self.refusal: SourcediffError | None = None  # of the general code, which knows no argument kinds
        if not self.derived or general is not None:
            try:
                self.compiled = build(general.function if general else f, mode, self.wrt, has_aux)
            except UnsupportedSyntaxError as exc:
                if not getattr(exc, "depends_on_argument_kinds", False):
                    raise
                # the code for the arguments' kinds may not need it (a float's ``a -= 0.25`` in a helper is a
                # rebinding, an array's a write): refused at the call, if the code for the call refuses too
                self.refusal = exc
        self.variants: dict[tuple, Compiled] = {}
        self.__name__ = self.compiled.function.__name__ if self.compiled else f"{f.__name__}_{mode}"
        self.__qualname__ = self.__name__
        self.__doc__ = f"{mode} of {user.__qualname__} with respect to {', '.join(self.wrt)}"

    @property
    def source(self) -> str:
        """The generated code used by the last call (before any call: the general code).

        The code is specialized on which arguments are Python numbers and which are
        NumPy arrays of which ndim: where shapes are known to match, the adjoints
        need no ``sd.unbroadcast``, and known copies need not be saved.
        """
        if self.compiled is None and self.refusal is not None:
            raise self.refusal
        return self.compiled.source if self.compiled else ""

    def variant(self, args: tuple) -> Compiled:
        kinds = arguments.kinds(args)
        key = kinds  # the code underneath a derived function may know which arrays hold floats
        if self.derived:
            key = kinds, tuple(type(x) is np.ndarray and x.dtype.kind in "fc" for x in args)
        compiled = self.variants.get(key)
        if compiled is None:
            scalars, arrays = arguments.specialization(self.params, kinds)
            target = self.fun.generated_call(args, {}).function if self.derived else self.fun
            compiled = self.variants[key] = build(target, self.mode, self.wrt, self.has_aux, scalars, arrays)
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
            if isinstance(exc, SourcediffError) and exc.filename is None:
                raise arguments.at_generated_line(exc) from None
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
                                   lambda cotangent, raw: self._unfinish(cotangent, raw, args, keywords),
                                   self.user_function)

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
    out, vjp_fn, aux = split_vjp(custom.differentiable(f), primals, tuple(range(len(primals))), has_aux)
    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The Jacobian of ``f`` with respect to the arguments ``argnums``, by reverse mode, like ``jax.jacrev``.

    One forward pass, then one backward pass per element of the output. For an
    array output and an array argument the Jacobian has shape
    ``out.shape + x.shape``; a tuple ``argnums`` gives a tuple, one per
    argument; pytree outputs and arguments nest as in JAX: output structure
    outside, argument structure inside. With ``has_aux=True``, ``f`` returns
    ``(output, aux)`` and the Jacobian function returns ``(jacobian, aux)``.
    """
    return Jacobian(f, argnums, has_aux, "jacrev")


jacobian = jacrev


def jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False) -> tuple:
    """``(f(*primals), tangent of the output)``: the forward-mode derivative of ``f`` at ``primals``
    in the direction ``tangents``, as ``jax.jvp``.

    ``primals`` and ``tangents`` are tuples (or lists) of the same length; each
    tangent has the structure and shapes of its primal (pytrees included). The
    output tangent has the structure of the output. With ``has_aux=True``,
    ``f`` returns ``(output, aux)`` and this returns ``(output, tangent, aux)``.
    The generated code is ``f``'s own, each statement followed by the one that
    computes its tangent: ``sourcediff.stages(f, *primals, mode="jvp")`` prints it.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    f = custom.differentiable(f)
    if not primals:
        raise ArgnumsError("jvp needs at least one primal argument")
    if len(primals) != len(tangents):
        raise SourcediffError(f"jvp got {len(primals)} primals and {len(tangents)} tangents",
                              hint="pass one tangent per primal, with its structure and shapes")
    argnums = tuple(range(len(primals))) if isinstance(f, DerivedFunction) else \
        arguments.normalize_argnums(f, tuple(range(len(primals))))
    out, out_dot, aux = run_jvp(f, primals, {}, argnums, tangents, has_aux)
    return (out, out_dot, aux) if has_aux else (out, out_dot)


def linearize(f: Callable, *primals: Any) -> tuple:
    """``(f(*primals), f_jvp)``, where ``f_jvp(*tangents)`` is the tangent of the output, as ``jax.linearize``.

    ``f_jvp`` runs the generated forward derivative: it computes the primal
    values again with the tangents (it keeps no values between calls).
    """
    out, _ = jvp(f, primals, [zero_tangent(x) for x in primals])

    def f_jvp(*tangents: Any) -> Any:
        return jvp(f, primals, tangents)[1]

    return out, f_jvp


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The Jacobian of ``f`` by forward mode, one :func:`jvp` per element of the arguments ``argnums``.

    As ``jax.jacfwd``: for an output of shape ``(m,)`` and an argument of shape
    ``(n,)`` the Jacobian has shape ``(m, n)`` (``out.shape + arg.shape`` in
    general); pytree outputs and arguments nest (output structure outside,
    argument structure inside), and a tuple ``argnums`` gives a tuple per output leaf.
    """
    return Jacobian(f, argnums, has_aux, "jacfwd")


def hessian(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The Hessian of scalar ``f``: forward mode over reverse mode, ``jacfwd(grad(f, argnums), argnums)``."""
    return jacfwd(grad(f, argnums, has_aux=has_aux), argnums, has_aux=has_aux)


def stages(f: Callable, *args: Any, argnums: int | Sequence[int] = 0, mode: str = "grad",
           has_aux: bool = False) -> dict[str, str]:
    """The text after each pipeline stage: ``parse``, ``lower``, ``analyze``, ``transform``, ``optimize``.

    For teaching and for debugging the transformer: print them one by one. Given
    the arguments of a call, the stages are those of the derivative specialized
    for them, and ``optimize`` is exactly what ``grad(f)(*args)`` runs and
    ``.source`` prints; without arguments, those of the general derivative.
    ``mode`` is ``"grad"``, ``"value_and_grad"``, ``"vjp"`` or ``"jvp"`` (forward mode).
    """
    params = arguments.positional_parameters(f)
    wrt, _ = arguments.differentiated(f, arguments.normalize_argnums(f, argnums))
    scalars, arrays = arguments.specialization(tuple(params), arguments.kinds(args)) if args else (frozenset(),
                                                                                                 frozenset())
    floats = frozenset(p for p, x in zip(params, args) if type(x) is np.ndarray and x.dtype.kind in "fc") \
        if mode.startswith("jvp") else frozenset()
    return pipeline.stages(f, wrt, mode, has_aux, scalars, arrays, floats)


def _declare_derived_functions() -> None:
    """``grad(f)`` inside a differentiated function makes a function, which carries no gradient itself; a call
    of it is differentiated through its generated code (``calls.call_forward``)."""
    from sourcediff.rules import registry

    for make in (grad, value_and_grad, jacfwd, jacrev, hessian):
        registry.defnondiff(make, f"sourcediff.{make.__name__} makes a function: calls of it are differentiated "
                                  "through its generated code")
    parse.declare_derived_call(jvp, jvp_call)


_declare_derived_functions()
