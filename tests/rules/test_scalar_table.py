"""The SymPy table of scalar derivatives, and the templates generated from it."""
import ast
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy

from sourcediff.rules import scalar_table, scalar_templates
from sourcediff.rules.scalar_table import ANS, TABLE
from sourcediff.rules.scalar_templates import TEMPLATES

CASES = [pytest.param(entry, param, id=f"{entry.name}-{param.name}")
         for entry in TABLE for param in entry.params]
FLAVOUR_CASES = [pytest.param(name, flavour, id=f"{name}-{flavour}")
                 for name, entry in TEMPLATES.items() for flavour in entry["adjoints"]]
NAMESPACES = {"numpy": {"np": np, "math": math}, "math": {"math": math}}


@pytest.mark.parametrize("entry, param", CASES)
def test_declared_partial_equals_sympy_diff(entry, param):
    declared = entry.partials[param].subs(ANS, entry.primal)
    difference = declared - sympy.diff(entry.primal, param)
    t = sympy.Symbol("t", positive=True)
    for symbol, shift in entry.assume.items():  # restrict to the real domain
        difference = difference.subs(symbol, sympy.sympify(shift, locals={"t": t}))
    assert sympy.simplify(difference) == 0


def test_every_partial_is_declared_for_every_parameter():
    for entry in TABLE:
        assert set(entry.partials) == set(entry.params), entry.name
        assert ANS not in entry.primal.free_symbols, entry.name


def test_generated_module_is_fresh():
    """Fails when the table changed without ``python -m sourcediff.rules.scalar_table``."""
    assert scalar_table.TEMPLATES_PATH.read_text() == scalar_table.render()
    assert os.path.samefile(scalar_table.TEMPLATES_PATH, scalar_templates.__file__)


def test_generated_module_is_deterministic():
    # run the table as a plain script (no package import) under different hash seeds
    code = ("import runpy, sys; "
            f"sys.stdout.write(runpy.run_path({str(scalar_table.__file__)!r})['render']())")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("0", "12345")}
    assert outputs == {scalar_table.render()}


def test_generated_module_is_plain_data():
    tree = ast.parse(scalar_table.TEMPLATES_PATH.read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imports == []
    assert ast.literal_eval(tree.body[-1].value) == TEMPLATES


def test_importing_sourcediff_does_not_import_sympy():
    code = ("import sys, sourcediff, sourcediff.rules.scalar_templates, sourcediff.rules.math_module, "
            "sourcediff.rules.numpy.elementwise, sourcediff.rules.python; "
            "assert 'sympy' not in sys.modules, 'sympy was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name, flavour", FLAVOUR_CASES)
def test_templates_read_only_allowed_names(name, flavour):
    entry = TEMPLATES[name]
    params = set(entry["params"].replace(" ", "").split(","))
    module = {"numpy": "np", "math": "math"}[flavour]
    for kind, allowed in (("partials", {"ans"}), ("adjoints", {"g", "ans"})):
        for param, text in entry[kind][flavour].items():
            assert param in params
            names = {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}
            assert names <= params | allowed | {module, "math"}, (kind, param, text)


@pytest.mark.parametrize("name, flavour", FLAVOUR_CASES)
def test_templates_evaluate_to_the_sympy_derivative(name, flavour, rng):
    """The printed text computes the same numbers as SymPy's own derivative."""
    entry = next(e for e in TABLE if e.name == name)
    templates = TEMPLATES[name]
    for _ in range(5):
        point = {p.name: float(rng.uniform(*templates["sample"][p.name])) for p in entry.params}
        values = {p: point[p.name] for p in entry.params}
        ans = float(entry.primal.subs(values).evalf(30))
        g = float(rng.uniform(0.5, 2.0))
        for param in entry.params:
            expected = float(sympy.diff(entry.primal, param).subs(values).evalf(30))
            scope = {**NAMESPACES[flavour], **point, "ans": ans, "g": g}
            partial = eval(templates["partials"][flavour][param.name], scope)
            adjoint = eval(templates["adjoints"][flavour][param.name], scope)
            assert partial == pytest.approx(expected, rel=1e-12, abs=1e-12)
            assert adjoint == pytest.approx(g * expected, rel=1e-12, abs=1e-12)


def test_table_names_exist_in_their_modules():
    for entry in TABLE:
        if entry.numpy is not None:
            assert callable(getattr(np, entry.numpy))
        if entry.math is not None:
            assert callable(getattr(math, entry.math))


def test_printer_refuses_what_it_cannot_write():
    with pytest.raises(ValueError):
        scalar_table.adjoint_text(sympy.gamma(scalar_table.X), "numpy")
    with pytest.raises(ValueError):
        scalar_table.adjoint_text(sympy.erf(scalar_table.X), "numpy")
