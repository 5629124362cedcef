"""Functions with derivative rules of the user's own: ``custom_vjp`` and ``custom_jvp``, as in JAX.

Calling a decorated function calls the function itself. Differentiating code
that calls it (or the function directly) uses the user's rule instead of the
function's source: ``fwd``/``bwd`` for ``custom_vjp``; for ``custom_jvp`` in
reverse mode, the transpose of the user's ``jvp``, which sourcediff derives
from its source. ``calls.custom_pair`` builds both as generated glue that calls
the rule, so that a derivative can be differentiated again through the rule's
own code. This module holds only the objects; it imports nothing of the compiler.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import linecache
from typing import Any, Callable, Sequence

from sourcediff.rules import registry

from .errors import SourcediffError

_numbering = itertools.count()


class CustomFunction:
    """What ``custom_vjp`` and ``custom_jvp`` share: the function, ``nondiff_argnums``, the call."""

    kind = "custom"

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        if not callable(fun):
            raise SourcediffError(f"{self.kind} expects a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(sorted(int(i) for i in nondiff_argnums))
        self._differentiable: Callable | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fun(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<sourcediff.{self.kind} {getattr(self.fun, '__qualname__', self.fun)}>"

    def parameters(self) -> list[str]:
        """The names of ``fun``'s positional parameters; refuses ``*args`` and ``**kwargs``."""
        signature = inspect.signature(self.fun)
        kinds = {p.kind for p in signature.parameters.values()}
        if kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}:
            raise SourcediffError(
                f"sourcediff cannot differentiate the {self.kind} function {self.__qualname__} yet: it takes "
                "*args or **kwargs", hint="give it one named parameter per argument")
        return [p.name for p in signature.parameters.values()
                if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]

    def declared(self) -> tuple[str, list[str]]:
        """``fun``'s parameter list as source (``"x, y, *, k"``), and its keyword-only parameters."""
        signature = inspect.signature(self.fun)
        keyword_only = [p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
        return ", ".join(self.parameters() + (["*"] + keyword_only if keyword_only else [])), keyword_only

    def with_defaults(self, function: Callable) -> Callable:
        """``function`` (glue with ``fun``'s parameters) given ``fun``'s defaults."""
        function.__defaults__ = getattr(self.fun, "__defaults__", None)
        function.__kwdefaults__ = getattr(self.fun, "__kwdefaults__", None)
        return function

    def base_name(self) -> str:
        """A name for code made for this function: ``fun``'s own, or ``function`` for a lambda."""
        name = getattr(self.fun, "__name__", "function")
        return name if name.isidentifier() and name != "<lambda>" else "function"

    def positional(self, args: tuple, kwargs: dict) -> list:
        """The values of ``fun``'s positional parameters for the call ``(*args, **kwargs)``, defaults filled in."""
        bound = inspect.signature(self.fun).bind(*args, **kwargs)
        bound.apply_defaults()
        return list(bound.args)

    def rule_missing(self) -> SourcediffError:
        return SourcediffError(f"the {self.kind} function {self.__qualname__} has no rule yet",
                               hint=f"define one with {self.__name__}.{self.definer}(...) before differentiating")

    definer = "defrule"


class CustomVJP(CustomFunction):
    """A function whose reverse-mode derivative is the user's ``fwd``/``bwd`` pair (``jax.custom_vjp``).

    ``fwd(*args) -> (out, residuals)`` takes the arguments of ``fun``;
    ``bwd(*nondiff_args, residuals, g)`` returns a tuple with one cotangent per
    argument not in ``nondiff_argnums`` (``None`` for a zero).
    """

    kind = "custom_vjp"
    definer = "defvjp"

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        super().__init__(fun, nondiff_argnums)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Set the rule: ``fwd`` runs the function and returns what ``bwd`` needs; ``bwd`` pulls ``g`` back."""
        self.fwd, self.bwd = fwd, bwd
        registry.changed()  # derivatives built from now on use the new rule


class CustomJVP(CustomFunction):
    """A function whose forward-mode derivative is the user's ``jvp`` (``jax.custom_jvp``).

    ``jvp(*nondiff_args, primals, tangents) -> (out, tangent_out)``, with
    ``primals`` and ``tangents`` tuples over the other arguments. Reverse mode
    transposes it: ``tangent_out`` must be linear in ``tangents``.
    """

    kind = "custom_jvp"
    definer = "defjvp"

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        super().__init__(fun, nondiff_argnums)
        self.jvp: Callable | None = None

    def defjvp(self, jvp: Callable) -> Callable:
        """Set the rule; returns ``jvp``, so that ``@f.defjvp`` works as a decorator."""
        self.jvp = jvp
        registry.changed()  # derivatives built from now on use the new rule
        return jvp


custom_vjp = CustomVJP
custom_jvp = CustomJVP


def differentiable(f: Callable) -> Callable:
    """``f``, or for a custom function a plain function with its signature that calls it (whose source
    sourcediff reads, and whose call of the custom function uses the user's rule)."""
    if not isinstance(f, CustomFunction):
        return f
    if f._differentiable is None:
        f._differentiable = _calling(f)
    return f._differentiable


def _calling(custom: CustomFunction) -> Callable:
    name = custom.base_name()
    callee = f"{custom.kind}_{name}"
    declared, keyword_only = custom.declared()
    passed = ", ".join(custom.parameters() + [f"{k}={k}" for k in keyword_only])
    source = f"def {name}({declared}):\n    return {callee}({passed})\n"
    function = define(source, name, {callee: custom}, getattr(custom.fun, "__module__", None), custom.kind)
    function.__qualname__ = getattr(custom.fun, "__qualname__", name)
    return custom.with_defaults(function)


def define(source: str, name: str, names: dict[str, Any], module: str | None, what: str) -> Callable:
    """Compile ``source`` (one ``def name``, seeing ``names``) with its text in ``linecache``, so that
    sourcediff can read it like the user's code; ``module`` is the ``__module__`` it reports."""
    filename = f"<sourcediff {what} {name} {next(_numbering)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace = {"__name__": module or "__main__", **names}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]
