"""Running generated derivatives, and composing them.

:func:`run_jvp` pushes tangents through a function's forward derivative; :func:`split_vjp` runs the forward pass
of its reverse derivative once and returns the backward pass as a function. :class:`DerivedFunction` is what the
transformations return: a function that can be differentiated again, or called inside a differentiated function,
through its ``generated_call`` (see ``parse.GeneratedCall``). The generated code of a Jacobian, and of a call of
``jvp`` inside differentiated code, is glue: a small generated function that calls the forward derivative of the
function once per direction. So every composition is generated source, all the way down.
"""
from __future__ import annotations

import copy
import inspect
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from sourcediff.backends.numpy_adjoints import zeros_like
from sourcediff.backends.numpy_backend import refuse_shared_arguments
from sourcediff.rules import registry

from . import arguments, custom, jacobians, parse, pipeline, pytrees, residuals
from .errors import NonScalarOutputError, SourcediffError
from .forward import NotInDirections
from .naming import Namer
from .pipeline import Compiled, build


class DerivedFunction:
    """A function that sourcediff derived. A subclass gives ``user_function`` (the user's function underneath)
    and ``generated_call``: the generated code of one call, which the next transformation differentiates."""

    user_function: Callable

    def generated_call(self, args: tuple, kwargs: dict) -> parse.GeneratedCall:
        raise NotImplementedError

    def jvp(self, args: tuple, keywords: dict, argnums: tuple[int, ...], tangents: tuple, has_aux: bool,
            directions: int = 1) -> tuple:
        """Forward mode through this function's generated code: ``(out, out tangent, aux)``."""
        call = self.generated_call(args, keywords)
        out, out_dot, aux = run_jvp(call.function, call.args, call.kwargs, argnums, tangents, has_aux, directions)
        if directions > 1:
            return call.finish(out), tuple(call.finish(t) for t in out_dot), aux
        return call.finish(out), call.finish(out_dot), aux


# -- forward mode ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class JvpPlan:
    """What a call of ``jvp`` needs for one function, set of argnums and kinds of arguments."""

    compiled: Compiled
    wrt: tuple[str, ...]
    picks: tuple[tuple[int, int | None], ...]
    positional: int                 # the number of named positional parameters
    names: tuple[str | None, ...]   # the parameter of each positional argument (``*args`` for the rest)


_jvp_plans: "weakref.WeakKeyDictionary[Callable, dict[tuple, JvpPlan]]" = weakref.WeakKeyDictionary()
registry.on_change(_jvp_plans.clear)


def jvp_plan(f: Callable, args: tuple, argnums: tuple[int, ...], has_aux: bool, directions: int = 1) -> JvpPlan:
    """The forward derivative of ``f`` specialized on the kinds of ``args`` (cached)."""
    kinds = arguments.kinds(args)
    floats = frozenset(i for i, x in enumerate(args) if type(x) is np.ndarray and x.dtype.kind in "fc")
    key = (argnums, kinds, floats, has_aux, directions)
    plans = _jvp_plans.setdefault(f, {})
    plan = plans.get(key)
    if plan is None:
        params = arguments.positional_parameters(f)
        wrt, picks = arguments.differentiated(f, argnums)
        scalars, arrays = arguments.specialization(tuple(params), kinds)
        float_arrays = frozenset(params[i] for i in floats if i < len(params))
        compiled = build(f, "jvp" if directions == 1 else f"jvp*{directions}", wrt, has_aux, scalars, arrays,
                         float_arrays)
        names = tuple(params) + (arguments.varargs_parameter(f),) * (len(args) - len(params))
        plan = plans[key] = JvpPlan(compiled, wrt, picks, len(params), names)
    return plan


def _tangent_leaf(t: Any) -> Any:
    """A tangent leaf as the derivative reads it: integers become floats."""
    if type(t) is np.ndarray and t.dtype.kind in "biu":
        return t.astype(np.float64)
    if type(t) is int:
        return float(t)
    return t


