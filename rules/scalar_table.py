"""The elementwise scalar derivatives, declared once as SymPy expressions.

Each entry gives a primal expression in its parameters and one partial
derivative per parameter. A partial may use the symbol ``ans`` for the primal
result when that is cheaper (``exp`` -> ``ans``, ``tanh`` -> ``1 - ans**2``).
From this table the generator writes ``scalar_templates.py``: plain data with
the reverse templates (``g * partial``) and the partials (for forward mode) in
a ``numpy`` flavour (``np.cos(x)``) and a ``math`` flavour (``math.cos(x)``).
``tests/rules/test_scalar_table.py`` checks every partial against
``sympy.diff`` of its primal and that the checked-in module is up to date.

Regenerate with ``python -m sourcediff.rules.scalar_table`` (or, when the
package cannot be imported, ``python rules/scalar_table.py``).

Only this module and the tests import SymPy; ``import sourcediff`` does not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sympy

X, X1, X2, BASE = sympy.symbols("x x1 x2 base", real=True)
ANS = sympy.Symbol("ans", real=True)
"""Stands for the primal result inside a partial derivative."""

FLAVOURS = ("numpy", "math")


@dataclass(frozen=True)
class Entry:
    """One elementwise function: primal, partials, and its names per flavour.

    ``sample`` is a comfortable interval per parameter inside the domain, used
    by the tests to draw random points; ``assume`` maps a parameter to an
    expression in a positive dummy ``t`` that restricts the symbolic check to
    the real domain (``x -> 1 + t`` for ``acosh``).
    """

    name: str
    params: tuple[sympy.Symbol, ...]
    primal: sympy.Expr
    partials: dict[sympy.Symbol, sympy.Expr]
    numpy: str | None
    math: str | None
    sample: dict[str, tuple[float, float]] = field(default_factory=dict)
    assume: dict[sympy.Symbol, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return ", ".join(p.name for p in self.params)


def _unary(name, primal, partial, numpy=None, math=None, sample=(-2.0, 2.0), assume=None):
    return Entry(name, (X,), primal, {X: partial}, numpy, math, {"x": sample},
                 {X: assume} if assume else {})


_SQRT_PI = sympy.sqrt(sympy.pi)

TABLE: tuple[Entry, ...] = (
    _unary("sin", sympy.sin(X), sympy.cos(X), "sin", "sin"),
    _unary("cos", sympy.cos(X), -sympy.sin(X), "cos", "cos"),
    _unary("tan", sympy.tan(X), 1 + ANS**2, "tan", "tan", sample=(-1.2, 1.2)),
    _unary("arcsin", sympy.asin(X), 1 / sympy.sqrt(1 - X**2), "arcsin", "asin", sample=(-0.9, 0.9)),
    _unary("arccos", sympy.acos(X), -1 / sympy.sqrt(1 - X**2), "arccos", "acos", sample=(-0.9, 0.9)),
    _unary("arctan", sympy.atan(X), 1 / (1 + X**2), "arctan", "atan"),
    Entry("arctan2", (X1, X2), sympy.atan2(X1, X2),
          {X1: X2 / (X1**2 + X2**2), X2: -X1 / (X1**2 + X2**2)}, "arctan2", "atan2",
          {"x1": (-2.0, 2.0), "x2": (0.3, 2.0)}),
    _unary("sinh", sympy.sinh(X), sympy.cosh(X), "sinh", "sinh"),
    _unary("cosh", sympy.cosh(X), sympy.sinh(X), "cosh", "cosh"),
    _unary("tanh", sympy.tanh(X), 1 - ANS**2, "tanh", "tanh"),
    _unary("arcsinh", sympy.asinh(X), 1 / sympy.sqrt(1 + X**2), "arcsinh", "asinh"),
    _unary("arccosh", sympy.acosh(X), 1 / sympy.sqrt(X**2 - 1), "arccosh", "acosh",
           sample=(1.2, 3.0), assume="1 + t"),
    _unary("arctanh", sympy.atanh(X), 1 / (1 - X**2), "arctanh", "atanh", sample=(-0.9, 0.9)),
    _unary("exp", sympy.exp(X), ANS, "exp", "exp"),
    _unary("exp2", 2**X, ANS * sympy.log(2), "exp2", "exp2"),
    _unary("expm1", sympy.exp(X) - 1, 1 + ANS, "expm1", "expm1"),
    _unary("log", sympy.log(X), 1 / X, "log", "log", sample=(0.3, 3.0), assume="t"),
    Entry("log_base", (X, BASE), sympy.log(X) / sympy.log(BASE),
          {X: 1 / (X * sympy.log(BASE)), BASE: -ANS / (BASE * sympy.log(BASE))}, None, None,
          {"x": (0.3, 3.0), "base": (1.5, 4.0)}, {X: "t", BASE: "t"}),
    _unary("log1p", sympy.log(1 + X), 1 / (1 + X), "log1p", "log1p", sample=(-0.5, 2.0),
           assume="t - 1"),
    _unary("log2", sympy.log(X) / sympy.log(2), 1 / (X * sympy.log(2)), "log2", "log2",
           sample=(0.3, 3.0), assume="t"),
    _unary("log10", sympy.log(X) / sympy.log(10), 1 / (X * sympy.log(10)), "log10", "log10",
           sample=(0.3, 3.0), assume="t"),
    _unary("sqrt", sympy.sqrt(X), 1 / (2 * ANS), "sqrt", "sqrt", sample=(0.3, 3.0), assume="t"),
    _unary("cbrt", sympy.cbrt(X), 1 / (3 * ANS**2), "cbrt", "cbrt", sample=(0.3, 3.0), assume="t"),
    _unary("square", X**2, 2 * X, "square", None),
    _unary("reciprocal", 1 / X, -ANS**2, "reciprocal", None, sample=(0.3, 3.0)),
    Entry("power", (X1, X2), X1**X2, {X1: X2 * X1 ** (X2 - 1), X2: ANS * sympy.log(X1)},
          "power", "pow", {"x1": (0.3, 2.0), "x2": (-2.0, 2.0)}, {X1: "t"}),
    Entry("hypot", (X1, X2), sympy.sqrt(X1**2 + X2**2), {X1: X1 / ANS, X2: X2 / ANS},
          "hypot", "hypot"),
    _unary("negative", -X, sympy.Integer(-1), "negative", None),
    Entry("logaddexp", (X1, X2), sympy.log(sympy.exp(X1) + sympy.exp(X2)),
          {X1: sympy.exp(X1 - ANS), X2: sympy.exp(X2 - ANS)}, "logaddexp", None),
    Entry("logaddexp2", (X1, X2), sympy.log(2**X1 + 2**X2) / sympy.log(2),
          {X1: 2 ** (X1 - ANS), X2: 2 ** (X2 - ANS)}, "logaddexp2", None),
    _unary("degrees", X * 180 / sympy.pi, 180 / sympy.pi, "degrees", "degrees"),
    _unary("rad2deg", X * 180 / sympy.pi, 180 / sympy.pi, "rad2deg", None),
    _unary("radians", X * sympy.pi / 180, sympy.pi / 180, "radians", "radians"),
    _unary("deg2rad", X * sympy.pi / 180, sympy.pi / 180, "deg2rad", None),
    _unary("erf", sympy.erf(X), 2 * sympy.exp(-X**2) / _SQRT_PI, None, "erf"),
    _unary("erfc", sympy.erfc(X), -2 * sympy.exp(-X**2) / _SQRT_PI, None, "erfc"),
)
"""Every elementwise scalar function with its partials.

