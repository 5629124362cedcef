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

from sourcediff.rules import registry

from .custom import CustomFunction, CustomJVP, CustomVJP, define
from .errors import SourcediffError
from .naming import Namer
from .parse import GeneratedCall, declare_derived_call, generated_call, is_derived, is_user_function


@dataclass
class SplitPair:
    """The forward and backward halves of one function, for one set of active parameters. A residual holds it
    whole: to pytrees it is a leaf."""

    __pytree_leaf__ = True

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
_builder: list[Callable] = []  # the pipeline's build_split and build_jvp, set when the pipeline is imported


@dataclass
class JvpFunction:
    """The forward-mode derivative of one function for one set of active parameters, for calls from generated
    code: ``f_jvp(*tangents of the active parameters, *args) -> (out, out_tangent)``."""

    function: Callable
    active: tuple[str, ...]
    cell: types.CellType = field(default_factory=types.CellType)
    source: str = ""
    mutated: tuple[str, ...] = ()
    building: bool = True
    recursive: bool = False


_jvps: "weakref.WeakKeyDictionary[Callable, dict[tuple, JvpFunction]]" = weakref.WeakKeyDictionary()


def use_builder(build_split: Callable, build_jvp: Callable | None = None) -> None:
    """Build the halves of pairs with ``build_split``, forward derivatives with ``build_jvp`` (the pipeline's;
    this module imports no stage)."""
    _builder[:] = [build_split, build_jvp]


def forget() -> None:
    """Drop every cached pair and forward derivative (a rule was registered)."""
    with _lock:
        _pairs.clear()
        _jvps.clear()


def jvp_function(function: Callable, active: tuple[str, ...], scalars: frozenset[str] = frozenset(),
                 arrays: frozenset[tuple[str, int, str]] = frozenset()) -> JvpFunction:
    """The cached forward derivative of ``function`` for the active parameters ``active`` (see :func:`split_pair`
    for ``scalars`` and ``arrays``); a recursive call finds the one still being built through its cell."""
    key = (active, scalars, arrays)
    with _lock:
        by_active = _jvps.setdefault(function, {})
        found = by_active.get(key)
        if found is not None:
            found.recursive |= found.building
            return found
        found = by_active[key] = JvpFunction(function, active)
        try:
            compiled, source, mutated = _builder[1](function, active, scalars, arrays)
            if mutated and found.recursive:
                raise SourcediffError(
                    f"sourcediff cannot differentiate {getattr(function, '__qualname__', function)!r} yet: it calls "
                    f"itself and writes into its argument {mutated[0]!r}",
                    hint="write the recursion as a loop, or return a new array instead of writing into the argument")
        except BaseException:
            del by_active[key]
            raise
        found.cell.cell_contents, found.source, found.mutated, found.building = compiled, source, mutated, False
        return found


def call_jvp(function: Callable, positions: tuple, keywords: tuple, tangents: tuple, *args: Any, **kwargs: Any):
    """Run the forward derivative of a function known only at run time (``rhs`` passed to a solver):
    ``tangents`` holds those of the arguments at ``positions``, then of the keywords ``keywords``."""
    if isinstance(function, CustomFunction):
        derived = custom_jvp_function(function, active_parameters(function.fun, len(args), positions, keywords))
        return derived.cell.cell_contents(*tangents, *args, **kwargs)
    if is_derived(function):  # grad(f) called inside differentiated code: forward mode of its generated code
        call = generated_call(function, args, kwargs)
        _refuse_closure(function, call)
        derived = jvp_function(call.function, active_parameters(call.function, len(call.args), positions, keywords))
        if derived.mutated:
            raise SourcediffError(f"{function!r} writes into its argument(s) {', '.join(derived.mutated)}: a call of "
                                  "it inside differentiated code cannot be followed",
                                  hint="differentiate a function that does not write into its arguments")
        raw, raw_dot = derived.cell.cell_contents(*tangents, *call.args, **call.kwargs)
        return call.finish(raw), call.finish(raw_dot)
    _refuse_without_source(function)
    derived = jvp_function(function, active_parameters(function, len(args), positions, keywords))
    _refuse_writes(function, derived.mutated)
    return derived.cell.cell_contents(*tangents, *args, **kwargs)


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


