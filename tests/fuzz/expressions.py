"""Expressions of a known kind (a float, a 1-d array of length n) built from the names in scope.

The elementwise functions come from sourcediff's rule registry: a table of
domain-safe templates (``np.log(1.0 + {x} * {x})``) is kept to the functions
that have a rule, so every leaf is differentiable and smooth on any input.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np

from . import registry_leaves
from .context import Context
from .scope import FLOAT, vec


@dataclass(frozen=True)
class Leaf:
    """A differentiable function call template: ``{x}`` (and ``{y}``) are the operands.

    ``primal`` is the dotted name of the function the rule is looked up for;
    ``scalar_only`` marks ``math`` functions and builtins that take numbers only.
    """

    primal: str
    template: str
    scalar_only: bool = False

    @property
    def arity(self) -> int:
        return 2 if "{y}" in self.template else 1


_NUMPY_UNARY = [
    ("np.sin", "np.sin({x})"), ("np.cos", "np.cos({x})"), ("np.tanh", "np.tanh({x})"),
    ("np.arctan", "np.arctan({x})"), ("np.arcsinh", "np.arcsinh({x})"),
    ("np.exp", "np.exp(0.5 * np.sin({x}))"), ("np.sinh", "np.sinh(np.tanh({x}))"),
    ("np.cosh", "np.cosh(np.tanh({x}))"), ("np.tan", "np.tan(0.5 * np.tanh({x}))"),
    ("np.expm1", "np.expm1(np.tanh({x}))"), ("np.exp2", "np.exp2(np.tanh({x}))"),
    ("np.log", "np.log(1.0 + {x} * {x})"), ("np.log2", "np.log2(1.0 + {x} * {x})"),
    ("np.log10", "np.log10(1.0 + {x} * {x})"), ("np.log1p", "np.log1p({x} * {x})"),
    ("np.sqrt", "np.sqrt(1.0 + {x} * {x})"), ("np.cbrt", "np.cbrt(1.0 + {x} * {x})"),
    ("np.reciprocal", "np.reciprocal(1.0 + {x} * {x})"), ("np.arcsin", "np.arcsin(0.5 * np.tanh({x}))"),
    ("np.arccos", "np.arccos(0.5 * np.tanh({x}))"), ("np.arctanh", "np.arctanh(0.5 * np.tanh({x}))"),
    ("np.arccosh", "np.arccosh(1.5 + {x} * {x})"), ("np.square", "np.square({x})"),
    ("np.negative", "np.negative({x})"), ("np.positive", "np.positive({x})"),
    ("operator.pow", "(1.0 + {x} * {x}) ** -0.5"), ("operator.pow", "{x} ** 3"), ("operator.neg", "-{x}"),
]
_MATH_UNARY = [
    ("math.sin", "math.sin({x})"), ("math.cos", "math.cos({x})"), ("math.tanh", "math.tanh({x})"),
    ("math.atan", "math.atan({x})"), ("math.asinh", "math.asinh({x})"), ("math.erf", "math.erf({x})"),
    ("math.erfc", "math.erfc({x})"), ("math.exp", "math.exp(0.5 * math.sin({x}))"),
    ("math.sinh", "math.sinh(math.tanh({x}))"), ("math.cosh", "math.cosh(math.tanh({x}))"),
    ("math.expm1", "math.expm1(math.tanh({x}))"), ("math.exp2", "math.exp2(math.tanh({x}))"),
    ("math.log", "math.log(1.0 + {x} * {x})"), ("math.log2", "math.log2(1.0 + {x} * {x})"),
    ("math.log10", "math.log10(1.0 + {x} * {x})"), ("math.log1p", "math.log1p({x} * {x})"),
    ("math.sqrt", "math.sqrt(1.0 + {x} * {x})"), ("math.cbrt", "math.cbrt(1.0 + {x} * {x})"),
    ("math.asin", "math.asin(0.5 * math.tanh({x}))"), ("math.acos", "math.acos(0.5 * math.tanh({x}))"),
    ("math.atanh", "math.atanh(0.5 * math.tanh({x}))"), ("math.acosh", "math.acosh(1.5 + {x} * {x})"),
    ("math.tan", "math.tan(0.5 * math.tanh({x}))"), ("float", "float({x})"),
]
_NUMPY_BINARY = [
    ("operator.add", "{x} + {y}"), ("operator.sub", "{x} - {y}"), ("operator.mul", "{x} * {y}"),
    ("operator.truediv", "{x} / (1.0 + {y} * {y})"), ("operator.pow", "{x} ** 2 * {y}"),
    ("np.hypot", "np.hypot({x}, {y})"), ("np.arctan2", "np.arctan2({x}, 1.0 + {y} * {y})"),
    ("np.power", "np.power(1.0 + {x} * {x}, 0.5 * np.sin({y}))"), ("np.maximum", "np.maximum({x}, {y})"),
    ("np.minimum", "np.minimum({x}, {y})"), ("np.fmax", "np.fmax({x}, {y})"), ("np.fmin", "np.fmin({x}, {y})"),
    ("np.add", "np.add({x}, {y})"), ("np.subtract", "np.subtract({x}, {y})"),
    ("np.multiply", "np.multiply({x}, {y})"), ("np.divide", "np.divide({x}, 2.0 + np.sin({y}))"),
]
_MATH_BINARY = [
    ("math.hypot", "math.hypot({x}, {y})"), ("math.atan2", "math.atan2({x}, 1.0 + {y} * {y})"),
    ("math.pow", "math.pow(1.0 + {x} * {x}, 1.5)"), ("max", "max({x}, {y})"), ("min", "min({x}, {y})"),
]


def _resolve(dotted: str):
    namespace = {"np": np, "math": math, "operator": operator}
    try:
        return eval(dotted, namespace, {})  # noqa: S307 - a fixed table of names
    except (AttributeError, NameError):
        return None


def _has_rule(dotted: str) -> bool:
    from sourcediff.rules import registry

    primal = _resolve(dotted)
    return primal is not None and registry.lookup(primal) is not None


def _table(entries: list[tuple[str, str]], scalar_only: bool) -> list[Leaf]:
    return [Leaf(name, template, scalar_only) for name, template in entries if _has_rule(name)]


REGISTRY_WEIGHT = 0.25
"""The weight of a call to any rule of the registry (``registry_leaves.py``) among a float's forms."""

