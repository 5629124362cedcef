"""The rule registry: how each primitive differentiates, as inlinable templates, in both modes.

A rule is a signature plus, per differentiable parameter, two Python
expressions: a reverse template (VJP) and a forward template (JVP).

* Reverse template (``rule.adjoints[param]``): ``g`` is the adjoint of the
  result, ``ans`` the result itself, and every parameter name stands for the
  argument bound to it at the call site (or its default).
* Forward template (``rule.jvps[param]``): ``t`` is the tangent of this
  parameter (the same structure as its argument: a list of tangents for a
  list argument, a tuple for ``*args``), ``ans`` and the parameter names as
  above. It is the contribution of that tangent to the result's tangent; the
  result's tangent is the sum of the contributions of the active parameters
  (``sd.add`` for containers). A contribution may have a shape that broadcasts
  to the result's (``t`` alone for ``a + b``).

Templates may use ``np``, ``math`` and the backend runtime ``sd``. The
transformer substitutes names and inlines the expression into the generated
code, so a rule costs no extra call. Templates are parsed lazily, on first use.

One declaration gives both templates:

* :func:`defpartials`: elementwise functions, one partial derivative per
  parameter: reverse ``g * partial`` (summed back to the argument's shape with
  ``unbroadcast=True``), forward ``t * partial``.
* :func:`deflinear`: functions linear in their differentiable arguments, with
  ``apply`` (the primal call as a template) and one transpose per parameter.
  Forward: ``apply`` with the parameter replaced by ``t`` and the other
  differentiable (or ``cut``) parameters by ``sd.zeros_like(...)``.
* :func:`defbilinear`: products (linear in each argument separately).
  Forward, by the product rule: ``apply`` with the parameter replaced by ``t``,
  the others kept.
* :func:`defrule` with ``jvp=``: the general form, explicit templates in both
  modes, for conventions at ties and zeros and for the linear algebra. Without
  ``jvp=`` it registers a reverse-only rule (a user's rule; forward mode will
  refuse it); every rule of the library has both.

A primal is a function object, ``runtime("name")`` for ``sd.name``,
``method("name")`` for ``x.name(...)`` on an array (the receiver is the first
parameter) or ``attribute("name")`` for ``x.name``. :func:`defmethod` shares a
function's declaration with the ndarray method that is the same primitive
(``np.sum`` and ``x.sum()``).
"""
from __future__ import annotations

import inspect
import io
import sys
import tokenize
from dataclasses import dataclass, field
from typing import Any

import gast

TANGENT = "t"
"""The name of a parameter's tangent in a forward template."""


@dataclass(frozen=True)
class ReverseRule:
    """Reverse (``adjoints``) and forward (``jvps``) templates for one primitive."""

    primal: Any
    signature: inspect.Signature
    adjoints: dict[str, str]
    unbroadcast: bool = False
    origin: str = ""
    cut: tuple[str, ...] = ()  # parameters whose values the primal overwrites: their adjoint is zero
    parsed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    jvps: dict[str, str] = field(default_factory=dict)
    form: str = "general"  # how it was declared: partials, linear, bilinear, general, structural
    parsed_jvps: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def template(self, param: str) -> Any:
        """The parsed gast expression of the adjoint template for ``param``."""
        if param not in self.parsed:
            self.parsed[param] = gast.parse(self.adjoints[param], mode="eval").body
        return self.parsed[param]

    def reads(self, param: str) -> set[str]:
        """Names the adjoint template of ``param`` reads."""
        return {n.id for n in gast.walk(self.template(param)) if isinstance(n, gast.Name)}

    def jvp_template(self, param: str) -> Any:
        """The parsed gast expression of the forward template for ``param``."""
        if param not in self.parsed_jvps:
            self.parsed_jvps[param] = gast.parse(self.jvps[param], mode="eval").body
        return self.parsed_jvps[param]

    def jvp_reads(self, param: str) -> set[str]:
        """Names the forward template of ``param`` reads."""
        return {n.id for n in gast.walk(self.jvp_template(param)) if isinstance(n, gast.Name)}