def _refuse_without_source(function: Any) -> None:
    """A function passed as a value is differentiated through its source: refuse one without."""
    if not is_user_function(function):
        raise SourcediffError(
            f"sourcediff cannot differentiate a call to {getattr(function, '__qualname__', function)!r} "
            "passed in as a value: only Python functions with source code can be passed around",
            hint="wrap it in a def (def rhs(t, y): return np.sin(y)) and pass that")


def _refuse_writes(function: Callable, mutated: tuple[str, ...]) -> None:
    """The caller of a function passed as a value cannot follow its writes into its arguments."""
    if mutated:
        raise SourcediffError(
            f"{function.__qualname__}, passed in as a value, writes into its argument(s) "
            f"{', '.join(mutated)}: the caller cannot follow that",
            hint=f"call {function.__qualname__} by its name, or make it return the new array")


def call_forward(function: Callable, positions: tuple, keywords: tuple, *args: Any, **kwargs: Any):
    """Run the forward half of a function known only at run time (``rhs`` passed to a solver)."""
    if isinstance(function, CustomFunction):
        pair = custom_pair(function, active_parameters(function.fun, len(args), positions, keywords))
        out, saved = pair.forward_cell.cell_contents(*args, **kwargs)
        return out, (pair, saved)
    if is_derived(function):
        return _derived_forward(function, positions, keywords, args, kwargs)
    _refuse_without_source(function)
    pair = split_pair(function, active_parameters(function, len(args), positions, keywords))
    _refuse_writes(function, pair.mutated)
    out, saved = pair.forward_cell.cell_contents(*args, **kwargs)
    return out, (pair, saved)


def call_backward(residual, out_bar):
    """Run the backward half that ``call_forward`` chose."""
    if type(residual) is _DerivedResidual:
        pair, saved, call, raw = residual
        return pair.backward_cell.cell_contents(saved, call.unfinish(out_bar, raw))
    pair, saved = residual
    return pair.backward_cell.cell_contents(saved, out_bar)


# -- the runtime's dispatch, differentiated again ---------------------------------------------------
# Generated code differentiated again may call sd.call_forward, sd.call_backward and sd.call_jvp. Each such call
# is a call of a derived function (parse.declare_derived_call): its generated code is glue that calls the halves,
# or the forward derivative, that the dispatch chose for the function it was given.

def _passed_function(function: Any, args: list, kwargs: dict, what: str) -> Any:
    """The function whose derivative the dispatch runs: ``function``, or the glue of a call of the dispatch itself
    (the third level); refuses what the glue does not follow yet: keyword arguments, other derived functions."""
    if kwargs:
        raise SourcediffError(f"sourcediff cannot differentiate {what} of a function passed as a value and called "
                              "with keyword arguments again yet", hint="pass the arguments by position")
    if not is_derived(function):
        return function
    call = generated_call(function, tuple(args), {})
    if call.finish is not _same:
        raise SourcediffError(
            f"sourcediff cannot differentiate this generated code again yet: {what} of {function!r}, a derived "
            "function called inside a differentiated function", hint=_CALLED_ONCE)
    return call.function


_CALLED_ONCE = ("a function that calls a derived function (grad(f)(x), jvp(f, ...)) inside it can be differentiated "
                "once; for more, compose the transformations directly (grad(grad(f)), jacfwd(jacfwd(f)), hessian(f))")


