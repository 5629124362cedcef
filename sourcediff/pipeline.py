"""The pipeline: parse, lower, analyze, transform, optimize and emit, run in order; the cache of derivatives.

This is the only module that imports every stage. ``api`` calls :func:`build` and :func:`build_vjp`;
``calls`` builds the halves of the user's functions through :func:`build_split`.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import gast

from sourcediff.backends import NUMPY
from sourcediff.rules import registry

from . import analyze, calls, emit, forward, lower, optimize, parse, reverse
from .errors import UnsupportedSyntaxError
from .ir import COMMENT


@dataclass(frozen=True)
class Compiled:
    """A generated derivative: the callable and its source text."""

    function: Callable
    source: str
    wrt: tuple[str, ...]
    filename: str
    output_location: tuple[str, int | None]
    mutated: tuple[str, ...] = ()  # parameters the function writes into (restored if the derivative fails)

    @property
    def seed(self) -> str:
        """The keyword-only parameter of a ``vjp`` derivative that takes the cotangent (the last one)."""
        code = self.function.__code__
        return code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]


_cache: "weakref.WeakKeyDictionary[Callable, dict[tuple, Compiled | Split]]" = weakref.WeakKeyDictionary()
_cache_lock = threading.RLock()


def _forget_derivatives() -> None:
    """A rule changed: derivatives built from now on must see it (derivative objects keep their code)."""
    with _cache_lock:
        _cache.clear()
        calls.forget()


registry.on_change(_forget_derivatives)


def build(f: Callable, mode: str, wrt: tuple[str, ...], has_aux: bool,
          scalar_params: frozenset[str] = frozenset(),
          array_params: frozenset[tuple[str, int, str]] = frozenset(),
          float_arrays: frozenset[str] = frozenset()) -> Compiled:
    """Run the pipeline (parse, lower, transform, optimize, emit) and cache the result.

    ``scalar_params`` names the parameters that are Python numbers in this
    specialization; ``array_params`` holds (parameter, ndim, first parameter of
    the same shape) for those that are NumPy arrays, and ``float_arrays`` those known to be float or
    complex arrays (forward mode writes their tangents without checking for integers).
    """
    key = (mode, wrt, has_aux, scalar_params, array_params, float_arrays)
    with _cache_lock:
        entry = _cache.get(f, {}).get(key)
        if entry is not None:
            return entry
        parsed, result, source = _derive(f, mode, wrt, has_aux, scalar_params, array_params, float_arrays=float_arrays)
        node = result.node
        runtime = _runtime_objects(result.runtime_names) | result.late_bound
        label = mode + (f" float {','.join(sorted(float_arrays))}" if float_arrays else "")
        filename = emit.registered_name(f, label, wrt, scalar_params, array_params)
        function = _with_defaults(emit.compile_function(emit.with_releases(source), node.name, filename, f, runtime), f)
        returns = [n for n in gast.walk(parsed.node) if isinstance(n, gast.Return)]
        location = (parsed.filename, parsed.lineno(returns[-1]) if returns else parsed.lineno(parsed.node))
        compiled = Compiled(function, source, wrt, function.__code__.co_filename, location, result.mutated)
        _cache.setdefault(f, {})[key] = compiled
        return compiled


def _derive(f: Callable, mode: str, wrt: tuple[str, ...], has_aux: bool, scalar_params: frozenset[str],
            array_params: frozenset[tuple[str, int, str]], shown: dict[str, str] | None = None,
            float_arrays: frozenset[str] = frozenset()) -> tuple[parse.ParsedFunction, reverse.ReverseFunction, str]:
    """Parse, lower, transform, optimize and print ``f``; ``shown`` receives the text after each stage."""
    parsed = parse.parse_function(f)
    if not mode.startswith("jvp"):
        _refuse_reverse_over_forward_writes(parsed)
    if shown is not None:
        shown["parse"] = emit.to_source(parsed.node)
    lowered = lower.lower(parsed, scalar_params, frozenset(p for p, _, _ in array_params))
    if shown is not None:
        shown["lower"] = emit.to_source(lowered)
    mode, directions = (mode.split("*")[0], int(mode.split("*")[1])) if "*" in mode else (mode, 1)
    spec = analyze.Spec(wrt, mode, has_aux, scalar_params, array_params, float_arrays)
    result = _transform(parsed, lowered, spec, shown)
    if directions > 1:  # mode "jvp*3": three directions at once (forward.NotInDirections where it cannot)
        result = forward.in_directions(result, directions)
    node = result.node
    if shown is not None:
        shown["transform"] = emit.to_source(node)
    if mode == "jvp":
        pure = {result.runtime_names["np"], result.runtime_names["math"], "slice"}
        temporaries = {n.id for n in gast.walk(node) if isinstance(n, gast.Name)
                       and emit.is_temporary(n.id, {n.id for n in gast.walk(parsed.node) if isinstance(n, gast.Name)})}
        node.body = optimize.optimize_forward(node.body, temporaries, set(result.tangent_names), pure)
    else:
        node.body = _optimized(node.body, result)
    emit.spell_library_calls(node, parsed.resolve, _spelling(result.runtime_names))
    emit.renumber_temporaries(node, {n.id for n in gast.walk(parsed.node) if isinstance(n, gast.Name)})
    source = emit.to_source(node)
    if shown is not None:
        shown["optimize"] = source
    return parsed, result, source


def _transform(parsed: parse.ParsedFunction, lowered, spec: analyze.Spec,
               shown: dict[str, str] | None = None) -> reverse.ReverseFunction | forward.ForwardFunction:
    """Analyze the lowered function, then write its derivative from the facts found."""
    if spec.mode == "jvp":
        transform = forward.ForwardTransform(parsed, lowered, spec, _NAMESPACES)
    else:
        transform = reverse.ReverseTransform(parsed, lowered, spec, _NAMESPACES)
    facts = analyze.analyze(parsed, lowered, spec, transform.namer, transform.runtime["sd"],
                            transform.derivative_reads)
    if shown is not None:
        shown["analyze"] = facts.describe(spec.wrt)
    return transform.run(facts)


def _with_defaults(function: Callable, f: Callable) -> Callable:
    if f.__defaults__:
        function.__defaults__ = tuple(f.__defaults__)
    if f.__kwdefaults__:
        function.__kwdefaults__ = dict(f.__kwdefaults__)
    return function


def build_split(f: Callable, active: tuple[str, ...], scalars: frozenset[str] = frozenset(),
                arrays: frozenset[tuple[str, int, str]] = frozenset(), has_aux: bool = False
                ) -> tuple[Callable, Callable, str, str, tuple[str, ...]]:
    """The forward and backward halves of ``f`` for a call from generated code (see ``calls.py``).

    With ``has_aux``, ``f`` returns ``(output, aux)``: the forward half returns
    that pair, and the backward half takes the adjoint of the output alone.
    """
    parsed = parse.parse_function(f)
    _refuse_reverse_over_forward_writes(parsed)
    lowered = lower.lower(parsed, scalars, frozenset(p for p, _, _ in arrays), hold_arguments=True)
    result = _transform(parsed, lowered, analyze.Spec(active, "split", has_aux, scalars, arrays))
    forward_node, backward_node = result.node, result.backward_node
    backward_node.body = _optimized(backward_node.body, result)
    user_names = {n.id for n in gast.walk(parsed.node) if isinstance(n, gast.Name)}
    runtime = _runtime_objects(result.runtime_names) | result.late_bound
    compiled = []
    mapping = None
    for node, part in ((forward_node, "forward half"), (backward_node, "backward half")):
        emit.spell_library_calls(node, parsed.resolve, _spelling(result.runtime_names))
        mapping = emit.renumber_temporaries(node, user_names, mapping)
        source = emit.to_source(node)
        filename = emit.registered_name(f, part, active, scalars, arrays)
        compiled.append((emit.compile_function(emit.with_releases(source), node.name, filename, f, runtime), source))
    (forward, forward_source), (backward, backward_source) = compiled
    return _with_defaults(forward, f), backward, forward_source, backward_source, result.mutated


def _refuse_reverse_over_forward_writes(parsed: parse.ParsedFunction) -> None:
    """Reverse mode over forward-mode code that writes in place (``x_dot[i] = ...``, ``sd.assign_into``) is not
    right yet (the fuzzer found NaN and wrong second derivatives, seeds 1300902340 and 1300904230): refused."""
    if not parsed.filename.startswith("<sourcediff jvp"):
        return
    for node in gast.walk(parsed.node):
        writes = isinstance(node, gast.AugAssign) or (isinstance(node, gast.Assign) and any(
            isinstance(t, gast.Subscript) for t in node.targets))
        helper = isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and node.func.attr in (
            "assign_into", "tangent_stored_in", "own_tangent", "view_again")
        if writes or helper:
            raise parsed.error(
                UnsupportedSyntaxError, "sourcediff cannot yet take reverse mode (jacrev, grad) of forward-mode code "
                "that writes into arrays in place", node, "differentiate in forward mode again (jacfwd(jacfwd(f)), "
                "hessian(f)), or take jacrev of jacrev")


def build_jvp(f: Callable, active: tuple[str, ...], scalars: frozenset[str] = frozenset(),
              arrays: frozenset[tuple[str, int, str]] = frozenset()) -> tuple[Callable, str, tuple[str, ...]]:
    """The forward derivative of ``f`` for a call from generated code (see ``calls.jvp_function``)."""
    compiled = build(f, "jvp", active, False, scalars, arrays)
    return compiled.function, compiled.source, compiled.mutated


@dataclass(frozen=True)
class Split:
    """The halves of a derivative that ``vjp`` runs apart: ``forward(*args) -> (out, saved)`` once, then
    ``backward(saved, out_bar, *changed_bars) -> grads``, where ``changed_bars`` are the adjoints of the
    arguments in ``mutated`` as the function leaves them."""

    forward: Callable
    backward: Callable
    source: str
    mutated: tuple[str, ...]


def build_vjp(f: Callable, wrt: tuple[str, ...], has_aux: bool, scalar_params: frozenset[str] = frozenset(),
              array_params: frozenset[tuple[str, int, str]] = frozenset()) -> Split:
    """The forward and backward halves of ``f`` for ``vjp``, cached like :func:`build`."""
    key = ("split", wrt, has_aux, scalar_params, array_params)
    with _cache_lock:
        entry = _cache.get(f, {}).get(key)
        if entry is None:
            forward, backward, forward_source, backward_source, mutated = build_split(
                f, wrt, scalar_params, array_params, has_aux)
            entry = Split(forward, backward, forward_source + "\n" + backward_source, mutated)
            _cache.setdefault(f, {})[key] = entry
        return entry


def _optimized(body: list, result: reverse.ReverseFunction) -> list:
    marker = next(i for i, s in enumerate(body) if _is_comment(s, "backward pass"))
    pure = set(result.runtime_names.values()) | {"slice"}
    adjoints = {n.id for s in body[marker:] for n in _stores(s)}
    return body[:marker] + optimize.optimize_backward(body[marker:], adjoints, pure)


def _stores(stmt):
    return [n for n in gast.walk(stmt) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]


def _is_comment(stmt, text: str) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) \
        and stmt.value.value == COMMENT + text


_NAMESPACES = NUMPY.namespaces({"call_forward": calls.call_forward, "call_backward": calls.call_backward,
                                "call_jvp": calls.call_jvp})


def _library_names() -> dict[int, tuple[str, str]]:
    """``id(object) -> (namespace, dotted name in it)`` for the modules and functions of ``np`` and ``math``."""
    found: dict[int, tuple[str, str]] = {id(NUMPY.np): ("np", ""), id(NUMPY.np.linalg): ("np", "linalg"),
                                         id(NUMPY.math): ("math", "")}
    for short, module, prefix in (("np", NUMPY.np, ""), ("np", NUMPY.np.linalg, "linalg."), ("math", NUMPY.math, "")):
        for attr, obj in sorted(vars(module).items()):  # not dir(): NumPy would import its lazy submodules
            if attr.startswith("_") or not callable(obj) or isinstance(obj, type):
                continue
            if id(obj) not in found or attr == getattr(obj, "__name__", None):  # np.abs is np.absolute
                found[id(obj)] = (short, prefix + attr)
    return found


_LIBRARY_NAMES = _library_names()


def _spelling(aliases: dict[str, str]) -> Callable[[Any], str | None]:
    """How generated code names a module or function of ``np``/``math``, through its own aliases."""
    def spell(obj: Any) -> str | None:
        entry = _LIBRARY_NAMES.get(id(obj))
        if entry is None:
            return None
        short, dotted = entry
        return f"{aliases[short]}.{dotted}" if dotted else aliases[short]
    return spell


def _runtime_objects(aliases: dict[str, str]) -> dict[str, Any]:
    return {alias: _NAMESPACES[short] for short, alias in aliases.items()}


def stages(f: Callable, wrt: tuple[str, ...], mode: str = "grad", has_aux: bool = False,
           scalar_params: frozenset[str] = frozenset(),
           array_params: frozenset[tuple[str, int, str]] = frozenset(),
           float_arrays: frozenset[str] = frozenset()) -> dict[str, str]:
    """The text after each stage (``parse``, ``lower``, ``analyze``, ``transform``, ``optimize``) for
    one specialization; ``optimize`` is the ``.source`` of the derivative built for it."""
    shown: dict[str, str] = {}
    _derive(f, mode, wrt, has_aux, scalar_params, array_params, shown, float_arrays)
    return shown


calls.use_builder(build_split, build_jvp)
