"""The rule registry: how each primitive differentiates, as inlinable templates.

A reverse rule is a signature plus one Python expression per differentiable
parameter. In a template, ``g`` is the adjoint of the result, ``ans`` is the
result itself, and every parameter name stands for the argument bound to it at
the call site (or its default). Templates may use ``np``, ``math`` and the
backend runtime ``sd``. The transformer substitutes names and inlines the
expression into the generated code, so a rule costs no extra call.
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from typing import Any

import gast


@dataclass(frozen=True)
class ReverseRule:
    """Adjoint templates for one primitive."""

    primal: Any
    signature: inspect.Signature
    adjoints: dict[str, str]
    unbroadcast: bool = False
    origin: str = ""
    cut: tuple[str, ...] = ()  # parameters whose values the primal overwrites: their adjoint is zero
    parsed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def template(self, param: str) -> Any:
        """The parsed gast expression of the adjoint template for ``param``."""
        if param not in self.parsed:
            self.parsed[param] = gast.parse(self.adjoints[param], mode="eval").body
        return self.parsed[param]

    def reads(self, param: str) -> set[str]:
        """Names the adjoint template of ``param`` reads."""
        return {n.id for n in gast.walk(self.template(param)) if isinstance(n, gast.Name)}


@dataclass(frozen=True)
class RuntimeFunction:
    """The key of a rule for ``sd.<name>``, a function of the backend runtime: rules name it, never import it."""

    name: str

    def __repr__(self) -> str:
        return f"sd.{self.name}"


def runtime(name: str) -> RuntimeFunction:
    """The key under which the rule of the runtime function ``sd.<name>`` is registered and looked up."""
    return RuntimeFunction(name)


REVERSE_RULES: dict[Any, ReverseRule] = {}
METHOD_RULES: dict[str, ReverseRule] = {}
ATTRIBUTE_RULES: dict[str, ReverseRule] = {}
NONDIFFERENTIABLE: dict[Any, str] = {}
NONDIFFERENTIABLE_METHODS: dict[str, str] = {}
NONDIFFERENTIABLE_ATTRIBUTES: dict[str, str] = {}


def _signature(spec: str) -> inspect.Signature:
    namespace: dict[str, Any] = {}
    exec(f"def _rule_signature({spec}): pass", {}, namespace)
    return inspect.signature(namespace["_rule_signature"])


def _make(primal: Any, spec: str, adjoints: dict[str, str], unbroadcast: bool,
          cut: tuple[str, ...] = ()) -> ReverseRule:
    signature = _signature(spec)
    unknown = (set(adjoints) | set(cut)) - set(signature.parameters)
    if unknown:
        raise ValueError(f"rule for {primal!r}: adjoints for unknown parameters {sorted(unknown)}")
    return ReverseRule(primal, signature, dict(adjoints), unbroadcast, _caller(), cut=tuple(cut))


def _caller() -> str:
    """``file:line`` of the ``defrule``/``defmethod`` call (templates are parsed lazily, on first use)."""
    frame = sys._getframe(3)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


_listeners: list = []


def on_change(listener) -> None:
    """Call ``listener()`` whenever a rule is registered (the API drops its cached derivatives)."""
    _listeners.append(listener)


def _changed() -> None:
    for listener in _listeners:
        listener()


def defrule(primal: Any, spec: str, *, unbroadcast: bool = False, cut: tuple[str, ...] = (),
            **adjoints: str) -> None:
    """Register the reverse rule of a function object.

    ``spec`` is the parameter list as written in a ``def``; ``adjoints`` maps a
    parameter name to its adjoint expression. Parameters without an adjoint are
    not differentiable (``axis``, ``shape`` ...). With ``unbroadcast=True``
    each adjoint is summed back to the shape of its argument. Parameters in
    ``cut`` are overwritten by the primal (an in-place write): their adjoint is zero.
    """
    REVERSE_RULES[primal] = _make(primal, spec, adjoints, unbroadcast, cut)
    _changed()


def defmethod(name: str, spec: str, *, unbroadcast: bool = False, **adjoints: str) -> None:
    """Register the rule of an ndarray method; ``spec`` starts with the receiver."""
    METHOD_RULES[name] = _make(name, spec, adjoints, unbroadcast)
    _changed()


def defattribute(name: str, **adjoints: str) -> None:
    """Register the rule of an ndarray attribute read, such as ``x.T``."""
    ATTRIBUTE_RULES[name] = _make(name, "x", adjoints, False)
    _changed()


def defnondiff(primal: Any, why: str) -> None:
    """Declare a function non-differentiable on purpose: its result carries no gradient."""
    NONDIFFERENTIABLE[primal] = why
    _changed()


def defnondiff_method(name: str, why: str) -> None:
    NONDIFFERENTIABLE_METHODS[name] = why
    _changed()


def defnondiff_attribute(name: str, why: str) -> None:
    NONDIFFERENTIABLE_ATTRIBUTES[name] = why
    _changed()


def lookup(primal: Any) -> ReverseRule | None:
    try:
        return REVERSE_RULES.get(primal)
    except TypeError:  # unhashable object
        return None


def is_nondifferentiable(primal: Any) -> bool:
    try:
        return primal in NONDIFFERENTIABLE
    except TypeError:
        return False



def constructor_rule(cls: Any) -> ReverseRule | None:
    """The rule of a namedtuple or dataclass constructor, made on first use.

    Each argument's adjoint is the adjoint of the field it fills. A dataclass
    with its own ``__init__`` or a ``__post_init__`` changes what it was given,
    so it gets no rule (the call is refused).
    """
    if not isinstance(cls, type):
        return None
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        adjoints = {f: f"sd.field_adjoint(g, {i}, {f})" for i, f in enumerate(cls._fields)}
    elif getattr(cls, "__dataclass_params__", None) is not None and cls.__dataclass_params__.init \
            and not hasattr(cls, "__post_init__"):
        import dataclasses

        adjoints = {f.name: f"sd.field_adjoint(g, {f.name!r}, {f.name})" for f in dataclasses.fields(cls) if f.init}
    else:
        return None
    rule = REVERSE_RULES[cls] = ReverseRule(cls, inspect.signature(cls), adjoints, False, f"constructor of {cls!r}")
    return rule


def namespace_rule(fields: tuple[str, ...]) -> ReverseRule:
    """The rule of ``types.SimpleNamespace(a=..., b=...)`` for these keyword names."""
    import types

    spec = "*, " + ", ".join(fields) if fields else ""
    adjoints = {f: f"sd.field_adjoint(g, {f!r}, {f})" for f in fields}
    return ReverseRule(types.SimpleNamespace, _signature(spec), adjoints, False, "types.SimpleNamespace")