def _dispatch_glue(function: Any, count: int, leading: list[str], **names: Any) -> tuple[_Glue, list[str]]:
    """A glue whose parameters are ``leading`` then one per positional argument (named like the function's)."""
    code = getattr(getattr(function, "fun", function), "__code__", None)
    own = list(code.co_varnames[:code.co_argcount]) if code is not None else []
    arguments = [own[i] if i < len(own) else f"argument{i}" for i in range(count)]
    glue = _Glue(arguments, getattr(function, "__module__", None), "dispatch glue", **names)
    return glue, [glue.fresh(p) for p in leading] + arguments


def _halves(function: Any, count: int, positions: tuple, keywords: tuple) -> SplitPair:
    if isinstance(function, CustomFunction):
        return custom_pair(function, active_parameters(function.fun, count, positions, keywords))
    _refuse_without_source(function)
    pair = split_pair(function, active_parameters(function, count, positions, keywords))
    _refuse_writes(function, pair.mutated)
    return pair


def _forward_dispatch(args: tuple, kwargs: dict) -> GeneratedCall:
    """``sd.call_forward(function, positions, keywords, *args)`` as glue: ``(out, (pair, saved))``."""
    function, positions, keywords, *rest = args
    function = _passed_function(function, rest, kwargs, "the forward half")
    pair = _halves(function, len(rest), positions, keywords)
    name = f"call_forward_of_{getattr(function, '__name__', 'function')}"
    glue, params = _dispatch_glue(function, len(rest), ["function", "positions", "keywords"],
                                  forward=pair.forward_cell.cell_contents, pair=pair)
    out, saved = glue.fresh("out"), glue.fresh("saved")
    glue.lines += [f"def {name}({', '.join(params)}):",
                   f"    {out}, {saved} = {glue['forward']}({', '.join(params[3:])})",
                   f"    return {out}, ({glue['pair']}, {saved})"]
    return GeneratedCall(glue.compile(name), args, {}, _same, _same_cotangent)


def _backward_dispatch(args: tuple, kwargs: dict) -> GeneratedCall:
    """``sd.call_backward(residual, out_bar)`` as glue that calls the backward half ``call_forward`` chose."""
    residual, out_bar = args
    if type(residual) is _DerivedResidual or kwargs:
        raise SourcediffError("sourcediff cannot differentiate this generated code again yet: the backward half of a "
                              "derived function called inside a differentiated function", hint=_CALLED_ONCE)
    pair = residual[0]
    name = f"call_backward_of_{getattr(pair.function, '__name__', 'function')}"
    glue = _Glue([], getattr(pair.function, "__module__", None), "dispatch glue",
                 backward=pair.backward_cell.cell_contents)
    residual_name, out_bar_name, chosen, saved = (glue.fresh(n) for n in ("residual", "out_bar", "pair", "saved"))
    glue.lines += [f"def {name}({residual_name}, {out_bar_name}):",
                   f"    {chosen}, {saved} = {residual_name}",
                   f"    return {glue['backward']}({saved}, {out_bar_name})"]
    return GeneratedCall(glue.compile(name), args, {}, _same, _same_cotangent)


def _jvp_dispatch(args: tuple, kwargs: dict) -> GeneratedCall:
    """``sd.call_jvp(function, positions, keywords, tangents, *args)`` as glue that calls the forward
    derivative it chose."""
    function, positions, keywords, tangents, *rest = args
    function = _passed_function(function, rest, kwargs, "the forward derivative")
    if isinstance(function, CustomFunction):
        derived = custom_jvp_function(function, active_parameters(function.fun, len(rest), positions, keywords))
    else:
        _refuse_without_source(function)
        derived = jvp_function(function, active_parameters(function, len(rest), positions, keywords))
        _refuse_writes(function, derived.mutated)
    name = f"call_jvp_of_{getattr(function, '__name__', 'function')}"
    glue, params = _dispatch_glue(function, len(rest), ["function", "positions", "keywords", "tangents"],
                                  jvp=derived.cell.cell_contents)
    dots = [glue.fresh(f"{params[4 + i]}_dot") for i in positions]
    glue.lines += [f"def {name}({', '.join(params)}):"]
    glue.unpack(dots, params[3])
    glue.lines.append(f"    return {glue['jvp']}({', '.join(dots + params[4:])})")
    return GeneratedCall(glue.compile(name), args, {}, _same, _same_cotangent)