``math.log`` takes an optional base: ``math_module.py`` combines the ``log``
and ``log_base`` entries into one rule. ``erf`` and
``erfc`` have no ``numpy`` flavour because NumPy has no such ufunc.
"""


# --- printing SymPy expressions as template text ---------------------------------

_FUNCTION_NAMES = {
    sympy.sin: ("sin", "sin"), sympy.cos: ("cos", "cos"), sympy.tan: ("tan", "tan"),
    sympy.asin: ("arcsin", "asin"), sympy.acos: ("arccos", "acos"), sympy.atan: ("arctan", "atan"),
    sympy.atan2: ("arctan2", "atan2"), sympy.sinh: ("sinh", "sinh"), sympy.cosh: ("cosh", "cosh"),
    sympy.tanh: ("tanh", "tanh"), sympy.exp: ("exp", "exp"), sympy.log: ("log", "log"),
    sympy.erf: (None, "erf"), sympy.erfc: (None, "erfc"),
}
_MODULE = {"numpy": "np", "math": "math"}

# Python precedence levels, lowest first.
_ADD, _MUL, _NEG, _POW, _ATOM = range(5)


def _wrap(printed: tuple[str, int], level: int) -> str:
    text, prec = printed
    return f"({text})" if prec < level else text


def _split_fraction(expr: sympy.Expr) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    """Factors of a product, split into numerator and denominator (negative powers)."""
    numerator, denominator = [], []
    factors = sorted(expr.as_ordered_factors(), key=lambda f: 0 if f.is_Number else 1 if f.is_Symbol else 2)
    for factor in factors:
        if factor.is_Rational and not factor.is_Integer:
            if factor.p != 1:
                numerator.append(sympy.Integer(factor.p))
            denominator.append(sympy.Integer(factor.q))
        elif factor.is_Pow and factor.exp.is_number and factor.exp.is_negative:
            denominator.append(factor.base ** -factor.exp)
        elif factor != 1:
            numerator.append(factor)
    return numerator, denominator


def _negated(expr: sympy.Expr) -> bool:
    """Whether ``expr`` is a product with a negative coefficient, or a negative number."""
    return (expr.is_Number and expr.is_negative) or (expr.is_Mul and expr.as_coeff_Mul()[0].is_negative)


def _product(factors: list[sympy.Expr], flavour: str) -> tuple[str, int]:
    if len(factors) == 1:
        return _print(factors[0], flavour)
    return " * ".join(_wrap(_print(f, flavour), _MUL + 1) for f in factors), _MUL


def _print(expr: sympy.Expr, flavour: str) -> tuple[str, int]:
    """``expr`` as Python text for ``flavour``, with its precedence level.

    Subexpressions without free symbols (``log(2)``, ``sqrt(pi)``) always use
    ``math``, so they stay Python floats and do not change an array's dtype.
    """
    if flavour != "math" and expr.is_number and not expr.is_Rational:
        return _print(expr, "math")
    if expr.is_Symbol:
        return expr.name, _ATOM
    if expr is sympy.pi:
        return "math.pi", _ATOM
    if expr is sympy.E:
        return "math.e", _ATOM
    if expr.is_Integer:
        return str(int(expr)), (_ATOM if expr >= 0 else _NEG)
    if expr.is_Rational:
        return f"{expr.p} / {expr.q}", _MUL
    if expr.is_Float:
        return repr(float(expr)), _ATOM
    if expr.is_Add:
        return _print_sum(expr, flavour)
    if expr.is_Mul:
        if _negated(expr):  # -a * b == -(a * b) exactly in floating point
            return "-" + _wrap(_print(-expr, flavour), _MUL), _MUL
        numerator, denominator = _split_fraction(expr)
        top = _product(numerator or [sympy.Integer(1)], flavour)
        if not denominator:
            return top
        bottom = _product(denominator, flavour)
        return f"{_wrap(top, _MUL)} / {_wrap(bottom, _MUL + 1)}", _MUL
    if expr.is_Pow:
        base, exponent = expr.args
        if exponent == sympy.Rational(1, 2):
            return f"{_MODULE[flavour]}.sqrt({_print(base, flavour)[0]})", _ATOM
        if exponent.is_number and exponent.is_negative:
            return f"1 / {_wrap(_print(base ** -exponent, flavour), _MUL + 1)}", _MUL
        return f"{_wrap(_print(base, flavour), _POW + 1)}**{_wrap(_print(exponent, flavour), _ATOM)}", _POW
    if expr.func in _FUNCTION_NAMES:
        name = _FUNCTION_NAMES[expr.func][FLAVOURS.index(flavour)]
        if name is None:
            raise ValueError(f"{expr.func} has no {flavour} flavour")
        args = ", ".join(_print(a, flavour)[0] for a in expr.args)
        return f"{_MODULE[flavour]}.{name}({args})", _ATOM
    raise ValueError(f"cannot print {expr!r} as a template")


def _print_sum(expr: sympy.Expr, flavour: str) -> tuple[str, int]:
    terms = list(expr.as_ordered_terms())
    constants = [t for t in terms if t.is_number and t.is_positive]
    if constants:  # "1 + x**2", "1 - ans**2" rather than "x**2 + 1"
        terms = constants + [t for t in terms if t not in constants]
    text = _wrap(_print(terms[0], flavour), _ADD)
    for term in terms[1:]:
        if _negated(term):
            text += " - " + _wrap(_print(-term, flavour), _MUL)
        else:
            text += " + " + _wrap(_print(term, flavour), _MUL)
    return text, _ADD


def partial_text(partial: sympy.Expr, flavour: str) -> str:
    """A partial derivative as template text."""
    return _print(partial, flavour)[0]


def adjoint_text(partial: sympy.Expr, flavour: str) -> str:
    """The reverse template ``g * partial``, written the way a person would."""
    if _negated(partial):
        return "-" + adjoint_text(-partial, flavour)
    numerator, denominator = _split_fraction(sympy.Mul(partial, evaluate=True))
    text = "g" + "".join(" * " + _wrap(_print(f, flavour), _MUL + 1) for f in numerator)
    if denominator:
        text += " / " + _wrap(_product(denominator, flavour), _MUL + 1)
    return text


# --- the generated module ------------------------------------------------------------

_HEADER = '''\
"""Reverse templates and partials of the elementwise scalar functions.