def _is_plain_pair(x: Any, t: Any) -> bool:
    """A float primal with a float tangent, or a float array with a float array tangent of its shape."""
    if type(x) is float:
        return type(t) is float
    return type(x) is np.ndarray and type(t) is np.ndarray and x.dtype.kind == "f" and t.dtype.kind == "f" \
        and x.shape == t.shape


def zero_tangent(x: Any) -> Any:
    """A zero tangent with the structure of ``x``."""
    return jacobians.unflatten(x, [jacobians.zero(v) for v in jacobians.leaves(x)])


def run_jvp(f: Callable, args: tuple, keywords: dict, argnums: tuple[int, ...], tangents: tuple,
            has_aux: bool, directions: int = 1) -> tuple:
    """``(out, out tangent, aux)`` of ``f`` at ``args``, pushing ``tangents`` (one per argnum) forward; with
    ``directions`` > 1, each tangent is a tuple with one per direction, and so is the output tangent."""
    if isinstance(f, DerivedFunction):
        return f.jvp(args, keywords, argnums, tangents, has_aux, directions)
    f = custom.differentiable(f)
    per_direction = [tangents] if directions == 1 else [tuple(t[d] for t in tangents) for d in range(directions)]
    if not all(_is_plain_pair(args[i], t) for ts in per_direction for i, t in zip(argnums, ts)):
        for ts in per_direction:
            for i, t in zip(argnums, ts):
                arguments.check_argument(f, args[i], i)
                arguments.check_cotangent(t, args[i], what="tangent", of=f"primal {i}")
        per_direction = [tuple(pytrees.map_leaves(_tangent_leaf, t) for t in ts) for ts in per_direction]
        tangents = per_direction[0] if directions == 1 else tuple(zip(*per_direction))
    arguments.refuse_complex(f, args)
    plan = jvp_plan(f, args, argnums, has_aux, directions)
    compiled = plan.compiled
    per_param: list[Any] = []
    for k, param in enumerate(plan.wrt):
        chosen = [(j, inside) for j, (index, inside) in enumerate(plan.picks) if index == k]
        if chosen[0][1] is None:
            per_param.append(tangents[chosen[0][0]])
        elif directions > 1:
            raise NotInDirections()
        else:  # *args: a tuple with a tangent for each extra argument, zero where none is given
            given = {inside: tangents[j] for j, inside in chosen}
            per_param.append(tuple(given[m] if m in given else zero_tangent(args[plan.positional + m])
                                   for m in range(len(args) - plan.positional)))
    run_args = args
    if compiled.mutated:  # f writes into these: run it on copies, and write the tangents into copies
        written = set(compiled.mutated)
        per_param = [copy.deepcopy(t) if p in written else t for p, t in zip(plan.wrt, per_param)]
        run_args = tuple(copy.deepcopy(x) if p in written else x for p, x in zip(plan.names, args))
    try:
        result = compiled.function(*per_param, *run_args, **keywords)
    except ZeroDivisionError as exc:
        raise arguments.undefined_derivative(exc) from None
    except NonScalarOutputError as exc:
        raise arguments.located(exc, compiled) from None
    except SourcediffError as exc:
        if exc.filename is not None:
            raise
        raise arguments.at_generated_line(exc) from None
    inputs = [x for x in args + tuple(t for ts in per_direction for t in ts) if type(x) is np.ndarray]
    if inputs:  # the results must not change when the caller changes an argument or a tangent later
        result = pytrees.map_leaves(lambda v: v.copy() if type(v) is np.ndarray and any(
            np.may_share_memory(v, x) for x in inputs) else v, result)
    if has_aux:
        return result
    out, out_dot = result
    return out, out_dot, None


# -- reverse mode ---------------------------------------------------------------------------------