def _same(raw: Any) -> Any:
    return raw


def _same_cotangent(cotangent: Any, raw: Any) -> Any:
    return cotangent


declare_derived_call(call_forward, _forward_dispatch)
declare_derived_call(call_backward, _backward_dispatch)
declare_derived_call(call_jvp, _jvp_dispatch)


# -- functions with the user's own rule (custom_vjp, custom_jvp) ----------------------------------

def custom_pair(custom: CustomFunction, active: tuple[str, ...]) -> SplitPair:
    """The forward/backward pair of a ``custom_vjp`` or ``custom_jvp`` function, from the user's rule.

    The halves have the calling convention of a split pair: ``forward(*args, **kwargs) -> (out, saved)``,
    ``backward(saved, out_bar)`` -> the adjoint of the one active parameter, or a tuple for several.
    """
    key = ("custom", active)
    with _lock:
        by_active = _pairs.setdefault(custom, {})
        pair = by_active.get(key)
        if pair is not None:
            return pair
        positions = _active_positions(custom, active)
        build = _custom_vjp_halves if isinstance(custom, CustomVJP) else _custom_jvp_halves
        forward, backward = build(custom, positions)
        pair = SplitPair(custom, active, building=False)
        pair.forward_cell.cell_contents = forward
        pair.backward_cell.cell_contents = backward
        by_active[key] = pair
        return pair


def _active_positions(custom: CustomFunction, active: tuple[str, ...]) -> list[int]:
    """The positions of the active parameters; refuses one in ``nondiff_argnums``."""
    params = custom.parameters()
    positions = [params.index(p) for p in active]
    for p, i in zip(active, positions):
        if i in custom.nondiff_argnums:
            raise SourcediffError(
                f"argument {p!r} of the {custom.kind} function {custom.__qualname__} is in its nondiff_argnums, "
                "but its value depends on what is differentiated", hint=f"pass a constant as {p!r}, or take "
                f"{i} out of nondiff_argnums and give it a cotangent in the rule")
    return positions


def _differentiable_positions(custom: CustomFunction, count: int) -> list[int]:
    return [i for i in range(count) if i not in custom.nondiff_argnums]


def rule_output(value: Any, count: int, message: str, hint: str) -> int:
    """Refuse what a user's rule returned unless it is a tuple or list of ``count`` items (``message`` says where,
    with ``{got}`` for what it was); gives ``count``. Glue calls it; it carries no derivative."""
    if not isinstance(value, (tuple, list)) or len(value) != count:
        got = f"a {type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
        raise SourcediffError(message.format(got=got), hint=hint)
    return count