UNARY = _table(_NUMPY_UNARY, False) + _table(_MATH_UNARY, True)
BINARY = _table(_NUMPY_BINARY, False) + _table(_MATH_BINARY, True)
UNARY_ARRAY = [leaf for leaf in UNARY if not leaf.scalar_only]
BINARY_ARRAY = [leaf for leaf in BINARY if not leaf.scalar_only]


def fill(leaf: Leaf, x: str, y: str = "") -> str:
    return leaf.template.format(x=x, y=y)


class Exprs:
    """Random expressions over the names in ``ctx.scope``; ``depth`` bounds the nesting."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- floats ---------------------------------------------------------------------------------

    def scalar(self, depth: int = 2) -> str:
        """A float-valued expression."""
        c = self.ctx
        if depth <= 0 or c.chance(0.3):
            return self.scalar_leaf()
        kind = c.weighted([(3, "unary"), (4, "binary"), (2.5, "reduce"), (0.4, "ifexp"), (0.3, "special"),
                           (REGISTRY_WEIGHT, "registry")])
        if kind == "registry":
            text = registry_leaves.inline(c, self, depth - 1)
            if text is not None:
                return text
            kind = "reduce"
        if kind == "unary":
            leaf = c.choice(UNARY)
            c.feature("rule:" + leaf.primal)
            if leaf.primal.startswith("math."):
                c.feature("math_func")
            return fill(leaf, self.atom(self.scalar(depth - 1)))
        if kind == "binary":
            leaf = c.choice(BINARY)
            c.feature("rule:" + leaf.primal)
            if leaf.template == f"{leaf.primal}({{x}}, {{y}})" and leaf.primal.startswith("np.") and c.chance(0.1):
                # NumPy functions of lists: elementwise, not the lists' own operators (np.maximum([a, b], [c, d]))
                c.feature("list_operands")
                items = [self.atom(self.scalar(depth - 1)) for _ in range(4)]
                pair = fill(leaf, f"[{items[0]}, {items[1]}]", f"[{items[2]}, {items[3]}]")
                return f"np.sum({pair} * np.array([1.0, 2.5]))"
            return "(" + fill(leaf, self.atom(self.scalar(depth - 1)), self.atom(self.scalar(depth - 1))) + ")"
        if kind == "reduce":
            lengths = c.scope.lengths()
            return self.reduce(c.choice(lengths) if lengths and c.chance(0.8) else c.rng.randint(2, 4), depth - 1)
        if kind == "ifexp":
            c.feature("ifexp")
            return f"({self.scalar(depth - 1)} if {self.condition()} else {self.scalar(depth - 1)})"
        return self.special_scalar()

    def scalar_leaf(self) -> str:
        """A float name, a container's float part, an array element, or a constant."""
        c = self.ctx
        names = c.scope.readers(FLOAT)
        arrays = c.scope.arrays(ndim=1) + c.scope.arrays(ndim=2)
        r = c.rng.random()
        if names and r < 0.5:
            return c.choice(names)
        if arrays and r < 0.85:
            a = c.choice(arrays)
            index = ", ".join(str(c.rng.randrange(-s, s)) for s in a.kind.shape)
            return f"{a.name}[{index}]"
        lists = [v for v in c.scope.vars.values() if v.kind.tag == "floatlist"]
        if lists and c.chance(0.5):
            lst = c.choice(lists)
            return f"{lst.name}[{c.rng.randrange(lst.kind.shape[0])}]"
        if names:
            return c.choice(names)
        return c.number(0.25, 1.25) if c.chance(0.8) else c.choice(["-0.5", "(-0.5) ** 2", "-1.25"])

    def reduce(self, n: int, depth: int) -> str:
        """A float made from arrays of length ``n`` (or from a matrix in scope)."""
        c = self.ctx
        v = self.vector(n, depth)
        matrices = c.scope.arrays(ndim=2)
        choice = c.weighted([(4, "sum"), (1.5, "mean"), (0.6, "max"), (0.6, "min"), (0.6, "prod"),
                             (1.5, "dot"), (0.8, "matmul"), (0.8, "norm"), (0.6, "std"), (0.6, "var"),
                             (0.6, "einsum"), (0.7, "builtin_sum"), (1.5 if matrices else 0, "matrix")])
        if choice in ("sum", "mean", "max", "min", "prod"):
            return f"np.{choice}({v})"
        if choice in ("std", "var"):
            c.feature("std_var")
            if c.chance(0.2):
                c.feature("std_zero")
                return f"np.{choice}({self.atom(v)} - {self.atom(v)})"
            return f"np.{choice}({v})"
        if choice == "dot":
            return f"np.dot({v}, {self.vector(n, depth)})"
        if choice == "matmul":
            return f"({self.atom(v)} @ {self.atom(self.vector(n, depth))})"
        if choice == "norm":
            c.feature("norm")
            return f"np.linalg.norm({v})"
        if choice == "einsum":
            c.feature("einsum")
            return f"np.einsum('i,i->', {v}, {self.vector(n, depth)})"
        if choice == "builtin_sum":
            return f"sum({v})"
        return self.matrix_reduce()

    def matrix_reduce(self) -> str:
        c = self.ctx
        m = c.choice(c.scope.arrays(ndim=2))
        rows, cols = m.kind.shape
        choice = c.weighted([(2, "sum"), (1, "element"), (1, "matvec"), (1 if rows == cols else 0, "trace"),
                             (0.8, "einsum"), (0.8, "std_axis")])
        if choice == "sum":
            return f"np.sum({m.name} * {m.name})"
        if choice == "element":
            return f"{m.name}[{c.rng.randrange(rows)}, {c.rng.randrange(-cols, cols)}]"
        if choice == "matvec":
            return f"np.sum({m.name} @ {self.vector(cols, 1)})"
        if choice == "trace":
            return f"np.trace({m.name})"
        if choice == "einsum":
            c.feature("einsum")
            return f"np.einsum('ij,ij->', {m.name}, {m.name})"
        c.feature("std_var", "std_len1_axis")
        return f"np.sum(np.std({m.name}[:, :1], axis=1) + np.var({m.name}, axis=0).sum())"

    def special_scalar(self) -> str:
        c = self.ctx
        x = self.atom(self.scalar_leaf())
        choice = c.choice(["negpow", "fabs", "abs_sq"])
        if choice == "negpow":
            c.feature("neg_const_power")
            return f"({x} * (-0.5) ** 2)"
        if choice == "fabs":
            c.feature("math_fabs")
            arrays = c.scope.arrays(ndim=1)
            return f"math.fabs({arrays[0].name}[0])" if arrays and c.chance(0.5) else f"math.fabs({x})"
        return f"abs({x} - 2.5)"

    # -- arrays ---------------------------------------------------------------------------------

    def vector(self, n: int, depth: int = 2) -> str:
        """A 1-d float array of length ``n``."""
        c = self.ctx
        if depth <= 0 or c.chance(0.3):
            return self.vector_leaf(n)
        kind = c.weighted([(3, "unary"), (4, "binary"), (1, "where"), (0.6, "clip"), (0.6, "reverse"),
                           (1.2, "concat" if n >= 2 else "unary"), (1, "matrix"), (0.15, "sort"), (0.8, "cumulative"),
                           (0.8, "rearranged")])
        if kind == "unary":
            leaf = c.choice(UNARY_ARRAY)
            c.feature("rule:" + leaf.primal)
            return fill(leaf, self.atom(self.vector(n, depth - 1)))
        if kind == "binary":
            leaf = c.choice(BINARY_ARRAY)
            c.feature("rule:" + leaf.primal)
            left, right = self.vector(n, depth - 1), self.vector(n, depth - 1)
            if c.chance(0.35):
                left = self.scalar(depth - 1)
            elif c.chance(0.35):
                right = self.scalar(depth - 1)
            return "(" + fill(leaf, self.atom(left), self.atom(right)) + ")"
        if kind == "where":
            v = self.atom(self.vector(n, depth - 1))
            condition = f"{v} > 1.0"
            if c.chance(0.3):  # a mask combined with bitwise operators, which carry no derivative
                c.feature("bitwise mask")
                condition = c.choice([f"({v} > 0.5) & ({v} < 1.5)", f"({v} < 0.5) | ({v} > 1.5)",
                                      f"~({v} > 1.0)", f"({v} > 1.0) ^ ({v} > 1.2)"])
            return f"np.where({condition}, {v}, {self.atom(self.vector(n, depth - 1))})"
        if kind == "clip":
            return f"np.clip({self.vector(n, depth - 1)}, 0.3, 1.7)"
        if kind == "reverse":
            return f"{self.atom(self.vector_leaf(n))}[::-1]"
        if kind == "sort":
            c.feature("sort")
            return f"np.sort({self.vector(n, depth - 1)})"
        if kind == "concat":
            return self.concatenation(n, depth - 1)
        if kind == "cumulative":
            return self.cumulative(n, depth - 1)
        if kind == "rearranged":
            return self.rearranged(n, depth - 1)
        return self.from_matrix(n, depth - 1)

    def cumulative(self, n: int, depth: int) -> str:
        """A length-``n`` array from cumsum, cumprod, diff, repeat, tile or kron."""
        c = self.ctx
        choices = [(2, "cumsum"), (1, "cumprod"), (1.5, "diff")]
        if n % 2 == 0:
            choices += [(1, "repeat"), (1, "tile"), (0.7, "kron")]
        kind = c.weighted(choices)
        c.feature("shape_functions", "rule:np." + kind)
        if kind == "cumsum":
            return f"np.cumsum({self.vector(n, depth)})"
        if kind == "cumprod":  # factors near 1, so that products stay moderate
            return f"np.cumprod(np.clip({self.vector(n, depth)}, 0.5, 1.5))"
        if kind == "diff":
            return f"np.diff({self.vector(n + 1, depth)})"
        half = self.vector(n // 2, depth)
        if kind == "repeat":
            return f"np.repeat({half}, 2)"
        if kind == "tile":
            return f"np.tile({half}, 2)"
        return f"np.kron({self.vector(2, depth)}, {self.vector(n // 2, depth)})"

    def rearranged(self, n: int, depth: int) -> str:
        """A length-``n`` array from roll, flip, pad, split halves joined the other way round, or by rot90,
        triu/tril or tensordot from a matrix in scope (or an outer product made here)."""
        c = self.ctx
        choices = [(2, "roll"), (1.5, "flip")]
        if n >= 3:
            choices.append((1.5, "pad"))
        if n % 2 == 0:
            choices.append((1.5, "split"))
        matrices = [m for m in c.scope.arrays(ndim=2) if n in m.kind.shape]
        choices += [(1, "rot90"), (1.5, "triangle"), (1, "tensordot")]
        kind = c.weighted(choices)
        if kind == "triangle":
            kind = c.choice(["triu", "tril"])
        c.feature("rearranging_functions", "rule:np." + kind)
        if kind in ("flip", "rot90", "split"):
            c.feature("view_functions")  # views of their argument
        if kind == "roll":
            return f"np.roll({self.vector(n, depth)}, {c.rng.choice([-2, -1, 1, 3])})"
        if kind == "flip":
            return f"np.flip({self.vector(n, depth)})"
        if kind == "pad":
            mode = c.choice(["constant", "edge", "reflect", "wrap"])
            return f"np.pad({self.vector(n - 2, depth)}, 1, {mode!r})"
        if kind == "split":
            v = self.vector(n, depth)
            return f"np.concatenate([np.split({v}, 2)[1], np.split({v}, 2)[0]])"
        if not matrices:  # an n x 3 matrix made here, as an outer product
            cols = 3
            name = f"np.outer({self.vector(n, depth)}, {self.vector(cols, depth)})"
        else:
            m = c.choice(matrices)
            name = m.name
            rows, cols = m.kind.shape
        if matrices and rows != n:  # a row's length: the matrix read along its rows
            if kind == "rot90":  # turned half a turn: its rows are the matrix's, reversed
                return f"np.rot90({name}, 2)[{c.rng.randrange(rows)}]"
            if kind in ("triu", "tril"):
                return f"({self.atom(self.vector(rows, depth))} @ np.{kind}({name}, {c.rng.choice([-1, 0, 1])}))"
            return f"np.tensordot({self.vector(rows, depth)}, {name}, 1)"
        if kind == "rot90":  # its rows are the matrix's columns, read from the last one
            return f"np.rot90({name}, -1)[{c.rng.randrange(cols)}]"
        if kind in ("triu", "tril"):
            return f"(np.{kind}({name}, {c.rng.choice([-1, 0, 1])}) @ {self.atom(self.vector(cols, depth))})"
        return f"np.tensordot({name}, {self.vector(cols, depth)}, 1)"

    def vector_leaf(self, n: int) -> str:
        """An array of length ``n`` in scope, a part of a container, a slice of a longer one, or a constant."""
        c = self.ctx
        exact = c.scope.readers(vec(n))
        longer = [v for v in c.scope.arrays(ndim=1) if v.kind.shape[0] > n]
        r = c.rng.random()
        if exact and r < 0.7:
            return c.choice(exact)
        if longer and r < 0.85:
            v = c.choice(longer)
            m = v.kind.shape[0]
            start = c.rng.randint(0, m - n)
            stop = start + n
            text = f"{v.name}[{start or ''}:{'' if stop == m else stop - m}]"
            if start == 0 and stop == m:
                text = f"{v.name}[:]"
            return text
        if exact:
            return c.choice(exact)
        if c.chance(0.5):
            c.feature("np_array_literal")
            return "np.array([" + ", ".join(self.scalar_leaf() for _ in range(n)) + "])"
        return f"np.linspace({c.number(0.2, 0.8)}, {c.number(1.0, 1.6)}, {n})"

    def concatenation(self, n: int, depth: int) -> str:
        c = self.ctx
        a = c.rng.randint(1, n - 1)
        left, right = self.vector(a, depth), self.vector(n - a, depth)
        choice = c.weighted([(2, "concatenate"), (1.2, "r_"), (0.4, "append"), (1, "hstack")])
        if choice == "concatenate":
            return f"np.concatenate([{left}, {right}])"
        if choice == "hstack":
            return f"np.hstack(({left}, {right}))"
        if choice == "r_":
            c.feature("r_")
            return f"np.r_[{left}, {right}]"
        c.feature("np_append")
        return f"np.append({left}, {right}, axis=0)"

    def from_matrix(self, n: int, depth: int) -> str:
        """A length-``n`` array from a matrix in scope (a row, a column, a product), or ``np.c_``."""
        c = self.ctx
        options = []
        for m in c.scope.arrays(ndim=2):
            rows, cols = m.kind.shape
            if cols == n:
                options += [f"{m.name}[{c.rng.randrange(rows)}]", f"np.mean({m.name}, axis=0)",
                            f"({m.name}.T @ {self.atom(self.vector(rows, depth))})"]
            if min(rows, cols) == n:
                options += [f"np.diagonal({m.name})", f"np.diag({m.name})"]
            if rows == n:
                options += [f"np.swapaxes({m.name}, 0, 1)[0]", f"np.cumsum({m.name}, axis=1)[:, -1]",
                            f"np.rot90({m.name}, -1)[{c.rng.randrange(cols)}]",
                            f"(np.{c.choice(['triu', 'tril'])}({m.name}) @ {self.atom(self.vector(cols, depth))})",
                            f"np.tensordot({m.name}, {self.vector(cols, depth)}, 1)"]
            if rows == n:
                options += [f"{m.name}[:, {c.rng.randrange(cols)}]", f"np.sum({m.name}, axis=1)",
                            f"({m.name} @ {self.atom(self.vector(cols, depth))})",
                            f"np.einsum('ij,j->i', {m.name}, {self.vector(cols, depth)})",
                            f"np.std({m.name}[:, :1], axis=1)", f"np.var({m.name}, axis=1)"]
        if not options and not c.chance(0.3):
            return self.vector(n, depth)
        if not options or c.chance(0.1):
            c.feature("c_")
            return f"np.sum(np.c_[{self.vector(n, depth)}, {self.vector(n, depth)}], axis=1)"
        text = c.choice(options)
        if "einsum" in text:
            c.feature("einsum")
        if "std(" in text:
            c.feature("std_var", "std_len1_axis")
        if "diag" in text or "swapaxes" in text or "rot90" in text:
            c.feature("view_functions")
        for name in ("rot90", "triu", "tril", "tensordot"):
            if f"np.{name}(" in text:
                c.feature("rearranging_functions", "rule:np." + name)
        return text

    # -- conditions -----------------------------------------------------------------------------

    def condition(self) -> str:
        """A comparison on the data (the function is smooth on either side of it)."""
        c = self.ctx
        threshold = c.number(0.6, 1.4)
        op = c.choice([">", "<", ">=", "<="])
        text = f"{self.atom(self.scalar(1))} {op} {threshold}"
        if c.chance(0.1):
            text = f"{text} and {self.atom(self.scalar_leaf())} < {c.number(1.0, 2.0)}"
        elif c.chance(0.05):
            text = f"not {text}"
        return text

    @staticmethod
    def atom(text: str) -> str:
        """``text`` parenthesized unless it is a name, a call, a subscript or a number."""
        simple = text.replace("_", "").replace(".", "").replace("'", "").isalnum()
        if simple or (text[0] == "(" or text[0].isalpha()) and text.endswith((")", "]")) and _balanced_call(text):
            return text
        return f"({text})"


def _balanced_call(text: str) -> bool:
    """Whether ``text`` is one call or subscript ``name(...)``/``name[...]`` (not ``a(b) + c(d)``)."""
    depth = 0
    if text[0] == "(":
        text = "f" + text
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
        elif depth == 0 and not (ch.isalnum() or ch in "._"):
            return False
    return True