GENERATED by ``python -m sourcediff.rules.scalar_table`` from the SymPy table in
``scalar_table.py``; do not edit by hand. Plain data, so importing it is cheap.

TEMPLATES maps a table name to:
  params    the parameter spec, as in a ``def``
  numpy     the NumPy attribute name, or None
  math      the ``math`` attribute name, or None
  sample    {param: (low, high)}: an interval inside the domain, for tests
  partials  {flavour: {param: partial derivative}}; ``ans`` is the primal result
  adjoints  {flavour: {param: reverse template}}; ``g`` is the result's adjoint
"""

'''


def _flavours(entry: Entry) -> list[str]:
    flavours = [f for f in FLAVOURS if getattr(entry, f) is not None]
    return flavours or ["math"]


def render() -> str:
    """The source text of ``scalar_templates.py``; deterministic."""
    lines = [_HEADER, "TEMPLATES = {"]
    for entry in TABLE:
        lines.append(f"    {entry.name!r}: {{")
        lines.append(f"        'params': {entry.spec!r},")
        lines.append(f"        'numpy': {entry.numpy!r},")
        lines.append(f"        'math': {entry.math!r},")
        sample = ", ".join(f"{p!r}: {tuple(map(float, entry.sample.get(p, (-2.0, 2.0))))!r}"
                           for p in (s.name for s in entry.params))
        lines.append(f"        'sample': {{{sample}}},")
        for key, printer in (("partials", partial_text), ("adjoints", adjoint_text)):
            lines.append(f"        {key!r}: {{")
            for flavour in _flavours(entry):
                body = ", ".join(f"{p.name!r}: {printer(entry.partials[p], flavour)!r}"
                                 for p in entry.params)
                lines.append(f"            {flavour!r}: {{{body}}},")
            lines.append("        },")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


TEMPLATES_PATH = Path(__file__).with_name("scalar_templates.py")


def write(path: Path = TEMPLATES_PATH) -> bool:
    """Write ``scalar_templates.py``; return whether it changed."""
    text = render()
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


if __name__ == "__main__":
    changed = write()
    print(f"{TEMPLATES_PATH}: {'written' if changed else 'already up to date'}")