def split_vjp(f: Callable, primals: tuple, argnums: tuple[int, ...], has_aux: bool,
              keywords: dict[str, Any] | None = None) -> tuple[Any, Callable, Any]:
    """``(out, vjp_fn, aux)``, where ``vjp_fn`` gives the cotangents of the primals at ``argnums``; the forward
    pass runs here, once."""
    if isinstance(f, DerivedFunction):  # through its generated code
        if has_aux:
            raise SourcediffError(f"sourcediff cannot take vjp of {f!r} with has_aux=True yet",
                                  hint="return the auxiliary data from the differentiated function instead")
        call = f.generated_call(primals, dict(keywords or {}))
        raw, raw_vjp, _ = split_vjp(call.function, call.args, argnums, False, call.kwargs)
        return call.finish(raw), lambda cotangent: raw_vjp(call.unfinish(cotangent, raw)), None
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


# -- Jacobians ------------------------------------------------------------------------------------

DIRECTIONS = 16  # directions pushed forward together by jacfwd: the tangent code is written once per direction


class Jacobian(DerivedFunction):
    """The Jacobian function that ``jacfwd`` (``mode="jacfwd"``) and ``jacrev`` return. Differentiated again, or
    called inside a differentiated function, either is the glue that ``jacobian_glue`` writes: forward mode of
    ``f`` along each basis direction (reverse mode gives the same Jacobian, and its glue would have to run ``f``
    once per row)."""

    def __init__(self, f: Callable, argnums: int | Sequence[int], has_aux: bool, mode: str):
        self.fun = f if isinstance(f, DerivedFunction) else custom.differentiable(f)
        self.user_function = f.user_function if isinstance(f, DerivedFunction) else self.fun
        self.single = isinstance(argnums, (int, np.integer))
        self.positions = arguments.normalize_argnums(self.user_function, argnums)
        self.has_aux = has_aux
        self.mode = mode
        self.last: tuple[tuple, dict] | None = None
        name = getattr(self.user_function, "__name__", "f")
        self.__name__ = self.__qualname__ = f"{mode}_of_{name}"
        self.__doc__ = f"Jacobian of {getattr(self.user_function, '__qualname__', name)!r} with respect to " \
                       f"argnums={argnums!r}, by {'forward' if mode == 'jacfwd' else 'reverse'} mode"

    def __repr__(self) -> str:
        return f"<sourcediff {self.mode} of {getattr(self.user_function, '__qualname__', self.user_function)}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.last = (args, kwargs)
        wrt = [args[i] for i in self.positions]
        if self.mode == "jacrev":
            out, vjp_fn, aux = split_vjp(self.fun, args, self.positions, self.has_aux, kwargs)
            jac = jacobians.reverse(out, vjp_fn, wrt, self.single)
        else:
            found: dict[str, Any] = {}
            _, jac = jacobians.forward_many(lambda directions: self._push(directions, args, kwargs, found), wrt,
                                            self.single)
            aux = found["aux"]
        return (jac, aux) if self.has_aux else jac

    def _push(self, directions: list[list], args: tuple, kwargs: dict, found: dict) -> tuple[Any, list]:
        """The output and its tangents for up to 16 directions in one run of the generated code (the primal runs
        once), or one run per direction where the code cannot be written so."""
        pushed: list = []
        for start in range(0, len(directions), DIRECTIONS):
            group = directions[start:start + DIRECTIONS]
            if len(group) > 1:
                try:
                    found["out"], out_dots, found["aux"] = run_jvp(self.fun, args, kwargs, self.positions,
                                                                   tuple(zip(*group)), self.has_aux, len(group))
                    pushed.extend(out_dots)
                    continue
                except NotInDirections:
                    pass
            for tangents in group:
                found["out"], out_dot, found["aux"] = run_jvp(self.fun, args, kwargs, self.positions,
                                                              tuple(tangents), self.has_aux)
                pushed.append(out_dot)
        return found["out"], pushed

    @property
    def source(self) -> str:
        """The generated code of the last call: the glue, then the forward derivative it calls (before any call:
        empty, since the code is specialized on the arguments)."""
        if self.last is None:
            return ""
        call = self.generated_call(*self.last)
        return _glue_sources[call.function] + "\n" + _GLUED[call.function].source

    def generated_call(self, args: tuple, kwargs: dict) -> parse.GeneratedCall:
        if self.has_aux:
            raise SourcediffError(f"sourcediff cannot differentiate {self!r} again: it has has_aux=True",
                                  hint="differentiate a function without auxiliary output")
        args = _bound(self.user_function, args, kwargs, self)
        wrt = [args[i] for i in self.positions]
        inner = self.fun.generated_call(args, {}) if isinstance(self.fun, DerivedFunction) else None
        target, target_args = (inner.function, inner.args) if inner else (self.fun, args)
        plan = jvp_plan(target, target_args, self.positions, False)
        _refuse_writes(self, plan)
        glue = _glue(plan, "jacobian", self.positions, len(target_args))
        single = self.single

        def finish(columns: list) -> Any:
            if not columns:
                raise SourcediffError(f"sourcediff cannot differentiate {self!r} again: its arguments have no "
                                      "elements", hint="differentiate with respect to arguments with elements")
            out = columns[0] if inner is None else inner.finish(columns[0])
            done = [c if inner is None else inner.finish(c) for c in columns]
            return jacobians.forward_many(lambda _: (out, done), wrt, single)[1]

        def unfinish(cotangent: Any, columns: list) -> list:
            out = columns[0] if inner is None else inner.finish(columns[0])
            parts = jacobians.columns_of(cotangent, out, wrt, single)
            return parts if inner is None else [inner.unfinish(c, raw) for c, raw in zip(parts, columns)]

        return parse.GeneratedCall(glue, target_args, {}, finish, unfinish, self.user_function)