def zero_adjoint(value: Any) -> Any:
    """A zero with the structure of ``value`` (a cotangent the rule gave as ``None``); ``None`` where none fits."""
    import numpy as np

    if isinstance(value, (list, tuple)):
        return type(value)(zero_adjoint(v) for v in value) if type(value) in (list, tuple) else None
    if isinstance(value, dict):
        return {k: zero_adjoint(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return np.zeros(value.shape)
    return 0.0 if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) else None


registry.defnondiff(rule_output, "checks the shape of what a user's rule returned")
registry.defnondiff(zero_adjoint, "a zero, where a user's rule gave None")


class _Glue:
    """The text of one glue function (generated code that calls other code: a user's rule, the halves a call of a
    function passed as a value chose), with the names it reads. ``params`` are names it keeps."""

    def __init__(self, params: list[str], module: str | None, what: str, **names: Any):
        self.params, self.module, self.what = params, module, what
        self.fresh = Namer(set(self.params)).fresh
        self.names = {self.fresh(k): v for k, v in names.items()}
        self.named = dict(zip(names, self.names))  # the name each bound object has in the text
        self.lines: list[str] = []

    def __getitem__(self, key: str) -> str:
        return self.named[key]

    def tuple_of(self, items: list[str]) -> str:
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"

    def unpack(self, items: list[str], value: str) -> None:
        if items:
            self.lines.append(f"    {', '.join(items)}, = {value}")

    def check(self, value: str, count: int, message: str, hint: str) -> None:
        self.lines.append(f"    {self.fresh('checked')} = {self['rule_output']}({value}, {count}, {message!r}, "
                          f"{hint!r})")

    def compile(self, name: str, defaults_of: CustomFunction | None = None) -> Callable:
        """The glue as a function; with ``defaults_of``, that custom function's defaults."""
        function = define("\n".join(self.lines) + "\n", name, self.names, self.module, self.what)
        return defaults_of.with_defaults(function) if defaults_of is not None else function


def _custom_glue(custom: CustomFunction, **names: Any) -> _Glue:
    return _Glue(custom.parameters(), getattr(custom.fun, "__module__", None), f"{custom.kind} glue", **names)


def _pick_adjoints(glue: _Glue, custom: CustomFunction, cotangents: str, positions: list[int]) -> None:
    """Glue lines: the rule's cotangents (one per differentiable argument) as the active parameters' adjoints,
    zeros where the rule gave None; then the return."""
    params = glue.params
    differentiable = _differentiable_positions(custom, len(params))
    given = {i: glue.fresh(f"{params[i]}_cotangent") for i in differentiable}
    glue.unpack([given[i] for i in differentiable], cotangents)
    bars = []
    for i in positions:
        bars.append(glue.fresh(f"{params[i]}_bar"))
        glue.lines.append(f"    {bars[-1]} = {glue['zero_adjoint']}({params[i]}) if {given[i]} is None else {given[i]}")
    glue.lines.append(f"    return {bars[0] if len(bars) == 1 else glue.tuple_of(bars)}")


def _cotangents_message(custom: CustomFunction) -> tuple[str, str]:
    count = len(_differentiable_positions(custom, len(custom.parameters())))
    return (f"the rule of the {custom.kind} function {custom.__qualname__} gave {{got}} as cotangents, but it takes "
            f"{count} differentiable argument(s)",
            "return a tuple with one cotangent per argument not in nondiff_argnums (None for a zero)")


def _custom_vjp_halves(custom: CustomVJP, positions: list[int]) -> tuple[Callable, Callable]:
    """Glue that calls the user's ``fwd`` and ``bwd``: ``forward(*args) -> (out, (residuals, values))``, and
    ``backward(saved, out_bar)`` -> the adjoints of the active parameters."""
    if custom.fwd is None or custom.bwd is None:
        raise custom.rule_missing()
    name = custom.base_name()
    forward = _custom_glue(custom, fwd=custom.fwd, rule_output=rule_output)
    params = forward.params
    result, out, residuals = forward.fresh("result"), forward.fresh("out"), forward.fresh("residuals")
    forward.lines += [f"def {name}_fwd({custom.declared()[0]}):",
                      f"    {result} = {forward['fwd']}({', '.join(params)})"]
    forward.check(result, 2, f"the fwd of the custom_vjp function {custom.__qualname__} returned {{got}}, not a pair",
                  "return (output, residuals)")
    forward.lines += [f"    {out}, {residuals} = {result}",
                      f"    return {out}, ({residuals}, {forward.tuple_of(params)})"]
    backward = _custom_glue(custom, bwd=custom.bwd, rule_output=rule_output, zero_adjoint=zero_adjoint)
    saved, out_bar, residuals, values, cotangents = (backward.fresh(n) for n in (
        "saved", "out_bar", "residuals", "values", "cotangents"))
    backward.lines += [f"def {name}_bwd({saved}, {out_bar}):", f"    {residuals}, {values} = {saved}"]
    backward.unpack(params, values)
    nondiff = "".join(f"{params[i]}, " for i in custom.nondiff_argnums)
    backward.lines.append(f"    {cotangents} = {backward['bwd']}({nondiff}{residuals}, {out_bar})")
    backward.check(cotangents, len(_differentiable_positions(custom, len(params))), *_cotangents_message(custom))
    _pick_adjoints(backward, custom, cotangents, positions)
    return forward.compile(f"{name}_fwd", custom), backward.compile(f"{name}_bwd")


def _transposable_rule(custom: CustomJVP) -> Callable:
    if custom.jvp is None:
        raise custom.rule_missing()
    if not is_user_function(custom.jvp):
        raise SourcediffError(f"the jvp rule of {custom.__qualname__} is not a Python function with source "
                              "code, which reverse mode differentiates", hint="define the rule with def")
    return custom.jvp


_JVP_RULE_HINT = "return (output, tangent_output)"


def _custom_jvp_halves(custom: CustomJVP, positions: list[int]) -> tuple[Callable, Callable]:
    """Reverse mode from the user's jvp rule: its tangent output is linear in the tangents, so its transpose is
    the reverse derivative of ``jvp(..., primals, tangents)[1]`` with respect to the tangents, taken at zero
    tangents (any would do). The glue calls the halves of that reverse derivative."""
    rule = _transposable_rule(custom)
    nondiff_count = len(custom.nondiff_argnums)
    pair = split_pair(rule, active_parameters(rule, nondiff_count + 2, [nondiff_count + 1], ()))
    if pair.mutated:
        raise SourcediffError(f"the jvp rule of {custom.__qualname__} writes into its argument(s) "
                              f"{', '.join(pair.mutated)}", hint="make the rule return new values")
    name = custom.base_name()
    forward = _custom_glue(custom, rule_fwd=pair.forward_cell.cell_contents, rule_output=rule_output,
                    zero_adjoint=zero_adjoint)
    params = forward.params
    differentiable = [params[i] for i in _differentiable_positions(custom, len(params))]
    nondiff = "".join(f"{params[i]}, " for i in custom.nondiff_argnums)
    result, rule_saved, out, out_tangent = (forward.fresh(n) for n in ("result", "rule_saved", "out", "out_tangent"))
    zeros = [f"{forward['zero_adjoint']}({p})" for p in differentiable]
    forward.lines += [f"def {name}_fwd({custom.declared()[0]}):",
                      f"    {result}, {rule_saved} = {forward['rule_fwd']}({nondiff}{forward.tuple_of(differentiable)}, "
                      f"{forward.tuple_of(zeros)})"]
    forward.check(result, 2, f"the jvp rule of the custom_jvp function {custom.__qualname__} returned {{got}}, not "
                             "a pair", _JVP_RULE_HINT)
    forward.lines += [f"    {out}, {out_tangent} = {result}",
                      f"    return {out}, ({rule_saved}, {out}, {forward.tuple_of(params)})"]
    backward = _custom_glue(custom, rule_bwd=pair.backward_cell.cell_contents, zero_adjoint=zero_adjoint,
                     rule_output=rule_output)
    saved, out_bar, rule_saved, out, values, tangents_bar = (backward.fresh(n) for n in (
        "saved", "out_bar", "rule_saved", "out", "values", "tangents_bar"))
    backward.lines += [f"def {name}_bwd({saved}, {out_bar}):", f"    {rule_saved}, {out}, {values} = {saved}"]
    backward.unpack(params, values)
    backward.lines.append(f"    {tangents_bar} = {backward['rule_bwd']}({rule_saved}, "
                          f"({backward['zero_adjoint']}({out}), {out_bar}))")
    _pick_adjoints(backward, custom, tangents_bar, positions)
    return forward.compile(f"{name}_fwd", custom), backward.compile(f"{name}_bwd")


def custom_jvp_function(custom: CustomFunction, active: tuple[str, ...]) -> JvpFunction:
    """The forward derivative of a ``custom_jvp`` function: glue that calls the user's rule,
    ``f_jvp(*tangents of the active parameters, *args, **kwargs) -> (out, out_tangent)``."""
    if isinstance(custom, CustomVJP):
        raise SourcediffError(
            f"sourcediff cannot differentiate the custom_vjp function {custom.__qualname__} in forward mode (jvp, "
            "jacfwd, hessian): its rule is reverse-only, as in JAX",
            hint="define it with custom_jvp, whose rule serves both modes, or use grad, vjp and jacrev")
    if custom.jvp is None:
        raise custom.rule_missing()
    params = custom.parameters()
    positions = _active_positions(custom, active)
    key = ("custom jvp", active)
    with _lock:
        by_active = _jvps.setdefault(custom, {})
        if key not in by_active:
            glue = _custom_glue(custom, rule=custom.jvp, rule_output=rule_output, zero_adjoint=zero_adjoint)
            dots = {i: glue.fresh(f"{params[i]}_dot") for i in positions}
            declared = custom.declared()[0]
            result = glue.fresh("result")
            differentiable = _differentiable_positions(custom, len(params))
            tangents = [dots[i] if i in dots else f"{glue['zero_adjoint']}({params[i]})" for i in differentiable]
            nondiff = "".join(f"{params[i]}, " for i in custom.nondiff_argnums)
            name = f"{custom.base_name()}_jvp"
            glue.lines += [f"def {name}({', '.join(dots[i] for i in positions)}{', ' if positions else ''}{declared}):",
                           f"    {result} = {glue['rule']}({nondiff}{glue.tuple_of([params[i] for i in differentiable])}, "
                           f"{glue.tuple_of(tangents)})"]
            glue.check(result, 2, f"the jvp rule of the custom_jvp function {custom.__qualname__} returned {{got}}, "
                                  "not a pair", _JVP_RULE_HINT)
            glue.lines.append(f"    return {result}")
            derived = JvpFunction(custom, active, building=False)
            derived.cell.cell_contents = glue.compile(name, custom)
            by_active[key] = derived
        return by_active[key]


def _refuse_closure(function: Any, call) -> None:
    """A derived function called inside differentiated code: what its user function reads from an enclosing
    function would carry no derivative."""
    user = call.user_function
    if getattr(user, "__closure__", None):
        raise SourcediffError(
            f"sourcediff cannot differentiate a call of {function!r} inside a differentiated function: "
            f"{user.__qualname__} reads variables of an enclosing function, which would carry no derivative",
            hint=f"define {user.__qualname__} at module level and pass those values as arguments")


class _DerivedResidual(tuple):
    """What the backward half of a derived function's call needs: (pair, saved, generated call, raw output)."""

    __slots__ = ()


def _derived_forward(function: Callable, positions: tuple, keywords: tuple, args: tuple, kwargs: dict):
    """``call_forward`` of a derived function (``grad(f)`` called inside differentiated code): the forward half
    of its generated code, specialized on these arguments, and its output finished as the derived function's."""
    call = generated_call(function, args, kwargs)
    _refuse_closure(function, call)
    pair = split_pair(call.function, active_parameters(call.function, len(call.args), positions, keywords))
    if pair.mutated:
        raise SourcediffError(
            f"{function!r} writes into its argument(s) {', '.join(pair.mutated)} (and puts them back): a call of it "
            "inside differentiated code cannot be followed", hint="differentiate a function that does not write "
                                                                 "into its arguments (copy them first)")
    raw, saved = pair.forward_cell.cell_contents(*call.args, **call.kwargs)
    return call.finish(raw), _DerivedResidual((pair, saved, call, raw))