Rule = ReverseRule
"""A rule gives both modes; ``ReverseRule`` is its historical name, which the transformer uses."""


@dataclass(frozen=True)
class RuntimeFunction:
    """The key of a rule for ``sd.<name>``, a function of the backend runtime: rules name it, never import it."""

    name: str

    def __repr__(self) -> str:
        return f"sd.{self.name}"


@dataclass(frozen=True)
class Method:
    """Where a rule for the ndarray method ``x.<name>(...)`` is declared (``METHOD_RULES[name]``)."""

    name: str


@dataclass(frozen=True)
class Attribute:
    """Where a rule for the ndarray attribute ``x.<name>`` is declared (``ATTRIBUTE_RULES[name]``)."""

    name: str


def runtime(name: str) -> RuntimeFunction:
    """The key under which the rule of the runtime function ``sd.<name>`` is registered and looked up."""
    return RuntimeFunction(name)


def method(name: str) -> Method:
    """Declare a rule for the ndarray method ``x.<name>(...)``; the receiver is the first parameter."""
    return Method(name)


def attribute(name: str) -> Attribute:
    """Declare a rule for the ndarray attribute ``x.<name>``; its one parameter is the array."""
    return Attribute(name)


REVERSE_RULES: dict[Any, ReverseRule] = {}
METHOD_RULES: dict[str, ReverseRule] = {}
ATTRIBUTE_RULES: dict[str, ReverseRule] = {}
NONDIFFERENTIABLE: dict[Any, str] = {}
NONDIFFERENTIABLE_METHODS: dict[str, str] = {}
NONDIFFERENTIABLE_ATTRIBUTES: dict[str, str] = {}

RESULT_KINDS = ("new", "view")
RESULTS: dict[Any, str] = {}
"""What a function gives back, where the lowering and the analysis need to know: ``"new"``, an array (or
number) that no other name holds; ``"view"``, an array that may share its first argument's memory (a write
into either shows in the other). A function not listed may give back one of its arguments."""

COMPLEX_RULES: dict[Any, ReverseRule] = {}
"""Rules used in place of the ordinary ones when an argument may be complex (:func:`defcomplex`)."""
COMPLEX_SAFE: set[Any] = set()
"""Keys whose ordinary templates hold for complex arguments."""
COMPLEX_RESULTS: set[Any] = set()
"""Keys whose result is complex for real arguments."""
REAL_RESULTS: set[Any] = set()
"""Keys whose result is real for complex arguments."""


def _note_result(primal: Any, returns: str | None) -> None:
    if returns is None:
        return
    if returns not in RESULT_KINDS:
        raise ValueError(f"rule for {primal!r}: returns={returns!r}, not one of {RESULT_KINDS}")
    RESULTS[primal] = returns


def defresult(primal: Any, kind: str) -> None:
    """Declare what a primitive without a rule gives back (``method("view")``: ``"view"``)."""
    _note_result(primal, kind)


def returns(primal: Any) -> str | None:
    """``"new"``, ``"view"`` or None (not known: it may give back an argument); see :data:`RESULTS`.

    ``primal`` is a function, or ``method(name)`` / ``attribute(name)`` for an ndarray's."""
    return _find(RESULTS, primal)


def _signature(spec: str) -> inspect.Signature:
    namespace: dict[str, Any] = {}
    exec(f"def _rule_signature({spec}): pass", {}, namespace)
    return inspect.signature(namespace["_rule_signature"])