def _bound(user: Callable, args: tuple, kwargs: dict, derived: Any) -> tuple:
    """The positional arguments of a call of ``user`` with its defaults filled in; keyword-only arguments and
    ``*args`` are refused (the glue passes positional arguments only)."""
    code = user.__code__
    if code.co_kwonlyargcount or code.co_flags & inspect.CO_VARARGS or code.co_flags & inspect.CO_VARKEYWORDS:
        raise SourcediffError(f"sourcediff cannot differentiate {derived!r} again: {user.__qualname__} takes *args, "
                              "**kwargs or keyword-only parameters", hint="give it positional parameters only")
    try:
        bound = inspect.signature(user).bind(*args, **kwargs)
    except TypeError as exc:
        raise SourcediffError(f"cannot call {user.__qualname__}: {exc}") from None
    bound.apply_defaults()
    return tuple(bound.args)


def _refuse_writes(derived: Any, plan: JvpPlan) -> None:
    if plan.compiled.mutated:
        raise SourcediffError(
            f"sourcediff cannot differentiate {derived!r} again: the function writes into its argument(s) "
            f"{', '.join(plan.compiled.mutated)}", hint="make it work on a copy (u = u.copy()) and return the result")


# -- calls of jvp inside differentiated code -------------------------------------------------------

def jvp_call(args: tuple, kwargs: dict) -> parse.GeneratedCall:
    """``sourcediff.jvp(f, primals, tangents)`` called inside a differentiated function, as glue that calls
    ``f``'s forward derivative: its output ``(out, tangent)`` is differentiated like any other value."""
    if len(args) != 3 or set(kwargs) - {"has_aux"} or kwargs.get("has_aux"):
        raise SourcediffError("sourcediff can differentiate jvp(f, primals, tangents) called inside a "
                              "differentiated function, without has_aux", hint="call it with those three arguments")
    f, primals, tangents = args
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)) \
            or len(primals) != len(tangents):
        raise SourcediffError("jvp needs a tuple of primals and a tuple of tangents of the same length",
                              hint="pass one tangent per primal, with its structure and shapes")
    f = f if isinstance(f, DerivedFunction) else custom.differentiable(f)
    user = f.user_function if isinstance(f, DerivedFunction) else f
    primals = tuple(primals)
    inner = f.generated_call(primals, {}) if isinstance(f, DerivedFunction) else None
    target, target_args = (inner.function, inner.args) if inner else (f, primals)
    if len(target_args) != len(primals):
        raise SourcediffError(f"sourcediff cannot differentiate jvp of {f!r} here: give every argument of "
                              f"{user.__qualname__} as a primal", hint="pass defaults explicitly")
    plan = jvp_plan(target, target_args, tuple(range(len(primals))), False)
    _refuse_writes(f"jvp({user.__qualname__}, ...)", plan)
    glue = _glue(plan, "jvp", tuple(range(len(primals))), len(primals))

    def finish(raw: tuple) -> tuple:
        return raw if inner is None else (inner.finish(raw[0]), inner.finish(raw[1]))

    def unfinish(cotangent: tuple, raw: tuple) -> tuple:
        if inner is None:
            return cotangent
        return inner.unfinish(cotangent[0], raw[0]), inner.unfinish(cotangent[1], raw[1])

    return parse.GeneratedCall(glue, (f, primals, tuple(tangents)), {}, finish, unfinish, user)


# -- the glue -------------------------------------------------------------------------------------

_glues: "weakref.WeakKeyDictionary[Callable, dict[tuple, Callable]]" = weakref.WeakKeyDictionary()
_glue_sources: "weakref.WeakKeyDictionary[Callable, str]" = weakref.WeakKeyDictionary()
_GLUED: "weakref.WeakKeyDictionary[Callable, Compiled]" = weakref.WeakKeyDictionary()


def basis_directions(args: tuple) -> list[tuple]:
    """One direction per element of ``args``: a tuple with a unit tangent for one argument, zeros for the
    others (the directions of ``jacobians.forward_many``, in its order)."""
    found = []
    for a, arg in enumerate(args):
        for _, _, tangent in jacobians.basis(arg):
            found.append(tuple(tangent if b == a else zero_tangent(other) for b, other in enumerate(args)))
    return found


registry.defnondiff(basis_directions, "the unit directions depend on the arguments' shapes only")


def _glue(plan: JvpPlan, kind: str, positions: tuple[int, ...], count: int) -> Callable:
    """The glue of ``kind`` ("jacobian" or "jvp") around ``plan``'s forward derivative (cached)."""
    key = (kind, positions, count)
    made = _glues.setdefault(plan.compiled.function, {})
    if key not in made:
        params = list(plan.names[:count])
        fresh = Namer(set(params)).fresh
        derivative = fresh(plan.compiled.function.__name__)
        base = derivative.removesuffix("_jvp")
        dots = [fresh(f"{params[i]}_dot") for i in positions]
        by_param = {plan.wrt[index]: dots[j] for j, (index, _) in enumerate(plan.picks)}
        call = f"{derivative}({', '.join([by_param[p] for p in plan.wrt] + params)})"
        user = plan.compiled.filename[len("<sourcediff "):-1]
        if kind == "jvp":
            function, primals, tangents = fresh("function"), fresh("primals"), fresh("tangents")
            name = fresh(f"{base}_jvp_call")
            lines = [f"def {name}({function}, {primals}, {tangents}):",
                     f"    {', '.join(params)}, = {primals}",
                     f"    {', '.join(dots)}, = {tangents}",
                     f"    return {call}"]
            bound = {derivative: plan.compiled.function}
        else:
            columns, direction, out, out_dot = fresh("columns"), fresh("direction"), fresh("out"), fresh("out_dot")
            directions = fresh("basis_directions")
            name = fresh(f"{base}_jacobian")
            lines = [f"def {name}({', '.join(params)}):",
                     f"    {columns} = []",
                     f"    for {direction} in {directions}(({', '.join(params[i] for i in positions)},)):",
                     f"        {', '.join(dots)}, = {direction}",
                     f"        {out}, {out_dot} = {call}",
                     f"        {columns}.append({out_dot})",
                     f"    return {columns}"]
            bound = {derivative: plan.compiled.function, directions: basis_directions}
        source = "\n".join(lines) + "\n"
        glue = custom.define(source, name, bound, getattr(plan.compiled.function, "__module__", None),
                             f"{kind} glue of {user}:")
        _glue_sources[glue] = source
        _GLUED[glue] = plan.compiled
        made[key] = glue
    return made[key]