def _caller() -> str:
    """``file:line`` of the declaration: the first frame outside this module (templates are parsed lazily)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"


_listeners: list = []


def on_change(listener) -> None:
    """Call ``listener()`` whenever a rule is registered (the API drops its cached derivatives)."""
    _listeners.append(listener)


def changed() -> None:
    """Tell the listeners that derivatives built from now on must differ (a user's custom rule was set)."""
    _changed()


def _changed() -> None:
    if _loading:  # rules loaded on first use (see _import_rules)
        return
    for listener in _listeners:
        listener()


# -- template text -------------------------------------------------------------------------------

def rename(template: str, mapping: dict[str, str]) -> str:
    """``template`` with the free names in ``mapping`` replaced by text, leaving everything else as written.

    Attribute names (``np.sum``) and keyword names (``axis=axis``: the left one) are not free names.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(template).readline))
    out, last = [], 0
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string not in mapping:
            continue
        before = tokens[i - 1].string if i else ""
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if before == "." or (after == "=" and _in_call(tokens, i)):
            continue
        start, end = tok.start[1], tok.end[1]
        out.append(template[last:start] + mapping[tok.string])
        last = end
    return "".join(out) + template[last:]


def _in_call(tokens: list, i: int) -> bool:
    """Whether token ``i`` sits directly inside a call's parentheses (so ``name=`` is a keyword)."""
    depth = 0
    for tok in reversed(tokens[:i]):
        if tok.string in ")]}":
            depth += 1
        elif tok.string in "([{":
            if depth == 0:
                return tok.string == "("
            depth -= 1
    return False


_ATOMS = (gast.Name, gast.Call, gast.Constant, gast.Attribute, gast.Subscript)


def _wrapped(text: str) -> bool:
    """Whether ``text`` is one parenthesized expression, ``(...)``."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for k, c in enumerate(text):
        depth += c == "("
        depth -= c == ")"
        if depth == 0 and k < len(text) - 1:
            return False
    return True


def _negative(node: Any) -> bool:
    """Whether ``node`` is ``-x``, or a product or quotient whose leftmost factor is ``-x``."""
    while isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div)):
        node = node.left
    return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub)


def scaled(factor: str, partial: str) -> str:
    """``factor * partial`` written plainly: ``g``, ``-g``, ``g / b``, ``-g * ans / b``, ``g * (x1 > x2)``.

    ``factor`` is ``g`` (a reverse template) or ``t`` (a forward one).
    """
    partial = partial.strip()
    node = gast.parse(partial, mode="eval").body
    if isinstance(node, gast.Constant) and node.value == 1:
        return factor
    if partial.startswith("-") and _negative(node):  # -a / b == -(a / b) exactly
        return "-" + scaled(factor, partial[1:].strip())
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div) and isinstance(node.left, gast.Constant) \
            and node.left.value == 1 and partial.startswith("1 /"):
        return f"{factor} / {partial[3:].strip()}"
    if _wrapped(partial) or isinstance(node, _ATOMS) or isinstance(node, gast.BinOp) \
            and isinstance(node.op, (gast.Mult, gast.Div)):
        return f"{factor} * {partial}"
    return f"{factor} * ({partial})"


# -- declarations ----------------------------------------------------------------------------------

def _register(key: Any, spec: str | inspect.Signature, adjoints: dict[str, str], jvps: dict[str, str], *,
              unbroadcast: bool = False, cut: tuple[str, ...] = (), form: str = "general",
              returns: str | None = None, for_complex: bool = False) -> ReverseRule:
    signature = spec if isinstance(spec, inspect.Signature) else _signature(spec)
    primal = key.name if isinstance(key, (Method, Attribute)) else key
    unknown = (set(adjoints) | set(jvps) | set(cut)) - set(signature.parameters)
    if unknown:
        raise ValueError(f"rule for {primal!r}: templates for unknown parameters {sorted(unknown)}")
    if TANGENT in signature.parameters and jvps:
        raise ValueError(f"rule for {primal!r}: a parameter named {TANGENT!r} would hide the tangent")
    for hidden, what in (("g", "the cotangent"), ("ans", "the primal's result")):
        if hidden in signature.parameters:  # the template would read the wrong value: a wrong derivative
            raise ValueError(f"rule for {primal!r}: a parameter named {hidden!r} would hide {what}; rename it "
                             "in the spec (parameters bind by position)")
    if jvps and set(jvps) != set(adjoints):
        raise ValueError(f"rule for {primal!r}: forward templates for {sorted(jvps)}, "
                         f"reverse templates for {sorted(adjoints)}")
    rule = ReverseRule(primal, signature, dict(adjoints), unbroadcast, _caller(), cut=tuple(cut),
                       jvps=dict(jvps), form=form)
    if for_complex:
        COMPLEX_RULES[key] = rule
        _changed()
        return rule
    _note_result(key, returns)
    if isinstance(key, Method):
        METHOD_RULES[key.name] = rule
    elif isinstance(key, Attribute):
        ATTRIBUTE_RULES[key.name] = rule
    else:
        REVERSE_RULES[key] = rule
    _changed()
    return rule


def defpartials(primal: Any, spec: str, *, unbroadcast: bool = False, adjoints: dict[str, str] | None = None,
                returns: str | None = None, **partials: str) -> ReverseRule:
    """Register an elementwise function by its partial derivatives, one per parameter.

    Reverse: ``g * partial`` (summed back to the argument's shape with
    ``unbroadcast=True``); forward: ``t * partial``. ``adjoints`` may give the
    reverse templates as the SymPy table prints ``g * partial`` (the same
    partials, written as a person would); every other rule leaves it out.
    """
    reverse = {p: scaled("g", d) for p, d in partials.items()}
    if adjoints is not None:
        if set(adjoints) != set(partials):
            raise ValueError(f"rule for {primal!r}: adjoints for {sorted(adjoints)}, partials for {sorted(partials)}")
        reverse = dict(adjoints)
    return _register(primal, spec, reverse, {p: scaled(TANGENT, d) for p, d in partials.items()},
                     unbroadcast=unbroadcast, form="partials", returns=returns)


def deflinear(primal: Any, spec: str, *, apply: str, unbroadcast: bool = False, cut: tuple[str, ...] = (),
              kept: tuple[str, ...] = (), returns: str | None = None, **transposes: str) -> ReverseRule:
    """Register a function that is linear in its differentiable arguments (jointly).

    ``apply`` is the primal call as a template (``"np.sum(a, axis=axis, keepdims=keepdims)"``);
    ``transposes`` maps each differentiable parameter to its reverse template.
    Forward: ``apply`` with that parameter replaced by ``t`` and every other
    differentiable or ``cut`` parameter by ``sd.zeros_like(...)``. ``kept``
    parameters only place the result (an index, a key): no derivative flows
    through them, and the forward template keeps them as they are.
    """
    others = set(transposes) | set(cut)
    jvps = {p: rename(apply, {p: TANGENT, **{q: f"sd.zeros_like({q})" for q in others - {p}}})
            for p in transposes}
    return _register(primal, spec, transposes, jvps, unbroadcast=unbroadcast, cut=tuple(cut) + tuple(kept),
                     form="linear", returns=returns)


def defbilinear(primal: Any, spec: str, *, apply: str, unbroadcast: bool = False, returns: str | None = None,
                **transposes: str) -> ReverseRule:
    """Register a product: linear in each differentiable argument when the others are fixed.

    Forward, by the product rule: ``apply`` with that parameter replaced by
    ``t`` and the others as they are (``t @ b`` and ``a @ t``).
    """
    jvps = {p: rename(apply, {p: TANGENT}) for p in transposes}
    return _register(primal, spec, transposes, jvps, unbroadcast=unbroadcast, form="bilinear", returns=returns)


def defrule(primal: Any, spec: str, *, jvp: dict[str, str] | None = None, unbroadcast: bool = False,
            cut: tuple[str, ...] = (), returns: str | None = None, **adjoints: str) -> ReverseRule:
    """Register a rule with explicit templates: ``adjoints`` (reverse) and ``jvp`` (forward).

    ``spec`` is the parameter list as written in a ``def``; ``adjoints`` maps a
    parameter name to its adjoint expression and ``jvp`` to its forward
    template. Parameters without one are not differentiable (``axis``,
    ``shape`` ...). With ``unbroadcast=True`` each adjoint is summed back to
    the shape of its argument. Parameters in ``cut`` are overwritten by the
    primal (an in-place write): their adjoint is zero. Without ``jvp`` the rule
    is reverse-only. ``returns`` says what the primal gives back (see :data:`RESULTS`).
    """
    return _register(primal, spec, adjoints, jvp or {}, unbroadcast=unbroadcast, cut=cut,
                     form="general" if jvp else "reverse-only", returns=returns)


def defmethod(name: str, spec: Any, *, unbroadcast: bool = False, **adjoints: str) -> ReverseRule:
    """The rule of the ndarray method ``x.<name>(...)``.

    ``defmethod(name, function)`` shares ``function``'s declaration, the same
    primitive (``np.sum`` and ``x.sum()``), through :func:`share_method`.
    ``defmethod(name, spec, **adjoints)`` registers a rule of the method's own
    (reverse only, unless ``jvp=`` gives forward templates); ``spec`` starts
    with the receiver, ``self``.
    """
    if isinstance(spec, str):
        return defrule(method(name), spec, unbroadcast=unbroadcast, **adjoints)
    return share_method(name, spec)


def share_method(name: str, function: Any, signature: str | None = None) -> ReverseRule:
    """Register ``x.<name>(...)`` with ``function``'s templates, the receiver being its first parameter.

    ``signature`` replaces the method's parameter list where it differs from
    the function's (``x.copy(order='C')`` against ``np.copy(a, order='K', ...)``);
    the templates must read only parameters it has.
    """
    rule = REVERSE_RULES[function]
    first = next(iter(rule.signature.parameters))
    mapping = {first: "self"}
    spec = signature or str(rule.signature)[1:-1].replace(first, "self", 1)
    adjoints = {mapping.get(p, p): rename(text, mapping) for p, text in rule.adjoints.items()}
    jvps = {mapping.get(p, p): rename(text, mapping) for p, text in rule.jvps.items()}
    shared = _register(method(name), spec, adjoints, jvps, unbroadcast=rule.unbroadcast,
                       cut=tuple(mapping.get(p, p) for p in rule.cut), form=rule.form, returns=returns(function))
    params = set(shared.signature.parameters)
    for text in list(adjoints.values()) + list(jvps.values()):
        free = {n.id for n in gast.walk(gast.parse(text, mode="eval").body) if isinstance(n, gast.Name)}
        missing = free & (set(rule.signature.parameters) | {first}) - params - {"self"}
        if missing:
            raise ValueError(f"method {name!r}: the shared templates read {sorted(missing)}, not in ({spec})")
    return shared


def defattribute(name: str, **adjoints: str) -> ReverseRule:
    """Register a rule of an ndarray attribute read, such as ``x.mT`` (parameter ``x``; ``jvp=`` as for
    :func:`defrule`)."""
    return defrule(attribute(name), "x", **adjoints)


def defnondiff(primal: Any, why: str, *, returns: str | None = None) -> None:
    """Declare a function non-differentiable on purpose: its result carries no gradient."""
    NONDIFFERENTIABLE[primal] = why
    _note_result(primal, returns)
    _changed()


def defnondiff_method(name: str, why: str) -> None:
    NONDIFFERENTIABLE_METHODS[name] = why
    _changed()


def defnondiff_attribute(name: str, why: str) -> None:
    NONDIFFERENTIABLE_ATTRIBUTES[name] = why
    _changed()


def defcomplex(key: Any, spec: str, *, jvp: dict[str, str], unbroadcast: bool = False,
               **adjoints: str) -> ReverseRule:
    """The rule of ``key`` when an argument may be complex, where its ordinary templates do not hold (``np.abs``).

    Complex adjoints follow JAX's convention: the adjoint ``c`` of a complex
    value ``z`` stands for the linear map ``dz -> Re(c * dz)``, so ``c`` is
    ``dL/dRe(z) - 1j * dL/dIm(z)`` and a holomorphic function's adjoint is
    ``g * f'(z)``, as for real numbers. The adjoint of a real value is real.
    """
    return _register(key, spec, adjoints, jvp, unbroadcast=unbroadcast, for_complex=True)


def valid_for_complex(*keys: Any) -> None:
    """Declare that the ordinary templates of these rules hold for complex arguments (see :func:`defcomplex`)."""
    COMPLEX_SAFE.update(keys)
    _changed()


def complex_results(*keys: Any) -> None:
    """Declare functions whose result is complex for real arguments (``np.fft.fft``)."""
    COMPLEX_RESULTS.update(keys)
    _changed()


def real_results(*keys: Any) -> None:
    """Declare functions whose result is real for complex arguments (``np.abs``, ``np.real``)."""
    REAL_RESULTS.update(keys)
    _changed()


def complex_rule(key: Any) -> ReverseRule | None:
    """The rule of ``key`` (a function, ``method(name)`` or ``attribute(name)``) for complex arguments, or
    None when sourcediff cannot differentiate it there."""
    try:
        if key in COMPLEX_RULES:
            return COMPLEX_RULES[key]
        if key not in COMPLEX_SAFE:
            return None
    except TypeError:  # unhashable
        return None
    if isinstance(key, Method):
        return METHOD_RULES.get(key.name)
    if isinstance(key, Attribute):
        return ATTRIBUTE_RULES.get(key.name)
    return REVERSE_RULES.get(key)


def lookup(primal: Any) -> ReverseRule | None:
    return _find(REVERSE_RULES, primal)


def is_nondifferentiable(primal: Any) -> bool:
    return _find(NONDIFFERENTIABLE, primal) is not None


# -- rules loaded on first use -------------------------------------------------------------------------

LAZY_PACKAGES = ("scipy",)
"""Libraries whose rules are imported only when the user's code calls one of their functions: ``import
sourcediff`` must not import SciPy. The rules of ``scipy.<sub>`` live in ``rules/scipy/<sub>.py``."""

_UFUNC_MODULES = ("scipy.special",)
"""The lazy libraries whose functions may have no ``__module__`` (ufuncs): recognized by identity."""

_LAZY_LOADED: set[str] = set()


def _find(table: dict, primal: Any) -> Any:
    """``table[primal]``, or None; the one place where a lookup loads lazy rules (:func:`load_rules_for`)."""
    try:
        found = table.get(primal)
    except TypeError:  # unhashable object
        return None
    if found is None and load_rules_for(primal):
        found = table.get(primal)
    if found is None and type(getattr(primal, "__self__", None)) is str:  # "w{}".format of a module's string
        found = table.get(getattr(str, getattr(primal, "__name__", ""), None))
    return found


def _lazy_module_of(primal: Any) -> str | None:
    """``"scipy.special"`` for a function of ``scipy.special`` (``scipy.<sub>`` in general), else None.

    A Python function says where it is defined (``scipy.special._logsumexp``); a SciPy ufunc (``erf``,
    ``gammaln``) has no ``__module__``, so it is recognized by identity, as the attribute of that name of an
    already imported ``scipy.special`` (the user's code imported it to call it).
    """
    try:
        module = getattr(primal, "__module__", None)
        if isinstance(module, str):
            parts = module.split(".")
            if parts[0] in LAZY_PACKAGES and len(parts) > 1:
                return ".".join(parts[:2])
            return None
        name = getattr(primal, "__name__", None)
        if isinstance(name, str):
            for loaded in _UFUNC_MODULES:
                if loaded in sys.modules and getattr(sys.modules[loaded], name, None) is primal:
                    return loaded
    except Exception:  # an object whose attributes cannot be read: not a library function
        return None
    return None


def load_lazy_rules() -> list[str]:
    """Import every lazy rule module whose library is installed, and return their libraries
    (``["scipy.special"]``): for the tests and reports that walk every rule of the library."""
    import importlib
    import pkgutil
    from pathlib import Path

    loaded = []
    for package in LAZY_PACKAGES:
        for info in pkgutil.iter_modules([str(Path(__file__).with_name(package))]):
            module = f"{package}.{info.name}"
            try:
                importlib.import_module(module)
            except ImportError:  # the library is not installed
                continue
            _import_rules(module)
            loaded.append(module)
    return loaded


def load_rules_for(primal: Any) -> bool:
    """Import the rule module of ``primal``'s library (``rules/scipy/special.py`` for ``scipy.special.erf``)
    once; whether one was imported now. A library without a rule module loads nothing."""
    module = _lazy_module_of(primal)
    return module is not None and _import_rules(module)


_loading = False


def _import_rules(module: str) -> bool:
    """Import ``rules/<module>.py`` (``module`` is ``"scipy.special"``) unless done; whether it was imported now.

    A function the user declared before (``defrule``, ``defnondiff``) keeps that declaration: the library's
    rules only fill in the others. Derivatives already built stay cached: they never saw an answer about
    these functions, since any lookup of one would have loaded this module.
    """
    global _loading
    if module in _LAZY_LOADED:
        return False
    _LAZY_LOADED.add(module)
    import importlib

    name = f"{__name__.rpartition('.')[0]}.{module}"
    declared = set(REVERSE_RULES) | set(NONDIFFERENTIABLE)
    before = {id(table): dict(table) for table in (REVERSE_RULES, NONDIFFERENTIABLE, RESULTS)}
    _loading = True
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name):  # the rule module failed to import
            _LAZY_LOADED.discard(module)
            raise
        return False
    finally:
        _loading = False
        for table in (REVERSE_RULES, NONDIFFERENTIABLE, RESULTS):
            table.update(before[id(table)])
            for key in set(table) - set(before[id(table)]):
                if key in declared:
                    del table[key]
    return True


def constructor_rule(cls: Any) -> ReverseRule | None:
    """The rule of a namedtuple or dataclass constructor, made on first use.

    Each argument's adjoint is the adjoint of the field it fills, and its
    tangent fills that field of a zero tangent of the result
    (``sd.field_tangent``). A dataclass with its own ``__init__`` or a
    ``__post_init__`` changes what it was given, so it gets no rule (the call
    is refused).
    """
    if not isinstance(cls, type):
        return None
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        keys = {f: str(i) for i, f in enumerate(cls._fields)}
    elif getattr(cls, "__dataclass_params__", None) is not None and cls.__dataclass_params__.init \
            and not hasattr(cls, "__post_init__"):
        import dataclasses

        keys = {f.name: repr(f.name) for f in dataclasses.fields(cls) if f.init}
    else:
        return None
    adjoints = {f: f"sd.field_adjoint(g, {k}, {f})" for f, k in keys.items()}
    jvps = {f: f"sd.field_tangent({TANGENT}, {k}, ans)" for f, k in keys.items()}
    rule = REVERSE_RULES[cls] = ReverseRule(cls, inspect.signature(cls), adjoints, False, f"constructor of {cls!r}",
                                            jvps=jvps, form="structural")
    return rule


def namespace_rule(fields: tuple[str, ...]) -> ReverseRule:
    """The rule of ``types.SimpleNamespace(a=..., b=...)`` for these keyword names."""
    import types

    spec = "*, " + ", ".join(fields) if fields else ""
    adjoints = {f: f"sd.field_adjoint(g, {f!r}, {f})" for f in fields}
    jvps = {f: f"sd.field_tangent({TANGENT}, {f!r}, ans)" for f in fields}
    return ReverseRule(types.SimpleNamespace, _signature(spec), adjoints, False, "types.SimpleNamespace",
                       jvps=jvps, form="structural")
